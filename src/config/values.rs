//! Small value checks shared by the validators: durations, sizes, regexes,
//! address families, `Accept-Encoding`, and "did you mean" suggestions.

use std::time::Duration;

use regex::Regex;
use toml::Spanned;

use super::duration;
use super::file::{DurationText, StringMap};
use super::validate::Ctx;
use super::IpProtocol;

/// Parses a duration; `positive` rejects zero.
pub(crate) fn duration(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: &Spanned<DurationText>,
    positive: bool,
) -> Option<Duration> {
    match duration::parse(&value.get_ref().0) {
        Ok(d) if positive && d.is_zero() => {
            ctx.error(value.span(), path, "must be greater than zero");
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            ctx.error_hint(
                value.span(),
                path,
                e,
                "units are ms, s, m, h, d, w, y, largest first",
            );
            None
        }
    }
}

/// Compiles a regex as Blackbox does: unanchored, so it matches anywhere.
pub(crate) fn regex(ctx: &mut Ctx<'_>, path: &str, value: &Spanned<String>) -> Option<Regex> {
    compile(ctx, path, value, Regex::new)
}

/// [`regex`] for rules matched against raw bytes (response bodies): compiled here,
/// once, into the form the matcher runs, so no pattern can fail later.
pub(crate) fn bytes_regex(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: &Spanned<String>,
) -> Option<regex::bytes::Regex> {
    compile(ctx, path, value, regex::bytes::Regex::new)
}

fn compile<R>(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: &Spanned<String>,
    new: impl FnOnce(&str) -> Result<R, regex::Error>,
) -> Option<R> {
    match new(value.get_ref()) {
        Ok(re) => Some(re),
        Err(e) => {
            ctx.error(
                value.span(),
                path,
                format!(
                    "invalid regular expression {:?}: {}",
                    value.get_ref(),
                    regex_error(&e)
                ),
            );
            None
        }
    }
}

/// Compiles a list of regexes (`path[i]` in messages); the ones that fail are
/// reported and left out.
pub(crate) fn regexes(
    ctx: &mut Ctx<'_>,
    path: &str,
    list: &Option<Vec<Spanned<String>>>,
) -> Vec<Regex> {
    list.iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, re)| regex(ctx, &super::tree::index(path, i), re))
        .collect()
}

/// The one-line reason of a regex error (the crate's own text draws a caret
/// diagram over several lines).
fn regex_error(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .unwrap_or(text)
            .to_string(),
        regex::Error::CompiledTooBig(limit) => {
            format!("compiled regex exceeds the size limit of {limit} bytes")
        }
        other => other.to_string(),
    }
}

/// `preferred_ip_protocol`.
pub(crate) fn ip_protocol(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: &Spanned<String>,
) -> Option<IpProtocol> {
    match value.get_ref().as_str() {
        "ip4" => Some(IpProtocol::Ip4),
        "ip6" => Some(IpProtocol::Ip6),
        other => {
            ctx.error_hint(
                value.span(),
                path,
                format!("invalid IP protocol {other:?}"),
                "expected \"ip4\" or \"ip6\"",
            );
            None
        }
    }
}

/// Units of `body_size_limit`, base 2 as Blackbox's `units.Base2Bytes`.
const SIZE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KB", 1 << 10),
    ("MB", 1 << 20),
    ("GB", 1 << 30),
    ("TB", 1 << 40),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
];

/// Parses a size such as `"10MB"` (10485760), `"1.5KiB"` or `"0"` into bytes.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let invalid = || format!("invalid size {text:?}");
    if text == "0" {
        return Ok(0);
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| format!("size {text:?} has no unit"))?;
    let (number, unit) = text.split_at(split);
    let scale = SIZE_UNITS
        .iter()
        .find(|(u, _)| *u == unit)
        .map(|(_, s)| *s)
        .ok_or_else(invalid)?;
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || frac.contains('.') || (number.contains('.') && frac.is_empty()) {
        return Err(invalid());
    }
    let whole: u64 = whole.parse().map_err(|_| invalid())?;
    let mut bytes = whole
        .checked_mul(scale)
        .ok_or_else(|| format!("size {text:?} is too large"))?;
    if !frac.is_empty() {
        let frac: f64 = format!("0.{frac}").parse().map_err(|_| invalid())?;
        // Rounded down to whole bytes; the fraction is below one unit.
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a fraction of one unit, at most 2^40, fits exactly enough"
        )]
        let extra = (frac * scale as f64) as u64;
        bytes = bytes
            .checked_add(extra)
            .ok_or_else(|| format!("size {text:?} is too large"))?;
    }
    Ok(bytes)
}

/// The hint given with a size that does not parse.
pub(crate) const SIZE_HINT: &str =
    "an integer number of bytes, or a string with a unit: B, KB, MB, GB, TB (base 2, as Blackbox) or KiB, MiB, GiB, TiB";

/// Whether an `Accept-Encoding` header value accepts `encoding`. An entry naming
/// the encoding decides; otherwise `*` does; `q=0` rejects. Names compare
/// case-insensitively (RFC 9110).
pub(crate) fn accepts_encoding(accept: &str, encoding: &str) -> bool {
    if accept.trim().is_empty() {
        return true;
    }
    let mut star = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let quality = parts
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.trim().eq_ignore_ascii_case("q").then(|| v.trim())
            })
            .next_back()
            .map_or(1.0, |q| q.parse::<f64>().unwrap_or(0.0));
        let accepted = quality > 0.0005; // three decimals at most (RFC 9110 12.4.2)
        if name.eq_ignore_ascii_case(encoding) {
            return accepted;
        }
        if name == "*" {
            star = Some(accepted);
        }
    }
    star.unwrap_or(false)
}

/// The candidate closest to `name` by edit distance, if it is close enough to be
/// a likely typo.
pub(crate) fn suggest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (prev + cost).min(row[j] + 1).min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Static labels (of a probe, of an SLO) in the order written. `reserved` names
/// the labels someone else sets, each with who does, for the hint.
pub(crate) fn labels(
    ctx: &mut Ctx<'_>,
    path: &str,
    labels: &StringMap,
    reserved: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut entries: Vec<_> = labels.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    // Exact capacity: the vector lives as long as the configuration.
    let mut out = Vec::with_capacity(entries.len());
    for (name, value) in entries {
        let n = name.get_ref().as_str();
        let at = super::tree::key(path, n);
        if !is_label_name(n) {
            ctx.error_hint(
                name.span(),
                &at,
                format!("invalid label name {n:?}"),
                "label names match [a-zA-Z_][a-zA-Z0-9_]*",
            );
        } else if n.starts_with("__") {
            ctx.error_hint(
                name.span(),
                &at,
                format!("label name {n:?} is reserved"),
                "names starting with __ are reserved for Prometheus' internal use",
            );
        } else if let Some((_, why)) = reserved.iter().find(|(r, _)| *r == n) {
            ctx.error_hint(
                name.span(),
                &at,
                format!("label name {n:?} is reserved"),
                format!("{why}; choose another name"),
            );
        } else {
            out.push((n.to_string(), value.get_ref().clone()));
        }
    }
    out
}

/// Whether `name` is a valid Prometheus label name.
pub(crate) fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_base_2() {
        assert_eq!(parse_size("10MB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("10MiB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("1KB"), Ok(1024));
        assert_eq!(parse_size("512B"), Ok(512));
        assert_eq!(parse_size("1.5KiB"), Ok(1536));
        assert_eq!(parse_size("0"), Ok(0));
        for bad in [
            "",
            "10",
            "10mb",
            "MB",
            "1.MB",
            ".5MB",
            "1.2.3MB",
            "-1MB",
            "10 MB",
            "99999999999TB",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn accept_encoding_cases_from_blackbox() {
        // (compression, Accept-Encoding, accepted): the cases of Blackbox's
        // TestIsEncodingAcceptable, plus letter case.
        let cases = [
            ("gzip", "gzip", true),
            ("gzip", "gzip;q=1.0", true),
            ("gzip", "gzip, compress", true),
            ("gzip", "compress, gzip", true),
            ("br", "gzip, compress", false),
            ("br", "gzip, compress, *", true),
            ("br", "gzip, compress, *;q=0.1", true),
            ("br", "gzip, compress, br;q=0.0", false),
            ("br", "gzip, compress, *;q=0.0", false),
            ("br", "gzip;q=1.0, compress;q=0.5, br;q=0.1, *;q=0.0", true),
            ("br", "*;q=0.0, compress;q=0.5, br;q=0.1, gzip;q=1.0", true),
            (
                "br",
                " gzip;q=1.0, compress; q=0.5, br;q=0.1, *; q=0.0 ",
                true,
            ),
            ("gzip", "deflate", false),
            ("gzip", "GZIP", true),
            ("gzip", "*;q=0.0", false),
            ("gzip", "", true),
        ];
        for (encoding, accept, want) in cases {
            assert_eq!(
                accepts_encoding(accept, encoding),
                want,
                "{encoding} vs {accept:?}"
            );
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggest("http_2x", ["http_2xx", "tcp_connect"]),
            Some("http_2xx")
        );
        assert_eq!(suggest("dns", ["http_2xx", "tcp_connect"]), None);
    }
}
