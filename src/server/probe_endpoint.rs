//! `GET /probe`: Blackbox's multi-target endpoint. One run per request, bounded by
//! the scrape timeout, answered with that run's series only (no `probe` label).

use std::fmt::Write;
use std::time::Duration;

use http::{header, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::{respond, text, Body};
use crate::app::App;
use crate::config::{Module, Prober};
use crate::metrics::encode::Format;
use crate::metrics::render::render_report;
use crate::probe::{self, ProbeContext};

/// The scrape timeout assumed when Prometheus sends none (Blackbox's value).
const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(120);
const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";
/// The module used when the request names none (Blackbox's default).
pub(crate) const DEFAULT_MODULE: &str = "http_2xx";

pub(super) async fn handle(app: &App, req: &Request<Incoming>) -> Response<Body> {
    let params = QueryParams::parse(req.uri().query().unwrap_or(""));
    let Some(target) = params.get("target").filter(|t| !t.is_empty()) else {
        return text(StatusCode::BAD_REQUEST, "Target parameter is missing\n");
    };
    let module_name = params.get("module").unwrap_or(DEFAULT_MODULE);
    let config = app.config();
    let Some(module) = config.module(module_name) else {
        app.count_unknown_module();
        return text(
            StatusCode::BAD_REQUEST,
            &format!("Unknown module {module_name:?}\n"),
        );
    };
    let hostname = params.get("hostname").map(str::to_string);
    if let Some(conflict) = hostname.as_deref().and_then(|h| host_conflict(module, h)) {
        app.count_probe_request(module, 400);
        return text(StatusCode::BAD_REQUEST, &conflict);
    }
    let scrape_timeout = req
        .headers()
        .get(SCRAPE_TIMEOUT_HEADER)
        .map(|v| v.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()));
    let timeout = match scrape_timeout {
        Some(None) => {
            app.count_probe_request(module, 500);
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Failed to parse timeout from Prometheus header X-Prometheus-Scrape-Timeout-Seconds\n",
            );
        }
        header => effective_timeout(
            header.flatten(),
            module.timeout,
            config.server.timeout_offset,
        ),
    };
    let debug = params.get("debug") == Some("true");
    let ctx = ProbeContext {
        deadline: tokio::time::Instant::now() + timeout,
        hostname,
        debug,
    };
    // Waiting for a slot counts against the deadline; a run that gets none in
    // time reports a timeout like any other late run.
    let slot = tokio::time::timeout_at(ctx.deadline, app.limiter().acquire()).await;
    let report = probe::run(module, target, &ctx).await;
    drop(slot);
    app.count_probe_request(module, 200);
    if debug {
        return respond(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            debug_page(module, &report),
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
        render_report(format, &report),
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
    let module = module_timeout
        .filter(|t| !t.is_zero())
        .map(|t| t.as_secs_f64());
    let secs = match module {
        Some(m) if m < max || max <= 0.0 => m,
        // With no module timeout and an offset larger than the scrape timeout,
        // Blackbox would run with a negative deadline; outpost uses the scrape
        // timeout itself.
        None if max <= 0.0 => scrape,
        _ => max,
    };
    Duration::try_from_secs_f64(secs).unwrap_or(DEFAULT_SCRAPE_TIMEOUT)
}

fn host_conflict(module: &Module, hostname: &str) -> Option<String> {
    let http = match &module.prober {
        Prober::Http(http) => http,
        Prober::Tcp(_) | Prober::Dns(_) => return None,
    };
    let (_, host) = http.headers.iter().find(|(k, _)| k == header::HOST)?;
    (host.as_bytes() != hostname.as_bytes()).then(|| {
        format!(
            "Host header defined both in module configuration ({}) and with URL-parameter 'hostname' ({hostname})\n",
            String::from_utf8_lossy(host.as_bytes())
        )
    })
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

/// `application/x-www-form-urlencoded` query parameters; the first value of a
/// repeated name wins.
struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    fn parse(query: &str) -> Self {
        QueryParams(
            query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(k), decode(v))
                })
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
        assert_eq!(decode("a%zzb+c%"), "a%zzb c%");
    }
}
