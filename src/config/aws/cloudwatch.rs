//! `[aws.cloudwatch]`: which CloudWatch statistics to read for the resources the
//! Describe scrapes found, how often, over which period and how far behind now.
//! The series names are decided here, so a collision is a configuration error.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::super::file::DurationText;
use super::super::validate::Ctx;
use super::super::values;
use super::AwsService;

/// `interval` when not set: one `GetMetricData` round per minute.
pub const DEFAULT_CLOUDWATCH_INTERVAL: Duration = Duration::from_secs(60);
/// `period` when not set: CloudWatch's basic resolution.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(60);
/// `delay` when not set: CloudWatch publishes most AWS metrics within two minutes.
pub const DEFAULT_DELAY: Duration = Duration::from_secs(120);

/// `[aws.cloudwatch]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct CloudwatchFile {
    pub interval: Option<Spanned<DurationText>>,
    pub period: Option<Spanned<DurationText>>,
    pub delay: Option<Spanned<DurationText>>,
    pub metrics: Option<Spanned<Vec<MetricFile>>>,
}

/// One `[[aws.cloudwatch.metrics]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct MetricFile {
    pub namespace: Spanned<String>,
    pub name: Spanned<String>,
    pub statistics: Spanned<Vec<Spanned<String>>>,
    pub resource: Option<Spanned<String>>,
    pub delay: Option<Spanned<DurationText>>,
    pub nil_to_zero: Option<bool>,
}

/// The kind of resource a metric is read for: its CloudWatch dimensions and
/// the labels of its series both come from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CloudwatchResource {
    /// An Application Load Balancer: `LoadBalancer=app/NAME/ID`.
    LoadBalancer,
    /// A target group behind a load balancer: `TargetGroup` + `LoadBalancer`.
    TargetGroup,
    /// `DBInstanceIdentifier`.
    DbInstance,
    /// `AutoScalingGroupName`.
    AutoscalingGroup,
}

impl CloudwatchResource {
    const ALL: &'static [CloudwatchResource] = &[
        CloudwatchResource::LoadBalancer,
        CloudwatchResource::TargetGroup,
        CloudwatchResource::DbInstance,
        CloudwatchResource::AutoscalingGroup,
    ];

    /// The name in `resource` (and the label the series carry).
    pub fn name(self) -> &'static str {
        match self {
            CloudwatchResource::LoadBalancer => "load_balancer",
            CloudwatchResource::TargetGroup => "target_group",
            CloudwatchResource::DbInstance => "db_instance",
            CloudwatchResource::AutoscalingGroup => "autoscaling_group",
        }
    }

    /// The Describe scrape that finds these resources.
    pub fn service(self) -> AwsService {
        match self {
            CloudwatchResource::LoadBalancer | CloudwatchResource::TargetGroup => AwsService::Elbv2,
            CloudwatchResource::DbInstance => AwsService::Rds,
            CloudwatchResource::AutoscalingGroup => AwsService::Autoscaling,
        }
    }
}

/// The namespaces outpost has dimensions for, each with the resources it can be
/// read for (the first is the default).
const NAMESPACES: &[(&str, &[CloudwatchResource])] = &[
    (
        "AWS/ApplicationELB",
        &[
            CloudwatchResource::LoadBalancer,
            CloudwatchResource::TargetGroup,
        ],
    ),
    ("AWS/RDS", &[CloudwatchResource::DbInstance]),
    ("AWS/EC2", &[CloudwatchResource::AutoscalingGroup]),
    ("AWS/AutoScaling", &[CloudwatchResource::AutoscalingGroup]),
];

/// The statistics CloudWatch names; percentiles (`p99`, `p99.9`) come besides.
const STATISTICS: &[&str] = &["Sum", "Average", "Maximum", "Minimum", "SampleCount"];

/// One metric of one namespace, read for every resource of its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudwatchMetric {
    pub namespace: String,
    pub name: String,
    pub resource: CloudwatchResource,
    /// CloudWatch's `Stat` values: `Sum`, `Average` ... or `p99`, `p99.9`.
    pub statistics: Vec<String>,
    /// How far behind now the newest complete datapoint is assumed to be.
    pub delay: Duration,
    /// Show 0 rather than nothing when the window has no datapoint.
    pub nil_to_zero: bool,
}

impl CloudwatchMetric {
    /// The series of `stat`: `aws_<namespace>_<metric_snake>_<stat>`.
    pub fn series(&self, stat: &str) -> String {
        series_name(&self.namespace, &self.name, stat)
    }
}

/// `[aws.cloudwatch]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudwatchConfig {
    pub interval: Duration,
    pub period: Duration,
    pub metrics: Vec<CloudwatchMetric>,
}

/// `aws_<namespace>_<metric_snake>_<stat>`, as YACE names them: the namespace
/// lowercased without `AWS/` (`applicationelb`), the metric split where a lowercase letter meets an
/// uppercase one (`FreeStorageSpace` → `free_storage_space`, `CPUUtilization` →
/// `cpuutilization`), the statistic lowercased, `.` in a percentile made `_`.
pub fn series_name(namespace: &str, metric: &str, stat: &str) -> String {
    let ns: String = namespace
        .strip_prefix("AWS/")
        .unwrap_or(namespace)
        .chars()
        .map(|c| match c {
            'A'..='Z' => c.to_ascii_lowercase(),
            'a'..='z' | '0'..='9' => c,
            _ => '_',
        })
        .collect();
    format!("aws_{ns}_{}_{}", snake(metric), snake(stat))
}

/// Lowercase with `_` at each lowercase→uppercase step and for every character
/// outside `[a-zA-Z0-9_]`. Unlike YACE, a digit followed by an uppercase letter
/// is not split, so `HTTPCode_Target_5XX_Count` stays `httpcode_target_5xx_count`.
fn snake(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut prev_lower = false;
    for c in text.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase();
        match c {
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            'a'..='z' | '0'..='9' | '_' => out.push(c),
            _ => out.push('_'),
        }
    }
    out
}

/// The default set (see docs/configuration.md): the seed stack's ALB, target
/// group, RDS and Auto Scaling metrics.
pub fn default_metrics(delay: Duration) -> Vec<CloudwatchMetric> {
    use CloudwatchResource::*;
    let m = |ns: &str, name: &str, resource, stats: &[&str], nil_to_zero| CloudwatchMetric {
        namespace: ns.to_string(),
        name: name.to_string(),
        resource,
        statistics: stats.iter().map(|s| s.to_string()).collect(),
        delay,
        nil_to_zero,
    };
    let alb = "AWS/ApplicationELB";
    let rds = "AWS/RDS";
    vec![
        // ALB counts are not published for a period without events: no data is 0.
        m(alb, "RequestCount", LoadBalancer, &["Sum"], true),
        m(
            alb,
            "HTTPCode_Target_5XX_Count",
            LoadBalancer,
            &["Sum"],
            true,
        ),
        m(alb, "HTTPCode_ELB_5XX_Count", LoadBalancer, &["Sum"], true),
        m(
            alb,
            "HTTPCode_Target_4XX_Count",
            LoadBalancer,
            &["Sum"],
            true,
        ),
        m(
            alb,
            "TargetResponseTime",
            LoadBalancer,
            &["Average", "Maximum"],
            false,
        ),
        m(alb, "RejectedConnectionCount", LoadBalancer, &["Sum"], true),
        // The worst moment of the period: fewest healthy, most unhealthy.
        m(alb, "HealthyHostCount", TargetGroup, &["Minimum"], false),
        m(alb, "UnHealthyHostCount", TargetGroup, &["Maximum"], false),
        m(rds, "CPUUtilization", DbInstance, &["Average"], false),
        m(rds, "FreeStorageSpace", DbInstance, &["Average"], false),
        m(rds, "FreeableMemory", DbInstance, &["Average"], false),
        m(rds, "DatabaseConnections", DbInstance, &["Average"], false),
        m(rds, "ReadLatency", DbInstance, &["Average"], false),
        m(rds, "WriteLatency", DbInstance, &["Average"], false),
        m(rds, "ReplicaLag", DbInstance, &["Average"], false),
        m(rds, "BurstBalance", DbInstance, &["Average"], false),
        m(
            "AWS/EC2",
            "CPUUtilization",
            AutoscalingGroup,
            &["Average"],
            false,
        ),
    ]
}

/// Builds `[aws.cloudwatch]`; errors are recorded in `ctx` (the caller compares
/// error counts). `services` are the Describe scrapes the resources come from.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    file: &CloudwatchFile,
    services: &[AwsService],
) -> CloudwatchConfig {
    let path = "aws.cloudwatch";
    let duration = |ctx: &mut Ctx<'_>, key: &str, v: &Option<Spanned<DurationText>>, d| match v {
        Some(v) => values::duration(ctx, &format!("{path}.{key}"), v, key != "delay").unwrap_or(d),
        None => d,
    };
    let interval = duration(ctx, "interval", &file.interval, DEFAULT_CLOUDWATCH_INTERVAL);
    let period = duration(ctx, "period", &file.period, DEFAULT_PERIOD);
    if let Some(p) = &file.period {
        check_period(ctx, "aws.cloudwatch.period", p.span(), period);
    }
    let delay = duration(ctx, "delay", &file.delay, DEFAULT_DELAY);
    let metrics = match &file.metrics {
        None => default_metrics(delay),
        Some(list) => {
            if list.get_ref().is_empty() {
                ctx.error_hint(
                    list.span(),
                    "aws.cloudwatch.metrics",
                    "must list at least one metric",
                    "leave `metrics` out for the default set",
                );
            }
            let mut out: Vec<CloudwatchMetric> = Vec::new();
            for (i, m) in list.get_ref().iter().enumerate() {
                let path = super::super::tree::index("aws.cloudwatch.metrics", i);
                if let Some(metric) = metric(ctx, &path, m, delay, services) {
                    no_collision(ctx, &path, m, &metric, &out);
                    out.push(metric);
                }
            }
            out
        }
    };
    CloudwatchConfig {
        interval,
        period,
        metrics,
    }
}

/// CloudWatch accepts periods of 1, 5, 10, 30 s (high resolution) or whole minutes.
fn check_period(ctx: &mut Ctx<'_>, path: &str, span: std::ops::Range<usize>, period: Duration) {
    let ms = period.as_millis();
    if ms == 0 || [1000, 5000, 10_000, 30_000].contains(&ms) || ms.is_multiple_of(60_000) {
        return;
    }
    ctx.error_hint(
        span,
        path,
        "CloudWatch has no such period",
        "periods are 1s, 5s, 10s, 30s or a multiple of 60s",
    );
}

fn metric(
    ctx: &mut Ctx<'_>,
    path: &str,
    m: &MetricFile,
    default_delay: Duration,
    services: &[AwsService],
) -> Option<CloudwatchMetric> {
    let before = ctx.error_count();
    let namespace = m.namespace.get_ref();
    let resources = namespace_resources(ctx, path, &m.namespace).unwrap_or_default();
    let resource = match &m.resource {
        None => resources.first().copied(),
        Some(_) if resources.is_empty() => None,
        Some(r) => resource(ctx, path, r, namespace, resources),
    };
    let needs_service = resource.filter(|r| !services.contains(&r.service()));
    if let Some(resource) = needs_service {
        ctx.error_hint(
            m.namespace.span(),
            &format!("{path}.namespace"),
            format!(
                "{} is read for each {}, which `{}` finds, and `aws.services` leaves it out",
                namespace,
                resource.name(),
                resource.service()
            ),
            format!("add \"{}\" to aws.services", resource.service()),
        );
    }
    if m.name.get_ref().is_empty() {
        ctx.error(m.name.span(), &format!("{path}.name"), "cannot be empty");
    }
    let statistics = statistics(ctx, &format!("{path}.statistics"), &m.statistics);
    let delay = match &m.delay {
        Some(d) => values::duration(ctx, &format!("{path}.delay"), d, false),
        None => Some(default_delay),
    };
    let (Some(resource), Some(delay)) = (resource, delay) else {
        return None;
    };
    (ctx.error_count() == before).then(|| CloudwatchMetric {
        namespace: namespace.clone(),
        name: m.name.get_ref().clone(),
        resource,
        statistics,
        delay,
        nil_to_zero: m.nil_to_zero.unwrap_or(false),
    })
}

fn namespace_resources(
    ctx: &mut Ctx<'_>,
    path: &str,
    namespace: &Spanned<String>,
) -> Option<&'static [CloudwatchResource]> {
    let found = NAMESPACES
        .iter()
        .find(|(ns, _)| ns == namespace.get_ref())
        .map(|(_, r)| *r);
    if found.is_none() {
        let valid = NAMESPACES.iter().map(|(ns, _)| *ns);
        let hint = match values::suggest(namespace.get_ref(), valid.clone()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!(
                "outpost has dimensions for {}",
                valid.collect::<Vec<_>>().join(", ")
            ),
        };
        ctx.error_hint(
            namespace.span(),
            &format!("{path}.namespace"),
            format!("unsupported namespace `{}`", namespace.get_ref()),
            hint,
        );
    }
    found
}

fn resource(
    ctx: &mut Ctx<'_>,
    path: &str,
    r: &Spanned<String>,
    namespace: &str,
    allowed: &[CloudwatchResource],
) -> Option<CloudwatchResource> {
    let found = CloudwatchResource::ALL
        .iter()
        .find(|c| c.name() == r.get_ref())
        .filter(|c| allowed.contains(c));
    if found.is_none() {
        let names: Vec<&str> = allowed.iter().map(|c| c.name()).collect();
        ctx.error_hint(
            r.span(),
            &format!("{path}.resource"),
            format!("{namespace} has no metrics per `{}`", r.get_ref()),
            format!("{namespace} is read per {}", names.join(" or ")),
        );
    }
    found.copied()
}

fn statistics(ctx: &mut Ctx<'_>, path: &str, list: &Spanned<Vec<Spanned<String>>>) -> Vec<String> {
    if list.get_ref().is_empty() {
        ctx.error_hint(
            list.span(),
            path,
            "must list at least one statistic",
            "e.g. statistics = [\"Average\", \"Maximum\"]",
        );
    }
    let mut out: Vec<String> = Vec::new();
    for stat in list.get_ref() {
        let s = stat.get_ref();
        if !STATISTICS.contains(&s.as_str()) && !is_percentile(s) {
            let hint = match values::suggest(s, STATISTICS.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!(
                    "valid statistics: {}, or a percentile pNN / pNN.N (p99, p99.9)",
                    STATISTICS.join(", ")
                ),
            };
            ctx.error_hint(stat.span(), path, format!("unknown statistic `{s}`"), hint);
        } else if out.contains(s) {
            ctx.error(stat.span(), path, format!("`{s}` is listed twice"));
        } else {
            out.push(s.clone());
        }
    }
    out
}

/// `p` then a number from 0 to 100 with at most two decimals: `p50`, `p99.9`, `p99.99`.
pub fn is_percentile(stat: &str) -> bool {
    let Some(number) = stat.strip_prefix('p') else {
        return false;
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let whole_ok = (1..=3).contains(&whole.len()) && digits(whole) && !whole.starts_with("00");
    let frac_ok = digits(frac) && frac.len() <= 2 && (frac.is_empty() != number.contains('.'));
    whole_ok && frac_ok && number.parse::<f64>().is_ok_and(|v| v <= 100.0)
}

/// Two entries must not give one series name (same metric listed twice, or one
/// metric read per two resource kinds).
fn no_collision(
    ctx: &mut Ctx<'_>,
    path: &str,
    m: &MetricFile,
    metric: &CloudwatchMetric,
    earlier: &[CloudwatchMetric],
) {
    for stat in &metric.statistics {
        let series = metric.series(stat);
        let clash = earlier
            .iter()
            .any(|e| e.statistics.iter().any(|s| e.series(s) == series));
        if clash {
            ctx.error_hint(
                m.name.span(),
                &format!("{path}.name"),
                format!("series `{series}` comes from an earlier entry too"),
                "list each namespace, metric and statistic once",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_names_are_the_published_ones() {
        let cases = [
            (
                "AWS/ApplicationELB",
                "RequestCount",
                "Sum",
                "aws_applicationelb_request_count_sum",
            ),
            (
                "AWS/ApplicationELB",
                "HTTPCode_Target_5XX_Count",
                "Sum",
                "aws_applicationelb_httpcode_target_5xx_count_sum",
            ),
            (
                "AWS/ApplicationELB",
                "TargetResponseTime",
                "p99.9",
                "aws_applicationelb_target_response_time_p99_9",
            ),
            (
                "AWS/ApplicationELB",
                "UnHealthyHostCount",
                "Maximum",
                "aws_applicationelb_un_healthy_host_count_maximum",
            ),
            (
                "AWS/RDS",
                "CPUUtilization",
                "Average",
                "aws_rds_cpuutilization_average",
            ),
            (
                "AWS/RDS",
                "FreeStorageSpace",
                "SampleCount",
                "aws_rds_free_storage_space_sample_count",
            ),
            (
                "AWS/EC2",
                "CPUUtilization",
                "p99",
                "aws_ec2_cpuutilization_p99",
            ),
        ];
        for (ns, metric, stat, want) in cases {
            assert_eq!(series_name(ns, metric, stat), want);
        }
    }

    #[test]
    fn percentiles() {
        for ok in ["p0", "p50", "p99", "p99.9", "p99.99", "p100", "p100.0"] {
            assert!(is_percentile(ok), "{ok}");
        }
        for bad in [
            "p", "p101", "p99.", "p99.999", "p-1", "P99", "p9a", "p001", "tm99", "p.5",
        ] {
            assert!(!is_percentile(bad), "{bad}");
        }
    }

    #[test]
    fn the_default_set_has_distinct_series() {
        let mut names: Vec<String> = default_metrics(DEFAULT_DELAY)
            .iter()
            .flat_map(|m| m.statistics.iter().map(|s| m.series(s)).collect::<Vec<_>>())
            .collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        assert_eq!(n, 18);
    }
}
