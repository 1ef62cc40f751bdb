//! The `tcp` prober: resolve, connect, optionally TLS from the first byte, then
//! the `query_response` dialogue ([`crate::probe::query_response`]).
//!
//! As Blackbox it always registers `probe_failed_due_to_regex` and
//! `probe_failed_due_to_bytes` (at 0 until a rule fails), and emits the IP series
//! and, after a TLS handshake (`tls` or a `starttls` step), the certificate,
//! version and cipher series. SNI is `tls_config.server_name`, else the
//! `hostname` parameter, else the target's host.
//!
//! A connect-only module (no `tls`, no `query_response`) may send a train,
//! `packets = N` (see [`super::packets`]): N connects `packet_interval` apart,
//! each closed once made; a connect that succeeds is an answered packet, its
//! time the RTT (the SYN / SYN-ACK round trip); one refused or still pending when
//! the run ends is lost. The run succeeds when at least one connect did; when
//! none did it fails with `connect` if one was refused, else `timeout`.

pub mod config;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::packets::{PacketSettings, Train};
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
    /// `packets` and `packet_interval`: one connect, or a train (connect-only).
    pub packets: PacketSettings,
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

/// `packets` connects to `addr`, `packet_interval` apart, each bounded by the
/// run's end (its deadline less a twentieth of the timeout, at most 20 ms).
async fn connect_train(
    addr: SocketAddr,
    module: &TcpModule,
    ctx: &ProbeContext,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    let settings = module.packets;
    let begin = tokio::time::Instant::now();
    let left = ctx.deadline.saturating_duration_since(begin);
    let end = ctx.deadline - (left / 20).min(Duration::from_millis(20));
    rec.trace(format_args!(
        "Connecting {} times to {addr}, {:.3}s apart",
        settings.count,
        settings.interval.as_secs_f64()
    ));
    let mut connects = tokio::task::JoinSet::new();
    for i in 0..settings.count {
        let at = begin + settings.interval * i;
        let source = module.ip.source_ip;
        connects.spawn(async move {
            if at >= end {
                return (i, None);
            }
            tokio::time::sleep_until(at).await;
            let sent = Instant::now();
            let result = tokio::time::timeout_at(end, net::connect(addr, source)).await;
            (i, Some((sent, result.map(|r| r.map(drop)), Instant::now())))
        });
    }
    let mut train = Train::new(settings);
    let mut refused = None;
    while let Some(joined) = connects.join_next().await {
        let Ok((i, Some((sent, result, done)))) = joined else {
            continue;
        };
        train.sent(i as usize, sent);
        match result {
            Ok(Ok(())) => {
                train.reply(i as usize, done);
            }
            Ok(Err(e)) => {
                rec.trace(format_args!("Connect {i} failed: {e}"));
                refused = Some(net::connect_error_words(addr, &e));
            }
            Err(_) => rec.trace(format_args!("Connect {i} still pending at the run's end")),
        }
    }
    let run = train.into_run();
    let (sent, received) = (run.sent, run.received);
    rec.trace(format_args!(
        "{received} of {sent} connects made, {} late",
        run.late
    ));
    rec.set_packets(run);
    if received > 0 {
        return Ok(());
    }
    Err(match refused {
        Some(words) => ProbeFailure::new(FailureReason::Connect, words),
        None => ProbeFailure::new(
            FailureReason::Timeout,
            format!("none of the {sent} connects to {addr} was made in time"),
        ),
    })
}

/// The series a tcp run can emit.
pub const FAMILIES: &[&[Family]] = &[
    names::COMMON,
    names::IP,
    names::TLS,
    names::TLS_CIPHER,
    names::REGEX_RULES,
    names::BYTES_RULES,
    names::EXPECT_INFO,
    names::PACKETS,
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
    if module.packets.is_train() {
        return connect_train(addr, module, ctx, rec).await;
    }
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
