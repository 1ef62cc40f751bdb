//! The series only the dns prober emits (Blackbox's `probe_dns_*`).

use crate::metrics::names::{Family, Kind};

pub const PROBE_DNS_DURATION_SECONDS: &str = "probe_dns_duration_seconds";
pub const PROBE_DNS_ANSWER_RRS: &str = "probe_dns_answer_rrs";
pub const PROBE_DNS_AUTHORITY_RRS: &str = "probe_dns_authority_rrs";
pub const PROBE_DNS_ADDITIONAL_RRS: &str = "probe_dns_additional_rrs";
pub const PROBE_DNS_QUERY_SUCCEEDED: &str = "probe_dns_query_succeeded";
pub const PROBE_DNS_SERIAL: &str = "probe_dns_serial";

/// The dns prober's own families.
pub const DNS: &[Family] = &[
    Family::new(
        PROBE_DNS_DURATION_SECONDS,
        Kind::Gauge,
        "Duration of each DNS phase (resolve, connect, request), in seconds.",
    ),
    Family::new(
        PROBE_DNS_ANSWER_RRS,
        Kind::Gauge,
        "Number of records in the answer section of the response.",
    ),
    Family::new(
        PROBE_DNS_AUTHORITY_RRS,
        Kind::Gauge,
        "Number of records in the authority section of the response.",
    ),
    Family::new(
        PROBE_DNS_ADDITIONAL_RRS,
        Kind::Gauge,
        "Number of records in the additional section of the response.",
    ),
    Family::new(
        PROBE_DNS_QUERY_SUCCEEDED,
        Kind::Gauge,
        "Whether the server answered the query (1), whatever its rcode, or not (0).",
    ),
    Family::new(
        PROBE_DNS_SERIAL,
        Kind::Gauge,
        "Serial of the SOA record in the answer (query_type SOA only).",
    ),
];
