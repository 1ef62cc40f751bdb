//! The HTTP side: `/metrics`, `/probe`, `/-/reload`, `/-/healthy`, `/-/ready`,
//! the status page `/` and its JSON twin `/api/v1/status`. [`serve`] runs on any listener, a real port in the daemon and
//! port 0 in tests, until `shutdown` is cancelled.
//!
//! With `[server.tls_server_config]` each accepted connection is handshaken first;
//! with `[server.basic_auth_users]` every request, whatever its path, needs
//! credentials ([`auth`]). Both are read from the running configuration for each
//! new connection and request, so a reload applies to what comes next.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::metrics::encode::Format;

mod auth;
mod metrics_body;
pub(crate) mod probe_endpoint;
mod status;

/// How long open connections get to finish once shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// How long a client has to send a request head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request head (request line and headers) the listener reads; a
/// larger one is answered 431. Prometheus sends well under 1 KiB.
pub const MAX_REQUEST_HEAD: usize = 64 * 1024;

/// The most header fields in a request; more are answered 431.
pub const MAX_REQUEST_HEADERS: usize = 64;

/// How long a client has to complete the TLS handshake, for the same reason.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Every answer's body: a whole page ([`respond`]) or the streamed `/metrics`.
type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Serves until `shutdown` is cancelled, then stops accepting and gives open
/// connections [`SHUTDOWN_GRACE`] to finish.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // A client that opens a connection and trickles its request head cannot hold
    // it open forever: the head must arrive within HEADER_READ_TIMEOUT.
    // Nor send a head without end: MAX_REQUEST_HEAD bytes, MAX_REQUEST_HEADERS fields.
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_REQUEST_HEAD)
        .max_headers(MAX_REQUEST_HEADERS);
    builder
        .http2()
        .max_header_list_size(MAX_REQUEST_HEAD as u32);
    // At most max_connections at once; the next waits in the backlog, so a flood of
    // connections costs the kernel's queue, not outpost's memory.
    let connections = Arc::new(tokio::sync::Semaphore::new(
        app.config().server.max_connections,
    ));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let auth =
        Arc::new(auth::Authenticator::new().map_err(|_| {
            std::io::Error::other("no system randomness for the basic auth cache key")
        })?);
    loop {
        let slot = tokio::select! {
            () = shutdown.cancelled() => break,
            slot = connections.clone().acquire_owned() => slot,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "Accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // The configuration of the moment: a reload applies to the next connection.
        let tls = app.config().server.tls.clone();
        let app = app.clone();
        let auth = auth.clone();
        let service = service_fn(move |req| {
            let (app, auth) = (app.clone(), auth.clone());
            async move { Ok::<_, Infallible>(guarded(app, &auth, req).await) }
        });
        let (builder, watcher) = (builder.clone(), graceful.watcher());
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let result = match tls {
                None => {
                    let conn =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(conn.into_owned()).await
                }
                Some(tls) => {
                    let Some(stream) = handshake(stream, &tls.rustls, &shutdown).await else {
                        return;
                    };
                    let conn =
                        builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
                    watcher.watch(conn.into_owned()).await
                }
            };
            if let Err(e) = result {
                tracing::debug!(peer = %peer, error = %e, "Connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("Connections still open after the shutdown grace period; closing them");
        }
    }
    Ok(())
}

/// The TLS handshake on an accepted connection, within [`TLS_HANDSHAKE_TIMEOUT`].
/// A failed or late one closes this connection only.
async fn handshake(
    stream: TcpStream,
    config: &Arc<rustls::ServerConfig>,
    shutdown: &CancellationToken,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let peer = stream.peer_addr().ok();
    let accept = tokio_rustls::TlsAcceptor::from(config.clone()).accept(stream);
    let outcome = tokio::select! {
        () = shutdown.cancelled() => return None,
        outcome = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, accept) => outcome,
    };
    match outcome {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(e)) => {
            tracing::debug!(peer = ?peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(peer = ?peer, timeout = ?TLS_HANDSHAKE_TIMEOUT, "TLS handshake timed out");
            None
        }
    }
}

/// [`route`] behind basic auth, when the running configuration has users.
async fn guarded(
    app: Arc<App>,
    auth: &auth::Authenticator,
    req: Request<Incoming>,
) -> Response<Body> {
    if let Some(users) = app.config().server.basic_auth_users.clone() {
        if !auth.check(&users, req.headers()).await {
            return auth::unauthorized();
        }
    }
    route(app, req).await
}

async fn route(app: Arc<App>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    match (req.method(), path.as_str()) {
        (&Method::GET | &Method::HEAD, "/metrics") => metrics(&app, &req),
        (&Method::GET | &Method::HEAD, "/probe") => probe_endpoint::handle(&app, &req).await,
        (&Method::POST | &Method::PUT, "/-/reload") => reload(&app).await,
        (_, "/-/reload") => text(
            StatusCode::METHOD_NOT_ALLOWED,
            "This endpoint requires a POST request.\n",
        ),
        (&Method::GET | &Method::HEAD, "/-/healthy") => text(StatusCode::OK, "Healthy\n"),
        (&Method::GET | &Method::HEAD, "/-/ready") => text(StatusCode::OK, "Ready\n"),
        (&Method::GET | &Method::HEAD, "/") => status::page(&app, &req),
        (&Method::GET | &Method::HEAD, "/api/v1/status") => status::api(&app, &req),
        (_, "/metrics" | "/probe" | "/-/healthy" | "/-/ready" | "/" | "/api/v1/status") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.\n")
        }
        _ => text(StatusCode::NOT_FOUND, "Not found.\n"),
    }
}

fn metrics(app: &App, req: &Request<Incoming>) -> Response<Body> {
    let format = Format::negotiate(
        req.headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok()),
    );
    let body = metrics_body::stream(format, app.sources());
    with_type(StatusCode::OK, format.content_type(), body.boxed_unsync())
}

async fn reload(app: &App) -> Response<Body> {
    match app.reload().await {
        Ok(s) => text(
            StatusCode::OK,
            &format!(
                "Configuration reloaded: {} probes kept, {} added, {} changed, {} removed.\n",
                s.kept, s.added, s.changed, s.removed
            ),
        ),
        Err(errors) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Configuration not reloaded; the running configuration stays.\n{errors}\n"),
        ),
    }
}

pub(crate) fn text(status: StatusCode, body: &str) -> Response<Body> {
    respond(status, "text/plain; charset=utf-8", body.to_string())
}

pub(crate) fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Response<Body> {
    with_type(
        status,
        content_type,
        Full::new(Bytes::from(body)).boxed_unsync(),
    )
}

fn with_type(status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    resp
}
