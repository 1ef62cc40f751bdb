//! What an SLO counts, as PromQL: the per-second rates of its events and of its
//! bad events over a window, read from raw series, and the SLO in words.

use super::text::{number, promql_string};
use crate::config::aws::cloudwatch::DEFAULT_PERIOD;
use crate::config::{Config, SliSource, SloSelector, SloSpec};

/// CloudWatch's ALB counts, one gauge per period (`[aws.cloudwatch]`, default set).
const ALB_REQUESTS: &str = "aws_applicationelb_request_count_sum";
const ALB_TARGET_5XX: &str = "aws_applicationelb_httpcode_target_5xx_count_sum";
const ALB_ELB_5XX: &str = "aws_applicationelb_httpcode_elb_5xx_count_sum";
/// The series carrying an ALB's `tag_*` labels.
const ALB_INFO: &str = "aws_elbv2_load_balancer_info";

/// One SLI of an SLO: one rule group.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sli {
    /// `availability` or `latency`: the `sli` label and the group name's end.
    pub(crate) kind: &'static str,
    pub(crate) input: Input,
    /// The objective as a ratio (`0.9999`), rounded to 12 digits.
    pub(crate) objective: f64,
    /// The error budget as a ratio: 1 − objective (`0.0001`).
    pub(crate) budget: f64,
    /// What is counted, to start a sentence: "Runs of probes {service=\"web\"}".
    pub(crate) events: String,
    /// What a good event does: "succeed".
    pub(crate) good: String,
    /// What a bad event did: "failed".
    pub(crate) bad: String,
}

/// Where the events come from, with the selector as PromQL matchers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Input {
    /// `probe_runs_total`: every run, and those with `outcome="failure"`.
    Runs { matchers: Vec<String> },
    /// `probe_run_duration_seconds`: every run, and those within `le`.
    Latency { matchers: Vec<String>, le: String },
    /// CloudWatch's ALB counts: `direct` matchers on their own series, `tags` on
    /// `aws_elbv2_load_balancer_info`, counts per `period` seconds.
    Alb {
        direct: Vec<String>,
        tags: Vec<String>,
        period: f64,
    },
}

impl Input {
    /// Events per second over `w` (a PromQL range), from raw series.
    pub(crate) fn events(&self, w: &str) -> String {
        match self {
            Input::Runs { matchers } => {
                format!("sum(rate({}[{w}]))", selector("probe_runs_total", matchers))
            }
            Input::Latency { matchers, .. } => format!(
                "sum(rate({}[{w}]))",
                selector("probe_run_duration_seconds_count", matchers)
            ),
            Input::Alb {
                direct,
                tags,
                period,
            } => format!(
                "{} / {}",
                alb_sum(ALB_REQUESTS, direct, tags, w),
                number(*period)
            ),
        }
    }

    /// Bad events per second over `w`, from raw series.
    pub(crate) fn errors(&self, w: &str) -> String {
        match self {
            Input::Runs { matchers } => {
                let mut m = matchers.clone();
                m.push("outcome=\"failure\"".to_string());
                format!("sum(rate({}[{w}]))", selector("probe_runs_total", &m))
            }
            Input::Latency { matchers, le } => {
                let mut good = matchers.clone();
                good.push(le.clone());
                format!(
                    "sum(rate({}[{w}])) - sum(rate({}[{w}]))",
                    selector("probe_run_duration_seconds_count", matchers),
                    selector("probe_run_duration_seconds_bucket", &good)
                )
            }
            Input::Alb {
                direct,
                tags,
                period,
            } => format!(
                "({} + {}) / {}",
                alb_sum(ALB_TARGET_5XX, direct, tags, w),
                alb_sum(ALB_ELB_5XX, direct, tags, w),
                number(*period)
            ),
        }
    }
}

/// The SLIs of `slo`: availability, and latency when it has a latency objective.
pub(crate) fn of(slo: &SloSpec, config: &Config) -> Vec<Sli> {
    let ratio = |percent: f64| {
        let objective = super::text::round12(percent / 100.0);
        (objective, super::text::round12((100.0 - percent) / 100.0))
    };
    let (objective, budget) = ratio(slo.objective);
    match slo.sli {
        SliSource::Probes => {
            let matchers = probe_matchers(&slo.selector);
            let events = format!("Runs of probes {{{}}}", matchers.join(","));
            let mut slis = vec![Sli {
                kind: "availability",
                input: Input::Runs {
                    matchers: matchers.clone(),
                },
                objective,
                budget,
                events: events.clone(),
                good: "succeed".to_string(),
                bad: "failed".to_string(),
            }];
            if let Some(latency) = &slo.latency {
                let (objective, budget) = ratio(latency.objective);
                let bound = format!("{}s", number(latency.bound));
                slis.push(Sli {
                    kind: "latency",
                    input: Input::Latency {
                        matchers,
                        le: le_matcher(latency.bound),
                    },
                    objective,
                    budget,
                    events,
                    good: format!("finish within {bound}"),
                    bad: format!("took longer than {bound}"),
                });
            }
            slis
        }
        SliSource::Alb => {
            let pairs = match &slo.selector {
                SloSelector::Labels(pairs) => pairs.as_slice(),
                // Validation allows only label matchers for ALBs.
                SloSelector::Probes(_) => &[],
            };
            let (tags, direct): (Vec<_>, Vec<_>) =
                pairs.iter().partition(|(k, _)| k.starts_with("tag_"));
            let direct: Vec<String> = direct.into_iter().map(|(k, v)| matcher(k, v)).collect();
            let tags: Vec<String> = tags.into_iter().map(|(k, v)| matcher(k, v)).collect();
            let events = if pairs.is_empty() {
                "Requests to every ALB".to_string()
            } else {
                let all: Vec<String> = pairs.iter().map(|(k, v)| matcher(k, v)).collect();
                format!("Requests to ALBs {{{}}}", all.join(","))
            };
            let period = config
                .aws
                .as_ref()
                .and_then(|a| a.cloudwatch.as_ref())
                .map_or(DEFAULT_PERIOD, |c| c.period);
            vec![Sli {
                kind: "availability",
                input: Input::Alb {
                    direct,
                    tags,
                    period: period.as_secs_f64(),
                },
                objective,
                budget,
                events,
                good: "get no 5xx".to_string(),
                bad: "answered 5xx".to_string(),
            }]
        }
    }
}

/// `name="value"`, the value a PromQL string.
fn matcher(name: &str, value: &str) -> String {
    format!("{name}={}", promql_string(value))
}

/// The selector as matchers on a probe's series: `probe="a"` for one name,
/// `probe=~"a|b"` (each name regex-escaped) for several, or the label pairs.
pub(crate) fn probe_matchers(selector: &SloSelector) -> Vec<String> {
    match selector {
        SloSelector::Probes(names) => match names.as_slice() {
            [one] => vec![matcher("probe", one)],
            many => {
                let alternatives: Vec<String> = many.iter().map(|n| regex::escape(n)).collect();
                vec![format!("probe=~{}", promql_string(&alternatives.join("|")))]
            }
        },
        SloSelector::Labels(pairs) => pairs.iter().map(|(k, v)| matcher(k, v)).collect(),
    }
}

/// The `le` matcher of a bucket bound. outpost writes the bound as Rust's shortest
/// float (`0.5`, `2`), but in OpenMetrics a whole number gets `.0` (`2.0`), and
/// Prometheus 3 rewrites it so too: a bound without `.` or `e` matches both.
pub(crate) fn le_matcher(bound: f64) -> String {
    let text = format!("{bound}");
    if text.contains(['.', 'e', 'E']) {
        matcher("le", &text)
    } else {
        let both = format!("{text}|{}", regex::escape(&format!("{text}.0")));
        format!("le=~{}", promql_string(&both))
    }
}

/// `sum` over the selected ALBs of `series` averaged over `w`: the mean count
/// per period, as the gauge repeats a period's count until the next refresh.
/// With tag matchers, each ALB's series is joined to its info series; `group by`
/// makes that side one series per ALB even when several outposts export it.
fn alb_sum(series: &str, direct: &[String], tags: &[String], w: &str) -> String {
    let average = format!("avg_over_time({}[{w}])", selector(series, direct));
    if tags.is_empty() {
        return format!("sum({average})");
    }
    format!(
        "sum({average} * on (region, load_balancer) group_left () group by (region, load_balancer) ({}))",
        selector(ALB_INFO, tags)
    )
}

/// `name{m1,m2}`, or the bare name without matchers.
fn selector(name: &str, matchers: &[String]) -> String {
    if matchers.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", matchers.join(","))
    }
}
