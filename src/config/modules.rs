//! `[modules.NAME]`: the prober, the module timeout, the run-duration buckets, the
//! failure-reason pre-creation, and the one settings block that matches the prober.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::file::ModuleFile;
use super::secret;
use super::tree::{self, child, decode};
use super::validate::Ctx;
use super::values;
use super::{Module, ModuleIdentity, Prober, DEFAULT_RUN_DURATION_BUCKETS};
use crate::probe::{ProberKind, NOT_YET};

/// What the probe checks need to know of a module, valid or not.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModuleSummary {
    /// `Some` when the prober is one outpost supports.
    pub(crate) kind: Option<ProberKind>,
    /// The module's own timeout, when it parsed.
    pub(crate) timeout: Option<Duration>,
    /// How long its packet train takes to send (`packet_interval` × `packets`),
    /// when it sends one: a probe's timeout must not be shorter.
    pub(crate) train: Option<Duration>,
}

/// Builds every module in `[modules]`. The summaries cover every module named in
/// the file, including those with errors, so that probes using them are not
/// also told the module does not exist.
pub(crate) fn build_all(
    ctx: &mut Ctx<'_>,
    value: &Spanned<DeValue<'_>>,
) -> (
    BTreeMap<String, Arc<Module>>,
    BTreeMap<String, ModuleSummary>,
) {
    let mut modules = BTreeMap::new();
    let mut summaries = BTreeMap::new();
    let Some(table) = value.get_ref().as_table() else {
        ctx.error_hint(
            value.span(),
            "modules",
            "must be a table of modules",
            "write each module as [modules.NAME]",
        );
        return (modules, summaries);
    };
    for (name, module_value) in table.iter() {
        let name = name.get_ref().to_string();
        let (module, summary) = build_module(ctx, &name, module_value);
        if let Some(module) = module {
            modules.insert(name.clone(), Arc::new(module));
        }
        summaries.insert(name, summary);
    }
    (modules, summaries)
}

fn build_module(
    ctx: &mut Ctx<'_>,
    name: &str,
    value: &Spanned<DeValue<'_>>,
) -> (Option<Module>, ModuleSummary) {
    let path = tree::key("modules", name);
    let mut summary = ModuleSummary::default();
    let before = ctx.error_count();
    let files_mark = ctx.files_read_count();
    let own = module_keys(ctx, &path, value);
    let file = decode::<ModuleFile>(ctx, &own, &path);
    let timeout = file
        .as_ref()
        .and_then(|f| f.timeout.as_ref())
        .and_then(|t| values::duration(ctx, &tree::key(&path, "timeout"), t, true));
    summary.timeout = timeout;
    ctx.set_module_timeout(timeout.unwrap_or(super::DEFAULT_MODULE_TIMEOUT));
    let buckets = match file.as_ref().and_then(|f| f.run_duration_buckets.as_ref()) {
        Some(b) => buckets(ctx, &tree::key(&path, "run_duration_buckets"), b),
        None => DEFAULT_RUN_DURATION_BUCKETS.to_vec(),
    };
    // The prober block is checked even when the module table has an error, so
    // that its own mistakes are reported in the same pass.
    let prober = match file.as_ref() {
        Some(f) => Some(f.prober.clone()),
        None => child(value, "prober").and_then(|p| {
            p.get_ref()
                .as_str()
                .map(|s| Spanned::new(p.span(), s.to_string()))
        }),
    };
    // Every `Secret` the prober's file models decode is recorded, to be hidden in
    // the module dump below.
    let (prober, secrets) =
        secret::collect(|| prober.and_then(|p| build_prober(ctx, &path, &p, value, &mut summary)));
    if ctx.error_count() > before {
        return (None, summary);
    }
    summary.train = prober
        .as_ref()
        .and_then(Prober::packet_train)
        .map(|t| t.interval.saturating_mul(t.count));
    let module = prober.map(|prober| Module {
        name: name.to_string(),
        timeout,
        prober,
        run_duration_buckets: buckets,
        precreate_failure_reasons: file
            .as_ref()
            .and_then(|f| f.precreate_failure_reasons)
            .unwrap_or(false),
        redacted: tree::redact(value, &secrets),
        identity: ModuleIdentity::of(&tree::canonical(value), ctx.files_read_since(files_mark)),
    });
    (module, summary)
}

/// Whether `key` names a prober's settings block, implemented or not yet.
fn is_prober_block(key: &str) -> bool {
    ProberKind::from_name(key).is_some() || NOT_YET.contains(&key)
}

/// The keys of [`ModuleFile`]; the rest of a module table is prober blocks.
const MODULE_KEYS: &[&str] = &[
    "prober",
    "timeout",
    "run_duration_buckets",
    "precreate_failure_reasons",
];

/// The module table with only its own keys, for [`ModuleFile`]: prober blocks are
/// the probers' own to decode, and any other key is reported here, with every
/// valid key (prober blocks included) in the hint.
fn module_keys<'i>(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: &Spanned<DeValue<'i>>,
) -> Spanned<DeValue<'i>> {
    let DeValue::Table(table) = value.get_ref() else {
        return value.clone();
    };
    let mut valid = MODULE_KEYS.to_vec();
    valid.extend(ProberKind::names());
    let mut own = DeTable::new();
    for (k, v) in table.iter() {
        let key = k.get_ref().as_ref();
        if MODULE_KEYS.contains(&key) {
            own.insert(k.clone(), v.clone());
        } else if !is_prober_block(key) {
            ctx.unknown_key(k.span(), path, key, &valid);
        }
    }
    Spanned::new(value.span(), DeValue::Table(own))
}

/// The prober and its settings block; any other prober's block is an error.
fn build_prober(
    ctx: &mut Ctx<'_>,
    path: &str,
    prober: &Spanned<String>,
    value: &Spanned<DeValue<'_>>,
    summary: &mut ModuleSummary,
) -> Option<Prober> {
    let name = prober.get_ref().as_str();
    let prober_path = tree::key(path, "prober");
    let supported = ProberKind::names().join(", ");
    if NOT_YET.contains(&name) {
        ctx.error_hint(
            prober.span(),
            &prober_path,
            format!("prober {name:?} is not supported yet"),
            format!("supported probers: {supported}"),
        );
        return None;
    }
    let Some(kind) = ProberKind::from_name(name) else {
        ctx.error_hint(
            prober.span(),
            &prober_path,
            format!("invalid prober {name:?}"),
            format!("valid values: {supported}"),
        );
        // The settings blocks present are still checked, each as its own prober's:
        // otherwise their mistakes would surface only after the prober is fixed,
        // one `outpost check` later.
        ctx.set_anchor(prober.span());
        if let Some(table) = value.get_ref().as_table() {
            for (block, _) in table.iter() {
                if let Some(kind) = ProberKind::from_name(block.get_ref().as_ref()) {
                    let _ = kind.build(
                        ctx,
                        &tree::key(path, kind.name()),
                        child(value, kind.name()),
                    );
                }
            }
        }
        return None;
    };
    summary.kind = Some(kind);
    if let Some(table) = value.get_ref().as_table() {
        for (block, present) in table.iter() {
            let block = block.get_ref().as_ref();
            if block != kind.name() && is_prober_block(block) {
                ctx.error_hint(
                    present.span(),
                    &tree::key(path, block),
                    format!(
                        "a `{block}` block does not apply to prober {:?}",
                        kind.name()
                    ),
                    format!(
                        "put these settings under `{}`, or remove them",
                        tree::key(path, kind.name())
                    ),
                );
            }
        }
    }
    ctx.set_anchor(prober.span());
    kind.build(
        ctx,
        &tree::key(path, kind.name()),
        child(value, kind.name()),
    )
}

/// `run_duration_buckets`: non-empty, finite, positive, strictly increasing.
fn buckets(ctx: &mut Ctx<'_>, path: &str, value: &Spanned<Vec<Spanned<f64>>>) -> Vec<f64> {
    let list = value.get_ref();
    if list.is_empty() {
        ctx.error_hint(
            value.span(),
            path,
            "must not be empty",
            "remove the key to use the default buckets",
        );
    }
    let mut previous: Option<f64> = None;
    for (i, bound) in list.iter().enumerate() {
        let b = *bound.get_ref();
        let at = tree::index(path, i);
        if !b.is_finite() || b <= 0.0 {
            ctx.error(
                bound.span(),
                &at,
                format!("bucket bound {b} must be a finite number greater than zero"),
            );
        } else if previous.is_some_and(|p| b <= p) {
            ctx.error(
                bound.span(),
                &at,
                format!(
                    "bucket bounds must be strictly increasing, {b} follows {}",
                    previous.unwrap_or_default()
                ),
            );
        }
        previous = Some(b);
    }
    list.iter().map(|b| *b.get_ref()).collect()
}
