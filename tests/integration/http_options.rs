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
