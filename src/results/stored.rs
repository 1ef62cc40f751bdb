//! The latest report of a scheduled probe as the store keeps it until the next
//! run: the run's outcome and its sample *values*, with the sample names and
//! labels in a [`Shape`] shared by every report that has the same ones.
//!
//! A run's [`ProbeReport`] carries each sample whole (name, label vector, value:
//! 48 bytes, plus an allocation per labelled sample). Kept as it is for every
//! probe, that was most of the memory a probe holds between runs, and each round
//! freed and allocated it all again, scattering the heap. Reports of one module
//! nearly always record the same series with the same labels, so the store keeps
//! those once, interned, and per probe only the values: one slice, overwritten in
//! place when the next run has the same shape, so a steady probe allocates
//! nothing to store its runs.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use crate::probe::report::labels_are;
use crate::probe::{LabelValue, ProbeFailure, ProbeReport, Sample};

/// One sample's labels, as a shape keeps them.
type Labels = Box<[(&'static str, LabelValue)]>;

/// The names and labels of a report's samples, in recorded order.
#[derive(Debug, PartialEq)]
pub struct Shape {
    names: Box<[&'static str]>,
    /// Per sample; a label-less sample's slice is empty and allocates nothing.
    labels: Box<[Labels]>,
}

impl Shape {
    fn of(samples: &[Sample]) -> Shape {
        Shape {
            names: samples.iter().map(|s| s.name).collect(),
            labels: samples
                .iter()
                .map(|s| s.labels.clone().into_boxed_slice())
                .collect(),
        }
    }

    /// Whether `samples` have exactly these names and labels, in this order.
    fn matches(&self, samples: &[Sample]) -> bool {
        self.names.len() == samples.len()
            && self
                .names
                .iter()
                .zip(&self.labels)
                .zip(samples)
                .all(|((name, labels), s)| same_name(name, s.name) && **labels == *s.labels)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn names(&self) -> &[&'static str] {
        &self.names
    }

    pub fn labels(&self, i: usize) -> &[(&'static str, LabelValue)] {
        self.labels.get(i).map_or(&[], |l| l)
    }
}

/// Sample names are static strings, nearly always the very same constant: the
/// address comparison settles most of them without reading the bytes.
pub fn same_name(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// A report as stored: [`ProbeReport`] without the trace (scheduled runs keep
/// none) and the packet train (counted into the probe's totals), its samples
/// as a shared [`Shape`] and this run's values.
#[derive(Debug, Clone)]
pub struct StoredReport {
    pub success: bool,
    /// Boxed: 8 bytes in every probe's snapshot rather than 32, for what only
    /// failing runs have.
    pub failure: Option<Box<ProbeFailure>>,
    /// Wall time of the run (`probe_duration_seconds`).
    pub duration: Duration,
    /// The effective timeout (`probe_timeout_seconds`).
    pub timeout: Duration,
    shape: Arc<Shape>,
    /// One per sample of the shape, in its order.
    values: Box<[f64]>,
}

impl StoredReport {
    /// Makes `report` the one in `slot`. When the report in there has the same
    /// shape, its values are overwritten in place: no allocation.
    pub fn store(slot: &mut Option<StoredReport>, report: ProbeReport) {
        let ProbeReport {
            success,
            failure,
            duration,
            timeout,
            samples,
            ..
        } = report;
        match slot {
            Some(stored) if stored.shape.matches(&samples) => {
                for (v, s) in stored.values.iter_mut().zip(&samples) {
                    *v = s.value;
                }
                stored.success = success;
                match (&mut stored.failure, failure) {
                    (Some(kept), Some(f)) => **kept = f,
                    (kept, f) => *kept = f.map(Box::new),
                }
                stored.duration = duration;
                stored.timeout = timeout;
            }
            _ => {
                *slot = Some(StoredReport {
                    success,
                    failure: failure.map(Box::new),
                    duration,
                    timeout,
                    values: samples.iter().map(|s| s.value).collect(),
                    shape: intern(&samples),
                });
            }
        }
    }

    /// The `outcome` label: `success` or the failure reason.
    pub fn outcome(&self) -> &'static str {
        self.failure
            .as_ref()
            .map_or("success", |f| f.reason.as_label())
    }

    pub fn shape(&self) -> &Arc<Shape> {
        &self.shape
    }

    /// The value of sample number `i`.
    pub fn value_at(&self, i: usize) -> f64 {
        self.values.get(i).copied().unwrap_or(f64::NAN)
    }

    /// The value of the first sample named `name` with exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        (0..self.shape.len())
            .find(|&i| {
                same_name(self.shape.names[i], name) && labels_are(self.shape.labels(i), labels)
            })
            .map(|i| self.value_at(i))
    }

    /// The samples, whole again (tests, and readers that want [`Sample`]s).
    pub fn samples(&self) -> Vec<Sample> {
        (0..self.shape.len())
            .map(|i| Sample {
                name: self.shape.names[i],
                labels: self.shape.labels(i).to_vec(),
                value: self.value_at(i),
            })
            .collect()
    }
}

/// Every shape in use, to share: found by the hash of its names and labels.
/// Entries are weak, so a shape goes when its last report does; the dead ones
/// are swept when the table has doubled since the last sweep.
struct Interner {
    by_hash: HashMap<u64, Vec<Weak<Shape>>>,
    entries: usize,
    sweep_at: usize,
}

static SHAPES: Mutex<Option<Interner>> = Mutex::new(None);

/// Shapes kept before the first sweep.
const FIRST_SWEEP: usize = 64;

/// The shared shape of `samples`: one already in use, or a new one.
fn intern(samples: &[Sample]) -> Arc<Shape> {
    let hash = hash_of(samples);
    let mut table = SHAPES.lock().unwrap_or_else(PoisonError::into_inner);
    let table = table.get_or_insert_with(|| Interner {
        by_hash: HashMap::new(),
        entries: 0,
        sweep_at: FIRST_SWEEP,
    });
    let bucket = table.by_hash.entry(hash).or_default();
    if let Some(found) = bucket
        .iter()
        .filter_map(Weak::upgrade)
        .find(|s| s.matches(samples))
    {
        return found;
    }
    let shape = Arc::new(Shape::of(samples));
    bucket.retain(|w| w.strong_count() > 0);
    bucket.push(Arc::downgrade(&shape));
    table.entries += 1;
    if table.entries >= table.sweep_at {
        table.by_hash.retain(|_, bucket| {
            bucket.retain(|w| w.strong_count() > 0);
            !bucket.is_empty()
        });
        table.entries = table.by_hash.values().map(Vec::len).sum();
        table.sweep_at = (table.entries * 2).max(FIRST_SWEEP);
    }
    shape
}

/// Live shapes in the table (tests).
#[cfg(test)]
fn live_shapes() -> usize {
    let table = SHAPES.lock().unwrap_or_else(PoisonError::into_inner);
    table.as_ref().map_or(0, |t| {
        t.by_hash
            .values()
            .flatten()
            .filter(|w| w.strong_count() > 0)
            .count()
    })
}

fn hash_of(samples: &[Sample]) -> u64 {
    let mut h = DefaultHasher::new();
    for s in samples {
        s.name.hash(&mut h);
        s.labels.hash(&mut h);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::FailureReason;
    use std::time::UNIX_EPOCH;

    fn report(samples: Vec<Sample>, failure: Option<FailureReason>) -> ProbeReport {
        ProbeReport {
            success: failure.is_none(),
            failure: failure.map(|r| ProbeFailure::new(r, "broken")),
            duration: Duration::from_millis(3),
            timeout: Duration::from_secs(5),
            started_at: UNIX_EPOCH,
            samples,
            trace: vec![],
            packets: None,
        }
    }

    fn stored(slot: &Option<StoredReport>) -> &StoredReport {
        match slot {
            Some(s) => s,
            None => panic!("nothing stored"),
        }
    }

    fn phases(connect: f64, cipher: &str) -> Vec<Sample> {
        vec![
            Sample {
                name: "probe_http_duration_seconds",
                labels: vec![("phase", "connect".into())],
                value: connect,
            },
            Sample {
                name: "probe_http_status_code",
                labels: vec![],
                value: 200.0,
            },
            Sample {
                name: "probe_tls_cipher_info",
                labels: vec![("cipher", cipher.to_owned().into())],
                value: 1.0,
            },
        ]
    }

    #[test]
    fn keeps_every_sample_and_the_outcome() {
        let mut slot = None;
        StoredReport::store(&mut slot, report(phases(0.25, "AES"), None));
        let stored = stored(&slot);
        assert_eq!(stored.samples(), phases(0.25, "AES"));
        assert_eq!(stored.outcome(), "success");
        assert_eq!(
            stored.value("probe_http_duration_seconds", &[("phase", "connect")]),
            Some(0.25)
        );
        assert_eq!(stored.value("probe_http_duration_seconds", &[]), None);
        assert_eq!(stored.value("probe_http_status_code", &[]), Some(200.0));
        assert_eq!(stored.duration, Duration::from_millis(3));
    }

    #[test]
    fn a_run_of_the_same_shape_overwrites_the_values_in_place() {
        let mut slot = None;
        StoredReport::store(&mut slot, report(phases(0.25, "AES"), None));
        let (shape, values) = {
            let s = stored(&slot);
            (Arc::as_ptr(&s.shape), s.values.as_ptr())
        };
        StoredReport::store(
            &mut slot,
            report(phases(0.5, "AES"), Some(FailureReason::HttpStatus)),
        );
        let s = stored(&slot);
        assert_eq!(Arc::as_ptr(&s.shape), shape);
        assert_eq!(
            s.values.as_ptr(),
            values,
            "no new allocation for the values"
        );
        assert_eq!(s.samples(), phases(0.5, "AES"));
        assert_eq!(s.outcome(), "http_status");
        assert!(!s.success);
        StoredReport::store(
            &mut slot,
            report(phases(0.5, "AES"), Some(FailureReason::Timeout)),
        );
        assert_eq!(stored(&slot).outcome(), "timeout");
        StoredReport::store(&mut slot, report(phases(0.5, "AES"), None));
        assert_eq!(stored(&slot).outcome(), "success");
        assert!(stored(&slot).failure.is_none());
    }

    #[test]
    fn reports_with_the_same_names_and_labels_share_one_shape() {
        let (mut a, mut b, mut c) = (None, None, None);
        StoredReport::store(&mut a, report(phases(0.1, "shared-cipher"), None));
        StoredReport::store(&mut b, report(phases(0.2, "shared-cipher"), None));
        StoredReport::store(&mut c, report(phases(0.3, "other-cipher"), None));
        let shape = |s: &Option<StoredReport>| Arc::as_ptr(&stored(s).shape);
        assert_eq!(shape(&a), shape(&b));
        assert_ne!(shape(&a), shape(&c));
        assert_eq!(b.as_ref().map(|s| s.value_at(0)), Some(0.2));
        // A label value differing is another shape, its own values kept.
        assert_eq!(
            c.as_ref().map(|s| s.samples()),
            Some(phases(0.3, "other-cipher"))
        );
        // A changed shape replaces the probe's; the old one goes with its last report.
        StoredReport::store(&mut b, report(phases(0.2, "other-cipher"), None));
        assert_eq!(shape(&b), shape(&c));
    }

    #[test]
    fn the_table_forgets_shapes_no_report_uses() {
        let cipher = |i: usize| format!("sweep-test-{i}");
        for i in 0..FIRST_SWEEP * 4 {
            let mut slot = None;
            StoredReport::store(&mut slot, report(phases(0.1, &cipher(i)), None));
        }
        let kept: Vec<Option<StoredReport>> = (0..3)
            .map(|i| {
                let mut slot = None;
                StoredReport::store(&mut slot, report(phases(0.1, &cipher(i)), None));
                slot
            })
            .collect();
        // Other tests intern shapes at the same time: bound, not exact.
        assert!(live_shapes() >= kept.len());
        let table = SHAPES.lock().unwrap_or_else(PoisonError::into_inner);
        let entries = table.as_ref().map_or(0, |t| t.entries);
        assert!(
            entries < FIRST_SWEEP * 2,
            "{entries} entries after {} shapes came and went",
            FIRST_SWEEP * 4
        );
    }
}
