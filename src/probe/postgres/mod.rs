//! The `postgres` prober: PostgreSQL's own protocol (3.0) over tokio and the
//! crate's rustls, by hand (no driver crate: one TLS stack, and every phase and
//! the certificate visible).
//!
//! A run: resolve, connect; with `tls`, SSLRequest and, on `S`, the TLS handshake
//! through [`crate::probe::tls`], so the server's certificate is reported as by
//! every TLS probe (also when verification fails); on `N`, the run fails with
//! `ssl_required` under `fail_if_not_ssl` and goes on in the clear otherwise.
//! Without `username` the run ends there: a certificate and reachability probe
//! that needs no credentials. With it: StartupMessage (user, `database`,
//! `application_name=outpost`), the authentication the server asks for
//! (SCRAM-SHA-256 with the server's signature verified, md5, a cleartext password
//! only over TLS, trust), the backend's start until ReadyForQuery, then `query`
//! (simple query protocol) held to `expect_rows` and `expect_first_value`, and
//! with `check_recovery` `SELECT pg_is_in_recovery()`. Terminate ends the session:
//! nothing is kept between runs.
//!
//! Phases of `probe_postgres_duration_seconds`: `connect`, `tls`, `startup`,
//! `auth`, `query`, `recovery` ([`series::Phase`]); each one the run will go
//! through is registered at 0 first, so a failed run shows which it reached.

pub mod config;
pub mod scram;
pub mod series;
pub mod session;
pub mod wire;

use std::net::SocketAddr;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::sql::SqlSettings;
use super::{net, tls, FailureReason, ProbeContext, ProbeFailure, Recorder, TargetError};
use crate::config::{IpSettings, TlsSettings};
use crate::metrics::names::{self, Family};
use series::Phase;
use session::Login;

/// The `prober = "postgres"` value and the name of its settings block.
pub const KIND: &str = "postgres";
/// What a target of this prober looks like, for help texts.
pub const TARGET_FORM: &str = "host or host:port (port 5432 if absent)";
/// PostgreSQL's port.
pub const DEFAULT_PORT: u16 = 5432;

/// `[modules.NAME.postgres]`.
#[derive(Debug, Clone, Default)]
pub struct PostgresModule {
    pub ip: IpSettings,
    /// `tls`: ask for TLS with an SSLRequest.
    pub tls: bool,
    /// `fail_if_not_ssl`: a server that answers the SSLRequest with `N` fails the run.
    pub fail_if_not_ssl: bool,
    pub tls_config: TlsSettings,
    /// `database`; `None` is PostgreSQL's default, the user's name.
    pub database: Option<String>,
    /// `check_recovery`: run `SELECT pg_is_in_recovery()` after the query.
    pub check_recovery: bool,
    /// `username`, `password_file` | `password_env`, `query`, `expect_rows`,
    /// `expect_first_value`: shared with the other database probers.
    pub sql: SqlSettings,
}

pub type Settings = PostgresModule;

/// A postgres target: `host[:port]`, IPv6 in brackets; port 5432 when absent.
pub type Target = net::HostOptPort;

pub fn parse_target(text: &str) -> Result<Target, TargetError> {
    net::parse_host_opt_port(
        text,
        "postgres target",
        "write host:port, e.g. \"db.internal:5432\" (\"[::1]:5432\" for IPv6); without a port, 5432",
    )
}

/// The failure reasons a postgres run can end with.
pub const OUTCOMES: &[FailureReason] = &[
    FailureReason::Timeout,
    FailureReason::InvalidTarget,
    FailureReason::Resolve,
    FailureReason::Connect,
    FailureReason::Tls,
    FailureReason::SslRequired,
    FailureReason::Auth,
    FailureReason::TooManyConnections,
    FailureReason::DatabaseNotFound,
    FailureReason::ServerError,
    FailureReason::Query,
    FailureReason::QueryResult,
    FailureReason::Protocol,
    FailureReason::Io,
];

/// The series a postgres run can emit.
pub const FAMILIES: &[&[Family]] = &[
    names::COMMON,
    names::IP,
    names::TLS,
    names::TLS_CIPHER,
    series::POSTGRES,
];

pub async fn probe(
    target: &str,
    module: &PostgresModule,
    ctx: &ProbeContext,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    register_phases(module, rec);
    let target = parse_target(target)?;
    let (ip, _) = net::resolve_target(&target.host, &module.ip, ctx.policy.as_deref(), rec).await?;
    let addr = SocketAddr::new(ip, target.port.unwrap_or(DEFAULT_PORT));
    let (mut stream, took) = net::connect_timed(addr, module.ip.source_ip, rec).await?;
    session::record_phase(rec, Phase::Connect, took.as_secs_f64());
    rec.set(series::PROBE_POSTGRES_SSL, 0.0);
    if !module.tls {
        return run_session(&mut stream, module, false, rec).await;
    }
    let started = Instant::now();
    let accepted = ssl_request(&mut stream, rec).await;
    if !accepted? {
        session::record_phase(rec, Phase::Tls, started.elapsed().as_secs_f64());
        if module.fail_if_not_ssl {
            return Err(ProbeFailure::new(
                FailureReason::SslRequired,
                "the server does not offer TLS: it answered the SSLRequest with N",
            ));
        }
        return run_session(&mut stream, module, false, rec).await;
    }
    let name = module
        .tls_config
        .server_name
        .clone()
        .or_else(|| ctx.hostname.clone())
        .unwrap_or(target.host);
    let series = tls::SeriesOptions { cipher: true };
    let handshake = tls::handshake(stream, &module.tls_config, &name, &[], series, rec).await;
    session::record_phase(rec, Phase::Tls, started.elapsed().as_secs_f64());
    let (mut stream, _) = handshake?;
    rec.set(series::PROBE_POSTGRES_SSL, 1.0);
    run_session(&mut stream, module, true, rec).await
}

/// Every phase this run may go through, at 0.
fn register_phases(module: &PostgresModule, rec: &mut Recorder) {
    let mut phases = vec![Phase::Connect];
    if module.tls {
        phases.push(Phase::Tls);
    }
    if module.sql.login.is_some() {
        phases.extend([Phase::Startup, Phase::Auth, Phase::Query]);
        if module.check_recovery {
            phases.push(Phase::Recovery);
        }
    }
    for phase in phases {
        session::record_phase(rec, phase, 0.0);
    }
}

/// SSLRequest, then the server's one-byte answer: `S` (go on with TLS) or `N`.
/// Exactly one byte is read: whatever follows an `S` belongs to the handshake (a
/// server, or a man in the middle, cannot slip clear bytes into the session).
async fn ssl_request(stream: &mut TcpStream, rec: &mut Recorder) -> Result<bool, ProbeFailure> {
    let sent = stream.write_all(&wire::frontend::ssl_request()).await;
    sent.map_err(|e| ProbeFailure::new(FailureReason::Io, format!("sending the SSLRequest: {e}")))?;
    let mut answer = [0u8; 1];
    let read = stream.read_exact(&mut answer).await;
    read.map_err(|e| {
        ProbeFailure::new(
            FailureReason::Io,
            format!("reading the answer to the SSLRequest: {e}"),
        )
    })?;
    let [byte] = answer;
    rec.trace(format_args!("SSLRequest answered {:?}", char::from(byte)));
    match byte {
        b'S' => Ok(true),
        b'N' => Ok(false),
        // An error here is not shown: it would come before any TLS, from anyone.
        b'E' => Err(ProbeFailure::new(
            FailureReason::Protocol,
            "the server answered the SSLRequest with an error (a server older than 7.3?)",
        )),
        other => Err(ProbeFailure::new(
            FailureReason::Protocol,
            format!("the server answered the SSLRequest with byte 0x{other:02x}, not S or N"),
        )),
    }
}

/// Login, query, checks and Terminate over `io`; nothing without a login.
async fn run_session<S>(
    io: &mut S,
    module: &PostgresModule,
    tls: bool,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Some(login) = &module.sql.login else {
        rec.trace("No username: the run ends before the StartupMessage");
        let _ = io.shutdown().await;
        return Ok(());
    };
    let password = login.password.expose();
    let login = Login {
        user: &login.username,
        password: (!password.is_empty()).then_some(password),
        database: module.database.as_deref().unwrap_or(&login.username),
        tls,
    };
    session::login(io, login, rec).await?;
    let check = &module.sql.query;
    let started = Instant::now();
    let result = session::query(io, &check.query, rec).await;
    session::record_phase(rec, Phase::Query, started.elapsed().as_secs_f64());
    let result = result?;
    rec.set(series::PROBE_POSTGRES_QUERY_ROWS, result.rows as f64);
    rec.trace(&result);
    if module.check_recovery {
        let standby = session::in_recovery(io, rec).await?;
        rec.set(
            series::PROBE_POSTGRES_IN_RECOVERY,
            if standby { 1.0 } else { 0.0 },
        );
    }
    session::terminate(io).await;
    check.check(&result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = |h: &str, p| {
            Ok(Target {
                host: h.into(),
                port: p,
            })
        };
        assert_eq!(parse_target("db:5433"), t("db", Some(5433)));
        assert_eq!(parse_target("db"), t("db", None));
        assert_eq!(parse_target("10.0.0.5"), t("10.0.0.5", None));
        assert_eq!(parse_target("[::1]:5432"), t("::1", Some(5432)));
        for bad in ["", "db:x", "a b", "postgres://db", "db/x"] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }
}
