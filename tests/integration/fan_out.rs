//! `fan_out = "all"`: a name with three loopback addresses, served by Debian's
//! dnsmasq, an HTTP server on each, one of them failing; then the name loses
//! an address.
//!
//! Everything runs in a network namespace of the test's own with dnsmasq in it
//! ([`ResolverNs`]): outpost resolves as in production.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Stdio};

use crate::support::daemon::sample;
use crate::support::netns;
use crate::support::resolver_ns::{fetch_until, ResolverNs};

const NAME: &str = "web.fan.test";
const PORT: u16 = 8080;

/// outpost in its namespace; stopped before the namespace goes.
struct World {
    outpost: Option<Child>,
    hosts: PathBuf,
    ns: ResolverNs,
    _dir: tempfile::TempDir,
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(child) = self.outpost.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn write_hosts(path: &PathBuf, last_octets: &[u8]) {
    let mut text: String = last_octets
        .iter()
        .map(|b| format!("127.0.0.{b} {NAME}\n"))
        .collect();
    // An AAAA record too: only a probe with ip_protocols = ["ip4", "ip6"] sees it.
    text.push_str(&format!("::1 {NAME}\n"));
    std::fs::write(path, text).unwrap();
}

impl World {
    fn start(config: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("hosts");
        write_hosts(&hosts, &[2, 3, 4]);
        let ns = ResolverNs::start(
            &format!("outpost-fan-{}", std::process::id()),
            &[format!("--addn-hosts={}", hosts.display())],
        );
        let config_path = dir.path().join("probes.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut world = World {
            outpost: None,
            hosts,
            ns,
            _dir: dir,
        };
        // The three targets: one HTTP server per address, the last answering 500.
        for (octet, status) in [(2, 200), (3, 200), (4, 500)] {
            let listener = netns::enter(&world.ns.name, move || {
                TcpListener::bind(("127.0.0.".to_string() + &octet.to_string(), PORT)).unwrap()
            });
            std::thread::spawn(move || serve(listener, status));
        }
        let listener = netns::enter(&world.ns.name, || TcpListener::bind(("::1", PORT)).unwrap());
        std::thread::spawn(move || serve(listener, 200));
        world.outpost = Some(
            world
                .ns
                .command(env!("CARGO_BIN_EXE_outpost"))
                .arg("--config.file")
                .arg(&config_path)
                .args(["--web.listen-address", "127.0.0.1:9115"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        world
    }

    /// `/metrics` of the outpost in the namespace, or "" while it is not up.
    fn metrics(&self) -> String {
        self.ns.http_get("127.0.0.1:9115", "/metrics")
    }

    /// Polls `/metrics` until `done` holds, for at most 30 s.
    fn metrics_when(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        fetch_until(what, || self.metrics(), done)
    }

    /// The name now resolves to `last_octets` only: dnsmasq re-reads its hosts
    /// files on SIGHUP.
    fn rename(&self, last_octets: &[u8]) {
        write_hosts(&self.hosts, last_octets);
        self.ns.reload_dns();
    }
}

/// A minimal HTTP/1.1 server: every request that names the host in its Host
/// header answered with `status`, any other with 421 (so a 200 or a 500 seen on
/// an address also says the name was kept while the address was pinned).
fn serve(listener: TcpListener, named: u16) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            let mut status = 421;
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if line == "\r\n" {
                    break;
                }
                if line.eq_ignore_ascii_case(&format!("host: {NAME}:{PORT}\r\n")) {
                    status = named;
                }
                line.clear();
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        });
    }
}

fn labels(probe: &str, ip: Option<&str>) -> String {
    let target = format!("http://{NAME}:{PORT}/");
    let mut l = format!(r#"probe="{probe}",module="web",target="{target}""#);
    if let Some(ip) = ip {
        l.push_str(&format!(r#",ip="{ip}""#));
    }
    l
}

#[test]
fn every_address_is_probed_and_a_vanished_one_goes_after_the_grace() {
    let probe = |name: &str, rule: &str| {
        format!(
            "[[probes]]\nname = \"{name}\"\nmodule = \"web\"\ntarget = \"http://{NAME}:{PORT}/\"\n\
             interval = \"1s\"\nfan_out = \"all\"\nfan_out_success = \"{rule}\"\naddress_grace = 3\n"
        )
    };
    let config = format!(
        "[modules.web]\nprober = \"http\"\ntimeout = \"900ms\"\n[modules.web.http]\npreferred_ip_protocol = \"ip4\"\n\n{}{}{}",
        probe("all", "all"),
        probe("any", "any"),
        probe("two", "2"),
    ) + &probe("dual", "all").replace(
        "address_grace = 3\n",
        "address_grace = 3\nip_protocols = [\"ip4\", \"ip6\"]\n",
    );
    let world = World::start(&config);
    let text = world.metrics_when("every address probed", |t| {
        ["all", "any", "two"].iter().all(|p| {
            sample(t, "probe_success", &labels(p, Some("127.0.0.4"))).is_some()
                && sample(t, "probe_success", &labels(p, None)).is_some()
        })
    });
    // ip_protocols: the AAAA address is probed too, as one more address; the
    // probes that follow the module's preferred ip4 never see it.
    let dual = world.metrics_when("the IPv6 address probed", |t| {
        sample(t, "probe_success", &labels("dual", Some("::1"))).is_some()
    });
    assert_eq!(
        sample(&dual, "probe_success", &labels("dual", Some("::1"))),
        Some(1.0)
    );
    assert_eq!(
        sample(&dual, "probe_addresses", &labels("dual", None)),
        Some(4.0)
    );
    assert_eq!(
        sample(&dual, "probe_success", &labels("dual", None)),
        Some(0.0)
    );
    assert_eq!(
        sample(&dual, "probe_success", &labels("all", Some("::1"))),
        None
    );
    // The per-address series say which address fails.
    for p in ["all", "any", "two"] {
        for (ip, up) in [("127.0.0.2", 1.0), ("127.0.0.3", 1.0), ("127.0.0.4", 0.0)] {
            assert_eq!(
                sample(&text, "probe_success", &labels(p, Some(ip))),
                Some(up),
                "{p} {ip}"
            );
            assert_eq!(
                sample(&text, "probe_http_status_code", &labels(p, Some(ip))),
                Some(if up == 1.0 { 200.0 } else { 500.0 }),
                "{p} {ip}"
            );
        }
        assert_eq!(
            sample(&text, "probe_addresses", &labels(p, None)),
            Some(3.0)
        );
        assert_eq!(
            sample(&text, "probe_addresses_skipped", &labels(p, None)),
            Some(0.0)
        );
        assert_eq!(
            sample(&text, "probe_address_changes_total", &labels(p, None)),
            Some(0.0)
        );
    }
    // Two of three up: all fails, any and a quorum of 2 hold.
    assert_eq!(
        sample(&text, "probe_success", &labels("all", None)),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "probe_success", &labels("any", None)),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "probe_success", &labels("two", None)),
        Some(1.0)
    );
    print!(
        "{}",
        text.lines()
            .filter(|l| l.contains("probe=\"all\"")
                && (l.starts_with("probe_success") || l.starts_with("probe_address")))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );

    // The failing address leaves the name: kept through the grace, then gone.
    world.rename(&[2, 3]);
    let text = world.metrics_when("two addresses", |t| {
        sample(t, "probe_addresses", &labels("all", None)) == Some(2.0)
    });
    assert_eq!(
        sample(&text, "probe_success", &labels("all", Some("127.0.0.4"))),
        Some(0.0),
        "kept during the grace"
    );
    assert_eq!(
        sample(&text, "probe_address_changes_total", &labels("all", None)),
        Some(1.0)
    );
    let text = world.metrics_when("the third address gone", |t| {
        !t.contains("ip=\"127.0.0.4\"")
    });
    for p in ["all", "any", "two"] {
        assert_eq!(
            sample(&text, "probe_success", &labels(p, None)),
            Some(1.0),
            "{p}"
        );
        assert_eq!(
            sample(&text, "probe_address_changes_total", &labels(p, None)),
            Some(1.0)
        );
        assert!(sample(&text, "probe_success", &labels(p, Some("127.0.0.3"))).is_some());
        // Its run counters went with it; the others' stayed.
        assert!(sample(
            &text,
            "probe_runs_total",
            &(labels(p, Some("127.0.0.2")) + ",outcome=\"success\"")
        )
        .is_some_and(|n| n >= 3.0));
    }
    print!(
        "{}",
        text.lines()
            .filter(|l| l.contains("probe=\"all\"")
                && (l.starts_with("probe_success") || l.starts_with("probe_address")))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
}
