//! The icmp prober's reading of what its socket receives, IPv4 and IPv6: the IPv4
//! header of raw sockets (`packet::received`), the echo reply check
//! (`Echo::is_reply`) and the trace's description (`packet::describe`).
//!
//! Input: one byte of flags (bit 0: IPv6, bit 1: raw socket), the echo ID and
//! sequence number we sent (2 bytes each), then the packet.
#![no_main]

use std::net::Ipv4Addr;

use libfuzzer_sys::fuzz_target;
use outpost::probe::icmp::packet::{self, Echo, MAX_PAYLOAD};

fuzz_target!(|input: &[u8]| {
    let [flags, i0, i1, s0, s1, data @ ..] = input else {
        return;
    };
    let v6 = flags & 1 != 0;
    let raw = flags & 2 != 0;
    let (id, seq) = (
        u16::from_be_bytes([*i0, *i1]),
        u16::from_be_bytes([*s0, *s1]),
    );
    let reply_kind = if v6 { 129 } else { 0 };

    // A received packet: the ICMP message is what follows the IPv4 header, if any.
    let raw_v4 = raw && !v6;
    if let Some((ttl, msg)) = packet::received(data, raw_v4) {
        assert!(data.ends_with(msg));
        if raw_v4 {
            assert_eq!(ttl, Some(data[8]));
            assert!(msg.len() + 20 <= data.len());
        } else {
            assert_eq!((ttl, msg), (None, data));
        }
        let _ = packet::describe(msg);
        let echo = Echo {
            v6,
            id,
            seq,
            payload: msg.get(8..).unwrap_or_default().to_vec(),
        };
        if echo.is_reply(msg, raw) {
            assert_eq!(msg[0], reply_kind);
            assert_eq!(msg[6..8], seq.to_be_bytes());
            assert!(!raw || msg[4..6] == id.to_be_bytes());
        }
    }

    // Our own request, answered: a reply; the request itself is not.
    let payload = data[..data.len().min(MAX_PAYLOAD)].to_vec();
    let echo = Echo {
        v6,
        id,
        seq,
        payload,
    };
    let request = echo.request();
    assert!(!echo.is_reply(&request, false));
    let mut reply = request.clone();
    reply[0] = reply_kind;
    assert!(echo.is_reply(&reply, true));
    if !v6 {
        assert_eq!(packet::checksum(&request), 0);
        let ttl = flags.wrapping_add(1);
        let mut framed = packet::ipv4_header(None, Ipv4Addr::LOCALHOST, ttl).to_vec();
        framed.extend_from_slice(&reply);
        assert_eq!(
            packet::received(&framed, true),
            Some((Some(ttl), &reply[..]))
        );
    }
});
