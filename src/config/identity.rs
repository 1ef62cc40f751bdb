//! A module's identity across reloads: what decides whether its probes keep
//! running or restart.
//!
//! It is a keyed SHA-256 (HMAC) of the module table as written, re-serialised
//! canonically (keys sorted at every level, secrets included), and of the
//! contents of every file the module read at load (`password_file`, `ca_file`,
//! `body_file`, ...). So a changed password or a rotated certificate file
//! restarts the probes, the same settings in another key order do not, and what
//! is kept is 32 bytes that hold no secret. The key is random per process:
//! identities are only ever compared within one process, and a leaked identity
//! cannot be used to test guesses of a password offline.

use std::fmt;
use std::sync::OnceLock;

use ring::{digest, hmac, rand};

/// See the module docs. Two modules have the same identity when their settings
/// are the same, whatever their names.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ModuleIdentity([u8; digest::SHA256_OUTPUT_LEN]);

impl ModuleIdentity {
    /// Hashes `canonical` (the module's canonical TOML) and `files` (a SHA-256 of
    /// each file the module read, in the order read).
    pub(crate) fn of(canonical: &str, files: &[digest::Digest]) -> Self {
        let mut ctx = hmac::Context::with_key(key());
        ctx.update(canonical.as_bytes());
        for file in files {
            // A separator keeps `table + file` unambiguous.
            ctx.update(b"\0file\0");
            ctx.update(file.as_ref());
        }
        let tag = ctx.sign();
        let mut out = [0u8; digest::SHA256_OUTPUT_LEN];
        out.copy_from_slice(tag.as_ref());
        ModuleIdentity(out)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for ModuleIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ModuleIdentity(")?;
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…)")
    }
}

/// The process' HMAC key. Should the system's random source fail, a fixed key
/// still gives stable identities; only the offline-guessing protection is lost.
fn key() -> &'static hmac::Key {
    static KEY: OnceLock<hmac::Key> = OnceLock::new();
    KEY.get_or_init(|| {
        hmac::Key::generate(hmac::HMAC_SHA256, &rand::SystemRandom::new())
            .unwrap_or_else(|_| hmac::Key::new(hmac::HMAC_SHA256, b"outpost module identity"))
    })
}

/// SHA-256 of a file's contents, as [`ModuleIdentity::of`] takes it.
pub(crate) fn file_digest(bytes: &[u8]) -> digest::Digest {
    digest::digest(&digest::SHA256, bytes)
}
