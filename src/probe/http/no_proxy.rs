//! Which requests bypass the proxy, by Go's `golang.org/x/net/http/httpproxy`
//! rules (what prometheus/common uses for `no_proxy` and
//! `proxy_from_environment`), and the proxies named by the environment.
//!
//! A `no_proxy` list is comma-separated; each entry is an IP address or CIDR
//! (`10.0.0.0/8`), an IP with a port (`10.1.2.3:8080`, `[::1]:80`), a domain
//! (`example.com` matches it and its subdomains; `.example.com` and
//! `*.example.com` only subdomains; with an optional `:port`), or `*` (nothing is
//! proxied). Malformed entries are ignored, as Go ignores them. Whenever these
//! rules apply, `localhost` and loopback addresses are never proxied.

use std::net::IpAddr;

use http::Uri;

/// A parsed `no_proxy` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    ips: Vec<IpRule>,
    domains: Vec<DomainRule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum IpRule {
    Cidr(IpAddr, u8),
    Ip(IpAddr, Option<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DomainRule {
    /// Always with a leading dot.
    suffix: String,
    /// Whether the name itself matches too (the entry had no leading dot).
    exact_too: bool,
    port: Option<String>,
}

impl NoProxy {
    pub fn parse(list: &str) -> NoProxy {
        let mut out = NoProxy::default();
        for entry in list.split(',') {
            let entry = entry.trim().to_ascii_lowercase();
            if entry.is_empty() {
                continue;
            }
            if entry == "*" {
                return NoProxy {
                    all: true,
                    ..NoProxy::default()
                };
            }
            if let Some(cidr) = parse_cidr(&entry) {
                out.ips.push(cidr);
                continue;
            }
            let (host, port) = match split_host_port(&entry) {
                Some((h, p)) => (h, Some(p)),
                None => (entry.as_str(), None),
            };
            if let Ok(ip) = host.parse::<IpAddr>() {
                out.ips.push(IpRule::Ip(ip, port.map(str::to_string)));
                continue;
            }
            let host = host.strip_prefix('*').unwrap_or(host);
            if host.is_empty() || host == "." {
                continue;
            }
            let (suffix, exact_too) = match host.strip_prefix('.') {
                Some(_) => (host.to_string(), false),
                None => (format!(".{host}"), true),
            };
            out.domains.push(DomainRule {
                suffix,
                exact_too,
                port: port.map(str::to_string),
            });
        }
        out
    }

    /// Whether a request to `host` (a name or an IP, without brackets) on
    /// `port` goes through the proxy.
    pub fn use_proxy(&self, host: &str, port: u16) -> bool {
        let host = host.trim().to_ascii_lowercase();
        if host == "localhost" {
            return false;
        }
        let ip = host.parse::<IpAddr>().ok();
        if ip.is_some_and(|ip| ip.is_loopback()) {
            return false;
        }
        if self.all {
            return false;
        }
        let port = port.to_string();
        let port_ok = |p: &Option<String>| p.as_ref().is_none_or(|p| *p == port);
        if let Some(ip) = ip {
            let hit = self.ips.iter().any(|rule| match rule {
                IpRule::Cidr(net, bits) => in_cidr(ip, *net, *bits),
                IpRule::Ip(rule_ip, p) => same_ip(*rule_ip, ip) && port_ok(p),
            });
            if hit {
                return false;
            }
        }
        !self.domains.iter().any(|d| {
            (host.ends_with(&d.suffix) || (d.exact_too && host == d.suffix[1..]))
                && port_ok(&d.port)
        })
    }
}

/// `host:port` or `[v6]:port`; `None` without a port (Go's `SplitHostPort`).
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, port) = rest.split_once("]:")?;
        return Some((host, port));
    }
    let (host, port) = s.split_once(':')?;
    (!port.contains(':') && !host.is_empty()).then_some((host, port))
}

fn parse_cidr(s: &str) -> Option<IpRule> {
    let (ip, bits) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some(IpRule::Cidr(ip, bits))
}

/// Go compares an IPv4 address and its IPv4-mapped IPv6 form as equal.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    canonical(a) == canonical(b)
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (canonical(ip), net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// The proxies `proxy_from_environment` uses: `HTTP_PROXY`, `HTTPS_PROXY` and
/// `NO_PROXY` (or their lower-case forms, upper case first; empty means unset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvProxy {
    /// For http targets.
    pub http: Option<Uri>,
    /// For https targets.
    pub https: Option<Uri>,
    pub no_proxy: NoProxy,
}

impl EnvProxy {
    /// Reads the variables through `var` (the process environment in the
    /// daemon, a map in tests). A value without a scheme is an `http://`
    /// proxy, as in Go; one outpost cannot use is an error naming the variable.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<EnvProxy, String> {
        let any = |names: [&'static str; 2]| {
            names
                .into_iter()
                .find_map(|n| var(n).filter(|v| !v.is_empty()).map(|v| (n, v)))
        };
        let proxy = |names: [&'static str; 2]| match any(names) {
            Some((name, value)) => parse_proxy(&value)
                .map(Some)
                .map_err(|e| format!("{name}={value:?}: {e}")),
            None => Ok(None),
        };
        Ok(EnvProxy {
            http: proxy(["HTTP_PROXY", "http_proxy"])?,
            https: proxy(["HTTPS_PROXY", "https_proxy"])?,
            no_proxy: any(["NO_PROXY", "no_proxy"])
                .map(|(_, v)| NoProxy::parse(&v))
                .unwrap_or_default(),
        })
    }
}

/// A proxy URL as Go reads one from the environment.
fn parse_proxy(value: &str) -> Result<Uri, String> {
    let uri = match value.parse::<Uri>() {
        Ok(u) if matches!(u.scheme_str(), Some("http" | "https" | "socks5")) => u,
        _ => format!("http://{value}")
            .parse::<Uri>()
            .map_err(|e| format!("not a proxy URL: {e}"))?,
    };
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some() => Ok(uri),
        Some("socks5") => Err("socks5 proxies are not supported yet".into()),
        _ => Err("not a proxy URL".into()),
    }
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on unexpected errors"
)]
mod tests {
    use super::*;

    #[test]
    fn go_httpproxy_rules() {
        let np = NoProxy::parse(
            " Example.com, .sub.org ,*.wild.net, 10.0.0.0/8, 192.168.1.1:8080, [2001:db8::1]:443, ::2, bad:port:x, ",
        );
        let cases = [
            ("example.com", 80, false),
            ("www.example.com", 80, false),
            ("notexample.com", 80, true),
            ("sub.org", 80, true),
            ("a.sub.org", 80, false),
            ("wild.net", 80, true),
            ("x.wild.net", 80, false),
            ("10.20.30.40", 80, false),
            ("11.0.0.1", 80, true),
            ("192.168.1.1", 8080, false),
            ("192.168.1.1", 80, true),
            ("2001:db8::1", 443, false),
            ("2001:db8::1", 80, true),
            ("::2", 1, false),
            ("localhost", 80, false),
            ("127.0.0.1", 80, false),
            ("::1", 80, false),
            ("api.internal", 80, true),
        ];
        for (host, port, proxied) in cases {
            assert_eq!(np.use_proxy(host, port), proxied, "{host}:{port}");
        }
        assert!(!NoProxy::parse("*").use_proxy("anything.example", 80));
        assert!(NoProxy::parse("").use_proxy("anything.example", 80));
        assert!(!NoProxy::parse("").use_proxy("LOCALHOST", 80));
        assert!(!NoProxy::parse("api.internal:8443").use_proxy("api.internal", 8443));
        assert!(NoProxy::parse("api.internal:8443").use_proxy("api.internal", 443));
    }

    #[test]
    fn environment_variables_upper_case_first() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let e = EnvProxy::from_lookup(env(&[
            ("HTTP_PROXY", ""),
            ("http_proxy", "proxy.internal:3128"),
            ("HTTPS_PROXY", "https://secure.internal"),
            ("https_proxy", "http://ignored.internal"),
            ("no_proxy", "skip.internal"),
        ]))
        .unwrap();
        assert_eq!(e.http.unwrap().to_string(), "http://proxy.internal:3128/");
        assert_eq!(e.https.unwrap().to_string(), "https://secure.internal/");
        assert!(!e.no_proxy.use_proxy("skip.internal", 80));
        assert_eq!(
            EnvProxy::from_lookup(env(&[])).unwrap(),
            EnvProxy::default()
        );
        let err = EnvProxy::from_lookup(env(&[("HTTPS_PROXY", "socks5://s:1080")])).unwrap_err();
        assert!(
            err.contains("HTTPS_PROXY") && err.contains("socks5"),
            "{err}"
        );
    }
}
