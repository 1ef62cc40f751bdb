//! `[modules.NAME.icmp]`: its file model and checks.

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::packet::MAX_PAYLOAD;
use super::IcmpModule;
use crate::config::file::DurationText;
use crate::config::shared::{self};
use crate::config::tree::{self, decode};
use crate::config::validate::Ctx;
use crate::probe::packets;

/// `[modules.NAME.icmp]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct IcmpFile {
    pub preferred_ip_protocol: Option<Spanned<String>>,
    pub ip_protocol_fallback: Option<bool>,
    pub source_ip_address: Option<Spanned<String>>,
    pub payload_size: Option<Spanned<i64>>,
    pub dont_fragment: Option<bool>,
    pub ttl: Option<Spanned<i64>>,
    pub packets: Option<Spanned<i64>>,
    pub packet_interval: Option<Spanned<DurationText>>,
}

/// Builds the icmp settings at `path`; absent means defaults. `None` after an error.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: Option<&Spanned<DeValue<'_>>>,
) -> Option<IcmpModule> {
    let Some(value) = value else {
        return Some(IcmpModule::default());
    };
    let file = decode::<IcmpFile>(ctx, value, path)?;
    let before = ctx.error_count();
    let ip = shared::ip_settings_of(ctx, path, value);
    let mut m = IcmpModule {
        ip,
        dont_fragment: file.dont_fragment.unwrap_or(false),
        ..IcmpModule::default()
    };
    if let Some(ttl) = &file.ttl {
        m.ttl = ranged(ctx, &tree::key(path, "ttl"), ttl, 255, TTL_HINT).unwrap_or(m.ttl);
    }
    if let Some(size) = &file.payload_size {
        let max = MAX_PAYLOAD as i64;
        m.payload_size =
            ranged(ctx, &tree::key(path, "payload_size"), size, max, SIZE_HINT).unwrap_or_default();
    }
    if let Some(p) = packets::build(
        ctx,
        path,
        file.packets.as_ref(),
        file.packet_interval.as_ref(),
    ) {
        m.packets = p;
    }
    (ctx.error_count() == before).then_some(m)
}

const TTL_HINT: &str = "the TTL (hop limit for IPv6) of the echo request: 1 to 255, \
                        or 0 for the system's default; default 64";
const SIZE_HINT: &str = "payload bytes after the ICMP header: 0 (the 28-byte text \
                         Blackbox sends) up to 65507";

/// An integer in `0..=max`, else an error (as Blackbox: "cannot be negative",
/// "cannot exceed").
fn ranged<T: TryFrom<i64>>(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: &Spanned<i64>,
    max: i64,
    hint: &str,
) -> Option<T> {
    let v = *value.get_ref();
    let problem = if v < 0 {
        format!("{v} is out of range: cannot be negative")
    } else if v > max {
        format!("{v} is out of range: cannot exceed {max}")
    } else {
        return T::try_from(v).ok();
    };
    ctx.error_hint(value.span(), path, problem, hint);
    None
}
