//! Running the batches: each `GetMetricData` call, every `NextToken` page, and
//! from the answers the newest datapoint of each query as samples.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{MetricDataQuery, ScanBy};
use aws_sdk_cloudwatch::Client;

use super::queries::{query, query_id, Batch, Planned};
use crate::aws::calls::{Calls, ScrapeError, CLOUDWATCH_GET_METRIC_DATA};
use crate::aws::AwsSample;
use crate::metrics::names;

/// One `GetMetricData` page; the seam the pagination test replaces.
pub(super) trait Api {
    async fn page(
        &mut self,
        queries: &[MetricDataQuery],
        batch: &Batch,
        token: Option<String>,
    ) -> Result<GetMetricDataOutput, ScrapeError>;
}

/// The SDK client, counting each call and the metrics it requested.
pub(super) struct Sdk<'a> {
    pub client: &'a Client,
    pub calls: &'a mut Calls,
}

impl Api for Sdk<'_> {
    async fn page(
        &mut self,
        queries: &[MetricDataQuery],
        batch: &Batch,
        token: Option<String>,
    ) -> Result<GetMetricDataOutput, ScrapeError> {
        // AWS bills every query of every call, pages after the first included.
        self.calls.metrics_requested += queries.len() as u64;
        let request = self
            .client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.to_vec()))
            .start_time(DateTime::from_secs(batch.start))
            .end_time(DateTime::from_secs(batch.end))
            .scan_by(ScanBy::TimestampDescending)
            .set_next_token(token)
            .send();
        self.calls.call(CLOUDWATCH_GET_METRIC_DATA, request).await
    }
}

/// Datapoints by query id: (Unix seconds, value).
pub(super) type Datapoints = HashMap<String, Vec<(f64, f64)>>;

/// Every page of every batch; the first failing call fails the refresh.
pub(super) async fn fetch(
    api: &mut impl Api,
    planned: &[Planned],
    batches: &[Batch],
    period: Duration,
) -> Result<Datapoints, ScrapeError> {
    let mut out = Datapoints::new();
    for batch in batches {
        let queries: Vec<MetricDataQuery> = batch
            .queries
            .iter()
            .filter_map(|i| planned.get(*i).map(|p| query(p, *i, period)))
            .collect();
        let mut token: Option<String> = None;
        loop {
            let page = api.page(&queries, batch, token.take()).await?;
            for r in page.metric_data_results() {
                let points = out
                    .entry(r.id().unwrap_or_default().to_string())
                    .or_default();
                let times = r.timestamps().iter().map(DateTime::as_secs_f64);
                points.extend(times.zip(r.values().iter().copied()));
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
    }
    Ok(out)
}

/// Each planned query's newest datapoint as its series, with its age series;
/// nothing when the window had none (0 and no age with `nil_to_zero`).
pub(super) fn samples(planned: &[Planned], points: &Datapoints) -> Vec<AwsSample> {
    let mut out = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        let newest = points
            .get(&query_id(i))
            .and_then(|v| v.iter().copied().max_by(|a, b| a.0.total_cmp(&b.0)));
        match newest {
            Some((at, value)) => {
                out.push(sample(p.family, p.labels.clone(), value));
                let mut labels = vec![("series".to_string(), p.family.to_string())];
                labels.extend(p.labels.iter().cloned());
                out.push(sample(
                    names::AWS_CLOUDWATCH_DATAPOINT_AGE_SECONDS,
                    labels,
                    at,
                ));
            }
            None if p.nil_to_zero => out.push(sample(p.family, p.labels.clone(), 0.0)),
            None => {}
        }
    }
    out
}

fn sample(family: &'static str, labels: Vec<(String, String)>, value: f64) -> AwsSample {
    AwsSample {
        family,
        labels,
        value,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test data is known to be valid")]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::types::MetricDataResult;

    /// Answers from a script of pages, recording the token each call sent.
    struct Script {
        pages: Vec<GetMetricDataOutput>,
        tokens: Vec<Option<String>>,
        sizes: Vec<usize>,
    }

    impl Api for Script {
        async fn page(
            &mut self,
            queries: &[MetricDataQuery],
            _batch: &Batch,
            token: Option<String>,
        ) -> Result<GetMetricDataOutput, ScrapeError> {
            self.tokens.push(token);
            self.sizes.push(queries.len());
            Ok(self.pages.remove(0))
        }
    }

    fn result(id: &str, points: &[(i64, f64)]) -> MetricDataResult {
        let mut r = MetricDataResult::builder().id(id);
        for (t, v) in points {
            r = r.timestamps(DateTime::from_secs(*t)).values(*v);
        }
        r.build()
    }

    fn planned(family: &'static str, nil_to_zero: bool) -> Planned {
        Planned {
            family,
            labels: vec![("db_instance".into(), "db".into())],
            nil_to_zero,
            delay: Duration::ZERO,
            namespace: "AWS/RDS".into(),
            metric: "CPUUtilization".into(),
            dimensions: vec![("DBInstanceIdentifier", "db".into())],
            stat: "Average".into(),
        }
    }

    #[tokio::test]
    async fn every_next_token_page_is_read_and_the_newest_point_wins() {
        let first = GetMetricDataOutput::builder()
            .metric_data_results(result("q0", &[(120, 2.0)]))
            .next_token("more")
            .build();
        let second = GetMetricDataOutput::builder()
            .metric_data_results(result("q0", &[(180, 3.0), (60, 1.0)]))
            .build();
        let mut api = Script {
            pages: vec![first, second],
            tokens: Vec::new(),
            sizes: Vec::new(),
        };
        let plan = vec![
            planned("aws_rds_cpuutilization_average", false),
            planned("aws_rds_replica_lag_average", false),
            planned("aws_rds_burst_balance_average", true),
        ];
        let batch = Batch {
            start: 0,
            end: 240,
            queries: vec![0, 1, 2],
        };
        let points = fetch(&mut api, &plan, &[batch], Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(api.tokens, [None, Some("more".to_string())]);
        assert_eq!(api.sizes, [3, 3]);
        let s = samples(&plan, &points);
        let shown: Vec<(&str, f64)> = s.iter().map(|s| (s.family, s.value)).collect();
        // The newest (180 s) value; its age series holds its time; no ReplicaLag;
        // BurstBalance 0 without an age.
        assert_eq!(
            shown,
            [
                ("aws_rds_cpuutilization_average", 3.0),
                ("aws_cloudwatch_datapoint_age_seconds", 180.0),
                ("aws_rds_burst_balance_average", 0.0),
            ]
        );
        assert_eq!(
            s[1].labels[0],
            ("series".into(), "aws_rds_cpuutilization_average".into())
        );
    }
}
