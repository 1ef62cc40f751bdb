//! The series only the postgres prober emits.

use crate::metrics::names::{Family, Kind};

pub const PROBE_POSTGRES_DURATION_SECONDS: &str = "probe_postgres_duration_seconds";
pub const PROBE_POSTGRES_SSL: &str = "probe_postgres_ssl";
pub const PROBE_POSTGRES_SERVER_INFO: &str = "probe_postgres_server_info";
pub const PROBE_POSTGRES_QUERY_ROWS: &str = "probe_postgres_query_rows";
pub const PROBE_POSTGRES_IN_RECOVERY: &str = "probe_postgres_in_recovery";

/// The phases of `probe_postgres_duration_seconds`, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The TCP connect.
    Connect,
    /// SSLRequest, the server's answer and the TLS handshake.
    Tls,
    /// StartupMessage sent until the server's first authentication request
    /// (the server starts a backend and picks the pg_hba.conf rule).
    Startup,
    /// The password exchange, then the backend's start until ReadyForQuery.
    Auth,
    /// The configured query until ReadyForQuery.
    Query,
    /// `SELECT pg_is_in_recovery()` (with `check_recovery`).
    Recovery,
}

impl Phase {
    pub const fn as_label(self) -> &'static str {
        match self {
            Phase::Connect => "connect",
            Phase::Tls => "tls",
            Phase::Startup => "startup",
            Phase::Auth => "auth",
            Phase::Query => "query",
            Phase::Recovery => "recovery",
        }
    }
}

/// The postgres prober's own families.
pub const POSTGRES: &[Family] = &[
    Family::new(
        PROBE_POSTGRES_DURATION_SECONDS,
        Kind::Gauge,
        "Duration of each PostgreSQL probe phase, in seconds.",
    ),
    Family::new(
        PROBE_POSTGRES_SSL,
        Kind::Gauge,
        "Whether the session went over TLS (1) or in the clear (0).",
    ),
    Family::new(
        PROBE_POSTGRES_SERVER_INFO,
        Kind::Gauge,
        "The server's version (its server_version parameter); always 1.",
    ),
    Family::new(
        PROBE_POSTGRES_QUERY_ROWS,
        Kind::Gauge,
        "Rows the configured query returned.",
    ),
    Family::new(
        PROBE_POSTGRES_IN_RECOVERY,
        Kind::Gauge,
        "Whether the server is a standby in recovery (1) or a primary (0), from pg_is_in_recovery().",
    ),
];
