//! The results store: per scheduled probe, its latest report and its cumulative
//! run statistics, replaced together under one lock so a scrape never sees half
//! of one run and half of another; under the same lock, the [`History`] of its
//! recent runs that the status page shows.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::{Module, ProbeSpec, DEFAULT_STATUS_HISTORY};
use crate::history::{History, Run};
use crate::probe::ProbeReport;

/// A cumulative histogram with fixed upper bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Shared by every probe of a module: one copy, not one per probe.
    bounds: Arc<[f64]>,
    /// Cumulative counts per bound (`counts[i]` = observations ≤ `bounds[i]`).
    counts: Box<[u64]>,
    sum: f64,
    count: u64,
}

impl Histogram {
    pub fn new(bounds: &[f64]) -> Self {
        Histogram::shared(bounds.into())
    }

    /// A histogram over `bounds` that other histograms may share.
    pub fn shared(bounds: Arc<[f64]>) -> Self {
        Histogram {
            counts: vec![0; bounds.len()].into_boxed_slice(),
            bounds,
            sum: 0.0,
            count: 0,
        }
    }

    pub fn observe(&mut self, v: f64) {
        for (bound, c) in self.bounds.iter().zip(self.counts.iter_mut()) {
            if v <= *bound {
                *c += 1;
            }
        }
        self.sum += v;
        self.count += 1;
    }

    pub fn bounds(&self) -> &[f64] {
        &self.bounds
    }
    pub fn cumulative_counts(&self) -> &[u64] {
        &self.counts
    }
    pub fn sum(&self) -> f64 {
        self.sum
    }
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// Runs counted since the probe was (re)started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Successful runs (`probe_runs_total{outcome="success"}`).
    pub successes: u64,
    /// Failed runs, whatever the reason (`probe_runs_total{outcome="failure"}`).
    pub failures: u64,
    /// Failed runs by reason label (`probe_failures_total{reason}`): a reason
    /// appears on its first failure, or at 0 from the start when the module sets
    /// `precreate_failure_reasons`.
    pub by_reason: BTreeMap<&'static str, u64>,
}

impl RunCounts {
    /// Every run, successful or not.
    pub fn total(&self) -> u64 {
        self.successes + self.failures
    }
}

/// A probe's packet trains counted since it was (re)started: present from its
/// first run that sent a train (`packets` > 1).
#[derive(Debug, Clone, PartialEq)]
pub struct PacketTotals {
    /// `probe_packets_sent_total`.
    pub sent: u64,
    /// `probe_packets_received_total`.
    pub received: u64,
    /// `probe_packet_rtt_seconds`: every answer's RTT.
    pub rtts: Histogram,
}

impl PacketTotals {
    fn new() -> Self {
        static BOUNDS: std::sync::OnceLock<Arc<[f64]>> = std::sync::OnceLock::new();
        let bounds = BOUNDS
            .get_or_init(|| crate::probe::packets::RTT_BUCKETS.into())
            .clone();
        PacketTotals {
            sent: 0,
            received: 0,
            rtts: Histogram::shared(bounds),
        }
    }

    fn add(&mut self, run: &crate::probe::packets::PacketRun) {
        self.sent += u64::from(run.sent);
        self.received += u64::from(run.received);
        for rtt in &run.rtts {
            self.rtts.observe(*rtt);
        }
    }
}

/// What a scrape reads of one probe.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub latest: Option<Arc<ProbeReport>>,
    pub runs: RunCounts,
    pub run_durations: Histogram,
    /// Start of the latest run, Unix seconds.
    pub last_run: Option<f64>,
    /// Packet trains across runs; `None` until a run sends one.
    pub packets: Option<PacketTotals>,
}

/// What the lock of [`ProbeState`] guards.
#[derive(Debug)]
struct Results {
    /// Shared with scrapes in progress: a snapshot is a reference count, not a
    /// copy, and [`ProbeState::record`] copies the statistics only while a scrape
    /// still holds the previous ones (copy on write).
    snapshot: Arc<Snapshot>,
    /// Written in place, never shared: the status page copies what it shows.
    history: History,
}

/// One scheduled probe: its spec, module and results.
#[derive(Debug)]
pub struct ProbeState {
    pub spec: ProbeSpec,
    pub module: Arc<Module>,
    /// `probe`, `module`, `target` and the static labels, escaped once, leading
    /// every series of this probe on `/metrics`.
    pub label_prefix: String,
    results: Mutex<Results>,
    /// The scheduler's handle to stop this probe's runs on reload.
    pub(crate) run_cancel: crate::scheduler::RunCancel,
}

impl ProbeState {
    pub fn new(spec: ProbeSpec, module: Arc<Module>) -> Self {
        let bounds = module.run_duration_buckets.as_slice().into();
        ProbeState::with_bounds(spec, module, bounds, DEFAULT_STATUS_HISTORY)
    }

    /// As [`ProbeState::new`], with the run-duration bounds given (the
    /// scheduler hands every probe of a module the same ones) and the runs its
    /// history keeps (`[server] status_history`).
    pub fn with_bounds(
        spec: ProbeSpec,
        module: Arc<Module>,
        bounds: Arc<[f64]>,
        history: usize,
    ) -> Self {
        // `success` and `failure` exist from the start (at 0), so the first
        // failure already counts as an increase in rate()/increase(). Reasons
        // only when asked: they would be most of a probe's series otherwise.
        let mut runs = RunCounts::default();
        if module.precreate_failure_reasons {
            for reason in module.prober.kind().outcomes() {
                runs.by_reason.insert(reason.as_label(), 0);
            }
        }
        let run_durations = Histogram::shared(bounds);
        let target = crate::redact::url(&spec.target);
        let mut base = vec![
            ("probe", spec.name.as_str()),
            ("module", spec.module.as_str()),
            ("target", &*target),
        ];
        base.extend(spec.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut label_prefix = crate::metrics::encode::label_prefix(&base);
        // Kept for the probe's life: without the slack it grew by (a third of it
        // at 100,000 probes).
        label_prefix.shrink_to_fit();
        ProbeState {
            spec,
            module,
            label_prefix,
            results: Mutex::new(Results {
                snapshot: Arc::new(Snapshot {
                    latest: None,
                    runs,
                    run_durations,
                    last_run: None,
                    packets: None,
                }),
                history: History::new(history),
            }),
            run_cancel: Default::default(),
        }
    }

    /// Stores a finished run: latest report, run counters, histogram, timestamp,
    /// and its line in the history.
    pub fn record(&self, mut report: ProbeReport) {
        // The report is kept until the next run: with 100,000 probes the spare
        // capacity the recorder's vector grew by is tens of MiB.
        report.samples.shrink_to_fit();
        let started = report
            .started_at
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let mut guard = self.lock();
        guard.history.record(Run {
            // Saturating: a clock before 1970 or after 2106 shows as its bound.
            started: started.clamp(0.0, f64::from(u32::MAX)) as u32,
            duration: report.duration.as_secs_f32(),
            failure: report.failure.as_ref().map(|f| f.reason),
        });
        let r = Arc::make_mut(&mut guard.snapshot);
        match &report.failure {
            None => r.runs.successes += 1,
            Some(f) => {
                r.runs.failures += 1;
                *r.runs.by_reason.entry(f.reason.as_label()).or_insert(0) += 1;
            }
        }
        r.run_durations.observe(report.duration.as_secs_f64());
        if let Some(run) = &report.packets {
            r.packets.get_or_insert_with(PacketTotals::new).add(run);
        }
        r.last_run = Some(started);
        r.latest = Some(Arc::new(report));
    }

    /// The outcome of the latest run, if any (cheaper than a snapshot).
    pub fn latest_outcome(&self) -> Option<&'static str> {
        self.lock().snapshot.latest.as_ref().map(|r| r.outcome())
    }

    /// A consistent view of the results: shared, not copied, so a scrape of
    /// 100,000 probes holds 100,000 reference counts rather than their statistics.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.lock().snapshot.clone()
    }

    /// The snapshot and a copy of the history, taken together (one lock), for
    /// the status page.
    pub fn with_history(&self) -> (Arc<Snapshot>, History) {
        let guard = self.lock();
        (guard.snapshot.clone(), guard.history.clone())
    }

    /// Makes the history keep `limit` runs, its newest kept (a reload changed
    /// `[server] status_history`).
    pub fn resize_history(&self, limit: usize) {
        self.lock().history.resize(limit);
    }

    fn lock(&self) -> MutexGuard<'_, Results> {
        // A panic while holding this lock cannot leave the snapshot half-written
        // (every update is a few assignments), so a poisoned lock is still usable.
        self.results.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Seconds since the Unix epoch of `t`.
pub fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let mut h = Histogram::new(&[0.5, 2.0]);
        for v in [0.1, 0.5, 1.0, 3.0] {
            h.observe(v);
        }
        assert_eq!(h.cumulative_counts(), &[2, 3]);
        assert_eq!(h.count(), 4);
        assert!((h.sum() - 4.6).abs() < 1e-9);
    }
}
