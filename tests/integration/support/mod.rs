//! Shared test peers and helpers: certificates made with rcgen, in-process
//! HTTP(S) servers, a CONNECT/absolute-form proxy, and metric assertions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test peers fail loudly on unexpected errors"
)]

pub(crate) mod browser;
pub(crate) mod certs;
pub(crate) mod daemon;
pub(crate) mod dashboards;
pub(crate) mod dns;
pub(crate) mod grpc;
pub(crate) mod h3server;
pub(crate) mod mariadb;
pub(crate) mod metrics;
pub(crate) mod moto;
pub(crate) mod netns;
pub(crate) mod postgres;
pub(crate) mod prometheus;
pub(crate) mod proxy;
pub(crate) mod resolver_ns;
pub(crate) mod server;

use std::time::Duration;

use outpost::config::{DnsModule, HttpModule, Module, ModuleIdentity, Prober, TcpModule};
use outpost::probe::{self, ProbeContext, ProbeReport};

/// Wraps a prober's settings as a test `Module`.
pub(crate) fn module(prober: Prober) -> Module {
    Module {
        name: format!("test_{}", prober.kind()),
        timeout: None,
        prober,
        run_duration_buckets: vec![],
        precreate_failure_reasons: false,
        redacted: String::new(),
        identity: ModuleIdentity::default(),
    }
}

/// Wraps an http module as a `Module`.
pub(crate) fn http_module(m: HttpModule) -> Module {
    module(Prober::Http(Box::new(m)))
}

/// Wraps a tcp module as a `Module`.
pub(crate) fn tcp_module(m: TcpModule) -> Module {
    module(Prober::Tcp(Box::new(m)))
}

/// Wraps a dns module as a `Module`.
pub(crate) fn dns_module(m: DnsModule) -> Module {
    module(Prober::Dns(Box::new(m)))
}

/// Runs one probe with a 10 s deadline and the trace on.
pub(crate) async fn run(module: &Module, target: &str) -> ProbeReport {
    run_with(module, target, Duration::from_secs(10), None).await
}

pub(crate) async fn run_with(
    module: &Module,
    target: &str,
    timeout: Duration,
    hostname: Option<&str>,
) -> ProbeReport {
    let mut ctx = ProbeContext::new(timeout);
    ctx.debug = true;
    ctx.hostname = hostname.map(str::to_string);
    probe::run(module, target, &ctx).await
}

/// The errors of loading `text` as `probes.toml`, one per line; empty if it loads.
pub(crate) fn config_errors(text: &str) -> String {
    outpost::config::Config::from_str_at(text, std::path::Path::new("probes.toml"))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}
