//! AWS scrapes: per region and service, a task calls the AWS APIs on its own
//! interval and stores the result as a snapshot in that service's cache; each
//! cache is a `/metrics` [`Source`], so a scrape
//! of `/metrics` never calls AWS.
//!
//! - [`sdk`]: the SDK configuration on outpost's one hyper/rustls/ring stack.
//! - [`calls`]: every API operation outpost calls ([`calls::OPERATIONS`], which
//!   `deploy/iam-policy.json` must match) and the per-call accounting.
//! - [`cache`]: the snapshots, staleness and the scrape-health series.
//! - [`rds`], [`elbv2`], [`autoscaling`]: one file per service.
//! - [`cloudwatch`]: `GetMetricData` for the resources those scrapes found.

pub mod autoscaling;
pub mod cache;
pub mod calls;
pub mod cloudwatch;
pub mod credentials;
pub mod elbv2;
pub mod preflight;
pub mod rds;
pub mod sdk;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::{AwsConfig, AwsService};
use crate::metrics::names::Family;
use crate::metrics::source::Source;
use cache::{AwsHealth, ServiceCache};
use calls::{Calls, ScrapeError};
pub use sdk::{AwsOptions, LoaderHook};

/// One series of a snapshot: its family, its labels after `region`, its value.
#[derive(Debug, Clone, PartialEq)]
pub struct AwsSample {
    pub family: &'static str,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl AwsSample {
    pub fn new(family: &'static str, labels: &[(&str, &str)], value: f64) -> Self {
        AwsSample {
            family,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            value,
        }
    }
}

/// A resource CloudWatch has metrics for, found by a Describe scrape: its
/// label values and its CloudWatch dimension values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// An Application Load Balancer; `dimension` is `app/NAME/ID`.
    LoadBalancer {
        name: String,
        dimension: String,
    },
    /// A target group behind one load balancer; `dimension` is `targetgroup/NAME/ID`.
    TargetGroup {
        name: String,
        dimension: String,
        load_balancer: String,
        load_balancer_dimension: String,
    },
    DbInstance {
        id: String,
    },
    AutoscalingGroup {
        name: String,
    },
}

/// A resource `[[discover]]` may make a probe of: its identifier (the value of
/// its `aws_*` series' resource label), the fields a target template may name,
/// and its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundResource {
    pub id: String,
    pub fields: Vec<(&'static str, String)>,
    pub tags: Vec<(String, String)>,
}

impl FoundResource {
    /// The value of `field`, if the resource has it.
    pub fn field(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, value)| value.as_str())
    }
}

/// What one scrape found: its series, the resources CloudWatch reads and the
/// ones discovery may probe.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub samples: Vec<AwsSample>,
    pub resources: Vec<Resource>,
    pub found: Vec<FoundResource>,
}

/// The resource families of `service` (the scrape-health ones are [`AwsHealth`]'s;
/// CloudWatch's depend on its metric list, these are the default set's).
pub fn families(service: AwsService) -> &'static [Family] {
    match service {
        AwsService::Rds => rds::FAMILIES,
        AwsService::Elbv2 => elbv2::FAMILIES,
        AwsService::Autoscaling => autoscaling::FAMILIES,
        AwsService::Cloudwatch => crate::metrics::names::AWS_CLOUDWATCH,
    }
}

/// One Describe service's SDK client for one region.
#[derive(Debug, Clone)]
enum Client {
    Rds(aws_sdk_rds::Client),
    Elbv2(aws_sdk_elasticloadbalancingv2::Client),
    Autoscaling(aws_sdk_autoscaling::Client),
}

impl Client {
    /// `None` for CloudWatch, which [`cloudwatch::run`] drives instead.
    fn new(service: AwsService, sdk: &aws_config::SdkConfig) -> Option<Client> {
        match service {
            AwsService::Rds => Some(Client::Rds(aws_sdk_rds::Client::new(sdk))),
            AwsService::Elbv2 => Some(Client::Elbv2(aws_sdk_elasticloadbalancingv2::Client::new(
                sdk,
            ))),
            AwsService::Autoscaling => {
                Some(Client::Autoscaling(aws_sdk_autoscaling::Client::new(sdk)))
            }
            AwsService::Cloudwatch => None,
        }
    }

    async fn scrape(&self, calls: &mut Calls, config: &AwsConfig) -> Result<Snapshot, ScrapeError> {
        match self {
            Client::Rds(c) => rds::scrape(c, calls, config).await,
            Client::Elbv2(c) => elbv2::scrape(c, calls, config).await,
            Client::Autoscaling(c) => autoscaling::scrape(c, calls, config).await,
        }
    }
}

/// What [`start`] started: the `/metrics` sources, and every cache (CloudWatch's
/// too) for the status page.
pub struct Started {
    pub sources: Vec<Arc<dyn Source>>,
    pub caches: Vec<Arc<ServiceCache>>,
}

/// Starts one scraper per region and service of `config` and returns the
/// `/metrics` sources showing their results (one cache per service, then the
/// scrape-health series) and the caches; `scraped` is told of every good
/// Describe scrape. Must be called inside a Tokio runtime.
pub fn start(
    config: &AwsConfig,
    options: &AwsOptions,
    shutdown: &CancellationToken,
    scraped: &Arc<Notify>,
) -> Started {
    let config = Arc::new(config.clone());
    let credentials = match &options.loader {
        Some(_) => "set in code (AwsOptions loader)".to_string(),
        None => credentials::default_chain_source(
            |k| std::env::var(k).ok(),
            std::env::var_os("HOME")
                .as_deref()
                .map(std::path::Path::new),
        ),
    };
    tracing::info!(
        regions = ?config.regions,
        credentials = %credentials,
        role = config.role_arn.as_deref().unwrap_or("none"),
        "AWS scrapes start"
    );
    let caches: Vec<Arc<ServiceCache>> = config
        .services
        .iter()
        .map(|s| {
            let cache = ServiceCache::new(*s, &config.regions, config.stale_after);
            Arc::new(cache.with_listener(scraped.clone()))
        })
        .collect();
    for cache in &caches {
        for region in &config.regions {
            tokio::spawn(run_scraper(
                cache.clone(),
                region.clone(),
                config.clone(),
                options.clone(),
                shutdown.clone(),
            ));
        }
    }
    let mut sources: Vec<Arc<dyn Source>> = caches
        .iter()
        .map(|c| c.clone() as Arc<dyn Source>)
        .collect();
    let mut health = caches.clone();
    if let Some(cw) = &config.cloudwatch {
        let cache = cloudwatch::start(cw, &config, &caches, options, shutdown);
        sources.push(cache.clone());
        health.push(cache);
    }
    sources.push(Arc::new(AwsHealth::new(health.clone())));
    Started {
        sources,
        caches: health,
    }
}

/// The AWS scrapers of the running configuration, replaced as a whole when a
/// reload changes `[aws]`: the old tasks stop and their series leave `/metrics`,
/// the new ones start. An unchanged `[aws]` keeps its tasks and caches.
pub struct Scrapers {
    options: AwsOptions,
    /// Parent of every generation's token: daemon shutdown stops them all.
    shutdown: CancellationToken,
    running: Option<Generation>,
    /// Told of every good Describe scrape of every generation: discovery's wake-up.
    scraped: Arc<Notify>,
}

/// The `/metrics` sources a change of `[aws]` took away and brought.
#[derive(Default)]
pub struct SourceSwap {
    pub removed: Vec<Arc<dyn Source>>,
    pub added: Vec<Arc<dyn Source>>,
}

/// One `[aws]` section's scrapers and the sources they fill.
struct Generation {
    config: AwsConfig,
    cancel: CancellationToken,
    sources: Vec<Arc<dyn Source>>,
    caches: Vec<Arc<ServiceCache>>,
}

impl std::fmt::Debug for Scrapers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrapers")
            .field("regions", &self.running.as_ref().map(|g| &g.config.regions))
            .finish_non_exhaustive()
    }
}

impl Scrapers {
    pub fn new(options: AwsOptions, shutdown: CancellationToken) -> Scrapers {
        Scrapers {
            options,
            shutdown,
            running: None,
            scraped: Arc::new(Notify::new()),
        }
    }

    /// Woken (one stored wake-up) after every good Describe scrape.
    pub fn scraped(&self) -> Arc<Notify> {
        self.scraped.clone()
    }

    /// Makes the scrapers match `config` (`None`: no `[aws]`, no client, no call)
    /// and says which `/metrics` sources that took away and which it brought, for
    /// the caller to swap in one step ([`crate::app::App::swap_sources`]); `None`
    /// when `config` is what runs already. Must be called inside a Tokio runtime.
    pub fn apply(&mut self, config: Option<&AwsConfig>) -> Option<SourceSwap> {
        if self.running.as_ref().map(|g| &g.config) == config {
            return None;
        }
        let mut swap = SourceSwap::default();
        if let Some(old) = self.running.take() {
            old.cancel.cancel();
            swap.removed = old.sources;
        }
        if let Some(config) = config {
            let cancel = self.shutdown.child_token();
            let Started { sources, caches } = start(config, &self.options, &cancel, &self.scraped);
            swap.added.clone_from(&sources);
            self.running = Some(Generation {
                config: config.clone(),
                cancel,
                sources,
                caches,
            });
        }
        Some(swap)
    }

    /// The caches of the running `[aws]`, every service's (none without `[aws]`).
    pub fn caches(&self) -> Vec<Arc<ServiceCache>> {
        self.running
            .as_ref()
            .map(|g| g.caches.clone())
            .unwrap_or_default()
    }
}

/// Scrapes `cache`'s service in `region` every `interval` until `shutdown`.
async fn run_scraper(
    cache: Arc<ServiceCache>,
    region: String,
    config: Arc<AwsConfig>,
    options: AwsOptions,
    shutdown: CancellationToken,
) {
    let service = cache.service();
    let sdk = tokio::select! {
        () = shutdown.cancelled() => return,
        sdk = sdk::load(&region, &config, config.interval, &options) => sdk,
    };
    let Some(client) = Client::new(service, &sdk) else {
        return;
    };
    let interval = config.interval;
    let describe = Describe { client, config };
    refresh_every(&cache, &region, interval, &shutdown, &describe).await;
}

/// A Describe scrape of one service, as [`refresh_every`] runs it.
struct Describe {
    client: Client,
    config: Arc<AwsConfig>,
}

impl Refresh for Describe {
    fn refresh<'a>(
        &'a self,
        calls: &'a mut Calls,
    ) -> impl std::future::Future<Output = Result<Snapshot, ScrapeError>> + Send + 'a {
        self.client.scrape(calls, &self.config)
    }
}

/// One round of fetching a service's data in a region, counting its API calls.
pub(crate) trait Refresh {
    fn refresh<'a>(
        &'a self,
        calls: &'a mut Calls,
    ) -> impl std::future::Future<Output = Result<Snapshot, ScrapeError>> + Send + 'a;
}

/// Runs `source` every `interval` until `shutdown`, and records each result with
/// its calls and duration in `cache` for `region`: the one loop behind the
/// Describe scrapes and the CloudWatch refreshes, so both report health alike.
pub(crate) async fn refresh_every(
    cache: &ServiceCache,
    region: &str,
    interval: Duration,
    shutdown: &CancellationToken,
    source: &impl Refresh,
) {
    let service = cache.service();
    // The last failure logged in full: the same failure again is logged in one
    // short line, so a scrape that cannot run does not repeat its whole cause
    // every interval, and a change of cause or a recovery is logged again.
    let mut failing: Option<String> = None;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let started = Instant::now();
        let mut calls = Calls::default();
        let result = tokio::select! {
            () = shutdown.cancelled() => return,
            r = source.refresh(&mut calls) => r,
        };
        match (&result, &failing) {
            (Err(e), Some(last)) if *last == e.to_string() => {
                tracing::warn!(region = %region, service = %service, code = %e.code, "AWS scrape still failing, as logged before");
            }
            (Err(e), _) => {
                tracing::warn!(region = %region, service = %service, error = %e, "AWS scrape failed; keeping the last good data until it goes stale");
                failing = Some(e.to_string());
            }
            (Ok(_), Some(_)) => {
                tracing::info!(region = %region, service = %service, "AWS scrape succeeds again");
                failing = None;
            }
            (Ok(_), None) => {}
        }
        cache.record(region, result, calls, started.elapsed());
    }
}

/// The labels `tag_labels` asks for, from a resource's tags (missing tags give
/// empty values, so every info series of a service has one label set).
pub fn tag_label_values(
    tag_labels: &[crate::config::aws::TagLabel],
    tags: &[(String, String)],
) -> Vec<(String, String)> {
    tag_labels
        .iter()
        .map(|t| {
            let value = tags
                .iter()
                .find(|(k, _)| *k == t.tag)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            (t.label.clone(), value)
        })
        .collect()
}
