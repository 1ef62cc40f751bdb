//! `/metrics` as a stream: the streamed page is byte for byte the page the
//! whole-String encoder wrote before streaming existed (goldens under
//! tests/testdata/metrics/, made by that encoder), whatever the chunk size; and a
//! scrape whose reader stalls mid-page holds nothing the scheduler needs, so
//! runs keep starting and being recorded meanwhile.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use outpost::config::{
    Config, Module, ModuleIdentity, ProbeSpec, Prober, ServerConfig, DEFAULT_RUN_DURATION_BUCKETS,
};
use outpost::metrics::encode::Format;
use outpost::metrics::render::ScheduledProbes;
use outpost::metrics::source::{self, Source};
use outpost::probe::{FailureReason, ProbeFailure, ProbeReport, Sample};
use outpost::scheduler::{Limiter, Runner, Scheduler};
use tokio_util::sync::CancellationToken;

const PROBES: usize = 40;

fn config() -> Config {
    let mut modules = BTreeMap::new();
    modules.insert(
        "web".to_string(),
        Arc::new(Module {
            name: "web".to_string(),
            timeout: None,
            prober: Prober::Http(Box::default()),
            run_duration_buckets: DEFAULT_RUN_DURATION_BUCKETS.to_vec(),
            precreate_failure_reasons: false,
            redacted: String::new(),
            identity: ModuleIdentity::default(),
        }),
    );
    // Names and targets that need escaping, user labels on some probes.
    let probes = (0..PROBES)
        .map(|i| ProbeSpec {
            name: format!("p{i}{}", ["", "\"q\"", "back\\slash", "new\nline"][i % 4]),
            module: "web".to_string(),
            target: format!("http://127.0.0.1:1/{i}"),
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            fan_out: None,
            origin: outpost::config::Origin::Config,
            labels: if i % 3 == 0 {
                vec![("team".to_string(), format!("t{}", i % 5))]
            } else {
                vec![]
            },
        })
        .collect();
    Config {
        source: "test.toml".into(),
        server: ServerConfig {
            max_concurrent_probes: 1000,
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

/// Values that stress number spelling: whole, fractional, tiny, huge, signed
/// zero, infinities, NaN, the edge of exact integers.
const VALUES: &[f64] = &[
    0.0,
    1.0,
    -0.0,
    0.25,
    1e-7,
    123_456_789.125,
    9_007_199_254_740_992.0,
    9_007_199_254_740_993.0,
    1e21,
    -42.0,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    1_700_000_000.0,
    0.1 + 0.2,
];

/// A deterministic report for run `n` of the probe with target `t`: successes,
/// failures of several reasons, and a mix of labelled and plain samples.
fn report(target: &str, n: usize) -> ProbeReport {
    let i: usize = target
        .rsplit('/')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let k = i + n;
    let v = |j: usize| VALUES[(k + j) % VALUES.len()];
    let phase = |p: &str, j| Sample {
        name: "probe_http_duration_seconds",
        labels: vec![("phase", p.to_string().into())],
        value: v(j),
    };
    let mut samples = vec![
        phase("resolve", 1),
        phase("connect", 2),
        Sample {
            name: "probe_http_status_code",
            labels: vec![],
            value: [200.0, 404.0, 0.0][k % 3],
        },
        phase("processing", 3),
        Sample {
            name: "probe_http_content_length",
            labels: vec![],
            value: v(4),
        },
    ];
    // Some probes lack a family others have, or have it in another order.
    if k % 4 == 1 {
        samples.push(Sample {
            name: "probe_http_redirects",
            labels: vec![],
            value: v(5),
        });
    }
    if k % 5 == 2 {
        samples.insert(
            0,
            Sample {
                name: "probe_http_version",
                labels: vec![],
                value: 1.1,
            },
        );
    }
    let reasons = [
        None,
        Some(FailureReason::Timeout),
        None,
        Some(FailureReason::Connect),
    ];
    let failure = reasons[k % reasons.len()].map(|r| ProbeFailure::new(r, "scripted"));
    ProbeReport {
        success: failure.is_none(),
        failure,
        duration: Duration::from_micros(1_234 * (k as u64 + 1)),
        timeout: Duration::from_secs(5),
        started_at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + 250 * k as u64),
        samples,
        trace: vec![],
        packets: None,
    }
}

/// A runner that answers at once with [`report`], counting runs per target.
fn runner(runs: Arc<Mutex<BTreeMap<String, usize>>>) -> Runner {
    Arc::new(move |_module, target, _ctx| {
        let runs = runs.clone();
        Box::pin(async move {
            let n = {
                let mut runs = runs.lock().unwrap();
                let n = runs.entry(target.clone()).or_insert(0);
                *n += 1;
                *n
            };
            report(&target, n)
        })
    })
}

/// A scheduler whose probes have run `rounds` times each (paused clock).
async fn scheduled(rounds: u32) -> Arc<Scheduler> {
    let runs = Arc::new(Mutex::new(BTreeMap::new()));
    let sched = Arc::new(Scheduler::new(
        runner(runs),
        Arc::new(Limiter::new(1000)),
        CancellationToken::new(),
    ));
    sched.apply(&config());
    tokio::time::sleep(Duration::from_secs(60) * rounds).await;
    sched
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/testdata/metrics")
        .join(name)
}

/// The page streamed in chunks of `chunk` bytes, joined again.
fn streamed(format: Format, sources: &[Arc<dyn Source>], chunk: usize) -> (String, usize) {
    let chunks = Arc::new(Mutex::new(Vec::new()));
    let sink_chunks = chunks.clone();
    let done = source::render_stream(
        format,
        sources,
        chunk,
        Box::new(move |c| {
            sink_chunks.lock().unwrap().push(c);
            true
        }),
    );
    assert!(done, "every chunk was taken");
    let chunks = chunks.lock().unwrap();
    (chunks.concat(), chunks.len())
}

#[tokio::test(start_paused = true)]
async fn streamed_pages_match_the_previous_encoder_byte_for_byte() {
    let sched = scheduled(2).await;
    let sources: Vec<Arc<dyn Source>> = vec![Arc::new(ScheduledProbes::new(sched.clone()))];
    for (format, file) in [
        (Format::Text, "mixed-results.prom"),
        (Format::OpenMetrics, "mixed-results.om"),
    ] {
        let whole = source::render(format, &sources, 0);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(golden(file), &whole).unwrap();
        }
        let expected = std::fs::read_to_string(golden(file)).unwrap();
        assert_eq!(whole, expected, "whole page, {file}");
        for chunk in [1, 100, 4096, 64 * 1024] {
            let (page, chunks) = streamed(format, &sources, chunk);
            assert_eq!(page, expected, "chunk size {chunk}, {file}");
            // Small chunk sizes really split the page (one chunk per line at 1).
            if chunk == 100 {
                assert!(chunks > expected.len() / 200, "{chunks} chunks");
            }
        }
    }
    // The mix the goldens hold: failures and successes, escapes, odd numbers.
    let text = std::fs::read_to_string(golden("mixed-results.prom")).unwrap();
    for needle in [
        "reason=\"timeout\"",
        "probe=\"p1\\\"q\\\"\"",
        "probe=\"p3new\\nline\"",
        "NaN",
        "+Inf",
        "-Inf",
        " -0\n",
        " 0.30000000000000004\n",
        " 1000000000000000000000\n",
        "probe_http_redirects{",
    ] {
        assert!(text.contains(needle), "golden lacks {needle}");
    }
}

/// The scraper stops reading after the first chunk. While its encoder waits,
/// the scheduler starts every probe's next run and records it.
#[tokio::test(start_paused = true)]
async fn a_stalled_scrape_does_not_hold_up_runs() {
    let sched = scheduled(1).await;
    let counts = |s: &Scheduler| -> Vec<u64> {
        s.probes()
            .iter()
            .map(|p| p.snapshot().run_durations.count())
            .collect()
    };
    let before = counts(&sched);
    assert_eq!(before, vec![1; PROBES]);

    let (entered, wait_entered) = mpsc::channel::<()>();
    let (release, released) = mpsc::channel::<()>();
    let released = Mutex::new(released);
    let sources: Vec<Arc<dyn Source>> = vec![Arc::new(ScheduledProbes::new(sched.clone()))];
    let scrape = std::thread::spawn(move || {
        source::render_stream(
            Format::Text,
            &sources,
            256,
            Box::new(move |_chunk| {
                // The reader is gone quiet: the first chunk waits here until the
                // test lets it go, as a full channel to a stalled socket would.
                let _ = entered.send(());
                released.lock().unwrap().recv().is_ok()
            }),
        )
    });
    wait_entered
        .recv_timeout(Duration::from_secs(60))
        .expect("the encoder reached its first chunk");

    // A whole interval passes with the scrape stuck mid-page.
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(counts(&sched), vec![2; PROBES], "every probe ran again");

    drop(release);
    assert!(
        !scrape.join().unwrap(),
        "the scrape ends once its reader is gone"
    );
}
