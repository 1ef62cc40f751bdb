//! CloudWatch statistics against a real moto_server seeded in two regions
//! (tests/testdata/aws/seed.py, then cloudwatch_seed.py with PutMetricData):
//! every default metric with its value and labels, absent without datapoints or
//! with only datapoints older than the window, the GetMetricData calls batching
//! promises, and CloudWatch failing while the Describe series and probes go on.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use outpost::daemon::Options;

use crate::support::daemon::{promtool_check, sample, target_server, TestDaemon};
use crate::support::moto::Moto;

const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];

async fn daemon(toml: &str, moto: &Moto) -> TestDaemon {
    let options = Options {
        aws: moto.options(Arc::new(AtomicUsize::new(0))),
        ..Options::default()
    };
    TestDaemon::start_with(toml, options).await
}

fn success(m: &str, region: &str, service: &str) -> Option<f64> {
    sample(
        m,
        "outpost_aws_scrape_success",
        &format!("region=\"{region}\",service=\"{service}\""),
    )
}

fn refreshed(m: &str) -> bool {
    REGIONS
        .iter()
        .all(|r| success(m, r, "cloudwatch") == Some(1.0))
}

fn cloudwatch_counts(m: &str, r: &str) -> (Option<f64>, Option<f64>) {
    let calls = sample(
        m,
        "outpost_aws_api_calls_total",
        &format!("region=\"{r}\",service=\"cloudwatch\",operation=\"GetMetricData\""),
    );
    let requested = sample(
        m,
        "outpost_aws_cloudwatch_metrics_requested_total",
        &format!("region=\"{r}\""),
    );
    (calls, requested)
}

/// The default set with delay 0, one refresh (interval 1h: its window is the
/// last hour): every metric's value and labels in both regions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_default_metric_in_two_regions() {
    let moto = Moto::start();
    for (k, r) in REGIONS.iter().enumerate() {
        moto.seed(r);
        moto.seed_cloudwatch(r, k as u32 + 1);
    }
    let d = daemon(
        "[aws]\nregions = [\"eu-west-1\", \"us-east-1\"]\ninterval = \"1h\"\n\n[aws.cloudwatch]\ninterval = \"1h\"\ndelay = \"0s\"\n",
        &moto,
    )
    .await;
    let m = d.metrics_when(Duration::from_secs(90), refreshed).await;
    assert!(refreshed(&m), "{m}");
    // promtool's only objection is a lint on names kept on purpose: YACE's `_sum`
    // statistic suffix on gauges (docs/metrics.md).
    let lint_free = |l: &&str| {
        let name = l
            .trim_start_matches("# HELP ")
            .trim_start_matches("# TYPE ")
            .split(['{', ' '])
            .next()
            .unwrap_or_default();
        !name.ends_with("_sum")
    };
    promtool_check(
        &m.lines()
            .filter(lint_free)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    for (k, r) in REGIONS.iter().enumerate() {
        assert_values(&m, r, k as f64 + 1.0);
        // 7 for alb-web, 2 for tg-web behind it (tg-idle is behind none),
        // 8 for each of three DB instances, 1 for each of two groups: 35
        // queries, one call.
        assert_eq!(cloudwatch_counts(&m, r), (Some(1.0), Some(35.0)), "{m}");
    }
    d.stop().await;
}

fn assert_values(m: &str, r: &str, k: f64) {
    let lb = |name: &str| {
        sample(
            m,
            name,
            &format!("region=\"{r}\",load_balancer=\"alb-web\""),
        )
    };
    let tg = |name: &str| {
        sample(
            m,
            name,
            &format!("region=\"{r}\",load_balancer=\"alb-web\",target_group=\"tg-web\""),
        )
    };
    let db =
        |name: &str, id: &str| sample(m, name, &format!("region=\"{r}\",db_instance=\"{id}\""));
    let close = |got: Option<f64>, want: f64, what: &str| {
        let got = got.unwrap_or_else(|| panic!("{what} missing in {r}:\n{m}"));
        assert!(
            (got - want).abs() < 1e-9 * want.abs().max(1.0),
            "{what} in {r}: {got} != {want}"
        );
    };
    close(
        lb("aws_applicationelb_request_count_sum"),
        1000.0 * k,
        "requests",
    );
    close(
        lb("aws_applicationelb_httpcode_target_5xx_count_sum"),
        3.0 * k,
        "target 5xx",
    );
    close(
        lb("aws_applicationelb_httpcode_elb_5xx_count_sum"),
        2.0 * k,
        "elb 5xx",
    );
    close(
        lb("aws_applicationelb_httpcode_target_4xx_count_sum"),
        7.0 * k,
        "target 4xx",
    );
    close(
        lb("aws_applicationelb_target_response_time_average"),
        0.4 * k,
        "latency avg",
    );
    close(
        lb("aws_applicationelb_target_response_time_maximum"),
        0.6 * k,
        "latency max",
    );
    // No datapoint, nil_to_zero: 0, and no age series.
    assert_eq!(
        lb("aws_applicationelb_rejected_connection_count_sum"),
        Some(0.0),
        "{m}"
    );
    close(
        tg("aws_applicationelb_healthy_host_count_minimum"),
        k,
        "healthy min",
    );
    close(
        tg("aws_applicationelb_un_healthy_host_count_maximum"),
        k,
        "unhealthy max",
    );
    // The newest period wins over the older one (99).
    close(
        db("aws_rds_cpuutilization_average", "db-good"),
        40.0 + k,
        "cpu",
    );
    close(
        db("aws_rds_free_storage_space_average", "db-good"),
        5e9 * k,
        "free storage",
    );
    close(
        db("aws_rds_freeable_memory_average", "db-good"),
        1e9 * k,
        "freeable memory",
    );
    close(
        db("aws_rds_database_connections_average", "db-good"),
        10.0 * k,
        "connections",
    );
    close(
        db("aws_rds_read_latency_average", "db-good"),
        0.001 * k,
        "read latency",
    );
    close(
        db("aws_rds_write_latency_average", "db-good"),
        0.002 * k,
        "write latency",
    );
    close(
        db("aws_rds_burst_balance_average", "db-good"),
        90.0 + k,
        "burst balance",
    );
    close(
        db("aws_rds_cpuutilization_average", "db-bad"),
        10.0 * k,
        "db-bad cpu",
    );
    // Only a datapoint older than the window: absent. No datapoint at all: absent.
    assert_eq!(db("aws_rds_replica_lag_average", "db-good"), None, "{m}");
    assert_eq!(
        db("aws_rds_free_storage_space_average", "db-bad"),
        None,
        "{m}"
    );
    assert_eq!(
        db("aws_rds_cpuutilization_average", "db-stopped"),
        None,
        "{m}"
    );
    close(
        sample(
            m,
            "aws_ec2_cpuutilization_average",
            &format!("region=\"{r}\",autoscaling_group=\"asg-web\""),
        ),
        30.0 * k,
        "asg cpu",
    );
    let age = sample(
        m,
        "aws_cloudwatch_datapoint_age_seconds",
        &format!(
            "region=\"{r}\",series=\"aws_rds_cpuutilization_average\",db_instance=\"db-good\""
        ),
    )
    .unwrap_or_else(|| panic!("no age in {r}:\n{m}"));
    // The newest period started at least a period before the window's end.
    assert!((60.0..7200.0).contains(&age), "age {age}");
    let no_age = format!(
        "aws_cloudwatch_datapoint_age_seconds{{region=\"{r}\",series=\"aws_applicationelb_rejected_connection_count_sum\""
    );
    assert!(!m.contains(&no_age), "{m}");
    // The series carry no timestamp: value is the last field.
    let line = m
        .lines()
        .find(|l| {
            l.starts_with(&format!(
                "aws_rds_cpuutilization_average{{region=\"{r}\",db_instance=\"db-good\"}} "
            ))
        })
        .unwrap();
    assert_eq!(line.split(' ').count(), 2, "{line}");
}

/// 34 metrics × 5 statistics × 3 DB instances = 510 queries in one window:
/// two calls (500 + 10) per region and refresh, 510 metrics requested.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_500_queries_take_two_calls() {
    let moto = Moto::start();
    for r in REGIONS {
        moto.seed(r);
    }
    let mut toml = "[aws]\nregions = [\"eu-west-1\", \"us-east-1\"]\ninterval = \"1h\"\nservices = [\"rds\"]\n\n[aws.cloudwatch]\ninterval = \"1h\"\n".to_string();
    for i in 0..34 {
        toml.push_str(&format!(
            "\n[[aws.cloudwatch.metrics]]\nnamespace = \"AWS/RDS\"\nname = \"Metric{i:02}\"\nstatistics = [\"Sum\", \"Average\", \"Maximum\", \"Minimum\", \"SampleCount\"]\n"
        ));
    }
    let d = daemon(&toml, &moto).await;
    let m = d.metrics_when(Duration::from_secs(90), refreshed).await;
    assert!(refreshed(&m), "{m}");
    for r in REGIONS {
        assert_eq!(cloudwatch_counts(&m, r), (Some(2.0), Some(510.0)), "{m}");
    }
    // Nothing was seeded: every configured series is absent, and the families
    // made for metrics outside the default set are declared by their source.
    assert!(!m.contains("aws_rds_metric00_sum{"), "{m}");
    let app = d.daemon.as_ref().unwrap().app.clone();
    let cloudwatch = app
        .sources()
        .into_iter()
        .find(|s| {
            s.families()
                .iter()
                .any(|f| f.name == "aws_rds_metric33_sample_count")
        })
        .expect("a source declaring the configured series");
    assert_eq!(cloudwatch.families().len(), 1 + 34 * 5);
    assert_eq!(
        outpost::metrics::source::undeclared(
            cloudwatch.as_ref(),
            outpost::metrics::encode::Format::Text
        ),
        Vec::<String>::new()
    );
    d.stop().await;
}

/// moto killed: the CloudWatch refresh fails (scrape_success 0, the error
/// counted) while the cached Describe series and the probes go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudwatch_failing_leaves_describe_series_and_probes() {
    let mut moto = Moto::start();
    for (k, r) in REGIONS.iter().enumerate() {
        moto.seed(r);
        moto.seed_cloudwatch(r, k as u32 + 1);
    }
    let peer = target_server().await;
    let toml = format!(
        "[aws]\nregions = [\"eu-west-1\", \"us-east-1\"]\ninterval = \"1s\"\nstale_after = \"1h\"\n\n\
         [aws.cloudwatch]\ninterval = \"1s\"\ndelay = \"0s\"\n\n\
         [modules.http_2xx]\nprober = \"http\"\n\n\
         [[probes]]\nname = \"up\"\nmodule = \"http_2xx\"\ntarget = \"http://{peer}/ok\"\ninterval = \"1s\"\n"
    );
    let d = daemon(&toml, &moto).await;
    let m = d.metrics_when(Duration::from_secs(90), refreshed).await;
    assert!(refreshed(&m), "{m}");
    moto.kill();
    let failed = |m: &str| {
        REGIONS
            .iter()
            .all(|r| success(m, r, "cloudwatch") == Some(0.0))
    };
    let m = d.metrics_when(Duration::from_secs(60), failed).await;
    assert!(failed(&m), "{m}");
    let runs = |m: &str| {
        sample(
            m,
            "probe_runs_total",
            "probe=\"up\",module=\"http_2xx\",target=\"http://PEER/ok\",outcome=\"success\""
                .replace("PEER", &peer.to_string())
                .as_str(),
        )
    };
    let before = runs(&m).unwrap_or_else(|| panic!("no probe runs:\n{m}"));
    for r in REGIONS {
        let errors = m
            .lines()
            .filter(|l| l.starts_with(&format!("outpost_aws_api_errors_total{{region=\"{r}\",service=\"cloudwatch\",operation=\"GetMetricData\"")))
            .count();
        assert!(errors >= 1, "{m}");
        // The Describe caches still show their last good data.
        assert_eq!(
            sample(
                &m,
                "aws_rds_instance_status",
                &format!("region=\"{r}\",db_instance=\"db-good\",status=\"available\"")
            ),
            Some(1.0),
            "{m}"
        );
    }
    // Probes keep running and succeeding.
    let later = d
        .metrics_when(Duration::from_secs(30), |m| runs(m) > Some(before))
        .await;
    assert!(runs(&later) > Some(before), "{later}");
    assert_eq!(
        sample(
            &later,
            "probe_success",
            &format!("probe=\"up\",module=\"http_2xx\",target=\"http://{peer}/ok\"")
        ),
        Some(1.0),
        "{later}"
    );
    d.stop().await;
}
