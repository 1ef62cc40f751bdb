//! outpost's integration tests: one binary, one module per area, shared peers and
//! helpers under `support/`.

// Helpers are `pub` so sibling test modules can share them; the binary has no
// external users for the lint to protect.
#![allow(unreachable_pub)]
// In a test a panic is the failure report: unwrap and expect are the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod aws_cloudwatch;
mod aws_iam;
mod aws_moto;
mod cli;
mod config;
mod contract;
mod daemon;
mod dashboards;
mod discovery;
mod dns_probe;
mod docs;
mod fan_out;
mod grpc_probe;
mod hostile;
mod hostile_peers;
mod http3_probe;
mod http_oauth2;
mod http_options;
mod http_probe;
mod http_proxy;
mod icmp_probe;
mod import_blackbox;
mod listener_auth;
mod listener_limits;
mod metrics_stream;
mod mysql_probe;
mod postgres_probe;
mod probe_flood;
mod probe_policy;
mod probe_trace;
mod prometheus_e2e;
mod query_response;
mod regions;
mod scheduler;
mod secrets;
mod series;
mod shard;
mod shard_auto;
mod slo_rules;
mod stack_e2e;
mod status_page;
mod support;
mod tcp_probe;
