//! The series budget of a scheduled probe (docs/metrics.md, "Cardinality"): how
//! many samples one http probe puts on `/metrics`, the `success`/`failure` run
//! counters that exist from the start, and the per-reason failure counter that
//! appears on first use or, per module, from the start.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

use outpost::probe::ProberKind;
use outpost::scheduler::spread_offset;

use crate::support::certs::self_signed;
use crate::support::daemon::{promtool_check, sample, TestDaemon};
use crate::support::server::{handler, respond, serve, tls_config};

/// The samples of probe `name` on a `/metrics` page, as `series{labels}` lines
/// without their values.
fn samples_of<'t>(text: &'t str, name: &str) -> Vec<&'t str> {
    let label = format!("probe=\"{name}\",");
    text.lines()
        .filter(|l| !l.starts_with('#') && l.contains(&label))
        .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series))
        .collect()
}

fn http_module(name: &str, extra: &str, http: &str) -> String {
    format!(
        "[modules.{name}]\nprober = \"http\"\ntimeout = \"2s\"\n{extra}\n\
         [modules.{name}.http]\npreferred_ip_protocol = \"ip4\"\n{http}\n"
    )
}

fn probe(name: &str, module: &str, target: &str, interval: &str) -> String {
    format!(
        "[[probes]]\nname = \"{name}\"\nmodule = \"{module}\"\ntarget = \"{target}\"\ninterval = \"{interval}\"\n"
    )
}

/// With the default settings a successful http probe stays within 30 samples,
/// over plain HTTP and over TLS: the Blackbox gauges of its latest run, the two
/// run counters and a histogram with the 0.5 s and 2 s buckets.
#[tokio::test]
async fn a_scheduled_http_probe_stays_within_30_samples() {
    let ok = || handler(|_| respond(200, &[], "ok\n"));
    let plain = serve(None, ok()).await;
    let leaf = self_signed(&["localhost"]);
    let tls = serve(Some(tls_config(&leaf, &[b"http/1.1"], false)), ok()).await;
    let config = [
        http_module("plain", "", ""),
        http_module("tls", "", "tls_config = { insecure_skip_verify = true }"),
        probe("plain", "plain", &plain.url("/"), "2s"),
        probe("tls", "tls", &tls.https_url("/"), "2s"),
    ]
    .concat();
    let d = TestDaemon::start(&config).await;
    let succeeded = [
        format!(
            r#"probe="plain",module="plain",target="{}",outcome="success""#,
            plain.url("/")
        ),
        format!(
            r#"probe="tls",module="tls",target="{}",outcome="success""#,
            tls.https_url("/")
        ),
    ];
    let ran = |t: &str| {
        succeeded
            .iter()
            .all(|l| sample(t, "probe_runs_total", l).is_some_and(|n| n >= 1.0))
    };
    let text = d.metrics_when(Duration::from_secs(10), ran).await;
    assert!(ran(&text), "{text}");
    let plain_samples = samples_of(&text, "plain");
    let tls_samples = samples_of(&text, "tls");
    // 18 Blackbox gauges + 2 run counters + 5 histogram samples; TLS adds
    // Blackbox's 5 certificate, version and cipher series.
    assert_eq!(plain_samples.len(), 25, "{plain_samples:#?}");
    assert_eq!(tls_samples.len(), 30, "{tls_samples:#?}");
    let histogram: Vec<&str> = plain_samples
        .iter()
        .filter(|s| s.starts_with("probe_run_duration_seconds_bucket"))
        .map(|s| s.rsplit_once("le=").map_or("", |(_, le)| le))
        .collect();
    assert_eq!(histogram, ["\"0.5\"}", "\"2\"}", "\"+Inf\"}"]);
    assert!(!text.contains("probe_failures_total"), "{text}");
    promtool_check(&text);
    d.stop().await;
}

/// A server that accepts connections but answers each, with `503`, only once the
/// gate opens: until then no run of a probe of it can end (before its timeout).
async fn gated_server() -> (SocketAddr, watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (open, gate) = watch::channel(false);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut gate = gate.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request).await;
                if gate.wait_for(|open| *open).await.is_ok() {
                    let _ = stream
                        .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                }
            });
        }
    });
    (addr, open)
}

/// A probe name whose first run comes within the first second of a 30 s
/// interval, so the test does not wait for the spread offset.
fn early_name() -> String {
    (0..)
        .map(|i| format!("first-failure-{i}"))
        .find(|n| spread_offset(n, Duration::from_secs(30)) < Duration::from_secs(1))
        .unwrap()
}

/// `success` and `failure` exist at 0 before any run ends, so the first failure
/// is an increase of `outcome="failure"`; its reason appears with it, and no
/// other reason does.
#[tokio::test]
async fn the_first_failure_is_an_increase_and_brings_its_reason() {
    let (addr, open) = gated_server().await;
    let name = early_name();
    let config = format!(
        "[modules.h]\nprober = \"http\"\n[modules.h.http]\npreferred_ip_protocol = \"ip4\"\n{}timeout = \"30s\"\n",
        probe(&name, "h", &format!("http://{addr}/"), "30s")
    );
    let d = TestDaemon::start(&config).await;
    let labels = format!(r#"probe="{name}",module="h",target="http://{addr}/""#);
    let success = format!(r#"{labels},outcome="success""#);
    let failure = format!(r#"{labels},outcome="failure""#);

    let (_, before) = d.get("/metrics").await;
    assert_eq!(sample(&before, "probe_runs_total", &success), Some(0.0));
    assert_eq!(sample(&before, "probe_runs_total", &failure), Some(0.0));
    assert!(!before.contains("probe_failures_total"), "{before}");
    assert_eq!(
        sample(&before, "probe_run_duration_seconds_count", &labels),
        Some(0.0)
    );

    open.send(true).unwrap();
    let failed = |t: &str| sample(t, "probe_runs_total", &failure) == Some(1.0);
    let after = d.metrics_when(Duration::from_secs(10), failed).await;
    assert_eq!(
        sample(&after, "probe_runs_total", &failure),
        Some(1.0),
        "{after}"
    );
    assert_eq!(sample(&after, "probe_runs_total", &success), Some(0.0));
    let reasons: Vec<&str> = samples_of(&after, &name)
        .into_iter()
        .filter(|s| s.starts_with("probe_failures_total{"))
        .collect();
    assert_eq!(
        reasons,
        [format!(
            r#"probe_failures_total{{{labels},reason="http_status"}}"#
        )]
    );
    assert_eq!(
        sample(
            &after,
            "probe_failures_total",
            &format!(r#"{labels},reason="http_status""#)
        ),
        Some(1.0)
    );
    promtool_check(&after);
    d.stop().await;
}

/// `precreate_failure_reasons = true` puts every reason of the prober on the
/// page at 0 from the start; the module next to it, without it, shows none.
#[tokio::test]
async fn a_module_can_precreate_every_failure_reason() {
    let server = serve(None, handler(|_| respond(200, &[], "ok\n"))).await;
    let config = [
        http_module("eager", "precreate_failure_reasons = true", ""),
        http_module("lazy", "", ""),
        probe("eager", "eager", &server.url("/"), "2s"),
        probe("lazy", "lazy", &server.url("/"), "2s"),
    ]
    .concat();
    let d = TestDaemon::start(&config).await;
    let (_, text) = d.get("/metrics").await;
    let eager = format!(
        r#"probe="eager",module="eager",target="{}""#,
        server.url("/")
    );
    let mut reasons: Vec<String> = samples_of(&text, "eager")
        .into_iter()
        .filter_map(|s| s.strip_prefix(&format!("probe_failures_total{{{eager},reason=\"")))
        .map(|s| s.trim_end_matches("\"}").to_string())
        .collect();
    let mut expected: Vec<String> = ProberKind::Http
        .outcomes()
        .iter()
        .map(|r| r.as_label().to_string())
        .collect();
    reasons.sort_unstable();
    expected.sort_unstable();
    assert_eq!(reasons, expected);
    for reason in &expected {
        assert_eq!(
            sample(
                &text,
                "probe_failures_total",
                &format!(r#"{eager},reason="{reason}""#)
            ),
            Some(0.0)
        );
    }
    assert!(
        !samples_of(&text, "lazy")
            .iter()
            .any(|s| s.starts_with("probe_failures_total")),
        "{text}"
    );
    promtool_check(&text);
    d.stop().await;
}

/// The counters live in the results store: a fresh probe has both outcomes at 0
/// and no reason; a failure counts once as `failure` and once under its reason.
#[test]
fn the_store_counts_failures_by_outcome_and_reason() {
    use outpost::config::ProbeSpec;
    use outpost::probe::{FailureReason, ProbeFailure, ProbeReport};
    use outpost::results::{ProbeState, RunCounts};
    let spec = ProbeSpec {
        name: "p".to_string(),
        module: "m".to_string(),
        target: "http://127.0.0.1:9/".to_string(),
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(5),
        fan_out: None,
        origin: outpost::config::Origin::Config,
        labels: vec![],
    };
    let module = Arc::new(crate::support::http_module(Default::default()));
    let state = ProbeState::new(spec, module);
    assert_eq!(state.snapshot().runs, RunCounts::default());
    let report = |failure: Option<FailureReason>| ProbeReport {
        success: failure.is_none(),
        failure: failure.map(|r| ProbeFailure::new(r, "test")),
        duration: Duration::from_millis(5),
        timeout: Duration::from_secs(5),
        started_at: std::time::SystemTime::now(),
        samples: vec![],
        trace: vec![],
        packets: None,
    };
    state.record(report(None));
    state.record(report(Some(FailureReason::Connect)));
    state.record(report(Some(FailureReason::Connect)));
    state.record(report(Some(FailureReason::Timeout)));
    let runs = state.snapshot().runs.clone();
    assert_eq!((runs.successes, runs.failures, runs.total()), (1, 3, 4));
    assert_eq!(
        runs.by_reason.into_iter().collect::<Vec<_>>(),
        [("connect", 2), ("timeout", 1)]
    );
}
