//! `GET /probe`'s run timeout: the `X-Prometheus-Scrape-Timeout-Seconds` header
//! less `timeout_offset`, against the module's timeout (`run_timeout`,
//! `effective_timeout`).
//!
//! Input: one byte of flags (bit 0: the header is sent), the module's timeout
//! and the offset (8 bytes of nanoseconds each; a zero timeout is none), then
//! the header's value.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use outpost::fuzzing;

fuzz_target!(|input: &[u8]| {
    let Some((head, header)) = input.split_at_checked(17) else {
        return;
    };
    let nanos =
        |b: &[u8]| Duration::from_nanos(u64::from_be_bytes(b.try_into().unwrap_or_default()));
    let module = Some(nanos(&head[1..9])).filter(|d| !d.is_zero());
    let offset = nanos(&head[9..17]);
    let sent = head[0] & 1 != 0;
    let Some(timeout) = fuzzing::probe_run_timeout(sent.then_some(header), module, offset) else {
        return;
    };
    let Some(timeout) = timeout else {
        assert!(sent, "no header, yet not a number");
        return;
    };
    // The module's own timeout is an upper bound of the run's.
    if let Some(module) = module {
        assert!(timeout <= module, "{timeout:?} > module timeout {module:?}");
    }
});
