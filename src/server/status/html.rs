//! The status page as HTML: one self-contained document (inline CSS and SVG, no
//! script, no external asset) that refreshes itself with `<meta http-equiv=refresh>`
//! and filters with a GET form, so it works offline and with JavaScript off.
//! Everything that comes from the configuration, a target or an error is escaped.

use std::fmt::Write;

use super::aws::{AwsRegion, AwsStatus};
use super::filter::Filter;
use super::model::{ProbeStatus, State, Status};
use super::svg;
use super::text::{age, escape, escape_into, expiry, latency, query_value, utc};

/// Certificates expiring within these many days show as a warning, then as
/// critical: the thresholds of the `CertificateExpiringSoon` alerts.
const CERT_WARN_DAYS: i64 = 30;
const CERT_CRITICAL_DAYS: i64 = 7;

/// The most `key:value` suggestions the label field offers.
const MAX_LABEL_CHOICES: usize = 100;

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1em}\
td,th{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}caption{text-align:left;font-weight:bold}\
small,.m{color:#666}td.up,span.up{color:#070}td.down,b.down,span.down,.bad{color:#b00}.warn{color:#a60}\
tr.down{background:#fff3f3}.bad{font-weight:bold}\
.err{white-space:pre-wrap;font:12px monospace;margin:.2em 0}\
.strip{display:flex;flex-wrap:wrap;justify-content:flex-end;width:300px}\
.strip i{width:4px;height:14px;margin:0 1px 1px 0;background:#3a3}.strip i.f{background:#d33}\
.sp{width:120px;height:20px}\
.sp polyline{fill:none;stroke:#36c;stroke-width:1.5;stroke-linecap:round;vector-effect:non-scaling-stroke}\
.l{display:inline-block;white-space:nowrap;background:#eef;border-radius:3px;padding:0 .3em;margin-top:2px;font-size:12px;color:#224;text-decoration:none}\
nav a[aria-current]{font-weight:bold}form{margin:.5em 0}";

/// The whole page. `refresh`: seconds between reloads of it.
pub(super) fn page(
    status: &Status,
    filter: &Filter,
    label_choices: &[String],
    refresh: u64,
) -> String {
    let mut out = String::with_capacity(4096 + status.probes.len() * 2600);
    let down = status.counts.down;
    let _ = write!(
        out,
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width,initial-scale=1\">\
         <meta http-equiv=refresh content={refresh}>\
         <title>{}outpost</title><style>{STYLE}</style></head><body><h1>outpost</h1>",
        if down > 0 {
            format!("{down} down · ")
        } else {
            String::new()
        }
    );
    header(&mut out, status, refresh);
    filters(&mut out, status, filter, label_choices);
    probes(&mut out, status);
    if let Some(aws) = &status.aws {
        aws_section(&mut out, aws, status.generated_at);
    }
    let _ = write!(
        out,
        "<p class=m>Generated {}; times in UTC. <a href=\"api/v1/status{}\">JSON</a> · \
         <a href=metrics>Metrics</a> · <a href=-/healthy>Health</a></p></body></html>",
        utc(status.generated_at),
        escape(filter.query_with_state(filter.state).trim_end_matches('?')),
    );
    out.push('\n');
    out
}

/// The configuration and its last reload.
fn header(out: &mut String, status: &Status, refresh: u64) {
    let c = &status.config;
    let now = status.generated_at;
    let _ = write!(
        out,
        "<p>{} · {} · {} · keeps {} runs each · refreshes every {refresh} s</p><p>",
        escape(&c.file),
        count(c.modules, "module", "modules"),
        count(c.scheduled_probes, "scheduled probe", "scheduled probes"),
        c.status_history,
    );
    let r = &c.reload;
    let _ = write!(
        out,
        "Configuration loaded {} ({} ago). ",
        utc(r.loaded_at),
        age(now - r.loaded_at)
    );
    match r.last_attempt {
        None => out.push_str("No reload since start."),
        Some(at) if r.successful => {
            let _ = write!(out, "Last reload {}: successful.", utc(at));
        }
        Some(at) => {
            let _ = write!(
                out,
                "<span class=bad>Last reload {} failed; the running configuration stays:</span>",
                utc(at)
            );
            for e in &r.errors {
                out.push_str("<div class=err>");
                escape_into(out, e);
                out.push_str("</div>");
            }
        }
    }
    out.push_str("</p>");
}

/// `1 module`, `3 modules`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Links per state (keeping the label filters) and the GET form.
fn filters(out: &mut String, status: &Status, filter: &Filter, label_choices: &[String]) {
    let counts = &status.counts;
    out.push_str("<nav>Show: ");
    let mut link = |state: Option<State>, text: &str, n: usize| {
        let current = if state == filter.state {
            " aria-current=page"
        } else {
            ""
        };
        let separator = if state.is_some() { " · " } else { "" };
        let _ = write!(
            out,
            "{separator}<a href=\"{}\"{current}>{text} ({n})</a>",
            escape(&filter.query_with_state(state))
        );
    };
    link(None, "all", counts.total);
    for s in State::ALL {
        link(Some(s), s.as_str(), counts.of(s));
    }
    out.push_str(
        "</nav><form method=get><label>State <select name=state><option value=\"\">all</option>",
    );
    for s in State::ALL {
        let selected = if filter.state == Some(s) {
            " selected"
        } else {
            ""
        };
        let _ = write!(out, "<option{selected}>{}</option>", s.as_str());
    }
    out.push_str("</select></label> ");
    // One field per label filter in force, and an empty one to add another.
    let values = filter.labels.iter().map(|(k, v)| format!("{k}:{v}"));
    for value in values.chain([String::new()]) {
        let _ = write!(
            out,
            "<label>Label <input name=label value=\"{}\" placeholder=\"service:web\" list=labels></label> ",
            escape(&value)
        );
    }
    out.push_str("<datalist id=labels>");
    for choice in label_choices.iter().take(MAX_LABEL_CHOICES) {
        let _ = write!(out, "<option value=\"{}\">", escape(choice));
    }
    out.push_str("</datalist><button>Filter</button> <a href=\"?\">Clear</a></form>");
}

fn probes(out: &mut String, status: &Status) {
    let limit = status.config.status_history;
    let _ = write!(
        out,
        "<table><thead><tr><th>State</th><th>Probe</th><th>Module</th><th>Target</th>\
         <th>Latest run</th><th>Latency</th><th>Last {limit} runs</th><th>Durations</th>\
         <th>Certificate</th></tr></thead><tbody>"
    );
    if status.probes.is_empty() {
        out.push_str("<tr><td colspan=9>No probe matches these filters.</td></tr>");
    }
    for p in &status.probes {
        row(out, p, status.generated_at);
    }
    out.push_str("</tbody></table>");
}

fn row(out: &mut String, p: &ProbeStatus, now: f64) {
    let state = p.state.as_str();
    let _ = write!(out, "<tr class={state}><td class={state}><b>{state}</b>");
    if let Some(since) = p.state_since.filter(|_| p.state != State::Pending) {
        let _ = write!(
            out,
            "<br><small>for {}</small>",
            age(now - f64::from(since))
        );
    }
    out.push_str("</td><td><b>");
    escape_into(out, &p.name);
    out.push_str("</b>");
    if let Some(d) = &p.discovered {
        out.push_str("<br><small>found by [[discover]] ");
        escape_into(out, &d.by);
        if d.resource_gone {
            out.push_str(": <b class=warn>resource gone</b>, not run, series kept for its grace");
        }
        out.push_str("</small>");
    }
    for (k, v) in &p.labels {
        let _ = write!(
            out,
            "<br><a class=l href=\"?label={}\">{}={}</a>",
            escape(&query_value(&format!("{k}:{v}"))),
            escape(k),
            escape(v)
        );
    }
    out.push_str("</td><td>");
    escape_into(out, &p.module);
    out.push_str("</td><td class=m>");
    escape_into(out, &p.target);
    out.push_str("</td><td>");
    match &p.latest {
        None => out.push_str("not run yet</td><td>"),
        Some(l) => {
            let ago = age(now - l.started);
            match (l.reason, &l.error) {
                (Some(reason), error) => {
                    let _ = write!(out, "failed {ago} ago: <b class=down>{reason}</b>");
                    if let Some(e) = error {
                        out.push_str("<div class=err>");
                        escape_into(out, e);
                        out.push_str("</div>");
                    }
                }
                (None, _) => {
                    let _ = write!(out, "succeeded {ago} ago");
                }
            }
            addresses(out, p);
            let _ = write!(out, "</td><td>{}", latency(l.duration_seconds));
        }
    }
    out.push_str("</td><td>");
    svg::strip(out, &p.history, now);
    out.push_str("</td><td>");
    svg::sparkline(out, &p.history, p.history_limit);
    out.push_str("</td><td>");
    if let Some(at) = p.tls_cert_expiry {
        let (days, text) = expiry(at, now);
        let class = match days {
            d if d < CERT_CRITICAL_DAYS => "bad",
            d if d < CERT_WARN_DAYS => "warn",
            _ => "m",
        };
        let _ = write!(
            out,
            "<span class={class} title=\"{}\">{text}</span>",
            utc(at)
        );
    }
    out.push_str("</td></tr>");
}

/// A `fan_out` probe's addresses under its latest run: each with its state
/// and, when down, why.
fn addresses(out: &mut String, p: &ProbeStatus) {
    for a in &p.addresses {
        let state = a.state.as_str();
        let _ = write!(out, "<div class=m><span class={state}>{state}</span> ");
        escape_into(out, &a.ip);
        if let Some(reason) = a.latest.as_ref().and_then(|l| l.reason) {
            let _ = write!(out, ": {reason}");
        }
        out.push_str("</div>");
    }
}

fn aws_section(out: &mut String, aws: &AwsStatus, now: f64) {
    out.push_str("<h2>AWS</h2>");
    for region in &aws.regions {
        let _ = write!(out, "<h3>{}</h3>", escape(&region.region));
        scrapes(out, region, now);
        rds(out, region);
        target_groups(out, region);
        autoscaling(out, region);
    }
}

/// `yes`/`no` in a cell, marked when it is not what the policy wants.
fn flag(out: &mut String, value: bool, wanted: bool) {
    let text = if value { "yes" } else { "no" };
    let _ = match value == wanted {
        true => write!(out, "<td>{text}</td>"),
        false => write!(out, "<td class=bad>{text}</td>"),
    };
}

fn scrapes(out: &mut String, region: &AwsRegion, now: f64) {
    out.push_str(
        "<table><caption>Scrapes</caption><tr><th>Service</th><th>Latest</th>\
         <th>Last success</th><th>Took</th><th>Error</th></tr>",
    );
    for s in &region.scrapes {
        let latest = match (s.success, s.stale) {
            (None, _) => "<td class=m>not yet</td>",
            (Some(true), _) => "<td class=up>ok</td>",
            (Some(false), false) => "<td class=down>failed</td>",
            (Some(false), true) => "<td class=down>failed, data stale</td>",
        };
        let _ = write!(out, "<tr><td>{}</td>{latest}<td>", s.service);
        match s.last_success {
            Some(at) => {
                let _ = write!(out, "{} ({} ago)", utc(at), age(now - at));
            }
            None => out.push_str("never"),
        }
        let took = s
            .success
            .map(|_| latency(s.duration_seconds))
            .unwrap_or_default();
        let _ = write!(out, "</td><td>{took}</td><td class=err>");
        escape_into(out, s.error.as_deref().unwrap_or_default());
        out.push_str("</td></tr>");
    }
    out.push_str("</table>");
}

fn rds(out: &mut String, region: &AwsRegion) {
    if region.rds_instances.is_empty() {
        return;
    }
    out.push_str(
        "<table><caption>RDS instances</caption><tr><th>Instance</th><th>Engine</th>\
         <th>Class</th><th>Status</th><th>Multi-AZ</th><th>Encrypted</th>\
         <th>Backups ≥ 7 days</th><th>Deletion protection</th><th>Public</th></tr>",
    );
    for i in &region.rds_instances {
        let _ = write!(
            out,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td class={}>{}</td>",
            if i.compliant { "" } else { " class=down" },
            escape(&i.id),
            escape(&i.engine),
            escape(&i.instance_class),
            if i.status == "available" {
                "up"
            } else {
                "down"
            },
            escape(&i.status)
        );
        flag(out, i.multi_az, true);
        flag(out, i.storage_encrypted, true);
        let days = format!(
            "{} ({} days)",
            if i.backups_ok() { "yes" } else { "no" },
            i.backup_retention_days
        );
        let class = if i.backups_ok() { "" } else { " class=bad" };
        let _ = write!(out, "<td{class}>{days}</td>");
        flag(out, i.deletion_protection, true);
        flag(out, i.publicly_accessible, false);
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

fn target_groups(out: &mut String, region: &AwsRegion) {
    if region.target_groups.is_empty() {
        return;
    }
    out.push_str(
        "<table><caption>ALB target groups</caption><tr><th>Load balancer</th>\
         <th>Target group</th><th>Healthy</th><th>Unhealthy</th><th>Other</th></tr>",
    );
    for g in &region.target_groups {
        let healthy = if g.healthy == 0 { " class=bad" } else { "" };
        let unhealthy = if g.unhealthy > 0 { " class=bad" } else { "" };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td{healthy}>{}</td><td{unhealthy}>{}</td><td>{}</td></tr>",
            escape(&g.load_balancer),
            escape(&g.target_group),
            g.healthy,
            g.unhealthy,
            g.other
        );
    }
    out.push_str("</table>");
}

fn autoscaling(out: &mut String, region: &AwsRegion) {
    if region.autoscaling_groups.is_empty() {
        return;
    }
    out.push_str(
        "<table><caption>Auto Scaling groups</caption><tr><th>Group</th><th>In service</th>\
         <th>Min</th><th>Desired</th><th>Max</th></tr>",
    );
    for g in &region.autoscaling_groups {
        let below = if g.in_service < g.min_size {
            " class=bad"
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td{below}>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&g.name),
            g.in_service,
            g.min_size,
            g.desired_capacity,
            g.max_size
        );
    }
    out.push_str("</table>");
}
