//! The password methods the prober speaks, with `ring`'s hashes:
//!
//! - `mysql_native_password`: `SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password)))`.
//! - `caching_sha2_password` (MySQL 8's default): the fast path sends
//!   `SHA256(password) XOR SHA256(SHA256(SHA256(password)) + nonce)`; when the
//!   server has no cached entry for the user it asks for the full path, which
//!   sends the password itself: outpost does that only inside TLS (the RSA key
//!   exchange that protects it elsewhere needs RSA encryption, which `ring` lacks).
//! - `mysql_clear_password`: the password itself, only inside TLS as well.
//!
//! MariaDB's `client_ed25519` is not spoken (its key derivation takes the whole
//! password as an Ed25519 seed, which `ring` accepts only at 32 bytes); a server
//! asking for it fails the run with outcome `auth`, in words.

use ring::digest;

pub const NATIVE: &str = "mysql_native_password";
pub const CACHING_SHA2: &str = "caching_sha2_password";
pub const CLEAR: &str = "mysql_clear_password";

/// caching_sha2_password's AuthMoreData: the fast path succeeded.
pub const FAST_AUTH_OK: u8 = 3;
/// caching_sha2_password's AuthMoreData: send the password (full authentication).
pub const FULL_AUTH: u8 = 4;

/// What to send for `plugin` with `password` and the server's `nonce`.
#[derive(Debug, PartialEq, Eq)]
pub enum Response {
    Send(Vec<u8>),
    /// The method sends the password in clear: only over TLS.
    ClearOnlyOverTls,
    Unsupported,
}

/// The first answer to the method `plugin`, given whether the connection is TLS.
pub fn respond(plugin: &str, password: &str, nonce: &[u8], tls: bool) -> Response {
    match plugin {
        NATIVE | "" => Response::Send(native(password, nonce)),
        CACHING_SHA2 => Response::Send(caching_sha2(password, nonce)),
        CLEAR if tls => Response::Send(clear(password)),
        CLEAR => Response::ClearOnlyOverTls,
        _ => Response::Unsupported,
    }
}

/// The password as full authentication sends it: its bytes and a NUL.
pub fn clear(password: &str) -> Vec<u8> {
    let mut out = password.as_bytes().to_vec();
    out.push(0);
    out
}

/// The 20-byte nonce a scramble uses: servers send 20 bytes and sometimes a NUL.
fn nonce20(nonce: &[u8]) -> &[u8] {
    nonce.get(..20).unwrap_or(nonce)
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

/// mysql_native_password's scramble; empty for an empty password.
pub fn native(password: &str, nonce: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let sha1 = |parts: &[&[u8]]| {
        let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
        for p in parts {
            ctx.update(p);
        }
        ctx.finish()
    };
    let stage1 = sha1(&[password.as_bytes()]);
    let stage2 = sha1(&[stage1.as_ref()]);
    let mix = sha1(&[nonce20(nonce), stage2.as_ref()]);
    xor(stage1.as_ref(), mix.as_ref())
}

/// caching_sha2_password's fast-path scramble; empty for an empty password.
pub fn caching_sha2(password: &str, nonce: &[u8]) -> Vec<u8> {
    if password.is_empty() {
        return Vec::new();
    }
    let sha256 = |parts: &[&[u8]]| {
        let mut ctx = digest::Context::new(&digest::SHA256);
        for p in parts {
            ctx.update(p);
        }
        ctx.finish()
    };
    let stage1 = sha256(&[password.as_bytes()]);
    let stage2 = sha256(&[stage1.as_ref()]);
    let mix = sha256(&[stage2.as_ref(), nonce20(nonce)]);
    xor(stage1.as_ref(), mix.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    // Expected values from Python's hashlib with the formulas of MySQL's docs.
    const NONCE: &[u8] = b"abcdefghij0123456789";

    #[test]
    fn native_password_scramble() {
        assert_eq!(
            hex(&native("secret", NONCE)),
            "99db25ccb2a625f0e7cf4ce2e895ef9609dfe5e4"
        );
        // A trailing NUL after the 20 bytes changes nothing.
        assert_eq!(
            native("secret", b"abcdefghij0123456789\0"),
            native("secret", NONCE)
        );
        assert!(native("", NONCE).is_empty());
    }

    #[test]
    fn caching_sha2_fast_scramble() {
        assert_eq!(
            hex(&caching_sha2("secret", NONCE)),
            "bd7d89fc1c297010da753d08822e9e48d3eafbb6e68e1f9b403be12dc5687a40"
        );
        assert!(caching_sha2("", NONCE).is_empty());
    }

    #[test]
    fn methods_by_name_and_the_clear_password_only_over_tls() {
        assert_eq!(
            respond(NATIVE, "secret", NONCE, false),
            Response::Send(native("secret", NONCE))
        );
        assert_eq!(
            respond("", "secret", NONCE, false),
            Response::Send(native("secret", NONCE))
        );
        assert_eq!(
            respond(CACHING_SHA2, "secret", NONCE, false),
            Response::Send(caching_sha2("secret", NONCE))
        );
        assert_eq!(
            respond(CLEAR, "pw", NONCE, false),
            Response::ClearOnlyOverTls
        );
        assert_eq!(
            respond(CLEAR, "pw", NONCE, true),
            Response::Send(b"pw\0".to_vec())
        );
        assert_eq!(
            respond("client_ed25519", "pw", NONCE, true),
            Response::Unsupported
        );
        // A short nonce from a hostile server is used as it is, no panic.
        assert_eq!(native("pw", b"ab").len(), 20);
    }
}
