//! `oauth2` client credentials against an in-process token endpoint: the grant,
//! the client authentication (header, then form, as golang.org/x/oauth2 does),
//! the bearer token on the probe's request, the `oauth2` phase and outcome.

use std::net::{IpAddr, Ipv4Addr};

use base64::Engine as _;
use outpost::config::{HttpModule, TlsSettings};
use outpost::probe::http::oauth2::OAuth2;
use url::Url;

use crate::support::certs::Ca;
use crate::support::metrics::{assert_absent, assert_metric, assert_outcome, phases};
use crate::support::server::{self, handler, respond, serve, Seen, Server};
use crate::support::{http_module, proxy, run};

const TOKEN: &str = "tok-3x4mpl3";
const SECRET: &str = "s3cr&t";

fn oauth2(token_url: String) -> OAuth2 {
    OAuth2 {
        client_id: "probe id".into(),
        client_secret: SECRET.into(),
        token_url: Url::parse(&token_url).unwrap(),
        scopes: vec!["read".into(), "write".into()],
        endpoint_params: vec![("audience".into(), "api".into())],
        tls: TlsSettings::default(),
        proxy_url: None,
        proxy_options: Default::default(),
    }
}

fn module(o: OAuth2) -> outpost::config::Module {
    http_module(HttpModule {
        oauth2: Some(Box::new(o)),
        ..Default::default()
    })
}

/// Go's header style: Basic with the form-escaped id and secret.
fn basic_credentials() -> String {
    let pair = "probe+id:s3cr%26t";
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn header<'a>(seen: &'a Seen, name: &str) -> Option<&'a str> {
    seen.headers.get(name).and_then(|v| v.to_str().ok())
}

fn token_json() -> http::Response<server::Body> {
    respond(
        200,
        &[("Content-Type", "application/json")],
        format!(r#"{{"access_token":"{TOKEN}","token_type":"bearer","expires_in":3600}}"#),
    )
}

/// A token endpoint that wants the credentials in the Authorization header.
async fn header_token_server() -> Server {
    serve(
        None,
        handler(|req| {
            if header(req, "authorization") == Some(basic_credentials().as_str()) {
                token_json()
            } else {
                respond(401, &[], r#"{"error":"invalid_client"}"#)
            }
        }),
    )
    .await
}

/// A target that only answers 200 to the expected bearer token.
async fn protected_target() -> Server {
    serve(
        None,
        handler(|req| {
            if header(req, "authorization") == Some(&format!("Bearer {TOKEN}")) {
                respond(200, &[], "welcome")
            } else {
                respond(403, &[], "who are you")
            }
        }),
    )
    .await
}

#[tokio::test]
async fn token_request_and_bearer_token() {
    let tokens = header_token_server().await;
    let target = protected_target().await;
    let r = run(
        &module(oauth2(tokens.url("/oauth/token"))),
        &target.url("/"),
    )
    .await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_http_status_code", &[], 200.0);
    assert!(
        phases(&r).contains(&"oauth2".to_string()),
        "{:?}",
        phases(&r)
    );

    let seen = tokens.requests();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(req.uri.path(), "/oauth/token");
    assert_eq!(
        header(req, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        std::str::from_utf8(&req.body).unwrap(),
        "audience=api&grant_type=client_credentials&scope=read+write"
    );
    assert!(header(req, "user-agent").unwrap().starts_with("outpost/"));
    assert_eq!(target.requests().len(), 1);

    // Neither the secret nor the token shows in the trace.
    for line in &r.trace {
        assert!(!line.contains(SECRET) && !line.contains(TOKEN), "{line}");
    }
}

#[tokio::test]
async fn without_oauth2_there_is_no_token_and_no_phase() {
    let target = protected_target().await;
    let r = run(&http_module(HttpModule::default()), &target.url("/")).await;
    assert_outcome(&r, "http_status");
    assert!(!phases(&r).contains(&"oauth2".to_string()));
}

#[tokio::test]
async fn credentials_move_to_the_form_when_the_header_is_refused() {
    let tokens = serve(
        None,
        handler(|req| {
            let body = std::str::from_utf8(&req.body).unwrap_or_default();
            let in_form = body.contains("client_id=probe+id&client_secret=s3cr%26t");
            if in_form && header(req, "authorization").is_none() {
                respond(
                    200,
                    &[("Content-Type", "application/x-www-form-urlencoded")],
                    format!("access_token={TOKEN}&token_type=bearer"),
                )
            } else {
                respond(400, &[], r#"{"error":"invalid_request"}"#)
            }
        }),
    )
    .await;
    let target = protected_target().await;
    let r = run(&module(oauth2(tokens.url("/token"))), &target.url("/")).await;
    assert_outcome(&r, "success");
    let seen = tokens.requests();
    assert_eq!(seen.len(), 2, "header first, then the form");
    assert_eq!(
        header(&seen[0], "authorization"),
        Some(basic_credentials().as_str())
    );
}

/// A token endpoint that always answers `status`, `content_type`, `body`.
async fn answering(status: u16, content_type: &'static str, body: &'static str) -> Server {
    serve(
        None,
        handler(move |_| respond(status, &[("Content-Type", content_type)], body)),
    )
    .await
}

#[tokio::test]
async fn token_failures_are_the_oauth2_outcome() {
    let target = protected_target().await;
    let unreachable = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/token", l.local_addr().unwrap())
    };
    let refused = answering(401, "application/json", r#"{"error":"invalid_client"}"#).await;
    let not_json = answering(200, "application/json", "<html>hello</html>").await;
    let no_token = answering(200, "application/json", r#"{"token_type":"bearer"}"#).await;
    for token_url in [
        refused.url("/token"),
        not_json.url("/token"),
        no_token.url("/token"),
        unreachable,
    ] {
        let r = run(&module(oauth2(token_url.clone())), &target.url("/")).await;
        assert_outcome(&r, "oauth2");
        assert_metric(&r, "probe_http_status_code", &[], 0.0);
        assert!(phases(&r).contains(&"oauth2".to_string()), "{token_url}");
        let message = &r.failure.as_ref().unwrap().message;
        assert!(message.contains(&token_url), "{message}");
        assert!(!message.contains(SECRET), "{message}");
    }
    assert_eq!(refused.requests().len(), 2, "header, then form");
    assert!(target.requests().is_empty(), "no request without a token");
}

#[tokio::test]
async fn token_endpoint_with_its_own_tls_config_and_proxy() {
    let ca = Ca::new();
    let leaf = ca.leaf(
        &["localhost"],
        &[IpAddr::V4(Ipv4Addr::LOCALHOST)],
        (2035, 1, 1),
    );
    let tokens = serve(
        Some(server::tls_config(&leaf, &[b"http/1.1"], false)),
        handler(|req| {
            if header(req, "authorization") == Some(basic_credentials().as_str()) {
                token_json()
            } else {
                respond(401, &[], "")
            }
        }),
    )
    .await;
    let target = protected_target().await;
    let mut o = oauth2(tokens.https_url("/token"));
    o.tls = TlsSettings {
        ca: Some(ca.roots()),
        ..Default::default()
    };
    let r = run(&module(o.clone()), &target.url("/")).await;
    assert_outcome(&r, "success");
    // The token exchange's TLS series are not the target's.
    assert_absent(&r, "probe_tls_version_info");
    assert_metric(&r, "probe_http_ssl", &[], 0.0);

    // The module's tls_config is not the token request's: without its own CA the
    // token endpoint is not trusted.
    let untrusted = http_module(HttpModule {
        tls: TlsSettings {
            ca: Some(ca.roots()),
            ..Default::default()
        },
        oauth2: Some(Box::new(oauth2(tokens.https_url("/token")))),
        ..Default::default()
    });
    assert_outcome(&run(&untrusted, &target.url("/")).await, "oauth2");

    // oauth2.proxy_url carries the token request (CONNECT for https).
    let p = proxy::start().await;
    o.proxy_url = Some(p.url().parse().unwrap());
    let r = run(&module(o), &target.url("/")).await;
    assert_outcome(&r, "success");
    assert_eq!(
        p.request_lines(),
        [format!("CONNECT {} HTTP/1.1", tokens.addr)],
        "only the token request went through the proxy"
    );
}

#[tokio::test]
async fn token_endpoint_server_name_comes_from_oauth2_tls_config() {
    let ca = Ca::new();
    // A certificate for a name only: reached by IP, it verifies only with server_name.
    let leaf = ca.leaf(&["auth.test"], &[], (2035, 1, 1));
    let tokens = serve(
        Some(server::tls_config(&leaf, &[b"http/1.1"], false)),
        handler(|_| token_json()),
    )
    .await;
    let target = protected_target().await;
    let mut o = oauth2(tokens.https_url("/token"));
    o.tls = TlsSettings {
        ca: Some(ca.roots()),
        ..Default::default()
    };
    assert_outcome(&run(&module(o.clone()), &target.url("/")).await, "oauth2");
    o.tls.server_name = Some("auth.test".into());
    assert_outcome(&run(&module(o), &target.url("/")).await, "success");
}
