//! Settings several probers share, each parsed by one function: address choice
//! (`preferred_ip_protocol`, `ip_protocol_fallback`, `source_ip_address`) and
//! secrets given as a value or a file. `tls_config` has its own module,
//! [`super::tls_files`].

use serde::de::DeserializeOwned;
use toml::de::DeValue;
use toml::Spanned;

use super::validate::Ctx;
use super::{tls_files, tree, values, IpSettings, TlsSettings};

/// The address-choice keys as written in a prober's block.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IpKeys<'a> {
    pub(crate) preferred_ip_protocol: Option<&'a Spanned<String>>,
    pub(crate) ip_protocol_fallback: Option<bool>,
    /// `None` for probers that have no such key (http, as in Blackbox).
    pub(crate) source_ip_address: Option<&'a Spanned<String>>,
}

/// The address-choice keys read straight off a prober's block. Not strict: the
/// prober's own file model, decoded first, has already refused unknown keys and
/// wrong types, so this only picks the three keys out.
#[derive(Debug, serde::Deserialize)]
struct IpKeysFile {
    preferred_ip_protocol: Option<Spanned<String>>,
    ip_protocol_fallback: Option<bool>,
    source_ip_address: Option<Spanned<String>>,
}

/// [`ip_settings`] for the block `value` at `path`, after the prober's file model
/// decoded it: one call for every prober with these keys.
pub(crate) fn ip_settings_of(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: &Spanned<DeValue<'_>>,
) -> IpSettings {
    match tree::decode::<IpKeysFile>(ctx, value, path) {
        Some(f) => ip_settings(
            ctx,
            path,
            IpKeys {
                preferred_ip_protocol: f.preferred_ip_protocol.as_ref(),
                ip_protocol_fallback: f.ip_protocol_fallback,
                source_ip_address: f.source_ip_address.as_ref(),
            },
        ),
        None => IpSettings::default(),
    }
}

/// Builds [`IpSettings`] from the keys of the block at `path`; errors are recorded
/// and the defaults kept in their place.
pub(crate) fn ip_settings(ctx: &mut Ctx<'_>, path: &str, keys: IpKeys<'_>) -> IpSettings {
    let mut ip = IpSettings::default();
    if let Some(p) = keys.preferred_ip_protocol {
        ip.preferred = values::ip_protocol(ctx, &tree::key(path, "preferred_ip_protocol"), p)
            .unwrap_or_default();
    }
    ip.fallback = keys.ip_protocol_fallback.unwrap_or(true);
    if let Some(source) = keys.source_ip_address {
        match source.get_ref().parse() {
            Ok(addr) => ip.source_ip = Some(addr),
            Err(_) => ctx.error_hint(
                source.span(),
                &tree::key(path, "source_ip_address"),
                format!("invalid IP address {:?}", source.get_ref()),
                "write an IPv4 or IPv6 address, e.g. \"10.0.0.5\" or \"2001:db8::5\"",
            ),
        }
    }
    ip
}

/// A secret given inline (`key`) or in a file (`key_file`): at most one of them.
/// `None` when neither is set or after an error (recorded).
pub(crate) fn secret(
    ctx: &mut Ctx<'_>,
    path: &str,
    (key, value): (&str, Option<&Spanned<impl AsRef<str>>>),
    (file_key, file): (&str, Option<&Spanned<String>>),
) -> Option<String> {
    match (value, file) {
        (Some(_), Some(f)) => {
            ctx.error(
                f.span(),
                &tree::key(path, file_key),
                format!("{key} and {file_key} are mutually exclusive"),
            );
            None
        }
        (Some(v), None) => Some(v.get_ref().as_ref().to_string()),
        (None, Some(f)) => secret_file(ctx, &tree::key(path, file_key), f),
        (None, None) => None,
    }
}

/// A credential read from a file, trailing newline trimmed.
pub(crate) fn secret_file(ctx: &mut Ctx<'_>, path: &str, name: &Spanned<String>) -> Option<String> {
    let (file, bytes) = ctx.read_file(path, name)?;
    match String::from_utf8(bytes) {
        Ok(text) => Some(text.trim_end_matches(['\n', '\r']).to_string()),
        Err(_) => {
            ctx.error(
                name.span(),
                path,
                format!("{} is not UTF-8 text", file.display()),
            );
            None
        }
    }
}

/// A prober's settings block: its file model, and its `tls_config` built on its
/// own beforehand, so that mistakes in both are reported in the same pass.
pub(crate) struct SettingsBlock<F> {
    pub(crate) file: F,
    /// `None` after an error in `tls_config` (already recorded).
    pub(crate) tls_config: Option<TlsSettings>,
}

/// Decodes the settings block at `path`. `None` when the block itself does not
/// decode (recorded); its `tls_config` errors are recorded either way.
pub(crate) fn decode_block<F: DeserializeOwned>(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: &Spanned<DeValue<'_>>,
) -> Option<SettingsBlock<F>> {
    let tls_config = tls_files::build(
        ctx,
        &tree::key(path, "tls_config"),
        tree::child(value, "tls_config"),
    );
    let file = tree::decode::<F>(ctx, value, path)?;
    Some(SettingsBlock { file, tls_config })
}
