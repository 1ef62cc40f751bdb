//! The public interface, spelled out literally: metric names, outcome labels and
//! the common series every prober emits. A rename here is a breaking change for
//! dashboards and alerts, so it must be deliberate and show in this file's diff.

use std::time::Duration;

use outpost::config::{HttpModule, IpProtocol, IpSettings, TcpModule};
use outpost::metrics::names::{self, FAMILIES};
use outpost::probe::{self, FailureReason, ProbeContext};

use crate::support::daemon::target_server;
use crate::support::{http_module, tcp_module};

const BLACKBOX_SERIES: &[&str] = &[
    "probe_success",
    "probe_duration_seconds",
    "probe_timeout_seconds",
    "probe_dns_lookup_time_seconds",
    "probe_ip_protocol",
    "probe_ip_addr_hash",
    "probe_failed_due_to_regex",
    "probe_failed_due_to_bytes",
    "probe_http_duration_seconds",
    "probe_http_status_code",
    "probe_http_content_length",
    "probe_http_uncompressed_body_length",
    "probe_http_redirects",
    "probe_http_ssl",
    "probe_http_version",
    "probe_http_last_modified_timestamp_seconds",
    "probe_ssl_earliest_cert_expiry",
    "probe_ssl_last_chain_expiry_timestamp_seconds",
    "probe_ssl_last_chain_info",
    "probe_tls_version_info",
    "probe_tls_cipher_info",
];

const OUTPOST_SERIES: &[&str] = &[
    "probe_runs_total",
    "probe_run_duration_seconds",
    "probe_last_run_timestamp_seconds",
    "outpost_build_info",
    "outpost_config_last_reload_successful",
    "outpost_config_last_reload_success_timestamp_seconds",
    "outpost_probes",
    "outpost_probes_in_flight",
    "outpost_scheduler_lag_seconds",
    "outpost_scheduler_skipped_runs_total",
    "outpost_probe_requests_total",
    "outpost_module_unknown_total",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_start_time_seconds",
    "process_open_fds",
    "process_max_fds",
    "process_threads",
];

const OUTCOMES: &[&str] = &[
    "timeout",
    "invalid_target",
    "resolve",
    "connect",
    "proxy",
    "tls",
    "http",
    "http_status",
    "http_version",
    "too_many_redirects",
    "ssl_required",
    "ssl_forbidden",
    "header_regex",
    "body_regex",
    "body_too_large",
    "decompression",
    "io",
];

#[test]
fn metric_names_are_exactly_the_published_ones() {
    let mut expected: Vec<&str> = BLACKBOX_SERIES
        .iter()
        .chain(OUTPOST_SERIES)
        .copied()
        .collect();
    let mut actual: Vec<&str> = FAMILIES.iter().map(|(n, _, _)| *n).collect();
    expected.sort_unstable();
    actual.sort_unstable();
    assert_eq!(actual, expected);
}

#[test]
fn outcome_labels_are_exactly_the_published_ones() {
    let actual: Vec<&str> = FailureReason::ALL.iter().map(|r| r.as_label()).collect();
    assert_eq!(actual, OUTCOMES);
}

#[test]
fn every_series_and_outcome_is_documented() {
    let docs = std::fs::read_to_string("docs/metrics.md").unwrap();
    for name in BLACKBOX_SERIES.iter().chain(OUTPOST_SERIES) {
        assert!(
            docs.contains(&format!("`{name}`")),
            "docs/metrics.md does not document {name}"
        );
    }
    for outcome in OUTCOMES {
        assert!(
            docs.contains(&format!("| `{outcome}` |")),
            "docs/metrics.md does not document outcome {outcome}"
        );
    }
    for (name, _, help) in FAMILIES {
        assert!(
            !help.is_empty() && help.ends_with('.'),
            "{name} needs a help sentence"
        );
    }
    assert_eq!(
        names::describe("probe_success").1,
        "Whether the probe succeeded (1) or failed (0)."
    );
}

/// Every prober emits the common series, with sane values, on success and failure.
#[tokio::test]
async fn every_prober_emits_the_common_series() {
    let target = target_server().await;
    let ip4 = IpSettings {
        preferred: IpProtocol::Ip4,
        ..IpSettings::default()
    };
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let cases = [
        (
            http_module(HttpModule {
                ip: ip4,
                ..HttpModule::default()
            }),
            format!("http://{target}/ok"),
            true,
        ),
        (
            http_module(HttpModule {
                ip: ip4,
                ..HttpModule::default()
            }),
            format!("http://{closed}/"),
            false,
        ),
        (
            tcp_module(TcpModule {
                ip: ip4,
                ..TcpModule::default()
            }),
            target.to_string(),
            true,
        ),
        (
            tcp_module(TcpModule {
                ip: ip4,
                ..TcpModule::default()
            }),
            closed.to_string(),
            false,
        ),
    ];
    for (module, target, succeeds) in cases {
        let report = probe::run(&module, &target, &ProbeContext::new(Duration::from_secs(5))).await;
        let kind = module.prober.kind();
        assert_eq!(
            report.success, succeeds,
            "{kind} {target}: {:?}",
            report.failure
        );
        assert_eq!(report.timeout, Duration::from_secs(5));
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
        assert_eq!(
            report.value("probe_failed_due_to_regex", &[]),
            Some(0.0),
            "{kind} {target}"
        );
        if !succeeds {
            assert_eq!(
                report.failure.as_ref().map(|f| f.reason),
                Some(FailureReason::Connect),
                "{kind} {target}"
            );
        }
        for s in &report.samples {
            assert!(
                FAMILIES.iter().any(|(n, _, _)| *n == s.name),
                "{kind} emits undocumented {}",
                s.name
            );
        }
    }
}
