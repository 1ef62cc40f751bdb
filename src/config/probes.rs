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
use crate::fanout::{FanOut, SuccessRule};
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
    ("ip", "a fan_out probe's per-address series use it"),
    (
        "discovery",
        "outpost sets it on the series of a probe [[discover]] made",
    ),
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
        if let Some(spec) = build_probe(ctx, &path, file, self.modules, true) {
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

/// One probe's keys; with `target_checked`, its target as the module's prober
/// parses it (`[[discover]]` leaves it out when its template did not parse).
pub(crate) fn build_probe(
    ctx: &mut Ctx<'_>,
    path: &str,
    file: ProbeFile,
    modules: &BTreeMap<String, ModuleSummary>,
    target_checked: bool,
) -> Option<ProbeSpec> {
    let before = ctx.error_count();
    let module = modules.get(file.module.get_ref());
    if module.is_none() {
        unknown_module(ctx, &tree::key(path, "module"), &file.module, modules);
    }
    if let Some(kind) = module.and_then(|m| m.kind).filter(|_| target_checked) {
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
    let fan_out = fan_out(ctx, path, &file, module.and_then(|m| m.kind));
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
        fan_out: fan_out.map(Box::new),
        origin: super::Origin::Config,
    })
}

/// `fan_out`, `fan_out_success`, `max_addresses` and `address_grace`; `kind`
/// is the module's prober when the module exists.
fn fan_out(
    ctx: &mut Ctx<'_>,
    path: &str,
    file: &ProbeFile,
    kind: Option<ProberKind>,
) -> Option<FanOut> {
    let Some(mode) = &file.fan_out else {
        for (key, span) in [
            (
                "fan_out_success",
                file.fan_out_success.as_ref().map(Spanned::span),
            ),
            (
                "max_addresses",
                file.max_addresses.as_ref().map(Spanned::span),
            ),
            (
                "address_grace",
                file.address_grace.as_ref().map(Spanned::span),
            ),
            (
                "ip_protocols",
                file.ip_protocols.as_ref().map(Spanned::span),
            ),
        ] {
            if let Some(span) = span {
                ctx.error_hint(
                    span,
                    &tree::key(path, key),
                    "only applies to a probe with fan_out",
                    "add fan_out = \"all\" to probe every address of the target, or remove this key",
                );
            }
        }
        return None;
    };
    let mut ok = true;
    if mode.get_ref() != "all" {
        ctx.error_hint(
            mode.span(),
            &tree::key(path, "fan_out"),
            format!("unknown fan_out {:?}", mode.get_ref()),
            "the one mode is \"all\": probe every address the target's host resolves to",
        );
        ok = false;
    }
    if kind == Some(ProberKind::Unix) {
        ctx.error_hint(
            mode.span(),
            &tree::key(path, "fan_out"),
            "fan_out needs a prober that dials a host; unix dials a socket path",
            "remove fan_out from this probe",
        );
        ok = false;
    }
    let max_addresses = match &file.max_addresses {
        None => crate::fanout::DEFAULT_MAX_ADDRESSES,
        Some(n) => match usize::try_from(*n.get_ref()) {
            Ok(v) if (1..=1024).contains(&v) => v,
            _ => {
                ctx.error_hint(
                    n.span(),
                    &tree::key(path, "max_addresses"),
                    format!("max_addresses {} is out of range", n.get_ref()),
                    "write a whole number from 1 to 1024 (default 16): how many addresses are probed",
                );
                ok = false;
                crate::fanout::DEFAULT_MAX_ADDRESSES
            }
        },
    };
    let address_grace = match &file.address_grace {
        None => crate::fanout::DEFAULT_ADDRESS_GRACE,
        Some(n) => match u32::try_from(*n.get_ref()) {
            Ok(v) if v <= 1000 => v,
            _ => {
                ctx.error_hint(
                    n.span(),
                    &tree::key(path, "address_grace"),
                    format!("address_grace {} is out of range", n.get_ref()),
                    "write a whole number of runs from 0 to 1000 (default 3)",
                );
                ok = false;
                crate::fanout::DEFAULT_ADDRESS_GRACE
            }
        },
    };
    let success = match &file.fan_out_success {
        None => SuccessRule::All,
        Some(text) => match SuccessRule::parse(text.get_ref()) {
            Some(SuccessRule::Quorum(n)) if n > max_addresses => {
                ctx.error_hint(
                    text.span(),
                    &tree::key(path, "fan_out_success"),
                    format!("a quorum of {n} exceeds max_addresses {max_addresses}"),
                    "no run could ever succeed: lower the quorum or raise max_addresses",
                );
                ok = false;
                SuccessRule::All
            }
            Some(rule) => rule,
            None => {
                ctx.error_hint(
                    text.span(),
                    &tree::key(path, "fan_out_success"),
                    format!("unknown fan_out_success {:?}", text.get_ref()),
                    "write \"all\" (default), \"any\", or a quorum of addresses such as \"2\"",
                );
                ok = false;
                SuccessRule::All
            }
        },
    };
    let families = match &file.ip_protocols {
        None => None,
        Some(list) => {
            let at = tree::key(path, "ip_protocols");
            let mut families = crate::fanout::Families {
                ip4: false,
                ip6: false,
            };
            for item in list.get_ref() {
                let seen = match item.get_ref().as_str() {
                    "ip4" => std::mem::replace(&mut families.ip4, true),
                    "ip6" => std::mem::replace(&mut families.ip6, true),
                    other => {
                        ctx.error_hint(
                            item.span(),
                            &at,
                            format!("unknown IP protocol {other:?}"),
                            "write \"ip4\" and/or \"ip6\"",
                        );
                        ok = false;
                        continue;
                    }
                };
                if seen {
                    ctx.error_hint(
                        item.span(),
                        &at,
                        format!("{:?} is listed twice", item.get_ref()),
                        "name each family once",
                    );
                    ok = false;
                }
            }
            if list.get_ref().is_empty() {
                ctx.error_hint(
                    list.span(),
                    &at,
                    "ip_protocols is empty",
                    "write [\"ip4\", \"ip6\"] to probe the addresses of both families, or remove it to follow the module's preferred_ip_protocol",
                );
                ok = false;
            }
            Some(families)
        }
    };
    ok.then_some(FanOut {
        success,
        max_addresses,
        address_grace,
        families,
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
