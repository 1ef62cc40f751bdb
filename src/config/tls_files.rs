//! `tls_config`: versions, server name, and the CA, certificate and key, each
//! given inline as PEM text (`ca`, `cert`, `key`) or as a file (`ca_file` ...),
//! read and parsed at load so a bad one is a config error, not a failed probe.

use std::ops::Range;
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
    let mut tls = TlsSettings {
        insecure_skip_verify: file.insecure_skip_verify.unwrap_or(false),
        ..TlsSettings::default()
    };
    if let Some(ca) = pem(ctx, path, ("ca", &file.ca), ("ca_file", &file.ca_file)) {
        tls.ca = ca_store(ctx, &ca).map(Arc::new);
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

/// A PEM as given: its text, where it came from (for messages) and its key.
struct Pem {
    bytes: Vec<u8>,
    origin: String,
    path: String,
    span: Range<usize>,
}

/// The PEM given inline as `key` or in the file `file_key`: at most one of them.
/// `None` when neither is set or after an error (recorded).
fn pem(
    ctx: &mut Ctx<'_>,
    path: &str,
    (key, inline): (&str, &Option<Spanned<impl AsRef<str>>>),
    (file_key, file): (&str, &Option<Spanned<String>>),
) -> Option<Pem> {
    match (inline, file) {
        (Some(text), Some(name)) => {
            let (later, later_key) = if text.span().start > name.span().start {
                (text.span(), key)
            } else {
                (name.span(), file_key)
            };
            ctx.error_hint(
                later,
                &tree::key(path, later_key),
                format!("{key} and {file_key} are mutually exclusive"),
                format!("give the PEM inline ({key}) or as a file ({file_key}), not both"),
            );
            None
        }
        (Some(text), None) => Some(Pem {
            bytes: text.get_ref().as_ref().as_bytes().to_vec(),
            origin: format!("the inline {key}"),
            path: tree::key(path, key),
            span: text.span(),
        }),
        (None, Some(name)) => {
            let at = tree::key(path, file_key);
            let (file, bytes) = ctx.read_file(&at, name)?;
            Some(Pem {
                bytes,
                origin: file.display().to_string(),
                path: at,
                span: name.span(),
            })
        }
        (None, None) => None,
    }
}

/// Builds a root store from `ca`/`ca_file`; every certificate must be usable.
fn ca_store(ctx: &mut Ctx<'_>, ca: &Pem) -> Option<RootCertStore> {
    let certs = match certificates(ca) {
        Ok(certs) => certs,
        Err(e) => {
            ctx.error(ca.span.clone(), &ca.path, e);
            return None;
        }
    };
    let mut store = RootCertStore::empty();
    for (i, cert) in certs.into_iter().enumerate() {
        if let Err(e) = store.add(cert) {
            ctx.error(
                ca.span.clone(),
                &ca.path,
                format!(
                    "certificate {} in {} is not a usable CA: {e}",
                    i + 1,
                    ca.origin
                ),
            );
            return None;
        }
    }
    Some(store)
}

/// All `CERTIFICATE` PEM blocks; at least one.
fn certificates(pem: &Pem) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(&pem.bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("invalid PEM in {}: {e}", pem.origin))?;
    if certs.is_empty() {
        return Err(format!("no PEM certificate found in {}", pem.origin));
    }
    Ok(certs)
}

/// The client certificate (`cert` or `cert_file`) and its key (`key` or
/// `key_file`): both or neither.
fn client_cert(ctx: &mut Ctx<'_>, path: &str, file: &TlsFile) -> Option<ClientCert> {
    let span = |s: &Spanned<String>| s.span();
    let cert = (
        file.cert.as_ref().or(file.cert_file.as_ref()).map(span),
        "cert_file",
    );
    let key = (
        (file.key.as_ref().map(Spanned::span)).or(file.key_file.as_ref().map(span)),
        "key_file",
    );
    let hint = "a client certificate needs both a certificate (cert_file or cert) and a key (key_file or key)";
    match (cert.0, key.0) {
        (None, None) => return None,
        (Some(c), None) => {
            let name = if file.cert.is_some() { "cert" } else { cert.1 };
            ctx.error_hint(
                c,
                &tree::key(path, name),
                format!("{name} is set without key_file or key"),
                hint,
            );
        }
        (None, Some(k)) => {
            let name = if file.key.is_some() { "key" } else { key.1 };
            ctx.error_hint(
                k,
                &tree::key(path, name),
                format!("{name} is set without cert_file or cert"),
                hint,
            );
        }
        (Some(_), Some(_)) => {}
    }
    let cert = pem(
        ctx,
        path,
        ("cert", &file.cert),
        ("cert_file", &file.cert_file),
    );
    let key = pem(ctx, path, ("key", &file.key), ("key_file", &file.key_file));
    let chain = cert.and_then(|c| {
        certificates(&c)
            .map_err(|e| ctx.error(c.span.clone(), &c.path, e))
            .ok()
    });
    let key_der = key.and_then(|k| {
        PrivateKeyDer::from_pem_slice(&k.bytes)
            .map_err(|e| {
                ctx.error(
                    k.span.clone(),
                    &k.path,
                    format!("no usable private key in {}: {e}", k.origin),
                );
            })
            .ok()
    });
    Some(ClientCert {
        chain: chain?,
        key: key_der?,
    })
}
