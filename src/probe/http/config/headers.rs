//! `http_headers` (prometheus/common): per header name, `values`, `secrets` and
//! `files`, each sent as one value of the header; files read at load.

use std::collections::BTreeMap;

use http::{HeaderName, HeaderValue};
use toml::Spanned;

use super::file::HttpHeaderFile;
use crate::config::tree;
use crate::config::validate::Ctx;
use crate::probe::http::ExtraHeader;

/// Headers prometheus/common refuses here: set by the prober, by another option,
/// or changing the connection.
const RESERVED: &[&str] = &[
    "authorization",
    "host",
    "content-encoding",
    "content-length",
    "content-type",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "www-authenticate",
    "accept-encoding",
    "x-prometheus-remote-write-version",
    "x-prometheus-remote-read-version",
    "x-prometheus-scrape-timeout-seconds",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// Every value of every entry, entries in the order written.
pub(super) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    entries: &BTreeMap<Spanned<String>, Spanned<HttpHeaderFile>>,
) -> Vec<ExtraHeader> {
    let mut entries: Vec<_> = entries.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    let mut out = Vec::new();
    for (name, entry) in entries {
        let at = tree::key(path, name.get_ref());
        let lower = name.get_ref().to_ascii_lowercase();
        if RESERVED.contains(&lower.as_str()) {
            ctx.error_hint(
                name.span(),
                &at,
                format!("setting header {:?} is not allowed here", name.get_ref()),
                "authentication has its own options (basic_auth, authorization); Host, User-Agent and Content-Type go in `headers`",
            );
            continue;
        }
        let Ok(header) = HeaderName::from_bytes(name.get_ref().as_bytes()) else {
            ctx.error(
                name.span(),
                &at,
                format!("invalid header name {:?}", name.get_ref()),
            );
            continue;
        };
        values(ctx, &at, &header, entry.get_ref(), &mut out);
    }
    out
}

fn values(
    ctx: &mut Ctx<'_>,
    path: &str,
    name: &HeaderName,
    entry: &HttpHeaderFile,
    out: &mut Vec<ExtraHeader>,
) {
    let secrets = entry.secrets.as_ref().map(|list| {
        list.iter()
            .map(|s| Spanned::new(s.span(), s.get_ref().expose().to_string()))
            .collect()
    });
    let lists = [
        ("values", &entry.values, false),
        ("secrets", &secrets, true),
        ("files", &entry.files, true),
    ];
    for (key, list, credential) in lists {
        for (i, item) in list.iter().flatten().enumerate() {
            let at = tree::index(&tree::key(path, key), i);
            let bytes = if key == "files" {
                match ctx.read_file(&at, item) {
                    // Trimmed as prometheus/common does (a trailing newline above all).
                    Some((_, bytes)) => bytes.trim_ascii().to_vec(),
                    None => continue,
                }
            } else {
                item.get_ref().as_bytes().to_vec()
            };
            let Ok(mut value) = HeaderValue::from_bytes(&bytes) else {
                ctx.error_hint(
                    item.span(),
                    &at,
                    "invalid header value",
                    "header values cannot contain control characters such as newlines",
                );
                continue;
            };
            value.set_sensitive(credential);
            out.push(ExtraHeader {
                name: name.clone(),
                value,
                credential,
            });
        }
    }
}
