//! Turns stored state into exposition text: the scheduled probes' series and the
//! daemon's own for `/metrics`, one report's series for `/probe`.

use std::collections::HashMap;
use std::sync::Arc;

use super::encode::{Encoder, Format};
use super::names::{self, Kind};
use super::process;
use crate::probe::ProbeReport;
use crate::results::{Histogram, ProbeState};

type OwnedLabels = Vec<(&'static str, String)>;

/// Gauge families gathered across probes, in first-seen order.
#[derive(Default)]
struct Gauges {
    order: Vec<&'static str>,
    index: HashMap<&'static str, usize>,
    samples: Vec<Vec<(OwnedLabels, f64)>>,
}

impl Gauges {
    fn push(&mut self, name: &'static str, labels: OwnedLabels, value: f64) {
        let i = *self.index.entry(name).or_insert_with(|| {
            self.order.push(name);
            self.samples.push(Vec::new());
            self.order.len() - 1
        });
        if let Some(family) = self.samples.get_mut(i) {
            family.push((labels, value));
        }
    }

    fn encode(self, enc: &mut Encoder) {
        for (name, samples) in self.order.into_iter().zip(self.samples) {
            let (kind, help) = names::describe(name);
            enc.family(name, kind, help);
            for (labels, value) in samples {
                enc.sample(&borrow(&labels), value);
            }
        }
    }
}

fn borrow<'a>(labels: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    labels.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The Blackbox series of one report, label-less but for their own labels, as
/// `/probe` answers.
pub fn render_report(format: Format, report: &ProbeReport) -> String {
    let mut gauges = Gauges::default();
    push_report(&mut gauges, &Vec::new(), report);
    let mut enc = Encoder::new(format);
    gauges.encode(&mut enc);
    enc.finish()
}

fn push_report(gauges: &mut Gauges, base: &OwnedLabels, report: &ProbeReport) {
    let with = |extra: &[(&'static str, String)]| -> OwnedLabels {
        let mut l = base.clone();
        l.extend(extra.iter().cloned());
        l
    };
    gauges.push(
        names::PROBE_SUCCESS,
        with(&[]),
        if report.success { 1.0 } else { 0.0 },
    );
    gauges.push(
        names::PROBE_DURATION_SECONDS,
        with(&[]),
        report.duration.as_secs_f64(),
    );
    gauges.push(
        names::PROBE_TIMEOUT_SECONDS,
        with(&[]),
        report.timeout.as_secs_f64(),
    );
    for s in &report.samples {
        gauges.push(s.name, with(&s.labels), s.value);
    }
}

/// The reload state shown on `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReloadStatus {
    pub last_successful: bool,
    pub last_success_timestamp: f64,
}

/// Everything `/metrics` shows besides the probes.
#[derive(Debug, Clone)]
pub struct DaemonView {
    pub reload: ReloadStatus,
    pub in_flight: i64,
    pub scheduler_lag: Histogram,
    pub skipped_runs: u64,
    /// `/probe` answers by (module, status code).
    pub probe_requests: Vec<((String, u16), u64)>,
    pub module_unknown: u64,
}

/// The whole `/metrics` page.
pub fn render_metrics(format: Format, probes: &[Arc<ProbeState>], daemon: &DaemonView) -> String {
    let mut enc = Encoder::new(format);
    render_probes(&mut enc, probes);
    render_daemon(&mut enc, probes.len(), daemon);
    render_process(&mut enc);
    enc.finish()
}

fn render_probes(enc: &mut Encoder, probes: &[Arc<ProbeState>]) {
    let snapshots: Vec<_> = probes.iter().map(|p| (p, p.snapshot())).collect();
    let mut gauges = Gauges::default();
    let bases: Vec<OwnedLabels> = snapshots.iter().map(|(p, _)| base_labels(p)).collect();
    for ((_, snap), base) in snapshots.iter().zip(&bases) {
        if let Some(report) = &snap.latest {
            push_report(&mut gauges, base, report);
        }
    }
    for ((_, snap), base) in snapshots.iter().zip(&bases) {
        if let Some(ts) = snap.last_run {
            gauges.push(names::PROBE_LAST_RUN_TIMESTAMP_SECONDS, base.clone(), ts);
        }
    }
    gauges.encode(enc);

    let (_, help) = names::describe(names::PROBE_RUNS_TOTAL);
    enc.family(names::PROBE_RUNS_TOTAL, Kind::Counter, help);
    for ((_, snap), base) in snapshots.iter().zip(&bases) {
        for (outcome, n) in &snap.outcomes {
            let mut labels = borrow(base);
            labels.push(("outcome", outcome));
            enc.sample(&labels, *n as f64);
        }
    }
    let (_, help) = names::describe(names::PROBE_RUN_DURATION_SECONDS);
    enc.family(names::PROBE_RUN_DURATION_SECONDS, Kind::Histogram, help);
    for ((_, snap), base) in snapshots.iter().zip(&bases) {
        let h = &snap.run_durations;
        enc.histogram(
            &borrow(base),
            h.bounds(),
            h.cumulative_counts(),
            h.sum(),
            h.count(),
        );
    }
}

fn base_labels(p: &ProbeState) -> OwnedLabels {
    let mut labels: OwnedLabels = vec![
        ("probe", p.spec.name.clone()),
        ("module", p.spec.module.clone()),
        ("target", p.spec.target.clone()),
    ];
    // Static label names are validated, but they are only known at run time, so
    // they are leaked once per distinct name to satisfy the `&'static str` keys.
    labels.extend(p.spec.labels.iter().map(|(k, v)| (intern(k), v.clone())));
    labels
}

/// A process-wide set of label names: bounded by the distinct static label names
/// ever configured, which is small.
fn intern(name: &str) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock, PoisonError};
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut set = NAMES
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(existing) = set.get(name) {
        return existing;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

fn render_daemon(enc: &mut Encoder, probe_count: usize, d: &DaemonView) {
    let gauge = |enc: &mut Encoder, name: &str, value: f64| {
        let (kind, help) = names::describe(name);
        enc.family(name, kind, help);
        enc.sample(&[], value);
    };
    let (_, help) = names::describe(names::OUTPOST_BUILD_INFO);
    enc.family(names::OUTPOST_BUILD_INFO, Kind::Gauge, help);
    enc.sample(&[("version", env!("CARGO_PKG_VERSION"))], 1.0);
    gauge(
        enc,
        names::OUTPOST_CONFIG_LAST_RELOAD_SUCCESSFUL,
        if d.reload.last_successful { 1.0 } else { 0.0 },
    );
    gauge(
        enc,
        names::OUTPOST_CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS,
        d.reload.last_success_timestamp,
    );
    gauge(enc, names::OUTPOST_PROBES, probe_count as f64);
    gauge(enc, names::OUTPOST_PROBES_IN_FLIGHT, d.in_flight as f64);
    let (_, help) = names::describe(names::OUTPOST_SCHEDULER_LAG_SECONDS);
    enc.family(names::OUTPOST_SCHEDULER_LAG_SECONDS, Kind::Histogram, help);
    let lag = &d.scheduler_lag;
    enc.histogram(
        &[],
        lag.bounds(),
        lag.cumulative_counts(),
        lag.sum(),
        lag.count(),
    );
    gauge(
        enc,
        names::OUTPOST_SCHEDULER_SKIPPED_RUNS_TOTAL,
        d.skipped_runs as f64,
    );
    let (_, help) = names::describe(names::OUTPOST_PROBE_REQUESTS_TOTAL);
    enc.family(names::OUTPOST_PROBE_REQUESTS_TOTAL, Kind::Counter, help);
    for ((module, code), n) in &d.probe_requests {
        enc.sample(
            &[("module", module), ("code", &code.to_string())],
            *n as f64,
        );
    }
    gauge(
        enc,
        names::OUTPOST_MODULE_UNKNOWN_TOTAL,
        d.module_unknown as f64,
    );
}

fn render_process(enc: &mut Encoder) {
    let Some(p) = process::read() else { return };
    let mut one = |name: &str, value: f64| {
        let (kind, help) = names::describe(name);
        enc.family(name, kind, help);
        enc.sample(&[], value);
    };
    one(names::PROCESS_CPU_SECONDS_TOTAL, p.cpu_seconds);
    one(names::PROCESS_RESIDENT_MEMORY_BYTES, p.resident_bytes);
    one(names::PROCESS_VIRTUAL_MEMORY_BYTES, p.virtual_bytes);
    one(names::PROCESS_START_TIME_SECONDS, p.start_time_seconds);
    one(names::PROCESS_OPEN_FDS, p.open_fds);
    if let Some(max) = p.max_fds {
        one(names::PROCESS_MAX_FDS, max);
    }
    one(names::PROCESS_THREADS, p.threads);
}
