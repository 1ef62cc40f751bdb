//! A target for benches/timing_fidelity.sh: an HTTP/1.1 server on 127.0.0.1 that
//! answers `GET /<ms>/<id>` with `200 ok` after sleeping `<ms>` milliseconds, and
//! prints one line per request, `<id> <ms> <held_ns>`, where `held_ns` is what the
//! server itself measured between reading the request head and handing the
//! response to the kernel. That measured hold, not the nominal delay, is the
//! truth a prober's `processing` phase is compared with: it already includes any
//! oversleep of this server's own timer, so only the prober's error remains.
//!
//! `cargo run --release --example delay_target -- 127.0.0.1:0` prints
//! `listening <addr>` first. Loopback only; nothing here is part of outpost.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\nconnection: close\r\n\r\nok\n";

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    let listener = TcpListener::bind(&addr).await?;
    if !listener.local_addr()?.ip().is_loopback() {
        return Err(std::io::Error::other(
            "delay_target listens on loopback only",
        ));
    }
    println!("listening {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(serve(stream));
    }
}

/// One connection, one request: read the head, hold, answer, report.
async fn serve(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    let received = Instant::now();
    let Some((ms, id)) = parse_target(&head) else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        return;
    };
    tokio::time::sleep(Duration::from_millis(ms)).await;
    let answered = Instant::now();
    if stream.write_all(RESPONSE).await.is_ok() {
        println!("{id} {ms} {}", (answered - received).as_nanos());
    }
    let _ = stream.shutdown().await;
}

/// The request head (up to the blank line), or `None` if the peer closed or sent
/// more than 8 KiB without one.
async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() + n > 8192 {
            return None;
        }
        buf.extend_from_slice(chunk.get(..n)?);
    }
    String::from_utf8(buf).ok()
}

/// `GET /<ms>/<id> HTTP/1.1` → (ms, id).
fn parse_target(head: &str) -> Option<(u64, String)> {
    let path = head.lines().next()?.split(' ').nth(1)?;
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let ms = parts.next()?.parse().ok()?;
    let id = parts.next()?.to_string();
    Some((ms, id))
}
