//! `[modules.NAME.grpc]`: its file model and checks.

use std::collections::BTreeMap;

use http::{HeaderName, HeaderValue};
use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::GrpcModule;
use crate::config::file::Block;
use crate::config::shared::{self, SettingsBlock};
use crate::config::tree::{self};
use crate::config::validate::Ctx;

/// `[modules.NAME.grpc]`, without the contents of `tls_config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct GrpcFile {
    pub service: Option<String>,
    pub tls: Option<bool>,
    pub tls_config: Block,
    pub preferred_ip_protocol: Option<Spanned<String>>,
    pub ip_protocol_fallback: Option<bool>,
    /// Header name to its values (gRPC metadata; `-bin` keys carry base64).
    pub metadata: Option<BTreeMap<Spanned<String>, Vec<Spanned<String>>>>,
}

/// Builds the grpc settings at `path`; absent means defaults. `None` after an error.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: Option<&Spanned<DeValue<'_>>>,
) -> Option<GrpcModule> {
    let Some(value) = value else {
        return Some(GrpcModule::default());
    };
    let SettingsBlock { file, tls_config } = shared::decode_block::<GrpcFile>(ctx, path, value)?;
    let before = ctx.error_count();
    let ip = shared::ip_settings_of(ctx, path, value);
    let metadata = metadata(ctx, &tree::key(path, "metadata"), file.metadata.as_ref());
    let tls_config = tls_config?;
    (ctx.error_count() == before).then(|| GrpcModule {
        service: file.service.unwrap_or_default(),
        tls: file.tls.unwrap_or(false),
        tls_config,
        ip,
        metadata,
    })
}

/// Header names gRPC reserves for itself or HTTP/2 sets.
fn reserved(name: &str) -> bool {
    name.starts_with("grpc-")
        || name.starts_with(':')
        || matches!(name, "content-type" | "te" | "user-agent" | "host")
}

fn metadata(
    ctx: &mut Ctx<'_>,
    path: &str,
    map: Option<&BTreeMap<Spanned<String>, Vec<Spanned<String>>>>,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut entries: Vec<_> = map.into_iter().flatten().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    let mut out = Vec::new();
    for (name, values) in entries {
        let at = tree::key(path, name.get_ref());
        let lower = name.get_ref().to_ascii_lowercase();
        let header = match HeaderName::from_bytes(lower.as_bytes()) {
            Ok(h) if !reserved(&lower) => h,
            Ok(_) => {
                ctx.error_hint(
                    name.span(),
                    &at,
                    format!("metadata key {:?} is reserved", name.get_ref()),
                    "grpc-*, content-type, te, user-agent and host are set by the prober",
                );
                continue;
            }
            Err(_) => {
                ctx.error(
                    name.span(),
                    &at,
                    format!("invalid metadata key {:?}", name.get_ref()),
                );
                continue;
            }
        };
        for (i, value) in values.iter().enumerate() {
            match HeaderValue::from_str(value.get_ref()) {
                Ok(v) => out.push((header.clone(), v)),
                Err(_) => ctx.error_hint(
                    value.span(),
                    &tree::index(&at, i),
                    "invalid metadata value",
                    "values cannot contain control characters; -bin keys take base64",
                ),
            }
        }
    }
    out
}
