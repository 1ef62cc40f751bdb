//! The AWS caches: per service, the latest snapshot of each region with its
//! scrape health; [`ServiceCache`] shows the resources, [`AwsHealth`] the
//! `outpost_aws_*` series of every cache. Both read stored state only.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::calls::{Calls, ScrapeError, OPERATIONS};
use super::{AwsSample, FoundResource, Resource, Snapshot};
use crate::config::AwsService;
use crate::metrics::encode::{label_prefix, Encoder};
use crate::metrics::names::{self, Family};
use crate::metrics::process::unix_now;
use crate::metrics::source::Source;

/// What one region of one service last gave.
#[derive(Debug, Default)]
struct RegionState {
    /// The last good snapshot.
    samples: Arc<Vec<AwsSample>>,
    /// The resources of the last good snapshot, for CloudWatch's dimensions.
    resources: Arc<Vec<Resource>>,
    /// When the last good snapshot was taken: monotonic, and Unix seconds.
    last_success: Option<(Instant, f64)>,
    /// Outcome of the latest scrape; `None` before the first one ends.
    success: Option<bool>,
    /// Why the latest scrape failed (the status page's words); `None` after a success.
    error: Option<String>,
    duration: f64,
    /// Cumulative, over every scrape.
    calls: Calls,
    /// What `[[discover]]` may probe, from the last good snapshot, kept however
    /// old it gets: a failed scrape changes no discovered probe.
    found: Arc<Vec<FoundResource>>,
    /// Good snapshots so far: discovery acts once per new one.
    good_scrapes: u64,
}

/// One region of one service as the status page shows it.
#[derive(Debug, Clone)]
pub struct RegionView {
    pub region: String,
    pub service: AwsService,
    /// Outcome of the latest scrape; `None` before the first one ends.
    pub success: Option<bool>,
    /// When the last good snapshot was taken, Unix seconds.
    pub last_success: Option<f64>,
    /// Why the latest scrape failed.
    pub error: Option<String>,
    /// Seconds the latest scrape took.
    pub duration: f64,
    /// The last good snapshot is past `stale_after`: no longer shown.
    pub stale: bool,
    /// The series of the last good snapshot while it is fresh; none once stale.
    pub samples: Arc<Vec<AwsSample>>,
}

/// One service's cache over all configured regions.
#[derive(Debug)]
pub struct ServiceCache {
    service: AwsService,
    families: Vec<Family>,
    stale_after: Duration,
    /// By region, in configuration order; `region="..."` escaped once.
    regions: Vec<(String, String, Mutex<RegionState>)>,
    /// Woken after every scrape, for CloudWatch waiting on its dimensions.
    recorded: Notify,
    /// Told of every good scrape (discovery's wake-up); it keeps one wake-up
    /// for a listener not waiting yet, so none is lost.
    listener: Option<Arc<Notify>>,
}

impl ServiceCache {
    pub fn new(service: AwsService, regions: &[String], stale_after: Duration) -> Self {
        let families = super::families(service).to_vec();
        ServiceCache::with_families(service, families, regions, stale_after)
    }

    /// A cache whose families depend on the configuration (CloudWatch's).
    pub fn with_families(
        service: AwsService,
        families: Vec<Family>,
        regions: &[String],
        stale_after: Duration,
    ) -> Self {
        let regions = regions
            .iter()
            .map(|r| {
                let mut state = RegionState::default();
                // Counters start at 0 so the first call is an increase in rate().
                for op in OPERATIONS.iter().filter(|o| o.service == service) {
                    state.calls.calls.insert(op.name, 0);
                }
                (r.clone(), label_prefix(&[("region", r)]), Mutex::new(state))
            })
            .collect();
        ServiceCache {
            service,
            families,
            stale_after,
            regions,
            recorded: Notify::new(),
            listener: None,
        }
    }

    /// Tells `listener` (`notify_one`) after every good scrape.
    pub fn with_listener(mut self, listener: Arc<Notify>) -> Self {
        self.listener = Some(listener);
        self
    }

    pub fn service(&self) -> AwsService {
        self.service
    }

    /// Stores the outcome of one scrape of `region`. A failure keeps the last
    /// good snapshot; it is shown until `stale_after` has passed since it was taken.
    pub fn record(
        &self,
        region: &str,
        result: Result<Snapshot, ScrapeError>,
        calls: Calls,
        duration: Duration,
    ) {
        let Some((_, _, state)) = self.regions.iter().find(|(r, _, _)| r == region) else {
            return;
        };
        let mut s = lock(state);
        for (op, n) in calls.calls {
            *s.calls.calls.entry(op).or_insert(0) += n;
        }
        for (key, n) in calls.errors {
            *s.calls.errors.entry(key).or_insert(0) += n;
        }
        s.calls.metrics_requested += calls.metrics_requested;
        s.duration = duration.as_secs_f64();
        s.success = Some(result.is_ok());
        match result {
            Ok(snapshot) => {
                s.samples = Arc::new(snapshot.samples);
                s.resources = Arc::new(snapshot.resources);
                s.found = Arc::new(snapshot.found);
                s.good_scrapes += 1;
                s.last_success = Some((Instant::now(), unix_now()));
                s.error = None;
            }
            Err(e) => s.error = Some(e.to_string()),
        }
        let good = s.success == Some(true);
        drop(s);
        self.recorded.notify_waiters();
        if let (true, Some(listener)) = (good, &self.listener) {
            listener.notify_one();
        }
    }

    /// What `region`'s last good snapshot found for discovery, with the count of
    /// good snapshots so far (which tells a new one from one seen before);
    /// `None` before the first good scrape. Never goes stale.
    pub fn found(&self, region: &str) -> Option<(u64, Arc<Vec<FoundResource>>)> {
        let (_, _, state) = self.regions.iter().find(|(r, _, _)| r == region)?;
        let s = lock(state);
        (s.good_scrapes > 0).then(|| (s.good_scrapes, s.found.clone()))
    }

    /// The resources `region`'s last good snapshot found while it is fresh (none
    /// once stale); `None` until the region's first scrape has ended.
    pub fn resources(&self, region: &str) -> Option<Arc<Vec<Resource>>> {
        let (_, _, state) = self.regions.iter().find(|(r, _, _)| r == region)?;
        let s = lock(state);
        s.success?;
        let fresh = s.last_success.is_some_and(|(taken, _)| {
            s.success == Some(true) || taken.elapsed() <= self.stale_after
        });
        Some(if fresh {
            s.resources.clone()
        } else {
            Arc::default()
        })
    }

    /// Waits until `region` has been scraped at least once (success or not).
    pub async fn scraped_once(&self, region: &str) {
        loop {
            let notified = self.recorded.notified();
            tokio::pin!(notified);
            // Registered before the check, so a scrape ending in between wakes it.
            notified.as_mut().enable();
            let done = self
                .regions
                .iter()
                .find(|(r, _, _)| r == region)
                .is_none_or(|(_, _, state)| lock(state).success.is_some());
            if done {
                return;
            }
            notified.await;
        }
    }

    /// Each region's scrape health and the series it still shows, in
    /// configuration order: what the status page reads.
    pub fn regions(&self) -> Vec<RegionView> {
        self.regions
            .iter()
            .map(|(region, _, state)| {
                let s = lock(state);
                let fresh = s.last_success.is_some_and(|(taken, _)| {
                    s.success == Some(true) || taken.elapsed() <= self.stale_after
                });
                RegionView {
                    region: region.clone(),
                    service: self.service,
                    success: s.success,
                    last_success: s.last_success.map(|(_, unix)| unix),
                    error: s.error.clone(),
                    duration: s.duration,
                    stale: s.last_success.is_some() && !fresh,
                    samples: if fresh {
                        s.samples.clone()
                    } else {
                        Arc::default()
                    },
                }
            })
            .collect()
    }

    /// The snapshot of each region still fresh enough to show.
    fn fresh(&self) -> Vec<(&str, Arc<Vec<AwsSample>>)> {
        self.regions
            .iter()
            .filter_map(|(_, prefix, state)| {
                let s = lock(state);
                let (taken, _) = s.last_success?;
                let fresh = s.success == Some(true) || taken.elapsed() <= self.stale_after;
                fresh.then(|| (prefix.as_str(), s.samples.clone()))
            })
            .collect()
    }
}

fn lock(state: &Mutex<RegionState>) -> MutexGuard<'_, RegionState> {
    // Updates are a few assignments: a poisoned lock still holds whole values.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Source for ServiceCache {
    fn families(&self) -> &[Family] {
        &self.families
    }

    fn encode(&self, enc: &mut Encoder) {
        let fresh = self.fresh();
        let now = unix_now();
        let mut labels: Vec<(&str, &str)> = Vec::new();
        for family in self.families() {
            // Ages are stored as the datapoint's time, so they grow between refreshes.
            let age = family.name == names::AWS_CLOUDWATCH_DATAPOINT_AGE_SECONDS;
            enc.start(family);
            for (prefix, samples) in &fresh {
                for s in samples.iter().filter(|s| s.family == family.name) {
                    labels.clear();
                    labels.extend(s.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                    let value = if age {
                        (now - s.value).max(0.0)
                    } else {
                        s.value
                    };
                    enc.sample_with_prefix(prefix, &labels, value);
                }
            }
        }
    }
}

/// `outpost_aws_*`: the health of every region × service scrape.
#[derive(Debug)]
pub struct AwsHealth {
    caches: Vec<Arc<ServiceCache>>,
}

impl AwsHealth {
    pub fn new(caches: Vec<Arc<ServiceCache>>) -> Self {
        AwsHealth { caches }
    }

    /// Calls `each` with (service, region prefix, state) for every scrape.
    fn each(&self, mut each: impl FnMut(&str, &str, &RegionState)) {
        for cache in &self.caches {
            for (_, prefix, state) in &cache.regions {
                each(cache.service.name(), prefix, &lock(state));
            }
        }
    }
}

impl Source for AwsHealth {
    fn families(&self) -> &[Family] {
        names::AWS_HEALTH
    }

    fn encode(&self, enc: &mut Encoder) {
        enc.start_declared(names::OUTPOST_AWS_SCRAPE_SUCCESS);
        self.each(|service, prefix, s| {
            if let Some(ok) = s.success {
                let v = if ok { 1.0 } else { 0.0 };
                enc.sample_with_prefix(prefix, &[("service", service)], v);
            }
        });
        enc.start_declared(names::OUTPOST_AWS_SCRAPE_DURATION_SECONDS);
        self.each(|service, prefix, s| {
            if s.success.is_some() {
                enc.sample_with_prefix(prefix, &[("service", service)], s.duration);
            }
        });
        enc.start_declared(names::OUTPOST_AWS_SCRAPE_LAST_SUCCESS_TIMESTAMP_SECONDS);
        self.each(|service, prefix, s| {
            if let Some((_, ts)) = s.last_success {
                enc.sample_with_prefix(prefix, &[("service", service)], ts);
            }
        });
        enc.start_declared(names::OUTPOST_AWS_API_CALLS_TOTAL);
        self.each(|service, prefix, s| {
            for (op, n) in &s.calls.calls {
                let labels = [("service", service), ("operation", *op)];
                enc.sample_with_prefix(prefix, &labels, *n as f64);
            }
        });
        enc.start_declared(names::OUTPOST_AWS_API_ERRORS_TOTAL);
        self.each(|service, prefix, s| {
            for ((op, code), n) in &s.calls.errors {
                let labels = [("service", service), ("operation", *op), ("code", code)];
                enc.sample_with_prefix(prefix, &labels, *n as f64);
            }
        });
        enc.start_declared(names::OUTPOST_AWS_CLOUDWATCH_METRICS_REQUESTED_TOTAL);
        self.each(|service, prefix, s| {
            if service == AwsService::Cloudwatch.name() {
                enc.sample_with_prefix(prefix, &[], s.calls.metrics_requested as f64);
            }
        });
    }
}
