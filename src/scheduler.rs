//! The scheduler owns time: every `[[probes]]` entry runs every `interval`, at a
//! start offset spread deterministically over the interval from a hash of its
//! name, never overlapping its own previous run, bounded by its timeout and by a
//! global cap on runs in flight. Probers never sleep; this module does.
//!
//! On reload, [`Scheduler::apply`] diffs the new probe list against the running
//! one: a probe whose spec and module are unchanged keeps its task, schedule,
//! counters and histogram; a changed one restarts; a removed one is cancelled and
//! its series disappear with its state.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, Module, ModuleIdentity};
use crate::probe::net::fnv32a;
use crate::probe::{FailureReason, ProbeContext, ProbeFailure, ProbeReport};
use crate::results::{Histogram, ProbeState};
use crate::shard::Shard;

/// Buckets of `outpost_scheduler_lag_seconds`.
pub const LAG_BUCKETS: &[f64] = &[0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 30.0];

/// How a run is carried out: `probe::run` in the daemon, a scripted stand-in in
/// the scheduler's own tests (which pause the clock and so cannot do real I/O).
pub type Runner = Arc<
    dyn Fn(Arc<Module>, String, ProbeContext) -> Pin<Box<dyn Future<Output = ProbeReport> + Send>>
        + Send
        + Sync,
>;

/// The runner that really probes.
pub fn probe_runner() -> Runner {
    Arc::new(|module, target, ctx| {
        Box::pin(async move { crate::probe::run(&module, &target, &ctx).await })
    })
}

/// The global cap on probe runs in flight, shared by the scheduler and `/probe`.
#[derive(Debug)]
pub struct Limiter {
    semaphore: Arc<Semaphore>,
    size: Mutex<usize>,
    in_flight: AtomicI64,
}

/// A slot held for the length of one run.
#[derive(Debug)]
pub struct Slot<'a> {
    _permit: OwnedSemaphorePermit,
    limiter: &'a Limiter,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.limiter.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Limiter {
    pub fn new(size: usize) -> Self {
        Limiter {
            semaphore: Arc::new(Semaphore::new(size)),
            size: Mutex::new(size),
            in_flight: AtomicI64::new(0),
        }
    }

    /// Waits for a free slot. `None` only if the limiter was closed.
    pub async fn acquire(&self) -> Option<Slot<'_>> {
        let permit = self.semaphore.clone().acquire_owned().await.ok()?;
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            _permit: permit,
            limiter: self,
        })
    }

    /// Runs in flight now.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Changes the cap; runs in flight finish, new ones see the new cap.
    pub fn resize(&self, new_size: usize) {
        let mut size = self.size.lock().unwrap_or_else(PoisonError::into_inner);
        if new_size > *size {
            self.semaphore.add_permits(new_size - *size);
        } else if new_size < *size {
            // Permits held now are forgotten as they come back.
            let excess = *size - new_size;
            let forgotten = self.semaphore.forget_permits(excess);
            if forgotten < excess {
                let semaphore = self.semaphore.clone();
                let rest = (excess - forgotten) as u32;
                tokio::spawn(async move {
                    if let Ok(p) = semaphore.acquire_many_owned(rest).await {
                        p.forget();
                    }
                });
            }
        }
        *size = new_size;
    }
}

/// Scheduler-wide statistics for `/metrics`.
#[derive(Debug)]
pub struct SchedulerStats {
    lag: Mutex<Histogram>,
    skipped: AtomicU64,
}

impl SchedulerStats {
    fn new() -> Self {
        SchedulerStats {
            lag: Mutex::new(Histogram::new(LAG_BUCKETS)),
            skipped: AtomicU64::new(0),
        }
    }

    fn observe_lag(&self, lag: Duration) {
        self.lag
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .observe(lag.as_secs_f64());
    }

    pub fn lag(&self) -> Histogram {
        self.lag
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }
}

struct Running {
    state: Arc<ProbeState>,
    /// The identity of the module the probe was started with.
    module_identity: ModuleIdentity,
    cancel: CancellationToken,
}

/// What a call to [`Scheduler::apply`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplySummary {
    /// Unchanged: same task, schedule and statistics.
    pub kept: usize,
    /// New names.
    pub added: usize,
    /// Same name, other spec or module: restarted with fresh statistics.
    pub changed: usize,
    /// Names no longer configured: cancelled, their series gone.
    pub removed: usize,
}

pub struct Scheduler {
    runner: Runner,
    limiter: Arc<Limiter>,
    stats: Arc<SchedulerStats>,
    running: Mutex<Vec<Running>>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    /// `--shard`: wins over the configuration's `server.shard`, across reloads.
    shard_override: Option<Shard>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    pub fn new(runner: Runner, limiter: Arc<Limiter>, shutdown: CancellationToken) -> Self {
        Scheduler {
            runner,
            limiter,
            stats: Arc::new(SchedulerStats::new()),
            running: Mutex::new(Vec::new()),
            shutdown,
            tracker: TaskTracker::new(),
            shard_override: None,
        }
    }

    /// Runs only `shard`'s probes whatever the configuration says (`--shard`).
    pub fn with_shard_override(mut self, shard: Option<Shard>) -> Self {
        self.shard_override = shard;
        self
    }

    pub fn stats(&self) -> &SchedulerStats {
        &self.stats
    }

    /// The scheduled probes, in configuration order.
    pub fn probes(&self) -> Vec<Arc<ProbeState>> {
        self.lock().iter().map(|r| r.state.clone()).collect()
    }

    /// How many probes are scheduled.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no probe is scheduled.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes the running set match `config`. Must be called from a Tokio runtime.
    pub fn apply(&self, config: &Config) -> ApplySummary {
        self.limiter.resize(config.server.max_concurrent_probes);
        let mut running = self.lock();
        // Probe names are unique (validation sees to it), so they key the old set.
        let mut old: HashMap<String, Running> = running
            .drain(..)
            .map(|r| (r.state.spec.name.clone(), r))
            .collect();
        let mut summary = ApplySummary::default();
        let start = Instant::now();
        let shard = self.shard_override.or(config.server.shard);
        for spec in config
            .probes
            .iter()
            .filter(|p| shard.is_none_or(|s| s.owns(&p.name)))
        {
            let Some(module) = config.module(&spec.module) else {
                // Validation guarantees the module exists; a probe without one
                // cannot run, so it is left out rather than crashing the reload.
                continue;
            };
            let module_identity = module.identity;
            match old.remove(&spec.name) {
                Some(previous)
                    if previous.state.spec == *spec
                        && previous.module_identity == module_identity =>
                {
                    running.push(previous);
                    summary.kept += 1;
                    continue;
                }
                Some(previous) => {
                    previous.cancel.cancel();
                    summary.changed += 1;
                }
                None => summary.added += 1,
            }
            let state = Arc::new(ProbeState::new(spec.clone(), module.clone()));
            let cancel = self.shutdown.child_token();
            self.tracker.spawn(run_loop(
                state.clone(),
                cancel.clone(),
                self.runner.clone(),
                self.limiter.clone(),
                self.stats.clone(),
                start,
            ));
            running.push(Running {
                state,
                module_identity,
                cancel,
            });
        }
        for stale in old.into_values() {
            stale.cancel.cancel();
            summary.removed += 1;
        }
        summary
    }

    /// Cancels every run and waits up to `grace` for the tasks to end.
    pub async fn shutdown(&self, grace: Duration) {
        self.shutdown.cancel();
        self.tracker.close();
        let _ = tokio::time::timeout(grace, self.tracker.wait()).await;
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Where in its interval a probe first runs: FNV-1a of its name (the same
/// [`fnv32a`] as `probe_ip_addr_hash`), modulo the interval. Deterministic, so
/// restarts and replicas keep the same phase, and spread, so a thousand probes
/// with one interval do not fire together.
pub fn spread_offset(name: &str, interval: Duration) -> Duration {
    let hash = fnv32a(name.as_bytes());
    // Whole milliseconds: the timer's resolution.
    let millis = interval.as_millis().max(1);
    Duration::from_millis((u128::from(hash) % millis) as u64)
}

async fn run_loop(
    state: Arc<ProbeState>,
    cancel: CancellationToken,
    runner: Runner,
    limiter: Arc<Limiter>,
    stats: Arc<SchedulerStats>,
    start: Instant,
) {
    let interval = state.spec.interval;
    let mut next = start + spread_offset(&state.spec.name, interval);
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            () = tokio::time::sleep_until(next) => {}
        }
        let slot = tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            slot = limiter.acquire() => slot,
        };
        let Some(_slot) = slot else { return };
        let now = Instant::now();
        stats.observe_lag(now.saturating_duration_since(next));
        let ctx = ProbeContext {
            deadline: now + state.spec.timeout,
            hostname: None,
            debug: false,
        };
        let (deadline, started_at) = (ctx.deadline, SystemTime::now());
        let run = runner(state.module.clone(), state.spec.target.clone(), ctx);
        // The runner is expected to end by its deadline; the scheduler does not
        // rely on it. A run that reports at the deadline is polled first and wins.
        let report = tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            report = run => report,
            () = tokio::time::sleep_until(deadline) => overdue(state.spec.timeout, started_at),
        };
        drop(_slot);
        log_transition(&state, &report);
        state.record(report);
        next += interval;
        let now = Instant::now();
        // A run that ended after its next slot is followed at once (late, which
        // shows as lag); only slots that passed entirely are skipped.
        while next + interval <= now {
            next += interval;
            stats.skipped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The report of a run the scheduler stopped at its deadline.
fn overdue(timeout: Duration, started_at: SystemTime) -> ProbeReport {
    ProbeReport {
        success: false,
        failure: Some(ProbeFailure::new(
            FailureReason::Timeout,
            format!(
                "no result within {:.3}s; stopped by the scheduler",
                timeout.as_secs_f64()
            ),
        )),
        duration: timeout,
        timeout,
        started_at,
        samples: Vec::new(),
        trace: Vec::new(),
    }
}

/// Logs when a probe starts failing, changes failure reason or recovers; a probe
/// failing the same way every interval logs once, not every run.
fn log_transition(state: &ProbeState, report: &ProbeReport) {
    let previous = state.latest_outcome();
    let spec = &state.spec;
    match (&report.failure, previous) {
        (Some(f), prev) if prev != Some(f.reason.as_label()) => {
            tracing::warn!(probe = %spec.name, module = %spec.module, target = %spec.target, reason = %f.reason, error = %f.message, "Probe failed");
        }
        (None, Some(prev)) if prev != "success" => {
            tracing::info!(probe = %spec.name, module = %spec.module, target = %spec.target, "Probe recovered");
        }
        _ => {}
    }
}
