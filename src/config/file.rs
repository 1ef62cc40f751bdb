//! The serde mirror of `probes.toml`, with source spans.
//!
//! These types say which keys exist and what type each value has; nothing more.
//! Every table denies unknown keys. Values that later checks point at are
//! [`Spanned`], so a message can name their `line:col`. Nested settings blocks
//! (`tls_config`) appear here as [`Block`] and are deserialized on their own by
//! [`super::validate`]; each prober's block has its file model in its own module
//! (`crate::probe::http::config::file`), so that a mistake in one block does not hide a
//! mistake in another. Blackbox options outpost does not support yet are accepted
//! here as [`Block`] too, so the validator can say "not supported yet" instead of
//! "unknown key".

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, IgnoredAny, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::secret::Secret;

/// A value whose contents are checked elsewhere (or only its presence matters).
pub type Block = Option<Spanned<IgnoredAny>>;

/// A free-form string map (`headers`, `labels`); order is recovered from spans.
pub type StringMap = BTreeMap<Spanned<String>, Spanned<String>>;

/// `[server]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct ServerFile {
    pub max_concurrent_probes: Option<Spanned<i64>>,
    pub max_connections: Option<Spanned<i64>>,
    pub timeout_offset: Option<Spanned<DurationText>>,
    pub shard: Option<Spanned<String>>,
    pub status_history: Option<Spanned<i64>>,
    pub probe_endpoint: Option<ProbeEndpointFile>,
    pub tls_server_config: Option<Spanned<TlsServerFile>>,
    /// User name to bcrypt hash.
    pub basic_auth_users: Option<Spanned<StringMap>>,
}

/// `[server.tls_server_config]`, and `tls_server_config` of a `--web.config.file`
/// (converted to this model with spans into the YAML text): exporter-toolkit's keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct TlsServerFile {
    pub cert_file: Option<Spanned<String>>,
    pub key_file: Option<Spanned<String>>,
    pub client_ca_file: Option<Spanned<String>>,
    pub client_auth_type: Option<Spanned<String>>,
    pub min_version: Option<Spanned<String>>,
    pub max_version: Option<Spanned<String>>,
    pub prefer_server_cipher_suites: Option<bool>,
    /// exporter-toolkit keys outpost refuses with a reason rather than as unknown.
    pub cipher_suites: Block,
    pub curve_preferences: Block,
    pub client_allowed_sans: Block,
}

/// `[server.probe_endpoint]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct ProbeEndpointFile {
    pub enabled: Option<bool>,
    pub max_concurrent: Option<Spanned<i64>>,
    pub allow: Option<Vec<Spanned<String>>>,
    pub deny: Option<Vec<Spanned<String>>>,
    pub apply_to_scheduled_probes: Option<bool>,
}

/// `[modules.NAME]` less its prober settings blocks (`http`, `tcp` ...), which the
/// validator takes out first and hands to the prober that owns them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct ModuleFile {
    pub prober: Spanned<String>,
    pub timeout: Option<Spanned<DurationText>>,
    pub run_duration_buckets: Option<Spanned<Vec<Spanned<f64>>>>,
    pub precreate_failure_reasons: Option<bool>,
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
    /// Inline PEM (prometheus/common), exclusive with the `_file` keys.
    pub ca: Option<Spanned<String>>,
    pub cert: Option<Spanned<String>>,
    pub key: Option<Spanned<Secret>>,
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
    /// `"all"`: probe every address of the target's host.
    pub fan_out: Option<Spanned<String>>,
    pub fan_out_success: Option<Spanned<String>>,
    pub max_addresses: Option<Spanned<i64>>,
    pub address_grace: Option<Spanned<i64>>,
    pub ip_protocols: Option<Spanned<Vec<Spanned<String>>>>,
}

/// One `[[slos]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct SloFile {
    pub name: Spanned<String>,
    pub probes: Option<Spanned<SelectorFile>>,
    pub sli: Option<Spanned<String>>,
    /// A percentage; TOML integers (`99`) are read as floats.
    pub objective: Spanned<f64>,
    pub latency: Option<Spanned<DurationText>>,
    pub latency_objective: Option<Spanned<f64>>,
    pub window: Option<Spanned<DurationText>>,
    pub labels: Option<StringMap>,
}

/// A label matcher's value as written: any TOML value, so that the validator can
/// check the label name first (an unknown key reads as one) and then say the
/// value must be a string.
pub type MatcherValue = Spanned<toml::Value>;

/// `probes` of an `[[slos]]` entry: a list of probe names, or a table of label
/// matchers (label name to exact value).
#[derive(Debug)]
pub enum SelectorFile {
    Names(Vec<Spanned<String>>),
    Labels(BTreeMap<Spanned<String>, MatcherValue>),
}

impl<'de> Deserialize<'de> for SelectorFile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SelectorFile;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of probe names or a table of label matchers")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<SelectorFile, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element()? {
                    names.push(name);
                }
                Ok(SelectorFile::Names(names))
            }
            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<SelectorFile, A::Error> {
                let mut labels = BTreeMap::new();
                while let Some((name, value)) = map.next_entry()? {
                    labels.insert(name, value);
                }
                Ok(SelectorFile::Labels(labels))
            }
        }
        deserializer.deserialize_any(V)
    }
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
