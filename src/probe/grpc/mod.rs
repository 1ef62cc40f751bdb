//! The `grpc` prober: `grpc.health.v1.Health/Check` over the crate's own HTTP/2
//! (hyper) and TLS (rustls), at Blackbox parity (`prober/grpc.go`).
//!
//! Departures from Blackbox, each deliberate:
//! - The run's deadline bounds the call (Blackbox issues it with no deadline) and
//!   is sent to the server as `grpc-timeout`.
//! - The address resolved and reported in the IP series is the one dialled
//!   (grpc-go resolves the name again).
//! - After a TLS handshake the whole certificate and TLS series are reported,
//!   `probe_ssl_last_chain_expiry_timestamp_seconds` and the cipher included.
//! - A failed run has an outcome: `connect`, `tls`, `grpc_status` (the call ended
//!   with a non-OK code, `probe_grpc_status_code` says which) or `not_serving`.

pub mod config;
pub mod series;
pub mod wire;

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};

use super::{net, tls, FailureReason, ProbeContext, ProbeFailure, Recorder, TargetError};
use crate::config::{IpSettings, TlsSettings};
use crate::metrics::names::{self, Family};
use series::GrpcPhase;

/// The `prober = "grpc"` value and the name of its settings block.
pub const KIND: &str = "grpc";
/// What a target of this prober looks like, for help texts.
pub const TARGET_FORM: &str = "host or host:port, optionally with http(s)://";

/// `[modules.NAME.grpc]`.
#[derive(Debug, Clone, Default)]
pub struct GrpcModule {
    /// `service`: the service whose health is asked; empty means the whole server.
    pub service: String,
    /// `tls`: TLS (with ALPN `h2`) instead of cleartext HTTP/2.
    pub tls: bool,
    pub tls_config: TlsSettings,
    pub ip: IpSettings,
    /// `metadata`: request headers, in the order written.
    pub metadata: Vec<(HeaderName, HeaderValue)>,
}

pub type Settings = GrpcModule;

/// A grpc target: `host[:port]`, optionally written as `http://` or `https://`
/// (the scheme does not choose TLS: `tls` does). Without a port, 80, or 443 with TLS.
pub type Target = net::HostOptPort;

pub fn parse_target(text: &str) -> Result<Target, TargetError> {
    let lower = text.to_ascii_lowercase();
    let rest = ["http://", "https://"]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map_or(text, |p| &text[p.len()..]);
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    net::parse_host_opt_port(
        rest,
        "grpc target",
        "write host:port, e.g. \"api.internal:50051\" (\"[::1]:50051\" for IPv6)",
    )
}

/// The failure reasons a grpc run can end with.
pub const OUTCOMES: &[FailureReason] = &[
    FailureReason::Timeout,
    FailureReason::InvalidTarget,
    FailureReason::Resolve,
    FailureReason::Connect,
    FailureReason::Tls,
    FailureReason::GrpcStatus,
    FailureReason::NotServing,
];

/// The series a grpc run can emit.
pub const FAMILIES: &[&[Family]] = &[
    names::COMMON,
    names::IP,
    names::TLS,
    names::TLS_CIPHER,
    series::GRPC,
];

/// gRPC's UNAVAILABLE, which grpc-go reports when the connection cannot be made.
const UNAVAILABLE: u32 = 14;
/// gRPC's INTERNAL, for an answer that is not a well-formed gRPC response.
const INTERNAL: u32 = 13;
/// A health answer is a few bytes; anything larger is not one.
const MAX_RESPONSE: usize = 64 * 1024;

pub async fn probe(
    target: &str,
    module: &GrpcModule,
    ctx: &ProbeContext,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    register_series(rec);
    let target = parse_target(target)?;
    let (ip, took) =
        net::resolve_target(&target.host, &module.ip, ctx.policy.as_deref(), rec).await?;
    add_phase(rec, GrpcPhase::Resolve, took.as_secs_f64());
    let started = Instant::now();
    let default_port = if module.tls { 443 } else { 80 };
    let addr = SocketAddr::new(ip, target.port.unwrap_or(default_port));
    let result = check(addr, &target.host, module, ctx, rec).await;
    add_phase(rec, GrpcPhase::Check, started.elapsed().as_secs_f64());
    let status = match &result {
        Ok(_) => 0,
        Err(e) => e.code,
    };
    rec.set(series::PROBE_GRPC_STATUS_CODE, f64::from(status));
    let serving = result.map_err(|e| e.failure)?;
    let name = wire::SERVING_STATUSES
        .get(serving as usize)
        .copied()
        .unwrap_or("UNKNOWN");
    set_serving_status(rec, name);
    rec.trace(format_args!("Health of {:?}: {name}", module.service));
    if name != "SERVING" {
        return Err(ProbeFailure::new(
            FailureReason::NotServing,
            format!("the health check answered {name}"),
        ));
    }
    Ok(())
}

/// Blackbox registers these whatever happens: the four serving statuses at 0,
/// the resolve phase, the TLS flag and the status code.
fn register_series(rec: &mut Recorder) {
    for status in wire::SERVING_STATUSES {
        rec.set_with(
            series::PROBE_GRPC_HEALTHCHECK_RESPONSE,
            vec![("serving_status", status.to_string().into())],
            0.0,
        );
    }
    add_phase(rec, GrpcPhase::Resolve, 0.0);
    rec.set(series::PROBE_GRPC_SSL, 0.0);
    rec.set(series::PROBE_GRPC_STATUS_CODE, 0.0);
}

fn set_serving_status(rec: &mut Recorder, name: &str) {
    rec.set_with(
        series::PROBE_GRPC_HEALTHCHECK_RESPONSE,
        vec![("serving_status", name.to_string().into())],
        1.0,
    );
}

fn add_phase(rec: &mut Recorder, phase: GrpcPhase, secs: f64) {
    rec.add_with(
        series::PROBE_GRPC_DURATION_SECONDS,
        vec![("phase", phase.as_label().into())],
        secs,
    );
}

/// A failed call: the outcome and the gRPC status code to report.
struct CallError {
    failure: ProbeFailure,
    code: u32,
}

impl CallError {
    fn new(reason: FailureReason, code: u32, message: impl Into<String>) -> Self {
        CallError {
            failure: ProbeFailure::new(reason, message),
            code,
        }
    }
}

impl From<ProbeFailure> for CallError {
    fn from(failure: ProbeFailure) -> Self {
        CallError {
            failure,
            code: UNAVAILABLE,
        }
    }
}

/// Connect, TLS, then the call; the serving status on an OK answer.
async fn check(
    addr: SocketAddr,
    host: &str,
    module: &GrpcModule,
    ctx: &ProbeContext,
    rec: &mut Recorder,
) -> Result<u64, CallError> {
    let (stream, _) = net::connect_timed(addr, None, rec).await?;
    let authority = match addr {
        SocketAddr::V6(_) if host.contains(':') => format!("[{host}]:{}", addr.port()),
        _ => format!("{host}:{}", addr.port()),
    };
    if !module.tls {
        return call(TokioIo::new(stream), "http", &authority, module, ctx, rec).await;
    }
    let name = module
        .tls_config
        .server_name
        .clone()
        .or_else(|| ctx.hostname.clone())
        .unwrap_or_else(|| host.to_string());
    let series = tls::SeriesOptions { cipher: true };
    let (stream, _) =
        tls::handshake(stream, &module.tls_config, &name, &[b"h2"], series, rec).await?;
    rec.set(series::PROBE_GRPC_SSL, 1.0);
    call(TokioIo::new(stream), "https", &authority, module, ctx, rec).await
}

/// One unary call over a fresh HTTP/2 connection on `io`.
async fn call<IO>(
    io: TokioIo<IO>,
    scheme: &str,
    authority: &str,
    module: &GrpcModule,
    ctx: &ProbeContext,
    rec: &mut Recorder,
) -> Result<u64, CallError>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let unavailable = |what: &str, e: hyper::Error| {
        CallError::new(
            FailureReason::GrpcStatus,
            UNAVAILABLE,
            format!("{what}: {e}"),
        )
    };
    let (mut sender, conn) = http2::Builder::new(TokioExecutor::new())
        .handshake::<_, Full<Bytes>>(io)
        .await
        .map_err(|e| unavailable("HTTP/2 handshake", e))?;
    let request = build_request(scheme, authority, module, ctx)?;
    rec.trace(format_args!(
        "Calling {scheme}://{authority}{} for service {:?}",
        wire::CHECK_PATH,
        module.service
    ));
    let exchange = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| unavailable("sending the call", e))?;
        let (head, body) = response.into_parts();
        let collected = Limited::new(body, MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| {
                CallError::new(
                    FailureReason::GrpcStatus,
                    INTERNAL,
                    format!("reading the answer: {e}"),
                )
            })?;
        let trailers = collected.trailers().cloned();
        Ok::<_, CallError>((head, collected.to_bytes(), trailers))
    };
    // The connection is driven here, not spawned, so dropping the run drops it.
    tokio::pin!(exchange);
    tokio::pin!(conn);
    let mut conn_done = false;
    let (head, body, trailers) = loop {
        tokio::select! {
            out = &mut exchange => break out?,
            _ = &mut conn, if !conn_done => conn_done = true,
        }
    };
    answer(&head, &body, trailers.as_ref(), rec)
}

fn build_request(
    scheme: &str,
    authority: &str,
    module: &GrpcModule,
    ctx: &ProbeContext,
) -> Result<Request<Full<Bytes>>, CallError> {
    let uri = format!("{scheme}://{authority}{}", wire::CHECK_PATH);
    let left = ctx
        .deadline
        .saturating_duration_since(tokio::time::Instant::now());
    // grpc-timeout allows at most 8 digits; milliseconds cover 27 hours.
    let timeout = format!("{}m", left.as_millis().clamp(1, 99_999_999));
    let mut builder = Request::post(uri)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("user-agent", concat!("outpost/", env!("CARGO_PKG_VERSION")))
        .header("grpc-timeout", timeout);
    for (name, value) in &module.metadata {
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::from(wire::check_request(&module.service))))
        .map_err(|e| {
            CallError::new(
                FailureReason::InvalidTarget,
                INTERNAL,
                format!("building the call: {e}"),
            )
        })
}

/// Reads the status (from the trailers, or the head of a trailers-only answer)
/// and, when it is OK, the serving status.
fn answer(
    head: &http::response::Parts,
    body: &[u8],
    trailers: Option<&http::HeaderMap>,
    rec: &mut Recorder,
) -> Result<u64, CallError> {
    if head.status != http::StatusCode::OK {
        let code = code_of_http_status(head.status.as_u16());
        return Err(CallError::new(
            FailureReason::GrpcStatus,
            code,
            format!("HTTP status {} ({})", head.status, wire::code_name(code)),
        ));
    }
    let status = trailers
        .and_then(|t| t.get("grpc-status"))
        .or_else(|| head.headers.get("grpc-status"));
    let Some(code) = status.and_then(|v| v.to_str().ok()?.parse::<u32>().ok()) else {
        return Err(CallError::new(
            FailureReason::GrpcStatus,
            INTERNAL,
            "the answer has no valid grpc-status",
        ));
    };
    if code != 0 {
        let message = trailers
            .and_then(|t| t.get("grpc-message"))
            .or_else(|| head.headers.get("grpc-message"))
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        rec.trace(format_args!(
            "Call ended with {code} ({})",
            wire::code_name(code)
        ));
        return Err(CallError::new(
            FailureReason::GrpcStatus,
            code,
            format!("gRPC status {code} ({}): {message}", wire::code_name(code)),
        ));
    }
    wire::check_response(body)
        .map_err(|e| CallError::new(FailureReason::GrpcStatus, INTERNAL, e.to_string()))
}

/// gRPC's mapping of an HTTP status that is not 200 to a status code.
fn code_of_http_status(status: u16) -> u32 {
    match status {
        400 => 13,
        401 => 16,
        403 => 7,
        404 => 12,
        429 | 502..=504 => UNAVAILABLE,
        _ => 2,
    }
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
        assert_eq!(parse_target("api:50051"), t("api", Some(50051)));
        assert_eq!(parse_target("api"), t("api", None));
        assert_eq!(parse_target("http://api:80"), t("api", Some(80)));
        assert_eq!(parse_target("HTTPS://api/"), t("api", None));
        assert_eq!(parse_target("[::1]:9"), t("::1", Some(9)));
        assert_eq!(parse_target("[::1]"), t("::1", None));
        assert_eq!(parse_target("::1"), t("::1", None));
        for bad in ["", "api:x", "a b", "[x]", "http://", "api/path"] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn http_statuses_map_as_grpc_says() {
        assert_eq!(code_of_http_status(404), 12);
        assert_eq!(code_of_http_status(503), 14);
        assert_eq!(code_of_http_status(500), 2);
    }
}
