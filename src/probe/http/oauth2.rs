//! `oauth2`: the client-credentials grant of prometheus/common (golang.org/x/oauth2
//! `clientcredentials`), fetched once per run before the first request.
//!
//! As Go does with no cached auth style, the client credentials are first sent
//! as HTTP Basic (`client_id` and `client_secret` form-escaped), and when that
//! attempt fails in any way, once more as `client_id`/`client_secret` form
//! fields. The token request goes through the same connection code as the probe
//! (its own `tls_config` and `proxy_url`, HTTP/1.1 as Go's token transport), is
//! timed as the `oauth2` phase, and its failure is the outcome `oauth2`. A token
//! is never kept across runs: Blackbox builds a new client, and so fetches a new
//! token, for every probe.

use std::fmt;
use std::time::Instant;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use http::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Method, Uri};
use url::Url;

use super::series::HttpPhase;
use super::settings::ProxyOptions;
use super::{conn, proxy, target, HttpModule};
use crate::config::TlsSettings;
use crate::probe::{net, FailureReason, ProbeFailure, Recorder};

/// Go's limit on the token response it reads.
const MAX_TOKEN_RESPONSE: usize = 1 << 20;

/// `[modules.NAME.http.oauth2]`, validated; the secret was read at load.
#[derive(Clone)]
pub struct OAuth2 {
    pub client_id: String,
    /// `client_secret` or the contents of `client_secret_file` (may be empty).
    pub client_secret: String,
    pub token_url: Url,
    /// Sent space-separated as `scope` when not empty.
    pub scopes: Vec<String>,
    /// Extra form fields, sorted by name (a `grant_type` here replaces the default).
    pub endpoint_params: Vec<(String, String)>,
    /// The token request's own `tls_config` (not the module's).
    pub tls: TlsSettings,
    /// The token request's own `proxy_url`.
    pub proxy_url: Option<Uri>,
    /// The token request's own `no_proxy`, `proxy_from_environment`,
    /// `proxy_connect_header`.
    pub proxy_options: ProxyOptions,
}

impl fmt::Debug for OAuth2 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2")
            .field("client_id", &self.client_id)
            .field("client_secret", &crate::redact::SECRET)
            .field("token_url", &shown_url(&self.token_url))
            .field("scopes", &self.scopes)
            .field("endpoint_params", &self.endpoint_params)
            .field("tls", &self.tls)
            .field("proxy_url", &self.proxy_url)
            .field("proxy_options", &self.proxy_options)
            .finish()
    }
}

/// Where the client credentials go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    InHeader,
    InParams,
}

/// Fetches a token and returns the `Authorization` value to send (`Bearer ...`).
/// Adds the `oauth2` phase, on failure too.
pub(super) async fn authorization(
    o: &OAuth2,
    module: &HttpModule,
    user_agent: &HeaderValue,
    rec: &mut Recorder,
) -> Result<HeaderValue, ProbeFailure> {
    let started = Instant::now();
    let shown = shown_url(&o.token_url);
    rec.trace(format_args!("Requesting an OAuth2 token from {shown}"));
    let mut result = attempt(o, module, user_agent, Style::InHeader, rec).await;
    if let Err(e) = &result {
        rec.trace(format_args!(
            "OAuth2 token request with credentials in the Authorization header failed ({e}); \
             retrying with credentials in the form"
        ));
        result = attempt(o, module, user_agent, Style::InParams, rec).await;
    }
    conn::add_phase(rec, HttpPhase::OAuth2, started.elapsed().as_secs_f64());
    let token = result.map_err(|message| {
        ProbeFailure::new(
            FailureReason::OAuth2,
            format!("OAuth2 token from {shown}: {message}"),
        )
    })?;
    rec.trace(format_args!(
        "OAuth2 token received in {:.6}s (type {})",
        started.elapsed().as_secs_f64(),
        token.kind
    ));
    let mut value = HeaderValue::from_str(&format!("{} {}", token.kind, token.access_token))
        .map_err(|_| {
            ProbeFailure::new(
                FailureReason::OAuth2,
                "the OAuth2 token cannot be sent in an Authorization header",
            )
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// The token URL for traces and messages, without a password in it.
fn shown_url(url: &Url) -> String {
    crate::redact::url(url.as_str()).into_owned()
}

/// A token as Go's `oauth2.Token` keeps it.
#[derive(Debug, PartialEq, Eq)]
struct Token {
    access_token: String,
    /// What goes before the token: `Bearer` unless the server says otherwise.
    kind: String,
}

/// One token request; the error is a sentence without secrets.
async fn attempt(
    o: &OAuth2,
    module: &HttpModule,
    user_agent: &HeaderValue,
    style: Style,
    rec: &mut Recorder,
) -> Result<Token, String> {
    let transport = HttpModule {
        tls: o.tls.clone(),
        ip: module.ip,
        proxy_url: o.proxy_url.clone(),
        proxy_options: o.proxy_options.clone(),
        // Go's token transport has a TLS config of its own, which turns HTTP/2 off.
        enable_http2: false,
        ..HttpModule::default()
    };
    let host = target::host(&o.token_url);
    let https = o.token_url.scheme() == "https";
    let proxy = proxy::choose(&transport, https, &host, target::port(&o.token_url));
    let ip = match proxy {
        Some(_) => None,
        None => Some(
            net::resolve_quiet(&host, &transport.ip, None)
                .await
                .map_err(|f| f.to_string())?,
        ),
    };
    let body = Bytes::from(form(o, style));
    let mut headers = HeaderMap::new();
    headers.insert(http::header::USER_AGENT, user_agent.clone());
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    if style == Style::InHeader {
        headers.insert(AUTHORIZATION, basic(o)?);
    }
    let hop = conn::HopRequest {
        url: &o.token_url,
        ip,
        method: Method::POST,
        body: Some(body),
        headers,
        host_header: target::authority(&o.token_url),
        sni: o.tls.server_name.clone().unwrap_or(host),
        proxy,
    };
    // The token exchange writes its phases and TLS series into a recorder of its
    // own: the probe's series describe the target only.
    let mut scratch = Recorder::new(false);
    let mut resp = conn::exchange(hop, &transport, &mut scratch)
        .await
        .map_err(|f| f.to_string())?;
    let body = read_body(&mut resp).await?;
    let content_type = resp
        .head
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    rec.trace(format_args!(
        "Token endpoint answered {} ({} bytes{})",
        resp.head.status,
        body.len(),
        if content_type.is_empty() {
            String::new()
        } else {
            format!(", {content_type}")
        }
    ));
    parse(resp.head.status, content_type, &body)
}

/// The form body, fields sorted by name as Go's `url.Values.Encode` does.
fn form(o: &OAuth2, style: Style) -> String {
    let mut fields: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
    let scope = o.scopes.join(" ");
    if !o.scopes.is_empty() {
        fields.push(("scope", &scope));
    }
    for (name, value) in &o.endpoint_params {
        fields.retain(|(n, _)| n != name);
        fields.push((name, value));
    }
    if style == Style::InParams {
        for (name, value) in [
            ("client_id", &o.client_id),
            ("client_secret", &o.client_secret),
        ] {
            if !value.is_empty() {
                fields.retain(|(n, _)| *n != name);
                fields.push((name, value));
            }
        }
    }
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        out.append_pair(name, value);
    }
    out.finish()
}

/// `Basic base64(escape(id):escape(secret))`, Go's `AuthStyleInHeader`.
fn basic(o: &OAuth2) -> Result<HeaderValue, String> {
    let escape = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", escape(&o.client_id), escape(&o.client_secret));
    let mut v = HeaderValue::from_str(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    ))
    .map_err(|_| "client credentials cannot be sent in an Authorization header".to_string())?;
    v.set_sensitive(true);
    Ok(v)
}

/// Reads at most [`MAX_TOKEN_RESPONSE`] bytes of the answer (Go's limit).
async fn read_body(resp: &mut conn::HopResponse) -> Result<Vec<u8>, String> {
    let mut buf = BytesMut::new();
    while buf.len() < MAX_TOKEN_RESPONSE {
        let data = resp
            .body
            .data()
            .await
            .map_err(|e| format!("reading the token response: {}", e.message))?;
        let Some(data) = data else {
            break;
        };
        let room = MAX_TOKEN_RESPONSE - buf.len();
        buf.extend_from_slice(&data[..data.len().min(room)]);
    }
    Ok(buf.to_vec())
}

/// The token in an answer, as golang.org/x/oauth2 reads it: form-encoded for
/// `application/x-www-form-urlencoded` and `text/plain`, JSON otherwise; a
/// non-2xx status, an `error` field or an empty `access_token` is a failure.
fn parse(status: http::StatusCode, content_type: &str, body: &[u8]) -> Result<Token, String> {
    let failed = !status.is_success();
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let fields = match media.as_str() {
        "application/x-www-form-urlencoded" | "text/plain" => Ok(Fields::from_form(body)),
        _ => serde_json::from_slice::<Fields>(body).map_err(|e| e.to_string()),
    };
    let fields = match fields {
        Ok(f) => f,
        Err(_) if failed => return Err(status_error(status, body)),
        Err(e) => return Err(format!("cannot parse the token response: {e}")),
    };
    if let Some(code) = fields.error.filter(|c| !c.is_empty()) {
        let description = fields
            .error_description
            .map(|d| format!(" {d:?}"))
            .unwrap_or_default();
        return Err(format!(
            "the token endpoint answered {status} with error {code:?}{description}"
        ));
    }
    if failed {
        return Err(status_error(status, body));
    }
    let access_token = fields
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or("the token response has no access_token")?;
    let kind = match fields.token_type.unwrap_or_default() {
        t if t.is_empty() || t.eq_ignore_ascii_case("bearer") => "Bearer".to_string(),
        t if t.eq_ignore_ascii_case("mac") => "MAC".to_string(),
        t if t.eq_ignore_ascii_case("basic") => "Basic".to_string(),
        t => t,
    };
    Ok(Token { access_token, kind })
}

fn status_error(status: http::StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let snippet: String = text.chars().take(200).collect();
    format!("the token endpoint answered {status}: {snippet:?}")
}

/// The fields of a token response that matter.
#[derive(Debug, Default, serde::Deserialize)]
struct Fields {
    access_token: Option<String>,
    token_type: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl Fields {
    fn from_form(body: &[u8]) -> Fields {
        let mut f = Fields::default();
        for (name, value) in url::form_urlencoded::parse(body) {
            let slot = match name.as_ref() {
                "access_token" => &mut f.access_token,
                "token_type" => &mut f.token_type,
                "error" => &mut f.error,
                "error_description" => &mut f.error_description,
                _ => continue,
            };
            slot.get_or_insert_with(|| value.into_owned());
        }
        f
    }
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on unexpected errors"
)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn settings() -> OAuth2 {
        OAuth2 {
            client_id: "my id".into(),
            client_secret: "s&cret".into(),
            token_url: Url::parse("http://127.0.0.1:1/token").unwrap(),
            scopes: vec!["read".into(), "write".into()],
            endpoint_params: vec![("audience".into(), "api".into())],
            tls: TlsSettings::default(),
            proxy_url: None,
            proxy_options: ProxyOptions::default(),
        }
    }

    #[test]
    fn form_fields_sorted_and_credentials_by_style() {
        let o = settings();
        assert_eq!(
            form(&o, Style::InHeader),
            "audience=api&grant_type=client_credentials&scope=read+write"
        );
        assert_eq!(
            form(&o, Style::InParams),
            "audience=api&client_id=my+id&client_secret=s%26cret&grant_type=client_credentials&scope=read+write"
        );
        let mut custom = settings();
        custom.endpoint_params = vec![("grant_type".into(), "urn:custom".into())];
        custom.scopes.clear();
        assert_eq!(form(&custom, Style::InHeader), "grant_type=urn%3Acustom");
    }

    #[test]
    fn basic_credentials_are_form_escaped() {
        let v = basic(&settings()).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode("my+id:s%26cret");
        assert_eq!(v.to_str().unwrap(), format!("Basic {b64}"));
        assert!(v.is_sensitive());
    }

    #[test]
    fn token_responses() {
        let ok = |ct: &str, body: &str| parse(StatusCode::OK, ct, body.as_bytes());
        assert_eq!(
            ok(
                "application/json",
                r#"{"access_token":"t1","token_type":"bearer"}"#
            )
            .unwrap(),
            Token {
                access_token: "t1".into(),
                kind: "Bearer".into()
            }
        );
        assert_eq!(
            ok(
                "text/plain; charset=utf-8",
                "access_token=t2&token_type=mac"
            )
            .unwrap()
            .kind,
            "MAC"
        );
        assert_eq!(ok("", r#"{"access_token":"t3"}"#).unwrap().kind, "Bearer");
        assert!(ok("application/json", "{}")
            .unwrap_err()
            .contains("no access_token"));
        assert!(ok("application/json", "<html>")
            .unwrap_err()
            .contains("cannot parse"));
        assert!(ok("application/json", r#"{"error":"invalid_client"}"#)
            .unwrap_err()
            .contains("invalid_client"));
        let denied = parse(StatusCode::UNAUTHORIZED, "text/html", b"<h1>no</h1>").unwrap_err();
        assert!(denied.contains("401"), "{denied}");
        let denied = parse(
            StatusCode::UNAUTHORIZED,
            "application/json",
            br#"{"access_token":"x"}"#,
        )
        .unwrap_err();
        assert!(denied.contains("401"), "{denied}");
    }

    #[test]
    fn token_url_password_is_not_shown() {
        let url = Url::parse("https://u:hunter2@auth.test/token").unwrap();
        assert!(!shown_url(&url).contains("hunter2"));
        assert_eq!(shown_url(&settings().token_url), "http://127.0.0.1:1/token");
    }

    #[test]
    fn debug_hides_the_secret() {
        let text = format!("{:?}", settings());
        assert!(!text.contains("s&cret"), "{text}");
        assert!(text.contains("<secret>"));
    }
}
