//! `fan_out = "all"` on a `[[probes]]` entry: each run resolves the target's
//! host, probes every address (up to `max_addresses`) with the module, the run
//! pinned to that address while the name stays the target's; the probe's own
//! `probe_success` follows `fan_out_success`, and each address keeps its own
//! results (an `ip` label) until it has been gone `address_grace` runs.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::config::IpSettings;
use crate::probe::{net, Prober, ProberKind};

/// The default of `max_addresses`.
pub const DEFAULT_MAX_ADDRESSES: usize = 16;
/// The default of `address_grace`, in runs.
pub const DEFAULT_ADDRESS_GRACE: u32 = 3;

/// A probe's fan-out settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FanOut {
    pub success: SuccessRule,
    pub max_addresses: usize,
    pub address_grace: u32,
    /// `ip_protocols`: the families whose addresses are all probed; `None`
    /// follows the module's `preferred_ip_protocol` and its fallback.
    pub families: Option<Families>,
}

/// `ip_protocols = ["ip4", "ip6"]`: which address families a run probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Families {
    pub ip4: bool,
    pub ip6: bool,
}

/// `fan_out_success`: when the run of a fanned-out probe succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuccessRule {
    /// Every probed address succeeded (the default).
    All,
    /// At least one did.
    Any,
    /// At least this many did.
    Quorum(usize),
}

impl SuccessRule {
    /// Parses `"all"`, `"any"` or a quorum `"N"` (N ≥ 1).
    pub fn parse(text: &str) -> Option<SuccessRule> {
        match text {
            "all" => Some(SuccessRule::All),
            "any" => Some(SuccessRule::Any),
            n => n
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1 && n.to_string() == text)
                .map(SuccessRule::Quorum),
        }
    }

    /// Whether a run with `succeeded` of `probed` addresses up succeeds. A run
    /// that probed nothing never does.
    pub fn holds(self, succeeded: usize, probed: usize) -> bool {
        if probed == 0 {
            return false;
        }
        match self {
            SuccessRule::All => succeeded == probed,
            SuccessRule::Any => succeeded >= 1,
            SuccessRule::Quorum(n) => succeeded >= n,
        }
    }
}

/// The host a run of `kind` resolves for `target`, or `None` when the prober
/// dials no host (unix) or the target does not parse.
pub fn target_host(kind: ProberKind, target: &str) -> Option<String> {
    let host = match kind {
        ProberKind::Http => crate::probe::http::parse_target(target)
            .ok()?
            .host_str()?
            .to_string(),
        ProberKind::Tcp => crate::probe::tcp::parse_target(target).ok()?.host,
        ProberKind::Dns => crate::probe::dns::parse_target(target).ok()?.host,
        ProberKind::Grpc => crate::probe::grpc::parse_target(target).ok()?.host,
        ProberKind::Mysql => crate::probe::mysql::parse_target(target).ok()?.host,
        ProberKind::Postgres => crate::probe::postgres::parse_target(target).ok()?.host,
        ProberKind::Icmp => crate::probe::icmp::parse_target(target).ok()?,
        ProberKind::Unix => return None,
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .map_or(host.clone(), str::to_string);
    Some(host)
}

/// The address choice of a module's prober (`preferred_ip_protocol`,
/// `ip_protocol_fallback`); `None` for a prober that dials no host.
pub fn ip_settings(prober: &Prober) -> Option<&IpSettings> {
    match prober {
        Prober::Http(m) => Some(&m.ip),
        Prober::Tcp(m) => Some(&m.ip),
        Prober::Dns(m) => Some(&m.ip),
        Prober::Grpc(m) => Some(&m.ip),
        Prober::Icmp(m) => Some(&m.ip),
        Prober::Mysql(m) => Some(&m.ip),
        Prober::Postgres(m) => Some(&m.ip),
        Prober::Unix(_) => None,
    }
}

/// Resolves `host` for a fan-out run.
pub async fn resolve(
    host: &str,
    ip: &IpSettings,
    families: Option<Families>,
) -> Result<Vec<IpAddr>, crate::probe::ProbeFailure> {
    match families {
        None => net::resolve_all(host, ip).await,
        Some(f) => net::resolve_families(host, f.ip4, f.ip6).await,
    }
}

/// The addresses of one fan-out run: those probed (at most `max_addresses`,
/// in address order) and how many were left over.
pub fn split(resolved: &[IpAddr], max: usize) -> (&[IpAddr], usize) {
    let n = resolved.len().min(max);
    (&resolved[..n], resolved.len() - n)
}

/// What a probe remembers of its addresses between runs: the last resolution
/// (for the change count) and, per address that has results, how many runs in a
/// row it has not been probed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressBook {
    /// The last successful resolution; `None` before the first.
    last: Option<BTreeSet<IpAddr>>,
    /// Addresses gained or lost since the first resolution.
    pub changes: u64,
    /// Per address with results: runs in a row it was not probed.
    pub missing: BTreeMap<IpAddr, u32>,
}

impl AddressBook {
    /// Takes one successful resolution (`resolved`, of which `probed` were
    /// probed) and returns the addresses whose results must go: those not
    /// probed for more than `grace` runs in a row.
    pub fn update(&mut self, resolved: &[IpAddr], probed: &[IpAddr], grace: u32) -> Vec<IpAddr> {
        let now: BTreeSet<IpAddr> = resolved.iter().copied().collect();
        if let Some(last) = &self.last {
            self.changes += last.symmetric_difference(&now).count() as u64;
        }
        self.last = Some(now);
        let mut gone = Vec::new();
        self.missing.retain(|ip, runs| {
            if probed.contains(ip) {
                return true;
            }
            *runs += 1;
            let keep = *runs <= grace;
            if !keep {
                gone.push(*ip);
            }
            keep
        });
        for ip in probed {
            self.missing.insert(*ip, 0);
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(last: &[u8]) -> Vec<IpAddr> {
        last.iter().map(|b| IpAddr::from([127, 0, 0, *b])).collect()
    }

    #[test]
    fn success_rules() {
        assert_eq!(SuccessRule::parse("all"), Some(SuccessRule::All));
        assert_eq!(SuccessRule::parse("any"), Some(SuccessRule::Any));
        assert_eq!(SuccessRule::parse("2"), Some(SuccessRule::Quorum(2)));
        for bad in ["0", "-1", "02", "most", "", "ALL"] {
            assert_eq!(SuccessRule::parse(bad), None, "{bad}");
        }
        // Two of three up.
        assert!(!SuccessRule::All.holds(2, 3));
        assert!(SuccessRule::All.holds(3, 3));
        assert!(SuccessRule::Any.holds(1, 3));
        assert!(!SuccessRule::Any.holds(0, 3));
        assert!(SuccessRule::Quorum(2).holds(2, 3));
        assert!(!SuccessRule::Quorum(2).holds(1, 3));
        // Nothing probed is never a success.
        for rule in [SuccessRule::All, SuccessRule::Any, SuccessRule::Quorum(1)] {
            assert!(!rule.holds(0, 0));
        }
    }

    #[test]
    fn the_cap_probes_the_first_addresses_and_counts_the_rest() {
        let all = ips(&[2, 3, 4, 5]);
        assert_eq!(split(&all, 3), (&all[..3], 1));
        assert_eq!(split(&all, 16), (&all[..], 0));
    }

    #[test]
    fn a_vanished_address_is_kept_for_the_grace_then_goes() {
        let mut book = AddressBook::default();
        let three = ips(&[2, 3, 4]);
        let two = ips(&[2, 3]);
        assert!(book.update(&three, &three, 3).is_empty());
        assert_eq!(book.changes, 0, "the first resolution is the baseline");
        for run in 1..=3 {
            assert!(book.update(&two, &two, 3).is_empty(), "run {run} in grace");
            assert_eq!(book.missing.get(&three[2]), Some(&run));
        }
        assert_eq!(book.update(&two, &two, 3), vec![three[2]]);
        assert!(!book.missing.contains_key(&three[2]));
        assert_eq!(book.changes, 1, "one address lost");
        // It comes back: one gained, missing count reset.
        assert!(book.update(&three, &three, 3).is_empty());
        assert_eq!(book.changes, 2);
        assert_eq!(book.missing.get(&three[2]), Some(&0));
    }

    #[test]
    fn a_grace_of_zero_drops_at_once_and_over_cap_addresses_age() {
        let mut book = AddressBook::default();
        let three = ips(&[2, 3, 4]);
        book.update(&three, &three, 0);
        // Still resolved, but now past a cap of 2: not probed, so its results go.
        assert_eq!(book.update(&three, &three[..2], 0), vec![three[2]]);
        assert_eq!(book.changes, 0);
    }
}
