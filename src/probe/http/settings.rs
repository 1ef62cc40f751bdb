//! The http prober's validated settings: what `[modules.NAME.http]` becomes.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Uri};
use regex::Regex;

pub use super::cel::CelRule;
use crate::config::{IpSettings, TlsSettings};

/// Blackbox's hard cap on followed redirects; outpost makes it configurable.
pub const DEFAULT_MAX_REDIRECTS: u32 = 10;

/// `compression`: the body is decoded only when this is set (as Blackbox does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Deflate,
    Brotli,
    Identity,
}

impl Compression {
    /// The `Content-Encoding` / `Accept-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Deflate => "deflate",
            Compression::Brotli => "br",
            Compression::Identity => "identity",
        }
    }
}

/// One `fail_if_header_matches` / `fail_if_header_not_matches` rule.
#[derive(Debug, Clone)]
pub struct HeaderMatch {
    pub header: HeaderName,
    pub regexp: Regex,
    pub allow_missing: bool,
}

/// One value of an `http_headers` entry.
#[derive(Debug, Clone)]
pub struct ExtraHeader {
    pub name: HeaderName,
    pub value: HeaderValue,
    /// From `secrets` or `files`: a credential, not sent to another host.
    pub credential: bool,
}

/// How the request authenticates. At most one per module.
#[derive(Debug, Clone)]
pub enum Auth {
    /// `basic_auth` (`password` or `password_file`, read at load).
    Basic { username: String, password: String },
    /// `bearer_token` or `bearer_token_file`, read at load.
    Bearer(String),
    /// `authorization`: `Authorization: <kind> <credentials>` (`kind` defaults
    /// to `Bearer`; `credentials_file` read at load).
    Authorization { kind: String, credentials: String },
}

/// `body_size_limit` when a module sets none: 10 MiB. Blackbox reads without limit;
/// a target that streams without end would keep a run reading (and, through
/// `/probe`, anyone pointing it at such a source) until the deadline. Larger bodies
/// fail as `body_too_large`; `body_size_limit = 0` restores Blackbox's unlimited read.
pub const DEFAULT_BODY_SIZE_LIMIT: u64 = 10 << 20;

/// `[modules.NAME.http]`.
#[derive(Debug, Clone)]
pub struct HttpModule {
    /// Empty means any 2xx.
    pub valid_status_codes: Vec<u16>,
    /// Empty means any; otherwise exact strings such as `HTTP/1.1`, `HTTP/2.0`.
    pub valid_http_versions: Vec<String>,
    pub method: Method,
    /// Request headers in order; a `Host` entry sets the Host header and, when
    /// `server_name` is unset, the TLS SNI.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `http_headers`, in the order written; appended after `headers`.
    pub http_headers: Vec<ExtraHeader>,
    /// `body` or the contents of `body_file`.
    pub body: Option<Bytes>,
    pub compression: Option<Compression>,
    pub follow_redirects: bool,
    /// outpost extension: `max_redirects` (default 10, Blackbox's fixed cap).
    pub max_redirects: u32,
    pub fail_if_ssl: bool,
    pub fail_if_not_ssl: bool,
    /// Body rules, compiled at load as the bytes regexes the body reader runs.
    pub fail_if_body_matches_regexp: Vec<regex::bytes::Regex>,
    pub fail_if_body_not_matches_regexp: Vec<regex::bytes::Regex>,
    pub fail_if_header_matches: Vec<HeaderMatch>,
    pub fail_if_header_not_matches: Vec<HeaderMatch>,
    /// `fail_if_body_json_matches_cel`, compiled at load.
    pub fail_if_body_json_matches_cel: Option<CelRule>,
    /// `fail_if_body_json_not_matches_cel`, compiled at load.
    pub fail_if_body_json_not_matches_cel: Option<CelRule>,
    pub auth: Option<Auth>,
    pub tls: TlsSettings,
    pub ip: IpSettings,
    /// `body_size_limit` in bytes, applied after decompression; `None` = unlimited
    /// (`body_size_limit = 0`). Without the key, [`DEFAULT_BODY_SIZE_LIMIT`].
    pub body_size_limit: Option<u64>,
    /// `proxy_url`: an `http://` or `https://` proxy (CONNECT for https targets).
    pub proxy_url: Option<Uri>,
    pub skip_resolve_phase_with_proxy: bool,
    /// `enable_http2` (default true): offer `h2` in ALPN on https targets.
    pub enable_http2: bool,
    /// `enable_http3`: every hop over QUIC (see `http::h3`).
    pub enable_http3: bool,
    /// `oauth2`: a client-credentials token fetched before the first request.
    pub oauth2: Option<Box<super::oauth2::OAuth2>>,
    /// `no_proxy`, `proxy_from_environment`, `proxy_connect_header`.
    pub proxy_options: ProxyOptions,
}

/// The proxy settings besides `proxy_url` (prometheus/common's `ProxyConfig`).
#[derive(Debug, Clone, Default)]
pub struct ProxyOptions {
    /// `no_proxy`: targets `proxy_url` is not used for.
    pub no_proxy: Option<super::no_proxy::NoProxy>,
    /// `proxy_from_environment`: the proxies of the environment, read at load.
    pub from_environment: Option<super::no_proxy::EnvProxy>,
    /// `proxy_connect_header`: sent to the proxy with `CONNECT` (values marked
    /// sensitive).
    pub connect_header: Vec<(HeaderName, HeaderValue)>,
}

impl Default for HttpModule {
    fn default() -> Self {
        HttpModule {
            valid_status_codes: Vec::new(),
            valid_http_versions: Vec::new(),
            method: Method::GET,
            headers: Vec::new(),
            http_headers: Vec::new(),
            body: None,
            compression: None,
            follow_redirects: true,
            max_redirects: DEFAULT_MAX_REDIRECTS,
            fail_if_ssl: false,
            fail_if_not_ssl: false,
            fail_if_body_matches_regexp: Vec::new(),
            fail_if_body_not_matches_regexp: Vec::new(),
            fail_if_header_matches: Vec::new(),
            fail_if_header_not_matches: Vec::new(),
            fail_if_body_json_matches_cel: None,
            fail_if_body_json_not_matches_cel: None,
            auth: None,
            tls: TlsSettings::default(),
            ip: IpSettings::default(),
            body_size_limit: Some(DEFAULT_BODY_SIZE_LIMIT),
            proxy_url: None,
            skip_resolve_phase_with_proxy: false,
            enable_http2: true,
            enable_http3: false,
            oauth2: None,
            proxy_options: ProxyOptions::default(),
        }
    }
}
