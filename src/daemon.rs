//! The daemon, assembled: scheduler and HTTP server on one listener, reloads from
//! signals and the file watch, and an orderly stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::{watch_config, App};
use crate::config::Config;
use crate::probe_thread::ProbeThread;
use crate::scheduler::{probe_runner, Runner};
use crate::shard::Shard;

/// How long scheduled runs get to notice cancellation at shutdown.
pub const RUN_CANCEL_GRACE: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Options {
    /// Poll the config file for changes this often; `None` disables the watch.
    pub watch_interval: Option<Duration>,
    /// How runs are carried out (`probe::run` unless a test says otherwise).
    pub runner: Runner,
    /// `--shard I/N`: run only that shard's probes.
    pub shard: Option<Shard>,
    /// `--shard auto`: the share follows the replica count ([`crate::shard::auto`]).
    pub auto_shard: Option<crate::shard::auto::AutoShard>,
    /// How AWS clients are built (tests point them at moto_server).
    pub aws: crate::aws::AwsOptions,
    /// Scheduled runs on a thread of their own ([`crate::probe_thread`]); off,
    /// they share the caller's runtime.
    pub probe_thread: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            watch_interval: None,
            runner: probe_runner(),
            shard: None,
            auto_shard: None,
            aws: crate::aws::AwsOptions::default(),
            probe_thread: true,
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("watch_interval", &self.watch_interval)
            .finish_non_exhaustive()
    }
}

/// A started daemon: its state, and the task serving HTTP until `shutdown`.
#[derive(Debug)]
pub struct Daemon {
    pub app: Arc<App>,
    pub shutdown: CancellationToken,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Stopped (and joined) after the scheduler, in [`Daemon::wait`].
    probe_thread: Option<ProbeThread>,
}

impl Daemon {
    /// Starts scheduling and serving. Call inside a Tokio runtime. Fails only
    /// if the probe thread cannot be started.
    pub fn start(
        config: Config,
        listener: TcpListener,
        options: Options,
        shutdown: CancellationToken,
    ) -> std::io::Result<Daemon> {
        let loaded = options
            .watch_interval
            .and_then(|_| std::fs::read(&config.source).ok());
        let aws = config.aws.clone();
        let probe_thread = match options.probe_thread {
            true => Some(ProbeThread::start()?),
            false => None,
        };
        let app = App::start_sharded(
            config,
            options.runner,
            shutdown.child_token(),
            options
                .shard
                .or(options.auto_shard.as_ref().map(|a| a.initial())),
            probe_thread.as_ref().map(|t| t.handle().clone()),
        );
        // No [aws] section: no AWS client is built and no AWS API is called. A
        // reload that adds, changes or removes it is applied by the app.
        let mut scrapers = crate::aws::Scrapers::new(options.aws, shutdown.child_token());
        if let Some(swap) = scrapers.apply(aws.as_ref()) {
            app.swap_sources(swap);
        }
        let scraped = scrapers.scraped();
        app.set_aws(scrapers);
        tokio::spawn(crate::app::watch_discovery(
            app.clone(),
            scraped,
            shutdown.clone(),
        ));
        // The entries' series exist from the start, at 0 until a good scrape.
        app.refresh_discovery(true);
        if let Some(auto) = options.auto_shard {
            tokio::spawn(crate::app::watch_shard(app.clone(), auto, shutdown.clone()));
        }
        if let Some(every) = options.watch_interval {
            tokio::spawn(watch_config(app.clone(), loaded, every, shutdown.clone()));
        }
        let server = tokio::spawn(crate::server::serve(
            listener,
            app.clone(),
            shutdown.clone(),
        ));
        Ok(Daemon {
            app,
            shutdown,
            server,
            probe_thread,
        })
    }

    /// Waits for the server to stop (after `shutdown` is cancelled), then cancels
    /// the scheduled runs.
    pub async fn wait(self) -> std::io::Result<()> {
        let served = match self.server.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        };
        self.app.shutdown(RUN_CANCEL_GRACE).await;
        if let Some(thread) = self.probe_thread {
            // Joining blocks: off the runtime's worker.
            let _ = tokio::task::spawn_blocking(move || drop(thread)).await;
        }
        served
    }
}

/// The signals the daemon acts on, registered before it starts serving so that a
/// SIGHUP arriving early reloads instead of killing the process (SIGHUP's default).
#[cfg(unix)]
#[derive(Debug)]
pub struct Signals {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    pub fn register() -> std::io::Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }
}

/// Reloads on SIGHUP, stops on SIGTERM or SIGINT. Returns when a stop signal came.
#[cfg(unix)]
pub async fn handle_signals(mut signals: Signals, app: Arc<App>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = signals.hup.recv() => {
                tracing::info!("SIGHUP received; reloading the configuration");
                let _ = app.reload().await;
            }
            _ = signals.term.recv() => break,
            _ = signals.int.recv() => break,
            () = shutdown.cancelled() => return,
        }
    }
    tracing::info!("Stop signal received; shutting down");
    shutdown.cancel();
}
