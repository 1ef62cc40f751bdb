//! The cost of one `/metrics` page of N scheduled http probes, through the code
//! path a scrape takes (`source::render_stream` into 64 KiB chunks, each made a
//! `Bytes` as the response body does), minus the socket.
//!
//! Every probe stores the report a real run of the http prober records against a
//! local 200 page (an in-process server on 127.0.0.1): the prober runs once, and
//! each probe gets that report with its durations nudged by a few nanoseconds, so
//! values are as varied as real ones. Each probe has a static label, as in
//! `benches/scale.sh`.
//!
//! `cargo bench --bench encode_metrics` (ENCODE_PROBES [20000], ENCODE_ROUNDS [5],
//! ENCODE_FORMAT [text|openmetrics|both, default both]). Under callgrind:
//! `CARGO_PROFILE_BENCH_DEBUG=line-tables-only cargo bench --bench encode_metrics --no-run`
//! then `valgrind --tool=callgrind target/release/deps/encode_metrics-* ` with
//! ENCODE_ROUNDS=1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly on setup errors"
)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use outpost::config::{
    Config, Module, ModuleIdentity, ProbeSpec, Prober, ServerConfig, DEFAULT_RUN_DURATION_BUCKETS,
};
use outpost::metrics::encode::Format;
use outpost::metrics::render::ScheduledProbes;
use outpost::metrics::source::{self, Source};
use outpost::probe::{self, ProbeContext, ProbeReport};
use outpost::scheduler::{Limiter, Runner, Scheduler};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// The chunk size `/metrics` streams in (src/server/metrics_body.rs).
const CHUNK: usize = 64 * 1024;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn module() -> Arc<Module> {
    Arc::new(Module {
        name: "http_2xx".to_string(),
        timeout: None,
        prober: Prober::Http(Box::default()),
        run_duration_buckets: DEFAULT_RUN_DURATION_BUCKETS.to_vec(),
        precreate_failure_reasons: false,
        redacted: String::new(),
        identity: ModuleIdentity::default(),
    })
}

/// A local page like nginx's `ok\n`, answering every connection's requests.
async fn serve(listener: tokio::net::TcpListener) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            let mut seen = Vec::new();
            loop {
                let n = match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                seen.extend_from_slice(&buf[..n]);
                while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                    seen.drain(..end + 4);
                    let answer = b"HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: text/html\r\nContent-Length: 3\r\n\r\nok\n";
                    if conn.write_all(answer).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}

/// One real run of the http prober against the local page.
fn real_report(module: &Module) -> ProbeReport {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(serve(listener));
        let target = format!("http://127.0.0.1:{port}/");
        let report = probe::run(module, &target, &ProbeContext::new(Duration::from_secs(5))).await;
        assert!(
            report.success,
            "the local page answers: {:?}",
            report.failure
        );
        report
    })
}

/// `report` for probe `i`: every duration a few nanoseconds off the measured one.
fn nudged(report: &ProbeReport, i: usize) -> ProbeReport {
    let mut r = report.clone();
    let ns = (i % 997) as u64;
    r.duration += Duration::from_nanos(ns);
    for s in &mut r.samples {
        if s.name.ends_with("_seconds") && s.value > 0.0 && s.value < 1.0 {
            let nanos = (s.value * 1e9).round() as u64 + ns;
            s.value = Duration::from_nanos(nanos).as_secs_f64();
        }
    }
    r
}

fn config(n: usize, module: Arc<Module>) -> Config {
    let mut modules = BTreeMap::new();
    modules.insert(module.name.clone(), module);
    let probes = (1..=n)
        .map(|i| ProbeSpec {
            name: format!("p{i}"),
            module: "http_2xx".to_string(),
            target: format!("http://127.0.0.1:8080/?p={i}"),
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            fan_out: None,
            origin: outpost::config::Origin::Config,
            labels: vec![("shard".to_string(), format!("s{}", i % 8))],
        })
        .collect();
    Config {
        source: "bench.toml".into(),
        server: ServerConfig {
            max_concurrent_probes: 100_000,
            ..ServerConfig::default()
        },
        modules,
        probes,
        slos: Vec::new(),
        aws: None,
        discover: Vec::new(),
        web_config_file: None,
    }
}

/// A scheduler whose `n` probes have each run twice (paused clock, scripted runner).
fn scheduled(n: usize, report: ProbeReport) -> (tokio::runtime::Runtime, Arc<Scheduler>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let report = Arc::new(report);
    let runner: Runner = Arc::new(move |_module, target, _ctx| {
        let i: usize = target.rsplit('=').next().unwrap().parse().unwrap();
        let r = nudged(&report, i);
        Box::pin(async move { r })
    });
    let sched = Arc::new(Scheduler::new(
        runner,
        Arc::new(Limiter::new(100_000)),
        CancellationToken::new(),
    ));
    rt.block_on(async {
        sched.apply(&config(n, module()));
        tokio::time::sleep(Duration::from_secs(121)).await;
    });
    (rt, sched)
}

/// One page into a sink that counts and drops: (bytes, lines, chunks). Lines
/// are counted only when `lines` (the untimed first page).
fn encode_page(format: Format, sources: &[Arc<dyn Source>], lines: bool) -> (usize, usize, usize) {
    let tally = Arc::new(Mutex::new((0usize, 0usize, 0usize)));
    let sink_tally = tally.clone();
    let done = source::render_stream(
        format,
        sources,
        CHUNK,
        Box::new(move |chunk: String| {
            let lines = if lines {
                chunk.bytes().filter(|b| *b == b'\n').count()
            } else {
                0
            };
            let b = Bytes::from(chunk);
            let mut t = sink_tally.lock().unwrap();
            t.0 += b.len();
            t.1 += lines;
            t.2 += 1;
            true
        }),
    );
    assert!(done);
    let t = *tally.lock().unwrap();
    t
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects nothing here.
    let n: usize = env_or("ENCODE_PROBES", 20_000);
    let rounds: usize = env_or("ENCODE_ROUNDS", 5).max(1);
    let which = std::env::var("ENCODE_FORMAT").unwrap_or_else(|_| "both".to_string());
    let formats: Vec<(Format, &str)> =
        [(Format::Text, "text"), (Format::OpenMetrics, "openmetrics")]
            .into_iter()
            .filter(|(_, name)| which == "both" || which == *name)
            .collect();

    let report = real_report(&module());
    let setup = Instant::now();
    let (_rt, sched) = scheduled(n, report);
    eprintln!(
        "{n} probes, {} samples in a report, set up in {:.1}s",
        sched.probes()[0]
            .snapshot()
            .latest
            .as_ref()
            .unwrap()
            .shape()
            .len(),
        setup.elapsed().as_secs_f64()
    );
    let sources: Vec<Arc<dyn Source>> = vec![Arc::new(ScheduledProbes::new(sched.clone()))];

    for (format, name) in formats {
        // One page to warm caches and allocator; then the timed rounds.
        let (bytes, lines, chunks) = encode_page(format, &sources, true);
        let samples = lines.saturating_sub(2 * 20); // minus HELP/TYPE, about
        let mut best = f64::INFINITY;
        let mut total = 0.0;
        for _ in 0..rounds {
            let t = Instant::now();
            let got = encode_page(format, &sources, true);
            let secs = t.elapsed().as_secs_f64();
            assert_eq!(got.0, bytes, "the page does not change between rounds");
            best = best.min(secs);
            total += secs;
        }
        let mean = total / rounds as f64;
        println!(
            "encode_metrics {name}: {n} probes, {:.1} MiB, {samples} samples, {chunks} chunks; \
             best {:.1} ms, mean {:.1} ms over {rounds}: {:.1} ns/sample, {:.0} MiB/s, {:.1} ms per 20k probes",
            bytes as f64 / (1 << 20) as f64,
            best * 1e3,
            mean * 1e3,
            best * 1e9 / samples as f64,
            bytes as f64 / (1 << 20) as f64 / best,
            best * 1e3 * 20_000.0 / n as f64,
        );
    }
}
