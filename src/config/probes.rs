//! `[[probes]]`: names, module references, targets, schedule and static labels.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use toml::de::DeValue;
use toml::Spanned;

use super::duration;
use super::error::line_col;
use super::file::ProbeFile;
use super::modules::ModuleSummary;
use super::tree::{self, decode};
use super::validate::Ctx;
use super::values;
use super::ProbeSpec;
use crate::probe::ProberKind;

/// The timeout of a probe with neither its own nor a module timeout, at most:
/// Prometheus' default scrape timeout.
const DEFAULT_TIMEOUT: Duration = super::DEFAULT_MODULE_TIMEOUT;

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

/// What [`Builder::finish`] hands back.
pub(crate) struct Built {
    /// The valid entries, in file order.
    pub(crate) probes: Vec<ProbeSpec>,
    /// Every entry's name, valid or not, in file order (when asked for).
    pub(crate) names: Vec<String>,
    /// Whether every entry was valid.
    pub(crate) complete: bool,
}

/// Builds `[[probes]]` entries one at a time, in file order; `modules` covers
/// every module in the file.
pub(crate) struct Builder<'m> {
    modules: &'m BTreeMap<String, ModuleSummary>,
    probes: Vec<ProbeSpec>,
    /// Where each name was first used (offset in the file).
    seen: HashMap<String, usize>,
    /// Names (and offsets) of the entries that did not decode, read from the raw
    /// table: an `[[slos]]` entry naming one is not also told it does not exist.
    undecoded: Vec<(String, usize)>,
    /// Index of the next entry, valid or not.
    next: usize,
}

impl<'m> Builder<'m> {
    pub(crate) fn new(modules: &'m BTreeMap<String, ModuleSummary>) -> Self {
        Builder {
            modules,
            probes: Vec::new(),
            seen: HashMap::new(),
            undecoded: Vec::new(),
            next: 0,
        }
    }

    /// The whole `probes` value of a file parsed at once.
    pub(crate) fn add_list(&mut self, ctx: &mut Ctx<'_>, value: &Spanned<DeValue<'_>>) {
        let Some(list) = value.get_ref().as_array() else {
            ctx.error_hint(
                value.span(),
                "probes",
                "must be an array of tables",
                "write each probe as [[probes]]",
            );
            return;
        };
        for item in list.iter() {
            self.add(ctx, item);
        }
    }

    /// One entry; its spans count from `ctx.base`.
    pub(crate) fn add(&mut self, ctx: &mut Ctx<'_>, item: &Spanned<DeValue<'_>>) {
        let path = tree::index("probes", self.next);
        self.next += 1;
        let Some(file) = decode::<ProbeFile>(ctx, item, &path) else {
            if let Some(name) = tree::child(item, "name") {
                if let DeValue::String(text) = name.get_ref() {
                    let at = ctx.base + name.span().start;
                    self.undecoded.push((text.to_string(), at));
                }
            }
            return;
        };
        let name = file.name.get_ref();
        if name.is_empty() {
            ctx.error(
                file.name.span(),
                &tree::key(&path, "name"),
                "must not be empty",
            );
        } else if let Some(first) = self.seen.get(name) {
            let (line, _) = line_col(ctx.text(), *first);
            ctx.error_hint(
                file.name.span(),
                &tree::key(&path, "name"),
                format!("duplicate probe name {name:?}"),
                format!("first used on line {line}; probe names must be unique"),
            );
        } else {
            self.seen
                .insert(name.clone(), ctx.base + file.name.span().start);
        }
        if let Some(spec) = build_probe(ctx, &path, file, self.modules) {
            self.probes.push(spec);
        }
    }

    /// The valid entries; with `names`, also every entry's name for the `[[slos]]`
    /// checks (at 100,000 probes that is a copy of every name, so only on demand).
    pub(crate) fn finish(mut self, names: bool) -> Built {
        let names = if names {
            let mut all: Vec<(String, usize)> = self.seen.drain().collect();
            all.append(&mut self.undecoded);
            all.sort_by_key(|(_, at)| *at);
            all.into_iter().map(|(name, _)| name).collect()
        } else {
            Vec::new()
        };
        let complete = self.probes.len() == self.next;
        self.probes.shrink_to_fit();
        Built {
            probes: self.probes,
            names,
            complete,
        }
    }
}

fn build_probe(
    ctx: &mut Ctx<'_>,
    path: &str,
    file: ProbeFile,
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
        Some(labels) => values::labels(ctx, &tree::key(path, "labels"), labels, RESERVED_LABELS),
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
    if let Some(train) = module.and_then(|m| m.train).filter(|t| *t > timeout) {
        let (span, key) = match &file.timeout {
            Some(t) => (t.span(), tree::key(path, "timeout")),
            None => (file.interval.span(), tree::key(path, "interval")),
        };
        ctx.error_hint(
            span,
            &key,
            format!(
                "the probe's timeout {} is shorter than the {} its module's packet train takes",
                duration::format(timeout),
                duration::format(train)
            ),
            "every packet (echo, connect) must leave within the timeout: a longer timeout (and interval), \
             or fewer packets or a shorter packet_interval in the module",
        );
    }
    (ctx.error_count() == before).then(|| ProbeSpec {
        name: file.name.into_inner(),
        module: file.module.into_inner(),
        target: file.target.into_inner(),
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
    let hint = unknown_module_hint(module.get_ref(), &names);
    ctx.error_hint(
        module.span(),
        path,
        format!("unknown module {:?}", module.get_ref()),
        hint,
    );
}

/// The hint for a module `name` that is not among `names`: the closest one when
/// it looks like a typo, and the list. Shared by `[[probes]]` and `outpost probe`,
/// so that both say it the same way.
pub(crate) fn unknown_module_hint(name: &str, names: &[&str]) -> String {
    let defined = format!("defined modules: {}", names.join(", "));
    match values::suggest(name, names.iter().copied()) {
        Some(close) => format!("did you mean {close:?}? {defined}"),
        None if names.is_empty() => "no modules are defined; add one as [modules.NAME]".to_string(),
        None => defined,
    }
}

/// The target as the module's prober parses it when a run starts.
fn check_target(ctx: &mut Ctx<'_>, path: &str, target: &Spanned<String>, kind: ProberKind) {
    if let Err(e) = kind.check_target(target.get_ref()) {
        ctx.error_hint(target.span(), path, e.message, e.hint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names() {
        use values::is_label_name;
        assert!(is_label_name("target_region"));
        assert!(is_label_name("_x1"));
        assert!(!is_label_name("1x"));
        assert!(!is_label_name("a-b"));
        assert!(!is_label_name(""));
    }
}
