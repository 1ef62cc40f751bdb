//! The series only the icmp prober emits (Blackbox's `probe_icmp_*`).

use crate::metrics::names::{Family, Kind};

pub const PROBE_ICMP_DURATION_SECONDS: &str = "probe_icmp_duration_seconds";
pub const PROBE_ICMP_REPLY_HOP_LIMIT: &str = "probe_icmp_reply_hop_limit";

/// The icmp prober's own families.
pub const ICMP: &[Family] = &[
    Family::new(
        PROBE_ICMP_DURATION_SECONDS,
        Kind::Gauge,
        "Duration of each ICMP phase (resolve, setup, rtt), in seconds.",
    ),
    Family::new(
        PROBE_ICMP_REPLY_HOP_LIMIT,
        Kind::Gauge,
        "TTL (IPv4) or hop limit (IPv6) of the echo reply, when the kernel reports it.",
    ),
];
