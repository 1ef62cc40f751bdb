//! What `outpost probe` prints of one run: the trace a person reads, top to
//! bottom, a summary (each phase's time as a small table, TLS, HTTP) and a
//! verdict as the last line, so the screen ends on the answer (the series, when
//! asked for, come before it); or the same as one JSON object.

use std::fmt::Write;

use super::http::series as http_series;
use super::ProbeReport;
use crate::metrics::names;

/// The run as text: trace, a blank line, the series if given, then one line:
/// `OK: ...` or `FAILED: <reason in words>: <message>`.
pub fn text(module: &str, target: &str, report: &ProbeReport, series: Option<&str>) -> String {
    // The target as typed may carry a password (`http://user:pass@host/`).
    let target = crate::redact::url(target);
    let mut out = String::new();
    for line in &report.trace {
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    let summary = summary(report);
    if !summary.is_empty() {
        out.push_str(&summary);
        out.push('\n');
    }
    if let Some(series) = series {
        out.push_str(series);
        out.push('\n');
    }
    let took = millis(report);
    match &report.failure {
        None => {
            let _ = writeln!(out, "OK: {module} {target} succeeded in {took}");
        }
        Some(f) => {
            let _ = writeln!(
                out,
                "FAILED: {}: {} ({module} {target}, after {took})",
                f.reason.in_words(),
                f.message
            );
        }
    }
    out
}

/// The run as one JSON object, for scripts: `outcome` is the label of the run
/// counters (`success` or the failure reason), `reason` the same in words.
pub fn json(module: &str, target: &str, report: &ProbeReport, series: Option<&str>) -> String {
    let target = crate::redact::url(target);
    let mut value = serde_json::json!({
        "target": target.as_ref(),
        "module": module,
        "success": report.success,
        "outcome": report.outcome(),
        "reason": report.failure.as_ref().map(|f| f.reason.in_words()),
        "message": report.failure.as_ref().map(|f| f.message.as_str()),
        "duration_seconds": report.duration.as_secs_f64(),
        "timeout_seconds": report.timeout.as_secs_f64(),
        "phases": phases(report)
            .into_iter()
            .map(|(phase, seconds)| (phase.to_string(), serde_json::Value::from(seconds)))
            .collect::<serde_json::Map<_, _>>(),
        "trace": report.trace,
    });
    if let (Some(series), Some(map)) = (series, value.as_object_mut()) {
        map.insert("metrics".to_string(), series.into());
    }
    let mut out = value.to_string();
    out.push('\n');
    out
}

/// Each phase's seconds, in the order the run measured them, the lookup first: the `phase`
/// samples of the prober's `*_duration_seconds` family (an HTTP run's hops
/// summed, as its series are), with the name lookup first as `resolve` when the
/// family has no phase of that name.
fn phases(report: &ProbeReport) -> Vec<(&str, f64)> {
    let mut out: Vec<(&str, f64)> = Vec::new();
    for s in &report.samples {
        if !s.name.ends_with("_duration_seconds") {
            continue;
        }
        let Some((_, phase)) = s.labels.iter().find(|(k, _)| *k == "phase") else {
            continue;
        };
        match out.iter_mut().find(|(p, _)| *p == phase.as_ref()) {
            Some((_, seconds)) => *seconds += s.value,
            None => out.push((phase.as_ref(), s.value)),
        }
    }
    if !out.iter().any(|(p, _)| *p == "resolve") {
        if let Some(lookup) = report.value(names::PROBE_DNS_LOOKUP_TIME_SECONDS, &[]) {
            out.push(("resolve", lookup));
        }
    }
    // The lookup comes first in every run, whenever its series was written;
    // a phase the run never entered (`tls` of plain HTTP) is 0 and left out.
    out.sort_by_key(|(p, _)| *p != "resolve");
    out.retain(|(_, seconds)| *seconds > 0.0);
    out
}

/// The part of a run a person looks for first, from its series: a table of the
/// phases in milliseconds with the total, then one line each for TLS and HTTP
/// when the run had them. Empty for a run that measured none of these.
fn summary(report: &ProbeReport) -> String {
    let mut out = String::new();
    let phases = phases(report);
    if !phases.is_empty() {
        let total = ("total", report.duration.as_secs_f64());
        let width = phases
            .iter()
            .chain([&total])
            .map(|(p, _)| p.len())
            .max()
            .unwrap_or(0);
        let _ = writeln!(out, "  {:<width$}  {:>9}", "phase", "ms");
        for (phase, seconds) in phases.iter().chain([&total]) {
            let _ = writeln!(out, "  {phase:<width$}  {:>9.3}", seconds * 1000.0);
        }
    }
    if let Some(tls) = tls_line(report) {
        let _ = writeln!(out, "TLS: {tls}");
    }
    if let Some(http) = http_line(report) {
        let _ = writeln!(out, "HTTP: {http}");
    }
    out
}

/// The label `key` of the first sample named `name`.
fn label<'a>(report: &'a ProbeReport, name: &str, key: &str) -> Option<&'a str> {
    report
        .samples
        .iter()
        .find(|s| s.name == name)
        .and_then(|s| s.labels.iter().find(|(k, _)| *k == key))
        .map(|(_, v)| v.as_ref())
}

/// "TLS 1.3, TLS_AES_128_GCM_SHA256, earliest certificate expires 2027-01-03 (28 days)".
fn tls_line(report: &ProbeReport) -> Option<String> {
    let version = label(report, names::PROBE_TLS_VERSION_INFO, "version");
    let expiry = report.value(names::PROBE_SSL_EARLIEST_CERT_EXPIRY, &[]);
    if version.is_none() && expiry.is_none() {
        return None;
    }
    let mut parts = vec![version.unwrap_or("handshake not completed").to_string()];
    if let Some(cipher) = label(report, names::PROBE_TLS_CIPHER_INFO, "cipher") {
        parts.push(cipher.to_string());
    }
    if let Some(t) = expiry {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        parts.push(format!(
            "earliest certificate {}",
            super::tls::cert::expiry_in_words(t as i64, now)
        ));
    }
    Some(parts.join(", "))
}

/// "200 over HTTP/1.1, 2 redirects, 1093 bytes".
fn http_line(report: &ProbeReport) -> Option<String> {
    let status = report.value(http_series::PROBE_HTTP_STATUS_CODE, &[])?;
    if status == 0.0 {
        return None;
    }
    let mut line = format!("{status}");
    match report.value(http_series::PROBE_HTTP_VERSION, &[]) {
        // As curl names them: HTTP/1.0, HTTP/1.1, HTTP/2, HTTP/3.
        Some(v) if v < 2.0 => {
            let _ = write!(line, " over HTTP/{v:.1}");
        }
        Some(v) => {
            let _ = write!(line, " over HTTP/{v}");
        }
        None => {}
    }
    match report.value(http_series::PROBE_HTTP_REDIRECTS, &[]) {
        Some(1.0) => line.push_str(", 1 redirect"),
        Some(n) if n > 1.0 => {
            let _ = write!(line, ", {n} redirects");
        }
        _ => {}
    }
    if let Some(n) = report.value(http_series::PROBE_HTTP_CONTENT_LENGTH, &[]) {
        if n >= 0.0 {
            let _ = write!(line, ", {n} bytes");
        }
    }
    Some(line)
}

fn millis(report: &ProbeReport) -> String {
    format!("{:.1} ms", report.duration.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::probe::report::{FailureReason, ProbeFailure, Sample};

    fn report(failure: Option<ProbeFailure>) -> ProbeReport {
        ProbeReport {
            success: failure.is_none(),
            failure,
            duration: Duration::from_micros(2_900),
            timeout: Duration::from_secs(5),
            started_at: SystemTime::UNIX_EPOCH,
            samples: Vec::new(),
            trace: vec!["Resolved web to 127.0.0.1".into(), "Connected".into()],
            packets: None,
        }
    }

    #[test]
    fn the_verdict_is_the_last_line_after_the_series() {
        let failed = report(Some(ProbeFailure::new(
            FailureReason::HttpStatus,
            "status code 500, wanted 2xx",
        )));
        let out = text(
            "http_2xx",
            "http://web/",
            &failed,
            Some("probe_success 0\n"),
        );
        assert_eq!(
            out,
            "Resolved web to 127.0.0.1\nConnected\n\nprobe_success 0\n\n\
             FAILED: unexpected HTTP status: status code 500, wanted 2xx (http_2xx http://web/, after 2.9 ms)\n"
        );
        let ok = text("http_2xx", "http://web/", &report(None), None);
        // A password in the target as typed never reaches the screen.
        let secret = text("http_2xx", "http://u:hunter2@web/", &report(None), None);
        assert!(
            secret.contains("OK: http_2xx http://u:<secret>@web/ "),
            "{secret}"
        );
        let secret = json("http_2xx", "http://u:hunter2@web/", &report(None), None);
        assert!(!secret.contains("hunter2"), "{secret}");
        assert!(
            ok.ends_with("\n\nOK: http_2xx http://web/ succeeded in 2.9 ms\n"),
            "{ok}"
        );
        assert!(!ok.contains("probe_success"), "{ok}");
    }

    fn sample(name: &'static str, labels: &[(&'static str, &'static str)], value: f64) -> Sample {
        Sample {
            name,
            labels: labels.iter().map(|(k, v)| (*k, (*v).into())).collect(),
            value,
        }
    }

    /// An HTTPS run with a redirect: the phases of both hops summed in the
    /// order measured, the lookup as `resolve`, then TLS and HTTP in words.
    #[test]
    fn the_summary_tabulates_phases_and_names_tls_and_http() {
        let mut run = report(None);
        let expiry = std::time::SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            + 28 * 86_400
            + 3_600;
        run.samples = vec![
            sample(
                "probe_http_duration_seconds",
                &[("phase", "connect")],
                0.000_4,
            ),
            sample("probe_http_duration_seconds", &[("phase", "tls")], 0.0),
            sample("probe_dns_lookup_time_seconds", &[], 0.000_2),
            sample(
                "probe_http_duration_seconds",
                &[("phase", "processing")],
                0.001_5,
            ),
            sample(
                "probe_http_duration_seconds",
                &[("phase", "connect")],
                0.000_1,
            ),
            sample("probe_http_status_code", &[], 200.0),
            sample("probe_http_version", &[], 1.1),
            sample("probe_http_redirects", &[], 2.0),
            sample("probe_http_content_length", &[], 1093.0),
            sample("probe_tls_version_info", &[("version", "TLS 1.3")], 1.0),
            sample("probe_ssl_earliest_cert_expiry", &[], expiry as f64),
        ];
        let out = text("http_2xx", "https://web/", &run, None);
        let date = crate::civil_date::date(expiry as i64);
        let want = format!(
            "Resolved web to 127.0.0.1\nConnected\n\n\
             \x20 phase              ms\n\
             \x20 resolve         0.200\n\
             \x20 connect         0.500\n\
             \x20 processing      1.500\n\
             \x20 total           2.900\n\
             TLS: TLS 1.3, earliest certificate expires {date} (28 days)\n\
             HTTP: 200 over HTTP/1.1, 2 redirects, 1093 bytes\n\n\
             OK: http_2xx https://web/ succeeded in 2.9 ms\n"
        );
        assert_eq!(out, want);
        let v: serde_json::Value =
            serde_json::from_str(&json("http_2xx", "https://web/", &run, None))
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["phases"]["connect"], 0.0005);
        assert_eq!(v["phases"]["resolve"], 0.0002);
    }

    #[test]
    fn json_carries_the_same_run() {
        let failed = report(Some(ProbeFailure::new(FailureReason::Connect, "refused")));
        let v: serde_json::Value =
            serde_json::from_str(&json("tcp_connect", "db:3306", &failed, None))
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["success"], false);
        assert_eq!(v["outcome"], "connect");
        assert_eq!(v["reason"], "connection failed");
        assert_eq!(v["message"], "refused");
        assert_eq!(v["trace"][1], "Connected");
        assert!(v.get("metrics").is_none());
        let with = json("tcp_connect", "db:3306", &failed, Some("probe_success 0\n"));
        assert!(
            with.contains("\"metrics\":\"probe_success 0\\n\""),
            "{with}"
        );
    }
}
