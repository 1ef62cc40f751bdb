//! The ICMP socket of one probe: an unprivileged datagram ("ping") socket where
//! `net.ipv4.ping_group_range` includes the process's group, else a raw socket
//! (CAP_NET_RAW), as Blackbox tries them. `dont_fragment` to an IPv4 target needs
//! a raw socket with IP_HDRINCL (we write the IPv4 header and its DF flag), as in
//! Blackbox.
//!
//! The socket is bound to `source_ip_address` when set and connected to the
//! target, so the kernel delivers only the target's packets to it. Replies are
//! read with `recvmsg` to get the TTL / hop limit control message (IP_RECVTTL,
//! IPV6_RECVHOPLIMIT); a raw IPv4 socket also reads the reply's IP header.
//! All of it through socket2's and nix's safe APIs: the crate forbids `unsafe`.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;

use nix::sys::socket::{self as nixsock, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use super::packet::is_v6;

/// Which kind of ICMP socket a probe uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    /// SOCK_DGRAM + IPPROTO_ICMP(V6): no privilege, where ping_group_range allows.
    Datagram,
    /// SOCK_RAW: needs CAP_NET_RAW (or root).
    Raw,
}

impl SocketKind {
    pub fn name(self) -> &'static str {
        match self {
            SocketKind::Datagram => "datagram (unprivileged)",
            SocketKind::Raw => "raw",
        }
    }
}

/// Which socket kinds a probe may try. Not a config option: `Auto` is what
/// modules use; the others let tests (and callers of the library) force one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SocketChoice {
    /// Datagram first, raw if the kernel refuses it (Blackbox's order).
    #[default]
    Auto,
    Datagram,
    Raw,
}

/// What to set on the socket before connecting.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub choice: SocketChoice,
    pub source: Option<IpAddr>,
    /// IP_TTL / IPV6_UNICAST_HOPS; 0 leaves the kernel's default.
    pub ttl: u8,
    /// IPv4 only: a raw socket writing its own header with DF.
    pub dont_fragment: bool,
}

/// An open, connected ICMP socket.
#[derive(Debug)]
pub struct IcmpSocket {
    fd: AsyncFd<Socket>,
    pub kind: SocketKind,
    /// IP_HDRINCL: each send carries our own IPv4 header.
    pub header_included: bool,
    v6: bool,
    /// Whether the TTL / hop limit control message was enabled.
    pub hop_limit_enabled: bool,
    /// Why a datagram socket was refused before falling back to raw, if it was.
    pub fallback: Option<String>,
}

/// Why no socket could be had: the message says which privilege is missing.
#[derive(Debug)]
pub struct OpenError(pub String);

/// Opens the socket for `dst` per `opts`. A source address of the other family
/// is refused before any socket is made, whatever the privileges.
pub fn open(dst: IpAddr, opts: &Options) -> Result<IcmpSocket, OpenError> {
    let v6 = is_v6(dst);
    let header_included = opts.dont_fragment && !v6;
    let choice = if header_included {
        SocketChoice::Raw
    } else {
        opts.choice
    };
    if let Some(src) = opts.source.filter(|src| is_v6(*src) != v6) {
        return Err(OpenError(format!(
            "source address {src} is not of the family of {dst}"
        )));
    }
    let (socket, kind, fallback) = create(v6, choice)?;
    let hop_limit_enabled = configure(&socket, v6, opts, header_included)?;
    if let Some(src) = opts.source {
        socket
            .bind(&SockAddr::from(SocketAddr::new(src, 0)))
            .map_err(|e| OpenError(format!("binding to source address {src}: {e}")))?;
    }
    socket
        .connect(&SockAddr::from(SocketAddr::new(dst, 0)))
        .map_err(|e| OpenError(format!("connecting the ICMP socket to {dst}: {e}")))?;
    socket
        .set_nonblocking(true)
        .map_err(|e| OpenError(format!("setting the socket non-blocking: {e}")))?;
    let fd = register(socket)
        .map_err(|e| OpenError(format!("registering the socket with the runtime: {e}")))?;
    Ok(IcmpSocket {
        fd,
        kind,
        header_included,
        v6,
        hop_limit_enabled,
        fallback,
    })
}

/// Registers the socket with tokio's reactor. Recent tokio deprecates `AsyncFd::new`
/// (tokio PR 8587) because an inner type could return a different descriptor from one
/// call of `as_raw_fd` to the next; its replacement `register` is `unsafe`, which
/// this crate forbids. A `socket2::Socket` owns its descriptor and always returns
/// that one, which is the whole of `register`'s safety contract.
#[expect(deprecated, reason = "sound for socket2::Socket, see above")]
fn register(socket: Socket) -> io::Result<AsyncFd<Socket>> {
    AsyncFd::new(socket)
}

/// Creates a socket of the kinds `choice` allows, datagram first; with the reason
/// the datagram socket was refused when raw was the fallback.
fn create(
    v6: bool,
    choice: SocketChoice,
) -> Result<(Socket, SocketKind, Option<String>), OpenError> {
    let (domain, protocol) = if v6 {
        (Domain::IPV6, Protocol::ICMPV6)
    } else {
        (Domain::IPV4, Protocol::ICMPV4)
    };
    let dgram = || Socket::new(domain, Type::DGRAM, Some(protocol));
    let raw = || Socket::new(domain, Type::RAW, Some(protocol));
    let dgram_hint = "net.ipv4.ping_group_range does not include this process's group";
    let raw_hint = "raw ICMP sockets need CAP_NET_RAW";
    match choice {
        SocketChoice::Datagram => dgram()
            .map(|s| (s, SocketKind::Datagram, None))
            .map_err(|e| OpenError(format!("datagram ICMP socket refused ({dgram_hint}): {e}"))),
        SocketChoice::Raw => raw()
            .map(|s| (s, SocketKind::Raw, None))
            .map_err(|e| OpenError(format!("raw ICMP socket refused ({raw_hint}): {e}"))),
        SocketChoice::Auto => match dgram() {
            Ok(s) => Ok((s, SocketKind::Datagram, None)),
            Err(de) => raw()
                .map(|s| (s, SocketKind::Raw, Some(de.to_string())))
                .map_err(|re| {
                    OpenError(format!(
                        "no ICMP socket: datagram refused ({dgram_hint}): {de}; \
                     raw refused ({raw_hint}): {re}"
                    ))
                }),
        },
    }
}

/// Sets the TTL, IP_HDRINCL and the TTL control message. Returns whether that
/// control message is on (no reply hop limit series otherwise, as Blackbox).
fn configure(
    socket: &Socket,
    v6: bool,
    opts: &Options,
    header_included: bool,
) -> Result<bool, OpenError> {
    let ttl = u32::from(opts.ttl);
    if header_included {
        // The TTL goes into the header we write (64 when ttl = 0, as Blackbox).
        socket
            .set_header_included_v4(true)
            .map_err(|e| OpenError(format!("setting IP_HDRINCL for dont_fragment: {e}")))?;
    } else if ttl > 0 {
        let set = if v6 {
            socket.set_unicast_hops_v6(ttl)
        } else {
            socket.set_ttl_v4(ttl)
        };
        set.map_err(|e| OpenError(format!("setting the TTL to {ttl}: {e}")))?;
    }
    let recv = if v6 {
        socket.set_recv_hoplimit_v6(true)
    } else {
        nixsock::setsockopt(socket, sockopt::Ipv4RecvTtl, &true).map_err(io::Error::from)
    };
    Ok(recv.is_ok())
}

/// One packet read from the socket.
#[derive(Debug)]
pub struct Received {
    pub from: Option<IpAddr>,
    /// The TTL (IPv4) or hop limit (IPv6) of the packet, when known.
    pub hop_limit: Option<u8>,
    pub len: usize,
}

impl IcmpSocket {
    /// The socket itself, for reading back its options.
    pub fn socket(&self) -> &Socket {
        self.fd.get_ref()
    }

    /// Sends `packet` to the connected target.
    pub async fn send(&self, packet: &[u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.writable().await?;
            if let Ok(result) = guard.try_io(|fd| fd.get_ref().send(packet)) {
                return result;
            }
        }
    }

    /// Reads the next packet into `buf`: a raw IPv4 socket's starts with the IP
    /// header; the others' with the ICMP message.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<Received> {
        loop {
            let mut guard = self.fd.readable().await?;
            if let Ok(result) = guard.try_io(|fd| recv_once(fd.get_ref(), buf, self.v6)) {
                return result;
            }
        }
    }
}

/// One non-blocking `recvmsg`, with the TTL / hop limit control message.
fn recv_once(socket: &Socket, buf: &mut [u8], v6: bool) -> io::Result<Received> {
    let mut iov = [IoSliceMut::new(buf)];
    let mut cmsg = vec![0u8; 64];
    let msg = nixsock::recvmsg::<SockaddrStorage>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .map_err(io::Error::from)?;
    let from = msg.address.as_ref().and_then(|a| {
        if v6 {
            a.as_sockaddr_in6().map(|s| IpAddr::V6(s.ip()))
        } else {
            a.as_sockaddr_in().map(|s| IpAddr::V4(s.ip()))
        }
    });
    let mut hop_limit = None;
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            match c {
                ControlMessageOwned::Ipv4Ttl(t) | ControlMessageOwned::Ipv6HopLimit(t) => {
                    hop_limit = u8::try_from(t).ok();
                }
                _ => {}
            }
        }
    }
    Ok(Received {
        from,
        hop_limit,
        len: msg.bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(ttl: u8, dont_fragment: bool) -> Options {
        Options {
            choice: SocketChoice::Auto,
            source: None,
            ttl,
            dont_fragment,
        }
    }

    /// Opens a socket to `dst`, or says why the kernel allows neither kind here.
    fn try_open(dst: &str, o: &Options) -> Option<IcmpSocket> {
        match open(dst.parse().ok()?, o) {
            Ok(s) => Some(s),
            Err(OpenError(e)) if e.starts_with("no ICMP socket") => {
                eprintln!("SKIPPED: this kernel allows neither ICMP socket kind here: {e}");
                None
            }
            Err(OpenError(e)) => panic!("{e}"),
        }
    }

    #[tokio::test]
    async fn ttl_and_header_options_are_set() {
        let Some(s) = try_open("127.0.0.1", &opts(7, false)) else {
            return;
        };
        assert_eq!(s.socket().ttl_v4().ok(), Some(7));
        assert!(s.hop_limit_enabled);
        let Some(s) = try_open("::1", &opts(9, false)) else {
            return;
        };
        assert_eq!(s.socket().unicast_hops_v6().ok(), Some(9));
        assert!(s.hop_limit_enabled);
        assert_eq!(s.socket().recv_hoplimit_v6().ok(), Some(true));
        // ttl = 0: the kernel's default is left alone (64 unless changed).
        let Some(s) = try_open("::1", &opts(0, false)) else {
            return;
        };
        assert!(s.socket().unicast_hops_v6().is_ok_and(|h| h > 0));
        // dont_fragment on IPv4: raw with IP_HDRINCL (needs CAP_NET_RAW).
        if let Ok(s) = open(IpAddr::from([127, 0, 0, 1]), &opts(0, true)) {
            assert_eq!(s.kind, SocketKind::Raw);
            assert!(s.header_included);
            assert_eq!(s.socket().header_included_v4().ok(), Some(true));
        }
    }

    #[tokio::test]
    async fn a_source_of_the_other_family_is_refused() {
        let o = Options {
            source: Some(IpAddr::from([127, 0, 0, 1])),
            ..opts(64, false)
        };
        let err = open(IpAddr::from(std::net::Ipv6Addr::LOCALHOST), &o)
            .err()
            .map(|e| e.0)
            .unwrap_or_default();
        assert!(err.contains("not of the family"), "{err}");
    }
}
