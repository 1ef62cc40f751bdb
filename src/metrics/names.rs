//! Every metric name outpost exposes, with its type and help text, in one place.
//! The names are a public interface: Blackbox's where Blackbox has the series,
//! `outpost_` for the daemon's own. The contract test spells them out literally.

use std::collections::HashMap;
use std::sync::OnceLock;
/// The exposition type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
}

// Blackbox series, common to all probers.
pub const PROBE_SUCCESS: &str = "probe_success";
pub const PROBE_DURATION_SECONDS: &str = "probe_duration_seconds";
pub const PROBE_TIMEOUT_SECONDS: &str = "probe_timeout_seconds";
pub const PROBE_DNS_LOOKUP_TIME_SECONDS: &str = "probe_dns_lookup_time_seconds";
pub const PROBE_IP_PROTOCOL: &str = "probe_ip_protocol";
pub const PROBE_IP_ADDR_HASH: &str = "probe_ip_addr_hash";
pub const PROBE_FAILED_DUE_TO_REGEX: &str = "probe_failed_due_to_regex";
pub const PROBE_FAILED_DUE_TO_BYTES: &str = "probe_failed_due_to_bytes";
pub const PROBE_EXPECT_INFO: &str = "probe_expect_info";

// Blackbox TLS series (http, tcp).
pub const PROBE_SSL_EARLIEST_CERT_EXPIRY: &str = "probe_ssl_earliest_cert_expiry";
pub const PROBE_SSL_LAST_CHAIN_EXPIRY_TIMESTAMP_SECONDS: &str =
    "probe_ssl_last_chain_expiry_timestamp_seconds";
pub const PROBE_SSL_LAST_CHAIN_INFO: &str = "probe_ssl_last_chain_info";
pub const PROBE_TLS_VERSION_INFO: &str = "probe_tls_version_info";
pub const PROBE_TLS_CIPHER_INFO: &str = "probe_tls_cipher_info";

// Packet trains (`packets` > 1): the run's gauges, then the counters and
// histogram a scheduled probe keeps across runs.
pub const PROBE_PACKETS_SENT: &str = "probe_packets_sent";
pub const PROBE_PACKETS_RECEIVED: &str = "probe_packets_received";
pub const PROBE_PACKETS_DUPLICATED: &str = "probe_packets_duplicated";
pub const PROBE_PACKETS_LATE: &str = "probe_packets_late";
pub const PROBE_PACKET_LOSS_RATIO: &str = "probe_packet_loss_ratio";
pub const PROBE_RTT_SECONDS: &str = "probe_rtt_seconds";
pub const PROBE_PACKETS_SENT_TOTAL: &str = "probe_packets_sent_total";
pub const PROBE_PACKETS_RECEIVED_TOTAL: &str = "probe_packets_received_total";
pub const PROBE_PACKET_RTT_SECONDS: &str = "probe_packet_rtt_seconds";

// Series only a scheduled prober can give.
pub const PROBE_RUNS_TOTAL: &str = "probe_runs_total";
pub const PROBE_FAILURES_TOTAL: &str = "probe_failures_total";
pub const PROBE_RUN_DURATION_SECONDS: &str = "probe_run_duration_seconds";
// A `fan_out` probe's own, beside its per-address (`ip`) series.
pub const PROBE_ADDRESSES: &str = "probe_addresses";
pub const PROBE_ADDRESSES_SKIPPED: &str = "probe_addresses_skipped";
pub const PROBE_ADDRESS_CHANGES_TOTAL: &str = "probe_address_changes_total";

// The daemon's own series.
pub const OUTPOST_BUILD_INFO: &str = "outpost_build_info";
pub const OUTPOST_CONFIG_LAST_RELOAD_SUCCESSFUL: &str = "outpost_config_last_reload_successful";
pub const OUTPOST_CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS: &str =
    "outpost_config_last_reload_success_timestamp_seconds";
pub const OUTPOST_PROBES: &str = "outpost_probes";
pub const OUTPOST_SHARD_INDEX: &str = "outpost_shard_index";
pub const OUTPOST_SHARD_COUNT: &str = "outpost_shard_count";
pub const OUTPOST_PROBES_IN_FLIGHT: &str = "outpost_probes_in_flight";
pub const OUTPOST_SCHEDULER_LAG_SECONDS: &str = "outpost_scheduler_lag_seconds";
pub const OUTPOST_SCHEDULER_SKIPPED_RUNS_TOTAL: &str = "outpost_scheduler_skipped_runs_total";
pub const OUTPOST_PROBE_REQUESTS_TOTAL: &str = "outpost_probe_requests_total";
pub const OUTPOST_MODULE_UNKNOWN_TOTAL: &str = "outpost_module_unknown_total";

// process_* (the Prometheus client conventions).
pub const PROCESS_CPU_SECONDS_TOTAL: &str = "process_cpu_seconds_total";
pub const PROCESS_RESIDENT_MEMORY_BYTES: &str = "process_resident_memory_bytes";
pub const PROCESS_VIRTUAL_MEMORY_BYTES: &str = "process_virtual_memory_bytes";
pub const PROCESS_START_TIME_SECONDS: &str = "process_start_time_seconds";
pub const PROCESS_OPEN_FDS: &str = "process_open_fds";
pub const PROCESS_MAX_FDS: &str = "process_max_fds";
pub const PROCESS_THREADS: &str = "process_threads";

// AWS scrapes: resources (src/aws/*.rs) and scrape health.
pub const AWS_RDS_INSTANCE_INFO: &str = "aws_rds_instance_info";
pub const AWS_RDS_INSTANCE_STATUS: &str = "aws_rds_instance_status";
pub const AWS_RDS_MULTI_AZ: &str = "aws_rds_multi_az";
pub const AWS_RDS_STORAGE_ENCRYPTED: &str = "aws_rds_storage_encrypted";
pub const AWS_RDS_BACKUP_RETENTION_PERIOD_SECONDS: &str = "aws_rds_backup_retention_period_seconds";
pub const AWS_RDS_DELETION_PROTECTION: &str = "aws_rds_deletion_protection";
pub const AWS_RDS_PERFORMANCE_INSIGHTS_ENABLED: &str = "aws_rds_performance_insights_enabled";
pub const AWS_RDS_ENHANCED_MONITORING_INTERVAL_SECONDS: &str =
    "aws_rds_enhanced_monitoring_interval_seconds";
pub const AWS_RDS_ALLOCATED_STORAGE_BYTES: &str = "aws_rds_allocated_storage_bytes";
pub const AWS_RDS_MAX_ALLOCATED_STORAGE_BYTES: &str = "aws_rds_max_allocated_storage_bytes";
pub const AWS_RDS_PUBLICLY_ACCESSIBLE: &str = "aws_rds_publicly_accessible";
pub const AWS_RDS_AUTO_MINOR_VERSION_UPGRADE: &str = "aws_rds_auto_minor_version_upgrade";
pub const AWS_RDS_CERTIFICATE_EXPIRY_TIMESTAMP_SECONDS: &str =
    "aws_rds_certificate_expiry_timestamp_seconds";
pub const AWS_RDS_PENDING_MAINTENANCE_ACTIONS: &str = "aws_rds_pending_maintenance_actions";
pub const AWS_ELBV2_LOAD_BALANCER_INFO: &str = "aws_elbv2_load_balancer_info";
pub const AWS_ELBV2_LOAD_BALANCER_STATE: &str = "aws_elbv2_load_balancer_state";
pub const AWS_ELBV2_TARGET_GROUP_TARGETS: &str = "aws_elbv2_target_group_targets";
pub const AWS_ELBV2_TARGET_HEALTH: &str = "aws_elbv2_target_health";
pub const AWS_AUTOSCALING_GROUP_INFO: &str = "aws_autoscaling_group_info";
pub const AWS_AUTOSCALING_GROUP_DESIRED_CAPACITY: &str = "aws_autoscaling_group_desired_capacity";
pub const AWS_AUTOSCALING_GROUP_MIN_SIZE: &str = "aws_autoscaling_group_min_size";
pub const AWS_AUTOSCALING_GROUP_MAX_SIZE: &str = "aws_autoscaling_group_max_size";
pub const AWS_AUTOSCALING_GROUP_IN_SERVICE_INSTANCES: &str =
    "aws_autoscaling_group_in_service_instances";
pub const AWS_AUTOSCALING_GROUP_INSTANCES: &str = "aws_autoscaling_group_instances";
pub const OUTPOST_AWS_SCRAPE_SUCCESS: &str = "outpost_aws_scrape_success";
pub const OUTPOST_AWS_SCRAPE_DURATION_SECONDS: &str = "outpost_aws_scrape_duration_seconds";
pub const OUTPOST_AWS_SCRAPE_LAST_SUCCESS_TIMESTAMP_SECONDS: &str =
    "outpost_aws_scrape_last_success_timestamp_seconds";
pub const OUTPOST_AWS_API_CALLS_TOTAL: &str = "outpost_aws_api_calls_total";
pub const OUTPOST_AWS_API_ERRORS_TOTAL: &str = "outpost_aws_api_errors_total";
pub const OUTPOST_AWS_CLOUDWATCH_METRICS_REQUESTED_TOTAL: &str =
    "outpost_aws_cloudwatch_metrics_requested_total";
pub const AWS_CLOUDWATCH_DATAPOINT_AGE_SECONDS: &str = "aws_cloudwatch_datapoint_age_seconds";
pub const OUTPOST_DISCOVERY_PROBES: &str = "outpost_discovery_probes";
pub const OUTPOST_DISCOVERY_RESOURCES_SKIPPED: &str = "outpost_discovery_resources_skipped";
pub const OUTPOST_DISCOVERY_CHANGES_TOTAL: &str = "outpost_discovery_changes_total";
pub const OUTPOST_DISCOVERY_LAST_UPDATE_TIMESTAMP_SECONDS: &str =
    "outpost_discovery_last_update_timestamp_seconds";

/// One metric family: its name, exposition type and help sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    pub name: &'static str,
    pub kind: Kind,
    pub help: &'static str,
}

impl Family {
    pub const fn new(name: &'static str, kind: Kind, help: &'static str) -> Self {
        Family { name, kind, help }
    }
}

/// Every prober, every run: the outcome, its duration and the timeout it had.
pub const COMMON: &[Family] = &[
    Family::new(
        PROBE_SUCCESS,
        Kind::Gauge,
        "Whether the probe succeeded (1) or failed (0).",
    ),
    Family::new(
        PROBE_DURATION_SECONDS,
        Kind::Gauge,
        "How long the probe took to complete, in seconds.",
    ),
    Family::new(
        PROBE_TIMEOUT_SECONDS,
        Kind::Gauge,
        "The effective timeout of the probe, in seconds.",
    ),
];

/// Probers that resolve a name and connect to an address.
pub const IP: &[Family] = &[
    Family::new(
        PROBE_DNS_LOOKUP_TIME_SECONDS,
        Kind::Gauge,
        "How long the target's name resolution took, in seconds.",
    ),
    Family::new(
        PROBE_IP_PROTOCOL,
        Kind::Gauge,
        "IP protocol (4 or 6) of the address probed; 0 when resolution failed.",
    ),
    Family::new(
        PROBE_IP_ADDR_HASH,
        Kind::Gauge,
        "FNV-32a hash of the address probed, to detect address changes.",
    ),
];

/// Probers that can speak TLS: the certificates presented and the version.
pub const TLS: &[Family] = &[
    Family::new(
        PROBE_SSL_EARLIEST_CERT_EXPIRY,
        Kind::Gauge,
        "Earliest NotAfter among the certificates the peer presented, as a Unix timestamp.",
    ),
    Family::new(
        PROBE_SSL_LAST_CHAIN_EXPIRY_TIMESTAMP_SECONDS,
        Kind::Gauge,
        "Earliest NotAfter in the last certificate chain, as a Unix timestamp.",
    ),
    Family::new(
        PROBE_SSL_LAST_CHAIN_INFO,
        Kind::Gauge,
        "Details of the leaf certificate of the last chain; always 1.",
    ),
    Family::new(
        PROBE_TLS_VERSION_INFO,
        Kind::Gauge,
        "TLS version negotiated; always 1.",
    ),
];

/// The cipher series (http only, as in Blackbox).
pub const TLS_CIPHER: &[Family] = &[Family::new(
    PROBE_TLS_CIPHER_INFO,
    Kind::Gauge,
    "TLS cipher suite negotiated; always 1.",
)];

/// Probers with regular expression rules.
pub const REGEX_RULES: &[Family] = &[Family::new(
    PROBE_FAILED_DUE_TO_REGEX,
    Kind::Gauge,
    "Whether a regular expression rule failed the probe.",
)];

/// Probers with `expect_bytes` rules.
pub const BYTES_RULES: &[Family] = &[Family::new(
    PROBE_FAILED_DUE_TO_BYTES,
    Kind::Gauge,
    "Whether an expect_bytes rule failed the probe.",
)];

/// Probers with `query_response` labels.
pub const EXPECT_INFO: &[Family] = &[Family::new(
    PROBE_EXPECT_INFO,
    Kind::Gauge,
    "Labels expanded from the captures of a matched expect step; always 1.",
)];

/// Probers that send packet trains (`packets` > 1): the run's gauges.
pub const PACKETS: &[Family] = &[
    Family::new(
        PROBE_PACKETS_SENT,
        Kind::Gauge,
        "Packets (echoes, connects) the run sent.",
    ),
    Family::new(
        PROBE_PACKETS_RECEIVED,
        Kind::Gauge,
        "Packets of the run answered, each counted once.",
    ),
    Family::new(
        PROBE_PACKETS_DUPLICATED,
        Kind::Gauge,
        "Replies of the run to a packet already answered.",
    ),
    Family::new(
        PROBE_PACKETS_LATE,
        Kind::Gauge,
        "Answers of the run that came more than packet_interval after their packet.",
    ),
    Family::new(
        PROBE_PACKET_LOSS_RATIO,
        Kind::Gauge,
        "Share of the run's packets left unanswered, 0 to 1.",
    ),
    Family::new(
        PROBE_RTT_SECONDS,
        Kind::Gauge,
        "Round-trip times of the run's answers (min, avg, max, stddev), in seconds.",
    ),
];

/// Packet trains of a scheduled probe, kept across runs.
pub const PACKET_TOTALS: &[Family] = &[
    Family::new(
        PROBE_PACKETS_SENT_TOTAL,
        Kind::Counter,
        "Packets sent by the probe's scheduled runs.",
    ),
    Family::new(
        PROBE_PACKETS_RECEIVED_TOTAL,
        Kind::Counter,
        "Packets of the probe's scheduled runs that were answered.",
    ),
    Family::new(
        PROBE_PACKET_RTT_SECONDS,
        Kind::Histogram,
        "Round-trip time of every answer of the probe's scheduled runs, in seconds.",
    ),
];

/// Series only a scheduled probe has, kept across runs.
pub const SCHEDULED: &[Family] = &[
    Family::new(
        PROBE_RUNS_TOTAL,
        Kind::Counter,
        "Scheduled runs of the probe, by outcome (success or failure).",
    ),
    Family::new(
        PROBE_FAILURES_TOTAL,
        Kind::Counter,
        "Failed scheduled runs of the probe, by failure reason.",
    ),
    Family::new(
        PROBE_RUN_DURATION_SECONDS,
        Kind::Histogram,
        "Duration of every scheduled run of the probe, in seconds.",
    ),
    Family::new(
        PROBE_ADDRESSES,
        Kind::Gauge,
        "Addresses the target's host resolved to in the latest run (fan_out).",
    ),
    Family::new(
        PROBE_ADDRESSES_SKIPPED,
        Kind::Gauge,
        "Addresses of the latest run left unprobed past max_addresses (fan_out).",
    ),
    Family::new(
        PROBE_ADDRESS_CHANGES_TOTAL,
        Kind::Counter,
        "Addresses gained or lost between resolutions since the probe started (fan_out).",
    ),
];

/// The daemon's own series.
pub const DAEMON: &[Family] = &[
    Family::new(
        OUTPOST_BUILD_INFO,
        Kind::Gauge,
        "outpost's version and build; always 1.",
    ),
    Family::new(
        OUTPOST_CONFIG_LAST_RELOAD_SUCCESSFUL,
        Kind::Gauge,
        "Whether the last configuration load or reload succeeded.",
    ),
    Family::new(
        OUTPOST_CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS,
        Kind::Gauge,
        "When the configuration was last loaded successfully, as a Unix timestamp.",
    ),
    Family::new(
        OUTPOST_PROBES,
        Kind::Gauge,
        "Scheduled probes in the running configuration.",
    ),
    Family::new(
        OUTPOST_PROBES_IN_FLIGHT,
        Kind::Gauge,
        "Probe runs in flight, scheduled and /probe.",
    ),
    Family::new(
        OUTPOST_SHARD_INDEX,
        Kind::Gauge,
        "The shard this replica runs (1-based), when the probes are sharded.",
    ),
    Family::new(
        OUTPOST_SHARD_COUNT,
        Kind::Gauge,
        "How many shards the probes are split into, when they are; 0 while --shard auto has not counted its peers.",
    ),
    Family::new(
        OUTPOST_SCHEDULER_LAG_SECONDS,
        Kind::Histogram,
        "How late scheduled runs started compared with their planned time, in seconds.",
    ),
    Family::new(
        OUTPOST_SCHEDULER_SKIPPED_RUNS_TOTAL,
        Kind::Counter,
        "Scheduled runs skipped because the previous run of the probe was still going.",
    ),
    Family::new(
        OUTPOST_PROBE_REQUESTS_TOTAL,
        Kind::Counter,
        "Requests to /probe, by module and HTTP status code of the answer.",
    ),
    Family::new(
        OUTPOST_MODULE_UNKNOWN_TOTAL,
        Kind::Counter,
        "Requests to /probe naming a module that does not exist.",
    ),
];

/// `process_*`, the Prometheus client conventions.
pub const PROCESS: &[Family] = &[
    Family::new(
        PROCESS_CPU_SECONDS_TOTAL,
        Kind::Counter,
        "Total user and system CPU time spent in seconds.",
    ),
    Family::new(
        PROCESS_RESIDENT_MEMORY_BYTES,
        Kind::Gauge,
        "Resident memory size in bytes.",
    ),
    Family::new(
        PROCESS_VIRTUAL_MEMORY_BYTES,
        Kind::Gauge,
        "Virtual memory size in bytes.",
    ),
    Family::new(
        PROCESS_START_TIME_SECONDS,
        Kind::Gauge,
        "Start time of the process since unix epoch in seconds.",
    ),
    Family::new(
        PROCESS_OPEN_FDS,
        Kind::Gauge,
        "Number of open file descriptors.",
    ),
    Family::new(
        PROCESS_MAX_FDS,
        Kind::Gauge,
        "Maximum number of open file descriptors.",
    ),
    Family::new(
        PROCESS_THREADS,
        Kind::Gauge,
        "Number of OS threads in the process.",
    ),
];

const fn gauge(name: &'static str, help: &'static str) -> Family {
    Family::new(name, Kind::Gauge, help)
}

/// RDS instances (src/aws/rds.rs).
pub const AWS_RDS: &[Family] = &[
    gauge(
        AWS_RDS_INSTANCE_INFO,
        "An RDS DB instance: engine, version, class and the tags of tag_labels; always 1.",
    ),
    gauge(
        AWS_RDS_INSTANCE_STATUS,
        "The DB instance's current status (available, stopped ...); always 1.",
    ),
    gauge(AWS_RDS_MULTI_AZ, "Whether the DB instance is Multi-AZ."),
    gauge(
        AWS_RDS_STORAGE_ENCRYPTED,
        "Whether the DB instance's storage is encrypted.",
    ),
    gauge(
        AWS_RDS_BACKUP_RETENTION_PERIOD_SECONDS,
        "How long automated backups are kept, in seconds (AWS's days x 86400); 0: backups off.",
    ),
    gauge(
        AWS_RDS_DELETION_PROTECTION,
        "Whether deletion protection is on.",
    ),
    gauge(
        AWS_RDS_PERFORMANCE_INSIGHTS_ENABLED,
        "Whether Performance Insights is on.",
    ),
    gauge(
        AWS_RDS_ENHANCED_MONITORING_INTERVAL_SECONDS,
        "Enhanced Monitoring interval in seconds; 0 when it is off.",
    ),
    gauge(
        AWS_RDS_ALLOCATED_STORAGE_BYTES,
        "Allocated storage in bytes.",
    ),
    gauge(
        AWS_RDS_MAX_ALLOCATED_STORAGE_BYTES,
        "Storage autoscaling limit in bytes, when autoscaling is on.",
    ),
    gauge(
        AWS_RDS_PUBLICLY_ACCESSIBLE,
        "Whether the DB instance is publicly accessible.",
    ),
    gauge(
        AWS_RDS_AUTO_MINOR_VERSION_UPGRADE,
        "Whether minor engine upgrades are applied automatically.",
    ),
    gauge(
        AWS_RDS_CERTIFICATE_EXPIRY_TIMESTAMP_SECONDS,
        "When the DB instance's server certificate expires, as a Unix timestamp.",
    ),
    gauge(
        AWS_RDS_PENDING_MAINTENANCE_ACTIONS,
        "Pending maintenance actions of the DB instance.",
    ),
];

/// Load balancers and target groups (src/aws/elbv2.rs).
pub const AWS_ELBV2: &[Family] = &[
    gauge(
        AWS_ELBV2_LOAD_BALANCER_INFO,
        "A load balancer: type, scheme, DNS name, VPC and the tags of tag_labels; always 1.",
    ),
    gauge(
        AWS_ELBV2_LOAD_BALANCER_STATE,
        "The load balancer's current state (active, provisioning ...); always 1.",
    ),
    gauge(
        AWS_ELBV2_TARGET_GROUP_TARGETS,
        "Targets of the target group in each health state.",
    ),
    gauge(
        AWS_ELBV2_TARGET_HEALTH,
        "One target's health state and reason; always 1.",
    ),
];

/// Auto Scaling groups (src/aws/autoscaling.rs).
pub const AWS_AUTOSCALING: &[Family] = &[
    gauge(
        AWS_AUTOSCALING_GROUP_INFO,
        "An Auto Scaling group and the tags of tag_labels; always 1.",
    ),
    gauge(
        AWS_AUTOSCALING_GROUP_DESIRED_CAPACITY,
        "The group's desired capacity.",
    ),
    gauge(AWS_AUTOSCALING_GROUP_MIN_SIZE, "The group's minimum size."),
    gauge(AWS_AUTOSCALING_GROUP_MAX_SIZE, "The group's maximum size."),
    gauge(
        AWS_AUTOSCALING_GROUP_IN_SERVICE_INSTANCES,
        "Instances of the group in service.",
    ),
    gauge(
        AWS_AUTOSCALING_GROUP_INSTANCES,
        "Instances of the group by lifecycle state.",
    ),
];

/// The health of every region and service scrape (src/aws/cache.rs).
pub const AWS_HEALTH: &[Family] = &[
    gauge(
        OUTPOST_AWS_SCRAPE_SUCCESS,
        "Whether the latest scrape of the service in the region succeeded.",
    ),
    gauge(
        OUTPOST_AWS_SCRAPE_DURATION_SECONDS,
        "How long the latest scrape took, in seconds.",
    ),
    gauge(
        OUTPOST_AWS_SCRAPE_LAST_SUCCESS_TIMESTAMP_SECONDS,
        "When the last successful scrape ended, as a Unix timestamp.",
    ),
    Family::new(
        OUTPOST_AWS_API_CALLS_TOTAL,
        Kind::Counter,
        "AWS API calls made, by operation.",
    ),
    Family::new(
        OUTPOST_AWS_API_ERRORS_TOTAL,
        Kind::Counter,
        "AWS API calls that failed, by operation and error code.",
    ),
    Family::new(
        OUTPOST_AWS_CLOUDWATCH_METRICS_REQUESTED_TOTAL,
        Kind::Counter,
        "Metrics requested from CloudWatch GetMetricData, the unit AWS bills.",
    ),
];

/// CloudWatch statistics (src/aws/cloudwatch/): the age of each value and the
/// default set's series. A configured metric outside the default set gets a
/// family of the same shape (`aws_<namespace>_<metric>_<stat>`, a gauge).
pub const AWS_CLOUDWATCH: &[Family] = &[
    gauge(
        AWS_CLOUDWATCH_DATAPOINT_AGE_SECONDS,
        "Seconds since the start of the period of the CloudWatch datapoint shown, by series.",
    ),
    gauge(
        "aws_applicationelb_request_count_sum",
        "CloudWatch AWS/ApplicationELB RequestCount, Sum over the period.",
    ),
    gauge(
        "aws_applicationelb_httpcode_target_5xx_count_sum",
        "CloudWatch AWS/ApplicationELB HTTPCode_Target_5XX_Count, Sum over the period.",
    ),
    gauge(
        "aws_applicationelb_httpcode_elb_5xx_count_sum",
        "CloudWatch AWS/ApplicationELB HTTPCode_ELB_5XX_Count, Sum over the period.",
    ),
    gauge(
        "aws_applicationelb_httpcode_target_4xx_count_sum",
        "CloudWatch AWS/ApplicationELB HTTPCode_Target_4XX_Count, Sum over the period.",
    ),
    gauge(
        "aws_applicationelb_target_response_time_average",
        "CloudWatch AWS/ApplicationELB TargetResponseTime, Average over the period.",
    ),
    gauge(
        "aws_applicationelb_target_response_time_maximum",
        "CloudWatch AWS/ApplicationELB TargetResponseTime, Maximum over the period.",
    ),
    gauge(
        "aws_applicationelb_rejected_connection_count_sum",
        "CloudWatch AWS/ApplicationELB RejectedConnectionCount, Sum over the period.",
    ),
    gauge(
        "aws_applicationelb_healthy_host_count_minimum",
        "CloudWatch AWS/ApplicationELB HealthyHostCount, Minimum over the period.",
    ),
    gauge(
        "aws_applicationelb_un_healthy_host_count_maximum",
        "CloudWatch AWS/ApplicationELB UnHealthyHostCount, Maximum over the period.",
    ),
    gauge(
        "aws_rds_cpuutilization_average",
        "CloudWatch AWS/RDS CPUUtilization, Average over the period.",
    ),
    gauge(
        "aws_rds_free_storage_space_average",
        "CloudWatch AWS/RDS FreeStorageSpace, Average over the period.",
    ),
    gauge(
        "aws_rds_freeable_memory_average",
        "CloudWatch AWS/RDS FreeableMemory, Average over the period.",
    ),
    gauge(
        "aws_rds_database_connections_average",
        "CloudWatch AWS/RDS DatabaseConnections, Average over the period.",
    ),
    gauge(
        "aws_rds_read_latency_average",
        "CloudWatch AWS/RDS ReadLatency, Average over the period.",
    ),
    gauge(
        "aws_rds_write_latency_average",
        "CloudWatch AWS/RDS WriteLatency, Average over the period.",
    ),
    gauge(
        "aws_rds_replica_lag_average",
        "CloudWatch AWS/RDS ReplicaLag, Average over the period.",
    ),
    gauge(
        "aws_rds_burst_balance_average",
        "CloudWatch AWS/RDS BurstBalance, Average over the period.",
    ),
    gauge(
        "aws_ec2_cpuutilization_average",
        "CloudWatch AWS/EC2 CPUUtilization, Average over the period.",
    ),
];

/// `[[discover]]`'s own series (src/discovery/series.rs).
pub const DISCOVERY: &[Family] = &[
    gauge(
        OUTPOST_DISCOVERY_PROBES,
        "Probes a [[discover]] entry made in the region: state active (running) or grace (its resource is gone; series kept, not run).",
    ),
    gauge(
        OUTPOST_DISCOVERY_RESOURCES_SKIPPED,
        "Resources the entry found past its max_probes in the latest scrapes: counted, not probed.",
    ),
    Family::new(
        OUTPOST_DISCOVERY_CHANGES_TOTAL,
        Kind::Counter,
        "Probes the entry added or removed (after the grace) since it was configured.",
    ),
    gauge(
        OUTPOST_DISCOVERY_LAST_UPDATE_TIMESTAMP_SECONDS,
        "When a good scrape of the region last updated the entry's probes, as a Unix timestamp.",
    ),
];

/// The families that do not depend on a prober.
pub const NOT_PROBER_SPECIFIC: &[&[Family]] = &[
    COMMON,
    SCHEDULED,
    PACKET_TOTALS,
    DAEMON,
    PROCESS,
    AWS_RDS,
    AWS_ELBV2,
    AWS_AUTOSCALING,
    AWS_HEALTH,
    AWS_CLOUDWATCH,
    DISCOVERY,
];

/// Every family outpost can expose, each once: the groups above and every
/// prober's own (see [`crate::probe::ProberKind::families`]). Built once: `/probe`
/// looks families up on every request.
pub fn all() -> &'static [Family] {
    static ALL: OnceLock<Vec<Family>> = OnceLock::new();
    ALL.get_or_init(|| with_probers(NOT_PROBER_SPECIFIC))
}

/// `groups` then every prober's own families, each name once, in that order.
fn with_probers(groups: &[&[Family]]) -> Vec<Family> {
    let prober_groups = crate::probe::ProberKind::ALL
        .iter()
        .flat_map(|k| k.families().iter());
    let mut out: Vec<Family> = Vec::new();
    for family in groups.iter().chain(prober_groups).flat_map(|g| g.iter()) {
        if !out.iter().any(|f| f.name == family.name) {
            out.push(*family);
        }
    }
    out
}

/// The family called `name` among all of outpost's, by hash rather than by a
/// scan of the hundred-odd names.
pub fn lookup(name: &str) -> Option<Family> {
    static INDEX: OnceLock<HashMap<&'static str, Family>> = OnceLock::new();
    INDEX
        .get_or_init(|| all().iter().map(|f| (f.name, *f)).collect())
        .get(name)
        .copied()
}

/// The family called `name` among `families`.
pub fn find<'f>(families: &'f [Family], name: &str) -> Option<&'f Family> {
    families.iter().find(|f| f.name == name)
}

/// Type and help of `name`, if outpost has such a family.
pub fn describe(name: &str) -> Option<Family> {
    lookup(name)
}

/// What the scheduled probes can write: the common and scheduled series and
/// every prober's own, each once.
pub fn probe_families() -> Vec<Family> {
    with_probers(&[COMMON, SCHEDULED, PACKET_TOTALS])
}
