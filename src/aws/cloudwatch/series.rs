//! The families of a `[aws.cloudwatch]` metric list: the default set's are the
//! published ones (src/metrics/names.rs); any other configured metric gets a
//! gauge family of the same shape, its name made `'static` once per process.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use crate::config::aws::cloudwatch::CloudwatchConfig;
use crate::metrics::names::{self, Family, Kind};

/// The series of every (metric, statistic) of one configuration.
#[derive(Debug, Clone)]
pub struct Series {
    /// The age family first, then each series once.
    pub families: Vec<Family>,
    /// By metric index, then statistic index.
    names: Vec<Vec<&'static str>>,
}

impl Series {
    pub fn new(config: &CloudwatchConfig) -> Series {
        let mut families = vec![age_family()];
        let mut names = Vec::with_capacity(config.metrics.len());
        for m in &config.metrics {
            let mut of_metric = Vec::with_capacity(m.statistics.len());
            for stat in &m.statistics {
                let name = m.series(stat);
                let family = names::find(names::AWS_CLOUDWATCH, &name)
                    .copied()
                    .unwrap_or_else(|| {
                        let help = format!(
                            "CloudWatch {} {}, {stat} over the period.",
                            m.namespace, m.name
                        );
                        Family::new(intern(name), Kind::Gauge, intern(help))
                    });
                of_metric.push(family.name);
                families.push(family);
            }
            names.push(of_metric);
        }
        Series { families, names }
    }

    /// The series name of statistic `stat` of metric `metric` (indices into the config).
    pub fn name(&self, metric: usize, stat: usize) -> Option<&'static str> {
        self.names.get(metric)?.get(stat).copied()
    }
}

fn age_family() -> Family {
    names::find(
        names::AWS_CLOUDWATCH,
        names::AWS_CLOUDWATCH_DATAPOINT_AGE_SECONDS,
    )
    .copied()
    .unwrap_or(Family::new(
        names::AWS_CLOUDWATCH_DATAPOINT_AGE_SECONDS,
        Kind::Gauge,
        "Seconds since the CloudWatch datapoint shown.",
    ))
}

/// Every name made `'static` so far: a reload with the same metrics leaks nothing
/// more, so the total is bounded by the distinct metrics ever configured.
static INTERNED: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());

fn intern(text: String) -> &'static str {
    let mut set = INTERNED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = set.get(text.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.into_boxed_str());
    set.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_the_same_name_twice_gives_the_same_str() {
        let a = intern("aws_rds_custom_metric_sum".to_string());
        let b = intern("aws_rds_custom_metric_sum".to_string());
        assert!(std::ptr::eq(a, b));
    }
}
