//! The results store: per scheduled probe, its latest report and its cumulative
//! run statistics, replaced together under one lock so a scrape never sees half
//! of one run and half of another; under the same lock, the [`History`] of its
//! recent runs that the status page shows.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::{Module, ProbeSpec, DEFAULT_STATUS_HISTORY};
use crate::fanout::AddressBook;
use crate::history::{History, Run};
use crate::metrics::names;
use crate::probe::{ProbeReport, Sample};

mod stored;
pub use stored::{same_name, Shape, StoredReport};

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

    /// An empty histogram over the same (shared) bounds.
    pub fn empty_like(&self) -> Histogram {
        Histogram::shared(self.bounds.clone())
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
    pub latest: Option<StoredReport>,
    pub runs: RunCounts,
    pub run_durations: Histogram,
    /// Start of the latest run, Unix seconds.
    pub last_run: Option<f64>,
    /// Packet trains across runs; `None` until a run sends one. Boxed: most
    /// probes send none, and inline it would be 64 bytes in every snapshot.
    pub packets: Option<Box<PacketTotals>>,
    /// A `fan_out` probe's addresses with results, in address order; empty
    /// for any other probe.
    pub addresses: Vec<Address>,
}

/// One address of a `fan_out` probe: its own results, as a probe's, under the
/// probe's labels and `ip`.
#[derive(Debug, Clone)]
pub struct Address {
    pub ip: IpAddr,
    /// The probe's label prefix with `ip` added.
    pub label_prefix: Arc<str>,
    pub snapshot: Arc<Snapshot>,
}

/// What a fan-out run hands the store: the run as the probe's own report, the
/// resolution (`None` when it failed: the addresses are left as they were) and
/// each probed address's report.
#[derive(Debug)]
pub struct FanOutRun {
    pub report: ProbeReport,
    pub resolved: Option<Vec<IpAddr>>,
    pub probed: Vec<(IpAddr, ProbeReport)>,
}

impl Snapshot {
    /// Counts one run into the statistics and makes it the latest.
    fn count(&mut self, report: ProbeReport, started: f64) {
        match &report.failure {
            None => self.runs.successes += 1,
            Some(f) => {
                self.runs.failures += 1;
                *self.runs.by_reason.entry(f.reason.as_label()).or_insert(0) += 1;
            }
        }
        self.run_durations.observe(report.duration.as_secs_f64());
        if let Some(run) = &report.packets {
            self.packets
                .get_or_insert_with(|| Box::new(PacketTotals::new()))
                .add(run);
        }
        self.last_run = Some(started);
        StoredReport::store(&mut self.latest, report);
    }
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
    /// A `fan_out` probe's resolutions and its addresses' absences; `None`
    /// until its first run (and for any other probe: boxed, as most have none).
    book: Option<Box<AddressBook>>,
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
        let runs = initial_runs(&module);
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
                    addresses: Vec::new(),
                    packets: None,
                }),
                history: History::new(history),
                book: None,
            }),
            run_cancel: Default::default(),
        }
    }

    /// Stores a finished run: latest report, run counters, histogram, timestamp,
    /// and its line in the history.
    pub fn record(&self, report: ProbeReport) {
        let mut guard = self.lock();
        Self::record_locked(&mut guard, report);
    }

    fn record_locked(guard: &mut Results, report: ProbeReport) {
        let started = unix_seconds(report.started_at);
        guard.history.record(Run {
            // Saturating: a clock before 1970 or after 2106 shows as its bound.
            started: started.clamp(0.0, f64::from(u32::MAX)) as u32,
            duration: report.duration.as_secs_f32(),
            failure: report.failure.as_ref().map(|f| f.reason),
        });
        Arc::make_mut(&mut guard.snapshot).count(report, started);
    }

    /// Stores a `fan_out` run: each probed address's report under its own
    /// results, the addresses gone past `address_grace` dropped, and the run
    /// itself, with `probe_addresses`, `probe_addresses_skipped` and
    /// `probe_address_changes_total`, as the probe's own.
    pub fn record_fan_out(&self, run: FanOutRun) {
        let FanOutRun {
            mut report,
            resolved,
            probed,
        } = run;
        let (max, grace) = self
            .spec
            .fan_out
            .as_deref()
            .map_or((usize::MAX, 0), |f| (f.max_addresses, f.address_grace));
        let mut guard = self.lock();
        let guard = &mut *guard;
        if let Some(resolved) = &resolved {
            let probed_ips: Vec<IpAddr> = probed.iter().map(|(ip, _)| *ip).collect();
            let book = guard.book.get_or_insert_with(Box::default);
            let gone = book.update(resolved, &probed_ips, grace);
            let snap = Arc::make_mut(&mut guard.snapshot);
            snap.addresses.retain(|a| !gone.contains(&a.ip));
            for (ip, r) in probed {
                let started = unix_seconds(r.started_at);
                let at = match snap.addresses.binary_search_by(|a| a.ip.cmp(&ip)) {
                    Ok(i) => i,
                    Err(i) => {
                        let address = Address {
                            ip,
                            label_prefix: self.address_prefix(ip).into(),
                            snapshot: Arc::new(Snapshot {
                                latest: None,
                                runs: initial_runs(&self.module),
                                run_durations: snap.run_durations.empty_like(),
                                last_run: None,
                                addresses: Vec::new(),
                                packets: None,
                            }),
                        };
                        snap.addresses.insert(i, address);
                        i
                    }
                };
                Arc::make_mut(&mut snap.addresses[at].snapshot).count(r, started);
            }
        }
        let found = resolved.as_ref().map_or(0, Vec::len);
        let skipped = found.saturating_sub(max);
        for (name, value) in [
            (names::PROBE_ADDRESSES, found as f64),
            (names::PROBE_ADDRESSES_SKIPPED, skipped as f64),
            (
                names::PROBE_ADDRESS_CHANGES_TOTAL,
                guard.book.as_ref().map_or(0, |b| b.changes) as f64,
            ),
        ] {
            report.samples.push(Sample {
                name,
                labels: Vec::new(),
                value,
            });
        }
        Self::record_locked(guard, report);
    }

    /// The label prefix of this probe's series for address `ip`.
    fn address_prefix(&self, ip: IpAddr) -> String {
        let ip = ip.to_string();
        let mut prefix = String::with_capacity(self.label_prefix.len() + ip.len() + 6);
        prefix.push_str(&self.label_prefix);
        prefix.push(',');
        prefix.push_str(&crate::metrics::encode::label_prefix(&[("ip", &ip)]));
        prefix
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

/// A probe's run counts before its first run: `success` and `failure` exist
/// from the start (at 0), so the first failure already counts as an increase in
/// rate()/increase(). Reasons only when asked: they would be most of a probe's
/// series otherwise.
fn initial_runs(module: &Module) -> RunCounts {
    let mut runs = RunCounts::default();
    if module.precreate_failure_reasons {
        for reason in module.prober.kind().outcomes() {
            runs.by_reason.insert(reason.as_label(), 0);
        }
    }
    runs
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
