//! From resources to `GetMetricData` requests: one query per resource, metric
//! and statistic; queries grouped by their time window (each metric's `delay`)
//! and cut into batches of at most [`MAX_QUERIES`], the API's limit per call.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};

use super::series::Series;
use crate::aws::Resource;
use crate::config::aws::cloudwatch::{CloudwatchConfig, CloudwatchMetric, CloudwatchResource};

/// `GetMetricData` takes at most this many queries per call.
pub const MAX_QUERIES: usize = 500;

/// One statistic of one metric of one resource, and the series it fills.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub family: &'static str,
    /// The resource's labels (`region` comes from the cache).
    pub labels: Vec<(String, String)>,
    pub nil_to_zero: bool,
    pub delay: Duration,
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(&'static str, String)>,
    pub stat: String,
}

/// One `GetMetricData` request (before pagination): its window in Unix seconds,
/// start inclusive, end exclusive, and indices into the planned queries.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub start: i64,
    pub end: i64,
    pub queries: Vec<usize>,
}

/// Every query of `config` for `resources`, in configuration order.
pub fn plan(config: &CloudwatchConfig, series: &Series, resources: &[Resource]) -> Vec<Planned> {
    let mut out = Vec::new();
    for (mi, m) in config.metrics.iter().enumerate() {
        for resource in resources {
            let Some((labels, dimensions)) = dimensions(m.resource, resource) else {
                continue;
            };
            for (si, stat) in m.statistics.iter().enumerate() {
                let Some(family) = series.name(mi, si) else {
                    continue;
                };
                out.push(planned(m, family, stat, labels.clone(), dimensions.clone()));
            }
        }
    }
    out
}

fn planned(
    m: &CloudwatchMetric,
    family: &'static str,
    stat: &str,
    labels: Vec<(String, String)>,
    dimensions: Vec<(&'static str, String)>,
) -> Planned {
    Planned {
        family,
        labels,
        nil_to_zero: m.nil_to_zero,
        delay: m.delay,
        namespace: m.namespace.clone(),
        metric: m.name.clone(),
        dimensions,
        stat: stat.to_string(),
    }
}

type Labels = Vec<(String, String)>;
type Dimensions = Vec<(&'static str, String)>;

/// The labels and CloudWatch dimensions of `resource` if it is of kind `kind`.
/// The labels are the Describe series' own, so the two join without relabelling.
fn dimensions(kind: CloudwatchResource, resource: &Resource) -> Option<(Labels, Dimensions)> {
    let l = |k: &str, v: &str| (k.to_string(), v.to_string());
    match (kind, resource) {
        (CloudwatchResource::LoadBalancer, Resource::LoadBalancer { name, dimension }) => Some((
            vec![l("load_balancer", name)],
            vec![("LoadBalancer", dimension.clone())],
        )),
        (
            CloudwatchResource::TargetGroup,
            Resource::TargetGroup {
                name,
                dimension,
                load_balancer,
                load_balancer_dimension,
            },
        ) => Some((
            vec![l("load_balancer", load_balancer), l("target_group", name)],
            vec![
                ("LoadBalancer", load_balancer_dimension.clone()),
                ("TargetGroup", dimension.clone()),
            ],
        )),
        (CloudwatchResource::DbInstance, Resource::DbInstance { id }) => Some((
            vec![l("db_instance", id)],
            vec![("DBInstanceIdentifier", id.clone())],
        )),
        (CloudwatchResource::AutoscalingGroup, Resource::AutoscalingGroup { name }) => Some((
            vec![l("autoscaling_group", name)],
            vec![("AutoScalingGroupName", name.clone())],
        )),
        _ => None,
    }
}

/// The window of a refresh at `now`: it ends at the last period boundary at or
/// before `now - delay` (so every period in it is complete) and spans two periods,
/// or `interval` rounded up to periods when that is longer, so a datapoint
/// published late is still seen by the next refresh.
pub fn window(
    now: SystemTime,
    delay: Duration,
    period: Duration,
    interval: Duration,
) -> (i64, i64) {
    let period = period.as_secs().max(1) as i64;
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let newest = since_epoch.saturating_sub(delay).as_secs() as i64;
    let end = newest - newest.rem_euclid(period);
    let periods = (interval.as_secs().div_ceil(period as u64) as i64).max(2);
    (end - periods * period, end)
}

/// Groups `planned` by window and cuts each group into batches of at most
/// [`MAX_QUERIES`].
pub fn batches(planned: &[Planned], now: SystemTime, config: &CloudwatchConfig) -> Vec<Batch> {
    let mut by_delay: BTreeMap<Duration, Vec<usize>> = BTreeMap::new();
    for (i, p) in planned.iter().enumerate() {
        by_delay.entry(p.delay).or_default().push(i);
    }
    let mut out = Vec::new();
    for (delay, indices) in by_delay {
        let (start, end) = window(now, delay, config.period, config.interval);
        for chunk in indices.chunks(MAX_QUERIES) {
            out.push(Batch {
                start,
                end,
                queries: chunk.to_vec(),
            });
        }
    }
    out
}

/// The query id of planned query `index`: ids must start with a lowercase letter.
pub fn query_id(index: usize) -> String {
    format!("q{index}")
}

/// The SDK query for planned query `index`: a `MetricStat` whose `Stat` is the
/// statistic as configured (`Average`, or a percentile such as `p99.9`).
pub fn query(planned: &Planned, index: usize, period: Duration) -> MetricDataQuery {
    let dimensions = planned
        .dimensions
        .iter()
        .map(|(name, value)| Dimension::builder().name(*name).value(value).build())
        .collect();
    let metric = Metric::builder()
        .namespace(&planned.namespace)
        .metric_name(&planned.metric)
        .set_dimensions(Some(dimensions))
        .build();
    let stat = MetricStat::builder()
        .metric(metric)
        .period(i32::try_from(period.as_secs()).unwrap_or(i32::MAX))
        .stat(&planned.stat)
        .build();
    MetricDataQuery::builder()
        .id(query_id(index))
        .metric_stat(stat)
        .return_data(true)
        .build()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test data is known to be valid")]
mod tests {
    use super::*;
    use crate::config::aws::cloudwatch::default_metrics;

    fn config(metrics: Vec<CloudwatchMetric>) -> CloudwatchConfig {
        CloudwatchConfig {
            interval: Duration::from_secs(60),
            period: Duration::from_secs(60),
            metrics,
        }
    }

    fn dbs(n: usize) -> Vec<Resource> {
        (0..n)
            .map(|i| Resource::DbInstance {
                id: format!("db-{i}"),
            })
            .collect()
    }

    #[test]
    fn windows_end_on_a_period_boundary_behind_the_delay() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000_030);
        let minute = Duration::from_secs(60);
        // now - 2m = 999_999_910 → last boundary 999_999_900; two periods.
        assert_eq!(
            window(now, Duration::from_secs(120), minute, minute),
            (999_999_780, 999_999_900)
        );
        // An interval of 5m spans five periods.
        assert_eq!(
            window(now, Duration::ZERO, minute, Duration::from_secs(300)),
            (999_999_720, 1_000_000_020)
        );
    }

    #[test]
    fn every_statistic_of_every_resource_is_one_query() {
        let cfg = config(default_metrics(Duration::from_secs(120)));
        let series = Series::new(&cfg);
        let resources = vec![
            Resource::LoadBalancer {
                name: "web".into(),
                dimension: "app/web/1".into(),
            },
            Resource::TargetGroup {
                name: "tg".into(),
                dimension: "targetgroup/tg/2".into(),
                load_balancer: "web".into(),
                load_balancer_dimension: "app/web/1".into(),
            },
            Resource::DbInstance { id: "db".into() },
            Resource::AutoscalingGroup { name: "asg".into() },
        ];
        let planned = plan(&cfg, &series, &resources);
        // 7 per load balancer, 2 per target group, 8 per instance, 1 per group.
        assert_eq!(planned.len(), 18);
        let tg = planned
            .iter()
            .find(|p| p.metric == "HealthyHostCount")
            .unwrap();
        assert_eq!(
            tg.dimensions,
            [
                ("LoadBalancer", "app/web/1".to_string()),
                ("TargetGroup", "targetgroup/tg/2".to_string())
            ]
        );
        assert_eq!(tg.family, "aws_applicationelb_healthy_host_count_minimum");
        let asg = planned.iter().find(|p| p.namespace == "AWS/EC2").unwrap();
        assert_eq!(
            asg.dimensions,
            [("AutoScalingGroupName", "asg".to_string())]
        );
        assert_eq!(
            asg.labels,
            [("autoscaling_group".to_string(), "asg".to_string())]
        );
    }

    #[test]
    fn batches_hold_at_most_500_queries_and_one_window() {
        let mut metrics = default_metrics(Duration::from_secs(120));
        metrics.retain(|m| m.namespace == "AWS/RDS");
        // ReplicaLag read 10 minutes behind: its own window, so its own call.
        metrics
            .iter_mut()
            .filter(|m| m.name == "ReplicaLag")
            .for_each(|m| m.delay = Duration::from_secs(600));
        let cfg = config(metrics);
        let series = Series::new(&cfg);
        // 8 statistics × 80 instances = 640 queries: 560 at 2m, 80 at 10m.
        let planned = plan(&cfg, &series, &dbs(80));
        assert_eq!(planned.len(), 640);
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let b = batches(&planned, now, &cfg);
        let sizes: Vec<usize> = b.iter().map(|b| b.queries.len()).collect();
        assert_eq!(sizes, [500, 60, 80]);
        assert_eq!(b[0].end, b[1].end);
        assert_eq!(b[0].end - b[2].end, 480);
        assert!(b[2]
            .queries
            .iter()
            .all(|i| planned[*i].metric == "ReplicaLag"));
    }

    #[test]
    fn percentiles_are_sent_as_the_stat() {
        let mut metrics = default_metrics(Duration::from_secs(120));
        metrics.retain(|m| m.name == "TargetResponseTime");
        metrics[0].statistics = vec!["p99".into(), "p99.9".into()];
        let cfg = config(metrics);
        let series = Series::new(&cfg);
        let lb = Resource::LoadBalancer {
            name: "web".into(),
            dimension: "app/web/1".into(),
        };
        let planned = plan(&cfg, &series, &[lb]);
        let families: Vec<&str> = planned.iter().map(|p| p.family).collect();
        assert_eq!(
            families,
            [
                "aws_applicationelb_target_response_time_p99",
                "aws_applicationelb_target_response_time_p99_9"
            ]
        );
        let q = query(&planned[1], 7, Duration::from_secs(60));
        assert_eq!(q.id(), Some("q7"));
        assert_eq!(q.return_data(), Some(true));
        let stat = q.metric_stat().unwrap();
        assert_eq!(stat.stat(), Some("p99.9"));
        assert_eq!(stat.period(), Some(60));
        let metric = stat.metric().unwrap();
        assert_eq!(metric.namespace(), Some("AWS/ApplicationELB"));
        assert_eq!(metric.metric_name(), Some("TargetResponseTime"));
        let dims: Vec<(&str, &str)> = metric
            .dimensions()
            .iter()
            .map(|d| (d.name().unwrap(), d.value().unwrap()))
            .collect();
        assert_eq!(dims, [("LoadBalancer", "app/web/1")]);
    }
}
