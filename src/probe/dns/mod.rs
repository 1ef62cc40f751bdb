//! The `dns` prober: one query to the target server, over UDP, TCP or TLS, and
//! checks on the response (Blackbox's `prober/dns.go`).
//!
//! The target is the server (`host[:port]`, port 53, or 853 with DNS over TLS);
//! the name asked is the module's `query_name`. Messages are built and parsed
//! with hickory-proto; the sockets are ours, so every field is observable. Like
//! Blackbox it pre-sets the three `probe_dns_duration_seconds` phases, the record
//! counts and `probe_dns_query_succeeded` at 0, and emits `probe_dns_serial` for
//! SOA queries once a response arrived. Unlike Blackbox, DNS over TLS emits the
//! certificate and version series of the handshake (no cipher series, as tcp).

pub mod codes;
pub mod config;
pub mod series;
pub mod settings;
pub mod text;

mod checks;
pub(crate) mod exchange;

use std::net::SocketAddr;

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{RData, RecordType};

use super::{net, FailureReason, ProbeContext, ProbeFailure, Recorder, TargetError};
use crate::metrics::names::{self, Family};
pub use settings::{DnsModule, RrRules, Transport};

/// The `prober = "dns"` value and the name of its settings block.
pub const KIND: &str = "dns";
/// What a target of this prober looks like, for help texts.
pub const TARGET_FORM: &str = "the server as host or host:port";

pub type Settings = DnsModule;

/// A dns target: the server's host and, when given, its port.
pub type Target = net::HostOptPort;

/// `host:port`, or a bare host (a name, an IPv4 address, an IPv6 address with or
/// without brackets) for the default port, as Blackbox accepts.
pub fn parse_target(text: &str) -> Result<Target, TargetError> {
    net::parse_host_opt_port(
        text,
        "DNS server",
        "write host or host:port, e.g. \"ns1.example.com\" or \"192.0.2.53:53\"",
    )
}

/// The failure reasons a dns run can end with.
pub const OUTCOMES: &[FailureReason] = &[
    FailureReason::Timeout,
    FailureReason::InvalidTarget,
    FailureReason::Resolve,
    FailureReason::Connect,
    FailureReason::Tls,
    FailureReason::Io,
    FailureReason::DnsRcode,
    FailureReason::DnsRrValidation,
];

/// The series a dns run can emit.
pub const FAMILIES: &[&[Family]] = &[names::COMMON, names::IP, names::TLS, series::DNS];

/// The port of a target without one: 53, or 853 for DNS over TLS (RFC 7858).
fn default_port(module: &DnsModule) -> u16 {
    if module.dns_over_tls {
        853
    } else {
        53
    }
}

const PHASES: [&str; 3] = ["resolve", "connect", "request"];

fn phase(rec: &mut Recorder, name: &'static str, seconds: f64) {
    rec.set_with(
        series::PROBE_DNS_DURATION_SECONDS,
        vec![("phase", name.into())],
        seconds,
    );
}

pub async fn probe(
    target: &str,
    module: &DnsModule,
    ctx: &ProbeContext,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    for p in PHASES {
        phase(rec, p, 0.0);
    }
    for name in [
        series::PROBE_DNS_ANSWER_RRS,
        series::PROBE_DNS_AUTHORITY_RRS,
        series::PROBE_DNS_ADDITIONAL_RRS,
        series::PROBE_DNS_QUERY_SUCCEEDED,
    ] {
        rec.set(name, 0.0);
    }
    let Target { host, port } = parse_target(target)?;
    let port = port.unwrap_or(default_port(module));
    let (ip, lookup) = net::resolve_target(&host, &module.ip, ctx.policy.as_deref(), rec).await?;
    phase(rec, "resolve", lookup.as_secs_f64());
    let addr = SocketAddr::new(ip, port);
    let (id, query) = build_query(module)?;
    rec.trace(format_args!(
        "Querying {addr} ({:?}{}) for {} {} {}",
        module.transport,
        if module.dns_over_tls { ", TLS" } else { "" },
        module.query_name,
        codes::class_name(module.query_class),
        codes::type_name(module.query_type),
    ));
    // SNI as for tcp: tls_config.server_name, else the hostname parameter, else the host.
    let tls_name = module
        .tls_config
        .server_name
        .clone()
        .or_else(|| ctx.hostname.clone())
        .unwrap_or_else(|| host.clone());
    let done = exchange::exchange(addr, module, &tls_name, &query, id, rec).await?;
    phase(rec, "connect", done.connect.as_secs_f64());
    phase(rec, "request", done.request.as_secs_f64());
    record_response(&done.response, module, rec);
    checks::rcode(&done.response, module, rec)?;
    checks::sections(&done.response, module, rec)
}

/// The query message and its ID.
fn build_query(module: &DnsModule) -> Result<(u16, Vec<u8>), ProbeFailure> {
    let mut msg = Message::query();
    msg.metadata.recursion_desired = module.recursion_desired;
    let mut q = Query::query(module.query_name.clone(), module.query_type);
    q.set_query_class(module.query_class);
    msg.add_query(q);
    let bytes = msg
        .to_vec()
        .map_err(|e| ProbeFailure::new(FailureReason::Io, format!("encoding the query: {e}")))?;
    Ok((msg.metadata.id, bytes))
}

/// The counts, `probe_dns_query_succeeded` and, for SOA queries, the serial.
fn record_response(msg: &Message, module: &DnsModule, rec: &mut Recorder) {
    // hickory-proto keeps the EDNS OPT and TSIG records apart; miekg (and so
    // Blackbox) counts them among the additional records.
    let additional = msg.additionals.len()
        + usize::from(msg.edns.is_some())
        + usize::from(msg.signature.is_some());
    rec.set(series::PROBE_DNS_ANSWER_RRS, msg.answers.len() as f64);
    rec.set(
        series::PROBE_DNS_AUTHORITY_RRS,
        msg.authorities.len() as f64,
    );
    rec.set(series::PROBE_DNS_ADDITIONAL_RRS, additional as f64);
    rec.set(series::PROBE_DNS_QUERY_SUCCEEDED, 1.0);
    rec.trace(format_args!(
        "Response: rcode {}, {} answer, {} authority, {additional} additional RRs",
        codes::rcode_name(u16::from(msg.metadata.response_code)),
        msg.answers.len(),
        msg.authorities.len(),
    ));
    if module.query_type == RecordType::SOA {
        // The last SOA of the answer wins, as in Blackbox; 0 when there is none.
        let serial = msg
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::SOA(soa) => Some(soa.serial),
                _ => None,
            })
            .next_back()
            .unwrap_or(0);
        rec.set(series::PROBE_DNS_SERIAL, f64::from(serial));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = |host: &str, port| {
            Ok(Target {
                host: host.into(),
                port,
            })
        };
        assert_eq!(parse_target("ns1.example"), t("ns1.example", None));
        assert_eq!(parse_target("127.0.0.1:5353"), t("127.0.0.1", Some(5353)));
        assert_eq!(parse_target("::1"), t("::1", None));
        assert_eq!(parse_target("[::1]"), t("::1", None));
        assert_eq!(parse_target("[::1]:53"), t("::1", Some(53)));
        for bad in ["", "a b", "a:x", "http://x", "a:99999", "[x]"] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_ports() {
        let mut m = DnsModule::default();
        assert_eq!(default_port(&m), 53);
        m.dns_over_tls = true;
        assert_eq!(default_port(&m), 853);
    }
}
