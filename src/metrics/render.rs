//! Turns probe reports into exposition text: the scheduled probes' series for
//! `/metrics` (the [`ScheduledProbes`] source), one report's series for `/probe`.

use std::sync::Arc;

use super::encode::{Encoder, Format};
use super::layout::Layouts;
use super::names::{self, Family};
use super::report_view::ReportView;
use super::source::Source;
use super::warm::{self, Warm, BATCH};
use crate::probe::ProbeReport;
use crate::results::{Snapshot, StoredReport};
use crate::scheduler::Scheduler;

/// The Blackbox series of one report, label-less but for their own labels, as
/// `/probe` answers.
pub fn render_report(format: Format, report: &ProbeReport) -> String {
    let mut enc = Encoder::new(format);
    write_reports(&mut enc, &[("", report)], names::lookup);
    enc.finish()
}

/// Writes the gauges of `reports`, each sample led by its report's label prefix,
/// family by family: the run's own three series, then the prober's in the order
/// first seen.
/// A series every report has, read from the report itself.
type RunLevelSeries<R> = (&'static str, fn(&R) -> f64);

/// `family_of` finds a sample's family among those the caller may write.
fn write_reports<R: ReportView>(
    enc: &mut Encoder,
    reports: &[(&str, &R)],
    family_of: impl Fn(&str) -> Option<Family>,
) {
    let run_level: [RunLevelSeries<R>; 3] = [
        (
            names::PROBE_SUCCESS,
            |r| if r.success() { 1.0 } else { 0.0 },
        ),
        (names::PROBE_DURATION_SECONDS, |r| {
            r.duration().as_secs_f64()
        }),
        (names::PROBE_TIMEOUT_SECONDS, |r| r.timeout().as_secs_f64()),
    ];
    if reports.is_empty() {
        return;
    }
    let mut values = Vec::with_capacity(BATCH);
    for (name, value) in run_level {
        let Some(family) = family_of(name) else {
            continue;
        };
        enc.start(&family);
        for batch in reports.chunks(BATCH) {
            // Each report read, then each prefix, for the batch (see warm.rs).
            values.clear();
            values.extend(batch.iter().map(|(_, r)| value(r)));
            warm::strings(batch.iter().map(|(p, _)| *p));
            for ((prefix, _), v) in batch.iter().zip(&values) {
                enc.sample_with_prefix(prefix, &[], *v);
            }
        }
    }
    // Families in order of first appearance; each is then written by a pass over
    // the reports, reading only that family's samples of each (see layout.rs).
    let layouts = Layouts::new(reports.iter().map(|(_, r)| *r));
    let mut labels: Vec<(&str, &str)> = Vec::new();
    let mut warm = Warm::default();
    for (f, name) in layouts.families().iter().enumerate() {
        // A prober's sample outside its declared families is a bug the contract
        // test catches; in a release build the family is left out rather than
        // sent without a type and help.
        let Some(family) = family_of(name) else {
            debug_assert!(false, "sample {name} belongs to no declared family");
            continue;
        };
        enc.start(&family);
        for (b, batch) in reports.chunks(BATCH).enumerate() {
            let first = b * BATCH;
            warm.samples(
                batch
                    .iter()
                    .enumerate()
                    .flat_map(|(j, (_, r))| layouts.samples(f, first + j).map(move |i| (*r, i))),
                batch.iter().map(|(p, _)| *p),
            );
            for (j, (prefix, r)) in batch.iter().enumerate() {
                for i in layouts.samples(f, first + j) {
                    labels.clear();
                    labels.extend(r.labels(i).iter().map(|(k, v)| (*k, v.as_ref())));
                    enc.sample_with_prefix(prefix, &labels, r.value(i));
                }
            }
        }
    }
}

/// The scheduled probes' results: the Blackbox series of each probe's latest
/// report and the run statistics only a scheduled probe has.
#[derive(Debug)]
pub struct ScheduledProbes {
    scheduler: Arc<Scheduler>,
    families: Vec<Family>,
}

impl ScheduledProbes {
    pub fn new(scheduler: Arc<Scheduler>) -> Self {
        ScheduledProbes {
            scheduler,
            families: names::probe_families(),
        }
    }
}

impl Source for ScheduledProbes {
    fn families(&self) -> &[Family] {
        &self.families
    }

    fn encode(&self, enc: &mut Encoder) {
        let probes = self.scheduler.probes();
        let own: Vec<_> = probes
            .iter()
            .map(|p| (p.label_prefix.as_str(), p.snapshot()))
            .collect();
        // A fan_out probe's addresses follow it, each as a probe of its own
        // under the probe's labels and `ip`.
        let mut snapshots: Vec<(&str, Arc<Snapshot>)> = Vec::with_capacity(own.len());
        for (prefix, snap) in &own {
            snapshots.push((prefix, snap.clone()));
            for a in &snap.addresses {
                snapshots.push((&a.label_prefix, a.snapshot.clone()));
            }
        }
        let reports: Vec<(&str, &StoredReport)> = snapshots
            .iter()
            .filter_map(|(prefix, snap)| snap.latest.as_ref().map(|r| (*prefix, r)))
            .collect();
        write_reports(enc, &reports, |name| {
            names::find(&self.families, name).copied()
        });
        write_run_counts(enc, &snapshots);
        write_run_durations(enc, &snapshots);
        write_packet_totals(enc, &snapshots);
    }
}

/// `probe_packets_sent_total`, `probe_packets_received_total` and the
/// `probe_packet_rtt_seconds` histogram of the probes that sent packet trains.
fn write_packet_totals(enc: &mut Encoder, snapshots: &[(&str, Arc<Snapshot>)]) {
    let trains: Vec<_> = snapshots
        .iter()
        .filter_map(|(prefix, s)| s.packets.as_ref().map(|p| (*prefix, p)))
        .collect();
    if trains.is_empty() {
        return;
    }
    enc.start_declared(names::PROBE_PACKETS_SENT_TOTAL);
    for (prefix, p) in &trains {
        enc.sample_with_prefix(prefix, &[], p.sent as f64);
    }
    enc.start_declared(names::PROBE_PACKETS_RECEIVED_TOTAL);
    for (prefix, p) in &trains {
        enc.sample_with_prefix(prefix, &[], p.received as f64);
    }
    enc.start_declared(names::PROBE_PACKET_RTT_SECONDS);
    for (prefix, p) in &trains {
        let h = &p.rtts;
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

/// `probe_run_duration_seconds`, a histogram per probe.
fn write_run_durations(enc: &mut Encoder, snapshots: &[(&str, Arc<Snapshot>)]) {
    enc.start_declared(names::PROBE_RUN_DURATION_SECONDS);
    let mut histograms = Vec::with_capacity(BATCH);
    for batch in snapshots.chunks(BATCH) {
        // Each snapshot read, then its bounds, counts and prefix (see warm.rs).
        histograms.clear();
        histograms.extend(batch.iter().map(|(_, s)| &s.run_durations));
        let mut seen = 0u64;
        for h in &histograms {
            seen ^= h.bounds().first().map_or(0, |b| b.to_bits());
            seen ^= h.cumulative_counts().first().copied().unwrap_or(0);
        }
        std::hint::black_box(seen);
        warm::strings(batch.iter().map(|(p, _)| *p));
        for ((prefix, _), h) in batch.iter().zip(&histograms) {
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
}

/// `probe_runs_total` (`success` and `failure`, always both) and
/// `probe_failures_total` (the reasons seen, or pre-created, so far).
fn write_run_counts(enc: &mut Encoder, snapshots: &[(&str, Arc<Snapshot>)]) {
    enc.start_declared(names::PROBE_RUNS_TOTAL);
    let mut counts = Vec::with_capacity(BATCH);
    for batch in snapshots.chunks(BATCH) {
        // Each snapshot read, then each prefix, for the batch (see warm.rs).
        counts.clear();
        counts.extend(
            batch
                .iter()
                .map(|(_, s)| (s.runs.successes, s.runs.failures)),
        );
        warm::strings(batch.iter().map(|(p, _)| *p));
        for ((prefix, _), (successes, failures)) in batch.iter().zip(&counts) {
            enc.sample_with_prefix(prefix, &[("outcome", "success")], *successes as f64);
            enc.sample_with_prefix(prefix, &[("outcome", "failure")], *failures as f64);
        }
    }
    // Until some probe has failed (or pre-creates its reasons) the family has no
    // sample; its header alone would only add bytes.
    if snapshots
        .iter()
        .all(|(_, snap)| snap.runs.by_reason.is_empty())
    {
        return;
    }
    enc.start_declared(names::PROBE_FAILURES_TOTAL);
    for (prefix, snap) in snapshots {
        for (reason, n) in &snap.runs.by_reason {
            enc.sample_with_prefix(prefix, &[("reason", reason)], *n as f64);
        }
    }
}
