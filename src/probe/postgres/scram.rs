//! SCRAM-SHA-256 (RFC 5802, RFC 7677), the client side, as PostgreSQL uses it:
//! without channel binding (gs2 header `n,,`) and with an empty user name in the
//! client-first message (the server takes the StartupMessage's user). Crypto from
//! ring: PBKDF2-HMAC-SHA256, HMAC-SHA256, SHA-256.
//!
//! The server's signature in the server-final message is verified: a server that
//! does not know the password's verifier cannot complete the login, so a
//! successful run also proves the server is the one holding the password.
//!
//! The password is used as given: PostgreSQL applies SASLprep, which leaves a
//! password of printable ASCII unchanged; a non-ASCII password must be given in
//! its normalized (NFKC) form.

use std::num::NonZeroU32;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ring::{digest, hmac, pbkdf2};

/// The mechanism name.
pub const MECHANISM: &str = "SCRAM-SHA-256";
/// The most PBKDF2 iterations accepted (PostgreSQL's default is 4096): a hostile
/// server could otherwise ask for billions and hold a CPU for minutes.
pub const MAX_ITERATIONS: u32 = 1_000_000;
/// `base64("n,,")`: the gs2 header (no channel binding) in `c=`.
const CHANNEL_BINDING: &str = "biws";

/// Why the exchange failed on the client side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    #[error("malformed SCRAM server-first message")]
    MalformedServerFirst,
    #[error("the server's SCRAM nonce does not extend ours")]
    NonceMismatch,
    #[error("the server's SCRAM salt is not base64")]
    BadSalt,
    #[error("SCRAM iteration count {0} is not between 1 and {MAX_ITERATIONS}")]
    BadIterations(String),
    #[error("the server asks for SCRAM extension {0:?}, which is not supported")]
    MandatoryExtension(String),
    #[error("malformed SCRAM server-final message")]
    MalformedServerFinal,
    #[error("the server ended the SCRAM exchange with error {0:?}")]
    ServerError(String),
    #[error("the server's SCRAM signature is wrong: it does not know the password's verifier")]
    BadServerSignature,
}

/// The client, after its first message.
#[derive(Debug, Clone)]
pub struct Client {
    nonce: String,
    first_bare: String,
}

impl Client {
    /// A client for `user` (empty for PostgreSQL) with a fresh random nonce.
    pub fn new(user: &str) -> Result<Client, ring::error::Unspecified> {
        use ring::rand::SecureRandom as _;
        let mut raw = [0u8; 18];
        ring::rand::SystemRandom::new().fill(&mut raw)?;
        Ok(Client::with_nonce(user, B64.encode(raw)))
    }

    /// A client with a given nonce (the RFC's test vector).
    pub fn with_nonce(user: &str, nonce: String) -> Client {
        let name = user.replace('=', "=3D").replace(',', "=2C");
        Client {
            first_bare: format!("n={name},r={nonce}"),
            nonce,
        }
    }

    /// The client-first message.
    pub fn first(&self) -> String {
        format!("n,,{}", self.first_bare)
    }

    /// From the server-first message and the password: the client-final message
    /// and what checks the server-final one. Costs the PBKDF2 iterations.
    pub fn finish(
        &self,
        server_first: &[u8],
        password: &str,
    ) -> Result<(String, Verifier), ScramError> {
        let text =
            std::str::from_utf8(server_first).map_err(|_| ScramError::MalformedServerFirst)?;
        let first = ServerFirst::parse(text)?;
        if first.nonce.len() <= self.nonce.len() || !first.nonce.starts_with(&self.nonce) {
            return Err(ScramError::NonceMismatch);
        }
        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            first.iterations,
            &first.salt,
            password.as_bytes(),
            &mut salted,
        );
        let salted = hmac::Key::new(hmac::HMAC_SHA256, &salted);
        let client_key = hmac::sign(&salted, b"Client Key");
        let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
        let without_proof = format!("c={CHANNEL_BINDING},r={}", first.nonce);
        let auth_message = format!("{},{text},{without_proof}", self.first_bare);
        let signature = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, stored_key.as_ref()),
            auth_message.as_bytes(),
        );
        let proof: Vec<u8> = client_key
            .as_ref()
            .iter()
            .zip(signature.as_ref())
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = hmac::sign(&salted, b"Server Key");
        let verifier = Verifier {
            server_key: hmac::Key::new(hmac::HMAC_SHA256, server_key.as_ref()),
            auth_message,
        };
        Ok((format!("{without_proof},p={}", B64.encode(proof)), verifier))
    }
}

/// Checks the server-final message.
#[derive(Debug, Clone)]
pub struct Verifier {
    server_key: hmac::Key,
    auth_message: String,
}

impl Verifier {
    /// `Ok` when the server-final message carries the expected signature
    /// (compared in constant time).
    pub fn verify(&self, server_final: &[u8]) -> Result<(), ScramError> {
        let text =
            std::str::from_utf8(server_final).map_err(|_| ScramError::MalformedServerFinal)?;
        let first = text.split(',').next().unwrap_or_default();
        if let Some(e) = first.strip_prefix("e=") {
            return Err(ScramError::ServerError(e.to_string()));
        }
        let sig = first
            .strip_prefix("v=")
            .and_then(|v| B64.decode(v).ok())
            .ok_or(ScramError::MalformedServerFinal)?;
        hmac::verify(&self.server_key, self.auth_message.as_bytes(), &sig)
            .map_err(|_| ScramError::BadServerSignature)
    }
}

/// `r=...,s=...,i=...[,extensions]`.
struct ServerFirst {
    nonce: String,
    salt: Vec<u8>,
    iterations: NonZeroU32,
}

impl ServerFirst {
    fn parse(text: &str) -> Result<ServerFirst, ScramError> {
        let mut attrs = text.split(',');
        let mut next = |key: &str| {
            let attr = attrs.next().ok_or(ScramError::MalformedServerFirst)?;
            if attr.starts_with("m=") {
                return Err(ScramError::MandatoryExtension(attr.to_string()));
            }
            attr.strip_prefix(key)
                .ok_or(ScramError::MalformedServerFirst)
        };
        let nonce = next("r=")?;
        let salt = next("s=")?;
        let iterations = next("i=")?;
        if nonce.is_empty() || !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(ScramError::MalformedServerFirst);
        }
        let salt = B64.decode(salt).map_err(|_| ScramError::BadSalt)?;
        let iterations = iterations
            .parse::<u32>()
            .ok()
            .filter(|i| *i <= MAX_ITERATIONS)
            .and_then(NonZeroU32::new)
            .ok_or_else(|| ScramError::BadIterations(iterations.chars().take(20).collect()))?;
        Ok(ServerFirst {
            nonce: nonce.to_string(),
            salt,
            iterations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677, section 3.
    const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    #[test]
    fn rfc_7677_test_vector() {
        let client = Client::with_nonce("user", "rOprNGfwEbeRWgbNEkqO".into());
        assert_eq!(client.first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let (last, verifier) = client
            .finish(SERVER_FIRST.as_bytes(), "pencil")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            last,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(
            verifier.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Ok(())
        );
        // One bit off, another password's, an error, garbage: all refused.
        assert_eq!(
            verifier.verify(b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Err(ScramError::BadServerSignature)
        );
        let (_, other) = client
            .finish(SERVER_FIRST.as_bytes(), "pencil2")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            other.verify(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Err(ScramError::BadServerSignature)
        );
        assert_eq!(
            verifier.verify(b"e=invalid-proof"),
            Err(ScramError::ServerError("invalid-proof".into()))
        );
        for bad in [&b""[..], b"x=1", b"v=!!!", b"\xff"] {
            assert_eq!(
                verifier.verify(bad),
                Err(ScramError::MalformedServerFinal),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn user_names_are_escaped_and_nonces_random() {
        assert_eq!(
            Client::with_nonce("a=b,c", "n".into()).first(),
            "n,,n=a=3Db=2Cc,r=n"
        );
        let new = || Client::new("").unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (new(), new());
        assert_ne!(a.nonce, b.nonce);
        assert_eq!(a.nonce.len(), 24);
        assert!(a.first().starts_with("n,,n=,r="));
    }

    #[test]
    fn bad_server_first_messages() {
        let client = Client::with_nonce("", "abc".into());
        let cases: &[(&str, ScramError)] = &[
            ("", ScramError::MalformedServerFirst),
            ("r=abcd", ScramError::MalformedServerFirst),
            ("r=abcd,s=AAAA", ScramError::MalformedServerFirst),
            ("s=AAAA,r=abcd,i=1", ScramError::MalformedServerFirst),
            (
                "m=ext,r=abcd,s=AAAA,i=1",
                ScramError::MandatoryExtension("m=ext".into()),
            ),
            ("r=xyzd,s=AAAA,i=1", ScramError::NonceMismatch),
            ("r=abc,s=AAAA,i=1", ScramError::NonceMismatch),
            ("r=abcd,s=!!,i=1", ScramError::BadSalt),
            ("r=abcd,s=AAAA,i=0", ScramError::BadIterations("0".into())),
            ("r=abcd,s=AAAA,i=-1", ScramError::BadIterations("-1".into())),
            (
                "r=abcd,s=AAAA,i=1000001",
                ScramError::BadIterations("1000001".into()),
            ),
            ("r=ab d,s=AAAA,i=1", ScramError::MalformedServerFirst),
        ];
        for (text, want) in cases {
            assert_eq!(
                client.finish(text.as_bytes(), "pw").map(|_| ()),
                Err(want.clone()),
                "{text}"
            );
        }
        assert_eq!(
            client.finish(b"\xff", "pw").map(|_| ()),
            Err(ScramError::MalformedServerFirst)
        );
        // Extensions after i= are ignored.
        assert!(client.finish(b"r=abcd,s=AAAA,i=1,x=y", "pw").is_ok());
    }
}
