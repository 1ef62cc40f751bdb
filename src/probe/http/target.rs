//! The target URL, redirects' `Location`, and the per-run cookie jar.

use http::Method;
use url::Url;

use crate::probe::{FailureReason, ProbeFailure, TargetError};

const TARGET_HINT: &str =
    "write a URL such as \"https://example.com/health\" (a bare host gets http://)";

/// Parses a Blackbox http target: a bare host gets `http://`; the scheme is
/// matched case-insensitively; anything but http(s) is refused. The one parser,
/// at config load and at probe time alike.
pub fn parse_target(target: &str) -> Result<Url, TargetError> {
    let invalid = |msg: String| TargetError::new(msg, TARGET_HINT);
    let with_scheme = match target.find("://") {
        Some(i) => {
            let scheme = target[..i].to_ascii_lowercase();
            if scheme != "http" && scheme != "https" {
                return Err(invalid(format!(
                    "unsupported URL scheme {:?} for an http module",
                    &target[..i]
                )));
            }
            format!("{scheme}{}", &target[i..])
        }
        None => format!("http://{target}"),
    };
    let url =
        Url::parse(&with_scheme).map_err(|e| invalid(format!("invalid URL {target:?}: {e}")))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid(format!("invalid URL {target:?}: no host")));
    }
    Ok(url)
}

/// The host of `url` as used for DNS, SNI and the cookie jar (IPv6 without brackets).
pub(super) fn host(url: &Url) -> String {
    match url.host() {
        Some(url::Host::Ipv6(a)) => a.to_string(),
        Some(h) => h.to_string(),
        None => String::new(),
    }
}

pub(super) fn port(url: &Url) -> u16 {
    url.port_or_known_default().unwrap_or(80)
}

/// `host[:port]` as written in a Host header (port only when not the default).
pub(super) fn authority(url: &Url) -> String {
    let h = match url.host() {
        Some(url::Host::Ipv6(a)) => format!("[{a}]"),
        Some(h) => h.to_string(),
        None => String::new(),
    };
    match url.port() {
        Some(p) => format!("{h}:{p}"),
        None => h,
    }
}

/// Path and query of `url` (origin-form of the request target).
pub(super) fn origin_form(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

pub(super) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// Go's `redirectBehavior`: 301/302/303 turn anything but GET/HEAD into a GET
/// without body; 307/308 keep method and body.
pub(super) fn redirect_method(status: u16, method: &Method) -> (Method, bool) {
    match status {
        307 | 308 => (method.clone(), true),
        _ if method == Method::GET || method == Method::HEAD => (method.clone(), false),
        _ => (Method::GET, false),
    }
}

/// Resolves `location` against `base`; refuses non-http(s) results.
pub(super) fn resolve_location(base: &Url, location: &str) -> Result<Url, ProbeFailure> {
    let next = base.join(location).map_err(|e| {
        ProbeFailure::new(
            FailureReason::Http,
            format!(
                "redirect to an invalid Location {:?}: {e}",
                crate::redact::url(location)
            ),
        )
    })?;
    match next.scheme() {
        "http" | "https" => Ok(next),
        s => Err(ProbeFailure::new(
            FailureReason::Http,
            format!(
                "redirect to unsupported scheme {s:?} ({:?})",
                crate::redact::url(location)
            ),
        )),
    }
}

/// A per-run jar: `Set-Cookie` name=value pairs, sent back to the same host.
/// Attributes (Domain, Path, Expires, Secure) are not interpreted: a cookie is
/// host-only and valid for the rest of the run. Bounded in size.
#[derive(Debug, Default)]
pub(super) struct CookieJar {
    cookies: Vec<(String, String, String)>,
}

const MAX_COOKIES: usize = 64;
const MAX_COOKIE_LEN: usize = 4096;

impl CookieJar {
    pub(super) fn store(&mut self, host: &str, set_cookie: &str) {
        let pair = set_cookie.split(';').next().unwrap_or("").trim();
        if pair.len() > MAX_COOKIE_LEN {
            return;
        }
        let Some((name, value)) = pair.split_once('=') else {
            return;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() {
            return;
        }
        if let Some(c) = self
            .cookies
            .iter_mut()
            .find(|(h, n, _)| h == host && n == name)
        {
            c.2 = value.to_string();
        } else if self.cookies.len() < MAX_COOKIES {
            self.cookies
                .push((host.to_string(), name.to_string(), value.to_string()));
        }
    }

    /// The `Cookie` header value for `host`, if any cookie applies.
    pub(super) fn header_for(&self, host: &str) -> Option<String> {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .filter(|(h, _, _)| h == host)
            .map(|(_, n, v)| format!("{n}={v}"))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(
            parse_target("HtTpS://h:8443/x").map(|u| u.to_string()),
            Ok("https://h:8443/x".to_string())
        );
        assert_eq!(
            parse_target("example.com").map(|u| u.to_string()),
            Ok("http://example.com/".to_string())
        );
        for ok in [
            "http://a",
            "HTTPS://a:8443/x?y",
            "example.com/health",
            "http://[::1]:80/",
        ] {
            assert!(parse_target(ok).is_ok(), "{ok}");
        }
        for bad in ["ftp://a", "invalid://x", "http://", "a b", ""] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirects() {
        assert_eq!(redirect_method(302, &Method::POST), (Method::GET, false));
        assert_eq!(redirect_method(307, &Method::POST), (Method::POST, true));
        assert_eq!(redirect_method(301, &Method::HEAD), (Method::HEAD, false));
        let base = Url::parse("http://h/a/b?q").unwrap_or_else(|_| unreachable!());
        assert_eq!(
            resolve_location(&base, "c").map(|u| u.to_string()),
            Ok("http://h/a/c".to_string())
        );
        assert_eq!(
            resolve_location(&base, "ftp://x/").map_err(|f| f.reason),
            Err(FailureReason::Http)
        );
    }

    #[test]
    fn jar() {
        let mut j = CookieJar::default();
        j.store("h", "a=1; Path=/");
        j.store("h", "b=2");
        j.store("h", "a=3");
        j.store("other", "c=4");
        assert_eq!(j.header_for("h").as_deref(), Some("a=3; b=2"));
        assert_eq!(j.header_for("x"), None);
    }
}
