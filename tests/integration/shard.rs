//! Splitting the probe list across replicas: `--shard I/N` and `server.shard`.

use std::collections::BTreeSet;

use outpost::daemon::Options;
use outpost::shard::Shard;

use crate::support::daemon::{sample, TestDaemon};

const PROBES: usize = 24;

/// A config of `PROBES` tcp probes against `target`, optionally with `server.shard`.
fn config(target: &str, shard: Option<&str>) -> String {
    let mut text = String::new();
    if let Some(s) = shard {
        text.push_str(&format!("[server]\nshard = \"{s}\"\n"));
    }
    text.push_str(
        "[modules.tcp]\nprober = \"tcp\"\n[modules.tcp.tcp]\npreferred_ip_protocol = \"ip4\"\n",
    );
    for i in 0..PROBES {
        text.push_str(&format!(
            "[[probes]]\nname = \"p{i}\"\nmodule = \"tcp\"\ntarget = \"{target}\"\ninterval = \"1m\"\n"
        ));
    }
    text
}

/// The probes a daemon schedules, read off its `/metrics`: `probe_runs_total` is
/// there for each scheduled probe from the start.
async fn scheduled(daemon: &TestDaemon) -> BTreeSet<String> {
    let (_, text) = daemon.get("/metrics").await;
    (0..PROBES)
        .map(|i| format!("p{i}"))
        .filter(|name| text.contains(&format!("probe_runs_total{{probe=\"{name}\"")))
        .collect()
}

#[tokio::test]
async fn replicas_split_the_probes_completely_and_disjointly() {
    let target = crate::support::daemon::target_server().await.to_string();
    let text = config(&target, None);
    let mut seen: Vec<BTreeSet<String>> = Vec::new();
    for index in 1..=3 {
        let options = Options {
            shard: Shard::new(index, 3),
            ..Options::default()
        };
        let daemon = TestDaemon::start_with(&text, options).await;
        let owned = scheduled(&daemon).await;
        let (_, metrics) = daemon.get("/metrics").await;
        assert_eq!(
            sample(&metrics, "outpost_probes", ""),
            Some(owned.len() as f64),
            "shard {index}/3"
        );
        assert!(!owned.is_empty(), "shard {index}/3 owns nothing");
        daemon.stop().await;
        seen.push(owned);
    }
    let union: BTreeSet<&String> = seen.iter().flatten().collect();
    assert_eq!(union.len(), PROBES, "every probe runs somewhere");
    assert_eq!(
        seen.iter().map(BTreeSet::len).sum::<usize>(),
        PROBES,
        "no probe runs twice"
    );
}

/// `server.shard` in the file does the same, and `--shard` wins over it.
#[tokio::test]
async fn the_config_key_and_the_flag_that_overrides_it() {
    let target = crate::support::daemon::target_server().await.to_string();
    let by_key = TestDaemon::start(&config(&target, Some("2/3"))).await;
    let from_key = scheduled(&by_key).await;
    by_key.stop().await;

    let by_flag = TestDaemon::start_with(
        &config(&target, None),
        Options {
            shard: Shard::new(2, 3),
            ..Options::default()
        },
    )
    .await;
    assert_eq!(scheduled(&by_flag).await, from_key);
    by_flag.stop().await;

    let overridden = TestDaemon::start_with(
        &config(&target, Some("1/1")),
        Options {
            shard: Shard::new(2, 3),
            ..Options::default()
        },
    )
    .await;
    assert_eq!(scheduled(&overridden).await, from_key);
    // Still after a reload of the file that says 1/1.
    let (status, _, _) =
        crate::support::daemon::request(overridden.addr, "POST", "/-/reload", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(scheduled(&overridden).await, from_key);
    overridden.stop().await;
}
