//! The dns prober over TCP (and DNS over TLS, the same framing): RFC 1035's
//! 2-byte length prefix, the read and decode of the answer and its ID check
//! (`dns::exchange::framed`), then the text form of every record that the
//! `validate_*_rrs` regexes match (`dns::text::record`).
//!
//! Input: the query ID (2 bytes), then everything the server sends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost::fuzzing;
use outpost::probe::dns::text;

/// A query's header alone: what is sent does not change how the answer is read.
const QUERY: [u8; 12] = [0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];

fuzz_target!(|input: &[u8]| {
    let [i0, i1, peer @ ..] = input else {
        return;
    };
    let id = u16::from_be_bytes([*i0, *i1]);
    let Some((response, read)) = fuzzing::dns_tcp_response(&QUERY, id, peer) else {
        return;
    };
    let read = usize::try_from(read).unwrap_or(usize::MAX);
    // The frame is read exactly: never past its declared length, never past the input.
    assert!(read <= peer.len(), "read {read} of {} bytes", peer.len());
    if let [l0, l1, ..] = peer {
        let frame = 2 + usize::from(u16::from_be_bytes([*l0, *l1]));
        assert_eq!(read, frame.min(peer.len()), "frame of {frame} bytes");
    }
    let Ok(message) = response else {
        return;
    };
    assert_eq!(message.metadata.id, id, "an answer with another ID passed");
    let records = message
        .answers
        .iter()
        .chain(&message.authorities)
        .chain(&message.additionals);
    for record in records {
        let line = text::record(record);
        let fields: Vec<&str> = line.splitn(5, '\t').collect();
        assert_eq!(fields.len(), 5, "{line:?}");
        // The owner is fully qualified, escaped to printable ASCII; a space in a
        // label is written `\ ` as miekg does.
        let owner = fields[0];
        assert!(owner.ends_with('.'), "{line:?}");
        assert!(
            owner.bytes().all(|b| (0x20..=0x7e).contains(&b)),
            "{line:?}"
        );
        assert!(
            !owner.contains(' ') || owner.split(' ').rev().skip(1).all(|s| s.ends_with('\\')),
            "{line:?}"
        );
        assert_eq!(fields[1], record.ttl.to_string(), "{line:?}");
    }
});
