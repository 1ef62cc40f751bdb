//! The scheduler's timing rules, on a paused clock. Runs are carried out by a
//! scripted runner that records when it was called: real probes cannot run on a
//! paused clock, and what is under test here is when and how often runs happen.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use outpost::config::{
    Config, Module, ModuleIdentity, ProbeSpec, Prober, ServerConfig, DEFAULT_RUN_DURATION_BUCKETS,
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
        precreate_failure_reasons: false,
        redacted: String::new(),
        identity: ModuleIdentity::default(),
    })
}

fn spec(name: &str, target: &str, interval: u64, timeout: u64) -> ProbeSpec {
    ProbeSpec {
        name: name.to_string(),
        module: "m".to_string(),
        target: target.to_string(),
        interval: Duration::from_secs(interval),
        timeout: Duration::from_secs(timeout),
        fan_out: None,
        origin: outpost::config::Origin::Config,
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
        slos: Vec::new(),
        aws: None,
        discover: Vec::new(),
        web_config_file: None,
    }
}

/// A scheduler running `runner` with 10 slots, never shut down by the test.
fn ten_slots(runner: Runner) -> Scheduler {
    Scheduler::new(runner, Arc::new(Limiter::new(10)), CancellationToken::new())
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
                packets: None,
            }
        })
    })
}

/// A runner that ignores its deadline and never returns (a prober bug): only the
/// scheduler can end its runs. Records each run's start and when it was dropped.
fn never_ending(log: Arc<Log>, t0: Instant) -> Runner {
    struct Ended {
        log: Arc<Log>,
        target: String,
        start: Duration,
        t0: Instant,
    }
    impl Drop for Ended {
        fn drop(&mut self) {
            self.log.running.fetch_sub(1, Ordering::SeqCst);
            let end = Instant::now() - self.t0;
            self.log
                .calls
                .lock()
                .unwrap()
                .push((self.target.clone(), self.start, end));
        }
    }
    Arc::new(move |_module, target, _ctx| {
        let log = log.clone();
        Box::pin(async move {
            let now = log.running.fetch_add(1, Ordering::SeqCst) + 1;
            log.max_running.fetch_max(now, Ordering::SeqCst);
            let _ended = Ended {
                start: Instant::now() - t0,
                log,
                target,
                t0,
            };
            std::future::pending::<ProbeReport>().await
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
    let sched = ten_slots(scripted(log.clone(), t0, Duration::from_millis(100)));
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
    assert_eq!(a.runs.successes, starts(&log, "ta").len() as u64);
    assert_eq!(a.run_durations.count(), starts(&log, "ta").len() as u64);
}

/// The scheduler itself ends a run at its timeout, even one whose runner ignores
/// the deadline, and records it as a timeout.
#[tokio::test(start_paused = true)]
async fn a_hanging_target_times_out_and_never_overlaps_itself() {
    let t0 = Instant::now();
    let log = Arc::new(Log::default());
    let sched = ten_slots(never_ending(log.clone(), t0));
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
    assert_eq!(snap.runs.failures, calls.len() as u64);
    assert_eq!(
        snap.runs.by_reason.get("timeout"),
        Some(&(calls.len() as u64))
    );
    assert_eq!(snap.runs.successes, 0);
}

/// A reload that removes a probe stops its run in flight at once, not at the
/// run's timeout, and the probe never runs again.
#[tokio::test(start_paused = true)]
async fn a_reload_cancels_the_run_in_flight_of_a_removed_probe() {
    let t0 = Instant::now();
    let log = Arc::new(Log::default());
    let sched = ten_slots(never_ending(log.clone(), t0));
    sched.apply(&config(vec![spec("gone", "tg", 10, 8)], 10));
    let offset = spread_offset("gone", Duration::from_secs(10));
    tokio::time::sleep(offset + Duration::from_secs(1)).await;
    assert_eq!(
        log.running.load(Ordering::SeqCst),
        1,
        "the run is in flight"
    );

    let summary = sched.apply(&config(vec![], 10));
    assert_eq!(summary.removed, 1);
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(log.running.load(Ordering::SeqCst), 0, "the run was dropped");
    let calls = log.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (_, start, end) = &calls[0];
    assert_eq!(*start, offset);
    assert_eq!(*end, offset + Duration::from_secs(1));
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(log.calls.lock().unwrap().len(), 1, "no run after removal");
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
    let sched = ten_slots(scripted(log.clone(), t0, Duration::from_millis(10)));
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
    let kept_runs = before[0].snapshot().runs.successes;
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
    assert_eq!(after[0].snapshot().runs.successes, kept_runs);
    assert_eq!(
        after[0].with_history().1.len() as u64,
        kept_runs,
        "unchanged probe keeps its history"
    );
    assert_eq!(
        after[1].snapshot().runs.successes,
        0,
        "changed probe starts afresh"
    );
    assert!(after[1].with_history().1.is_empty());

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
async fn a_reload_that_changes_status_history_keeps_the_newest_runs() {
    // Run k (from 1) reports k ms, so the runs kept can be told apart.
    let n = Arc::new(AtomicUsize::new(0));
    let numbered: Runner = Arc::new(move |_module, _target, ctx| {
        let k = n.fetch_add(1, Ordering::SeqCst) as u64 + 1;
        Box::pin(async move {
            ProbeReport {
                success: true,
                failure: None,
                duration: Duration::from_millis(k),
                timeout: ctx.deadline - Instant::now(),
                started_at: SystemTime::now(),
                samples: vec![],
                trace: vec![],
                packets: None,
            }
        })
    });
    let sched = ten_slots(numbered);
    let with_history = |n: usize| {
        let mut c = config(vec![spec("p", "tp", 1, 1)], 10);
        c.server.status_history = n;
        c
    };
    sched.apply(&with_history(4));
    tokio::time::sleep(Duration::from_millis(6_500)).await;
    let state = sched.probes()[0].clone();
    let (snapshot, history) = state.with_history();
    assert_eq!(snapshot.runs.successes, 6);
    let ms = |h: &outpost::history::History| -> Vec<u32> {
        h.runs()
            .map(|r| (r.duration * 1000.0).round() as u32)
            .collect()
    };
    assert_eq!(
        ms(&history),
        [3, 4, 5, 6],
        "the ring holds status_history runs"
    );

    let summary = sched.apply(&with_history(2));
    assert_eq!(summary.kept, 1, "status_history does not restart a probe");
    let (_, history) = sched.probes()[0].with_history();
    assert_eq!(history.limit(), 2);
    assert_eq!(ms(&history), [5, 6], "the newest runs stay");
    assert!(history.runs().all(|r| r.success()));
}

/// `probes.toml` in `dir` with module `m` (`module` is its body, after `prober`)
/// used by probes `p` and `q`, loaded as the daemon loads it.
fn load(dir: &std::path::Path, module: &str) -> Config {
    let probe = |name: &str| {
        format!("[[probes]]\nname = \"{name}\"\nmodule = \"m\"\ntarget = \"http://127.0.0.1:9/\"\ninterval = \"5s\"\n")
    };
    let text = format!(
        "[modules.m]\nprober = \"http\"\n{module}\n\n{}\n{}",
        probe("p"),
        probe("q")
    );
    Config::from_str_at(&text, &dir.join("probes.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn counts(s: outpost::scheduler::ApplySummary) -> (usize, usize, usize, usize) {
    (s.kept, s.added, s.changed, s.removed)
}

#[tokio::test(start_paused = true)]
async fn a_changed_module_restarts_its_probes() {
    let dir = tempfile::tempdir().unwrap();
    let sched = ten_slots(scripted(
        Arc::new(Log::default()),
        Instant::now(),
        Duration::from_millis(10),
    ));
    let before = load(dir.path(), "timeout = \"2s\"");
    assert_eq!(counts(sched.apply(&before)), (0, 2, 0, 0));
    assert_eq!(counts(sched.apply(&before)), (2, 0, 0, 0));

    let after = load(
        dir.path(),
        "timeout = \"2s\"\nrun_duration_buckets = [0.1, 1.0]",
    );
    assert_eq!(counts(sched.apply(&after)), (0, 0, 2, 0));
    assert_eq!(
        sched.probes()[0].snapshot().run_durations.bounds(),
        &[0.1, 1.0]
    );
}

/// A changed secret, inline or in a file the module reads, is a changed module:
/// its probes restart and run with the new one.
#[tokio::test(start_paused = true)]
async fn a_changed_secret_restarts_its_probes() {
    let dir = tempfile::tempdir().unwrap();
    let sched = ten_slots(scripted(
        Arc::new(Log::default()),
        Instant::now(),
        Duration::from_millis(10),
    ));
    let inline = |password: &str| {
        format!("[modules.m.http]\nbasic_auth = {{ username = \"u\", password = \"{password}\" }}")
    };
    let first = load(dir.path(), &inline("first-secret"));
    sched.apply(&first);
    let second = load(dir.path(), &inline("second-secret"));
    assert_ne!(first.modules["m"].identity, second.modules["m"].identity);
    assert_eq!(counts(sched.apply(&second)), (0, 0, 2, 0));

    let from_file = "[modules.m.http]\nbasic_auth = { username = \"u\", password_file = \"pw\" }";
    std::fs::write(dir.path().join("pw"), "file-secret-1").unwrap();
    let first = load(dir.path(), from_file);
    sched.apply(&first);
    assert_eq!(
        counts(sched.apply(&load(dir.path(), from_file))),
        (2, 0, 0, 0)
    );
    std::fs::write(dir.path().join("pw"), "file-secret-2").unwrap();
    let rotated = load(dir.path(), from_file);
    assert_ne!(first.modules["m"].identity, rotated.modules["m"].identity);
    assert_eq!(counts(sched.apply(&rotated)), (0, 0, 2, 0));
    let Prober::Http(http) = &sched.probes()[0].module.prober else {
        panic!("not http");
    };
    assert!(
        matches!(&http.auth, Some(outpost::config::Auth::Basic { password, .. }) if password == "file-secret-2")
    );
}

/// The identity is a digest: no secret in its bytes or its `Debug` text.
#[test]
fn a_module_identity_holds_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "s3cr3t-pass";
    let config = load(
        dir.path(),
        &format!("[modules.m.http]\nbasic_auth = {{ username = \"u\", password = \"{secret}\" }}"),
    );
    let identity = config.modules["m"].identity;
    assert_eq!(identity.as_bytes().len(), 32);
    assert!(!identity
        .as_bytes()
        .windows(secret.len())
        .any(|w| w == secret.as_bytes()));
    let text = format!("{identity:?}");
    assert!(!text.contains(secret), "{text}");
    assert!(text.len() < 40, "{text}");
}

/// The same settings written in another key order, or as an inline table
/// rather than a table header, are the same module. Request headers are sent in
/// the order written, so their order is part of the settings.
#[tokio::test(start_paused = true)]
async fn key_order_does_not_change_a_module() {
    let dir = tempfile::tempdir().unwrap();
    let sched = ten_slots(scripted(
        Arc::new(Log::default()),
        Instant::now(),
        Duration::from_millis(10),
    ));
    let a = load(
        dir.path(),
        "timeout = \"2s\"\n[modules.m.http]\nmethod = \"HEAD\"\nvalid_status_codes = [200, 204]\nheaders = { X-A = \"1\", X-B = \"2\" }",
    );
    let b = load(
        dir.path(),
        "http = { headers = { X-A = \"1\", X-B = \"2\" }, valid_status_codes = [200, 204], method = \"HEAD\" }\ntimeout = \"2s\"",
    );
    assert_eq!(a.modules["m"].identity, b.modules["m"].identity);
    sched.apply(&a);
    assert_eq!(counts(sched.apply(&b)), (2, 0, 0, 0));
    // A changed value is another module.
    let c = load(
        dir.path(),
        "timeout = \"2s\"\n[modules.m.http]\nmethod = \"GET\"\nvalid_status_codes = [200, 204]\nheaders = { X-A = \"1\", X-B = \"2\" }",
    );
    assert_ne!(a.modules["m"].identity, c.modules["m"].identity);
    let d = load(
        dir.path(),
        "timeout = \"2s\"\n[modules.m.http]\nmethod = \"HEAD\"\nvalid_status_codes = [200, 204]\nheaders = { X-B = \"2\", X-A = \"1\" }",
    );
    assert_ne!(a.modules["m"].identity, d.modules["m"].identity);
}

#[tokio::test(start_paused = true)]
async fn a_fan_out_probes_addresses_keep_their_counters_across_a_reload() {
    use outpost::fanout::{FanOut, SuccessRule};
    let t0 = Instant::now();
    let log = Arc::new(Log::default());
    let sched = ten_slots(scripted(log.clone(), t0, Duration::from_millis(10)));
    let fan = |grace: u32| ProbeSpec {
        fan_out: Some(Box::new(FanOut {
            success: SuccessRule::All,
            max_addresses: 16,
            address_grace: grace,
            families: None,
        })),
        // An IP literal is its own one address: no resolver on a paused clock.
        ..spec("fan", "127.0.0.1:9", 5, 1)
    };
    sched.apply(&config(vec![fan(3)], 10));
    tokio::time::sleep(Duration::from_secs(22)).await;
    let before = sched.probes()[0].snapshot();
    let runs = before.runs.successes;
    assert!(runs >= 4);
    assert_eq!(before.addresses.len(), 1);
    let address = &before.addresses[0];
    assert_eq!(address.ip.to_string(), "127.0.0.1");
    assert!(address.label_prefix.ends_with(r#",ip="127.0.0.1""#));
    assert_eq!(
        address.snapshot.runs.successes, runs,
        "one address run per run"
    );

    let kept = sched.apply(&config(vec![fan(3)], 10));
    assert_eq!(kept.kept, 1);
    let after = sched.probes()[0].snapshot();
    assert_eq!(
        after.addresses[0].snapshot.runs.successes, runs,
        "survives the reload"
    );

    let changed = sched.apply(&config(vec![fan(1)], 10));
    assert_eq!(changed.changed, 1);
    assert!(
        sched.probes()[0].snapshot().addresses.is_empty(),
        "a changed probe starts afresh"
    );
}

/// Discovered probes are diffed on their own: a reload leaves them alone, and
/// discovery leaves the configuration's alone. A paused one keeps its
/// statistics without running; resumed, it counts on from where it was.
#[tokio::test(start_paused = true)]
async fn discovered_probes_pause_resume_and_stay_apart_from_reloads() {
    use outpost::config::Origin;
    use std::collections::HashSet;
    let t0 = Instant::now();
    let log = Arc::new(Log::default());
    let sched = ten_slots(scripted(log.clone(), t0, Duration::from_millis(10)));
    let found = |name: &str| ProbeSpec {
        origin: Origin::Discovered,
        ..spec(name, &format!("{name}:80"), 5, 1)
    };
    let written = config(vec![spec("written", "w:80", 5, 1)], 10);
    sched.apply(&written);
    let none = HashSet::new();
    let s = sched.apply_discovered(&written, vec![found("d/r/a"), found("d/r/b")], &none);
    assert_eq!((s.added, s.kept, s.removed), (2, 0, 0));
    // A discovered probe may not take a written probe's name.
    let s = sched.apply_discovered(
        &written,
        vec![found("d/r/a"), found("d/r/b"), found("written")],
        &none,
    );
    assert_eq!((s.added, s.kept), (0, 2));
    let names = |s: &Scheduler| {
        s.probes()
            .iter()
            .map(|p| p.spec.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&sched), ["written", "d/r/a", "d/r/b"]);
    // A reload of the written probes keeps the discovered ones, and their order.
    let s = sched.apply(&config(
        vec![spec("written", "w:80", 5, 1), spec("more", "m:80", 5, 1)],
        10,
    ));
    assert_eq!((s.kept, s.added, s.removed), (1, 1, 0));
    assert_eq!(names(&sched), ["written", "more", "d/r/a", "d/r/b"]);
    tokio::time::sleep(Duration::from_secs(21)).await;
    let runs_of = |s: &Scheduler, name: &str| {
        s.probes()
            .iter()
            .find(|p| p.spec.name == name)
            .map(|p| p.snapshot().runs.successes)
            .unwrap()
    };
    let b_before = runs_of(&sched, "d/r/b");
    assert!(b_before >= 4, "{b_before}");
    // b's resource went: paused, its counters kept, no run while paused.
    let paused: HashSet<String> = ["d/r/b".to_string()].into();
    let s = sched.apply_discovered(&written, vec![found("d/r/a"), found("d/r/b")], &paused);
    assert_eq!((s.kept, s.added, s.removed, s.changed), (2, 0, 0, 0));
    let a_before = runs_of(&sched, "d/r/a");
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(runs_of(&sched, "d/r/b"), b_before);
    assert!(runs_of(&sched, "d/r/a") >= a_before + 4);
    let b_calls = log
        .calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.0 == "d/r/b:80")
        .count();
    // Back within the grace: the same probe runs on, its count not reset.
    sched.apply_discovered(&written, vec![found("d/r/a"), found("d/r/b")], &none);
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(runs_of(&sched, "d/r/b") >= b_before + 4);
    assert!(
        log.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.0 == "d/r/b:80")
            .count()
            >= b_calls + 4
    );
    // Gone for good: removed; the written probes stay.
    let s = sched.apply_discovered(&written, vec![found("d/r/a")], &none);
    assert_eq!((s.kept, s.removed), (1, 1));
    assert_eq!(names(&sched), ["written", "more", "d/r/a"]);
}
