//! Probers: each turns (module, target, deadline) into a [`ProbeReport`].
//!
//! A prober knows nothing of schedules, registries or HTTP serving. Three callers
//! share [`run`]: the scheduler, `/probe` and `outpost probe`. A prober is one
//! module that owns its kind name, settings, config block, target parser, outcomes
//! and metric families; the one table in `kind.rs` lists the probers and derives
//! every dispatch from them ([`ProberKind`], [`Prober`]). The deadline is enforced
//! here, around the whole run, so no prober can overrun it.

pub mod body;
pub mod dns;
pub mod grpc;
pub mod http;
pub mod icmp;
mod kind;
pub mod mysql;
pub mod net;
pub mod packets;
pub mod postgres;
pub mod query_response;
pub mod report;
pub mod sql;
pub mod tcp;
pub mod tls;
pub mod unix;
pub mod verdict;

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::config::Module;
use std::sync::Arc;

use crate::config::policy::TargetPolicy;

pub use kind::{Prober, ProberKind, TargetError, NOT_YET};
pub use report::{FailureReason, LabelValue, ProbeFailure, ProbeReport, Recorder, Sample};

/// What a run needs besides its module and target.
#[derive(Debug, Clone)]
pub struct ProbeContext {
    /// The whole run, body read included, ends by then.
    pub deadline: Instant,
    /// The run's timeout as configured or asked for (`probe_timeout_seconds`):
    /// reported as is, not read back from the deadline, which a busy machine
    /// reaches later than when it was set.
    pub timeout: Duration,
    /// The `hostname` parameter of `/probe`: Host header (http) or TLS server name
    /// (tcp, dns over TLS).
    pub hostname: Option<String>,
    /// Keep a readable trace (`debug=true`, `outpost probe`).
    pub debug: bool,
    /// `/probe`'s target policy, checked on every name and every address the run
    /// connects to; `None` for scheduled probes and `outpost probe`.
    pub policy: Option<Arc<TargetPolicy>>,
}

impl ProbeContext {
    pub fn new(timeout: Duration) -> Self {
        ProbeContext {
            deadline: Instant::now() + timeout,
            timeout,
            hostname: None,
            debug: false,
            policy: None,
        }
    }
}

/// Runs one probe of `target` with `module`, bounded by `ctx.deadline`.
pub async fn run(module: &Module, target: &str, ctx: &ProbeContext) -> ProbeReport {
    let started_at = SystemTime::now();
    let mut rec = Recorder::new(ctx.debug);
    let timeout = ctx.timeout;
    rec.trace(format_args!(
        "Beginning probe: prober={} target={} timeout={:.3}s",
        module.prober.kind(),
        crate::redact::url(target),
        timeout.as_secs_f64()
    ));

    let result = {
        let probing = module.prober.probe(target, ctx, &mut rec);
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
    let (samples, trace, packets) = rec.into_parts();
    ProbeReport {
        success: result.is_ok(),
        failure: result.err(),
        duration,
        timeout,
        started_at,
        samples,
        trace,
        packets,
    }
}
