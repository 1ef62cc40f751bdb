//! The mysql prober against a real MariaDB (support/mariadb.rs): the greeting,
//! TLS and the database's certificate, login, queries and their checks, the
//! deadline, and a server without TLS.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use outpost::config::Module;
use outpost::probe::ProbeReport;

use crate::support::mariadb::{self, Mariadb, Options};
use crate::support::metrics::{
    assert_absent, assert_metric, assert_outcome, assert_present, labels_of,
};
use crate::support::{run, run_with};

/// A module `m` whose mysql block is `block`, loaded as `probes.toml` is.
fn mysql_module(block: &str) -> Module {
    let text = format!("[modules.m]\nprober = \"mysql\"\n[modules.m.mysql]\n{block}\n");
    let config = outpost::config::Config::from_str_at(&text, std::path::Path::new("probes.toml"))
        .unwrap_or_else(|e| panic!("{text}\n{e}"));
    let module = config.module("m").unwrap();
    (**module).clone()
}

/// A file holding `password`, as `password_file` names it; in a directory the
/// next test binary's MariaDB support removes (support/mariadb.rs).
fn password_file(password: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("outpost-mariadb-{}-passwords", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A file of its own per call: tests run concurrently, and one rewriting a
    // shared file (truncate, then write) lets another read it empty.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!("pw-{n}"));
    std::fs::write(&path, format!("{password}\n")).unwrap();
    path
}

/// The login keys of the test user with `password`.
fn login(user: &str, password: &str) -> String {
    format!(
        "username = {user:?}\npassword_file = {:?}\n",
        password_file(password).display().to_string()
    )
}

fn target(server: &Mariadb) -> String {
    server.addr.to_string()
}

/// The `phase` labels of `probe_mysql_duration_seconds`, in order.
fn phases(report: &ProbeReport) -> Vec<String> {
    labels_of(report, "probe_mysql_duration_seconds")
        .into_iter()
        .filter_map(|l| l.into_iter().find(|(k, _)| k == "phase").map(|(_, v)| v))
        .collect()
}

fn message(report: &ProbeReport) -> String {
    report
        .failure
        .as_ref()
        .map(|f| f.message.clone())
        .unwrap_or_default()
}

fn trusted_tls(server: &Mariadb) -> String {
    format!(
        "tls = true\ntls_config = {{ ca_file = {:?} }}\n",
        server.ca_file.as_ref().unwrap().display().to_string()
    )
}

#[tokio::test]
async fn the_greeting_gives_the_real_server_version() {
    let server = mariadb::shared();
    let report = run(&mysql_module(""), &target(server)).await;
    assert_outcome(&report, "success");
    let version = mariadb::server_version();
    assert!(version.contains("MariaDB"), "{version}");
    assert_metric(
        &report,
        "probe_mysql_server_info",
        &[("version", &version), ("protocol", "10")],
        1.0,
    );
    // No login: the run ends after the greeting.
    assert_eq!(phases(&report), ["connect", "greeting"]);
    assert_absent(&report, "probe_mysql_query_rows");
    assert_absent(&report, "probe_ssl_earliest_cert_expiry");
    assert_metric(&report, "probe_ip_protocol", &[], 4.0);
}

#[tokio::test]
async fn tls_reports_the_database_certificate_about_to_expire() {
    let server = mariadb::shared();
    let leaf = server.leaf.as_ref().unwrap();
    let block = format!(
        "{}{}",
        trusted_tls(server),
        login(mariadb::USER, mariadb::PASSWORD)
    );
    let report = run(&mysql_module(&block), &target(server)).await;
    assert_outcome(&report, "success");
    assert_metric(
        &report,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let left = leaf.not_after - now;
    assert!(
        left > 9 * 86_400 && left <= 10 * 86_400,
        "the certificate expires in {left}s"
    );
    assert_present(&report, "probe_ssl_last_chain_info");
    assert_present(&report, "probe_tls_version_info");
    assert_present(&report, "probe_tls_cipher_info");
    assert_eq!(
        phases(&report),
        ["connect", "greeting", "tls", "auth", "query"]
    );
    assert_metric(&report, "probe_mysql_query_rows", &[], 1.0);
}

#[tokio::test]
async fn an_untrusted_certificate_fails_as_tls_and_is_still_reported() {
    let server = mariadb::shared();
    let leaf = server.leaf.as_ref().unwrap();
    // The system's roots do not hold the test CA.
    let report = run(&mysql_module("tls = true"), &target(server)).await;
    assert_outcome(&report, "tls");
    assert_metric(
        &report,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );
    assert_present(&report, "probe_ssl_last_chain_info");
    assert_eq!(phases(&report), ["connect", "greeting", "tls"]);
}

#[tokio::test]
async fn native_password_login_and_the_default_query() {
    let server = mariadb::shared();
    let report = run(
        &mysql_module(&login(mariadb::USER, mariadb::PASSWORD)),
        &target(server),
    )
    .await;
    assert_outcome(&report, "success");
    assert_eq!(phases(&report), ["connect", "greeting", "auth", "query"]);
    assert_metric(&report, "probe_mysql_query_rows", &[], 1.0);
    assert!(report
        .trace
        .iter()
        .any(|l| l.contains("with mysql_native_password")));
    // The password is in no trace line.
    assert!(
        report.trace.iter().all(|l| !l.contains(mariadb::PASSWORD)),
        "{:#?}",
        report.trace
    );
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_failure_with_the_server_code() {
    let server = mariadb::shared();
    let report = run(
        &mysql_module(&login(mariadb::USER, "not-the-password")),
        &target(server),
    )
    .await;
    assert_outcome(&report, "auth");
    let m = message(&report);
    assert!(
        m.starts_with("server error 1045 (access denied, SQLSTATE 28000): \"Access denied for user 'outpost'@"),
        "{m}"
    );
    assert_absent(&report, "probe_mysql_query_rows");
    assert!(report.trace.iter().all(|l| !l.contains("not-the-password")));
}

#[tokio::test]
async fn a_user_that_requires_tls_logs_in_only_over_tls() {
    let server = mariadb::shared();
    let user = login(mariadb::TLS_USER, mariadb::TLS_PASSWORD);
    let plain = run(&mysql_module(&user), &target(server)).await;
    assert_outcome(&plain, "auth");
    assert!(
        message(&plain).contains("server error 1045"),
        "{}",
        message(&plain)
    );
    let block = format!("{}{user}", trusted_tls(server));
    let over_tls = run(&mysql_module(&block), &target(server)).await;
    assert_outcome(&over_tls, "success");
}

#[tokio::test]
async fn a_slow_query_fails_at_the_deadline() {
    let server = mariadb::shared();
    let block = format!(
        "{}query = \"SELECT SLEEP(5)\"\n",
        login(mariadb::USER, mariadb::PASSWORD)
    );
    let started = std::time::Instant::now();
    let report = run_with(
        &mysql_module(&block),
        &target(server),
        Duration::from_secs(1),
        None,
    )
    .await;
    let took = started.elapsed();
    assert_outcome(&report, "timeout");
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    // Logged in before the deadline: the query is what ran out of time.
    assert!(
        phases(&report).contains(&"auth".to_string()),
        "{:?}",
        phases(&report)
    );
    assert_absent(&report, "probe_mysql_query_rows");
}

#[tokio::test]
async fn expect_rows_and_expect_first_value() {
    let server = mariadb::shared();
    let user = login(mariadb::USER, mariadb::PASSWORD);
    let query = "query = \"SELECT 'outpost' UNION ALL SELECT 'probe'\"\n";
    let check = |rules: &str| mysql_module(&format!("{user}{query}{rules}"));

    let report = run(
        &check("expect_rows = 2\nexpect_first_value = \"^out\""),
        &target(server),
    )
    .await;
    assert_outcome(&report, "success");
    assert_metric(&report, "probe_mysql_query_rows", &[], 2.0);

    let report = run(&check("expect_rows = 3"), &target(server)).await;
    assert_outcome(&report, "query_result");
    assert_eq!(
        message(&report),
        "expect_rows is 3, the query returned 2 rows"
    );
    assert_metric(&report, "probe_mysql_query_rows", &[], 2.0);

    let report = run(&check("expect_first_value = \"^probe$\""), &target(server)).await;
    assert_outcome(&report, "query_result");
    assert_eq!(
        message(&report),
        "expect_first_value \"^probe$\": the first value \"outpost\" does not match"
    );

    // A NULL first value, and a version regex on a real value.
    let report = run(
        &mysql_module(&format!(
            "{user}query = \"SELECT NULL\"\nexpect_first_value = \".\""
        )),
        &target(server),
    )
    .await;
    assert_outcome(&report, "query_result");
    assert!(
        message(&report).ends_with("the first value is NULL"),
        "{}",
        message(&report)
    );
    let report = run(
        &mysql_module(&format!(
            "{user}query = \"SELECT VERSION()\"\nexpect_first_value = \"MariaDB\""
        )),
        &target(server),
    )
    .await;
    assert_outcome(&report, "success");
}

#[tokio::test]
async fn a_query_error_is_the_query_outcome_with_its_code() {
    let server = mariadb::shared();
    let block = format!(
        "{}query = \"SELEC 1\"\n",
        login(mariadb::USER, mariadb::PASSWORD)
    );
    let report = run(&mysql_module(&block), &target(server)).await;
    assert_outcome(&report, "query");
    let m = message(&report);
    assert!(
        m.starts_with("server error 1064 (SQL syntax error, SQLSTATE 42000)"),
        "{m}"
    );
}

#[tokio::test]
async fn replica_lag_from_the_configured_query() {
    let server = mariadb::shared();
    let user = login(mariadb::USER, mariadb::PASSWORD);
    // The value of the column named Seconds_Behind_Master, not the first one.
    let block = format!(
        "{user}replica_lag_query = \"SELECT 'Waiting' AS Slave_IO_State, 7 AS Seconds_Behind_Master\"\n"
    );
    let report = run(&mysql_module(&block), &target(server)).await;
    assert_outcome(&report, "success");
    assert_metric(&report, "probe_mysql_replica_lag_seconds", &[], 7.0);

    // A server that is not a replica: no row, no series, no failure.
    let block = format!("{user}replica_lag_query = \"SHOW REPLICA STATUS\"\n");
    let report = run(&mysql_module(&block), &target(server)).await;
    assert_outcome(&report, "success");
    assert_absent(&report, "probe_mysql_replica_lag_seconds");

    // Replication stopped: NULL.
    let block = format!("{user}replica_lag_query = \"SELECT NULL AS Seconds_Behind_Master\"\n");
    let report = run(&mysql_module(&block), &target(server)).await;
    assert_outcome(&report, "query_result");
    assert_absent(&report, "probe_mysql_replica_lag_seconds");
}

/// A server of this test's own, without TLS and with ten connections (MariaDB's
/// least) and its one extra for administrators: stopped by its Drop guard.
#[tokio::test]
async fn a_server_without_tls_and_too_many_connections() {
    let server = Mariadb::start(Options {
        tls: false,
        max_connections: Some(10),
    });
    let target = target(&server);
    let report = run(&mysql_module("fail_if_not_ssl = true"), &target).await;
    assert_outcome(&report, "ssl_required");
    assert_eq!(
        message(&report),
        "the server does not offer TLS (its greeting lacks CLIENT_SSL)"
    );
    let report = run(&mysql_module("tls = true"), &target).await;
    assert_outcome(&report, "ssl_required");
    // Without the rule, the same server passes, login included.
    let report = run(
        &mysql_module(&login(mariadb::USER, mariadb::PASSWORD)),
        &target,
    )
    .await;
    assert_outcome(&report, "success");
    assert_absent(&report, "probe_ssl_earliest_cert_expiry");

    // Hold every connection the server allows, then probe: MariaDB refuses the
    // next one at once, with an error packet in place of its greeting.
    let mut held = Vec::new();
    for _ in 0..11 {
        let mut s = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let mut head = [0u8; 5];
        tokio::io::AsyncReadExt::read_exact(&mut s, &mut head)
            .await
            .unwrap();
        held.push(s);
    }
    let report = run(
        &mysql_module(&login(mariadb::USER, mariadb::PASSWORD)),
        &target,
    )
    .await;
    assert_outcome(&report, "too_many_connections");
    assert_eq!(
        message(&report),
        "server error 1040 (too many connections): \"Too many connections\"",
        "{}",
        server.log()
    );
    drop(held);
}

/// The shipped `rds_mysql` module of probes.toml, unchanged, against a server set
/// up as its comment says (the password-less, TLS-only `outpost_probe`), with the
/// server's CA in the trust store the module relies on (SSL_CERT_FILE stands in
/// for the RDS bundle that deploy/ adds to the system store): greeting, TLS,
/// login and SELECT 1 succeed; without that CA the run fails as `tls`.
#[test]
fn the_shipped_rds_module_logs_in_as_its_documented_user() {
    let server = mariadb::shared();
    let ca = server.ca_file.as_ref().unwrap();
    let probe = |trust: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_outpost"))
            .args([
                "--config",
                "probes.toml",
                "probe",
                "-m",
                "rds_mysql",
                "--metrics",
            ])
            .arg(target(server))
            .env("SSL_CERT_FILE", trust)
            .env_remove("SSL_CERT_DIR")
            .output()
            .unwrap()
    };
    let out = probe(ca);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("probe_mysql_duration_seconds{phase=\"auth\"}"),
        "{text}"
    );
    assert!(text.contains("probe_mysql_query_rows 1"), "{text}");
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.starts_with("OK: rds_mysql ")),
        "{text}"
    );
    let empty = tempfile::NamedTempFile::new().unwrap();
    let out = probe(empty.path());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.starts_with("FAILED: TLS failed: ")),
        "{text}"
    );
}
