//! The postgres prober against a real PostgreSQL (Debian's package, started by
//! `support::postgres` as an unprivileged user from a temporary directory): TLS
//! and its certificate series, SCRAM-SHA-256, md5, cleartext and trust logins,
//! server errors as outcomes, the query and its checks, pg_is_in_recovery, the
//! deadline, and a server without TLS.

use std::time::{Duration, Instant};

use outpost::config::secret::Secret;
use outpost::config::{Module, Prober, TlsSettings};
use outpost::probe::postgres::PostgresModule;
use outpost::probe::sql::{Login, QueryCheck, SqlSettings};
use outpost::probe::ProbeReport;
use regex::Regex;

use crate::support::metrics::{assert_absent, assert_metric, assert_outcome, assert_present};
use crate::support::postgres::{self, primary, Postgres};
use crate::support::{module, run, run_with};

fn pg(m: PostgresModule) -> Module {
    module(Prober::Postgres(Box::new(m)))
}

fn login(user: &str, password: &str) -> SqlSettings {
    SqlSettings {
        login: Some(Login {
            username: user.into(),
            password: Secret::from(password.to_string()),
        }),
        query: QueryCheck::default(),
    }
}

/// TLS verified against the test CA, required.
fn tls_to(server: &Postgres) -> PostgresModule {
    PostgresModule {
        tls: true,
        fail_if_not_ssl: true,
        tls_config: TlsSettings {
            ca: Some(server.ca.as_ref().unwrap().roots()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn message(r: &ProbeReport) -> String {
    r.failure
        .as_ref()
        .map(|f| f.message.clone())
        .unwrap_or_default()
}

fn phase(r: &ProbeReport, name: &str) -> f64 {
    r.value("probe_postgres_duration_seconds", &[("phase", name)])
        .unwrap_or_else(|| panic!("no phase {name}: {:?}", r.samples))
}

fn assert_secret_kept(r: &ProbeReport, password: &str) {
    let shown = format!("{:?} {:?} {:?}", r.trace, r.failure, r.samples);
    assert!(!shown.contains(password), "the password shows: {shown}");
}

#[tokio::test]
async fn scram_login_over_tls_reports_the_certificate_version_and_recovery() {
    let server = primary();
    let m = pg(PostgresModule {
        sql: login(postgres::SCRAM_USER, postgres::SCRAM_PASSWORD),
        check_recovery: true,
        database: Some("postgres".into()),
        ..tls_to(server)
    });
    let r = run(&m, &server.addr.to_string()).await;
    assert_outcome(&r, "success");
    let leaf = server.leaf.as_ref().unwrap();
    assert_metric(
        &r,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );
    assert_metric(&r, "probe_tls_version_info", &[("version", "TLS 1.3")], 1.0);
    assert_present(&r, "probe_ssl_last_chain_info");
    assert_metric(&r, "probe_postgres_ssl", &[], 1.0);
    let version = postgres::server_version();
    assert_metric(
        &r,
        "probe_postgres_server_info",
        &[("version", &version)],
        1.0,
    );
    assert_metric(&r, "probe_postgres_query_rows", &[], 1.0);
    assert_metric(&r, "probe_postgres_in_recovery", &[], 0.0);
    for p in ["connect", "tls", "startup", "auth", "query", "recovery"] {
        assert!(phase(&r, p) > 0.0, "phase {p} not timed");
    }
    let trace = r.trace.join("\n");
    assert!(trace.contains("The server offers SASL"), "{trace}");
    assert!(
        trace.contains("SCRAM-SHA-256: the server's signature is valid"),
        "{trace}"
    );
    assert_secret_kept(&r, postgres::SCRAM_PASSWORD);
}

#[tokio::test]
async fn wrong_passwords_are_auth_with_the_sqlstate() {
    let server = primary();
    for (user, hint) in [(postgres::SCRAM_USER, "SASL"), (postgres::MD5_USER, "md5")] {
        let m = pg(PostgresModule {
            sql: login(user, "not-the-password"),
            ..tls_to(server)
        });
        let r = run(&m, &server.addr.to_string()).await;
        assert_outcome(&r, "auth");
        assert_eq!(
            message(&r),
            format!(
                "FATAL 28P01 invalid_password: password authentication failed for user \"{user}\""
            )
        );
        assert!(r.trace.join("\n").contains(hint), "{:?}", r.trace);
        // Startup and auth timed, no query ran.
        assert!(phase(&r, "auth") > 0.0);
        assert_metric(
            &r,
            "probe_postgres_duration_seconds",
            &[("phase", "query")],
            0.0,
        );
        assert_absent(&r, "probe_postgres_query_rows");
        assert_secret_kept(&r, "not-the-password");
    }
}

#[tokio::test]
async fn md5_login_in_the_clear() {
    let server = primary();
    let m = pg(PostgresModule {
        sql: login(postgres::MD5_USER, postgres::MD5_PASSWORD),
        database: Some("postgres".into()),
        ..Default::default()
    });
    let r = run(&m, &server.addr.to_string()).await;
    assert_outcome(&r, "success");
    assert!(r
        .trace
        .join("\n")
        .contains("The server asks for an md5 password"));
    assert_metric(&r, "probe_postgres_ssl", &[], 0.0);
    assert_absent(&r, "probe_ssl_earliest_cert_expiry");
    assert_eq!(
        r.value("probe_postgres_duration_seconds", &[("phase", "tls")]),
        None
    );
    assert_secret_kept(&r, postgres::MD5_PASSWORD);
}

#[tokio::test]
async fn a_cleartext_password_goes_over_tls_only_and_trust_needs_none() {
    let server = primary();
    let target = server.addr.to_string();
    let clear = login(postgres::CLEAR_USER, postgres::CLEAR_PASSWORD);
    let m = pg(PostgresModule {
        sql: clear.clone(),
        database: Some("postgres".into()),
        ..tls_to(server)
    });
    let r = run(&m, &target).await;
    assert_outcome(&r, "success");
    assert_secret_kept(&r, postgres::CLEAR_PASSWORD);
    let m = pg(PostgresModule {
        sql: clear,
        database: Some("postgres".into()),
        ..Default::default()
    });
    let r = run(&m, &target).await;
    assert_outcome(&r, "auth");
    assert!(
        message(&r).starts_with(
            "the server asks for the password in clear over an unencrypted connection: not sent"
        ),
        "{}",
        message(&r)
    );
    // Trust: no password configured, none asked.
    let m = pg(PostgresModule {
        sql: login(postgres::TRUST_USER, ""),
        database: Some("postgres".into()),
        ..Default::default()
    });
    assert_outcome(&run(&m, &target).await, "success");
    // A user the server asks a password of, with none configured.
    let m = pg(PostgresModule {
        sql: login(postgres::SCRAM_USER, ""),
        ..Default::default()
    });
    let r = run(&m, &target).await;
    assert_outcome(&r, "auth");
    assert!(
        message(&r).contains("none is configured"),
        "{}",
        message(&r)
    );
}

#[tokio::test]
async fn without_a_login_the_run_ends_after_tls() {
    let server = primary();
    let m = pg(tls_to(server));
    let r = run(&m, &server.addr.to_string()).await;
    assert_outcome(&r, "success");
    let leaf = server.leaf.as_ref().unwrap();
    assert_metric(
        &r,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );
    assert!(phase(&r, "tls") > 0.0);
    assert_eq!(
        r.value("probe_postgres_duration_seconds", &[("phase", "startup")]),
        None
    );
    assert_absent(&r, "probe_postgres_server_info");

    // An untrusted certificate fails the run as tls, its series still there.
    let m = pg(PostgresModule {
        tls: true,
        ..Default::default()
    });
    let r = run(&m, &server.addr.to_string()).await;
    assert_outcome(&r, "tls");
    assert_metric(
        &r,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );
    assert_present(&r, "probe_ssl_last_chain_info");
}

#[tokio::test]
async fn an_unknown_database_is_its_own_outcome() {
    let server = primary();
    let m = pg(PostgresModule {
        sql: login(postgres::SCRAM_USER, postgres::SCRAM_PASSWORD),
        database: Some("no_such_db".into()),
        ..tls_to(server)
    });
    let r = run(&m, &server.addr.to_string()).await;
    assert_outcome(&r, "database_not_found");
    assert_eq!(
        message(&r),
        "FATAL 3D000 invalid_catalog_name: database \"no_such_db\" does not exist"
    );
}

fn query_module(server: &Postgres, query: &str, rows: Option<u64>, first: Option<&str>) -> Module {
    let mut sql = login(postgres::SCRAM_USER, postgres::SCRAM_PASSWORD);
    sql.query = QueryCheck {
        query: query.into(),
        expect_rows: rows,
        expect_first_value: first.map(|f| Regex::new(f).unwrap()),
    };
    pg(PostgresModule {
        sql,
        database: Some("postgres".into()),
        ..tls_to(server)
    })
}

#[tokio::test]
async fn the_query_is_counted_and_checked() {
    let server = primary();
    let target = server.addr.to_string();
    let series = "SELECT 'v' || g FROM generate_series(7, 9) g";
    let r = run(
        &query_module(server, series, Some(3), Some("^v7$")),
        &target,
    )
    .await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_postgres_query_rows", &[], 3.0);

    let r = run(&query_module(server, series, Some(2), None), &target).await;
    assert_outcome(&r, "query_result");
    assert_eq!(message(&r), "expect_rows is 2, the query returned 3 rows");
    assert_metric(&r, "probe_postgres_query_rows", &[], 3.0);

    let r = run(&query_module(server, series, None, Some("^v8")), &target).await;
    assert_outcome(&r, "query_result");
    assert_eq!(
        message(&r),
        "expect_first_value \"^v8\": the first value \"v7\" does not match"
    );

    let r = run(
        &query_module(server, "SELECT NULL", None, Some(".")),
        &target,
    )
    .await;
    assert_outcome(&r, "query_result");
    assert_eq!(
        message(&r),
        "expect_first_value \".\": the first value is NULL"
    );

    let r = run(&query_module(server, "SELEC 1", None, None), &target).await;
    assert_outcome(&r, "query");
    assert_eq!(
        message(&r),
        "ERROR 42601 syntax_error: syntax error at or near \"SELEC\""
    );
}

#[tokio::test]
async fn a_slow_query_times_out_within_the_deadline() {
    let server = primary();
    let m = query_module(server, "SELECT pg_sleep(5)", None, None);
    let started = Instant::now();
    let r = run_with(&m, &server.addr.to_string(), Duration::from_secs(1), None).await;
    let took = started.elapsed();
    assert_outcome(&r, "timeout");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    // Login had finished: the phases up to auth were timed.
    assert!(phase(&r, "auth") > 0.0);
}

/// A second server, without TLS and with room for two ordinary connections.
#[tokio::test]
async fn a_server_without_tls_and_one_that_is_full() {
    let server = tokio::task::spawn_blocking(|| {
        Postgres::start(
            false,
            &["max_connections=5", "superuser_reserved_connections=3"],
        )
    })
    .await
    .unwrap();
    let target = server.addr.to_string();
    let scram = login(postgres::SCRAM_USER, postgres::SCRAM_PASSWORD);
    let required = pg(PostgresModule {
        tls: true,
        fail_if_not_ssl: true,
        sql: scram.clone(),
        database: Some("postgres".into()),
        ..Default::default()
    });
    let r = run(&required, &target).await;
    assert_outcome(&r, "ssl_required");
    assert_eq!(
        message(&r),
        "the server does not offer TLS: it answered the SSLRequest with N"
    );
    assert_absent(&r, "probe_ssl_earliest_cert_expiry");
    // Asked for, not required: the session goes on in the clear.
    let preferred = pg(PostgresModule {
        tls: true,
        sql: scram,
        database: Some("postgres".into()),
        check_recovery: true,
        ..Default::default()
    });
    let r = run(&preferred, &target).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_postgres_ssl", &[], 0.0);
    assert_metric(&r, "probe_postgres_in_recovery", &[], 0.0);

    // Two sessions held open take the ordinary slots: the probe is refused.
    let held: Vec<_> = (0..2)
        .map(|_| postgres::hold_session(server.addr))
        .collect();
    let trust = pg(PostgresModule {
        sql: login(postgres::TRUST_USER, ""),
        database: Some("postgres".into()),
        ..Default::default()
    });
    let r = run(&trust, &target).await;
    assert_outcome(&r, "too_many_connections");
    assert!(
        message(&r).starts_with("FATAL 53300 too_many_connections: "),
        "{}",
        message(&r)
    );
    drop(held);
}
