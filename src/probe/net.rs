//! Name resolution and timed TCP connect, shared by every prober that dials a host.
//!
//! Address choice follows Blackbox's `chooseProtocol` (`prober/utils.go`): one
//! address, no happy eyeballs, no retry. With `ip_protocol_fallback` (the default)
//! both families are looked up and the first address of the preferred family wins,
//! else the first of the other; without it only the preferred family is looked up.
//! Fallback applies to resolution only, never to a failed connect.
//!
//! The resolver is built once per process from the system configuration
//! (`/etc/resolv.conf`, `/etc/hosts`), falling back to an empty configuration (hosts
//! file only) when the system's cannot be read. Like Go's resolver it is asked on
//! every run; its answer cache honours the records' TTLs.

use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hickory_resolver::config::{LookupIpStrategy, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::TokioResolver;
use tokio::net::{TcpSocket, TcpStream};

use super::{FailureReason, ProbeFailure, Recorder, TargetError};
use crate::config::policy::{Denied, TargetPolicy};
use crate::config::{IpProtocol, IpSettings};
use crate::metrics::names;

/// One resolver per address-family strategy, built on first use.
struct Resolvers {
    v4: Option<TokioResolver>,
    v6: Option<TokioResolver>,
}

static RESOLVERS: OnceLock<Resolvers> = OnceLock::new();

fn build_resolver(strategy: LookupIpStrategy) -> Option<TokioResolver> {
    let mut builder = match TokioResolver::builder_tokio() {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "System resolver configuration unreadable; using hosts file only");
            TokioResolver::builder_with_config(
                ResolverConfig::default(),
                TokioRuntimeProvider::default(),
            )
        }
    };
    builder.options_mut().ip_strategy = strategy;
    match builder.build() {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::error!(error = %e, "Could not build the DNS resolver");
            None
        }
    }
}

fn resolvers() -> &'static Resolvers {
    RESOLVERS.get_or_init(|| Resolvers {
        v4: build_resolver(LookupIpStrategy::Ipv4Only),
        v6: build_resolver(LookupIpStrategy::Ipv6Only),
    })
}

/// The address family of `ip` as Blackbox reports it (`probe_ip_protocol`).
pub fn family(ip: IpAddr) -> IpProtocol {
    match ip {
        IpAddr::V4(_) => IpProtocol::Ip4,
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => IpProtocol::Ip4,
        IpAddr::V6(_) => IpProtocol::Ip6,
    }
}

fn protocol_value(p: IpProtocol) -> f64 {
    match p {
        IpProtocol::Ip4 => 4.0,
        IpProtocol::Ip6 => 6.0,
    }
}

/// FNV-32a over `bytes` (Go's `hash/fnv` `New32a`).
pub fn fnv32a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Where an address came from: Go's resolver hands out IPv4 addresses in two
/// byte forms, and Blackbox hashes whichever it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrSource {
    /// An IP literal target: Go returns `IP.To16()`, so IPv4 is hashed as the
    /// 16-byte IPv4-mapped form `::ffff:a.b.c.d`.
    Literal,
    /// An answer of the resolver: Go keeps an A record's 4 bytes.
    Resolved,
}

/// `probe_ip_addr_hash` for `ip`, byte-compatible with Blackbox's (`ipHash` over
/// Go's `net.IP`). Go gives a DNS A answer as 4 bytes, but an IP literal (and an
/// `/etc/hosts` entry) as 16 bytes; we cannot tell a hosts-file answer from a DNS
/// one, so those hash as 4 bytes here (a documented departure).
pub fn ip_hash(ip: IpAddr, source: AddrSource) -> u32 {
    match (ip, source) {
        (IpAddr::V4(v4), AddrSource::Literal) => fnv32a(&v4.to_ipv6_mapped().octets()),
        (IpAddr::V4(v4), AddrSource::Resolved) => fnv32a(&v4.octets()),
        (IpAddr::V6(v6), _) => fnv32a(&v6.octets()),
    }
}

/// Parses `host` as an IP literal (brackets allowed around IPv6).
pub fn ip_literal(host: &str) -> Option<IpAddr> {
    let h = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    h.parse::<IpAddr>().ok()
}

/// Chooses the address of `host` the way Blackbox does, recording
/// `probe_dns_lookup_time_seconds`, `probe_ip_protocol` and `probe_ip_addr_hash`.
/// Returns the address and the lookup time (for a prober's `resolve` phase).
/// Under a target `policy` (`/probe`), a denied name or address fails the run
/// with [`FailureReason::Denied`] before anything is sent to it.
pub async fn resolve_target(
    host: &str,
    ip: &IpSettings,
    policy: Option<&TargetPolicy>,
    rec: &mut Recorder,
) -> Result<(IpAddr, Duration), ProbeFailure> {
    rec.set(names::PROBE_IP_PROTOCOL, 0.0);
    let started = Instant::now();
    let result = choose_allowed(host, ip, policy).await;
    let took = started.elapsed();
    rec.set(names::PROBE_DNS_LOOKUP_TIME_SECONDS, took.as_secs_f64());
    match result {
        Ok((addr, source)) => {
            rec.set(names::PROBE_IP_PROTOCOL, protocol_value(family(addr)));
            rec.set(names::PROBE_IP_ADDR_HASH, f64::from(ip_hash(addr, source)));
            rec.trace(format_args!(
                "Resolved {host} to {addr} in {:.6}s",
                took.as_secs_f64()
            ));
            Ok((addr, took))
        }
        Err(f) => {
            rec.trace(format_args!(
                "Resolution of {host} failed after {:.6}s: {}",
                took.as_secs_f64(),
                f.message
            ));
            Err(f)
        }
    }
}

/// Resolves `host` with the same address choice, recording nothing (a proxy's
/// host, a redirect's new host). `policy` as in [`resolve_target`]: a redirect's
/// host is the target's business; a proxy or token URL the operator wrote is not.
pub async fn resolve_quiet(
    host: &str,
    ip: &IpSettings,
    policy: Option<&TargetPolicy>,
) -> Result<IpAddr, ProbeFailure> {
    choose_allowed(host, ip, policy).await.map(|(a, _)| a)
}

/// [`choose`] under `policy`: the name is checked before it is resolved, and the
/// address chosen, the one the caller connects to, after.
async fn choose_allowed(
    host: &str,
    ip: &IpSettings,
    policy: Option<&TargetPolicy>,
) -> Result<(IpAddr, AddrSource), ProbeFailure> {
    let Some(policy) = policy else {
        return choose(host, ip).await;
    };
    check_host(host, Some(policy))?;
    let (addr, source) = choose(host, ip).await?;
    policy.check_ip(host, addr).map_err(denied)?;
    Ok((addr, source))
}

/// The policy's decision on `host` before any address is chosen: on its name, or
/// on the address it spells. Also for a hop a proxy resolves, where outpost never
/// learns the address.
pub fn check_host(host: &str, policy: Option<&TargetPolicy>) -> Result<(), ProbeFailure> {
    let Some(policy) = policy else {
        return Ok(());
    };
    match ip_literal(host) {
        Some(ip) => policy.check_ip(host, ip),
        None => policy.check_name(host),
    }
    .map_err(denied)
}

fn denied(d: Denied) -> ProbeFailure {
    ProbeFailure::new(FailureReason::Denied, d.0)
}

tokio::task_local! {
    /// A name and the one address a run must use for it (`fan_out`).
    static PINNED: (String, IpAddr);
}

/// Runs `run` with `host` pinned to `addr`: every resolution of that name in the
/// run (whichever prober, whichever call) answers `addr`, while the name stays
/// what the prober sends (Host header, SNI). Other names resolve as ever. This is
/// the one seam a fan-out run needs: every prober resolves through [`choose`].
pub async fn pinned<F: std::future::Future>(host: &str, addr: IpAddr, run: F) -> F::Output {
    PINNED.scope((host.to_ascii_lowercase(), addr), run).await
}

fn pinned_for(host: &str) -> Option<IpAddr> {
    PINNED
        .try_with(|(name, addr)| name.eq_ignore_ascii_case(host).then_some(*addr))
        .ok()
        .flatten()
}

/// Every address of `host` of the families asked for (`fan_out` with
/// `ip_protocols`), sorted and without repeats; a family without records is no
/// error while another has some.
pub async fn resolve_families(
    host: &str,
    ip4: bool,
    ip6: bool,
) -> Result<Vec<IpAddr>, ProbeFailure> {
    if let Some(addr) = ip_literal(host) {
        return Ok(vec![addr]);
    }
    if host.is_empty() {
        return Err(ProbeFailure::new(FailureReason::Resolve, "empty host name"));
    }
    let r = resolvers();
    let mut found: Vec<IpAddr> = Vec::new();
    let mut last_error = None;
    for (wanted, resolver, f) in [(ip4, &r.v4, IpProtocol::Ip4), (ip6, &r.v6, IpProtocol::Ip6)] {
        if !wanted {
            continue;
        }
        match lookup(resolver, host).await {
            Ok(addrs) => found.extend(addrs.into_iter().filter(|a| family(*a) == f)),
            Err(e) => last_error = Some(e),
        }
    }
    found.sort();
    found.dedup();
    if found.is_empty() {
        return Err(last_error.unwrap_or_else(|| {
            ProbeFailure::new(FailureReason::Resolve, format!("no address for {host}"))
        }));
    }
    Ok(found)
}

/// Every address of `host` (`fan_out`), sorted and without repeats: the preferred
/// family's; with `ip_protocol_fallback`, the other family's when the preferred
/// has none. An IP literal is its own one address.
pub async fn resolve_all(host: &str, ip: &IpSettings) -> Result<Vec<IpAddr>, ProbeFailure> {
    if let Some(addr) = ip_literal(host) {
        return Ok(vec![addr]);
    }
    if host.is_empty() {
        return Err(ProbeFailure::new(FailureReason::Resolve, "empty host name"));
    }
    let r = resolvers();
    let (preferred, other) = match ip.preferred {
        IpProtocol::Ip4 => (&r.v4, &r.v6),
        IpProtocol::Ip6 => (&r.v6, &r.v4),
    };
    let of_family = |addrs: Vec<IpAddr>, f: IpProtocol| -> Vec<IpAddr> {
        let mut v: Vec<IpAddr> = addrs.into_iter().filter(|a| family(*a) == f).collect();
        v.sort();
        v.dedup();
        v
    };
    let first = lookup(preferred, host).await;
    let found = match first {
        Ok(v) => of_family(v, ip.preferred),
        Err(e) if !ip.fallback => return Err(e),
        Err(_) => Vec::new(),
    };
    if !found.is_empty() || !ip.fallback {
        return if found.is_empty() {
            Err(ProbeFailure::new(
                FailureReason::Resolve,
                format!("no {} address for {host}", family_name(ip.preferred)),
            ))
        } else {
            Ok(found)
        };
    }
    let other_family = match ip.preferred {
        IpProtocol::Ip4 => IpProtocol::Ip6,
        IpProtocol::Ip6 => IpProtocol::Ip4,
    };
    let found = of_family(lookup(other, host).await?, other_family);
    if found.is_empty() {
        return Err(ProbeFailure::new(
            FailureReason::Resolve,
            format!("no address for {host}"),
        ));
    }
    Ok(found)
}

async fn choose(host: &str, ip: &IpSettings) -> Result<(IpAddr, AddrSource), ProbeFailure> {
    if let Some(addr) = ip_literal(host) {
        return Ok((addr, AddrSource::Literal));
    }
    if let Some(addr) = pinned_for(host) {
        return Ok((addr, AddrSource::Resolved));
    }
    if host.is_empty() {
        return Err(ProbeFailure::new(FailureReason::Resolve, "empty host name"));
    }
    let r = resolvers();
    let (preferred, other) = match ip.preferred {
        IpProtocol::Ip4 => (&r.v4, &r.v6),
        IpProtocol::Ip6 => (&r.v6, &r.v4),
    };
    let preferred_family = ip.preferred;
    if !ip.fallback {
        let addrs = lookup(preferred, host).await?;
        return addrs
            .into_iter()
            .find(|a| family(*a) == preferred_family)
            .map(|a| (a, AddrSource::Resolved))
            .ok_or_else(|| {
                ProbeFailure::new(
                    FailureReason::Resolve,
                    format!("no {} address for {host}", family_name(preferred_family)),
                )
            });
    }
    let (a, b) = tokio::join!(lookup(preferred, host), lookup(other, host));
    let mut all: Vec<IpAddr> = Vec::new();
    let mut first_err = None;
    for r in [a, b] {
        match r {
            Ok(v) => all.extend(v),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(addr) = all.iter().find(|a| family(**a) == preferred_family) {
        return Ok((*addr, AddrSource::Resolved));
    }
    match (all.first(), first_err) {
        (Some(addr), _) => Ok((*addr, AddrSource::Resolved)),
        (None, Some(e)) => Err(e),
        (None, None) => Err(ProbeFailure::new(
            FailureReason::Resolve,
            format!("no address for {host}"),
        )),
    }
}

fn family_name(p: IpProtocol) -> &'static str {
    match p {
        IpProtocol::Ip4 => "IPv4",
        IpProtocol::Ip6 => "IPv6",
    }
}

async fn lookup(resolver: &Option<TokioResolver>, host: &str) -> Result<Vec<IpAddr>, ProbeFailure> {
    let Some(resolver) = resolver else {
        return Err(ProbeFailure::new(
            FailureReason::Resolve,
            "no DNS resolver available",
        ));
    };
    match resolver.lookup_ip(host).await {
        Ok(l) => Ok(l.iter().collect()),
        Err(e) => Err(ProbeFailure::new(
            FailureReason::Resolve,
            format!("resolving {host}: {}", resolve_error_words(&e)),
        )),
    }
}

/// A failed lookup in the words an operator uses. hickory's own text for an
/// empty answer is a Rust Debug dump of the query (`no records found for Query
/// { name: Name("svc.internal.test."), query_type: AAAA, ... }`).
fn resolve_error_words(e: &NetError) -> String {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(none)) => {
            let asked = none.query.query_type();
            if none.response_code == ResponseCode::NXDomain {
                "name not found (NXDOMAIN)".to_string()
            } else {
                format!("no {asked} record (the name exists, with no address of that family)")
            }
        }
        NetError::Dns(DnsError::ResponseCode(code)) => {
            format!("the DNS server answered {code}")
        }
        NetError::Timeout => "no answer from the DNS server in time".to_string(),
        NetError::Io(io) => format!("the DNS server could not be reached: {io}"),
        NetError::NoConnections => {
            "no DNS server to ask (nameservers of /etc/resolv.conf)".to_string()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod words_tests {
    use super::*;
    use hickory_resolver::net::NoRecords;
    use hickory_resolver::proto::op::Query;
    use hickory_resolver::proto::rr::{Name, RecordType};

    fn no_records(code: ResponseCode) -> NetError {
        let name = Name::from_ascii("svc.internal.test.").unwrap_or_else(|e| panic!("{e}"));
        NetError::Dns(DnsError::NoRecordsFound(NoRecords::new(
            Query::query(name, RecordType::AAAA),
            code,
        )))
    }

    #[test]
    fn a_failed_lookup_reads_as_words_not_a_debug_dump() {
        assert_eq!(
            resolve_error_words(&no_records(ResponseCode::NXDomain)),
            "name not found (NXDOMAIN)"
        );
        assert_eq!(
            resolve_error_words(&no_records(ResponseCode::NoError)),
            "no AAAA record (the name exists, with no address of that family)"
        );
        assert_eq!(
            resolve_error_words(&NetError::Dns(DnsError::ResponseCode(
                ResponseCode::ServFail
            ))),
            "the DNS server answered Server Failure"
        );
        assert_eq!(
            resolve_error_words(&NetError::Timeout),
            "no answer from the DNS server in time"
        );
        for e in [
            no_records(ResponseCode::NXDomain),
            no_records(ResponseCode::NoError),
        ] {
            assert!(!resolve_error_words(&e).contains("Query {"), "{e}");
        }
    }
}

/// Opens a TCP connection to `addr`, bound to `source_ip` when set, with
/// TCP_NODELAY. The caller times it.
pub async fn connect(addr: SocketAddr, source_ip: Option<IpAddr>) -> io::Result<TcpStream> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    if let Some(src) = source_ip {
        let src = match (src, addr) {
            // A v4 source for a v6 destination (or the reverse) cannot work: say so.
            (IpAddr::V4(_), SocketAddr::V6(_)) | (IpAddr::V6(_), SocketAddr::V4(_)) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("source address {src} is not of the family of {addr}"),
                ))
            }
            _ => src,
        };
        socket.bind(SocketAddr::new(src, 0))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Connects with [`connect`], recording the trace line and mapping errors to
/// [`FailureReason::Connect`]. Returns the stream and the connect duration.
pub async fn connect_timed(
    addr: SocketAddr,
    source_ip: Option<IpAddr>,
    rec: &mut Recorder,
) -> Result<(TcpStream, Duration), ProbeFailure> {
    let started = Instant::now();
    let result = connect(addr, source_ip).await;
    let took = started.elapsed();
    match result {
        Ok(s) => {
            rec.trace(format_args!(
                "Connected to {addr} in {:.6}s",
                took.as_secs_f64()
            ));
            Ok((s, took))
        }
        Err(e) => {
            rec.trace(format_args!(
                "Connect to {addr} failed after {:.6}s: {e}",
                took.as_secs_f64()
            ));
            Err(ProbeFailure::new(
                FailureReason::Connect,
                connect_error_words(addr, &e),
            ))
        }
    }
}

/// Why a connection to `addr` failed, as a person says it ("connection refused
/// by 10.0.1.5:443"); the OS's own words for anything else.
pub fn connect_error_words(addr: SocketAddr, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::ConnectionRefused => format!("connection refused by {addr}"),
        ErrorKind::TimedOut => format!("no answer from {addr}: the connection attempt timed out"),
        ErrorKind::HostUnreachable => format!("no route to host {addr}"),
        ErrorKind::NetworkUnreachable => format!("network unreachable: no route to {addr}"),
        ErrorKind::AddrNotAvailable => {
            format!("the source address cannot reach {addr} (source_ip_address?)")
        }
        ErrorKind::PermissionDenied => {
            format!("connecting to {addr} is not permitted on this host (a local firewall?)")
        }
        _ => format!("connecting to {addr}: {e}"),
    }
}

/// A `host:port` target, IPv6 literals in brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// The host without brackets: a name or an IP literal.
    pub host: String,
    pub port: u16,
}

/// Parses `host:port` (IPv6 in brackets); the port is required. The one parser
/// for such targets, at config load and at probe time alike.
pub fn parse_host_port(text: &str) -> Result<HostPort, TargetError> {
    let hint = "write host:port, e.g. \"db.internal:3306\", or \"[::1]:53\" for IPv6";
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(TargetError::new(
            format!("target {text:?} has no port"),
            hint,
        ));
    };
    let Ok(port) = port.parse::<u16>() else {
        return Err(TargetError::new(
            format!("invalid port {port:?} in target {text:?}"),
            hint,
        ));
    };
    let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) if inner.parse::<Ipv6Addr>().is_ok() => Some(inner),
        Some(_) => None,
        None if !host.is_empty() && !host.contains([':', '/', '[', ']', ' ']) => Some(host),
        None => None,
    };
    match host {
        Some(h) => Ok(HostPort {
            host: h.to_string(),
            port,
        }),
        None => Err(TargetError::new(
            format!(
                "invalid host {host:?} in target {text:?}",
                host = text.rsplit_once(':').map_or("", |(h, _)| h)
            ),
            hint,
        )),
    }
}

/// A target whose port may be left out (dns, grpc): the prober picks the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostOptPort {
    /// The host without brackets: a name or an IP literal.
    pub host: String,
    pub port: Option<u16>,
}

/// Parses `host:port`, or a bare host: a name, an IPv4 address, or an IPv6
/// address with or without brackets. `what` names the target in messages.
pub fn parse_host_opt_port(text: &str, what: &str, hint: &str) -> Result<HostOptPort, TargetError> {
    let bare = |host: &str| {
        Ok(HostOptPort {
            host: host.to_string(),
            port: None,
        })
    };
    if let Some(ip) = ip_literal(text) {
        return bare(&ip.to_string());
    }
    if !text.contains(':') {
        if text.is_empty() || text.contains(['/', '[', ']', ' ', '?', '#', '@']) {
            return Err(TargetError::new(format!("invalid {what} {text:?}"), hint));
        }
        return bare(text);
    }
    parse_host_port(text)
        .map(|hp| HostOptPort {
            host: hp.host,
            port: Some(hp.port),
        })
        .map_err(|e| TargetError::new(e.message, hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_errors_read_as_words() {
        use std::io::{Error, ErrorKind};
        let addr: SocketAddr = "10.0.1.5:443".parse().unwrap_or_else(|e| panic!("{e}"));
        let words = |kind| connect_error_words(addr, &Error::from(kind));
        assert_eq!(
            words(ErrorKind::ConnectionRefused),
            "connection refused by 10.0.1.5:443"
        );
        assert_eq!(
            words(ErrorKind::HostUnreachable),
            "no route to host 10.0.1.5:443"
        );
        assert_eq!(
            connect_error_words(addr, &Error::other("odd")),
            "connecting to 10.0.1.5:443: odd"
        );
    }

    #[test]
    fn fnv_matches_go() {
        // Go: fnv.New32a() over no bytes is the offset basis; "a" is a known vector.
        assert_eq!(fnv32a(b""), 0x811c_9dc5);
        assert_eq!(fnv32a(b"a"), 0xe40c_292c);
        assert_eq!(fnv32a(b"foobar"), 0xbf9c_f968);
    }

    #[test]
    fn ipv4_literal_hashes_in_16_byte_form() {
        let ip = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
        let mut mapped = [0u8; 16];
        mapped[10] = 0xff;
        mapped[11] = 0xff;
        mapped[12..].copy_from_slice(&[127, 0, 0, 1]);
        assert_eq!(ip_hash(ip, AddrSource::Literal), fnv32a(&mapped));
        assert_eq!(ip_hash(ip, AddrSource::Resolved), fnv32a(&[127, 0, 0, 1]));
    }

    #[test]
    fn host_port() {
        let hp = |h: &str, port| {
            Ok(HostPort {
                host: h.into(),
                port,
            })
        };
        assert_eq!(parse_host_port("a:1"), hp("a", 1));
        assert_eq!(parse_host_port("10.0.0.1:3306"), hp("10.0.0.1", 3306));
        assert_eq!(parse_host_port("[::1]:80"), hp("::1", 80));
        assert_eq!(
            parse_host_port("db.internal:65535"),
            hp("db.internal", 65535)
        );
        for bad in [
            "a",
            "a:",
            ":80",
            "a:x",
            "a:99999",
            "::1:80",
            "[::1]",
            "[x]:53",
            "http://a:80",
            "a b:1",
        ] {
            assert!(parse_host_port(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_host_port("a").map_err(|e| e.message),
            Err("target \"a\" has no port".to_string())
        );
    }
}
