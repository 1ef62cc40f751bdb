//! `/probe` under a flood: its own cap (`[server.probe_endpoint] max_concurrent`)
//! answers the excess 503 at once, while scheduled probes keep their slots and keep
//! running on time, and `/metrics` keeps answering. `enabled = false` turns `/probe`
//! off. Loopback only; bounded by the stalling target's timeout.

use std::time::{Duration, Instant};

use http::StatusCode;
use tokio::net::TcpListener;

use crate::support::daemon::{request, sample, target_server, TestDaemon};

/// A target that accepts connections and never answers, held open until dropped.
async fn stalling_target() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (addr, task)
}

const CAP: usize = 4;
const FLOOD: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_refused_past_its_cap_and_scheduled_probes_keep_running() {
    let (stall, _stall_task) = stalling_target().await;
    let good = target_server().await;
    let toml = format!(
        "[server]\nmax_concurrent_probes = 2\n\
         [server.probe_endpoint]\nmax_concurrent = {CAP}\n\
         [modules.http_2xx]\nprober = \"http\"\ntimeout = \"3s\"\n\
         [modules.quick]\nprober = \"http\"\ntimeout = \"1s\"\n\
         [[probes]]\nname = \"steady\"\nmodule = \"quick\"\ntarget = \"http://{good}/ok\"\ninterval = \"1s\"\n"
    );
    let d = TestDaemon::start(&toml).await;
    let labels = format!("probe=\"steady\",module=\"quick\",target=\"http://{good}/ok\"");
    let runs = |m: &str| {
        sample(
            m,
            "probe_runs_total",
            &format!("{labels},outcome=\"success\""),
        )
        .unwrap_or(0.0)
    };
    let before = runs(
        &d.metrics_when(Duration::from_secs(5), |m| runs(m) >= 1.0)
            .await,
    );
    assert!(before >= 1.0);

    // FLOOD requests at once at a target that never answers.
    let started = Instant::now();
    let path = format!("/probe?module=http_2xx&target=http://{stall}/");
    let flood: Vec<_> = (0..FLOOD)
        .map(|_| {
            let (addr, path) = (d.addr, path.clone());
            tokio::spawn(async move {
                let (status, _, body) = request(addr, "GET", &path, &[]).await;
                (status, body, Instant::now())
            })
        })
        .collect();
    // While they stall: /metrics answers and the scheduled probe goes on succeeding.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, m) = d.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        sample(&m, "outpost_probes_in_flight", ""),
        Some(CAP as f64),
        "only the capped /probe runs are in flight:\n{m}"
    );
    let during = m.clone();
    let mut answers = Vec::new();
    for task in flood {
        answers.push(task.await.unwrap());
    }
    let ran: Vec<_> = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::OK)
        .collect();
    let refused: Vec<_> = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert_eq!(ran.len(), CAP, "{answers:?}");
    assert_eq!(refused.len(), FLOOD - CAP, "{answers:?}");
    for (_, body, _) in &ran {
        assert_eq!(sample(body, "probe_success", ""), Some(0.0), "{body}");
    }
    for (_, body, at) in &refused {
        assert!(body.contains("max_concurrent"), "{body}");
        // Refused at once, not after waiting out the stalled runs.
        assert!(
            at.duration_since(started) < Duration::from_secs(2),
            "{body}"
        );
    }
    let m = d
        .metrics_when(Duration::from_secs(5), |m| runs(m) > runs(&during))
        .await;
    assert!(
        runs(&during) > before && runs(&m) > runs(&during),
        "the scheduled probe kept running: {before} -> {} -> {}",
        runs(&during),
        runs(&m)
    );
    assert_eq!(
        sample(
            &m,
            "outpost_probe_requests_total",
            "module=\"http_2xx\",code=\"503\""
        ),
        Some((FLOOD - CAP) as f64),
        "{m}"
    );
    // The cap frees as runs end.
    let (status, body) = d
        .get(&format!("/probe?module=http_2xx&target=http://{good}/ok"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(sample(&body, "probe_success", ""), Some(1.0), "{body}");
    d.stop().await;
}

#[tokio::test]
async fn a_disabled_probe_endpoint_answers_404_and_probes_nothing() {
    let good = crate::support::server::serve(
        None,
        crate::support::server::handler(|_| crate::support::server::respond(200, &[], "ok")),
    )
    .await;
    let d = TestDaemon::start("[server.probe_endpoint]\nenabled = false\n").await;
    let (status, body) = d
        .get(&format!(
            "/probe?module=http_2xx&target=http://{}/",
            good.addr
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("enabled = false"), "{body}");
    assert_eq!(
        good.connections.load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    let (status, _) = d.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    d.stop().await;
}
