//! The `icmp` prober: one echo request to the target, success when its reply
//! arrives before the deadline (Blackbox's `prober/icmp.go`).
//!
//! The target is a host (a name or an IP address), never `host:port`. Phases as
//! Blackbox: `resolve` (address choice, shared with every prober), `setup` (socket
//! and packet) and `rtt` (request sent → matching reply read), all three
//! `probe_icmp_duration_seconds` samples present from the start at 0.
//! `probe_icmp_reply_hop_limit` is the TTL / hop limit of the reply, when the
//! kernel reports it. Packets that are not our reply (other ICMP traffic, our own
//! request seen by a raw socket on loopback, errors) are skipped until the
//! deadline, as Blackbox does: an unreachable target is a `timeout`.
//!
//! Sockets: see [`socket`]. The trace says which kind was used.
//!
//! `packets = N` (N > 1) sends a train instead (see [`super::packets`]): N echoes
//! `packet_interval` apart on the one socket, one ID and a sequence number each;
//! a reply is matched to its echo by ID (raw sockets), sequence number and
//! payload, so a late reply answers its own echo and a second one is a
//! duplicate. The run lasts the train's span (N × `packet_interval`), and past
//! it until every echo is answered or its deadline nears (a twentieth of the
//! timeout before it, at most 20 ms, to report in time); it succeeds when at
//! least one echo was answered. `rtt` is then the average RTT, and the
//! hop limit that of the last reply.

pub mod config;
pub mod packet;
pub mod series;
pub mod socket;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::packets::{PacketSettings, Reply, Train};
use super::{net, FailureReason, ProbeContext, ProbeFailure, Recorder, TargetError};
use crate::config::IpSettings;
use crate::metrics::names::{self, Family};
use packet::Echo;
pub use socket::{SocketChoice, SocketKind};

/// The `prober = "icmp"` value and the name of its settings block.
pub const KIND: &str = "icmp";
/// What a target of this prober looks like, for help texts.
pub const TARGET_FORM: &str = "a host name or address";

/// Blackbox's default `ttl`.
pub const DEFAULT_TTL: u8 = 64;

/// `[modules.NAME.icmp]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcmpModule {
    pub ip: IpSettings,
    /// `payload_size`: 0 sends "Prometheus Blackbox Exporter" (28 bytes).
    pub payload_size: usize,
    /// `dont_fragment`: IPv4 only; needs a raw socket.
    pub dont_fragment: bool,
    /// `ttl` (default 64); 0 leaves the kernel's default.
    pub ttl: u8,
    /// `packets` and `packet_interval`: one echo (Blackbox) or a train.
    pub packets: PacketSettings,
    /// Which socket kinds to try. Not a config option: always `Auto` from a
    /// config; tests force one kind.
    pub socket: SocketChoice,
}

impl Default for IcmpModule {
    fn default() -> Self {
        IcmpModule {
            ip: IpSettings::default(),
            payload_size: 0,
            dont_fragment: false,
            ttl: DEFAULT_TTL,
            packets: PacketSettings::default(),
            socket: SocketChoice::Auto,
        }
    }
}

pub type Settings = IcmpModule;

/// An icmp target: a host name or an IP address, without brackets.
pub type Target = String;

/// A host name or IP literal (IPv6 with or without brackets); a port is refused,
/// since ICMP has none.
pub fn parse_target(text: &str) -> Result<Target, TargetError> {
    if let Some(ip) = net::ip_literal(text) {
        return Ok(ip.to_string());
    }
    let hint = "write the host alone, e.g. \"db.internal\", \"192.0.2.1\" or \"::1\"";
    if text.contains(':') {
        return Err(TargetError::new(
            format!("invalid ICMP target {text:?}: ICMP has no ports"),
            hint,
        ));
    }
    if text.is_empty() || text.contains(['/', '[', ']', ' ', '@', '?', '#']) {
        return Err(TargetError::new(
            format!("invalid ICMP target {text:?}"),
            hint,
        ));
    }
    Ok(text.to_string())
}

/// The failure reasons an icmp run can end with.
pub const OUTCOMES: &[FailureReason] = &[
    FailureReason::Timeout,
    FailureReason::InvalidTarget,
    FailureReason::Resolve,
    FailureReason::Connect,
    FailureReason::Io,
];

/// The series an icmp run can emit.
pub const FAMILIES: &[&[Family]] = &[names::COMMON, names::IP, series::ICMP, names::PACKETS];

const PHASES: [&str; 3] = ["resolve", "setup", "rtt"];

/// Receive errors tolerated while waiting for the reply (each ICMP error for our
/// request is reported once; more than this means the socket itself is failing).
const MAX_RECV_ERRORS: u32 = 16;

fn phase(rec: &mut Recorder, name: &'static str, seconds: f64) {
    rec.set_with(
        series::PROBE_ICMP_DURATION_SECONDS,
        vec![("phase", name.into())],
        seconds,
    );
}

pub async fn probe(
    target: &str,
    module: &IcmpModule,
    ctx: &ProbeContext,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    for p in PHASES {
        phase(rec, p, 0.0);
    }
    let host = parse_target(target)?;
    let (dst, lookup) = net::resolve_target(&host, &module.ip, ctx.policy.as_deref(), rec).await?;
    // An IPv4-mapped IPv6 address is probed over IPv4.
    let dst = dst.to_canonical();
    phase(rec, "resolve", lookup.as_secs_f64());

    let setup = Instant::now();
    let sock = open(dst, module, rec)?;
    if module.packets.is_train() {
        return train(&sock, dst, module, ctx, setup, rec).await;
    }
    let echo = Echo {
        v6: packet::is_v6(dst),
        id: packet::random_id(),
        seq: packet::next_sequence(),
        payload: packet::payload(module.payload_size),
    };
    let out = outgoing(&echo, dst, module, sock.header_included);
    phase(rec, "setup", setup.elapsed().as_secs_f64());

    rec.trace(format_args!(
        "Sending echo request to {dst}: id {} seq {}, {} payload bytes{}",
        echo.id,
        echo.seq,
        echo.payload.len(),
        if sock.header_included {
            ", IPv4 header with DF"
        } else {
            ""
        }
    ));
    let sent = Instant::now();
    sock.send(&out).await.map_err(|e| {
        ProbeFailure::new(
            FailureReason::Io,
            format!("sending the echo request to {dst}: {e}"),
        )
    })?;
    let hop_limit = wait_reply(&sock, dst, &echo, rec).await?;
    phase(rec, "rtt", sent.elapsed().as_secs_f64());
    if let Some(h) = hop_limit {
        rec.set(series::PROBE_ICMP_REPLY_HOP_LIMIT, f64::from(h));
    }
    Ok(())
}

/// Sends `packets` echoes `packet_interval` apart and matches their replies
/// until all are answered or the deadline nears; see the module's header.
async fn train(
    sock: &socket::IcmpSocket,
    dst: IpAddr,
    module: &IcmpModule,
    ctx: &ProbeContext,
    setup: Instant,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    let settings = module.packets;
    let n = settings.count as usize;
    let id = packet::random_id();
    let payload = packet::payload(module.payload_size);
    let echoes: Vec<Echo> = (0..n)
        .map(|_| Echo {
            v6: packet::is_v6(dst),
            id,
            seq: packet::next_sequence(),
            payload: payload.clone(),
        })
        .collect();
    let outs: Vec<Vec<u8>> = echoes
        .iter()
        .map(|e| outgoing(e, dst, module, sock.header_included))
        .collect();
    phase(rec, "setup", setup.elapsed().as_secs_f64());
    rec.trace(format_args!(
        "Sending {n} echo requests to {dst}, {:.3}s apart: id {id}, seq {}..., {} payload bytes",
        settings.interval.as_secs_f64(),
        echoes[0].seq,
        payload.len()
    ));

    let begin = tokio::time::Instant::now();
    let left = ctx.deadline.saturating_duration_since(begin);
    let end = ctx.deadline - (left / 20).min(Duration::from_millis(20));
    let mut train = Train::new(settings);
    let mut buf = vec![0u8; 65536 + 60];
    let check_id = sock.kind == SocketKind::Raw;
    let raw_v4 = sock.kind == SocketKind::Raw && !packet::is_v6(dst);
    let (mut next, mut errors) = (0usize, 0u32);
    let mut hop_limit = None;
    let mut send_error = None;
    // Even when every echo is answered early, the run lasts the train's span
    // (N × packet_interval), so a duplicate of the last reply is seen too.
    let span_end = (begin + settings.interval * settings.count).min(end);
    loop {
        let done = train.complete();
        if done && tokio::time::Instant::now() >= span_end {
            break;
        }
        let stop = if done { span_end } else { end };
        let send_at = begin + settings.interval * next as u32;
        tokio::select! {
            () = tokio::time::sleep_until(send_at), if next < n => {
                if let Err(e) = sock.send(&outs[next]).await {
                    rec.trace(format_args!("Sending echo seq {} failed: {e}", echoes[next].seq));
                    send_error = Some(e);
                }
                // A failed send counts as sent and lost.
                train.sent(next, Instant::now());
                next += 1;
            }
            got = sock.recv(&mut buf) => {
                let got = match got {
                    Ok(g) => g,
                    Err(e) if errors < MAX_RECV_ERRORS => {
                        errors += 1;
                        rec.trace(format_args!("Receive error (waiting on): {e}"));
                        continue;
                    }
                    Err(e) => return Err(ProbeFailure::new(
                        FailureReason::Io,
                        format!("reading from the ICMP socket: {e}"),
                    )),
                };
                let at = Instant::now();
                let data = &buf[..got.len.min(buf.len())];
                let Some((header_ttl, msg)) = packet::received(data, raw_v4) else {
                    continue;
                };
                if got.from.is_some_and(|from| from != dst) {
                    continue;
                }
                let Some(i) = echoes.iter().position(|e| e.is_reply(msg, check_id)) else {
                    if rec.tracing() {
                        rec.trace(format_args!("Skipped a packet: {}", packet::describe(msg)));
                    }
                    continue;
                };
                let reply = train.reply(i, at);
                if let Reply::Answer { .. } = reply {
                    hop_limit = got.hop_limit.or(header_ttl).or(hop_limit);
                }
                if rec.tracing() {
                    rec.trace(format_args!(
                        "Reply to seq {}: {}",
                        echoes[i].seq,
                        match reply {
                            Reply::Answer { rtt, late: false } => format!("{:.6}s", rtt.as_secs_f64()),
                            Reply::Answer { rtt, late: true } => format!("{:.6}s, late", rtt.as_secs_f64()),
                            Reply::Duplicate => "duplicate".to_string(),
                            Reply::NotSent => "for no echo sent".to_string(),
                        }
                    ));
                }
            }
            () = tokio::time::sleep_until(stop) => if stop == end {
                break;
            },
        }
    }
    let run = train.into_run();
    let (sent, received) = (run.sent, run.received);
    rec.trace(format_args!(
        "{received} of {sent} echoes answered, {} duplicates, {} late",
        run.duplicates, run.late
    ));
    if let Some(s) = super::packets::rtt_stats(&run.rtts) {
        phase(rec, "rtt", s.avg);
    }
    if let Some(h) = hop_limit {
        rec.set(series::PROBE_ICMP_REPLY_HOP_LIMIT, f64::from(h));
    }
    rec.set_packets(run);
    if received > 0 {
        return Ok(());
    }
    Err(match send_error {
        Some(e) => ProbeFailure::new(
            FailureReason::Io,
            format!("sending the echo requests to {dst}: {e}"),
        ),
        None => ProbeFailure::new(
            FailureReason::Timeout,
            format!("none of the {sent} echo requests to {dst} was answered"),
        ),
    })
}

/// The bytes to send: the echo request, behind our IPv4 header (DF set, the TTL
/// in it, 64 for `ttl = 0` as Blackbox) when the socket includes headers.
fn outgoing(echo: &Echo, dst: IpAddr, module: &IcmpModule, header_included: bool) -> Vec<u8> {
    let request = echo.request();
    let IpAddr::V4(dst) = dst else {
        return request;
    };
    if !header_included {
        return request;
    }
    let src = match module.ip.source_ip {
        Some(IpAddr::V4(s)) => Some(s),
        _ => None,
    };
    let ttl = match module.ttl {
        0 => DEFAULT_TTL,
        t => t,
    };
    let mut out = packet::ipv4_header(src, dst, ttl).to_vec();
    out.extend_from_slice(&request);
    out
}

/// Opens the socket, tracing its kind; a refusal is `connect`.
fn open(
    dst: IpAddr,
    module: &IcmpModule,
    rec: &mut Recorder,
) -> Result<socket::IcmpSocket, ProbeFailure> {
    let opts = socket::Options {
        choice: module.socket,
        source: module.ip.source_ip,
        ttl: module.ttl,
        dont_fragment: module.dont_fragment,
    };
    if module.dont_fragment && packet::is_v6(dst) {
        rec.trace("dont_fragment applies to IPv4 only: ignored for this IPv6 target");
    }
    match socket::open(dst, &opts) {
        Ok(s) => {
            if let Some(why) = &s.fallback {
                rec.trace(format_args!(
                    "Datagram ICMP socket refused ({why}): \
                     net.ipv4.ping_group_range excludes this process's group; trying raw"
                ));
            }
            rec.trace(format_args!(
                "Using a {} ICMP socket{}",
                s.kind.name(),
                match module.ttl {
                    0 => String::new(),
                    t => format!(", TTL {t}"),
                }
            ));
            Ok(s)
        }
        Err(e) => {
            rec.trace(format_args!("ICMP socket set-up failed: {}", e.0));
            Err(ProbeFailure::new(FailureReason::Connect, e.0))
        }
    }
}

/// Reads packets until the reply to `echo` arrives; returns its hop limit. The
/// run's deadline ends the wait.
async fn wait_reply(
    sock: &socket::IcmpSocket,
    dst: IpAddr,
    echo: &Echo,
    rec: &mut Recorder,
) -> Result<Option<u8>, ProbeFailure> {
    // Room for the largest IPv4 packet: a raw socket reads the header too.
    let mut buf = vec![0u8; 65536 + 60];
    let check_id = sock.kind == SocketKind::Raw;
    let mut errors = 0;
    loop {
        let got = match sock.recv(&mut buf).await {
            Ok(g) => g,
            // An ICMP error for our request shows here, once, on a connected
            // socket; Blackbox reads on until the deadline, so do we. A socket
            // that only fails is given up rather than spun on.
            Err(e) if errors < MAX_RECV_ERRORS => {
                errors += 1;
                rec.trace(format_args!("Receive error (waiting on): {e}"));
                continue;
            }
            Err(e) => {
                return Err(ProbeFailure::new(
                    FailureReason::Io,
                    format!("reading from the ICMP socket: {e}"),
                ))
            }
        };
        let data = &buf[..got.len.min(buf.len())];
        let raw_v4 = sock.kind == SocketKind::Raw && !echo.v6;
        let Some((header_ttl, msg)) = packet::received(data, raw_v4) else {
            continue;
        };
        if got.from.is_some_and(|from| from != dst) {
            continue;
        }
        if echo.is_reply(msg, check_id) {
            let hop_limit = got.hop_limit.or(header_ttl);
            rec.trace(format_args!(
                "Reply from {dst}: {}{}",
                packet::describe(msg),
                hop_limit.map_or(String::new(), |h| format!(", hop limit {h}")),
            ));
            return Ok(hop_limit);
        }
        if rec.tracing() {
            rec.trace(format_args!("Skipped a packet: {}", packet::describe(msg)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(parse_target("db.internal"), Ok("db.internal".into()));
        assert_eq!(parse_target("127.0.0.1"), Ok("127.0.0.1".into()));
        assert_eq!(parse_target("::1"), Ok("::1".into()));
        assert_eq!(parse_target("[::1]"), Ok("::1".into()));
        for bad in [
            "",
            "a:80",
            "127.0.0.1:80",
            "[::1]:80",
            "http://a",
            "a b",
            "[x]",
        ] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
        assert!(parse_target("127.0.0.1:80").is_err_and(|e| e.message.contains("has no ports")));
    }
}
