//! `GET /` (the status page) and `GET /api/v1/status` (the same data as JSON),
//! both filtered by the query string. Read from stored state only: the results
//! store and history rings of the scheduled probes, the reload status and the
//! AWS caches; serving the page never probes and never calls AWS.
//!
//! - [`model`]: what is shown, collected and serializable (the JSON is it).
//! - [`filter`]: `state=` and `label=` from the query string.
//! - [`html`]: the page; [`svg`]: its sparklines and outcome strips;
//!   [`text`]: escaping, times and words.
//! - [`aws`]: RDS, target groups and Auto Scaling groups from the AWS caches.

mod aws;
mod filter;
mod html;
mod model;
mod svg;
mod text;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;

use super::{respond, Body};
use crate::app::App;
use crate::metrics::process::unix_now;
use crate::results::ProbeState;
use filter::Filter;
use model::{ConfigStatus, ReloadView, Status};

/// The page reloads itself at the shortest probe interval, within these bounds:
/// no sooner than a person can read it, no later than a minute.
const REFRESH_BOUNDS: (u64, u64) = (5, 60);

/// `GET /`.
pub(super) fn page(app: &App, req: &Request<Incoming>) -> Response<Body> {
    let filter = match Filter::parse(req.uri().query()) {
        Ok(f) => f,
        Err(e) => {
            let body = format!(
                "<!doctype html><html lang=en><head><meta charset=utf-8><title>outpost</title>\
                 </head><body><p>{}</p><p><a href=\"?\">Show every probe</a></p></body></html>\n",
                text::escape(&e.to_string())
            );
            return respond(StatusCode::BAD_REQUEST, "text/html; charset=utf-8", body);
        }
    };
    let probes = app.probes();
    let status = collect(app, &probes, &filter);
    let body = html::page(
        &status,
        &filter,
        &label_choices(&probes),
        refresh_seconds(probes.iter().map(|p| p.spec.interval)),
    );
    respond(StatusCode::OK, "text/html; charset=utf-8", body)
}

/// `GET /api/v1/status`.
pub(super) fn api(app: &App, req: &Request<Incoming>) -> Response<Body> {
    let (status, body) = match Filter::parse(req.uri().query()) {
        Ok(filter) => {
            let status = collect(app, &app.probes(), &filter);
            match serde_json::to_string(&status) {
                Ok(json) => (StatusCode::OK, json),
                Err(e) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    error_json(&e.to_string()),
                ),
            }
        }
        Err(e) => (StatusCode::BAD_REQUEST, error_json(&e.to_string())),
    };
    respond(status, "application/json", body + "\n")
}

fn error_json(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

/// Everything the page shows of `probes` and the rest of `app`, filtered.
fn collect(app: &App, probes: &[Arc<ProbeState>], filter: &Filter) -> Status {
    let config = app.config();
    let reload = app.reload_status();
    let (counts, shown) = model::probes(probes, filter);
    Status {
        generated_at: unix_now(),
        config: ConfigStatus {
            file: config.source.display().to_string(),
            modules: config.modules.len(),
            scheduled_probes: probes.len(),
            status_history: config.server.status_history,
            reload: ReloadView {
                loaded_at: reload.last_success_timestamp,
                last_attempt: reload.last_attempt_timestamp,
                successful: reload.last_successful,
                errors: reload.errors,
            },
        },
        counts,
        probes: shown,
        aws: config
            .aws
            .as_ref()
            .map(|aws| aws::collect(&aws.regions, &app.aws_caches())),
    }
}

/// Every `key:value` of the probes' static labels, sorted: the label field's
/// suggestions.
fn label_choices(probes: &[Arc<ProbeState>]) -> Vec<String> {
    let set: BTreeSet<String> = probes
        .iter()
        .flat_map(|p| p.spec.labels.iter().map(|(k, v)| format!("{k}:{v}")))
        .collect();
    set.into_iter().collect()
}

/// Seconds between the page's reloads: the shortest interval, within
/// [`REFRESH_BOUNDS`]; the upper bound when nothing is scheduled.
fn refresh_seconds(intervals: impl Iterator<Item = Duration>) -> u64 {
    let (low, high) = REFRESH_BOUNDS;
    intervals
        .map(|d| d.as_secs())
        .min()
        .map_or(high, |s| s.clamp(low, high))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test data is known to be valid")]
mod tests;
