//! The series only the http prober emits (Blackbox's `probe_http_*`).

use crate::metrics::names::{Family, Kind};

pub const PROBE_HTTP_DURATION_SECONDS: &str = "probe_http_duration_seconds";
pub const PROBE_HTTP_STATUS_CODE: &str = "probe_http_status_code";
pub const PROBE_HTTP_CONTENT_LENGTH: &str = "probe_http_content_length";
pub const PROBE_HTTP_UNCOMPRESSED_BODY_LENGTH: &str = "probe_http_uncompressed_body_length";
pub const PROBE_HTTP_REDIRECTS: &str = "probe_http_redirects";
pub const PROBE_HTTP_SSL: &str = "probe_http_ssl";
pub const PROBE_HTTP_VERSION: &str = "probe_http_version";
pub const PROBE_HTTP_LAST_MODIFIED_TIMESTAMP_SECONDS: &str =
    "probe_http_last_modified_timestamp_seconds";
pub const PROBE_FAILED_DUE_TO_CEL: &str = "probe_failed_due_to_cel";

/// The `phase` label of `probe_http_duration_seconds`: Blackbox's phase names, one
/// per step of a hop, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpPhase {
    Resolve,
    Connect,
    Tls,
    Processing,
    Transfer,
    /// outpost's own: the OAuth2 token request, only when `oauth2` is set
    /// (Blackbox cannot say where an OAuth2 probe spent its time, its #1156).
    OAuth2,
}

impl HttpPhase {
    /// Blackbox's phases, in the order they happen.
    pub const BLACKBOX: [HttpPhase; 5] = [
        HttpPhase::Resolve,
        HttpPhase::Connect,
        HttpPhase::Tls,
        HttpPhase::Processing,
        HttpPhase::Transfer,
    ];

    /// The phases Blackbox registers at 0 on every run (`resolve` is written
    /// by the resolution itself).
    pub const REGISTERED: &[HttpPhase] = &[
        HttpPhase::Connect,
        HttpPhase::Tls,
        HttpPhase::Processing,
        HttpPhase::Transfer,
    ];

    pub const fn as_label(self) -> &'static str {
        match self {
            HttpPhase::Resolve => "resolve",
            HttpPhase::Connect => "connect",
            HttpPhase::Tls => "tls",
            HttpPhase::Processing => "processing",
            HttpPhase::Transfer => "transfer",
            HttpPhase::OAuth2 => "oauth2",
        }
    }
}

/// The http prober's own families.
pub const HTTP: &[Family] = &[
    Family::new(
        PROBE_HTTP_DURATION_SECONDS,
        Kind::Gauge,
        "Duration of each HTTP phase, summed over redirects, in seconds.",
    ),
    Family::new(
        PROBE_HTTP_STATUS_CODE,
        Kind::Gauge,
        "Status code of the final HTTP response; 0 when there was none.",
    ),
    Family::new(
        PROBE_HTTP_CONTENT_LENGTH,
        Kind::Gauge,
        "Content-Length of the final response; -1 when unknown.",
    ),
    Family::new(
        PROBE_HTTP_UNCOMPRESSED_BODY_LENGTH,
        Kind::Gauge,
        "Length of the final response body after decompression, in bytes.",
    ),
    Family::new(
        PROBE_HTTP_REDIRECTS,
        Kind::Gauge,
        "Number of redirects followed.",
    ),
    Family::new(
        PROBE_HTTP_SSL,
        Kind::Gauge,
        "Whether the final response came over TLS (1) or not (0).",
    ),
    Family::new(
        PROBE_HTTP_VERSION,
        Kind::Gauge,
        "HTTP version of the final response (1.1, 2, 3); 0 when there was none.",
    ),
    Family::new(
        PROBE_HTTP_LAST_MODIFIED_TIMESTAMP_SECONDS,
        Kind::Gauge,
        "Last-Modified of the final response, as a Unix timestamp.",
    ),
    Family::new(
        PROBE_FAILED_DUE_TO_CEL,
        Kind::Gauge,
        "Whether a CEL rule over the JSON body failed the probe (1) or not (0).",
    ),
];
