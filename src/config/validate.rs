//! One validation pass over the file model, collecting every error.
//!
//! The TOML is parsed once into a tree that keeps spans. Then `[server]`, each
//! module and each probe is deserialized and checked on its own, so one bad
//! entry never hides another; only a TOML syntax error stops the pass. Errors
//! carry `file:line:col`, the key path and a hint, and come out in file order.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use std::sync::Arc;

use super::aws::AwsConfig;
use super::error::{line_col, Snippet};
use super::file::ServerFile;
use super::modules::ModuleSummary;
use super::policy::{Rule, TargetPolicy};
use super::tree::decode;
use super::{discover, identity, listener, modules, probes, slos, split, values};
use super::{Config, ConfigError, ConfigErrors, Module, ServerConfig, STATUS_HISTORY_RANGE};

/// Reads `path`, then parses and validates it; with `web_config_file`
/// (`--web.config.file`), the listener's TLS and basic auth come from that YAML.
pub fn load(path: &Path, web_config_file: Option<&Path>) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            key: String::new(),
            message: format!("cannot read the file: {e}"),
            hint: None,
            snippet: None,
        }])
    })?;
    let config = parse_and_validate_with(&text, path, web_config_file);
    let Some(web) = web_config_file else {
        return config;
    };
    match (config, super::web_file::load(web)) {
        (Ok(mut config), Ok(listener)) => {
            config.server.tls = listener.tls.map(Arc::new);
            config.server.basic_auth_users = listener.basic_auth_users.map(Arc::new);
            config.web_config_file = Some(web.to_path_buf());
            Ok(config)
        }
        (Err(mut errors), Err(more)) => {
            errors.0.extend(more.0);
            Err(errors)
        }
        (Err(errors), Ok(_)) | (Ok(_), Err(errors)) => Err(errors),
    }
}

/// Parses and validates `text` read from `path`. Relative file names inside it
/// (`body_file`, `ca_file` ...) are resolved against the directory of `path`.
pub fn parse_and_validate(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
    parse_and_validate_with(text, path, None)
}

/// As [`parse_and_validate`]; `web_config_file` set means `[server]` must leave
/// the listener's TLS and basic auth to that file.
fn parse_and_validate_with(
    text: &str,
    path: &Path,
    web_config_file: Option<&Path>,
) -> Result<Config, ConfigErrors> {
    // Entry by entry when the file allows (see `split`); whole otherwise, and
    // whenever a piece does not parse, so that TOML errors read as they always did.
    let entries = split::probe_entries(text);
    if let Some(config) = entries.and_then(|e| by_entry(text, path, web_config_file, &e)) {
        return config;
    }
    whole(text, path, web_config_file)
}

/// The file parsed at once into one tree.
fn whole(text: &str, path: &Path, web_config_file: Option<&Path>) -> Result<Config, ConfigErrors> {
    let mut ctx = Ctx::new(path, text);
    ctx.web_config_file = web_config_file.map(Path::to_path_buf);
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().replace('\n', "; ");
            ctx.error(span, "", format!("invalid TOML: {message}"));
            return Err(ctx.into_errors());
        }
    };
    let root = Spanned::new(root.span(), DeValue::Table(root.into_inner()));
    let (rest, probe_list) = build_rest(&mut ctx, &root);
    let mut probes = probes::Builder::new(&rest.summaries);
    if let Some(value) = probe_list {
        probes.add_list(&mut ctx, value);
    }
    let probes = probes.finish(!rest.slos.is_empty());
    finish(ctx, path, rest, probes)
}

/// The file parsed as the tables other than `[[probes]]`, then each `[[probes]]`
/// entry on its own (`entries`, from [`split::probe_entries`]). `None` if a
/// piece is not valid TOML: the caller then parses the whole file.
fn by_entry(
    text: &str,
    path: &Path,
    web_config_file: Option<&Path>,
    entries: &[Range<usize>],
) -> Option<Result<Config, ConfigErrors>> {
    let others = split::without(text, entries)?;
    let root = DeTable::parse(&others).ok()?;
    let root = Spanned::new(root.span(), DeValue::Table(root.into_inner()));
    let mut ctx = Ctx::new(path, text);
    ctx.web_config_file = web_config_file.map(Path::to_path_buf);
    let (rest, _) = build_rest(&mut ctx, &root);
    drop(root);
    drop(others);
    let mut probes = probes::Builder::new(&rest.summaries);
    for entry in entries {
        let piece = DeTable::parse(text.get(entry.clone())?).ok()?;
        let list = match piece.get_ref().get("probes").map(Spanned::get_ref) {
            Some(DeValue::Array(list)) if list.len() == 1 && piece.get_ref().len() == 1 => list,
            _ => return None,
        };
        // Spans in the piece count from its start; errors point into the file.
        ctx.base = entry.start;
        probes.add(&mut ctx, &list[0]);
        ctx.base = 0;
    }
    let probes = probes.finish(!rest.slos.is_empty());
    Some(finish(ctx, path, rest, probes))
}

/// What the root table yields besides the probes.
struct Rest {
    server: ServerConfig,
    modules: BTreeMap<String, Arc<Module>>,
    summaries: BTreeMap<String, ModuleSummary>,
    aws: Option<AwsConfig>,
    /// Whether the file has `[aws]` (valid or not).
    aws_written: bool,
    /// `[[slos]]` decoded; checked once the probes are built.
    slos: Vec<slos::Entry>,
    /// `[[discover]]` decoded; checked once the probes are built.
    discover: Vec<discover::Entry>,
}

/// Checks the root table and builds all but the probes; returns the `probes`
/// value for the caller to build.
fn build_rest<'a, 'i>(
    ctx: &mut Ctx<'_>,
    root: &'a Spanned<DeValue<'i>>,
) -> (Rest, Option<&'a Spanned<DeValue<'i>>>) {
    let mut server = ServerConfig::default();
    let mut module_table = None;
    let mut probe_list = None;
    let mut aws = None;
    let mut aws_written = false;
    let mut slo_entries = Vec::new();
    let mut discover_entries = Vec::new();
    if let Some(table) = root.get_ref().as_table() {
        for (key, value) in table.iter() {
            match key.get_ref().as_ref() {
                "server" => server = build_server(ctx, value),
                "modules" => module_table = Some(value),
                "probes" => probe_list = Some(value),
                "aws" => {
                    aws_written = true;
                    aws = super::aws::build(ctx, value);
                }
                "slos" => slo_entries = slos::decode_all(ctx, value),
                "discover" => discover_entries = discover::decode_all(ctx, value),
                other => ctx.unknown_key(
                    key.span(),
                    "",
                    other,
                    &["server", "modules", "probes", "slos", "aws", "discover"],
                ),
            }
        }
    }
    let (modules, summaries) = match module_table {
        Some(value) => modules::build_all(ctx, value),
        None => (BTreeMap::new(), BTreeMap::new()),
    };
    let rest = Rest {
        server,
        modules,
        summaries,
        aws,
        aws_written,
        slos: slo_entries,
        discover: discover_entries,
    };
    (rest, probe_list)
}

/// Checks the SLOs against the probes and modules, then builds the
/// configuration if nothing was wrong.
fn finish(
    mut ctx: Ctx<'_>,
    path: &Path,
    rest: Rest,
    built: probes::Built,
) -> Result<Config, ConfigErrors> {
    let known = slos::Known {
        probes: &built.probes,
        probe_names: &built.names,
        probes_complete: built.complete,
        modules: &rest.modules,
    };
    let slos = slos::build_all(&mut ctx, rest.slos, &known);
    let mut aws = rest.aws;
    let known = discover::Known {
        modules: &rest.summaries,
        aws: aws.as_ref(),
        aws_written: rest.aws_written,
        probes: &built.probes,
    };
    let discover = discover::build_all(&mut ctx, rest.discover, &known);
    if !ctx.errors.is_empty() {
        return Err(ctx.into_errors());
    }
    if let Some(aws) = aws.as_mut() {
        aws.discovery_needs_tags = discover.iter().any(|d| {
            d.service == crate::discovery::DiscoverService::Elbv2
                && !(d.tag_filters.is_empty() && d.tag_labels.is_empty())
        });
    }
    Ok(Config {
        source: path.to_path_buf(),
        server: rest.server,
        modules: rest.modules,
        probes: built.probes,
        slos,
        aws,
        discover,
        web_config_file: None,
    })
}

/// A count that must be above zero, or an error at its position.
fn positive(ctx: &mut Ctx<'_>, key: &str, value: &Spanned<i64>) -> Option<usize> {
    match usize::try_from(*value.get_ref()) {
        Ok(n) if n > 0 => Some(n),
        _ => {
            ctx.error(value.span(), key, "must be an integer greater than zero");
            None
        }
    }
}

/// A count within `range`, or an error at its position that names the range.
fn in_range(
    ctx: &mut Ctx<'_>,
    key: &str,
    value: &Spanned<i64>,
    range: std::ops::RangeInclusive<usize>,
) -> Option<usize> {
    match usize::try_from(*value.get_ref()) {
        Ok(n) if range.contains(&n) => Some(n),
        _ => {
            ctx.error(
                value.span(),
                key,
                format!(
                    "must be an integer from {} to {}, not {}",
                    range.start(),
                    range.end(),
                    value.get_ref()
                ),
            );
            None
        }
    }
}

fn build_server(ctx: &mut Ctx<'_>, value: &Spanned<DeValue<'_>>) -> ServerConfig {
    let mut server = ServerConfig::default();
    let Some(file) = decode::<ServerFile>(ctx, value, "server") else {
        return server;
    };
    if let Some(max) = &file.max_concurrent_probes {
        if let Some(n) = positive(ctx, "server.max_concurrent_probes", max) {
            server.max_concurrent_probes = n;
        }
    }
    if let Some(max) = &file.max_connections {
        if let Some(n) = positive(ctx, "server.max_connections", max) {
            server.max_connections = n;
        }
    }
    if let Some(n) = &file.status_history {
        if let Some(n) = in_range(ctx, "server.status_history", n, STATUS_HISTORY_RANGE) {
            server.status_history = n;
        }
    }
    if let Some(endpoint) = &file.probe_endpoint {
        if let Some(enabled) = endpoint.enabled {
            server.probe_endpoint.enabled = enabled;
        }
        if let Some(scheduled) = endpoint.apply_to_scheduled_probes {
            server.probe_endpoint.apply_to_scheduled_probes = scheduled;
        }
        if let Some(max) = &endpoint.max_concurrent {
            let key = "server.probe_endpoint.max_concurrent";
            if let Some(n) = positive(ctx, key, max) {
                server.probe_endpoint.max_concurrent = n;
            }
        }
        let rules = |ctx: &mut Ctx<'_>, list: &Option<Vec<Spanned<String>>>, key: &str| {
            let mut rules = Vec::new();
            for (i, entry) in list.iter().flatten().enumerate() {
                match Rule::parse(entry.get_ref()) {
                    Some(rule) => rules.push(rule),
                    None => ctx.error_hint(
                        entry.span(),
                        &format!("server.probe_endpoint.{key}[{i}]"),
                        format!("{:?} is neither an address block nor a host name", entry.get_ref()),
                        "write a CIDR (\"10.0.0.0/8\", \"169.254.169.254/32\", \"fd00::/8\"), an address, a host name, or *.domain for every name below it",
                    ),
                }
            }
            rules
        };
        let allow = rules(ctx, &endpoint.allow, "allow");
        let deny = rules(ctx, &endpoint.deny, "deny");
        server.probe_endpoint.policy = Arc::new(TargetPolicy { allow, deny });
    }
    if let Some(offset) = &file.timeout_offset {
        if let Some(d) = values::duration(ctx, "server.timeout_offset", offset, false) {
            server.timeout_offset = d;
        }
    }
    if let Some(tls) = &file.tls_server_config {
        if both_given(ctx, "server.tls_server_config", tls.span()) {
            server.tls = listener::build_tls(ctx, "server.tls_server_config", tls).map(Arc::new);
        }
    }
    if let Some(users) = &file.basic_auth_users {
        let key = "server.basic_auth_users";
        if both_given(ctx, key, users.span()) {
            server.basic_auth_users =
                listener::build_users(ctx, key, users.span(), users.get_ref().iter()).map(Arc::new);
        }
    }
    if let Some(shard) = &file.shard {
        match shard.get_ref().parse() {
            Ok(s) => server.shard = Some(s),
            Err(e) => ctx.error_hint(
                shard.span(),
                "server.shard",
                e.to_string(),
                "write INDEX/COUNT, e.g. \"2/3\" for the second of three replicas",
            ),
        }
    }
    server
}

/// Whether `[server]` may set `key` (at `span`): not when `--web.config.file`
/// gives the listener's settings. `false` after recording the error.
fn both_given(ctx: &mut Ctx<'_>, key: &str, span: Range<usize>) -> bool {
    let Some(web) = ctx.web_config_file.clone() else {
        return true;
    };
    ctx.error_hint(
        span,
        key,
        format!(
            "set here and by --web.config.file {}: the listener's TLS and basic auth come from one place",
            web.display()
        ),
        "keep them either in [server] or in the web config file, not both",
    );
    false
}

/// The state of one validation pass: where errors go and how to find files.
#[derive(Debug)]
pub(crate) struct Ctx<'t> {
    file: PathBuf,
    dir: PathBuf,
    text: &'t str,
    errors: Vec<ConfigError>,
    /// A digest of every file read, in order, for module identities.
    files_read: Vec<ring::digest::Digest>,
    /// Where to point when a required block is missing: the `prober` value of the
    /// module being built.
    anchor: Range<usize>,
    /// The timeout of the module being built (its own, else the default), for
    /// settings bounded by it (`packet_interval` × `packets`).
    module_timeout: std::time::Duration,
    /// Added to every span reported: the offset of the piece of the file being
    /// checked (a `[[probes]]` entry parsed on its own), 0 for the whole file.
    pub(crate) base: usize,
    /// `--web.config.file`, when given: `[server]` then may not set what it sets.
    web_config_file: Option<PathBuf>,
}

impl<'t> Ctx<'t> {
    pub(crate) fn new(file: &Path, text: &'t str) -> Self {
        Ctx {
            file: file.to_path_buf(),
            dir: file.parent().map(Path::to_path_buf).unwrap_or_default(),
            text,
            errors: Vec::new(),
            files_read: Vec::new(),
            anchor: 0..0,
            module_timeout: super::DEFAULT_MODULE_TIMEOUT,
            base: 0,
            web_config_file: None,
        }
    }

    /// Sets the span [`Ctx::anchor`] returns (modules.rs, before building a prober).
    pub(crate) fn set_anchor(&mut self, span: Range<usize>) {
        self.anchor = span;
    }

    /// Sets the timeout [`Ctx::module_timeout`] returns (modules.rs, before
    /// building a prober).
    pub(crate) fn set_module_timeout(&mut self, timeout: std::time::Duration) {
        self.module_timeout = timeout;
    }

    /// The timeout of the module being built.
    pub(crate) fn module_timeout(&self) -> std::time::Duration {
        self.module_timeout
    }

    /// The span of the current module's `prober` value, for errors about a block
    /// that is not there at all.
    pub(crate) fn anchor(&self) -> Range<usize> {
        self.anchor.clone()
    }

    /// The text being validated.
    pub(crate) fn text(&self) -> &'t str {
        self.text
    }

    /// How many errors so far; compare before and after a block to know whether
    /// it was valid.
    pub(crate) fn error_count(&self) -> usize {
        self.errors.len()
    }

    pub(crate) fn error(&mut self, span: Range<usize>, key: &str, message: impl Into<String>) {
        self.push(span, key, message.into(), None);
    }

    pub(crate) fn error_hint(
        &mut self,
        span: Range<usize>,
        key: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(span, key, message.into(), Some(hint.into()));
    }

    /// An unknown key in the table at `table`; `valid` are the keys it may hold.
    pub(crate) fn unknown_key(
        &mut self,
        span: Range<usize>,
        table: &str,
        key: &str,
        valid: &[&str],
    ) {
        let hint = match values::suggest(key, valid.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None if valid.is_empty() => "this table takes no keys".to_string(),
            None if valid.len() <= 12 => format!("valid keys here: {}", valid.join(", ")),
            None => "docs/configuration.md lists the keys of every table".to_string(),
        };
        self.push(span, table, format!("unknown key `{key}`"), Some(hint));
    }

    /// Reads a file named in the config (relative to the config's directory).
    pub(crate) fn read_file(
        &mut self,
        key: &str,
        name: &Spanned<String>,
    ) -> Option<(PathBuf, Vec<u8>)> {
        let path = self.dir.join(name.get_ref());
        match std::fs::read(&path) {
            Ok(bytes) => {
                self.files_read.push(identity::file_digest(&bytes));
                Some((path, bytes))
            }
            Err(e) => {
                self.error_hint(
                    name.span(),
                    key,
                    format!("cannot read {}: {e}", path.display()),
                    "relative paths are resolved from the directory of the config file",
                );
                None
            }
        }
    }

    /// How many files were read so far; with [`Ctx::files_read_since`], the files
    /// one block read.
    pub(crate) fn files_read_count(&self) -> usize {
        self.files_read.len()
    }

    pub(crate) fn files_read_since(&self, mark: usize) -> &[ring::digest::Digest] {
        self.files_read.get(mark..).unwrap_or_default()
    }

    fn push(&mut self, span: Range<usize>, key: &str, message: String, hint: Option<String>) {
        let (start, end) = (self.base + span.start, self.base + span.end);
        let (line, column) = line_col(self.text, start);
        self.errors.push(ConfigError {
            file: self.file.clone(),
            line,
            column,
            key: key.to_string(),
            message,
            hint,
            snippet: Snippet::of(self.text, start, end, key),
        });
    }

    pub(crate) fn into_errors(mut self) -> ConfigErrors {
        self.errors.sort_by_key(|e| (e.line, e.column));
        ConfigErrors(self.errors)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test data is known to be valid")]
mod tests {
    use super::*;

    /// Every config under tests/testdata: read entry by entry (when the split
    /// takes it) it loads into the same configuration, or fails with the same
    /// errors, as read whole.
    #[test]
    fn entry_by_entry_reads_every_test_config_as_the_whole_file_does() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/configs");
        let mut split_taken = 0;
        for dir in ["good", "bad"] {
            let mut names: Vec<_> = std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            names.sort();
            for path in names {
                let text = std::fs::read_to_string(&path).unwrap();
                let Some(entries) = split::probe_entries(&text) else {
                    continue;
                };
                let Some(split) = by_entry(&text, &path, None, &entries) else {
                    continue;
                };
                split_taken += 1;
                let whole = whole(&text, &path, None);
                match (split, whole) {
                    (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "{path:?}"),
                    (Err(a), Err(b)) => assert_eq!(a, b, "{path:?}"),
                    (a, b) => panic!("{path:?}: {:?} / {:?}", a.is_ok(), b.is_ok()),
                }
            }
        }
        assert!(split_taken > 10, "{split_taken}");
    }

    /// `[[slos]]` tables before, between and after `[[probes]]` entries: the split
    /// takes the file and reads it as the whole-file parse does, valid or not.
    #[test]
    fn slos_among_probes_read_the_same_entry_by_entry() {
        let probe = |name: &str| {
            format!("[[probes]]\nname = \"{name}\"\nmodule = \"m\"\ntarget = \"http://x/\"\ninterval = \"15s\"\n[probes.labels]\nservice = \"s\"\n")
        };
        let slo = |name: &str, probes: &str| {
            format!("[[slos]]\nname = \"{name}\"\nprobes = {probes}\nobjective = 99\n[slos.labels]\nteam = \"t\"\n")
        };
        let path = Path::new("p.toml");
        for (probes_b, want_ok) in [("[\"b\"]", true), ("[\"nope\"]", false)] {
            let text = format!(
                "[modules.m]\nprober = \"http\"\n{}{}{}{}{}",
                slo("first", "{ service = \"s\" }"),
                probe("a"),
                slo("between", probes_b),
                probe("b"),
                slo("last", "[\"a\", \"b\"]"),
            );
            let entries = split::probe_entries(&text).unwrap();
            assert_eq!(entries.len(), 2);
            let split = by_entry(&text, path, None, &entries).unwrap();
            let whole = whole(&text, path, None);
            assert_eq!(format!("{split:?}"), format!("{whole:?}"));
            match split {
                Ok(config) => {
                    assert!(want_ok);
                    let names: Vec<&str> = config.slos.iter().map(|s| s.name.as_str()).collect();
                    assert_eq!(names, ["first", "between", "last"]);
                }
                Err(e) => {
                    assert!(!want_ok);
                    assert_eq!(e.to_string(), "p.toml:18:11: slos[1].probes[0]: unknown probe \"nope\" (hint: defined probes: a, b)");
                }
            }
        }
    }
}
