//! Durations as Prometheus writes them: `"15s"`, `"500ms"`, `"1m30s"`, `"1h"`.

use std::time::Duration;

/// Parses a Prometheus-style duration: one or more `<integer><unit>` terms with
/// units `ms`, `s`, `m`, `h`, `d`, `w`, `y`, largest first, each at most once.
/// `"0"` and `"0s"` are zero.
pub fn parse(text: &str) -> Result<Duration, String> {
    const UNITS: &[(&str, u64)] = &[
        ("y", 365 * 24 * 3600 * 1000),
        ("w", 7 * 24 * 3600 * 1000),
        ("d", 24 * 3600 * 1000),
        ("h", 3600 * 1000),
        ("m", 60 * 1000),
        ("s", 1000),
        ("ms", 1),
    ];
    let invalid =
        || format!("invalid duration {text:?}: expected e.g. \"15s\", \"500ms\", \"1m30s\"");
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = text;
    let mut total_ms: u64 = 0;
    let mut last_unit = None::<usize>;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let (number, tail) = rest.split_at(digits);
        let n: u64 = number.parse().map_err(|_| invalid())?;
        let letters = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, tail) = tail.split_at(letters);
        let idx = UNITS
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(invalid)?;
        if last_unit.is_some_and(|prev| idx <= prev) {
            return Err(invalid());
        }
        last_unit = Some(idx);
        total_ms = n
            .checked_mul(UNITS[idx].1)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| format!("duration {text:?} is too long"))?;
        rest = tail;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Renders a duration the way `parse` reads it, for messages.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        "0s".to_string()
    } else if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else {
        let s = ms / 1000;
        if s.is_multiple_of(3600) {
            format!("{}h", s / 3600)
        } else if s.is_multiple_of(60) {
            format!("{}m", s / 60)
        } else {
            format!("{s}s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(parse("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("1s500ms"), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn rejects_malformed_durations() {
        for bad in [
            "",
            "15",
            "s",
            "1.5s",
            "-1s",
            "10sec",
            "30s1m",
            "1s1s",
            "99999999999999999999y",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn formats_round_trip() {
        for d in ["500ms", "15s", "2m", "1h", "0s"] {
            assert_eq!(format(parse(d).unwrap_or_default()), d);
        }
    }
}
