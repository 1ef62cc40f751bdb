//! `[[discover]]`: which AWS resources become probes, and the probe each gets.
//! Checked like a `[[probes]]` entry (its probe keys go through the same
//! builder), plus the service, regions, tag keys and target template.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::aws::{tag_filters, tag_labels, AwsConfig, TagFilterFile};
use super::file::{DurationText, ProbeFile, StringMap};
use super::modules::ModuleSummary;
use super::tree::{self, decode};
use super::validate::Ctx;
use super::{probes, values, ProbeSpec};
use crate::discovery::{
    DiscoverService, DiscoverSpec, Template, DEFAULT_GRACE, DEFAULT_MAX_PROBES,
};

/// The largest `max_probes`: a discovered probe is as costly as a written one,
/// and a typo should not schedule a region's every resource.
const MAX_PROBES_LIMIT: usize = 10_000;

/// One `[[discover]]` entry as written. The probe keys are those of
/// `[[probes]]` but `name` and `target`, which are made per resource (serde's
/// `flatten` does not work with `deny_unknown_fields`, hence the repetition).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(crate) struct DiscoverFile {
    pub name: Spanned<String>,
    pub service: Spanned<String>,
    pub regions: Option<Spanned<Vec<Spanned<String>>>>,
    pub tag_filters: Option<TagFilterFile>,
    pub tag_labels: Option<Spanned<Vec<Spanned<String>>>>,
    pub max_probes: Option<Spanned<i64>>,
    pub grace: Option<Spanned<i64>>,
    pub module: Spanned<String>,
    pub target: Spanned<String>,
    pub interval: Spanned<DurationText>,
    pub timeout: Option<Spanned<DurationText>>,
    pub labels: Option<StringMap>,
    pub fan_out: Option<Spanned<String>>,
    pub fan_out_success: Option<Spanned<String>>,
    pub max_addresses: Option<Spanned<i64>>,
    pub address_grace: Option<Spanned<i64>>,
    pub ip_protocols: Option<Spanned<Vec<Spanned<String>>>>,
}

/// A decoded entry, checked once the modules, `[aws]` and probes are known.
pub(crate) struct Entry {
    path: String,
    span: std::ops::Range<usize>,
    file: DiscoverFile,
}

/// Decodes the `discover` array; entries that do not decode are reported.
pub(crate) fn decode_all(ctx: &mut Ctx<'_>, value: &Spanned<DeValue<'_>>) -> Vec<Entry> {
    let Some(list) = value.get_ref().as_array() else {
        ctx.error_hint(
            value.span(),
            "discover",
            "must be an array of tables",
            "write each entry as [[discover]]",
        );
        return Vec::new();
    };
    let mut entries = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let path = tree::index("discover", i);
        if let Some(file) = decode::<DiscoverFile>(ctx, item, &path) {
            entries.push(Entry {
                path,
                span: item.span(),
                file,
            });
        }
    }
    entries
}

/// What the entries are checked against.
pub(crate) struct Known<'a> {
    pub modules: &'a BTreeMap<String, ModuleSummary>,
    /// `None`: no `[aws]` (then no entry is valid), or an `[aws]` with errors.
    pub aws: Option<&'a AwsConfig>,
    pub aws_written: bool,
    pub probes: &'a [ProbeSpec],
}

/// Checks every entry; the valid ones in file order.
pub(crate) fn build_all(
    ctx: &mut Ctx<'_>,
    entries: Vec<Entry>,
    known: &Known<'_>,
) -> Vec<DiscoverSpec> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for entry in entries {
        let name = &entry.file.name;
        let at = ctx.base + name.span().start;
        if let Some(first) = seen.get(name.get_ref()) {
            let (line, _) = super::error::line_col(ctx.text(), *first);
            ctx.error_hint(
                name.span(),
                &tree::key(&entry.path, "name"),
                format!("duplicate discover name {:?}", name.get_ref()),
                format!("first used on line {line}; names of [[discover]] entries must be unique"),
            );
        } else {
            seen.insert(name.get_ref().clone(), at);
        }
        if let Some(spec) = build(ctx, entry, known) {
            out.push(spec);
        }
    }
    out
}

fn build(ctx: &mut Ctx<'_>, entry: Entry, known: &Known<'_>) -> Option<DiscoverSpec> {
    let before = ctx.error_count();
    let Entry { path, span, file } = entry;
    let name = check_name(ctx, &path, &file.name, known.probes);
    let service = service(ctx, &path, &file.service);
    let aws = match known.aws {
        Some(aws) => Some(aws),
        None if known.aws_written => None,
        None => {
            ctx.error_hint(
                span.start..span.start,
                &path,
                "[[discover]] needs an [aws] section",
                "discovery probes what the AWS scrape finds: add [aws] with regions = [...]",
            );
            None
        }
    };
    if let (Some(aws), Some(service)) = (aws, service) {
        if !aws.services.contains(&service.aws()) {
            ctx.error_hint(
                file.service.span(),
                &tree::key(&path, "service"),
                format!("[aws] does not scrape {}", service.name()),
                format!("add \"{}\" to [aws] services", service.name()),
            );
        }
    }
    let regions = regions(ctx, &path, file.regions.as_ref(), aws);
    let tag_filters = tag_filters(
        ctx,
        &tree::key(&path, "tag_filters"),
        file.tag_filters.as_ref(),
    );
    let tag_labels = tag_labels(
        ctx,
        &tree::key(&path, "tag_labels"),
        file.tag_labels.as_ref(),
    );
    let max_probes = match &file.max_probes {
        None => Some(DEFAULT_MAX_PROBES),
        Some(n) => count(ctx, &tree::key(&path, "max_probes"), n, 1, MAX_PROBES_LIMIT),
    };
    let grace = match &file.grace {
        None => Some(DEFAULT_GRACE),
        Some(n) => count(ctx, &tree::key(&path, "grace"), n, 0, 1000).map(|g| g as u32),
    };
    let template = service.and_then(|s| {
        match Template::parse(file.target.get_ref(), s.fields()) {
            Ok(t) => Some(t),
            Err(e) => {
                // The error points into the string, past its opening quote.
                let at = file.target.span().start + 1 + e.offset;
                ctx.error_hint(at..at + 1, &tree::key(&path, "target"), e.message, e.hint);
                None
            }
        }
    });
    // The probe each resource gets is checked as a [[probes]] entry is.
    let example = match (service, &template) {
        (Some(s), Some(t)) => t.render(|f| s.example(f)),
        _ => None,
    };
    if let Some(labels) = &file.labels {
        reserved_labels(ctx, &path, labels, service, &tag_labels);
    }
    // The target is checked here, as an example resource would make it.
    let kind = known
        .modules
        .get(file.module.get_ref())
        .and_then(|m| m.kind);
    if let (Some(kind), Some(example)) = (kind, &example) {
        if let Err(e) = kind.check_target(example) {
            ctx.error_hint(
                file.target.span(),
                &tree::key(&path, "target"),
                format!(
                    "{} (the target an example resource makes: {example:?})",
                    e.message
                ),
                e.hint,
            );
        }
    }
    let probe_file = ProbeFile {
        name: file.name,
        module: file.module,
        target: Spanned::new(file.target.span(), example.unwrap_or_default()),
        interval: file.interval,
        timeout: file.timeout,
        labels: file.labels,
        fan_out: file.fan_out,
        fan_out_success: file.fan_out_success,
        max_addresses: file.max_addresses,
        address_grace: file.address_grace,
        ip_protocols: file.ip_protocols,
    };
    let probe = probes::build_probe(ctx, &path, probe_file, known.modules, false);
    if ctx.error_count() != before {
        return None;
    }
    Some(DiscoverSpec {
        name: name?,
        service: service?,
        regions,
        tag_filters,
        tag_labels,
        target: template?,
        probe: probe?,
        max_probes: max_probes?,
        grace: grace?,
    })
}

/// The entry's name: it starts every probe name it makes (`NAME/REGION/ID`), so
/// it must not be the start of a `[[probes]]` name too.
fn check_name(
    ctx: &mut Ctx<'_>,
    path: &str,
    name: &Spanned<String>,
    probes: &[ProbeSpec],
) -> Option<String> {
    let key = tree::key(path, "name");
    let text = name.get_ref();
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if text.is_empty() || !text.chars().all(valid) {
        ctx.error_hint(
            name.span(),
            &key,
            format!("invalid discover name {text:?}"),
            "use letters, digits, _, - and .: it starts the name of every probe the entry makes (NAME/REGION/RESOURCE)",
        );
        return None;
    }
    let prefix = format!("{text}/");
    if let Some(p) = probes.iter().find(|p| p.name.starts_with(&prefix)) {
        ctx.error_hint(
            name.span(),
            &key,
            format!(
                "the [[probes]] entry {:?} has a name this entry's probes could take",
                p.name
            ),
            format!(
                "probes made by this entry are named {text}/REGION/RESOURCE: rename one of them"
            ),
        );
        return None;
    }
    Some(text.clone())
}

fn service(ctx: &mut Ctx<'_>, path: &str, name: &Spanned<String>) -> Option<DiscoverService> {
    let found = DiscoverService::ALL
        .iter()
        .find(|s| s.name() == name.get_ref());
    if found.is_none() {
        let valid: Vec<&str> = DiscoverService::ALL.iter().map(|s| s.name()).collect();
        let hint = match values::suggest(name.get_ref(), valid.iter().copied()) {
            Some(close) => format!("did you mean {close:?}? "),
            None => String::new(),
        };
        ctx.error_hint(
            name.span(),
            &tree::key(path, "service"),
            format!("unknown discover service {:?}", name.get_ref()),
            format!("{hint}\"elbv2\" probes load balancers, \"rds\" DB instances"),
        );
    }
    found.copied()
}

/// `regions`, each one `[aws]` scrapes; all of `[aws]`'s when not given.
fn regions(
    ctx: &mut Ctx<'_>,
    path: &str,
    list: Option<&Spanned<Vec<Spanned<String>>>>,
    aws: Option<&AwsConfig>,
) -> Vec<String> {
    let Some(list) = list else {
        return aws.map(|a| a.regions.clone()).unwrap_or_default();
    };
    let key = tree::key(path, "regions");
    if list.get_ref().is_empty() {
        ctx.error_hint(
            list.span(),
            &key,
            "must list at least one region",
            "leave regions out to look in every region of [aws]",
        );
    }
    let mut out: Vec<String> = Vec::new();
    for region in list.get_ref() {
        let name = region.get_ref();
        if let Some(aws) = aws.filter(|a| !a.regions.contains(name)) {
            ctx.error_hint(
                region.span(),
                &key,
                format!("`{name}` is not in [aws] regions"),
                format!(
                    "discovery reads the AWS scrape, which covers {}",
                    aws.regions.join(", ")
                ),
            );
        } else if out.contains(name) {
            ctx.error(region.span(), &key, format!("`{name}` is listed twice"));
        } else {
            out.push(name.clone());
        }
    }
    out
}

fn count(ctx: &mut Ctx<'_>, key: &str, n: &Spanned<i64>, low: usize, high: usize) -> Option<usize> {
    match usize::try_from(*n.get_ref()) {
        Ok(v) if (low..=high).contains(&v) => Some(v),
        _ => {
            ctx.error(
                n.span(),
                key,
                format!(
                    "must be a whole number from {low} to {high}, not {}",
                    n.get_ref()
                ),
            );
            None
        }
    }
}

/// Static labels may not take the names discovery sets (`region`, the
/// resource's, the tags').
fn reserved_labels(
    ctx: &mut Ctx<'_>,
    path: &str,
    labels: &StringMap,
    service: Option<DiscoverService>,
    tag_labels: &[crate::config::aws::TagLabel],
) {
    for name in labels.keys() {
        let n = name.get_ref().as_str();
        let why = if n == "region" {
            Some("the region the resource was found in".to_string())
        } else if service.is_some_and(|s| s.id_label() == n) {
            Some("the resource's identifier, as on its aws_* series".to_string())
        } else {
            tag_labels
                .iter()
                .find(|t| t.label == n)
                .map(|t| format!("the resource's tag {:?} (tag_labels)", t.tag))
        };
        if let Some(why) = why {
            ctx.error_hint(
                name.span(),
                &tree::key(&tree::key(path, "labels"), n),
                format!("label name {n:?} is set by discovery"),
                format!("discovery sets it to {why}; choose another name"),
            );
        }
    }
}
