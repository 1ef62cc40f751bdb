//! TLS for every prober that speaks it (http, tcp, dns; later grpc): a rustls
//! `ClientConfig` built from [`TlsSettings`], a timed handshake and the Blackbox
//! certificate and session series.
//!
//! The verifier is wrapped so that the chain the peer presented is captured
//! *before* verification. Blackbox loses every certificate series when
//! verification fails (#1119), exactly when an expired certificate needs them;
//! outpost still emits `probe_ssl_earliest_cert_expiry`,
//! `probe_ssl_last_chain_expiry_timestamp_seconds` and `probe_ssl_last_chain_info`
//! from the captured chain and fails the run with reason `tls`.
//!
//! `probe_ssl_last_chain_expiry_timestamp_seconds` is computed over the chain the
//! peer presented, from the leaf up the issuer links: rustls does not expose the
//! verified path, so the trust anchor's own NotAfter is not included (Blackbox's
//! verified chains include the root). With `insecure_skip_verify` Blackbox reports
//! Go's zero time (about -6.2e10); outpost reports the presented chain's value.

pub mod cert;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{self, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, ProtocolVersion, RootCertStore,
    SignatureScheme, SupportedProtocolVersion,
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::{FailureReason, ProbeFailure, Recorder};
use crate::config::{TlsSettings, TlsVersion};
use crate::metrics::names;

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(crypto::ring::default_provider()))
        .clone()
}

/// The system's trust store, loaded once. Unreadable entries are skipped.
pub fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            for e in &loaded.errors {
                tracing::warn!(error = %e, "Could not load a system CA certificate");
            }
            let mut store = RootCertStore::empty();
            let (added, ignored) = store.add_parsable_certificates(loaded.certs);
            tracing::debug!(added, ignored, "Loaded system CA certificates");
            Arc::new(store)
        })
        .clone()
}

type Captured = Arc<Mutex<Vec<CertificateDer<'static>>>>;

/// Wraps verification so the presented chain is kept whatever the verdict.
#[derive(Debug)]
struct CapturingVerifier {
    /// `None` with `insecure_skip_verify`; an `Err` when no verifier could be
    /// built (no trusted roots), which rejects every chain.
    inner: Option<Result<Arc<WebPkiServerVerifier>, String>>,
    algorithms: WebPkiSupportedAlgorithms,
    captured: Captured,
}

impl ServerCertVerifier for CapturingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut slot) = self.captured.lock() {
            slot.clear();
            slot.push(end_entity.clone().into_owned());
            slot.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        }
        match &self.inner {
            None => Ok(ServerCertVerified::assertion()),
            Some(Ok(v)) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            Some(Err(_)) => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        }
    }

    // Signatures of the handshake are checked even when the chain is not.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn versions(settings: &TlsSettings) -> Vec<&'static SupportedProtocolVersion> {
    let min = settings.min_version.unwrap_or(TlsVersion::Tls12);
    let max = settings.max_version.unwrap_or(TlsVersion::Tls13);
    let mut v = Vec::new();
    if min <= TlsVersion::Tls12 && max >= TlsVersion::Tls12 {
        v.push(&rustls::version::TLS12);
    }
    if max >= TlsVersion::Tls13 {
        v.push(&rustls::version::TLS13);
    }
    v
}

fn client_config(
    settings: &TlsSettings,
    alpn: &[&[u8]],
    captured: Captured,
) -> Result<ClientConfig, ProbeFailure> {
    let provider = provider();
    let versions = versions(settings);
    if versions.is_empty() {
        return Err(ProbeFailure::new(
            FailureReason::Tls,
            "min_version/max_version leave no TLS version rustls speaks (1.2, 1.3)",
        ));
    }
    let inner = if settings.insecure_skip_verify {
        None
    } else {
        let roots = settings.ca.clone().unwrap_or_else(system_roots);
        Some(
            WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| e.to_string()),
        )
    };
    let verifier = Arc::new(CapturingVerifier {
        inner,
        algorithms: provider.signature_verification_algorithms,
        captured,
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| ProbeFailure::new(FailureReason::Tls, format!("TLS settings: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match &settings.client_cert {
        Some(cc) => builder
            .with_client_auth_cert(cc.chain.clone(), cc.key.clone_key())
            .map_err(|e| {
                ProbeFailure::new(FailureReason::Tls, format!("client certificate: {e}"))
            })?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

/// The name sent as SNI and verified: a DNS name, or an IP address (no SNI sent,
/// the IP checked against the certificate's IP SANs).
pub fn server_name(host: &str) -> Result<ServerName<'static>, ProbeFailure> {
    let h = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(h.to_string()).map_err(|e| {
        ProbeFailure::new(
            FailureReason::InvalidTarget,
            format!("invalid TLS server name {host:?}: {e}"),
        )
    })
}

/// What a finished handshake negotiated.
#[derive(Debug, Clone)]
pub struct Session {
    pub version: &'static str,
    /// Go's name of the cipher suite.
    pub cipher: String,
    pub alpn: Option<Vec<u8>>,
    pub took: Duration,
}

/// Which series a handshake writes besides the certificate ones.
#[derive(Debug, Clone, Copy)]
pub struct SeriesOptions {
    /// `probe_tls_cipher_info` (Blackbox has it for http only).
    pub cipher: bool,
}

/// A handshake that sends no SNI (a unix socket with no `server_name`): an IP
/// server name is never sent as SNI, and the caller allows this only with
/// `insecure_skip_verify`, so the placeholder address is never verified.
pub async fn handshake_without_sni<IO>(
    io: IO,
    settings: &TlsSettings,
    series: SeriesOptions,
    rec: &mut Recorder,
) -> Result<(TlsStream<IO>, Session), ProbeFailure>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    handshake(io, settings, "0.0.0.0", &[], series, rec).await
}

/// Runs a TLS handshake over `io` with `settings`, SNI/verification name `host`
/// and `alpn`. Writes the certificate series (also when verification fails), the
/// version series and, if asked, the cipher series.
pub async fn handshake<IO>(
    io: IO,
    settings: &TlsSettings,
    host: &str,
    alpn: &[&[u8]],
    series: SeriesOptions,
    rec: &mut Recorder,
) -> Result<(TlsStream<IO>, Session), ProbeFailure>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let name = server_name(host)?;
    let captured: Captured = Arc::default();
    let config = client_config(settings, alpn, captured.clone())?;
    let connector = TlsConnector::from(Arc::new(config));
    let started = Instant::now();
    let result = connector.connect(name, io).await;
    let took = started.elapsed();
    let chain = captured.lock().map(|c| c.clone()).unwrap_or_default();
    record_chain(rec, &chain);
    match result {
        Ok(stream) => {
            let session = record_session(stream.get_ref().1, took, series, rec);
            rec.trace(format_args!(
                "TLS handshake with {host} done in {:.6}s: {}, {}, ALPN {}",
                took.as_secs_f64(),
                session.version,
                session.cipher,
                session
                    .alpn
                    .as_deref()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .unwrap_or_else(|| "none".into())
            ));
            Ok((stream, session))
        }
        Err(e) => {
            rec.trace(format_args!(
                "TLS handshake with {host} failed after {:.6}s: {e}",
                took.as_secs_f64()
            ));
            Err(ProbeFailure::new(
                FailureReason::Tls,
                format!("TLS handshake with {host}: {e}"),
            ))
        }
    }
}

/// The chain a peer presented, captured by the verifier of a config from
/// [`capturing_config`] whatever the verdict.
#[derive(Debug, Clone, Default)]
pub struct CapturedChain(Captured);

impl CapturedChain {
    /// Writes the certificate series of the captured chain (if any).
    pub fn record(&self, rec: &mut Recorder) {
        let chain = self.0.lock().map(|c| c.clone()).unwrap_or_default();
        record_chain(rec, &chain);
    }
}

/// A client config from `settings` offering `alpn`, for a transport that runs
/// the handshake itself (QUIC); its verifier captures the presented chain.
pub fn capturing_config(
    settings: &TlsSettings,
    alpn: &[&[u8]],
) -> Result<(ClientConfig, CapturedChain), ProbeFailure> {
    let captured = CapturedChain::default();
    let config = client_config(settings, alpn, captured.0.clone())?;
    Ok((config, captured))
}

/// `probe_tls_version_info` for a handshake done elsewhere.
/// What a finished handshake negotiated, with its version (and, if asked, cipher)
/// series written.
fn record_session(
    conn: &rustls::ClientConnection,
    took: Duration,
    series: SeriesOptions,
    rec: &mut Recorder,
) -> Session {
    let version = version_label(conn.protocol_version());
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| go_cipher_name(s.suite()))
        .unwrap_or_else(|| "unknown".to_string());
    record_version(rec, version);
    if series.cipher {
        rec.set_with(
            names::PROBE_TLS_CIPHER_INFO,
            vec![("cipher", cipher.clone().into())],
            1.0,
        );
    }
    Session {
        version,
        cipher,
        alpn: conn.alpn_protocol().map(<[u8]>::to_vec),
        took,
    }
}

pub fn record_version(rec: &mut Recorder, version: &'static str) {
    rec.set_with(
        names::PROBE_TLS_VERSION_INFO,
        vec![("version", version.into())],
        1.0,
    );
}

/// The presented chain as `outpost probe` shows it, leaf first: each
/// certificate's subject, issuer and days to expiry, and under the leaf its
/// names, serial and fingerprint.
fn trace_chain(rec: &mut Recorder, chain: &[CertificateDer<'_>], leaf: Option<&cert::LeafInfo>) {
    if !rec.tracing() {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    rec.trace(format_args!("Certificate chain ({} sent):", chain.len()));
    for (i, line) in cert::describe(chain).into_iter().enumerate() {
        match line {
            Some(c) => rec.trace(format_args!(
                "  {i} subject: {}, issuer: {}, {}",
                c.subject,
                c.issuer,
                cert::expiry_in_words(c.not_after, now)
            )),
            None => rec.trace(format_args!("  {i} (not a certificate outpost can read)")),
        }
        if let (0, Some(leaf)) = (i, leaf) {
            let names = match leaf.subjectalternative.as_str() {
                "" => "none",
                sans => sans,
            };
            rec.trace(format_args!(
                "    names: {names}; serial {}; sha256 {}",
                leaf.serialnumber, leaf.fingerprint_sha256
            ));
        }
    }
}

/// Writes the certificate series of `chain` (nothing when it is empty).
pub fn record_chain(rec: &mut Recorder, chain: &[CertificateDer<'_>]) {
    if chain.is_empty() {
        return;
    }
    let summary = cert::summarise(chain);
    if let Some(t) = summary.earliest_expiry {
        rec.set(names::PROBE_SSL_EARLIEST_CERT_EXPIRY, t as f64);
    }
    if let Some(t) = summary.chain_expiry {
        rec.set(
            names::PROBE_SSL_LAST_CHAIN_EXPIRY_TIMESTAMP_SECONDS,
            t as f64,
        );
    }
    trace_chain(rec, chain, summary.leaf.as_ref());
    if let Some(leaf) = summary.leaf {
        rec.set_with(
            names::PROBE_SSL_LAST_CHAIN_INFO,
            vec![
                ("fingerprint_sha256", leaf.fingerprint_sha256.into()),
                ("subject", leaf.subject.into()),
                ("issuer", leaf.issuer.into()),
                ("subjectalternative", leaf.subjectalternative.into()),
                ("serialnumber", leaf.serialnumber.into()),
            ],
            1.0,
        );
    }
}

/// Every series a handshake may write, for a prober that must drop them when a
/// later hop is not over TLS.
pub const SERIES: &[&str] = &[
    names::PROBE_SSL_EARLIEST_CERT_EXPIRY,
    names::PROBE_SSL_LAST_CHAIN_EXPIRY_TIMESTAMP_SECONDS,
    names::PROBE_SSL_LAST_CHAIN_INFO,
    names::PROBE_TLS_VERSION_INFO,
    names::PROBE_TLS_CIPHER_INFO,
];

fn version_label(v: Option<ProtocolVersion>) -> &'static str {
    match v {
        Some(ProtocolVersion::TLSv1_0) => "TLS 1.0",
        Some(ProtocolVersion::TLSv1_1) => "TLS 1.1",
        Some(ProtocolVersion::TLSv1_2) => "TLS 1.2",
        Some(ProtocolVersion::TLSv1_3) => "TLS 1.3",
        _ => "unknown",
    }
}

/// Go's `tls.CipherSuiteName`: IANA names, TLS 1.3 suites without rustls' `13`.
pub fn go_cipher_name(suite: rustls::CipherSuite) -> String {
    match suite.as_str() {
        Some(s) => match s.strip_prefix("TLS13_") {
            Some(rest) => format!("TLS_{rest}"),
            None => s.to_string(),
        },
        None => format!("0x{:04X}", u16::from(suite)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cipher_names_are_go_names() {
        assert_eq!(
            go_cipher_name(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256),
            "TLS_AES_128_GCM_SHA256"
        );
        assert_eq!(
            go_cipher_name(rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
        );
        assert_eq!(
            go_cipher_name(rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        );
    }

    #[test]
    fn versions_from_settings() {
        let mut s = TlsSettings::default();
        assert_eq!(versions(&s).len(), 2);
        s.max_version = Some(TlsVersion::Tls12);
        assert_eq!(versions(&s).len(), 1);
        s.min_version = Some(TlsVersion::Tls13);
        assert!(versions(&s).is_empty());
    }
}
