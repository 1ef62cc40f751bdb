//! `proxy_url`, `no_proxy`, `proxy_from_environment`
//! (prometheus/common's `ProxyConfig`, in an http block and in `oauth2`), with
//! prometheus/common's rules on which may be combined. The environment is read
//! here, at load: a reload reads it again.

use http::Uri;
use toml::Spanned;

use crate::config::tree;
use crate::config::validate::Ctx;
use crate::probe::http::no_proxy::{EnvProxy, NoProxy};
use crate::probe::http::settings::ProxyOptions;

/// The proxy keys of one block, as written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ProxyKeys<'a> {
    pub(crate) proxy_url: Option<&'a Spanned<String>>,
    pub(crate) no_proxy: Option<&'a Spanned<String>>,
    pub(crate) proxy_from_environment: Option<&'a Spanned<bool>>,
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
