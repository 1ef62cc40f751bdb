//! Loading, a batch of probes at a time, the memory a pass over the probes is
//! about to read, so that its cache misses overlap instead of following one
//! another.
//!
//! A page is written family by family, and each family visits every probe's
//! stored report: at 100,000 probes that is hundreds of MiB scattered over the
//! heap, read through a chain of pointers per sample (the report, its samples,
//! a sample's labels, a label's string, the probe's label prefix). Followed one
//! sample at a time, every link of every chain is a cache miss waited for in
//! turn: that, not the writing, was most of a scrape. Here each link is read for
//! a whole batch before the next link is, so the misses of a batch are in flight
//! together; writing the batch then finds its data in cache.

use super::report_view::ReportView;
use crate::probe::LabelValue;

/// Probes per batch: enough misses in flight to cover memory latency, little
/// enough that a batch's data stays in the first-level caches until written.
pub(super) const BATCH: usize = 32;

/// Scratch space for [`Warm::samples`], reused from batch to batch.
#[derive(Debug, Default)]
pub(super) struct Warm<'r> {
    labels: Vec<&'r [(&'static str, LabelValue)]>,
    values: Vec<&'r str>,
}

impl<'r> Warm<'r> {
    /// Reads the values and label slices of `samples` (a report and a
    /// sample's position), then the label strings and `prefixes`, each level
    /// for the whole batch before the next.
    pub(super) fn samples<R: ReportView + 'r>(
        &mut self,
        samples: impl Iterator<Item = (&'r R, usize)>,
        prefixes: impl Iterator<Item = &'r str>,
    ) {
        let Warm { labels, values } = self;
        let mut seen = 0u64;
        labels.clear();
        labels.extend(samples.map(|(r, i)| {
            seen ^= r.value(i).to_bits();
            r.labels(i)
        }));
        std::hint::black_box(seen);
        values.clear();
        values.extend(
            labels
                .iter()
                .flat_map(|l| l.iter().map(|(_, v)| v.as_ref())),
        );
        strings(values.iter().copied().chain(prefixes));
    }
}

/// Reads the first and last byte of each string.
pub(super) fn strings<'s>(strings: impl Iterator<Item = &'s str>) {
    let mut seen = 0u8;
    for s in strings {
        let b = s.as_bytes();
        seen ^= b.first().copied().unwrap_or(0) ^ b.last().copied().unwrap_or(0);
    }
    // Keeps the reads: their only purpose is to have been made.
    std::hint::black_box(seen);
}
