//! `[modules.NAME.http]`: every Blackbox http option, checked and compiled.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Uri};
use toml::de::DeValue;
use toml::Spanned;

mod auth;
mod cel;
pub mod file;
mod h3;
mod headers;
pub mod oauth2;
pub mod proxy;

use super::settings::{Compression, HeaderMatch, HttpModule};
use crate::config::file::{SizeText, StringMap};
use crate::config::shared::{self, IpKeys, SettingsBlock};
use crate::config::tree::{self, child};
use crate::config::validate::Ctx;
use crate::config::values;
use file::{HeaderMatchFile, HttpFile};

/// HTTP versions a response can be checked against.
const HTTP_VERSIONS: &[&str] = &["HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "HTTP/3.0"];

/// Builds the http settings at `path`; absent means defaults. `None` after an error.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: Option<&Spanned<DeValue<'_>>>,
) -> Option<HttpModule> {
    let Some(value) = value else {
        return Some(HttpModule::default());
    };
    let SettingsBlock {
        file,
        tls_config: tls,
    } = shared::decode_block::<HttpFile>(ctx, path, value)?;
    let before = ctx.error_count();
    let mut m = HttpModule {
        fail_if_ssl: file.fail_if_ssl.unwrap_or(false),
        fail_if_not_ssl: file.fail_if_not_ssl.unwrap_or(false),
        skip_resolve_phase_with_proxy: file.skip_resolve_phase_with_proxy.unwrap_or(false),
        enable_http2: file.enable_http2.unwrap_or(true),
        ..HttpModule::default()
    };
    request(ctx, path, &file, &mut m);
    m.oauth2 = oauth2::build(ctx, &tree::key(path, "oauth2"), child(value, "oauth2"));
    response_checks(ctx, path, &file, &mut m);
    m.tls = tls?;
    h3::build(ctx, path, &file, &mut m);
    (ctx.error_count() == before).then_some(m)
}

/// What is sent, and how: method, headers, body, auth, proxy, redirects.
fn request(ctx: &mut Ctx<'_>, path: &str, file: &HttpFile, m: &mut HttpModule) {
    let at = |key: &str| tree::key(path, key);
    if let Some(method) = &file.method {
        match Method::from_bytes(method.get_ref().as_bytes()) {
            Ok(parsed) => m.method = parsed,
            Err(_) => ctx.error(
                method.span(),
                &at("method"),
                format!("invalid HTTP method {:?}", method.get_ref()),
            ),
        }
    }
    if let Some(headers) = &file.headers {
        m.headers = request_headers(ctx, &at("headers"), headers);
    }
    if let Some(extra) = &file.http_headers {
        m.http_headers = headers::build(ctx, &at("http_headers"), extra);
    }
    m.body = body(ctx, path, file);
    m.compression = compression(ctx, path, file);
    m.follow_redirects = follow_redirects(ctx, path, file);
    if let Some(max) = &file.max_redirects {
        m.max_redirects = *max.get_ref();
    }
    m.auth = auth::build(ctx, path, file);
    (m.proxy_url, m.proxy_options) = proxy::build(
        ctx,
        path,
        proxy::ProxyKeys {
            proxy_url: file.proxy_url.as_ref(),
            no_proxy: file.no_proxy.as_ref(),
            proxy_from_environment: file.proxy_from_environment.as_ref(),
            proxy_connect_header: file.proxy_connect_header.as_ref(),
        },
    );
    m.ip = shared::ip_settings(
        ctx,
        path,
        IpKeys {
            preferred_ip_protocol: file.preferred_ip_protocol.as_ref(),
            ip_protocol_fallback: file.ip_protocol_fallback,
            source_ip_address: None,
        },
    );
}

/// What the response must look like: status, version, headers, body, size.
fn response_checks(ctx: &mut Ctx<'_>, path: &str, file: &HttpFile, m: &mut HttpModule) {
    let at = |key: &str| tree::key(path, key);
    m.valid_status_codes = status_codes(ctx, &at("valid_status_codes"), file);
    m.valid_http_versions = http_versions(ctx, &at("valid_http_versions"), file);
    m.fail_if_body_matches_regexp = regexes(
        ctx,
        &at("fail_if_body_matches_regexp"),
        &file.fail_if_body_matches_regexp,
    );
    m.fail_if_body_not_matches_regexp = regexes(
        ctx,
        &at("fail_if_body_not_matches_regexp"),
        &file.fail_if_body_not_matches_regexp,
    );
    m.fail_if_header_matches = header_matchers(
        ctx,
        &at("fail_if_header_matches"),
        &file.fail_if_header_matches,
    );
    m.fail_if_header_not_matches = header_matchers(
        ctx,
        &at("fail_if_header_not_matches"),
        &file.fail_if_header_not_matches,
    );
    m.fail_if_body_json_matches_cel = cel::build(
        ctx,
        &at("fail_if_body_json_matches_cel"),
        &file.fail_if_body_json_matches_cel,
    );
    m.fail_if_body_json_not_matches_cel = cel::build(
        ctx,
        &at("fail_if_body_json_not_matches_cel"),
        &file.fail_if_body_json_not_matches_cel,
    );
    if let Some(limit) = &file.body_size_limit {
        m.body_size_limit = body_size_limit(ctx, &at("body_size_limit"), limit);
    }
}

fn status_codes(ctx: &mut Ctx<'_>, path: &str, file: &HttpFile) -> Vec<u16> {
    let mut codes = Vec::new();
    for (i, code) in file.valid_status_codes.iter().flatten().enumerate() {
        match u16::try_from(*code.get_ref()) {
            Ok(c) if (100..=599).contains(&c) => codes.push(c),
            _ => ctx.error(
                code.span(),
                &tree::index(path, i),
                format!(
                    "invalid HTTP status code {}: must be within 100..=599",
                    code.get_ref()
                ),
            ),
        }
    }
    codes
}

fn http_versions(ctx: &mut Ctx<'_>, path: &str, file: &HttpFile) -> Vec<String> {
    let mut versions = Vec::new();
    for (i, version) in file.valid_http_versions.iter().flatten().enumerate() {
        let v = version.get_ref().as_str();
        if HTTP_VERSIONS.contains(&v) {
            versions.push(v.to_string());
        } else {
            ctx.error_hint(
                version.span(),
                &tree::index(path, i),
                format!("invalid HTTP version {v:?}"),
                format!("valid values: {}", HTTP_VERSIONS.join(", ")),
            );
        }
    }
    versions
}

/// Headers in the order written (the map is sorted; spans give the order back).
fn request_headers(
    ctx: &mut Ctx<'_>,
    path: &str,
    headers: &StringMap,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut entries: Vec<_> = headers.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    let mut out = Vec::new();
    for (name, value) in entries {
        let at = tree::key(path, name.get_ref());
        let Ok(header) = HeaderName::from_bytes(name.get_ref().as_bytes()) else {
            ctx.error(
                name.span(),
                &at,
                format!("invalid header name {:?}", name.get_ref()),
            );
            continue;
        };
        match HeaderValue::from_str(value.get_ref()) {
            Ok(v) => out.push((header, v)),
            Err(_) => ctx.error_hint(
                value.span(),
                &at,
                "invalid header value",
                "header values cannot contain control characters such as newlines",
            ),
        }
    }
    out
}

fn body(ctx: &mut Ctx<'_>, path: &str, file: &HttpFile) -> Option<Bytes> {
    match (&file.body, &file.body_file) {
        (Some(body), Some(body_file)) => {
            let (later, key) = if body.span().start > body_file.span().start {
                (body.span(), "body")
            } else {
                (body_file.span(), "body_file")
            };
            ctx.error_hint(
                later,
                &tree::key(path, key),
                "body and body_file are mutually exclusive",
                "set only one of them",
            );
            None
        }
        (Some(body), None) => Some(Bytes::from(body.get_ref().clone())),
        (None, Some(name)) => ctx
            .read_file(&tree::key(path, "body_file"), name)
            .map(|(_, b)| Bytes::from(b)),
        (None, None) => None,
    }
}

fn compression(ctx: &mut Ctx<'_>, path: &str, file: &HttpFile) -> Option<Compression> {
    let value = file.compression.as_ref()?;
    let algorithm = match value.get_ref().as_str() {
        "" => return None,
        "gzip" => Compression::Gzip,
        "br" => Compression::Brotli,
        "deflate" => Compression::Deflate,
        "identity" => Compression::Identity,
        other => {
            ctx.error_hint(
                value.span(),
                &tree::key(path, "compression"),
                format!("invalid compression {other:?}"),
                "valid values: gzip, br, deflate, identity, or \"\" for none",
            );
            return None;
        }
    };
    let accept = file
        .headers
        .iter()
        .flatten()
        .find(|(name, _)| name.get_ref().eq_ignore_ascii_case("accept-encoding"));
    if let Some((name, accept)) = accept {
        if !values::accepts_encoding(accept.get_ref(), algorithm.token()) {
            ctx.error_hint(
                accept.span(),
                &tree::key(&tree::key(path, "headers"), name.get_ref()),
                format!(
                    "{}: {:?} does not accept compression {:?}",
                    name.get_ref(),
                    accept.get_ref(),
                    algorithm.token()
                ),
                "list the algorithm in Accept-Encoding (with q > 0), or remove the header",
            );
        }
    }
    Some(algorithm)
}

fn follow_redirects(ctx: &mut Ctx<'_>, path: &str, file: &HttpFile) -> bool {
    match (&file.follow_redirects, &file.no_follow_redirects) {
        (Some(follow), Some(no_follow)) => {
            ctx.error_hint(
                no_follow.span(),
                &tree::key(path, "no_follow_redirects"),
                "no_follow_redirects and follow_redirects are both set",
                "no_follow_redirects is deprecated: keep only follow_redirects",
            );
            *follow.get_ref()
        }
        (Some(follow), None) => *follow.get_ref(),
        (None, Some(no_follow)) => {
            tracing::warn!(module = %path, "no_follow_redirects is deprecated; use follow_redirects");
            !*no_follow.get_ref()
        }
        (None, None) => true,
    }
}

/// Body rules, compiled as the bytes regexes the body matcher runs. A pattern
/// that does not compile is a config error (reported by `values`), never a rule
/// quietly left out.
fn regexes(
    ctx: &mut Ctx<'_>,
    path: &str,
    list: &Option<Vec<Spanned<String>>>,
) -> Vec<regex::bytes::Regex> {
    list.iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, re)| values::bytes_regex(ctx, &tree::index(path, i), re))
        .collect()
}

fn header_matchers(
    ctx: &mut Ctx<'_>,
    path: &str,
    list: &Option<Vec<Spanned<HeaderMatchFile>>>,
) -> Vec<HeaderMatch> {
    let mut out = Vec::new();
    for (i, item) in list.iter().flatten().enumerate() {
        let at = tree::index(path, i);
        let m = item.get_ref();
        let header = HeaderName::from_bytes(m.header.get_ref().as_bytes());
        if header.is_err() {
            ctx.error(
                m.header.span(),
                &tree::key(&at, "header"),
                format!("invalid header name {:?}", m.header.get_ref()),
            );
        }
        let regexp = match &m.regexp {
            Some(re) if !re.get_ref().is_empty() => {
                values::regex(ctx, &tree::key(&at, "regexp"), re)
            }
            _ => {
                ctx.error_hint(
                    item.span(),
                    &at,
                    "regexp must be set for header matchers",
                    "add regexp = \"...\"",
                );
                None
            }
        };
        if let (Ok(header), Some(regexp)) = (header, regexp) {
            out.push(HeaderMatch {
                header,
                regexp,
                allow_missing: m.allow_missing,
            });
        }
    }
    out
}

fn proxy_url(ctx: &mut Ctx<'_>, path: &str, value: &Spanned<String>) -> Option<Uri> {
    let hint = "write an http:// or https:// URL, e.g. \"http://proxy.internal:3128\"";
    match value.get_ref().parse::<Uri>() {
        Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some() => {
            Some(uri)
        }
        Ok(uri)
            if uri
                .scheme_str()
                .is_some_and(|s| s != "http" && s != "https") =>
        {
            ctx.error_hint(
                value.span(),
                path,
                format!(
                    "unsupported proxy scheme {:?}",
                    uri.scheme_str().unwrap_or_default()
                ),
                hint,
            );
            None
        }
        _ => {
            ctx.error_hint(
                value.span(),
                path,
                format!("invalid proxy URL {:?}", value.get_ref()),
                hint,
            );
            None
        }
    }
}

fn body_size_limit(ctx: &mut Ctx<'_>, path: &str, value: &Spanned<SizeText>) -> Option<u64> {
    let bytes = match value.get_ref() {
        SizeText::Bytes(n) => {
            u64::try_from(*n).map_err(|_| format!("invalid size {n}: must not be negative"))
        }
        SizeText::Text(text) => values::parse_size(text),
    };
    match bytes {
        Ok(0) => None,
        Ok(n) => Some(n),
        Err(e) => {
            ctx.error_hint(value.span(), path, e, values::SIZE_HINT);
            None
        }
    }
}
