//! The http prober against in-process servers: BLACKBOX.md §4.1 rows 1–16,
//! 18–28 and outpost's own guarantees (cert series on failed verification,
//! bounded body reads, no retry).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method};
use http_body_util::BodyExt as _;
use outpost::config::{
    Auth, Compression, HeaderMatch, HttpModule, IpProtocol, IpSettings, TlsSettings,
};
use regex::Regex;

use crate::support::certs::{self, Ca};
use crate::support::metrics::{
    assert_absent, assert_metric, assert_outcome, assert_present, labels_of, phases,
};
use crate::support::server::{self, handler, respond, serve, Endless, Server};
use crate::support::{http_module, proxy, run, run_with};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn plain(
    f: impl Fn(&server::Seen) -> http::Response<server::Body> + Send + Sync + 'static,
) -> Server {
    serve(None, handler(f)).await
}

async fn status_server() -> Server {
    plain(|req| {
        let code = req
            .uri
            .path()
            .trim_start_matches("/status/")
            .parse()
            .unwrap_or(500);
        respond(code, &[], "hello")
    })
    .await
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        w.write_all(data).unwrap();
    }
    out
}

fn header(name: &str, value: &str) -> (HeaderName, HeaderValue) {
    (
        HeaderName::from_bytes(name.as_bytes()).unwrap(),
        HeaderValue::from_str(value).unwrap(),
    )
}

fn ip4_only() -> IpSettings {
    IpSettings {
        preferred: IpProtocol::Ip4,
        fallback: false,
        source_ip: None,
    }
}

// Row 1.
#[tokio::test]
async fn default_status_codes_accept_2xx_only() {
    let s = status_server().await;
    let m = http_module(HttpModule::default());
    for code in [200, 201, 299] {
        let r = run(&m, &s.url(&format!("/status/{code}"))).await;
        assert_outcome(&r, "success");
        assert_metric(&r, "probe_http_status_code", &[], f64::from(code));
    }
    for code in [300, 404] {
        let r = run(&m, &s.url(&format!("/status/{code}"))).await;
        assert_outcome(&r, "http_status");
        assert_metric(&r, "probe_http_status_code", &[], f64::from(code));
    }
}

// Row 2.
#[tokio::test]
async fn valid_status_codes_replace_2xx() {
    let s = status_server().await;
    let m = http_module(HttpModule {
        valid_status_codes: vec![200, 404],
        ..Default::default()
    });
    assert_outcome(&run(&m, &s.url("/status/404")).await, "success");
    assert_outcome(&run(&m, &s.url("/status/201")).await, "http_status");
    let only404 = http_module(HttpModule {
        valid_status_codes: vec![404],
        ..Default::default()
    });
    assert_outcome(&run(&only404, &s.url("/status/200")).await, "http_status");
}

// Row 3, and the common http series of a plain run.
#[tokio::test]
async fn valid_http_versions_and_plain_series() {
    let s = status_server().await;
    let ok = http_module(HttpModule {
        valid_http_versions: vec!["HTTP/1.1".into()],
        ..Default::default()
    });
    let r = run(&ok, &s.url("/status/200")).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_http_version", &[], 1.1);
    assert_metric(&r, "probe_http_ssl", &[], 0.0);
    assert_metric(&r, "probe_http_redirects", &[], 0.0);
    assert_metric(&r, "probe_http_content_length", &[], 5.0);
    assert_metric(&r, "probe_http_uncompressed_body_length", &[], 5.0);
    assert_metric(&r, "probe_failed_due_to_regex", &[], 0.0);
    assert_metric(&r, "probe_ip_protocol", &[], 4.0);
    assert_present(&r, "probe_ip_addr_hash");
    assert_present(&r, "probe_dns_lookup_time_seconds");
    assert_absent(&r, "probe_ssl_earliest_cert_expiry");
    assert_absent(&r, "probe_http_last_modified_timestamp_seconds");
    let mut p = phases(&r);
    p.sort();
    assert_eq!(p, ["connect", "processing", "resolve", "tls", "transfer"]);

    let h2_only = http_module(HttpModule {
        valid_http_versions: vec!["HTTP/2.0".into()],
        ..Default::default()
    });
    assert_outcome(&run(&h2_only, &s.url("/status/200")).await, "http_version");
}

// Rows 4 and 5: without `compression` the body is counted as sent.
#[tokio::test]
async fn compressed_body_is_not_decoded_without_compression_setting() {
    let body = gzip(&[b'a'; 1000]);
    let len = body.len() as f64;
    let b2 = body.clone();
    let s = plain(move |req| {
        let enc = if req.uri.path() == "/xxx" {
            "xxx"
        } else {
            "gzip"
        };
        respond(200, &[("content-encoding", enc)], b2.clone())
    })
    .await;
    let m = http_module(HttpModule::default());
    for path in ["/gzip", "/xxx"] {
        let r = run(&m, &s.url(path)).await;
        assert_outcome(&r, "success");
        assert_metric(&r, "probe_http_content_length", &[], len);
        assert_metric(&r, "probe_http_uncompressed_body_length", &[], len);
    }
    // No Accept-Encoding is sent when compression is unset.
    assert!(s
        .requests()
        .iter()
        .all(|r| !r.headers.contains_key("accept-encoding")));
}

// Row 6.
#[tokio::test]
async fn failed_status_still_reports_lengths() {
    let s = plain(|_| respond(404, &[], "not here, sorry")).await;
    let r = run(&http_module(HttpModule::default()), &s.url("/")).await;
    assert_outcome(&r, "http_status");
    assert_metric(&r, "probe_http_content_length", &[], 15.0);
    assert_metric(&r, "probe_http_uncompressed_body_length", &[], 15.0);
}

// Row 7 (and br, deflate).
#[tokio::test]
async fn compression_setting_decodes_and_refuses_mismatch() {
    let plain_body = vec![b'z'; 5000];
    let (g, d, b) = (gzip(&plain_body), deflate(&plain_body), brotli(&plain_body));
    let s = plain(move |req| match req.uri.path() {
        "/gzip" => respond(200, &[("content-encoding", "gzip")], g.clone()),
        "/deflate" => respond(200, &[("content-encoding", "deflate")], d.clone()),
        _ => respond(200, &[("content-encoding", "br")], b.clone()),
    })
    .await;
    for (c, path) in [
        (Compression::Gzip, "/gzip"),
        (Compression::Deflate, "/deflate"),
        (Compression::Brotli, "/br"),
    ] {
        let m = http_module(HttpModule {
            compression: Some(c),
            ..Default::default()
        });
        let r = run(&m, &s.url(path)).await;
        assert_outcome(&r, "success");
        assert_metric(&r, "probe_http_uncompressed_body_length", &[], 5000.0);
    }
    let sent: Vec<String> = s
        .requests()
        .iter()
        .map(|r| r.headers["accept-encoding"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(sent, ["gzip", "deflate", "br"]);

    let wrong = http_module(HttpModule {
        compression: Some(Compression::Deflate),
        ..Default::default()
    });
    assert_outcome(&run(&wrong, &s.url("/gzip")).await, "decompression");
}

// Row 9.
#[tokio::test]
async fn body_size_limit_applies_after_decompression() {
    let s = plain(|req| match req.uri.path() {
        "/127" => respond(200, &[], vec![b'a'; 127]),
        "/129" => respond(200, &[], vec![b'a'; 129]),
        _ => respond(200, &[("content-encoding", "gzip")], gzip(&[b'a'; 129])),
    })
    .await;
    let m = http_module(HttpModule {
        body_size_limit: Some(128),
        ..Default::default()
    });
    assert_outcome(&run(&m, &s.url("/127")).await, "success");
    assert_outcome(&run(&m, &s.url("/129")).await, "body_too_large");
    let gz = http_module(HttpModule {
        body_size_limit: Some(128),
        compression: Some(Compression::Gzip),
        ..Default::default()
    });
    let r = run(&gz, &s.url("/gz")).await;
    assert_outcome(&r, "body_too_large");
    assert_metric(&r, "probe_http_uncompressed_body_length", &[], 128.0);
}

// A decompression bomb stops at the limit.
#[tokio::test]
async fn gzip_bomb_stops_at_body_size_limit() {
    let bomb = Bytes::from(gzip(&vec![0u8; 8 << 20]));
    let s = plain(move |_| respond(200, &[("content-encoding", "gzip")], bomb.clone())).await;
    let m = http_module(HttpModule {
        compression: Some(Compression::Gzip),
        body_size_limit: Some(1 << 20),
        ..Default::default()
    });
    let r = run(&m, &s.url("/")).await;
    assert_outcome(&r, "body_too_large");
    assert_metric(
        &r,
        "probe_http_uncompressed_body_length",
        &[],
        f64::from(1u32 << 20),
    );
}

async fn redirect_server() -> Server {
    plain(|req| match req.uri.path() {
        "/redirect" => respond(302, &[("location", "/ok")], ""),
        "/ok" => respond(200, &[], "ok"),
        p if p.starts_with("/loop/") => {
            let n: u32 = p.trim_start_matches("/loop/").parse().unwrap();
            respond(302, &[("location", &format!("/loop/{}", n + 1))], "")
        }
        _ => respond(404, &[], ""),
    })
    .await
}

// Rows 10 and 11.
#[tokio::test]
async fn redirects_followed_or_not() {
    let s = redirect_server().await;
    let r = run(&http_module(HttpModule::default()), &s.url("/redirect")).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_http_redirects", &[], 1.0);
    assert_metric(&r, "probe_http_status_code", &[], 200.0);

    let m = http_module(HttpModule {
        follow_redirects: false,
        valid_status_codes: vec![302],
        ..Default::default()
    });
    let r = run(&m, &s.url("/redirect")).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_http_status_code", &[], 302.0);
    // Blackbox counts the redirect it did not follow.
    assert_metric(&r, "probe_http_redirects", &[], 1.0);
    assert_eq!(s.requests().len(), 3);
}

// Row 12.
#[tokio::test]
async fn redirect_limit() {
    let s = redirect_server().await;
    let r = run(&http_module(HttpModule::default()), &s.url("/loop/0")).await;
    assert_outcome(&r, "too_many_redirects");
    assert_metric(&r, "probe_http_redirects", &[], 11.0);
    assert_metric(&r, "probe_http_status_code", &[], 302.0);
    let paths: Vec<String> = s
        .requests()
        .iter()
        .map(|r| r.uri.path().to_string())
        .collect();
    assert_eq!(paths.len(), 11);
    assert_eq!(paths.last().unwrap(), "/loop/10");
    // A fresh connection per hop.
    assert_eq!(s.connection_count(), 11);

    let small = http_module(HttpModule {
        max_redirects: 2,
        ..Default::default()
    });
    let r = run(&small, &s.url("/loop/0")).await;
    assert_outcome(&r, "too_many_redirects");
    assert_metric(&r, "probe_http_redirects", &[], 3.0);
}

// Row 13.
#[tokio::test]
async fn cookie_jar_carries_cookies_across_redirects() {
    let s = plain(|req| match req.uri.path() {
        "/login" => respond(
            302,
            &[("location", "/home"), ("set-cookie", "session=abc; Path=/")],
            "",
        ),
        _ => {
            let ok = req.headers.get("cookie").map(|v| v.to_str().unwrap()) == Some("session=abc");
            respond(if ok { 200 } else { 403 }, &[], "")
        }
    })
    .await;
    let r = run(&http_module(HttpModule::default()), &s.url("/login")).await;
    assert_outcome(&r, "success");
}

// Row 14 and method rewriting on redirects.
#[tokio::test]
async fn post_body_and_redirect_method_rules() {
    let s = plain(|req| match req.uri.path() {
        "/302" => respond(302, &[("location", "/target")], ""),
        "/307" => respond(307, &[("location", "/target")], ""),
        _ => respond(200, &[], ""),
    })
    .await;
    let m = http_module(HttpModule {
        method: Method::POST,
        body: Some(Bytes::from_static(b"{\"a\":1}")),
        ..Default::default()
    });
    assert_outcome(&run(&m, &s.url("/direct")).await, "success");
    assert_outcome(&run(&m, &s.url("/302")).await, "success");
    assert_outcome(&run(&m, &s.url("/307")).await, "success");
    let seen: Vec<(Method, String, Bytes)> = s
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.uri.path().to_string(), r.body.clone()))
        .collect();
    let body = Bytes::from_static(b"{\"a\":1}");
    assert_eq!(
        seen,
        [
            (Method::POST, "/direct".into(), body.clone()),
            (Method::POST, "/302".into(), body.clone()),
            (Method::GET, "/target".into(), Bytes::new()),
            (Method::POST, "/307".into(), body.clone()),
            (Method::POST, "/target".into(), body),
        ]
    );
}

// Row 15.
#[tokio::test]
async fn basic_and_bearer_auth() {
    let s = plain(|req| {
        let auth = req
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string());
        let ok = matches!(
            auth.as_deref(),
            Some("Basic dXNlcjpwYXNz") | Some("Bearer t0k3n")
        );
        respond(if ok { 200 } else { 401 }, &[], "")
    })
    .await;
    let basic = http_module(HttpModule {
        auth: Some(Auth::Basic {
            username: "user".into(),
            password: "pass".into(),
        }),
        ..Default::default()
    });
    let r = run(&basic, &s.url("/")).await;
    assert_outcome(&r, "success");
    assert!(
        r.trace.iter().all(|l| !l.contains("dXNlcjpwYXNz")),
        "secret in trace"
    );
    let bearer = http_module(HttpModule {
        auth: Some(Auth::Bearer("t0k3n".into())),
        ..Default::default()
    });
    let r = run(&bearer, &s.url("/")).await;
    assert_outcome(&r, "success");
    assert!(
        r.trace.iter().all(|l| !l.contains("t0k3n")),
        "secret in trace"
    );
}

// Row 16.
#[tokio::test]
async fn fail_if_not_ssl_on_plain_http() {
    let s = status_server().await;
    let m = http_module(HttpModule {
        fail_if_not_ssl: true,
        ..Default::default()
    });
    let r = run(&m, &s.url("/status/200")).await;
    assert_outcome(&r, "ssl_required");
    assert_metric(&r, "probe_http_ssl", &[], 0.0);
}

// Row 18 and fail_if_body_matches.
#[tokio::test]
async fn body_regexes() {
    let s =
        plain(|req| respond(200, &[], req.uri.path().trim_start_matches('/').to_string())).await;
    let m = http_module(HttpModule {
        fail_if_body_not_matches_regexp: vec![bytes_re("A"), bytes_re("B")],
        ..Default::default()
    });
    let r = run(&m, &s.url("/only-A")).await;
    assert_outcome(&r, "body_regex");
    assert_metric(&r, "probe_failed_due_to_regex", &[], 1.0);
    let r = run(&m, &s.url("/A-and-B")).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_failed_due_to_regex", &[], 0.0);

    let m = http_module(HttpModule {
        fail_if_body_matches_regexp: vec![bytes_re("error")],
        ..Default::default()
    });
    assert_outcome(&run(&m, &s.url("/an-error-page")).await, "body_regex");
    assert_outcome(&run(&m, &s.url("/fine")).await, "success");
}

fn bytes_re(re: &str) -> regex::bytes::Regex {
    regex::bytes::Regex::new(re).unwrap()
}

fn rule(name: &str, re: &str, allow_missing: bool) -> HeaderMatch {
    HeaderMatch {
        header: HeaderName::from_bytes(name.as_bytes()).unwrap(),
        regexp: Regex::new(re).unwrap(),
        allow_missing,
    }
}

// Rows 19, 20 and 21.
#[tokio::test]
async fn header_rules() {
    let s = plain(|req| match req.uri.path() {
        "/js" => respond(200, &[("Content-Type", "text/javascript")], ""),
        "/cookies" => respond(200, &[("set-cookie", "a=1"), ("set-cookie", "Test=2")], ""),
        "/empty" => respond(200, &[("x-empty", "")], ""),
        _ => respond(200, &[("content-type", "text/html")], ""),
    })
    .await;
    let m = http_module(HttpModule {
        fail_if_header_matches: vec![rule("content-TYPE", "text/javascript", false)],
        ..Default::default()
    });
    let r = run(&m, &s.url("/js")).await;
    assert_outcome(&r, "header_regex");
    assert_metric(&r, "probe_failed_due_to_regex", &[], 1.0);
    let r = run(&m, &s.url("/html")).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_failed_due_to_regex", &[], 0.0);

    let missing = http_module(HttpModule {
        fail_if_header_matches: vec![rule("x-missing", ".*", false)],
        ..Default::default()
    });
    assert_outcome(&run(&missing, &s.url("/html")).await, "header_regex");
    let allowed = http_module(HttpModule {
        fail_if_header_matches: vec![rule("x-missing", ".*", true)],
        ..Default::default()
    });
    assert_outcome(&run(&allowed, &s.url("/html")).await, "success");
    let empty = http_module(HttpModule {
        fail_if_header_not_matches: vec![rule("x-empty", ".*", false)],
        ..Default::default()
    });
    assert_outcome(&run(&empty, &s.url("/empty")).await, "success");

    let cookies = http_module(HttpModule {
        fail_if_header_not_matches: vec![rule("Set-Cookie", "^Test", false)],
        ..Default::default()
    });
    assert_outcome(&run(&cookies, &s.url("/cookies")).await, "success");
}

// Row 22, default User-Agent, and the `hostname` parameter.
#[tokio::test]
async fn host_and_user_agent_headers() {
    let s = status_server().await;
    let m = http_module(HttpModule {
        headers: vec![
            header("Host", "example.test"),
            header("User-Agent", "probe/1"),
        ],
        ..Default::default()
    });
    assert_outcome(&run(&m, &s.url("/status/200")).await, "success");
    let plain_module = http_module(HttpModule::default());
    assert_outcome(&run(&plain_module, &s.url("/status/200")).await, "success");
    let r = run_with(
        &plain_module,
        &s.url("/status/200"),
        Duration::from_secs(5),
        Some("by-param.test"),
    )
    .await;
    assert_outcome(&r, "success");
    let seen = s.requests();
    assert_eq!(seen[0].headers["host"], "example.test");
    assert_eq!(seen[0].headers["user-agent"], "probe/1");
    assert_eq!(seen[1].headers["host"], s.addr.to_string().as_str());
    assert_eq!(
        seen[1].headers["user-agent"],
        concat!("outpost/", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(seen[2].headers["host"], "by-param.test");

    // A module Host and a different hostname parameter conflict.
    let r = run_with(
        &m,
        &s.url("/status/200"),
        Duration::from_secs(5),
        Some("other.test"),
    )
    .await;
    assert_outcome(&r, "invalid_target");
    // The same rule as /probe's (Blackbox's): the value must match exactly.
    let r = run_with(
        &m,
        &s.url("/status/200"),
        Duration::from_secs(5),
        Some("EXAMPLE.test"),
    )
    .await;
    assert_outcome(&r, "invalid_target");
    assert_eq!(s.requests().len(), 3);
    let r = run_with(
        &m,
        &s.url("/status/200"),
        Duration::from_secs(5),
        Some("example.test"),
    )
    .await;
    assert_outcome(&r, "success");
}

struct Tls {
    ca: Ca,
    leaf: certs::Leaf,
}

fn tls_localhost() -> Tls {
    let ca = Ca::new();
    let leaf = ca.leaf(&["localhost"], &[LOCALHOST], (2035, 3, 4));
    Tls { ca, leaf }
}

async fn https_server(leaf: &certs::Leaf, alpn: &[&[u8]]) -> Server {
    let cfg = server::tls_config(leaf, alpn, false);
    serve(
        Some(cfg),
        handler(|req| respond(200, &[], format!("{:?}", req.version))),
    )
    .await
}

fn trusting(ca: &Ca) -> TlsSettings {
    TlsSettings {
        ca: Some(ca.roots()),
        ..Default::default()
    }
}

#[tokio::test]
async fn client_certificate_for_mutual_tls() {
    let t = tls_localhost();
    let client = t.ca.leaf(&["outpost-client"], &[], (2035, 1, 1));
    let s = serve(
        Some(server::tls_config_requiring_client_cert(&t.leaf, &t.ca)),
        handler(|_| respond(200, &[], "hello client")),
    )
    .await;
    let with_cert = http_module(HttpModule {
        tls: TlsSettings {
            client_cert: Some(outpost::config::ClientCert {
                chain: vec![client.chain[0].clone()],
                key: client.key.clone_key(),
            }),
            ..trusting(&t.ca)
        },
        ..Default::default()
    });
    let r = run(&with_cert, &s.https_url("/")).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_http_status_code", &[], 200.0);

    let without_cert = http_module(HttpModule {
        tls: trusting(&t.ca),
        ..Default::default()
    });
    let r = run(&without_cert, &s.https_url("/")).await;
    assert_outcome(&r, "tls");
    assert_metric(&r, "probe_http_status_code", &[], 0.0);
    assert_eq!(
        s.requests().len(),
        1,
        "only the probe with a certificate got through"
    );
}

// Row 26 and the certificate and TLS series.
#[tokio::test]
async fn https_phases_and_certificate_series() {
    let t = tls_localhost();
    let s = https_server(&t.leaf, &[b"http/1.1"]).await;
    let m = http_module(HttpModule {
        tls: trusting(&t.ca),
        ..Default::default()
    });
    let r = run(&m, &s.https_url("/")).await;
    assert_outcome(&r, "success");
    let mut p = phases(&r);
    p.sort();
    assert_eq!(p, ["connect", "processing", "resolve", "tls", "transfer"]);
    assert_metric(&r, "probe_http_ssl", &[], 1.0);
    assert_metric(&r, "probe_http_version", &[], 1.1);
    assert_metric(
        &r,
        "probe_ssl_earliest_cert_expiry",
        &[],
        t.leaf.not_after as f64,
    );
    assert_metric(
        &r,
        "probe_ssl_last_chain_expiry_timestamp_seconds",
        &[],
        t.leaf.not_after as f64,
    );
    assert_metric(&r, "probe_tls_version_info", &[("version", "TLS 1.3")], 1.0);
    let ciphers = labels_of(&r, "probe_tls_cipher_info");
    assert_eq!(ciphers.len(), 1);
    assert!(ciphers[0][0].1.starts_with("TLS_AES_") || ciphers[0][0].1.starts_with("TLS_CHACHA20"));
    let fingerprint = outpost::probe::tls::cert::hex(
        ring::digest::digest(&ring::digest::SHA256, t.leaf.der().as_ref()).as_ref(),
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
}

// An expired certificate fails verification, and its expiry is still reported.
#[tokio::test]
async fn expired_certificate_fails_but_reports_expiry() {
    let ca = Ca::new();
    let leaf = ca.leaf(&["localhost"], &[LOCALHOST], (2021, 2, 3));
    let s = https_server(&leaf, &[b"http/1.1"]).await;
    let m = http_module(HttpModule {
        tls: trusting(&ca),
        ..Default::default()
    });
    let r = run(&m, &s.https_url("/")).await;
    assert_outcome(&r, "tls");
    assert_metric(
        &r,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );
    assert_metric(
        &r,
        "probe_ssl_last_chain_expiry_timestamp_seconds",
        &[],
        leaf.not_after as f64,
    );
    assert_eq!(labels_of(&r, "probe_ssl_last_chain_info").len(), 1);
    assert_metric(&r, "probe_http_ssl", &[], 0.0);
    assert_metric(&r, "probe_http_status_code", &[], 0.0);
    assert_absent(&r, "probe_tls_version_info");
}

// Row 23 and a certificate for another host.
#[tokio::test]
async fn self_signed_and_wrong_host() {
    let leaf = certs::self_signed(&["localhost"]);
    let s = https_server(&leaf, &[b"http/1.1"]).await;
    let r = run(&http_module(HttpModule::default()), &s.https_url("/")).await;
    assert_outcome(&r, "tls");
    assert_metric(&r, "probe_http_ssl", &[], 0.0);
    let skip = http_module(HttpModule {
        tls: TlsSettings {
            insecure_skip_verify: true,
            ..Default::default()
        },
        ..Default::default()
    });
    let r = run(&skip, &s.https_url("/")).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_http_ssl", &[], 1.0);

    let ca = Ca::new();
    let other = ca.leaf(&["other.test"], &[], (2035, 1, 1));
    let s = https_server(&other, &[b"http/1.1"]).await;
    let m = http_module(HttpModule {
        tls: trusting(&ca),
        ..Default::default()
    });
    assert_outcome(&run(&m, &s.https_url("/")).await, "tls");
    // server_name makes it verify.
    let named = http_module(HttpModule {
        tls: TlsSettings {
            server_name: Some("other.test".into()),
            ..trusting(&ca)
        },
        ..Default::default()
    });
    assert_outcome(&run(&named, &s.https_url("/")).await, "success");
}

// min_version refuses an old server; max_version pins what is negotiated.
#[tokio::test]
async fn tls_min_and_max_version() {
    use outpost::config::TlsVersion;
    let t = tls_localhost();
    let tls12_only = serve(
        Some(server::tls_config(&t.leaf, &[b"http/1.1"], true)),
        handler(|_| respond(200, &[], "old")),
    )
    .await;
    let modern = https_server(&t.leaf, &[b"http/1.1"]).await;
    let at_least_13 = http_module(HttpModule {
        tls: TlsSettings {
            min_version: Some(TlsVersion::Tls13),
            ..trusting(&t.ca)
        },
        ..Default::default()
    });
    let r = run(&at_least_13, &tls12_only.https_url("/")).await;
    assert_outcome(&r, "tls");
    assert_absent(&r, "probe_tls_version_info");
    let r = run(&at_least_13, &modern.https_url("/")).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_tls_version_info", &[("version", "TLS 1.3")], 1.0);

    let at_most_12 = http_module(HttpModule {
        tls: TlsSettings {
            max_version: Some(TlsVersion::Tls12),
            ..trusting(&t.ca)
        },
        ..Default::default()
    });
    let r = run(&at_most_12, &modern.https_url("/")).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_tls_version_info", &[("version", "TLS 1.2")], 1.0);
    let ciphers = labels_of(&r, "probe_tls_cipher_info");
    assert!(ciphers[0][0].1.starts_with("TLS_ECDHE_"), "{ciphers:?}");
}

// Row 24.
#[tokio::test]
async fn tls_config_is_ignored_for_plain_http() {
    let s = status_server().await;
    let m = http_module(HttpModule {
        tls: TlsSettings {
            server_name: Some("nothing.test".into()),
            min_version: Some(outpost::config::TlsVersion::Tls13),
            ..Default::default()
        },
        ..Default::default()
    });
    assert_outcome(&run(&m, &s.url("/status/200")).await, "success");
}

// Row 25: the URL's name is verified although an IP is dialled.
#[tokio::test]
async fn target_name_is_the_tls_server_name() {
    let ca = Ca::new();
    let leaf = ca.leaf(&["localhost"], &[], (2035, 1, 1));
    let s = https_server(&leaf, &[b"http/1.1"]).await;
    let m = http_module(HttpModule {
        tls: trusting(&ca),
        ip: ip4_only(),
        ..Default::default()
    });
    let r = run(&m, &format!("https://localhost:{}/", s.port())).await;
    assert_outcome(&r, "success");
    // The IP target has no IP SAN in this certificate.
    assert_outcome(&run(&m, &s.https_url("/")).await, "tls");
    // A Host header names the certificate too (and sets SNI).
    let host = http_module(HttpModule {
        tls: trusting(&ca),
        headers: vec![header("Host", "localhost")],
        ..Default::default()
    });
    assert_outcome(&run(&host, &s.https_url("/")).await, "success");
}

// HTTP/2 through ALPN, and fail_if_ssl.
#[tokio::test]
async fn http2_via_alpn() {
    let t = tls_localhost();
    let s = https_server(&t.leaf, &[b"h2", b"http/1.1"]).await;
    let m = http_module(HttpModule {
        tls: trusting(&t.ca),
        valid_http_versions: vec!["HTTP/2.0".into()],
        ..Default::default()
    });
    let r = run(&m, &s.https_url("/")).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_http_version", &[], 2.0);
    assert_eq!(s.requests()[0].version, http::Version::HTTP_2);

    let h1 = http_module(HttpModule {
        tls: trusting(&t.ca),
        enable_http2: false,
        ..Default::default()
    });
    let r = run(&h1, &s.https_url("/")).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_http_version", &[], 1.1);

    let no_ssl = http_module(HttpModule {
        tls: trusting(&t.ca),
        fail_if_ssl: true,
        ..Default::default()
    });
    assert_outcome(&run(&no_ssl, &s.https_url("/")).await, "ssl_forbidden");
}

// Row 27, over both proxy modes.
#[tokio::test]
async fn proxy_absolute_form_and_connect() {
    let p = proxy::start().await;
    let s = status_server().await;
    let m = http_module(HttpModule {
        proxy_url: Some(p.url().parse().unwrap()),
        ..Default::default()
    });
    let r = run(&m, &s.url("/status/200")).await;
    assert_outcome(&r, "success");
    assert!(phases(&r).contains(&"resolve".to_string()));
    assert_present(&r, "probe_ip_protocol");

    let skip = http_module(HttpModule {
        proxy_url: Some(p.url().parse().unwrap()),
        skip_resolve_phase_with_proxy: true,
        ..Default::default()
    });
    let r = run(&skip, &s.url("/status/200")).await;
    assert_outcome(&r, "success");
    assert!(!phases(&r).contains(&"resolve".to_string()));
    assert_absent(&r, "probe_ip_protocol");
    assert_absent(&r, "probe_ip_addr_hash");

    let t = tls_localhost();
    let tls_server = https_server(&t.leaf, &[b"http/1.1"]).await;
    let tls_module = http_module(HttpModule {
        proxy_url: Some(p.url().parse().unwrap()),
        tls: trusting(&t.ca),
        ..Default::default()
    });
    let r = run(&tls_module, &tls_server.https_url("/")).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_http_ssl", &[], 1.0);

    // Credentials in the proxy URL go to the proxy, for both modes.
    let with_auth = |tls: TlsSettings| {
        http_module(HttpModule {
            proxy_url: Some(format!("http://user:p%40ss@{}", p.addr).parse().unwrap()),
            tls,
            ..Default::default()
        })
    };
    assert_outcome(
        &run(&with_auth(TlsSettings::default()), &s.url("/status/200")).await,
        "success",
    );
    assert_outcome(
        &run(&with_auth(trusting(&t.ca)), &tls_server.https_url("/")).await,
        "success",
    );

    let lines = p.request_lines();
    assert_eq!(lines[0], format!("GET {} HTTP/1.1", s.url("/status/200")));
    assert_eq!(lines[2], format!("CONNECT {} HTTP/1.1", tls_server.addr));
    // base64("user:p@ss")
    assert_eq!(
        lines[4].to_ascii_lowercase(),
        "proxy-authorization: basic dxnlcjpwqhnz"
    );
    assert_eq!(
        lines[6].to_ascii_lowercase(),
        "proxy-authorization: basic dxnlcjpwqhnz"
    );
}

// Row 28.
#[tokio::test]
async fn target_scheme_parsing() {
    let s = status_server().await;
    let m = http_module(HttpModule::default());
    let upper = format!("HtTp://{}/status/200", s.addr);
    assert_outcome(&run(&m, &upper).await, "success");
    let bare = format!("{}/status/200", s.addr);
    assert_outcome(&run(&m, &bare).await, "success");
    assert_outcome(&run(&m, "invalid://x").await, "invalid_target");
}

// Read without limit (`body_size_limit = 0`), an endless body with a body regex
// runs into the deadline (the memory bound is `a_huge_body_is_read_in_bounded_memory`).
#[tokio::test]
async fn endless_body_with_regex_and_no_size_limit_times_out() {
    let s = serve(
        None,
        handler(|_| http::Response::new(Endless(Bytes::from(vec![b'x'; 64 * 1024])).boxed())),
    )
    .await;
    let m = http_module(HttpModule {
        fail_if_body_not_matches_regexp: vec![bytes_re("never-there")],
        body_size_limit: None,
        ..Default::default()
    });
    let r = run_with(&m, &s.url("/"), Duration::from_secs(2), None).await;
    assert_outcome(&r, "timeout");
    assert_metric(&r, "probe_http_status_code", &[], 200.0);
    assert_present(&r, "probe_http_uncompressed_body_length");
}

// With the default `body_size_limit` (10 MiB) the same endless body ends as
// `body_too_large` at the limit, not at the deadline.
#[tokio::test]
async fn endless_body_stops_at_the_default_body_size_limit() {
    let s = serve(
        None,
        handler(|_| http::Response::new(Endless(Bytes::from(vec![b'x'; 64 * 1024])).boxed())),
    )
    .await;
    let m = http_module(HttpModule::default());
    assert_eq!(
        HttpModule::default().body_size_limit,
        Some(outpost::probe::http::DEFAULT_BODY_SIZE_LIMIT)
    );
    let r = run_with(&m, &s.url("/"), Duration::from_secs(30), None).await;
    assert_outcome(&r, "body_too_large");
    assert_metric(&r, "probe_http_status_code", &[], 200.0);
}

/// `SIZE` bytes in 64 KiB frames, counted as they are handed to the server, then
/// nothing more, ever: the connection stays open.
struct ThenStall {
    left: usize,
    sent: Arc<std::sync::atomic::AtomicUsize>,
}

impl hyper::body::Body for ThenStall {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        if self.left == 0 {
            return std::task::Poll::Pending;
        }
        let n = self.left.min(64 * 1024);
        self.left -= n;
        self.sent.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(Bytes::from(vec![
            b'x';
            n
        ])))))
    }
}

/// The body is never held: `outpost probe` reads a 256 MiB body through a body
/// regex, and its peak resident memory (VmHWM) stays a fraction of that. Once the
/// server has handed over every byte, all but what socket buffers hold (a few
/// MiB) has been read, so a reader that kept the body would show over 200 MiB.
#[tokio::test]
async fn a_huge_body_is_read_in_bounded_memory() {
    const SIZE: usize = 256 << 20;
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    let s = serve(
        None,
        handler(move |_| {
            http::Response::new(
                ThenStall {
                    left: SIZE,
                    sent: counter.clone(),
                }
                .boxed(),
            )
        }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probes.toml");
    std::fs::write(
        &config,
        "[modules.big]\nprober = \"http\"\ntimeout = \"10m\"\n[modules.big.http]\npreferred_ip_protocol = \"ip4\"\nbody_size_limit = 0\nfail_if_body_not_matches_regexp = [\"never-there\"]\n",
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_outpost"))
        .arg("--config")
        .arg(&config)
        .args(["probe", "--module", "big", &s.url("/")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    // A guard against a hang, not a measurement.
    let give_up = std::time::Instant::now() + Duration::from_secs(300);
    while sent.load(std::sync::atomic::Ordering::SeqCst) < SIZE {
        assert!(
            child.try_wait().unwrap().is_none(),
            "outpost probe exited early"
        );
        assert!(std::time::Instant::now() < give_up, "the body was not read");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = std::fs::read_to_string(&status).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let kib: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in {text}"));
    let peak = kib * 1024;
    assert!(
        peak < SIZE / 4,
        "peak RSS {} MiB while reading a {} MiB body",
        peak >> 20,
        SIZE >> 20
    );
}

// A server that closes the connection is hit exactly once.
#[tokio::test]
async fn closed_connection_is_not_retried() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    let r = run(
        &http_module(HttpModule::default()),
        &format!("http://{addr}/"),
    )
    .await;
    task.abort();
    assert_outcome(&r, "http");
    assert_metric(&r, "probe_http_status_code", &[], 0.0);
    assert_metric(&r, "probe_http_version", &[], 0.0);
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
}

// Connection refused, Last-Modified.
#[tokio::test]
async fn refused_connection_and_last_modified() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let r = run(
        &http_module(HttpModule::default()),
        &format!("http://{addr}/"),
    )
    .await;
    assert_outcome(&r, "connect");

    let s = plain(|_| {
        respond(
            200,
            &[("last-modified", "Wed, 21 Oct 2015 07:28:00 GMT")],
            "",
        )
    })
    .await;
    let r = run(&http_module(HttpModule::default()), &s.url("/")).await;
    assert_metric(
        &r,
        "probe_http_last_modified_timestamp_seconds",
        &[],
        1_445_412_480.0,
    );
}
