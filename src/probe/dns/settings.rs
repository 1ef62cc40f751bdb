//! The dns prober's typed settings: what a validated `[modules.NAME.dns]` holds.

use hickory_proto::rr::{DNSClass, Name, RecordType};
use regex::Regex;

use crate::config::{IpSettings, TlsSettings};

/// `transport_protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
}

/// `validate_answer_rrs`, `validate_authority_rrs`, `validate_additional_rrs`:
/// regexes matched against each record's text form (see `text.rs`).
#[derive(Debug, Clone, Default)]
pub struct RrRules {
    /// Fails when any record matches any of these.
    pub fail_if_matches: Vec<Regex>,
    /// Fails when any record does not match one of these (or there is no record).
    pub fail_if_not_matches: Vec<Regex>,
    /// Fails unless every record matches every one of these; an empty section
    /// passes. This is what Blackbox does, whatever the name suggests.
    pub fail_if_all_match: Vec<Regex>,
    /// Fails when no record matches one of these (or there is no record).
    pub fail_if_none_matches: Vec<Regex>,
}

impl RrRules {
    pub fn is_empty(&self) -> bool {
        self.fail_if_matches.is_empty()
            && self.fail_if_not_matches.is_empty()
            && self.fail_if_all_match.is_empty()
            && self.fail_if_none_matches.is_empty()
    }
}

/// `[modules.NAME.dns]`.
#[derive(Debug, Clone)]
pub struct DnsModule {
    pub ip: IpSettings,
    /// `query_name`, made fully qualified (and IDNA-encoded) at load.
    pub query_name: Name,
    /// `query_type` (default ANY, as Blackbox).
    pub query_type: RecordType,
    /// `query_class` (default IN).
    pub query_class: DNSClass,
    pub transport: Transport,
    /// `dns_over_tls`: TLS over `transport_protocol = "tcp"`.
    pub dns_over_tls: bool,
    pub tls_config: TlsSettings,
    /// `recursion_desired`: the RD flag (default true).
    pub recursion_desired: bool,
    /// `valid_rcodes` as numbers (default NOERROR only).
    pub valid_rcodes: Vec<u16>,
    pub validate_answer: RrRules,
    pub validate_authority: RrRules,
    pub validate_additional: RrRules,
}

impl Default for DnsModule {
    /// The defaults of every option; `query_name` (required in a config) is the root.
    fn default() -> Self {
        DnsModule {
            ip: IpSettings::default(),
            query_name: Name::root(),
            query_type: RecordType::ANY,
            query_class: DNSClass::IN,
            transport: Transport::Udp,
            dns_over_tls: false,
            tls_config: TlsSettings::default(),
            recursion_desired: true,
            valid_rcodes: vec![0],
            validate_answer: RrRules::default(),
            validate_authority: RrRules::default(),
            validate_additional: RrRules::default(),
        }
    }
}
