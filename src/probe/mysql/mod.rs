//! The `mysql` prober (MySQL and MariaDB, RDS and Aurora included): connect,
//! read the server's greeting, optionally switch to TLS (the SSLRequest, then the
//! shared handshake of [`super::tls`], so the database's certificate is reported
//! as every TLS probe's is), optionally log in and run a query. The protocol is
//! spoken by hand ([`wire`], [`auth`]) over the crate's tokio and rustls: no
//! driver, no pool, one connection per run, closed at its end.
//!
//! Phases are timed into `probe_mysql_duration_seconds{phase}`: `connect`,
//! `greeting`, `tls`, `auth`, `query`. A server's error packet becomes the
//! outcome (`too_many_connections`, `auth`, `query`) with its code, the code in
//! words and the server's message.

pub mod auth;
pub mod config;
pub mod series;
pub mod wire;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};

use super::sql::{self, FirstValue, QueryResult, SqlSettings};
use super::{net, tls, FailureReason, ProbeContext, ProbeFailure, Recorder, TargetError};
use crate::config::{IpSettings, TlsSettings};
use crate::metrics::names::{self, Family};
use series::MysqlPhase;
use wire::{AuthReply, Conn, FirstPacket, Greeting, QueryReply, ServerError, WireError};

/// The `prober = "mysql"` value and the name of its settings block.
pub const KIND: &str = "mysql";
/// What a target of this prober looks like, for help texts.
pub const TARGET_FORM: &str = "host:port or host (port 3306)";
/// The port of a target written without one.
pub const DEFAULT_PORT: u16 = 3306;

/// The columns a replica lag query's value is read from when it has one of them
/// (`SHOW REPLICA STATUS` on MySQL 8.0.22+, `SHOW SLAVE STATUS` and MariaDB);
/// otherwise the first column.
pub const LAG_COLUMNS: &[&str] = &["Seconds_Behind_Source", "Seconds_Behind_Master"];

/// `[modules.NAME.mysql]`.
#[derive(Debug, Clone, Default)]
pub struct MysqlModule {
    pub ip: IpSettings,
    /// `tls`: send the SSLRequest after the greeting and continue over TLS.
    pub tls: bool,
    pub tls_config: TlsSettings,
    /// `fail_if_not_ssl`: fail (`ssl_required`) when the server does not offer TLS.
    pub fail_if_not_ssl: bool,
    /// `username`, `password_file` | `password_env`, `query`, `expect_rows`,
    /// `expect_first_value`.
    pub sql: SqlSettings,
    /// `replica_lag_query`: run after `query`; its value is
    /// `probe_mysql_replica_lag_seconds`.
    pub replica_lag_query: Option<String>,
}

pub type Settings = MysqlModule;

/// A mysql target: `host:port`, or a bare host for port 3306.
pub type Target = net::HostOptPort;

pub fn parse_target(text: &str) -> Result<Target, TargetError> {
    net::parse_host_opt_port(
        text,
        "mysql target",
        "write host:port, e.g. \"db.internal:3306\" (\"[::1]:3306\" for IPv6); a bare host means port 3306",
    )
}

/// The failure reasons a mysql run can end with.
pub const OUTCOMES: &[FailureReason] = &[
    FailureReason::Timeout,
    FailureReason::InvalidTarget,
    FailureReason::Resolve,
    FailureReason::Connect,
    FailureReason::Tls,
    FailureReason::SslRequired,
    FailureReason::TooManyConnections,
    FailureReason::Auth,
    FailureReason::Query,
    FailureReason::QueryResult,
    FailureReason::Io,
];

/// The series a mysql run can emit.
pub const FAMILIES: &[&[Family]] = &[
    names::COMMON,
    names::IP,
    names::TLS,
    names::TLS_CIPHER,
    series::MYSQL,
];

/// How many packets a login may take (greeting aside): a method switch and
/// caching_sha2_password's extra round take four; a server going round in
/// circles is cut off.
const MAX_AUTH_PACKETS: usize = 6;

pub async fn probe(
    target: &str,
    module: &MysqlModule,
    ctx: &ProbeContext,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    let target = parse_target(target)?;
    let (ip, _) = net::resolve_target(&target.host, &module.ip, ctx.policy.as_deref(), rec).await?;
    let addr = SocketAddr::new(ip, target.port.unwrap_or(DEFAULT_PORT));
    let (stream, took) = net::connect_timed(addr, module.ip.source_ip, rec).await?;
    add_phase(rec, MysqlPhase::Connect, took);
    let mut conn = Conn::new(stream);

    let started = Instant::now();
    let first = conn.read().await;
    add_phase(rec, MysqlPhase::Greeting, started.elapsed());
    let first = first.map_err(|e| wire_failure("reading the server's greeting", e))?;
    let greeting = match wire::parse_first_packet(&first) {
        Ok(FirstPacket::Greeting(g)) => g,
        Ok(FirstPacket::Error(e)) => {
            rec.trace(format_args!("The server refused the connection: {e}"));
            return Err(server_failure(MysqlPhase::Greeting, &e));
        }
        Err(e) => return Err(wire_failure("the server's greeting", e)),
    };
    record_greeting(&greeting, rec);

    let offers_tls = greeting.has(wire::CLIENT_SSL);
    if (module.tls || module.fail_if_not_ssl) && !offers_tls {
        return Err(ProbeFailure::new(
            FailureReason::SslRequired,
            "the server does not offer TLS (its greeting lacks CLIENT_SSL)",
        ));
    }
    let needs_41 = module.tls || module.sql.login.is_some();
    if needs_41 && !greeting.has(wire::CLIENT_PROTOCOL_41) {
        return Err(ProbeFailure::new(
            FailureReason::Io,
            "the server does not speak protocol 4.1 (MySQL before 4.1 is not supported)",
        ));
    }
    let caps = wire::client_capabilities(greeting.capabilities, module.tls);
    if !module.tls {
        return session(conn, &greeting, caps, false, module, rec).await;
    }

    let started = Instant::now();
    let sent = conn.write(&wire::ssl_request(caps)).await;
    let name = module
        .tls_config
        .server_name
        .clone()
        .or_else(|| ctx.hostname.clone())
        .unwrap_or_else(|| target.host.clone());
    let handshake = match sent {
        Ok(()) => {
            let series = tls::SeriesOptions { cipher: true };
            tls::handshake(conn.stream, &module.tls_config, &name, &[], series, rec)
                .await
                .map(|(stream, _)| stream)
        }
        Err(e) => Err(wire_failure("sending the SSL request", e)),
    };
    add_phase(rec, MysqlPhase::Tls, started.elapsed());
    let conn = Conn {
        stream: handshake?,
        seq: conn.seq,
    };
    session(conn, &greeting, caps, true, module, rec).await
}

/// The probe's series from the greeting, and its trace.
fn record_greeting(g: &Greeting, rec: &mut Recorder) {
    rec.trace(format_args!(
        "Greeting: protocol {}, server {:?}, connection {}, capabilities 0x{:08X}, auth method {:?}",
        g.protocol, g.server_version, g.connection_id, g.capabilities, g.auth_plugin
    ));
    rec.set_with(
        series::PROBE_MYSQL_SERVER_INFO,
        vec![
            ("version", g.version().to_string().into()),
            ("protocol", g.protocol.to_string().into()),
        ],
        1.0,
    );
}

/// After the greeting (and TLS): log in and query when configured.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    mut conn: Conn<S>,
    greeting: &Greeting,
    caps: u32,
    tls: bool,
    module: &MysqlModule,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    let Some(login) = &module.sql.login else {
        rec.trace("No username: not logging in");
        return Ok(());
    };
    let started = Instant::now();
    let result = log_in(&mut conn, greeting, caps, tls, login, rec).await;
    add_phase(rec, MysqlPhase::Auth, started.elapsed());
    result?;
    rec.trace(format_args!("Logged in as {:?}", login.username));

    let deprecate_eof = caps & wire::CLIENT_DEPRECATE_EOF != 0;
    let started = Instant::now();
    let check = &module.sql.query;
    let result = query(&mut conn, &check.query, deprecate_eof, &[], rec).await;
    let lag = match (&result, &module.replica_lag_query) {
        (Ok(_), Some(sql)) => Some(query(&mut conn, sql, deprecate_eof, LAG_COLUMNS, rec).await),
        _ => None,
    };
    add_phase(rec, MysqlPhase::Query, started.elapsed());
    conn.new_command();
    // The polite end of the session; the connection is dropped either way.
    let _ = conn.write(&wire::COM_QUIT).await;
    let result = result?;
    rec.set(series::PROBE_MYSQL_QUERY_ROWS, result.rows as f64);
    if let Some(lag) = lag {
        record_lag(lag?, rec)?;
    }
    check.check(&result)
}

/// `probe_mysql_replica_lag_seconds` from the lag query's value: no row is not
/// a replica (no series); NULL is replication not running (outcome
/// `query_result`).
fn record_lag(result: QueryResult, rec: &mut Recorder) -> Result<(), ProbeFailure> {
    let fail = |what: String| {
        ProbeFailure::new(
            FailureReason::QueryResult,
            format!("replica_lag_query: {what}"),
        )
    };
    match result.first_value {
        FirstValue::Missing => {
            rec.trace("replica_lag_query returned no row: not a replica, no lag reported");
            Ok(())
        }
        FirstValue::Null => Err(fail(
            "the lag is NULL: replication is not running".to_string(),
        )),
        FirstValue::Text(text) => match text.trim().parse::<f64>() {
            Ok(lag) if lag.is_finite() => {
                rec.set(series::PROBE_MYSQL_REPLICA_LAG_SECONDS, lag);
                Ok(())
            }
            _ => Err(fail(format!(
                "the lag {} is not a number of seconds",
                sql::quoted(&text)
            ))),
        },
    }
}

/// The login: the handshake response, then whatever the server asks for.
async fn log_in<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    greeting: &Greeting,
    caps: u32,
    tls: bool,
    login: &sql::Login,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    let password = login.password.expose();
    // A method outpost cannot start with is answered as native: the server then
    // switches to the user's own method (or refuses).
    let (mut plugin, first) =
        match auth::respond(&greeting.auth_plugin, password, &greeting.scramble, tls) {
            auth::Response::Send(bytes) => (greeting.auth_plugin.clone(), bytes),
            _ => (
                auth::NATIVE.to_string(),
                auth::native(password, &greeting.scramble),
            ),
        };
    if plugin.is_empty() {
        plugin = auth::NATIVE.to_string();
    }
    rec.trace(format_args!(
        "Logging in as {:?} with {plugin}",
        login.username
    ));
    let packet = wire::handshake_response(caps, &login.username, &first, &plugin);
    conn.write(&packet)
        .await
        .map_err(|e| wire_failure("sending the login", e))?;
    for _ in 0..MAX_AUTH_PACKETS {
        let payload = conn
            .read()
            .await
            .map_err(|e| wire_failure("reading the answer to the login", e))?;
        let reply = wire::parse_auth_reply(&payload)
            .map_err(|e| wire_failure("the answer to the login", e))?;
        match reply {
            AuthReply::Ok => return Ok(()),
            AuthReply::Error(e) => {
                rec.trace(format_args!("Login refused: {e}"));
                return Err(server_failure(MysqlPhase::Auth, &e));
            }
            AuthReply::Switch { plugin: to, data } => {
                rec.trace(format_args!("The server switches the login to {to}"));
                let bytes = match auth::respond(&to, password, &data, tls) {
                    auth::Response::Send(bytes) => bytes,
                    auth::Response::ClearOnlyOverTls => {
                        return Err(ProbeFailure::new(
                            FailureReason::Auth,
                            format!(
                                "the server asks for {to}, which sends the password in clear: \
                                 outpost sends it only over TLS (set tls = true)"
                            ),
                        ))
                    }
                    auth::Response::Unsupported => {
                        return Err(ProbeFailure::new(
                            FailureReason::Auth,
                            format!(
                                "the server asks for the authentication method {to:?}, which \
                                 outpost does not speak (it speaks {}, {} and, over TLS, {})",
                                auth::NATIVE,
                                auth::CACHING_SHA2,
                                auth::CLEAR
                            ),
                        ))
                    }
                };
                plugin = to;
                conn.write(&bytes)
                    .await
                    .map_err(|e| wire_failure("sending the login", e))?;
            }
            AuthReply::MoreData(data) if plugin == auth::CACHING_SHA2 => match data.first() {
                Some(&auth::FAST_AUTH_OK) => {
                    rec.trace("caching_sha2_password: fast authentication succeeded");
                }
                Some(&auth::FULL_AUTH) if tls => {
                    rec.trace("caching_sha2_password: full authentication, over TLS");
                    conn.write(&auth::clear(password))
                        .await
                        .map_err(|e| wire_failure("sending the login", e))?;
                }
                Some(&auth::FULL_AUTH) => {
                    return Err(ProbeFailure::new(
                        FailureReason::Auth,
                        "caching_sha2_password asks for full authentication (the server has \
                         not cached this user's password since it started, or it changed), \
                         which sends the password itself: outpost sends it only over TLS; set \
                         tls = true, or log in once over TLS with another client to fill the \
                         server's cache",
                    ))
                }
                _ => {
                    return Err(ProbeFailure::new(
                        FailureReason::Io,
                        "caching_sha2_password: the server's next step is neither 3 nor 4",
                    ))
                }
            },
            AuthReply::MoreData(_) => {
                return Err(ProbeFailure::new(
                    FailureReason::Io,
                    format!("the server sent more data for {plugin}, which takes none"),
                ))
            }
        }
    }
    Err(ProbeFailure::new(
        FailureReason::Io,
        format!("the login did not end after {MAX_AUTH_PACKETS} packets from the server"),
    ))
}

/// Runs `sql` (COM_QUERY, text protocol) and reads its whole answer: the row
/// count and the first row's value of the first column named in `columns`, else
/// of the first column.
async fn query<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    sql: &str,
    deprecate_eof: bool,
    columns: &[&str],
    rec: &mut Recorder,
) -> Result<QueryResult, ProbeFailure> {
    rec.trace(format_args!("Query: {}", sql::quoted(sql)));
    let result = read_query(conn, sql, deprecate_eof, columns).await;
    match &result {
        Ok(r) => rec.trace(r),
        Err(f) => rec.trace(format_args!("The query failed: {}", f.message)),
    }
    result
}

async fn read_query<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Conn<S>,
    sql: &str,
    deprecate_eof: bool,
    columns: &[&str],
) -> Result<QueryResult, ProbeFailure> {
    let read_err = |e| wire_failure("reading the query's answer", e);
    conn.new_command();
    conn.write(&wire::com_query(sql))
        .await
        .map_err(|e| wire_failure("sending the query", e))?;
    let first = conn.read().await.map_err(read_err)?;
    let count = match wire::parse_query_reply(&first).map_err(read_err)? {
        QueryReply::Ok => {
            return Ok(QueryResult {
                rows: 0,
                first_value: FirstValue::Missing,
            })
        }
        QueryReply::Error(e) => return Err(server_failure(MysqlPhase::Query, &e)),
        QueryReply::LocalInfile => return Err(ProbeFailure::new(
            FailureReason::Query,
            "the server asks for a local file (LOAD DATA LOCAL INFILE), which a probe never sends",
        )),
        QueryReply::Columns(n) => n,
    };
    let mut pick = None;
    for i in 0..count {
        let def = conn.read().await.map_err(read_err)?;
        if pick.is_none() && !columns.is_empty() {
            let name = wire::column_name(&def).map_err(read_err)?;
            if columns.iter().any(|c| name.eq_ignore_ascii_case(c)) {
                pick = usize::try_from(i).ok();
            }
        }
    }
    if !deprecate_eof {
        let eof = conn.read().await.map_err(read_err)?;
        if !wire::is_eof(&eof) {
            return Err(read_err(WireError::Invalid(
                "no EOF packet after the column definitions".into(),
            )));
        }
    }
    let mut result = QueryResult {
        rows: 0,
        first_value: FirstValue::Missing,
    };
    loop {
        let row = conn.read().await.map_err(read_err)?;
        if row.first() == Some(&0xFF) {
            let e = wire::parse_err(&row).map_err(read_err)?;
            return Err(server_failure(MysqlPhase::Query, &e));
        }
        if wire::is_eof(&row) {
            return Ok(result);
        }
        if result.rows == 0 {
            result.first_value = match wire::row_value(&row, pick.unwrap_or(0)).map_err(read_err)? {
                Some(text) => FirstValue::Text(text),
                None => FirstValue::Null,
            };
        }
        result.rows += 1;
    }
}

fn add_phase(rec: &mut Recorder, phase: MysqlPhase, took: Duration) {
    rec.add_with(
        series::PROBE_MYSQL_DURATION_SECONDS,
        vec![("phase", phase.as_label().into())],
        took.as_secs_f64(),
    );
}

/// A server's error packet as the run's outcome.
fn server_failure(phase: MysqlPhase, e: &ServerError) -> ProbeFailure {
    let reason = match (e.code, phase) {
        (1040 | 1203, _) => FailureReason::TooManyConnections,
        // max_user_connections (or max_connections_per_hour) at login.
        (1226, MysqlPhase::Greeting | MysqlPhase::Auth) => FailureReason::TooManyConnections,
        (_, MysqlPhase::Query) => FailureReason::Query,
        _ => FailureReason::Auth,
    };
    ProbeFailure::new(reason, e.to_string())
}

/// Bytes that break the protocol, or a connection that broke, as outcome `io`.
fn wire_failure(what: &str, e: WireError) -> ProbeFailure {
    ProbeFailure::new(FailureReason::Io, format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[test]
    fn targets() {
        let t = |h: &str, p| {
            Ok(Target {
                host: h.into(),
                port: p,
            })
        };
        assert_eq!(
            parse_target("db.internal:3306"),
            t("db.internal", Some(3306))
        );
        assert_eq!(parse_target("db.internal"), t("db.internal", None));
        assert_eq!(parse_target("[::1]:3307"), t("::1", Some(3307)));
        for bad in ["", "db:x", "a b", "mysql://db:3306", "db:3306/x"] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_packets_become_outcomes() {
        let e = |code| ServerError {
            code,
            sqlstate: "HY000".into(),
            message: "m".into(),
        };
        let reason = |code, phase| server_failure(phase, &e(code)).reason;
        assert_eq!(
            reason(1040, MysqlPhase::Greeting),
            FailureReason::TooManyConnections
        );
        assert_eq!(
            reason(1040, MysqlPhase::Auth),
            FailureReason::TooManyConnections
        );
        assert_eq!(
            reason(1226, MysqlPhase::Auth),
            FailureReason::TooManyConnections
        );
        assert_eq!(reason(1226, MysqlPhase::Query), FailureReason::Query);
        assert_eq!(reason(1045, MysqlPhase::Auth), FailureReason::Auth);
        assert_eq!(reason(1130, MysqlPhase::Greeting), FailureReason::Auth);
        assert_eq!(reason(1064, MysqlPhase::Query), FailureReason::Query);
        assert_eq!(
            server_failure(MysqlPhase::Auth, &e(1045)).message,
            "server error 1045 (access denied, SQLSTATE HY000): \"m\""
        );
    }

    /// Packets as a server frames them, from sequence number 1.
    fn framed(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            out.extend_from_slice(&(p.len() as u32).to_le_bytes()[..3]);
            out.push(i as u8 + 1);
            out.extend_from_slice(p);
        }
        out
    }

    /// `read_query` against a server that answers `answer` whatever it is sent.
    async fn answered(
        answer: &[&[u8]],
        deprecate_eof: bool,
        columns: &[&str],
    ) -> Result<QueryResult, ProbeFailure> {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let bytes = framed(answer);
        let peer = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            let _ = server.read(&mut buf).await;
            let _ = server.write_all(&bytes).await;
            // Closing ends a reader that wants more.
        });
        let mut conn = Conn::new(client);
        let result = read_query(&mut conn, "SELECT 1", deprecate_eof, columns).await;
        let _ = peer.await;
        result
    }

    fn column(name: &str) -> Vec<u8> {
        let mut def = b"\x03def\x00\x00\x00".to_vec();
        def.push(name.len() as u8);
        def.extend_from_slice(name.as_bytes());
        def.extend_from_slice(b"\x00\x0c\x3f\x00\x01\x00\x00\x00\x08\x81\x00\x00\x00\x00");
        def
    }

    const EOF: &[u8] = b"\xfe\x00\x00\x02\x00";

    #[tokio::test]
    async fn result_sets_with_and_without_eof_packets() {
        let c1 = column("1");
        // Classic: EOF after the definitions and after the rows.
        let r = answered(&[b"\x01", &c1, EOF, b"\x011", b"\x012", EOF], false, &[]).await;
        assert_eq!(
            r,
            Ok(QueryResult {
                rows: 2,
                first_value: FirstValue::Text("1".into())
            })
        );
        // CLIENT_DEPRECATE_EOF: no EOF after the definitions, an OK (0xFE) at the end.
        let r = answered(
            &[b"\x01", &c1, b"\xfb", b"\xfe\x00\x00\x02\x00\x00\x00"],
            true,
            &[],
        )
        .await;
        assert_eq!(
            r,
            Ok(QueryResult {
                rows: 1,
                first_value: FirstValue::Null
            })
        );
        // No row at all.
        let r = answered(&[b"\x01", &c1, EOF, EOF], false, &[]).await;
        assert_eq!(
            r,
            Ok(QueryResult {
                rows: 0,
                first_value: FirstValue::Missing
            })
        );
        // A statement without a result set.
        let r = answered(&[b"\x00\x00\x00\x02\x00\x00\x00"], true, &[]).await;
        assert_eq!(r.map(|r| r.rows), Ok(0));
    }

    #[tokio::test]
    async fn the_lag_column_is_found_by_name() {
        let (a, b) = (column("Slave_IO_State"), column("Seconds_Behind_Master"));
        let r = answered(
            &[b"\x02", &a, &b, b"\x07Waiting\x0242", EOF],
            true,
            LAG_COLUMNS,
        )
        .await;
        assert_eq!(r.map(|r| r.first_value), Ok(FirstValue::Text("42".into())));
    }

    #[tokio::test]
    async fn errors_and_garbage_in_a_result_set() {
        let c1 = column("1");
        let r = answered(
            &[b"\xff\x28\x04#42000You have an error in your SQL syntax"],
            true,
            &[],
        )
        .await;
        let f = r.err().unwrap_or_else(|| panic!("no failure"));
        assert_eq!(f.reason, FailureReason::Query);
        assert!(
            f.message
                .starts_with("server error 1064 (SQL syntax error, SQLSTATE 42000)"),
            "{}",
            f.message
        );
        // An error in the middle of the rows (a query killed on the server).
        let r = answered(
            &[
                b"\x01",
                &c1,
                b"\x011",
                b"\xff\x3d\x05#70100Query execution was interrupted",
            ],
            true,
            &[],
        )
        .await;
        assert_eq!(r.map_err(|f| f.reason), Err(FailureReason::Query));
        // The connection closing mid-answer, a row shorter than it says, LOCAL INFILE.
        for answer in [
            &[&b"\x01"[..], &c1][..],
            &[b"\x01", &c1, b"\x05ab", EOF],
            &[b"\x01", &c1, b"not eof"],
        ] {
            let r = answered(answer, false, &[]).await;
            assert_eq!(
                r.map_err(|f| f.reason),
                Err(FailureReason::Io),
                "{answer:?}"
            );
        }
        let r = answered(&[b"\xfb/etc/passwd"], true, &[]).await;
        assert_eq!(r.map_err(|f| f.reason), Err(FailureReason::Query));
    }

    #[test]
    fn lag_values() {
        let lag = |v: FirstValue| {
            let mut rec = Recorder::new(false);
            let r = record_lag(
                QueryResult {
                    rows: 1,
                    first_value: v,
                },
                &mut rec,
            );
            let (samples, _, _) = rec.into_parts();
            (r.map_err(|f| f.message), samples.first().map(|s| s.value))
        };
        assert_eq!(lag(FirstValue::Text("12".into())), (Ok(()), Some(12.0)));
        assert_eq!(lag(FirstValue::Text(" 0.5 ".into())), (Ok(()), Some(0.5)));
        assert_eq!(lag(FirstValue::Missing), (Ok(()), None));
        assert_eq!(
            lag(FirstValue::Null),
            (
                Err("replica_lag_query: the lag is NULL: replication is not running".into()),
                None
            )
        );
        assert_eq!(
            lag(FirstValue::Text("soon".into())),
            (
                Err("replica_lag_query: the lag \"soon\" is not a number of seconds".into()),
                None
            )
        );
        assert_eq!(lag(FirstValue::Text("inf".into())).1, None);
    }
}
