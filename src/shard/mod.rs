//! Which replica runs a probe when the probe list is split across N replicas
//! (`--shard I/N`, or `shard = "I/N"` in `[server]`; `--shard auto` takes I and
//! N from the replica's identity and its peers, [`auto`]).
//!
//! A probe belongs to the shard that a jump consistent hash (Lamping and Veach,
//! 2014) of its name's FNV-1a-64 picks. Every replica computes the same answer
//! from the name alone, so there is no coordination service: each probe is run by
//! exactly one replica, and going from N to N+1 replicas moves about 1/(N+1) of
//! the probes, all of them to the new replica.

pub mod auto;

use std::fmt;
use std::str::FromStr;

/// One replica's share: shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a shard could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid shard {text:?}: {why}")]
pub struct ShardError {
    text: String,
    why: &'static str,
}

impl Shard {
    /// Shard `index` of `count`, 1-based; `None` unless `1 <= index <= count`.
    pub fn new(index: u32, count: u32) -> Option<Shard> {
        (index >= 1 && index <= count).then_some(Shard { index, count })
    }

    /// The share of replica `ordinal` (0-based, a StatefulSet pod's) among
    /// `count`: shard `ordinal + 1`, or, for a replica past the count (one
    /// being scaled away, or started before its peers are counted), a share
    /// that owns no probe, so that no probe is ever run twice.
    pub fn of_ordinal(ordinal: u32, count: u32) -> Shard {
        Shard {
            index: ordinal.saturating_add(1),
            count,
        }
    }

    /// Whether this replica is past the count and owns no probe.
    pub fn is_idle(self) -> bool {
        self.index > self.count
    }

    pub fn index(self) -> u32 {
        self.index
    }

    pub fn count(self) -> u32 {
        self.count
    }

    /// Whether the probe named `name` is this shard's to run.
    pub fn owns(self, name: &str) -> bool {
        self.count > 0 && jump_hash(fnv64a(name.as_bytes()), self.count) + 1 == self.index
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    /// `"I/N"`, e.g. `"2/3"`: the second of three replicas.
    fn from_str(text: &str) -> Result<Shard, ShardError> {
        let err = |why| ShardError {
            text: text.to_string(),
            why,
        };
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| err("write INDEX/COUNT, e.g. 2/3"))?;
        let index: u32 = i.trim().parse().map_err(|_| err("INDEX is not a number"))?;
        let count: u32 = n.trim().parse().map_err(|_| err("COUNT is not a number"))?;
        if count == 0 {
            return Err(err("COUNT must be at least 1"));
        }
        Shard::new(index, count).ok_or_else(|| err("INDEX must be between 1 and COUNT"))
    }
}

/// `--shard`: a fixed `I/N`, or `auto` ([`auto::AutoShard`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardFlag {
    Fixed(Shard),
    Auto,
}

impl FromStr for ShardFlag {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<ShardFlag, ShardError> {
        match text.trim() {
            "auto" => Ok(ShardFlag::Auto),
            _ => text.parse().map(ShardFlag::Fixed),
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// FNV-1a, 64 bits: spreads short, similar names (probe names) well enough for
/// the jump hash, and is the same on every machine and release.
fn fnv64a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Jump consistent hash: the bucket in `0..buckets` of `key`.
fn jump_hash(mut key: u64, buckets: u32) -> u32 {
    let (mut b, mut j): (i64, i64) = (-1, 0);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        let r = ((key >> 33) + 1) as f64;
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / r)) as i64;
    }
    u32::try_from(b).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        (0..10_000).map(|i| format!("probe-{i}")).collect()
    }

    #[test]
    fn parses_and_prints() {
        assert_eq!(
            "2/3".parse::<Shard>().map(|s| s.to_string()),
            Ok("2/3".into())
        );
        assert_eq!(
            " 1 / 1 ".parse::<Shard>().map(|s| (s.index(), s.count())),
            Ok((1, 1))
        );
        for bad in ["", "3", "0/3", "4/3", "1/0", "a/2", "1/b", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_probe_has_exactly_one_shard() {
        for count in 1..=8 {
            let shards: Vec<Shard> = (1..=count).filter_map(|i| Shard::new(i, count)).collect();
            for name in names() {
                let owners = shards.iter().filter(|s| s.owns(&name)).count();
                assert_eq!(owners, 1, "{name} with {count} shards");
            }
        }
    }

    #[test]
    fn shards_are_balanced() {
        let all = names();
        for count in [2u32, 3, 5, 8] {
            let fair = all.len() as f64 / f64::from(count);
            for index in 1..=count {
                let shard = Shard::new(index, count).unwrap_or_else(|| unreachable!());
                let owned = all.iter().filter(|n| shard.owns(n)).count() as f64;
                assert!(
                    (owned / fair - 1.0).abs() < 0.1,
                    "{shard}: {owned} of {fair}"
                );
            }
        }
    }

    /// From N to N+1 replicas about 1/(N+1) of the probes move, all to the new one.
    #[test]
    fn adding_a_replica_moves_about_one_in_n_plus_one() {
        let all = names();
        let owner = |name: &str, count: u32| {
            (1..=count)
                .find(|i| Shard::new(*i, count).is_some_and(|s| s.owns(name)))
                .unwrap_or(0)
        };
        for count in 1..=7 {
            let moved: Vec<&String> = all
                .iter()
                .filter(|n| owner(n, count) != owner(n, count + 1))
                .collect();
            assert!(moved.iter().all(|n| owner(n, count + 1) == count + 1));
            let share = moved.len() as f64 / all.len() as f64;
            let expected = 1.0 / f64::from(count + 1);
            assert!((share / expected - 1.0).abs() < 0.1, "{count}: {share}");
        }
    }

    #[test]
    fn fnv64a_matches_the_reference_vectors() {
        assert_eq!(fnv64a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv64a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv64a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
