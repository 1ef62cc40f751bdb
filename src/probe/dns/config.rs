//! `[modules.NAME.dns]`: its file model and checks. Everything Blackbox checks at
//! run time (transport, rcode names, regexes) is checked here, at load.

use hickory_proto::rr::Name;
use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::codes;
use super::settings::{DnsModule, RrRules, Transport};
use crate::config::file::Block;
use crate::config::shared::{self, SettingsBlock};
use crate::config::tree::{self};
use crate::config::validate::Ctx;
use crate::config::values;

/// `[modules.NAME.dns]`, without the contents of `tls_config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct DnsFile {
    pub preferred_ip_protocol: Option<Spanned<String>>,
    pub ip_protocol_fallback: Option<bool>,
    pub source_ip_address: Option<Spanned<String>>,
    pub query_name: Option<Spanned<String>>,
    pub query_type: Option<Spanned<String>>,
    pub query_class: Option<Spanned<String>>,
    pub transport_protocol: Option<Spanned<String>>,
    pub dns_over_tls: Option<Spanned<bool>>,
    pub tls_config: Block,
    pub recursion_desired: Option<bool>,
    pub valid_rcodes: Option<Spanned<Vec<Spanned<String>>>>,
    pub validate_answer_rrs: Option<RrRulesFile>,
    pub validate_authority_rrs: Option<RrRulesFile>,
    pub validate_additional_rrs: Option<RrRulesFile>,
}

/// `validate_*_rrs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct RrRulesFile {
    pub fail_if_matches_regexp: Option<Vec<Spanned<String>>>,
    pub fail_if_not_matches_regexp: Option<Vec<Spanned<String>>>,
    pub fail_if_all_match_regexp: Option<Vec<Spanned<String>>>,
    pub fail_if_none_matches_regexp: Option<Vec<Spanned<String>>>,
}

/// Builds the dns settings at `path`. `query_name` is required, so an absent
/// block is an error too. `None` after an error.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: Option<&Spanned<DeValue<'_>>>,
) -> Option<DnsModule> {
    let Some(value) = value else {
        let at = ctx.anchor();
        ctx.error_hint(
            at,
            path,
            "a dns module needs a `dns` block with `query_name`",
            format!("add [{path}] with query_name = \"example.com\""),
        );
        return None;
    };
    let SettingsBlock { file, tls_config } = shared::decode_block::<DnsFile>(ctx, path, value)?;
    let before = ctx.error_count();
    let ip = shared::ip_settings_of(ctx, path, value);
    let mut m = DnsModule {
        ip,
        recursion_desired: file.recursion_desired.unwrap_or(true),
        ..DnsModule::default()
    };
    question(ctx, path, value, &file, &mut m);
    (m.transport, m.dns_over_tls) = transport(ctx, path, &file);
    if let Some(list) = &file.valid_rcodes {
        m.valid_rcodes = rcodes(ctx, &tree::key(path, "valid_rcodes"), list);
    }
    m.validate_answer = rules(ctx, path, "validate_answer_rrs", &file.validate_answer_rrs);
    m.validate_authority = rules(
        ctx,
        path,
        "validate_authority_rrs",
        &file.validate_authority_rrs,
    );
    m.validate_additional = rules(
        ctx,
        path,
        "validate_additional_rrs",
        &file.validate_additional_rrs,
    );
    m.tls_config = tls_config?;
    (ctx.error_count() == before).then_some(m)
}

/// `query_name` (required), `query_type` and `query_class` into `m`.
fn question(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: &Spanned<DeValue<'_>>,
    file: &DnsFile,
    m: &mut DnsModule,
) {
    let at = |key: &str| tree::key(path, key);
    match &file.query_name {
        Some(name) => {
            if let Some(name) = query_name(ctx, &at("query_name"), name) {
                m.query_name = name;
            }
        }
        None => ctx.error_hint(
            value.span(),
            path,
            "`query_name` is required",
            "add query_name = \"example.com\" (the name asked of the target server)",
        ),
    }
    if let Some(t) = &file.query_type {
        let what = ("query type", TYPE_HINT);
        m.query_type =
            code(ctx, &at("query_type"), t, what, codes::query_type).unwrap_or(m.query_type);
    }
    if let Some(c) = &file.query_class {
        let what = ("query class", CLASS_HINT);
        m.query_class =
            code(ctx, &at("query_class"), c, what, codes::class).unwrap_or(m.query_class);
    }
}

const TYPE_HINT: &str =
    "write a type in upper case, e.g. A, AAAA, CNAME, MX, NS, SOA, TXT, SRV, PTR, CAA or ANY";
const CLASS_HINT: &str = "valid values: IN, CS, CH, HS, NONE, ANY (upper case)";

/// `query_name`: IDNA-encoded (as Blackbox does) and made fully qualified.
fn query_name(ctx: &mut Ctx<'_>, path: &str, value: &Spanned<String>) -> Option<Name> {
    let text = value.get_ref();
    // A name IDNA refuses (an underscore label, say) is sent as written, as Blackbox does.
    let parsed = Name::from_utf8(text).or_else(|_| Name::from_ascii(text));
    match parsed {
        Ok(mut name) if !text.is_empty() => {
            name.set_fqdn(true);
            Some(name)
        }
        Ok(_) => {
            ctx.error_hint(
                value.span(),
                path,
                "must not be empty",
                "write the name to query, e.g. \"example.com\"",
            );
            None
        }
        Err(e) => {
            ctx.error_hint(
                value.span(),
                path,
                format!("invalid domain name {text:?}: {e}"),
                "labels are at most 63 bytes and the name at most 255",
            );
            None
        }
    }
}

/// A mnemonic looked up with `parse`, or an error naming `what` (with its hint).
fn code<T>(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: &Spanned<String>,
    (what, hint): (&str, &str),
    parse: fn(&str) -> Option<T>,
) -> Option<T> {
    let parsed = parse(value.get_ref());
    if parsed.is_none() {
        ctx.error_hint(
            value.span(),
            path,
            format!("invalid {what} {:?}", value.get_ref()),
            hint,
        );
    }
    parsed
}

/// `transport_protocol` and `dns_over_tls`: DoT runs over TCP, so it implies tcp
/// and contradicts an explicit udp.
fn transport(ctx: &mut Ctx<'_>, path: &str, file: &DnsFile) -> (Transport, bool) {
    let dot = file.dns_over_tls.as_ref().is_some_and(|d| *d.get_ref());
    let transport = match &file.transport_protocol {
        None if dot => Transport::Tcp,
        None => Transport::Udp,
        Some(t) => match t.get_ref().as_str() {
            "udp" => Transport::Udp,
            "tcp" => Transport::Tcp,
            other => {
                ctx.error_hint(
                    t.span(),
                    &tree::key(path, "transport_protocol"),
                    format!("invalid transport protocol {other:?}"),
                    "expected \"udp\" or \"tcp\"",
                );
                Transport::Udp
            }
        },
    };
    if let (Some(d), Some(t)) = (&file.dns_over_tls, &file.transport_protocol) {
        if *d.get_ref() && t.get_ref() == "udp" {
            ctx.error_hint(
                d.span(),
                &tree::key(path, "dns_over_tls"),
                "DNS over TLS needs transport_protocol = \"tcp\"",
                "remove transport_protocol (DoT implies tcp) or set it to \"tcp\"",
            );
        }
    }
    (transport, dot)
}

/// `valid_rcodes`: names, checked here (Blackbox fails every run instead).
fn rcodes(ctx: &mut Ctx<'_>, path: &str, list: &Spanned<Vec<Spanned<String>>>) -> Vec<u16> {
    if list.get_ref().is_empty() {
        ctx.error_hint(
            list.span(),
            path,
            "must not be empty: no answer could pass",
            "remove the key to accept NOERROR only",
        );
    }
    let valid: Vec<&str> = codes::RCODES.iter().map(|(n, _)| *n).collect();
    let mut out = Vec::new();
    for (i, name) in list.get_ref().iter().enumerate() {
        match codes::rcode(name.get_ref()) {
            Some(c) => out.push(c),
            None => {
                let hint = match values::suggest(name.get_ref(), valid.iter().copied()) {
                    Some(close) => format!("did you mean {close:?}?"),
                    None => format!("valid values: {}", valid.join(", ")),
                };
                ctx.error_hint(
                    name.span(),
                    &tree::index(path, i),
                    format!("invalid rcode {:?}", name.get_ref()),
                    hint,
                );
            }
        }
    }
    out
}

/// The `validate_*_rrs` table `key`, its regexes compiled.
fn rules(ctx: &mut Ctx<'_>, path: &str, key: &str, file: &Option<RrRulesFile>) -> RrRules {
    let Some(f) = file else {
        return RrRules::default();
    };
    let path = tree::key(path, key);
    let at = |key: &str| tree::key(&path, key);
    RrRules {
        fail_if_matches: values::regexes(
            ctx,
            &at("fail_if_matches_regexp"),
            &f.fail_if_matches_regexp,
        ),
        fail_if_not_matches: values::regexes(
            ctx,
            &at("fail_if_not_matches_regexp"),
            &f.fail_if_not_matches_regexp,
        ),
        fail_if_all_match: values::regexes(
            ctx,
            &at("fail_if_all_match_regexp"),
            &f.fail_if_all_match_regexp,
        ),
        fail_if_none_matches: values::regexes(
            ctx,
            &at("fail_if_none_matches_regexp"),
            &f.fail_if_none_matches_regexp,
        ),
    }
}
