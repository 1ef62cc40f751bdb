//! CloudWatch statistics (`[aws.cloudwatch]`): per region, a task reads
//! `GetMetricData` on its own interval for the resources the Describe caches of
//! that region hold (no `ListMetrics`, no tagging calls) and stores the newest
//! datapoint of each query in its own cache, whose health is the other scrapes'.
//!
//! - [`series`]: the families of the configured metric list.
//! - [`queries`]: resources to queries, windows and batches of 500.
//! - [`fetch`]: the calls, `NextToken` pages, newest datapoints to samples.

pub mod fetch;
pub mod queries;
pub mod series;

use std::sync::Arc;
use std::time::SystemTime;

use tokio_util::sync::CancellationToken;

use super::cache::ServiceCache;
use super::calls::{Calls, ScrapeError};
use super::{sdk, AwsOptions, AwsSample, Resource, Snapshot};
use crate::config::aws::cloudwatch::CloudwatchConfig;
use crate::config::aws::DEFAULT_STALE_INTERVALS;
use crate::config::{AwsConfig, AwsService};
use series::Series;

/// Starts one CloudWatch task per region of `config`, reading dimensions from
/// the `describe` caches; returns the cache they fill.
pub fn start(
    cw: &CloudwatchConfig,
    config: &Arc<AwsConfig>,
    describe: &[Arc<ServiceCache>],
    options: &AwsOptions,
    shutdown: &CancellationToken,
) -> Arc<ServiceCache> {
    let series = Arc::new(Series::new(cw));
    let cache = Arc::new(ServiceCache::with_families(
        AwsService::Cloudwatch,
        series.families.clone(),
        &config.regions,
        // Like the Describe scrapes' default: shown until 3 refreshes were missed.
        cw.interval * DEFAULT_STALE_INTERVALS,
    ));
    // Only the Describe scrapes some metric needs: a refresh waits for their first.
    let needed: Vec<Arc<ServiceCache>> = describe
        .iter()
        .filter(|c| {
            cw.metrics
                .iter()
                .any(|m| m.resource.service() == c.service())
        })
        .cloned()
        .collect();
    for region in &config.regions {
        let task = Task {
            cache: cache.clone(),
            describe: needed.clone(),
            region: region.clone(),
            cw: Arc::new(cw.clone()),
            series: series.clone(),
        };
        tokio::spawn(task.run(config.clone(), options.clone(), shutdown.clone()));
    }
    cache
}

/// One region's CloudWatch refreshes.
struct Task {
    cache: Arc<ServiceCache>,
    describe: Vec<Arc<ServiceCache>>,
    region: String,
    cw: Arc<CloudwatchConfig>,
    series: Arc<Series>,
}

impl Task {
    async fn run(self, config: Arc<AwsConfig>, options: AwsOptions, shutdown: CancellationToken) {
        let region = &self.region;
        let sdk = tokio::select! {
            () = shutdown.cancelled() => return,
            sdk = sdk::load(region, &config, self.cw.interval, &options) => sdk,
        };
        let client = aws_sdk_cloudwatch::Client::new(&sdk);
        for cache in &self.describe {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = cache.scraped_once(region) => {}
            }
        }
        let refresher = Refresher {
            task: &self,
            client: &client,
        };
        super::refresh_every(&self.cache, region, self.cw.interval, &shutdown, &refresher).await;
    }

    /// One refresh: the queries for the resources known now, every call, samples.
    async fn refresh(
        &self,
        client: &aws_sdk_cloudwatch::Client,
        calls: &mut Calls,
    ) -> Result<Vec<AwsSample>, ScrapeError> {
        let resources: Vec<Resource> = self
            .describe
            .iter()
            .filter_map(|c| c.resources(&self.region))
            .flat_map(|r| r.iter().cloned().collect::<Vec<_>>())
            .collect();
        let planned = queries::plan(&self.cw, &self.series, &resources);
        let batches = queries::batches(&planned, SystemTime::now(), &self.cw);
        let mut api = fetch::Sdk { client, calls };
        let points = fetch::fetch(&mut api, &planned, &batches, self.cw.period).await?;
        Ok(fetch::samples(&planned, &points))
    }
}

/// A region's task with its client, as [`super::refresh_every`] runs it.
struct Refresher<'t> {
    task: &'t Task,
    client: &'t aws_sdk_cloudwatch::Client,
}

impl super::Refresh for Refresher<'_> {
    async fn refresh(&self, calls: &mut Calls) -> Result<Snapshot, ScrapeError> {
        let samples = self.task.refresh(self.client, calls).await?;
        Ok(Snapshot {
            samples,
            resources: Vec::new(),
            found: Vec::new(),
        })
    }
}
