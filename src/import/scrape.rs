//! `--scrape-config FILE --job NAME`: the static targets of a Prometheus job
//! that scrapes Blackbox's `/probe`, as outpost `[[probes]]`.
//!
//! Each target of the job's `static_configs` becomes one probe: its module is
//! the job's `params.module` (or a target group's `__param_module` label; Blackbox's
//! default `http_2xx` otherwise), its interval the job's `scrape_interval` (else
//! the global one, else Prometheus' 1m), its labels the target group's. Its
//! timeout is what Blackbox would have run with: the module's, capped by the
//! scrape timeout less `--timeout-offset` (0.5s unless changed), written only
//! where outpost's own default would differ. Only the Prometheus keys that say
//! what is probed and how often are read; the rest of the file is not checked.

use std::collections::HashSet;
use std::time::Duration;

use super::blackbox::ModuleOut;
use super::emit::{Item, Table, Val};
use super::yaml::{Key, Node, Pos, Value};
use super::Walk;
use crate::config::{duration, tree};

/// Blackbox's default `--timeout-offset`.
const TIMEOUT_OFFSET: Duration = Duration::from_millis(500);
/// outpost's timeout of a probe with neither its own nor a module timeout, at most.
const OUTPOST_DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Prometheus' defaults.
const DEFAULT_INTERVAL: &str = "1m";
const DEFAULT_TIMEOUT: &str = "10s";
/// Blackbox's module when `/probe` is not given one.
const DEFAULT_MODULE: &str = "http_2xx";

/// The notes above `[[probes]]` and the probes, or refusals in `walk`.
pub(crate) fn probes(
    walk: &mut Walk,
    root: &Node,
    job: &str,
    modules: &[ModuleOut],
) -> (Vec<String>, Vec<Table>) {
    let mut notes = vec![format!(
        "Probes from the static targets of job {job:?} in {}.",
        walk.file.display()
    )];
    let Value::Map(top) = &root.value else {
        walk.refuse(root.at, "", "the scrape config must be a mapping", None);
        return (notes, Vec::new());
    };
    let global = entry(top, "global").map(|(_, n)| n);
    let global_interval = setting(walk, global, "global.scrape_interval", DEFAULT_INTERVAL);
    let global_timeout = setting(walk, global, "global.scrape_timeout", DEFAULT_TIMEOUT);
    let jobs: Vec<&Node> = match entry(top, "scrape_configs").map(|(_, n)| &n.value) {
        Some(Value::Seq(items)) => items.iter().collect(),
        _ => Vec::new(),
    };
    let Some(job_node) = jobs
        .iter()
        .find(|j| field(j, "job_name").and_then(Node::text) == Some(job))
    else {
        let names: Vec<&str> = jobs
            .iter()
            .filter_map(|j| field(j, "job_name").and_then(Node::text))
            .collect();
        let mut hint = format!("jobs in this file: {}", names.join(", "));
        if entry(top, "scrape_config_files").is_some() {
            hint.push_str(" (those of scrape_config_files are not read: give that file instead)");
        }
        walk.refuse(
            root.at,
            "scrape_configs",
            format!("no scrape config has job_name {job:?}"),
            Some(hint),
        );
        return (notes, Vec::new());
    };
    let job_path = format!("scrape_configs[job_name={job:?}]");
    let Value::Map(job_entries) = &job_node.value else {
        return (notes, Vec::new());
    };
    let (Some((interval_text, interval)), Some((_, global_timeout))) =
        (global_interval, global_timeout)
    else {
        return (notes, Vec::new());
    };
    let own_interval = setting(
        walk,
        Some(job_node),
        &format!("{job_path}.scrape_interval"),
        &interval_text,
    );
    let own_timeout = entry(job_entries, "scrape_timeout");
    let Some((interval_text, interval)) = own_interval.or(Some((interval_text, interval))) else {
        return (notes, Vec::new());
    };
    let scrape_timeout = match own_timeout {
        Some(_) => {
            let Some((_, t)) = setting(
                walk,
                Some(job_node),
                &format!("{job_path}.scrape_timeout"),
                "",
            ) else {
                return (notes, Vec::new());
            };
            if t > interval {
                walk.refuse(
                    job_node.at,
                    &format!("{job_path}.scrape_timeout"),
                    "scrape_timeout is greater than scrape_interval (Prometheus refuses it too)",
                    None,
                );
            }
            t
        }
        // Prometheus caps the global timeout at the job's interval.
        None => global_timeout.min(interval),
    };
    metrics_path(walk, &job_path, job_node, job_entries);
    let module = job_module(walk, &job_path, job_node, job_entries, &mut notes);
    for (key, _) in job_entries {
        if key.name == "relabel_configs" {
            notes.push(
                "Its relabel_configs are not applied: each target is probed as written in static_configs."
                    .into(),
            );
        } else if key.name.ends_with("_sd_configs") {
            notes.push(format!(
                "Its {} are not imported: only static_configs targets are.",
                key.name
            ));
        }
    }
    let Some(groups) = entry(job_entries, "static_configs") else {
        walk.refuse(
            job_node.at,
            &job_path,
            "the job has no static_configs",
            Some("only static targets can be imported as [[probes]]".into()),
        );
        return (notes, Vec::new());
    };
    let timing = Timing {
        interval,
        interval_text,
        scrape_timeout,
    };
    let mut out = Vec::new();
    let mut names = HashSet::new();
    let Value::Seq(groups) = &groups.1.value else {
        return (notes, out);
    };
    for group in groups {
        target_group(
            walk, &job_path, group, &module, &timing, modules, &mut names, &mut out,
        );
    }
    (notes, out)
}

struct Timing {
    interval: Duration,
    interval_text: String,
    scrape_timeout: Duration,
}

/// The module a job's `params` name, and where (the job itself for the default).
struct JobModule {
    name: String,
    at: Pos,
}

fn job_module(
    walk: &mut Walk,
    job_path: &str,
    job: &Node,
    entries: &[(Key, Node)],
    notes: &mut Vec<String>,
) -> JobModule {
    let mut module = JobModule {
        name: DEFAULT_MODULE.into(),
        at: job.at,
    };
    let Some((_, params)) = entry(entries, "params") else {
        return module;
    };
    let Value::Map(params) = &params.value else {
        return module;
    };
    for (key, value) in params {
        let at = format!("{job_path}.params.{}", key.name);
        if key.name != "module" {
            walk.refuse(
                key.at,
                &at,
                format!(
                    "outpost's [[probes]] have no equivalent of /probe's `{}` parameter",
                    key.name
                ),
                Some("a scheduled probe takes only a module and a target".into()),
            );
            continue;
        }
        let values: Vec<&Node> = match &value.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![value],
        };
        if let Some(first) = values.first() {
            module.name = first.text().unwrap_or_default().to_string();
            module.at = first.at;
        }
        if values.len() > 1 {
            notes.push(format!(
                "params.module lists {} modules: Blackbox uses the first, {:?}.",
                values.len(),
                module.name
            ));
        }
    }
    module
}

/// Refuses a job that does not scrape a `/probe` endpoint.
fn metrics_path(walk: &mut Walk, job_path: &str, job: &Node, entries: &[(Key, Node)]) {
    let (at, path) = match entry(entries, "metrics_path") {
        Some((_, value)) => (value.at, value.text().unwrap_or_default()),
        None => (job.at, "/metrics"),
    };
    if !path.ends_with("/probe") {
        walk.refuse(
            at,
            &format!("{job_path}.metrics_path"),
            format!("the job scrapes {path:?}, not Blackbox's /probe"),
            Some("give the job that scrapes Blackbox (metrics_path: /probe)".into()),
        );
    }
}

/// One `static_configs` item: a probe per target.
#[allow(clippy::too_many_arguments)]
fn target_group(
    walk: &mut Walk,
    job_path: &str,
    group: &Node,
    job_module: &JobModule,
    timing: &Timing,
    modules: &[ModuleOut],
    names: &mut HashSet<String>,
    out: &mut Vec<Table>,
) {
    let Value::Map(entries) = &group.value else {
        return;
    };
    let mut module = (job_module.name.clone(), job_module.at);
    let mut labels = Vec::new();
    let mut label_origins = Vec::new();
    let mut notes = Vec::new();
    if let Some((
        _,
        Node {
            value: Value::Map(ls),
            ..
        },
    )) = entry(entries, "labels")
    {
        for (key, value) in ls {
            let text = value.text().unwrap_or_default().to_string();
            if key.name == "__param_module" {
                module = (text, value.at);
            } else if key.name.starts_with("__param_") {
                walk.refuse(
                    key.at,
                    &format!("{job_path}.static_configs.labels.{}", key.name),
                    format!(
                        "outpost's [[probes]] have no equivalent of /probe's `{}` parameter",
                        key.name.trim_start_matches("__param_")
                    ),
                    Some("a scheduled probe takes only a module and a target".into()),
                );
            } else if key.name.starts_with("__") {
                notes.push(format!(
                    "Label {} is left out: Prometheus uses it for the scrape, it labels no series.",
                    key.name
                ));
            } else {
                label_origins.push((key.name.clone(), key.at));
                labels.push((key.name.clone(), Val::Str(text)));
            }
        }
    }
    let Some(found) = modules.iter().find(|m| m.name == module.0) else {
        walk.refuse(
            module.1,
            &format!("{job_path}.params.module"),
            format!(
                "module {:?} is not defined in the Blackbox configuration",
                module.0
            ),
            Some(format!(
                "its modules: {}",
                modules
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
        return;
    };
    let Some((
        _,
        Node {
            value: Value::Seq(targets),
            ..
        },
    )) = entry(entries, "targets")
    else {
        return;
    };
    for target in targets {
        let Some(text) = target.text() else {
            continue;
        };
        let path = tree::index("probes", out.len());
        walk.origin(&path, target.at);
        walk.origin(&tree::key(&path, "module"), module.1);
        for (name, at) in &label_origins {
            walk.origin(&tree::key(&tree::key(&path, "labels"), name), *at);
        }
        let mut probe = Table {
            notes: notes.clone(),
            ..Table::default()
        };
        probe.val("name", Val::Str(unique(names, &module.0, text)));
        probe.val("module", Val::Str(module.0.clone()));
        probe.val("target", Val::Str(text.into()));
        probe.val("interval", Val::Str(timing.interval_text.clone()));
        if let Some((timeout, comment)) = timeout(found.timeout, timing) {
            probe.push("timeout", Item::Val(Val::Str(timeout)), Some(comment));
        }
        if !labels.is_empty() {
            probe.val("labels", Val::Inline(labels.clone()));
        }
        out.push(probe);
    }
}

/// The probe timeout to write, when Blackbox's would differ from outpost's
/// default (the module's, else the interval up to 10s).
fn timeout(module: Option<Duration>, timing: &Timing) -> Option<(String, String)> {
    let max = timing.scrape_timeout.checked_sub(TIMEOUT_OFFSET);
    let blackbox = match (module, max) {
        (Some(m), Some(max)) if m < max => m,
        (_, Some(max)) if !max.is_zero() => max,
        // A scrape timeout within the offset: Blackbox would run with no time at all
        // (or the module's); outpost uses the scrape timeout.
        (Some(m), _) => m,
        (None, _) => timing.scrape_timeout,
    };
    let outpost = module.unwrap_or(timing.interval.min(OUTPOST_DEFAULT_TIMEOUT));
    (blackbox != outpost).then(|| {
        let scrape = duration::format(timing.scrape_timeout);
        let why = if blackbox == timing.scrape_timeout {
            format!("the scrape timeout {scrape}: less Blackbox's --timeout-offset 0.5s, nothing would be left")
        } else {
            format!("as Blackbox: the scrape timeout {scrape} less --timeout-offset 0.5s (its default)")
        };
        (duration::format(blackbox), why)
    })
}

/// `module-target` (the target's scheme and trailing slash left out), made unique
/// with `-2`, `-3` ...
fn unique(names: &mut HashSet<String>, module: &str, target: &str) -> String {
    let bare = target
        .split_once("://")
        .map_or(target, |(_, rest)| rest)
        .trim_end_matches('/');
    let base = format!("{module}-{bare}");
    let mut name = base.clone();
    let mut n = 1;
    while !names.insert(name.clone()) {
        n += 1;
        name = format!("{base}-{n}");
    }
    name
}

/// A duration setting of `node` (`path`'s last segment), or `default` when absent;
/// `None` after a refusal.
fn setting(
    walk: &mut Walk,
    node: Option<&Node>,
    path: &str,
    default: &str,
) -> Option<(String, Duration)> {
    let name = path.rsplit('.').next().unwrap_or(path);
    let found = node.and_then(|n| field(n, name));
    let (text, at) = match found {
        Some(value) => (value.text().unwrap_or_default(), value.at),
        None if default.is_empty() => return None,
        None => (default, Pos::default()),
    };
    match duration::parse(text) {
        Ok(d) if !d.is_zero() => Some((text.to_string(), d)),
        Ok(_) => {
            walk.refuse(at, path, "must be greater than zero", None);
            None
        }
        Err(e) => {
            walk.refuse(at, path, e, None);
            None
        }
    }
}

fn entry<'n>(entries: &'n [(Key, Node)], name: &str) -> Option<&'n (Key, Node)> {
    entries.iter().find(|(k, _)| k.name == name)
}

fn field<'n>(node: &'n Node, name: &str) -> Option<&'n Node> {
    match &node.value {
        Value::Map(entries) => entry(entries, name).map(|(_, v)| v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(interval: u64, scrape_timeout_ms: u64) -> Timing {
        Timing {
            interval: Duration::from_secs(interval),
            interval_text: format!("{interval}s"),
            scrape_timeout: Duration::from_millis(scrape_timeout_ms),
        }
    }

    #[test]
    fn timeouts_are_written_only_where_blackbox_and_outpost_differ() {
        let secs = |s| Some(Duration::from_secs(s));
        // The module's 5s is below 10s - 0.5s: the same in both.
        assert_eq!(timeout(secs(5), &timing(15, 10_000)), None);
        // No module timeout: Blackbox 9.5s, outpost 10s.
        assert_eq!(
            timeout(None, &timing(15, 10_000)).map(|t| t.0),
            Some("9500ms".into())
        );
        // A module timeout over the scrape timeout: capped.
        assert_eq!(
            timeout(secs(20), &timing(15, 15_000)).map(|t| t.0),
            Some("14500ms".into())
        );
    }

    #[test]
    fn names_are_module_and_target_made_unique() {
        let mut names = HashSet::new();
        assert_eq!(
            unique(&mut names, "http_2xx", "https://a.example/"),
            "http_2xx-a.example"
        );
        assert_eq!(
            unique(&mut names, "http_2xx", "http://a.example"),
            "http_2xx-a.example-2"
        );
        assert_eq!(unique(&mut names, "tcp", "db:5432"), "tcp-db:5432");
    }
}
