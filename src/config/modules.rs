//! `[modules.NAME]`: the prober, the module timeout, the run-duration buckets, and
//! the one settings block that matches the prober.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use toml::de::DeValue;
use toml::Spanned;

use super::file::{ModuleFile, TcpFile};
use super::tree::{self, child, decode};
use super::validate::Ctx;
use super::{http_module, tls_files, values};
use super::{IpSettings, Module, Prober, TcpModule, DEFAULT_RUN_DURATION_BUCKETS};

/// Probers outpost implements.
const SUPPORTED: &[&str] = &["http", "tcp"];
/// Blackbox probers outpost does not implement yet.
const NOT_YET: &[&str] = &["dns", "icmp", "grpc", "unix", "websocket"];

/// What the probe checks need to know of a module, valid or not.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModuleSummary {
    /// `Some` when the prober is one outpost supports.
    pub(crate) kind: Option<&'static str>,
    /// The module's own timeout, when it parsed.
    pub(crate) timeout: Option<Duration>,
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
    let file = decode::<ModuleFile>(ctx, value, &path);
    let timeout = file
        .as_ref()
        .and_then(|f| f.timeout.as_ref())
        .and_then(|t| values::duration(ctx, &tree::key(&path, "timeout"), t, true));
    summary.timeout = timeout;
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
    let prober = prober.and_then(|p| build_prober(ctx, &path, &p, value, &mut summary));
    if ctx.error_count() > before {
        return (None, summary);
    }
    let module = prober.map(|prober| Module {
        name: name.to_string(),
        timeout,
        prober,
        run_duration_buckets: buckets,
        redacted: tree::redact(value),
    });
    (module, summary)
}

/// The prober and its settings block; any other block is an error.
fn build_prober(
    ctx: &mut Ctx<'_>,
    path: &str,
    prober: &Spanned<String>,
    value: &Spanned<DeValue<'_>>,
    summary: &mut ModuleSummary,
) -> Option<Prober> {
    let name = prober.get_ref().as_str();
    let prober_path = tree::key(path, "prober");
    if NOT_YET.contains(&name) {
        ctx.error_hint(
            prober.span(),
            &prober_path,
            format!("prober {name:?} is not supported yet"),
            format!("supported probers: {}", SUPPORTED.join(", ")),
        );
        return None;
    }
    let Some(kind) = SUPPORTED.iter().copied().find(|k| *k == name) else {
        ctx.error_hint(
            prober.span(),
            &prober_path,
            format!("invalid prober {name:?}"),
            format!("valid values: {}", SUPPORTED.join(", ")),
        );
        return None;
    };
    summary.kind = Some(kind);
    for block in SUPPORTED.iter().chain(NOT_YET).filter(|b| **b != kind) {
        if let Some(present) = child(value, block) {
            ctx.error_hint(
                present.span(),
                &tree::key(path, block),
                format!("a `{block}` block does not apply to prober {kind:?}"),
                format!(
                    "put these settings under `{}`, or remove them",
                    tree::key(path, kind)
                ),
            );
        }
    }
    let block_path = tree::key(path, kind);
    let block = child(value, kind);
    match kind {
        "http" => http_module::build(ctx, &block_path, block).map(|m| Prober::Http(Box::new(m))),
        _ => build_tcp(ctx, &block_path, block).map(Prober::Tcp),
    }
}

fn build_tcp(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: Option<&Spanned<DeValue<'_>>>,
) -> Option<TcpModule> {
    let Some(value) = value else {
        return Some(TcpModule::default());
    };
    let tls_config = tls_files::build(
        ctx,
        &tree::key(path, "tls_config"),
        child(value, "tls_config"),
    );
    let file = decode::<TcpFile>(ctx, value, path)?;
    let before = ctx.error_count();
    if let Some(q) = &file.query_response {
        ctx.unsupported(
            q.span(),
            &tree::key(path, "query_response"),
            "`query_response`",
        );
    }
    let mut ip = IpSettings::default();
    if let Some(p) = &file.preferred_ip_protocol {
        ip.preferred = values::ip_protocol(ctx, &tree::key(path, "preferred_ip_protocol"), p)
            .unwrap_or_default();
    }
    ip.fallback = file.ip_protocol_fallback.unwrap_or(true);
    if let Some(source) = &file.source_ip_address {
        match source.get_ref().parse() {
            Ok(addr) => ip.source_ip = Some(addr),
            Err(_) => ctx.error_hint(
                source.span(),
                &tree::key(path, "source_ip_address"),
                format!("invalid IP address {:?}", source.get_ref()),
                "write an IPv4 or IPv6 address, e.g. \"10.0.0.5\" or \"2001:db8::5\"",
            ),
        }
    }
    let tls_config = tls_config?;
    (ctx.error_count() == before).then(|| TcpModule {
        ip,
        tls: file.tls.unwrap_or(false),
        tls_config,
    })
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
