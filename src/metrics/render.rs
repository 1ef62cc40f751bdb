//! Turns stored state into exposition text: the scheduled probes' series and the
//! daemon's own for `/metrics`, one report's series for `/probe`.

use std::collections::HashMap;
use std::sync::Arc;

use super::encode::{Encoder, Format};
use super::names::{self, Kind};
use super::process;
use crate::probe::{ProbeReport, Sample};
use crate::results::{Histogram, ProbeState};

/// The Blackbox series of one report, label-less but for their own labels, as
/// `/probe` answers.
pub fn render_report(format: Format, report: &ProbeReport) -> String {
    let mut enc = Encoder::new(format);
    write_reports(&mut enc, &[("", report)]);
    enc.finish()
}

/// Writes the gauges of `reports`, each sample led by its report's label prefix,
/// family by family: the run's own three series, then the prober's in the order
/// first seen.
/// A series every report has, read from the report itself.
type RunLevelSeries = (&'static str, fn(&ProbeReport) -> f64);

fn write_reports(enc: &mut Encoder, reports: &[(&str, &ProbeReport)]) {
    let run_level: [RunLevelSeries; 3] = [
        (names::PROBE_SUCCESS, |r| if r.success { 1.0 } else { 0.0 }),
        (names::PROBE_DURATION_SECONDS, |r| r.duration.as_secs_f64()),
        (names::PROBE_TIMEOUT_SECONDS, |r| r.timeout.as_secs_f64()),
    ];
    if reports.is_empty() {
        return;
    }
    for (name, value) in run_level {
        let (kind, help) = names::describe(name);
        enc.family(name, kind, help);
        for (prefix, report) in reports {
            enc.sample_with_prefix(prefix, &[], value(report));
        }
    }
    // One pass groups every sample under its family (in order of first
    // appearance), so each family is then written without rescanning all reports.
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    let mut families: Vec<(&'static str, Vec<(&str, &Sample)>)> = Vec::new();
    for (prefix, report) in reports {
        for sample in &report.samples {
            let i = *index.entry(sample.name).or_insert_with(|| {
                families.push((sample.name, Vec::with_capacity(reports.len())));
                families.len() - 1
            });
            if let Some((_, members)) = families.get_mut(i) {
                members.push((prefix, sample));
            }
        }
    }
    let mut labels: Vec<(&str, &str)> = Vec::new();
    for (name, members) in families {
        let (kind, help) = names::describe(name);
        enc.family(name, kind, help);
        for (prefix, sample) in members {
            labels.clear();
            labels.extend(sample.labels.iter().map(|(k, v)| (*k, v.as_str())));
            enc.sample_with_prefix(prefix, &labels, sample.value);
        }
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
/// The whole `/metrics` page. `size_hint`: the previous page's length, so a page of
/// tens of MiB is written into one allocation instead of regrowing.
pub fn render_metrics(
    format: Format,
    probes: &[Arc<ProbeState>],
    daemon: &DaemonView,
    size_hint: usize,
) -> String {
    let mut enc = Encoder::with_capacity(format, size_hint + size_hint / 8);
    render_probes(&mut enc, probes);
    render_daemon(&mut enc, probes.len(), daemon);
    render_process(&mut enc);
    enc.finish()
}

fn render_probes(enc: &mut Encoder, probes: &[Arc<ProbeState>]) {
    let snapshots: Vec<_> = probes
        .iter()
        .map(|p| (p.label_prefix.as_str(), p.snapshot()))
        .collect();
    let reports: Vec<(&str, &ProbeReport)> = snapshots
        .iter()
        .filter_map(|(prefix, snap)| snap.latest.as_deref().map(|r| (*prefix, r)))
        .collect();
    write_reports(enc, &reports);

    let (_, help) = names::describe(names::PROBE_LAST_RUN_TIMESTAMP_SECONDS);
    enc.family(names::PROBE_LAST_RUN_TIMESTAMP_SECONDS, Kind::Gauge, help);
    for (prefix, snap) in &snapshots {
        if let Some(ts) = snap.last_run {
            enc.sample_with_prefix(prefix, &[], ts);
        }
    }
    let (_, help) = names::describe(names::PROBE_RUNS_TOTAL);
    enc.family(names::PROBE_RUNS_TOTAL, Kind::Counter, help);
    for (prefix, snap) in &snapshots {
        for (outcome, n) in &snap.outcomes {
            enc.sample_with_prefix(prefix, &[("outcome", outcome)], *n as f64);
        }
    }
    let (_, help) = names::describe(names::PROBE_RUN_DURATION_SECONDS);
    enc.family(names::PROBE_RUN_DURATION_SECONDS, Kind::Histogram, help);
    for (prefix, snap) in &snapshots {
        let h = &snap.run_durations;
        enc.histogram_with_prefix(
            prefix,
            &[],
            h.bounds(),
            h.cumulative_counts(),
            h.sum(),
            h.count(),
        );
    }
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
