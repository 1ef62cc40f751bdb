//! One request/response exchange on a fresh connection: connect (directly or
//! through an http proxy), TLS, HTTP/1.1 or HTTP/2 by ALPN, send, read the head.
//! Each phase is timed into `probe_http_duration_seconds`. A connection is never
//! reused and a request is never retried.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::time::Instant;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, CONNECTION, HOST};
use http::{Method, Request, Uri, Version};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio_util::either::Either;
use url::Url;

use super::series::{self, HttpPhase};
use super::HttpModule;
use super::{proxy, target};
use crate::probe::{net, tls, FailureReason, ProbeFailure, Recorder};

/// Limit on response header lists (h2).
const MAX_HEAD: usize = 64 * 1024;

/// Adds `secs` to one `probe_http_duration_seconds` phase.
pub(super) fn add_phase(rec: &mut Recorder, phase: HttpPhase, secs: f64) {
    rec.add_with(
        series::PROBE_HTTP_DURATION_SECONDS,
        vec![("phase", phase.as_label().into())],
        secs,
    );
}

type ConnFuture = Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>;

/// Drives a hyper connection while the caller awaits something that needs it
/// (the response head, body frames). Nothing is spawned: dropping the probe
/// drops the connection.
pub(super) struct Driver {
    conn: Option<ConnFuture>,
    /// Why the connection ended, if it ended with an error.
    pub(super) error: Option<String>,
    /// The TLS error behind that, if any (e.g. the server's alert refusing our
    /// client certificate, which TLS 1.3 delivers after the handshake).
    pub(super) tls_error: Option<String>,
}

impl Driver {
    fn new(conn: ConnFuture) -> Self {
        Driver {
            conn: Some(conn),
            error: None,
            tls_error: None,
        }
    }

    pub(super) async fn drive<F: Future>(&mut self, f: F) -> F::Output {
        tokio::pin!(f);
        loop {
            let Some(conn) = self.conn.as_mut() else {
                return f.await;
            };
            tokio::select! {
                biased;
                out = &mut f => return out,
                r = conn => {
                    if let Err(e) = r {
                        self.error = Some(e.to_string());
                        self.tls_error = tls_cause(&e);
                    }
                    self.conn = None;
                }
            }
        }
    }
}

/// What one hop sends.
pub(super) struct HopRequest<'a> {
    pub(super) url: &'a Url,
    /// The address to dial (or to name to the proxy); `None` when the proxy
    /// resolves the name (`skip_resolve_phase_with_proxy`).
    pub(super) ip: Option<IpAddr>,
    pub(super) method: Method,
    pub(super) body: Option<Bytes>,
    pub(super) headers: HeaderMap,
    /// The Host header (`:authority` over HTTP/2).
    pub(super) host_header: String,
    /// SNI and the name verified.
    pub(super) sni: String,
    /// The proxy this request goes through ([`proxy::choose`]).
    pub(super) proxy: Option<Uri>,
}

/// What one hop received: the head, and the body still to read.
pub(super) struct HopResponse {
    pub(super) head: http::response::Parts,
    pub(super) body: HopBody,
    pub(super) over_tls: bool,
    pub(super) first_byte: Instant,
}

/// A response body still to read, with what keeps its connection going.
pub(super) enum HopBody {
    /// HTTP/1.1 or HTTP/2 (hyper), with the connection's driver.
    Hyper { body: Incoming, driver: Driver },
    /// HTTP/3 over QUIC.
    H3(Box<super::h3::Body>),
}

impl HopBody {
    /// The next piece of body data; `None` at the end (trailers are skipped).
    /// A broken stream is an `io` failure.
    pub(super) async fn data(&mut self) -> Result<Option<Bytes>, ProbeFailure> {
        let (body, driver) = match self {
            HopBody::H3(b) => return b.data().await,
            HopBody::Hyper { body, driver } => (body, driver),
        };
        loop {
            match driver.drive(body.frame()).await {
                None => return Ok(None),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
                Some(Err(e)) => {
                    let detail = driver
                        .error
                        .take()
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default();
                    return Err(ProbeFailure::new(
                        FailureReason::Io,
                        format!("reading the body: {e}{detail}"),
                    ));
                }
            }
        }
    }
}

type Stream = Either<proxy::Transport, tokio_rustls::client::TlsStream<proxy::Transport>>;

/// The rustls error somewhere in `e`'s chain of causes, if there is one.
fn tls_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(tls) = c.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        if let Some(tls) = c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(tls.to_string());
        }
        cause = c.source();
    }
    None
}

fn http_err(context: &str, e: impl std::fmt::Display) -> ProbeFailure {
    ProbeFailure::new(FailureReason::Http, format!("{context}: {e}"))
}

/// Runs one exchange; see the module docs.
pub(super) async fn exchange(
    req: HopRequest<'_>,
    module: &HttpModule,
    rec: &mut Recorder,
) -> Result<HopResponse, ProbeFailure> {
    let https = req.url.scheme() == "https";
    let tcp = connect(&req, module, https, rec).await?;
    let (io, h2) = secure(tcp, &req, module, https, rec).await?;
    let conn_ready = Instant::now();
    let request = build_request(&req, h2, https)?;
    trace_request(rec, &request);
    let (mut driver, response) = send(io, h2, request).await?;
    let response = response_head(response, &mut driver)?;
    let first_byte = Instant::now();
    add_phase(
        rec,
        HttpPhase::Processing,
        first_byte.duration_since(conn_ready).as_secs_f64(),
    );
    let (head, body) = response.into_parts();
    trace_response(rec, &head);
    Ok(HopResponse {
        head,
        body: HopBody::Hyper { body, driver },
        over_tls: https,
        first_byte,
    })
}

/// The `connect` phase: a TCP connection to the target, or to the proxy (and
/// through its tunnel for https). The phase is written also when it fails.
async fn connect(
    req: &HopRequest<'_>,
    module: &HttpModule,
    https: bool,
    rec: &mut Recorder,
) -> Result<proxy::Transport, ProbeFailure> {
    let port = target::port(req.url);
    let started = Instant::now();
    let result = match &req.proxy {
        None => match req.ip {
            None => {
                return Err(ProbeFailure::new(
                    FailureReason::Resolve,
                    "no address to connect to",
                ))
            }
            Some(ip) => net::connect_timed(SocketAddr::new(ip, port), module.ip.source_ip, rec)
                .await
                .map(|(s, _)| Either::Left(s)),
        },
        Some(proxy) => {
            let tunnel_to = match req.ip {
                Some(ip) => SocketAddr::new(ip, port).to_string(),
                None => format!("{}:{port}", bracket(&target::host(req.url))),
            };
            proxy::connect(proxy, module, https.then_some(&tunnel_to), rec).await
        }
    };
    add_phase(rec, HttpPhase::Connect, started.elapsed().as_secs_f64());
    result
}

/// The `tls` phase for https (ALPN offers `h2` when `enable_http2`); whether
/// the connection speaks HTTP/2.
async fn secure(
    tcp: proxy::Transport,
    req: &HopRequest<'_>,
    module: &HttpModule,
    https: bool,
    rec: &mut Recorder,
) -> Result<(Stream, bool), ProbeFailure> {
    if !https {
        return Ok((Either::Left(tcp), false));
    }
    let alpn: &[&[u8]] = if module.enable_http2 {
        &[b"h2", b"http/1.1"]
    } else {
        &[b"http/1.1"]
    };
    let series = tls::SeriesOptions { cipher: true };
    let (stream, session) = tls::handshake(tcp, &module.tls, &req.sni, alpn, series, rec).await?;
    add_phase(rec, HttpPhase::Tls, session.took.as_secs_f64());
    let h2 = session.alpn.as_deref() == Some(b"h2");
    Ok((Either::Right(stream), h2))
}

type Sent = (Driver, hyper::Result<http::Response<Incoming>>);

/// Handshakes the HTTP connection and sends the request; the response head
/// (or why there is none) comes back with the connection's driver.
async fn send(io: Stream, h2: bool, request: Request<Full<Bytes>>) -> Result<Sent, ProbeFailure> {
    if h2 {
        let (mut sender, conn) = http2::Builder::new(TokioExecutor::new())
            .max_header_list_size(MAX_HEAD as u32)
            .handshake::<_, Full<Bytes>>(TokioIo::new(io))
            .await
            .map_err(|e| http_err("HTTP/2 handshake", e))?;
        let mut driver = Driver::new(Box::pin(conn));
        let r = driver.drive(sender.send_request(request)).await;
        Ok((driver, r))
    } else {
        let (mut sender, conn) = http1::Builder::new()
            .handshake::<_, Full<Bytes>>(TokioIo::new(io))
            .await
            .map_err(|e| http_err("HTTP/1.1 handshake", e))?;
        let mut driver = Driver::new(Box::pin(conn));
        let r = driver.drive(sender.send_request(request)).await;
        Ok((driver, r))
    }
}

/// The response head, or the failure behind its absence: a TLS error surfacing
/// after the handshake is `tls`, anything else `http`.
fn response_head(
    response: hyper::Result<http::Response<Incoming>>,
    driver: &mut Driver,
) -> Result<http::Response<Incoming>, ProbeFailure> {
    response.map_err(|e| {
        if let Some(tls) = tls_cause(&e).or_else(|| driver.tls_error.take()) {
            return ProbeFailure::new(
                FailureReason::Tls,
                format!("TLS session failed after the handshake: {tls}"),
            );
        }
        let detail = driver
            .error
            .take()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        http_err("HTTP request failed", format!("{e}{detail}"))
    })
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn build_request(
    req: &HopRequest<'_>,
    h2: bool,
    https: bool,
) -> Result<Request<Full<Bytes>>, ProbeFailure> {
    let uri = request_uri(req, h2, https)?;
    let mut builder = Request::builder().method(req.method.clone()).uri(uri);
    if h2 {
        builder = builder.version(Version::HTTP_2);
    } else {
        let host = HeaderValue::from_str(&req.host_header).map_err(|e| {
            ProbeFailure::new(
                FailureReason::InvalidTarget,
                format!("invalid Host {:?}: {e}", req.host_header),
            )
        })?;
        builder = builder
            .version(Version::HTTP_11)
            .header(HOST, host)
            .header(CONNECTION, HeaderValue::from_static("close"));
    }
    let mut request = builder
        .body(Full::new(req.body.clone().unwrap_or_default()))
        .map_err(|e| ProbeFailure::new(FailureReason::InvalidTarget, format!("request: {e}")))?;
    for (name, value) in &req.headers {
        request.headers_mut().append(name.clone(), value.clone());
    }
    if !https {
        if let Some(v) = proxy_authorization(req)? {
            request
                .headers_mut()
                .insert(http::header::PROXY_AUTHORIZATION, v);
        }
    }
    Ok(request)
}

/// The request target: absolute over HTTP/2 and for plain http through a
/// proxy, origin-form otherwise.
fn request_uri(req: &HopRequest<'_>, h2: bool, https: bool) -> Result<Uri, ProbeFailure> {
    let path = target::origin_form(req.url);
    let scheme = if https { "https" } else { "http" };
    let uri_text = if h2 {
        format!("{scheme}://{}{path}", req.host_header)
    } else if !https && req.proxy.is_some() {
        // Absolute-form for a plain-http request through a proxy.
        let authority = match req.ip {
            Some(ip) => SocketAddr::new(ip, target::port(req.url)).to_string(),
            None => target::authority(req.url),
        };
        format!("http://{authority}{path}")
    } else {
        path
    };
    uri_text.parse().map_err(|e| {
        ProbeFailure::new(
            FailureReason::InvalidTarget,
            format!("cannot form a request URI from {uri_text:?}: {e}"),
        )
    })
}

/// `Proxy-Authorization` for a plain-http request through a proxy with
/// credentials in its URL.
fn proxy_authorization(req: &HopRequest<'_>) -> Result<Option<HeaderValue>, ProbeFailure> {
    let Some(auth) = req.proxy.as_ref().and_then(proxy::authorization) else {
        return Ok(None);
    };
    let mut v = HeaderValue::from_str(&auth)
        .map_err(|_| ProbeFailure::new(FailureReason::Proxy, "unusable proxy credentials"))?;
    v.set_sensitive(true);
    Ok(Some(v))
}

/// Headers whose value is never traced.
pub(super) fn trace_request<B>(rec: &mut Recorder, req: &Request<B>) {
    if !rec.tracing() {
        return;
    }
    rec.trace(format_args!(
        "Sending {} {} {}",
        req.method(),
        crate::redact::url(&req.uri().to_string()),
        super::checks::proto_name(req.version())
    ));
    for (name, value) in req.headers() {
        let text = String::from_utf8_lossy(value.as_bytes());
        let v = if value.is_sensitive() {
            crate::redact::SECRET.into()
        } else {
            crate::redact::header_value(name.as_str(), &text)
        };
        rec.trace(format_args!("  > {name}: {v}"));
    }
}

pub(super) fn trace_response(rec: &mut Recorder, head: &http::response::Parts) {
    if !rec.tracing() {
        return;
    }
    rec.trace(format_args!(
        "Received {} {}",
        super::checks::proto_name(head.version),
        head.status
    ));
    for (name, value) in &head.headers {
        let text = String::from_utf8_lossy(value.as_bytes());
        let v = crate::redact::header_value(name.as_str(), &text);
        rec.trace(format_args!("  < {name}: {v}"));
    }
}
