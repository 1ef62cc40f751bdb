//! `outpost rules`' alerts evaluated by promtool's rule engine (`promtool test
//! rules`) on synthetic run counters: a fast burn pages and nothing else fires, the
//! minimum-events guard keeps a rarely run probe from paging, and the recorded error
//! ratio is the failed share of the runs.

use std::path::Path;
use std::process::Command;

use outpost::config::Config;

const CONFIG: &str = r#"
[modules.http_2xx]
prober = "http"

[[probes]]
name = "web"
module = "http_2xx"
target = "https://web.example.com/"
interval = "1s"

[[probes]]
name = "rare"
module = "http_2xx"
target = "https://rare.example.com/"
interval = "1m"

[[slos]]
name = "web"
probes = ["web"]
objective = 99

[[slos]]
name = "rare"
probes = ["rare"]
objective = 99
"#;

/// Two scenarios, one promtool run. Values are per minute (`interval: 1m`).
///
/// 1. web: 25 h of 100 successful runs a minute, then 10 minutes of 100 failed runs
///    a minute. The last hour is 17 % failures, 14.4 times the 1 % budget and
///    more: the 1h/5m page fires. The 6h (2.8 %), 1d and 3d ratios stay under 6, 3
///    and 1 times the budget: nothing else does.
/// 2. web fails a quarter of 100 runs a minute, rare fails its one run a minute,
///    for 90 minutes. Every pair of web fires. rare's error ratio is 100 %, but
///    its hour holds 60 runs, fewer than the 70 = ceil(10 / (14.4 × 0.01)) the
///    1h page needs, and its 6h, 1d and 3d windows hold the same 90 runs, under
///    167, 334 and 1000: no page and no ticket. The guard counts the runs made,
///    never a rate stretched over a window the probe has not lived through yet.
const TESTS: &str = r#"
rule_files: [slo.rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'probe_runs_total{probe="web",outcome="success"}'
        values: '0+100x1500 150000x10'
      - series: 'probe_runs_total{probe="web",outcome="failure"}'
        values: '0x1500 0+100x10'
    alert_rule_test:
      - eval_time: 1511m
        alertname: SloErrorBudgetBurn
        exp_alerts:
          - exp_labels: {severity: critical, action: page, long_window: 1h, short_window: 5m, slo: web, sli: availability}
            exp_annotations:
              summary: "SLO web (availability) burns its error budget 14.4x too fast"
              description: "Runs of probes {probe=\"web\"}: 16.95% failed over the last 1h (the objective allows 1 %); at this rate the 30d error budget is gone in 2.1 days."
              runbook_url: "docs/runbooks.md#sloerrorbudgetburn"
  - interval: 1m
    input_series:
      - series: 'probe_runs_total{probe="web",outcome="success"}'
        values: '0+75x120'
      - series: 'probe_runs_total{probe="web",outcome="failure"}'
        values: '0+25x120'
      - series: 'probe_runs_total{probe="rare",outcome="success"}'
        values: '0x120'
      - series: 'probe_runs_total{probe="rare",outcome="failure"}'
        values: '0+1x120'
    promql_expr_test:
      - expr: slo:sli_error:ratio_rate1h
        eval_time: 90m
        exp_samples:
          - labels: 'slo:sli_error:ratio_rate1h{slo="rare",sli="availability"}'
            value: 1
          - labels: 'slo:sli_error:ratio_rate1h{slo="web",sli="availability"}'
            value: 0.25
      - expr: slo:error_budget:remaining_ratio{slo="web"}
        eval_time: 90m
        exp_samples:
          - labels: 'slo:error_budget:remaining_ratio{slo="web",sli="availability"}'
            value: -24
      - expr: count by (slo, long_window) (ALERTS{alertstate="firing"})
        eval_time: 90m
        exp_samples:
          - labels: '{slo="web",long_window="1h"}'
            value: 1
          - labels: '{slo="web",long_window="6h"}'
            value: 1
          - labels: '{slo="web",long_window="1d"}'
            value: 1
          - labels: '{slo="web",long_window="3d"}'
            value: 1
"#;

#[test]
fn burn_rate_alerts_fire_as_promtool_evaluates_them() {
    let config = Config::from_str_at(CONFIG, Path::new("slo.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slo.rules.yml"),
        outpost::slo_rules::render(&config, "docs/runbooks.md"),
    )
    .unwrap();
    let tests = dir.path().join("slo.test.yml");
    std::fs::write(&tests, TESTS).unwrap();
    let out = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&tests)
        .output()
        .unwrap_or_else(|e| {
            panic!("promtool not found ({e}); `make test` installs it (apt-get install prometheus)")
        });
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// prometheus/outpost-slo.rules.yml is what `outpost rules` prints for the shipped
/// probes.toml, byte for byte: change an SLO (or the generator) and this fails
/// until the file is made again.
#[test]
fn shipped_slo_rules_are_the_output_for_the_shipped_config() {
    let out = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .args(["rules", "--config", "probes.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = String::from_utf8(out.stdout).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("prometheus/outpost-slo.rules.yml");
    let shipped = std::fs::read_to_string(&shipped).unwrap();
    assert!(
        generated == shipped,
        "prometheus/outpost-slo.rules.yml is out of date; make it again with\n  \
         cargo run -- rules --config probes.toml > prometheus/outpost-slo.rules.yml\n\
         (first line that differs: {:?})",
        generated.lines().zip(shipped.lines()).find(|(a, b)| a != b)
    );
    // The seed's SLA: both SLOs, each SLI, every alert pair.
    for group in [
        "slo-web-availability-availability",
        "slo-web-probes-availability",
        "slo-web-probes-latency",
    ] {
        assert!(shipped.contains(&format!("- name: {group}\n")), "{group}");
    }
    assert_eq!(shipped.matches("- alert: SloErrorBudgetBurn").count(), 12);
}
