//! The daemon end to end, in-process: scheduled probes on /metrics, /probe,
//! reload, and the exposition checked by promtool.

use std::time::Duration;

use http::StatusCode;

use outpost::daemon::Options;

use crate::support::daemon::{promtool_check, request, sample, target_server, TestDaemon};

fn config(target: std::net::SocketAddr, extra: &str) -> String {
    format!(
        r#"
[modules.http_2xx]
prober = "http"
timeout = "1s"
[modules.http_2xx.http]
preferred_ip_protocol = "ip4"

[modules.http_secret]
prober = "http"
[modules.http_secret.http]
bearer_token = "s3cr3t-token"
preferred_ip_protocol = "ip4"

[modules.http_host]
prober = "http"
[modules.http_host.http]
headers = {{ Host = "a.example" }}
preferred_ip_protocol = "ip4"

[modules.tcp_connect]
prober = "tcp"
[modules.tcp_connect.tcp]
preferred_ip_protocol = "ip4"

[[probes]]
name = "good"
module = "http_2xx"
target = "http://{target}/ok"
interval = "1s"
labels = {{ service = "web", target_region = "ap-southeast-1" }}

[[probes]]
name = "failing"
module = "http_2xx"
target = "http://{target}/fail"
interval = "1s"

[[probes]]
name = "slow"
module = "http_2xx"
target = "http://{target}/slow"
interval = "2s"
timeout = "1s"

[[probes]]
name = "redirecting"
module = "http_2xx"
target = "http://{target}/redirect"
interval = "1s"

[[probes]]
name = "port"
module = "tcp_connect"
target = "{target}"
interval = "1s"
{extra}
"#
    )
}

const ALL_RAN: &[&str] = &["good", "failing", "slow", "redirecting", "port"];

fn all_ran(text: &str) -> bool {
    ALL_RAN
        .iter()
        .all(|p| text.contains(&format!("probe_success{{probe=\"{p}\"")))
}

#[tokio::test]
async fn scheduled_probes_report_good_failing_slow_and_redirecting_targets() {
    let target = target_server().await;
    let d = TestDaemon::start(&config(target, "")).await;
    let text = d.metrics_when(Duration::from_secs(10), all_ran).await;
    assert!(all_ran(&text), "not every probe ran:\n{text}");

    let good = format!(
        r#"probe="good",module="http_2xx",target="http://{target}/ok",service="web",target_region="ap-southeast-1""#
    );
    assert_eq!(sample(&text, "probe_success", &good), Some(1.0));
    assert_eq!(sample(&text, "probe_http_status_code", &good), Some(200.0));
    assert_eq!(
        sample(&text, "probe_http_content_length", &good),
        Some(14.0)
    );
    assert_eq!(sample(&text, "probe_ip_protocol", &good), Some(4.0));
    assert!(
        sample(
            &text,
            "probe_runs_total",
            &format!(r#"{good},outcome="success""#)
        )
        .unwrap_or(0.0)
            >= 1.0
    );
    assert_eq!(
        sample(
            &text,
            "probe_runs_total",
            &format!(r#"{good},outcome="failure""#)
        ),
        Some(0.0)
    );

    let failing = format!(r#"probe="failing",module="http_2xx",target="http://{target}/fail""#);
    assert_eq!(sample(&text, "probe_success", &failing), Some(0.0));
    assert_eq!(
        sample(&text, "probe_http_status_code", &failing),
        Some(500.0)
    );
    let failures = sample(
        &text,
        "probe_runs_total",
        &format!(r#"{failing},outcome="failure""#),
    )
    .unwrap_or(0.0);
    assert!(failures >= 1.0);
    assert_eq!(
        sample(
            &text,
            "probe_failures_total",
            &format!(r#"{failing},reason="http_status""#)
        ),
        Some(failures)
    );

    let slow = format!(r#"probe="slow",module="http_2xx",target="http://{target}/slow""#);
    assert_eq!(sample(&text, "probe_success", &slow), Some(0.0));
    assert_eq!(sample(&text, "probe_timeout_seconds", &slow), Some(1.0));
    assert!(
        sample(
            &text,
            "probe_failures_total",
            &format!(r#"{slow},reason="timeout""#)
        )
        .unwrap_or(0.0)
            >= 1.0
    );
    // The slow run lands in the histogram above 0.5 s.
    assert_eq!(
        sample(
            &text,
            "probe_run_duration_seconds_bucket",
            &format!(r#"{slow},le="0.5""#)
        ),
        Some(0.0)
    );

    let redirecting =
        format!(r#"probe="redirecting",module="http_2xx",target="http://{target}/redirect""#);
    assert_eq!(sample(&text, "probe_success", &redirecting), Some(1.0));
    assert_eq!(
        sample(&text, "probe_http_redirects", &redirecting),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "probe_http_status_code", &redirecting),
        Some(200.0)
    );

    let port = format!(r#"probe="port",module="tcp_connect",target="{target}""#);
    assert_eq!(sample(&text, "probe_success", &port), Some(1.0));

    assert_eq!(sample(&text, "outpost_probes", ""), Some(5.0));
    assert_eq!(
        sample(&text, "outpost_config_last_reload_successful", ""),
        Some(1.0)
    );
    assert!(text.contains("outpost_build_info{version=\""));
    assert!(sample(&text, "process_resident_memory_bytes", "").unwrap_or(0.0) > 0.0);
    promtool_check(&text);
    d.stop().await;
}

#[tokio::test]
async fn metrics_speak_openmetrics_when_asked() {
    let target = target_server().await;
    let d = TestDaemon::start(&config(target, "")).await;
    let (status, headers, body) = request(
        d.addr,
        "GET",
        "/metrics",
        &[(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(body.ends_with("# EOF\n"));
    assert!(body.contains("# TYPE probe_runs counter\n"), "{body}");
    let (_, headers, body) = request(d.addr, "GET", "/metrics", &[]).await;
    assert_eq!(
        headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    assert!(body.contains("# TYPE probe_runs_total counter\n"));
    assert!(!body.contains("# EOF"));
    d.stop().await;
}

#[tokio::test]
async fn probe_endpoint_is_blackbox_compatible() {
    let target = target_server().await;
    let d = TestDaemon::start(&config(target, "")).await;

    let (status, body) = d
        .get(&format!("/probe?module=http_2xx&target=http://{target}/ok"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sample(&body, "probe_success", ""), Some(1.0));
    assert_eq!(sample(&body, "probe_http_status_code", ""), Some(200.0));
    assert!(
        !body.contains("probe=\""),
        "no probe label on /probe:\n{body}"
    );
    // Module timeout 1s is shorter than 120s - 0.5s.
    assert_eq!(sample(&body, "probe_timeout_seconds", ""), Some(1.0));
    promtool_check(&body);

    let (_, _, body) = request(
        d.addr,
        "GET",
        &format!("/probe?module=tcp_connect&target={target}"),
        &[("X-Prometheus-Scrape-Timeout-Seconds", "1")],
    )
    .await;
    assert_eq!(sample(&body, "probe_timeout_seconds", ""), Some(0.5));
    assert_eq!(sample(&body, "probe_success", ""), Some(1.0));

    let (status, body) = d
        .get(&format!(
            "/probe?module=http_2xx&target=http://{target}/fail"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sample(&body, "probe_success", ""), Some(0.0));
    assert_eq!(sample(&body, "probe_http_status_code", ""), Some(500.0));

    let (status, body) = d.get("/probe?module=http_2xx").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::BAD_REQUEST, "Target parameter is missing\n")
    );
    let (status, body) = d
        .get(&format!("/probe?module=nope&target=http://{target}/ok"))
        .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::BAD_REQUEST, "Unknown module \"nope\"\n")
    );
    let (_, metrics) = d.get("/metrics").await;
    assert_eq!(
        sample(&metrics, "outpost_module_unknown_total", ""),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &metrics,
            "outpost_probe_requests_total",
            r#"module="http_2xx",code="200""#
        ),
        Some(2.0)
    );

    // `hostname` may not contradict the module's Host header (Blackbox answers 400).
    let (status, body) = d
        .get(&format!(
            "/probe?module=http_host&target=http://{target}/ok&hostname=b.example"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        "Host header defined both in module configuration (a.example) and with URL-parameter 'hostname' (b.example)\n"
    );
    let (status, body) = d
        .get(&format!(
            "/probe?module=http_host&target=http://{target}/ok&hostname=a.example"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sample(&body, "probe_success", ""), Some(1.0));
    // One rule with the prober's: the value must match exactly, as in Blackbox.
    let (status, body) = d
        .get(&format!(
            "/probe?module=http_host&target=http://{target}/ok&hostname=A.example"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // An empty hostname is no hostname.
    let (status, body) = d
        .get(&format!(
            "/probe?module=http_host&target=http://{target}/ok&hostname="
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(sample(&body, "probe_success", ""), Some(1.0));

    // `module` defaults to http_2xx.
    let (_, body) = d
        .get(&format!("/probe?target=http%3A%2F%2F{target}%2Fok"))
        .await;
    assert_eq!(sample(&body, "probe_success", ""), Some(1.0));

    let (status, body) = d
        .get(&format!(
            "/probe?module=http_secret&target=http://{target}/ok&debug=true"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("Logs for the probe:\n"), "{body}");
    assert!(
        body.contains("Metrics that would have been returned:\nprobe_success")
            || body.contains("Metrics that would have been returned:\n# HELP probe_success"),
        "{body}"
    );
    assert!(body.contains("Module configuration:\n"), "{body}");
    assert!(body.contains("<secret>"), "{body}");
    assert!(!body.contains("s3cr3t-token"), "secret leaked:\n{body}");
    d.stop().await;
}

#[tokio::test]
async fn reload_swaps_a_valid_config_and_keeps_the_running_one_on_errors() {
    let target = target_server().await;
    let d = TestDaemon::start(&config(target, "")).await;
    let text = d.metrics_when(Duration::from_secs(10), all_ran).await;
    let good = format!(
        r#"probe="good",module="http_2xx",target="http://{target}/ok",service="web",target_region="ap-southeast-1""#
    );
    let runs_before = sample(
        &text,
        "probe_runs_total",
        &format!(r#"{good},outcome="success""#),
    )
    .unwrap_or(0.0);
    assert!(runs_before >= 1.0);

    // Remove "failing", add "extra": "good" keeps its counters.
    let new = config(target, "").replace("name = \"failing\"", "name = \"extra\"");
    std::fs::write(&d.config_path, new).unwrap();
    let (status, _, body) = request(d.addr, "POST", "/-/reload", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.contains("4 probes kept, 1 added, 0 changed, 1 removed"),
        "{body}"
    );
    let (_, text) = d.get("/metrics").await;
    assert!(
        !text.contains("probe=\"failing\""),
        "removed probe's series remain:\n{text}"
    );
    assert!(
        sample(
            &text,
            "probe_runs_total",
            &format!(r#"{good},outcome="success""#)
        )
        .unwrap_or(0.0)
            >= runs_before
    );
    assert_eq!(sample(&text, "outpost_probes", ""), Some(5.0));

    // A broken file is refused, named, and the running config stays.
    std::fs::write(
        &d.config_path,
        config(target, "").replace("module = \"tcp_connect\"", "module = \"nope\""),
    )
    .unwrap();
    let (status, _, body) = request(d.addr, "POST", "/-/reload", &[]).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body.contains("probes.toml:") && body.contains("nope"),
        "{body}"
    );
    let (_, text) = d.get("/metrics").await;
    assert_eq!(
        sample(&text, "outpost_config_last_reload_successful", ""),
        Some(0.0)
    );
    assert!(text.contains("probe=\"extra\""));
    assert!(text.contains("probe=\"port\""));

    let (status, _, _) = request(d.addr, "GET", "/-/reload", &[]).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    d.stop().await;
}

#[tokio::test]
async fn health_ready_and_status_page() {
    let target = target_server().await;
    let d = TestDaemon::start(&config(target, "")).await;
    assert_eq!(
        d.get("/-/healthy").await,
        (StatusCode::OK, "Healthy\n".to_string())
    );
    assert_eq!(
        d.get("/-/ready").await,
        (StatusCode::OK, "Ready\n".to_string())
    );
    let (status, page) = d.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains(
            "<td><b>good</b><br><a class=l href=\"?label=service%3Aweb\">service=web</a>"
        ),
        "{page}"
    );
    assert!(page.contains("</td><td>http_2xx</td>"), "{page}");
    assert_eq!(d.get("/nope").await.0, StatusCode::NOT_FOUND);
    d.stop().await;
}

#[tokio::test]
async fn the_file_watch_reloads_on_change_and_refuses_a_broken_file() {
    let target = target_server().await;
    let options = Options {
        watch_interval: Some(Duration::from_millis(100)),
        ..Options::default()
    };
    let d = TestDaemon::start_with(&config(target, ""), options).await;
    let one_more = format!(
        "{}\n[[probes]]\nname = \"watched\"\nmodule = \"tcp_connect\"\ntarget = \"{target}\"\ninterval = \"1s\"\n",
        config(target, "")
    );
    std::fs::write(&d.config_path, one_more).unwrap();
    let text = d
        .metrics_when(Duration::from_secs(10), |t| {
            sample(t, "outpost_probes", "") == Some(6.0)
        })
        .await;
    assert_eq!(
        sample(&text, "outpost_probes", ""),
        Some(6.0),
        "the watch did not reload:\n{text}"
    );
    assert_eq!(
        sample(&text, "outpost_config_last_reload_successful", ""),
        Some(1.0)
    );

    std::fs::write(&d.config_path, "[[probes]]\nname = 1\n").unwrap();
    let text = d
        .metrics_when(Duration::from_secs(10), |t| {
            sample(t, "outpost_config_last_reload_successful", "") == Some(0.0)
        })
        .await;
    assert_eq!(
        sample(&text, "outpost_config_last_reload_successful", ""),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "outpost_probes", ""),
        Some(6.0),
        "a broken file replaced the running config"
    );
    d.stop().await;
}

/// A client trickling its request head is cut off after the header read timeout
/// (on a paused clock, which advances while everything waits on the socket).
#[tokio::test(start_paused = true)]
async fn a_client_that_never_finishes_its_request_head_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let d = TestDaemon::start("[modules.http_2xx]\nprober = \"http\"\n").await;
    let mut stream = tokio::net::TcpStream::connect(d.addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "connection still open after 60 s");
    let waited = started.elapsed();
    assert!(
        waited >= outpost::server::HEADER_READ_TIMEOUT && waited < Duration::from_secs(60),
        "closed after {waited:?}"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    d.stop().await;
}

/// Scheduled runs happen on the probe thread, apart from the runtime serving
/// HTTP: a `/probe` flood or a scrape cannot hold up their starts.
#[tokio::test]
async fn scheduled_runs_happen_on_the_probe_thread() {
    use std::sync::{Arc, Mutex};
    let target = target_server().await;
    let threads = Arc::new(Mutex::new(Vec::<Option<String>>::new()));
    let seen = threads.clone();
    let real = outpost::scheduler::probe_runner();
    let options = Options {
        runner: Arc::new(move |module, target, ctx| {
            let name = std::thread::current().name().map(str::to_string);
            seen.lock().unwrap().push(name);
            real(module, target, ctx)
        }),
        ..Options::default()
    };
    let d = TestDaemon::start_with(&config(target, ""), options).await;
    let text = d
        .metrics_when(Duration::from_secs(10), |t| {
            t.contains("probe_success{probe=\"good\"")
        })
        .await;
    assert!(text.contains("probe_success{probe=\"good\""), "{text}");
    let threads = threads.lock().unwrap().clone();
    assert!(!threads.is_empty(), "no scheduled run started");
    assert!(
        threads
            .iter()
            .all(|t| t.as_deref() == Some("outpost-probes")),
        "runs started on {threads:?}"
    );
    d.stop().await;
}
