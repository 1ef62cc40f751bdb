//! `outpost rules`: a Prometheus rule file for the SLOs of `[[slos]]`: recording
//! rules for the error ratio over every window the alerts read, the objective and
//! the budget left, and multiwindow, multi-burn-rate alerts (the Google SRE
//! workbook's "Alerting on SLOs", its recommended four pairs).
//!
//! [`render`] is a pure function of the configuration: the same config gives the
//! same bytes, so the output can be checked in and diffed. The YAML is written
//! by hand (it has one fixed shape); every value from the config goes through
//! the quoting of `text.rs`.

mod sli;
mod text;

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use crate::config::{Config, SliSource, SloSpec};
use sli::Sli;
use text::{
    comment_text, humanize, number, promql_string, range, thousands, yaml_key, yaml_string,
};

/// The bad events a burn-rate alert's long window must hold, at the threshold,
/// before the alert may fire: its minimum-events guard is
/// `events(long window) >= ceil(MIN_BAD_EVENTS / (factor × budget))`. With too
/// few events one failed run is already "14.4 times the budget", and an SLO
/// over a handful of probes would page for every blip.
pub const MIN_BAD_EVENTS: f64 = 10.0;

/// Every generated group is evaluated this often. The guard's event count adds
/// up the 5m rates recorded at each evaluation: each sample covers five minutes,
/// so samples a minute apart count each event five times at a fifth of its
/// weight, and `sum_over_time(rate5m[W]) × 60` is the events of W. Unlike
/// `rate(…[W]) × W` or an average times W, it never extrapolates: an SLO a few
/// minutes old, or a probe run once a minute, counts the runs it really made.
pub const EVALUATION_INTERVAL_SECONDS: u64 = 60;

/// One burn-rate alert: it fires when the error ratio over both windows is above
/// `factor` times the budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurnRate {
    pub long: Duration,
    pub short: Duration,
    pub factor: f64,
    /// The `action` label: `page` or `ticket`.
    pub action: &'static str,
    /// The `severity` label: `critical` or `warning`.
    pub severity: &'static str,
}

const fn hours(n: u64) -> Duration {
    Duration::from_secs(n * 3600)
}

const fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

/// The workbook's four pairs: 2 % of a 30-day budget in 1h, 5 % in 6h (page),
/// 10 % in 1d, 10 % in 3d (ticket).
pub const BURN_RATES: [BurnRate; 4] = [
    BurnRate {
        long: hours(1),
        short: minutes(5),
        factor: 14.4,
        action: "page",
        severity: "critical",
    },
    BurnRate {
        long: hours(6),
        short: minutes(30),
        factor: 6.0,
        action: "page",
        severity: "critical",
    },
    BurnRate {
        long: hours(24),
        short: hours(2),
        factor: 3.0,
        action: "ticket",
        severity: "warning",
    },
    BurnRate {
        long: hours(72),
        short: hours(6),
        factor: 1.0,
        action: "ticket",
        severity: "warning",
    },
];

/// Windows whose rates are read from raw samples: every short window, and the
/// long windows up to 6h.
const RAW_WINDOWS: [Duration; 5] = [minutes(5), minutes(30), hours(1), hours(2), hours(6)];

/// Windows averaged from the recorded 5m rates instead (with the SLO's own
/// window): never from raw samples, which over 30 days would be every sample of
/// every selected series. The 5m rate is one series per SLO, so 30 days of it at a
/// 1m evaluation interval is 43,200 samples, cheap at every evaluation.
const AVERAGED_WINDOWS: [Duration; 2] = [hours(24), hours(72)];

/// The alert every burn-rate rule raises.
pub const ALERT_NAME: &str = "SloErrorBudgetBurn";

/// The runbook section the alerts link to, after `--runbook-base`: the alert's
/// name lowercased, the anchor GitHub makes of docs/runbooks.md's
/// `### SloErrorBudgetBurn`, as every shipped rule links it (and
/// scripts/check-runbooks.sh requires of every alert in prometheus/).
pub const RUNBOOK_ANCHOR: &str = "sloerrorbudgetburn";

/// The events the long window must hold for an alert of `factor` on a budget of
/// `budget` (a ratio) to fire: see [`MIN_BAD_EVENTS`].
pub fn min_events(factor: f64, budget: f64) -> u64 {
    // Rounded first, so float error (10 / 0.0001 = 99999.99999999999) does not
    // move the ceiling.
    let n = text::round12(MIN_BAD_EVENTS / (factor * budget)).ceil();
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a positive count, at most 10 / (1 × 1e-12) for a 99.9999999999 % objective"
    )]
    let n = n as u64;
    n
}

/// The rule file for every SLO of `config`; alerts link to
/// `<runbook_base>#sloerrorbudgetburn`.
pub fn render(config: &Config, runbook_base: &str) -> String {
    let mut out = String::new();
    header(&mut out, &config.source);
    if config.slos.is_empty() {
        out.push_str("groups: []\n");
        return out;
    }
    out.push_str("groups:\n");
    for slo in &config.slos {
        for sli in sli::of(slo, config) {
            group(&mut out, config, slo, &sli, runbook_base);
        }
    }
    out
}

fn header(out: &mut String, source: &Path) {
    let path = comment_text(&source.display().to_string());
    let _ = writeln!(
        out,
        "# Generated by `outpost rules` from {path}: the SLOs declared in [[slos]].\n\
         # Do not edit: change [[slos]] and run `outpost rules --config {path} > <file>` again.\n\
         # What the rules compute and why: docs/alerting.md#slos."
    );
}

/// The matchers every rule uses to read the group's own recorded series: several
/// SLOs' groups write the same record names.
fn own(slo: &SloSpec, sli: &Sli) -> String {
    format!(
        "{{slo={},sli={}}}",
        promql_string(&slo.name),
        promql_string(sli.kind)
    )
}

fn group(out: &mut String, config: &Config, slo: &SloSpec, sli: &Sli, runbook_base: &str) {
    let window = range(slo.window);
    let own = own(slo, sli);
    describe(out, config, slo, sli);
    // A fixed interval: the minimum-events guard counts events from the 5m rates
    // recorded once a minute (see `alert`), whatever the server's own interval.
    let _ = writeln!(
        out,
        "  - name: slo-{}-{}\n    interval: {EVALUATION_INTERVAL_SECONDS}s\n    rules:",
        slo.name, sli.kind
    );
    for w in RAW_WINDOWS.map(range) {
        record(
            out,
            slo,
            sli,
            &format!("slo:sli_events:rate{w}"),
            &sli.input.events(&w),
        );
        record(
            out,
            slo,
            sli,
            &format!("slo:sli_errors:rate{w}"),
            &sli.input.errors(&w),
        );
    }
    let mut averaged: Vec<Duration> = AVERAGED_WINDOWS.to_vec();
    if !averaged.contains(&slo.window) {
        averaged.push(slo.window);
    }
    let evaluations = slo.window.as_secs() / 60;
    let _ = writeln!(
        out,
        "      # {} average the 5m rates instead of reading raw samples: one series per SLO,\n      \
         # so {window} at a 1m evaluation interval is {} samples.",
        averaged.iter().map(|d| range(*d)).collect::<Vec<_>>().join(", "),
        thousands(evaluations)
    );
    for w in averaged.iter().map(|d| range(*d)) {
        for series in ["events", "errors"] {
            let expr = format!("avg_over_time(slo:sli_{series}:rate5m{own}[{w}])");
            record(out, slo, sli, &format!("slo:sli_{series}:rate{w}"), &expr);
        }
    }
    for w in RAW_WINDOWS.iter().chain(&averaged).map(|d| range(*d)) {
        let expr = format!("slo:sli_errors:rate{w}{own} / slo:sli_events:rate{w}{own}");
        record(
            out,
            slo,
            sli,
            &format!("slo:sli_error:ratio_rate{w}"),
            &expr,
        );
    }
    let objective = format!("vector({})", number(sli.objective));
    record(out, slo, sli, "slo:objective:ratio", &objective);
    let remaining = format!(
        "1 - slo:sli_error:ratio_rate{window}{own} / {}",
        number(sli.budget)
    );
    record(
        out,
        slo,
        sli,
        "slo:error_budget:remaining_ratio",
        &remaining,
    );
    out.push_str(
        "      # No `for:`: the short window already makes an alert wait for the burn to be\n      \
         # current, and resets it minutes after the burn stops.\n",
    );
    for burn in BURN_RATES {
        alert(out, slo, sli, &burn, runbook_base);
    }
}

/// The comment before a group: the SLO in words, and what each alert needs to fire.
fn describe(out: &mut String, config: &Config, slo: &SloSpec, sli: &Sli) {
    let what = comment_text(&format!(
        "{} % of {} {} over {}",
        number(sli.objective * 100.0),
        lowercase_first(&sli.events),
        sli.good,
        range(slo.window)
    ));
    let _ = writeln!(out, "  # SLO {}: {what}.", slo.name);
    let runs_per_hour = (slo.sli == SliSource::Probes).then(|| {
        config
            .probes
            .iter()
            .filter(|p| slo.selector.matches(p))
            .map(|p| 3600.0 / p.interval.as_secs_f64())
            .sum::<f64>()
    });
    if let Some(runs) = runs_per_hour {
        let _ = writeln!(
            out,
            "  # The selected probes make {} runs per hour from one outpost.",
            number((runs * 10.0).round() / 10.0)
        );
    }
    let _ = writeln!(
        out,
        "  # An alert fires only when its long window holds enough events (from every\n  \
         # outpost together) for its threshold to be {} bad ones:",
        number(MIN_BAD_EVENTS)
    );
    for burn in BURN_RATES {
        let _ = write!(
            out,
            "  #   {}/{} {}x {}: {} events",
            range(burn.long),
            range(burn.short),
            number(burn.factor),
            burn.action,
            min_events(burn.factor, sli.budget)
        );
        if let Some(runs) = runs_per_hour {
            let hours = burn.long.as_secs_f64() / 3600.0;
            let _ = write!(
                out,
                " (one outpost makes {})",
                number((runs * hours).round())
            );
        }
        out.push('\n');
    }
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// One recording rule, labelled with its SLO and SLI.
fn record(out: &mut String, slo: &SloSpec, sli: &Sli, name: &str, expr: &str) {
    let _ = writeln!(
        out,
        "      - record: {name}\n        expr: |\n          {expr}\n        labels:\n          slo: {}\n          sli: {}",
        yaml_string(&slo.name),
        yaml_string(sli.kind)
    );
}

fn alert(out: &mut String, slo: &SloSpec, sli: &Sli, burn: &BurnRate, runbook_base: &str) {
    let own = own(slo, sli);
    let (long, short) = (range(burn.long), range(burn.short));
    let threshold = format!("({} * {})", number(burn.factor), number(sli.budget));
    let _ = writeln!(
        out,
        "      - alert: {ALERT_NAME}\n        expr: |\n          \
         slo:sli_error:ratio_rate{long}{own} > {threshold}\n          \
         and slo:sli_error:ratio_rate{short}{own} > {threshold}\n          \
         and sum_over_time(slo:sli_events:rate5m{own}[{long}]) * {EVALUATION_INTERVAL_SECONDS} >= {}",
        min_events(burn.factor, sli.budget)
    );
    out.push_str("        labels:\n");
    let fixed = [
        ("severity", burn.severity),
        ("action", burn.action),
        ("long_window", long.as_str()),
        ("short_window", short.as_str()),
        ("slo", slo.name.as_str()),
        ("sli", sli.kind),
    ];
    let own_labels = slo.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    for (name, value) in fixed.into_iter().chain(own_labels) {
        // Alert labels are templates too, as annotations are.
        let value = text::template_text(value);
        let _ = writeln!(out, "          {}: {}", yaml_key(name), yaml_string(&value));
    }
    let summary = format!(
        "SLO {} ({}) burns its error budget {}x too fast",
        slo.name,
        sli.kind,
        number(burn.factor)
    );
    let description = format!(
        "{}: {{{{ $value | humanizePercentage }}}} {} over the last {long} (the objective allows {} %); at this rate the {} error budget is gone in {}.",
        text::template_text(&sli.events),
        sli.bad,
        number(sli.budget * 100.0),
        range(slo.window),
        humanize(slo.window.as_secs_f64() / burn.factor)
    );
    let runbook = format!("{runbook_base}#{RUNBOOK_ANCHOR}");
    let _ = writeln!(
        out,
        "        annotations:\n          summary: {}\n          description: {}\n          runbook_url: {}",
        yaml_string(&summary),
        yaml_string(&description),
        yaml_string(&text::template_text(&runbook))
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test data is known to be valid")]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const PROBES: &str = r#"
[modules.http_2xx]
prober = "http"

[modules.slow]
prober = "http"
run_duration_buckets = [0.5, 2, 5]

[[probes]]
name = "web"
module = "http_2xx"
target = "https://web.example.com/"
interval = "15s"
labels = { service = "web", tier = "1" }

[[probes]]
name = "api.v2"
module = "slow"
target = "https://api.example.com/"
interval = "30s"
labels = { service = "api" }
"#;

    fn rules(slos: &str) -> String {
        let text = format!("{PROBES}{slos}");
        let config = Config::from_str_at(&text, Path::new("slo.toml")).unwrap();
        render(&config, "https://runbooks.example/slo")
    }

    /// The `expr` of every rule, by group name and record or alert name (alerts
    /// numbered in order: `SloErrorBudgetBurn#0` ...).
    fn exprs(yaml: &str) -> BTreeMap<(String, String), String> {
        let file: serde_json::Value = serde_saphyr::from_str(yaml).unwrap();
        let mut out = BTreeMap::new();
        for group in file["groups"].as_array().unwrap() {
            let name = group["name"].as_str().unwrap().to_string();
            let mut alerts = 0;
            for rule in group["rules"].as_array().unwrap() {
                let key = match (rule["record"].as_str(), rule["alert"].as_str()) {
                    (Some(record), _) => record.to_string(),
                    (_, Some(alert)) => {
                        alerts += 1;
                        format!("{alert}#{}", alerts - 1)
                    }
                    _ => panic!("{rule}"),
                };
                let expr = rule["expr"].as_str().unwrap().trim_end().to_string();
                assert!(out.insert((name.clone(), key), expr).is_none());
            }
        }
        out
    }

    fn expr(yaml: &str, group: &str, rule: &str) -> String {
        exprs(yaml)
            .remove(&(group.to_string(), rule.to_string()))
            .unwrap_or_else(|| panic!("no {rule} in {group}:\n{yaml}"))
    }

    #[test]
    fn the_runbook_anchor_is_the_alert_name_lowercased() {
        assert_eq!(RUNBOOK_ANCHOR, ALERT_NAME.to_lowercase());
    }

    #[test]
    fn no_slos_is_an_empty_group_list_under_the_header() {
        let config = Config::from_str_at(PROBES, Path::new("probes.toml")).unwrap();
        assert_eq!(
            render(&config, "docs/runbooks.md"),
            "# Generated by `outpost rules` from probes.toml: the SLOs declared in [[slos]].\n\
             # Do not edit: change [[slos]] and run `outpost rules --config probes.toml > <file>` again.\n\
             # What the rules compute and why: docs/alerting.md#slos.\n\
             groups: []\n"
        );
    }

    #[test]
    fn a_names_selector_is_one_matcher_or_an_escaped_regex() {
        let one = rules("[[slos]]\nname = \"one\"\nprobes = [\"web\"]\nobjective = 99.9\n");
        assert_eq!(
            expr(&one, "slo-one-availability", "slo:sli_events:rate5m"),
            "sum(rate(probe_runs_total{probe=\"web\"}[5m]))"
        );
        assert_eq!(
            expr(&one, "slo-one-availability", "slo:sli_errors:rate30m"),
            "sum(rate(probe_runs_total{probe=\"web\",outcome=\"failure\"}[30m]))"
        );
        let two =
            rules("[[slos]]\nname = \"two\"\nprobes = [\"web\", \"api.v2\"]\nobjective = 99.9\n");
        assert_eq!(
            expr(&two, "slo-two-availability", "slo:sli_events:rate1h"),
            "sum(rate(probe_runs_total{probe=~\"web|api\\\\.v2\"}[1h]))"
        );
    }

    #[test]
    fn a_labels_selector_is_its_pairs_in_key_order() {
        let yaml = rules(
            "[[slos]]\nname = \"web\"\nprobes = { tier = \"1\", service = \"web\" }\nobjective = 99.9\n",
        );
        assert_eq!(
            expr(&yaml, "slo-web-availability", "slo:sli_errors:rate6h"),
            "sum(rate(probe_runs_total{service=\"web\",tier=\"1\",outcome=\"failure\"}[6h]))"
        );
        assert!(yaml.contains(
            "  # SLO web: 99.9 % of runs of probes {service=\"web\",tier=\"1\"} succeed over 30d.\n  \
             # The selected probes make 240 runs per hour from one outpost.\n"
        ));
    }

    #[test]
    fn latency_counts_the_runs_over_the_bound_and_matches_both_spellings_of_whole_bounds() {
        let yaml = rules(
            "[[slos]]\nname = \"api\"\nprobes = [\"api.v2\"]\nobjective = 99.9\nlatency = \"2s\"\nlatency_objective = 99\n\
             [[slos]]\nname = \"web\"\nprobes = { service = \"web\" }\nobjective = 99.9\nlatency = \"500ms\"\nlatency_objective = 95\n",
        );
        assert_eq!(
            expr(&yaml, "slo-api-latency", "slo:sli_errors:rate5m"),
            "sum(rate(probe_run_duration_seconds_count{probe=\"api.v2\"}[5m])) - \
             sum(rate(probe_run_duration_seconds_bucket{probe=\"api.v2\",le=~\"2|2\\\\.0\"}[5m]))"
        );
        assert_eq!(
            expr(&yaml, "slo-web-latency", "slo:sli_events:rate2h"),
            "sum(rate(probe_run_duration_seconds_count{service=\"web\"}[2h]))"
        );
        assert!(
            expr(&yaml, "slo-web-latency", "slo:sli_errors:rate2h").ends_with(
                "sum(rate(probe_run_duration_seconds_bucket{service=\"web\",le=\"0.5\"}[2h]))"
            )
        );
        assert_eq!(sli::le_matcher(2.0), "le=~\"2|2\\\\.0\"");
        assert_eq!(sli::le_matcher(0.25), "le=\"0.25\"");
        // The latency budget is latency_objective's: 1 % for 99, N = ceil(10 / 0.144).
        assert_eq!(
            expr(&yaml, "slo-api-latency", "SloErrorBudgetBurn#0"),
            "slo:sli_error:ratio_rate1h{slo=\"api\",sli=\"latency\"} > (14.4 * 0.01)\n\
             and slo:sli_error:ratio_rate5m{slo=\"api\",sli=\"latency\"} > (14.4 * 0.01)\n\
             and sum_over_time(slo:sli_events:rate5m{slo=\"api\",sli=\"latency\"}[1h]) * 60 >= 70"
        );
        assert_eq!(
            expr(&yaml, "slo-api-latency", "slo:objective:ratio"),
            "vector(0.99)"
        );
    }

    #[test]
    fn alb_rates_divide_by_the_cloudwatch_period_and_join_tags_on_the_info_series() {
        let text = format!(
            "{PROBES}[aws]\nregions = [\"eu-west-1\"]\ntag_labels = [\"team\"]\n[aws.cloudwatch]\nperiod = \"300s\"\n\
             [[slos]]\nname = \"edge\"\nsli = \"alb\"\nprobes = {{ tag_team = \"web\", region = \"eu-west-1\" }}\nobjective = 99.9\n\
             [[slos]]\nname = \"all\"\nsli = \"alb\"\nobjective = 99\n"
        );
        let config = Config::from_str_at(&text, Path::new("slo.toml")).unwrap();
        let yaml = render(&config, "docs/runbooks.md");
        let join = "* on (region, load_balancer) group_left () group by (region, load_balancer) (aws_elbv2_load_balancer_info{tag_team=\"web\"})";
        assert_eq!(
            expr(&yaml, "slo-edge-availability", "slo:sli_events:rate5m"),
            format!("sum(avg_over_time(aws_applicationelb_request_count_sum{{region=\"eu-west-1\"}}[5m]) {join}) / 300")
        );
        assert_eq!(
            expr(&yaml, "slo-edge-availability", "slo:sli_errors:rate30m"),
            format!(
                "(sum(avg_over_time(aws_applicationelb_httpcode_target_5xx_count_sum{{region=\"eu-west-1\"}}[30m]) {join}) + \
                 sum(avg_over_time(aws_applicationelb_httpcode_elb_5xx_count_sum{{region=\"eu-west-1\"}}[30m]) {join})) / 300"
            )
        );
        assert_eq!(
            expr(&yaml, "slo-all-availability", "slo:sli_events:rate5m"),
            "sum(avg_over_time(aws_applicationelb_request_count_sum[5m])) / 300"
        );
        assert!(!yaml.contains("slo-edge-latency"));
        assert!(yaml.contains("  # SLO edge: 99.9 % of requests to ALBs {region=\"eu-west-1\",tag_team=\"web\"} get no 5xx over 30d.\n"));
        assert!(
            !yaml.contains("runs per hour"),
            "ALB SLOs have no probe runs"
        );
        // No [aws.cloudwatch]: CloudWatch's default period of 60 s.
        let yaml = rules("[[slos]]\nname = \"all\"\nsli = \"alb\"\nobjective = 99\n");
        assert_eq!(
            expr(&yaml, "slo-all-availability", "slo:sli_events:rate5m"),
            "sum(avg_over_time(aws_applicationelb_request_count_sum[5m])) / 60"
        );
    }

    #[test]
    fn numbers_thresholds_and_minimum_events() {
        let yaml = rules(
            "[[slos]]\nname = \"web\"\nprobes = [\"web\"]\nobjective = 99.99\nlabels = { team = \"web\" }\n",
        );
        let group = "slo-web-availability";
        let own = "{slo=\"web\",sli=\"availability\"}";
        // The guard's event count assumes samples a minute apart: the group says so.
        assert!(
            yaml.contains("  - name: slo-web-availability\n    interval: 60s\n    rules:\n"),
            "{yaml}"
        );
        assert_eq!(
            expr(&yaml, group, "SloErrorBudgetBurn#0"),
            format!(
                "slo:sli_error:ratio_rate1h{own} > (14.4 * 0.0001)\n\
                 and slo:sli_error:ratio_rate5m{own} > (14.4 * 0.0001)\n\
                 and sum_over_time(slo:sli_events:rate5m{own}[1h]) * 60 >= 6945"
            )
        );
        assert_eq!(
            expr(&yaml, group, "SloErrorBudgetBurn#3"),
            format!(
                "slo:sli_error:ratio_rate3d{own} > (1 * 0.0001)\n\
                 and slo:sli_error:ratio_rate6h{own} > (1 * 0.0001)\n\
                 and sum_over_time(slo:sli_events:rate5m{own}[3d]) * 60 >= 100000"
            )
        );
        assert_eq!(expr(&yaml, group, "slo:objective:ratio"), "vector(0.9999)");
        assert_eq!(
            expr(&yaml, group, "slo:error_budget:remaining_ratio"),
            format!("1 - slo:sli_error:ratio_rate30d{own} / 0.0001")
        );
        assert_eq!(
            expr(&yaml, group, "slo:sli_events:rate30d"),
            format!("avg_over_time(slo:sli_events:rate5m{own}[30d])")
        );
        assert_eq!(
            [14.4, 6.0, 3.0, 1.0].map(|f| min_events(f, 0.0001)),
            [6945, 16667, 33334, 100000]
        );
        assert_eq!(min_events(14.4, 0.01), 70);
        assert!(yaml.contains(
            "          severity: \"critical\"\n          action: \"page\"\n          long_window: \"1h\"\n          \
             short_window: \"5m\"\n          slo: \"web\"\n          sli: \"availability\"\n          team: \"web\"\n"
        ));
        assert!(yaml.contains(
            "          summary: \"SLO web (availability) burns its error budget 14.4x too fast\"\n          \
             description: \"Runs of probes {probe=\\\"web\\\"}: {{ $value | humanizePercentage }} failed over the last 1h \
             (the objective allows 0.01 %); at this rate the 30d error budget is gone in 2.1 days.\"\n          \
             runbook_url: \"https://runbooks.example/slo#sloerrorbudgetburn\"\n"
        ));
        assert!(yaml.contains("#   1h/5m 14.4x page: 6945 events (one outpost makes 240)\n"));
    }

    /// Several SLOs write the same record names; every read of a recorded series
    /// selects its own SLO and SLI, and names a series its group records.
    #[test]
    fn every_recorded_series_read_is_recorded_by_the_same_group() {
        let yaml = rules(
            "[[slos]]\nname = \"a\"\nprobes = [\"web\"]\nobjective = 99.9\nlatency = \"500ms\"\nlatency_objective = 99\nwindow = \"28d\"\n\
             [[slos]]\nname = \"b\"\nsli = \"alb\"\nobjective = 99.5\nwindow = \"3d\"\n",
        );
        let read = regex::Regex::new(r"(slo:[a-z_:]+[0-9a-z]*)(\{[^}]*\})?").unwrap();
        let all = exprs(&yaml);
        let groups: std::collections::BTreeSet<&String> = all.keys().map(|(g, _)| g).collect();
        assert_eq!(
            groups.into_iter().cloned().collect::<Vec<_>>(),
            ["slo-a-availability", "slo-a-latency", "slo-b-availability"]
        );
        let mut reads = 0;
        for ((group, _), expr) in &all {
            let (slo, sli) = group
                .strip_prefix("slo-")
                .and_then(|g| g.split_once('-'))
                .unwrap();
            for m in read.captures_iter(expr) {
                reads += 1;
                let name = &m[1];
                assert!(
                    all.contains_key(&(group.clone(), name.to_string())),
                    "{group} reads {name}, which it does not record"
                );
                assert_eq!(
                    m.get(2).map(|s| s.as_str()),
                    Some(format!("{{slo=\"{slo}\",sli=\"{sli}\"}}").as_str()),
                    "{group}: {expr}"
                );
            }
        }
        assert!(reads > 60, "{reads}");
        // A 3d window is the 3d average already recorded: once, not twice.
        assert_eq!(yaml.matches("record: slo:sli_events:rate3d\n").count(), 3);
        assert_eq!(yaml.matches("record: slo:sli_events:rate28d\n").count(), 2);
    }

    #[test]
    fn values_from_the_config_are_quoted_so_they_read_back_exactly() {
        let text = format!(
            "{PROBES}[[probes]]\nname = 'odd \"one\" \\ {{{{x}}}}'\nmodule = \"http_2xx\"\ntarget = \"http://x/\"\n\
             interval = \"1m\"\nlabels = {{ service = \"a\\nb\" }}\n\
             [[slos]]\nname = \"odd\"\nprobes = {{ service = \"a\\nb\" }}\nobjective = 99\n\
             labels = {{ on = \"yes\", note = \"say \\\"hi\\\" \\\\ {{{{ $labels }}}}\" }}\n"
        );
        let config = Config::from_str_at(&text, Path::new("slo.toml")).unwrap();
        let yaml = render(&config, "docs/runbooks.md");
        let file: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        let alert = &file["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["alert"].is_string())
            .unwrap()
            .clone();
        assert_eq!(alert["labels"]["on"], "yes");
        // A template on its own would be expanded: it is printed literally.
        assert_eq!(
            alert["labels"]["note"],
            "say \"hi\" \\ {{\"{{\"}} $labels }}"
        );
        assert_eq!(
            file["groups"][0]["rules"][0]["expr"]
                .as_str()
                .unwrap()
                .trim_end(),
            "sum(rate(probe_runs_total{service=\"a\\u000ab\"}[5m]))"
        );
        let description = alert["annotations"]["description"].as_str().unwrap();
        assert!(
            description.starts_with("Runs of probes {service=\"a\\u000ab\"}: {{ $value"),
            "{description}"
        );
        // Every comment stays one line: nothing spills to the first column.
        for line in yaml.lines() {
            assert!(
                line.starts_with('#') || line.starts_with("groups:") || line.starts_with("  "),
                "{line:?}"
            );
        }
        assert!(yaml.contains(
            "# SLO odd: 99 % of runs of probes {service=\"a\\u000ab\"} succeed over 30d.\n"
        ));
    }

    #[test]
    fn the_output_is_deterministic_and_ends_with_a_newline() {
        let slos = "[[slos]]\nname = \"x\"\nprobes = { service = \"web\", tier = \"1\" }\nobjective = 99.95\n\
                    latency = \"500ms\"\nlatency_objective = 99\nlabels = { b = \"2\", a = \"1\" }\n\
                    [[slos]]\nname = \"y\"\nsli = \"alb\"\nprobes = { load_balancer = \"app\", tag_team = \"t\" }\nobjective = 99\n";
        let first = rules(slos);
        for _ in 0..5 {
            assert_eq!(rules(slos), first);
        }
        assert!(
            first.ends_with("runbook_url: \"https://runbooks.example/slo#sloerrorbudgetburn\"\n")
        );
        // The SLO's own labels in the order written.
        assert!(first.contains("          b: \"2\"\n          a: \"1\"\n"));
    }
}
