//! The listener's own limits: a request head past 64 KiB or 64 fields is answered
//! 431, and past `[server] max_connections` a new connection waits until one ends.

use std::time::Duration;

use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::daemon::{request, TestDaemon};

#[tokio::test]
async fn a_request_head_too_large_or_with_too_many_fields_is_answered_431() {
    let d = TestDaemon::start("").await;
    let big = "x".repeat(80 * 1024);
    let (status, _, _) = request(d.addr, "GET", "/-/healthy", &[("x-big", &big)]).await;
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let names: Vec<String> = (0..70).map(|i| format!("x-field-{i}")).collect();
    let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    let (status, _, _) = request(d.addr, "GET", "/-/healthy", &many).await;
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    // Within the limits: served.
    let ok: Vec<(&str, &str)> = many[..32].to_vec();
    let (status, _, _) = request(d.addr, "GET", "/-/healthy", &ok).await;
    assert_eq!(status, StatusCode::OK);
    d.stop().await;
}

/// One HTTP/1.0 GET on an open connection; the whole answer's status line.
async fn get(mut stream: TcpStream) -> String {
    stream
        .write_all(b"GET /-/healthy HTTP/1.0\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text).await;
    text.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn past_max_connections_a_new_connection_waits_for_a_free_one() {
    let d = TestDaemon::start("[server]\nmax_connections = 2\n").await;
    // Two connections that say nothing hold both slots.
    let idle_a = TcpStream::connect(d.addr).await.unwrap();
    let idle_b = TcpStream::connect(d.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A third is accepted by the kernel, not served.
    let third = tokio::spawn(get(TcpStream::connect(d.addr).await.unwrap()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!third.is_finished(), "served past max_connections");
    // One idle connection ends: the waiting one is served.
    drop(idle_a);
    let line = tokio::time::timeout(Duration::from_secs(5), third)
        .await
        .expect("the waiting connection was not served once a slot was free")
        .unwrap();
    assert_eq!(line, "HTTP/1.0 200 OK");
    drop(idle_b);
    d.stop().await;
}
