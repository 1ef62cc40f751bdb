//! The scheduler owns time: every `[[probes]]` entry runs every `interval`, at a
//! start offset spread deterministically over the interval from a hash of its
//! name, never overlapping its own previous run, bounded by its timeout and by a
//! global cap on runs in flight. Probers never sleep; this module does.
//!
//! On reload, [`Scheduler::apply`] diffs the new probe list against the running
//! one: a probe whose spec and module are unchanged keeps its task, schedule,
//! counters, histogram and history; a changed one restarts; a removed one is cancelled and
//! its series disappear with its state.

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::policy::TargetPolicy;
use crate::config::{Config, Module, Origin, ProbeSpec};
use crate::fanout::{self, FanOut};
use crate::probe::net::fnv32a;
use crate::probe::{FailureReason, ProbeContext, ProbeFailure, ProbeReport};
use crate::results::{FanOutRun, Histogram, ProbeState};
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
        Some(self.slot(permit))
    }

    /// A free slot now, or `None` when every slot is taken.
    pub fn try_acquire(&self) -> Option<Slot<'_>> {
        let permit = self.semaphore.clone().try_acquire_owned().ok()?;
        Some(self.slot(permit))
    }

    fn slot(&self, permit: OwnedSemaphorePermit) -> Slot<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Slot {
            _permit: permit,
            limiter: self,
        }
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
    /// Its module is the one the probe was started with: a reload compares
    /// the new module's identity with that one's.
    state: Arc<ProbeState>,
}

/// How a reload stops a probe it removes or changes: marked retired, so the
/// timer drops its next slot, and its run in flight (if any) cancelled. The token
/// exists only while a run does, not for every probe's whole life (a token is
/// about 120 bytes: 12 MiB at 100,000 probes).
#[derive(Debug, Default)]
pub struct RunCancel(Mutex<RunCancelInner>);

#[derive(Debug, Default)]
struct RunCancelInner {
    retired: bool,
    /// A discovered probe whose resource is gone: its slots pass without a
    /// run, its series stay, until discovery resumes or removes it.
    paused: bool,
    run: Option<CancellationToken>,
}

impl RunCancel {
    fn lock(&self) -> MutexGuard<'_, RunCancelInner> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn retire(&self) {
        let mut inner = self.lock();
        inner.retired = true;
        if let Some(run) = inner.run.take() {
            run.cancel();
        }
    }

    fn is_retired(&self) -> bool {
        self.lock().retired
    }

    pub(crate) fn set_paused(&self, paused: bool) {
        self.lock().paused = paused;
    }

    /// Whether the probe's runs are paused (its resource gone, in its grace).
    pub fn is_paused(&self) -> bool {
        self.lock().paused
    }

    /// A token for the run starting now, a child of `shutdown`; `None` if the
    /// probe was retired.
    fn start(&self, shutdown: &CancellationToken) -> Option<CancellationToken> {
        let mut inner = self.lock();
        if inner.retired {
            return None;
        }
        let token = shutdown.child_token();
        inner.run = Some(token.clone());
        Some(token)
    }

    /// The run ended: its token goes.
    fn end(&self) {
        self.lock().run = None;
    }
}

/// Ends a run's registration however `run_once` returns.
struct RunGuard<'a>(&'a RunCancel);

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        self.0.end();
    }
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
    /// Hands probes to the timer task; started by the first [`Scheduler::apply`]
    /// (which runs inside a runtime, unlike [`Scheduler::new`]).
    timer: Mutex<Option<mpsc::UnboundedSender<Due>>>,
    /// `--shard`: wins over the configuration's `server.shard`, across reloads;
    /// `--shard auto` changes it as the replica count changes.
    shard_override: RwLock<Option<Shard>>,
    /// The share the latest apply ran with, for `/metrics`.
    applied_shard: RwLock<Option<Shard>>,
    /// The runtime the timer and the runs live on ([`crate::probe_thread`]);
    /// `None`: the one [`Scheduler::apply`] is called on.
    runtime: Option<tokio::runtime::Handle>,
    /// `/probe`'s target policy, when `apply_to_scheduled_probes` asks for it.
    policy: Arc<ScheduledPolicy>,
}

/// The target policy scheduled runs are held to: `None` (the default) unless
/// `[server.probe_endpoint] apply_to_scheduled_probes` is set. Swapped by a reload.
type ScheduledPolicy = RwLock<Option<Arc<TargetPolicy>>>;

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
            timer: Mutex::new(None),
            shard_override: RwLock::new(None),
            applied_shard: RwLock::new(None),
            runtime: None,
            policy: Arc::default(),
        }
    }

    /// Runs the timer, and so every run, on `runtime` instead of the caller's.
    pub fn with_runtime(mut self, runtime: Option<tokio::runtime::Handle>) -> Self {
        self.runtime = runtime;
        self
    }

    /// Runs only `shard`'s probes whatever the configuration says (`--shard`).
    pub fn with_shard_override(self, shard: Option<Shard>) -> Self {
        self.set_shard_override(shard);
        self
    }

    /// Changes the share the next apply runs with (`--shard auto` resharding);
    /// the caller then applies the whole probe list again.
    pub fn set_shard_override(&self, shard: Option<Shard>) {
        *self
            .shard_override
            .write()
            .unwrap_or_else(PoisonError::into_inner) = shard;
    }

    /// The share the running probes were picked by; `None`: every probe.
    pub fn shard(&self) -> Option<Shard> {
        *self
            .applied_shard
            .read()
            .unwrap_or_else(PoisonError::into_inner)
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

    /// Makes the running set of `[[probes]]` entries match `config` (the
    /// discovered probes are [`Scheduler::apply_discovered`]'s). Must be called
    /// from a Tokio runtime.
    pub fn apply(&self, config: &Config) -> ApplySummary {
        self.apply_probes(
            config,
            config.probes.clone(),
            Origin::Config,
            &HashSet::new(),
        )
    }

    /// Makes the running set of discovered probes match `probes`, by the same
    /// diff as a reload: unchanged ones keep their task and statistics; those
    /// named in `paused` keep their series but do not run. A name a
    /// `[[probes]]` entry already has is left out. Must be called from a Tokio runtime.
    pub fn apply_discovered(
        &self,
        config: &Config,
        mut probes: Vec<ProbeSpec>,
        paused: &HashSet<String>,
    ) -> ApplySummary {
        let taken: HashSet<String> = self
            .lock()
            .iter()
            .filter(|r| r.state.spec.origin == Origin::Config)
            .map(|r| r.state.spec.name.clone())
            .collect();
        probes.retain(|p| {
            let free = !taken.contains(&p.name);
            if !free {
                tracing::warn!(probe = %p.name, "A discovered probe has the name of a [[probes]] entry; not scheduled");
            }
            free
        });
        self.apply_probes(config, probes, Origin::Discovered, paused)
    }

    /// As [`Scheduler::apply`], moving the probe specs out of `config` instead of
    /// copying them (at 100,000 probes, a copy is tens of MiB freed right after,
    /// which the allocator keeps); returns `config` with no probes left.
    pub fn apply_owned(&self, mut config: Config) -> (ApplySummary, Config) {
        let probes = std::mem::take(&mut config.probes);
        let summary = self.apply_probes(&config, probes, Origin::Config, &HashSet::new());
        (summary, config)
    }

    /// Diffs the running probes of `origin` against `probes`; the others stay
    /// as they are (the configuration's first, then the discovered ones).
    fn apply_probes(
        &self,
        config: &Config,
        probes: Vec<ProbeSpec>,
        origin: Origin,
        paused: &HashSet<String>,
    ) -> ApplySummary {
        self.limiter.resize(config.server.max_concurrent_probes);
        let endpoint = &config.server.probe_endpoint;
        *self.policy.write().unwrap_or_else(PoisonError::into_inner) = endpoint
            .apply_to_scheduled_probes
            .then(|| endpoint.policy.clone());
        let mut running = self.lock();
        let (mine, others): (Vec<Running>, Vec<Running>) = running
            .drain(..)
            .partition(|r| r.state.spec.origin == origin);
        // The configuration's probes come first in the list, the discovered after.
        let others_after = match origin {
            Origin::Config => Some(others),
            Origin::Discovered => {
                running.extend(others);
                None
            }
        };
        // Probe names are unique (validation sees to it), so they key the old set.
        let mut old: HashMap<String, Running> = mine
            .into_iter()
            .map(|r| (r.state.spec.name.clone(), r))
            .collect();
        let mut summary = ApplySummary::default();
        let start = Instant::now();
        let timer = self.timer();
        let shard = self
            .shard_override
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .or(config.server.shard);
        *self
            .applied_shard
            .write()
            .unwrap_or_else(PoisonError::into_inner) = shard;
        // One copy of a module's bucket bounds for all its probes.
        let mut bounds: HashMap<&str, Arc<[f64]>> = HashMap::new();
        for spec in probes
            .into_iter()
            .filter(|p| shard.is_none_or(|s| s.owns(&p.name)))
        {
            let Some(module) = config.module(&spec.module) else {
                // Validation guarantees the module exists; a probe without one
                // cannot run, so it is left out rather than crashing the reload.
                continue;
            };
            match old.remove(&spec.name) {
                Some(previous)
                    if previous.state.spec == spec
                        && previous.state.module.identity == module.identity =>
                {
                    previous.state.resize_history(config.server.status_history);
                    previous
                        .state
                        .run_cancel
                        .set_paused(paused.contains(&previous.state.spec.name));
                    running.push(previous);
                    summary.kept += 1;
                    continue;
                }
                Some(previous) => {
                    previous.state.run_cancel.retire();
                    summary.changed += 1;
                }
                None => summary.added += 1,
            }
            let module_bounds = bounds
                .entry(module.name.as_str())
                .or_insert_with(|| module.run_duration_buckets.as_slice().into())
                .clone();
            let at = start + spread_offset(&spec.name, spec.interval);
            let is_paused = paused.contains(&spec.name);
            let state = Arc::new(ProbeState::with_bounds(
                spec,
                module.clone(),
                module_bounds,
                config.server.status_history,
            ));
            state.run_cancel.set_paused(is_paused);
            let due = Due {
                at,
                state: state.clone(),
            };
            // The timer task outlives every send but at shutdown, when runs stop anyway.
            let _ = timer.send(due);
            running.push(Running { state });
        }
        for stale in old.into_values() {
            stale.state.run_cancel.retire();
            summary.removed += 1;
        }
        running.extend(others_after.into_iter().flatten());
        running.shrink_to_fit();
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

    /// The sender to the timer task, starting the task on first use.
    fn timer(&self) -> mpsc::UnboundedSender<Due> {
        let mut timer = self.timer.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = timer.as_ref().filter(|tx| !tx.is_closed()) {
            return tx.clone();
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let runs = Runs {
            runner: self.runner.clone(),
            limiter: self.limiter.clone(),
            stats: self.stats.clone(),
            timer: tx.clone(),
            shutdown: self.shutdown.clone(),
            tracker: self.tracker.clone(),
            policy: self.policy.clone(),
        };
        let timer_task = drive_timer(rx, self.shutdown.clone(), Arc::new(runs));
        // Runs are spawned by the timer task, so they land on its runtime.
        match &self.runtime {
            Some(runtime) => self.tracker.spawn_on(timer_task, runtime),
            None => self.tracker.spawn(timer_task),
        };
        *timer = Some(tx.clone());
        tx
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

/// A probe's next slot. The timer keeps one per probe that is not running (a
/// run in flight re-arms its probe when it ends, so a probe never overlaps
/// itself); ordered by time alone.
struct Due {
    at: Instant,
    state: Arc<ProbeState>,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        self.at.cmp(&other.at)
    }
}

/// What a run needs from the scheduler.
struct Runs {
    runner: Runner,
    limiter: Arc<Limiter>,
    stats: Arc<SchedulerStats>,
    /// Where a finished run re-arms its probe.
    timer: mpsc::UnboundedSender<Due>,
    /// The parent of every run's token.
    shutdown: CancellationToken,
    tracker: TaskTracker,
    policy: Arc<ScheduledPolicy>,
}

/// The timer: one task and a heap of slots for every probe, instead of a
/// sleeping task per probe (at 100,000 probes those tasks alone were tens of
/// MiB). A slot that comes due becomes a task for the length of its run.
async fn drive_timer(
    mut rx: mpsc::UnboundedReceiver<Due>,
    shutdown: CancellationToken,
    runs: Arc<Runs>,
) {
    let mut heap: BinaryHeap<Reverse<Due>> = BinaryHeap::new();
    loop {
        let next = heap.peek().map(|Reverse(d)| d.at);
        tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            due = rx.recv() => match due {
                Some(due) => heap.push(Reverse(due)),
                None => return,
            },
            () = sleep_until_some(next) => {}
        }
        // Everything already queued, then everything due, in one pass.
        while let Ok(due) = rx.try_recv() {
            heap.push(Reverse(due));
        }
        let now = Instant::now();
        while heap.peek().is_some_and(|Reverse(d)| d.at <= now) {
            let Some(Reverse(due)) = heap.pop() else {
                break;
            };
            // A probe removed or changed by a reload leaves the heap here.
            if !due.state.run_cancel.is_retired() {
                runs.tracker.spawn(run_once(due, runs.clone()));
            }
        }
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One run of a probe whose slot came due at `due.at`; then re-arms it for its
/// next slot.
async fn run_once(due: Due, runs: Arc<Runs>) {
    let Due { at: next, state } = due;
    if state.run_cancel.is_paused() {
        reschedule(next, state, &runs);
        return;
    }
    let Some(cancel) = state.run_cancel.start(&runs.shutdown) else {
        return;
    };
    let _registered = RunGuard(&state.run_cancel);
    let slot = tokio::select! {
        biased;
        () = cancel.cancelled() => return,
        slot = runs.limiter.acquire() => slot,
    };
    let Some(_slot) = slot else { return };
    let now = Instant::now();
    runs.stats.observe_lag(now.saturating_duration_since(next));
    let ctx = ProbeContext {
        deadline: now + state.spec.timeout,
        timeout: state.spec.timeout,
        hostname: None,
        debug: false,
        policy: runs
            .policy
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone(),
    };
    let (deadline, started_at) = (ctx.deadline, SystemTime::now());
    if let Some(fan_out) = state.spec.fan_out.as_deref().copied() {
        let run = fan_out_run(&state, fan_out, ctx, &runs.runner);
        let run = tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            run = run => run,
        };
        drop(_slot);
        log_transition(&state, &run.report);
        state.record_fan_out(run);
        drop(_registered);
        reschedule(next, state, &runs);
        return;
    }
    let run = (runs.runner)(state.module.clone(), state.spec.target.clone(), ctx);
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
    drop(_registered);
    reschedule(next, state, &runs);
}

/// Queues the next run of `state`, due an interval after `next`.
fn reschedule(next: Instant, state: Arc<ProbeState>, runs: &Runs) {
    let interval = state.spec.interval;
    let mut next = next + interval;
    let now = Instant::now();
    // A run that ended after its next slot is followed at once (late, which
    // shows as lag); only slots that passed entirely are skipped.
    while next + interval <= now {
        next += interval;
        runs.stats.skipped.fetch_add(1, Ordering::Relaxed);
    }
    let _ = runs.timer.send(Due { at: next, state });
}

/// One `fan_out` run: the target's host resolved (within the deadline), then
/// every address up to `max_addresses` probed at once by `runner`, each run
/// pinned to its address; the probe's own report follows `fan_out_success`, its
/// failure the first failed address's (in address order).
async fn fan_out_run(
    state: &ProbeState,
    fan_out: FanOut,
    ctx: ProbeContext,
    runner: &Runner,
) -> FanOutRun {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let timeout = state.spec.timeout;
    let deadline = ctx.deadline;
    let report = |failure: Option<ProbeFailure>| ProbeReport {
        success: failure.is_none(),
        failure,
        duration: started.elapsed(),
        timeout,
        started_at,
        samples: Vec::new(),
        trace: Vec::new(),
        packets: None,
    };
    let host = fanout::target_host(state.module.prober.kind(), &state.spec.target);
    let ip = fanout::ip_settings(&state.module.prober);
    let (Some(host), Some(ip)) = (host, ip) else {
        let f = ProbeFailure::new(FailureReason::InvalidTarget, "no host to fan out to");
        return FanOutRun {
            report: report(Some(f)),
            resolved: None,
            probed: Vec::new(),
        };
    };
    let resolved =
        match tokio::time::timeout_at(deadline, fanout::resolve(&host, ip, fan_out.families)).await
        {
            Ok(Ok(addrs)) => addrs,
            Ok(Err(f)) => {
                return FanOutRun {
                    report: report(Some(f)),
                    resolved: None,
                    probed: Vec::new(),
                }
            }
            Err(_) => {
                let f = ProbeFailure::new(
                    FailureReason::Timeout,
                    format!(
                        "resolving {host} took longer than {:.3}s",
                        timeout.as_secs_f64()
                    ),
                );
                return FanOutRun {
                    report: report(Some(f)),
                    resolved: None,
                    probed: Vec::new(),
                };
            }
        };
    let (to_probe, _) = fanout::split(&resolved, fan_out.max_addresses);
    let mut set = tokio::task::JoinSet::new();
    for (i, addr) in to_probe.iter().copied().enumerate() {
        let run = (runner)(state.module.clone(), state.spec.target.clone(), ctx.clone());
        let host = host.clone();
        set.spawn(async move {
            let pinned = crate::probe::net::pinned(&host, addr, run);
            let report = tokio::select! {
                biased;
                report = pinned => report,
                () = tokio::time::sleep_until(deadline) => overdue(timeout, started_at),
            };
            (i, addr, report)
        });
    }
    let mut probed: Vec<(usize, IpAddr, ProbeReport)> = Vec::with_capacity(to_probe.len());
    while let Some(done) = set.join_next().await {
        // A run that panicked has no report; its address is left out of this run.
        if let Ok(done) = done {
            probed.push(done);
        }
    }
    probed.sort_by_key(|(i, _, _)| *i);
    let succeeded = probed.iter().filter(|(_, _, r)| r.success).count();
    let failure = if fan_out.success.holds(succeeded, probed.len()) {
        None
    } else {
        Some(
            probed
                .iter()
                .find_map(|(_, addr, r)| {
                    r.failure
                        .as_ref()
                        .map(|f| ProbeFailure::new(f.reason, format!("{addr}: {}", f.message)))
                })
                .unwrap_or_else(|| {
                    ProbeFailure::new(
                        FailureReason::Resolve,
                        format!("no address of {host} probed"),
                    )
                }),
        )
    };
    FanOutRun {
        report: report(failure),
        resolved: Some(resolved.clone()),
        probed: probed.into_iter().map(|(_, a, r)| (a, r)).collect(),
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
        packets: None,
    }
}

/// Logs when a probe starts failing, changes failure reason or recovers; a probe
/// failing the same way every interval logs once, not every run.
fn log_transition(state: &ProbeState, report: &ProbeReport) {
    let previous = state.latest_outcome();
    let spec = &state.spec;
    match (&report.failure, previous) {
        (Some(f), prev) if prev != Some(f.reason.as_label()) => {
            tracing::warn!(probe = %spec.name, module = %spec.module, target = %crate::redact::url(&spec.target), reason = %f.reason, error = %f.message, "Probe failed");
        }
        (None, Some(prev)) if prev != "success" => {
            tracing::info!(probe = %spec.name, module = %spec.module, target = %crate::redact::url(&spec.target), "Probe recovered");
        }
        _ => {}
    }
}
