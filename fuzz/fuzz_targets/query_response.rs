//! The tcp and unix probers' `query_response` expect engine
//! (`query_response::run`): a line `expect` regex with `send` and label
//! expansion of its captures, then `expect_bytes`, against whatever the peer
//! sends before closing.
//!
//! Input: `regex NUL send NUL expect_bytes NUL peer bytes`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost::fuzzing;
use outpost::probe::query_response::{QueryStep, MAX_LINE};
use outpost::probe::FailureReason;
use regex::bytes::Regex;

/// What the dialogue must end with, worked out line by line from the peer's bytes
/// as the engine is documented: lines end at `\n` (a `\r` before it dropped), the
/// last one may be unterminated; the first matching line ends the `expect`, and
/// `expect_bytes` must be exactly the next bytes.
fn expected(re: &Regex, peer: &[u8], want: &[u8]) -> Result<(), FailureReason> {
    let mut rest = peer;
    loop {
        let (line, next) = match rest.iter().position(|b| *b == b'\n') {
            Some(end) => {
                let line = &rest[..end];
                (line.strip_suffix(b"\r").unwrap_or(line), &rest[end + 1..])
            }
            None if rest.is_empty() => return Err(FailureReason::ExpectRegex),
            None => (rest, &rest[rest.len()..]),
        };
        if re.is_match(line) {
            return if next.len() < want.len() {
                Err(FailureReason::Io)
            } else if next.starts_with(want) {
                Ok(())
            } else {
                Err(FailureReason::ExpectBytes)
            };
        }
        rest = next;
    }
}

fuzz_target!(|input: &[u8]| {
    let mut parts = input.splitn(4, |b| *b == 0);
    let (Some(pattern), Some(send), Some(want), Some(peer)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    // The regex crate is not what is fuzzed here: keep patterns short.
    if pattern.len() > 64 || peer.len() > MAX_LINE {
        return;
    }
    let Ok(pattern) = std::str::from_utf8(pattern) else {
        return;
    };
    let Ok(re) = Regex::new(pattern) else {
        return;
    };
    let send = String::from_utf8_lossy(send).into_owned();
    let steps = [
        QueryStep {
            expect: Some(re.clone()),
            send: Some(send.clone()),
            labels: vec![("fuzz", send)],
            ..QueryStep::default()
        },
        QueryStep {
            expect_bytes: Some(want.to_vec()),
            ..QueryStep::default()
        },
    ];
    let Some(outcome) = fuzzing::query_response(&steps, peer) else {
        return;
    };
    assert_eq!(
        outcome.as_ref().map(|_| ()).map_err(|f| f.reason),
        expected(&re, peer, want),
        "{outcome:?}"
    );
});
