//! `GET /probe`'s query string (`QueryParams::parse` and `get`): Go's
//! `url.ParseQuery` rules, the first of a repeated name wins.
//!
//! Input: any text, parsed as it is; then read as lines of `name TAB value`,
//! encoded (`+` for a space, `%XX` for anything not alphanumeric) and parsed
//! back, which must give every name's first value.
#![no_main]

use std::fmt::Write;

use libfuzzer_sys::fuzz_target;
use outpost::fuzzing;

fn encode(out: &mut String, text: &str) {
    for b in text.bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() => out.push(char::from(b)),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

fuzz_target!(|text: &str| {
    for name in ["target", "module", "hostname", "debug", text] {
        let _ = fuzzing::probe_query_param(text, name);
    }

    let pairs: Vec<(&str, &str)> = text
        .split('\n')
        .map(|line| line.split_once('\t').unwrap_or((line, "")))
        .collect();
    let mut query = String::new();
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            query.push('&');
        }
        encode(&mut query, name);
        query.push('=');
        encode(&mut query, value);
    }
    for (name, value) in &pairs {
        let first = pairs.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        assert_eq!(
            fuzzing::probe_query_param(&query, name).as_deref(),
            first,
            "{name:?} in {query:?} ({value:?})"
        );
    }
});
