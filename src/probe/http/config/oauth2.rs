//! `oauth2`: client credentials checked and the secret read at load, as
//! prometheus/common validates them (`client_id` and `token_url` required, at
//! most one of `client_secret` and `client_secret_file`).

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;
use url::Url;

use super::proxy::ProxyKeys;
use crate::config::file::{Block, StringMap};
use crate::config::secret::Secret;
use crate::config::shared;
use crate::config::shared::SettingsBlock;
use crate::config::tree::{self};
use crate::config::validate::Ctx;
use crate::probe::http::oauth2::OAuth2;

/// `[modules.NAME.http.oauth2]`, without the contents of `tls_config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct OAuth2File {
    pub client_id: Option<Spanned<String>>,
    pub client_secret: Option<Spanned<Secret>>,
    pub client_secret_file: Option<Spanned<String>>,
    pub client_secret_env: Option<Spanned<String>>,
    pub token_url: Option<Spanned<String>>,
    pub scopes: Option<Vec<Spanned<String>>>,
    pub endpoint_params: Option<StringMap>,
    pub tls_config: Block,
    pub proxy_url: Option<Spanned<String>>,
    pub no_proxy: Option<Spanned<String>>,
    pub proxy_from_environment: Option<Spanned<bool>>,
    pub proxy_connect_header: Option<Spanned<super::proxy::HeaderLists>>,
}

/// Builds `oauth2` at `path` (absent: `None`); errors are recorded.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: Option<&Spanned<DeValue<'_>>>,
) -> Option<Box<OAuth2>> {
    let value = value?;
    let SettingsBlock {
        file,
        tls_config: tls,
    } = shared::decode_block::<OAuth2File>(ctx, path, value)?;
    let before = ctx.error_count();
    let client_id = required(ctx, path, value, "client_id", file.client_id.as_ref());
    let token_url = required(ctx, path, value, "token_url", file.token_url.as_ref())
        .and_then(|_| token_url(ctx, path, file.token_url.as_ref()?));
    let client_secret = shared::secret_or_env(
        ctx,
        path,
        ("client_secret", file.client_secret.as_ref()),
        ("client_secret_file", file.client_secret_file.as_ref()),
        ("client_secret_env", file.client_secret_env.as_ref()),
    );
    let scopes: Vec<String> = file
        .scopes
        .iter()
        .flatten()
        .map(|s| s.get_ref().clone())
        .collect();
    let endpoint_params = endpoint_params(ctx, path, &file, !scopes.is_empty());
    let (proxy_url, proxy_options) = super::proxy::build(
        ctx,
        path,
        ProxyKeys {
            proxy_url: file.proxy_url.as_ref(),
            no_proxy: file.no_proxy.as_ref(),
            proxy_from_environment: file.proxy_from_environment.as_ref(),
            proxy_connect_header: file.proxy_connect_header.as_ref(),
        },
    );
    if ctx.error_count() != before {
        return None;
    }
    Some(Box::new(OAuth2 {
        client_id: client_id?,
        client_secret: client_secret.unwrap_or_default(),
        token_url: token_url?,
        scopes,
        endpoint_params,
        tls: tls?,
        proxy_url,
        proxy_options,
    }))
}

/// A key prometheus/common requires to be set and not empty.
fn required(
    ctx: &mut Ctx<'_>,
    path: &str,
    table: &Spanned<DeValue<'_>>,
    key: &str,
    value: Option<&Spanned<String>>,
) -> Option<String> {
    match value {
        Some(v) if !v.get_ref().is_empty() => Some(v.get_ref().clone()),
        Some(v) => {
            ctx.error(
                v.span(),
                &tree::key(path, key),
                format!("{key} must not be empty"),
            );
            None
        }
        None => {
            ctx.error_hint(
                table.span(),
                path,
                format!("missing required key `{key}`"),
                "oauth2 needs client_id and token_url",
            );
            None
        }
    }
}

fn token_url(ctx: &mut Ctx<'_>, path: &str, value: &Spanned<String>) -> Option<Url> {
    match Url::parse(value.get_ref()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Some(url),
        _ => {
            ctx.error_hint(
                value.span(),
                &tree::key(path, "token_url"),
                format!("invalid token URL {:?}", value.get_ref()),
                "write an absolute http:// or https:// URL",
            );
            None
        }
    }
}

/// `endpoint_params`, sorted by name. Like golang.org/x/oauth2 they may replace
/// `grant_type` but not `scope` when `scopes` is set (Go fails every token
/// request then; outpost refuses the config).
fn endpoint_params(
    ctx: &mut Ctx<'_>,
    path: &str,
    file: &OAuth2File,
    has_scopes: bool,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, value) in file.endpoint_params.iter().flatten() {
        if name.get_ref() == "scope" && has_scopes {
            ctx.error_hint(
                name.span(),
                &tree::key(&tree::key(path, "endpoint_params"), "scope"),
                "endpoint_params.scope conflicts with scopes",
                "set the scopes in `scopes` only",
            );
            continue;
        }
        out.push((name.get_ref().clone(), value.get_ref().clone()));
    }
    out
}
