//! Packet trains (smokeping style): `packets = N` echoes per run, `packet_interval`
//! apart, each answered or lost on its own. Prober-agnostic: the settings and
//! their checks, the matching of replies to the echoes they answer (duplicates
//! and late replies counted, never taken for another echo's answer), the run's
//! statistics and the gauges they become. A prober that sends trains (icmp) owns
//! its sockets and packets; this module owns what a train means.
//!
//! With `packets = 1` (the default) nothing here is used: the prober runs as
//! Blackbox does and writes none of these series.

use std::time::{Duration, Instant};

use toml::Spanned;

use super::Recorder;
use crate::config::duration;
use crate::config::file::DurationText;
use crate::config::tree;
use crate::config::validate::Ctx;
use crate::config::values;
use crate::metrics::names;

/// The most `packets` a run may send.
pub const MAX_PACKETS: u32 = 100;
/// The default `packet_interval`.
pub const DEFAULT_PACKET_INTERVAL: Duration = Duration::from_secs(1);

/// Bounds of `probe_packet_rtt_seconds`: from 100 µs (loopback, a LAN) to 2.5 s.
pub const RTT_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// `packets` and `packet_interval` of a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketSettings {
    /// Echoes per run, 1 to [`MAX_PACKETS`].
    pub count: u32,
    /// Time between two echoes' sending.
    pub interval: Duration,
}

impl Default for PacketSettings {
    fn default() -> Self {
        PacketSettings {
            count: 1,
            interval: DEFAULT_PACKET_INTERVAL,
        }
    }
}

impl PacketSettings {
    /// Whether runs send a train (and write its series), rather than one echo.
    pub fn is_train(&self) -> bool {
        self.count > 1
    }
}

const PACKETS_HINT: &str =
    "packets (icmp echoes, tcp connects) per run, 1 (one, as Blackbox) to 100; default 1";

/// Checks `packets` and `packet_interval` (under `path`) against the module's
/// timeout (10 s when the module sets none): all echoes must leave within it,
/// so `packet_interval` × `packets` ≤ timeout. `None` after an error.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    packets: Option<&Spanned<i64>>,
    interval: Option<&Spanned<DurationText>>,
) -> Option<PacketSettings> {
    let before = ctx.error_count();
    let mut settings = PacketSettings::default();
    if let Some(n) = packets {
        let v = *n.get_ref();
        match u32::try_from(v) {
            Ok(c) if (1..=MAX_PACKETS).contains(&c) => settings.count = c,
            _ => ctx.error_hint(
                n.span(),
                &tree::key(path, "packets"),
                format!("{v} is out of range: packets must be 1 to {MAX_PACKETS}"),
                PACKETS_HINT,
            ),
        }
    }
    if let Some(text) = interval {
        let key = tree::key(path, "packet_interval");
        // Durations are whole milliseconds: greater than zero is at least 1ms.
        if let Some(d) = values::duration(ctx, &key, text, true) {
            settings.interval = d;
        }
    }
    if ctx.error_count() > before {
        return None;
    }
    let timeout = ctx.module_timeout();
    let train = settings.interval.saturating_mul(settings.count);
    if settings.is_train() && train > timeout {
        let (span, key) = match (interval, packets) {
            (Some(i), _) => (i.span(), tree::key(path, "packet_interval")),
            (None, Some(n)) => (n.span(), tree::key(path, "packets")),
            (None, None) => (ctx.anchor(), path.to_string()),
        };
        let most = timeout / settings.count;
        ctx.error_hint(
            span,
            &key,
            format!(
                "{} packets {} apart take {}, more than the module's timeout {}",
                settings.count,
                duration::format(settings.interval),
                duration::format(train),
                duration::format(timeout)
            ),
            format!(
                "every packet (echo, connect) must leave within the timeout: packet_interval at most \
                 timeout / packets ({} here), fewer packets, or a longer timeout",
                duration::format(most)
            ),
        );
        return None;
    }
    Some(settings)
}

/// What one run's train saw: kept in its report for the counters and the RTT
/// histogram that span runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PacketRun {
    /// Echoes sent.
    pub sent: u32,
    /// Echoes answered (each once, however many replies it had).
    pub received: u32,
    /// Replies to an echo already answered.
    pub duplicates: u32,
    /// Answers that came after the next echo had been due (RTT > packet_interval);
    /// counted as received, with their own RTT.
    pub late: u32,
    /// RTT of each answer, in seconds, in order of arrival.
    pub rtts: Vec<f64>,
}

/// The RTT statistics of a run, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RttStats {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
    /// Population standard deviation (as ping and smokeping report it).
    pub stddev: f64,
}

/// min/avg/max/stddev of `rtts`; `None` when there is none.
pub fn rtt_stats(rtts: &[f64]) -> Option<RttStats> {
    let n = rtts.len() as f64;
    let first = *rtts.first()?;
    let (mut min, mut max, mut sum) = (first, first, 0.0);
    for &r in rtts {
        min = min.min(r);
        max = max.max(r);
        sum += r;
    }
    let avg = sum / n;
    let var = rtts.iter().map(|r| (r - avg) * (r - avg)).sum::<f64>() / n;
    Some(RttStats {
        min,
        avg,
        max,
        stddev: var.max(0.0).sqrt(),
    })
}

impl PacketRun {
    /// Lost echoes over sent ones; 0 when none was sent.
    pub fn loss_ratio(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        f64::from(self.sent - self.received.min(self.sent)) / f64::from(self.sent)
    }

    /// Writes the run's gauges: counts, loss, duplicates, late answers and, when
    /// any echo was answered, the RTT statistics.
    pub fn record(&self, rec: &mut Recorder) {
        rec.set(names::PROBE_PACKETS_SENT, f64::from(self.sent));
        rec.set(names::PROBE_PACKETS_RECEIVED, f64::from(self.received));
        rec.set(names::PROBE_PACKETS_DUPLICATED, f64::from(self.duplicates));
        rec.set(names::PROBE_PACKETS_LATE, f64::from(self.late));
        rec.set(names::PROBE_PACKET_LOSS_RATIO, self.loss_ratio());
        if let Some(s) = rtt_stats(&self.rtts) {
            for (stat, v) in [
                ("min", s.min),
                ("avg", s.avg),
                ("max", s.max),
                ("stddev", s.stddev),
            ] {
                rec.set_with(names::PROBE_RTT_SECONDS, vec![("stat", stat.into())], v);
            }
        }
    }
}

/// What a reply turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reply {
    /// The first answer to its echo.
    Answer { rtt: Duration, late: bool },
    /// Its echo was answered already.
    Duplicate,
    /// A reply naming an echo not (yet) sent: ignored.
    NotSent,
}

/// The echoes of one run and their answers, by index (the prober maps its own
/// identifiers, e.g. ICMP sequence numbers, to indexes).
#[derive(Debug)]
pub struct Train {
    interval: Duration,
    sent_at: Vec<Option<Instant>>,
    answered: Vec<bool>,
    run: PacketRun,
}

impl Train {
    pub fn new(settings: PacketSettings) -> Self {
        let n = settings.count as usize;
        Train {
            interval: settings.interval,
            sent_at: vec![None; n],
            answered: vec![false; n],
            run: PacketRun::default(),
        }
    }

    /// Echo `i` left at `at`.
    pub fn sent(&mut self, i: usize, at: Instant) {
        if let Some(slot) = self.sent_at.get_mut(i).filter(|s| s.is_none()) {
            *slot = Some(at);
            self.run.sent += 1;
        }
    }

    /// A reply to echo `i` arrived at `at`.
    pub fn reply(&mut self, i: usize, at: Instant) -> Reply {
        let Some(Some(sent)) = self.sent_at.get(i).copied() else {
            return Reply::NotSent;
        };
        if self.answered[i] {
            self.run.duplicates += 1;
            return Reply::Duplicate;
        }
        self.answered[i] = true;
        let rtt = at.saturating_duration_since(sent);
        let late = rtt > self.interval;
        self.run.received += 1;
        self.run.late += u32::from(late);
        self.run.rtts.push(rtt.as_secs_f64());
        Reply::Answer { rtt, late }
    }

    /// Whether every echo was sent and answered (the run may end early).
    pub fn complete(&self) -> bool {
        self.run.received as usize == self.sent_at.len()
    }

    pub fn run(&self) -> &PacketRun {
        &self.run
    }

    pub fn into_run(self) -> PacketRun {
        self.run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(count: u32, ms: u64) -> PacketSettings {
        PacketSettings {
            count,
            interval: Duration::from_millis(ms),
        }
    }

    #[test]
    fn statistics() {
        assert_eq!(rtt_stats(&[]), None);
        let s = rtt_stats(&[0.002, 0.004, 0.004, 0.004, 0.005, 0.005, 0.007, 0.009])
            .unwrap_or_else(|| panic!("no stats"));
        assert_eq!((s.min, s.max), (0.002, 0.009));
        assert!((s.avg - 0.005).abs() < 1e-12, "{s:?}");
        // Population standard deviation of that textbook set: exactly 2 (ms).
        assert!((s.stddev - 0.002).abs() < 1e-12, "{s:?}");
        let one = rtt_stats(&[0.003]).unwrap_or_else(|| panic!("no stats"));
        assert_eq!(
            (one.min, one.avg, one.max, one.stddev),
            (0.003, 0.003, 0.003, 0.0)
        );
    }

    #[test]
    fn loss_ratio() {
        let run = |sent, received| PacketRun {
            sent,
            received,
            ..PacketRun::default()
        };
        assert_eq!(run(0, 0).loss_ratio(), 0.0);
        assert_eq!(run(10, 10).loss_ratio(), 0.0);
        assert_eq!(run(10, 7).loss_ratio(), 0.3);
        assert_eq!(run(4, 0).loss_ratio(), 1.0);
    }

    #[test]
    fn replies_are_matched_to_their_own_echo() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut train = Train::new(settings(3, 10));
        // A reply before its echo left (or to an echo never sent) is no answer.
        assert_eq!(train.reply(0, ms(0)), Reply::NotSent);
        assert_eq!(train.reply(7, ms(0)), Reply::NotSent);
        train.sent(0, ms(0));
        train.sent(1, ms(10));
        // Echo 0's reply arrives after echo 1 left: late, still echo 0's, 15 ms.
        assert_eq!(
            train.reply(0, ms(15)),
            Reply::Answer {
                rtt: Duration::from_millis(15),
                late: true
            }
        );
        // ... and does not answer echo 1, whose own reply comes next.
        assert_eq!(
            train.reply(1, ms(12)),
            Reply::Answer {
                rtt: Duration::from_millis(2),
                late: false
            }
        );
        // A second reply to echo 0 is a duplicate, not an answer.
        assert_eq!(train.reply(0, ms(16)), Reply::Duplicate);
        assert!(!train.complete());
        train.sent(2, ms(20));
        train.sent(2, ms(21)); // sent once only
        assert!(!train.complete());
        let run = train.into_run();
        assert_eq!(
            run,
            PacketRun {
                sent: 3,
                received: 2,
                duplicates: 1,
                late: 1,
                rtts: vec![0.015, 0.002],
            }
        );
        assert!((run.loss_ratio() - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn a_train_completes_when_every_echo_is_answered() {
        let t0 = Instant::now();
        let mut train = Train::new(settings(2, 5));
        train.sent(0, t0);
        train.sent(1, t0);
        assert!(matches!(train.reply(1, t0), Reply::Answer { .. }));
        assert!(!train.complete());
        assert!(matches!(train.reply(0, t0), Reply::Answer { .. }));
        assert!(train.complete());
        assert_eq!(train.run().received, 2);
    }
}
