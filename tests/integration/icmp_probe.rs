//! The icmp prober against the kernel's own echo replies on loopback.
//!
//! Tests that need a given `net.ipv4.ping_group_range`, MTU or sysctl run on a
//! thread moved into a network namespace of its own (`unshare(CLONE_NEWNET)`, which
//! needs root, as the tests run here and in CI), with loopback up: the settings
//! never touch the machine's namespace, and nothing leaves loopback. A raw socket
//! in the same namespace sees the echo requests the prober sends, so the tests
//! observe the TTL, payload and DF flag on the wire.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

use std::io::Read;
use std::net::IpAddr;
use std::process::Command;
use std::time::Duration;

use nix::sched::{unshare, CloneFlags};
use outpost::config::{IcmpModule, IpProtocol, IpSettings, Module, Prober};
use outpost::probe::icmp::SocketChoice;
use outpost::probe::packets::PacketSettings;
use outpost::probe::ProbeReport;
use socket2::{Domain, Protocol, Socket, Type};

use crate::support::daemon::{sample, TestDaemon};
use crate::support::metrics::{assert_absent, assert_metric, assert_outcome, labels_of};
use crate::support::{module, run, run_with};

fn icmp(m: IcmpModule) -> Module {
    module(Prober::Icmp(Box::new(m)))
}

fn ip4() -> IpSettings {
    IpSettings {
        preferred: IpProtocol::Ip4,
        ..IpSettings::default()
    }
}

/// A namespace's set-up: sysctls (`/proc/sys` paths) and the loopback MTU.
#[derive(Clone, Copy, Default)]
struct Netns {
    sysctls: &'static [(&'static str, &'static str)],
    mtu: Option<u32>,
}

/// Datagram ICMP sockets allowed for every group.
const PING_OPEN: (&str, &str) = ("net/ipv4/ping_group_range", "0 2147483647");
/// Datagram ICMP sockets refused to everyone (the kernel's own default).
const PING_CLOSED: (&str, &str) = ("net/ipv4/ping_group_range", "1 0");

/// Runs `f` (with a runtime of its own) on a thread in a new network namespace.
fn in_netns<R: Send + 'static>(ns: Netns, f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::spawn(move || {
        unshare(CloneFlags::CLONE_NEWNET)
            .expect("unshare(CLONE_NEWNET) needs root (CAP_SYS_ADMIN): run the tests as root");
        let mut args = vec!["link", "set", "lo", "up"];
        let mtu = ns.mtu.map(|m| m.to_string());
        if let Some(m) = &mtu {
            args.extend(["mtu", m.as_str()]);
        }
        let status = Command::new("ip")
            .args(&args)
            .status()
            .expect("`ip` (Debian package iproute2) is needed for the icmp tests");
        assert!(status.success(), "ip {args:?}");
        for (path, value) in ns.sysctls {
            std::fs::write(format!("/proc/sys/{path}"), value).unwrap();
        }
        f()
    })
    .join()
    .unwrap()
}

/// One probe in a new namespace, with the trace, and what a raw socket there saw
/// of the echo requests (IPv4 only: the IP header of each).
fn probe_in_netns(
    ns: Netns,
    m: Module,
    target: &'static str,
    timeout: Duration,
) -> (ProbeReport, Vec<Vec<u8>>) {
    in_netns(ns, move || {
        let sniffer = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)).unwrap();
        sniffer.set_nonblocking(true).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let report = rt.block_on(run_with(&m, target, timeout, None));
        (report, requests_seen(&sniffer))
    })
}

/// The IPv4 echo requests (type 8) queued on `sniffer`, IP header included.
fn requests_seen(sniffer: &Socket) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 70_000];
    while let Ok(n) = (&*sniffer).read(&mut buf) {
        let ihl = usize::from(buf[0] & 0x0f) * 4;
        if n > ihl && buf[ihl] == 8 {
            out.push(buf[..n].to_vec());
        }
    }
    out
}

fn trace_has(r: &ProbeReport, text: &str) -> bool {
    r.trace.iter().any(|l| l.contains(text))
}

fn assert_echo_series(r: &ProbeReport, protocol: f64) {
    assert_outcome(r, "success");
    assert_metric(r, "probe_ip_protocol", &[], protocol);
    assert_metric(r, "probe_icmp_reply_hop_limit", &[], 64.0);
    let rtt = r
        .value("probe_icmp_duration_seconds", &[("phase", "rtt")])
        .unwrap();
    assert!(rtt > 0.0, "rtt {rtt}");
    for phase in ["resolve", "setup"] {
        assert!(r
            .value("probe_icmp_duration_seconds", &[("phase", phase)])
            .is_some());
    }
    assert_eq!(labels_of(r, "probe_icmp_duration_seconds").len(), 3);
    // One echo (packets = 1): Blackbox's series only, no train.
    assert_absent(r, "probe_packets_sent");
    assert_absent(r, "probe_rtt_seconds");
    assert!(r.packets.is_none());
}

#[tokio::test]
async fn echo_to_loopback_v4_and_v6() {
    let m = icmp(IcmpModule::default());
    assert_echo_series(&run(&m, "127.0.0.1").await, 4.0);
    assert_echo_series(&run(&m, "::1").await, 6.0);
    // A name: preferred_ip_protocol picks the family.
    let r = run(
        &icmp(IcmpModule {
            ip: ip4(),
            ..IcmpModule::default()
        }),
        "localhost",
    )
    .await;
    assert_echo_series(&r, 4.0);
}

#[test]
fn both_socket_kinds_v4_and_v6() {
    let ns = Netns {
        sysctls: &[PING_OPEN],
        ..Netns::default()
    };
    for (choice, kind) in [
        (SocketChoice::Datagram, "datagram"),
        (SocketChoice::Raw, "raw"),
    ] {
        for (target, protocol) in [("127.0.0.1", 4.0), ("::1", 6.0)] {
            let m = icmp(IcmpModule {
                socket: choice,
                ..IcmpModule::default()
            });
            let (r, _) = probe_in_netns(ns, m, target, Duration::from_secs(5));
            assert_echo_series(&r, protocol);
            assert!(trace_has(&r, &format!("Using a {kind}")), "{:#?}", r.trace);
        }
    }
}

#[test]
fn datagram_first_then_raw() {
    let open = Netns {
        sysctls: &[PING_OPEN],
        ..Netns::default()
    };
    let (r, _) = probe_in_netns(
        open,
        icmp(IcmpModule::default()),
        "127.0.0.1",
        Duration::from_secs(5),
    );
    assert_outcome(&r, "success");
    assert!(trace_has(&r, "Using a datagram"), "{:#?}", r.trace);

    let closed = Netns {
        sysctls: &[PING_CLOSED],
        ..Netns::default()
    };
    let (r, _) = probe_in_netns(
        closed,
        icmp(IcmpModule::default()),
        "127.0.0.1",
        Duration::from_secs(5),
    );
    assert_outcome(&r, "success");
    assert!(
        trace_has(&r, "Datagram ICMP socket refused"),
        "{:#?}",
        r.trace
    );
    assert!(trace_has(&r, "Using a raw"), "{:#?}", r.trace);

    // Datagram only, refused: connect, naming the sysctl.
    let m = icmp(IcmpModule {
        socket: SocketChoice::Datagram,
        ..IcmpModule::default()
    });
    let (r, _) = probe_in_netns(closed, m, "127.0.0.1", Duration::from_secs(5));
    assert_outcome(&r, "connect");
    let message = &r.failure.as_ref().unwrap().message;
    assert!(message.contains("ping_group_range"), "{message}");
}

/// The request on the wire carries `payload_size` bytes and the `ttl`; the
/// prober checks the reply's payload against them.
#[test]
fn payload_size_and_ttl_on_the_wire() {
    let ns = Netns {
        sysctls: &[PING_OPEN, ("net/ipv4/ip_default_ttl", "77")],
        ..Netns::default()
    };
    for choice in [SocketChoice::Datagram, SocketChoice::Raw] {
        let m = icmp(IcmpModule {
            payload_size: 1000,
            ttl: 9,
            socket: choice,
            ..IcmpModule::default()
        });
        let (r, seen) = probe_in_netns(ns, m, "127.0.0.1", Duration::from_secs(5));
        assert_outcome(&r, "success");
        assert!(trace_has(&r, "with 1000 payload bytes"), "{:#?}", r.trace);
        assert_eq!(seen.len(), 1, "{choice:?}");
        let req = &seen[0];
        assert_eq!(req.len(), 20 + 8 + 1000, "{choice:?}");
        assert_eq!(req[8], 9, "TTL of the request ({choice:?})");
        assert_eq!(&req[28..56], b"Prometheus Blackbox Exporter");
        assert!(req[56..].iter().all(|b| *b == 0));
    }
    // The default: Blackbox's 28-byte text and TTL 64, whatever the system's is.
    let (r, seen) = probe_in_netns(
        ns,
        icmp(IcmpModule::default()),
        "127.0.0.1",
        Duration::from_secs(5),
    );
    assert_outcome(&r, "success");
    assert_eq!(seen[0].len(), 20 + 8 + 28);
    assert_eq!(seen[0][8], 64);
    // ttl = 0 leaves the system's default.
    let m = icmp(IcmpModule {
        ttl: 0,
        ..IcmpModule::default()
    });
    let (r, seen) = probe_in_netns(ns, m, "127.0.0.1", Duration::from_secs(5));
    assert_outcome(&r, "success");
    assert_eq!(seen[0][8], 77);
}

/// `dont_fragment`: an IPv4 raw socket with our header and its DF flag. Over a
/// 1280-byte MTU a 2000-byte payload is then refused instead of fragmented.
#[test]
fn dont_fragment() {
    let ns = Netns {
        sysctls: &[PING_OPEN],
        mtu: Some(1280),
    };
    let big = |dont_fragment| {
        icmp(IcmpModule {
            payload_size: 2000,
            dont_fragment,
            ..IcmpModule::default()
        })
    };
    let (r, _) = probe_in_netns(ns, big(false), "127.0.0.1", Duration::from_secs(5));
    assert_outcome(&r, "success");
    let (r, _) = probe_in_netns(ns, big(true), "127.0.0.1", Duration::from_secs(5));
    assert_outcome(&r, "io");
    assert!(trace_has(&r, "Using a raw"), "{:#?}", r.trace);

    let m = icmp(IcmpModule {
        dont_fragment: true,
        ttl: 5,
        ..IcmpModule::default()
    });
    let (r, seen) = probe_in_netns(ns, m, "127.0.0.1", Duration::from_secs(5));
    assert_outcome(&r, "success");
    assert_eq!(seen[0][6] & 0x40, 0x40, "DF flag");
    assert_eq!(seen[0][8], 5, "TTL in our header");
    assert_metric(&r, "probe_icmp_reply_hop_limit", &[], 64.0);

    // IPv6 has no DF bit to set: ignored, as Blackbox.
    let (r, _) = probe_in_netns(ns, big(true), "::1", Duration::from_secs(5));
    assert_outcome(&r, "success");
    assert!(trace_has(&r, "dont_fragment applies to IPv4 only"));
}

#[tokio::test]
async fn source_ip_address() {
    let with_source = |ip: &str| {
        icmp(IcmpModule {
            ip: IpSettings {
                source_ip: Some(ip.parse::<IpAddr>().unwrap()),
                ..ip4()
            },
            ..IcmpModule::default()
        })
    };
    assert_outcome(
        &run(&with_source("127.0.0.1"), "127.0.0.1").await,
        "success",
    );
    assert_outcome(&run(&with_source("::1"), "::1").await, "success");
    let r = run(&with_source("127.0.0.1"), "::1").await;
    assert_outcome(&r, "connect");
    assert!(r.failure.unwrap().message.contains("not of the family"));
    assert_outcome(&run(&with_source("::1"), "127.0.0.1").await, "connect");
}

#[tokio::test]
async fn targets_with_a_port_are_invalid() {
    let m = icmp(IcmpModule::default());
    for target in ["127.0.0.1:80", "[::1]:80", "localhost:7", ""] {
        let r = run(&m, target).await;
        assert_outcome(&r, "invalid_target");
        assert_absent(&r, "probe_ip_protocol");
    }
}

/// With echo requests ignored by the kernel no reply ever comes: a timeout, with
/// the phases up to then and no hop limit.
#[test]
fn no_reply_is_a_timeout() {
    let ns = Netns {
        sysctls: &[
            PING_OPEN,
            ("net/ipv4/icmp_echo_ignore_all", "1"),
            ("net/ipv6/icmp/echo_ignore_all", "1"),
        ],
        ..Netns::default()
    };
    for target in ["127.0.0.1", "::1"] {
        let m = icmp(IcmpModule::default());
        let (r, _) = probe_in_netns(ns, m, target, Duration::from_millis(300));
        assert_outcome(&r, "timeout");
        assert_metric(&r, "probe_icmp_duration_seconds", &[("phase", "rtt")], 0.0);
        assert_absent(&r, "probe_icmp_reply_hop_limit");
        assert!(r.value("probe_ip_protocol", &[]).is_some_and(|p| p > 0.0));
    }
}

#[tokio::test]
async fn probe_endpoint() {
    let d = TestDaemon::start(
        "[modules.icmp]\nprober = \"icmp\"\n[modules.icmp.icmp]\npreferred_ip_protocol = \"ip4\"\n",
    )
    .await;
    let (status, body) = d.get("/probe?module=icmp&target=127.0.0.1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sample(&body, "probe_success", ""), Some(1.0), "{body}");
    assert_eq!(sample(&body, "probe_icmp_reply_hop_limit", ""), Some(64.0));
    assert!(sample(&body, "probe_icmp_duration_seconds", "phase=\"rtt\"").is_some_and(|v| v > 0.0));
    let (_, body) = d.get("/probe?module=icmp&target=127.0.0.1:80").await;
    assert_eq!(sample(&body, "probe_success", ""), Some(0.0), "{body}");
    d.stop().await;
}

/// The good config's modules hold what they say; absent keys are Blackbox's defaults.
#[test]
fn config_values() {
    let config = outpost::config::Config::load(std::path::Path::new(
        "tests/testdata/configs/good/icmp.toml",
    ))
    .unwrap();
    let settings = |name: &str| match &config.modules[name].prober {
        Prober::Icmp(m) => (**m).clone(),
        other => panic!("{name} is {:?}", other.kind()),
    };
    assert_eq!(settings("ping"), IcmpModule::default());
    assert_eq!(IcmpModule::default().ttl, 64);
    assert_eq!(IcmpModule::default().ip.preferred, IpProtocol::Ip6);
    assert_eq!(
        settings("ping4_df"),
        IcmpModule {
            ip: IpSettings {
                preferred: IpProtocol::Ip4,
                fallback: false,
                source_ip: Some("127.0.0.1".parse().unwrap()),
            },
            payload_size: 1472,
            dont_fragment: true,
            ttl: 32,
            packets: PacketSettings::default(),
            socket: SocketChoice::Auto,
        }
    );
    assert_eq!(IcmpModule::default().packets.count, 1);
    assert_eq!(
        settings("ping_train").packets,
        PacketSettings {
            count: 20,
            interval: Duration::from_millis(250),
        }
    );
    let hops = settings("ping6_hops");
    assert_eq!((hops.ttl, hops.payload_size), (0, 56));
}

/// A module sending `count` echoes `ms` apart over IPv4 or IPv6.
fn train(count: u32, ms: u64, preferred: IpProtocol) -> Module {
    icmp(IcmpModule {
        ip: IpSettings {
            preferred,
            ..IpSettings::default()
        },
        packets: PacketSettings {
            count,
            interval: Duration::from_millis(ms),
        },
        ..IcmpModule::default()
    })
}

/// Runs `nft` with `rules` (an nftables script) in the calling thread's namespace.
fn nft(rules: &str) {
    use std::io::Write;
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("`nft` (Debian package nftables) is needed for the icmp loss tests");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(rules.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "nft -f:\n{rules}");
}

/// An nftables script dropping `percent` % of the echo replies (IPv4 and IPv6)
/// at random on input: real loss in the kernel, no mock.
fn drop_replies(percent: u32) -> String {
    // `numgen random mod 100` is 0 to 99: every reply is `< 100`, which nft refuses.
    let share = if percent >= 100 {
        String::new()
    } else {
        format!("numgen random mod 100 < {percent} ")
    };
    format!(
        "table inet loss {{\n  chain input {{\n    type filter hook input priority 0;\n    \
         icmp type echo-reply {share}drop\n    \
         icmpv6 type echo-reply {share}drop\n  }}\n}}\n"
    )
}

/// One probe in a new namespace whose nftables ruleset is `rules`.
fn probe_with_rules(
    rules: String,
    m: Module,
    target: &'static str,
    timeout: Duration,
) -> ProbeReport {
    let ns = Netns {
        sysctls: &[PING_OPEN],
        ..Netns::default()
    };
    in_netns(ns, move || {
        nft(&rules);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(run_with(&m, target, timeout, None))
    })
}

fn gauge(r: &ProbeReport, name: &str) -> f64 {
    r.value(name, &[])
        .unwrap_or_else(|| panic!("no {name} in {:?}", r.samples))
}

fn rtt(r: &ProbeReport, stat: &str) -> f64 {
    r.value("probe_rtt_seconds", &[("stat", stat)])
        .unwrap_or_else(|| panic!("no rtt {stat} in {:?}", r.samples))
}

/// nftables drops 30 % of the echo replies at random: of 100 echoes 10 ms apart
/// the probe reports a loss near 30 % (binomial: 30 ± 4.6 lost; the band, ±20
/// points, is over 4 standard deviations, so a run outside it is a bug, not bad
/// luck), the RTT statistics of the replies that came, and success.
#[test]
fn a_train_reports_the_loss_nftables_makes() {
    for (target, protocol) in [("127.0.0.1", IpProtocol::Ip4), ("::1", IpProtocol::Ip6)] {
        let m = train(100, 10, protocol);
        let r = probe_with_rules(drop_replies(30), m, target, Duration::from_secs(3));
        assert_outcome(&r, "success");
        let (sent, received) = (
            gauge(&r, "probe_packets_sent"),
            gauge(&r, "probe_packets_received"),
        );
        assert_eq!(sent, 100.0, "{target}");
        let loss = gauge(&r, "probe_packet_loss_ratio");
        assert!((0.10..=0.50).contains(&loss), "{target}: loss {loss}");
        assert!(((sent - received) / sent - loss).abs() < 1e-9);
        assert_eq!(gauge(&r, "probe_packets_duplicated"), 0.0);
        let (min, avg, max, sd) = (
            rtt(&r, "min"),
            rtt(&r, "avg"),
            rtt(&r, "max"),
            rtt(&r, "stddev"),
        );
        assert!(
            0.0 < min && min <= avg && avg <= max && max < 0.05,
            "{min} {avg} {max}"
        );
        assert!((0.0..max).contains(&sd), "stddev {sd}");
        let run = r.packets.as_ref().unwrap();
        assert_eq!((run.sent, run.received as f64), (100, received));
        assert_eq!(run.rtts.len() as f64, received);
        assert_eq!(labels_of(&r, "probe_rtt_seconds").len(), 4);
    }
}

/// Every reply dropped: nothing answered is a timeout at the deadline, with the
/// echoes counted as sent and lost and no RTT statistics.
#[test]
fn a_train_without_any_reply_times_out() {
    let r = probe_with_rules(
        drop_replies(100),
        train(5, 10, IpProtocol::Ip4),
        "127.0.0.1",
        Duration::from_millis(400),
    );
    assert_outcome(&r, "timeout");
    assert_eq!(gauge(&r, "probe_packets_sent"), 5.0);
    assert_eq!(gauge(&r, "probe_packets_received"), 0.0);
    assert_eq!(gauge(&r, "probe_packet_loss_ratio"), 1.0);
    assert_absent(&r, "probe_rtt_seconds");
    // The run ends on its own just before the deadline, not cut by it.
    assert!(
        trace_has(&r, "none of the 5 echo requests"),
        "{:?}",
        r.trace
    );
}

/// nftables duplicates every echo reply (`dup to`): each echo is answered once
/// and each copy counted as a duplicate, never as another echo's answer.
#[test]
fn duplicate_replies_are_counted_not_answers() {
    let rules =
        "table ip copies {\n  chain output {\n    type filter hook output priority 0;\n    \
                 icmp type echo-reply dup to 127.0.0.1 device lo\n  }\n}\n";
    let r = probe_with_rules(
        rules.to_string(),
        train(4, 10, IpProtocol::Ip4),
        "127.0.0.1",
        Duration::from_secs(2),
    );
    assert_outcome(&r, "success");
    assert_eq!(gauge(&r, "probe_packets_sent"), 4.0);
    assert_eq!(gauge(&r, "probe_packets_received"), 4.0);
    assert_eq!(gauge(&r, "probe_packets_duplicated"), 4.0);
    assert_eq!(gauge(&r, "probe_packet_loss_ratio"), 0.0);
}

/// A scheduled train without loss: every run answers all its echoes, and the
/// counters and the RTT histogram advance by the train's length per run. A probe
/// of one echo writes none of the train's series.
#[tokio::test]
async fn scheduled_trains_count_across_runs() {
    let d = TestDaemon::start(
        "[modules.train]\nprober = \"icmp\"\ntimeout = \"1s\"\n\
         icmp = { preferred_ip_protocol = \"ip4\", packets = 5, packet_interval = \"20ms\" }\n\
         [modules.one]\nprober = \"icmp\"\ntimeout = \"1s\"\nicmp = { preferred_ip_protocol = \"ip4\" }\n\
         [[probes]]\nname = \"train\"\nmodule = \"train\"\ntarget = \"127.0.0.1\"\ninterval = \"1s\"\n\
         [[probes]]\nname = \"one\"\nmodule = \"one\"\ntarget = \"127.0.0.1\"\ninterval = \"1s\"\n",
    )
    .await;
    let labels = "probe=\"train\",module=\"train\",target=\"127.0.0.1\"";
    let body = d
        .metrics_when(Duration::from_secs(10), |b| {
            sample(b, "probe_packets_sent_total", labels).is_some_and(|v| v >= 10.0)
        })
        .await;
    let runs = sample(
        &body,
        "probe_runs_total",
        &format!("{labels},outcome=\"success\""),
    )
    .unwrap();
    assert!(runs >= 2.0, "{body}");
    let v = |name: &str| sample(&body, name, labels).unwrap_or_else(|| panic!("{name}:\n{body}"));
    assert_eq!(v("probe_packets_sent_total"), 5.0 * runs, "{body}");
    assert_eq!(v("probe_packets_received_total"), 5.0 * runs, "{body}");
    assert_eq!(v("probe_packet_rtt_seconds_count"), 5.0 * runs, "{body}");
    assert_eq!(
        sample(
            &body,
            "probe_packet_rtt_seconds_bucket",
            &format!("{labels},le=\"+Inf\"")
        ),
        Some(5.0 * runs)
    );
    assert!(sample(
        &body,
        "probe_packet_rtt_seconds_bucket",
        &format!("{labels},le=\"0.0001\"")
    )
    .is_some());
    assert_eq!(v("probe_packets_sent"), 5.0);
    assert_eq!(v("probe_packets_received"), 5.0);
    assert_eq!(v("probe_packet_loss_ratio"), 0.0);
    assert_eq!(v("probe_success"), 1.0);
    // The single echo has Blackbox's series, and none of the train's.
    assert!(body.contains("probe_success{probe=\"one\""), "{body}");
    for name in [
        "probe_packets_sent",
        "probe_packets_sent_total",
        "probe_packet_rtt_seconds_count",
    ] {
        assert!(
            !body.contains(&format!("{name}{{probe=\"one\"")),
            "{name}:\n{body}"
        );
    }
    crate::support::daemon::promtool_check(&body);
    // A reload that leaves the probe unchanged keeps its counters and histogram.
    let before = v("probe_packets_sent_total");
    let (status, _, text) = crate::support::daemon::request(d.addr, "POST", "/-/reload", &[]).await;
    assert_eq!(status, 200, "{text}");
    let body = d
        .metrics_when(Duration::from_secs(10), |b| {
            sample(b, "probe_packets_sent_total", labels).is_some_and(|v| v > before)
        })
        .await;
    let after = sample(&body, "probe_packets_sent_total", labels).unwrap();
    let runs = sample(
        &body,
        "probe_runs_total",
        &format!("{labels},outcome=\"success\""),
    )
    .unwrap();
    assert!(after > before, "{before} -> {after}");
    assert_eq!(after, 5.0 * runs, "{body}");
    assert_eq!(
        sample(&body, "probe_packet_rtt_seconds_count", labels),
        Some(after)
    );
    d.stop().await;
}
