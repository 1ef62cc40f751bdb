//! The grpc prober's reading of a health response body: gRPC's 5-byte message
//! prefix and the `HealthCheckResponse` protobuf (`grpc::wire::check_response`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost::probe::grpc::wire::{self, WireError};

fuzz_target!(|body: &[u8]| {
    let result = wire::check_response(body);
    let declared = body
        .get(1..5)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize);
    match (&result, declared) {
        // A message is read only when the frame is exactly the whole body.
        (Ok(_) | Err(WireError::Malformed), Some(len)) => {
            assert_eq!(body[0], 0);
            assert_eq!(body.len(), 5 + len, "frame length vs body");
        }
        (Ok(_) | Err(WireError::Malformed), None) => panic!("parsed a body without a prefix"),
        (Err(WireError::Truncated), Some(len)) => {
            assert!(body.len() < 5 + len)
        }
        (Err(WireError::Trailing), Some(len)) => assert!(body.len() > 5 + len),
        (Err(WireError::Compressed), _) => assert_ne!(body[0], 0),
        (Err(WireError::Truncated), None) => {}
        (Err(WireError::Trailing), None) => panic!("trailing bytes without a prefix"),
    }
    // What outpost sends, it can read back (a request is one string field, not a
    // status, so the status is 0 and the frame is well formed).
    if let Ok(service) = std::str::from_utf8(body) {
        assert_eq!(wire::check_response(&wire::check_request(service)), Ok(0));
    }
});
