//! `tls_config`: versions, server name, and the CA, certificate and key files,
//! read and parsed at load so a bad file is a config error, not a failed probe.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use toml::de::DeValue;
use toml::Spanned;

use super::file::TlsFile;
use super::tree::{self, decode};
use super::validate::Ctx;
use super::{ClientCert, TlsSettings, TlsVersion};

/// Builds `tls_config` at `path`; absent means defaults. `None` after an error.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: Option<&Spanned<DeValue<'_>>>,
) -> Option<TlsSettings> {
    let Some(value) = value else {
        return Some(TlsSettings::default());
    };
    let file = decode::<TlsFile>(ctx, value, path)?;
    let before = ctx.error_count();
    for (key, block) in [("ca", &file.ca), ("cert", &file.cert), ("key", &file.key)] {
        if let Some(block) = block {
            ctx.error_hint(
                block.span(),
                &tree::key(path, key),
                format!("inline `{key}` is not supported yet"),
                format!("put the PEM in a file and set `{key}_file`"),
            );
        }
    }
    let mut tls = TlsSettings {
        insecure_skip_verify: file.insecure_skip_verify.unwrap_or(false),
        ..TlsSettings::default()
    };
    if let Some(ca_file) = &file.ca_file {
        tls.ca = ca_store(ctx, &tree::key(path, "ca_file"), ca_file).map(Arc::new);
    }
    tls.client_cert = client_cert(ctx, path, &file);
    if let Some(name) = &file.server_name {
        if ServerName::try_from(name.get_ref().as_str()).is_err() {
            ctx.error_hint(
                name.span(),
                &tree::key(path, "server_name"),
                format!("invalid server name {:?}", name.get_ref()),
                "write a DNS name or an IP address",
            );
        }
        tls.server_name = Some(name.get_ref().clone());
    }
    tls.min_version = file
        .min_version
        .as_ref()
        .and_then(|v| version(ctx, &tree::key(path, "min_version"), v));
    tls.max_version = file
        .max_version
        .as_ref()
        .and_then(|v| version(ctx, &tree::key(path, "max_version"), v));
    if let (Some(max), Some(span)) = (
        tls.max_version,
        file.max_version.as_ref().map(Spanned::span),
    ) {
        let max_path = tree::key(path, "max_version");
        if max < TlsVersion::Tls12 {
            ctx.error_hint(
                span,
                &max_path,
                "TLS 1.0 and 1.1 cannot be negotiated",
                "outpost's TLS library (rustls) speaks TLS 1.2 and 1.3 only; use TLS12 or TLS13",
            );
        } else if tls.min_version.is_some_and(|min| max < min) {
            ctx.error(span, &max_path, "max_version is lower than min_version");
        }
    }
    (ctx.error_count() == before).then_some(tls)
}

fn version(ctx: &mut Ctx<'_>, path: &str, value: &Spanned<String>) -> Option<TlsVersion> {
    match value.get_ref().as_str() {
        "TLS10" => Some(TlsVersion::Tls10),
        "TLS11" => Some(TlsVersion::Tls11),
        "TLS12" => Some(TlsVersion::Tls12),
        "TLS13" => Some(TlsVersion::Tls13),
        other => {
            ctx.error_hint(
                value.span(),
                path,
                format!("invalid TLS version {other:?}"),
                "expected TLS10, TLS11, TLS12 or TLS13",
            );
            None
        }
    }
}

/// Reads `ca_file` into a root store; every certificate in it must be usable.
fn ca_store(ctx: &mut Ctx<'_>, path: &str, name: &Spanned<String>) -> Option<RootCertStore> {
    let (file, bytes) = ctx.read_file(path, name)?;
    let certs = match certificates(&file, &bytes) {
        Ok(certs) => certs,
        Err(e) => {
            ctx.error(name.span(), path, e);
            return None;
        }
    };
    let mut store = RootCertStore::empty();
    for (i, cert) in certs.into_iter().enumerate() {
        if let Err(e) = store.add(cert) {
            ctx.error(
                name.span(),
                path,
                format!(
                    "certificate {} in {} is not a usable CA: {e}",
                    i + 1,
                    file.display()
                ),
            );
            return None;
        }
    }
    Some(store)
}

/// All `CERTIFICATE` PEM blocks in a file; at least one.
fn certificates(file: &Path, bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("invalid PEM in {}: {e}", file.display()))?;
    if certs.is_empty() {
        return Err(format!("no PEM certificate found in {}", file.display()));
    }
    Ok(certs)
}

/// `cert_file` + `key_file`: both or neither.
fn client_cert(ctx: &mut Ctx<'_>, path: &str, file: &TlsFile) -> Option<ClientCert> {
    match (&file.cert_file, &file.key_file) {
        (None, None) => None,
        (Some(cert), None) => {
            ctx.error_hint(
                cert.span(),
                &tree::key(path, "cert_file"),
                "cert_file is set without key_file",
                "a client certificate needs both cert_file and key_file",
            );
            None
        }
        (None, Some(key)) => {
            ctx.error_hint(
                key.span(),
                &tree::key(path, "key_file"),
                "key_file is set without cert_file",
                "a client certificate needs both cert_file and key_file",
            );
            None
        }
        (Some(cert), Some(key)) => {
            let cert_path = tree::key(path, "cert_file");
            let key_path = tree::key(path, "key_file");
            let chain = ctx.read_file(&cert_path, cert).and_then(|(f, bytes)| {
                certificates(&f, &bytes)
                    .map_err(|e| ctx.error(cert.span(), &cert_path, e))
                    .ok()
            });
            let key_der = ctx.read_file(&key_path, key).and_then(|(f, bytes)| {
                PrivateKeyDer::from_pem_slice(&bytes)
                    .map_err(|e| {
                        ctx.error(
                            key.span(),
                            &key_path,
                            format!("no usable private key in {}: {e}", f.display()),
                        );
                    })
                    .ok()
            });
            Some(ClientCert {
                chain: chain?,
                key: key_der?,
            })
        }
    }
}
