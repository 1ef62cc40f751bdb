//! `[server.probe_endpoint]`'s target policy: which hosts and addresses `/probe` may
//! reach. A prober that anyone who can reach `/probe` can point anywhere is an SSRF
//! engine, first of all against the instance metadata service, so link-local and
//! metadata addresses are refused unless an `allow` entry names them.
//!
//! The decision is made twice per hop: on the name before it is resolved, and on the
//! address the probe then connects to (the one `probe::net` hands the prober, so a
//! name cannot resolve to one address for the check and another for the connect).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Addresses refused unless an `allow` entry covers them: IPv4 and IPv6 link-local
/// (where cloud metadata services live: 169.254.169.254, and fd00:ec2::254 on EC2).
const DENIED_BY_DEFAULT: [(&str, Net); 3] = [
    (
        "link-local and instance metadata (169.254.0.0/16)",
        Net {
            addr: IpAddr::V4(Ipv4Addr::new(169, 254, 0, 0)),
            prefix: 16,
        },
    ),
    (
        "EC2 instance metadata over IPv6 (fd00:ec2::254)",
        Net {
            addr: IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
            prefix: 128,
        },
    ),
    (
        "IPv6 link-local (fe80::/10)",
        Net {
            addr: IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0)),
            prefix: 10,
        },
    ),
];

/// An address block, `addr/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// Parses `10.0.0.0/8`, `fd00::/8` or a bare address (a /32 or /128).
    pub fn parse(text: &str) -> Option<Net> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Net { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4-mapped IPv6 address is the IPv4 address it carries.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A host name pattern: `db.example.com` (that name) or `*.example.com` (any name
/// below it), compared without letter case or a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern(String);

impl HostPattern {
    /// `None` for text that is no host name (empty, spaces, `*` other than leading).
    pub fn parse(text: &str) -> Option<HostPattern> {
        let t = text.trim_end_matches('.').to_ascii_lowercase();
        let body = t.strip_prefix("*.").unwrap_or(&t);
        let valid = !body.is_empty()
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        valid.then_some(HostPattern(t))
    }

    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        match self.0.strip_prefix("*.") {
            Some(domain) => {
                host.len() > domain.len() + 1
                    && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
                    && host[host.len() - domain.len()..].eq_ignore_ascii_case(domain)
            }
            None => host.eq_ignore_ascii_case(&self.0),
        }
    }
}

/// One `allow` or `deny` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    Net(Net),
    Host(HostPattern),
}

impl Rule {
    /// An address block if the text is one, else a host pattern.
    pub fn parse(text: &str) -> Option<Rule> {
        Net::parse(text)
            .map(Rule::Net)
            .or_else(|| HostPattern::parse(text).map(Rule::Host))
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Net(n) => n.fmt(f),
            Rule::Host(h) => f.write_str(&h.0),
        }
    }
}

/// Why a target was refused: shown in `/probe`'s 403 answer and the trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub String);

/// `allow` and `deny` of `[server.probe_endpoint]`. Order of the decision: a `deny`
/// entry that matches refuses; else an `allow` entry that matches admits; else an
/// address denied by default refuses; else, when `allow` has entries, refuses (an
/// allow list is a closed list); else admits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    pub allow: Vec<Rule>,
    pub deny: Vec<Rule>,
}

impl TargetPolicy {
    /// The decision on a host name, before it is resolved. IP literals are decided
    /// by [`TargetPolicy::check_ip`] alone.
    pub fn check_name(&self, host: &str) -> Result<(), Denied> {
        let named = |rules: &[Rule]| {
            rules
                .iter()
                .find(|r| matches!(r, Rule::Host(h) if h.matches(host)))
                .cloned()
        };
        if let Some(rule) = named(&self.deny) {
            return Err(Denied(format!("{host} matches deny entry \"{rule}\"")));
        }
        Ok(())
    }

    /// The decision on the address a probe is about to connect to, reached through
    /// `host` (the name as given, or the address itself).
    pub fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), Denied> {
        let hit = |rules: &[Rule]| {
            rules
                .iter()
                .find(|r| match r {
                    Rule::Net(n) => n.contains(ip),
                    Rule::Host(h) => h.matches(host),
                })
                .cloned()
        };
        let via = if host.trim_matches(['[', ']']) == ip.to_string() {
            ip.to_string()
        } else {
            format!("{host} ({ip})")
        };
        if let Some(rule) = hit(&self.deny) {
            return Err(Denied(format!("{via} matches deny entry \"{rule}\"")));
        }
        if hit(&self.allow).is_some() {
            return Ok(());
        }
        if let Some((what, _)) = DENIED_BY_DEFAULT.iter().find(|(_, n)| n.contains(ip)) {
            return Err(Denied(format!(
                "{via} is {what}, denied unless an allow entry names it"
            )));
        }
        if !self.allow.is_empty() {
            return Err(Denied(format!("{via} matches no allow entry")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }

    fn policy(allow: &[&str], deny: &[&str]) -> TargetPolicy {
        let rules = |l: &[&str]| l.iter().filter_map(|t| Rule::parse(t)).collect();
        TargetPolicy {
            allow: rules(allow),
            deny: rules(deny),
        }
    }

    #[test]
    fn nets_parse_and_contain() {
        let n = Net::parse("10.1.0.0/16");
        assert_eq!(n.map(|n| n.to_string()).as_deref(), Some("10.1.0.0/16"));
        let n = n.unwrap_or(DENIED_BY_DEFAULT[0].1);
        assert!(n.contains(ip("10.1.255.3")));
        assert!(!n.contains(ip("10.2.0.1")));
        assert!(!n.contains(ip("::1")));
        assert!(Net::parse("0.0.0.0/0").is_some_and(|n| n.contains(ip("8.8.8.8"))));
        assert!(Net::parse("::/0").is_some_and(|n| n.contains(ip("2001:db8::1"))));
        assert!(Net::parse("127.0.0.1").is_some_and(|n| n.prefix == 32));
        for bad in ["10.0.0.0/33", "::/129", "10.0.0/8", "x/8", "10.0.0.0/-1"] {
            assert_eq!(Net::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn host_patterns_match_names_and_subdomains() {
        let exact = HostPattern::parse("Db.Example.com.");
        assert!(exact.as_ref().is_some_and(|p| p.matches("db.example.COM")));
        assert!(exact
            .as_ref()
            .is_some_and(|p| !p.matches("x.db.example.com")));
        let wild = HostPattern::parse("*.example.com");
        assert!(wild.as_ref().is_some_and(|p| p.matches("a.b.example.com.")));
        assert!(wild.as_ref().is_some_and(|p| !p.matches("example.com")));
        assert!(wild.as_ref().is_some_and(|p| !p.matches("badexample.com")));
        for bad in ["", "*.", "a b", "a.*.com", "*"] {
            assert_eq!(HostPattern::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn metadata_and_link_local_are_denied_by_default_also_mapped() {
        let p = TargetPolicy::default();
        for denied in [
            "169.254.169.254",
            "169.254.1.1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:169.254.169.254",
        ] {
            assert!(p.check_ip(denied, ip(denied)).is_err(), "{denied}");
        }
        let why = p.check_ip("metadata.test", ip("169.254.169.254"));
        assert_eq!(
            why,
            Err(Denied(
                "metadata.test (169.254.169.254) is link-local and instance metadata (169.254.0.0/16), denied unless an allow entry names it".into()
            ))
        );
        for ok in ["127.0.0.1", "10.0.0.1", "::1", "fd00:ec2::253"] {
            assert_eq!(p.check_ip(ok, ip(ok)), Ok(()), "{ok}");
        }
    }

    #[test]
    fn deny_then_allow_then_defaults_then_closed_allow_list() {
        let p = policy(
            &["169.254.169.254/32", "*.internal.example"],
            &["10.0.0.0/8", "bad.internal.example"],
        );
        assert!(p.check_ip("169.254.169.254", ip("169.254.169.254")).is_ok());
        assert!(p
            .check_ip("169.254.169.253", ip("169.254.169.253"))
            .is_err());
        assert!(p.check_ip("web.internal.example", ip("192.0.2.1")).is_ok());
        // deny wins over allow, by address and by name.
        assert!(p.check_ip("web.internal.example", ip("10.1.1.1")).is_err());
        assert!(p.check_name("bad.internal.example").is_err());
        assert!(p.check_ip("bad.internal.example", ip("192.0.2.1")).is_err());
        // An allow list is closed.
        assert_eq!(
            p.check_ip("other.example", ip("192.0.2.1")),
            Err(Denied(
                "other.example (192.0.2.1) matches no allow entry".into()
            ))
        );
        assert!(policy(&[], &[])
            .check_ip("other.example", ip("192.0.2.1"))
            .is_ok());
    }
}
