//! `--shard auto`: replicas that take their share from their ordinal and count
//! their peers by DNS (a headless Service's name, here served by Debian's
//! dnsmasq in a network namespace of the test's own), so that adding a replica
//! reshards every one of them with nothing typed per replica. Every probe runs
//! on exactly one replica at each step; going from 3 to 4 moves about a
//! quarter of the probes, all to the new replica; back to 3, each probe returns
//! to where it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::daemon::sample;
use crate::support::resolver_ns::ResolverNs;

const PEERS: &str = "outpost-peers.shard.test";
const PROBES: usize = 2000;

/// The replicas in their namespace; stopped before the namespace goes.
struct World {
    /// By ordinal; `None` once stopped.
    replicas: Vec<Option<Child>>,
    hosts: PathBuf,
    config: PathBuf,
    ns: ResolverNs,
    _dir: tempfile::TempDir,
}

impl Drop for World {
    fn drop(&mut self) {
        for child in self.replicas.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `PEERS` with one address per replica (what a headless Service answers).
fn write_peers(path: &Path, replicas: usize) {
    let text: String = (1..=replicas)
        .map(|i| format!("10.99.0.{i} {PEERS}\n"))
        .collect();
    std::fs::write(path, text).unwrap();
}

impl World {
    fn start() -> World {
        let dir = tempfile::tempdir().unwrap();
        let hosts = dir.path().join("peers");
        write_peers(&hosts, 3);
        let ns = ResolverNs::start(
            &format!("outpost-shard-{}", std::process::id()),
            &[format!("--addn-hosts={}", hosts.display())],
        );
        // Probes that never run in the test's time: only who schedules them matters.
        let mut text = String::from(
            "[modules.tcp]\nprober = \"tcp\"\n[modules.tcp.tcp]\npreferred_ip_protocol = \"ip4\"\n",
        );
        for i in 0..PROBES {
            text.push_str(&format!(
                "[[probes]]\nname = \"p{i}\"\nmodule = \"tcp\"\ntarget = \"127.0.0.1:9\"\ninterval = \"1h\"\n"
            ));
        }
        let config = dir.path().join("probes.toml");
        std::fs::write(&config, text).unwrap();
        World {
            replicas: Vec::new(),
            hosts,
            config,
            ns,
            _dir: dir,
        }
    }

    /// Starts replica `ordinal` with nothing but `--shard auto` and its environment.
    fn start_replica(&mut self, ordinal: usize) {
        let child = self
            .ns
            .command(env!("CARGO_BIN_EXE_outpost"))
            .arg("--config.file")
            .arg(&self.config)
            .args([
                "--web.listen-address",
                &format!("127.0.0.1:{}", 9201 + ordinal),
            ])
            .args(["--shard", "auto"])
            .env("OUTPOST_SHARD_ORDINAL", ordinal.to_string())
            .env("OUTPOST_SHARD_PEERS", PEERS)
            .env("OUTPOST_SHARD_REFRESH", "300ms")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if self.replicas.len() <= ordinal {
            self.replicas.resize_with(ordinal + 1, || None);
        }
        self.replicas[ordinal] = Some(child);
    }

    fn stop_replica(&mut self, ordinal: usize) {
        if let Some(mut child) = self.replicas[ordinal].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The peers' name now has `replicas` addresses (dnsmasq re-reads on SIGHUP).
    fn scale(&self, replicas: usize) {
        write_peers(&self.hosts, replicas);
        self.ns.reload_dns();
    }

    fn metrics(&self, ordinal: usize) -> String {
        let addr = format!("127.0.0.1:{}", 9201 + ordinal);
        self.ns.http_get(&addr, "/metrics")
    }

    /// Which replica runs each probe, once every running replica reports
    /// `count` shards and together they run every probe exactly once; panics
    /// after 30 s with what each one ran.
    fn owners_when_settled(&self, count: usize) -> BTreeMap<String, usize> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut owners: BTreeMap<String, usize> = BTreeMap::new();
            let mut twice = Vec::new();
            let mut settled = true;
            for (ordinal, replica) in self.replicas.iter().enumerate() {
                if replica.is_none() {
                    continue;
                }
                let text = self.metrics(ordinal);
                settled &= sample(&text, "outpost_shard_count", "") == Some(count as f64);
                for name in scheduled(&text) {
                    if let Some(other) = owners.insert(name.clone(), ordinal) {
                        twice.push((name, other, ordinal));
                    }
                }
            }
            if settled && twice.is_empty() && owners.len() == PROBES {
                return owners;
            }
            assert!(
                Instant::now() < deadline,
                "not settled at {count} replicas: {} probes scheduled, run twice: {twice:?}",
                owners.len()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The probes a replica schedules: each has `probe_runs_total` from the start.
fn scheduled(metrics: &str) -> Vec<String> {
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix("probe_runs_total{probe=\""))
        .filter(|rest| rest.contains("outcome=\"success\""))
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn replicas_reshard_themselves_when_one_is_added_and_removed() {
    let mut world = World::start();
    for ordinal in 0..3 {
        world.start_replica(ordinal);
    }
    let three = world.owners_when_settled(3);
    let per_replica =
        |owners: &BTreeMap<String, usize>, r: usize| owners.values().filter(|o| **o == r).count();
    for r in 0..3 {
        let n = per_replica(&three, r);
        assert!((560..=780).contains(&n), "replica {r} runs {n} of {PROBES}");
    }
    for r in 0..3 {
        let text = world.metrics(r);
        assert_eq!(
            sample(&text, "outpost_shard_index", ""),
            Some(r as f64 + 1.0)
        );
    }

    // kubectl scale --replicas=4: the Service gains an address, the pod starts.
    world.scale(4);
    world.start_replica(3);
    let four = world.owners_when_settled(4);
    let moved: Vec<&String> = three
        .iter()
        .filter(|(name, owner)| four[*name] != **owner)
        .map(|(name, _)| name)
        .collect();
    assert!(
        moved.iter().all(|name| four[*name] == 3),
        "a probe moved between old replicas"
    );
    let share = moved.len() as f64 / PROBES as f64;
    println!(
        "3 -> 4 replicas: {} of {PROBES} probes moved ({:.1} %)",
        moved.len(),
        share * 100.0
    );
    assert!((0.2..=0.3).contains(&share), "{share}");

    // Scaled back: the pod and its address go; the three take back exactly
    // what they had.
    world.stop_replica(3);
    world.scale(3);
    let back = world.owners_when_settled(3);
    assert_eq!(back, three);
}
