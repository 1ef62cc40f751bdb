//! The checks on a DNS response, in Blackbox's order: the rcode, then the answer,
//! authority and additional sections against their `validate_*_rrs` rules.

use hickory_proto::op::Message;
use hickory_proto::rr::Record;

use super::settings::{DnsModule, RrRules};
use super::{codes, text};
use crate::probe::{FailureReason, ProbeFailure, Recorder};

/// Fails with `dns_rcode` when the response code is not one of `valid_rcodes`.
pub(super) fn rcode(
    msg: &Message,
    module: &DnsModule,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    let code = u16::from(msg.metadata.response_code);
    if module.valid_rcodes.contains(&code) {
        rec.trace(format_args!("Rcode {} is valid", codes::rcode_name(code)));
        return Ok(());
    }
    let valid: Vec<String> = module
        .valid_rcodes
        .iter()
        .map(|c| codes::rcode_name(*c))
        .collect();
    Err(ProbeFailure::new(
        FailureReason::DnsRcode,
        format!(
            "rcode {} is not one of valid_rcodes ({})",
            codes::rcode_name(code),
            valid.join(", ")
        ),
    ))
}

/// Runs the three sections' rules; the first failure ends the run.
pub(super) fn sections(
    msg: &Message,
    module: &DnsModule,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    let sections: [(&str, &[Record], &RrRules); 3] = [
        ("answer", &msg.answers, &module.validate_answer),
        ("authority", &msg.authorities, &module.validate_authority),
        ("additional", &msg.additionals, &module.validate_additional),
    ];
    for (name, records, rules) in sections {
        // The text form is only needed by rules or for the trace.
        if rules.is_empty() && !rec.tracing() {
            continue;
        }
        let texts: Vec<String> = records.iter().map(text::record).collect();
        for t in &texts {
            rec.trace(format_args!("{name} RR: {t:?}"));
        }
        if let Err(problem) = check(&texts, rules) {
            return Err(ProbeFailure::new(
                FailureReason::DnsRrValidation,
                format!("{name} RRs validation failed: {problem}"),
            ));
        }
    }
    Ok(())
}

/// Blackbox's `validRRs` over the records' text forms: `Err` says what failed.
pub(super) fn check(rrs: &[String], rules: &RrRules) -> Result<(), String> {
    if rrs.is_empty() && !rules.fail_if_not_matches.is_empty() {
        return Err("fail_if_not_matches_regexp is set but there are no RRs".into());
    }
    if rrs.is_empty() && !rules.fail_if_none_matches.is_empty() {
        return Err("fail_if_none_matches_regexp is set but there are no RRs".into());
    }
    let mut all_match = true;
    let mut any_match = false;
    for rr in rrs {
        if let Some(re) = rules.fail_if_matches.iter().find(|re| re.is_match(rr)) {
            return Err(format!(
                "{rr:?} matched fail_if_matches_regexp {:?}",
                re.as_str()
            ));
        }
        all_match &= rules.fail_if_all_match.iter().all(|re| re.is_match(rr));
        if let Some(re) = rules.fail_if_not_matches.iter().find(|re| !re.is_match(rr)) {
            return Err(format!(
                "{rr:?} did not match fail_if_not_matches_regexp {:?}",
                re.as_str()
            ));
        }
        any_match |= rules.fail_if_none_matches.iter().any(|re| re.is_match(rr));
    }
    if !rules.fail_if_all_match.is_empty() && !all_match {
        return Err("not every RR matched fail_if_all_match_regexp".into());
    }
    if !rules.fail_if_none_matches.is_empty() && !any_match {
        return Err("no RR matched fail_if_none_matches_regexp".into());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test data is known to be valid")]
mod tests {
    use regex::Regex;

    use super::*;

    fn res(list: &[&str]) -> Vec<Regex> {
        list.iter().map(|r| Regex::new(r).unwrap()).collect()
    }

    #[test]
    fn rules_as_blackbox() {
        let rrs: Vec<String> = vec![
            "a.\t1\tIN\tA\t127.0.0.1".into(),
            "a.\t1\tIN\tA\t10.0.0.1".into(),
        ];
        let none: Vec<String> = vec![];
        let only = |f: fn(&mut RrRules, Vec<Regex>), list: &[&str]| {
            let mut r = RrRules::default();
            f(&mut r, res(list));
            r
        };
        let matches = only(|r, v| r.fail_if_matches = v, &["127\\."]);
        assert!(check(&rrs, &matches).is_err());
        assert!(check(&none, &matches).is_ok());
        let not = only(|r, v| r.fail_if_not_matches = v, &["127\\."]);
        assert!(check(&rrs, &not).is_err());
        assert!(check(&none, &not).is_err());
        let not_ok = only(|r, v| r.fail_if_not_matches = v, &["IN\tA"]);
        assert!(check(&rrs, &not_ok).is_ok());
        // Blackbox fails unless every record matches; an empty section passes.
        let all = only(|r, v| r.fail_if_all_match = v, &["127\\."]);
        assert!(check(&rrs, &all).is_err());
        assert!(check(&none, &all).is_ok());
        let all_ok = only(|r, v| r.fail_if_all_match = v, &["IN"]);
        assert!(check(&rrs, &all_ok).is_ok());
        let none_m = only(|r, v| r.fail_if_none_matches = v, &["10\\.0"]);
        assert!(check(&rrs, &none_m).is_ok());
        assert!(check(&none, &none_m).is_err());
        let none_bad = only(|r, v| r.fail_if_none_matches = v, &["192\\."]);
        assert!(check(&rrs, &none_bad).is_err());
    }
}
