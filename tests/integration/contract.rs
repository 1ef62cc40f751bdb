//! The public interface, spelled out literally: metric names, failure reasons and
//! the common series every prober emits. A rename here is a breaking change for
//! dashboards and alerts, so it must be deliberate and show in this file's diff.

use std::net::SocketAddr;
use std::time::Duration;

use outpost::config::{
    DnsModule, HttpModule, IcmpModule, IpProtocol, IpSettings, Module, MysqlModule, TcpModule,
    Transport,
};
use outpost::metrics::encode::Format;
use outpost::metrics::names;
use outpost::probe::grpc::GrpcModule;
use outpost::probe::http::HttpPhase;
use outpost::probe::{self, FailureReason, ProbeContext, ProberKind};

use crate::support::daemon::target_server;
use crate::support::dns::{reply, Responder};
use crate::support::{dns_module, http_module, module, tcp_module};

const BLACKBOX_SERIES: &[&str] = &[
    "probe_success",
    "probe_duration_seconds",
    "probe_timeout_seconds",
    "probe_dns_lookup_time_seconds",
    "probe_ip_protocol",
    "probe_ip_addr_hash",
    "probe_failed_due_to_regex",
    "probe_failed_due_to_bytes",
    "probe_expect_info",
    "probe_http_duration_seconds",
    "probe_http_status_code",
    "probe_http_content_length",
    "probe_http_uncompressed_body_length",
    "probe_http_redirects",
    "probe_http_ssl",
    "probe_http_version",
    "probe_http_last_modified_timestamp_seconds",
    "probe_grpc_duration_seconds",
    "probe_grpc_status_code",
    "probe_grpc_healthcheck_response",
    "probe_grpc_ssl",
    "probe_failed_due_to_cel",
    "probe_ssl_earliest_cert_expiry",
    "probe_ssl_last_chain_expiry_timestamp_seconds",
    "probe_ssl_last_chain_info",
    "probe_tls_version_info",
    "probe_tls_cipher_info",
    "probe_dns_duration_seconds",
    "probe_dns_answer_rrs",
    "probe_dns_authority_rrs",
    "probe_dns_additional_rrs",
    "probe_dns_query_succeeded",
    "probe_dns_serial",
    "probe_icmp_duration_seconds",
    "probe_icmp_reply_hop_limit",
    "probe_mysql_duration_seconds",
    "probe_mysql_server_info",
    "probe_mysql_query_rows",
    "probe_mysql_replica_lag_seconds",
];

const OUTPOST_SERIES: &[&str] = &[
    // The postgres prober's own (no Blackbox prober covers databases).
    "probe_postgres_duration_seconds",
    "probe_postgres_ssl",
    "probe_postgres_server_info",
    "probe_postgres_query_rows",
    "probe_postgres_in_recovery",
    // Packet trains (icmp with `packets` > 1): the run's, then across runs.
    "probe_packets_sent",
    "probe_packets_received",
    "probe_packets_duplicated",
    "probe_packets_late",
    "probe_packet_loss_ratio",
    "probe_rtt_seconds",
    "probe_packets_sent_total",
    "probe_packets_received_total",
    "probe_packet_rtt_seconds",
    "probe_runs_total",
    "probe_failures_total",
    "probe_run_duration_seconds",
    "probe_addresses",
    "probe_addresses_skipped",
    "probe_address_changes_total",
    "outpost_build_info",
    "outpost_config_last_reload_successful",
    "outpost_config_last_reload_success_timestamp_seconds",
    "outpost_probes",
    "outpost_probes_in_flight",
    "outpost_shard_index",
    "outpost_shard_count",
    "outpost_scheduler_lag_seconds",
    "outpost_scheduler_skipped_runs_total",
    "outpost_probe_requests_total",
    // [[discover]]'s own.
    "outpost_discovery_probes",
    "outpost_discovery_resources_skipped",
    "outpost_discovery_changes_total",
    "outpost_discovery_last_update_timestamp_seconds",
    "outpost_module_unknown_total",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_start_time_seconds",
    "process_open_fds",
    "process_max_fds",
    "process_threads",
];

const AWS_SERIES: &[&str] = &[
    "aws_rds_instance_info",
    "aws_rds_instance_status",
    "aws_rds_multi_az",
    "aws_rds_storage_encrypted",
    "aws_rds_backup_retention_period_seconds",
    "aws_rds_deletion_protection",
    "aws_rds_performance_insights_enabled",
    "aws_rds_enhanced_monitoring_interval_seconds",
    "aws_rds_allocated_storage_bytes",
    "aws_rds_max_allocated_storage_bytes",
    "aws_rds_publicly_accessible",
    "aws_rds_auto_minor_version_upgrade",
    "aws_rds_certificate_expiry_timestamp_seconds",
    "aws_rds_pending_maintenance_actions",
    "aws_elbv2_load_balancer_info",
    "aws_elbv2_load_balancer_state",
    "aws_elbv2_target_group_targets",
    "aws_elbv2_target_health",
    "aws_autoscaling_group_info",
    "aws_autoscaling_group_desired_capacity",
    "aws_autoscaling_group_min_size",
    "aws_autoscaling_group_max_size",
    "aws_autoscaling_group_in_service_instances",
    "aws_autoscaling_group_instances",
    "outpost_aws_scrape_success",
    "outpost_aws_scrape_duration_seconds",
    "outpost_aws_scrape_last_success_timestamp_seconds",
    "outpost_aws_api_calls_total",
    "outpost_aws_api_errors_total",
    "outpost_aws_cloudwatch_metrics_requested_total",
    "aws_cloudwatch_datapoint_age_seconds",
    "aws_applicationelb_request_count_sum",
    "aws_applicationelb_httpcode_target_5xx_count_sum",
    "aws_applicationelb_httpcode_elb_5xx_count_sum",
    "aws_applicationelb_httpcode_target_4xx_count_sum",
    "aws_applicationelb_target_response_time_average",
    "aws_applicationelb_target_response_time_maximum",
    "aws_applicationelb_rejected_connection_count_sum",
    "aws_applicationelb_healthy_host_count_minimum",
    "aws_applicationelb_un_healthy_host_count_maximum",
    "aws_rds_cpuutilization_average",
    "aws_rds_free_storage_space_average",
    "aws_rds_freeable_memory_average",
    "aws_rds_database_connections_average",
    "aws_rds_read_latency_average",
    "aws_rds_write_latency_average",
    "aws_rds_replica_lag_average",
    "aws_rds_burst_balance_average",
    "aws_ec2_cpuutilization_average",
];

/// The `reason` values of `probe_failures_total`.
const FAILURE_REASONS: &[&str] = &[
    "timeout",
    "invalid_target",
    "resolve",
    "connect",
    "proxy",
    "oauth2",
    "tls",
    "http",
    "http_status",
    "http_version",
    "too_many_redirects",
    "ssl_required",
    "ssl_forbidden",
    "header_regex",
    "body_regex",
    "body_cel",
    "body_too_large",
    "decompression",
    "expect_regex",
    "expect_bytes",
    "dns_rcode",
    "dns_rr_validation",
    "grpc_status",
    "not_serving",
    "auth",
    "query",
    "query_result",
    "too_many_connections",
    "database_not_found",
    "server_error",
    "protocol",
    "io",
    "denied",
];

#[test]
fn metric_names_are_exactly_the_published_ones() {
    let mut expected: Vec<&str> = BLACKBOX_SERIES
        .iter()
        .chain(OUTPOST_SERIES)
        .chain(AWS_SERIES)
        .copied()
        .collect();
    let mut actual: Vec<&str> = names::all().iter().map(|f| f.name).collect();
    expected.sort_unstable();
    actual.sort_unstable();
    assert_eq!(actual, expected);
}

/// The `phase` values of `probe_http_duration_seconds`: Blackbox's, literally.
#[test]
fn http_phase_labels_are_exactly_blackboxs() {
    let actual: Vec<&str> = HttpPhase::BLACKBOX.iter().map(|p| p.as_label()).collect();
    assert_eq!(
        actual,
        ["resolve", "connect", "tls", "processing", "transfer"]
    );
}

#[test]
fn outcome_labels_are_exactly_the_published_ones() {
    let actual: Vec<&str> = FailureReason::ALL.iter().map(|r| r.as_label()).collect();
    assert_eq!(actual, FAILURE_REASONS);
}

/// Every reason is one some prober produces, and no prober lists one twice.
/// `denied` is `/probe`'s target policy, answered 403 and never a series, so no
/// prober lists it (and none may).
#[test]
fn every_outcome_belongs_to_a_prober() {
    for kind in ProberKind::ALL {
        assert!(
            !kind.outcomes().contains(&FailureReason::Denied),
            "{kind:?}"
        );
    }
    for reason in FailureReason::ALL
        .iter()
        .filter(|r| **r != FailureReason::Denied)
    {
        assert!(
            ProberKind::ALL
                .iter()
                .any(|k| k.outcomes().contains(reason)),
            "no prober produces {reason}"
        );
    }
    for kind in ProberKind::ALL {
        let mut seen = kind.outcomes().to_vec();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(
            seen.len(),
            kind.outcomes().len(),
            "{kind} repeats an outcome"
        );
    }
}

/// The row of `docs/metrics.md` whose first cell is `` `name` ``.
fn doc_row<'d>(docs: &'d str, name: &str) -> Option<Vec<&'d str>> {
    let cell = format!("| `{name}` |");
    docs.lines()
        .find(|l| l.starts_with(&cell))
        .map(|l| l.split('|').map(str::trim).collect())
}

#[test]
fn every_series_and_outcome_is_documented() {
    let docs = std::fs::read_to_string("docs/metrics.md").unwrap();
    for name in BLACKBOX_SERIES
        .iter()
        .chain(OUTPOST_SERIES)
        .chain(AWS_SERIES)
    {
        assert!(
            doc_row(&docs, name).is_some(),
            "docs/metrics.md has no row for {name}"
        );
    }
    for outcome in FAILURE_REASONS {
        assert!(
            docs.contains(&format!("| `{outcome}` |")),
            "docs/metrics.md does not document outcome {outcome}"
        );
    }
    for family in names::all() {
        assert!(
            !family.help.is_empty() && family.help.ends_with('.'),
            "{} needs a help sentence",
            family.name
        );
    }
    assert_eq!(
        names::describe("probe_success").map(|f| f.help),
        Some("Whether the probe succeeded (1) or failed (0).")
    );
    assert_eq!(names::describe("no_such_series"), None);
}

/// Every source `/metrics` walks writes only the families it declares, and
/// every declared family is published and documented: nothing reaches the page
/// without a row in docs/metrics.md.
#[tokio::test]
async fn every_metrics_source_keeps_its_contract() {
    let peer = target_server().await;
    // [aws] against a closed loopback port: the AWS sources are registered (and
    // their scrapes fail) without any request leaving this machine.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let options = outpost::daemon::Options {
        aws: crate::support::moto::options_for(
            format!("http://{}", closed.local_addr().unwrap()),
            std::sync::Arc::default(),
        ),
        ..outpost::daemon::Options::default()
    };
    let d = crate::support::daemon::TestDaemon::start_with(
        &format!(
            r#"
[aws]
regions = ["eu-west-1"]

[aws.cloudwatch]

[modules.http_2xx]
prober = "http"

[[discover]]
name = "alb"
service = "elbv2"
module = "http_2xx"
target = "http://{{dns_name}}/"
interval = "1s"

[[probes]]
name = "up"
module = "http_2xx"
target = "http://{peer}/ok"
interval = "1s"
"#
        ),
        options,
    )
    .await;
    d.metrics_when(Duration::from_secs(5), |m| m.contains("probe_success{"))
        .await;
    let app = d.daemon.as_ref().unwrap().app.clone();
    let docs = std::fs::read_to_string("docs/metrics.md").unwrap();
    let published: Vec<&str> = names::all().iter().map(|f| f.name).collect();
    let sources = app.sources();
    // Probes, daemon, process, discovery, one cache per AWS service and
    // CloudWatch's, AWS scrape health.
    assert_eq!(sources.len(), 4 + 3 + 1 + 1, "{sources:?}");
    for source in &sources {
        for format in [Format::Text, Format::OpenMetrics] {
            assert_eq!(
                outpost::metrics::source::undeclared(source.as_ref(), format),
                Vec::<String>::new(),
                "{source:?}"
            );
        }
        for family in source.families() {
            assert!(
                published.contains(&family.name),
                "{} unpublished",
                family.name
            );
            assert!(
                doc_row(&docs, family.name).is_some(),
                "docs/metrics.md has no row for {}",
                family.name
            );
        }
    }
    // The entry's series exist before any good scrape, at 0.
    let page = app.render_metrics(Format::Text);
    for line in [
        "outpost_discovery_probes{discovery=\"alb\",region=\"eu-west-1\",state=\"active\"} 0",
        "outpost_discovery_resources_skipped{discovery=\"alb\"} 0",
        "outpost_discovery_changes_total{discovery=\"alb\",change=\"added\"} 0",
    ] {
        assert!(page.lines().any(|l| l == line), "{line} missing:\n{page}");
    }
    d.stop().await;
}

/// Each prober's series are documented as emitted by it, and its outcome row
/// lists exactly the reasons it produces.
#[test]
fn every_prober_is_documented() {
    let docs = std::fs::read_to_string("docs/metrics.md").unwrap();
    for kind in ProberKind::ALL {
        for family in kind.families().iter().flat_map(|g| g.iter()) {
            let row = doc_row(&docs, family.name)
                .unwrap_or_else(|| panic!("docs/metrics.md has no row for {}", family.name));
            // | `name` | labels | probers | meaning |
            let probers = row.get(3).copied().unwrap_or_default();
            assert!(
                probers == "all" || probers.split(", ").any(|p| p == kind.name()),
                "docs/metrics.md: {} does not list prober {kind} (has {probers:?})",
                family.name
            );
        }
        let row = docs
            .lines()
            .find(|l| l.starts_with(&format!("| {} | `", kind.name())))
            .unwrap_or_else(|| panic!("docs/metrics.md has no outcome row for {kind}"));
        let mut documented: Vec<&str> = row
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, s)| s)
            .collect();
        let mut actual: Vec<&str> = kind.outcomes().iter().map(|r| r.as_label()).collect();
        documented.sort_unstable();
        actual.sort_unstable();
        assert_eq!(documented, actual, "outcome row of {kind}");
    }
}

/// A module naming a prober that does not exist is told every valid one.
#[test]
fn every_prober_is_in_the_valid_values_hint() {
    let text = "[modules.m]\nprober = \"nope\"\n";
    let err = outpost::config::Config::from_str_at(text, std::path::Path::new("x.toml"))
        .err()
        .unwrap()
        .to_string();
    for kind in ProberKind::ALL {
        assert!(err.contains(kind.name()), "{kind} missing from: {err}");
    }
}

/// A target each prober accepts on loopback, one it cannot reach, and a module.
/// The `match` is exhaustive: a new prober does not compile until it has a case.
fn cases(kind: ProberKind, peers: &Peers) -> Vec<(Module, String, bool)> {
    let (up, dns, closed) = (peers.up, peers.dns, peers.closed);
    let ip4 = IpSettings {
        preferred: IpProtocol::Ip4,
        ..IpSettings::default()
    };
    match kind {
        ProberKind::Http => {
            let m = || {
                http_module(HttpModule {
                    ip: ip4,
                    ..HttpModule::default()
                })
            };
            vec![
                (m(), format!("http://{up}/ok"), true),
                (m(), format!("http://{closed}/"), false),
            ]
        }
        ProberKind::Tcp => {
            let m = || {
                tcp_module(TcpModule {
                    ip: ip4,
                    ..TcpModule::default()
                })
            };
            vec![
                (m(), up.to_string(), true),
                (m(), closed.to_string(), false),
            ]
        }
        ProberKind::Unix => {
            let m = || module(outpost::config::Prober::Unix(Box::default()));
            vec![
                (m(), peers.socket.clone(), true),
                (m(), peers.missing_socket.clone(), false),
            ]
        }
        ProberKind::Dns => {
            // Over TCP, so that the closed port fails to connect as for the others.
            let m = || {
                dns_module(DnsModule {
                    ip: ip4,
                    transport: Transport::Tcp,
                    ..DnsModule::default()
                })
            };
            vec![
                (m(), dns.to_string(), true),
                (m(), closed.to_string(), false),
            ]
        }
        ProberKind::Grpc => {
            let m = || {
                module(outpost::config::Prober::Grpc(Box::new(GrpcModule {
                    ip: ip4,
                    ..GrpcModule::default()
                })))
            };
            vec![
                (m(), peers.grpc.to_string(), true),
                (m(), closed.to_string(), false),
            ]
        }
        ProberKind::Icmp => {
            // An IPv6 source address cannot send to an IPv4 target: the socket
            // set-up fails, deterministically and on loopback alone.
            let m = |source_ip| {
                module(outpost::config::Prober::Icmp(Box::new(IcmpModule {
                    ip: IpSettings { source_ip, ..ip4 },
                    ..IcmpModule::default()
                })))
            };
            let v6 = Some("::1".parse().unwrap());
            vec![
                (m(None), "127.0.0.1".to_string(), true),
                (m(v6), "127.0.0.1".to_string(), false),
            ]
        }
        ProberKind::Mysql => {
            let m = || {
                module(outpost::config::Prober::Mysql(Box::new(MysqlModule {
                    ip: ip4,
                    ..MysqlModule::default()
                })))
            };
            vec![
                (m(), peers.mysql.to_string(), true),
                (m(), closed.to_string(), false),
            ]
        }
        ProberKind::Postgres => {
            // Without a username the run ends after connecting (and TLS): any
            // listener will do here; the login is in module_text and postgres_probe.
            let m = || {
                module(outpost::config::Prober::Postgres(Box::new(
                    outpost::probe::postgres::PostgresModule {
                        ip: ip4,
                        ..Default::default()
                    },
                )))
            };
            vec![
                (m(), up.to_string(), true),
                (m(), closed.to_string(), false),
            ]
        }
    }
}

/// What must live as long as the peers: the Unix socket's directory and the DNS
/// responder (which stops when dropped).
type KeepAlive = (tempfile::TempDir, Responder);

/// Starts every prober's peers on loopback.
async fn start_peers() -> (KeepAlive, Peers) {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("up.sock");
    let unix = tokio::net::UnixListener::bind(&socket).unwrap();
    tokio::spawn(async move { while unix.accept().await.is_ok() {} });
    let responder = Responder::start(
        "127.0.0.1".parse().unwrap(),
        std::sync::Arc::new(|q| Some(reply(q, vec![], vec![]))),
    )
    .await;
    let grpc_peer = crate::support::grpc::health_peer(None).await;
    let mysql = tokio::task::spawn_blocking(|| crate::support::mariadb::shared().addr)
        .await
        .unwrap();
    let peers = Peers {
        mysql,
        up: target_server().await,
        dns: responder.addr,
        grpc: grpc_peer.addr,
        closed: {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        },
        socket: socket.to_string_lossy().into_owned(),
        missing_socket: dir
            .path()
            .join("missing.sock")
            .to_string_lossy()
            .into_owned(),
    };
    ((dir, responder), peers)
}

/// The live and dead targets the cases point at.
struct Peers {
    up: SocketAddr,
    dns: SocketAddr,
    grpc: SocketAddr,
    /// The shared MariaDB (support/mariadb.rs).
    mysql: SocketAddr,
    closed: SocketAddr,
    socket: String,
    missing_socket: String,
}

/// Every prober emits the common series, with sane values, on success and failure.
#[tokio::test]
async fn every_prober_emits_the_common_series() {
    let (_keep, peers) = start_peers().await;
    for kind in ProberKind::ALL {
        let groups = kind.families();
        for (module, target, succeeds) in cases(*kind, &peers) {
            assert_eq!(module.prober.kind(), *kind);
            let report =
                probe::run(&module, &target, &ProbeContext::new(Duration::from_secs(5))).await;
            assert_eq!(
                report.success, succeeds,
                "{kind} {target}: {:?}",
                report.failure
            );
            assert_eq!(report.timeout, Duration::from_secs(5));
            if groups.contains(&names::IP) {
                assert_eq!(
                    report.value("probe_ip_protocol", &[]),
                    Some(4.0),
                    "{kind} {target}"
                );
                assert!(
                    report.value("probe_dns_lookup_time_seconds", &[]).is_some(),
                    "{kind} {target}"
                );
                assert!(
                    report
                        .value("probe_ip_addr_hash", &[])
                        .is_some_and(|h| h > 0.0),
                    "{kind} {target}"
                );
            }
            if groups.contains(&names::REGEX_RULES) {
                assert_eq!(
                    report.value("probe_failed_due_to_regex", &[]),
                    Some(0.0),
                    "{kind} {target}"
                );
            }
            if let Some(f) = &report.failure {
                assert_eq!(f.reason, FailureReason::Connect, "{kind} {target}");
                assert!(kind.outcomes().contains(&f.reason), "{kind}: {}", f.reason);
            }
            let declared: Vec<&str> = kind
                .families()
                .iter()
                .flat_map(|g| g.iter())
                .map(|f| f.name)
                .collect();
            for s in &report.samples {
                assert!(
                    declared.contains(&s.name),
                    "{kind} emits {}, which it does not declare",
                    s.name
                );
            }
        }
    }
}

/// A module of each prober as written in `probes.toml`, and a live target for it.
/// The `match` is exhaustive: a new prober does not compile until it has one.
fn module_text(kind: ProberKind, peers: &Peers) -> (String, String) {
    let (block, target) = match kind {
        ProberKind::Http => (
            "preferred_ip_protocol = \"ip4\"".to_string(),
            format!("http://{}/ok", peers.up),
        ),
        ProberKind::Tcp => (
            "preferred_ip_protocol = \"ip4\"".to_string(),
            peers.up.to_string(),
        ),
        ProberKind::Unix => (String::new(), peers.socket.clone()),
        ProberKind::Dns => (
            "query_name = \"example.com\"\ntransport_protocol = \"tcp\"\npreferred_ip_protocol = \"ip4\""
                .to_string(),
            peers.dns.to_string(),
        ),
        ProberKind::Grpc => (
            "preferred_ip_protocol = \"ip4\"".to_string(),
            peers.grpc.to_string(),
        ),
        ProberKind::Icmp => (
            "preferred_ip_protocol = \"ip4\"".to_string(),
            "127.0.0.1".to_string(),
        ),
        ProberKind::Mysql => (
            "preferred_ip_protocol = \"ip4\"".to_string(),
            peers.mysql.to_string(),
        ),
        // The real PostgreSQL of the test binary: a trust login, the default query
        // and pg_is_in_recovery().
        ProberKind::Postgres => (
            "username = \"trust_user\"\ndatabase = \"postgres\"\ncheck_recovery = true"
                .to_string(),
            crate::support::postgres::primary().addr.to_string(),
        ),
    };
    let name = kind.name();
    (
        format!("[modules.m_{name}]\nprober = \"{name}\"\n[modules.m_{name}.{name}]\n{block}\n"),
        target,
    )
}

/// Every prober answers `/probe` (Blackbox's endpoint) and `outpost probe`, and
/// runs as a scheduled `[[probes]]` entry.
#[tokio::test]
async fn every_prober_works_from_probe_the_cli_and_the_schedule() {
    use crate::support::daemon::{promtool_check, sample, TestDaemon};
    let (_keep, peers) = start_peers().await;
    let modules: Vec<(ProberKind, String, String)> = ProberKind::ALL
        .iter()
        .map(|k| {
            let (text, target) = module_text(*k, &peers);
            (*k, text, target)
        })
        .collect();
    let mut config: String = modules.iter().map(|(_, text, _)| text.as_str()).collect();
    for (kind, _, target) in &modules {
        config.push_str(&format!(
            "[[probes]]\nname = \"p_{kind}\"\nmodule = \"m_{kind}\"\ntarget = {target:?}\ninterval = \"1s\"\n"
        ));
    }
    let daemon = TestDaemon::start(&config).await;
    for (kind, _, target) in &modules {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("module", &format!("m_{kind}"))
            .append_pair("target", target)
            .finish();
        let (status, body) = daemon.get(&format!("/probe?{query}")).await;
        assert_eq!(status, 200, "{kind}: {body}");
        assert_eq!(
            sample(&body, "probe_success", ""),
            Some(1.0),
            "{kind}: {body}"
        );
        promtool_check(&body);
        let config_path = daemon.config_path.clone();
        let (module, target) = (format!("m_{kind}"), target.clone());
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_outpost"))
                .arg("--config")
                .arg(&config_path)
                .args(["probe", "--metrics", "--module", &module, &target])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{kind}: {text}");
        assert!(text.contains("probe_success 1"), "{kind}: {text}");
    }
    let succeeded = |text: &str, kind: &ProberKind, target: &str| {
        let labels = format!(r#"probe="p_{kind}",module="m_{kind}",target="{target}""#);
        sample(text, "probe_success", &labels) == Some(1.0)
    };
    let all_ran = |text: &str| modules.iter().all(|(k, _, t)| succeeded(text, k, t));
    let text = daemon.metrics_when(Duration::from_secs(15), all_ran).await;
    for (kind, _, target) in &modules {
        assert!(succeeded(&text, kind, target), "scheduled {kind}:\n{text}");
    }
    promtool_check(&text);
    daemon.stop().await;
}

/// `probe_timeout_seconds` is the timeout asked for, however late after the
/// context was made the run starts (a busy machine: 20 ms here).
#[tokio::test]
async fn the_timeout_reported_is_the_one_asked_for() {
    let ctx = ProbeContext::new(Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(20));
    let tcp = module(outpost::config::Prober::Tcp(Box::default()));
    let report = probe::run(&tcp, "127.0.0.1:1", &ctx).await;
    assert_eq!(report.timeout, Duration::from_secs(5));
}
