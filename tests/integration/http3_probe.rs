//! The http prober with `enable_http3` against an in-process quinn + h3 server
//! on 127.0.0.1 UDP: series, checks and redirects over HTTP/3, the resolved
//! address being the one dialled, and the handshake's failure reasons.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use outpost::config::{HttpModule, IpProtocol, IpSettings, TlsSettings};
use regex::bytes::Regex;

use crate::support::certs::{Ca, Leaf};
use crate::support::h3server::{answer, serve_broken_h3, serve_h3, Answer, H3Server};
use crate::support::metrics::{assert_absent, assert_metric, assert_outcome, phases};
use crate::support::{http_module, run, run_with};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn routes(req: &http::Request<()>) -> Answer {
    let path = req.uri().path();
    if let Some(code) = path.strip_prefix("/status/") {
        return answer(code.parse().unwrap_or(500), &[], "hello over h3");
    }
    if path == "/redirect" {
        return answer(302, &[("location", "/status/200")], "");
    }
    answer(200, &[("content-length", "13")], "hello over h3")
}

fn server(ca: &Ca) -> (H3Server, Leaf) {
    let leaf = ca.leaf(&["localhost"], &[LOCALHOST], (2035, 3, 4));
    let s = serve_h3(SocketAddr::new(LOCALHOST, 0), &leaf, routes);
    (s, leaf)
}

fn ip(preferred: IpProtocol, fallback: bool) -> IpSettings {
    IpSettings {
        preferred,
        fallback,
        source_ip: None,
    }
}

/// What a validated `enable_http3` module looks like (TLS 1.3 minimum, h2 off).
fn h3_module(ca: &Ca) -> HttpModule {
    HttpModule {
        enable_http2: false,
        enable_http3: true,
        valid_http_versions: vec!["HTTP/3.0".into()],
        tls: TlsSettings {
            ca: Some(ca.roots()),
            min_version: Some(outpost::config::TlsVersion::Tls13),
            ..TlsSettings::default()
        },
        ip: ip(IpProtocol::Ip4, false),
        ..HttpModule::default()
    }
}

#[tokio::test]
async fn success_writes_version_ssl_and_tls_series() {
    let ca = Ca::new();
    let (s, leaf) = server(&ca);
    let m = http_module(h3_module(&ca));
    let r = run(&m, &format!("https://127.0.0.1:{}/", s.addr.port())).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_http_version", &[], 3.0);
    assert_metric(&r, "probe_http_ssl", &[], 1.0);
    assert_metric(&r, "probe_http_status_code", &[], 200.0);
    assert_metric(&r, "probe_http_content_length", &[], 13.0);
    assert_metric(&r, "probe_http_uncompressed_body_length", &[], 13.0);
    assert_metric(&r, "probe_tls_version_info", &[("version", "TLS 1.3")], 1.0);
    assert_metric(
        &r,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );
    let fingerprint = outpost::probe::tls::cert::hex(
        ring::digest::digest(&ring::digest::SHA256, leaf.der().as_ref()).as_ref(),
    );
    assert_metric(
        &r,
        "probe_ssl_last_chain_info",
        &[
            ("fingerprint_sha256", &fingerprint),
            ("subject", "CN=localhost,O=outpost tests"),
            ("issuer", "CN=outpost test CA,O=outpost"),
            ("subjectalternative", "localhost"),
            ("serialnumber", "0badc0de"),
        ],
        1.0,
    );
    // quinn does not expose the negotiated suite (documented).
    assert_absent(&r, "probe_tls_cipher_info");
    let mut p = phases(&r);
    p.sort();
    assert_eq!(p, ["connect", "processing", "resolve", "tls", "transfer"]);
    assert_eq!(s.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn status_check_fails_over_h3() {
    let ca = Ca::new();
    let (s, _) = server(&ca);
    let m = http_module(h3_module(&ca));
    let r = run(
        &m,
        &format!("https://127.0.0.1:{}/status/404", s.addr.port()),
    )
    .await;
    assert_outcome(&r, "http_status");
    assert_metric(&r, "probe_http_status_code", &[], 404.0);
    assert_metric(&r, "probe_http_version", &[], 3.0);
    let m = http_module(HttpModule {
        valid_status_codes: vec![404],
        ..h3_module(&ca)
    });
    let r = run(
        &m,
        &format!("https://127.0.0.1:{}/status/404", s.addr.port()),
    )
    .await;
    assert_outcome(&r, "success");
}

#[tokio::test]
async fn body_regex_over_h3() {
    let ca = Ca::new();
    let (s, _) = server(&ca);
    let target = format!("https://127.0.0.1:{}/", s.addr.port());
    let must = |re: &str| {
        http_module(HttpModule {
            fail_if_body_not_matches_regexp: vec![Regex::new(re).unwrap()],
            ..h3_module(&ca)
        })
    };
    let r = run(&must("over h3$"), &target).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_failed_due_to_regex", &[], 0.0);
    let r = run(&must("over h2"), &target).await;
    assert_outcome(&r, "body_regex");
    assert_metric(&r, "probe_failed_due_to_regex", &[], 1.0);
}

#[tokio::test]
async fn redirect_followed_over_h3() {
    let ca = Ca::new();
    let (s, _) = server(&ca);
    let m = http_module(h3_module(&ca));
    let r = run(&m, &format!("https://127.0.0.1:{}/redirect", s.addr.port())).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_http_redirects", &[], 1.0);
    assert_metric(&r, "probe_http_version", &[], 3.0);
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[1].ends_with("/status/200"), "{seen:?}");
    let m = http_module(HttpModule {
        follow_redirects: false,
        valid_status_codes: vec![302],
        ..h3_module(&ca)
    });
    let r = run(&m, &format!("https://127.0.0.1:{}/redirect", s.addr.port())).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_http_status_code", &[], 302.0);
}

/// `http://localhost:PORT` is rewritten to https, resolved with the module's
/// ip4 preference, and that address (127.0.0.1, the only one served) dialled.
#[tokio::test]
async fn http_target_rewritten_and_resolved_address_dialled() {
    let ca = Ca::new();
    let (s, _) = server(&ca);
    let m = http_module(h3_module(&ca));
    let r = run(
        &m,
        &format!("http://localhost:{}/status/200", s.addr.port()),
    )
    .await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_ip_protocol", &[], 4.0);
    assert_metric(&r, "probe_http_ssl", &[], 1.0);
    let seen = s.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [format!(
            "GET https://localhost:{}/status/200",
            s.addr.port()
        )]
    );
}

/// ip6 without fallback against a server on 127.0.0.1 only: the probe fails at
/// resolution (no AAAA for localhost) or at connect (::1 has no listener);
/// it never dials the v4 address.
#[tokio::test]
async fn ip6_preference_does_not_dial_the_v4_server() {
    let ca = Ca::new();
    let (s, _) = server(&ca);
    let m = http_module(HttpModule {
        ip: ip(IpProtocol::Ip6, false),
        ..h3_module(&ca)
    });
    let target = format!("https://localhost:{}/", s.addr.port());
    let r = run_with(&m, &target, Duration::from_secs(1), None).await;
    assert!(
        ["resolve", "connect"].contains(&r.outcome()),
        "outcome {} ({:?})",
        r.outcome(),
        r.failure
    );
    assert!(s.seen.lock().unwrap().is_empty());
}

/// Nothing listens on the UDP port: no QUIC answer, `connect` at the deadline.
#[tokio::test]
async fn nothing_listening_fails_with_connect() {
    let ca = Ca::new();
    let port = {
        let sock = UdpSocket::bind((LOCALHOST, 0)).unwrap();
        sock.local_addr().unwrap().port()
    };
    let m = http_module(h3_module(&ca));
    let target = format!("https://127.0.0.1:{port}/");
    let r = run_with(&m, &target, Duration::from_millis(500), None).await;
    assert_outcome(&r, "connect");
    assert_metric(&r, "probe_http_version", &[], 0.0);
}

/// A certificate the module does not trust fails the handshake with `tls`,
/// keeping the certificate series.
#[tokio::test]
async fn untrusted_certificate_fails_with_tls() {
    let ca = Ca::new();
    let (s, leaf) = server(&ca);
    let m = http_module(HttpModule {
        tls: TlsSettings {
            ca: Some(Ca::new().roots()),
            ..h3_module(&ca).tls
        },
        ..h3_module(&ca)
    });
    let r = run(&m, &format!("https://127.0.0.1:{}/", s.addr.port())).await;
    assert_outcome(&r, "tls");
    assert_metric(
        &r,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );
}

/// A QUIC peer that breaks off the HTTP/3 exchange fails the run with `http`.
#[tokio::test]
async fn http3_protocol_error_fails_with_http() {
    let ca = Ca::new();
    let leaf = ca.leaf(&["localhost"], &[LOCALHOST], (2035, 3, 4));
    let s = serve_broken_h3(SocketAddr::new(LOCALHOST, 0), &leaf);
    let m = http_module(h3_module(&ca));
    let r = run(&m, &format!("https://127.0.0.1:{}/", s.addr.port())).await;
    assert_outcome(&r, "http");
    assert_metric(&r, "probe_tls_version_info", &[("version", "TLS 1.3")], 1.0);
    assert_metric(&r, "probe_http_status_code", &[], 0.0);
}
