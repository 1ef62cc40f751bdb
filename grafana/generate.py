#!/usr/bin/env python3
"""Writes the four provisioned dashboards under grafana/dashboards/.

The JSON files are what Grafana loads and what the tests check; this script is
how they are kept uniform (layout, datasource variable, template variables).
Edit the panel tables below, run `python3 grafana/generate.py`, commit both
(tests/integration/dashboards.rs fails when the files and this script differ).
Standard library only.
"""
import json
import pathlib
import sys

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'region=~"$region"'
PSEL = 'region=~"$region",probe=~"$probe"'
# outpost's own scrape job, not its Blackbox-style /probe jobs (outpost-probe-*),
# whose series name the targets, not outpost instances.
OUTPOST_JOB = 'job=~"outpost.*",job!~"outpost-probe-.*"'
SLO = "0.9999"


def datasource_var():
    return {
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
        "refresh": 1,
        "regex": "",
        "options": [],
    }


def query_var(name, label, query):
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "definition": query,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery", "qryType": 1},
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "refresh": 2,
        "sort": 1,
        "hide": 0,
        "regex": "",
        "options": [],
    }


def target(ref, expr, legend="", instant=False, fmt="time_series"):
    t = {"refId": ref, "datasource": DS, "expr": expr, "legendFormat": legend or "__auto"}
    if instant:
        t.update(instant=True, range=False)
    else:
        t.update(instant=False, range=True)
    t["format"] = fmt
    return t


def panel(kind, title, desc, targets, w=12, h=8, unit=None, extra=None, **defaults):
    p = {
        "type": kind,
        "title": title,
        "description": desc,
        "datasource": DS,
        "targets": targets,
        "gridPos": {"w": w, "h": h},
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {},
    }
    if unit:
        p["fieldConfig"]["defaults"]["unit"] = unit
    p["fieldConfig"]["defaults"].update(defaults)
    if extra:
        p.update(extra)
    return p


def ts(title, desc, exprs, **kw):
    """A time series panel; exprs is a list of (expr, legend)."""
    targets = [target(chr(65 + i), e, l) for i, (e, l) in enumerate(exprs)]
    return panel("timeseries", title, desc, targets, **kw)


def table(title, desc, exprs, transformations=None, **kw):
    """An instant-query table; exprs is a list of (expr, legend)."""
    targets = [target(chr(65 + i), e, l, instant=True, fmt="table") for i, (e, l) in enumerate(exprs)]
    p = panel("table", title, desc, targets, **kw)
    p["transformations"] = transformations or []
    return p


def stat(title, desc, exprs, kind="stat", **kw):
    targets = [target(chr(65 + i), e, l, instant=True) for i, (e, l) in enumerate(exprs)]
    p = panel(kind, title, desc, targets, **kw)
    p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}}
    return p


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [], "gridPos": {"w": 24, "h": 1}}


def thresholds(*steps):
    """steps: (value or None, colour) pairs, lowest first."""
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in steps]}


AVAIL_STEPS = thresholds((None, "red"), (0.999, "orange"), (0.9999, "green"))


def layout(panels):
    """Left to right, wrapping at 24 columns; a row starts a new line."""
    x = y = line = 0
    for i, p in enumerate(panels, start=1):
        p["id"] = i
        g = p["gridPos"]
        if p["type"] == "row" or x + g["w"] > 24:
            x, y, line = 0, y + line, 0
        g["x"], g["y"] = x, y
        x += g["w"]
        line = max(line, g["h"])
        if p["type"] == "row":
            x, y, line = 0, y + g["h"], 0
    return panels


def dashboard(uid, title, desc, tags, panels, region_query, probe_query):
    return {
        "uid": uid,
        "title": title,
        "description": desc,
        "tags": ["outpost"] + tags,
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "timezone": "utc",
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "timepicker": {},
        "annotations": {"list": []},
        "links": [
            {"type": "dashboards", "tags": ["outpost"], "asDropdown": True, "title": "outpost",
             "includeVars": True, "keepTime": True}
        ],
        "templating": {
            "list": [
                datasource_var(),
                query_var("region", "Region", region_query),
                query_var("probe", "Probe", probe_query),
            ]
        },
        "panels": layout(panels),
    }


# ---------------------------------------------------------------- SLA overview
def sla_overview():
    matrix = [{
        "id": "groupingToMatrix",
        "options": {"rowField": "target", "columnField": "region", "valueField": "Value",
                    "emptyValue": "null"},
    }]
    budget = f"1 - (1 - region:availability:ratio_rate30d{{{SEL}}}) / (1 - {SLO})"
    probe_budget = f"1 - probe:error:ratio_rate30d{{{PSEL}}} / (1 - {SLO})"
    cw = 'region=~"$region"'
    panels = [
        row("Availability SLO (99.99 % over 30 days)"),
        stat("Availability per region, 30 d", "region:availability:ratio_rate30d: successful runs / all runs of every probe in the region.",
             [(f"region:availability:ratio_rate30d{{{SEL}}}", "{{region}}")], w=8, h=6,
             unit="percentunit", decimals=3, thresholds=AVAIL_STEPS),
        stat("Error budget left, 30 d", f"Share of the 30-day error budget of the {SLO} SLO not yet spent: 1 - (1 - availability) / (1 - SLO). Below 0: the SLO is broken.",
             [(budget, "{{region}}")], w=8, h=6, unit="percentunit", decimals=1,
             thresholds=thresholds((None, "red"), (0.25, "orange"), (0.5, "green"))),
        stat("Latency SLO: runs under 500 ms, 1 h", "Share of runs faster than 500 ms (probe:latency_under_500ms:ratio_rate1h), worst probe per region.",
             [(f"min by (region) (probe:latency_under_500ms:ratio_rate1h{{{PSEL}}})", "{{region}}")],
             w=8, h=6, unit="percentunit", decimals=2, thresholds=AVAIL_STEPS),
        table("Availability matrix: target x region, 1 h", "probe:availability:ratio_rate1h per target (rows) and region (columns): a target red in one column is a regional problem, red in every column a global one.",
              [(f"min by (region, target) (probe:availability:ratio_rate1h{{{PSEL}}})", "")],
              transformations=matrix, w=12, h=10, unit="percentunit", decimals=3,
              thresholds=AVAIL_STEPS, color={"mode": "thresholds"},
              custom={"cellOptions": {"type": "color-background"}}),
        table("Availability matrix: target x region, 30 d", "As the 1 h matrix, over the SLO window.",
              [(f"min by (region, target) (probe:availability:ratio_rate30d{{{PSEL}}})", "")],
              transformations=matrix, w=12, h=10, unit="percentunit", decimals=4,
              thresholds=AVAIL_STEPS, color={"mode": "thresholds"},
              custom={"cellOptions": {"type": "color-background"}}),
        ts("Availability per region", "region:availability:ratio_rate5m and ratio_rate1h.",
           [(f"region:availability:ratio_rate5m{{{SEL}}}", "{{region}} 5m"),
            (f"region:availability:ratio_rate1h{{{SEL}}}", "{{region}} 1h")],
           unit="percentunit", max=1),
        table("Error budget left per probe, 30 d", "Per probe and region; sorted, worst first.",
              [(f"sort({probe_budget})", "")], unit="percentunit", decimals=1,
              thresholds=thresholds((None, "red"), (0.25, "orange"), (0.5, "green")),
              color={"mode": "thresholds"}, custom={"cellOptions": {"type": "color-text"}}),
        ts("Burn rate (1 h and 5 m windows)", "Error ratio divided by the budget ratio (1 - SLO): 14.4 spends 2 % of a 30-day budget in an hour (the fast-burn page).",
           [(f"max by (region, probe) (probe:error:ratio_rate1h{{{PSEL}}}) / (1 - {SLO})", "{{region}} {{probe}} 1h"),
            (f"max by (region, probe) (probe:error:ratio_rate5m{{{PSEL}}}) / (1 - {SLO})", "{{region}} {{probe}} 5m")],
           unit="short"),
        ts("Runs under 500 ms per probe", "probe:latency_under_500ms:ratio_rate5m.",
           [(f"probe:latency_under_500ms:ratio_rate5m{{{PSEL}}}", "{{region}} {{probe}}")],
           unit="percentunit", max=1),
        ts("Error ratio per probe, 5 m", "probe:error:ratio_rate5m: the SLA's 0.1 % error ratio threshold is the dashed line.",
           [(f"probe:error:ratio_rate5m{{{PSEL}}}", "{{region}} {{probe}}")],
           unit="percentunit", custom={"thresholdsStyle": {"mode": "dashed"}},
           thresholds=thresholds((None, "green"), (0.001, "red"))),
        row("Real traffic (CloudWatch, ALB)"),
        ts("ALB target 5xx ratio", "HTTPCode_Target_5XX_Count / RequestCount per load balancer, from CloudWatch ([aws.cloudwatch]).",
           [(f"sum by (region, load_balancer) (aws_applicationelb_httpcode_target_5xx_count_sum{{{cw}}}) / sum by (region, load_balancer) (aws_applicationelb_request_count_sum{{{cw}}})",
             "{{region}} {{load_balancer}}")], w=8, unit="percentunit"),
        ts("ALB TargetResponseTime", "Average TargetResponseTime per load balancer from CloudWatch; the SLA's 2 s line is red.",
           [(f"max by (region, load_balancer) (aws_applicationelb_target_response_time_average{{{cw}}})", "{{region}} {{load_balancer}}")],
           w=8, unit="s", custom={"thresholdsStyle": {"mode": "dashed"}},
           thresholds=thresholds((None, "green"), (2, "red"))),
        ts("ALB requests", "RequestCount (sum over the CloudWatch period) per load balancer.",
           [(f"sum by (region, load_balancer) (aws_applicationelb_request_count_sum{{{cw}}})", "{{region}} {{load_balancer}}")],
           w=8, unit="short"),
    ]
    return dashboard(
        "outpost-sla-overview", "outpost / SLA overview",
        "Availability and latency SLOs of every probed target in every region, error budget, and the real traffic seen by the load balancers.",
        ["sla"], panels,
        "label_values(probe_success, region)",
        'label_values(probe_success{region=~"$region"}, probe)',
    )


# ---------------------------------------------------------------- probe detail
def probe_detail():
    rate = "[$__rate_interval]"
    bucket = f"probe_run_duration_seconds_bucket{{{PSEL}}}"
    panels = [
        row("Latest runs"),
        panel("state-timeline", "Success", "probe_success of the latest run, per probe and region.",
              [target("A", f"probe_success{{{PSEL}}}", "{{region}} {{probe}}")], w=24, h=7,
              color={"mode": "thresholds"}, thresholds=thresholds((None, "red"), (1, "green")),
              mappings=[{"type": "value", "options": {"0": {"text": "down"}, "1": {"text": "up"}}}]),
        ts("HTTP phases", "probe_http_duration_seconds by phase (resolve, connect, tls, processing, transfer), stacked.",
           [(f"sum by (region, probe, phase) (probe_http_duration_seconds{{{PSEL}}})", "{{region}} {{probe}} {{phase}}")],
           unit="s", custom={"stacking": {"mode": "normal"}, "drawStyle": "bars", "fillOpacity": 60}),
        ts("Probe duration", "probe_duration_seconds: wall time of the latest run.",
           [(f"probe_duration_seconds{{{PSEL}}}", "{{region}} {{probe}}")], unit="s"),
        ts("HTTP status code", "probe_http_status_code of the final response (0: none arrived).",
           [(f"probe_http_status_code{{{PSEL}}}", "{{region}} {{probe}}")], w=8, unit="none"),
        table("HTTP version and TLS", "probe_http_version, probe_http_ssl and the negotiated TLS version.",
              [(f"max by (region, probe, target) (probe_http_version{{{PSEL}}})", ""),
               (f"max by (region, probe, target) (probe_http_ssl{{{PSEL}}})", ""),
               (f"max by (region, probe, target, version) (probe_tls_version_info{{{PSEL}}})", "")],
              transformations=[{"id": "merge", "options": {}}], w=16),
        row("Run durations (every run, not only scraped ones)"),
        ts("Run duration quantiles", "histogram_quantile over probe_run_duration_seconds: p50, p90, p99.",
           [(f"histogram_quantile({q}, sum by (region, probe, le) (rate({bucket}{rate})))", f"{{{{region}}}} {{{{probe}}}} p{int(float(q) * 100)}")
            for q in ("0.5", "0.9", "0.99")], unit="s"),
        panel("heatmap", "Run duration distribution", "probe_run_duration_seconds buckets as a heatmap.",
              [target("A", f"sum by (le) (increase({bucket}{rate}))", "{{le}}", fmt="heatmap")],
              extra={"options": {"calculate": False, "yAxis": {"unit": "s"}, "cellGap": 1,
                                  "color": {"mode": "scheme", "scheme": "Oranges"}}}),
        row("Certificates"),
        table("Certificate expiry", "Days until the earliest certificate served to the probe expires (probe_ssl_earliest_cert_expiry); the rules warn under 30 days and page under 7.",
              [(f"min by (region, probe, target) (probe_ssl_earliest_cert_expiry{{{PSEL}}} - time()) / 86400", "")],
              w=12, unit="d", decimals=1,
              thresholds=thresholds((None, "red"), (7, "orange"), (30, "green")),
              color={"mode": "thresholds"}, custom={"cellOptions": {"type": "color-text"}}),
        table("Certificate in use", "probe_ssl_last_chain_info: the leaf certificate's subject, issuer and fingerprint.",
              [(f"max by (region, probe, subject, issuer, fingerprint_sha256) (probe_ssl_last_chain_info{{{PSEL}}})", "")],
              w=12),
        row("Failures"),
        ts("Failed runs", 'increase of probe_runs_total{outcome!="success"} (the failure outcome) per probe.',
           [(f'sum by (region, probe) (increase(probe_runs_total{{outcome!="success",{PSEL}}}{rate}))', "{{region}} {{probe}}")],
           unit="short", custom={"drawStyle": "bars"}),
        ts("Failures by reason", "increase of probe_failures_total by reason (the FailureReason of each failed run).",
           [(f"sum by (region, probe, reason) (increase(probe_failures_total{{{PSEL}}}{rate}))", "{{region}} {{probe}} {{reason}}")],
           unit="short", custom={"drawStyle": "bars", "stacking": {"mode": "normal"}}),
        table("Recent failures by reason", "Failed runs in the dashboard's time range, per probe, target and reason.",
              [(f"sort_desc(sum by (region, probe, target, reason) (increase(probe_failures_total{{{PSEL}}}[$__range])) > 0)", "")],
              w=16),
        ts("Runs in the last 15 minutes", "increase(probe_runs_total[15m]): 0 means the probe is not running on schedule (alert ProbeNotRunning).",
           [(f"sum by (region, probe) (increase(probe_runs_total{{{PSEL}}}[15m]))", "{{region}} {{probe}}")], w=8, unit="short"),
    ]
    return dashboard(
        "outpost-probe-detail", "outpost / Probe detail",
        "One probe (or several) in depth: latest results, HTTP phases, status codes, run duration histogram, certificates and failures by reason.",
        ["probes"], panels,
        "label_values(probe_success, region)",
        'label_values(probe_success{region=~"$region"}, probe)',
    )


# ---------------------------------------------------------------- AWS
def aws():
    by = "max by (region, db_instance)"
    rds_cols = [
        (f"{by} (aws_rds_instance_info{{{SEL}}}) * 0 + on (region, db_instance) group_left (status) max by (region, db_instance, status) (aws_rds_instance_status{{{SEL}}} == 1)", ""),
        (f"{by} (aws_rds_multi_az{{{SEL}}})", ""),
        (f"{by} (aws_rds_storage_encrypted{{{SEL}}})", ""),
        (f"{by} (aws_rds_backup_retention_period_seconds{{{SEL}}}) / 86400", ""),
        (f"{by} (aws_rds_deletion_protection{{{SEL}}})", ""),
        (f"{by} (aws_rds_publicly_accessible{{{SEL}}})", ""),
    ]
    names = ["status (1)", "Multi-AZ", "encrypted", "backup days", "deletion protection", "public"]
    rename = {f"Value #{chr(65 + i)}": n for i, n in enumerate(names)}
    rds_tf = [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": {"Time": True, "Value #A": True}, "renameByName": rename}},
    ]
    misconfigured = " or ".join(
        f"{by} ({m}{{{SEL}}} {op})" for m, op in (
            ("aws_rds_multi_az", "== 0"), ("aws_rds_storage_encrypted", "== 0"),
            ("aws_rds_backup_retention_period_seconds", "< 7 * 86400"), ("aws_rds_deletion_protection", "== 0"))
    )
    panels = [
        row("RDS compliance"),
        stat("Databases breaking the policy", "Instances not Multi-AZ, unencrypted, with backups kept under 7 days or deletion protection off (the AwsDatabaseMisconfigured alert).",
             [(f"count({misconfigured}) or vector(0)", "")], w=6, h=8,
             thresholds=thresholds((None, "green"), (1, "red")), color={"mode": "thresholds"}),
        table("RDS instances", "One row per instance: status, Multi-AZ, encryption, backup retention, deletion protection, public access (1 yes, 0 no).",
              rds_cols, transformations=rds_tf, w=18, h=8,
              thresholds=thresholds((None, "red"), (1, "green")),
              custom={"cellOptions": {"type": "color-text"}}),
        table("RDS CA certificate expiry", "Days until the server CA certificate of each instance expires (aws_rds_certificate_expiry_timestamp_seconds, where the API gives it).",
              [(f"{by} (aws_rds_certificate_expiry_timestamp_seconds{{{SEL}}} - time()) / 86400", "")],
              w=6, unit="d", decimals=0,
              thresholds=thresholds((None, "red"), (7, "orange"), (30, "green")),
              color={"mode": "thresholds"}, custom={"cellOptions": {"type": "color-text"}}),
        table("RDS pending maintenance", "Pending maintenance actions per instance (aws_rds_pending_maintenance_actions).",
              [(f"{by} (aws_rds_pending_maintenance_actions{{{SEL}}})", "")], w=6),
        ts("RDS storage use of the autoscaling limit", "aws_rds_allocated_storage_bytes / aws_rds_max_allocated_storage_bytes (storage autoscaling near its limit above 90 %).",
           [(f"aws_rds_allocated_storage_bytes{{{SEL}}} / aws_rds_max_allocated_storage_bytes{{{SEL}}}", "{{region}} {{db_instance}}")],
           w=12, unit="percentunit", max=1),
        row("RDS CloudWatch"),
        ts("RDS CPU", "CPUUtilization (average) from CloudWatch.",
           [(f"aws_rds_cpuutilization_average{{{SEL}}}", "{{region}} {{db_instance}}")], w=8, unit="percent"),
        ts("RDS free storage", "FreeStorageSpace (average) from CloudWatch.",
           [(f"aws_rds_free_storage_space_average{{{SEL}}}", "{{region}} {{db_instance}}")], w=8, unit="bytes"),
        ts("RDS connections", "DatabaseConnections (average) from CloudWatch.",
           [(f"aws_rds_database_connections_average{{{SEL}}}", "{{region}} {{db_instance}}")], w=8, unit="short"),
        row("Load balancers"),
        table("ALB target health", "Targets per health state per target group (aws_elbv2_target_group_targets).",
              [(f"sum by (region, load_balancer, target_group, state) (aws_elbv2_target_group_targets{{{SEL}}})", "")],
              transformations=[{"id": "groupingToMatrix", "options": {"rowField": "target_group", "columnField": "state", "valueField": "Value"}}],
              w=12),
        table("Targets not healthy", "aws_elbv2_target_health for every target not healthy, with AWS's reason code.",
              [(f'max by (region, target_group, target, state, reason) (aws_elbv2_target_health{{state!="healthy",{SEL}}} == 1)', "")],
              w=12),
        ts("Healthy targets", "Healthy targets per target group; the rules alert at 0.",
           [(f'sum by (region, target_group) (aws_elbv2_target_group_targets{{state="healthy",{SEL}}})', "{{region}} {{target_group}}")],
           w=12, unit="short"),
        table("Load balancer state", "aws_elbv2_load_balancer_state: the current state per load balancer.",
              [(f"max by (region, load_balancer, state) (aws_elbv2_load_balancer_state{{{SEL}}} == 1)", "")], w=12),
        row("Auto Scaling"),
        table("Auto Scaling capacity", "In service, desired, minimum and maximum per group; in service below minimum pages.",
              [(f"max by (region, autoscaling_group) (aws_autoscaling_group_in_service_instances{{{SEL}}})", ""),
               (f"max by (region, autoscaling_group) (aws_autoscaling_group_desired_capacity{{{SEL}}})", ""),
               (f"max by (region, autoscaling_group) (aws_autoscaling_group_min_size{{{SEL}}})", ""),
               (f"max by (region, autoscaling_group) (aws_autoscaling_group_max_size{{{SEL}}})", "")],
              transformations=[{"id": "merge", "options": {}},
                               {"id": "organize", "options": {"excludeByName": {"Time": True},
                                                              "renameByName": {"Value #A": "in service", "Value #B": "desired", "Value #C": "min", "Value #D": "max"}}}],
              w=12),
        ts("Instances by lifecycle state", "aws_autoscaling_group_instances per lifecycle state (stuck Pending shows here).",
           [(f"sum by (region, autoscaling_group, lifecycle_state) (aws_autoscaling_group_instances{{{SEL}}})", "{{region}} {{autoscaling_group}} {{lifecycle_state}}")],
           w=12, unit="short"),
    ]
    return dashboard(
        "outpost-aws", "outpost / AWS inventory and compliance",
        "RDS policy compliance, ALB target health and Auto Scaling capacity as outpost's [aws] scrapes see them, with CloudWatch figures.",
        ["aws"], panels,
        "label_values(outpost_aws_scrape_success, region)",
        'label_values(probe_success{region=~"$region"}, probe)',
    )


# ---------------------------------------------------------------- outpost health
def health():
    job = f"{OUTPOST_JOB},{SEL}"
    rate = "[$__rate_interval]"
    panels = [
        row("Daemon"),
        table("outpost instances", "up of every outpost scrape job (job names start with outpost) with the running version.",
              [(f"max by (region, instance) (up{{{job}}})", ""),
               (f"max by (region, instance, version) (outpost_build_info{{{job}}})", "")],
              transformations=[{"id": "merge", "options": {}},
                               {"id": "organize", "options": {"excludeByName": {"Time": True, "Value #B": True},
                                                              "renameByName": {"Value #A": "up"}}}],
              w=12, h=7),
        stat("Config reload", "outpost_config_last_reload_successful: 0 means the last reload failed and the previous configuration keeps running.",
             [(f"min by (region, instance) (outpost_config_last_reload_successful{{{job}}})", "{{region}} {{instance}}")],
             w=6, h=7, thresholds=thresholds((None, "red"), (1, "green")), color={"mode": "thresholds"},
             mappings=[{"type": "value", "options": {"0": {"text": "failed"}, "1": {"text": "ok"}}}]),
        stat("Configuration age", "time() - outpost_config_last_reload_success_timestamp_seconds.",
             [(f"time() - max by (region, instance) (outpost_config_last_reload_success_timestamp_seconds{{{job}}})", "{{region}} {{instance}}")],
             w=6, h=7, unit="s"),
        row("Scheduler"),
        ts("Scheduler lateness", "outpost_scheduler_lag_seconds: how late scheduled runs start (p50 and p99).",
           [(f"histogram_quantile({q}, sum by (region, instance, le) (rate(outpost_scheduler_lag_seconds_bucket{{{job}}}{rate})))", f"{{{{region}}}} {{{{instance}}}} p{int(float(q) * 100)}")
            for q in ("0.5", "0.99")], w=8, unit="s"),
        ts("Skipped runs", "outpost_scheduler_skipped_runs_total: runs skipped because the previous one took a whole interval.",
           [(f"sum by (region, instance) (increase(outpost_scheduler_skipped_runs_total{{{job}}}{rate}))", "{{region}} {{instance}}")],
           w=8, unit="short"),
        ts("Probes scheduled and in flight", "outpost_probes and outpost_probes_in_flight.",
           [(f"sum by (region, instance) (outpost_probes{{{job}}})", "{{region}} {{instance}} scheduled"),
            (f"sum by (region, instance) (outpost_probes_in_flight{{{job}}})", "{{region}} {{instance}} in flight")],
           w=8, unit="short"),
        row("AWS scrapes"),
        table("AWS scrape success", "outpost_aws_scrape_success per region and service (0: the service's alerts are blind).",
              [(f"min by (region, service) (outpost_aws_scrape_success{{{job}}})", "")],
              transformations=[{"id": "groupingToMatrix", "options": {"rowField": "region", "columnField": "service", "valueField": "Value"}}],
              w=8, thresholds=thresholds((None, "red"), (1, "green")),
              custom={"cellOptions": {"type": "color-background"}}, color={"mode": "thresholds"}),
        ts("AWS data age", "time() - outpost_aws_scrape_last_success_timestamp_seconds; past stale_after the series go away.",
           [(f"time() - max by (region, service) (outpost_aws_scrape_last_success_timestamp_seconds{{{job}}})", "{{region}} {{service}}")],
           w=8, unit="s"),
        ts("AWS scrape duration", "outpost_aws_scrape_duration_seconds; close to the interval means throttling or too many resources.",
           [(f"max by (region, service) (outpost_aws_scrape_duration_seconds{{{job}}})", "{{region}} {{service}}")],
           w=8, unit="s"),
        ts("AWS API calls", "outpost_aws_api_calls_total per operation (API cost).",
           [(f"sum by (region, service, operation) (rate(outpost_aws_api_calls_total{{{job}}}{rate}))", "{{region}} {{operation}}")],
           w=12, unit="reqps"),
        ts("AWS API errors", "outpost_aws_api_errors_total by error code; 0 per region and service when there were none.",
           [(f"sum by (region, service, code) (increase(outpost_aws_api_errors_total{{{job}}}{rate})) or sum by (region, service) (0 * outpost_aws_scrape_success{{{job}}})", "{{region}} {{service}} {{code}}")],
           w=12, unit="short"),
        ts("CloudWatch datapoint age", "aws_cloudwatch_datapoint_age_seconds: how old the newest CloudWatch datapoint is ([aws.cloudwatch]).",
           [(f"max by (region) (aws_cloudwatch_datapoint_age_seconds{{{SEL}}})", "{{region}}")], w=24, h=6, unit="s"),
        row("Process"),
        ts("CPU", "rate of process_cpu_seconds_total: cores used.",
           [(f"rate(process_cpu_seconds_total{{{job}}}{rate})", "{{region}} {{instance}}")], w=6, unit="percentunit"),
        ts("Resident memory", "process_resident_memory_bytes.",
           [(f"process_resident_memory_bytes{{{job}}}", "{{region}} {{instance}}")], w=6, unit="bytes"),
        ts("Open file descriptors", "process_open_fds against process_max_fds.",
           [(f"process_open_fds{{{job}}} / process_max_fds{{{job}}}", "{{region}} {{instance}}")], w=6, unit="percentunit"),
        ts("/metrics scrape", "scrape_duration_seconds and samples of outpost's /metrics as Prometheus sees them.",
           [(f"scrape_duration_seconds{{{job}}}", "{{region}} {{instance}} duration")], w=6, unit="s"),
        ts("/probe requests", "outpost_probe_requests_total: Blackbox-style /probe answers by module and HTTP status.",
           [(f"sum by (region, module, code) (rate(outpost_probe_requests_total{{{job}}}{rate}))", "{{region}} {{module}} {{code}}")],
           w=12, unit="reqps"),
        ts("Samples per scrape", "scrape_samples_scraped of outpost's /metrics (cardinality).",
           [(f"scrape_samples_scraped{{{job}}}", "{{region}} {{instance}}")], w=12, unit="short"),
    ]
    return dashboard(
        "outpost-health", "outpost / Health",
        "outpost's own health: up and version, configuration reloads, scheduler lateness and skips, AWS scrapes, process resources, /metrics scrapes.",
        ["health"], panels,
        'label_values(outpost_build_info, region)',
        'label_values(probe_success{region=~"$region"}, probe)',
    )


def main():
    # An output directory argument is for the test that the committed files
    # are this script's output.
    here = pathlib.Path(__file__).resolve().parent / "dashboards"
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else here
    out.mkdir(exist_ok=True)
    for d in (sla_overview(), probe_detail(), aws(), health()):
        path = out / f"{d['uid']}.json"
        path.write_text(json.dumps(d, indent=2, ensure_ascii=False) + "\n")
        print(path)


if __name__ == "__main__":
    main()
