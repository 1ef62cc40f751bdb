//! `[modules.NAME.tcp]`: its file model and checks.

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::TcpModule;
use crate::config::file::{Block, DurationText};
use crate::config::shared::{self, SettingsBlock};
use crate::config::tree::{self, child};

use crate::config::validate::Ctx;
use crate::probe::{packets, query_response};

/// `[modules.NAME.tcp]`, without the contents of `tls_config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct TcpFile {
    pub preferred_ip_protocol: Option<Spanned<String>>,
    pub ip_protocol_fallback: Option<bool>,
    pub source_ip_address: Option<Spanned<String>>,
    pub tls: Option<bool>,
    pub tls_config: Block,
    pub query_response: Block,
    pub packets: Option<Spanned<i64>>,
    pub packet_interval: Option<Spanned<DurationText>>,
}

/// Builds the tcp settings at `path`; absent means defaults. `None` after an error.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: Option<&Spanned<DeValue<'_>>>,
) -> Option<TcpModule> {
    let Some(value) = value else {
        return Some(TcpModule::default());
    };
    let SettingsBlock { file, tls_config } = shared::decode_block::<TcpFile>(ctx, path, value)?;
    let before = ctx.error_count();
    let tls = file.tls.unwrap_or(false);
    let query_response = query_response::config::build(
        ctx,
        &tree::key(path, "query_response"),
        child(value, "query_response"),
        tls,
    );
    let ip = shared::ip_settings_of(ctx, path, value);
    let packets = packets::build(
        ctx,
        path,
        file.packets.as_ref(),
        file.packet_interval.as_ref(),
    )
    .unwrap_or_default();
    if let Some(n) = file.packets.as_ref().filter(|_| packets.is_train()) {
        if tls || !query_response.is_empty() {
            ctx.error_hint(
                n.span(),
                &tree::key(path, "packets"),
                "a train of connects (packets > 1) is for connect-only modules",
                "remove tls and query_response, or set packets = 1",
            );
        }
    }
    let tls_config = tls_config?;
    (ctx.error_count() == before).then(|| TcpModule {
        ip,
        tls,
        tls_config,
        query_response,
        packets,
    })
}
