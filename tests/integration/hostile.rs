//! Hostile targets: each speaks broken or malicious HTTP from a raw socket. Every
//! one must fail its own probe with a precise reason, within the deadline, without
//! a panic; none may make the prober hold more than a bounded amount of memory.

use std::time::Duration;

use outpost::config::{Compression, HttpModule};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::metrics::assert_outcome;
use crate::support::{http_module, run_with};

/// What the raw server does after reading the request head.
#[derive(Clone, Copy)]
enum Script {
    /// Write these bytes, then close.
    Send(&'static [u8]),
    /// Write these bytes, then keep the connection open and silent.
    SendThenHang(&'static [u8]),
    /// Send a status line, then header lines forever.
    EndlessHeaders,
}

async fn raw_server(script: Script) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                match script {
                    Script::Send(bytes) => {
                        let _ = stream.write_all(bytes).await;
                    }
                    Script::SendThenHang(bytes) => {
                        let _ = stream.write_all(bytes).await;
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    Script::EndlessHeaders => {
                        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n").await;
                        loop {
                            if stream
                                .write_all(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n")
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

async fn probe(script: Script, module: HttpModule, scheme: &str) -> outpost::probe::ProbeReport {
    let addr = raw_server(script).await;
    let m = http_module(HttpModule {
        tls: outpost::config::TlsSettings {
            insecure_skip_verify: true,
            ..Default::default()
        },
        ..module
    });
    run_with(
        &m,
        &format!("{scheme}://{addr}/"),
        Duration::from_secs(2),
        None,
    )
    .await
}

#[tokio::test]
async fn garbage_instead_of_http_fails_as_http() {
    let r = probe(
        Script::Send(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"),
        HttpModule::default(),
        "http",
    )
    .await;
    assert_outcome(&r, "http");
    assert_eq!(r.value("probe_http_status_code", &[]), Some(0.0));
}

#[tokio::test]
async fn a_closed_connection_without_an_answer_fails_as_http() {
    let r = probe(Script::Send(b""), HttpModule::default(), "http").await;
    assert_outcome(&r, "http");
}

#[tokio::test]
async fn silence_after_connect_fails_at_the_deadline() {
    let r = probe(Script::SendThenHang(b""), HttpModule::default(), "http").await;
    assert_outcome(&r, "timeout");
    assert_eq!(r.timeout, Duration::from_secs(2));
}

#[tokio::test]
async fn a_head_that_never_ends_is_cut_off() {
    let r = probe(Script::EndlessHeaders, HttpModule::default(), "http").await;
    assert_outcome(&r, "http");
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_fails() {
    let r = probe(
        Script::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b"),
        HttpModule::default(),
        "http",
    )
    .await;
    assert_outcome(&r, "io");
    assert_eq!(r.value("probe_http_status_code", &[]), Some(200.0));
    assert_eq!(r.value("probe_http_content_length", &[]), Some(100.0));
}

#[tokio::test]
async fn broken_chunked_encoding_fails() {
    let r = probe(
        Script::Send(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        ),
        HttpModule::default(),
        "http",
    )
    .await;
    assert_outcome(&r, "io");
}

#[tokio::test]
async fn a_body_that_is_not_what_its_encoding_says_fails_to_decompress() {
    let r = probe(
        Script::Send(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 12\r\n\r\nnot gzip!!!!",
        ),
        HttpModule {
            compression: Some(Compression::Gzip),
            ..HttpModule::default()
        },
        "http",
    )
    .await;
    assert_outcome(&r, "decompression");
}

#[tokio::test]
async fn plain_text_where_tls_was_expected_fails_as_tls() {
    let r = probe(
        Script::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        HttpModule::default(),
        "https",
    )
    .await;
    assert_outcome(&r, "tls");
    assert_eq!(r.value("probe_http_ssl", &[]), Some(0.0));
}

#[tokio::test]
async fn a_tls_handshake_that_stalls_fails_at_the_deadline() {
    // Accepts TCP, then says nothing: the ClientHello is never answered.
    let r = probe(Script::SendThenHang(b""), HttpModule::default(), "https").await;
    assert_outcome(&r, "timeout");
}
