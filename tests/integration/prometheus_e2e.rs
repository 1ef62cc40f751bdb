//! A real Prometheus (Debian's) scrapes a running outpost: the exposition it
//! negotiates (OpenMetrics) must parse, and the series must be queryable.

use std::time::Duration;

use crate::support::daemon::{target_server, TestDaemon};
use crate::support::prometheus::Prometheus;

#[tokio::test]
async fn prometheus_scrapes_outpost_and_queries_its_series() {
    let target = target_server().await;
    let d = TestDaemon::start(&format!(
        "[modules.http_2xx]\nprober = \"http\"\n[modules.http_2xx.http]\npreferred_ip_protocol = \"ip4\"\n\n\
         [[probes]]\nname = \"good\"\nmodule = \"http_2xx\"\ntarget = \"http://{target}/ok\"\ninterval = \"1s\"\n\
         labels = {{ target_region = \"ap-southeast-1\" }}\n"
    ))
    .await;

    let dir = tempfile::tempdir().unwrap();
    let prom_config = dir.path().join("prometheus.yml");
    std::fs::write(
        &prom_config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: outpost\n    static_configs:\n      - targets: ['{}']\n",
            d.addr
        ),
    )
    .unwrap();
    let prom = Prometheus::start(dir.path());

    // Both a gauge and a counter (OpenMetrics names it without _total) must arrive.
    let queries = [
        "up{job=\"outpost\"}",
        "probe_success{probe=\"good\",target_region=\"ap-southeast-1\"}",
        "probe_runs_total{probe=\"good\",outcome=\"success\"}",
        "probe_run_duration_seconds_count{probe=\"good\"}",
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut answers = Vec::new();
    loop {
        answers.clear();
        for q in queries {
            let answer = prom
                .query(q)
                .await
                .map(|a| a.to_string())
                .unwrap_or_default();
            answers.push(answer);
        }
        let values: Vec<Option<f64>> = answers.iter().map(|a| first_value(a)).collect();
        if values[0] == Some(1.0)
            && values[1] == Some(1.0)
            && values[2].is_some_and(|v| v >= 1.0)
            && values[3].is_some_and(|v| v >= 1.0)
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Prometheus never saw the series: {answers:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    d.stop().await;
}

/// The value of the first sample in a Prometheus instant-query answer.
fn first_value(answer: &str) -> Option<f64> {
    let after = answer.split("\"value\":[").nth(1)?;
    let value = after.split(',').nth(1)?;
    value
        .trim_matches(|c| c == '"' || c == ']' || c == '}')
        .parse()
        .ok()
}
