//! The parsed TOML tree with spans: key paths, per-block deserialization and
//! redaction. Everything here works on `toml::de::DeValue`, which keeps the span
//! of every key and value.

use std::ops::Range;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use toml::de::{DeValue, ValueDeserializer};
use toml::Spanned;

use super::validate::Ctx;
use crate::redact::SECRET;

/// Appends `key` to a dotted key path, quoting it if it is not a bare TOML key.
pub(crate) fn key(path: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let segment = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if path.is_empty() {
        segment
    } else {
        format!("{path}.{segment}")
    }
}

/// Appends an array index to a key path: `probes[2]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// The entry `name` of a table value, if the value is a table and has it.
pub(crate) fn child<'a, 'i>(
    value: &'a Spanned<DeValue<'i>>,
    name: &str,
) -> Option<&'a Spanned<DeValue<'i>>> {
    value.get_ref().as_table().and_then(|t| t.get(name))
}

/// Deserializes `value` (found at `path`) into a file-model type. On failure the
/// error is recorded with the position and key path serde's error points at, and
/// `None` is returned: the caller skips the checks that needed it.
pub(crate) fn decode<T: DeserializeOwned>(
    ctx: &mut Ctx<'_>,
    value: &Spanned<DeValue<'_>>,
    path: &str,
) -> Option<T> {
    match T::deserialize(ValueDeserializer::from(value.clone())) {
        Ok(decoded) => Some(decoded),
        Err(e) => {
            let span = e.span().unwrap_or_else(|| value.span());
            let (segments, at_key) = locate(value, &span).unwrap_or_default();
            report_serde_error(ctx, span, path, &segments, at_key, e.message());
            None
        }
    }
}

/// One step of a key path below a block.
#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

fn join(path: &str, segments: &[Segment]) -> String {
    segments.iter().fold(path.to_string(), |p, s| match s {
        Segment::Key(k) => key(&p, k),
        Segment::Index(i) => index(&p, *i),
    })
}

/// A table entry or array item: its path segment, key span, and value.
type Child<'a, 'i> = (Segment, Option<Range<usize>>, &'a Spanned<DeValue<'i>>);

/// Finds the key or value at `span` below `value`: the path to it and whether the
/// span is the key's (rather than the value's).
fn locate(value: &Spanned<DeValue<'_>>, span: &Range<usize>) -> Option<(Vec<Segment>, bool)> {
    if value.span() == *span {
        return Some((Vec::new(), false));
    }
    let children: Vec<Child<'_, '_>> = match value.get_ref() {
        DeValue::Table(t) => t
            .iter()
            .map(|(k, v)| (Segment::Key(k.get_ref().to_string()), Some(k.span()), v))
            .collect(),
        DeValue::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| (Segment::Index(i), None, v))
            .collect(),
        _ => Vec::new(),
    };
    for (segment, key_span, child) in &children {
        if key_span.as_ref() == Some(span) {
            return Some((vec![segment.clone()], true));
        }
        if let Some((mut rest, at_key)) = locate(child, span) {
            rest.insert(0, segment.clone());
            return Some((rest, at_key));
        }
    }
    // No exact match: the innermost value containing the span.
    for (segment, _, child) in &children {
        let s = child.span();
        if s.start <= span.start && span.end <= s.end && s != value.span() {
            let (mut rest, at_key) = locate(child, span).unwrap_or_default();
            rest.insert(0, segment.clone());
            return Some((rest, at_key));
        }
    }
    None
}

fn report_serde_error(
    ctx: &mut Ctx<'_>,
    span: Range<usize>,
    path: &str,
    segments: &[Segment],
    at_key: bool,
    message: &str,
) {
    let message = message.trim().replace('\n', "; ");
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let mut names = backticked(&format!("`{rest}"));
        if !names.is_empty() {
            let unknown = names.remove(0);
            // The path names the table; the message names the key.
            let table = if at_key {
                &segments[..segments.len().saturating_sub(1)]
            } else {
                segments
            };
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            ctx.unknown_key(span, &join(path, table), &unknown, &refs);
            return;
        }
    }
    let full = join(path, segments);
    if let Some(rest) = message.strip_prefix("missing field `") {
        if let Some(name) = backticked(&format!("`{rest}")).first() {
            ctx.error(span, &full, format!("missing required key `{name}`"));
            return;
        }
    }
    ctx.error(span, &full, message);
}

/// The `backticked` names in a serde message, in order.
fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
}

/// The table as written, re-serialised as TOML with every secret replaced by
/// `<secret>`: the values at `secrets` (the spans [`super::secret::collect`]
/// recorded while the table's file models were decoded), the values of credential
/// headers in `headers`, and the password of any URL under a key ending in `_url`.
pub(crate) fn redact(value: &Spanned<DeValue<'_>>, secrets: &[Range<usize>]) -> String {
    match shown(value, secrets, None) {
        toml::Value::Table(table) => toml::to_string(&table).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// `value`, found under `key`, as a plain TOML value with its secrets hidden.
fn shown(value: &Spanned<DeValue<'_>>, secrets: &[Range<usize>], key: Option<&str>) -> toml::Value {
    if secrets.contains(&value.span()) {
        return toml::Value::String(SECRET.to_string());
    }
    match value.get_ref() {
        DeValue::Table(table) => {
            let mut out = toml::Table::new();
            for (k, v) in table.iter() {
                let k: &str = k.get_ref().as_ref();
                let mut v = shown(v, secrets, Some(k));
                // http.headers: name = value (or a list of values).
                if key == Some("headers") && crate::redact::is_credential_header(k) {
                    redact_strings(&mut v);
                }
                out.insert(k.to_string(), v);
            }
            toml::Value::Table(out)
        }
        DeValue::Array(items) => {
            toml::Value::Array(items.iter().map(|i| shown(i, secrets, key)).collect())
        }
        _ => match toml::Value::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(toml::Value::String(url)) if key.is_some_and(|k| k.ends_with("_url")) => {
                toml::Value::String(crate::redact::url(&url).into_owned())
            }
            Ok(scalar) => scalar,
            Err(_) => toml::Value::String(String::new()),
        },
    }
}

/// The table as written, re-serialised canonically: keys sorted at every level
/// (so the key order of the file does not matter), except in `headers`, whose
/// order is the order the request sends them; scalars as TOML writes them.
/// Secrets are kept: this text is only ever hashed ([`super::ModuleIdentity`]),
/// never stored.
pub(crate) fn canonical(value: &Spanned<DeValue<'_>>) -> String {
    let mut out = String::new();
    write_canonical(&mut out, value, false);
    out
}

fn write_canonical(out: &mut String, value: &Spanned<DeValue<'_>>, written_order: bool) {
    match value.get_ref() {
        DeValue::Table(table) => {
            let mut entries: Vec<_> = table.iter().collect();
            if written_order {
                entries.sort_by_key(|(k, _)| k.span().start);
            } else {
                entries.sort_by(|a, b| a.0.get_ref().cmp(b.0.get_ref()));
            }
            out.push('{');
            for (k, v) in entries {
                let key: &str = k.get_ref().as_ref();
                out.push_str(&format!("{key:?}="));
                write_canonical(out, v, key == "headers");
                out.push(',');
            }
            out.push('}');
        }
        DeValue::Array(items) => {
            out.push('[');
            for item in items.iter() {
                write_canonical(out, item, false);
                out.push(',');
            }
            out.push(']');
        }
        _ => {
            if let Ok(scalar) = toml::Value::deserialize(ValueDeserializer::from(value.clone())) {
                out.push_str(&scalar.to_string());
            }
        }
    }
}

/// Every string below `value` replaced by `<secret>`.
fn redact_strings(value: &mut toml::Value) {
    match value {
        toml::Value::String(s) => *s = SECRET.to_string(),
        toml::Value::Table(t) => t.iter_mut().for_each(|(_, v)| redact_strings(v)),
        toml::Value::Array(a) => a.iter_mut().for_each(redact_strings),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_quote_keys_that_are_not_bare() {
        assert_eq!(key("", "modules"), "modules");
        assert_eq!(key("modules", "http_2xx"), "modules.http_2xx");
        assert_eq!(key("modules", "a.b"), "modules.\"a.b\"");
        assert_eq!(index("probes", 2), "probes[2]");
    }
}
