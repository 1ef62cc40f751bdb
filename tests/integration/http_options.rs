//! The http prober's prometheus/common client options and CEL body rules,
//! configured from TOML text as a user writes them, against in-process servers:
//! `fail_if_body_json_*_cel`, `http_headers`, `authorization`, inline
//! `tls_config` PEM.

use std::path::Path;
use std::sync::Arc;

use outpost::config::{Config, Module};

use crate::support::metrics::{assert_absent, assert_metric, assert_outcome};
use crate::support::run;
use crate::support::server::{handler, respond, serve, Server};

/// Loads `text` as `dir/probes.toml` and returns module `name`.
fn module_in(dir: &Path, text: &str, name: &str) -> Arc<Module> {
    let config = Config::from_str_at(text, &dir.join("probes.toml"))
        .unwrap_or_else(|e| panic!("config should load:\n{e}\n{text}"));
    config.module(name).unwrap().clone()
}

fn module(text: &str) -> Arc<Module> {
    module_in(Path::new("."), text, "m")
}

/// A server answering each path with the body named by it.
async fn json_server() -> Server {
    serve(
        None,
        handler(|req| {
            let body = match req.uri.path() {
                "/baz" => r#"{"foo":{"bar":"baz"},"count":3}"#,
                "/qux" => r#"{"foo":{"bar":"qux"},"count":3}"#,
                "/other" => r#"{"other":true}"#,
                "/html" => "<html>not json</html>",
                "/empty" => "",
                _ => r#"{"foo":{"bar":"baz"}}"#,
            };
            respond(200, &[("content-type", "application/json")], body)
        }),
    )
    .await
}

fn cel_module(rules: &str) -> Arc<Module> {
    module(&format!(
        "[modules.m]\nprober = \"http\"\n[modules.m.http]\npreferred_ip_protocol = \"ip4\"\n{rules}\n"
    ))
}

// BLACKBOX.md §4.1 row 17.
#[tokio::test]
async fn fail_if_body_json_matches_cel() {
    let s = json_server().await;
    let m = cel_module("fail_if_body_json_matches_cel = \"body.foo.bar == 'baz'\"");
    let r = run(&m, &s.url("/baz")).await;
    assert_outcome(&r, "body_cel");
    assert_metric(&r, "probe_failed_due_to_cel", &[], 1.0);
    assert!(
        r.failure.as_ref().unwrap().message.contains("body.foo.bar"),
        "{:?}",
        r.failure
    );
    let r = run(&m, &s.url("/qux")).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_failed_due_to_cel", &[], 0.0);
    // Not JSON, empty, or a missing key (an evaluation error): fail.
    for path in ["/html", "/empty", "/other"] {
        let r = run(&m, &s.url(path)).await;
        assert_outcome(&r, "body_cel");
        assert_metric(&r, "probe_failed_due_to_cel", &[], 1.0);
    }
}

#[tokio::test]
async fn fail_if_body_json_not_matches_cel() {
    let s = json_server().await;
    let m = cel_module(
        "fail_if_body_json_not_matches_cel = \"body.foo.bar == 'baz' && body.count == 3\"",
    );
    assert_outcome(&run(&m, &s.url("/baz")).await, "success");
    let r = run(&m, &s.url("/qux")).await;
    assert_outcome(&r, "body_cel");
    assert_metric(&r, "probe_failed_due_to_cel", &[], 1.0);
    // A result that is not a bool fails.
    let m = cel_module("fail_if_body_json_not_matches_cel = \"body.foo\"");
    let r = run(&m, &s.url("/baz")).await;
    assert_outcome(&r, "body_cel");
    assert!(
        r.failure.as_ref().unwrap().message.contains("not a bool"),
        "{:?}",
        r.failure
    );
}

#[tokio::test]
async fn cel_runs_only_while_the_probe_succeeds_and_only_when_configured() {
    let s = json_server().await;
    let m = cel_module(
        "valid_status_codes = [204]\nfail_if_body_json_matches_cel = \"body.foo.bar == 'baz'\"",
    );
    let r = run(&m, &s.url("/baz")).await;
    assert_outcome(&r, "http_status");
    assert_metric(&r, "probe_failed_due_to_cel", &[], 0.0);
    // The body is bounded by body_size_limit before CEL sees it.
    let m = cel_module(
        "body_size_limit = 10\nfail_if_body_json_not_matches_cel = \"body.foo.bar == 'baz'\"",
    );
    assert_outcome(&run(&m, &s.url("/baz")).await, "body_too_large");
    let r = run(&cel_module(""), &s.url("/baz")).await;
    assert_outcome(&r, "success");
    assert_absent(&r, "probe_failed_due_to_cel");
}

/// A server that answers 200 with the request's `Authorization` header (or
/// `-`) as the body, and redirects `/away` to `other` (another host name).
async fn echo_authorization(other: Option<String>) -> Server {
    serve(
        None,
        handler(move |req| match (req.uri.path(), &other) {
            ("/away", Some(to)) => respond(302, &[("location", to.as_str())], ""),
            ("/here", _) => respond(302, &[("location", "/echo")], ""),
            _ => {
                let auth = req.headers.get("authorization");
                let text = auth.map_or("-".to_string(), |v| v.to_str().unwrap().to_string());
                respond(200, &[], text)
            }
        }),
    )
    .await
}

/// The `Authorization` values the server saw, in order.
fn seen_authorization(s: &Server) -> Vec<String> {
    s.requests()
        .iter()
        .map(|r| {
            r.headers
                .get("authorization")
                .map_or("-".to_string(), |v| v.to_str().unwrap().to_string())
        })
        .collect()
}

fn http_module_with(dir: &Path, http: &str) -> Arc<Module> {
    module_in(
        dir,
        &format!("[modules.m]\nprober = \"http\"\n[modules.m.http]\npreferred_ip_protocol = \"ip4\"\n{http}\n"),
        "m",
    )
}

#[tokio::test]
async fn authorization_type_and_credentials() {
    let s = echo_authorization(None).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "from-file\n").unwrap();
    let cases = [
        ("authorization = { credentials = \"abc\" }", "Bearer abc"),
        (
            "authorization = { type = \" Token \", credentials_file = \"token\" }",
            "Token from-file",
        ),
        // The module's own Authorization header wins, as in prometheus/common.
        (
            "authorization = { credentials = \"abc\" }\nheaders = { Authorization = \"Custom x\" }",
            "Custom x",
        ),
    ];
    for (config, want) in cases {
        let m = http_module_with(dir.path(), config);
        let r = run(&m, &s.url("/echo")).await;
        assert_outcome(&r, "success");
        assert_eq!(seen_authorization(&s).last().unwrap(), want, "{config}");
        assert!(
            r.trace.iter().all(|l| !l.contains("from-file")),
            "secret in trace"
        );
    }
    // Debug output shows the module with its credentials hidden.
    let m = http_module_with(
        dir.path(),
        "authorization = { credentials = \"s3cr3t-auth\" }",
    );
    assert!(m.redacted.contains("<secret>"), "{}", m.redacted);
    assert!(!m.redacted.contains("s3cr3t-auth"), "{}", m.redacted);
}

#[tokio::test]
async fn authorization_is_not_sent_to_another_host() {
    let other = echo_authorization(None).await;
    let first = echo_authorization(Some(format!("http://localhost:{}/echo", other.port()))).await;
    let m = http_module_with(Path::new("."), "authorization = { credentials = \"abc\" }");
    // A redirect on the same host keeps the credentials.
    assert_outcome(&run(&m, &first.url("/here")).await, "success");
    assert_eq!(seen_authorization(&first), ["Bearer abc", "Bearer abc"]);
    // One to another host drops them.
    assert_outcome(&run(&m, &first.url("/away")).await, "success");
    assert_eq!(seen_authorization(&first).last().unwrap(), "Bearer abc");
    assert_eq!(seen_authorization(&other), ["-"]);
}
