//! What the certificate series say about a presented chain, computed from the
//! DER the peer sent (parsed with `x509-parser`), in Blackbox's formats.

use std::collections::HashSet;

use ring::digest;
use rustls_pki_types::CertificateDer;
use x509_parser::asn1_rs::ToDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// The labels of `probe_ssl_last_chain_info`, for the leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafInfo {
    /// Lowercase hex SHA-256 of the leaf's DER.
    pub fingerprint_sha256: String,
    /// Go `pkix.Name.String()` form, e.g. `CN=foo,O=bar`.
    pub subject: String,
    pub issuer: String,
    /// DNS SANs joined by `,`.
    pub subjectalternative: String,
    /// Lowercase hex of the serial's magnitude bytes (Go `%x` of `big.Int.Bytes()`).
    pub serialnumber: String,
}

/// The certificate series of one presented chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainSummary {
    /// Minimum NotAfter over every certificate presented.
    pub earliest_expiry: Option<i64>,
    /// Minimum NotAfter over the chain from the leaf up through the presented
    /// issuers (the trust anchor's own expiry is not visible to us).
    pub chain_expiry: Option<i64>,
    pub leaf: Option<LeafInfo>,
}

/// Summarises `certs` (leaf first, as sent). Certificates that do not parse are
/// skipped for expiries; the leaf's fingerprint is computed even then.
pub fn summarise(certs: &[CertificateDer<'_>]) -> ChainSummary {
    let parsed: Vec<Option<X509Certificate<'_>>> = certs
        .iter()
        .map(|c| X509Certificate::from_der(c.as_ref()).ok().map(|(_, x)| x))
        .collect();
    let earliest_expiry = parsed
        .iter()
        .flatten()
        .map(|c| c.validity().not_after.timestamp())
        .min();
    let chain_expiry = chain_path_expiry(&parsed);
    let leaf = certs.first().map(|der| {
        let fingerprint_sha256 = hex(digest::digest(&digest::SHA256, der.as_ref()).as_ref());
        match parsed.first().and_then(Option::as_ref) {
            Some(c) => LeafInfo {
                fingerprint_sha256,
                subject: go_name_string(c.subject()),
                issuer: go_name_string(c.issuer()),
                subjectalternative: dns_sans(c).join(","),
                serialnumber: serial_hex(c.raw_serial()),
            },
            None => LeafInfo {
                fingerprint_sha256,
                subject: String::new(),
                issuer: String::new(),
                subjectalternative: String::new(),
                serialnumber: String::new(),
            },
        }
    });
    ChainSummary {
        earliest_expiry,
        chain_expiry,
        leaf,
    }
}

/// One presented certificate as `outpost probe` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertLine {
    /// Go `pkix.Name.String()` form, as in the series' labels.
    pub subject: String,
    pub issuer: String,
    /// NotAfter, as a Unix timestamp.
    pub not_after: i64,
}

/// Every certificate of `certs` in the order sent; `None` for one that does not parse.
pub fn describe(certs: &[CertificateDer<'_>]) -> Vec<Option<CertLine>> {
    certs
        .iter()
        .map(|der| {
            let (_, c) = X509Certificate::from_der(der.as_ref()).ok()?;
            Some(CertLine {
                subject: go_name_string(c.subject()),
                issuer: go_name_string(c.issuer()),
                not_after: c.validity().not_after.timestamp(),
            })
        })
        .collect()
}

/// "expires 2027-01-03 (28 days)", "expired 2026-11-30 (6 days ago)": a
/// NotAfter against `now`, both Unix timestamps, in whole days rounded down.
pub fn expiry_in_words(not_after: i64, now: i64) -> String {
    let date = crate::civil_date::date(not_after);
    let days = (not_after - now).div_euclid(86_400);
    if not_after >= now {
        let unit = if days == 1 { "day" } else { "days" };
        format!("expires {date} ({days} {unit})")
    } else {
        let ago = (now - not_after).div_euclid(86_400);
        let unit = if ago == 1 { "day" } else { "days" };
        format!("expired {date} ({ago} {unit} ago)")
    }
}

/// Follows issuer → subject links from the leaf through the presented certs.
fn chain_path_expiry(parsed: &[Option<X509Certificate<'_>>]) -> Option<i64> {
    let mut current = parsed.first()?.as_ref()?;
    let mut min = current.validity().not_after.timestamp();
    let mut used: HashSet<usize> = HashSet::from([0]);
    loop {
        if current.subject().as_raw() == current.issuer().as_raw() {
            break; // self-issued: the top of what we can see
        }
        let next = parsed.iter().enumerate().find_map(|(i, c)| match c {
            Some(c) if !used.contains(&i) && c.subject().as_raw() == current.issuer().as_raw() => {
                Some((i, c))
            }
            _ => None,
        });
        let Some((i, c)) = next else { break };
        used.insert(i);
        min = min.min(c.validity().not_after.timestamp());
        current = c;
    }
    Some(min)
}

fn dns_sans(c: &X509Certificate<'_>) -> Vec<String> {
    match c.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some((*d).to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Go's `fmt.Sprintf("%x", serial.Bytes())`: the magnitude without leading zero
/// bytes (DER adds one when the top bit is set), each byte as two hex digits, so
/// a leading zero nibble is kept (`0b...`).
pub fn serial_hex(raw: &[u8]) -> String {
    let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    hex(&raw[start..])
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

// Attribute OIDs that Go's pkix.Name parses into named fields, with their labels.
const C: &str = "2.5.4.6";
const ST: &str = "2.5.4.8";
const L: &str = "2.5.4.7";
const STREET: &str = "2.5.4.9";
const POSTALCODE: &str = "2.5.4.17";
const O: &str = "2.5.4.10";
const OU: &str = "2.5.4.11";
const CN: &str = "2.5.4.3";
const SERIALNUMBER: &str = "2.5.4.5";

/// Go's `pkix.Name.String()`: Go first folds the name into fields (C, ST, L,
/// STREET, POSTALCODE, O, OU as multi-valued RDNs, the last CN and SERIALNUMBER),
/// prints them in reverse (`SERIALNUMBER, CN, OU, O, ...`), with any other
/// attribute appended in reverse order of appearance as `OID=#hex(DER)`.
pub fn go_name_string(name: &X509Name<'_>) -> String {
    let mut others: Vec<&AttributeTypeAndValue<'_>> = Vec::new();
    let mut fields: Vec<(&str, Vec<String>)> =
        [C, ST, L, STREET, POSTALCODE, O, OU, CN, SERIALNUMBER]
            .iter()
            .map(|o| (*o, Vec::new()))
            .collect();
    for atv in name.iter().flat_map(|rdn| rdn.iter()) {
        let oid = atv.attr_type().to_id_string();
        match fields.iter_mut().find(|(o, _)| *o == oid) {
            Some((o, values)) => {
                if let Some(v) = go_string_value(atv) {
                    if *o == CN || *o == SERIALNUMBER {
                        // Go keeps only the last one.
                        values.clear();
                    }
                    values.push(v);
                }
            }
            None => others.push(atv),
        }
    }
    // Build the sequence as Go does (others first, then the fields), print reversed.
    let mut rdns: Vec<Vec<String>> = Vec::new();
    for atv in others {
        let oid = atv.attr_type().to_id_string();
        rdns.push(vec![format!("{oid}=#{}", hex(&go_der_value(atv)))]);
    }
    for (oid, values) in &fields {
        if values.is_empty() {
            continue;
        }
        let label = label_of(oid);
        rdns.push(
            values
                .iter()
                .map(|v| format!("{label}={}", escape_dn_value(v)))
                .collect(),
        );
    }
    rdns.iter()
        .rev()
        .map(|rdn| rdn.join("+"))
        .collect::<Vec<_>>()
        .join(",")
}

fn label_of(oid: &str) -> &'static str {
    match oid {
        C => "C",
        ST => "ST",
        L => "L",
        STREET => "STREET",
        POSTALCODE => "POSTALCODE",
        O => "O",
        OU => "OU",
        CN => "CN",
        _ => "SERIALNUMBER",
    }
}

// Universal tags Go's encoding/asn1 decodes into a Go string.
const TAG_UTF8: u32 = 12;
const TAG_NUMERIC: u32 = 18;
const TAG_PRINTABLE: u32 = 19;
const TAG_T61: u32 = 20;
const TAG_IA5: u32 = 22;
const TAG_BMP: u32 = 30;

fn go_string_value(atv: &AttributeTypeAndValue<'_>) -> Option<String> {
    let any = atv.attr_value();
    if any.header.class() != x509_parser::asn1_rs::Class::Universal {
        return None;
    }
    match any.tag().0 {
        TAG_UTF8 | TAG_NUMERIC | TAG_PRINTABLE | TAG_IA5 => {
            Some(String::from_utf8_lossy(any.data).into_owned())
        }
        // Go reads T61String bytes as Latin-1-ish bytes in a string.
        TAG_T61 => Some(any.data.iter().map(|b| char::from(*b)).collect()),
        TAG_BMP => {
            let units: Vec<u16> = any
                .data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

/// The DER Go writes for an attribute value it could not name: strings are
/// re-marshalled (PrintableString when every character allows it, else
/// UTF8String); anything else keeps its original encoding.
fn go_der_value(atv: &AttributeTypeAndValue<'_>) -> Vec<u8> {
    if let Some(s) = go_string_value(atv) {
        let tag = if s.bytes().all(is_go_printable) {
            TAG_PRINTABLE
        } else {
            TAG_UTF8
        };
        let mut out = Vec::with_capacity(s.len() + 6);
        out.push(tag as u8);
        push_der_len(&mut out, s.len());
        out.extend_from_slice(s.as_bytes());
        return out;
    }
    atv.attr_value().to_der_vec().unwrap_or_default()
}

/// Go's `isPrintable` for marshalling (asterisk and ampersand rejected).
fn is_go_printable(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b' ' | b'\'' | b'(' | b')' | b'+' | b',' | b'-' | b'.' | b'/' | b':' | b'=' | b'?'
        )
}

fn push_der_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len() - 1);
    out.push(0x80 | (bytes.len() - start) as u8);
    out.extend_from_slice(&bytes[start..]);
}

/// Go's RFC 2253-ish escaping in `RDNSequence.String()`.
fn escape_dn_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let last = v.len().saturating_sub(1);
    for (k, c) in v.char_indices() {
        let escape = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => k == 0 || k == last,
            '#' => k == 0,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_reads_in_whole_days_either_side_of_now() {
        let now = 1_798_675_200; // 2026-12-31 00:00:00 UTC
        assert_eq!(
            expiry_in_words(now + 28 * 86_400 + 3_600, now),
            "expires 2027-01-28 (28 days)"
        );
        assert_eq!(
            expiry_in_words(now + 86_399, now),
            "expires 2026-12-31 (0 days)"
        );
        assert_eq!(
            expiry_in_words(now + 86_400, now),
            "expires 2027-01-01 (1 day)"
        );
        assert_eq!(
            expiry_in_words(now - 1, now),
            "expired 2026-12-30 (0 days ago)"
        );
        assert_eq!(
            expiry_in_words(now - 6 * 86_400, now),
            "expired 2026-12-25 (6 days ago)"
        );
    }

    #[test]
    fn serial_keeps_leading_zero_nibble_drops_sign_byte() {
        assert_eq!(serial_hex(&[0x0b, 0xff]), "0bff");
        assert_eq!(serial_hex(&[0x00, 0x8a, 0x01]), "8a01");
        assert_eq!(serial_hex(&[0x00]), "");
    }

    #[test]
    fn escaping_matches_go() {
        assert_eq!(escape_dn_value("a,b"), "a\\,b");
        assert_eq!(escape_dn_value(" a "), "\\ a\\ ");
        assert_eq!(escape_dn_value("#a#"), "\\#a#");
    }

    #[test]
    fn der_len() {
        let mut v = Vec::new();
        push_der_len(&mut v, 5);
        push_der_len(&mut v, 200);
        push_der_len(&mut v, 300);
        assert_eq!(v, vec![5, 0x81, 200, 0x82, 1, 44]);
    }
}
