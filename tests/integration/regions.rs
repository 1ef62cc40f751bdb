//! Four regions for real: each a network namespace with its own "ALB" target and
//! its own outpost process probing the other three, one Prometheus scraping the
//! four with `region` labels and evaluating prometheus/*.rules.yml. Cutting one
//! region's probe link must raise `TargetDownInRegion` for that region's view only
//! and `TargetDownGlobally` for its own target, seen failing from the three others.
//!
//! Topology (all namespaces made here, names unique per run, deleted on drop):
//!
//! ```text
//!   region ns (x4) --probe-- [bridge ns: bridge "probe0"]   10.77.0.0/24
//!         \--------mgmt----- [mon ns: bridge "mgmt0", Prometheus] 10.78.0.0/24
//! ```
//!
//! The probe network carries the probes and the ALBs; the management network only
//! the scrapes, so a region cut off from the others stays scrapeable. Regions do
//! not forward (a fresh namespace's default), so the management network is no
//! detour for probes. Prometheus listens on the monitoring namespace's loopback;
//! the test reaches it (and binds the ALBs) with sockets opened by a helper thread
//! that entered the namespace with setns(2): a socket stays in the namespace it was
//! made in, whichever thread then uses it.
//!
//! The shipped rules run as they are, not a copy with shorter waits: a region
//! counts a target down after 2 minutes of failed runs (probe:down:2m), so the
//! cut shows a little over two minutes later; `for:` is then minutes more, and
//! the test accepts pending or firing, which /api/v1/alerts both list as active.
//! promtool tests (prometheus/tests/outpost-global.test.yml) cover firing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on unexpected errors"
)]

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;

use crate::support::netns::{enter, ip};
use tokio::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_outpost");
/// Region names and the short codes in namespace names.
const REGIONS: [(&str, &str); 4] = [
    ("ap-southeast-1", "sg"),
    ("ap-east-1", "hk"),
    ("ap-southeast-2", "syd"),
    ("eu-west-2", "ldn"),
];
/// The region whose probe link the test cuts.
const CUT: usize = 1;
const ALB_PORT: u16 = 8080;
const OUTPOST_PORT: u16 = 9465;
const PROMETHEUS: &str = "127.0.0.1:9090";

fn probe_ip(i: usize) -> String {
    format!("10.77.0.{}", i + 1)
}

fn mgmt_ip(i: usize) -> String {
    format!("10.78.0.{}", i + 1)
}

/// The URL every region uses for region `i`'s ALB: the `target` label is equal
/// across regions, as the global rules need.
fn alb_url(i: usize) -> String {
    format!("http://{}:{ALB_PORT}/health", probe_ip(i))
}

/// Everything the test made, undone on drop (also when a step panics): processes
/// killed first, then the namespaces deleted (which removes their links).
struct Lab {
    tag: String,
    namespaces: Vec<String>,
    processes: Vec<Child>,
    dir: tempfile::TempDir,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in &mut self.processes {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "delete", ns]).status();
        }
    }
}

impl Lab {
    fn new() -> Lab {
        static RUN: AtomicUsize = AtomicUsize::new(0);
        Lab {
            tag: format!(
                "op{}x{}",
                std::process::id(),
                RUN.fetch_add(1, Ordering::Relaxed)
            ),
            namespaces: Vec::new(),
            processes: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A new namespace `<tag>-<code>` with loopback up.
    fn netns(&mut self, code: &str) -> String {
        let name = format!("{}-{code}", self.tag);
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .unwrap_or_else(|e| panic!("`ip` (Debian package iproute2) is needed: {e}"));
        assert!(
            out.status.success(),
            "cannot create network namespace {name}: {}\nThis test simulates four regions \
             with network namespaces and needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), as \
             `make test` and CI run it.",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        self.namespaces.push(name.clone());
        ip(&["-n", &name, "link", "set", "lo", "up"]);
        name
    }

    /// Starts `argv` inside namespace `ns`, output to `<dir>/<log>`.
    fn spawn_in(&mut self, ns: &str, argv: &[&str], log: &str) {
        let log = File::create(self.dir.path().join(log)).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(argv)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("ip netns exec {ns} {argv:?}: {e}"));
        self.processes.push(child);
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The tail of a process's log, for failure messages.
    fn log_tail(&self, log: &str) -> String {
        let text = std::fs::read_to_string(self.path(log)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// The namespaces of one run.
struct Net {
    regions: Vec<String>,
    mon: String,
}

/// Four regions, each with a probe link to the bridge namespace and a
/// management link to the monitoring namespace.
fn build_net(lab: &mut Lab) -> Net {
    let br = lab.netns("br");
    let mon = lab.netns("mon");
    ip(&["-n", &br, "link", "add", "probe0", "type", "bridge"]);
    ip(&["-n", &br, "link", "set", "probe0", "up"]);
    ip(&["-n", &mon, "link", "add", "mgmt0", "type", "bridge"]);
    ip(&["-n", &mon, "addr", "add", "10.78.0.254/24", "dev", "mgmt0"]);
    ip(&["-n", &mon, "link", "set", "mgmt0", "up"]);
    let mut regions = Vec::new();
    for (i, (_, code)) in REGIONS.iter().enumerate() {
        let ns = lab.netns(code);
        link(&ns, "probe", &probe_ip(i), &br, "probe0", &format!("p{i}"));
        link(&ns, "mgmt", &mgmt_ip(i), &mon, "mgmt0", &format!("m{i}"));
        regions.push(ns);
    }
    Net { regions, mon }
}

/// A veth `dev` (address `addr`/24) in `ns`, its peer `port` a port of `bridge`
/// in namespace `bridge_ns`.
fn link(ns: &str, dev: &str, addr: &str, bridge_ns: &str, bridge: &str, port: &str) {
    ip(&[
        "-n", ns, "link", "add", dev, "type", "veth", "peer", "name", port, "netns", bridge_ns,
    ]);
    ip(&["-n", bridge_ns, "link", "set", port, "master", bridge, "up"]);
    ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev]);
    ip(&["-n", ns, "link", "set", dev, "up"]);
}

/// Region `i`'s ALB: 200 "ok" on its probe address, remembering who asked.
fn start_alb(ns: &str, i: usize) -> Arc<Mutex<BTreeSet<IpAddr>>> {
    let addr: SocketAddr = format!("{}:{ALB_PORT}", probe_ip(i)).parse().unwrap();
    let listener = enter(ns, move || std::net::TcpListener::bind(addr).unwrap());
    listener.set_nonblocking(true).unwrap();
    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let peers = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            peers.lock().unwrap().insert(peer.ip());
            tokio::spawn(async move {
                let svc = service_fn(|_: Request<Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok\n"))))
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    seen
}

/// Region `i`'s outpost, probing the three other ALBs every second and serving
/// /metrics on its management address only.
fn start_outpost(lab: &mut Lab, ns: &str, i: usize) {
    let mut config = String::from(
        "[modules.alb]\nprober = \"http\"\ntimeout = \"800ms\"\n\
         [modules.alb.http]\nvalid_status_codes = [200]\npreferred_ip_protocol = \"ip4\"\n",
    );
    for (j, (region, code)) in REGIONS.iter().enumerate().filter(|(j, _)| *j != i) {
        config.push_str(&format!(
            "\n[[probes]]\nname = \"alb-{code}\"\nmodule = \"alb\"\ntarget = \"{}\"\n\
             interval = \"1s\"\nlabels = {{ target_region = \"{region}\" }}\n",
            alb_url(j)
        ));
    }
    let path = lab.path(&format!("outpost-{i}.toml"));
    std::fs::write(&path, config).unwrap();
    let listen = format!("{}:{OUTPOST_PORT}", mgmt_ip(i));
    let argv = [
        BIN,
        "--config",
        path.to_str().unwrap(),
        "--listen",
        &listen,
        "--log-level",
        "warn",
    ];
    lab.spawn_in(ns, &argv, &format!("outpost-{i}.log"));
}

/// One Prometheus in the monitoring namespace: a scrape job per region with its
/// `region` label, every prometheus/*.rules.yml, scrape and evaluation every 1 s.
fn start_prometheus(lab: &mut Lab, mon: &str) {
    let rules = lab.path("rules");
    std::fs::create_dir(&rules).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("prometheus");
    for entry in std::fs::read_dir(shipped).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".rules.yml") {
            std::fs::copy(&path, rules.join(path.file_name().unwrap())).unwrap();
        }
    }
    assert!(rules.join("outpost-global.rules.yml").exists());
    let mut config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {}/*.rules.yml\nscrape_configs:\n",
        rules.display()
    );
    for (i, (region, _)) in REGIONS.iter().enumerate() {
        config.push_str(&format!(
            "  - job_name: outpost-{region}\n    static_configs:\n      - targets: ['{}:{OUTPOST_PORT}']\n        labels: {{region: {region}}}\n",
            mgmt_ip(i)
        ));
    }
    let file = lab.path("prometheus.yml");
    std::fs::write(&file, config).unwrap();
    let argv = [
        "prometheus".to_string(),
        format!("--config.file={}", file.display()),
        format!("--storage.tsdb.path={}", lab.path("data").display()),
        format!("--web.listen-address={PROMETHEUS}"),
    ];
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    lab.spawn_in(mon, &argv, "prometheus.log");
}

/// GET `path` from Prometheus (on the monitoring namespace's loopback); None
/// while it does not answer yet (bounded, so the test's deadline holds).
async fn prometheus_get(mon: &str, path: &str) -> Option<Value> {
    tokio::time::timeout(Duration::from_secs(5), prometheus_get_once(mon, path))
        .await
        .ok()
        .flatten()
}

async fn prometheus_get_once(mon: &str, path: &str) -> Option<Value> {
    let addr: SocketAddr = PROMETHEUS.parse().unwrap();
    let stream = enter(mon, move || std::net::TcpStream::connect(addr)).ok()?;
    stream.set_nonblocking(true).unwrap();
    let stream = tokio::net::TcpStream::from_std(stream).unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    let req = Request::get(path)
        .header("host", PROMETHEUS)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = sender.send_request(req).await.ok()?;
    let body = resp.into_body().collect().await.ok()?.to_bytes();
    serde_json::from_slice(&body).ok()
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The number of series an instant query returns (None if it fails).
async fn series_count(mon: &str, query: &str) -> Option<usize> {
    let answer = prometheus_get(mon, &format!("/api/v1/query?query={}", encode(query))).await?;
    answer["data"]["result"].as_array().map(Vec::len)
}

/// What identifies an alert here: alertname, region, target and its value.
type Key = (String, String, String, String);

/// An active alert of the global rules, as /api/v1/alerts shows it.
#[derive(Debug)]
struct Alert {
    name: String,
    region: String,
    target: String,
    /// The expression's value: 0 for the regional alert, the number of regions
    /// for the global one.
    value: f64,
    state: String,
    description: String,
}

impl Alert {
    fn of(a: &Value) -> Alert {
        let label = |k: &str| a["labels"][k].as_str().unwrap_or("").to_string();
        Alert {
            name: label("alertname"),
            region: label("region"),
            target: label("target"),
            value: a["value"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN),
            state: a["state"].as_str().unwrap_or("").to_string(),
            description: a["annotations"]["description"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        }
    }

    fn key(&self) -> Key {
        let value = self.value.to_string();
        (
            self.name.clone(),
            self.region.clone(),
            self.target.clone(),
            value,
        )
    }
}

/// The active (pending or firing) TargetDownInRegion/TargetDownGlobally alerts.
async fn target_down_alerts(mon: &str) -> Option<Vec<Alert>> {
    let answer = prometheus_get(mon, "/api/v1/alerts").await?;
    let alerts = answer["data"]["alerts"].as_array()?.iter().map(Alert::of);
    Some(
        alerts
            .filter(|a| a.name.starts_with("TargetDown"))
            .collect(),
    )
}

/// Every rule Prometheus evaluated with an error, as "group/name: error".
async fn rule_errors(mon: &str) -> Vec<String> {
    let answer = prometheus_get(mon, "/api/v1/rules").await.unwrap();
    let mut errors = Vec::new();
    for group in answer["data"]["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            if rule["health"] == "err" {
                errors.push(format!(
                    "{}/{}: {}",
                    group["name"], rule["name"], rule["lastError"]
                ));
            }
        }
    }
    errors
}

/// Waits until every region's view of every other region's target is recorded
/// as up (12 series of the global rules' recording rule at 0: not down).
async fn wait_all_up(lab: &Lab, mon: &str, deadline: Instant) {
    let query = "region_target:probe_down:min == 0";
    loop {
        let up = series_count(mon, query).await;
        if up == Some(12) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the four regions never all saw the others' targets up ({query}: {up:?})\n\
             prometheus log:\n{}\noutpost-0 log:\n{}",
            lab.log_tail("prometheus.log"),
            lab.log_tail("outpost-0.log")
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The alerts the cut of region `CUT` must raise, exactly: regional ones (value
/// 1, the region's down record) for its view of the three other targets, the global one for its own target
/// seen failing from 3 regions.
fn expected_after_cut() -> BTreeSet<Key> {
    let cut = REGIONS[CUT].0;
    let alert = |name: &str, region: &str, j: usize, value: &str| {
        (name.into(), region.into(), alb_url(j), value.into())
    };
    let mut expected: BTreeSet<Key> = (0..REGIONS.len())
        .filter(|j| *j != CUT)
        .map(|j| alert("TargetDownInRegion", cut, j, "1"))
        .collect();
    expected.insert(alert("TargetDownGlobally", "", CUT, "3"));
    expected
}

/// Polls the alerts until the active TargetDown* set is exactly `expected`.
async fn wait_for_alerts(
    mon: &str,
    expected: &BTreeSet<Key>,
    when: &str,
    deadline: Instant,
) -> Vec<Alert> {
    loop {
        let alerts = target_down_alerts(mon).await.unwrap_or_default();
        let got: BTreeSet<_> = alerts.iter().map(Alert::key).collect();
        if &got == expected {
            return alerts;
        }
        assert!(
            Instant::now() < deadline,
            "{when}, the alerts never became exactly {expected:#?}\nlast seen: {alerts:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_region_cut_off_alerts_for_its_view_and_globally_for_its_target() {
    // The rules' production window: a region counts a target down once every run
    // of 2 minutes failed, so the cut takes a little over two minutes to show.
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut lab = Lab::new();
    let net = build_net(&mut lab);
    let seen: Vec<_> = (0..REGIONS.len())
        .map(|i| start_alb(&net.regions[i], i))
        .collect();
    for i in 0..REGIONS.len() {
        start_outpost(&mut lab, &net.regions[i], i);
    }
    start_prometheus(&mut lab, &net.mon);

    // Before the cut: everything up from everywhere, over the probe network
    // (each ALB asked by the three other regions' probe addresses), no alert.
    wait_all_up(&lab, &net.mon, deadline).await;
    for (i, peers) in seen.iter().enumerate() {
        let others: BTreeSet<IpAddr> = (0..REGIONS.len())
            .filter(|j| *j != i)
            .map(|j| probe_ip(j).parse().unwrap())
            .collect();
        assert_eq!(*peers.lock().unwrap(), others, "who probed {}", alb_url(i));
    }
    let before = target_down_alerts(&net.mon).await.unwrap();
    assert!(before.is_empty(), "alerts before the cut: {before:#?}");

    // Cut region CUT off the probe network; its management link stays up.
    ip(&["-n", &net.regions[CUT], "link", "set", "probe", "down"]);
    let expected = expected_after_cut();
    let alerts = wait_for_alerts(&net.mon, &expected, "after the cut", deadline).await;
    for a in &alerts {
        assert!(a.state == "pending" || a.state == "firing", "{a:?}");
        if a.name == "TargetDownGlobally" {
            assert!(a.description.contains("from 3 regions"), "{a:?}");
        }
    }
    // The cut region is still scraped: regional, not OutpostDown-shaped.
    let up = format!("up{{region=\"{}\"}} == 1", REGIONS[CUT].0);
    assert_eq!(series_count(&net.mon, &up).await, Some(1), "{up}");
    let errors = rule_errors(&net.mon).await;
    assert!(
        errors.is_empty(),
        "rules evaluating with errors: {errors:#?}"
    );

    // The link back: every alert of the global rules resolves.
    ip(&["-n", &net.regions[CUT], "link", "set", "probe", "up"]);
    let none = BTreeSet::new();
    wait_for_alerts(&net.mon, &none, "with the link back up", deadline).await;
}
