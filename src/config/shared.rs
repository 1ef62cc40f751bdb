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
    inline: (&str, Option<&Spanned<impl AsRef<str>>>),
    file: (&str, Option<&Spanned<String>>),
) -> Option<String> {
    secret_or_env(ctx, path, inline, file, ("", None))
}

/// A secret given inline (`key`), in a file (`key_file`) or in an environment
/// variable named by `key_env`: at most one of them. `None` when none is set or
/// after an error (recorded).
pub(crate) fn secret_or_env(
    ctx: &mut Ctx<'_>,
    path: &str,
    (key, value): (&str, Option<&Spanned<impl AsRef<str>>>),
    (file_key, file): (&str, Option<&Spanned<String>>),
    (env_key, env): (&str, Option<&Spanned<String>>),
) -> Option<String> {
    let mut given: Vec<(&str, std::ops::Range<usize>)> = [
        (key, value.map(Spanned::span)),
        (file_key, file.map(Spanned::span)),
        (env_key, env.map(Spanned::span)),
    ]
    .into_iter()
    .filter_map(|(k, s)| s.map(|s| (k, s)))
    .collect();
    given.sort_by_key(|(_, s)| s.start);
    if let [(first, _), (later, span), ..] = given.as_slice() {
        ctx.error(
            span.clone(),
            &tree::key(path, later),
            format!("{first} and {later} are mutually exclusive: give the secret one way"),
        );
        return None;
    }
    match (value, file, env) {
        (Some(v), _, _) => Some(v.get_ref().as_ref().to_string()),
        (_, Some(f), _) => secret_file(ctx, &tree::key(path, file_key), f),
        (_, _, Some(e)) => secret_env(ctx, &tree::key(path, env_key), e),
        (None, None, None) => None,
    }
}

/// A credential read from the environment variable `name` names, at load (and at
/// every reload). Unset or empty is an error: a probe must not go out without the
/// credential it was configured with.
fn secret_env(ctx: &mut Ctx<'_>, path: &str, name: &Spanned<String>) -> Option<String> {
    let hint = "set it in outpost's environment (systemd: Environment= or EnvironmentFile=; \
                Kubernetes: env from a Secret), or give the secret in a file (the _file key)";
    match std::env::var(name.get_ref()) {
        Ok(value) if !value.is_empty() => Some(value),
        Ok(_) => {
            let message = format!("environment variable {} is empty", name.get_ref());
            ctx.error_hint(name.span(), path, message, hint);
            None
        }
        Err(std::env::VarError::NotPresent) => {
            let message = format!("environment variable {} is not set", name.get_ref());
            ctx.error_hint(name.span(), path, message, hint);
            None
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            let message = format!("environment variable {} is not UTF-8 text", name.get_ref());
            ctx.error(name.span(), path, message);
            None
        }
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
