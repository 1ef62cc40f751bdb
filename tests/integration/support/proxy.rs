//! A tiny HTTP proxy: CONNECT tunnels and absolute-form requests, recording the
//! request line of each connection (and any Proxy-Authorization header line)
//! and each whole request head. It can listen over TLS (an `https://` proxy).
//! Hosts under `.test` and `.localhost` are reached on 127.0.0.1 without asking
//! DNS, so a target can be named by a host that only the proxy knows.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

pub(crate) struct Proxy {
    pub(crate) addr: SocketAddr,
    pub(crate) lines: Arc<Mutex<Vec<String>>>,
    pub(crate) heads: Arc<Mutex<Vec<String>>>,
    tls: bool,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    pub(crate) fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub(crate) fn request_lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Every request head received, as text.
    pub(crate) fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

pub(crate) async fn start() -> Proxy {
    start_with(None).await
}

/// A proxy that speaks TLS to its clients (`https://` proxy URL).
pub(crate) async fn start_tls(cfg: Arc<ServerConfig>) -> Proxy {
    start_with(Some(cfg)).await
}

async fn start_with(tls: Option<Arc<ServerConfig>>) -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let heads = Arc::new(Mutex::new(Vec::new()));
    let (l, h, acceptor) = (
        lines.clone(),
        heads.clone(),
        tls.clone().map(TlsAcceptor::from),
    );
    let task = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (l, h, acceptor) = (l.clone(), h.clone(), acceptor.clone());
            tokio::spawn(async move {
                match acceptor {
                    Some(a) => {
                        if let Ok(s) = a.accept(client).await {
                            handle(s, l, h).await;
                        }
                    }
                    None => handle(client, l, h).await,
                }
            });
        }
    });
    Proxy {
        addr,
        lines,
        heads,
        tls: tls.is_some(),
        task,
    }
}

/// `name.test:port` and `name.localhost:port` are reached on 127.0.0.1:port.
fn upstream(authority: &str) -> String {
    match authority.rsplit_once(':') {
        Some((host, port)) if host.ends_with(".test") || host.ends_with(".localhost") => {
            format!("127.0.0.1:{port}")
        }
        _ => authority.to_string(),
    }
}

async fn handle<S: AsyncRead + AsyncWrite + Unpin>(
    mut client: S,
    lines: Arc<Mutex<Vec<String>>>,
    heads: Arc<Mutex<Vec<String>>>,
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    heads.lock().unwrap().push(text.clone());
    let line = text.lines().next().unwrap_or_default().to_string();
    lines.lock().unwrap().push(line.clone());
    lines.lock().unwrap().extend(
        text.lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("proxy-authorization"))
            .map(str::to_string),
    );
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "CONNECT" {
        let Ok(mut upstream) = TcpStream::connect(upstream(target)).await else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
            return;
        };
        let _ = client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await;
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    } else {
        // Absolute-form: http://host:port/path
        let authority = target
            .strip_prefix("http://")
            .and_then(|r| r.split('/').next())
            .unwrap_or("");
        let Ok(mut upstream) = TcpStream::connect(upstream(authority)).await else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
            return;
        };
        let _ = upstream.write_all(&head).await;
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}
