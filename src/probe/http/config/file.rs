//! The serde mirror of `[modules.NAME.http]`, with spans. Every table denies
//! unknown keys; `tls_config` is a [`Block`] decoded on its own.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::config::file::{Block, SizeText, StringMap};
use crate::config::secret::Secret;

/// `[modules.NAME.http]`, without the contents of `tls_config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct HttpFile {
    pub valid_status_codes: Option<Vec<Spanned<i64>>>,
    pub valid_http_versions: Option<Vec<Spanned<String>>>,
    pub method: Option<Spanned<String>>,
    pub headers: Option<StringMap>,
    pub body: Option<Spanned<String>>,
    pub body_file: Option<Spanned<String>>,
    pub compression: Option<Spanned<String>>,
    pub follow_redirects: Option<Spanned<bool>>,
    pub no_follow_redirects: Option<Spanned<bool>>,
    pub max_redirects: Option<Spanned<u32>>,
    pub fail_if_ssl: Option<bool>,
    pub fail_if_not_ssl: Option<bool>,
    pub fail_if_body_matches_regexp: Option<Vec<Spanned<String>>>,
    pub fail_if_body_not_matches_regexp: Option<Vec<Spanned<String>>>,
    pub fail_if_header_matches: Option<Vec<Spanned<HeaderMatchFile>>>,
    pub fail_if_header_not_matches: Option<Vec<Spanned<HeaderMatchFile>>>,
    pub basic_auth: Option<Spanned<BasicAuthFile>>,
    pub bearer_token: Option<Spanned<Secret>>,
    pub bearer_token_file: Option<Spanned<String>>,
    pub bearer_token_env: Option<Spanned<String>>,
    pub proxy_url: Option<Spanned<String>>,
    pub skip_resolve_phase_with_proxy: Option<bool>,
    pub enable_http2: Option<bool>,
    pub enable_http3: Option<Spanned<bool>>,
    pub preferred_ip_protocol: Option<Spanned<String>>,
    pub ip_protocol_fallback: Option<bool>,
    pub body_size_limit: Option<Spanned<SizeText>>,
    pub tls_config: Block,
    pub fail_if_body_json_matches_cel: Option<Spanned<String>>,
    pub fail_if_body_json_not_matches_cel: Option<Spanned<String>>,
    pub authorization: Option<Spanned<AuthorizationFile>>,
    pub http_headers: Option<BTreeMap<Spanned<String>, Spanned<HttpHeaderFile>>>,
    /// Decoded on its own by `config::oauth2`.
    pub oauth2: Block,
    pub no_proxy: Option<Spanned<String>>,
    pub proxy_from_environment: Option<Spanned<bool>>,
    pub proxy_connect_header: Option<Spanned<super::proxy::HeaderLists>>,
}

/// One `fail_if_header_matches` / `fail_if_header_not_matches` item.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct HeaderMatchFile {
    pub header: Spanned<String>,
    pub regexp: Option<Spanned<String>>,
    #[serde(default)]
    pub allow_missing: bool,
}

/// `basic_auth`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct BasicAuthFile {
    pub username: Option<Spanned<String>>,
    pub username_file: Option<Spanned<String>>,
    pub password: Option<Spanned<Secret>>,
    pub password_file: Option<Spanned<String>>,
    pub password_env: Option<Spanned<String>>,
}

/// `authorization` (prometheus/common).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct AuthorizationFile {
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    pub credentials: Option<Spanned<Secret>>,
    pub credentials_file: Option<Spanned<String>>,
    pub credentials_env: Option<Spanned<String>>,
}

/// One `http_headers` entry (prometheus/common): each value, secret and file
/// content is sent as one value of the header.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct HttpHeaderFile {
    pub values: Option<Vec<Spanned<String>>>,
    pub secrets: Option<Vec<Spanned<Secret>>>,
    pub files: Option<Vec<Spanned<String>>>,
}
