//! The `query_response` dialogue of the tcp and unix probers against scripted
//! peers: BLACKBOX.md §4.1 rows 38–41 and 43, and outpost's departures (split
//! `expect_bytes`, STARTTLS injection, the failing step in the detail).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use outpost::config::{Config, Prober, TcpModule, TlsSettings};
use outpost::probe::query_response::QueryStep;
use outpost::probe::unix::UnixModule;
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio_rustls::TlsAcceptor;

use crate::support::certs::Ca;
use crate::support::metrics::{assert_absent, assert_metric, assert_outcome, assert_present};
use crate::support::server::tls_config;
use crate::support::{run, run_with, tcp_module};

/// What a scripted peer does, in order.
#[derive(Clone)]
enum Act {
    Send(&'static [u8]),
    /// Reads one line and records it (without the newline).
    ReadLine,
    Pause(Duration),
    StartTls(Arc<ServerConfig>),
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

type Lines = Arc<Mutex<Vec<String>>>;

async fn play(mut s: Box<dyn Stream>, script: Vec<Act>, lines: Lines) {
    for act in script {
        match act {
            Act::Send(b) => {
                if s.write_all(b).await.is_err() {
                    return;
                }
                let _ = s.flush().await;
            }
            Act::ReadLine => {
                let mut line = Vec::new();
                let mut byte = [0u8; 1];
                loop {
                    match s.read(&mut byte).await {
                        Ok(1) if byte[0] == b'\n' => break,
                        Ok(1) => line.push(byte[0]),
                        _ => return,
                    }
                }
                lines
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&line).into_owned());
            }
            Act::Pause(d) => tokio::time::sleep(d).await,
            Act::StartTls(cfg) => match TlsAcceptor::from(cfg).accept(s).await {
                Ok(tls) => s = Box::new(tls),
                Err(_) => return,
            },
        }
    }
    // Close only when the client does, so "no match" comes from the script's end.
    let mut rest = [0u8; 64];
    while matches!(s.read(&mut rest).await, Ok(n) if n > 0) {}
}

/// A TCP peer on 127.0.0.1 playing `script` on every connection.
async fn tcp_peer(script: Vec<Act>) -> (String, Lines) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let lines: Lines = Arc::default();
    let seen = lines.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(play(Box::new(s), script.clone(), seen.clone()));
        }
    });
    (addr, lines)
}

/// A Unix socket peer playing `script`; the socket lives in `dir`.
async fn unix_peer(dir: &Path, script: Vec<Act>) -> (String, Lines) {
    let path = dir.join("peer.sock");
    let l = UnixListener::bind(&path).unwrap();
    let lines: Lines = Arc::default();
    let seen = lines.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(play(Box::new(s), script.clone(), seen.clone()));
        }
    });
    (path.to_string_lossy().into_owned(), lines)
}

/// The steps of a `query_response` written in TOML, through the config loader.
fn steps(toml_steps: &str) -> Vec<QueryStep> {
    let text = format!("[modules.m]\nprober = \"tcp\"\n{toml_steps}");
    let config =
        Config::from_str_at(&text, Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
    match &config.modules["m"].prober {
        Prober::Tcp(t) => t.query_response.clone(),
        other => panic!("not tcp: {other:?}"),
    }
}

fn dialogue(toml_steps: &str) -> outpost::config::Module {
    tcp_module(TcpModule {
        query_response: steps(toml_steps),
        ..TcpModule::default()
    })
}

fn seen(lines: &Lines) -> Vec<String> {
    lines.lock().unwrap().clone()
}

const PING: &str = r#"
[[modules.m.tcp.query_response]]
send = "PING"
[[modules.m.tcp.query_response]]
expect = "^\\+PONG"
"#;

#[tokio::test]
async fn redis_style_ping_pong() {
    let (addr, lines) = tcp_peer(vec![Act::ReadLine, Act::Send(b"+PONG\r\n")]).await;
    let r = run(&dialogue(PING), &addr).await;
    assert_outcome(&r, "success");
    assert_eq!(seen(&lines), ["PING"]);
    assert_metric(&r, "probe_failed_due_to_regex", &[], 0.0);
    assert_metric(&r, "probe_failed_due_to_bytes", &[], 0.0);
}

// Row 39 and 43: the peer answers something else, then closes.
#[tokio::test]
async fn an_unmatched_expect_fails_naming_its_step() {
    let (addr, _) = tcp_peer(vec![Act::ReadLine, Act::Send(b"-ERR unknown\r\n")]).await;
    let module = dialogue(PING);
    // While the peer holds the connection open, lines may still come: the run
    // waits for one until its deadline.
    let r = run_with(&module, &addr, Duration::from_secs(1), None).await;
    assert_outcome(&r, "timeout");

    let (addr, _) = closing_peer(b"-ERR unknown\r\n").await;
    let r = run(&module, &addr).await;
    assert_outcome(&r, "expect_regex");
    assert_metric(&r, "probe_failed_due_to_regex", &[], 1.0);
    let detail = &r.failure.as_ref().unwrap().message;
    assert!(detail.contains("query_response[1]"), "{detail}");
    assert!(detail.contains("-ERR unknown"), "{detail}");
}

/// A peer that reads a line, writes `reply` and closes.
async fn closing_peer(reply: &'static [u8]) -> (String, Lines) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 256];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(reply).await;
            });
        }
    });
    (addr, Lines::default())
}

// Row 40: captures expand into send and into probe_expect_info.
#[tokio::test]
async fn ssh_banner_captures_into_send_and_labels() {
    let (addr, lines) = tcp_peer(vec![
        Act::Send(b"SSH-2.0-OpenSSH_6.9p1 Debian-2\r\n"),
        Act::ReadLine,
    ])
    .await;
    let m = dialogue(
        r#"
[[modules.m.tcp.query_response]]
expect = "^SSH-2.0-([^ -]+)(?: (.*))?$"
send = "CONFIRM ${1}"
labels = [{ name = "ssh_version", value = "${1}" }, { name = "ssh_comments", value = "${2}" }]
"#,
    );
    let r = run(&m, &addr).await;
    assert_outcome(&r, "success");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(seen(&lines), ["CONFIRM OpenSSH_6.9p1"]);
    assert_metric(
        &r,
        "probe_expect_info",
        &[
            ("ssh_version", "OpenSSH_6.9p1"),
            ("ssh_comments", "Debian-2"),
        ],
        1.0,
    );
}

const NOT_A_LINE: &str = r#"
[[modules.m.tcp.query_response]]
expect_bytes = "not-a-line"
"#;

// Row 41, and outpost reading until it has every expected byte.
#[tokio::test]
async fn expect_bytes_split_across_writes_mismatched_and_short() {
    let (addr, _) = tcp_peer(vec![
        Act::Send(b"not-"),
        Act::Pause(Duration::from_millis(100)),
        Act::Send(b"a-line"),
    ])
    .await;
    let r = run(&dialogue(NOT_A_LINE), &addr).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_failed_due_to_bytes", &[], 0.0);

    let (addr, _) = tcp_peer(vec![Act::Send(b"something-else")]).await;
    let r = run(&dialogue(NOT_A_LINE), &addr).await;
    assert_outcome(&r, "expect_bytes");
    assert_metric(&r, "probe_failed_due_to_bytes", &[], 1.0);
    assert!(r.failure.unwrap().message.contains("query_response[0]"));

    let (addr, _) = closing_peer(b"not").await;
    let m = dialogue(&format!(
        "[[modules.m.tcp.query_response]]\nsend = \"go\"\n{NOT_A_LINE}"
    ));
    let r = run(&m, &addr).await;
    assert_outcome(&r, "io");
    assert_metric(&r, "probe_failed_due_to_bytes", &[], 0.0);
}

const SMTP: &str = r#"
[[modules.m.tcp.query_response]]
expect = "^220 "
send = "EHLO outpost"
[[modules.m.tcp.query_response]]
expect = "^250 STARTTLS"
send = "STARTTLS"
[[modules.m.tcp.query_response]]
expect = "^220 "
starttls = true
[[modules.m.tcp.query_response]]
expect = "^250 secured"
"#;

fn smtp_script(tls: Arc<ServerConfig>, before_tls: &'static [u8]) -> Vec<Act> {
    vec![
        Act::Send(b"220 mail.localhost ESMTP\r\n"),
        Act::ReadLine,
        Act::Send(b"250-mail.localhost\r\n250 STARTTLS\r\n"),
        Act::ReadLine,
        Act::Send(before_tls),
        Act::StartTls(tls),
        Act::Send(b"250 secured\r\n"),
    ]
}

// Row 38: an SMTP banner, EHLO and STARTTLS, with the certificate series after.
#[tokio::test]
async fn smtp_starttls_upgrades_and_reports_the_certificate() {
    let ca = Ca::new();
    let leaf = ca.leaf(&["mail.localhost"], &[], (2035, 1, 2));
    let (addr, lines) = tcp_peer(smtp_script(
        tls_config(&leaf, &[], false),
        b"220 go ahead\r\n",
    ))
    .await;
    let m = tcp_module(TcpModule {
        query_response: steps(SMTP),
        tls_config: TlsSettings {
            ca: Some(ca.roots()),
            server_name: Some("mail.localhost".into()),
            ..TlsSettings::default()
        },
        ..TcpModule::default()
    });
    let r = run(&m, &addr).await;
    assert_outcome(&r, "success");
    assert_eq!(seen(&lines), ["EHLO outpost", "STARTTLS"]);
    assert_metric(
        &r,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );
    assert_metric(&r, "probe_tls_version_info", &[("version", "TLS 1.3")], 1.0);
    assert_present(&r, "probe_tls_cipher_info");

    // Without the CA the upgrade fails as tls, after the dialogue got there.
    let untrusted = tcp_module(TcpModule {
        query_response: steps(SMTP),
        tls_config: TlsSettings {
            server_name: Some("mail.localhost".into()),
            ..TlsSettings::default()
        },
        ..TcpModule::default()
    });
    let (addr, _) = tcp_peer(smtp_script(
        tls_config(&leaf, &[], false),
        b"220 go ahead\r\n",
    ))
    .await;
    assert_outcome(&run(&untrusted, &addr).await, "tls");
}

// Bytes sent in plain text after "220 go ahead" must not pass as TLS data.
#[tokio::test]
async fn starttls_refuses_bytes_sent_before_the_handshake() {
    let ca = Ca::new();
    let leaf = ca.leaf(&["mail.localhost"], &[], (2035, 1, 2));
    let (addr, _) = tcp_peer(smtp_script(
        tls_config(&leaf, &[], false),
        b"220 go ahead\r\n250 secured\r\n",
    ))
    .await;
    let m = tcp_module(TcpModule {
        query_response: steps(SMTP),
        tls_config: TlsSettings {
            ca: Some(ca.roots()),
            server_name: Some("mail.localhost".into()),
            ..TlsSettings::default()
        },
        ..TcpModule::default()
    });
    let r = run(&m, &addr).await;
    assert_outcome(&r, "tls");
    assert_absent(&r, "probe_tls_version_info");
    let detail = r.failure.unwrap().message;
    assert!(detail.contains("before the TLS handshake"), "{detail}");
}

fn unix_module(m: UnixModule) -> outpost::config::Module {
    crate::support::module(Prober::Unix(Box::new(m)))
}

#[tokio::test]
async fn unix_socket_dialogue_tls_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let (path, lines) = unix_peer(dir.path(), vec![Act::ReadLine, Act::Send(b"+PONG\r\n")]).await;
    let m = unix_module(UnixModule {
        query_response: steps(PING),
        ..UnixModule::default()
    });
    let r = run(&m, &path).await;
    assert_outcome(&r, "success");
    assert_eq!(seen(&lines), ["PING"]);
    assert_absent(&r, "probe_ip_protocol");

    let missing = dir.path().join("missing.sock");
    assert_outcome(&run(&m, &missing.to_string_lossy()).await, "connect");
    assert_outcome(&run(&m, "").await, "invalid_target");

    // TLS from the first byte over the socket, verified against its server name.
    let ca = Ca::new();
    let leaf = ca.leaf(&["app.internal"], &[], (2034, 3, 4));
    let tls_dir = tempfile::tempdir().unwrap();
    let (path, _) = unix_peer(
        tls_dir.path(),
        vec![
            Act::StartTls(tls_config(&leaf, &[], false)),
            Act::ReadLine,
            Act::Send(b"+PONG\r\n"),
        ],
    )
    .await;
    let tls = |server_name: Option<&str>| {
        unix_module(UnixModule {
            tls: true,
            tls_config: TlsSettings {
                ca: Some(ca.roots()),
                server_name: server_name.map(str::to_string),
                ..TlsSettings::default()
            },
            query_response: steps(PING),
        })
    };
    let r = run(&tls(Some("app.internal")), &path).await;
    assert_outcome(&r, "success");
    assert_metric(
        &r,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );
    // No default server name on a socket: refused before any handshake...
    let r = run(&tls(None), &path).await;
    assert_outcome(&r, "tls");
    assert!(r.failure.unwrap().message.contains("server_name"));
    // ... unless the `hostname` parameter gives one.
    let r = run_with(
        &tls(None),
        &path,
        Duration::from_secs(5),
        Some("app.internal"),
    )
    .await;
    assert_outcome(&r, "success");
}
