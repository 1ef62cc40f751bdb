//! Blackbox's `modules:` into `[modules.NAME]` tables, one schema per block.
//!
//! The schemas list every option of Blackbox 0.28 (and of prometheus/common's
//! HTTP client settings it embeds) with what becomes of it. outpost spells every
//! option it has as Blackbox does, so most are carried over as they are; the
//! exceptions are the deprecated `no_follow_redirects` (written as
//! `follow_redirects`), values that only restate Blackbox's default, and the
//! options outpost has no equivalent of, which are refused with a hint.

use std::path::Path;
use std::time::Duration;

use super::emit::{Item, Table, Val};
use super::yaml::{Key, Node, Value};
use super::Walk;
use crate::config::{duration, tree, values};
use crate::probe::{ProberKind, NOT_YET};
use crate::redact::is_credential_header;

/// One module as translated.
pub(crate) struct ModuleOut {
    pub(crate) name: String,
    pub(crate) table: Table,
    /// Its prober, when the module names a valid one.
    pub(crate) prober: Option<ProberKind>,
    /// Its own timeout, when set.
    pub(crate) timeout: Option<Duration>,
}

/// What a Blackbox option becomes.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    /// A file name: carried as written; relative ones get a note in the header.
    Path,
    Bool,
    Int,
    /// A body size: an integer of bytes or a string with a unit, as written.
    Size,
    StrList,
    /// A list of file names (`http_headers` `files`).
    PathList,
    IntList,
    /// Request headers (name → value): credential headers get a comment.
    Headers,
    /// A free-form map of strings (`endpoint_params`).
    Map,
    /// Name → list of values (`metadata`, `proxy_connect_header`); `secret`: the
    /// values are secrets whatever the name.
    ListMap {
        secret: bool,
    },
    /// A secret given inline; the text names outpost's `_file`/`_env` twins.
    Secret(&'static str),
    /// A list of secrets (`http_headers` `secrets`).
    SecretList(&'static str),
    /// A nested block, written as a sub-table.
    Block(&'static [(&'static str, Kind)]),
    /// A list of blocks, written as an array of inline tables.
    Steps(&'static [(&'static str, Kind)]),
    /// `http_headers`: header name → `{ values, secrets, files }`.
    HttpHeaders,
    IpProtocol,
    ProxyUrl,
    /// Deprecated inverse of `follow_redirects`, which it overrides in Blackbox.
    NoFollowRedirects,
    /// oauth2 `grant_type`: only the client-credentials grant is outpost's.
    GrantType,
    /// Blackbox has it, outpost does not: refused with this hint.
    Unsupported(&'static str),
}

use Kind::*;

const REF_HINT: &str = "secret-manager references exist only in Go programs embedding \
                        prometheus/common; give the value inline, as a file (`_file`) or, \
                        for credentials, in an environment variable (`_env`)";

const JWT_HINT: &str = "outpost's oauth2 is the client_credentials grant only (client_id and \
                        client_secret sent to token_url); the JWT-bearer grant is not supported";

const TLS: &[(&str, Kind)] = &[
    ("ca", Str),
    ("ca_file", Path),
    ("ca_ref", Unsupported(REF_HINT)),
    ("cert", Str),
    ("cert_file", Path),
    ("cert_ref", Unsupported(REF_HINT)),
    ("key", Secret("key_file")),
    ("key_file", Path),
    ("key_ref", Unsupported(REF_HINT)),
    ("server_name", Str),
    ("insecure_skip_verify", Bool),
    ("min_version", Str),
    ("max_version", Str),
];

const BASIC_AUTH: &[(&str, Kind)] = &[
    ("username", Str),
    ("username_file", Path),
    ("username_ref", Unsupported(REF_HINT)),
    ("password", Secret("password_file or password_env")),
    ("password_file", Path),
    ("password_ref", Unsupported(REF_HINT)),
];

const AUTHORIZATION: &[(&str, Kind)] = &[
    ("type", Str),
    ("credentials", Secret("credentials_file or credentials_env")),
    ("credentials_file", Path),
    ("credentials_ref", Unsupported(REF_HINT)),
];

const OAUTH2: &[(&str, Kind)] = &[
    ("client_id", Str),
    (
        "client_secret",
        Secret("client_secret_file or client_secret_env"),
    ),
    ("client_secret_file", Path),
    ("client_secret_ref", Unsupported(REF_HINT)),
    ("scopes", StrList),
    ("token_url", Str),
    ("endpoint_params", Map),
    ("tls_config", Block(TLS)),
    ("proxy_url", ProxyUrl),
    ("no_proxy", Str),
    ("proxy_from_environment", Bool),
    ("proxy_connect_header", ListMap { secret: true }),
    ("grant_type", GrantType),
    ("client_certificate_key_id", Unsupported(JWT_HINT)),
    ("client_certificate_key", Unsupported(JWT_HINT)),
    ("client_certificate_key_file", Unsupported(JWT_HINT)),
    ("client_certificate_key_ref", Unsupported(JWT_HINT)),
    ("signature_algorithm", Unsupported(JWT_HINT)),
    ("iss", Unsupported(JWT_HINT)),
    ("audience", Unsupported(JWT_HINT)),
    ("claims", Unsupported(JWT_HINT)),
];

const HEADER_MATCH: &[(&str, Kind)] = &[("header", Str), ("regexp", Str), ("allow_missing", Bool)];

const HTTP_HEADER: &[(&str, Kind)] = &[
    ("values", StrList),
    ("secrets", SecretList("files")),
    ("files", PathList),
];

const HTTP: &[(&str, Kind)] = &[
    ("valid_status_codes", IntList),
    ("valid_http_versions", StrList),
    ("method", Str),
    ("headers", Headers),
    ("http_headers", HttpHeaders),
    ("body", Str),
    ("body_file", Path),
    ("compression", Str),
    ("body_size_limit", Size),
    ("follow_redirects", Bool),
    ("no_follow_redirects", NoFollowRedirects),
    ("fail_if_ssl", Bool),
    ("fail_if_not_ssl", Bool),
    ("fail_if_body_matches_regexp", StrList),
    ("fail_if_body_not_matches_regexp", StrList),
    ("fail_if_body_json_matches_cel", Str),
    ("fail_if_body_json_not_matches_cel", Str),
    ("fail_if_header_matches", Steps(HEADER_MATCH)),
    ("fail_if_header_not_matches", Steps(HEADER_MATCH)),
    ("tls_config", Block(TLS)),
    ("basic_auth", Block(BASIC_AUTH)),
    ("authorization", Block(AUTHORIZATION)),
    (
        "bearer_token",
        Secret("bearer_token_file or bearer_token_env"),
    ),
    ("bearer_token_file", Path),
    ("oauth2", Block(OAUTH2)),
    ("proxy_url", ProxyUrl),
    ("no_proxy", Str),
    ("proxy_from_environment", Bool),
    ("proxy_connect_header", ListMap { secret: true }),
    ("skip_resolve_phase_with_proxy", Bool),
    ("enable_http2", Bool),
    ("enable_http3", Bool),
    ("preferred_ip_protocol", IpProtocol),
    ("ip_protocol_fallback", Bool),
];

const LABEL: &[(&str, Kind)] = &[("name", Str), ("value", Str)];

const QUERY_RESPONSE: &[(&str, Kind)] = &[
    ("expect", Str),
    ("expect_bytes", Str),
    ("send", Str),
    ("starttls", Bool),
    ("labels", Steps(LABEL)),
];

const TCP: &[(&str, Kind)] = &[
    ("preferred_ip_protocol", IpProtocol),
    ("ip_protocol_fallback", Bool),
    ("source_ip_address", Str),
    ("tls", Bool),
    ("tls_config", Block(TLS)),
    ("query_response", Steps(QUERY_RESPONSE)),
];

const UNIX: &[(&str, Kind)] = &[
    ("tls", Bool),
    ("tls_config", Block(TLS)),
    ("query_response", Steps(QUERY_RESPONSE)),
];

const RR_RULES: &[(&str, Kind)] = &[
    ("fail_if_matches_regexp", StrList),
    ("fail_if_all_match_regexp", StrList),
    ("fail_if_not_matches_regexp", StrList),
    ("fail_if_none_matches_regexp", StrList),
];

const DNS: &[(&str, Kind)] = &[
    ("query_name", Str),
    ("query_type", Str),
    ("query_class", Str),
    ("transport_protocol", Str),
    ("dns_over_tls", Bool),
    ("tls_config", Block(TLS)),
    ("recursion_desired", Bool),
    ("valid_rcodes", StrList),
    ("validate_answer_rrs", Block(RR_RULES)),
    ("validate_authority_rrs", Block(RR_RULES)),
    ("validate_additional_rrs", Block(RR_RULES)),
    ("preferred_ip_protocol", IpProtocol),
    ("ip_protocol_fallback", Bool),
    ("source_ip_address", Str),
];

const ICMP: &[(&str, Kind)] = &[
    ("preferred_ip_protocol", IpProtocol),
    ("ip_protocol_fallback", Bool),
    ("source_ip_address", Str),
    ("payload_size", Int),
    ("dont_fragment", Bool),
    ("ttl", Int),
];

const GRPC: &[(&str, Kind)] = &[
    ("service", Str),
    ("tls", Bool),
    ("tls_config", Block(TLS)),
    ("preferred_ip_protocol", IpProtocol),
    ("ip_protocol_fallback", Bool),
    ("metadata", ListMap { secret: false }),
];

/// The schema of each prober's block.
fn schema(kind: ProberKind) -> &'static [(&'static str, Kind)] {
    match kind {
        ProberKind::Http => HTTP,
        ProberKind::Tcp => TCP,
        ProberKind::Unix => UNIX,
        ProberKind::Dns => DNS,
        ProberKind::Grpc => GRPC,
        ProberKind::Icmp => ICMP,
        // Not a Blackbox prober (Blackbox refuses the module): no key carries over.
        ProberKind::Postgres => &[],
        // Blackbox has no database prober: none of its keys is one of these.
        ProberKind::Mysql => &[],
    }
}

const SECRET_NOTE: &str = "inline secret, carried over from Blackbox's YAML";

/// The comment beside an inline secret: what it is and where it had better be.
fn secret_comment(twins: &str) -> String {
    format!("{SECRET_NOTE}: better in {twins} (docs/configuration.md#secrets)")
}

/// The comment lines at the top of the output.
pub(crate) fn header(source: &Path, modules: &[ModuleOut], relative_files: bool) -> Vec<String> {
    let mut lines = vec![
        "Imported by `outpost import-blackbox` from Blackbox Exporter's configuration".into(),
        format!("  {}", source.display()),
        "Every option is Blackbox's, in outpost's TOML (docs/configuration.md); check it".into(),
        "with `outpost check --config FILE` on the machine that will run it.".into(),
    ];
    let unlimited = modules.iter().any(|m| {
        m.prober == Some(ProberKind::Http)
            && !m.table.entries.iter().any(|e| match &e.item {
                Item::Table(http) if e.key == "http" => {
                    http.entries.iter().any(|e| e.key == "body_size_limit")
                }
                _ => false,
            })
    });
    if unlimited {
        lines.extend([
            "An http module without body_size_limit reads at most 10MiB of a body in outpost,"
                .into(),
            "where Blackbox reads without limit: set body_size_limit = 0 for Blackbox's behaviour."
                .into(),
        ]);
    }
    if relative_files {
        lines.extend([
            "Relative file names are read from this file's directory by outpost, from its".into(),
            "working directory by Blackbox: put the files there, or make the names absolute."
                .into(),
        ]);
    }
    lines
}

/// Every module of the document at `root` (`modules:`), in the order written.
pub(crate) fn modules(walk: &mut Walk, root: &Node) -> Vec<ModuleOut> {
    let mut out = Vec::new();
    let Some(entries) = mapping(walk, "", root) else {
        return out;
    };
    for (key, value) in entries {
        if key.name != "modules" {
            unknown(walk, "", key, &["modules"]);
            continue;
        }
        walk.origin("modules", key.at);
        let Some(modules) = mapping(walk, "modules", value) else {
            continue;
        };
        for (name, module) in modules {
            if let Some(m) = translate_module(walk, name, module) {
                out.push(m);
            }
        }
    }
    out
}

fn translate_module(walk: &mut Walk, name: &Key, node: &Node) -> Option<ModuleOut> {
    let path = tree::key("modules", &name.name);
    walk.origin(&path, name.at);
    let entries = mapping(walk, &path, node)?;
    let mut table = Table::default();
    let mut prober = None;
    let mut timeout = None;
    let mut blocks: Vec<(&Key, &Node, ProberKind)> = Vec::new();
    let mut valid: Vec<&str> = vec!["prober", "timeout"];
    valid.extend(ProberKind::names());
    valid.extend(NOT_YET);
    let prober_entry = entries.iter().find(|(k, _)| k.name == "prober");
    if prober_entry.is_none() {
        walk.refuse(
            name.at,
            &path,
            "missing `prober`",
            Some(format!("valid probers: {}", ProberKind::names().join(", "))),
        );
    }
    for (key, value) in entries {
        let at = tree::key(&path, &key.name);
        walk.origin(&at, key.at);
        match key.name.as_str() {
            "prober" => prober = translate_prober(walk, &at, value),
            "timeout" => timeout = module_timeout(walk, &at, value, &mut table),
            block => match ProberKind::from_name(block) {
                Some(kind) => blocks.push((key, value, kind)),
                None if NOT_YET.contains(&block) => {}
                None => unknown(walk, &path, key, &valid),
            },
        }
    }
    if let Some(kind) = prober {
        table.entries.insert(
            0,
            super::emit::Entry {
                key: "prober".into(),
                item: Item::Val(Val::Str(kind.name().into())),
                comment: None,
            },
        );
    }
    for (key, value, kind) in blocks {
        let at = tree::key(&path, &key.name);
        let block = translate_block(walk, &at, value, schema(kind));
        match (prober, block) {
            (Some(p), Some(block)) if p == kind => {
                let block = if kind == ProberKind::Dns {
                    dns_notes(block)
                } else {
                    block
                };
                if !block.is_empty() || kind == ProberKind::Dns {
                    table.push(&key.name, Item::Table(block), None);
                }
            }
            (Some(p), _) if p != kind => table.notes.push(format!(
                "Blackbox's `{}` block of this {} module is left out: it does not apply (Blackbox ignores it too).",
                key.name,
                p.name()
            )),
            _ => {}
        }
    }
    if prober == Some(ProberKind::Dns) && !table.entries.iter().any(|e| e.key == "dns") {
        // A dns module needs its block (query_name); `outpost check` says so below.
        table.push("dns", Item::Table(Table::default()), None);
    }
    for (key, _) in entries
        .iter()
        .filter(|(k, _)| NOT_YET.contains(&k.name.as_str()))
    {
        if prober.is_some() {
            table.notes.push(format!(
                "Blackbox's `{}` block of this module is left out: it does not apply (Blackbox ignores it too).",
                key.name
            ));
        }
    }
    Some(ModuleOut {
        name: name.name.clone(),
        table,
        prober,
        timeout,
    })
}

fn translate_prober(walk: &mut Walk, path: &str, value: &Node) -> Option<ProberKind> {
    let name = scalar(walk, path, value)?;
    if let Some(kind) = ProberKind::from_name(name) {
        return Some(kind);
    }
    let supported = format!("outpost's probers: {}", ProberKind::names().join(", "));
    if NOT_YET.contains(&name) {
        walk.refuse(
            value.at,
            path,
            format!("outpost has no equivalent of Blackbox's `{name}` prober"),
            Some(format!("not supported yet; {supported}")),
        );
    } else {
        walk.refuse(
            value.at,
            path,
            format!("invalid prober {name:?} (Blackbox refuses it too)"),
            Some(supported),
        );
    }
    None
}

/// `timeout`: checked as outpost reads it; `0s` (none, as unset) is left out.
fn module_timeout(
    walk: &mut Walk,
    path: &str,
    value: &Node,
    table: &mut Table,
) -> Option<Duration> {
    let text = scalar(walk, path, value)?;
    match duration::parse(text) {
        Ok(d) if d.is_zero() => {
            table.notes.push(format!(
                "Blackbox's `timeout: {text}` (no module timeout) is left out: outpost's default is the same."
            ));
            None
        }
        Ok(d) => {
            table.val("timeout", Val::Str(text.to_string()));
            Some(d)
        }
        Err(e) => {
            walk.refuse(value.at, path, e, None);
            None
        }
    }
}

/// A note when `dns_over_tls` relies on outpost's implied tcp, which Blackbox
/// does not imply (it fails every run of such a module).
fn dns_notes(mut block: Table) -> Table {
    let dot = block
        .entries
        .iter()
        .any(|e| e.key == "dns_over_tls" && e.item == Item::Val(Val::Bool(true)));
    let transport = block.entries.iter().any(|e| e.key == "transport_protocol");
    if dot && !transport {
        block.notes.push(
            "dns_over_tls without transport_protocol: outpost implies tcp; Blackbox fails every run of such a module."
                .into(),
        );
    }
    block
}

/// A block by its schema; `None` after a refusal that leaves nothing to write.
fn translate_block(
    walk: &mut Walk,
    path: &str,
    node: &Node,
    schema: &[(&'static str, Kind)],
) -> Option<Table> {
    if node.value == Value::Null {
        return Some(Table::default());
    }
    let entries = mapping(walk, path, node)?;
    let mut table = Table::default();
    let valid: Vec<&str> = schema
        .iter()
        .filter(|(_, k)| !matches!(k, Unsupported(_)))
        .map(|(name, _)| *name)
        .collect();
    for (key, value) in entries {
        let Some((_, kind)) = schema.iter().find(|(name, _)| *name == key.name) else {
            unknown(walk, path, key, &valid);
            continue;
        };
        let at = tree::key(path, &key.name);
        walk.origin(&at, key.at);
        if value.value == Value::Null {
            // Go leaves an option given as null at its zero value: unset.
            continue;
        }
        translate_option(walk, &at, key, value, *kind, &mut table);
    }
    // `no_follow_redirects` overrides `follow_redirects` in Blackbox, wherever
    // either is written: the plain one (without the comment) goes.
    let follows = |e: &super::emit::Entry| e.key == "follow_redirects";
    if table.entries.iter().filter(|e| follows(e)).count() > 1 {
        table.entries.retain(|e| !follows(e) || e.comment.is_some());
    }
    Some(table)
}

fn translate_option(
    walk: &mut Walk,
    path: &str,
    key: &Key,
    value: &Node,
    kind: Kind,
    table: &mut Table,
) {
    let name = key.name.as_str();
    let put = |table: &mut Table, val: Val, comment: Option<String>| {
        table.push(name, Item::Val(val), comment);
    };
    match kind {
        Str => {
            if let Some(s) = scalar(walk, path, value) {
                put(table, Val::Str(s.into()), None);
            }
        }
        Path => {
            if let Some(s) = scalar(walk, path, value) {
                walk.relative_files |= is_relative(s);
                put(table, Val::Str(s.into()), None);
            }
        }
        Bool => {
            if let Some(b) = boolean(walk, path, value) {
                put(table, Val::Bool(b), None);
            }
        }
        Int => {
            if let Some(i) = integer(walk, path, value) {
                put(table, Val::Int(i), None);
            }
        }
        Size => match &value.value {
            Value::Int(i, _) => put(table, Val::Int(*i), None),
            _ => {
                if let Some(s) = scalar(walk, path, value) {
                    put(table, Val::Str(s.into()), None);
                }
            }
        },
        StrList | PathList | IntList => {
            if let Some(list) = list(walk, path, value, matches!(kind, IntList)) {
                if matches!(kind, PathList) {
                    walk.relative_files |= list
                        .iter()
                        .any(|v| matches!(v, Val::Str(s) if is_relative(s)));
                }
                put(table, Val::Array(list), None);
            }
        }
        Secret(twins) => {
            if let Some(s) = secret(walk, path, value) {
                put(table, Val::Str(s.into()), Some(secret_comment(twins)));
            }
        }
        SecretList(twins) => {
            if let Some(list) = list(walk, path, value, false) {
                let comment = (!list.is_empty()).then(|| secret_comment(twins));
                put(table, Val::Array(list), comment);
            }
        }
        Headers | Map => {
            if let Some((map, credential)) = string_map(walk, path, value, matches!(kind, Headers))
            {
                let comment = credential.then(|| {
                    format!("{SECRET_NOTE} (a credential header): better in http_headers with files (docs/configuration.md#secrets)")
                });
                put(table, Val::Inline(map), comment);
            }
        }
        ListMap { secret } => {
            if let Some((map, credential)) = list_map(walk, path, value, secret) {
                let comment = credential.then(|| {
                    format!("{SECRET_NOTE}: keep this file private (docs/configuration.md#secrets)")
                });
                put(table, Val::Inline(map), comment);
            }
        }
        Block(schema) => {
            if let Some(block) = translate_block(walk, path, value, schema) {
                if !block.is_empty() {
                    table.push(name, Item::Table(block), None);
                }
            }
        }
        Steps(schema) => {
            if let Some(steps) = steps(walk, path, value, schema) {
                put(table, Val::Array(steps), None);
            }
        }
        HttpHeaders => {
            if let Some(block) = http_headers(walk, path, value) {
                table.push(name, Item::Table(block), None);
            }
        }
        IpProtocol => {
            let Some(s) = scalar(walk, path, value) else {
                return;
            };
            match s {
                "ip4" | "ip6" => put(table, Val::Str(s.into()), None),
                // Blackbox's default, as if unset.
                "" => {}
                other => walk.refuse(
                    value.at,
                    path,
                    format!("Blackbox reads preferred_ip_protocol {other:?} as \"ip4\" (anything but \"ip6\" is ip4 there)"),
                    Some("write \"ip4\" or \"ip6\": outpost takes only these".into()),
                ),
            }
        }
        ProxyUrl => {
            let Some(s) = scalar(walk, path, value) else {
                return;
            };
            let scheme = s
                .split_once("://")
                .map(|(scheme, _)| scheme.to_ascii_lowercase());
            if matches!(scheme.as_deref(), Some("socks5" | "socks5h")) {
                walk.refuse(
                    value.at,
                    path,
                    "outpost has no equivalent of Blackbox's socks5 proxies",
                    Some("not supported yet: use an http:// or https:// proxy".into()),
                );
            } else if !s.is_empty() {
                let has_password = crate::redact::url(s) != s;
                let comment = has_password.then(|| {
                    format!("{SECRET_NOTE} (the proxy's password): keep this file private")
                });
                put(table, Val::Str(s.into()), comment);
            }
        }
        NoFollowRedirects => {
            if let Some(b) = boolean(walk, path, value) {
                table.push(
                    "follow_redirects",
                    Item::Val(Val::Bool(!b)),
                    Some(format!("Blackbox's deprecated `no_follow_redirects: {b}`")),
                );
            }
        }
        GrantType => {
            let Some(s) = scalar(walk, path, value) else {
                return;
            };
            if !s.is_empty() && s != "client_credentials" {
                walk.refuse(
                    value.at,
                    path,
                    format!("outpost has no equivalent of Blackbox's `grant_type: {s}`"),
                    Some(JWT_HINT.into()),
                );
            } else {
                table.notes.push(format!(
                    "`grant_type: {s}` is left out: client_credentials is the only grant outpost has."
                ));
            }
        }
        Unsupported(hint) => walk.refuse(
            key.at,
            path,
            format!("outpost has no equivalent of Blackbox's `{name}`"),
            Some(hint.into()),
        ),
    }
}

fn is_relative(name: &str) -> bool {
    !name.is_empty() && !Path::new(name).is_absolute()
}

/// Refuses `node` for being of the wrong kind: "`wanted`, not a list" (or a
/// mapping, a single value ...).
fn wrong_kind<T>(walk: &mut Walk, path: &str, node: &Node, wanted: &str) -> Option<T> {
    walk.refuse(
        node.at,
        path,
        format!("{wanted}, not {}", node.kind()),
        None,
    );
    None
}

/// The entries of a mapping, or a refusal.
fn mapping<'n>(walk: &mut Walk, path: &str, node: &'n Node) -> Option<&'n [(Key, Node)]> {
    match &node.value {
        Value::Map(entries) => Some(entries),
        Value::Null => Some(&[]),
        _ => {
            let wanted = if path.is_empty() {
                "the document must be a mapping"
            } else {
                "must be a mapping"
            };
            wrong_kind(walk, path, node, wanted)
        }
    }
}

/// A scalar's text, as Go's YAML decoder gives it to a string option.
fn scalar<'n>(walk: &mut Walk, path: &str, node: &'n Node) -> Option<&'n str> {
    match node.text() {
        Some(text) => Some(text),
        None => wrong_kind(walk, path, node, "must be a single value"),
    }
}

/// A secret's text; the refusal never shows it.
fn secret<'n>(walk: &mut Walk, path: &str, node: &'n Node) -> Option<&'n str> {
    scalar(walk, path, node)
}

fn boolean(walk: &mut Walk, path: &str, node: &Node) -> Option<bool> {
    match &node.value {
        Value::Bool(b, _) => Some(*b),
        _ => wrong_kind(walk, path, node, "must be true or false"),
    }
}

fn integer(walk: &mut Walk, path: &str, node: &Node) -> Option<i64> {
    match &node.value {
        Value::Int(i, _) => Some(*i),
        _ => wrong_kind(walk, path, node, "must be an integer"),
    }
}

/// A list of strings (or of integers): each item recorded as `path[i]`.
fn list(walk: &mut Walk, path: &str, node: &Node, integers: bool) -> Option<Vec<Val>> {
    each_item(walk, path, node, |walk, at, item| {
        if integers {
            integer(walk, at, item).map(Val::Int)
        } else {
            scalar(walk, at, item).map(|s| Val::Str(s.into()))
        }
    })
}

/// The items of a YAML list, each translated by `item` at `path[i]` (its line
/// recorded for messages); an item that is refused is left out. Not a list:
/// refused whole.
fn each_item(
    walk: &mut Walk,
    path: &str,
    node: &Node,
    mut item: impl FnMut(&mut Walk, &str, &Node) -> Option<Val>,
) -> Option<Vec<Val>> {
    let Value::Seq(items) = &node.value else {
        return wrong_kind(walk, path, node, "must be a list");
    };
    let mut out = Vec::new();
    for (i, node) in items.iter().enumerate() {
        let at = tree::index(path, i);
        walk.origin(&at, node.at);
        out.extend(item(walk, &at, node));
    }
    Some(out)
}

/// A map of strings, in order; with `headers`, whether a credential header is among
/// them.
fn string_map(
    walk: &mut Walk,
    path: &str,
    node: &Node,
    headers: bool,
) -> Option<(Vec<(String, Val)>, bool)> {
    let entries = mapping(walk, path, node)?;
    let mut out = Vec::new();
    let mut credential = false;
    for (key, value) in entries {
        let at = tree::key(path, &key.name);
        walk.origin(&at, key.at);
        if let Some(s) = scalar(walk, &at, value) {
            credential |= headers && is_credential_header(&key.name);
            out.push((key.name.clone(), Val::Str(s.into())));
        }
    }
    Some((out, credential))
}

/// Name → list of strings; whether any value is a secret (`secret`: all are;
/// else those of credential names).
fn list_map(
    walk: &mut Walk,
    path: &str,
    node: &Node,
    secret: bool,
) -> Option<(Vec<(String, Val)>, bool)> {
    let entries = mapping(walk, path, node)?;
    let mut out = Vec::new();
    let mut credential = false;
    for (key, value) in entries {
        let at = tree::key(path, &key.name);
        walk.origin(&at, key.at);
        if let Some(values) = list(walk, &at, value, false) {
            credential |= !values.is_empty() && (secret || is_credential_header(&key.name));
            out.push((key.name.clone(), Val::Array(values)));
        }
    }
    Some((out, credential))
}

/// A list of blocks as inline tables (`query_response`, header matchers, labels).
fn steps(
    walk: &mut Walk,
    path: &str,
    node: &Node,
    schema: &[(&'static str, Kind)],
) -> Option<Vec<Val>> {
    each_item(walk, path, node, |walk, at, item| {
        translate_block(walk, at, item, schema).map(inline)
    })
}

/// A table as an inline table (its entries are values: steps have no sub-tables).
fn inline(table: Table) -> Val {
    Val::Inline(
        table
            .entries
            .into_iter()
            .filter_map(|e| match e.item {
                Item::Val(v) => Some((e.key, v)),
                Item::Table(_) => None,
            })
            .collect(),
    )
}

/// `http_headers`: one line per header, commented when it carries secrets.
fn http_headers(walk: &mut Walk, path: &str, node: &Node) -> Option<Table> {
    let entries = mapping(walk, path, node)?;
    let mut table = Table::default();
    for (key, value) in entries {
        let at = tree::key(path, &key.name);
        walk.origin(&at, key.at);
        let Some(block) = translate_block(walk, &at, value, HTTP_HEADER) else {
            continue;
        };
        let comment = block.entries.iter().find_map(|e| e.comment.clone());
        table.push(&key.name, Item::Val(inline(block)), comment);
    }
    Some(table)
}

/// An unknown key of the table at `table`.
fn unknown(walk: &mut Walk, table: &str, key: &Key, valid: &[&str]) {
    let hint = match values::suggest(&key.name, valid.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None if valid.len() <= 12 => format!(
            "neither outpost nor Blackbox 0.28 has it; valid here: {}",
            valid.join(", ")
        ),
        None => {
            "neither outpost nor Blackbox 0.28 has it (docs/configuration.md lists every option)"
                .to_string()
        }
    };
    walk.refuse(
        key.at,
        &tree::key(table, &key.name),
        format!("unknown key `{}`", key.name),
        Some(hint),
    );
}
