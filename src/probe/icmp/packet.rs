//! ICMP echo messages: the request we send, the IPv4 header we write ourselves for
//! `dont_fragment`, and the check that a received message is the reply to ours.
//!
//! As Blackbox (`prober/icmp.go`): the payload is "Prometheus Blackbox Exporter",
//! or `payload_size` bytes starting with that text and padded with zeros; the echo
//! ID is random per probe and the sequence number comes from one process-wide
//! counter that starts at a random value. A reply matches when its type is echo
//! reply and its ID (except on datagram sockets, where the kernel picks the ID),
//! sequence number and payload equal the request's. The checksum is not compared.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;

/// The payload Blackbox sends (and the start of a longer one).
pub const PAYLOAD_TEXT: &[u8] = b"Prometheus Blackbox Exporter";

/// The largest `payload_size` accepted: what fits in one IPv4 packet
/// (65535 − 20 bytes of IP header − 8 of ICMP header).
pub const MAX_PAYLOAD: usize = 65507;

/// ICMP(v6) message types of an echo exchange.
const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;

/// Length of the ICMP echo header (type, code, checksum, id, sequence).
const HEADER: usize = 8;

/// A random 64-bit value from the standard library's per-process hasher keys (no
/// extra crate): enough to keep concurrent probers' IDs apart, not a secret.
fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(u64::from(std::process::id()));
    h.finish()
}

/// A random echo ID, new for each probe (Blackbox #1537: NAT devices key ICMP
/// sessions on it).
pub fn random_id() -> u16 {
    (random_u64() & 0xffff) as u16
}

/// The next sequence number of the process-wide counter, which starts at a random
/// value so that restarted exporters are not in step (Blackbox #411).
pub fn next_sequence() -> u16 {
    static SEQ: OnceLock<AtomicU16> = OnceLock::new();
    SEQ.get_or_init(|| AtomicU16::new((random_u64() >> 16) as u16))
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_add(1)
}

/// The payload for `payload_size` (0: the text alone).
pub fn payload(size: usize) -> Vec<u8> {
    if size == 0 {
        return PAYLOAD_TEXT.to_vec();
    }
    let mut data = vec![0u8; size];
    let n = size.min(PAYLOAD_TEXT.len());
    data[..n].copy_from_slice(&PAYLOAD_TEXT[..n]);
    data
}

/// One echo request: what to send and what its reply must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    pub v6: bool,
    pub id: u16,
    pub seq: u16,
    pub payload: Vec<u8>,
}

impl Echo {
    /// The ICMP message. The checksum is computed for ICMPv4 (the kernel redoes it
    /// on datagram sockets); for ICMPv6 the kernel always computes it, over a
    /// pseudo-header only it knows for sure.
    pub fn request(&self) -> Vec<u8> {
        let kind = if self.v6 {
            ECHO_REQUEST_V6
        } else {
            ECHO_REQUEST_V4
        };
        let mut msg = Vec::with_capacity(HEADER + self.payload.len());
        msg.extend_from_slice(&[kind, 0, 0, 0]);
        msg.extend_from_slice(&self.id.to_be_bytes());
        msg.extend_from_slice(&self.seq.to_be_bytes());
        msg.extend_from_slice(&self.payload);
        if !self.v6 {
            let sum = checksum(&msg);
            msg[2..4].copy_from_slice(&sum.to_be_bytes());
        }
        msg
    }

    /// Whether `msg` (an ICMP message, IP header removed) is the reply to this
    /// request. `check_id` is false on datagram sockets, whose ID the kernel sets
    /// (and uses to deliver only our replies to the socket).
    pub fn is_reply(&self, msg: &[u8], check_id: bool) -> bool {
        let kind = if self.v6 {
            ECHO_REPLY_V6
        } else {
            ECHO_REPLY_V4
        };
        msg.len() >= HEADER
            && msg[0] == kind
            && msg[1] == 0
            && (!check_id || msg[4..6] == self.id.to_be_bytes())
            && msg[6..8] == self.seq.to_be_bytes()
            && msg[HEADER..] == self.payload[..]
    }
}

/// What a received message is, for the trace.
pub fn describe(msg: &[u8]) -> String {
    match msg {
        [kind, code, _, _, id0, id1, s0, s1, rest @ ..] => format!(
            "type {kind} code {code} id {} seq {} with {} payload bytes",
            u16::from_be_bytes([*id0, *id1]),
            u16::from_be_bytes([*s0, *s1]),
            rest.len()
        ),
        _ => format!("{} bytes, too short for ICMP", msg.len()),
    }
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A 20-byte IPv4 header with the DF flag, for a raw socket with IP_HDRINCL, as
/// Blackbox writes it for `dont_fragment`. Linux fills in the total length, the
/// checksum, and the packet ID and source address when they are zero.
pub fn ipv4_header(src: Option<Ipv4Addr>, dst: Ipv4Addr, ttl: u8) -> [u8; 20] {
    let mut h = [0u8; 20];
    h[0] = 0x45; // version 4, 5 words
    h[6] = 0x40; // flags: don't fragment
    h[8] = ttl;
    h[9] = 1; // ICMP
    h[12..16].copy_from_slice(&src.unwrap_or(Ipv4Addr::UNSPECIFIED).octets());
    h[16..20].copy_from_slice(&dst.octets());
    h
}

/// Splits what a raw IPv4 socket reads into the header's TTL and the ICMP message.
pub fn strip_ipv4_header(packet: &[u8]) -> Option<(u8, &[u8])> {
    let ihl = usize::from(packet.first()? & 0x0f) * 4;
    if packet.first()? >> 4 != 4 || ihl < 20 || packet.len() < ihl {
        return None;
    }
    Some((packet[8], &packet[ihl..]))
}

/// The ICMP message in what a socket read and, on a raw IPv4 socket (which reads
/// the IP header too, `raw_v4`), that header's TTL; `None` when the header is
/// malformed.
pub fn received(data: &[u8], raw_v4: bool) -> Option<(Option<u8>, &[u8])> {
    if raw_v4 {
        strip_ipv4_header(data).map(|(ttl, msg)| (Some(ttl), msg))
    } else {
        Some((None, data))
    }
}

/// Whether `ip` is of the IPv6 family (an IPv4-mapped address is IPv4).
pub fn is_v6(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(_) => false,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_sizes() {
        assert_eq!(payload(0), PAYLOAD_TEXT);
        assert_eq!(payload(1), b"P");
        let p = payload(64);
        assert_eq!(p.len(), 64);
        assert_eq!(&p[..PAYLOAD_TEXT.len()], PAYLOAD_TEXT);
        assert!(p[PAYLOAD_TEXT.len()..].iter().all(|b| *b == 0));
    }

    #[test]
    fn request_and_reply_v4() {
        let e = Echo {
            v6: false,
            id: 0x1234,
            seq: 7,
            payload: payload(0),
        };
        let req = e.request();
        assert_eq!(&req[..2], &[8, 0]);
        assert_eq!(&req[4..8], &[0x12, 0x34, 0, 7]);
        // A correct checksum sums, with itself, to zero.
        assert_eq!(checksum(&req), 0);
        let mut reply = req.clone();
        reply[0] = 0;
        assert!(e.is_reply(&reply, true));
        assert!(!e.is_reply(&req, true), "our own request is not a reply");
        let mut other_id = reply.clone();
        other_id[4] = 0x99;
        assert!(!e.is_reply(&other_id, true));
        assert!(
            e.is_reply(&other_id, false),
            "datagram sockets ignore the ID"
        );
        let mut other_seq = reply.clone();
        other_seq[7] = 8;
        assert!(!e.is_reply(&other_seq, false));
        assert!(
            !e.is_reply(&reply[..reply.len() - 1], true),
            "short payload"
        );
        assert!(!e.is_reply(&reply[..4], true));
    }

    #[test]
    fn request_and_reply_v6() {
        let e = Echo {
            v6: true,
            id: 1,
            seq: 2,
            payload: payload(3),
        };
        let req = e.request();
        assert_eq!(req, [128, 0, 0, 0, 0, 1, 0, 2, b'P', b'r', b'o']);
        let mut reply = req.clone();
        reply[0] = 129;
        reply[2] = 0xab; // the kernel's checksum is not compared
        assert!(e.is_reply(&reply, true));
    }

    #[test]
    fn checksum_of_known_vector() {
        // RFC 1071's example words 0001 f203 f4f5 f6f7 sum to ddf2 (complement 220d).
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        assert_eq!(checksum(&[0xff]), !0xff00);
    }

    #[test]
    fn ipv4_header_round_trip() {
        let h = ipv4_header(None, Ipv4Addr::LOCALHOST, 9);
        assert_eq!(h[6] & 0x40, 0x40);
        let mut packet = h.to_vec();
        packet.extend_from_slice(&[0, 0, 1, 2]);
        assert_eq!(strip_ipv4_header(&packet), Some((9, &[0u8, 0, 1, 2][..])));
        assert_eq!(strip_ipv4_header(&[0x60; 40]), None);
        assert_eq!(strip_ipv4_header(&[0x45; 10]), None);
    }

    #[test]
    fn sequence_advances_and_ids_vary() {
        let a = next_sequence();
        assert_eq!(next_sequence(), a.wrapping_add(1));
        let ids: std::collections::HashSet<u16> = (0..32).map(|_| random_id()).collect();
        assert!(ids.len() > 1);
    }
}
