//! The series only the grpc prober emits (Blackbox's `probe_grpc_*`).

use crate::metrics::names::{Family, Kind};

pub const PROBE_GRPC_DURATION_SECONDS: &str = "probe_grpc_duration_seconds";
pub const PROBE_GRPC_STATUS_CODE: &str = "probe_grpc_status_code";
pub const PROBE_GRPC_HEALTHCHECK_RESPONSE: &str = "probe_grpc_healthcheck_response";
pub const PROBE_GRPC_SSL: &str = "probe_grpc_ssl";

/// The phases of `probe_grpc_duration_seconds`, as Blackbox names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrpcPhase {
    /// Resolving the target's name.
    Resolve,
    /// Everything after: connect, TLS, HTTP/2 and the RPC.
    Check,
}

impl GrpcPhase {
    pub const fn as_label(self) -> &'static str {
        match self {
            GrpcPhase::Resolve => "resolve",
            GrpcPhase::Check => "check",
        }
    }
}

/// The grpc prober's own families.
pub const GRPC: &[Family] = &[
    Family::new(
        PROBE_GRPC_DURATION_SECONDS,
        Kind::Gauge,
        "Duration of each gRPC probe phase, in seconds.",
    ),
    Family::new(
        PROBE_GRPC_STATUS_CODE,
        Kind::Gauge,
        "gRPC status code of the health check call (0 is OK).",
    ),
    Family::new(
        PROBE_GRPC_HEALTHCHECK_RESPONSE,
        Kind::Gauge,
        "The serving status the health check returned: 1 on that status, 0 on the others.",
    ),
    Family::new(
        PROBE_GRPC_SSL,
        Kind::Gauge,
        "Whether the call went over TLS (1) or not (0).",
    ),
];
