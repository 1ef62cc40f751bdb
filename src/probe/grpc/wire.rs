//! The two messages of `grpc.health.v1.Health/Check` and gRPC's framing, by hand:
//! a request is one string field and a response one enum field, so a protobuf
//! code generator would cost more than it saves.
//!
//! - `HealthCheckRequest { string service = 1; }`
//! - `HealthCheckResponse { ServingStatus status = 1; }` with UNKNOWN = 0,
//!   SERVING = 1, NOT_SERVING = 2, SERVICE_UNKNOWN = 3.
//! - A gRPC message is a 1-byte compressed flag, a 4-byte big-endian length and
//!   the message.

/// The health service's method path.
pub const CHECK_PATH: &str = "/grpc.health.v1.Health/Check";

/// `ServingStatus` names, indexed by value, as grpc-go prints them.
pub const SERVING_STATUSES: [&str; 4] = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];

/// A framed `HealthCheckRequest` for `service`.
pub fn check_request(service: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(service.len() + 6);
    if !service.is_empty() {
        message.push(0x0a); // field 1, length-delimited
        put_varint(&mut message, service.len() as u64);
        message.extend_from_slice(service.as_bytes());
    }
    let mut framed = Vec::with_capacity(message.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend_from_slice(&message);
    framed
}

/// Why a response body is not one `HealthCheckResponse`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("the response has no complete gRPC message")]
    Truncated,
    #[error("the response message is compressed, but no compression was offered")]
    Compressed,
    #[error("the response holds more than one message")]
    Trailing,
    #[error("malformed protobuf in the response")]
    Malformed,
}

/// The `status` of a framed `HealthCheckResponse` (0 when absent, as proto3).
pub fn check_response(body: &[u8]) -> Result<u64, WireError> {
    let (&flag, rest) = body.split_first().ok_or(WireError::Truncated)?;
    if flag != 0 {
        return Err(WireError::Compressed);
    }
    let len_bytes: [u8; 4] = rest
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(WireError::Truncated)?;
    let len = u32::from_be_bytes(len_bytes) as usize;
    let message = rest.get(4..4 + len).ok_or(WireError::Truncated)?;
    if rest.len() > 4 + len {
        return Err(WireError::Trailing);
    }
    status_field(message)
}

/// Reads the fields of a `HealthCheckResponse`, skipping unknown ones as protobuf
/// requires; the last `status` wins.
fn status_field(mut message: &[u8]) -> Result<u64, WireError> {
    let mut status = 0;
    while !message.is_empty() {
        let key = take_varint(&mut message)?;
        match (key >> 3, key & 7) {
            (1, 0) => status = take_varint(&mut message)?,
            (_, 0) => {
                take_varint(&mut message)?;
            }
            (_, 1) => message = message.get(8..).ok_or(WireError::Malformed)?,
            (_, 2) => {
                let len = usize::try_from(take_varint(&mut message)?)
                    .map_err(|_| WireError::Malformed)?;
                message = message.get(len..).ok_or(WireError::Malformed)?;
            }
            (_, 5) => message = message.get(4..).ok_or(WireError::Malformed)?,
            _ => return Err(WireError::Malformed),
        }
    }
    Ok(status)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take_varint(input: &mut &[u8]) -> Result<u64, WireError> {
    let mut value = 0u64;
    for (i, byte) in input.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *input = &input[i + 1..];
            return Ok(value);
        }
    }
    Err(WireError::Malformed)
}

/// gRPC status code names (for traces), as grpc-go's `codes.Code.String()`.
pub fn code_name(code: u32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "Canceled",
        "Unknown",
        "InvalidArgument",
        "DeadlineExceeded",
        "NotFound",
        "AlreadyExists",
        "PermissionDenied",
        "ResourceExhausted",
        "FailedPrecondition",
        "Aborted",
        "OutOfRange",
        "Unimplemented",
        "Internal",
        "Unavailable",
        "DataLoss",
        "Unauthenticated",
    ];
    NAMES.get(code as usize).copied().unwrap_or("Code")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_frames() {
        assert_eq!(check_request(""), [0, 0, 0, 0, 0]);
        assert_eq!(check_request("ab"), [0, 0, 0, 0, 4, 0x0a, 2, b'a', b'b']);
        let long = "x".repeat(200);
        let framed = check_request(&long);
        assert_eq!(&framed[5..8], &[0x0a, 0xc8, 0x01]);
        assert_eq!(framed.len(), 5 + 3 + 200);
    }

    #[test]
    fn responses() {
        assert_eq!(check_response(&[0, 0, 0, 0, 2, 0x08, 1]), Ok(1));
        assert_eq!(check_response(&[0, 0, 0, 0, 0]), Ok(0));
        // An unknown length-delimited field before the status is skipped.
        assert_eq!(
            check_response(&[0, 0, 0, 0, 6, 0x12, 2, b'h', b'i', 0x08, 2]),
            Ok(2)
        );
        assert_eq!(check_response(&[]), Err(WireError::Truncated));
        assert_eq!(
            check_response(&[0, 0, 0, 0, 3, 0x08]),
            Err(WireError::Truncated)
        );
        assert_eq!(
            check_response(&[0, 0, 0, 0, 1, 0x08]),
            Err(WireError::Malformed)
        );
        assert_eq!(check_response(&[1, 0, 0, 0, 0]), Err(WireError::Compressed));
        assert_eq!(
            check_response(&[0, 0, 0, 0, 0, 9]),
            Err(WireError::Trailing)
        );
        assert_eq!(code_name(14), "Unavailable");
        assert_eq!(code_name(99), "Code");
    }
}
