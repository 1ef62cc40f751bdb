//! `[server.tls_server_config]` and `[server.basic_auth_users]`: TLS and basic
//! auth on outpost's own listener, with exporter-toolkit's keys and values, so a
//! `--web.config.file` of any Prometheus exporter means the same here.
//!
//! Everything is loaded at validation: the certificate, key and client CA are read
//! and parsed and the rustls server configuration is built, so a file that does
//! not load is a config error (and a reload with one keeps the running config),
//! never a listener that fails on its first connection. Password hashes are
//! checked to be bcrypt; plain text is refused.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use toml::Spanned;

use super::file::TlsServerFile;
use super::tree;
use super::validate::Ctx;
use super::TlsVersion;
use crate::redact::SECRET;

/// `client_auth_type`: Go's `tls.ClientAuthType` names, as exporter-toolkit takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuthType {
    /// No certificate asked for.
    #[default]
    NoClientCert,
    /// A certificate asked for, not required, not verified.
    RequestClientCert,
    /// A certificate required, not verified.
    RequireAnyClientCert,
    /// A certificate not required; one that is sent must chain to `client_ca_file`.
    VerifyClientCertIfGiven,
    /// A certificate required, and it must chain to `client_ca_file`.
    RequireAndVerifyClientCert,
}

impl ClientAuthType {
    pub const ALL: [ClientAuthType; 5] = [
        ClientAuthType::NoClientCert,
        ClientAuthType::RequestClientCert,
        ClientAuthType::RequireAnyClientCert,
        ClientAuthType::VerifyClientCertIfGiven,
        ClientAuthType::RequireAndVerifyClientCert,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ClientAuthType::NoClientCert => "NoClientCert",
            ClientAuthType::RequestClientCert => "RequestClientCert",
            ClientAuthType::RequireAnyClientCert => "RequireAnyClientCert",
            ClientAuthType::VerifyClientCertIfGiven => "VerifyClientCertIfGiven",
            ClientAuthType::RequireAndVerifyClientCert => "RequireAndVerifyClientCert",
        }
    }

    /// Whether a certificate sent is verified against `client_ca_file`.
    pub fn verifies(self) -> bool {
        matches!(
            self,
            ClientAuthType::VerifyClientCertIfGiven | ClientAuthType::RequireAndVerifyClientCert
        )
    }

    /// Whether only clients holding a certificate from `client_ca_file` get in.
    pub fn keeps_strangers_out(self) -> bool {
        self == ClientAuthType::RequireAndVerifyClientCert
    }
}

/// `[server.tls_server_config]`, loaded: the listener's rustls configuration and
/// the settings it was made from. Equal when the settings and the bytes of every
/// file read are.
#[derive(Clone)]
pub struct ListenerTls {
    pub client_auth: ClientAuthType,
    pub min_version: TlsVersion,
    pub max_version: Option<TlsVersion>,
    /// What accepted connections are handshaken with.
    pub rustls: Arc<rustls::ServerConfig>,
    /// SHA-256 over the settings and the certificate, key and CA files' bytes.
    identity: Vec<u8>,
}

impl PartialEq for ListenerTls {
    fn eq(&self, other: &Self) -> bool {
        self.identity == other.identity
    }
}

impl fmt::Debug for ListenerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerTls")
            .field("client_auth", &self.client_auth)
            .field("min_version", &self.min_version)
            .field("max_version", &self.max_version)
            .finish_non_exhaustive()
    }
}

/// A bcrypt hash from `basic_auth_users`. Not the password, but still a
/// credential to keep out of logs and dumps: `Debug` prints `<secret>`.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// The hash, for verifying a password against it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SECRET)
    }
}

/// `[server.basic_auth_users]`: user name to bcrypt hash; at least one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuthUsers {
    users: BTreeMap<String, PasswordHash>,
}

impl BasicAuthUsers {
    /// The hash stored for `user`, if there is such a user.
    pub fn hash_of(&self, user: &str) -> Option<&PasswordHash> {
        self.users.get(user)
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

const PLAIN_TEXT_HINT: &str =
    "plain-text passwords are refused: store a bcrypt hash, e.g. from `htpasswd -nBC 10 user`";

/// Builds `basic_auth_users` at `path` from its entries. `None` after an error.
pub(crate) fn build_users<'a>(
    ctx: &mut Ctx<'_>,
    path: &str,
    table: Range<usize>,
    entries: impl IntoIterator<Item = (&'a Spanned<String>, &'a Spanned<String>)>,
) -> Option<BasicAuthUsers> {
    let before = ctx.error_count();
    let mut users = BTreeMap::new();
    for (name, hash) in entries {
        let key = tree::key(path, name.get_ref());
        if name.get_ref().is_empty() || name.get_ref().contains(':') {
            ctx.error_hint(
                name.span(),
                &key,
                "invalid user name",
                "a basic auth user name is not empty and holds no `:`",
            );
        }
        // The value is never echoed: it may be a password written in clear.
        if !is_bcrypt_hash(hash.get_ref()) {
            ctx.error_hint(hash.span(), &key, "not a bcrypt hash", PLAIN_TEXT_HINT);
            continue;
        }
        users.insert(name.get_ref().clone(), PasswordHash(hash.get_ref().clone()));
    }
    if users.is_empty() && ctx.error_count() == before {
        ctx.error_hint(
            table,
            path,
            "no users",
            "add `NAME = \"BCRYPT HASH\"` entries, or remove the table to serve without basic auth",
        );
    }
    (ctx.error_count() == before).then_some(BasicAuthUsers { users })
}

/// `$2a$`, `$2b$` or `$2y$`, a two-digit cost from 04 to 31, `$`, then 53
/// characters of bcrypt's base64 (22 of salt, 31 of hash).
pub fn is_bcrypt_hash(text: &str) -> bool {
    let Some(rest) = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .find_map(|p| text.strip_prefix(p))
    else {
        return false;
    };
    let Some((cost, tail)) = rest.split_once('$') else {
        return false;
    };
    let cost_ok = cost.len() == 2
        && cost.bytes().all(|b| b.is_ascii_digit())
        && cost.parse::<u32>().is_ok_and(|c| (4..=31).contains(&c));
    let tail_ok = tail.len() == 53
        && tail
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
    cost_ok && tail_ok && text.parse::<bcrypt::HashParts>().is_ok()
}

/// Builds `tls_server_config` at `path`. `None` after an error.
pub(crate) fn build_tls(
    ctx: &mut Ctx<'_>,
    path: &str,
    file: &Spanned<TlsServerFile>,
) -> Option<ListenerTls> {
    let before = ctx.error_count();
    let table = file.span();
    let file = file.get_ref();
    for (name, block) in [
        ("cipher_suites", &file.cipher_suites),
        ("curve_preferences", &file.curve_preferences),
        ("client_allowed_sans", &file.client_allowed_sans),
    ] {
        if let Some(block) = block {
            ctx.error_hint(
                block.span(),
                &tree::key(path, name),
                format!("{name} is not supported by outpost"),
                "remove it: rustls offers only modern cipher suites and curves",
            );
        }
    }
    let client_auth = file
        .client_auth_type
        .as_ref()
        .map_or(Some(ClientAuthType::default()), |v| {
            client_auth(ctx, path, v)
        });
    let min_version = match &file.min_version {
        Some(v) => version(ctx, &tree::key(path, "min_version"), v, false),
        None => Some(TlsVersion::Tls12),
    };
    let max_version = match &file.max_version {
        Some(v) => version(ctx, &tree::key(path, "max_version"), v, true).map(Some),
        None => Some(None),
    };
    if let (Some(min), Some(Some(max)), Some(span)) = (
        min_version,
        max_version,
        file.max_version.as_ref().map(Spanned::span),
    ) {
        if max < min {
            ctx.error(
                span,
                &tree::key(path, "max_version"),
                "max_version is lower than min_version",
            );
        }
    }
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let chain = required(ctx, path, &table, "cert_file", &file.cert_file).and_then(|name| {
        let (_, bytes) = ctx.read_file(&tree::key(path, "cert_file"), name)?;
        feed(&mut digest, &bytes);
        certificates(ctx, &tree::key(path, "cert_file"), name, &bytes)
    });
    let key = required(ctx, path, &table, "key_file", &file.key_file).and_then(|name| {
        let at = tree::key(path, "key_file");
        let (shown, bytes) = ctx.read_file(&at, name)?;
        feed(&mut digest, &bytes);
        PrivateKeyDer::from_pem_slice(&bytes)
            .map_err(|e| {
                let message = format!("no usable private key in {}: {e}", shown.display());
                ctx.error(name.span(), &at, message);
            })
            .ok()
    });
    let roots = client_auth.and_then(|auth| client_roots(ctx, path, &table, auth, file));
    let roots = roots.map(|r| {
        if let Some((_, bytes)) = &r {
            feed(&mut digest, bytes);
        }
        r.map(|(store, _)| store)
    });
    let (Some(client_auth), Some(min_version), Some(max_version), Some(chain), Some(key)) =
        (client_auth, min_version, max_version, chain, key)
    else {
        return None;
    };
    let roots = roots?;
    if ctx.error_count() != before {
        return None;
    }
    let versions = Versions {
        min: min_version,
        max: max_version,
    };
    let rustls = match server_config(client_auth, versions, roots, chain, key) {
        Ok(config) => config,
        Err(e) => {
            let (span, key) = match &file.key_file {
                Some(k) => (k.span(), tree::key(path, "key_file")),
                None => (table, path.to_string()),
            };
            ctx.error_hint(
                span,
                &key,
                format!("cannot serve TLS with this certificate and key: {e}"),
                "key_file must hold the private key of cert_file's first certificate",
            );
            return None;
        }
    };
    digest.update(format!("{client_auth:?} {min_version:?} {max_version:?}").as_bytes());
    Some(ListenerTls {
        client_auth,
        min_version,
        max_version,
        rustls: Arc::new(rustls),
        identity: digest.finish().as_ref().to_vec(),
    })
}

/// Adds `bytes` to a digest, length first, so that file boundaries count.
fn feed(digest: &mut ring::digest::Context, bytes: &[u8]) {
    digest.update(&(bytes.len() as u64).to_be_bytes());
    digest.update(bytes);
}

/// The value of a key that must be there, or an error at the table.
fn required<'f>(
    ctx: &mut Ctx<'_>,
    path: &str,
    table: &Range<usize>,
    key: &str,
    value: &'f Option<Spanned<String>>,
) -> Option<&'f Spanned<String>> {
    if value.is_none() {
        ctx.error_hint(
            table.clone(),
            path,
            format!("missing required key `{key}`"),
            "serving TLS needs both cert_file and key_file",
        );
    }
    value.as_ref()
}

fn client_auth(ctx: &mut Ctx<'_>, path: &str, value: &Spanned<String>) -> Option<ClientAuthType> {
    let found = ClientAuthType::ALL
        .into_iter()
        .find(|t| t.name() == value.get_ref());
    if found.is_none() {
        let names: Vec<&str> = ClientAuthType::ALL.iter().map(|t| t.name()).collect();
        ctx.error_hint(
            value.span(),
            &tree::key(path, "client_auth_type"),
            format!("invalid client_auth_type {:?}", value.get_ref()),
            format!("expected one of {}", names.join(", ")),
        );
    }
    found
}

/// The roots client certificates are verified against: required with a verifying
/// `client_auth_type`, refused with any other (where it would verify nothing).
/// `Some(None)`: no roots, rightly; `None`: an error was recorded.
fn client_roots(
    ctx: &mut Ctx<'_>,
    path: &str,
    table: &Range<usize>,
    auth: ClientAuthType,
    file: &TlsServerFile,
) -> Option<Option<(Arc<RootCertStore>, Vec<u8>)>> {
    let at = tree::key(path, "client_ca_file");
    match (&file.client_ca_file, auth.verifies()) {
        (None, false) => Some(None),
        (None, true) => {
            let span = file
                .client_auth_type
                .as_ref()
                .map_or(table.clone(), Spanned::span);
            ctx.error_hint(
                span,
                &tree::key(path, "client_auth_type"),
                format!("{} needs client_ca_file", auth.name()),
                "set client_ca_file to the CA(s) that issue your clients' certificates",
            );
            None
        }
        (Some(name), false) => {
            ctx.error_hint(
                name.span(),
                &at,
                format!(
                    "client_ca_file is set but client_auth_type {} verifies no client certificate",
                    auth.name()
                ),
                "set client_auth_type = \"RequireAndVerifyClientCert\" (or \"VerifyClientCertIfGiven\"), or remove client_ca_file",
            );
            None
        }
        (Some(name), true) => {
            let (_, bytes) = ctx.read_file(&at, name)?;
            let certs = certificates(ctx, &at, name, &bytes)?;
            let mut store = RootCertStore::empty();
            for (i, cert) in certs.into_iter().enumerate() {
                if let Err(e) = store.add(cert) {
                    let message = format!("certificate {} is not a usable CA: {e}", i + 1);
                    ctx.error(name.span(), &at, message);
                    return None;
                }
            }
            Some(Some((Arc::new(store), bytes)))
        }
    }
}

/// All `CERTIFICATE` blocks of a PEM file; at least one.
fn certificates(
    ctx: &mut Ctx<'_>,
    at: &str,
    name: &Spanned<String>,
    bytes: &[u8],
) -> Option<Vec<CertificateDer<'static>>> {
    match CertificateDer::pem_slice_iter(bytes).collect::<Result<Vec<_>, _>>() {
        Ok(certs) if !certs.is_empty() => Some(certs),
        Ok(_) => {
            ctx.error(name.span(), at, "no PEM certificate found in the file");
            None
        }
        Err(e) => {
            ctx.error(name.span(), at, format!("invalid PEM: {e}"));
            None
        }
    }
}

/// `TLS12` or `TLS13`; `TLS10` and `TLS11` as a minimum mean what rustls speaks.
fn version(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: &Spanned<String>,
    is_max: bool,
) -> Option<TlsVersion> {
    let parsed = match value.get_ref().as_str() {
        "TLS10" if !is_max => Some(TlsVersion::Tls12),
        "TLS11" if !is_max => Some(TlsVersion::Tls12),
        "TLS12" => Some(TlsVersion::Tls12),
        "TLS13" => Some(TlsVersion::Tls13),
        _ => None,
    };
    if parsed.is_none() {
        ctx.error_hint(
            value.span(),
            path,
            format!("invalid TLS version {:?}", value.get_ref()),
            "expected TLS12 or TLS13 (rustls speaks no older version)",
        );
    }
    parsed
}

struct Versions {
    min: TlsVersion,
    max: Option<TlsVersion>,
}

fn server_config(
    auth: ClientAuthType,
    versions: Versions,
    roots: Option<Arc<RootCertStore>>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let protocols: &[&rustls::SupportedProtocolVersion] = match (versions.min, versions.max) {
        (TlsVersion::Tls13, _) => &[&rustls::version::TLS13],
        (_, Some(TlsVersion::Tls12)) => &[&rustls::version::TLS12],
        _ => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ClientCertVerifier> = match (auth, roots) {
        (ClientAuthType::NoClientCert, _) => WebPkiClientVerifier::no_client_auth(),
        (ClientAuthType::RequestClientCert, _) => Arc::new(AnyClientCert {
            mandatory: false,
            algorithms,
        }),
        (ClientAuthType::RequireAnyClientCert, _) => Arc::new(AnyClientCert {
            mandatory: true,
            algorithms,
        }),
        (ClientAuthType::VerifyClientCertIfGiven, Some(roots)) => {
            WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                .allow_unauthenticated()
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))?
        }
        (ClientAuthType::RequireAndVerifyClientCert, Some(roots)) => {
            WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))?
        }
        (_, None) => {
            return Err(rustls::Error::General(
                "client certificate verification needs client_ca_file".into(),
            ))
        }
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(protocols)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    // hyper serves both; a client that offers neither gets HTTP/1.1.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// `RequestClientCert` and `RequireAnyClientCert`: a certificate is asked for (or
/// required) but its chain is not verified, as Go does; the handshake signature
/// still is, so the client holds the certificate's key.
#[derive(Debug)]
struct AnyClientCert {
    mandatory: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcrypt_hashes_are_told_from_anything_else() {
        let hashed = bcrypt::hash("secret", 10);
        let good = hashed.as_deref().unwrap_or_default();
        assert!(good.starts_with("$2b$10$"), "{good}");
        assert!(is_bcrypt_hash(good));
        assert!(is_bcrypt_hash(&good.replacen("$2b$", "$2a$", 1)));
        assert!(is_bcrypt_hash(&good.replacen("$2b$", "$2y$", 1)));
        for bad in [
            "secret",
            "",
            &good.replacen("$2b$", "$2x$", 1),
            &good.replacen("$10$", "$03$", 1),
            &good.replacen("$10$", "$32$", 1),
            &good.replacen("$10$", "$1$", 1),
            &good[..59],
            &format!("{good}x"),
            &format!("{}!", &good[..59]),
            "$2y$10$",
        ] {
            assert!(!is_bcrypt_hash(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_password_hash_never_prints() {
        let hash = PasswordHash("$2y$10$abc".to_string());
        assert_eq!(format!("{hash:?}"), "<secret>");
    }
}
