//! The http prober's prometheus/common client options and CEL body rules,
//! configured from TOML text as a user writes them, against in-process servers:
//! `fail_if_body_json_*_cel`, `http_headers`, `authorization`, inline
//! `tls_config` PEM.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;

use outpost::config::{Config, Module};

use crate::support::certs::{pem, Ca};
use crate::support::metrics::{assert_absent, assert_metric, assert_outcome};
use crate::support::run;
use crate::support::server::{self, handler, respond, serve, Server};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

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

#[tokio::test]
async fn inline_ca_cert_and_key() {
    let ca = Ca::new();
    let leaf = ca.leaf(&["localhost"], &[LOCALHOST], (2035, 3, 4));
    let client = ca.leaf(&["outpost-client"], &[], (2035, 1, 1));
    let hello = || handler(|_| respond(200, &[], "hello"));
    let plain_tls = serve(
        Some(server::tls_config(&leaf, &[b"http/1.1"], false)),
        hello(),
    )
    .await;
    let mutual = serve(
        Some(server::tls_config_requiring_client_cert(&leaf, &ca)),
        hello(),
    )
    .await;
    let ca_pem = pem("CERTIFICATE", &ca.der);
    let with_ca = http_module_with(
        Path::new("."),
        &format!("[modules.m.http.tls_config]\nca = '''\n{ca_pem}'''"),
    );
    assert_outcome(&run(&with_ca, &plain_tls.https_url("/")).await, "success");
    // Without it the system roots do not know the test CA.
    let without = http_module_with(Path::new("."), "");
    assert_outcome(&run(&without, &plain_tls.https_url("/")).await, "tls");
    // The inline CA alone does not get past a server that wants a client certificate.
    assert_outcome(&run(&with_ca, &mutual.https_url("/")).await, "tls");

    let key_pem = pem("PRIVATE KEY", client.key.secret_der());
    let with_cert = http_module_with(
        Path::new("."),
        &format!(
            "[modules.m.http.tls_config]\nca = '''\n{ca_pem}'''\ncert = '''\n{}'''\nkey = '''\n{key_pem}'''",
            pem("CERTIFICATE", client.der())
        ),
    );
    let r = run(&with_cert, &mutual.https_url("/")).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_http_status_code", &[], 200.0);
    assert_eq!(mutual.requests().len(), 1);
    // The private key is a secret: never in the module shown by debug=true.
    let key_body = key_pem.lines().nth(1).unwrap();
    assert!(
        !with_cert.redacted.contains(key_body),
        "{}",
        with_cert.redacted
    );
    assert!(
        with_cert.redacted.contains("key = \"<secret>\""),
        "{}",
        with_cert.redacted
    );
    assert!(
        with_cert.redacted.contains("BEGIN CERTIFICATE"),
        "{}",
        with_cert.redacted
    );
}

/// A server that records requests and redirects `/away` to `other`.
async fn recording(other: Option<String>) -> Server {
    serve(
        None,
        handler(move |req| match (req.uri.path(), &other) {
            ("/away", Some(to)) => respond(302, &[("location", to.as_str())], ""),
            _ => respond(200, &[], "ok"),
        }),
    )
    .await
}

/// The values of header `name` in the `i`th request a server saw.
fn header_values(s: &Server, i: usize, name: &str) -> Vec<String> {
    s.requests()[i]
        .headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

const HTTP_HEADERS: &str = r#"
headers = { "X-Multi" = "from-headers" }
[modules.m.http.http_headers]
"X-Multi" = { values = ["one", "two"] }
"X-Api-Key" = { files = ["api-key.txt"] }
"X-Secret" = { secrets = ["s3cr3t-header"], values = ["plain"] }
"#;

#[tokio::test]
async fn http_headers_values_secrets_and_files() {
    let s = recording(None).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("api-key.txt"), "  key-from-file\n").unwrap();
    let m = http_module_with(dir.path(), HTTP_HEADERS);
    let r = run(&m, &s.url("/")).await;
    assert_outcome(&r, "success");
    // `headers` first, then every value of the entry, in order.
    assert_eq!(
        header_values(&s, 0, "x-multi"),
        ["from-headers", "one", "two"]
    );
    assert_eq!(header_values(&s, 0, "x-api-key"), ["key-from-file"]);
    assert_eq!(header_values(&s, 0, "x-secret"), ["plain", "s3cr3t-header"]);
    // Neither the trace nor the module shown by debug=true reveals a secret.
    for line in &r.trace {
        assert!(!line.contains("s3cr3t-header") && !line.contains("key-from-file"));
    }
    assert!(!m.redacted.contains("s3cr3t-header"), "{}", m.redacted);
    assert!(
        m.redacted.contains("secrets = [\"<secret>\"]"),
        "{}",
        m.redacted
    );
    assert!(
        m.redacted.contains("values = [\"plain\"]"),
        "{}",
        m.redacted
    );
    assert!(m.redacted.contains("api-key.txt"), "{}", m.redacted);
}

#[tokio::test]
async fn http_headers_secrets_and_files_stay_with_their_host() {
    let other = recording(None).await;
    let first = recording(Some(format!("http://localhost:{}/", other.port()))).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("api-key.txt"), "key-from-file").unwrap();
    let m = http_module_with(dir.path(), HTTP_HEADERS);
    assert_outcome(&run(&m, &first.url("/away")).await, "success");
    assert_eq!(
        header_values(&first, 0, "x-secret"),
        ["plain", "s3cr3t-header"]
    );
    assert_eq!(header_values(&first, 0, "x-api-key"), ["key-from-file"]);
    assert_eq!(header_values(&other, 0, "x-secret"), ["plain"]);
    assert!(header_values(&other, 0, "x-api-key").is_empty());
    assert_eq!(
        header_values(&other, 0, "x-multi"),
        ["from-headers", "one", "two"]
    );
}

/// The shipped example of these options loads into the values it spells.
#[test]
fn client_options_config_values() {
    use outpost::config::{Auth, Prober};
    let config = Config::load(Path::new("tests/testdata/configs/good/client-options.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let m = &config.modules["http_client_options"];
    let Prober::Http(http) = &m.prober else {
        panic!("an http module");
    };
    assert!(
        matches!(&http.auth, Some(Auth::Authorization { kind, credentials }) if kind == "Token" && credentials == "token-from-file")
    );
    let headers: Vec<(&str, &str, bool)> = http
        .http_headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.to_str().unwrap(), h.credential))
        .collect();
    assert_eq!(
        headers,
        [
            ("x-api-key", "hunter2-from-file", true),
            ("x-tenant", "blue", false),
            ("x-tenant", "green", false),
            ("x-tenant", "tenant-s3cr3t", true),
        ]
    );
    assert!(http.tls.ca.is_some() && http.tls.client_cert.is_some());
    assert_eq!(
        http.fail_if_body_json_not_matches_cel
            .as_ref()
            .map(|r| r.source()),
        Some("body.status == 'ok'")
    );
    for module in config.modules.values() {
        for secret in ["tenant-s3cr3t", "inline-s3cr3t", "PRIVATE KEY-----\nM"] {
            assert!(!module.redacted.contains(secret), "{}", module.redacted);
        }
    }
}
