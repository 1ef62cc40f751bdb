//! The one rule for what of a secret may be shown. Traces (`debug=true`, `outpost
//! probe`), module dumps, the status page, logs and the `target` label all pass URLs
//! and header values through here, so a password in a target's userinfo or an API key
//! in a header never leaves the process by any of them.

use std::borrow::Cow;

/// What a secret is shown as.
pub const SECRET: &str = "<secret>";

/// Header names whose values are credentials whatever their prefix.
const CREDENTIAL_HEADERS: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// Endings that mark a header name as a credential (`X-Api-Key`, `X-Auth-Token`,
/// `X-Client-Secret`, `X-Upstream-Auth`).
const CREDENTIAL_SUFFIXES: [&str; 4] = ["-key", "-token", "-secret", "-auth"];

/// Whether a header's value is a credential, in any letter case.
pub fn is_credential_header(name: &str) -> bool {
    CREDENTIAL_HEADERS
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
        || CREDENTIAL_SUFFIXES.iter().any(|s| {
            name.len() > s.len()
                && name.is_char_boundary(name.len() - s.len())
                && name[name.len() - s.len()..].eq_ignore_ascii_case(s)
        })
}

/// A header value as it may be shown: `<secret>` for a credential header; `Location`
/// and `Content-Location` with any URL password hidden; others as they are.
pub fn header_value<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    if is_credential_header(name) {
        Cow::Borrowed(SECRET)
    } else if name.eq_ignore_ascii_case("location") || name.eq_ignore_ascii_case("content-location")
    {
        url(value)
    } else {
        Cow::Borrowed(value)
    }
}

/// `scheme://user:password@host/...` with the password replaced by `<secret>`;
/// anything without a password in its userinfo comes back borrowed, unchanged.
pub fn url(url: &str) -> Cow<'_, str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Cow::Borrowed(url);
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return Cow::Borrowed(url);
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => Cow::Owned(format!("{scheme}://{user}:{SECRET}@{host}{tail}")),
        None => Cow::Borrowed(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_hidden_and_the_rest_kept() {
        assert_eq!(
            url("http://u:p@proxy:3128/x?q=1"),
            "http://u:<secret>@proxy:3128/x?q=1"
        );
        assert_eq!(url("https://u:@h/"), "https://u:<secret>@h/");
        // The last `@` of the authority ends the userinfo; a password may hold `@`.
        assert_eq!(url("http://u:p@ss@h:1/"), "http://u:<secret>@h:1/");
        assert!(matches!(url("http://u@proxy:3128"), Cow::Borrowed(_)));
        assert!(matches!(url("http://proxy:3128/a@b:c"), Cow::Borrowed(_)));
        assert!(matches!(url("not a url"), Cow::Borrowed(_)));
        assert!(matches!(url("127.0.0.1:9000"), Cow::Borrowed(_)));
    }

    #[test]
    fn credential_headers_by_name_and_ending() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "COOKIE",
            "Set-Cookie",
            "X-Api-Key",
            "x-auth-token",
            "X-Client-Secret",
            "X-Upstream-Auth",
        ] {
            assert!(is_credential_header(name), "{name}");
            assert_eq!(header_value(name, "v"), SECRET, "{name}");
        }
        for name in [
            "Accept",
            "User-Agent",
            "X-Keyboard",
            "Token",
            "-key",
            "Host",
        ] {
            assert!(!is_credential_header(name), "{name}");
            assert_eq!(header_value(name, "v"), "v", "{name}");
        }
        assert_eq!(
            header_value("Location", "https://a:b@h/next"),
            "https://a:<secret>@h/next"
        );
    }
}
