//! What `outpost probe` and `outpost check` print, as a person reads it:
//! snapshots (insta, tests/integration/snapshots/) of whole outputs, with
//! times, ports and dates replaced so that only a change of wording or layout
//! shows as a diff. Review a change with `cargo insta review`, or rerun with
//! `INSTA_UPDATE=always` and read the .snap diff before committing it.

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Output};

use crate::support::certs::Ca;
use crate::support::server::{handler, respond, serve, tls_config};

const BIN: &str = env!("CARGO_BIN_EXE_outpost");

/// Whatever changes from run to run: trace stamps, durations, ports, dates,
/// days to expiry, the serial-free fingerprint of a certificate made now.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"(?m)^ *\d+\.\d{6}s  ", "[t]  "),
        (r"\d+\.\d{6}s", "[secs]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (r"\d+\.\d ms", "[ms]"),
        // The table's alignment is asserted exactly in verdict.rs's unit test.
        (r"(?m)^  (\w+) +\d+\.\d{3}$", "  $1 [ms]"),
        (r"sha256 [0-9a-f]{64}", "sha256 [fingerprint]"),
        (r"\d{4}-\d{2}-\d{2} \(\d+ days\)", "[date] ([n] days)"),
        (r"date: .*", "date: [date]"),
    ]
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        // No configuration of the host's may be found: --prober needs none.
        .env_remove("OUTPOST_CONFIG")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap()
}

/// `outpost probe --prober http` with no configuration, over TLS with a
/// redirect: the trace shows the chain with days to expiry, each hop's
/// request and response headers, then the phase table, the TLS and HTTP lines,
/// and the verdict last.
#[tokio::test]
async fn probe_prints_a_curl_like_trace_of_an_https_redirect() {
    let ca = Ca::new();
    let leaf = ca.leaf(
        &["localhost"],
        &[IpAddr::V4(Ipv4Addr::LOCALHOST)],
        (2039, 3, 4),
    );
    let server = serve(
        Some(tls_config(&leaf, &[b"http/1.1"], false)),
        handler(|seen| match seen.uri.path() {
            "/start" => respond(302, &[("location", "/ok")], ""),
            _ => respond(200, &[("x-served-by", "test")], "ok\n"),
        }),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();
    let url = server.https_url("/start");
    let set_ca = format!("tls_config.ca_file={}", ca_file.display());
    let out = tokio::task::spawn_blocking(move || {
        run(&[
            "probe",
            "--prober",
            "http",
            "--set",
            &set_ca,
            "--set",
            "preferred_ip_protocol=ip4",
            &url,
        ])
    })
    .await
    .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).replace(&dir.path().display().to_string(), "[dir]");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!(text);
    });
}

/// A failure names what failed in words as the last line; exit 1.
#[tokio::test]
async fn probe_of_a_refused_port_ends_on_the_reason() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let target = format!("127.0.0.1:{port}");
    let out = tokio::task::spawn_blocking(move || run(&["probe", "--prober", "tcp", &target]))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!(text);
    });
}

/// Mistakes in --set options are the file's own errors, with a caret under
/// the value, reported against `<command line>`; exit 2 and no probe.
#[test]
fn probe_set_options_are_checked_like_a_file() {
    let out = run(&[
        "probe",
        "--prober",
        "http",
        "--set",
        "method=POST",
        "--set",
        "valid_status_codes=[999]",
        "http://127.0.0.1:1/",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stderr));
}

/// `outpost check` of a file with three mistakes, as text (each with its line
/// and a caret, the line holding a password not shown) and as JSON for editors.
#[test]
fn check_shows_each_error_under_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probes.toml");
    std::fs::write(
        &path,
        "[modules.web]\nprober = \"http\"\ntimeout = \"5 s\"\n\n[modules.web.http]\n\
         valid_status_codes = [200, 9999]\n\
         basic_auth = { username = \"u\", password = \"hunter2\", realm = \"x\" }\n\n\
         [[probes]]\nname = \"home\"\nmodule = \"wbe\"\ntarget = \"https://example.test/\"\ninterval = \"30s\"\n",
    )
    .unwrap();
    let path_text = path.display().to_string();
    let text = run(&["check", "--config", &path_text]);
    assert_eq!(text.status.code(), Some(2));
    let json = run(&["check", "--config", &path_text, "--format", "json"]);
    assert_eq!(json.status.code(), Some(2));
    let both = format!(
        "{}\n--- json ---\n{}",
        String::from_utf8_lossy(&text.stderr),
        String::from_utf8_lossy(&json.stdout)
    )
    .replace(&path_text, "[dir]/probes.toml");
    insta::assert_snapshot!(both);
}
