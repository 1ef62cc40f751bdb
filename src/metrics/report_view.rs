//! What the encoder reads of a report, whether a run's own ([`ProbeReport`],
//! `/probe`) or the store's ([`StoredReport`], `/metrics`): the run-level values
//! and its samples by position.

use std::time::Duration;

use crate::probe::{LabelValue, ProbeReport};
use crate::results::StoredReport;

pub(super) trait ReportView {
    fn success(&self) -> bool;
    fn duration(&self) -> Duration;
    fn timeout(&self) -> Duration;
    /// How many samples.
    fn len(&self) -> usize;
    fn name(&self, i: usize) -> &'static str;
    fn labels(&self, i: usize) -> &[(&'static str, LabelValue)];
    fn value(&self, i: usize) -> f64;
    /// Reports with the same key have the same sample names in the same order
    /// (stored reports of one shared shape); `None`: compare the names.
    fn shape_key(&self) -> Option<usize>;
}

impl ReportView for ProbeReport {
    fn success(&self) -> bool {
        self.success
    }
    fn duration(&self) -> Duration {
        self.duration
    }
    fn timeout(&self) -> Duration {
        self.timeout
    }
    fn len(&self) -> usize {
        self.samples.len()
    }
    fn name(&self, i: usize) -> &'static str {
        self.samples.get(i).map_or("", |s| s.name)
    }
    fn labels(&self, i: usize) -> &[(&'static str, LabelValue)] {
        self.samples.get(i).map_or(&[], |s| &s.labels)
    }
    fn value(&self, i: usize) -> f64 {
        self.samples.get(i).map_or(f64::NAN, |s| s.value)
    }
    fn shape_key(&self) -> Option<usize> {
        None
    }
}

impl ReportView for StoredReport {
    fn success(&self) -> bool {
        self.success
    }
    fn duration(&self) -> Duration {
        self.duration
    }
    fn timeout(&self) -> Duration {
        self.timeout
    }
    fn len(&self) -> usize {
        self.shape().len()
    }
    fn name(&self, i: usize) -> &'static str {
        self.shape().names().get(i).copied().unwrap_or("")
    }
    fn labels(&self, i: usize) -> &[(&'static str, LabelValue)] {
        self.shape().labels(i)
    }
    fn value(&self, i: usize) -> f64 {
        self.value_at(i)
    }
    fn shape_key(&self) -> Option<usize> {
        // The address identifies the shape while this report holds it.
        Some(std::sync::Arc::as_ptr(self.shape()) as usize)
    }
}
