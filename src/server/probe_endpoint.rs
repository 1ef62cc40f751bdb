//! `GET /probe`: Blackbox's multi-target endpoint. One run per request, bounded by
//! the scrape timeout, answered with that run's series only (no `probe` label).

use std::fmt::Write;
use std::time::Duration;

use http::{header, HeaderMap, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::{respond, text, Body};
use crate::app::App;
use crate::config::{Module, Prober};
use crate::metrics::encode::Format;
use crate::metrics::render::render_report;
use crate::probe::{self, FailureReason, ProbeContext};

/// The scrape timeout assumed when Prometheus sends none (Blackbox's value).
const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(120);
const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";
/// The module used when the request names none (Blackbox's default).
pub(crate) const DEFAULT_MODULE: &str = "http_2xx";

pub(super) async fn handle(app: &App, req: &Request<Incoming>) -> Response<Body> {
    let config = app.config();
    if !config.server.probe_endpoint.enabled {
        return text(
            StatusCode::NOT_FOUND,
            "/probe is disabled ([server.probe_endpoint] enabled = false)\n",
        );
    }
    let params = QueryParams::parse(req.uri().query().unwrap_or(""));
    let Some(target) = params.get("target").filter(|t| !t.is_empty()) else {
        return text(StatusCode::BAD_REQUEST, "Target parameter is missing\n");
    };
    let module_name = params.get("module").unwrap_or(DEFAULT_MODULE);
    let Some(module) = config.module(module_name) else {
        app.count_unknown_module();
        return text(
            StatusCode::BAD_REQUEST,
            &format!("Unknown module {module_name:?}\n"),
        );
    };
    // An empty `hostname` is no hostname, as in Blackbox.
    let hostname = params
        .get("hostname")
        .filter(|h| !h.is_empty())
        .map(str::to_string);
    if let Some(conflict) = hostname.as_deref().and_then(|h| host_conflict(module, h)) {
        app.count_probe_request(module, 400);
        return text(StatusCode::BAD_REQUEST, &format!("{conflict}\n"));
    }
    let Some(timeout) = run_timeout(req.headers(), module.timeout, config.server.timeout_offset)
    else {
        app.count_probe_request(module, 500);
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Failed to parse timeout from Prometheus header X-Prometheus-Scrape-Timeout-Seconds\n",
        );
    };
    let debug = params.get("debug") == Some("true");
    let ctx = ProbeContext {
        deadline: tokio::time::Instant::now() + timeout,
        timeout,
        hostname,
        debug,
        policy: Some(config.server.probe_endpoint.policy.clone()),
    };
    // Past the cap the answer is immediate: queueing would hold the connection
    // (and Prometheus' scrape) for nothing, and a flood must not grow a queue.
    let Some(slot) = app.probe_endpoint_limiter().try_acquire() else {
        app.count_probe_request(module, 503);
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!(
                "{} /probe requests in flight, the most [server.probe_endpoint] max_concurrent allows\n",
                config.server.probe_endpoint.max_concurrent
            ),
        );
    };
    let report = probe::run(module, target, &ctx).await;
    drop(slot);
    if let Some(denied) = report
        .failure
        .as_ref()
        .filter(|f| f.reason == FailureReason::Denied)
    {
        app.count_probe_request(module, 403);
        return text(
            StatusCode::FORBIDDEN,
            &format!(
                "Target denied by [server.probe_endpoint]: {}\n",
                denied.message
            ),
        );
    }
    app.count_probe_request(module, 200);
    answer(req, module, &report, debug)
}

/// The run's timeout from the scrape-timeout header (Blackbox's rule); `None`
/// when the header is there but not a number.
pub(crate) fn run_timeout(
    headers: &HeaderMap,
    module_timeout: Option<Duration>,
    offset: Duration,
) -> Option<Duration> {
    let scrape_timeout = headers
        .get(SCRAPE_TIMEOUT_HEADER)
        .map(|v| v.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()));
    match scrape_timeout {
        Some(None) => None,
        header => Some(effective_timeout(header.flatten(), module_timeout, offset)),
    }
}

/// The run's series in the format the scraper asked for, or the debug page.
fn answer(
    req: &Request<Incoming>,
    module: &Module,
    report: &probe::ProbeReport,
    debug: bool,
) -> Response<Body> {
    if debug {
        return respond(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            debug_page(module, report),
        );
    }
    let format = Format::negotiate(
        req.headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok()),
    );
    respond(
        StatusCode::OK,
        format.content_type(),
        render_report(format, report),
    )
}

/// Blackbox's rule: the scrape timeout (120 s if absent or zero) less the offset;
/// the module's own timeout wins when it is shorter, or when the offset would
/// leave nothing.
pub(crate) fn effective_timeout(
    scrape_timeout: Option<f64>,
    module_timeout: Option<Duration>,
    offset: Duration,
) -> Duration {
    let scrape = match scrape_timeout {
        Some(s) if s.is_finite() && s > 0.0 => s,
        _ => DEFAULT_SCRAPE_TIMEOUT.as_secs_f64(),
    };
    let max = scrape - offset.as_secs_f64();
    let module = module_timeout.filter(|t| !t.is_zero());
    let secs = match module {
        // The module's timeout as it is: past 2^53 ns (about 104 days) one that
        // went through f64 and back could come out longer (found by fuzzing).
        Some(m) if m.as_secs_f64() < max || max <= 0.0 => return m,
        // With no module timeout and an offset larger than the scrape timeout,
        // Blackbox would run with a negative deadline; outpost uses the scrape
        // timeout itself.
        None if max <= 0.0 => scrape,
        _ => max,
    };
    let timeout = Duration::try_from_secs_f64(secs).unwrap_or(DEFAULT_SCRAPE_TIMEOUT);
    // Rounded to nanoseconds, `max` must not pass the module's timeout either.
    module.map_or(timeout, |m| timeout.min(m))
}

/// Only http modules can conflict: tcp's `hostname` fills in an unset `server_name`.
fn host_conflict(module: &Module, hostname: &str) -> Option<String> {
    match &module.prober {
        Prober::Http(http) => probe::http::host_conflict(http, hostname),
        Prober::Tcp(_)
        | Prober::Unix(_)
        | Prober::Dns(_)
        | Prober::Grpc(_)
        | Prober::Icmp(_)
        | Prober::Mysql(_)
        | Prober::Postgres(_) => None,
    }
}

fn debug_page(module: &Module, report: &probe::ProbeReport) -> String {
    let mut out = String::from("Logs for the probe:\n");
    for line in &report.trace {
        let _ = writeln!(out, "{line}");
    }
    out.push_str("\n\nMetrics that would have been returned:\n");
    out.push_str(&render_report(Format::Text, report));
    out.push_str("\n\nModule configuration:\n");
    out.push_str(&module.redacted);
    out
}

/// The query parameters, decoded as Go's `url.ParseQuery` does for Blackbox:
/// `application/x-www-form-urlencoded`, so `+` is a space and `%2B` a plus; a
/// name without `=` has the empty value; of a repeated name the first value wins
/// (`url.Values.Get`). A malformed escape such as `%zz` is kept as written, where
/// Go drops the whole pair.
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(crate) fn parse(query: &str) -> Self {
        QueryParams(
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFSET: Duration = Duration::from_millis(500);

    #[test]
    fn timeout_follows_blackbox_rules() {
        let secs = |h, m: Option<u64>| {
            effective_timeout(h, m.map(Duration::from_secs), OFFSET).as_secs_f64()
        };
        assert_eq!(secs(Some(15.0), Some(5)), 5.0);
        assert_eq!(secs(Some(15.0), Some(20)), 14.5);
        assert_eq!(secs(None, None), 119.5);
        assert_eq!(secs(Some(1.0), None), 0.5);
        assert_eq!(secs(Some(0.0), None), 119.5);
        assert_eq!(secs(Some(0.2), Some(3)), 3.0);
        assert_eq!(secs(Some(0.2), None), 0.2);
    }

    /// Found by the `scrape_timeout` fuzz target: a module timeout of about 30
    /// years, with an offset past the scrape timeout, ran 43 ns longer than the
    /// module's own (it went through f64 and back).
    #[test]
    fn a_long_module_timeout_is_kept_to_the_nanosecond() {
        let module = Duration::from_nanos(0x0d00_0000_0000_0000);
        let offset = Duration::from_nanos(0x0000_b500_0000_0000);
        assert_eq!(
            run_timeout(&HeaderMap::new(), Some(module), offset),
            Some(module)
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            SCRAPE_TIMEOUT_HEADER,
            http::HeaderValue::from_static("1e300"),
        );
        assert_eq!(run_timeout(&headers, Some(module), OFFSET), Some(module));
        assert_eq!(effective_timeout(Some(1e300), Some(module), OFFSET), module);
    }

    #[test]
    fn query_values_are_percent_decoded() {
        let q = QueryParams::parse(
            "target=http%3A%2F%2F127.0.0.1%3A80%2Fa%2Bb&module=http_2xx&debug=true&x",
        );
        assert_eq!(q.get("target"), Some("http://127.0.0.1:80/a+b"));
        assert_eq!(q.get("module"), Some("http_2xx"));
        assert_eq!(q.get("debug"), Some("true"));
        assert_eq!(q.get("x"), Some(""));
        assert_eq!(q.get("hostname"), None);
    }

    #[test]
    fn plus_is_a_space_and_escaped_plus_is_a_plus() {
        let q = QueryParams::parse("target=a+b%2Bc&module=my+mod%2b");
        assert_eq!(q.get("target"), Some("a b+c"));
        assert_eq!(q.get("module"), Some("my mod+"));
    }

    #[test]
    fn the_first_of_repeated_names_wins() {
        let q = QueryParams::parse("module=first&target=t&module=second&&module=third");
        assert_eq!(q.get("module"), Some("first"));
        let q = QueryParams::parse("module=&module=second");
        assert_eq!(q.get("module"), Some(""));
    }

    #[test]
    fn names_are_decoded_too_and_bad_escapes_kept() {
        let q = QueryParams::parse("tar%67et=x&host+name=y&debug=a%zzb+c%");
        assert_eq!(q.get("target"), Some("x"));
        assert_eq!(q.get("host name"), Some("y"));
        assert_eq!(q.get("debug"), Some("a%zzb c%"));
    }
}
