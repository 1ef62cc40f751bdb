//! `[[slos]]`: service level objectives over outpost's own probe runs or over the
//! requests CloudWatch counts at the load balancers. Checked here against the
//! probes and modules of the same file; `outpost rules` ([`crate::slo_rules`])
//! turns each into Prometheus recording rules and burn-rate alerts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use toml::de::DeValue;
use toml::Spanned;

use super::duration;
use super::error::line_col;
use super::file::{DurationText, MatcherValue, SelectorFile, SloFile};
use super::tree::{self, decode};
use super::validate::Ctx;
use super::values::{self, is_label_name};
use super::{Module, ProbeSpec};

/// `window` when not set: the usual 30-day budget.
pub const DEFAULT_SLO_WINDOW: Duration = Duration::from_secs(30 * 86_400);
/// The shortest `window`: the long window of the slowest burn-rate alert (3d),
/// which the budget must hold.
pub const MIN_SLO_WINDOW: Duration = Duration::from_secs(3 * 86_400);
/// The longest `window`: the budget's rate averages every 5m-rate sample in it,
/// each evaluation; 90 days is a quarter, the longest budget anyone reports on.
pub const MAX_SLO_WINDOW: Duration = Duration::from_secs(90 * 86_400);

/// One validated `[[slos]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct SloSpec {
    /// `[a-zA-Z0-9_-]+`, unique: the `slo` label and part of the group names.
    pub name: String,
    pub selector: SloSelector,
    pub sli: SliSource,
    /// Percent of good events, strictly between 0 and 100 (`99.99`).
    pub objective: f64,
    /// `latency` and `latency_objective` (`sli = "probes"` only).
    pub latency: Option<LatencyObjective>,
    /// The error budget's window: whole hours, 3d to 90d.
    pub window: Duration,
    /// Added to the SLO's alerts, in the order written.
    pub labels: Vec<(String, String)>,
}

/// Which events an SLO counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SloSelector {
    /// `[[probes]]` entries by name, as written.
    Probes(Vec<String>),
    /// Label name to exact value, in key order. For `sli = "alb"`, the labels of
    /// the CloudWatch series (`region`, `load_balancer`) and `tag_*` labels of
    /// `aws_elbv2_load_balancer_info`; empty selects every ALB.
    Labels(Vec<(String, String)>),
}

impl SloSelector {
    /// Whether the scheduled probe is one the selector picks (`sli = "probes"`): by
    /// name, or when every pair equals one of its static labels or its `probe`,
    /// `module` or `target` label.
    pub fn matches(&self, probe: &ProbeSpec) -> bool {
        match self {
            SloSelector::Probes(names) => names.contains(&probe.name),
            SloSelector::Labels(pairs) => pairs
                .iter()
                .all(|(name, value)| probe_label(probe, name) == Some(value.as_str())),
        }
    }
}

/// The value of label `name` on the series of a scheduled probe.
fn probe_label<'p>(probe: &'p ProbeSpec, name: &str) -> Option<&'p str> {
    match name {
        "probe" => Some(&probe.name),
        "module" => Some(&probe.module),
        "target" => Some(&probe.target),
        _ => probe
            .labels
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str()),
    }
}

/// `sli`: where the good and bad events come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliSource {
    /// outpost's own runs: `probe_runs_total`, `probe_run_duration_seconds`.
    Probes,
    /// Requests CloudWatch counts at Application Load Balancers
    /// (`aws_applicationelb_*_count_sum`).
    Alb,
}

impl SliSource {
    /// As written in `sli`.
    pub fn name(self) -> &'static str {
        match self {
            SliSource::Probes => "probes",
            SliSource::Alb => "alb",
        }
    }
}

/// `latency` and `latency_objective`: `objective` percent of runs finish within
/// `bound`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyObjective {
    /// Seconds: a bucket bound of every module the selected probes use, exactly as
    /// that module has it.
    pub bound: f64,
    /// Percent, strictly between 0 and 100.
    pub objective: f64,
}

/// Labels `outpost rules` or Prometheus set on the SLO's series and alerts, and who.
const RESERVED_LABELS: &[(&str, &str)] = &[
    ("slo", "outpost rules sets it on every SLO series and alert"),
    ("sli", "outpost rules sets it on every SLO series and alert"),
    ("severity", "outpost rules sets it on the burn-rate alerts"),
    ("action", "outpost rules sets it on the burn-rate alerts"),
    (
        "long_window",
        "outpost rules sets it on the burn-rate alerts",
    ),
    (
        "short_window",
        "outpost rules sets it on the burn-rate alerts",
    ),
    ("alertname", "Prometheus sets it on every alert"),
    (
        "region",
        "the regional Prometheus' external labels set it, and the AWS series carry it",
    ),
    ("job", "Prometheus sets it when it scrapes"),
    ("instance", "Prometheus sets it when it scrapes"),
];

const SELECTOR_HINT: &str =
    "name the probes (probes = [\"web\"]) or match their labels (probes = { service = \"web\" })";

const ALB_SELECTOR_HINT: &str = "ALBs are selected by the labels of their CloudWatch series: region, load_balancer, or a tag_* label of aws_elbv2_load_balancer_info ([aws] tag_labels); leave probes out for every ALB";

/// One `[[slos]]` entry as decoded: its key path, the span of its table, the model.
pub(crate) struct Entry {
    path: String,
    span: Range<usize>,
    file: SloFile,
}

/// What the checks need of the rest of the file.
pub(crate) struct Known<'a> {
    /// The valid `[[probes]]` entries.
    pub(crate) probes: &'a [ProbeSpec],
    /// Every `[[probes]]` name, valid entry or not, in file order.
    pub(crate) probe_names: &'a [String],
    /// Whether every `[[probes]]` entry is valid: only then does a selector that
    /// matches none of `probes` surely match nothing.
    pub(crate) probes_complete: bool,
    /// The valid modules.
    pub(crate) modules: &'a BTreeMap<String, Arc<Module>>,
}

/// Decodes the root's `slos` value, each entry on its own so one bad entry does
/// not hide another. The checks against probes and modules come later
/// ([`build_all`]), once those are built.
pub(crate) fn decode_all(ctx: &mut Ctx<'_>, value: &Spanned<DeValue<'_>>) -> Vec<Entry> {
    let Some(list) = value.get_ref().as_array() else {
        ctx.error_hint(
            value.span(),
            "slos",
            "must be an array of tables",
            "write each SLO as [[slos]]",
        );
        return Vec::new();
    };
    let mut entries = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let path = tree::index("slos", i);
        if let Some(file) = decode::<SloFile>(ctx, item, &path) {
            entries.push(Entry {
                path,
                span: item.span(),
                file,
            });
        }
    }
    entries
}

/// Checks every decoded entry; the valid ones, in file order.
pub(crate) fn build_all(ctx: &mut Ctx<'_>, entries: Vec<Entry>, known: &Known<'_>) -> Vec<SloSpec> {
    let mut seen = HashMap::new();
    entries
        .into_iter()
        .filter_map(|entry| build(ctx, entry, known, &mut seen))
        .collect()
}

fn build(
    ctx: &mut Ctx<'_>,
    entry: Entry,
    known: &Known<'_>,
    seen: &mut HashMap<String, usize>,
) -> Option<SloSpec> {
    let before = ctx.error_count();
    let Entry { path, span, file } = entry;
    check_name(ctx, &path, &file.name, seen);
    let sli = sli(ctx, &path, file.sli.as_ref());
    let objective = percent(ctx, &tree::key(&path, "objective"), &file.objective);
    let selector = match sli {
        Some(SliSource::Probes) => probe_selector(ctx, &path, span, file.probes.as_ref(), known),
        Some(SliSource::Alb) => alb_selector(ctx, &path, file.probes.as_ref()),
        None => None,
    };
    let latency = latency(ctx, &path, &file, sli, selector.as_ref(), known);
    let window = window(ctx, &path, file.window.as_ref());
    let labels = match &file.labels {
        Some(labels) => values::labels(ctx, &tree::key(&path, "labels"), labels, RESERVED_LABELS),
        None => Vec::new(),
    };
    if ctx.error_count() != before {
        return None;
    }
    Some(SloSpec {
        name: file.name.into_inner(),
        selector: selector?,
        sli: sli?,
        objective: objective?,
        latency: latency?,
        window: window?,
        labels,
    })
}

fn check_name(
    ctx: &mut Ctx<'_>,
    path: &str,
    name: &Spanned<String>,
    seen: &mut HashMap<String, usize>,
) {
    let at = tree::key(path, "name");
    let text = name.get_ref();
    if text.is_empty() {
        ctx.error(name.span(), &at, "must not be empty");
    } else if !text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        ctx.error_hint(
            name.span(),
            &at,
            format!("SLO name {text:?} has characters outside [a-zA-Z0-9_-]"),
            "it becomes the value of the `slo` label and part of rule group names (slo-NAME-availability)",
        );
    } else if let Some(first) = seen.get(text) {
        let (line, _) = line_col(ctx.text(), *first);
        ctx.error_hint(
            name.span(),
            &at,
            format!("duplicate SLO name {text:?}"),
            format!("first used on line {line}; SLO names must be unique"),
        );
    } else {
        seen.insert(text.clone(), ctx.base + name.span().start);
    }
}

fn sli(ctx: &mut Ctx<'_>, path: &str, value: Option<&Spanned<String>>) -> Option<SliSource> {
    let Some(value) = value else {
        return Some(SliSource::Probes);
    };
    match value.get_ref().as_str() {
        "probes" => Some(SliSource::Probes),
        "alb" => Some(SliSource::Alb),
        other => {
            ctx.error_hint(
                value.span(),
                &tree::key(path, "sli"),
                format!("unknown SLI source {other:?}"),
                "expected \"probes\" (the runs of [[probes]] entries) or \"alb\" (the requests CloudWatch counts at Application Load Balancers)",
            );
            None
        }
    }
}

/// A percentage strictly between 0 and 100 (NaN is not).
fn percent(ctx: &mut Ctx<'_>, path: &str, value: &Spanned<f64>) -> Option<f64> {
    let p = *value.get_ref();
    if p > 0.0 && p < 100.0 {
        return Some(p);
    }
    ctx.error_hint(
        value.span(),
        path,
        format!("{p} is not a percentage strictly between 0 and 100"),
        "write the percentage of good events, e.g. 99.9",
    );
    None
}

fn probe_selector(
    ctx: &mut Ctx<'_>,
    path: &str,
    entry: Range<usize>,
    selector: Option<&Spanned<SelectorFile>>,
    known: &Known<'_>,
) -> Option<SloSelector> {
    let at = tree::key(path, "probes");
    let Some(selector) = selector else {
        ctx.error_hint(
            entry,
            path,
            "missing required key `probes`: an SLO of sli = \"probes\" says which probes it counts",
            SELECTOR_HINT,
        );
        return None;
    };
    let before = ctx.error_count();
    let built = match selector.get_ref() {
        SelectorFile::Names(names) => {
            if names.is_empty() {
                ctx.error_hint(
                    selector.span(),
                    &at,
                    "must name at least one probe",
                    SELECTOR_HINT,
                );
            }
            let mut out: Vec<String> = Vec::with_capacity(names.len());
            for (i, name) in names.iter().enumerate() {
                let text = name.get_ref();
                if out.contains(text) {
                    ctx.error(
                        name.span(),
                        &tree::index(&at, i),
                        format!("probe {text:?} is listed twice"),
                    );
                } else if !known.probe_names.contains(text) {
                    unknown_probe(ctx, &tree::index(&at, i), name, known.probe_names);
                }
                out.push(text.clone());
            }
            SloSelector::Probes(out)
        }
        SelectorFile::Labels(matchers) => {
            if matchers.is_empty() {
                ctx.error_hint(
                    selector.span(),
                    &at,
                    "must hold at least one label matcher",
                    SELECTOR_HINT,
                );
            }
            let pairs = label_matchers(ctx, &at, matchers, |name| {
                (!is_label_name(name)).then(|| {
                    (
                        format!("invalid label name {name:?}"),
                        "label names match [a-zA-Z_][a-zA-Z0-9_]*",
                    )
                })
            });
            let selector_built = SloSelector::Labels(pairs);
            if ctx.error_count() == before
                && known.probes_complete
                && !known.probes.iter().any(|p| selector_built.matches(p))
            {
                ctx.error_hint(
                    selector.span(),
                    &at,
                    "matches no [[probes]] entry",
                    "a probe matches when every pair equals one of its labels, or its probe (name), module or target",
                );
            }
            selector_built
        }
    };
    (ctx.error_count() == before).then_some(built)
}

fn unknown_probe(ctx: &mut Ctx<'_>, path: &str, name: &Spanned<String>, names: &[String]) {
    let hint = match values::suggest(name.get_ref(), names.iter().map(String::as_str)) {
        Some(close) => format!("did you mean {close:?}?"),
        None if names.is_empty() => "no [[probes]] are defined".to_string(),
        None if names.len() <= 12 => format!("defined probes: {}", names.join(", ")),
        None => format!("none of the {} [[probes]] has a close name", names.len()),
    };
    ctx.error_hint(
        name.span(),
        path,
        format!("unknown probe {:?}", name.get_ref()),
        hint,
    );
}

fn alb_selector(
    ctx: &mut Ctx<'_>,
    path: &str,
    selector: Option<&Spanned<SelectorFile>>,
) -> Option<SloSelector> {
    let at = tree::key(path, "probes");
    let Some(selector) = selector else {
        return Some(SloSelector::Labels(Vec::new()));
    };
    let before = ctx.error_count();
    let pairs = match selector.get_ref() {
        SelectorFile::Names(_) => {
            ctx.error_hint(
                selector.span(),
                &at,
                "an SLO of sli = \"alb\" takes a table of label matchers, not probe names",
                ALB_SELECTOR_HINT,
            );
            Vec::new()
        }
        SelectorFile::Labels(matchers) => label_matchers(ctx, &at, matchers, |name| {
            let tag = name.strip_prefix("tag_").is_some_and(|t| !t.is_empty());
            if name == "region" || name == "load_balancer" || (tag && is_label_name(name)) {
                None
            } else if tag {
                Some((
                    format!("invalid label name {name:?}"),
                    "label names match [a-zA-Z_][a-zA-Z0-9_]*",
                ))
            } else {
                Some((format!("unknown key `{name}`"), ALB_SELECTOR_HINT))
            }
        }),
    };
    (ctx.error_count() == before).then_some(SloSelector::Labels(pairs))
}

/// The pairs of a matcher table, in key order. `refuse` says what is wrong with a
/// label name (message and hint), if anything; a refused name's value is not
/// looked at.
fn label_matchers(
    ctx: &mut Ctx<'_>,
    path: &str,
    matchers: &BTreeMap<Spanned<String>, MatcherValue>,
    refuse: impl Fn(&str) -> Option<(String, &'static str)>,
) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(matchers.len());
    for (name, value) in matchers {
        if let Some((message, hint)) = refuse(name.get_ref()) {
            ctx.error_hint(name.span(), path, message, hint);
            continue;
        }
        match value.get_ref() {
            toml::Value::String(text) => out.push((name.get_ref().clone(), text.clone())),
            other => ctx.error_hint(
                value.span(),
                &tree::key(path, name.get_ref()),
                format!("must be a string, not {}", other.type_str()),
                "a matcher is a label name and the exact value it must have",
            ),
        }
    }
    out
}

/// `Some(None)` without latency, `None` after an error.
fn latency(
    ctx: &mut Ctx<'_>,
    path: &str,
    file: &SloFile,
    sli: Option<SliSource>,
    selector: Option<&SloSelector>,
    known: &Known<'_>,
) -> Option<Option<LatencyObjective>> {
    let at = tree::key(path, "latency");
    let (bound, objective) = match (&file.latency, &file.latency_objective) {
        (None, None) => return Some(None),
        (Some(bound), _) if sli == Some(SliSource::Alb) => {
            ctx.error_hint(
                bound.span(),
                &at,
                "an SLO of sli = \"alb\" cannot have a latency objective",
                "CloudWatch gives the ALB's mean and maximum response time, not how many requests were under a bound; declare latency on an sli = \"probes\" SLO",
            );
            return None;
        }
        (Some(bound), None) => {
            ctx.error_hint(
                bound.span(),
                &at,
                "`latency` needs `latency_objective`",
                "latency_objective is the percentage of runs that must finish within `latency`, e.g. latency_objective = 99",
            );
            return None;
        }
        (None, Some(objective)) => {
            ctx.error_hint(
                objective.span(),
                &tree::key(path, "latency_objective"),
                "`latency_objective` needs `latency`",
                "latency is the bound the runs must finish within, e.g. latency = \"500ms\"",
            );
            return None;
        }
        (Some(bound), Some(objective)) => (bound, objective),
    };
    let objective = percent(ctx, &tree::key(path, "latency_objective"), objective);
    let bound = values::duration(ctx, &at, bound, true).map(|d| (bound, d))?;
    let seconds = bucket_bound(ctx, &at, bound, selector, known)?;
    Some(Some(LatencyObjective {
        bound: seconds,
        objective: objective?,
    }))
}

/// The bound in seconds, as the modules of the selected probes have it among their
/// `run_duration_buckets`; an error for each module that lacks it.
fn bucket_bound(
    ctx: &mut Ctx<'_>,
    path: &str,
    (value, bound): (&Spanned<DurationText>, Duration),
    selector: Option<&SloSelector>,
    known: &Known<'_>,
) -> Option<f64> {
    let seconds = bound.as_secs_f64();
    // A bound written in the config and one computed from a duration may differ
    // in the last bit; the module's own value is what its `le` label shows.
    let same = |b: f64| (b - seconds).abs() <= seconds * 1e-12;
    let Some(selector) = selector else {
        return Some(seconds);
    };
    let modules: BTreeSet<&str> = known
        .probes
        .iter()
        .filter(|p| selector.matches(p))
        .map(|p| p.module.as_str())
        .collect();
    let mut found = None;
    let before = ctx.error_count();
    for name in modules {
        let Some(module) = known.modules.get(name) else {
            continue;
        };
        match module.run_duration_buckets.iter().find(|b| same(**b)) {
            Some(b) => found = found.or(Some(*b)),
            None => {
                let buckets: Vec<String> = module
                    .run_duration_buckets
                    .iter()
                    .map(f64::to_string)
                    .collect();
                ctx.error_hint(
                    value.span(),
                    path,
                    format!(
                        "{} ({seconds} s) is not a bucket bound of module {name:?} (run_duration_buckets = [{}])",
                        duration::format(bound),
                        buckets.join(", ")
                    ),
                    format!("add {seconds} to run_duration_buckets of [modules.{name}]: the rules count the runs within the bound from that bucket"),
                );
            }
        }
    }
    (ctx.error_count() == before).then_some(found.unwrap_or(seconds))
}

fn window(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: Option<&Spanned<DurationText>>,
) -> Option<Duration> {
    let Some(value) = value else {
        return Some(DEFAULT_SLO_WINDOW);
    };
    let at = tree::key(path, "window");
    let window = values::duration(ctx, &at, value, true)?;
    let text = &value.get_ref().0;
    let problem = if window.subsec_nanos() != 0 || window.as_secs() % 3600 != 0 {
        Some((
            format!("{text:?} is not a whole number of hours"),
            "the rules' ranges are whole hours or days, e.g. \"30d\" or \"36h\"",
        ))
    } else if window < MIN_SLO_WINDOW {
        Some((
            format!("{text:?} is shorter than 3d"),
            "the slowest burn-rate alert looks at the last 3 days; the budget window must hold them",
        ))
    } else if window > MAX_SLO_WINDOW {
        Some((
            format!("{text:?} is longer than 90d"),
            "the budget's rate averages every 5m-rate sample of the window at each evaluation; 90d is the longest",
        ))
    } else {
        None
    };
    match problem {
        Some((message, hint)) => {
            ctx.error_hint(value.span(), &at, message, hint);
            None
        }
        None => Some(window),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test data is known to be valid")]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    const PROBES: &str = r#"
[modules.http_2xx]
prober = "http"

[modules.fine]
prober = "http"
run_duration_buckets = [0.25, 0.5, 2]

[[probes]]
name = "web"
module = "http_2xx"
target = "https://web.example.com/"
interval = "15s"
labels = { service = "web" }

[[probes]]
name = "api"
module = "fine"
target = "https://api.example.com/"
interval = "30s"
labels = { service = "api" }
"#;

    fn load(slos: &str) -> Result<Config, String> {
        Config::from_str_at(&format!("{PROBES}{slos}"), Path::new("p.toml"))
            .map_err(|e| e.to_string())
    }

    fn errors(slos: &str) -> String {
        match load(slos) {
            Ok(_) => panic!("accepted:\n{slos}"),
            Err(e) => e,
        }
    }

    #[test]
    fn defaults_and_values() {
        let config = load(
            "[[slos]]\nname = \"web\"\nprobes = { service = \"web\" }\nobjective = 99\n\
             [[slos]]\nname = \"api_fast\"\nprobes = [\"api\"]\nobjective = 99.95\n\
             latency = \"250ms\"\nlatency_objective = 90\nwindow = \"7d\"\nlabels = { tier = \"1\", team = \"api\" }\n\
             [[slos]]\nname = \"edge\"\nsli = \"alb\"\nprobes = { tag_team = \"web\", region = \"eu-west-1\" }\nobjective = 99.9\nwindow = \"3d12h\"\n\
             [[slos]]\nname = \"all-albs\"\nsli = \"alb\"\nobjective = 99.9\n",
        );
        let config = config.unwrap();
        let [web, api, edge, all] = config.slos.as_slice() else {
            panic!("{:?}", config.slos);
        };
        assert_eq!(
            web,
            &SloSpec {
                name: "web".into(),
                selector: SloSelector::Labels(vec![("service".into(), "web".into())]),
                sli: SliSource::Probes,
                objective: 99.0,
                latency: None,
                window: Duration::from_secs(30 * 86400),
                labels: vec![],
            }
        );
        assert_eq!(api.selector, SloSelector::Probes(vec!["api".into()]));
        assert_eq!(
            api.latency,
            Some(LatencyObjective {
                bound: 0.25,
                objective: 90.0
            })
        );
        assert_eq!(api.objective, 99.95);
        assert_eq!(api.window, Duration::from_secs(7 * 86400));
        let labels = [("tier", "1"), ("team", "api")].map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(api.labels, labels);
        // Matchers in key order, whatever the order written.
        assert_eq!(
            edge.selector,
            SloSelector::Labels(vec![
                ("region".into(), "eu-west-1".into()),
                ("tag_team".into(), "web".into())
            ])
        );
        assert_eq!(
            (edge.sli, edge.window),
            (SliSource::Alb, Duration::from_secs(84 * 3600))
        );
        assert_eq!(all.selector, SloSelector::Labels(vec![]));
    }

    #[test]
    fn selectors_match_names_labels_and_the_probe_module_target_labels() {
        let config = load("").unwrap();
        let picked = |selector: SloSelector| -> Vec<String> {
            config
                .probes
                .iter()
                .filter(|p| selector.matches(p))
                .map(|p| p.name.clone())
                .collect()
        };
        let pairs = |list: &[(&str, &str)]| {
            SloSelector::Labels(
                list.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert_eq!(picked(SloSelector::Probes(vec!["api".into()])), ["api"]);
        assert_eq!(picked(pairs(&[("service", "web")])), ["web"]);
        assert_eq!(picked(pairs(&[("module", "fine")])), ["api"]);
        assert_eq!(picked(pairs(&[("probe", "web")])), ["web"]);
        assert_eq!(
            picked(pairs(&[("target", "https://api.example.com/")])),
            ["api"]
        );
        assert_eq!(
            picked(pairs(&[("service", "web"), ("module", "fine")])),
            Vec::<String>::new()
        );
        assert_eq!(picked(pairs(&[("absent", "")])), Vec::<String>::new());
    }

    #[test]
    fn each_mistake_is_an_error_at_its_position() {
        // Lines count from PROBES' 21 lines.
        let got = errors(
            "[[slos]]\nname = \"a b\"\nprobes = [\"wev\", \"nothing-like-it\"]\nobjective = 100\n\
             [[slos]]\nname = \"b\"\nsli = \"elb\"\nobjective = 0\n\
             [[slos]]\nname = \"c\"\nprobes = { service = \"db\" }\nobjective = 99\nwindow = \"2d\"\n\
             [[slos]]\nname = \"c\"\nsli = \"alb\"\nprobes = [\"web\"]\nobjective = 99\nlatency = \"1s\"\n",
        );
        let want = [
            "p.toml:23:8: slos[0].name: SLO name \"a b\" has characters outside [a-zA-Z0-9_-] (hint: it becomes the value of the `slo` label and part of rule group names (slo-NAME-availability))",
            "p.toml:24:11: slos[0].probes[0]: unknown probe \"wev\" (hint: did you mean \"web\"?)",
            "p.toml:24:18: slos[0].probes[1]: unknown probe \"nothing-like-it\" (hint: defined probes: web, api)",
            "p.toml:25:13: slos[0].objective: 100 is not a percentage strictly between 0 and 100 (hint: write the percentage of good events, e.g. 99.9)",
            "p.toml:28:7: slos[1].sli: unknown SLI source \"elb\" (hint: expected \"probes\" (the runs of [[probes]] entries) or \"alb\" (the requests CloudWatch counts at Application Load Balancers))",
            "p.toml:29:13: slos[1].objective: 0 is not a percentage strictly between 0 and 100 (hint: write the percentage of good events, e.g. 99.9)",
            "p.toml:32:10: slos[2].probes: matches no [[probes]] entry (hint: a probe matches when every pair equals one of its labels, or its probe (name), module or target)",
            "p.toml:34:10: slos[2].window: \"2d\" is shorter than 3d (hint: the slowest burn-rate alert looks at the last 3 days; the budget window must hold them)",
            "p.toml:36:8: slos[3].name: duplicate SLO name \"c\" (hint: first used on line 31; SLO names must be unique)",
            "p.toml:38:10: slos[3].probes: an SLO of sli = \"alb\" takes a table of label matchers, not probe names (hint: ALBs are selected by the labels of their CloudWatch series: region, load_balancer, or a tag_* label of aws_elbv2_load_balancer_info ([aws] tag_labels); leave probes out for every ALB)",
            "p.toml:40:11: slos[3].latency: an SLO of sli = \"alb\" cannot have a latency objective (hint: CloudWatch gives the ALB's mean and maximum response time, not how many requests were under a bound; declare latency on an sli = \"probes\" SLO)",
        ];
        assert_eq!(got.lines().collect::<Vec<_>>(), want);
    }

    #[test]
    fn latency_must_be_a_bucket_of_every_module_and_come_with_its_objective() {
        let got = errors(
            "[[slos]]\nname = \"a\"\nprobes = [\"api\", \"web\"]\nobjective = 99\nlatency = \"250ms\"\nlatency_objective = 99\n\
             [[slos]]\nname = \"b\"\nprobes = [\"web\"]\nobjective = 99\nlatency = \"500ms\"\n\
             [[slos]]\nname = \"c\"\nprobes = [\"web\"]\nobjective = 99\nlatency_objective = 99\n",
        );
        let want = [
            "p.toml:26:11: slos[0].latency: 250ms (0.25 s) is not a bucket bound of module \"http_2xx\" (run_duration_buckets = [0.5, 2]) (hint: add 0.25 to run_duration_buckets of [modules.http_2xx]: the rules count the runs within the bound from that bucket)",
            "p.toml:32:11: slos[1].latency: `latency` needs `latency_objective` (hint: latency_objective is the percentage of runs that must finish within `latency`, e.g. latency_objective = 99)",
            "p.toml:37:21: slos[2].latency_objective: `latency_objective` needs `latency` (hint: latency is the bound the runs must finish within, e.g. latency = \"500ms\")",
        ];
        assert_eq!(got.lines().collect::<Vec<_>>(), want);
    }

    #[test]
    fn windows_are_whole_hours_from_3d_to_90d() {
        let slo = |window: &str| {
            load(&format!("[[slos]]\nname = \"w\"\nprobes = [\"web\"]\nobjective = 99\nwindow = \"{window}\"\n"))
                .map(|c| c.slos[0].window)
        };
        assert_eq!(slo("3d"), Ok(Duration::from_secs(3 * 86400)));
        assert_eq!(slo("90d"), Ok(Duration::from_secs(90 * 86400)));
        assert_eq!(slo("4w"), Ok(Duration::from_secs(28 * 86400)));
        for (bad, why) in [
            ("71h", "is shorter than 3d"),
            ("91d", "is longer than 90d"),
            ("30d30m", "is not a whole number of hours"),
            ("0s", "must be greater than zero"),
            ("a month", "invalid duration"),
        ] {
            let e = slo(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn selector_mistakes() {
        let got = errors(
            "[[slos]]\nname = \"a\"\nobjective = 99\n\
             [[slos]]\nname = \"b\"\nprobes = []\nobjective = 99\n\
             [[slos]]\nname = \"c\"\nprobes = { \"1x\" = \"a\", service = 1 }\nobjective = 99\n\
             [[slos]]\nname = \"d\"\nsli = \"alb\"\nprobes = { zone = \"a\", tag_ = \"b\", load_balancer = 2 }\nobjective = 99\n\
             [[slos]]\nname = \"e\"\nprobes = [\"web\", \"web\"]\nobjective = 99\nlabels = { slo = \"x\", region = \"y\" }\n",
        );
        let want = [
            "p.toml:22:1: slos[0]: missing required key `probes`: an SLO of sli = \"probes\" says which probes it counts (hint: name the probes (probes = [\"web\"]) or match their labels (probes = { service = \"web\" }))",
            "p.toml:27:10: slos[1].probes: must name at least one probe (hint: name the probes (probes = [\"web\"]) or match their labels (probes = { service = \"web\" }))",
            "p.toml:31:12: slos[2].probes: invalid label name \"1x\" (hint: label names match [a-zA-Z_][a-zA-Z0-9_]*)",
            "p.toml:31:34: slos[2].probes.service: must be a string, not integer (hint: a matcher is a label name and the exact value it must have)",
            "p.toml:36:12: slos[3].probes: unknown key `zone` (hint: ALBs are selected by the labels of their CloudWatch series: region, load_balancer, or a tag_* label of aws_elbv2_load_balancer_info ([aws] tag_labels); leave probes out for every ALB)",
            "p.toml:36:24: slos[3].probes: unknown key `tag_` (hint: ALBs are selected by the labels of their CloudWatch series: region, load_balancer, or a tag_* label of aws_elbv2_load_balancer_info ([aws] tag_labels); leave probes out for every ALB)",
            "p.toml:36:52: slos[3].probes.load_balancer: must be a string, not integer (hint: a matcher is a label name and the exact value it must have)",
            "p.toml:40:18: slos[4].probes[1]: probe \"web\" is listed twice",
            "p.toml:42:12: slos[4].labels.slo: label name \"slo\" is reserved (hint: outpost rules sets it on every SLO series and alert; choose another name)",
            "p.toml:42:23: slos[4].labels.region: label name \"region\" is reserved (hint: the regional Prometheus' external labels set it, and the AWS series carry it; choose another name)",
        ];
        assert_eq!(got.lines().collect::<Vec<_>>(), want);
    }
}
