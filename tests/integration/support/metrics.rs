//! Asserting series of a `ProbeReport` by name, labels and value.

use outpost::probe::ProbeReport;

fn dump(report: &ProbeReport) -> String {
    let mut s = String::new();
    for x in &report.samples {
        s.push_str(&format!("  {}{:?} {}\n", x.name, x.labels, x.value));
    }
    s.push_str(&format!("  outcome: {}\n", report.outcome()));
    for t in &report.trace {
        s.push_str(&format!("  | {t}\n"));
    }
    s
}

/// Asserts the sample `name{labels}` exists with `value`.
#[track_caller]
pub(crate) fn assert_metric(report: &ProbeReport, name: &str, labels: &[(&str, &str)], value: f64) {
    match report.value(name, labels) {
        Some(v) if v == value => {}
        other => panic!(
            "{name}{labels:?}: expected {value}, got {other:?}\nreport:\n{}",
            dump(report)
        ),
    }
}

/// Asserts no sample is named `name`.
#[track_caller]
pub(crate) fn assert_absent(report: &ProbeReport, name: &str) {
    assert!(
        report.samples.iter().all(|s| s.name != name),
        "{name} should be absent\nreport:\n{}",
        dump(report)
    );
}

/// Asserts a sample named `name` exists (any labels, any value).
#[track_caller]
pub(crate) fn assert_present(report: &ProbeReport, name: &str) {
    assert!(
        report.samples.iter().any(|s| s.name == name),
        "{name} should be present\nreport:\n{}",
        dump(report)
    );
}

/// Asserts the run's outcome: `success` or a failure reason label.
#[track_caller]
pub(crate) fn assert_outcome(report: &ProbeReport, outcome: &str) {
    assert_eq!(
        report.outcome(),
        outcome,
        "unexpected outcome ({:?})\nreport:\n{}",
        report.failure,
        dump(report)
    );
    assert_eq!(report.success, outcome == "success");
}

/// The labels of every sample named `name`.
pub(crate) fn labels_of(report: &ProbeReport, name: &str) -> Vec<Vec<(String, String)>> {
    report
        .samples
        .iter()
        .filter(|s| s.name == name)
        .map(|s| {
            s.labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The `phase` labels of `probe_http_duration_seconds`.
pub(crate) fn phases(report: &ProbeReport) -> Vec<String> {
    labels_of(report, "probe_http_duration_seconds")
        .into_iter()
        .filter_map(|l| l.into_iter().find(|(k, _)| k == "phase").map(|(_, v)| v))
        .collect()
}
