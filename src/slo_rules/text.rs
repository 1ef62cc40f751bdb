//! Spelling values into the rule file: numbers, PromQL strings, YAML scalars and
//! keys, Go template text, ranges and humanized durations. The rule file is YAML
//! written by hand (it has one fixed shape), so every value a config can reach
//! goes through one of these.

use std::time::Duration;

/// `x` rounded to 12 significant digits, in the shortest form that reads back as
/// that value: `0.0001`, `14.4`, `6945`, never `0.00009999999999998899`.
pub(crate) fn number(x: f64) -> String {
    format!("{}", round12(x))
}

/// `x` rounded to 12 significant digits: what is left of a percentage after the
/// float error of dividing it by 100 or subtracting it from 1.
pub(crate) fn round12(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    // The exponent form rounds to the digits asked for; it always parses back.
    format!("{x:.11e}").parse().unwrap_or(x)
}

/// Characters no text in the rule file carries as they are: control characters
/// (a line break would end a comment or a scalar) and the characters YAML 1.1
/// parsers take for line breaks, plus the byte order mark.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// `s` as a double-quoted PromQL string (Go's escapes, which PromQL reads).
pub(crate) fn promql_string(s: &str) -> String {
    quoted(s)
}

/// `s` as a double-quoted YAML scalar.
pub(crate) fn yaml_string(s: &str) -> String {
    quoted(s)
}

/// PromQL and YAML double-quoted strings share these escapes: `\\`, `\"` and
/// `\uXXXX` (every character [`needs_escape`] covers is in the BMP).
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A label name as a YAML mapping key: bare, unless YAML 1.1 (which Prometheus'
/// YAML library still honours for these words) would read it as a boolean or null.
pub(crate) fn yaml_key(name: &str) -> String {
    const SPECIAL: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    if SPECIAL.contains(&name.to_ascii_lowercase().as_str()) {
        yaml_string(name)
    } else {
        name.to_string()
    }
}

/// `s` as literal text of a Prometheus annotation, which is a Go template: `{{`
/// would open an action, so it is written as the action printing `{{`.
pub(crate) fn template_text(s: &str) -> String {
    s.replace("{{", "{{\"{{\"}}")
}

/// `s` with the characters that would end a YAML comment replaced by `?`.
pub(crate) fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| if needs_escape(c) { '?' } else { c })
        .collect()
}

/// A PromQL range or record-name suffix: the largest of d, h, m, s that divides it.
pub(crate) fn range(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".to_string(),
        _ if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3_600) => format!("{}h", s / 3_600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// A span of time for people: days, hours or minutes, one decimal at most
/// (`2.1 days`, `5 hours`, `1 day`).
pub(crate) fn humanize(seconds: f64) -> String {
    let (value, unit) = if seconds >= 86_400.0 {
        (seconds / 86_400.0, "day")
    } else if seconds >= 3_600.0 {
        (seconds / 3_600.0, "hour")
    } else {
        (seconds / 60.0, "minute")
    };
    let text = number((value * 10.0).round() / 10.0);
    let plural = if text == "1" { "" } else { "s" };
    format!("{text} {unit}{plural}")
}

/// `n` with a comma every three digits: `43,200`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_rounded_to_12_digits_and_spelled_shortest() {
        assert_eq!(number(1.0 - 99.99 / 100.0), "0.0001");
        assert_eq!(number(99.99 / 100.0), "0.9999");
        assert_eq!(number(14.4), "14.4");
        assert_eq!(number(6.0), "6");
        assert_eq!(number(6945.0), "6945");
        assert_eq!(number(0.1 + 0.2), "0.3");
        assert_eq!(number(0.0), "0");
        assert_eq!(number((1.0 - 0.999) * 100.0), "0.1");
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_line_breaks() {
        assert_eq!(promql_string("web"), "\"web\"");
        assert_eq!(promql_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(promql_string("a\nb\u{2028}"), "\"a\\u000ab\\u2028\"");
        assert_eq!(yaml_string("é \t"), "\"é \\u0009\"");
    }

    #[test]
    fn yaml_keys_are_quoted_only_where_yaml_11_reads_a_boolean() {
        assert_eq!(yaml_key("team"), "team");
        assert_eq!(yaml_key("on"), "\"on\"");
        assert_eq!(yaml_key("Yes"), "\"Yes\"");
        assert_eq!(yaml_key("nope"), "nope");
    }

    #[test]
    fn template_text_keeps_braces_literal() {
        assert_eq!(template_text("a {{ b }}"), "a {{\"{{\"}} b }}");
        assert_eq!(template_text("{x=\"y\"}"), "{x=\"y\"}");
    }

    #[test]
    fn ranges_and_human_durations() {
        let d = Duration::from_secs;
        assert_eq!(range(d(300)), "5m");
        assert_eq!(range(d(7200)), "2h");
        assert_eq!(range(d(30 * 86_400)), "30d");
        assert_eq!(range(d(84 * 3_600)), "84h");
        assert_eq!(humanize(30.0 * 86_400.0 / 14.4), "2.1 days");
        assert_eq!(humanize(30.0 * 86_400.0 / 6.0), "5 days");
        assert_eq!(humanize(86_400.0), "1 day");
        assert_eq!(humanize(3.0 * 86_400.0 / 14.4), "5 hours");
        assert_eq!(humanize(1_800.0), "30 minutes");
        assert_eq!(thousands(43_200), "43,200");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(comment_text("a\nb"), "a?b");
    }
}
