//! The running daemon's shared state: the current configuration, the scheduler,
//! the concurrency limiter and the counters the HTTP side keeps. Reloads go
//! through [`App::reload`] whatever triggered them (SIGHUP, `POST /-/reload`, the
//! file watch), one at a time; a configuration that fails validation never
//! replaces the running one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigErrors, Module};
use crate::discovery::series::DiscoverySeries;
use crate::discovery::{Discovered, Discovery};
use crate::metrics::daemon::{DaemonSeries, DaemonStats, ProcessSeries, ReloadStatus};
use crate::metrics::process::unix_now;
use crate::metrics::render::ScheduledProbes;
use crate::metrics::source::Source;
use crate::results::ProbeState;
use crate::scheduler::{ApplySummary, Limiter, Runner, Scheduler};
use crate::shard::auto::{count_peers, AutoShard, Count, CountFollower};
use crate::shard::Shard;

#[derive(Debug)]
pub struct App {
    config: RwLock<Arc<Config>>,
    scheduler: Arc<Scheduler>,
    limiter: Arc<Limiter>,
    /// `/probe`'s own cap ([`crate::config::ProbeEndpointConfig`]).
    probe_endpoint_limiter: Arc<Limiter>,
    stats: Arc<DaemonStats>,
    reload_lock: tokio::sync::Mutex<()>,
    /// What `/metrics` shows, in page order. Every source is one entry: a new
    /// kind of data is a new entry here, never a new field of `App`.
    sources: RwLock<Vec<Arc<dyn Source>>>,
    /// The AWS scrapers, which a reload re-applies (`None` until the daemon sets them).
    aws: Mutex<Option<crate::aws::Scrapers>>,
    /// `[[discover]]`'s state, and the list it last handed the scheduler.
    discovery: Arc<Mutex<Discovery>>,
    discovered: Mutex<Option<Discovered>>,
}

impl App {
    /// Starts scheduling `config`'s probes. Must be called inside a Tokio runtime.
    pub fn start(config: Config, runner: Runner, shutdown: CancellationToken) -> Arc<App> {
        App::start_sharded(config, runner, shutdown, None, None)
    }

    /// As [`App::start`], running only `shard`'s probes when given (`--shard`,
    /// which wins over the configuration's `server.shard` across reloads), the
    /// scheduled runs on `probe_runtime` when given ([`crate::probe_thread`]).
    pub fn start_sharded(
        config: Config,
        runner: Runner,
        shutdown: CancellationToken,
        shard: Option<Shard>,
        probe_runtime: Option<tokio::runtime::Handle>,
    ) -> Arc<App> {
        let limiter = Arc::new(Limiter::new(config.server.max_concurrent_probes));
        let probe_endpoint_limiter =
            Arc::new(Limiter::new(config.server.probe_endpoint.max_concurrent));
        let scheduler = Arc::new(
            Scheduler::new(runner, limiter.clone(), shutdown)
                .with_shard_override(shard)
                .with_runtime(probe_runtime),
        );
        let (_, config) = scheduler.apply_owned(config);
        let stats = Arc::new(DaemonStats::new());
        let discovery = Arc::new(Mutex::new(Discovery::default()));
        let sources: Vec<Arc<dyn Source>> = vec![
            Arc::new(ScheduledProbes::new(scheduler.clone())),
            Arc::new(DaemonSeries {
                stats: stats.clone(),
                scheduler: scheduler.clone(),
                limiters: [limiter.clone(), probe_endpoint_limiter.clone()],
            }),
            Arc::new(ProcessSeries),
            Arc::new(DiscoverySeries {
                discovery: discovery.clone(),
            }),
        ];
        Arc::new(App {
            config: RwLock::new(Arc::new(config)),
            scheduler,
            limiter,
            probe_endpoint_limiter,
            stats,
            reload_lock: tokio::sync::Mutex::new(()),
            sources: RwLock::new(sources),
            aws: Mutex::new(None),
            discovery,
            discovered: Mutex::new(None),
        })
    }

    /// The running configuration, its `probes` left empty (see [`App::probes`]).
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn config_path(&self) -> PathBuf {
        self.config().source.clone()
    }

    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// The cap on `/probe` runs in flight.
    pub fn probe_endpoint_limiter(&self) -> &Limiter {
        &self.probe_endpoint_limiter
    }

    pub fn probes(&self) -> Vec<Arc<ProbeState>> {
        self.scheduler.probes()
    }

    /// Re-reads the configuration file. On success the new configuration replaces
    /// the old at once and the scheduler is diffed; on failure nothing changes but
    /// `outpost_config_last_reload_successful`.
    pub async fn reload(&self) -> Result<ApplySummary, ConfigErrors> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let path = self.config_path();
        let web_config_file = self.config().web_config_file.clone();
        let loaded = {
            let owned = path.clone();
            // Reading files and loading certificates is blocking work.
            tokio::task::spawn_blocking(move || {
                Config::load_with(&owned, web_config_file.as_deref())
            })
            .await
            .unwrap_or_else(|e| Err(internal_error(&path, &e.to_string())))
        };
        match loaded {
            Ok(config) => {
                if let Some(aws) = self
                    .aws
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_mut()
                {
                    if let Some(swap) = aws.apply(config.aws.as_ref()) {
                        self.swap_sources(swap);
                    }
                }
                self.probe_endpoint_limiter
                    .resize(config.server.probe_endpoint.max_concurrent);
                let (summary, config) = self.scheduler.apply_owned(config);
                *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
                // A changed [[discover]] or module applies to discovered probes now.
                self.refresh_discovery(true);
                let now = unix_now();
                *self.stats.reload() = ReloadStatus {
                    last_successful: true,
                    last_success_timestamp: now,
                    last_attempt_timestamp: Some(now),
                    errors: Vec::new(),
                };
                tracing::info!(
                    config = %path.display(),
                    kept = summary.kept,
                    added = summary.added,
                    changed = summary.changed,
                    removed = summary.removed,
                    "Configuration reloaded"
                );
                Ok(summary)
            }
            Err(errors) => {
                {
                    let mut status = self.stats.reload();
                    status.last_successful = false;
                    status.last_attempt_timestamp = Some(unix_now());
                    status.errors = errors.0.iter().map(ToString::to_string).collect();
                }
                tracing::error!(config = %path.display(), errors = %errors, "Configuration reload failed; keeping the running configuration");
                Err(errors)
            }
        }
    }

    /// Runs `shard`'s probes from now on (`--shard auto` after the replica
    /// count changed): the configuration is read again and applied whole, as a
    /// reload does, since the probes of other shards are not kept.
    pub async fn reshard(&self, shard: Shard) -> Result<ApplySummary, ConfigErrors> {
        let before = self.scheduler.shard();
        self.scheduler.set_shard_override(Some(shard));
        let result = self.reload().await;
        match &result {
            Ok(s) => tracing::info!(
                from = %before.map(|s| s.to_string()).unwrap_or_default(),
                to = %shard,
                kept = s.kept,
                added = s.added,
                removed = s.removed,
                "Resharded"
            ),
            Err(_) => {
                tracing::error!(to = %shard, "Resharding waits for a configuration that loads")
            }
        }
        result
    }

    /// The latest reload's outcome, for the status page.
    pub fn reload_status(&self) -> ReloadStatus {
        self.stats.reload().clone()
    }

    /// Counts one `/probe` answer. It takes a configured module, not a name from
    /// the request, so clients cannot grow the counter's label set without bound
    /// (unknown names go to `count_unknown_module`).
    pub fn count_probe_request(&self, module: &Module, code: u16) {
        self.stats.count_probe_request(&module.name, code);
    }

    pub fn count_unknown_module(&self) {
        self.stats.count_unknown_module();
    }

    /// Takes `swap.removed` off `/metrics` and adds `swap.added` after the rest,
    /// under one lock: a scrape sees either generation of `[aws]` whole, never a
    /// page without its series in between.
    pub fn swap_sources(&self, swap: crate::aws::SourceSwap) {
        let mut sources = self.sources.write().unwrap_or_else(PoisonError::into_inner);
        sources.retain(|s| !swap.removed.iter().any(|g| Arc::ptr_eq(s, g)));
        sources.extend(swap.added);
    }

    /// Hands the AWS scrapers to the app, which applies `[aws]` on every reload.
    pub fn set_aws(&self, scrapers: crate::aws::Scrapers) {
        *self.aws.lock().unwrap_or_else(PoisonError::into_inner) = Some(scrapers);
    }

    /// Brings the discovered probes up to date with the AWS caches (after a
    /// good scrape, or a reload when `force`): [`Discovery::update`] makes the
    /// list, the scheduler diffs it. Nothing is applied when the list is the
    /// one applied last, unless `force` (a module may have changed).
    pub fn refresh_discovery(&self, force: bool) -> Option<ApplySummary> {
        let config = self.config();
        let caches = self.aws_caches();
        let found = |service: crate::config::AwsService, region: &str| {
            caches
                .iter()
                .find(|c| c.service() == service)
                .and_then(|c| c.found(region))
        };
        let mut discovery = self
            .discovery
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let next = discovery.update(&config.discover, found);
        let mut last = self
            .discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !force && last.as_ref() == Some(&next) {
            return None;
        }
        let summary = self
            .scheduler
            .apply_discovered(&config, next.probes.clone(), &next.paused);
        if summary.added + summary.removed + summary.changed > 0 {
            tracing::info!(
                kept = summary.kept,
                added = summary.added,
                changed = summary.changed,
                removed = summary.removed,
                "Discovered probes updated"
            );
        }
        *last = Some(next);
        Some(summary)
    }

    /// The AWS caches of the running `[aws]`, for the status page (none without it).
    pub fn aws_caches(&self) -> Vec<Arc<crate::aws::cache::ServiceCache>> {
        self.aws
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(crate::aws::Scrapers::caches)
            .unwrap_or_default()
    }

    /// The sources of `/metrics`, in page order.
    pub fn sources(&self) -> Vec<Arc<dyn Source>> {
        self.sources
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The `/metrics` page in one String, for tools and tests; the server streams
    /// it instead (`server::metrics_body`), never holding a whole page.
    pub fn render_metrics(&self, format: crate::metrics::encode::Format) -> String {
        crate::metrics::source::render(format, &self.sources(), 0)
    }

    /// Cancels scheduled runs and waits up to `grace` for them to end.
    pub async fn shutdown(&self, grace: Duration) {
        self.scheduler.shutdown(grace).await;
    }
}

fn internal_error(path: &Path, message: &str) -> ConfigErrors {
    ConfigErrors(vec![crate::config::ConfigError {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        key: String::new(),
        message: format!("loading was interrupted: {message}"),
        hint: None,
        snippet: None,
    }])
}

/// `--shard auto` with `OUTPOST_SHARD_PEERS`: counts the peers every
/// `auto.refresh` and reshards when the count changes ([`CountFollower`]).
pub async fn watch_shard(app: Arc<App>, auto: AutoShard, shutdown: CancellationToken) {
    let Count::Peers(name) = &auto.count else {
        return;
    };
    let mut follower = CountFollower::default();
    let mut failing = false;
    let mut tick = tokio::time::interval(auto.refresh);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let seen = match tokio::time::timeout(auto.refresh, count_peers(name)).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                if !failing {
                    tracing::warn!(peers = %name, error = %e, "Cannot count the replicas; the share stays as it is");
                }
                failing = true;
                continue;
            }
            Err(_) => continue,
        };
        failing = false;
        if let Some(count) = follower.seen(seen) {
            // A failed reload is logged by reload(); the next change retries.
            let _ = app.reshard(Shard::of_ordinal(auto.ordinal, count)).await;
        }
    }
}

/// Updates the discovered probes after every good AWS scrape (`scraped` is
/// told of each, [`crate::aws::Scrapers::scraped`]) until `shutdown`.
pub async fn watch_discovery(
    app: Arc<App>,
    scraped: Arc<tokio::sync::Notify>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = scraped.notified() => {}
        }
        app.refresh_discovery(false);
    }
}

/// Reloads whenever the file's contents differ from `loaded` (what the running
/// configuration was read from, taken by the caller before this task first runs
/// so that an edit made meanwhile is not missed), checked every `every`.
pub async fn watch_config(
    app: Arc<App>,
    loaded: Option<Vec<u8>>,
    every: Duration,
    shutdown: CancellationToken,
) {
    let read = |p: &Path| std::fs::read(p).ok();
    let mut last = loaded;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = read(&app.config_path());
        if now.is_some() && now != last {
            last = now;
            // Errors are logged and reflected in the reload metric by reload().
            let _ = app.reload().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::encode::Encoder;
    use crate::metrics::names::Family;

    #[derive(Debug)]
    struct Empty;

    impl Source for Empty {
        fn families(&self) -> &[Family] {
            &[]
        }
        fn encode(&self, _: &mut Encoder) {}
    }

    fn same(a: &[Arc<dyn Source>], b: &[Arc<dyn Source>]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| Arc::ptr_eq(x, y))
    }

    /// A change of `[aws]` leaves the page with exactly the new generation's
    /// sources after the daemon's own, in one step.
    #[tokio::test]
    async fn a_swap_replaces_one_generation_of_sources_with_the_next() {
        let config = Config::from_str_at("", std::path::Path::new("t.toml"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let app = App::start(
            config,
            crate::scheduler::probe_runner(),
            CancellationToken::new(),
        );
        let own = app.sources();
        let first: Vec<Arc<dyn Source>> = vec![Arc::new(Empty), Arc::new(Empty)];
        app.swap_sources(crate::aws::SourceSwap {
            removed: Vec::new(),
            added: first.clone(),
        });
        assert!(same(&app.sources(), &[own.clone(), first.clone()].concat()));
        let next: Vec<Arc<dyn Source>> = vec![Arc::new(Empty)];
        app.swap_sources(crate::aws::SourceSwap {
            removed: first,
            added: next.clone(),
        });
        assert!(same(&app.sources(), &[own, next].concat()));
    }
}
