//! The `tcp` prober: resolve, connect, optionally TLS from the first byte, then
//! the `query_response` dialogue ([`crate::probe::query_response`]).
//!
//! As Blackbox it always registers `probe_failed_due_to_regex` and
//! `probe_failed_due_to_bytes` (at 0 until a rule fails), and emits the IP series
//! and, after a TLS handshake (`tls` or a `starttls` step), the certificate,
//! version and cipher series. SNI is `tls_config.server_name`, else the
//! `hostname` parameter, else the target's host.

pub mod config;

use std::net::SocketAddr;

use super::query_response::{self, Dialogue, QueryStep, Upgrade};
use super::{net, FailureReason, ProbeContext, ProbeFailure, Recorder, TargetError};
use crate::config::{IpSettings, TlsSettings};
use crate::metrics::names::{self, Family};

/// The `prober = "tcp"` value and the name of its settings block.
pub const KIND: &str = "tcp";
/// What a target of this prober looks like, for help texts.
pub const TARGET_FORM: &str = "host:port";

/// `[modules.NAME.tcp]`.
#[derive(Debug, Clone, Default)]
pub struct TcpModule {
    pub ip: IpSettings,
    /// `tls`: TLS from the first byte.
    pub tls: bool,
    pub tls_config: TlsSettings,
    /// `query_response`: the dialogue after connecting.
    pub query_response: Vec<QueryStep>,
}

pub type Settings = TcpModule;

/// A tcp target is `host:port`.
pub type Target = net::HostPort;

pub fn parse_target(text: &str) -> Result<Target, TargetError> {
    net::parse_host_port(text)
}

/// The failure reasons a tcp run can end with.
pub const OUTCOMES: &[FailureReason] = &[
    FailureReason::Timeout,
    FailureReason::InvalidTarget,
    FailureReason::Resolve,
    FailureReason::Connect,
    FailureReason::Tls,
    FailureReason::ExpectRegex,
    FailureReason::ExpectBytes,
    FailureReason::Io,
];

/// The series a tcp run can emit.
pub const FAMILIES: &[&[Family]] = &[
    names::COMMON,
    names::IP,
    names::TLS,
    names::TLS_CIPHER,
    names::REGEX_RULES,
    names::BYTES_RULES,
    names::EXPECT_INFO,
];

pub async fn probe(
    target: &str,
    module: &TcpModule,
    ctx: &ProbeContext,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    rec.set(names::PROBE_FAILED_DUE_TO_REGEX, 0.0);
    rec.set(names::PROBE_FAILED_DUE_TO_BYTES, 0.0);
    let Target { host, port } = parse_target(target)?;
    let (ip, _) = net::resolve_target(&host, &module.ip, ctx.policy.as_deref(), rec).await?;
    let addr = SocketAddr::new(ip, port);
    let (stream, _) = net::connect_timed(addr, module.ip.source_ip, rec).await?;
    let name = module
        .tls_config
        .server_name
        .clone()
        .or_else(|| ctx.hostname.clone())
        .unwrap_or(host);
    let dialogue = Dialogue {
        tls: module.tls,
        upgrade: Upgrade {
            tls: &module.tls_config,
            server_name: Some(&name),
        },
        steps: &module.query_response,
    };
    query_response::open(stream, dialogue, rec).await
}
