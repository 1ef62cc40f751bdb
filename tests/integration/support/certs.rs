//! Certificates made in the test: a CA and leaves signed by it (valid, expired,
//! for another host), and a self-signed one.

use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType, SerialNumber,
};
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub(crate) struct Ca {
    pub(crate) der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

pub(crate) struct Leaf {
    /// Leaf first, then the CA (when signed by one).
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
    pub(crate) not_after: i64,
}

impl Leaf {
    pub(crate) fn der(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }

    /// The chain as PEM (leaf first), as a `cert_file` holds it.
    pub(crate) fn chain_pem(&self) -> String {
        self.chain.iter().map(|c| pem("CERTIFICATE", c)).collect()
    }

    /// The private key as PKCS#8 PEM, as a `key_file` holds it.
    pub(crate) fn key_pem(&self) -> String {
        pem("PRIVATE KEY", self.key.secret_der())
    }
}

/// DER as PEM text, as a user pastes it into a file or `tls_config`.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

impl Ca {
    pub(crate) fn new() -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "outpost test CA");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "outpost");
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2040, 1, 1);
        let cert = params.self_signed(&key).unwrap();
        Ca {
            der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate as PEM, as a `ca_file` or `client_ca_file` holds it.
    pub(crate) fn pem(&self) -> String {
        pem("CERTIFICATE", &self.der)
    }

    /// Roots holding just this CA (for `tls_config.ca_file`).
    pub(crate) fn roots(&self) -> Arc<RootCertStore> {
        let mut store = RootCertStore::empty();
        store.add(self.der.clone()).unwrap();
        Arc::new(store)
    }

    /// A leaf for `dns` names and `ips`, valid until `not_after` (y, m, d).
    pub(crate) fn leaf(&self, dns: &[&str], ips: &[IpAddr], not_after: (i32, u8, u8)) -> Leaf {
        let (params, key) = leaf_params(dns, ips, not_after);
        let not_after = params.not_after.unix_timestamp();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            chain: vec![cert.der().clone(), self.der.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            not_after,
        }
    }

    /// A leaf for `dns` names and `ips` that expires `valid_for` from now (a
    /// certificate about to expire).
    pub(crate) fn leaf_expiring_in(
        &self,
        dns: &[&str],
        ips: &[IpAddr],
        valid_for: std::time::Duration,
    ) -> Leaf {
        let (mut params, key) = leaf_params(dns, ips, (2040, 1, 1));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        // Whole seconds: a certificate's time has no fraction.
        params.not_after = epoch + std::time::Duration::from_secs((now + valid_for).as_secs());
        let not_after = params.not_after.unix_timestamp();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            chain: vec![cert.der().clone(), self.der.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            not_after,
        }
    }
}

fn leaf_params(
    dns: &[&str],
    ips: &[IpAddr],
    not_after: (i32, u8, u8),
) -> (CertificateParams, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(dns.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    for ip in ips {
        params.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    params
        .distinguished_name
        .push(DnType::CommonName, dns.first().copied().unwrap_or("ip"));
    params
        .distinguished_name
        .push(DnType::OrganizationName, "outpost tests");
    // A serial whose first byte has a leading zero nibble, to see it kept.
    params.serial_number = Some(SerialNumber::from_slice(&[0x0b, 0xad, 0xc0, 0xde]));
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    (params, key)
}

/// A self-signed leaf (not issued by any CA we trust).
pub(crate) fn self_signed(dns: &[&str]) -> Leaf {
    let (params, key) = leaf_params(dns, &[], (2039, 6, 1));
    let not_after = params.not_after.unix_timestamp();
    let cert = params.self_signed(&key).unwrap();
    Leaf {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        not_after,
    }
}
