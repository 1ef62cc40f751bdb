//! HTTP/3 (`enable_http3`): one request over a fresh QUIC connection (quinn +
//! h3) to the address outpost resolved, never reused.
//!
//! Phases: `connect` is the UDP socket set-up only; `tls` is the QUIC
//! handshake, which carries the TLS 1.3 handshake; `processing` runs from the
//! handshake's end to the response head; `transfer` is the body read.
//!
//! Failure reasons of the handshake: a peer that never answers (nothing
//! listening on UDP looks the same as packet loss: QUIC has no refusal) fails
//! with `connect` at the deadline or at QUIC's idle timeout, whichever comes
//! first; a peer that answers but fails the handshake (certificate, ALPN,
//! version) fails with `tls`. HTTP/3 protocol errors are `http`, a broken body
//! stream `io`.
//!
//! Departures from Blackbox: the resolved address (the one in
//! `probe_ip_addr_hash`) is the one dialled, where quic-go dials the name again;
//! `probe_tls_cipher_info` is absent because quinn does not expose the
//! negotiated suite.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use ::h3::client::{RequestStream, SendRequest};
use bytes::{Buf as _, Bytes};
use http::{Request, Uri, Version};
use url::Url;

use super::conn::{add_phase, trace_request, trace_response, HopBody, HopRequest, HopResponse};
use super::series::HttpPhase;
use super::{target, HttpModule};
use crate::probe::{tls, FailureReason, ProbeFailure, Recorder};

/// Limit on response header sections.
const MAX_HEAD: u64 = 64 * 1024;

/// ALPN of HTTP/3.
const ALPN_H3: &[u8] = b"h3";

type H3Driver = ::h3::client::Connection<h3_quinn::Connection, Bytes>;
type H3Stream = RequestStream<h3_quinn::BidiStream<Bytes>, Bytes>;

/// `http://` becomes `https://` (as Blackbox rewrites targets): HTTP/3 is
/// always over TLS.
pub(super) fn https(url: Url) -> Url {
    if url.scheme() != "http" {
        return url;
    }
    let mut u = url.clone();
    match u.set_scheme("https") {
        Ok(()) => u,
        Err(()) => url,
    }
}

/// Runs one exchange over HTTP/3; see the module docs.
pub(super) async fn exchange(
    req: HopRequest<'_>,
    module: &HttpModule,
    deadline: tokio::time::Instant,
    rec: &mut Recorder,
) -> Result<HopResponse, ProbeFailure> {
    let url = https(req.url.clone());
    let ip = req
        .ip
        .ok_or_else(|| ProbeFailure::new(FailureReason::Resolve, "no address to connect to"))?;
    let addr = SocketAddr::new(ip, target::port(&url));
    let endpoint = bind(addr, module, rec)?;
    let conn = handshake(&endpoint, addr, &req.sni, module, deadline, rec).await?;
    let conn_ready = Instant::now();
    let (driver, mut sender) = ::h3::client::builder()
        .max_field_section_size(MAX_HEAD)
        .build::<_, _, Bytes>(h3_quinn::Connection::new(conn))
        .await
        .map_err(|e| http_err("HTTP/3 connection", e))?;
    let mut link = Link {
        driver,
        closed: None,
        _endpoint: endpoint,
    };
    let request = build_request(&req, &url)?;
    trace_request(rec, &request);
    let (stream, head) = link
        .drive(send(&mut sender, request, req.body.clone()))
        .await?;
    let head = head.map_err(|e| link.failure(e))?;
    let first_byte = Instant::now();
    add_phase(
        rec,
        HttpPhase::Processing,
        first_byte.duration_since(conn_ready).as_secs_f64(),
    );
    let (head, ()) = head.into_parts();
    trace_response(rec, &head);
    Ok(HopResponse {
        head,
        body: HopBody::H3(Box::new(Body {
            stream,
            link,
            _sender: sender,
        })),
        over_tls: true,
        first_byte,
    })
}

/// The `connect` phase: a UDP socket of the target's family (on the source
/// address, if set) and a QUIC endpoint on it.
fn bind(
    addr: SocketAddr,
    module: &HttpModule,
    rec: &mut Recorder,
) -> Result<quinn::Endpoint, ProbeFailure> {
    let started = Instant::now();
    let local = match (module.ip.source_ip, addr.ip()) {
        (Some(src), _) => src,
        (None, IpAddr::V4(_)) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (None, IpAddr::V6(_)) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let endpoint = quinn::Endpoint::client(SocketAddr::new(local, 0));
    add_phase(rec, HttpPhase::Connect, started.elapsed().as_secs_f64());
    endpoint.map_err(|e| {
        ProbeFailure::new(
            FailureReason::Connect,
            format!("UDP socket on {local} for {addr}: {e}"),
        )
    })
}

/// The `tls` phase: the QUIC handshake with `addr`, verifying `sni`, bounded by
/// the deadline and QUIC's idle timeout (set to the time left). Writes the TLS
/// series (certificates also when verification fails).
async fn handshake(
    endpoint: &quinn::Endpoint,
    addr: SocketAddr,
    sni: &str,
    module: &HttpModule,
    deadline: tokio::time::Instant,
    rec: &mut Recorder,
) -> Result<quinn::Connection, ProbeFailure> {
    let (config, captured) = client_config(module, deadline)?;
    let name = sni
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(sni);
    let connecting = endpoint.connect_with(config, addr, name).map_err(|e| {
        ProbeFailure::new(
            FailureReason::InvalidTarget,
            format!("QUIC connection to {addr} as {name:?}: {e}"),
        )
    })?;
    let started = Instant::now();
    let result = tokio::time::timeout_at(deadline, connecting).await;
    let took = started.elapsed();
    add_phase(rec, HttpPhase::Tls, took.as_secs_f64());
    captured.record(rec);
    let secs = took.as_secs_f64();
    match result {
        Ok(Ok(conn)) => {
            tls::record_version(rec, "TLS 1.3");
            rec.trace(format_args!(
                "QUIC handshake with {addr} ({name}) done in {secs:.6}s: TLS 1.3, ALPN h3"
            ));
            Ok(conn)
        }
        Ok(Err(e)) => {
            rec.trace(format_args!(
                "QUIC handshake with {addr} failed after {secs:.6}s: {e}"
            ));
            Err(handshake_failure(e, addr))
        }
        Err(_) => Err(ProbeFailure::new(
            FailureReason::Connect,
            format!("no QUIC answer from {addr} before the deadline"),
        )),
    }
}

/// `connect` when the peer never answered, `tls` when it answered and the
/// handshake failed.
fn handshake_failure(e: quinn::ConnectionError, addr: SocketAddr) -> ProbeFailure {
    use quinn::ConnectionError as E;
    let reason = match e {
        E::TimedOut | E::Reset | E::LocallyClosed | E::CidsExhausted => FailureReason::Connect,
        E::VersionMismatch
        | E::TransportError(_)
        | E::ConnectionClosed(_)
        | E::ApplicationClosed(_) => FailureReason::Tls,
    };
    ProbeFailure::new(reason, format!("QUIC handshake with {addr}: {e}"))
}

/// The module's TLS settings (minimum TLS 1.3, set at load) as a QUIC client
/// config offering `h3`, idle timeout = the time left.
fn client_config(
    module: &HttpModule,
    deadline: tokio::time::Instant,
) -> Result<(quinn::ClientConfig, tls::CapturedChain), ProbeFailure> {
    let (rustls_config, captured) = tls::capturing_config(&module.tls, &[ALPN_H3])?;
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(rustls_config)
        .map_err(|e| ProbeFailure::new(FailureReason::Tls, format!("QUIC TLS settings: {e}")))?;
    let mut config = quinn::ClientConfig::new(Arc::new(quic));
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    let mut transport = quinn::TransportConfig::default();
    if let Ok(idle) = quinn::IdleTimeout::try_from(left) {
        transport.max_idle_timeout(Some(idle));
    }
    config.transport_config(Arc::new(transport));
    Ok((config, captured))
}

/// The request: absolute `https` URI whose authority is the Host header
/// (`:authority`), the hop's headers.
fn build_request(req: &HopRequest<'_>, url: &Url) -> Result<Request<()>, ProbeFailure> {
    let uri_text = format!("https://{}{}", req.host_header, target::origin_form(url));
    let uri: Uri = uri_text.parse().map_err(|e| {
        ProbeFailure::new(
            FailureReason::InvalidTarget,
            format!("cannot form a request URI from {uri_text:?}: {e}"),
        )
    })?;
    let mut request = Request::builder()
        .method(req.method.clone())
        .uri(uri)
        .version(Version::HTTP_3)
        .body(())
        .map_err(|e| ProbeFailure::new(FailureReason::InvalidTarget, format!("request: {e}")))?;
    for (name, value) in &req.headers {
        request.headers_mut().append(name.clone(), value.clone());
    }
    Ok(request)
}

type Head = Result<http::Response<()>, ::h3::error::StreamError>;

/// Opens the request stream, sends the head and body, finishes the sending
/// side and waits for the response head.
async fn send(
    sender: &mut SendRequest<h3_quinn::OpenStreams, Bytes>,
    request: Request<()>,
    body: Option<Bytes>,
) -> Result<(H3Stream, Head), ProbeFailure> {
    let mut stream = sender
        .send_request(request)
        .await
        .map_err(|e| http_err("HTTP/3 request failed", e))?;
    if let Some(body) = body.filter(|b| !b.is_empty()) {
        stream
            .send_data(body)
            .await
            .map_err(|e| http_err("sending the HTTP/3 body", e))?;
    }
    stream
        .finish()
        .await
        .map_err(|e| http_err("finishing the HTTP/3 request", e))?;
    let head = stream.recv_response().await;
    Ok((stream, head))
}

/// Keeps the HTTP/3 connection's control streams going while a request
/// stream is awaited. Nothing is spawned: dropping the probe drops it all.
struct Link {
    driver: H3Driver,
    /// Why the connection ended, once it did.
    closed: Option<String>,
    /// Dropped last: its socket carries the connection.
    _endpoint: quinn::Endpoint,
}

impl Link {
    async fn drive<F: Future>(&mut self, f: F) -> F::Output {
        tokio::pin!(f);
        loop {
            if self.closed.is_some() {
                return f.await;
            }
            tokio::select! {
                biased;
                out = &mut f => return out,
                e = self.driver.wait_idle() => self.closed = Some(e.to_string()),
            }
        }
    }

    /// A request-stream error, with why the connection ended if it did.
    fn failure(&mut self, e: ::h3::error::StreamError) -> ProbeFailure {
        let detail = self
            .closed
            .take()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        http_err("HTTP/3 request failed", format!("{e}{detail}"))
    }
}

/// An HTTP/3 response body still to read.
pub(super) struct Body {
    stream: H3Stream,
    link: Link,
    /// Kept: the connection closes when the last sender is dropped.
    _sender: SendRequest<h3_quinn::OpenStreams, Bytes>,
}

impl Body {
    /// The next piece of body data; `None` at the end.
    pub(super) async fn data(&mut self) -> Result<Option<Bytes>, ProbeFailure> {
        match self.link.drive(self.stream.recv_data()).await {
            Ok(Some(mut buf)) => Ok(Some(buf.copy_to_bytes(buf.remaining()))),
            Ok(None) => Ok(None),
            Err(e) => {
                let detail = self
                    .link
                    .closed
                    .take()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default();
                Err(ProbeFailure::new(
                    FailureReason::Io,
                    format!("reading the HTTP/3 body: {e}{detail}"),
                ))
            }
        }
    }
}

fn http_err(context: &str, e: impl std::fmt::Display) -> ProbeFailure {
    ProbeFailure::new(FailureReason::Http, format!("{context}: {e}"))
}
