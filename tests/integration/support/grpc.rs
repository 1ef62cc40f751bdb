//! A gRPC health peer: tonic's health service (a real, independent
//! implementation of `grpc.health.v1`) served by hyper on 127.0.0.1.

use std::sync::{Arc, Mutex};

use http::{HeaderMap, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tonic_health::server::HealthReporter;

/// A tonic health server on 127.0.0.1 (TLS with `tls`), recording each call's
/// request headers.
pub(crate) struct HealthPeer {
    pub(crate) addr: std::net::SocketAddr,
    pub(crate) reporter: HealthReporter,
    pub(crate) headers: Arc<Mutex<Vec<HeaderMap>>>,
}

pub(crate) async fn health_peer(tls: Option<Arc<rustls::ServerConfig>>) -> HealthPeer {
    let (reporter, service) = tonic_health::server::health_reporter();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let headers: Arc<Mutex<Vec<HeaderMap>>> = Arc::default();
    let seen = headers.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (service, seen, tls) = (service.clone(), seen.clone(), tls.clone());
            tokio::spawn(async move {
                // Records the headers, then hands the call to tonic's service
                // (always ready, so no poll_ready is needed).
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    seen.lock().unwrap().push(req.headers().clone());
                    let mut inner = service.clone();
                    async move { tower_service::Service::call(&mut inner, req).await }
                });
                let builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                match tls {
                    Some(cfg) => {
                        if let Ok(s) = TlsAcceptor::from(cfg).accept(stream).await {
                            let _ = builder.serve_connection(TokioIo::new(s), svc).await;
                        }
                    }
                    None => {
                        let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
                    }
                }
            });
        }
    });
    HealthPeer {
        addr,
        reporter,
        headers,
    }
}
