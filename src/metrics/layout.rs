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

use crate::probe::ProbeReport;

/// More distinct layouts than this and later new ones are scanned by name per
/// family, as before: bounded work matching a report against the known layouts.
const MAX_LAYOUTS: usize = 32;

/// The sample families of a set of reports and, per report, where each
/// family's samples are.
#[derive(Debug)]
pub(super) struct Layouts {
    /// Sample names in order of first appearance over the reports.
    order: Vec<&'static str>,
    /// Per layout: its names, and per family of `order`, its sample positions.
    layouts: Vec<(Vec<&'static str>, Vec<Vec<u32>>)>,
    /// Per report, its layout's index; `None` beyond [`MAX_LAYOUTS`].
    of_report: Vec<Option<u32>>,
}

impl Layouts {
    pub(super) fn new<'r>(reports: impl Iterator<Item = &'r ProbeReport>) -> Self {
        let mut order: Vec<&'static str> = Vec::new();
        let mut layouts: Vec<(Vec<&'static str>, Vec<Vec<u32>>)> = Vec::new();
        let mut of_report = Vec::new();
        let mut last: Option<u32> = None;
        for report in reports {
            let found = last
                .filter(|&l| same_names(&layouts[l as usize].0, report))
                .or_else(|| {
                    (0..layouts.len() as u32).find(|&l| same_names(&layouts[l as usize].0, report))
                });
            let layout = match found {
                Some(l) => Some(l),
                None => {
                    // A layout not seen yet: its names may bring families in.
                    for sample in &report.samples {
                        if !order.iter().any(|n| same_name(n, sample.name)) {
                            order.push(sample.name);
                        }
                    }
                    (layouts.len() < MAX_LAYOUTS).then(|| {
                        let names = report.samples.iter().map(|s| s.name).collect();
                        layouts.push((names, Vec::new()));
                        layouts.len() as u32 - 1
                    })
                }
            };
            last = layout.or(last);
            of_report.push(layout);
        }
        for (names, positions) in &mut layouts {
            *positions = order
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

    /// Calls `each` with every sample of family number `family` (of
    /// [`Layouts::families`]) in report number `index`, in recorded order.
    pub(super) fn for_each_sample<'r>(
        &self,
        family: usize,
        index: usize,
        report: &'r ProbeReport,
        mut each: impl FnMut(&'r crate::probe::Sample),
    ) {
        match self.of_report.get(index).copied().flatten() {
            Some(l) => {
                for &i in &self.layouts[l as usize].1[family] {
                    if let Some(sample) = report.samples.get(i as usize) {
                        each(sample);
                    }
                }
            }
            None => {
                let name = self.order[family];
                for sample in report.samples.iter().filter(|s| same_name(s.name, name)) {
                    each(sample);
                }
            }
        }
    }
}

/// Whether `report`'s samples carry exactly `names`, in order.
fn same_names(names: &[&'static str], report: &ProbeReport) -> bool {
    names.len() == report.samples.len()
        && names
            .iter()
            .zip(&report.samples)
            .all(|(n, s)| same_name(n, s.name))
}

/// Sample names are static strings, nearly always the very same constant: the
/// address comparison settles most of them without reading the bytes.
fn same_name(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}
