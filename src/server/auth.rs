//! Basic auth on every endpoint (`[server.basic_auth_users]`), as exporter-toolkit
//! does it: bcrypt-verified, with a small cache of successful checks so that a
//! Prometheus scraping every 15 s does not pay bcrypt's cost on every scrape.
//!
//! The cache holds HMAC-SHA-256 tags of (user, stored hash, password) under a key
//! drawn at start, never a password nor a fast unkeyed hash of one; a changed hash
//! in a reloaded config makes old entries miss. An unknown user is checked against
//! a dummy hash, so the answer takes as long as for a known user with a wrong
//! password. bcrypt runs off the async workers, a few at a time, so a flood of
//! wrong passwords cannot stall scraping and probing.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use base64::Engine;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use ring::hmac;
use tokio::sync::Semaphore;

use super::Body;
use crate::config::BasicAuthUsers;

/// Successful checks remembered; past it the cache starts over.
const CACHE_CAPACITY: usize = 256;

/// bcrypt verifications running at once.
const CONCURRENT_VERIFICATIONS: usize = 2;

/// Checked when the user is unknown: bcrypt of a random password at cost 10,
/// htpasswd's usual cost.
const DUMMY_HASH: &str = "$2b$10$RbZW/RvVkWP8b8ROXML9zuiXR8lYj2GOaYw7bmT4rOJJUymQ91OoS";

/// What the server keeps across requests for basic auth.
#[derive(Debug)]
pub(crate) struct Authenticator {
    cache_key: hmac::Key,
    verified: Mutex<HashSet<[u8; 32]>>,
    bcrypt_slots: Semaphore,
}

impl Authenticator {
    /// Fails only when the system has no randomness for the cache key.
    pub(crate) fn new() -> Result<Authenticator, ring::error::Unspecified> {
        let rng = ring::rand::SystemRandom::new();
        Ok(Authenticator {
            cache_key: hmac::Key::generate(hmac::HMAC_SHA256, &rng)?,
            verified: Mutex::new(HashSet::new()),
            bcrypt_slots: Semaphore::new(CONCURRENT_VERIFICATIONS),
        })
    }

    /// Whether `headers` carry the credentials of one of `users`.
    pub(crate) async fn check(&self, users: &BasicAuthUsers, headers: &HeaderMap) -> bool {
        let Some((user, password)) = credentials(headers) else {
            return false;
        };
        let stored = users.hash_of(&user);
        let hash = stored.map_or(DUMMY_HASH, |h| h.expose()).to_string();
        let tag = self.tag(&user, &hash, &password);
        if stored.is_some() && self.cached(&tag) {
            return true;
        }
        let Ok(_slot) = self.bcrypt_slots.acquire().await else {
            return false;
        };
        let verified = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false);
        let ok = verified && stored.is_some();
        if ok {
            self.remember(tag);
        }
        ok
    }

    fn tag(&self, user: &str, hash: &str, password: &str) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.cache_key);
        for part in [user, hash, password] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part.as_bytes());
        }
        let mut tag = [0; 32];
        tag.copy_from_slice(ctx.sign().as_ref());
        tag
    }

    fn cached(&self, tag: &[u8; 32]) -> bool {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(tag)
    }

    fn remember(&self, tag: [u8; 32]) {
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= CACHE_CAPACITY {
            verified.clear();
        }
        verified.insert(tag);
    }

    #[cfg(test)]
    fn cache_len(&self) -> usize {
        self.verified
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// User and password of an `Authorization: Basic` header.
fn credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// 401 with the challenge browsers and Prometheus answer.
pub(crate) fn unauthorized() -> Response<Body> {
    let mut resp = super::text(StatusCode::UNAUTHORIZED, "Unauthorized\n");
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"outpost\""),
    );
    resp
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test data is known to be valid")]
mod tests {
    use super::*;
    use crate::config::listener::is_bcrypt_hash;

    fn users(text: &str) -> BasicAuthUsers {
        let config = crate::config::Config::from_str_at(text, std::path::Path::new("p.toml"));
        config
            .unwrap()
            .server
            .basic_auth_users
            .unwrap()
            .as_ref()
            .clone()
    }

    fn basic(user_password: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode(user_password);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).unwrap(),
        );
        h
    }

    #[test]
    fn the_dummy_hash_is_a_bcrypt_hash() {
        assert!(is_bcrypt_hash(DUMMY_HASH));
    }

    #[test]
    fn credentials_are_parsed_from_the_basic_scheme_only() {
        assert_eq!(
            credentials(&basic("alice:pa:ss")),
            Some(("alice".into(), "pa:ss".into()))
        );
        let mut bearer = HeaderMap::new();
        bearer.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert_eq!(credentials(&bearer), None);
        let mut junk = HeaderMap::new();
        junk.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic %%%"));
        assert_eq!(credentials(&junk), None);
        assert_eq!(credentials(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn only_successful_checks_are_cached_and_a_new_hash_misses() {
        let hash = bcrypt::hash("right", 4).unwrap();
        let users_a = users(&format!("[server.basic_auth_users]\nalice = \"{hash}\"\n"));
        let auth = Authenticator::new().unwrap();
        assert!(!auth.check(&users_a, &basic("alice:wrong")).await);
        assert!(!auth.check(&users_a, &basic("bob:right")).await);
        assert_eq!(auth.cache_len(), 0);
        assert!(auth.check(&users_a, &basic("alice:right")).await);
        assert!(auth.check(&users_a, &basic("alice:right")).await);
        assert_eq!(auth.cache_len(), 1);
        // The same user and password against another stored hash: checked anew.
        let other = bcrypt::hash("other", 4).unwrap();
        let users_b = users(&format!("[server.basic_auth_users]\nalice = \"{other}\"\n"));
        assert!(!auth.check(&users_b, &basic("alice:right")).await);
        assert!(auth.check(&users_b, &basic("alice:other")).await);
        assert_eq!(auth.cache_len(), 2);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let auth = Authenticator::new().unwrap();
        for i in 0..(CACHE_CAPACITY * 2 + 3) {
            auth.remember(auth.tag("u", "h", &i.to_string()));
        }
        assert!(auth.cache_len() <= CACHE_CAPACITY);
        assert!(auth.cache_len() > 0);
    }
}
