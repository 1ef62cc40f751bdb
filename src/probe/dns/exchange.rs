//! One DNS exchange over UDP, TCP or TLS: the `connect` and `request` phases.
//!
//! UDP: a socket bound to `source_ip_address` (or the unspecified address of the
//! server's family) and connected to the server; replies with another ID are
//! ignored, as miekg/dns does, so a late answer to an earlier query cannot pass
//! for this one. TCP and TLS: RFC 1035 two-byte length framing over the timed
//! connect of `net.rs`, and the TLS handshake of `tls/` with its series.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UdpSocket;

use super::settings::{DnsModule, Transport};
use crate::probe::{net, tls, FailureReason, ProbeFailure, Recorder};

/// What the exchange took, phase by phase, and the response.
#[derive(Debug)]
pub(crate) struct Exchanged {
    pub(crate) connect: Duration,
    pub(crate) request: Duration,
    pub(crate) response: Message,
}

/// Sends `query` (ID `id`) to `addr` as `module` says; `tls_name` is the name
/// TLS verifies.
pub(super) async fn exchange(
    addr: SocketAddr,
    module: &DnsModule,
    tls_name: &str,
    query: &[u8],
    id: u16,
    rec: &mut Recorder,
) -> Result<Exchanged, ProbeFailure> {
    let source = module.ip.source_ip;
    match (module.transport, module.dns_over_tls) {
        (Transport::Udp, _) => udp(addr, source, query, id, rec).await,
        (Transport::Tcp, false) => {
            let (stream, connect) = net::connect_timed(addr, source, rec).await?;
            framed(stream, connect, query, id, rec).await
        }
        (Transport::Tcp, true) => {
            let (stream, connect) = net::connect_timed(addr, source, rec).await?;
            let series = tls::SeriesOptions { cipher: false };
            let (stream, session) =
                tls::handshake(stream, &module.tls_config, tls_name, &[], series, rec).await?;
            // miekg's dial includes the handshake, so Blackbox's connect phase does too.
            framed(stream, connect + session.took, query, id, rec).await
        }
    }
}

fn io_failure(what: &str, e: impl std::fmt::Display) -> ProbeFailure {
    ProbeFailure::new(FailureReason::Io, format!("{what}: {e}"))
}

/// The local address to bind for `addr`: `source`, or any address of its family.
fn bind_address(addr: SocketAddr, source: Option<IpAddr>) -> Result<SocketAddr, ProbeFailure> {
    let ip = match (source, addr) {
        (Some(src), _) if src.is_ipv4() == addr.is_ipv4() => src,
        (Some(src), _) => {
            return Err(ProbeFailure::new(
                FailureReason::Connect,
                format!("source address {src} is not of the family of {addr}"),
            ))
        }
        (None, SocketAddr::V4(_)) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (None, SocketAddr::V6(_)) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    Ok(SocketAddr::new(ip, 0))
}

async fn udp(
    addr: SocketAddr,
    source: Option<IpAddr>,
    query: &[u8],
    id: u16,
    rec: &mut Recorder,
) -> Result<Exchanged, ProbeFailure> {
    let started = Instant::now();
    let local = bind_address(addr, source)?;
    let setup = async {
        let socket = UdpSocket::bind(local).await?;
        socket.connect(addr).await?;
        Ok::<_, std::io::Error>(socket)
    };
    let socket = setup.await.map_err(|e| {
        ProbeFailure::new(
            FailureReason::Connect,
            format!("UDP socket from {local} to {addr}: {e}"),
        )
    })?;
    let connect = started.elapsed();
    rec.trace(format_args!("UDP socket {local} -> {addr} ready"));
    let sent = Instant::now();
    socket
        .send(query)
        .await
        .map_err(|e| io_failure("sending the query", e))?;
    let mut buf = vec![0u8; 65535];
    loop {
        let n = socket
            .recv(&mut buf)
            .await
            .map_err(|e| io_failure("reading the response", e))?;
        let response = decode(buf.get(..n).unwrap_or_default())?;
        if response.metadata.id == id {
            return Ok(Exchanged {
                connect,
                request: sent.elapsed(),
                response,
            });
        }
        rec.trace(format_args!(
            "Ignored a response with ID {} (query ID {id})",
            response.metadata.id
        ));
    }
}

/// One query and its response over a stream, each prefixed by its length.
pub(crate) async fn framed<S>(
    mut stream: S,
    connect: Duration,
    query: &[u8],
    id: u16,
    rec: &mut Recorder,
) -> Result<Exchanged, ProbeFailure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let sent = Instant::now();
    let len =
        u16::try_from(query.len()).map_err(|_| io_failure("query", "longer than 65535 bytes"))?;
    let mut out = Vec::with_capacity(query.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(query);
    stream
        .write_all(&out)
        .await
        .map_err(|e| io_failure("sending the query", e))?;
    stream
        .flush()
        .await
        .map_err(|e| io_failure("sending the query", e))?;
    let mut len = [0u8; 2];
    stream
        .read_exact(&mut len)
        .await
        .map_err(|e| io_failure("reading the response length", e))?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream
        .read_exact(&mut body)
        .await
        .map_err(|e| io_failure("reading the response", e))?;
    let request = sent.elapsed();
    let response = decode(&body)?;
    if response.metadata.id != id {
        return Err(io_failure(
            "response",
            format!(
                "ID {} does not match the query's {id}",
                response.metadata.id
            ),
        ));
    }
    rec.trace(format_args!("Read a {}-byte response", body.len()));
    Ok(Exchanged {
        connect,
        request,
        response,
    })
}

fn decode(bytes: &[u8]) -> Result<Message, ProbeFailure> {
    Message::from_vec(bytes).map_err(|e| io_failure("malformed DNS response", e))
}
