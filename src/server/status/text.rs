//! The words and numbers of the status page: HTML escaping, times in UTC, ages
//! ("3m12s"), latencies, and each failure reason in plain words.

use std::fmt::Write;

use crate::civil_date::civil;
use crate::probe::FailureReason;

/// `s` safe in HTML text and in quoted attribute values.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// As [`escape`], appending to `out` (the page is written into one string).
pub(super) fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// A query-string value, percent-encoded (`service:web` → `service%3Aweb`).
pub(super) fn query_value(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Whole seconds since 1970 as (day number, seconds into that day).
fn split_day(unix: f64) -> (i64, i64) {
    let secs = unix.floor() as i64;
    (secs.div_euclid(86_400), secs.rem_euclid(86_400))
}

/// `2025-12-06 16:19:41 UTC`.
pub(super) fn utc(unix: f64) -> String {
    let (day, secs) = split_day(unix);
    let (y, m, d) = civil(day);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// The time of day, `16:19:41`, with the date (`12-05 16:19:41`) when it is not
/// the day of `now`: short enough for a cell's title, never ambiguous.
pub(super) fn clock(unix: f64, now: f64) -> String {
    let (day, secs) = split_day(unix);
    let mut out = String::with_capacity(14);
    if day != split_day(now).0 {
        let (_, m, d) = civil(day);
        let _ = write!(out, "{m:02}-{d:02} ");
    }
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    out
}

/// A span of time in its two largest units: `42s`, `3m12s`, `2h05m`, `4d07h`.
pub(super) fn age(seconds: f64) -> String {
    let s = seconds.max(0.0).floor() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s / 60 % 60),
        _ => format!("{}d{:02}h", s / 86_400, s / 3600 % 24),
    }
}

/// A run's duration: `0.4 ms`, `12 ms`, `1.25 s`.
pub(super) fn latency(seconds: f64) -> String {
    match seconds {
        s if s < 0.01 => format!("{:.1} ms", s * 1000.0),
        s if s < 1.0 => format!("{:.0} ms", s * 1000.0),
        s => format!("{s:.2} s"),
    }
}

/// Whole days from `now` to a certificate's expiry, rounded down, and how the
/// page says it: `89 days`, `expired 3 days ago`.
pub(super) fn expiry(expiry: f64, now: f64) -> (i64, String) {
    let days = ((expiry - now) / 86_400.0).floor() as i64;
    let text = match days {
        d if d < 0 => format!("expired {} days ago", -d),
        1 => "1 day".to_string(),
        d => format!("{d} days"),
    };
    (days, text)
}

/// Why a run failed, in words a person reads at a glance; the message of the
/// run says the rest.
pub(super) fn reason_words(reason: FailureReason) -> &'static str {
    reason.in_words()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_text_and_attributes() {
        assert_eq!(
            escape(r#"<script>alert('x')</script> & "q""#),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(escape("plain ünïcode"), "plain ünïcode");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(query_value("service:web"), "service%3Aweb");
        assert_eq!(query_value("a b&c=d"), "a+b%26c%3Dd");
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(utc(0.0), "1970-01-01 00:00:00 UTC");
        // date -u -d @1765038581
        assert_eq!(utc(1_765_038_581.9), "2025-12-06 16:29:41 UTC");
        assert_eq!(utc(951_825_600.0), "2000-02-29 12:00:00 UTC");
        assert_eq!(clock(1_765_038_581.0, 1_765_038_600.0), "16:29:41");
        assert_eq!(
            clock(1_765_038_581.0, 1_765_038_581.0 + 86_400.0),
            "12-06 16:29:41"
        );
    }

    #[test]
    fn ages_show_two_units() {
        assert_eq!(age(0.4), "0s");
        assert_eq!(age(42.0), "42s");
        assert_eq!(age(192.0), "3m12s");
        assert_eq!(age(7_500.0), "2h05m");
        assert_eq!(age(4.0 * 86_400.0 + 7.0 * 3600.0 + 59.0), "4d07h");
        assert_eq!(age(-5.0), "0s", "a clock step back is not a negative age");
    }

    #[test]
    fn latencies() {
        assert_eq!(latency(0.000_42), "0.4 ms");
        assert_eq!(latency(0.012_4), "12 ms");
        assert_eq!(latency(1.254), "1.25 s");
    }

    #[test]
    fn certificate_expiry_in_days() {
        let now = 1_000_000.0;
        assert_eq!(expiry(now + 89.5 * 86_400.0, now), (89, "89 days".into()));
        assert_eq!(expiry(now + 86_400.0, now), (1, "1 day".into()));
        assert_eq!(
            expiry(now - 2.5 * 86_400.0, now),
            (-3, "expired 3 days ago".into())
        );
    }

    #[test]
    fn every_reason_has_words_not_its_label() {
        for reason in FailureReason::ALL {
            let words = reason_words(*reason);
            assert!(!words.contains('_'), "{words}");
            assert!(!words.is_empty());
        }
    }
}
