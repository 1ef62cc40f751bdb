//! What `outpost probe` prints of one run: the trace a person reads, top to
//! bottom, and a verdict as the last line, so the screen ends on the answer
//! (the series, when asked for, come before it); or the same as one JSON object.

use std::fmt::Write;

use super::ProbeReport;

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
        "trace": report.trace,
    });
    if let (Some(series), Some(map)) = (series, value.as_object_mut()) {
        map.insert("metrics".to_string(), series.into());
    }
    let mut out = value.to_string();
    out.push('\n');
    out
}

fn millis(report: &ProbeReport) -> String {
    format!("{:.1} ms", report.duration.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::probe::report::{FailureReason, ProbeFailure};

    fn report(failure: Option<ProbeFailure>) -> ProbeReport {
        ProbeReport {
            success: failure.is_none(),
            failure,
            duration: Duration::from_micros(2_900),
            timeout: Duration::from_secs(5),
            started_at: SystemTime::UNIX_EPOCH,
            samples: Vec::new(),
            trace: vec!["Resolved web to 127.0.0.1".into(), "Connected".into()],
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
