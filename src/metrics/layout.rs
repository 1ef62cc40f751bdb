//! Which samples of each report belong to which family, worked out once per
//! distinct report *layout* (the names of its samples, in order) rather than once
//! per report and family.
//!
//! A page is written family by family, so each family needs, from every report,
//! the samples of that family. Scanning every report's samples for every family
//! reads each sample as many times as there are families (about 20 for http):
//! at 100,000 probes that was most of a scrape, and mostly cache misses. Reports
//! of one prober and module nearly always record the same names in the same
//! order, so the reports share a handful of layouts; each layout knows, per
//! family, the positions of that family's samples.

use super::report_view::ReportView;
use crate::results::same_name;

/// More distinct layouts than this and later new ones are scanned by name per
/// family, as before: bounded work matching a report against the known layouts.
const MAX_LAYOUTS: usize = 32;

/// One layout: its names, the shape key of the report that made it (stored
/// reports of the same shape match it without comparing names), and per family
/// of [`Layouts::families`] its sample positions.
#[derive(Debug)]
struct Layout {
    names: Vec<&'static str>,
    key: Option<usize>,
    positions: Vec<Vec<u32>>,
}

impl Layout {
    fn fits<R: ReportView>(&self, report: &R) -> bool {
        (self.key.is_some() && self.key == report.shape_key())
            || (self.names.len() == report.len()
                && self
                    .names
                    .iter()
                    .enumerate()
                    .all(|(i, n)| same_name(n, report.name(i))))
    }
}

/// The sample families of a set of reports and, per report, where each
/// family's samples are.
#[derive(Debug)]
pub(super) struct Layouts<'r, R> {
    /// Sample names in order of first appearance over the reports.
    order: Vec<&'static str>,
    layouts: Vec<Layout>,
    /// Per report, the report and its layout's index (`None` beyond
    /// [`MAX_LAYOUTS`]): read in order, where going through each report for
    /// its layout would be a cache miss per report and family.
    of_report: Vec<(&'r R, Option<u32>)>,
}

impl<'r, R: ReportView> Layouts<'r, R> {
    pub(super) fn new(reports: impl Iterator<Item = &'r R>) -> Self {
        let mut order: Vec<&'static str> = Vec::new();
        let mut layouts: Vec<Layout> = Vec::new();
        let mut of_report = Vec::new();
        let mut last: Option<u32> = None;
        for report in reports {
            let found = last
                .filter(|&l| layouts[l as usize].fits(report))
                .or_else(|| (0..layouts.len() as u32).find(|&l| layouts[l as usize].fits(report)));
            let layout = match found {
                Some(l) => Some(l),
                None => {
                    // A layout not seen yet: its names may bring families in.
                    for i in 0..report.len() {
                        let name = report.name(i);
                        if !order.iter().any(|n| same_name(n, name)) {
                            order.push(name);
                        }
                    }
                    (layouts.len() < MAX_LAYOUTS).then(|| {
                        layouts.push(Layout {
                            names: (0..report.len()).map(|i| report.name(i)).collect(),
                            key: report.shape_key(),
                            positions: Vec::new(),
                        });
                        layouts.len() as u32 - 1
                    })
                }
            };
            last = layout.or(last);
            of_report.push((report, layout));
        }
        for layout in &mut layouts {
            let names = &layout.names;
            layout.positions = order
                .iter()
                .map(|family| {
                    (0..names.len() as u32)
                        .filter(|&i| same_name(names[i as usize], family))
                        .collect()
                })
                .collect();
        }
        Layouts {
            order,
            layouts,
            of_report,
        }
    }

    /// The families, in order of first appearance.
    pub(super) fn families(&self) -> &[&'static str] {
        &self.order
    }

    /// The positions of the samples of family number `family` (of
    /// [`Layouts::families`]) in report number `index`, in recorded order.
    pub(super) fn samples(
        &self,
        family: usize,
        index: usize,
    ) -> impl Iterator<Item = usize> + use<'_, 'r, R> {
        // A report of a known layout reads only its own positions; one beyond
        // the layouts kept is scanned by name (the range to scan is empty else).
        let (report, layout) = match self.of_report.get(index) {
            Some(&(r, l)) => (Some(r), l),
            None => (None, None),
        };
        let (positions, scanned): (&[u32], usize) = match (layout, report) {
            (Some(l), _) => (&self.layouts[l as usize].positions[family], 0),
            (None, Some(r)) => (&[], r.len()),
            (None, None) => (&[], 0),
        };
        let name = self.order[family];
        positions.iter().map(|&i| i as usize).chain(
            (0..scanned).filter(move |&i| report.is_some_and(|r| same_name(r.name(i), name))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{ProbeReport, Sample};
    use std::time::{Duration, UNIX_EPOCH};

    const NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

    /// A report whose sample names follow the bits of `shape`, one sample per
    /// set bit plus a second `a` when bit 6 is set (two samples of one family).
    fn report(shape: usize) -> ProbeReport {
        let mut samples: Vec<Sample> = NAMES
            .iter()
            .enumerate()
            .filter(|(i, _)| shape & (1 << i) != 0)
            .map(|(i, n)| Sample {
                name: n,
                labels: vec![],
                value: i as f64,
            })
            .collect();
        if shape & 64 != 0 {
            samples.push(Sample {
                name: "a",
                labels: vec![("x", "2".into())],
                value: 9.0,
            });
        }
        ProbeReport {
            success: true,
            failure: None,
            duration: Duration::ZERO,
            timeout: Duration::ZERO,
            started_at: UNIX_EPOCH,
            samples,
            trace: vec![],
            packets: None,
        }
    }

    /// More layouts than are kept: every report, kept layout or scanned, yields
    /// what a scan by name yields, and families come in order of first sight.
    #[test]
    fn layouts_pick_what_a_scan_by_name_picks() {
        let reports: Vec<ProbeReport> = (0..128).rev().chain(0..128).map(report).collect();
        let layouts = Layouts::new(reports.iter());
        assert_eq!(layouts.layouts.len(), MAX_LAYOUTS);
        let mut order: Vec<&str> = Vec::new();
        for r in &reports {
            for s in &r.samples {
                if !order.contains(&s.name) {
                    order.push(s.name);
                }
            }
        }
        assert_eq!(layouts.families(), order);
        for (f, name) in order.iter().enumerate() {
            for (i, r) in reports.iter().enumerate() {
                let picked: Vec<&Sample> = layouts.samples(f, i).map(|j| &r.samples[j]).collect();
                let scanned: Vec<&Sample> = r.samples.iter().filter(|s| s.name == *name).collect();
                assert_eq!(picked, scanned, "family {name}, report {i}");
            }
        }
    }

    /// Stored reports: those of one shape take its layout by the shape alone,
    /// those of another shape with the same names by their names, and each
    /// picks what a scan by name picks.
    #[test]
    fn stored_reports_find_their_layout_by_shape_or_names() {
        use crate::results::StoredReport;
        let store = |r: ProbeReport| {
            let mut slot = None;
            StoredReport::store(&mut slot, r);
            slot
        };
        let mut relabelled = report(64 | 1);
        relabelled.samples[1].labels = vec![("x", "3".into())];
        let twins: Vec<StoredReport> = [report(64 | 1), relabelled]
            .into_iter()
            .filter_map(store)
            .collect();
        assert!(!std::sync::Arc::ptr_eq(twins[0].shape(), twins[1].shape()));
        assert_eq!(Layouts::new(twins.iter()).layouts.len(), 1);

        let stored: Vec<StoredReport> = (0..128)
            .rev()
            .chain(0..128)
            .map(report)
            .filter_map(store)
            .collect();
        let layouts = Layouts::new(stored.iter());
        assert_eq!(layouts.layouts.len(), MAX_LAYOUTS);
        for (f, name) in layouts.families().iter().enumerate() {
            for (i, r) in stored.iter().enumerate() {
                let samples = r.samples();
                let picked: Vec<&Sample> = layouts.samples(f, i).map(|j| &samples[j]).collect();
                let scanned: Vec<&Sample> = samples.iter().filter(|s| s.name == *name).collect();
                assert_eq!(picked, scanned, "family {name}, report {i}");
            }
        }
    }
}
