//! The dns prober against a real dnsmasq (UDP, TCP, and TLS through an in-process
//! front) and an in-process responder that records what it was asked. Modules
//! are written as TOML, so each test also proves its option is read.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record};
use outpost::config::{Config, DnsModule, Prober, TlsSettings};
use outpost::probe::ProbeReport;

use crate::support::certs::Ca;
use crate::support::dns::{reply, tls_front, Answer, Dnsmasq, Responder, SOA_SERIAL, ZONE};
use crate::support::metrics::{assert_absent, assert_metric, assert_outcome, labels_of};
use crate::support::server::tls_config;
use crate::support::{dns_module, run, run_with};

/// The dns settings of `[modules.m.dns]` written as `block`.
fn dns(block: &str) -> DnsModule {
    let text = format!("[modules.m]\nprober = \"dns\"\n\n[modules.m.dns]\n{block}\n");
    let config = Config::from_str_at(&text, Path::new("dns-test.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    match &config.modules["m"].prober {
        Prober::Dns(d) => (**d).clone(),
        other => panic!("not a dns module: {other:?}"),
    }
}

async fn probe(block: &str, target: SocketAddr) -> ProbeReport {
    run(&dns_module(dns(block)), &target.to_string()).await
}

fn answers(r: &ProbeReport) -> f64 {
    r.value("probe_dns_answer_rrs", &[]).unwrap()
}

/// A responder on 127.0.0.1 that answers every query with NOERROR and no records.
async fn empty_responder() -> Responder {
    let answer: Answer = Arc::new(|q| Some(reply(q, vec![], vec![])));
    Responder::start(IpAddr::V4(Ipv4Addr::LOCALHOST), answer).await
}

#[tokio::test]
async fn answers_over_udp_and_tcp_with_every_series() {
    let d = Dnsmasq::start().await;
    for transport in ["udp", "tcp"] {
        let r = probe(
            &format!("query_name = \"host.{ZONE}\"\nquery_type = \"A\"\ntransport_protocol = \"{transport}\""),
            d.addr,
        )
        .await;
        assert_outcome(&r, "success");
        assert_metric(&r, "probe_dns_answer_rrs", &[], 1.0);
        // dnsmasq puts the zone's NS record in the authority section.
        assert_metric(&r, "probe_dns_authority_rrs", &[], 1.0);
        assert_metric(&r, "probe_dns_additional_rrs", &[], 0.0);
        assert_metric(&r, "probe_dns_query_succeeded", &[], 1.0);
        assert_metric(&r, "probe_ip_protocol", &[], 4.0);
        let phases: Vec<String> = labels_of(&r, "probe_dns_duration_seconds")
            .into_iter()
            .map(|l| l[0].1.clone())
            .collect();
        assert_eq!(phases, ["resolve", "connect", "request"]);
        assert!(
            r.value("probe_dns_duration_seconds", &[("phase", "request")])
                .unwrap()
                > 0.0
        );
        assert_absent(&r, "probe_dns_serial");
        assert_absent(&r, "probe_failed_due_to_regex");
        assert_absent(&r, "probe_tls_version_info");
    }
}

#[tokio::test]
async fn transport_protocol_is_the_one_used() {
    let resp = empty_responder().await;
    for (transport, tcp) in [("udp", false), ("tcp", true)] {
        let block = format!("query_name = \"x.test\"\ntransport_protocol = \"{transport}\"");
        assert_outcome(&probe(&block, resp.addr).await, "success");
        assert_eq!(resp.queries().last().unwrap().tcp, tcp, "{transport}");
    }
    // The default is udp.
    assert_outcome(
        &probe("query_name = \"x.test\"", resp.addr).await,
        "success",
    );
    assert!(!resp.queries().last().unwrap().tcp);
}

#[tokio::test]
async fn query_type_and_the_text_form_of_records() {
    let d = Dnsmasq::start().await;
    let z = ZONE;
    // The default type is ANY, which dnsmasq answers with no record.
    let r = probe(&format!("query_name = \"host.{z}\""), d.addr).await;
    assert_outcome(&r, "success");
    assert_eq!(answers(&r), 0.0);
    // Each type's record, matched as a whole line of miekg's text form.
    for (name, ty, line) in [
        ("host", "A", format!("host.{z}.\t600\tIN\tA\t192.0.2.1")),
        (
            "host",
            "AAAA",
            format!("host.{z}.\t600\tIN\tAAAA\t2001:db8::1"),
        ),
        (
            "alias",
            "CNAME",
            format!("alias.{z}.\t600\tIN\tCNAME\thost.{z}."),
        ),
        ("mx", "MX", format!("mx.{z}.\t600\tIN\tMX\t10 mail.{z}.")),
        (
            "txt",
            "TXT",
            format!("txt.{z}.\t600\tIN\tTXT\t\"v=spf1 -all\" \"second string\""),
        ),
    ] {
        let block = format!(
            "query_name = \"{name}.{z}\"\nquery_type = \"{ty}\"\n\
             validate_answer_rrs = {{ fail_if_not_matches_regexp = [{:?}] }}",
            format!("^{}$", regex::escape(&line))
        );
        let r = probe(&block, d.addr).await;
        assert_outcome(&r, "success");
        assert_eq!(answers(&r), 1.0, "{ty}");
    }
    // NS records of the zone (answer section).
    let r = probe(
        &format!("query_name = \"{z}\"\nquery_type = \"NS\""),
        d.addr,
    )
    .await;
    assert_outcome(&r, "success");
    assert_eq!(answers(&r), 1.0);
}

#[tokio::test]
async fn soa_serial() {
    let d = Dnsmasq::start().await;
    let block =
        format!("query_name = \"{ZONE}\"\nquery_type = \"SOA\"\ntransport_protocol = \"tcp\"");
    let r = probe(&block, d.addr).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_dns_serial", &[], f64::from(SOA_SERIAL));
    // Another type has no serial series.
    let r = probe(
        &format!("query_name = \"{ZONE}\"\nquery_type = \"NS\""),
        d.addr,
    )
    .await;
    assert_absent(&r, "probe_dns_serial");
}

#[tokio::test]
async fn query_class_is_sent() {
    let d = Dnsmasq::start().await;
    let name = format!("query_name = \"host.{ZONE}\"\nquery_type = \"A\"");
    assert_outcome(&probe(&name, d.addr).await, "success");
    // dnsmasq serves the zone in class IN only: CH is refused.
    let r = probe(&format!("{name}\nquery_class = \"CH\""), d.addr).await;
    assert_outcome(&r, "dns_rcode");
    assert_metric(&r, "probe_dns_query_succeeded", &[], 1.0);
    let resp = empty_responder().await;
    probe(
        "query_name = \"version.bind\"\nquery_class = \"CH\"",
        resp.addr,
    )
    .await;
    assert_eq!(
        u16::from(resp.queries()[0].query.queries[0].query_class()),
        3
    );
}

#[tokio::test]
async fn valid_rcodes() {
    let d = Dnsmasq::start().await;
    let missing = format!("query_name = \"nope.{ZONE}\"\nquery_type = \"A\"");
    let r = probe(&missing, d.addr).await;
    assert_outcome(&r, "dns_rcode");
    assert!(r.failure.as_ref().unwrap().message.contains("NXDOMAIN"));
    // NXDOMAIN comes with the zone's SOA in the authority section.
    assert_metric(&r, "probe_dns_authority_rrs", &[], 1.0);
    assert_metric(&r, "probe_dns_query_succeeded", &[], 1.0);
    let r = probe(&format!("{missing}\nvalid_rcodes = [\"NXDOMAIN\"]"), d.addr).await;
    assert_outcome(&r, "success");
    // A name outside the zone is REFUSED; NOERROR alone no longer passes.
    let outside = "query_name = \"example.com\"\nquery_type = \"A\"";
    assert_outcome(&probe(outside, d.addr).await, "dns_rcode");
    let r = probe(
        &format!("{outside}\nvalid_rcodes = [\"NXDOMAIN\", \"REFUSED\"]"),
        d.addr,
    )
    .await;
    assert_outcome(&r, "success");
    let ok =
        format!("query_name = \"host.{ZONE}\"\nquery_type = \"A\"\nvalid_rcodes = [\"REFUSED\"]");
    assert_outcome(&probe(&ok, d.addr).await, "dns_rcode");
}

#[tokio::test]
async fn recursion_desired_flag() {
    let resp = empty_responder().await;
    probe("query_name = \"x.test\"", resp.addr).await;
    probe(
        "query_name = \"x.test\"\nrecursion_desired = false",
        resp.addr,
    )
    .await;
    probe(
        "query_name = \"x.test\"\nrecursion_desired = true",
        resp.addr,
    )
    .await;
    let rd: Vec<bool> = resp
        .queries()
        .iter()
        .map(|s| s.query.metadata.recursion_desired)
        .collect();
    assert_eq!(rd, [true, false, true]);
}

#[tokio::test]
async fn query_name_is_asked_fully_qualified() {
    let resp = empty_responder().await;
    probe(
        "query_name = \"Host.Example.COM\"\nquery_type = \"TXT\"",
        resp.addr,
    )
    .await;
    let q = &resp.queries()[0].query.queries[0];
    assert_eq!(q.name().to_ascii(), "host.example.com.");
    assert_eq!(u16::from(q.query_type()), 16);
    // IDNA, as Blackbox; a name IDNA refuses (underscore labels) is sent as written.
    probe("query_name = \"bücher.example\"", resp.addr).await;
    probe(
        "query_name = \"_sip._udp.example.com.\"\nquery_type = \"SRV\"",
        resp.addr,
    )
    .await;
    let names: Vec<String> = resp.queries()[1..]
        .iter()
        .map(|s| s.query.queries[0].name().to_ascii())
        .collect();
    assert_eq!(names, ["xn--bcher-kva.example.", "_sip._udp.example.com."]);
}

#[tokio::test]
async fn source_ip_address() {
    let resp = empty_responder().await;
    for transport in ["udp", "tcp"] {
        let block = format!(
            "query_name = \"x.test\"\ntransport_protocol = \"{transport}\"\nsource_ip_address = \"127.0.0.2\""
        );
        assert_outcome(&probe(&block, resp.addr).await, "success");
        let peer = resp.queries().last().unwrap().peer;
        assert_eq!(peer.ip(), IpAddr::from([127, 0, 0, 2]), "{transport}");
        // An address this host does not have cannot be bound: nothing is sent.
        let block = format!(
            "query_name = \"x.test\"\ntransport_protocol = \"{transport}\"\nsource_ip_address = \"192.0.2.1\""
        );
        let before = resp.queries().len();
        assert_outcome(&probe(&block, resp.addr).await, "connect");
        assert_eq!(resp.queries().len(), before);
    }
}

/// Each rule of each section, with a regex that fails the run and one that does not.
#[tokio::test]
async fn answer_and_authority_rules() {
    let d = Dnsmasq::start().await;
    // alias.zone.test A: answer = the CNAME and the A record; authority = the NS.
    let base = format!("query_name = \"alias.{ZONE}\"\nquery_type = \"A\"");
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "validate_answer_rrs",
            "fail_if_matches_regexp",
            "\\tCNAME\\t",
            "\\tMX\\t",
        ),
        (
            "validate_answer_rrs",
            "fail_if_not_matches_regexp",
            "^alias\\.",
            "\\.zone\\.test\\.\\t600\\tIN\\t",
        ),
        // Blackbox's rule fails unless every record matches.
        (
            "validate_answer_rrs",
            "fail_if_all_match_regexp",
            "\\tCNAME\\t",
            "^(alias|host)\\.zone",
        ),
        (
            "validate_answer_rrs",
            "fail_if_none_matches_regexp",
            "192\\.0\\.2\\.99",
            "\\tA\\t192\\.0\\.2\\.1$",
        ),
        (
            "validate_authority_rrs",
            "fail_if_matches_regexp",
            "\\tNS\\tns\\.",
            "\\tSOA\\t",
        ),
        (
            "validate_authority_rrs",
            "fail_if_not_matches_regexp",
            "\\tSOA\\t",
            "^zone\\.test\\.\\t600\\tIN\\tNS\\tns\\.zone\\.test\\.$",
        ),
        (
            "validate_authority_rrs",
            "fail_if_all_match_regexp",
            "\\tSOA\\t",
            "\\tNS\\t",
        ),
        (
            "validate_authority_rrs",
            "fail_if_none_matches_regexp",
            "\\tSOA\\t",
            "ns\\.zone",
        ),
    ];
    for (section, rule, failing, passing) in cases {
        for (re, outcome) in [(failing, "dns_rr_validation"), (passing, "success")] {
            let block = format!("{base}\n{section} = {{ {rule} = [{re:?}] }}");
            let r = probe(&block, d.addr).await;
            assert_outcome(&r, outcome);
            if outcome != "success" {
                let msg = &r.failure.as_ref().unwrap().message;
                let name = section
                    .trim_start_matches("validate_")
                    .trim_end_matches("_rrs");
                assert!(msg.starts_with(name), "{section} {rule}: {msg}");
            }
        }
    }
    // An empty section fails the not-matches and none-matches rules only.
    let empty = format!("query_name = \"{ZONE}\"\nquery_type = \"NS\"");
    for (rule, outcome) in [
        ("fail_if_not_matches_regexp", "dns_rr_validation"),
        ("fail_if_none_matches_regexp", "dns_rr_validation"),
        ("fail_if_all_match_regexp", "success"),
        ("fail_if_matches_regexp", "success"),
    ] {
        let block = format!("{empty}\nvalidate_additional_rrs = {{ {rule} = [\".\"] }}");
        assert_outcome(&probe(&block, d.addr).await, outcome);
    }
}

#[tokio::test]
async fn additional_rules() {
    let glue = |name: &str, ip: [u8; 4]| {
        Record::from_rdata(
            Name::from_str(name).unwrap(),
            300,
            RData::A(A::from(Ipv4Addr::from(ip))),
        )
    };
    let answer: Answer = Arc::new(move |q| {
        Some(reply(
            q,
            vec![],
            vec![
                glue("ns1.example.", [192, 0, 2, 1]),
                glue("ns2.example.", [198, 51, 100, 2]),
            ],
        ))
    });
    let resp = Responder::start(IpAddr::V4(Ipv4Addr::LOCALHOST), answer).await;
    let cases: &[(&str, &str, &str)] = &[
        (
            "fail_if_matches_regexp",
            "198\\.51\\.100\\.2$",
            "\\tAAAA\\t",
        ),
        (
            "fail_if_not_matches_regexp",
            "^ns1\\.",
            "^ns[12]\\.example\\.\\t300\\tIN\\tA\\t",
        ),
        ("fail_if_all_match_regexp", "192\\.0\\.2\\.", "\\tIN\\tA\\t"),
        (
            "fail_if_none_matches_regexp",
            "203\\.0\\.113\\.",
            "^ns2\\.example\\.\\t300\\tIN\\tA\\t198\\.51\\.100\\.2$",
        ),
    ];
    for (rule, failing, passing) in cases {
        for (re, outcome) in [(failing, "dns_rr_validation"), (passing, "success")] {
            let block = format!(
                "query_name = \"example.\"\nvalidate_additional_rrs = {{ {rule} = [{re:?}] }}"
            );
            let r = probe(&block, resp.addr).await;
            assert_outcome(&r, outcome);
            assert_metric(&r, "probe_dns_additional_rrs", &[], 2.0);
        }
    }
}

#[tokio::test]
async fn dns_over_tls_with_tls_config() {
    let d = Dnsmasq::start().await;
    let ca = Ca::new();
    let leaf = ca.leaf(&["localhost"], &[], (2036, 7, 8));
    let (front, task) = tls_front(d.addr, tls_config(&leaf, &[], false)).await;
    let mut m = dns(&format!(
        "query_name = \"host.{ZONE}\"\nquery_type = \"A\"\ndns_over_tls = true"
    ));
    m.tls_config = TlsSettings {
        ca: Some(ca.roots()),
        server_name: Some("localhost".into()),
        ..Default::default()
    };
    let r = run(&dns_module(m.clone()), &front.to_string()).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_dns_answer_rrs", &[], 1.0);
    assert_metric(&r, "probe_tls_version_info", &[("version", "TLS 1.3")], 1.0);
    assert_metric(
        &r,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );
    assert_eq!(labels_of(&r, "probe_ssl_last_chain_info").len(), 1);
    assert_absent(&r, "probe_tls_cipher_info");

    // Without the CA the certificate is not trusted; its series are still there.
    let mut untrusted = m.clone();
    untrusted.tls_config.ca = None;
    let r = run(&dns_module(untrusted), &front.to_string()).await;
    assert_outcome(&r, "tls");
    assert_metric(
        &r,
        "probe_ssl_earliest_cert_expiry",
        &[],
        leaf.not_after as f64,
    );
    assert_metric(&r, "probe_dns_query_succeeded", &[], 0.0);

    // The IP target is not in the certificate; the hostname parameter names it.
    let mut by_ip = m.clone();
    by_ip.tls_config.server_name = None;
    let r = run(&dns_module(by_ip.clone()), &front.to_string()).await;
    assert_outcome(&r, "tls");
    let r = run_with(
        &dns_module(by_ip),
        &front.to_string(),
        Duration::from_secs(5),
        Some("localhost"),
    )
    .await;
    assert_outcome(&r, "success");

    // Plain DNS to the TLS port fails rather than passing.
    let mut plain = m.clone();
    plain.dns_over_tls = false;
    let r = run_with(
        &dns_module(plain),
        &front.to_string(),
        Duration::from_secs(2),
        None,
    )
    .await;
    assert!(!r.success);
    task.abort();
}

#[tokio::test]
async fn failures_and_their_reasons() {
    let m = dns_module(dns("query_name = \"x.test\"\ntransport_protocol = \"udp\""));
    // Silence: the deadline ends the run; nothing was answered.
    let silent = Responder::start(IpAddr::V4(Ipv4Addr::LOCALHOST), Arc::new(|_| None)).await;
    let r = run_with(
        &m,
        &silent.addr.to_string(),
        Duration::from_millis(300),
        None,
    )
    .await;
    assert_outcome(&r, "timeout");
    assert_metric(&r, "probe_dns_query_succeeded", &[], 0.0);
    assert_metric(&r, "probe_dns_answer_rrs", &[], 0.0);
    assert_metric(
        &r,
        "probe_dns_duration_seconds",
        &[("phase", "request")],
        0.0,
    );
    // Garbage instead of a DNS message.
    let garbage = Responder::start(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        Arc::new(|_| Some(vec![1, 2, 3])),
    )
    .await;
    assert_outcome(&run(&m, &garbage.addr.to_string()).await, "io");
    // An answer with another ID is ignored, so the run times out.
    let wrong_id: Answer = Arc::new(|q| {
        let mut q = q.clone();
        q.metadata.id = q.metadata.id.wrapping_add(1);
        Some(reply(&q, vec![], vec![]))
    });
    let other = Responder::start(IpAddr::V4(Ipv4Addr::LOCALHOST), wrong_id).await;
    let r = run_with(
        &m,
        &other.addr.to_string(),
        Duration::from_millis(300),
        None,
    )
    .await;
    assert_outcome(&r, "timeout");
    // Nobody listening: UDP is refused (io), TCP does not connect.
    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert_outcome(&run(&m, &closed.to_string()).await, "io");
    let tcp = dns_module(dns("query_name = \"x.test\"\ntransport_protocol = \"tcp\""));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert_outcome(&run(&tcp, &closed.to_string()).await, "connect");
    // Bad targets.
    for bad in ["", "a b", "127.0.0.1:x", "http://127.0.0.1/"] {
        assert_outcome(&run(&m, bad).await, "invalid_target");
    }
}

#[tokio::test]
async fn target_forms() {
    let resp = empty_responder().await;
    let m = dns_module(dns(
        "query_name = \"x.test\"\npreferred_ip_protocol = \"ip4\"",
    ));
    let port = resp.addr.port();
    for target in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let r = run(&m, &target).await;
        assert_outcome(&r, "success");
        assert_metric(&r, "probe_ip_protocol", &[], 4.0);
    }
    // Over IPv6 loopback, to a bracketed literal.
    let v6 = Responder::start(
        "::1".parse().unwrap(),
        Arc::new(|q| Some(reply(q, vec![], vec![]))),
    )
    .await;
    let r = run(&m, &format!("[::1]:{}", v6.addr.port())).await;
    assert_outcome(&r, "success");
    assert_metric(&r, "probe_ip_protocol", &[], 6.0);
}

/// `/probe`, a scheduled probe and `outpost probe`, all with a dns module.
#[tokio::test]
async fn probe_endpoint_schedule_and_cli() {
    use crate::support::daemon::{promtool_check, sample, TestDaemon};

    let d = Dnsmasq::start().await;
    let target = d.addr;
    let config = format!(
        r#"
[modules.dns_soa]
prober = "dns"
[modules.dns_soa.dns]
query_name = "{ZONE}"
query_type = "SOA"
preferred_ip_protocol = "ip4"

[[probes]]
name = "zone_soa"
module = "dns_soa"
target = "{target}"
interval = "1s"
"#
    );
    let daemon = TestDaemon::start(&config).await;
    let (status, body) = daemon
        .get(&format!("/probe?module=dns_soa&target={target}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(sample(&body, "probe_success", ""), Some(1.0));
    assert_eq!(
        sample(&body, "probe_dns_serial", ""),
        Some(f64::from(SOA_SERIAL))
    );
    assert_eq!(sample(&body, "probe_dns_answer_rrs", ""), Some(1.0));
    assert!(sample(&body, "probe_dns_duration_seconds", r#"phase="request""#).is_some());
    promtool_check(&body);
    // The hostname parameter is accepted (it names the TLS server for DoT).
    let (status, _) = daemon
        .get(&format!(
            "/probe?module=dns_soa&target={target}&hostname=ns.example"
        ))
        .await;
    assert_eq!(status, 200);

    let labels = format!(r#"probe="zone_soa",module="dns_soa",target="{target}""#);
    let ran = |t: &str| sample(t, "probe_dns_serial", &labels).is_some();
    let text = daemon.metrics_when(Duration::from_secs(10), ran).await;
    assert_eq!(
        sample(&text, "probe_dns_serial", &labels),
        Some(f64::from(SOA_SERIAL))
    );
    let runs = |outcome: &str| {
        sample(
            &text,
            "probe_runs_total",
            &format!(r#"{labels},outcome="{outcome}""#),
        )
    };
    assert!(runs("success").is_some_and(|n| n >= 1.0), "{text}");
    assert_eq!(runs("failure"), Some(0.0), "{text}");
    promtool_check(&text);
    daemon.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probes.toml");
    std::fs::write(&path, &config).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_outpost"))
            .arg("--config")
            .arg(&path)
            .args([
                "probe",
                "--metrics",
                "--module",
                "dns_soa",
                &target.to_string(),
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("probe_dns_serial 2024010101"), "{text}");
    assert!(
        text.contains("answer RR: \"zone.test.\\t600\\tIN\\tSOA\\t"),
        "{text}"
    );
}
