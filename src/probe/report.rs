//! What a probe run produces: its outcome, the Blackbox series it measured and a
//! readable trace. Probers write into a [`Recorder`]; [`super::run`] turns it into a
//! [`ProbeReport`], which the scheduler stores, `/probe` encodes and `outpost probe`
//! prints.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

macro_rules! failure_reasons {
    ($($(#[$doc:meta])* $variant:ident => $label:literal,)*) => {
        /// Why a run failed. The label value is the `reason` of `probe_failures_total`, so
        /// the set is part of the public interface (docs/metrics.md lists it). Each
        /// prober names the reasons it can produce (`OUTCOMES` in its module).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FailureReason {
            $($(#[$doc])* $variant,)*
        }

        impl FailureReason {
            /// Every reason, in the table's order.
            pub const ALL: &'static [FailureReason] = &[$(FailureReason::$variant,)*];

            /// The `outcome` label value.
            pub const fn as_label(self) -> &'static str {
                match self {
                    $(FailureReason::$variant => $label,)*
                }
            }
        }
    };
}

failure_reasons! {
    /// The deadline passed before the run finished.
    Timeout => "timeout",
    /// The target is not a valid URL or `host:port` for this prober.
    InvalidTarget => "invalid_target",
    /// Name resolution failed or found no address of an acceptable family.
    Resolve => "resolve",
    /// The TCP connection (to the target or its proxy) failed.
    Connect => "connect",
    /// The proxy refused or broke the tunnel.
    Proxy => "proxy",
    /// The OAuth2 token request failed (unreachable token endpoint, refused
    /// credentials, an answer without an access token).
    OAuth2 => "oauth2",
    /// The TLS handshake or certificate verification failed.
    Tls => "tls",
    /// The HTTP exchange broke (protocol error, reset, malformed response).
    Http => "http",
    /// The status code is not in `valid_status_codes`.
    HttpStatus => "http_status",
    /// The protocol version is not in `valid_http_versions`.
    HttpVersion => "http_version",
    /// More redirects than the limit.
    TooManyRedirects => "too_many_redirects",
    /// `fail_if_not_ssl` and the final response was plain HTTP (http), or the
    /// database server does not offer TLS (mysql, postgres).
    SslRequired => "ssl_required",
    /// `fail_if_ssl` and the final response came over TLS.
    SslForbidden => "ssl_forbidden",
    /// A `fail_if_header_*` rule.
    HeaderRegex => "header_regex",
    /// A `fail_if_body_*` rule.
    BodyRegex => "body_regex",
    /// A `fail_if_body_json_matches_cel` / `fail_if_body_json_not_matches_cel` rule
    /// (including a body that is not JSON or a rule that does not evaluate to a bool).
    BodyCel => "body_cel",
    /// The body exceeded `body_size_limit`.
    BodyTooLarge => "body_too_large",
    /// The body could not be decoded with the configured `compression`.
    Decompression => "decompression",
    /// A `query_response` `expect` regex matched no line (tcp, unix).
    ExpectRegex => "expect_regex",
    /// A `query_response` `expect_bytes` differed from the bytes read (tcp, unix).
    ExpectBytes => "expect_bytes",
    /// The DNS response code is not in `valid_rcodes`.
    DnsRcode => "dns_rcode",
    /// A `validate_*_rrs` rule failed on the DNS response's records.
    DnsRrValidation => "dns_rr_validation",
    /// The gRPC call ended with a status other than OK (grpc).
    GrpcStatus => "grpc_status",
    /// The health check answered, but not SERVING (grpc).
    NotServing => "not_serving",
    /// The database server refused the login (mysql, postgres): wrong password,
    /// unknown user, an authentication method outpost does not speak, or one that
    /// would send the password in clear without TLS.
    Auth => "auth",
    /// The database server answered the query with an error (mysql, postgres).
    Query => "query",
    /// The query's result did not pass `expect_rows` or `expect_first_value`
    /// (mysql, postgres).
    QueryResult => "query_result",
    /// The database server refused the connection for having too many
    /// (mysql, postgres).
    TooManyConnections => "too_many_connections",
    /// The database named by the probe does not exist (postgres: SQLSTATE 3D000).
    DatabaseNotFound => "database_not_found",
    /// The database server refused the session with another error than the
    /// above (postgres: e.g. 57P03, the server is starting up or shutting down).
    ServerError => "server_error",
    /// The server's bytes are not its protocol (postgres): a malformed or
    /// oversized message, or one out of place.
    Protocol => "protocol",
    /// Any other I/O failure after connecting.
    Io => "io",
    /// `[server.probe_endpoint]`'s target policy refused the target or a redirect
    /// hop. Only `/probe` runs under a policy, and it answers 403 instead of series,
    /// so no prober lists this among its `OUTCOMES`.
    Denied => "denied",
}

impl FailureReason {
    /// Why a run failed, in words a person reads at a glance (the status page,
    /// `outpost probe`'s verdict); the run's message says the rest.
    pub fn in_words(self) -> &'static str {
        use FailureReason as R;
        match self {
            R::Timeout => "timed out",
            R::InvalidTarget => "invalid target",
            R::Resolve => "name not resolved",
            R::Connect => "connection failed",
            R::Proxy => "proxy failed",
            R::OAuth2 => "OAuth2 token not obtained",
            R::Tls => "TLS failed",
            R::Http => "HTTP exchange failed",
            R::HttpStatus => "unexpected HTTP status",
            R::HttpVersion => "unexpected HTTP version",
            R::TooManyRedirects => "too many redirects",
            R::SslRequired => "answered without TLS",
            R::SslForbidden => "answered over TLS",
            R::HeaderRegex => "header rule failed",
            R::BodyRegex => "body rule failed",
            R::BodyCel => "body CEL rule failed",
            R::BodyTooLarge => "body too large",
            R::Decompression => "body not decompressed",
            R::ExpectRegex => "expected line not seen",
            R::ExpectBytes => "expected bytes not seen",
            R::DnsRcode => "unexpected DNS response code",
            R::DnsRrValidation => "DNS records rejected",
            R::GrpcStatus => "gRPC call failed",
            R::NotServing => "not serving",
            R::Auth => "login refused",
            R::Query => "query failed",
            R::QueryResult => "unexpected query result",
            R::TooManyConnections => "too many connections",
            R::DatabaseNotFound => "database not found",
            R::ServerError => "refused by the server",
            R::Protocol => "protocol error",
            R::Io => "I/O error",
            R::Denied => "denied by the target policy",
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_label())
    }
}

/// A failed probe is an outcome, not an error: a typed reason and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct ProbeFailure {
    pub reason: FailureReason,
    pub message: String,
}

impl ProbeFailure {
    pub fn new(reason: FailureReason, message: impl Into<String>) -> Self {
        ProbeFailure {
            reason,
            message: message.into(),
        }
    }
}

/// A label value: most are fixed words (`phase="connect"`), borrowed for free;
/// what a run learns (a cipher, a certificate subject) is owned.
pub type LabelValue = Cow<'static, str>;

/// One gauge sample of a Blackbox series. Help texts and types live in
/// [`crate::metrics::names`], keyed by `name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: &'static str,
    pub labels: Vec<(&'static str, LabelValue)>,
    pub value: f64,
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct ProbeReport {
    pub success: bool,
    pub failure: Option<ProbeFailure>,
    /// Wall time of the run (`probe_duration_seconds`).
    pub duration: Duration,
    /// The effective timeout (`probe_timeout_seconds`).
    pub timeout: Duration,
    /// When the run started (the status page's "last run").
    pub started_at: SystemTime,
    /// The prober's series, in the order first recorded. `probe_success`,
    /// `probe_duration_seconds` and `probe_timeout_seconds` are not in here: they
    /// come from the fields above.
    pub samples: Vec<Sample>,
    /// Readable trace lines (for `debug=true` and `outpost probe`); never secrets.
    pub trace: Vec<String>,
    /// The run's packet train (`packets` > 1), for the counters and RTT
    /// histogram a scheduled probe keeps across runs; `None` otherwise.
    pub packets: Option<super::packets::PacketRun>,
}

impl ProbeReport {
    /// The `outcome` label: `success` or the failure reason.
    pub fn outcome(&self) -> &'static str {
        match &self.failure {
            None => "success",
            Some(f) => f.reason.as_label(),
        }
    }

    /// The value of the first sample named `name` with exactly `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| s.name == name && labels_are(&s.labels, labels))
            .map(|s| s.value)
    }
}

/// Whether a sample's `labels` are exactly `wanted`, in order.
pub fn labels_are(labels: &[(&'static str, LabelValue)], wanted: &[(&str, &str)]) -> bool {
    labels.len() == wanted.len()
        && labels
            .iter()
            .zip(wanted)
            .all(|((k, v), (wk, wv))| k == wk && v == wv)
}

/// The most trace lines a run keeps: the first `MAX_TRACE_LINES - 2`, then a
/// note of how many were dropped, then the run's last line (its verdict). A peer
/// that sends lines without end (each line read is traced) cannot grow a trace
/// without bound.
pub const MAX_TRACE_LINES: usize = 1000;

/// The longest trace line kept, in bytes, the time stamp aside: a longer one is
/// cut there and marked, so a 1 MiB line read from a peer shows by its start.
pub const MAX_TRACE_LINE: usize = 4096;

/// The samples a run's recorder has room for from the start (an http run over
/// TLS records about two dozen).
const SAMPLES_PER_RUN: usize = 32;

/// Where a prober writes as it goes. Because it lives outside the prober's future,
/// whatever was recorded before a timeout survives the future being dropped.
#[derive(Debug)]
pub struct Recorder {
    started: Instant,
    samples: Vec<Sample>,
    trace: Vec<String>,
    debug: bool,
    /// Trace lines past the first `MAX_TRACE_LINES - 2`: how many, and the latest.
    dropped: usize,
    last_dropped: Option<String>,
    packets: Option<super::packets::PacketRun>,
}

impl Recorder {
    pub fn new(debug: bool) -> Self {
        Recorder {
            started: Instant::now(),
            // Room for an http run's series without regrowing on the way.
            samples: Vec::with_capacity(SAMPLES_PER_RUN),
            trace: Vec::new(),
            debug,
            dropped: 0,
            last_dropped: None,
            packets: None,
        }
    }

    /// Sets a label-less gauge, replacing an earlier value.
    pub fn set(&mut self, name: &'static str, value: f64) {
        self.set_with(name, Vec::new(), value);
    }

    /// Sets a gauge with labels, replacing an earlier sample with the same labels.
    pub fn set_with(
        &mut self,
        name: &'static str,
        labels: Vec<(&'static str, LabelValue)>,
        value: f64,
    ) {
        match self
            .samples
            .iter_mut()
            .find(|s| s.name == name && s.labels == labels)
        {
            Some(s) => s.value = value,
            None => self.samples.push(Sample {
                name,
                labels,
                value,
            }),
        }
    }

    /// Adds to a gauge with labels (creating it at 0): phases summed over redirects.
    pub fn add_with(
        &mut self,
        name: &'static str,
        labels: Vec<(&'static str, LabelValue)>,
        delta: f64,
    ) {
        match self
            .samples
            .iter_mut()
            .find(|s| s.name == name && s.labels == labels)
        {
            Some(s) => s.value += delta,
            None => self.samples.push(Sample {
                name,
                labels,
                value: delta,
            }),
        }
    }

    /// Removes every sample named `name` (a series measured on an earlier hop that
    /// the final answer does not have, such as TLS series after a redirect to http).
    pub fn remove(&mut self, name: &str) {
        self.samples.retain(|s| s.name != name);
    }

    /// Whether a trace is being kept (so callers can skip formatting).
    pub fn tracing(&self) -> bool {
        self.debug
    }

    /// Adds a trace line, stamped with the time since the run started, cut at
    /// [`MAX_TRACE_LINE`]; past [`MAX_TRACE_LINES`] only the count and the last
    /// line are kept. Callers pass
    /// text that holds no secret.
    pub fn trace(&mut self, line: impl fmt::Display) {
        if !self.debug {
            return;
        }
        let at = self.started.elapsed().as_secs_f64();
        let line = capped_line(at, &line);
        if self.trace.len() < MAX_TRACE_LINES - 2 {
            self.trace.push(line);
        } else {
            self.dropped += 1;
            self.last_dropped = Some(line);
        }
    }

    /// Keeps the run's packet train, its gauges written (see [`super::packets`]).
    pub fn set_packets(&mut self, run: super::packets::PacketRun) {
        run.record(self);
        self.packets = Some(run);
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// The run's samples, trace and packet train.
    pub(crate) fn into_parts(
        mut self,
    ) -> (Vec<Sample>, Vec<String>, Option<super::packets::PacketRun>) {
        if self.dropped > 1 {
            self.trace.push(format!(
                "[{} trace lines dropped: at most {MAX_TRACE_LINES} are kept]",
                self.dropped - 1
            ));
        }
        self.trace.extend(self.last_dropped);
        (self.samples, self.trace, self.packets)
    }
}

/// `line` stamped with `at` (seconds since the run started), its text cut at
/// [`MAX_TRACE_LINE`] bytes. Formatting stops there, so a huge line costs no more.
fn capped_line(at: f64, line: &dyn fmt::Display) -> String {
    use fmt::Write as _;
    let mut out = Capped {
        text: format!("{at:>9.6}s  "),
        limit: 0,
        cut: false,
    };
    out.limit = out.text.len() + MAX_TRACE_LINE;
    // An error here is the cut (or a Display impl failing): keep what was written.
    let _ = write!(out, "{line}");
    if out.cut {
        let _ = write!(out.text, " [cut at {MAX_TRACE_LINE} bytes]");
    }
    out.text
}

/// A string that takes text up to `limit` bytes, then refuses the rest.
struct Capped {
    text: String,
    limit: usize,
    cut: bool,
}

impl fmt::Write for Capped {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.limit.saturating_sub(self.text.len());
        if s.len() <= room {
            self.text.push_str(s);
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.text.push_str(&s[..end]);
        self.cut = true;
        Err(fmt::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_trace_line_is_cut_on_a_char_boundary() {
        let mut rec = Recorder::new(true);
        // 'é' is two bytes: the cut falls inside one and must step back.
        rec.trace(format_args!("x{}", "é".repeat(MAX_TRACE_LINE)));
        rec.trace("short");
        let (_, trace, _) = rec.into_parts();
        let (stamp, text) = trace[0].split_at(trace[0].find("s  ").map_or(0, |i| i + 3));
        assert!(stamp.ends_with("s  "), "{stamp:?}");
        let kept = text.trim_end_matches(" [cut at 4096 bytes]");
        assert_eq!(kept.len(), MAX_TRACE_LINE - 1, "{}", kept.len());
        assert!(text.ends_with(" [cut at 4096 bytes]"));
        assert!(trace[1].ends_with("s  short"), "{}", trace[1]);
    }

    #[test]
    fn past_the_line_cap_the_count_and_the_last_line_are_kept() {
        let mut rec = Recorder::new(true);
        for i in 0..MAX_TRACE_LINES + 500 {
            rec.trace(format_args!("line {i}"));
        }
        let (_, trace, _) = rec.into_parts();
        assert_eq!(trace.len(), MAX_TRACE_LINES);
        assert!(trace[MAX_TRACE_LINES - 3].ends_with(&format!("line {}", MAX_TRACE_LINES - 3)));
        assert!(
            trace[MAX_TRACE_LINES - 2].contains("[501 trace lines dropped"),
            "{}",
            trace[MAX_TRACE_LINES - 2]
        );
        assert!(trace[MAX_TRACE_LINES - 1].ends_with(&format!("line {}", MAX_TRACE_LINES + 499)));

        // Exactly one line over: no note, nothing lost.
        let mut rec = Recorder::new(true);
        for i in 0..MAX_TRACE_LINES - 1 {
            rec.trace(format_args!("line {i}"));
        }
        let (_, trace, _) = rec.into_parts();
        assert_eq!(trace.len(), MAX_TRACE_LINES - 1);
        assert!(trace.iter().all(|l| !l.contains("dropped")));
    }

    #[test]
    fn no_trace_without_debug() {
        let mut rec = Recorder::new(false);
        rec.trace("x");
        assert!(rec.into_parts().1.is_empty());
    }
}
