//! The tcp prober: BLACKBOX.md §4.1 rows 35–36.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use outpost::config::{TcpModule, TlsSettings};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::support::certs::Ca;
use crate::support::metrics::{
    assert_absent, assert_metric, assert_outcome, assert_present, labels_of,
};
use crate::support::server::tls_config;
use crate::support::{run, run_with, tcp_module};

/// Accepts connections (TLS when `tls` is set) and keeps them open briefly.
async fn listener(
    tls: Option<Arc<rustls::ServerConfig>>,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let tls = tls.clone();
            tokio::spawn(async move {
                if let Some(cfg) = tls {
                    let _ = TlsAcceptor::from(cfg).accept(s).await;
                }
            });
        }
    });
    (addr, task)
}

// Row 35.
#[tokio::test]
async fn connect_to_open_and_closed_ports() {
    let (addr, task) = listener(None).await;
    let m = tcp_module(TcpModule::default());
    let r = run(&m, &addr.to_string()).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_ip_protocol", &[], 4.0);
    assert_metric(&r, "probe_failed_due_to_regex", &[], 0.0);
    assert_metric(&r, "probe_failed_due_to_bytes", &[], 0.0);
    assert_absent(&r, "probe_tls_version_info");
    task.abort();

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    assert_outcome(&run(&m, &closed_addr.to_string()).await, "connect");
    assert_outcome(&run(&m, "127.0.0.1").await, "invalid_target");
    assert_outcome(&run(&m, "127.0.0.1:99999").await, "invalid_target");
}

// Row 36.
#[tokio::test]
async fn tls_names_and_certificate_series() {
    let ca = Ca::new();
    let leaf = ca.leaf(&["localhost"], &[], (2036, 7, 8));
    let (addr, task) = listener(Some(tls_config(&leaf, &[], true))).await;
    let roots = TlsSettings {
        ca: Some(ca.roots()),
        ..Default::default()
    };
    // The IP target is not in the certificate.
    let by_ip = tcp_module(TcpModule {
        tls: true,
        tls_config: roots.clone(),
        ..Default::default()
    });
    let r = run(&by_ip, &addr.to_string()).await;
    assert_outcome(&r, "tls");
    assert_metric(
        &r,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );

    let named = tcp_module(TcpModule {
        tls: true,
        tls_config: TlsSettings {
            server_name: Some("localhost".into()),
            ..roots.clone()
        },
        ..Default::default()
    });
    let r = run(&named, &addr.to_string()).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_tls_version_info", &[("version", "TLS 1.2")], 1.0);
    assert_metric(
        &r,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );
    assert_eq!(labels_of(&r, "probe_ssl_last_chain_info").len(), 1);
    // Blackbox 0.28 reports the cipher on tcp too (query_response.go).
    assert_present(&r, "probe_tls_cipher_info");

    // The `hostname` parameter fills in the server name.
    let r = run_with(
        &by_ip,
        &addr.to_string(),
        Duration::from_secs(5),
        Some("localhost"),
    )
    .await;
    assert_outcome(&r, "success");
    task.abort();
}

// An IP literal's address series.
#[tokio::test]
async fn ip_series_of_a_literal() {
    let (addr, task) = listener(None).await;
    let r = run(&tcp_module(TcpModule::default()), &addr.to_string()).await;
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let expected = outpost::probe::net::ip_hash(ip, outpost::probe::net::AddrSource::Literal);
    assert_metric(&r, "probe_ip_addr_hash", &[], f64::from(expected));
    task.abort();
}

// Row 42: `localhost` with each preference, and `source_ip_address`.
#[tokio::test]
async fn ip_protocol_preference_for_localhost() {
    use outpost::config::{IpProtocol, IpSettings};
    let v4 = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let v6 = TcpListener::bind("[::1]:0").await.unwrap();
    let (p4, p6) = (
        v4.local_addr().unwrap().port(),
        v6.local_addr().unwrap().port(),
    );
    let ip = |preferred, fallback| IpSettings {
        preferred,
        fallback,
        source_ip: None,
    };
    let cases = [
        (ip(IpProtocol::Ip4, true), p4, 4.0),
        (ip(IpProtocol::Ip4, false), p4, 4.0),
        (ip(IpProtocol::Ip6, true), p6, 6.0),
        (ip(IpProtocol::Ip6, false), p6, 6.0),
    ];
    for (settings, port, protocol) in cases {
        let m = tcp_module(TcpModule {
            ip: settings,
            ..Default::default()
        });
        let r = run(&m, &format!("localhost:{port}")).await;
        assert_outcome(&r, "success");
        assert_metric(&r, "probe_ip_protocol", &[], protocol);
    }
    let bound = tcp_module(TcpModule {
        ip: IpSettings {
            preferred: IpProtocol::Ip4,
            fallback: false,
            source_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        },
        ..Default::default()
    });
    assert_outcome(&run(&bound, &format!("localhost:{p4}")).await, "success");
    let wrong_family = tcp_module(TcpModule {
        ip: IpSettings {
            preferred: IpProtocol::Ip6,
            fallback: false,
            source_ip: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        },
        ..Default::default()
    });
    assert_outcome(
        &run(&wrong_family, &format!("localhost:{p6}")).await,
        "connect",
    );
}

/// A train of connects (`packets` > 1, connect-only): each connect made is an
/// answered packet with its RTT; to a closed port every one is refused, and the
/// run fails with `connect` and a loss of 1. One connect has no train series.
#[tokio::test]
async fn connect_trains() {
    use outpost::probe::packets::PacketSettings;
    let train = |count| {
        tcp_module(TcpModule {
            packets: PacketSettings {
                count,
                interval: Duration::from_millis(10),
            },
            ..Default::default()
        })
    };
    let (addr, _task) = listener(None).await;
    let r = run(&train(10), &addr.to_string()).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_packets_sent", &[], 10.0);
    assert_metric(&r, "probe_packets_received", &[], 10.0);
    assert_metric(&r, "probe_packet_loss_ratio", &[], 0.0);
    assert_metric(&r, "probe_packets_duplicated", &[], 0.0);
    let stat = |s| r.value("probe_rtt_seconds", &[("stat", s)]).unwrap();
    assert!(0.0 < stat("min") && stat("min") <= stat("avg") && stat("avg") <= stat("max"));
    assert!(stat("max") < 0.05 && stat("stddev") >= 0.0);
    assert_eq!(r.packets.as_ref().unwrap().rtts.len(), 10);

    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    let r = run(&train(3), &closed_addr.to_string()).await;
    assert_outcome(&r, "connect");
    assert_metric(&r, "probe_packets_sent", &[], 3.0);
    assert_metric(&r, "probe_packets_received", &[], 0.0);
    assert_metric(&r, "probe_packet_loss_ratio", &[], 1.0);
    assert_absent(&r, "probe_rtt_seconds");

    let r = run(&train(1), &addr.to_string()).await;
    assert_outcome(&r, "success");
    assert_absent(&r, "probe_packets_sent");
    assert!(r.packets.is_none());
}
