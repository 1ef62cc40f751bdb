//! `[[probes]]`: names, module references, targets, schedule and static labels.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv6Addr;
use std::time::Duration;

use http::Uri;
use toml::de::DeValue;
use toml::Spanned;

use super::duration;
use super::error::line_col;
use super::file::{ProbeFile, StringMap};
use super::modules::ModuleSummary;
use super::tree::{self, decode};
use super::validate::Ctx;
use super::{values, ProbeSpec};

/// The timeout of a probe with neither its own nor a module timeout, at most:
/// Prometheus' default scrape timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Label names outpost or Prometheus set themselves, and why.
const RESERVED_LABELS: &[(&str, &str)] = &[
    (
        "probe",
        "outpost sets it on every series of a scheduled probe",
    ),
    (
        "module",
        "outpost sets it on every series of a scheduled probe",
    ),
    (
        "target",
        "outpost sets it on every series of a scheduled probe",
    ),
    ("outcome", "outpost's run counters use it"),
    ("phase", "Blackbox-compatible phase series use it"),
    ("le", "histogram buckets use it"),
    ("quantile", "summaries use it"),
    ("version", "Blackbox-compatible TLS series use it"),
    ("cipher", "Blackbox-compatible TLS series use it"),
    (
        "fingerprint_sha256",
        "Blackbox-compatible certificate series use it",
    ),
    ("subject", "Blackbox-compatible certificate series use it"),
    ("issuer", "Blackbox-compatible certificate series use it"),
    (
        "subjectalternative",
        "Blackbox-compatible certificate series use it",
    ),
    (
        "serialnumber",
        "Blackbox-compatible certificate series use it",
    ),
    ("instance", "Prometheus sets it when it scrapes outpost"),
    ("job", "Prometheus sets it when it scrapes outpost"),
];

/// Builds every `[[probes]]` entry; `modules` covers every module in the file.
pub(crate) fn build_all(
    ctx: &mut Ctx<'_>,
    value: &Spanned<DeValue<'_>>,
    modules: &BTreeMap<String, ModuleSummary>,
) -> Vec<ProbeSpec> {
    let Some(list) = value.get_ref().as_array() else {
        ctx.error_hint(
            value.span(),
            "probes",
            "must be an array of tables",
            "write each probe as [[probes]]",
        );
        return Vec::new();
    };
    let mut probes = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, item) in list.iter().enumerate() {
        let path = tree::index("probes", i);
        let Some(file) = decode::<ProbeFile>(ctx, item, &path) else {
            continue;
        };
        let name = file.name.get_ref();
        if name.is_empty() {
            ctx.error(
                file.name.span(),
                &tree::key(&path, "name"),
                "must not be empty",
            );
        } else if let Some(first) = seen.get(name) {
            let (line, _) = line_col(ctx.text(), *first);
            ctx.error_hint(
                file.name.span(),
                &tree::key(&path, "name"),
                format!("duplicate probe name {name:?}"),
                format!("first used on line {line}; probe names must be unique"),
            );
        } else {
            seen.insert(name.clone(), file.name.span().start);
        }
        if let Some(spec) = build_probe(ctx, &path, &file, modules) {
            probes.push(spec);
        }
    }
    probes
}

fn build_probe(
    ctx: &mut Ctx<'_>,
    path: &str,
    file: &ProbeFile,
    modules: &BTreeMap<String, ModuleSummary>,
) -> Option<ProbeSpec> {
    let before = ctx.error_count();
    let module = modules.get(file.module.get_ref());
    if module.is_none() {
        unknown_module(ctx, &tree::key(path, "module"), &file.module, modules);
    }
    if let Some(kind) = module.and_then(|m| m.kind) {
        check_target(ctx, &tree::key(path, "target"), &file.target, kind);
    }
    let interval = values::duration(ctx, &tree::key(path, "interval"), &file.interval, true);
    let own_timeout = file
        .timeout
        .as_ref()
        .and_then(|t| values::duration(ctx, &tree::key(path, "timeout"), t, true));
    let labels = match &file.labels {
        Some(labels) => build_labels(ctx, &tree::key(path, "labels"), labels),
        None => Vec::new(),
    };
    let interval = interval?;
    let module_timeout = module.and_then(|m| m.timeout);
    let timeout = match (&file.timeout, own_timeout, module_timeout) {
        (Some(t), Some(own), _) => {
            if own > interval {
                ctx.error_hint(
                    t.span(),
                    &tree::key(path, "timeout"),
                    format!("timeout {} exceeds the interval {}", duration::format(own), duration::format(interval)),
                    "a run must end before the next one starts: lower the timeout or raise the interval",
                );
            }
            own
        }
        (Some(_), None, _) => return None,
        (None, _, Some(m)) => {
            if m > interval {
                ctx.error_hint(
                    file.interval.span(),
                    &tree::key(path, "interval"),
                    format!(
                        "the timeout {} of module {:?} exceeds the interval {}",
                        duration::format(m),
                        file.module.get_ref(),
                        duration::format(interval)
                    ),
                    "raise the interval, or set a shorter timeout on the probe",
                );
            }
            m
        }
        (None, _, None) => interval.min(DEFAULT_TIMEOUT),
    };
    (ctx.error_count() == before).then(|| ProbeSpec {
        name: file.name.get_ref().clone(),
        module: file.module.get_ref().clone(),
        target: file.target.get_ref().clone(),
        interval,
        timeout,
        labels,
    })
}

fn unknown_module(
    ctx: &mut Ctx<'_>,
    path: &str,
    module: &Spanned<String>,
    modules: &BTreeMap<String, ModuleSummary>,
) {
    let names: Vec<&str> = modules.keys().map(String::as_str).collect();
    let defined = format!("defined modules: {}", names.join(", "));
    let hint = match values::suggest(module.get_ref(), names.iter().copied()) {
        Some(close) => format!("did you mean {close:?}? {defined}"),
        None if modules.is_empty() => {
            "no modules are defined; add one as [modules.NAME]".to_string()
        }
        None => defined,
    };
    ctx.error_hint(
        module.span(),
        path,
        format!("unknown module {:?}", module.get_ref()),
        hint,
    );
}

/// http: an absolute http(s) URL, or a bare host that gets `http://` (as Blackbox
/// does). tcp: `host:port`, IPv6 in brackets.
fn check_target(ctx: &mut Ctx<'_>, path: &str, target: &Spanned<String>, kind: &str) {
    let text = target.get_ref().as_str();
    let problem = match kind {
        "http" => http_target_problem(text),
        _ => tcp_target_problem(text),
    };
    if let Some((message, hint)) = problem {
        ctx.error_hint(target.span(), path, message, hint);
    }
}

fn http_target_problem(text: &str) -> Option<(String, String)> {
    let hint =
        "write a URL such as \"https://example.com/health\" (a bare host gets http://)".to_string();
    let url = match text.split_once("://") {
        Some((scheme, _))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            text.to_string()
        }
        Some((scheme, _)) => {
            return Some((
                format!("unsupported URL scheme {scheme:?} for an http module"),
                hint,
            ))
        }
        None => format!("http://{text}"),
    };
    match url.parse::<Uri>() {
        Ok(uri) if uri.host().is_some_and(|h| !h.is_empty()) => None,
        _ => Some((format!("invalid URL {text:?}"), hint)),
    }
}

fn tcp_target_problem(text: &str) -> Option<(String, String)> {
    let hint = "write host:port, e.g. \"db.internal:3306\", or \"[::1]:53\" for IPv6".to_string();
    let Some((host, port)) = text.rsplit_once(':') else {
        return Some((format!("target {text:?} has no port"), hint));
    };
    if port.parse::<u16>().is_err() {
        return Some((format!("invalid port {port:?} in target {text:?}"), hint));
    }
    let ok = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        inner.parse::<Ipv6Addr>().is_ok()
    } else {
        !host.is_empty() && !host.contains([':', '/', '[', ']', ' '])
    };
    (!ok).then(|| (format!("invalid host {host:?} in target {text:?}"), hint))
}

/// Static labels in the order written.
fn build_labels(ctx: &mut Ctx<'_>, path: &str, labels: &StringMap) -> Vec<(String, String)> {
    let mut entries: Vec<_> = labels.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    let mut out = Vec::new();
    for (name, value) in entries {
        let n = name.get_ref().as_str();
        let at = tree::key(path, n);
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
        } else if let Some((_, why)) = RESERVED_LABELS.iter().find(|(r, _)| *r == n) {
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

fn is_label_name(name: &str) -> bool {
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
    fn targets() {
        for ok in [
            "http://a",
            "HTTPS://a:8443/x?y",
            "example.com",
            "example.com/health",
            "http://[::1]:80/",
        ] {
            assert_eq!(http_target_problem(ok), None, "{ok}");
        }
        for bad in ["ftp://a", "http://", "a b", ""] {
            assert!(http_target_problem(bad).is_some(), "{bad}");
        }
        for ok in ["a:1", "10.0.0.1:3306", "[::1]:53", "db.internal:65535"] {
            assert_eq!(tcp_target_problem(ok), None, "{ok}");
        }
        for bad in [
            "a",
            "a:",
            ":80",
            "a:99999",
            "::1:53",
            "[::1]",
            "[x]:53",
            "http://a:80",
        ] {
            assert!(tcp_target_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn label_names() {
        assert!(is_label_name("target_region"));
        assert!(is_label_name("_x1"));
        assert!(!is_label_name("1x"));
        assert!(!is_label_name("a-b"));
        assert!(!is_label_name(""));
    }
}
