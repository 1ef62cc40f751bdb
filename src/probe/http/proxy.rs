//! Through a proxy: which proxy a request uses (`proxy_url` with `no_proxy`, or
//! `proxy_from_environment`), the connection to it (TLS for an `https://`
//! proxy, verified against the proxy's name with the module's `tls_config`
//! trust settings), and for https targets a CONNECT tunnel (credentials from the
//! proxy URL's userinfo, Basic, and the `proxy_connect_header` headers).

use std::net::SocketAddr;

use base64::Engine as _;
use http::Uri;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_util::either::Either;

use super::HttpModule;
use crate::probe::{net, tls, FailureReason, ProbeFailure, Recorder};

/// Limit on the proxy's answer to CONNECT.
const MAX_HEAD: usize = 64 * 1024;

/// The connection a request is written to: TCP, or TLS to an https proxy.
pub(super) type Transport = Either<TcpStream, TlsStream<TcpStream>>;

/// Whether any proxy setting could apply, so a run without one skips [`choose`]
/// and the formatting of its host.
pub(super) fn configured(module: &HttpModule) -> bool {
    module.proxy_options.from_environment.is_some() || module.proxy_url.is_some()
}

/// The proxy for a request to `host` (as Go's transport sees it: the resolved
/// IP on the first hop unless the proxy resolves, the URL's name after a
/// redirect) on `port`, if any.
pub(super) fn choose(module: &HttpModule, https: bool, host: &str, port: u16) -> Option<Uri> {
    let options = &module.proxy_options;
    if let Some(env) = &options.from_environment {
        let proxy = if https { &env.https } else { &env.http };
        return proxy
            .as_ref()
            .filter(|_| env.no_proxy.use_proxy(host, port))
            .cloned();
    }
    let proxy = module.proxy_url.as_ref()?;
    match &options.no_proxy {
        Some(no_proxy) if !no_proxy.use_proxy(host, port) => None,
        _ => Some(proxy.clone()),
    }
}

/// Connects to the proxy; for an https target, opens a CONNECT tunnel to
/// `tunnel_to` (`host:port`) first.
pub(super) async fn connect(
    proxy: &Uri,
    module: &HttpModule,
    tunnel_to: Option<&String>,
    rec: &mut Recorder,
) -> Result<Transport, ProbeFailure> {
    let host = proxy.host().unwrap_or_default();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let over_tls = proxy.scheme_str() == Some("https");
    let port = proxy.port_u16().unwrap_or(if over_tls { 443 } else { 80 });
    let ip = net::resolve_quiet(host, &module.ip, None)
        .await
        .map_err(|f| {
            ProbeFailure::new(
                FailureReason::Proxy,
                format!("resolving proxy {host}: {}", f.message),
            )
        })?;
    let (tcp, _) = net::connect_timed(SocketAddr::new(ip, port), module.ip.source_ip, rec).await?;
    let mut stream = if over_tls {
        Either::Right(proxy_tls(tcp, module, host, rec).await?)
    } else {
        Either::Left(tcp)
    };
    let Some(authority) = tunnel_to else {
        return Ok(stream);
    };
    let mut head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = authorization(proxy) {
        head.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    let mut head = head.into_bytes();
    for (name, value) in &module.proxy_options.connect_header {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    rec.trace(format_args!(
        "Opening a tunnel to {authority} through proxy {host}:{port}"
    ));
    stream
        .write_all(&head)
        .await
        .map_err(|e| ProbeFailure::new(FailureReason::Proxy, format!("writing CONNECT: {e}")))?;
    let answer = read_head(&mut stream).await?;
    let status_line = answer.lines().next().unwrap_or_default();
    let code = status_line.split_whitespace().nth(1).unwrap_or_default();
    if !code.starts_with('2') {
        return Err(ProbeFailure::new(
            FailureReason::Proxy,
            format!("proxy refused CONNECT {authority}: {status_line:?}"),
        ));
    }
    rec.trace(format_args!("Proxy answered {status_line:?}"));
    Ok(stream)
}

/// TLS to an https proxy. Go's transport uses the client's TLS settings for
/// it; the name verified is the proxy's (the module's `server_name` is the
/// target's). The proxy's certificate series are not the target's: they go to
/// a recorder of their own.
async fn proxy_tls(
    tcp: TcpStream,
    module: &HttpModule,
    host: &str,
    rec: &mut Recorder,
) -> Result<TlsStream<TcpStream>, ProbeFailure> {
    let settings = crate::config::TlsSettings {
        server_name: None,
        ..module.tls.clone()
    };
    let series = tls::SeriesOptions { cipher: false };
    let mut scratch = Recorder::new(false);
    let (stream, session) =
        tls::handshake(tcp, &settings, host, &[b"http/1.1"], series, &mut scratch)
            .await
            .map_err(|f| {
                ProbeFailure::new(
                    FailureReason::Proxy,
                    format!("TLS to the proxy: {}", f.message),
                )
            })?;
    rec.trace(format_args!(
        "TLS to proxy {host}: {} in {:.6}s",
        session.version,
        session.took.as_secs_f64()
    ));
    Ok(stream)
}

/// `Proxy-Authorization` from userinfo in the proxy URL, if any.
pub(super) fn authorization(proxy: &Uri) -> Option<String> {
    let authority = proxy.authority()?.as_str();
    let (userinfo, _) = authority.rsplit_once('@')?;
    let decoded = percent_decode(userinfo);
    Some(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(decoded)
    ))
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// Reads a response head (up to the blank line) without reading past it.
async fn read_head<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> Result<String, ProbeFailure> {
    let mut buf = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() >= MAX_HEAD {
            return Err(ProbeFailure::new(
                FailureReason::Proxy,
                "proxy answer to CONNECT too long",
            ));
        }
        let n = stream.read(&mut byte).await.map_err(|e| {
            ProbeFailure::new(FailureReason::Proxy, format!("reading CONNECT answer: {e}"))
        })?;
        if n == 0 {
            return Err(ProbeFailure::new(
                FailureReason::Proxy,
                "proxy closed the connection during CONNECT",
            ));
        }
        buf.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
