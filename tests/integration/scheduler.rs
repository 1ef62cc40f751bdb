//! The scheduler's timing rules, on a paused clock. Runs are carried out by a
//! scripted runner that records when it was called: real probes cannot run on a
//! paused clock, and what is under test here is when and how often runs happen.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use outpost::config::{
    Config, Module, ProbeSpec, Prober, ServerConfig, DEFAULT_RUN_DURATION_BUCKETS,
};
use outpost::probe::{FailureReason, ProbeFailure, ProbeReport};
use outpost::scheduler::{spread_offset, Limiter, Runner, Scheduler};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

fn module(name: &str) -> Arc<Module> {
    Arc::new(Module {
        name: name.to_string(),
        timeout: None,
        prober: Prober::Tcp(Box::default()),
        run_duration_buckets: DEFAULT_RUN_DURATION_BUCKETS.to_vec(),
        redacted: String::new(),
    })
}

fn spec(name: &str, target: &str, interval: u64, timeout: u64) -> ProbeSpec {
    ProbeSpec {
        name: name.to_string(),
        module: "m".to_string(),
        target: target.to_string(),
        interval: Duration::from_secs(interval),
        timeout: Duration::from_secs(timeout),
        labels: vec![],
    }
}

fn config(probes: Vec<ProbeSpec>, max_concurrent: usize) -> Config {
    let mut modules = BTreeMap::new();
    modules.insert("m".to_string(), module("m"));
    Config {
        source: "test.toml".into(),
        server: ServerConfig {
            max_concurrent_probes: max_concurrent,
            ..ServerConfig::default()
        },
        modules,
        probes,
    }
}

/// Calls seen by the scripted runner: (target, start, end) relative to t0.
#[derive(Default)]
struct Log {
    calls: Mutex<Vec<(String, Duration, Duration)>>,
    running: AtomicUsize,
    max_running: AtomicUsize,
}

/// A runner that takes `work` (or until the deadline, if sooner) and fails with
/// a timeout when the deadline cut it short.
fn scripted(log: Arc<Log>, t0: Instant, work: Duration) -> Runner {
    Arc::new(move |_module, target, ctx| {
        let log = log.clone();
        Box::pin(async move {
            let start = Instant::now();
            let now = log.running.fetch_add(1, Ordering::SeqCst) + 1;
            log.max_running.fetch_max(now, Ordering::SeqCst);
            let end = (start + work).min(ctx.deadline);
            tokio::time::sleep_until(end).await;
            log.running.fetch_sub(1, Ordering::SeqCst);
            log.calls
                .lock()
                .unwrap()
                .push((target, start - t0, Instant::now() - t0));
            let timed_out = start + work > ctx.deadline;
            ProbeReport {
                success: !timed_out,
                failure: timed_out.then(|| ProbeFailure::new(FailureReason::Timeout, "deadline")),
                duration: end - start,
                timeout: ctx.deadline - start,
                started_at: SystemTime::now(),
                samples: vec![],
                trace: vec![],
            }
        })
    })
}

fn starts(log: &Log, target: &str) -> Vec<Duration> {
    log.calls
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _, _)| t == target)
        .map(|(_, s, _)| *s)
        .collect()
}

#[test]
fn spread_offset_is_deterministic_and_within_the_interval() {
    let i = Duration::from_secs(60);
    assert_eq!(spread_offset("alb-sg", i), spread_offset("alb-sg", i));
    assert_ne!(spread_offset("alb-sg", i), spread_offset("alb-hk", i));
    let offsets: Vec<Duration> = (0..1000)
        .map(|n| spread_offset(&format!("p{n}"), i))
        .collect();
    assert!(offsets.iter().all(|o| *o < i));
    // Spread: no ten-second slice of the minute holds more than a third of them.
    for slice in 0..6 {
        let lo = Duration::from_secs(slice * 10);
        let in_slice = offsets
            .iter()
            .filter(|o| **o >= lo && **o < lo + Duration::from_secs(10))
            .count();
        assert!(in_slice < 333, "slice {slice} has {in_slice}");
    }
}

#[tokio::test(start_paused = true)]
async fn each_probe_runs_every_interval_from_its_offset() {
    let t0 = Instant::now();
    let log = Arc::new(Log::default());
    let sched = Scheduler::new(
        scripted(log.clone(), t0, Duration::from_millis(100)),
        Arc::new(Limiter::new(10)),
        CancellationToken::new(),
    );
    sched.apply(&config(
        vec![spec("a", "ta", 10, 5), spec("b", "tb", 7, 5)],
        10,
    ));
    tokio::time::sleep(Duration::from_secs(35)).await;
    for (name, target, every) in [("a", "ta", 10u64), ("b", "tb", 7)] {
        let interval = Duration::from_secs(every);
        let offset = spread_offset(name, interval);
        let expected: Vec<Duration> = (0..)
            .map(|k| offset + interval * k)
            .take_while(|t| *t <= Duration::from_secs(35))
            .collect();
        assert_eq!(starts(&log, target), expected, "probe {name}");
    }
    let probes = sched.probes();
    let a = probes[0].snapshot();
    assert_eq!(
        a.outcomes.get("success"),
        Some(&(starts(&log, "ta").len() as u64))
    );
    assert_eq!(a.run_durations.count(), starts(&log, "ta").len() as u64);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_target_times_out_and_never_overlaps_itself() {
    let t0 = Instant::now();
    let log = Arc::new(Log::default());
    let sched = Scheduler::new(
        scripted(log.clone(), t0, Duration::from_secs(3600)),
        Arc::new(Limiter::new(10)),
        CancellationToken::new(),
    );
    sched.apply(&config(vec![spec("slow", "ts", 10, 4)], 10));
    tokio::time::sleep(Duration::from_secs(50)).await;
    let calls = log.calls.lock().unwrap().clone();
    assert!(calls.len() >= 4, "{calls:?}");
    for (_, start, end) in &calls {
        assert_eq!(
            *end - *start,
            Duration::from_secs(4),
            "each run ends at its timeout"
        );
    }
    for pair in calls.windows(2) {
        assert!(pair[1].1 >= pair[0].2, "runs overlap: {pair:?}");
    }
    assert_eq!(log.max_running.load(Ordering::SeqCst), 1);
    let snap = sched.probes()[0].snapshot();
    assert_eq!(snap.outcomes.get("timeout"), Some(&(calls.len() as u64)));
    assert_eq!(snap.outcomes.get("success"), Some(&0));
}

#[tokio::test(start_paused = true)]
async fn the_concurrency_cap_bounds_runs_in_flight() {
    let t0 = Instant::now();
    let log = Arc::new(Log::default());
    let limiter = Arc::new(Limiter::new(2));
    let sched = Scheduler::new(
        scripted(log.clone(), t0, Duration::from_secs(9)),
        limiter.clone(),
        CancellationToken::new(),
    );
    let probes = (0..5)
        .map(|i| spec(&format!("p{i}"), &format!("t{i}"), 10, 10))
        .collect();
    sched.apply(&config(probes, 2));
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(log.max_running.load(Ordering::SeqCst), 2);
    assert!(limiter.in_flight() <= 2);
    // Five probes wanting 9 s of every 10 s cannot all keep up with two slots.
    assert!(sched.stats().skipped() > 0);
    assert!(sched.stats().lag().sum() > 0.0);
}

#[tokio::test(start_paused = true)]
async fn reload_keeps_unchanged_probes_and_restarts_changed_ones() {
    let t0 = Instant::now();
    let log = Arc::new(Log::default());
    let sched = Scheduler::new(
        scripted(log.clone(), t0, Duration::from_millis(10)),
        Arc::new(Limiter::new(10)),
        CancellationToken::new(),
    );
    let first = sched.apply(&config(
        vec![
            spec("keep", "tk", 5, 1),
            spec("change", "tc", 5, 1),
            spec("drop", "td", 5, 1),
        ],
        10,
    ));
    assert_eq!(
        (first.kept, first.added, first.changed, first.removed),
        (0, 3, 0, 0)
    );
    tokio::time::sleep(Duration::from_secs(22)).await;
    let before = sched.probes();
    let kept_runs = before[0].snapshot().outcomes["success"];
    assert!(kept_runs >= 4);

    let second = sched.apply(&config(
        vec![
            spec("keep", "tk", 5, 1),
            spec("change", "tc2", 5, 1),
            spec("new", "tn", 5, 1),
        ],
        10,
    ));
    assert_eq!(
        (second.kept, second.added, second.changed, second.removed),
        (1, 1, 1, 1)
    );
    let after = sched.probes();
    let names: Vec<&str> = after.iter().map(|p| p.spec.name.as_str()).collect();
    assert_eq!(names, ["keep", "change", "new"]);
    assert!(
        Arc::ptr_eq(&before[0], &after[0]),
        "unchanged probe keeps its state"
    );
    assert_eq!(after[0].snapshot().outcomes["success"], kept_runs);
    assert_eq!(
        after[1].snapshot().outcomes["success"],
        0,
        "changed probe starts afresh"
    );

    let dropped_runs = starts(&log, "td").len();
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(
        starts(&log, "td").len(),
        dropped_runs,
        "removed probe no longer runs"
    );
    assert!(starts(&log, "tc2").len() >= 3);
    // The kept probe's schedule did not move: still offset + k * interval.
    let offset = spread_offset("keep", Duration::from_secs(5));
    for (k, s) in starts(&log, "tk").iter().enumerate() {
        assert_eq!(*s, offset + Duration::from_secs(5) * k as u32);
    }
}

#[tokio::test(start_paused = true)]
async fn a_changed_module_restarts_its_probes() {
    let log = Arc::new(Log::default());
    let sched = Scheduler::new(
        scripted(log.clone(), Instant::now(), Duration::from_millis(10)),
        Arc::new(Limiter::new(10)),
        CancellationToken::new(),
    );
    let before = config(vec![spec("p", "tp", 5, 1), spec("q", "tq", 5, 1)], 10);
    sched.apply(&before);
    let same = sched.apply(&before);
    assert_eq!(
        (same.kept, same.added, same.changed, same.removed),
        (2, 0, 0, 0)
    );

    let mut after = before.clone();
    let mut m = (*after.modules["m"]).clone();
    m.run_duration_buckets = vec![0.1, 1.0];
    after.modules.insert("m".to_string(), Arc::new(m));
    let changed = sched.apply(&after);
    assert_eq!(
        (
            changed.kept,
            changed.added,
            changed.changed,
            changed.removed
        ),
        (0, 0, 2, 0)
    );
    assert_eq!(
        sched.probes()[0].snapshot().run_durations.bounds(),
        &[0.1, 1.0]
    );
}
