//! One session over an open (plain or TLS) stream: the StartupMessage, the
//! authentication exchange (SCRAM-SHA-256, md5, cleartext over TLS only, trust),
//! the backend's start up to ReadyForQuery, then simple-protocol queries.
//!
//! A server error becomes an outcome by its SQLSTATE: `auth` (28P01, 28000),
//! `too_many_connections` (53300), `database_not_found` (3D000), `query` (an error
//! answering a query), `server_error` (any other refusal of the login); bytes
//! that are not the protocol end the run as `protocol`.

use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

use super::scram::{self, ScramError};
use super::series::{self, Phase};
use super::wire::{self, frontend, Auth, Backend, ServerError, WireError};
use crate::probe::sql::{FirstValue, QueryResult};
use crate::probe::{FailureReason, ProbeFailure, Recorder};

/// The longest server message kept in a failure's text.
const MAX_SERVER_TEXT: usize = 512;

/// Who logs in, where, and over what.
#[derive(Debug, Clone, Copy)]
pub struct Login<'a> {
    pub user: &'a str,
    pub password: Option<&'a str>,
    pub database: &'a str,
    /// Whether the stream is TLS (a cleartext password is sent only then).
    pub tls: bool,
}

/// Sends the StartupMessage and authenticates, timing `startup` and `auth`;
/// records the server's version. Returns when the server is ready for a query.
pub async fn login<S>(io: &mut S, login: Login<'_>, rec: &mut Recorder) -> Result<(), ProbeFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let started = Instant::now();
    let params = [
        ("user", login.user),
        ("database", login.database),
        ("application_name", "outpost"),
        ("client_encoding", "UTF8"),
    ];
    send(io, &frontend::startup(&params)).await?;
    rec.trace(format_args!(
        "Sent StartupMessage: user={:?} database={:?}",
        login.user, login.database
    ));
    let first = next_auth(io, rec).await;
    add_phase(rec, Phase::Startup, started.elapsed().as_secs_f64());
    let started = Instant::now();
    let result = authenticate_until_ready(io, login, first?, rec).await;
    add_phase(rec, Phase::Auth, started.elapsed().as_secs_f64());
    result
}

async fn authenticate_until_ready<S>(
    io: &mut S,
    login: Login<'_>,
    first: Auth,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    authenticate(io, login, first, rec).await?;
    rec.trace("Authenticated");
    until_ready(io, rec).await
}

/// Runs `sql` with the simple query protocol until ReadyForQuery: the rows of all
/// its statements counted, the first column of the first row kept.
pub async fn query<S>(
    io: &mut S,
    sql: &str,
    rec: &mut Recorder,
) -> Result<QueryResult, ProbeFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    send(io, &frontend::query(sql)).await?;
    let mut result = QueryResult {
        rows: 0,
        first_value: FirstValue::Missing,
    };
    let mut first_seen = false;
    let mut failed: Option<ServerError> = None;
    loop {
        match read(io).await? {
            Backend::RowDescription { columns } => {
                rec.trace(format_args!("RowDescription: {columns} columns"));
            }
            Backend::DataRow { first } => {
                result.rows += 1;
                if !first_seen {
                    first_seen = true;
                    result.first_value = match first {
                        None => FirstValue::Missing,
                        Some(None) => FirstValue::Null,
                        Some(Some(v)) => FirstValue::Text(String::from_utf8_lossy(&v).into_owned()),
                    };
                }
            }
            Backend::CommandComplete(tag) => rec.trace(format_args!("CommandComplete: {tag}")),
            Backend::EmptyQuery => rec.trace("EmptyQueryResponse"),
            Backend::Error(e) => failed = Some(e),
            Backend::Notice(n) => trace_notice(rec, &n),
            Backend::ReadyForQuery(_) => break,
            Backend::Copy => {
                return Err(ProbeFailure::new(
                    FailureReason::Query,
                    "the query started a COPY, which the prober does not run",
                ))
            }
            Backend::Auth(_) => return Err(unexpected("an authentication request")),
            Backend::ParameterStatus { .. } | Backend::Other(_) => {}
        }
    }
    match failed {
        Some(e) => Err(server_failure(&e, true)),
        None => Ok(result),
    }
}

/// `SELECT pg_is_in_recovery()`: whether the server is a standby.
pub async fn in_recovery<S>(io: &mut S, rec: &mut Recorder) -> Result<bool, ProbeFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let started = Instant::now();
    let result = query(io, "SELECT pg_is_in_recovery()", rec).await;
    add_phase(rec, Phase::Recovery, started.elapsed().as_secs_f64());
    match result?.first_value {
        FirstValue::Text(v) if v == "t" => Ok(true),
        FirstValue::Text(v) if v == "f" => Ok(false),
        other => Err(ProbeFailure::new(
            FailureReason::Protocol,
            format!("pg_is_in_recovery() answered {other:?}, not t or f"),
        )),
    }
}

/// Says goodbye (Terminate), so the server logs no broken connection.
pub async fn terminate<S: AsyncWrite + Unpin>(io: &mut S) {
    let _ = send(io, &frontend::terminate()).await;
    let _ = io.shutdown().await;
}

/// The first authentication request (the end of the startup phase).
async fn next_auth<S: AsyncRead + Unpin>(
    io: &mut S,
    rec: &mut Recorder,
) -> Result<Auth, ProbeFailure> {
    loop {
        match read(io).await? {
            Backend::Auth(a) => return Ok(a),
            Backend::Error(e) => return Err(server_failure(&e, false)),
            Backend::Notice(n) => trace_notice(rec, &n),
            Backend::Other(b'v') => rec.trace("NegotiateProtocolVersion (ignored)"),
            Backend::Other(_) | Backend::ParameterStatus { .. } => {}
            _ => return Err(unexpected("a query message before authentication")),
        }
    }
}

/// Answers authentication requests, from `first`, until AuthenticationOk.
async fn authenticate<S>(
    io: &mut S,
    login: Login<'_>,
    first: Auth,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut request = first;
    loop {
        match request {
            Auth::Ok => return Ok(()),
            Auth::Cleartext => {
                rec.trace("The server asks for the password in clear");
                if !login.tls {
                    return Err(auth_failure(
                        "the server asks for the password in clear over an unencrypted connection: \
                         not sent (set tls = true, or use scram-sha-256 in pg_hba.conf)",
                    ));
                }
                send(io, &frontend::password(password(login)?)).await?;
            }
            Auth::Md5 { salt } => {
                rec.trace("The server asks for an md5 password");
                let hashed = md5_password(login.user, password(login)?, salt);
                send(io, &frontend::password(&hashed)).await?;
            }
            Auth::Sasl(mechanisms) => {
                rec.trace(format_args!("The server offers SASL {mechanisms:?}"));
                if !mechanisms.iter().any(|m| m == scram::MECHANISM) {
                    return Err(auth_failure(format!(
                        "the server offers SASL mechanisms {mechanisms:?}, not {}",
                        scram::MECHANISM
                    )));
                }
                scram_exchange(io, password(login)?, rec).await?;
                rec.trace("SCRAM-SHA-256: the server's signature is valid");
            }
            Auth::SaslContinue(_) | Auth::SaslFinal(_) => {
                return Err(unexpected("a SASL message outside a SASL exchange"))
            }
            Auth::Other(code) => {
                return Err(auth_failure(format!(
                    "the server asks for authentication method {code} ({}), which the prober does not speak",
                    auth_method_name(code)
                )))
            }
        }
        request = next_auth(io, rec).await?;
    }
}

/// SCRAM-SHA-256: client-first, server-first, client-final, server-final (its
/// signature checked). The server's AuthenticationOk follows.
async fn scram_exchange<S>(
    io: &mut S,
    password: &str,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let client = scram::Client::new("").map_err(|_| {
        ProbeFailure::new(FailureReason::Auth, "no random bytes for the SCRAM nonce")
    })?;
    send(
        io,
        &frontend::sasl_initial(scram::MECHANISM, client.first().as_bytes()),
    )
    .await?;
    let Auth::SaslContinue(server_first) = next_auth(io, rec).await? else {
        return Err(unexpected("another message than SASL continue"));
    };
    let password = password.to_string();
    // PBKDF2 costs milliseconds at PostgreSQL's 4096 iterations and up to a second
    // at the most accepted: off the runtime's threads.
    let finished = tokio::task::spawn_blocking(move || client.finish(&server_first, &password))
        .await
        .map_err(|e| ProbeFailure::new(FailureReason::Auth, format!("SCRAM: {e}")))?;
    let (client_final, verifier) = finished.map_err(scram_failure)?;
    send(io, &frontend::sasl_response(client_final.as_bytes())).await?;
    let Auth::SaslFinal(server_final) = next_auth(io, rec).await? else {
        return Err(unexpected("another message than SASL final"));
    };
    verifier.verify(&server_final).map_err(scram_failure)
}

/// After AuthenticationOk: parameters (the version recorded) until ReadyForQuery.
async fn until_ready<S: AsyncRead + Unpin>(
    io: &mut S,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    loop {
        match read(io).await? {
            Backend::ParameterStatus { name, value } => {
                rec.trace(format_args!("ParameterStatus {name}={value:?}"));
                if name == "server_version" {
                    rec.set_with(
                        series::PROBE_POSTGRES_SERVER_INFO,
                        vec![("version", value.into())],
                        1.0,
                    );
                }
            }
            Backend::ReadyForQuery(_) => return Ok(()),
            Backend::Error(e) => return Err(server_failure(&e, false)),
            Backend::Notice(n) => trace_notice(rec, &n),
            Backend::Other(_) => {}
            _ => return Err(unexpected("a message out of place before ReadyForQuery")),
        }
    }
}

fn password<'a>(login: Login<'a>) -> Result<&'a str, ProbeFailure> {
    login.password.ok_or_else(|| {
        auth_failure("the server asks for a password, and none is configured (password_file or password_env)")
    })
}

/// PostgreSQL's md5 answer: `"md5" + md5hex(md5hex(password + user) + salt)`.
pub fn md5_password(user: &str, password: &str, salt: [u8; 4]) -> String {
    use md5::{Digest as _, Md5};
    let inner = hex(&Md5::digest(
        [password.as_bytes(), user.as_bytes()].concat(),
    ));
    let outer = hex(&Md5::digest([inner.as_bytes(), &salt].concat()));
    format!("md5{outer}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn send<S: AsyncWrite + Unpin>(io: &mut S, bytes: &[u8]) -> Result<(), ProbeFailure> {
    let sent = async {
        io.write_all(bytes).await?;
        io.flush().await
    };
    sent.await
        .map_err(|e| ProbeFailure::new(FailureReason::Io, format!("writing to the server: {e}")))
}

async fn read<S: AsyncRead + Unpin>(io: &mut S) -> Result<Backend, ProbeFailure> {
    wire::read(io).await.map_err(wire_failure)
}

pub fn wire_failure(e: WireError) -> ProbeFailure {
    let reason = match e {
        WireError::Closed | WireError::Io(_) => FailureReason::Io,
        _ => FailureReason::Protocol,
    };
    ProbeFailure::new(reason, e.to_string())
}

fn unexpected(what: &str) -> ProbeFailure {
    ProbeFailure::new(FailureReason::Protocol, format!("the server sent {what}"))
}

fn auth_failure(message: impl Into<String>) -> ProbeFailure {
    ProbeFailure::new(FailureReason::Auth, message)
}

fn scram_failure(e: ScramError) -> ProbeFailure {
    let reason = match e {
        ScramError::ServerError(_) | ScramError::BadServerSignature => FailureReason::Auth,
        _ => FailureReason::Protocol,
    };
    ProbeFailure::new(reason, format!("SCRAM-SHA-256: {e}"))
}

fn trace_notice(rec: &mut Recorder, n: &ServerError) {
    rec.trace(format_args!(
        "Notice {} {}: {}",
        n.severity, n.code, n.message
    ));
}

/// A server error as an outcome: by its SQLSTATE, with the code and its name in
/// the text. `in_query`: the error answered a query (else it refused the login).
pub fn server_failure(e: &ServerError, in_query: bool) -> ProbeFailure {
    let reason = match e.code.as_str() {
        "28P01" | "28000" => FailureReason::Auth,
        "53300" => FailureReason::TooManyConnections,
        "3D000" => FailureReason::DatabaseNotFound,
        _ if in_query => FailureReason::Query,
        _ => FailureReason::ServerError,
    };
    let mut text: String = e.message.chars().take(MAX_SERVER_TEXT).collect();
    if text.len() < e.message.len() {
        text.push_str(" [...]");
    }
    let name = sqlstate_name(&e.code)
        .map(|n| format!(" {n}"))
        .unwrap_or_default();
    ProbeFailure::new(reason, format!("{} {}{name}: {text}", e.severity, e.code))
}

/// The names PostgreSQL's documentation (Appendix A) gives the codes a probe meets.
fn sqlstate_name(code: &str) -> Option<&'static str> {
    Some(match code {
        "28P01" => "invalid_password",
        "28000" => "invalid_authorization_specification",
        "53300" => "too_many_connections",
        "3D000" => "invalid_catalog_name",
        "57P03" => "cannot_connect_now",
        "57P01" => "admin_shutdown",
        "57014" => "query_canceled",
        "53100" => "disk_full",
        "53200" => "out_of_memory",
        "42601" => "syntax_error",
        "42P01" => "undefined_table",
        "42703" => "undefined_column",
        "42883" => "undefined_function",
        "42501" => "insufficient_privilege",
        "25006" => "read_only_sql_transaction",
        "08P01" => "protocol_violation",
        "0A000" => "feature_not_supported",
        "22012" => "division_by_zero",
        _ => return None,
    })
}

fn auth_method_name(code: u32) -> &'static str {
    match code {
        2 => "Kerberos V5",
        6 => "SCM credentials",
        7 | 8 => "GSSAPI",
        9 => "SSPI",
        _ => "unknown",
    }
}

fn add_phase(rec: &mut Recorder, phase: Phase, secs: f64) {
    rec.add_with(
        series::PROBE_POSTGRES_DURATION_SECONDS,
        vec![("phase", phase.as_label().into())],
        secs,
    );
}

/// Records a phase's duration (also for mod.rs's connect and tls phases).
pub fn record_phase(rec: &mut Recorder, phase: Phase, secs: f64) {
    add_phase(rec, phase, secs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_answers_as_postgres_computes_them() {
        // Computed with Python's hashlib, as PostgreSQL's pg_md5_encrypt does.
        assert_eq!(
            md5_password("alice", "pencil", *b"\x01\x02\x03\x04"),
            MD5_ALICE_PENCIL
        );
    }

    const MD5_ALICE_PENCIL: &str = "md537cba386e8b90f1e3941a0e792722253";

    #[test]
    fn server_errors_become_outcomes() {
        let e = |code: &str| ServerError {
            severity: "FATAL".into(),
            code: code.into(),
            message: "m".into(),
        };
        let f = server_failure(&e("28P01"), false);
        assert_eq!(f.reason, FailureReason::Auth);
        assert_eq!(f.message, "FATAL 28P01 invalid_password: m");
        assert_eq!(
            server_failure(&e("28000"), false).reason,
            FailureReason::Auth
        );
        assert_eq!(
            server_failure(&e("53300"), false).reason,
            FailureReason::TooManyConnections
        );
        assert_eq!(
            server_failure(&e("3D000"), false).reason,
            FailureReason::DatabaseNotFound
        );
        let f = server_failure(&e("57P03"), false);
        assert_eq!(f.reason, FailureReason::ServerError);
        assert_eq!(f.message, "FATAL 57P03 cannot_connect_now: m");
        let f = server_failure(&e("XX999"), true);
        assert_eq!(f.reason, FailureReason::Query);
        assert_eq!(f.message, "FATAL XX999: m");
        let long = ServerError {
            message: "é".repeat(1000),
            ..e("42601")
        };
        let f = server_failure(&long, true);
        assert!(f.message.ends_with(" [...]"));
        assert_eq!(
            f.message.chars().filter(|c| *c == 'é').count(),
            MAX_SERVER_TEXT
        );
    }
}
