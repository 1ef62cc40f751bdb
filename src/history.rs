//! The recent runs of one scheduled probe, for the status page: a ring of the last
//! `[server] status_history` runs (start, duration, outcome) and since when the
//! probe has been in its current state (up or down).
//!
//! The scheduler records into it after every run, under the results store's lock,
//! so recording is O(1) and allocates nothing once the ring has been made: the
//! buffer is allocated at its full size up front and overwritten in place. A run
//! is kept in 9 bytes ([`Packed`]): at 100,000 probes and the default 60 runs,
//! 54 MB rather than the 72 MB of a 12-byte [`Run`].

use crate::probe::FailureReason;

/// One run: the status page needs when, how long and how it ended, not the
/// report (the latest report is kept apart).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Run {
    /// Start, Unix seconds (whole seconds are what the page shows; `u32` lasts
    /// until 2106).
    pub started: u32,
    /// Wall time of the run, seconds, to the microsecond (kept as whole
    /// microseconds, up to 71 minutes).
    pub duration: f32,
    /// `None`: success.
    pub failure: Option<FailureReason>,
}

impl Run {
    pub fn success(&self) -> bool {
        self.failure.is_none()
    }

    /// `success` or the failure reason's label, as `/metrics` spells outcomes.
    pub fn outcome(&self) -> &'static str {
        self.failure.map_or("success", FailureReason::as_label)
    }
}

/// A [`Run`] as the ring keeps it, with no padding: start (Unix seconds, 4
/// bytes), duration (whole microseconds, 4 bytes, saturating), outcome (0 for
/// success, else 1 + the reason's place in [`FailureReason::ALL`]).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Packed([u8; 9]);

impl Packed {
    fn pack(run: Run) -> Packed {
        let micros = (f64::from(run.duration) * 1e6).round();
        // Saturating: NaN and negatives as 0, past 71 minutes as the bound.
        let micros = micros.clamp(0.0, f64::from(u32::MAX)) as u32;
        let outcome = run.failure.map_or(0, |f| {
            let at = FailureReason::ALL.iter().position(|r| *r == f);
            at.map_or(0, |i| i as u8 + 1)
        });
        let mut b = [0; 9];
        b[..4].copy_from_slice(&run.started.to_le_bytes());
        b[4..8].copy_from_slice(&micros.to_le_bytes());
        b[8] = outcome;
        Packed(b)
    }

    fn unpack(self) -> Run {
        let [s0, s1, s2, s3, d0, d1, d2, d3, outcome] = self.0;
        let micros = u32::from_le_bytes([d0, d1, d2, d3]);
        Run {
            started: u32::from_le_bytes([s0, s1, s2, s3]),
            duration: (f64::from(micros) / 1e6) as f32,
            failure: usize::from(outcome)
                .checked_sub(1)
                .and_then(|i| FailureReason::ALL.get(i).copied()),
        }
    }

    fn success(self) -> bool {
        self.0[8] == 0
    }
}

/// The ring. Its buffer has exactly `limit` slots once full, and never moves.
#[derive(Debug, Clone)]
pub struct History {
    runs: Vec<Packed>,
    /// How many runs are kept (`[server] status_history`, at most 1000).
    limit: u16,
    /// Where the next run goes once the ring is full: the oldest run's slot.
    next: u16,
    /// Start of the first run of the current up or down streak, Unix seconds; 0
    /// before the first run.
    since: u32,
}

impl History {
    /// An empty ring of `limit` runs (at least 1, at most `u16::MAX`), its
    /// buffer allocated now so that recording never allocates.
    pub fn new(limit: usize) -> Self {
        let limit = limit.clamp(1, usize::from(u16::MAX));
        History {
            runs: Vec::with_capacity(limit),
            limit: limit as u16,
            next: 0,
            since: 0,
        }
    }

    /// Adds a run, dropping the oldest when full. O(1), no allocation.
    pub fn record(&mut self, run: Run) {
        let streak_ends = self
            .latest_packed()
            .is_none_or(|l| l.success() != run.success());
        if streak_ends {
            self.since = run.started;
        }
        let run = Packed::pack(run);
        if self.runs.len() < usize::from(self.limit) {
            self.runs.push(run);
        } else {
            self.runs[usize::from(self.next)] = run;
            self.next = (self.next + 1) % self.limit;
        }
    }

    /// The runs kept, oldest first.
    pub fn runs(&self) -> impl Iterator<Item = Run> + '_ {
        let (newer, older) = self.runs.split_at(usize::from(self.next));
        older.iter().chain(newer).map(|p| p.unpack())
    }

    /// The latest run.
    pub fn latest(&self) -> Option<Run> {
        self.latest_packed().map(Packed::unpack)
    }

    fn latest_packed(&self) -> Option<Packed> {
        match self.next {
            0 => self.runs.last().copied(),
            n => self.runs.get(usize::from(n) - 1).copied(),
        }
    }

    /// Start of the current streak of successes or failures, Unix seconds. It
    /// may be older than every run kept: the streak is counted from every run.
    pub fn since(&self) -> Option<u32> {
        self.latest().map(|_| self.since)
    }

    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    pub fn limit(&self) -> usize {
        usize::from(self.limit)
    }

    /// Keeps the newest `limit` runs in a ring of that size (a reload changed
    /// `status_history`). Allocates once, on a change only.
    pub fn resize(&mut self, limit: usize) {
        if limit.clamp(1, usize::from(u16::MAX)) == self.limit() {
            return;
        }
        let mut resized = History::new(limit);
        let skip = self.len().saturating_sub(resized.limit());
        let (newer, older) = self.runs.split_at(usize::from(self.next));
        resized
            .runs
            .extend(older.iter().chain(newer).skip(skip).copied());
        resized.since = self.since;
        *self = resized;
    }

    /// Bytes one probe's ring takes at `limit` runs: the struct (inside the
    /// probe's state) and its buffer. The allocator's own rounding comes on top.
    pub const fn bytes_for(limit: usize) -> usize {
        std::mem::size_of::<History>() + limit * std::mem::size_of::<Packed>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(started: u32, failure: Option<FailureReason>) -> Run {
        Run {
            started,
            duration: started as f32 / 1000.0,
            failure,
        }
    }

    fn starts(h: &History) -> Vec<u32> {
        h.runs().map(|r| r.started).collect()
    }

    #[test]
    fn keeps_the_newest_runs_oldest_first() {
        let mut h = History::new(3);
        assert_eq!(h.latest(), None);
        assert_eq!(h.since(), None);
        for t in 1..=2 {
            h.record(run(t, None));
        }
        assert_eq!(starts(&h), [1, 2]);
        for t in 3..=7 {
            h.record(run(t, None));
        }
        assert_eq!(starts(&h), [5, 6, 7]);
        assert_eq!(h.latest().map(|r| r.started), Some(7));
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn recording_into_a_full_ring_never_reallocates() {
        let mut h = History::new(60);
        let buffer = h.runs.as_ptr();
        assert!(h.runs.capacity() >= 60);
        for t in 0..10_000 {
            h.record(run(t, None));
        }
        assert_eq!(h.runs.as_ptr(), buffer, "the buffer moved");
        assert_eq!(h.runs.capacity(), 60);
        assert_eq!(starts(&h), (9_940..10_000).collect::<Vec<_>>());
    }

    #[test]
    fn since_is_the_start_of_the_current_streak_even_past_the_ring() {
        let mut h = History::new(2);
        h.record(run(10, None));
        assert_eq!(h.since(), Some(10));
        h.record(run(20, Some(FailureReason::Connect)));
        // Another reason is still down: the streak goes on.
        h.record(run(30, Some(FailureReason::Timeout)));
        h.record(run(40, Some(FailureReason::Connect)));
        assert_eq!(starts(&h), [30, 40]);
        assert_eq!(h.since(), Some(20), "down since the first failure");
        h.record(run(50, None));
        assert_eq!(h.since(), Some(50));
    }

    #[test]
    fn resize_keeps_the_newest_runs_and_the_streak() {
        let mut h = History::new(4);
        for t in 1..=6 {
            h.record(run(t, Some(FailureReason::Tls)));
        }
        h.resize(2);
        assert_eq!(starts(&h), [5, 6]);
        assert_eq!(h.since(), Some(1));
        h.resize(5);
        assert_eq!(starts(&h), [5, 6]);
        h.record(run(7, None));
        assert_eq!(starts(&h), [5, 6, 7]);
        assert_eq!(h.limit(), 5);
    }

    #[test]
    fn outcomes_are_the_metrics_labels() {
        assert_eq!(run(1, None).outcome(), "success");
        assert_eq!(
            run(1, Some(FailureReason::HttpStatus)).outcome(),
            "http_status"
        );
    }

    #[test]
    fn a_packed_run_reads_back_as_recorded() {
        let failures = FailureReason::ALL.iter().copied().map(Some);
        for (i, failure) in std::iter::once(None).chain(failures).enumerate() {
            let run = Run {
                started: 1_700_000_000 + i as u32,
                duration: 0.025,
                failure,
            };
            assert_eq!(Packed::pack(run).unpack(), run);
            assert_eq!(Packed::pack(run).success(), failure.is_none());
        }
        let read = |duration: f32| {
            Packed::pack(Run {
                started: 0,
                duration,
                failure: None,
            })
            .unpack()
            .duration
        };
        // To the microsecond; what cannot be kept, at its bound.
        assert_eq!(read(0.000_123_4), 0.000_123);
        assert_eq!(read(12.345_678), 12.345_678);
        assert_eq!(read(-1.0), 0.0);
        assert_eq!(read(f32::NAN), 0.0);
        assert_eq!(read(1e9), (f64::from(u32::MAX) / 1e6) as f32);
    }

    /// The figure docs/configuration.md gives (`status_history`): 9 bytes a run,
    /// 32 for the ring itself; 572 bytes a probe at the default 60 runs.
    #[test]
    fn memory_per_probe() {
        assert_eq!(std::mem::size_of::<Packed>(), 9);
        assert_eq!(std::mem::size_of::<History>(), 32);
        assert_eq!(History::bytes_for(60), 572);
        assert_eq!(History::bytes_for(1000), 9_032);
        // What a ring really holds: its struct and the buffer it allocated.
        let mut h = History::new(60);
        for t in 0..500 {
            h.record(run(t, None));
        }
        let held = std::mem::size_of_val(&h) + h.runs.capacity() * std::mem::size_of::<Packed>();
        assert_eq!(held, History::bytes_for(60));
    }
}
