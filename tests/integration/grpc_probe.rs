//! The grpc prober against tonic's health server (a real, independent
//! implementation of `grpc.health.v1`): BLACKBOX.md §4.1 rows 47–48, the deadline
//! Blackbox does not apply, metadata, TLS.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use outpost::config::{Prober, TlsSettings};
use outpost::probe::grpc::GrpcModule;
use tokio::net::TcpListener;
use tonic_health::ServingStatus;

use crate::support::certs::Ca;
use crate::support::grpc::health_peer;
use crate::support::metrics::{assert_absent, assert_metric, assert_outcome, assert_present};
use crate::support::server::tls_config;
use crate::support::{module, run, run_with};

fn grpc(m: GrpcModule) -> outpost::config::Module {
    module(Prober::Grpc(Box::new(m)))
}

fn serving_statuses(r: &outpost::probe::ProbeReport, on: &str) {
    for status in ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"] {
        let v = if status == on { 1.0 } else { 0.0 };
        assert_metric(
            r,
            "probe_grpc_healthcheck_response",
            &[("serving_status", status)],
            v,
        );
    }
}

// Row 47: SERVING, NOT_SERVING and an unknown service.
#[tokio::test]
async fn serving_not_serving_and_unknown_service() {
    let peer = health_peer(None).await;
    let target = peer.addr.to_string();
    let r = run(&grpc(GrpcModule::default()), &target).await;
    assert_outcome(&r, "success");
    serving_statuses(&r, "SERVING");
    assert_metric(&r, "probe_grpc_status_code", &[], 0.0);
    assert_metric(&r, "probe_grpc_ssl", &[], 0.0);
    assert_metric(&r, "probe_ip_protocol", &[], 4.0);
    assert_present(&r, "probe_grpc_duration_seconds");
    assert_absent(&r, "probe_tls_version_info");

    peer.reporter
        .set_service_status("shop.Cart", ServingStatus::NotServing)
        .await;
    let cart = grpc(GrpcModule {
        service: "shop.Cart".into(),
        ..GrpcModule::default()
    });
    let r = run(&cart, &target).await;
    assert_outcome(&r, "not_serving");
    serving_statuses(&r, "NOT_SERVING");
    assert_metric(&r, "probe_grpc_status_code", &[], 0.0);

    peer.reporter
        .set_service_status("shop.Cart", ServingStatus::Serving)
        .await;
    assert_outcome(&run(&cart, &target).await, "success");

    let unknown = grpc(GrpcModule {
        service: "shop.Nope".into(),
        ..GrpcModule::default()
    });
    let r = run(&unknown, &target).await;
    assert_outcome(&r, "grpc_status");
    // tonic answers NOT_FOUND for a service it does not know, as grpc-go does.
    assert_metric(&r, "probe_grpc_status_code", &[], 5.0);
    serving_statuses(&r, "");
}

// Row 48 and the TLS series Blackbox's grpc prober lacks.
#[tokio::test]
async fn tls_with_a_ca_and_plain_text_against_tls() {
    let ca = Ca::new();
    let leaf = ca.leaf(&["grpc.localhost"], &[], (2033, 5, 6));
    let peer = health_peer(Some(tls_config(&leaf, &[b"h2"], false))).await;
    let target = peer.addr.to_string();
    let secure = grpc(GrpcModule {
        tls: true,
        tls_config: TlsSettings {
            ca: Some(ca.roots()),
            server_name: Some("grpc.localhost".into()),
            ..TlsSettings::default()
        },
        ..GrpcModule::default()
    });
    let r = run(&secure, &target).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_grpc_ssl", &[], 1.0);
    assert_metric(&r, "probe_tls_version_info", &[("version", "TLS 1.3")], 1.0);
    assert_metric(
        &r,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );

    // Without the CA: the handshake fails, reported as Blackbox does (UNAVAILABLE).
    let untrusted = grpc(GrpcModule {
        tls: true,
        tls_config: TlsSettings {
            server_name: Some("grpc.localhost".into()),
            ..TlsSettings::default()
        },
        ..GrpcModule::default()
    });
    let r = run(&untrusted, &target).await;
    assert_outcome(&r, "tls");
    assert_metric(&r, "probe_grpc_status_code", &[], 14.0);

    // The `hostname` parameter names the TLS server.
    let by_param = grpc(GrpcModule {
        tls: true,
        tls_config: TlsSettings {
            ca: Some(ca.roots()),
            ..TlsSettings::default()
        },
        ..GrpcModule::default()
    });
    let r = run_with(
        &by_param,
        &target,
        Duration::from_secs(5),
        Some("grpc.localhost"),
    )
    .await;
    assert_outcome(&r, "success");

    // Cleartext HTTP/2 against a TLS server.
    let r = run(&grpc(GrpcModule::default()), &target).await;
    assert_outcome(&r, "grpc_status");
    assert_metric(&r, "probe_grpc_status_code", &[], 14.0);
    assert_metric(&r, "probe_grpc_ssl", &[], 0.0);
    assert_absent(&r, "probe_tls_version_info");
}

#[tokio::test]
async fn metadata_and_the_deadline_reach_the_server() {
    let peer = health_peer(None).await;
    let m = grpc(GrpcModule {
        metadata: vec![
            ("x-tenant".parse().unwrap(), "blue".parse().unwrap()),
            ("x-tenant".parse().unwrap(), "green".parse().unwrap()),
        ],
        ..GrpcModule::default()
    });
    let r = run_with(&m, &peer.addr.to_string(), Duration::from_secs(3), None).await;
    assert_outcome(&r, "success");
    let seen = peer.headers.lock().unwrap().clone();
    let h = &seen[0];
    let tenants: Vec<_> = h.get_all("x-tenant").iter().collect();
    assert_eq!(tenants, ["blue", "green"]);
    assert_eq!(h["content-type"], "application/grpc");
    // The run's deadline, as grpc-timeout in milliseconds (a little under 3 s).
    let timeout = h["grpc-timeout"].to_str().unwrap();
    let ms: u64 = timeout.strip_suffix('m').unwrap().parse().unwrap();
    assert!(ms <= 3000 && ms > 1000, "{timeout}");
}

/// An HTTP/2 server answering every request with `status` and no gRPC at all.
async fn plain_h2(status: u16) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req: Request<Incoming>| async move {
                    let mut resp = Response::new(Full::new(Bytes::new()));
                    *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
                    Ok::<_, Infallible>(resp)
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr.to_string()
}

// Row 48: no health service behind the path (HTTP 404 maps to UNIMPLEMENTED).
#[tokio::test]
async fn a_server_without_the_health_service() {
    let target = plain_h2(404).await;
    let r = run(&grpc(GrpcModule::default()), &target).await;
    assert_outcome(&r, "grpc_status");
    assert_metric(&r, "probe_grpc_status_code", &[], 12.0);

    // 200 without grpc-status is not a gRPC answer.
    let target = plain_h2(200).await;
    let r = run(&grpc(GrpcModule::default()), &target).await;
    assert_outcome(&r, "grpc_status");
    assert_metric(&r, "probe_grpc_status_code", &[], 13.0);
}

// Blackbox issues the call with no deadline; outpost's run ends at its timeout.
#[tokio::test]
async fn a_silent_server_fails_at_the_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            open.push(s);
        }
    });
    let r = run_with(
        &grpc(GrpcModule::default()),
        &addr.to_string(),
        Duration::from_millis(500),
        None,
    )
    .await;
    assert_outcome(&r, "timeout");
    held.abort();

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let r = run(&grpc(GrpcModule::default()), &closed.to_string()).await;
    assert_outcome(&r, "connect");
    assert_metric(&r, "probe_grpc_status_code", &[], 14.0);
    assert_outcome(
        &run(&grpc(GrpcModule::default()), "a b").await,
        "invalid_target",
    );
}
