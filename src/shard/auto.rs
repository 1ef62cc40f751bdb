//! `--shard auto`: a replica's share from its identity instead of a hand-typed
//! `I/N`. The ordinal (0-based) is `OUTPOST_SHARD_ORDINAL` (a StatefulSet pod's
//! `apps.kubernetes.io/pod-index` label, given by the downward API) or the
//! hostname's `-N` suffix (a StatefulSet pod is named `NAME-N`). The count is
//! `OUTPOST_SHARD_COUNT`, fixed, or the number of addresses of
//! `OUTPOST_SHARD_PEERS`, a name with one address per replica (a headless
//! Service with `publishNotReadyAddresses`), resolved every
//! `OUTPOST_SHARD_REFRESH` (default 15 s) so that `kubectl scale` reshards.
//!
//! A larger count applies at once (the new replica takes its share as soon as
//! it exists); a smaller one only once seen [`SHRINK_AFTER`] times in a row, so
//! that a replica restarting (its address gone for a few seconds) does not
//! move every probe twice. A replica past the count owns nothing, and so does
//! one whose peers have not been counted yet: a probe is never run twice.

use std::net::IpAddr;
use std::time::Duration;

use super::Shard;
use crate::config::{IpProtocol, IpSettings};

/// `OUTPOST_SHARD_REFRESH` when not set.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(15);

/// Resolutions in a row a smaller peer count must be seen before it applies.
pub const SHRINK_AFTER: u32 = 2;

/// Where a replica's share comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoShard {
    /// 0-based: the first replica is 0.
    pub ordinal: u32,
    pub count: Count,
    /// How often the peers are counted.
    pub refresh: Duration,
}

/// How many replicas there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Count {
    /// `OUTPOST_SHARD_COUNT`.
    Fixed(u32),
    /// `OUTPOST_SHARD_PEERS`: the addresses this name resolves to.
    Peers(String),
}

/// Why `--shard auto` cannot work out the replica's share.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--shard auto: {message} (hint: {hint})")]
pub struct AutoShardError {
    pub message: String,
    pub hint: &'static str,
}

const COUNT_HINT: &str = "set OUTPOST_SHARD_COUNT to the number of replicas, or OUTPOST_SHARD_PEERS to a name with one address per replica (a headless Service)";

impl AutoShard {
    /// Reads the share's sources from `var` (the environment) and `hostname`.
    pub fn from_env(
        var: impl Fn(&str) -> Option<String>,
        hostname: Option<&str>,
    ) -> Result<AutoShard, AutoShardError> {
        let err = |message: String, hint| AutoShardError { message, hint };
        // Empty counts as unset: the downward API gives "" for a label a pod lacks
        // (`apps.kubernetes.io/pod-index` before Kubernetes 1.28).
        let ordinal = match var("OUTPOST_SHARD_ORDINAL").filter(|v| !v.trim().is_empty()) {
            Some(text) => text.trim().parse::<u32>().map_err(|_| {
                err(
                    format!("OUTPOST_SHARD_ORDINAL={text:?} is not a whole number"),
                    "the replica's 0-based ordinal, e.g. the pod-index label of a StatefulSet pod",
                )
            })?,
            None => hostname.and_then(ordinal_of).ok_or_else(|| {
                err(
                    format!(
                        "no OUTPOST_SHARD_ORDINAL, and the hostname {:?} does not end in -N",
                        hostname.unwrap_or_default()
                    ),
                    "run as a StatefulSet pod (NAME-0, NAME-1 ...) or set OUTPOST_SHARD_ORDINAL",
                )
            })?,
        };
        let count = match (var("OUTPOST_SHARD_COUNT"), var("OUTPOST_SHARD_PEERS")) {
            (Some(_), Some(_)) => {
                return Err(err(
                    "both OUTPOST_SHARD_COUNT and OUTPOST_SHARD_PEERS are set".into(),
                    COUNT_HINT,
                ))
            }
            (Some(text), None) => match text.trim().parse::<u32>() {
                Ok(n) if n > 0 => Count::Fixed(n),
                _ => {
                    return Err(err(
                        format!("OUTPOST_SHARD_COUNT={text:?} is not a number above 0"),
                        COUNT_HINT,
                    ))
                }
            },
            (None, Some(name)) if !name.trim().is_empty() => Count::Peers(name.trim().to_string()),
            _ => return Err(err("no replica count".into(), COUNT_HINT)),
        };
        let refresh = match var("OUTPOST_SHARD_REFRESH") {
            None => DEFAULT_REFRESH,
            Some(text) => crate::config::duration::parse(&text)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    err(
                        format!("OUTPOST_SHARD_REFRESH={text:?} is not a duration above 0"),
                        "e.g. \"15s\"",
                    )
                })?,
        };
        Ok(AutoShard {
            ordinal,
            count,
            refresh,
        })
    }

    /// The share before any peer is counted: the fixed count's, or none.
    pub fn initial(&self) -> Shard {
        match self.count {
            Count::Fixed(n) => Shard::of_ordinal(self.ordinal, n),
            Count::Peers(_) => Shard::of_ordinal(self.ordinal, 0),
        }
    }
}

/// The ordinal a StatefulSet gives its pod's name: `outpost-2` → 2.
fn ordinal_of(hostname: &str) -> Option<u32> {
    // A pod's hostname is its name; a FQDN's first label is.
    let name = hostname.trim().split('.').next()?;
    let (_, digits) = name.rsplit_once('-')?;
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// How many replicas `name` says there are: its IPv4 addresses, or its IPv6
/// ones when it has no IPv4 (a dual-stack pod has one of each).
pub async fn count_peers(name: &str) -> Result<u32, String> {
    let ip = IpSettings {
        preferred: IpProtocol::Ip4,
        fallback: true,
        source_ip: None,
    };
    let mut addrs: Vec<IpAddr> = crate::probe::net::resolve_all(name, &ip)
        .await
        .map_err(|f| f.message)?;
    addrs.sort_unstable();
    addrs.dedup();
    u32::try_from(addrs.len()).map_err(|_| "too many addresses".to_string())
}

/// Turns successive peer counts into the count to apply, if it should change.
#[derive(Debug, Default)]
pub struct CountFollower {
    applied: Option<u32>,
    /// Resolutions in a row that saw fewer peers than applied.
    lower: u32,
}

impl CountFollower {
    /// `seen` peers now: `Some(count)` when the replica should reshard to it.
    pub fn seen(&mut self, seen: u32) -> Option<u32> {
        if seen == 0 {
            return None;
        }
        let next = match self.applied {
            None => Some(seen),
            Some(applied) if seen > applied => Some(seen),
            Some(applied) if seen < applied => {
                self.lower += 1;
                (self.lower >= SHRINK_AFTER).then_some(seen)
            }
            Some(_) => None,
        };
        if next.is_some() || self.applied == Some(seen) {
            self.lower = 0;
        }
        if next.is_some() {
            self.applied = next;
        }
        next
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test data is known to be valid")]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn the_ordinal_comes_from_the_environment_or_the_hostname() {
        let peers = [("OUTPOST_SHARD_PEERS", "outpost-peers.outpost.svc")];
        let from_host = AutoShard::from_env(env(&peers), Some("outpost-2"));
        assert_eq!(
            from_host,
            Ok(AutoShard {
                ordinal: 2,
                count: Count::Peers("outpost-peers.outpost.svc".into()),
                refresh: DEFAULT_REFRESH,
            })
        );
        let fqdn = AutoShard::from_env(env(&peers), Some("outpost-11.outpost-peers.ns.svc"));
        assert_eq!(fqdn.map(|a| a.ordinal), Ok(11));
        let no_label = [
            ("OUTPOST_SHARD_ORDINAL", ""),
            ("OUTPOST_SHARD_PEERS", "outpost-peers.outpost.svc"),
        ];
        let older = AutoShard::from_env(env(&no_label), Some("outpost-4\n"));
        assert_eq!(older.map(|a| a.ordinal), Ok(4));
        let given = [("OUTPOST_SHARD_ORDINAL", "0"), ("OUTPOST_SHARD_COUNT", "3")];
        let a = AutoShard::from_env(env(&given), Some("web-7"));
        assert_eq!(
            a.as_ref().map(|a| (a.ordinal, &a.count)),
            Ok((0, &Count::Fixed(3)))
        );
        assert_eq!(a.map(|a| a.initial().to_string()), Ok("1/3".into()));
        for host in ["outpost", "outpost-", "outpost-x1", ""] {
            let e = AutoShard::from_env(env(&peers), Some(host));
            assert!(e.is_err(), "{host}");
        }
    }

    #[test]
    fn mistakes_are_refused_with_a_hint() {
        let cases: &[&[(&str, &str)]] = &[
            &[
                ("OUTPOST_SHARD_ORDINAL", "one"),
                ("OUTPOST_SHARD_COUNT", "3"),
            ],
            &[("OUTPOST_SHARD_ORDINAL", "1")],
            &[("OUTPOST_SHARD_ORDINAL", "1"), ("OUTPOST_SHARD_COUNT", "0")],
            &[
                ("OUTPOST_SHARD_ORDINAL", "1"),
                ("OUTPOST_SHARD_COUNT", "3"),
                ("OUTPOST_SHARD_PEERS", "p"),
            ],
            &[
                ("OUTPOST_SHARD_ORDINAL", "1"),
                ("OUTPOST_SHARD_COUNT", "3"),
                ("OUTPOST_SHARD_REFRESH", "0s"),
            ],
        ];
        for case in cases {
            let e = AutoShard::from_env(env(case), None).unwrap_err();
            assert!(e.to_string().starts_with("--shard auto: "), "{e}");
            assert!(e.to_string().contains("(hint: "), "{e}");
        }
    }

    #[test]
    fn a_replica_past_the_count_or_before_it_owns_nothing() {
        let names: Vec<String> = (0..1000).map(|i| format!("p{i}")).collect();
        for shard in [Shard::of_ordinal(3, 3), Shard::of_ordinal(0, 0)] {
            assert!(shard.is_idle());
            assert!(!names.iter().any(|n| shard.owns(n)), "{shard}");
        }
    }

    #[test]
    fn growth_applies_at_once_and_shrinking_once_seen_twice() {
        let mut f = CountFollower::default();
        assert_eq!(f.seen(0), None, "no address: nothing is known");
        assert_eq!(f.seen(3), Some(3));
        assert_eq!(f.seen(3), None);
        assert_eq!(f.seen(4), Some(4));
        // A replica restarting: one resolution without it changes nothing.
        assert_eq!(f.seen(3), None);
        assert_eq!(f.seen(4), None);
        assert_eq!(f.seen(3), None);
        // Scaled down: seen twice in a row.
        assert_eq!(f.seen(3), Some(3));
        assert_eq!(f.seen(2), None);
        assert_eq!(f.seen(5), Some(5));
    }
}
