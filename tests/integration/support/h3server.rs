//! An in-process HTTP/3 server: quinn + h3 on a loopback UDP port, with an
//! rcgen certificate, answering each request from a handler.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::task::JoinHandle;

use super::certs::Leaf;

/// What the server answers: status, headers, body.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) body: Bytes,
}

pub(crate) fn answer(status: u16, headers: &[(&'static str, &str)], body: &str) -> Answer {
    Answer {
        status,
        headers: headers.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        body: Bytes::from(body.to_string()),
    }
}

type Handler = Arc<dyn Fn(&http::Request<()>) -> Answer + Send + Sync>;

pub(crate) struct H3Server {
    pub(crate) addr: SocketAddr,
    /// `METHOD URI` of every request seen, in order.
    pub(crate) seen: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for H3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn endpoint(bind: SocketAddr, leaf: &Leaf) -> quinn::Endpoint {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(leaf.chain.clone(), leaf.key.clone_key())
        .unwrap();
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let quic = quinn::crypto::rustls::QuicServerConfig::try_from(tls).unwrap();
    let config = quinn::ServerConfig::with_crypto(Arc::new(quic));
    quinn::Endpoint::server(config, bind).unwrap()
}

/// Serves HTTP/3 on `bind` (port 0 for any) with `leaf`'s chain.
pub(crate) fn serve_h3(
    bind: SocketAddr,
    leaf: &Leaf,
    handler: impl Fn(&http::Request<()>) -> Answer + Send + Sync + 'static,
) -> H3Server {
    let endpoint = endpoint(bind, leaf);
    let addr = endpoint.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler: Handler = Arc::new(handler);
    let task = tokio::spawn(accept_loop(endpoint, handler, seen.clone()));
    H3Server { addr, seen, task }
}

async fn accept_loop(endpoint: quinn::Endpoint, handler: Handler, seen: Arc<Mutex<Vec<String>>>) {
    while let Some(incoming) = endpoint.accept().await {
        let (handler, seen) = (handler.clone(), seen.clone());
        tokio::spawn(async move {
            let Ok(conn) = incoming.await else { return };
            let Ok(mut h3c) =
                h3::server::Connection::<_, Bytes>::new(h3_quinn::Connection::new(conn)).await
            else {
                return;
            };
            while let Ok(Some(resolver)) = h3c.accept().await {
                let Ok((req, mut stream)) = resolver.resolve_request().await else {
                    continue;
                };
                seen.lock()
                    .unwrap()
                    .push(format!("{} {}", req.method(), req.uri()));
                let a = handler(&req);
                let mut resp = http::Response::builder().status(a.status);
                for (k, v) in &a.headers {
                    resp = resp.header(*k, v);
                }
                let _ = stream.send_response(resp.body(()).unwrap()).await;
                if !a.body.is_empty() {
                    let _ = stream.send_data(a.body).await;
                }
                let _ = stream.finish().await;
            }
        });
    }
}

/// A QUIC server (ALPN `h3`) that does not speak HTTP/3: it completes the
/// handshake, then closes the connection with H3_GENERAL_PROTOCOL_ERROR as soon
/// as the client opens a request stream.
pub(crate) fn serve_broken_h3(bind: SocketAddr, leaf: &Leaf) -> H3Server {
    let endpoint = endpoint(bind, leaf);
    let addr = endpoint.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            tokio::spawn(async move {
                let Ok(conn) = incoming.await else { return };
                if conn.accept_bi().await.is_ok() {
                    conn.close(quinn::VarInt::from_u32(0x101), b"not http/3");
                }
                conn.closed().await;
            });
        }
    });
    H3Server {
        addr,
        seen: Arc::default(),
        task,
    }
}
