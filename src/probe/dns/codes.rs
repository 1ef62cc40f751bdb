//! The names of DNS codes as Blackbox spells them (miekg/dns's tables): response
//! codes for `valid_rcodes`, classes for `query_class`, and the type and class
//! mnemonics of a record's text form.

use hickory_proto::rr::{DNSClass, RecordType};

/// miekg's `StringToRcode`: every name `valid_rcodes` accepts, with its code.
pub const RCODES: &[(&str, u16)] = &[
    ("NOERROR", 0),
    ("FORMERR", 1),
    ("SERVFAIL", 2),
    ("NXDOMAIN", 3),
    ("NOTIMP", 4),
    ("NOTIMPL", 4),
    ("REFUSED", 5),
    ("YXDOMAIN", 6),
    ("YXRRSET", 7),
    ("NXRRSET", 8),
    ("NOTAUTH", 9),
    ("NOTZONE", 10),
    ("BADSIG", 16),
    ("BADVERS", 16),
    ("BADKEY", 17),
    ("BADTIME", 18),
    ("BADMODE", 19),
    ("BADNAME", 20),
    ("BADALG", 21),
    ("BADTRUNC", 22),
    ("BADCOOKIE", 23),
];

/// miekg's `StringToClass`.
pub const CLASSES: &[(&str, u16)] = &[
    ("IN", 1),
    ("CS", 2),
    ("CH", 3),
    ("HS", 4),
    ("NONE", 254),
    ("ANY", 255),
];

/// The code of rcode `name`.
pub fn rcode(name: &str) -> Option<u16> {
    RCODES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// The name of rcode `code` (miekg's `RcodeToString`), or the number.
pub fn rcode_name(code: u16) -> String {
    RCODES
        .iter()
        .find(|(_, c)| *c == code)
        .map_or_else(|| code.to_string(), |(n, _)| (*n).to_string())
}

/// The class named `name`.
pub fn class(name: &str) -> Option<DNSClass> {
    CLASSES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| DNSClass::from(*c))
}

/// A class as miekg prints it: its mnemonic or `CLASSn`.
pub fn class_name(class: DNSClass) -> String {
    let code = u16::from(class);
    CLASSES
        .iter()
        .find(|(_, c)| *c == code)
        .map_or_else(|| format!("CLASS{code}"), |(n, _)| (*n).to_string())
}

/// The query type named `name`: the mnemonics hickory-proto knows (upper case).
pub fn query_type(name: &str) -> Option<RecordType> {
    if name == "*" {
        return None;
    }
    name.parse::<RecordType>().ok()
}

/// A type as miekg prints it: its mnemonic or `TYPEn` for one hickory-proto
/// does not know.
pub fn type_name(ty: RecordType) -> String {
    match ty {
        RecordType::Unknown(code) => format!("TYPE{code}"),
        known => <&'static str>::from(known).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes() {
        assert_eq!(rcode("NXDOMAIN"), Some(3));
        assert_eq!(rcode("nxdomain"), None);
        assert_eq!(rcode_name(5), "REFUSED");
        assert_eq!(rcode_name(4), "NOTIMP");
        assert_eq!(rcode_name(12), "12");
        assert_eq!(class("CH"), Some(DNSClass::CH));
        assert_eq!(class_name(DNSClass::from(2)), "CS");
        assert_eq!(class_name(DNSClass::from(77)), "CLASS77");
        assert_eq!(query_type("SOA"), Some(RecordType::SOA));
        assert_eq!(query_type("*"), None);
        assert_eq!(query_type("soa"), None);
        assert_eq!(type_name(RecordType::from(65280)), "TYPE65280");
        assert_eq!(type_name(RecordType::CAA), "CAA");
    }
}
