//! The `http` prober, at Blackbox parity (`prober/http.go`).
//!
//! Phases as functions: resolve → connect → tls → request (`conn`), redirects
//! and the cookie jar (`target`), then the final response's checks and its body
//! read in a streaming, bounded way (`checks`, [`crate::probe::body`]).
//!
//! Departures from Blackbox, each deliberate:
//! - A request is never retried (Go's transport retries idempotent requests on a
//!   closed connection, #1453).
//! - Certificate series are kept when verification fails (see [`crate::probe::tls`]).
//! - Credentials (`basic_auth`, bearer, `authorization`, OAuth2 tokens,
//!   `http_headers` secrets and files, module `Authorization`/`Cookie` headers)
//!   are not sent to a redirect target on another host; Blackbox's round
//!   trippers add them on every hop.
//! - Redirect hops to a new host are resolved with the module's address choice
//!   (Go's dialer would try both families); the IP series describe the first hop.
//! - The cookie jar is host-only and ignores cookie attributes.
//! - `max_redirects` (default 10) replaces Blackbox's fixed cap; going over it
//!   fails with `too_many_redirects` whatever `valid_status_codes` says.
//! - An `https://` proxy's certificate is verified against the proxy's name
//!   (Blackbox's `server_name` is the target's, which the proxy must then match).
//! - The body is never held in memory; body regexes run over a sliding window
//!   ([`crate::probe::body::REGEX_WINDOW`]). CEL rules alone keep it, up to a cap
//!   (`cel`).
//! - HTTP/3 (`enable_http3`, `h3.rs`) dials the address outpost resolved, where
//!   Blackbox's QUIC client resolves the name again; no `probe_tls_cipher_info`.

mod cel;
mod checks;
pub mod config;
mod conn;
mod h3;
pub mod no_proxy;
pub mod oauth2;
mod proxy;
pub mod series;
pub mod settings;
mod target;

use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderValue, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_LENGTH, COOKIE, HOST,
    USER_AGENT,
};
use http::Method;
use url::Url;

use super::{net, tls, FailureReason, ProbeContext, ProbeFailure, Recorder};
use crate::config::policy::TargetPolicy;
use crate::metrics::names::{self, Family};
pub use series::HttpPhase;
pub use settings::{
    Auth, Compression, HeaderMatch, HttpModule, DEFAULT_BODY_SIZE_LIMIT, DEFAULT_MAX_REDIRECTS,
};
pub use settings::{CelRule, ExtraHeader};
pub use target::parse_target;

/// The `prober = "http"` value and the name of its settings block.
pub const KIND: &str = "http";
/// What a target of this prober looks like, for help texts.
pub const TARGET_FORM: &str = "a URL";

pub type Settings = HttpModule;

/// An http target is an absolute http(s) URL (a bare host gets `http://`).
pub type Target = Url;

/// The failure reasons an http run can end with.
pub const OUTCOMES: &[FailureReason] = &[
    FailureReason::Timeout,
    FailureReason::InvalidTarget,
    FailureReason::Resolve,
    FailureReason::Connect,
    FailureReason::Proxy,
    FailureReason::OAuth2,
    FailureReason::Tls,
    FailureReason::Http,
    FailureReason::HttpStatus,
    FailureReason::HttpVersion,
    FailureReason::TooManyRedirects,
    FailureReason::SslRequired,
    FailureReason::SslForbidden,
    FailureReason::HeaderRegex,
    FailureReason::BodyRegex,
    FailureReason::BodyCel,
    FailureReason::BodyTooLarge,
    FailureReason::Decompression,
    FailureReason::Io,
];

/// The series an http run can emit.
pub const FAMILIES: &[&[Family]] = &[
    names::COMMON,
    names::IP,
    names::TLS,
    names::TLS_CIPHER,
    names::REGEX_RULES,
    series::HTTP,
];

/// `User-Agent` sent unless the module sets one.
pub const USER_AGENT_DEFAULT: &str = concat!("outpost/", env!("CARGO_PKG_VERSION"));

pub async fn probe(
    target: &str,
    module: &HttpModule,
    ctx: &ProbeContext,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    register_series(module, rec);
    cel::register(module, rec);
    let mut url = target::parse_target(target)?;
    if module.enable_http3 {
        url = h3::https(url);
    }
    let mut run = Run::new(url, module, host_override(module, ctx)?, ctx.policy.clone());
    loop {
        let hop = run.hop_request(module, rec).await?;
        let mut resp = if module.enable_http3 {
            h3::exchange(hop, module, ctx.deadline, rec).await?
        } else {
            conn::exchange(hop, module, rec).await?
        };
        if !run.redirected(&resp.head, module, rec)? {
            return checks::finish(&mut resp, module, rec).await;
        }
        // The redirect's own body is not read: its connection is dropped here.
        drop(resp);
    }
}

/// Series Blackbox registers on every http run, at 0 until measured.
fn register_series(module: &HttpModule, rec: &mut Recorder) {
    for phase in HttpPhase::REGISTERED {
        conn::add_phase(rec, *phase, 0.0);
    }
    if module.oauth2.is_some() {
        conn::add_phase(rec, HttpPhase::OAuth2, 0.0);
    }
    for name in [
        series::PROBE_HTTP_STATUS_CODE,
        series::PROBE_HTTP_CONTENT_LENGTH,
        series::PROBE_HTTP_UNCOMPRESSED_BODY_LENGTH,
        series::PROBE_HTTP_REDIRECTS,
        series::PROBE_HTTP_SSL,
        series::PROBE_HTTP_VERSION,
        names::PROBE_FAILED_DUE_TO_REGEX,
    ] {
        rec.set(name, 0.0);
    }
}

/// The Host override: the module's `Host` header, or the `hostname` parameter;
/// both set and in conflict ([`host_conflict`]) is refused.
fn host_override(module: &HttpModule, ctx: &ProbeContext) -> Result<Option<String>, ProbeFailure> {
    if let Some(conflict) = ctx
        .hostname
        .as_deref()
        .and_then(|h| host_conflict(module, h))
    {
        return Err(ProbeFailure::new(FailureReason::InvalidTarget, conflict));
    }
    Ok(module_host(module).or_else(|| ctx.hostname.clone()))
}

fn module_host(module: &HttpModule) -> Option<String> {
    module
        .headers
        .iter()
        .find(|(n, _)| n == HOST)
        .map(|(_, v)| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// The one rule for a `hostname` parameter against the module's own `Host`
/// header, used by `/probe` (answered with 400 and this message) and by the
/// prober. As Blackbox's `setHTTPHost`: the header is found whatever the case of
/// its name (names are stored lowercase), and its value must equal `hostname`
/// exactly, so `A.example` and `a.example` conflict there as they do in Blackbox.
pub fn host_conflict(module: &HttpModule, hostname: &str) -> Option<String> {
    let host = module_host(module)?;
    (host != hostname).then(|| {
        format!(
            "Host header defined both in module configuration ({host}) and with URL-parameter 'hostname' ({hostname})"
        )
    })
}

/// The state of one run across redirect hops.
struct Run {
    url: Url,
    /// Host and port of the first hop (SNI settings apply to it and to hops back to it).
    first: (String, u16),
    method: Method,
    body: Option<Bytes>,
    /// The Host override, while it applies (dropped on an absolute redirect).
    host_override: Option<String>,
    /// Whether credentials may be sent (false once redirected to another host).
    same_origin_credentials: bool,
    redirects: u32,
    jar: target::CookieJar,
    resolved: Vec<(String, IpAddr)>,
    /// `Authorization` from the OAuth2 token, fetched once per run.
    oauth2_token: Option<HeaderValue>,
    /// `/probe`'s target policy: the first host and every redirect's.
    policy: Option<Arc<TargetPolicy>>,
}

impl Run {
    fn new(
        url: Url,
        module: &HttpModule,
        host_override: Option<String>,
        policy: Option<Arc<TargetPolicy>>,
    ) -> Self {
        Run {
            first: (target::host(&url), target::port(&url)),
            url,
            method: module.method.clone(),
            body: module.body.clone(),
            host_override,
            same_origin_credentials: true,
            redirects: 0,
            jar: target::CookieJar::default(),
            resolved: Vec::new(),
            oauth2_token: None,
            policy,
        }
    }

    /// Takes in a response head: its status and cookies, then whether it
    /// redirects and the redirect is followed (the run moved to its target).
    fn redirected(
        &mut self,
        head: &http::response::Parts,
        module: &HttpModule,
        rec: &mut Recorder,
    ) -> Result<bool, ProbeFailure> {
        let status = head.status.as_u16();
        rec.set(series::PROBE_HTTP_STATUS_CODE, f64::from(status));
        let host = target::host(&self.url);
        for v in head.headers.get_all(http::header::SET_COOKIE) {
            if let Ok(v) = v.to_str() {
                self.jar.store(&host, v);
            }
        }
        let location = head
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .filter(|_| target::is_redirect(status));
        let Some(location) = location else {
            return Ok(false);
        };
        if !module.follow_redirects {
            // Blackbox's CheckRedirect counts the redirect it refuses.
            rec.set(series::PROBE_HTTP_REDIRECTS, 1.0);
            rec.trace(format_args!("Not following redirect to {location}"));
            return Ok(false);
        }
        self.redirects += 1;
        rec.set(series::PROBE_HTTP_REDIRECTS, f64::from(self.redirects));
        if self.redirects > module.max_redirects {
            return Err(ProbeFailure::new(
                FailureReason::TooManyRedirects,
                format!(
                    "more than {} redirects (last {status} to {location})",
                    module.max_redirects
                ),
            ));
        }
        self.follow(status, location, rec)?;
        Ok(true)
    }

    async fn hop_request<'a>(
        &'a mut self,
        module: &HttpModule,
        rec: &mut Recorder,
    ) -> Result<conn::HopRequest<'a>, ProbeFailure> {
        let host = target::host(&self.url);
        let (ip, proxy) = self.route(&host, module, rec).await?;
        self.fetch_oauth2_token(module, rec).await?;
        let same_as_first = (host.clone(), target::port(&self.url)) == self.first;
        let host_header = self
            .host_override
            .clone()
            .unwrap_or_else(|| target::authority(&self.url));
        let sni = if same_as_first {
            module
                .tls
                .server_name
                .clone()
                .or_else(|| self.host_override.as_deref().map(strip_port))
                .unwrap_or_else(|| host.clone())
        } else {
            host.clone()
        };
        let headers = self.headers(module, &host)?;
        rec.trace(format_args!(
            "Requesting {} {}",
            self.method,
            crate::redact::url(self.url.as_str())
        ));
        Ok(conn::HopRequest {
            url: &self.url,
            ip,
            method: self.method.clone(),
            body: self.body.clone(),
            headers,
            host_header,
            sni,
            proxy,
        })
    }

    /// The address to dial and the proxy to go through, as Go's transport
    /// decides: the first hop is resolved first (unless the proxy resolves it)
    /// and the proxy chosen for that IP, since Blackbox puts the IP in the URL; a
    /// redirect hop chooses by name and is resolved only to go direct.
    async fn route(
        &mut self,
        host: &str,
        module: &HttpModule,
        rec: &mut Recorder,
    ) -> Result<(Option<IpAddr>, Option<http::Uri>), ProbeFailure> {
        let https = self.url.scheme() == "https";
        let port = target::port(&self.url);
        net::check_host(host, self.policy.as_deref())?;
        let (ip, proxy) = if self.redirects == 0 {
            let ip = self.address(host, module, rec).await?;
            let proxy = if proxy::configured(module) {
                let seen = ip.map_or_else(|| host.to_string(), |ip| ip.to_string());
                proxy::choose(module, https, &seen, port)
            } else {
                None
            };
            (ip, proxy)
        } else {
            match proxy::choose(module, https, host, port) {
                Some(proxy) => (None, Some(proxy)),
                None => (self.address(host, module, rec).await?, None),
            }
        };
        match (ip, proxy) {
            // Not resolved for the proxy, but `no_proxy` sends it direct.
            (None, None) => Ok((
                Some(net::resolve_quiet(host, &module.ip, self.policy.as_deref()).await?),
                None,
            )),
            route => Ok(route),
        }
    }

    /// The address of `host`: resolved once per run and host. The first
    /// resolution writes the IP series and the `resolve` phase; later ones (a
    /// redirect to a new host) add to the phase only. With a proxy and
    /// `skip_resolve_phase_with_proxy` nothing is resolved.
    async fn address(
        &mut self,
        host: &str,
        module: &HttpModule,
        rec: &mut Recorder,
    ) -> Result<Option<IpAddr>, ProbeFailure> {
        if module.proxy_url.is_some() && module.skip_resolve_phase_with_proxy {
            return Ok(None);
        }
        if let Some((_, ip)) = self.resolved.iter().find(|(h, _)| h == host) {
            return Ok(Some(*ip));
        }
        let (ip, took) = if self.resolved.is_empty() {
            let r = net::resolve_target(host, &module.ip, self.policy.as_deref(), rec).await;
            if let Err(f) = &r {
                conn::add_phase(rec, HttpPhase::Resolve, 0.0);
                return Err(f.clone());
            }
            r?
        } else {
            let started = std::time::Instant::now();
            let ip = net::resolve_quiet(host, &module.ip, self.policy.as_deref()).await?;
            (ip, started.elapsed())
        };
        conn::add_phase(rec, HttpPhase::Resolve, took.as_secs_f64());
        self.resolved.push((host.to_string(), ip));
        Ok(Some(ip))
    }

    /// Fetches the OAuth2 token before the first request that carries credentials.
    async fn fetch_oauth2_token(
        &mut self,
        module: &HttpModule,
        rec: &mut Recorder,
    ) -> Result<(), ProbeFailure> {
        let Some(o) = module.oauth2.as_deref() else {
            return Ok(());
        };
        if self.oauth2_token.is_none() && self.same_origin_credentials {
            let ua = module
                .headers
                .iter()
                .find(|(n, _)| n == USER_AGENT)
                .map(|(_, v)| v.clone())
                .unwrap_or(HeaderValue::from_static(USER_AGENT_DEFAULT));
            self.oauth2_token = Some(oauth2::authorization(o, module, &ua, rec).await?);
        }
        Ok(())
    }

    fn headers(&self, module: &HttpModule, host: &str) -> Result<HeaderMap, ProbeFailure> {
        let mut headers = HeaderMap::new();
        for (name, value) in &module.headers {
            if name == HOST {
                continue;
            }
            if !self.same_origin_credentials && (name == AUTHORIZATION || name == COOKIE) {
                continue;
            }
            headers.append(name.clone(), value.clone());
        }
        for h in &module.http_headers {
            if self.same_origin_credentials || !h.credential {
                headers.append(h.name.clone(), h.value.clone());
            }
        }
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_DEFAULT));
        }
        if let Some(c) = module.compression {
            if !headers.contains_key(ACCEPT_ENCODING) {
                headers.insert(ACCEPT_ENCODING, HeaderValue::from_static(c.token()));
            }
        }
        if self.same_origin_credentials && !headers.contains_key(AUTHORIZATION) {
            if let Some(auth) = &module.auth {
                headers.insert(AUTHORIZATION, auth_value(auth)?);
            }
        }
        // Go's oauth2 transport replaces any Authorization header.
        if let Some(token) = self
            .oauth2_token
            .as_ref()
            .filter(|_| self.same_origin_credentials)
        {
            headers.insert(AUTHORIZATION, token.clone());
        }
        if let Some(jar) = self.jar.header_for(host) {
            let value = match headers.get(COOKIE).and_then(|v| v.to_str().ok()) {
                Some(existing) => format!("{existing}; {jar}"),
                None => jar,
            };
            let value = HeaderValue::from_str(&value).map_err(|e| {
                ProbeFailure::new(FailureReason::Http, format!("unusable cookie: {e}"))
            })?;
            headers.insert(COOKIE, value);
        }
        if let Some(body) = &self.body {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        Ok(headers)
    }

    /// Moves to the redirect's target.
    fn follow(
        &mut self,
        status: u16,
        location: &str,
        rec: &mut Recorder,
    ) -> Result<(), ProbeFailure> {
        let next = target::resolve_location(&self.url, location)?;
        rec.trace(format_args!(
            "Redirect {} ({status}) to {}",
            self.redirects,
            crate::redact::url(next.as_str())
        ));
        let (method, keep_body) = target::redirect_method(status, &self.method);
        self.method = method;
        if !keep_body {
            self.body = None;
        }
        // Go keeps a custom Host only through a relative Location.
        if Url::parse(location).is_ok() {
            self.host_override = None;
        }
        if target::host(&next) != target::host(&self.url) {
            self.same_origin_credentials = false;
        }
        self.url = next;
        Ok(())
    }
}

fn strip_port(host: &str) -> String {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest).to_string();
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => h.to_string(),
        _ => host.to_string(),
    }
}

fn auth_value(auth: &Auth) -> Result<HeaderValue, ProbeFailure> {
    let text = match auth {
        Auth::Basic { username, password } => format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
        ),
        Auth::Bearer(token) => format!("Bearer {token}"),
        Auth::Authorization { kind, credentials } => format!("{kind} {credentials}"),
    };
    let mut v = HeaderValue::from_str(&text).map_err(|_| {
        ProbeFailure::new(
            FailureReason::InvalidTarget,
            "credentials cannot be sent in an Authorization header",
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// Whether the TLS series of an earlier hop must go (final answer not over TLS).
fn drop_tls_series(rec: &mut Recorder) {
    for name in tls::SERIES {
        rec.remove(name);
    }
}
