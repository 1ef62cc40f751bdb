//! Probers: each turns (module, target, deadline) into a [`ProbeReport`].
//!
//! A prober knows nothing of schedules, registries or HTTP serving. Three callers
//! share [`run`]: the scheduler, `/probe` and `outpost probe`. Every prober has the
//! same shape, `async fn probe(target, module, ctx, recorder) -> Result<(), ProbeFailure>`,
//! and [`run`] dispatches with one `match` on [`Prober`]. The deadline is enforced
//! here, around the whole run, so no prober can overrun it.

pub mod body;
pub mod http;
pub mod net;
pub mod report;
pub mod tcp;
pub mod tls;

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::config::{Module, Prober};
pub use report::{FailureReason, ProbeFailure, ProbeReport, Recorder, Sample};

/// What a run needs besides its module and target.
#[derive(Debug, Clone)]
pub struct ProbeContext {
    /// The whole run, body read included, ends by then.
    pub deadline: Instant,
    /// The `hostname` parameter of `/probe`: Host header (http) or `server_name` (tcp).
    pub hostname: Option<String>,
    /// Keep a readable trace (`debug=true`, `outpost probe`).
    pub debug: bool,
}

impl ProbeContext {
    pub fn new(timeout: Duration) -> Self {
        ProbeContext {
            deadline: Instant::now() + timeout,
            hostname: None,
            debug: false,
        }
    }
}

/// The `outcome` values a prober can produce: `success` and its failure reasons.
/// Counters are pre-created for each, so the first failure of a kind is an increase.
pub fn outcomes(prober: &Prober) -> &'static [&'static str] {
    use FailureReason as R;
    const HTTP: &[&str] = &[
        "success",
        R::Timeout.as_label(),
        R::InvalidTarget.as_label(),
        R::Resolve.as_label(),
        R::Connect.as_label(),
        R::Proxy.as_label(),
        R::Tls.as_label(),
        R::Http.as_label(),
        R::HttpStatus.as_label(),
        R::HttpVersion.as_label(),
        R::TooManyRedirects.as_label(),
        R::SslRequired.as_label(),
        R::SslForbidden.as_label(),
        R::HeaderRegex.as_label(),
        R::BodyRegex.as_label(),
        R::BodyTooLarge.as_label(),
        R::Decompression.as_label(),
        R::Io.as_label(),
    ];
    const TCP: &[&str] = &[
        "success",
        R::Timeout.as_label(),
        R::InvalidTarget.as_label(),
        R::Resolve.as_label(),
        R::Connect.as_label(),
        R::Tls.as_label(),
        R::Io.as_label(),
    ];
    match prober {
        Prober::Http(_) => HTTP,
        Prober::Tcp(_) => TCP,
    }
}

/// Runs one probe of `target` with `module`, bounded by `ctx.deadline`.
pub async fn run(module: &Module, target: &str, ctx: &ProbeContext) -> ProbeReport {
    let started_at = SystemTime::now();
    let mut rec = Recorder::new(ctx.debug);
    // The deadline was set a few microseconds before this point; rounding to the
    // millisecond reports the timeout that was configured, not that drift.
    let left = ctx.deadline.saturating_duration_since(rec.started());
    let timeout = Duration::from_millis((left.as_secs_f64() * 1000.0).round() as u64);
    rec.trace(format_args!(
        "Beginning probe: prober={} target={target} timeout={:.3}s",
        module.prober.kind(),
        timeout.as_secs_f64()
    ));

    let result = {
        let probing = async {
            match &module.prober {
                Prober::Http(m) => http::probe(target, m, ctx, &mut rec).await,
                Prober::Tcp(m) => tcp::probe(target, m, ctx, &mut rec).await,
            }
        };
        match tokio::time::timeout_at(ctx.deadline, probing).await {
            Ok(r) => r,
            Err(_) => Err(ProbeFailure::new(
                FailureReason::Timeout,
                format!("no result within {:.3}s", timeout.as_secs_f64()),
            )),
        }
    };

    let duration = rec.started().elapsed();
    match &result {
        Ok(()) => rec.trace(format_args!(
            "Probe succeeded in {:.6}s",
            duration.as_secs_f64()
        )),
        Err(f) => rec.trace(format_args!(
            "Probe failed in {:.6}s: {f}",
            duration.as_secs_f64()
        )),
    }
    let (samples, trace) = rec.into_parts();
    ProbeReport {
        success: result.is_ok(),
        failure: result.err(),
        duration,
        timeout,
        started_at,
        samples,
        trace,
    }
}
