//! Proxies at prometheus/common parity: `no_proxy` (Go's httpproxy rules),
//! `proxy_from_environment` (the environment given as a lookup function, never
//! the test process's own), `proxy_connect_header`, and `https://` proxies.
//! Names under `.localhost` resolve to loopback inside outpost without DNS, and
//! the test proxy reaches them on 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr};

use http::{HeaderName, HeaderValue};
use outpost::config::{HttpModule, IpProtocol, IpSettings, TlsSettings};
use outpost::probe::http::no_proxy::{EnvProxy, NoProxy};
use outpost::probe::http::settings::ProxyOptions;

use crate::support::certs::Ca;
use crate::support::metrics::assert_outcome;
use crate::support::server::{self, handler, respond, serve, Server};
use crate::support::{http_module, proxy, run};

fn ip4() -> IpSettings {
    IpSettings {
        preferred: IpProtocol::Ip4,
        fallback: false,
        source_ip: None,
    }
}

/// Answers 200 on `/ok`, and redirects `/to?URL` to URL.
async fn target() -> Server {
    serve(
        None,
        handler(|req| match req.uri.path() {
            "/to" => respond(302, &[("Location", req.uri.query().unwrap_or(""))], ""),
            _ => respond(200, &[], "ok"),
        }),
    )
    .await
}

#[tokio::test]
async fn no_proxy_sends_matching_targets_direct() {
    let p = proxy::start().await;
    let s = target().await;
    let port = s.port();
    let m = http_module(HttpModule {
        proxy_url: Some(p.url().parse().unwrap()),
        skip_resolve_phase_with_proxy: true,
        proxy_options: ProxyOptions {
            no_proxy: Some(NoProxy::parse("direct.localhost, 10.0.0.0/8")),
            ..Default::default()
        },
        ip: ip4(),
        ..Default::default()
    });
    let via = format!("http://via.localhost:{port}/ok");
    assert_outcome(&run(&m, &via).await, "success");
    for direct in ["direct.localhost", "www.direct.localhost"] {
        let r = run(&m, &format!("http://{direct}:{port}/ok")).await;
        assert_outcome(&r, "success");
    }
    assert_eq!(p.request_lines(), [format!("GET {via} HTTP/1.1")]);
    assert_eq!(s.requests().len(), 3);
}

#[tokio::test]
async fn with_no_proxy_loopback_is_never_proxied() {
    let p = proxy::start().await;
    let s = target().await;
    let with = |no_proxy: Option<NoProxy>| {
        http_module(HttpModule {
            proxy_url: Some(p.url().parse().unwrap()),
            proxy_options: ProxyOptions {
                no_proxy,
                ..Default::default()
            },
            ..Default::default()
        })
    };
    // proxy_url alone proxies everything (Go's http.ProxyURL) ...
    assert_outcome(&run(&with(None), &s.url("/ok")).await, "success");
    assert_eq!(p.request_lines().len(), 1);
    // ... but Go's no_proxy rules never proxy loopback, whatever the list says.
    let listed = Some(NoProxy::parse("unrelated.example"));
    assert_outcome(&run(&with(listed), &s.url("/ok")).await, "success");
    assert_eq!(p.request_lines().len(), 1);
    assert_eq!(s.requests().len(), 2);
}

#[tokio::test]
async fn proxy_from_environment_by_scheme_and_no_proxy() {
    let p = proxy::start().await;
    let s = target().await;
    let port = s.port();
    let proxy_url = p.url();
    let env = EnvProxy::from_lookup(|name| match name {
        "http_proxy" => Some(proxy_url.clone()),
        "NO_PROXY" => Some("direct.localhost".to_string()),
        _ => None,
    })
    .unwrap();
    let m = http_module(HttpModule {
        proxy_options: ProxyOptions {
            from_environment: Some(env),
            ..Default::default()
        },
        ip: ip4(),
        ..Default::default()
    });
    // The first hop is resolved (loopback: direct); its redirect is chosen by name.
    let via = format!("http://via.localhost:{port}/ok");
    let r = run(&m, &s.url(&format!("/to?{via}"))).await;
    assert_outcome(&r, "success");
    assert_eq!(p.request_lines(), [format!("GET {via} HTTP/1.1")]);

    let direct = format!("http://direct.localhost:{port}/ok");
    assert_outcome(&run(&m, &s.url(&format!("/to?{direct}"))).await, "success");
    // No HTTPS_PROXY: an https redirect target goes direct (and fails: nothing
    // speaks TLS there), not through the http proxy.
    let https = format!("https://via.localhost:{port}/ok");
    assert_outcome(&run(&m, &s.url(&format!("/to?{https}"))).await, "tls");
    assert_eq!(p.request_lines().len(), 1);
}

fn connect_headers() -> Vec<(HeaderName, HeaderValue)> {
    ["s3cret-one", "two"]
        .into_iter()
        .map(|v| {
            let mut v = HeaderValue::from_static(v);
            v.set_sensitive(true);
            (HeaderName::from_static("proxy-token"), v)
        })
        .collect()
}

struct TlsPeers {
    ca: Ca,
    target: Server,
}

async fn tls_target() -> TlsPeers {
    let ca = Ca::new();
    let leaf = ca.leaf(
        &["localhost"],
        &[IpAddr::V4(Ipv4Addr::LOCALHOST)],
        (2035, 1, 1),
    );
    let target = serve(
        Some(server::tls_config(&leaf, &[b"http/1.1"], false)),
        handler(|_| respond(200, &[], "secure")),
    )
    .await;
    TlsPeers { ca, target }
}

#[tokio::test]
async fn proxy_connect_header_goes_with_connect_only() {
    let p = proxy::start().await;
    let plain = target().await;
    let peers = tls_target().await;
    let m = http_module(HttpModule {
        proxy_url: Some(p.url().parse().unwrap()),
        proxy_options: ProxyOptions {
            connect_header: connect_headers(),
            ..Default::default()
        },
        tls: TlsSettings {
            ca: Some(peers.ca.roots()),
            ..Default::default()
        },
        ..Default::default()
    });
    let r = run(&m, &peers.target.https_url("/")).await;
    assert_outcome(&r, "success");
    assert_outcome(&run(&m, &plain.url("/ok")).await, "success");
    let heads = p.heads();
    assert!(heads[0].starts_with("CONNECT "), "{}", heads[0]);
    assert!(
        heads[0].contains("proxy-token: s3cret-one\r\n"),
        "{}",
        heads[0]
    );
    assert!(heads[0].contains("proxy-token: two\r\n"), "{}", heads[0]);
    assert!(!heads[1].contains("proxy-token"), "{}", heads[1]);
    for line in &r.trace {
        assert!(!line.contains("s3cret-one"), "{line}");
    }
}

#[tokio::test]
async fn https_proxy_for_http_and_https_targets() {
    let peers = tls_target().await;
    let proxy_leaf = peers.ca.leaf(
        &["proxy.localhost"],
        &[IpAddr::V4(Ipv4Addr::LOCALHOST)],
        (2035, 1, 1),
    );
    let p = proxy::start_tls(server::tls_config(&proxy_leaf, &[], false)).await;
    let plain = target().await;
    let trusting = TlsSettings {
        ca: Some(peers.ca.roots()),
        ..Default::default()
    };
    let m = |tls: TlsSettings| {
        http_module(HttpModule {
            proxy_url: Some(p.url().parse().unwrap()),
            tls,
            ..Default::default()
        })
    };
    // TLS to the proxy, then CONNECT, then TLS to the target inside it.
    let r = run(&m(trusting.clone()), &peers.target.https_url("/")).await;
    assert_outcome(&r, "success");
    assert_outcome(
        &run(&m(trusting.clone()), &plain.url("/ok")).await,
        "success",
    );
    assert_eq!(
        p.request_lines(),
        [
            format!("CONNECT {} HTTP/1.1", peers.target.addr),
            format!("GET {} HTTP/1.1", plain.url("/ok")),
        ]
    );
    // The proxy's certificate is checked with the module's trust settings.
    let r = run(&m(TlsSettings::default()), &plain.url("/ok")).await;
    assert_outcome(&r, "proxy");
    let message = &r.failure.as_ref().unwrap().message;
    assert!(message.contains("TLS to the proxy"), "{message}");
    assert_eq!(p.request_lines().len(), 2);
}
