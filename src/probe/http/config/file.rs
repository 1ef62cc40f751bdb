//! The serde mirror of `[modules.NAME.http]`, with spans. Every table denies
//! unknown keys; `tls_config` is a [`Block`] decoded on its own.

use serde::Deserialize;
use toml::Spanned;

use crate::config::file::{Block, SizeText, StringMap};

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
    pub bearer_token: Option<Spanned<String>>,
    pub bearer_token_file: Option<Spanned<String>>,
    pub proxy_url: Option<Spanned<String>>,
    pub skip_resolve_phase_with_proxy: Option<bool>,
    pub enable_http2: Option<bool>,
    pub enable_http3: Option<Spanned<bool>>,
    pub preferred_ip_protocol: Option<Spanned<String>>,
    pub ip_protocol_fallback: Option<bool>,
    pub body_size_limit: Option<Spanned<SizeText>>,
    pub tls_config: Block,
    /// Decoded on its own by `config::oauth2`.
    pub oauth2: Block,
    pub no_proxy: Option<Spanned<String>>,
    pub proxy_from_environment: Option<Spanned<bool>>,
    pub proxy_connect_header: Option<Spanned<super::proxy::HeaderLists>>,
    // Blackbox options not supported yet.
    pub authorization: Block,
    pub http_headers: Block,
    pub fail_if_body_json_matches_cel: Block,
    pub fail_if_body_json_not_matches_cel: Block,
}

impl HttpFile {
    /// The Blackbox options outpost accepts but cannot honour yet, with their spans.
    pub fn unsupported(&self) -> Vec<(&'static str, std::ops::Range<usize>)> {
        [
            ("authorization", &self.authorization),
            ("http_headers", &self.http_headers),
            (
                "fail_if_body_json_matches_cel",
                &self.fail_if_body_json_matches_cel,
            ),
            (
                "fail_if_body_json_not_matches_cel",
                &self.fail_if_body_json_not_matches_cel,
            ),
        ]
        .into_iter()
        .filter_map(|(key, block)| block.as_ref().map(|b| (key, b.span())))
        .collect()
    }
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
    pub password: Option<Spanned<String>>,
    pub password_file: Option<Spanned<String>>,
}
