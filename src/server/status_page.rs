//! `GET /`: a plain HTML page with each scheduled probe's latest result, read from
//! the same stored reports as `/metrics`.

use std::fmt::Write;

use http::{Response, StatusCode};

use super::{respond, Body};
use crate::app::App;
use crate::metrics::process::unix_now;

pub(super) fn render(app: &App) -> Response<Body> {
    let config = app.config();
    let probes = app.probes();
    let mut html = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>outpost</title>\
         <style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}\
         .ok{color:#070}.fail{color:#b00}</style></head><body>\
         <h1>outpost</h1><p><a href=\"/metrics\">Metrics</a> · <a href=\"/-/healthy\">Health</a></p>",
    );
    let _ = write!(
        html,
        "<p>Configuration: {} · {} modules · {} scheduled probes</p>\
         <table><tr><th>Probe</th><th>Module</th><th>Target</th><th>Interval</th>\
         <th>Result</th><th>Duration</th><th>Last run</th><th>Runs</th></tr>",
        escape(&config.source.display().to_string()),
        config.modules.len(),
        probes.len()
    );
    let now = unix_now();
    for probe in probes {
        let snap = probe.snapshot();
        let spec = &probe.spec;
        let (result, duration) = match &snap.latest {
            None => ("<td>pending</td>".to_string(), String::new()),
            Some(r) if r.success => (
                "<td class=\"ok\">success</td>".to_string(),
                format!("{:.3}s", r.duration.as_secs_f64()),
            ),
            Some(r) => (
                format!(
                    "<td class=\"fail\">{}</td>",
                    escape(
                        &r.failure
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    )
                ),
                format!("{:.3}s", r.duration.as_secs_f64()),
            ),
        };
        let ago = snap
            .last_run
            .map(|t| format!("{:.0}s ago", (now - t).max(0.0)))
            .unwrap_or_default();
        let runs = snap.runs.total();
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{result}<td>{duration}</td><td>{ago}</td><td>{runs}</td></tr>",
            escape(&spec.name),
            escape(&spec.module),
            escape(&crate::redact::url(&spec.target)),
            crate::config::duration::format(spec.interval),
        );
    }
    html.push_str("</table></body></html>\n");
    respond(StatusCode::OK, "text/html; charset=utf-8", html)
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
