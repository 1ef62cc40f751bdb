//! The serde mirror of `probes.toml`, with source spans.
//!
//! These types say which keys exist and what type each value has; nothing more.
//! Every table denies unknown keys. Values that later checks point at are
//! [`Spanned`], so a message can name their `line:col`. Nested settings blocks
//! (`http`, `tcp`, `tls_config`) appear here as [`Block`] and are deserialized on
//! their own by [`super::validate`], so that a mistake in one block does not hide a
//! mistake in another. Blackbox options outpost does not support yet are accepted
//! here as [`Block`] too, so the validator can say "not supported yet" instead of
//! "unknown key".

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, IgnoredAny, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

/// A value whose contents are checked elsewhere (or only its presence matters).
pub type Block = Option<Spanned<IgnoredAny>>;

/// A free-form string map (`headers`, `labels`); order is recovered from spans.
pub type StringMap = BTreeMap<Spanned<String>, Spanned<String>>;

/// `[server]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct ServerFile {
    pub max_concurrent_probes: Option<Spanned<i64>>,
    pub timeout_offset: Option<Spanned<DurationText>>,
}

/// `[modules.NAME]`, without the contents of its prober blocks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct ModuleFile {
    pub prober: Spanned<String>,
    pub timeout: Option<Spanned<DurationText>>,
    pub run_duration_buckets: Option<Spanned<Vec<Spanned<f64>>>>,
    pub http: Block,
    pub tcp: Block,
    pub icmp: Block,
    pub dns: Block,
    pub grpc: Block,
    pub unix: Block,
    pub websocket: Block,
}

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
    // Blackbox options not supported yet.
    pub oauth2: Block,
    pub authorization: Block,
    pub http_headers: Block,
    pub no_proxy: Block,
    pub proxy_from_environment: Block,
    pub proxy_connect_header: Block,
    pub fail_if_body_json_matches_cel: Block,
    pub fail_if_body_json_not_matches_cel: Block,
}

impl HttpFile {
    /// The Blackbox options outpost accepts but cannot honour yet, with their spans.
    pub fn unsupported(&self) -> Vec<(&'static str, std::ops::Range<usize>)> {
        [
            ("oauth2", &self.oauth2),
            ("authorization", &self.authorization),
            ("http_headers", &self.http_headers),
            ("no_proxy", &self.no_proxy),
            ("proxy_from_environment", &self.proxy_from_environment),
            ("proxy_connect_header", &self.proxy_connect_header),
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

/// `[modules.NAME.tcp]`, without the contents of `tls_config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct TcpFile {
    pub preferred_ip_protocol: Option<Spanned<String>>,
    pub ip_protocol_fallback: Option<bool>,
    pub source_ip_address: Option<Spanned<String>>,
    pub tls: Option<bool>,
    pub tls_config: Block,
    // Not supported yet.
    pub query_response: Block,
}

/// `tls_config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct TlsFile {
    pub ca_file: Option<Spanned<String>>,
    pub cert_file: Option<Spanned<String>>,
    pub key_file: Option<Spanned<String>>,
    pub server_name: Option<Spanned<String>>,
    pub insecure_skip_verify: Option<bool>,
    pub min_version: Option<Spanned<String>>,
    pub max_version: Option<Spanned<String>>,
    // prometheus/common options not supported yet.
    pub ca: Block,
    pub cert: Block,
    pub key: Block,
}

/// One `[[probes]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct ProbeFile {
    pub name: Spanned<String>,
    pub module: Spanned<String>,
    pub target: Spanned<String>,
    pub interval: Spanned<DurationText>,
    pub timeout: Option<Spanned<DurationText>>,
    pub labels: Option<StringMap>,
}

/// A duration as written (`"15s"`); parsed by the validator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationText(pub String);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string such as \"15s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationText, E> {
                Ok(DurationText(v.to_string()))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// `body_size_limit`: an integer number of bytes or a string with a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizeText {
    Bytes(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for SizeText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SizeText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as 1048576 or \"10MB\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SizeText, E> {
                Ok(SizeText::Bytes(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SizeText, E> {
                i64::try_from(v)
                    .map(SizeText::Bytes)
                    .map_err(|_| E::custom("size is too large"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SizeText, E> {
                Ok(SizeText::Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(V)
    }
}
