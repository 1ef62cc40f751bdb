//! `[[discover]]`: probes of what the AWS scrape finds, against a real
//! moto_server seeded with load balancers and DB instances in two regions
//! (tests/testdata/aws/discover_seed.py).
//!
//! Everything runs in a network namespace of the test's own, as in fan_out.rs:
//! moto_server, dnsmasq answering on 127.0.0.1:53 there (outpost finds it through
//! `/etc/netns/NAME/resolv.conf`, bind-mounted by `ip netns exec`), the servers
//! behind the names moto gives its resources, and outpost. moto names a load
//! balancer `NAME-1.REGION.elb.amazonaws.com` and a DB instance
//! `NAME.aaaaaaaaaa.REGION.rds.amazonaws.com`; dnsmasq answers every name under
//! `eu-west-1.elb.amazonaws.com` with 127.0.0.2, `us-east-1.elb.amazonaws.com`
//! with 127.0.0.3 and `rds.amazonaws.com` with 127.0.0.4, where an HTTP server
//! (port 8080, 200 on /health) or a TCP listener (the DB's port) waits.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Child, Stdio};

use crate::support::daemon::sample;
use crate::support::moto::{aws_env_at, Moto};
use crate::support::netns;
use crate::support::resolver_ns::{fetch_until, ResolverNs};

const MOTO_PORT: u16 = 5000;
const HTTP_PORT: u16 = 8080;
const DB_PORT: u16 = 13306;
const EU: &str = "eu-west-1";
const US: &str = "us-east-1";

/// The namespace with dnsmasq, the servers and moto; outpost once started.
/// All gone on drop: outpost and moto first, then the namespace.
struct World {
    moto: Option<Moto>,
    outpost: Option<Child>,
    ns: ResolverNs,
    dir: tempfile::TempDir,
    /// Counters' labels whose values must never go down nor vanish once seen,
    /// each with the values seen so far (checked on every fetch of /metrics).
    watch: RefCell<Vec<(String, Vec<f64>)>>,
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(child) = self.outpost.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        drop(self.moto.take());
    }
}

impl World {
    /// The namespace `outpost-disc-TAG-PID` with dnsmasq, the servers and moto up.
    fn start(tag: &str) -> World {
        let ns = ResolverNs::start(
            &format!("outpost-disc-{tag}-{}", std::process::id()),
            &[
                "--address=/eu-west-1.elb.amazonaws.com/127.0.0.2".to_string(),
                "--address=/us-east-1.elb.amazonaws.com/127.0.0.3".to_string(),
                "--address=/rds.amazonaws.com/127.0.0.4".to_string(),
            ],
        );
        let mut world = World {
            moto: None,
            outpost: None,
            ns,
            dir: tempfile::tempdir().unwrap(),
            watch: RefCell::new(Vec::new()),
        };
        for octet in [2, 3] {
            let listener = netns::enter(&world.ns.name, move || {
                TcpListener::bind((format!("127.0.0.{octet}"), HTTP_PORT)).unwrap()
            });
            std::thread::spawn(move || serve_health(listener));
        }
        let listener = netns::enter(&world.ns.name, || {
            TcpListener::bind(("127.0.0.4", DB_PORT)).unwrap()
        });
        std::thread::spawn(move || {
            // A database that accepts: the tcp prober only connects.
            for stream in listener.incoming() {
                drop(stream);
            }
        });
        world.moto = Some(Moto::start_in(&world.ns.name, MOTO_PORT));
        world
    }

    fn moto(&self) -> &Moto {
        self.moto.as_ref().unwrap()
    }

    /// Seeds `region` (see discover_seed.py) and returns what it created as
    /// `(name, DNS name or endpoint address)`.
    fn seed(&self, region: &str, actions: &[&str]) -> Vec<(String, String)> {
        self.moto().discover_seed(region, actions)
    }

    /// Starts outpost in the namespace on `config`, AWS pointed at moto.
    fn outpost(&mut self, config: &str) {
        let config_path = self.dir.path().join("probes.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut cmd = self.ns.command(env!("CARGO_BIN_EXE_outpost"));
        cmd.arg("--config.file")
            .arg(&config_path)
            .args(["--web.listen-address", "127.0.0.1:9115"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        aws_env_at(&mut cmd, &self.moto().endpoint(), self.dir.path());
        self.outpost = Some(cmd.spawn().unwrap());
    }

    /// From now on every fetch of /metrics checks that the counter
    /// `probe_runs_total{labels}` never goes down nor vanishes once seen.
    fn watch(&self, labels: &str) {
        self.watch
            .borrow_mut()
            .push((labels.to_string(), Vec::new()));
    }

    /// The values the watched counter `labels` had, fetch after fetch.
    fn watched(&self, labels: &str) -> Vec<f64> {
        self.watch
            .borrow()
            .iter()
            .find(|(l, _)| l == labels)
            .map(|(_, seen)| seen.clone())
            .unwrap_or_default()
    }

    /// `/metrics` of the outpost in the namespace, or "" while it is not up.
    fn metrics(&self) -> String {
        let text = self.ns.http_get("127.0.0.1:9115", "/metrics");
        for (labels, seen) in self.watch.borrow_mut().iter_mut() {
            let now = sample(&text, "probe_runs_total", labels);
            if let Some(&last) = seen.last() {
                let now = now.unwrap_or_else(|| {
                    panic!("probe_runs_total{{{labels}}} vanished after {last}:\n{text}")
                });
                assert!(
                    now >= last,
                    "probe_runs_total{{{labels}}} went down from {last} to {now}:\n{text}"
                );
            }
            seen.extend(now);
        }
        text
    }

    /// Polls `/metrics` until `done` holds, for at most 30 s.
    fn metrics_when(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        fetch_until(what, || self.metrics(), done)
    }
}

/// A minimal HTTP server: 200 on /health, 404 on anything else.
fn serve_health(listener: TcpListener) {
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if line == "\r\n" {
                    break;
                }
                line.clear();
            }
            let status = if first.starts_with("GET /health ") {
                200
            } else {
                404
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        });
    }
}

/// The address discover_seed.py printed for `name`.
fn address<'a>(created: &'a [(String, String)], name: &str) -> &'a str {
    created
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, a)| a.as_str())
        .unwrap_or_else(|| panic!("{name} not created: {created:?}"))
}

/// The labels of the probe discovery `alb` makes for load balancer `lb`.
fn alb(region: &str, lb: &str, dns: &str, team: &str) -> String {
    format!(
        r#"probe="alb/{region}/{lb}",module="web",target="http://{dns}:{HTTP_PORT}/health",discovery="alb",region="{region}",load_balancer="{lb}",tag_team="{team}""#
    )
}

fn probes(disc: &str, region: &str, state: &str) -> String {
    format!(r#"discovery="{disc}",region="{region}",state="{state}""#)
}

fn changes(disc: &str, change: &str) -> String {
    format!(r#"discovery="{disc}",change="{change}""#)
}

const MODULES: &str = r#"
[modules.web]
prober = "http"
timeout = "900ms"
[modules.web.http]
preferred_ip_protocol = "ip4"

[modules.db]
prober = "tcp"
timeout = "900ms"
[modules.db.tcp]
preferred_ip_protocol = "ip4"
"#;

/// The story: a probe per matching resource in two regions, with its labels and
/// the real DNS name or endpoint in its target; one deleted in moto kept through
/// the grace (not running), then gone; one created gaining a probe; the
/// counters of an unchanged one never going back; one deleted and created
/// again within its grace resuming with its counters.
#[test]
fn discovered_probes_follow_what_the_scrape_finds() {
    let mut world = World::start("story");
    let eu = world.seed(
        EU,
        &[
            "lb:alb-a:env=prod+team=web",
            "lb:alb-b:env=prod+team=web",
            "lb:alb-dev:env=dev+team=web",
            "lb:alb-k:env=keep",
            "db:db-one:13306:env=prod",
            "db:db-off:13307:env=prod",
            "stopdb:db-off",
        ],
    );
    let us = world.seed(US, &["lb:alb-c:env=prod+team=edge"]);
    let (dns_a, dns_b) = (address(&eu, "alb-a"), address(&eu, "alb-b"));
    let dns_c = address(&us, "alb-c");
    let db_one = address(&eu, "db-one");
    let dns_k = address(&eu, "alb-k");
    // dnsmasq's rules above cover the names moto gives.
    assert!(dns_a.ends_with(".eu-west-1.elb.amazonaws.com"), "{dns_a}");
    assert!(dns_c.ends_with(".us-east-1.elb.amazonaws.com"), "{dns_c}");
    assert!(db_one.ends_with(".rds.amazonaws.com"), "{db_one}");
    world.outpost(&format!(
        r#"[aws]
regions = ["{EU}", "{US}"]
interval = "2s"
services = ["rds", "elbv2"]
{MODULES}
[[discover]]
name = "alb"
service = "elbv2"
tag_filters = {{ env = ["prod"] }}
tag_labels = ["team"]
module = "web"
target = "http://{{dns_name}}:{HTTP_PORT}/health"
interval = "1s"
grace = 2

[[discover]]
name = "keep"
service = "elbv2"
regions = ["{EU}"]
tag_filters = {{ env = ["keep"] }}
module = "web"
target = "http://{{dns_name}}:{HTTP_PORT}/health"
interval = "1s"
grace = 10

[[discover]]
name = "db"
service = "rds"
regions = ["{EU}"]
module = "db"
target = "{{endpoint}}:{{port}}"
interval = "1s"
"#
    ));
    let a = alb(EU, "alb-a", dns_a, "web");
    let b = alb(EU, "alb-b", dns_b, "web");
    let c = alb(US, "alb-c", dns_c, "edge");
    let db = format!(
        r#"probe="db/{EU}/db-one",module="db",target="{db_one}:{DB_PORT}",discovery="db",region="{EU}",db_instance="db-one""#
    );
    let k = format!(
        r#"probe="keep/{EU}/alb-k",module="web",target="http://{dns_k}:{HTTP_PORT}/health",discovery="keep",region="{EU}",load_balancer="alb-k""#
    );

    // 1. A probe per matching resource, succeeding, with the resource's labels.
    let runs_a = a.clone() + r#",outcome="success""#;
    let runs_k = k.clone() + r#",outcome="success""#;
    world.watch(&runs_a);
    world.watch(&runs_k);
    let text = world.metrics_when("a probe per resource, succeeding", |t| {
        [&a, &b, &c, &db, &k]
            .iter()
            .all(|l| sample(t, "probe_success", l) == Some(1.0))
    });
    let start = sample(&text, "probe_runs_total", &runs_a)
        .unwrap_or_else(|| panic!("alb-a's runs:\n{text}"));
    print!(
        "{}",
        text.lines()
            .filter(|l| l.starts_with("probe_success{") || l.starts_with("outpost_discovery_"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    assert!(
        !text.contains("alb/eu-west-1/alb-dev"),
        "env=dev is filtered out (the scrape's own aws_* series still list it):\n{text}"
    );
    assert!(
        !text.contains("db/eu-west-1/db-off"),
        "a stopped instance is not probed:\n{text}"
    );
    for (labels, want) in [
        (probes("alb", EU, "active"), 2.0),
        (probes("alb", US, "active"), 1.0),
        (probes("db", EU, "active"), 1.0),
        (probes("keep", EU, "active"), 1.0),
    ] {
        assert_eq!(
            sample(&text, "outpost_discovery_probes", &labels),
            Some(want),
            "{labels}\n{text}"
        );
    }
    for disc in ["alb", "db"] {
        assert_eq!(
            sample(
                &text,
                "outpost_discovery_resources_skipped",
                &format!(r#"discovery="{disc}""#)
            ),
            Some(0.0),
            "{disc} skipped (the stopped db-off not counted)\n{text}"
        );
    }
    // The probe joins the scrape's own series on region and load_balancer.
    assert_eq!(
        sample(
            &text,
            "aws_elbv2_load_balancer_state",
            &format!(r#"region="{EU}",load_balancer="alb-a",state="active""#)
        ),
        Some(1.0),
        "{text}"
    );

    // 2. alb-b deleted in moto: kept, not running, through the grace; then gone.
    world.seed(EU, &["rmlb:alb-b"]);
    let runs_b = |t: &str| {
        sample(
            t,
            "probe_runs_total",
            &(b.clone() + r#",outcome="success""#),
        )
    };
    let text = world.metrics_when("alb-b in its grace", |t| {
        sample(t, "outpost_discovery_probes", &probes("alb", EU, "grace")) == Some(1.0)
    });
    assert_eq!(sample(&text, "probe_success", &b), Some(1.0), "{text}");
    print!(
        "{}",
        text.lines()
            .filter(|l| l.contains("alb/eu-west-1/alb-b")
                || l.starts_with("outpost_discovery_probes{discovery=\"alb\",region=\"eu-west-1\""))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    assert_eq!(
        sample(
            &text,
            "outpost_discovery_probes",
            &probes("alb", EU, "active")
        ),
        Some(1.0),
        "{text}"
    );
    let first = runs_b(&text).unwrap_or_else(|| panic!("alb-b's runs in its grace:\n{text}"));
    let last = RefCell::new(first);
    let text = world.metrics_when("alb-b's series gone after the grace", |t| match runs_b(t) {
        Some(n) => {
            *last.borrow_mut() = n;
            false
        }
        None => !t.is_empty(),
    });
    // One run may have been under way when the scrape came; no more after it.
    assert!(
        *last.borrow() <= first + 1.0,
        "alb-b kept running in its grace: {first} then {}",
        last.borrow()
    );
    assert!(!text.contains("alb/eu-west-1/alb-b"), "{text}");
    assert_eq!(
        sample(
            &text,
            "outpost_discovery_changes_total",
            &changes("alb", "removed")
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "outpost_discovery_probes",
            &probes("alb", EU, "grace")
        ),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "outpost_discovery_probes",
            &probes("alb", EU, "active")
        ),
        Some(1.0),
        "{text}"
    );

    // 3. alb-d created in moto: a probe on a later scrape.
    let added = sample(
        &text,
        "outpost_discovery_changes_total",
        &changes("alb", "added"),
    )
    .unwrap_or(0.0);
    let created = world.seed(EU, &["lb:alb-d:env=prod+team=web"]);
    let d = alb(EU, "alb-d", address(&created, "alb-d"), "web");
    let text = world.metrics_when("alb-d probed", |t| {
        sample(t, "probe_success", &d) == Some(1.0)
    });
    assert_eq!(
        sample(
            &text,
            "outpost_discovery_changes_total",
            &changes("alb", "added")
        ),
        Some(added + 1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "outpost_discovery_probes",
            &probes("alb", EU, "active")
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(sample(&text, "probe_success", &a), Some(1.0), "{text}");
    assert_eq!(sample(&text, "probe_success", &c), Some(1.0), "{text}");
    assert_eq!(sample(&text, "probe_success", &db), Some(1.0), "{text}");
    print!(
        "{}",
        text.lines()
            .filter(|l| l.starts_with("probe_success{") || l.starts_with("outpost_discovery_"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );

    // 4. alb-a's counter, checked on every fetch above, never went down and grew.
    let seen = world.watched(&runs_a);
    let end = *seen.last().unwrap();
    assert!(end > start, "alb-a's runs: {seen:?}");
    println!("alb-a probe_runs_total{{outcome=\"success\"}}: {start} -> {end}");

    // 5. alb-k (discovery "keep", a grace of 10 scrapes) deleted, then created
    //    again within its grace: the same probe resumes with its counters (the
    //    watch above checked they never went down nor vanished).
    world.seed(EU, &["rmlb:alb-k"]);
    let text = world.metrics_when("alb-k in its grace", |t| {
        sample(t, "outpost_discovery_probes", &probes("keep", EU, "grace")) == Some(1.0)
    });
    let paused = sample(&text, "probe_runs_total", &runs_k)
        .unwrap_or_else(|| panic!("alb-k's runs in its grace:\n{text}"));
    let again = world.seed(EU, &["lb:alb-k:env=keep"]);
    assert_eq!(address(&again, "alb-k"), dns_k, "moto names it as before");
    let text = world.metrics_when("alb-k back and running", |t| {
        sample(t, "outpost_discovery_probes", &probes("keep", EU, "active")) == Some(1.0)
            && sample(t, "probe_runs_total", &runs_k).is_some_and(|n| n > paused + 1.0)
    });
    assert_eq!(
        sample(
            &text,
            "outpost_discovery_probes",
            &probes("keep", EU, "grace")
        ),
        Some(0.0),
        "{text}"
    );
    assert_eq!(sample(&text, "probe_success", &k), Some(1.0), "{text}");
    let seen = world.watched(&runs_k);
    println!(
        "alb-k probe_runs_total{{outcome=\"success\"}}: {} -> {paused} (grace) -> {}",
        seen[0],
        seen.last().unwrap()
    );
    print!(
        "{}",
        text.lines()
            .filter(|l| l.contains("discovery=\"keep\""))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
}

/// `max_probes`: three load balancers match, two are probed, one is counted.
#[test]
fn discovery_over_its_cap_counts_what_it_does_not_probe() {
    let mut world = World::start("cap");
    let created = world.seed(
        EU,
        &[
            "lb:cap-1:env=prod+team=web",
            "lb:cap-2:env=prod+team=web",
            "lb:cap-3:env=prod+team=web",
        ],
    );
    assert_eq!(created.len(), 3, "{created:?}");
    world.outpost(&format!(
        r#"[aws]
regions = ["{EU}"]
interval = "2s"
services = ["elbv2"]
{MODULES}
[[discover]]
name = "alb"
service = "elbv2"
tag_filters = {{ env = ["prod"] }}
tag_labels = ["team"]
module = "web"
target = "http://{{dns_name}}:{HTTP_PORT}/health"
interval = "1s"
max_probes = 2
"#
    ));
    let probed = |t: &str| {
        created
            .iter()
            .filter(|(lb, dns)| sample(t, "probe_success", &alb(EU, lb, dns, "web")) == Some(1.0))
            .count()
    };
    let text = world.metrics_when("two probes, one skipped", |t| {
        probed(t) == 2
            && sample(
                t,
                "outpost_discovery_resources_skipped",
                r#"discovery="alb""#,
            ) == Some(1.0)
    });
    assert_eq!(
        sample(
            &text,
            "outpost_discovery_probes",
            &probes("alb", EU, "active")
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("probe_success{probe=\"alb/"))
            .count(),
        2,
        "{text}"
    );
    print!(
        "{}",
        text.lines()
            .filter(|l| l.starts_with("probe_success{") || l.starts_with("outpost_discovery_"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
}
