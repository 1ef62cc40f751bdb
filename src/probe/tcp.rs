//! The `tcp` prober: resolve, connect, optionally TLS from the first byte.
//!
//! Like Blackbox it registers `probe_failed_due_to_regex` and
//! `probe_failed_due_to_bytes` at 0 (the `query_response` dialogue comes later),
//! emits the IP series and, with `tls`, the certificate and version series (no
//! cipher series, as Blackbox). SNI is `tls_config.server_name`, else the
//! `hostname` parameter, else the target's host.

use std::net::SocketAddr;

use super::{net, tls, FailureReason, ProbeContext, ProbeFailure, Recorder};
use crate::config::TcpModule;
use crate::metrics::names;

pub async fn probe(
    target: &str,
    module: &TcpModule,
    ctx: &ProbeContext,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    rec.set(names::PROBE_FAILED_DUE_TO_REGEX, 0.0);
    rec.set(names::PROBE_FAILED_DUE_TO_BYTES, 0.0);
    let (host, port) = net::split_host_port(target).ok_or_else(|| {
        ProbeFailure::new(
            FailureReason::InvalidTarget,
            format!("target {target:?} is not host:port"),
        )
    })?;
    let (ip, _) = net::resolve_target(&host, &module.ip, rec).await?;
    let addr = SocketAddr::new(ip, port);
    let (stream, _) = net::connect_timed(addr, module.ip.source_ip, rec).await?;
    if !module.tls {
        return Ok(());
    }
    let name = module
        .tls_config
        .server_name
        .clone()
        .or_else(|| ctx.hostname.clone())
        .unwrap_or(host);
    let series = tls::SeriesOptions { cipher: false };
    let _tls = tls::handshake(stream, &module.tls_config, &name, &[], series, rec).await?;
    Ok(())
}
