//! `proxy_url`, `no_proxy`, `proxy_from_environment`, `proxy_connect_header`
//! (prometheus/common's `ProxyConfig`, in an http block and in `oauth2`), with
//! prometheus/common's rules on which may be combined. The environment is read
//! here, at load: a reload reads it again.

use std::collections::BTreeMap;

use http::{HeaderName, HeaderValue, Uri};
use toml::Spanned;

use crate::config::secret::Secret;
use crate::config::tree;
use crate::config::validate::Ctx;
use crate::probe::http::no_proxy::{EnvProxy, NoProxy};
use crate::probe::http::settings::ProxyOptions;

/// `proxy_connect_header`: header name to its values.
pub type HeaderLists = BTreeMap<Spanned<String>, Vec<Spanned<Secret>>>;

/// The proxy keys of one block, as written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProxyKeys<'a> {
    pub(crate) proxy_url: Option<&'a Spanned<String>>,
    pub(crate) no_proxy: Option<&'a Spanned<String>>,
    pub(crate) proxy_from_environment: Option<&'a Spanned<bool>>,
    pub(crate) proxy_connect_header: Option<&'a Spanned<HeaderLists>>,
}

/// Builds `proxy_url` and the other proxy options of the block at `path`;
/// errors are recorded.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    keys: ProxyKeys<'_>,
) -> (Option<Uri>, ProxyOptions) {
    let at = |key: &str| tree::key(path, key);
    let url = keys
        .proxy_url
        .and_then(|p| super::proxy_url(ctx, &at("proxy_url"), p));
    let from_env = keys.proxy_from_environment.filter(|f| *f.get_ref());
    let no_proxy = keys.no_proxy.filter(|n| !n.get_ref().is_empty());
    let headers = keys
        .proxy_connect_header
        .filter(|h| !h.get_ref().is_empty());
    if let (Some(h), None, None) = (headers, keys.proxy_url, from_env) {
        ctx.error_hint(
            h.span(),
            &at("proxy_connect_header"),
            "proxy_connect_header is set without a proxy",
            "set proxy_url or proxy_from_environment = true",
        );
    }
    if let (Some(env), Some(_)) = (from_env, keys.proxy_url) {
        ctx.error_hint(
            env.span(),
            &at("proxy_from_environment"),
            "proxy_from_environment and proxy_url are mutually exclusive",
            "set only one of them",
        );
    }
    match (no_proxy, from_env, keys.proxy_url) {
        (Some(n), Some(_), _) => ctx.error_hint(
            n.span(),
            &at("no_proxy"),
            "no_proxy cannot be combined with proxy_from_environment",
            "set NO_PROXY in the environment instead",
        ),
        (Some(n), None, None) => ctx.error_hint(
            n.span(),
            &at("no_proxy"),
            "no_proxy is set without proxy_url",
            "no_proxy lists the targets proxy_url is not used for",
        ),
        _ => {}
    }
    let options = ProxyOptions {
        no_proxy: no_proxy.map(|n| NoProxy::parse(n.get_ref())),
        from_environment: from_env.and_then(|f| environment(ctx, &at("proxy_from_environment"), f)),
        connect_header: headers
            .map(|h| connect_headers(ctx, &at("proxy_connect_header"), h.get_ref()))
            .unwrap_or_default(),
    };
    (url, options)
}

fn environment(ctx: &mut Ctx<'_>, path: &str, flag: &Spanned<bool>) -> Option<EnvProxy> {
    EnvProxy::from_lookup(|name| std::env::var(name).ok())
        .map_err(|e| {
            ctx.error_hint(
                flag.span(),
                path,
                format!("unusable proxy in the environment: {e}"),
                "fix the variable, or configure proxy_url instead",
            );
        })
        .ok()
}

/// Every value is a secret: marked sensitive, so it never shows in a Debug print.
fn connect_headers(
    ctx: &mut Ctx<'_>,
    path: &str,
    headers: &HeaderLists,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    for (name, values) in headers {
        let at = tree::key(path, name.get_ref());
        let Ok(header) = HeaderName::from_bytes(name.get_ref().as_bytes()) else {
            ctx.error(
                name.span(),
                &at,
                format!("invalid header name {:?}", name.get_ref()),
            );
            continue;
        };
        for (i, value) in values.iter().enumerate() {
            match HeaderValue::from_str(value.get_ref().expose()) {
                Ok(mut v) => {
                    v.set_sensitive(true);
                    out.push((header.clone(), v));
                }
                Err(_) => ctx.error_hint(
                    value.span(),
                    &tree::index(&at, i),
                    "invalid header value",
                    "header values cannot contain control characters such as newlines",
                ),
            }
        }
    }
    out
}
