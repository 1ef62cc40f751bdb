//! A record's text form as Blackbox matches it: miekg/dns's `RR.String()`, that is
//! `owner<TAB>ttl<TAB>class<TAB>type<TAB>rdata`, e.g.
//! `example.com.\t300\tIN\tA\t192.0.2.1`. Names are fully qualified with miekg's
//! escapes; TXT strings are quoted. The common types (A, AAAA, NS, CNAME, PTR, MX,
//! SOA, TXT, SRV, CAA, HINFO) and unknown types (`\# len hex`, RFC 3597) are
//! written exactly as miekg writes them; the rarer ones hickory-proto decodes
//! (DNSSEC, SVCB, TLSA, ...) use hickory-proto's presentation form, which may
//! differ in detail.

use std::fmt::Write;

use hickory_proto::rr::{Name, RData, Record};

use super::codes;

/// `record` as miekg prints it.
pub fn record(record: &Record) -> String {
    let mut out = String::new();
    name(&mut out, &record.name);
    let _ = write!(
        out,
        "\t{}\t{}\t{}\t",
        record.ttl,
        codes::class_name(record.dns_class),
        codes::type_name(record.record_type())
    );
    rdata(&mut out, &record.data);
    out
}

fn rdata(out: &mut String, data: &RData) {
    match data {
        RData::A(a) => {
            let _ = write!(out, "{}", a.0);
        }
        // Rust and Go both print RFC 5952 form, `::ffff:a.b.c.d` for mapped addresses.
        RData::AAAA(a) => {
            let _ = write!(out, "{}", a.0);
        }
        RData::CNAME(n) => name(out, &n.0),
        RData::NS(n) => name(out, &n.0),
        RData::PTR(n) => name(out, &n.0),
        RData::MX(mx) => {
            let _ = write!(out, "{} ", mx.preference);
            name(out, &mx.exchange);
        }
        RData::SOA(soa) => {
            name(out, &soa.mname);
            out.push(' ');
            name(out, &soa.rname);
            // miekg holds these as uint32; hickory-proto's i32 keep the same bits.
            let _ = write!(
                out,
                " {} {} {} {} {}",
                soa.serial, soa.refresh as u32, soa.retry as u32, soa.expire as u32, soa.minimum
            );
        }
        RData::TXT(txt) => strings(out, txt.txt_data.iter().map(|s| &s[..])),
        RData::HINFO(h) => strings(out, [&h.cpu[..], &h.os[..]]),
        RData::SRV(srv) => {
            let _ = write!(out, "{} {} {} ", srv.priority, srv.weight, srv.port);
            name(out, &srv.target);
        }
        RData::CAA(caa) => {
            let flags = caa.reserved_flags | if caa.issuer_critical { 0x80 } else { 0 };
            let _ = write!(out, "{flags} {} ", caa.tag);
            strings(out, [&caa.value[..]]);
        }
        RData::Unknown { rdata, .. } | RData::NULL(rdata) => {
            let _ = write!(out, "\\# {} ", rdata.anything.len());
            for b in &rdata.anything {
                let _ = write!(out, "{b:02x}");
            }
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// A domain name, fully qualified, with miekg's escapes: `\.`, `\ ` and the like
/// for specials, `\DDD` for bytes outside printable ASCII.
fn name(out: &mut String, n: &Name) {
    if n.num_labels() == 0 {
        out.push('.');
        return;
    }
    for label in n.iter() {
        for &b in label {
            match b {
                b'.' | b' ' | b'\'' | b'@' | b';' | b'(' | b')' | b'"' | b'\\' => {
                    out.push('\\');
                    out.push(char::from(b));
                }
                0x20..=0x7e => out.push(char::from(b)),
                _ => ddd(out, b),
            }
        }
        out.push('.');
    }
}

/// Character strings, each quoted, separated by a space (miekg's `sprintTxt`).
fn strings<'a>(out: &mut String, list: impl IntoIterator<Item = &'a [u8]>) {
    for (i, s) in list.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push('"');
        for &b in s {
            match b {
                b'"' | b'\\' => {
                    out.push('\\');
                    out.push(char::from(b));
                }
                0x20..=0x7e => out.push(char::from(b)),
                _ => ddd(out, b),
            }
        }
        out.push('"');
    }
}

fn ddd(out: &mut String, b: u8) {
    let _ = write!(out, "\\{b:03}");
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test data is known to be valid")]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use hickory_proto::rr::rdata::{A, AAAA, CAA, MX, NULL, SOA, SRV, TXT};
    use hickory_proto::rr::{DNSClass, RecordType};

    use super::*;

    fn rec(owner: &str, data: RData) -> String {
        let mut r = Record::from_rdata(Name::from_ascii(owner).unwrap(), 300, data);
        r.dns_class = DNSClass::IN;
        record(&r)
    }

    #[test]
    fn common_types_print_as_miekg() {
        assert_eq!(
            rec("example.com.", RData::A(A(Ipv4Addr::new(192, 0, 2, 1)))),
            "example.com.\t300\tIN\tA\t192.0.2.1"
        );
        assert_eq!(
            rec(
                "v6.example.",
                RData::AAAA(AAAA(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)))
            ),
            "v6.example.\t300\tIN\tAAAA\t2001:db8::1"
        );
        let mx = MX::new(10, Name::from_ascii("mail.example.").unwrap());
        assert_eq!(
            rec("example.", RData::MX(mx)),
            "example.\t300\tIN\tMX\t10 mail.example."
        );
        let soa = SOA::new(
            Name::from_ascii("ns.example.").unwrap(),
            Name::from_ascii("hostmaster.example.").unwrap(),
            2024010101,
            1200,
            180,
            1209600,
            600,
        );
        assert_eq!(
            rec("example.", RData::SOA(soa)),
            "example.\t300\tIN\tSOA\tns.example. hostmaster.example. 2024010101 1200 180 1209600 600"
        );
        let txt = TXT::from_bytes(vec![b"v=spf1 \"x\"", b"a\\b\x01"]);
        assert_eq!(
            rec("example.", RData::TXT(txt)),
            "example.\t300\tIN\tTXT\t\"v=spf1 \\\"x\\\"\" \"a\\\\b\\001\""
        );
        let srv = SRV::new(1, 2, 5060, Name::from_ascii("sip.example.").unwrap());
        assert_eq!(
            rec("_sip._udp.example.", RData::SRV(srv)),
            "_sip._udp.example.\t300\tIN\tSRV\t1 2 5060 sip.example."
        );
        let caa = CAA::new_issue(true, Some(Name::from_ascii("ca.example").unwrap()), vec![]);
        assert_eq!(
            rec("example.", RData::CAA(caa)),
            "example.\t300\tIN\tCAA\t128 issue \"ca.example\""
        );
        assert_eq!(
            rec(".", RData::NULL(NULL::with(vec![1, 0xab]))),
            ".\t300\tIN\tNULL\t\\# 2 01ab"
        );
        let unknown = RData::Unknown {
            code: RecordType::Unknown(65280),
            rdata: NULL::with(vec![7]),
        };
        assert_eq!(rec("x.", unknown), "x.\t300\tIN\tTYPE65280\t\\# 1 07");
    }

    #[test]
    fn names_are_escaped_as_miekg() {
        let n = Name::from_labels(vec![&b"a.b"[..], &b"c d"[..], &b"\xff"[..]]).unwrap();
        let mut out = String::new();
        name(&mut out, &n);
        assert_eq!(out, "a\\.b.c\\ d.\\255.");
    }
}
