//! The series only the mysql prober emits.

use crate::metrics::names::{Family, Kind};

pub const PROBE_MYSQL_DURATION_SECONDS: &str = "probe_mysql_duration_seconds";
pub const PROBE_MYSQL_SERVER_INFO: &str = "probe_mysql_server_info";
pub const PROBE_MYSQL_QUERY_ROWS: &str = "probe_mysql_query_rows";
pub const PROBE_MYSQL_REPLICA_LAG_SECONDS: &str = "probe_mysql_replica_lag_seconds";

/// The phases of `probe_mysql_duration_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MysqlPhase {
    /// The TCP connection.
    Connect,
    /// Reading the server's initial handshake packet.
    Greeting,
    /// The SSLRequest and the TLS handshake.
    Tls,
    /// The login, from the handshake response to the server's OK.
    Auth,
    /// `query` (and `replica_lag_query`), to the end of their results.
    Query,
}

impl MysqlPhase {
    pub const ALL: [MysqlPhase; 5] = [
        MysqlPhase::Connect,
        MysqlPhase::Greeting,
        MysqlPhase::Tls,
        MysqlPhase::Auth,
        MysqlPhase::Query,
    ];

    pub const fn as_label(self) -> &'static str {
        match self {
            MysqlPhase::Connect => "connect",
            MysqlPhase::Greeting => "greeting",
            MysqlPhase::Tls => "tls",
            MysqlPhase::Auth => "auth",
            MysqlPhase::Query => "query",
        }
    }
}

/// The mysql prober's own families.
pub const MYSQL: &[Family] = &[
    Family::new(
        PROBE_MYSQL_DURATION_SECONDS,
        Kind::Gauge,
        "Duration of each MySQL probe phase (connect, greeting, tls, auth, query), in seconds.",
    ),
    Family::new(
        PROBE_MYSQL_SERVER_INFO,
        Kind::Gauge,
        "The server's version and protocol version from its greeting, as labels; always 1.",
    ),
    Family::new(
        PROBE_MYSQL_QUERY_ROWS,
        Kind::Gauge,
        "Rows the query returned.",
    ),
    Family::new(
        PROBE_MYSQL_REPLICA_LAG_SECONDS,
        Kind::Gauge,
        "Replication lag the replica_lag_query reported, in seconds.",
    ),
];
