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
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'region=~"$region"'
PSEL = 'region=~"$region",probe=~"$probe"'
# The probe detail dashboard also narrows by target (the overview's links set it).
TSEL = 'region=~"$region",probe=~"$probe",target=~"$target"'
# outpost's own scrape job, not its Blackbox-style /probe jobs (outpost-probe-*),
# whose series name the targets, not outpost instances.
OUTPOST_JOB = 'job=~"outpost.*",job!~"outpost-probe-.*"'


# ---------------------------------------------------------------- alert rules
# Thresholds come from the rule files themselves, so a panel and the alert beside
# it cannot drift: change the rule, run this script, the panel follows.
def _alert_exprs():
    """{alert name: [expr, ...]} from prometheus/*.rules.yml (one name may have
    several rules: a warning and a critical twin). A small line reader: the
    files are this project's own, with `- alert:` then `expr:` (inline or `|`)."""
    out = {}
    for path in sorted((ROOT / "prometheus").glob("*.rules.yml")):
        lines = path.read_text().splitlines()
        i = 0
        while i < len(lines):
            m = re.match(r"\s*- alert: (\S+)", lines[i])
            if not m:
                i += 1
                continue
            name, expr = m.group(1), None
            i += 1
            while i < len(lines) and not re.match(r"\s*- (alert|record):", lines[i]):
                e = re.match(r"(\s*)expr: ?(.*)$", lines[i])
                if e and expr is None:
                    if e.group(2).strip() == "|":
                        indent, body = None, []
                        i += 1
                        while i < len(lines) and (not lines[i].strip() or indent is None
                                                  or lines[i].startswith(indent)):
                            if lines[i].strip():
                                indent = indent or re.match(r"\s*", lines[i]).group(0)
                                body.append(lines[i].strip())
                            i += 1
                            if indent and i < len(lines) and lines[i].strip() and not lines[i].startswith(indent):
                                break
                        expr = " ".join(body)
                        continue
                    expr = e.group(2).strip()
                i += 1
            out.setdefault(name, []).append(expr or "")
    return out


ALERT_EXPRS = _alert_exprs()


def limits(alert):
    """The constants `alert` compares against (`> 2`, `< 7 * 86400`), in rule order."""
    found = []
    for expr in ALERT_EXPRS[alert]:
        for m in re.finditer(r"(?<![=!])(?:<=|>=|<|>)\s*\(?([0-9.]+(?:\s*\*\s*[0-9.]+)*)\)?", expr):
            value = 1.0
            for factor in m.group(1).split("*"):
                value *= float(factor)
            found.append(int(value) if value == int(value) else value)
    if not found:
        raise SystemExit(f"generate.py: no threshold found in alert {alert}")
    return found


def runbook(alert):
    """A panel link to the alert's runbook section; ${runbook_base} (a hidden
    dashboard variable) is where your copy of docs/ is served, as AlertManager's
    outpost.runbook_base template."""
    return {"title": f"Runbook: {alert}", "url": f"${{runbook_base}}docs/runbooks.md#{alert.lower()}",
            "targetBlank": True}


def detail_link(region_field, target_field):
    """A data link to the probe detail for one cell or row, keeping the time range."""
    return {"title": "Probe detail", "url": "/d/outpost-probe-detail/outpost-probe-detail?${__url_time_range}"
            f"&var-datasource=${{datasource}}&var-region={region_field}&var-probe=All&var-target={target_field}"}


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


def panel(kind, title, desc, targets, w=12, h=8, unit=None, extra=None, alerts=(), links=(),
          overrides=(), interval=None, data_links=(), **defaults):
    """One panel. `alerts`: the alert rules this panel sits beside; each adds its
    runbook link to the panel's menu (the thresholds are the caller's, from
    limits()). `data_links`: links on each cell, point or row, where Grafana fills
    in ${__field...} and ${__data.fields...} from what was clicked."""
    p = {
        "type": kind,
        "title": title,
        "description": desc,
        "datasource": DS,
        "targets": targets,
        "gridPos": {"w": w, "h": h},
        "fieldConfig": {"defaults": {}, "overrides": list(overrides)},
        "options": {},
    }
    if unit:
        p["fieldConfig"]["defaults"]["unit"] = unit
    if data_links:
        p["fieldConfig"]["defaults"]["links"] = list(data_links)
    p["fieldConfig"]["defaults"].update(defaults)
    panel_links = [runbook(a) for a in alerts] + list(links)
    if panel_links:
        p["links"] = panel_links
    if interval:
        # The shortest step Grafana may use: windows of [$__interval] then cover
        # every run between two points, and each bar counts its own runs once.
        p["interval"] = interval
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


def lines(*steps):
    """Threshold steps drawn as dashed lines on a time series."""
    return {"thresholds": thresholds(*steps), "custom": {"thresholdsStyle": {"mode": "dashed"}},
            "color": {"mode": "palette-classic"}}


def column(name, unit=None, steps=None, text=False):
    """A per-column override of a table: its own unit and colours (or none)."""
    props = []
    if unit:
        props.append({"id": "unit", "value": unit})
    if steps:
        props += [{"id": "thresholds", "value": thresholds(*steps)},
                  {"id": "color", "value": {"mode": "thresholds"}},
                  {"id": "custom.cellOptions", "value": {"type": "color-text"}}]
    elif text:
        props.append({"id": "custom.cellOptions", "value": {"type": "auto"}})
    return {"matcher": {"id": "byName", "options": name}, "properties": props}


# groupingToMatrix names its first column "<row field>\<column field>": the
# target names, text, which the cells' colours must not paint.
MATRIX_NAMES = column("target\\region", text=True)

STATE_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "ok", "color": "green", "index": 0},
    "1": {"text": "failing runs", "color": "orange", "index": 1},
    "2": {"text": "down", "color": "red", "index": 2}}}]
STATE_STEPS = thresholds((None, "green"), (1, "orange"), (2, "red"))


def state(sel, window):
    """0: every run of the window succeeded; 1: some failed; 2: down (every run of
    2 minutes failed, probe:down:2m). From the regions' recording rules, which
    count every run (not the runs a scrape happened to sample) and which the
    global Prometheus federates. /probe targets have no run counters: 0 or 2."""
    failed = f"max by (region, target) (max_over_time(probe:runs_failed:increase2m{{{sel}}}[{window}]) > bool 0)"
    down = f"max by (region, target) (max_over_time(probe:down:2m{{{sel}}}[{window}]))"
    return f"({failed} + {down}) or 2 * {down}"


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


def annotation(name, expr, title, text, color):
    return {"name": name, "datasource": DS, "enable": True, "iconColor": color, "expr": expr,
            "step": "1m", "titleFormat": title, "textFormat": text, "useValueForTime": False}


def annotations(regional):
    """Firing alerts everywhere; config reloads and restarts where outpost's own
    series are (the regional Prometheus: the federation does not carry them)."""
    out = [annotation("Alerts firing", 'ALERTS{alertstate="firing",severity=~"critical|warning"}',
                      "{{alertname}}", "{{severity}} {{region}} {{target}}{{slo}}", "red")]
    if regional:
        job = f"{OUTPOST_JOB},{SEL}"
        out += [
            annotation("Configuration reloaded",
                       f"changes(outpost_config_last_reload_success_timestamp_seconds{{{job}}}[2m]) > 0",
                       "configuration reloaded", "{{region}} {{instance}}", "blue"),
            annotation("outpost restarted", f"changes(process_start_time_seconds{{{job}}}[2m]) > 0",
                       "outpost restarted", "{{region}} {{instance}}", "purple"),
        ]
    return {"list": out}


def runbook_base_var():
    # Hidden: set it once where the dashboards are provisioned (or in the URL).
    return {"name": "runbook_base", "label": "Runbook base URL", "type": "textbox",
            "query": "", "current": {"text": "", "value": ""}, "hide": 2, "options": []}


def dashboard(uid, title, desc, tags, panels, region_query, probe_query, scope, extra_vars=()):
    """scope: "global" (reads only what prometheus/global/ federates, so it works on
    the global Prometheus too) or "regional" (needs a regional Prometheus)."""
    return {
        "uid": uid,
        "title": title,
        "description": desc,
        "tags": ["outpost", scope] + tags,
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "timezone": "utc",
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "annotations": annotations(scope == "regional"),
        "links": [
            {"type": "dashboards", "tags": ["outpost"], "asDropdown": True, "title": "outpost",
             "includeVars": True, "keepTime": True}
        ],
        "templating": {
            "list": [
                datasource_var(),
                query_var("region", "Region", region_query),
                query_var("probe", "Probe", probe_query),
                *extra_vars,
                runbook_base_var(),
            ]
        },
        "panels": layout(panels),
    }


# ---------------------------------------------------------------- overview
def sla_overview():
    matrix = [{
        "id": "groupingToMatrix",
        "options": {"rowField": "target", "columnField": "region", "valueField": "Value",
                    "emptyValue": "null"},
    }]
    cell_link = detail_link("${__field.name}", "${__data.fields.target}")
    burn = "slo:sli_error:ratio_rate{w} / (1 - slo:objective:ratio)"
    panels = [
        row("Now: what is down, where, since when"),
        stat("Targets down from 2+ regions", "Targets whose every run has failed for 2 minutes from two or more regions (probe:down:2m): what TargetDownGlobally pages for.",
             [(f"count(count by (target) (min by (region, target) (probe:down:2m{{{SEL}}}) == 1) >= 2) or vector(0)", "")],
             w=4, h=5, unit="short", thresholds=thresholds((None, "green"), (1, "red")), color={"mode": "thresholds"},
             alerts=["TargetDownGlobally"]),
        stat("Targets down from one region", "Targets down as seen from exactly one region: that region's path (TargetDownInRegion).",
             [(f"count(count by (target) (min by (region, target) (probe:down:2m{{{SEL}}}) == 1) == 1) or vector(0)", "")],
             w=4, h=5, unit="short", thresholds=thresholds((None, "green"), (1, "orange")), color={"mode": "thresholds"},
             alerts=["TargetDownInRegion"]),
        table("Alerts firing now", "ALERTS{alertstate=\"firing\"}: every alert firing, critical first. The runbooks are in docs/runbooks.md, one section per alert name.",
              [('sort_desc(max by (severity, alertname, region, target, probe, slo) (ALERTS{alertstate="firing"}))', "")],
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True}}}],
              w=16, h=5, unit="none",
              links=[{"title": "Runbooks", "url": "${runbook_base}docs/runbooks.md", "targetBlank": True}]),
        panel("state-timeline", "State per target and region",
              "Each target as seen from each region: ok (every run succeeded), failing runs (some failed), down (every run of 2 minutes failed). From the run counters, so no run is missed between scrapes.",
              [target("A", state(SEL, "$__interval"), "{{target}} from {{region}}")], w=24, h=10,
              unit="none", interval="2m", color={"mode": "thresholds"}, thresholds=STATE_STEPS, mappings=STATE_MAPPINGS,
              data_links=[detail_link("${__field.labels.region}", "${__field.labels.target}")]),
        table("State now: target x region", "The last 5 minutes: a target red in one column is that region's path, red in every column is the target. Click a cell for the probe detail.",
              [(state(SEL, "5m"), "")], transformations=matrix, w=12, h=9, unit="none",
              thresholds=STATE_STEPS, mappings=STATE_MAPPINGS, color={"mode": "thresholds"},
              custom={"cellOptions": {"type": "color-background"}}, data_links=[cell_link],
              overrides=[MATRIX_NAMES]),
        table("Failures by reason, last 15 minutes", "Failed runs per target, region and reason (probe:failures:increase15m): why it is failing. Click a row for the probe detail.",
              [(f"sort_desc(sum by (region, target, reason) (probe:failures:increase15m{{{SEL}}}) > 0)", "")],
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {"Value": "failed runs"}}}],
              w=12, h=9, unit="short", decimals=0,
              data_links=[detail_link("${__data.fields.region}", "${__data.fields.target}")]),
        table("Certificates expiring first", "Time left on the earliest-expiring certificate chain per target (probe_ssl_last_chain_expiry_timestamp_seconds): CertificateExpiringSoon warns under 30 days and pages under 7.",
              [(f"bottomk(10, min by (target) (probe_ssl_last_chain_expiry_timestamp_seconds{{{SEL}}} - time()))", "")],
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {"Value": "expires in"}}}],
              w=24, h=6, unit="s", decimals=1, alerts=["CertificateExpiringSoon"],
              thresholds=thresholds((None, "red"), (min(limits("CertificateExpiringSoon")), "orange"),
                                    (max(limits("CertificateExpiringSoon")), "green")),
              color={"mode": "thresholds"}, custom={"cellOptions": {"type": "color-text"}}),
        row("SLOs ([[slos]] in probes.toml, rules by outpost rules)"),
        stat("Error budget remaining", "slo:error_budget:remaining_ratio per SLO and SLI over its window: 1 untouched, 0 spent, below 0 overspent.",
             [("slo:error_budget:remaining_ratio", "{{slo}} {{sli}} {{region}}")], w=8, h=7,
             unit="percentunit", decimals=1, thresholds=thresholds((None, "red"), (0, "orange"), (0.25, "green")),
             color={"mode": "thresholds"}, alerts=["SloErrorBudgetBurn"]),
        ts("Error budget burn-down", "slo:error_budget:remaining_ratio over time: the slope is the burn; crossing 0 breaks the SLO.",
           [("slo:error_budget:remaining_ratio", "{{slo}} {{sli}} {{region}}")], w=16, h=7, unit="percentunit",
           **lines((None, "red"), (0, "red"))),
        ts("Burn rate, 1 h", "Error ratio over the last hour divided by the budget (1 - objective). The lines are where SloErrorBudgetBurn acts: 14.4 (1h pair) and 6 (6h pair) page, 3 (1d) and 1 (3d) open a ticket, each also needing its short window and minimum events.",
           [(burn.format(w="1h"), "{{slo}} {{sli}} {{region}}")], w=12, unit="short",
           alerts=["SloErrorBudgetBurn"],
           **lines((None, "green"), (1, "yellow"), (3, "orange"), (6, "red"), (14.4, "dark-red"))),
        ts("Burn rate, 6 h", "As the 1 h burn rate, over 6 hours: the slow burn.",
           [(burn.format(w="6h"), "{{slo}} {{sli}} {{region}}")], w=12, unit="short",
           **lines((None, "green"), (1, "yellow"), (3, "orange"), (6, "red"), (14.4, "dark-red"))),
        row("Reports (per probe and region, 30 days)"),
        stat("Availability per region, 30 d", "region:availability:ratio_rate30d: successful runs / all runs of every probe in the region.",
             [(f"region:availability:ratio_rate30d{{{SEL}}}", "{{region}}")], w=8, h=6,
             unit="percentunit", decimals=3, thresholds=AVAIL_STEPS, color={"mode": "thresholds"}),
        stat("Runs under 500 ms per region, 1 h", "The worst probe per region (probe:latency_under_500ms:ratio_rate1h); the SLA wants 99 %.",
             [(f"min by (region) (probe:latency_under_500ms:ratio_rate1h{{{PSEL}}})", "{{region}}")],
             w=8, h=6, unit="percentunit", decimals=2, color={"mode": "thresholds"},
             thresholds=thresholds((None, "red"), (0.95, "orange"), (0.99, "green"))),
        ts("Availability per region", "region:availability:ratio_rate5m and ratio_rate1h.",
           [(f"region:availability:ratio_rate5m{{{SEL}}}", "{{region}} 5m"),
            (f"region:availability:ratio_rate1h{{{SEL}}}", "{{region}} 1h")],
           w=8, h=6, unit="percentunit", max=1),
        table("Availability matrix: target x region, 30 d", "probe:availability:ratio_rate30d per target and region. Click a cell for the probe detail.",
              [(f"min by (region, target) (probe:availability:ratio_rate30d{{{PSEL}}})", "")],
              transformations=matrix, w=12, h=10, unit="percentunit", decimals=4,
              thresholds=AVAIL_STEPS, color={"mode": "thresholds"},
              custom={"cellOptions": {"type": "color-background"}}, data_links=[cell_link],
              overrides=[MATRIX_NAMES]),
        ts("Error ratio per probe, 5 m", "probe:error:ratio_rate5m; the SLA's 0.1 % error ratio is the dashed line.",
           [(f"probe:error:ratio_rate5m{{{PSEL}}}", "{{region}} {{probe}}")],
           w=12, h=10, unit="percentunit", **lines((None, "green"), (0.001, "red"))),
    ]
    return dashboard(
        "outpost-sla-overview", "outpost / Overview",
        "The on-call's first screen: what is down, from where, since when and why; then the SLOs' error budgets and burn rates; then 30-day reports. Reads only series the global Prometheus federates, so it works on a regional or the global Prometheus.",
        ["sla"], panels,
        "label_values(probe_success, region)",
        'label_values(probe_success{region=~"$region"}, probe)',
        "global",
    )


# ---------------------------------------------------------------- probe detail
def probe_detail():
    rate = "[$__rate_interval]"
    count = f"probe_run_duration_seconds_count{{{TSEL}}}"
    bucket = f"probe_run_duration_seconds_bucket{{{TSEL}}}"
    runsum = f"probe_run_duration_seconds_sum{{{TSEL}}}"
    # Quantiles need more buckets than the default two (0.5, 2, +Inf): with three,
    # every quantile is an interpolation between two fixed bounds, not a latency.
    finer = f"count by (region, probe) (count by (region, probe, le) ({bucket})) > 3"
    target_var = query_var("target", "Target", 'label_values(probe_success{region=~"$region",probe=~"$probe"}, target)')
    slow = limits("ProbeSlow")[0]
    certs = limits("CertificateExpiringSoon")
    panels = [
        row("State"),
        panel("state-timeline", "Runs: ok, failing, down",
              "Per probe and region, from the run counters: ok (every run succeeded), failing runs (some failed), down (every run of 2 minutes failed).",
              [target("A", state(TSEL, "$__interval"), "{{target}} from {{region}}")], w=24, h=6, unit="none",
              interval="2m", color={"mode": "thresholds"}, thresholds=STATE_STEPS, mappings=STATE_MAPPINGS,
              alerts=["ProbeFailing"]),
        table("Failures by reason", "Failed runs in the dashboard's time range per probe, target and reason: what broke.",
              [(f"sort_desc(sum by (region, probe, target, reason) (increase(probe_failures_total{{{TSEL}}}[$__range])) > 0)", "")],
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {"Value": "failed runs"}}}],
              w=12, h=7, unit="short", decimals=0),
        ts("Failures by reason over time", "Failed runs per interval by reason (probe_failures_total), one bar per interval.",
           [(f"sum by (region, probe, reason) (increase(probe_failures_total{{{TSEL}}}[$__interval]))", "{{region}} {{probe}} {{reason}}")],
           w=12, h=7, unit="short", interval="1m",
           custom={"drawStyle": "bars", "stacking": {"mode": "normal"}, "fillOpacity": 80}),
        row("Latest run"),
        ts("Probe duration", f"probe_duration_seconds: wall time of the latest run; ProbeSlow warns above {slow} s for 5 minutes.",
           [(f"max by (region, probe) (probe_duration_seconds{{{TSEL}}})", "{{region}} {{probe}}")],
           w=8, unit="s", alerts=["ProbeSlow"], **lines((None, "green"), (slow, "red"))),
        ts("HTTP phases", "probe_http_duration_seconds by phase (resolve, connect, tls, processing, transfer), stacked.",
           [(f"max by (region, probe, phase) (probe_http_duration_seconds{{{TSEL}}})", "{{region}} {{probe}} {{phase}}")],
           w=8, unit="s", custom={"stacking": {"mode": "normal"}, "drawStyle": "bars", "fillOpacity": 60}),
        ts("HTTP status code", "probe_http_status_code of the final response (0: none arrived).",
           [(f"max by (region, probe) (probe_http_status_code{{{TSEL}}})", "{{region}} {{probe}}")], w=8, unit="none"),
        table("HTTP version and TLS", "probe_http_version, probe_http_ssl and the negotiated TLS version.",
              [(f"max by (region, probe, target) (probe_http_version{{{TSEL}}})", ""),
               (f"max by (region, probe, target) (probe_http_ssl{{{TSEL}}})", ""),
               (f"max by (region, probe, target, version) (probe_tls_version_info{{{TSEL}}})", "")],
              transformations=[{"id": "merge", "options": {}}], w=24, h=5, unit="none"),
        row("Run durations (every run, not only scraped ones)"),
        ts("Runs under 500 ms and under 2 s", "Share of runs faster than each bucket bound of probe_run_duration_seconds (the default buckets: 0.5 s, the latency SLO's bound, and 2 s): what the default buckets can truly say.",
           [(f'sum by (region, probe) (rate(probe_run_duration_seconds_bucket{{le="0.5",{TSEL}}}{rate})) / sum by (region, probe) (rate({count}{rate}))', "{{region}} {{probe}} < 0.5 s"),
            (f'sum by (region, probe) (rate(probe_run_duration_seconds_bucket{{le=~"2|2\\\\.0",{TSEL}}}{rate})) / sum by (region, probe) (rate({count}{rate}))', "{{region}} {{probe}} < 2 s")],
           w=8, unit="percentunit", max=1),
        ts("Mean run duration", "probe_run_duration_seconds _sum / _count: the mean of every run.",
           [(f"sum by (region, probe) (rate({runsum}{rate})) / sum by (region, probe) (rate({count}{rate}))", "{{region}} {{probe}}")],
           w=8, unit="s"),
        ts("Run duration quantiles (finer buckets only)", "p50, p90, p99 of probe_run_duration_seconds, only for modules whose run_duration_buckets have more than the default two bounds: with those, a quantile is an interpolation, not a measurement.",
           [(f"histogram_quantile({q}, sum by (region, probe, le) (rate({bucket}{rate})) and on (region, probe) ({finer}))", f"{{{{region}}}} {{{{probe}}}} p{int(float(q) * 100)}")
            for q in ("0.5", "0.9", "0.99")], w=8, unit="s"),
        row("Certificates"),
        table("Certificate expiry", "Time left on the certificate chain served to each probe (probe_ssl_last_chain_expiry_timestamp_seconds): CertificateExpiringSoon warns under 30 days and pages under 7.",
              [(f"min by (region, probe, target) (probe_ssl_last_chain_expiry_timestamp_seconds{{{TSEL}}} - time())", "")],
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {"Value": "expires in"}}}],
              w=12, unit="s", decimals=1, alerts=["CertificateExpiringSoon"],
              thresholds=thresholds((None, "red"), (min(certs), "orange"), (max(certs), "green")),
              color={"mode": "thresholds"}, custom={"cellOptions": {"type": "color-text"}}),
        table("Certificate in use", "probe_ssl_last_chain_info: the leaf certificate's subject, issuer and fingerprint.",
              [(f"max by (region, probe, subject, issuer, fingerprint_sha256) (probe_ssl_last_chain_info{{{TSEL}}})", "")],
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True}}}],
              w=12, unit="none"),
        row("Schedule"),
        ts("Runs per interval", "increase(probe_runs_total) by outcome, one bar per interval: no bars means the probe is not running (ProbeNotRunning).",
           [(f"sum by (region, probe, outcome) (increase(probe_runs_total{{{TSEL}}}[$__interval]))", "{{region}} {{probe}} {{outcome}}")],
           w=24, h=6, unit="short", interval="1m", alerts=["ProbeNotRunning"],
           custom={"drawStyle": "bars", "stacking": {"mode": "normal"}, "fillOpacity": 80}),
    ]
    return dashboard(
        "outpost-probe-detail", "outpost / Probe detail",
        "One probe (or several) in depth: state from every run, failures by reason, the latest run's phases and status, what the run-duration buckets say, certificates, the schedule.",
        ["probes"], panels,
        "label_values(probe_success, region)",
        'label_values(probe_success{region=~"$region"}, probe)',
        "regional", extra_vars=[target_var],
    )


# ---------------------------------------------------------------- AWS
def aws():
    by = "max by (region, db_instance)"
    rds_cols = [
        (f"{by} (aws_rds_instance_info{{{SEL}}}) * 0 + on (region, db_instance) group_left (status) max by (region, db_instance, status) (aws_rds_instance_status{{{SEL}}} == 1)", ""),
        (f"{by} (aws_rds_multi_az{{{SEL}}})", ""),
        (f"{by} (aws_rds_storage_encrypted{{{SEL}}})", ""),
        (f"{by} (aws_rds_backup_retention_period_seconds{{{SEL}}})", ""),
        (f"{by} (aws_rds_deletion_protection{{{SEL}}})", ""),
        (f"{by} (aws_rds_publicly_accessible{{{SEL}}})", ""),
    ]
    names = ["status (1)", "Multi-AZ", "encrypted", "backups kept", "deletion protection", "public"]
    rename = {f"Value #{chr(65 + i)}": n for i, n in enumerate(names)}
    rds_tf = [
        {"id": "merge", "options": {}},
        {"id": "organize", "options": {"excludeByName": {"Time": True, "Value #A": True}, "renameByName": rename}},
    ]
    retention = limits("AwsDatabaseMisconfigured")[0]
    yes_good = ((None, "red"), (1, "green"))
    rds_overrides = [
        column("Multi-AZ", "bool_yes_no", yes_good),
        column("encrypted", "bool_yes_no", yes_good),
        column("backups kept", "s", ((None, "red"), (retention, "green"))),
        column("deletion protection", "bool_yes_no", yes_good),
        column("public", "bool_yes_no", ((None, "green"), (1, "red"))),
        column("status", text=True),
    ]
    misconfigured = " or ".join(
        f"{by} ({m}{{{SEL}}} {op})" for m, op in (
            ("aws_rds_multi_az", "== 0"), ("aws_rds_storage_encrypted", "== 0"),
            ("aws_rds_backup_retention_period_seconds", f"< {retention}"), ("aws_rds_deletion_protection", "== 0"))
    )
    certs = limits("AwsDatabaseCertificateExpiring")
    cw = SEL
    err = limits("AwsRealTrafficErrorRatioHigh")[0]
    slow_mean = limits("AwsRealTrafficLatencyObjectiveMissed")[0]
    slow_max = limits("AwsRealTrafficLatencyHigh")[0]
    lbs = "max by (region, load_balancer)"
    tg_matrix = [{"id": "groupingToMatrix", "options": {"rowField": "group", "columnField": "state", "valueField": "Value"}}]
    panels = [
        row("RDS compliance"),
        stat("Databases breaking the policy", "Instances not Multi-AZ, unencrypted, with backups kept under 7 days or deletion protection off (AwsDatabaseMisconfigured).",
             [(f"count({misconfigured}) or vector(0)", "")], w=6, h=8, unit="short",
             thresholds=thresholds((None, "green"), (1, "red")), color={"mode": "thresholds"},
             alerts=["AwsDatabaseMisconfigured"]),
        table("RDS instances", "One row per instance: status, Multi-AZ, encryption, how long backups are kept, deletion protection, public access; each column coloured by its own rule.",
              rds_cols, transformations=rds_tf, w=18, h=8, unit="none", overrides=rds_overrides,
              alerts=["AwsDatabaseMisconfigured"]),
        table("RDS CA certificate expiry", "Time left on the server CA certificate of each instance (aws_rds_certificate_expiry_timestamp_seconds, where the API gives it).",
              [(f"{by} (aws_rds_certificate_expiry_timestamp_seconds{{{SEL}}} - time())", "")],
              w=6, unit="s", decimals=1, alerts=["AwsDatabaseCertificateExpiring"],
              thresholds=thresholds((None, "red"), (min(certs), "orange"), (max(certs), "green")),
              color={"mode": "thresholds"}, custom={"cellOptions": {"type": "color-text"}}),
        table("RDS pending maintenance", "Pending maintenance actions per instance (aws_rds_pending_maintenance_actions).",
              [(f"{by} (aws_rds_pending_maintenance_actions{{{SEL}}})", "")], w=6, unit="short"),
        ts("RDS storage use of the autoscaling limit", "aws_rds_allocated_storage_bytes / aws_rds_max_allocated_storage_bytes: storage autoscaling near its limit.",
           [(f"{by} (aws_rds_allocated_storage_bytes{{{SEL}}}) / {by} (aws_rds_max_allocated_storage_bytes{{{SEL}}})", "{{region}} {{db_instance}}")],
           w=12, unit="percentunit", max=1, alerts=["AwsDatabaseStorageNearLimit"],
           **lines((None, "green"), (limits("AwsDatabaseStorageNearLimit")[0], "red"))),
        row("RDS endpoint as the application meets it (mysql probe)"),
        table("RDS endpoint through the mysql probe", "outpost's mysql probe of the endpoint (prometheus.yml job outpost-probe-mysql, module rds_mysql): whether greeting, TLS, login and SELECT 1 succeed now, the login's time, and the time left on the certificate the endpoint serves (CertificateExpiringSoon reads it; the API's CA expiry is in the table above).",
              [(f'max by (target) (probe_success{{job="outpost-probe-mysql",{SEL}}})', ""),
               (f'max by (target) (probe_mysql_duration_seconds{{job="outpost-probe-mysql",phase="auth",{SEL}}})', ""),
               (f'min by (target) (probe_ssl_earliest_cert_expiry{{job="outpost-probe-mysql",{SEL}}} - time())', "")],
              transformations=[
                  {"id": "merge", "options": {}},
                  {"id": "organize", "options": {"excludeByName": {"Time": True},
                                                 "renameByName": {"Value #A": "up", "Value #B": "login", "Value #C": "certificate left"}}},
              ],
              w=24, h=6, unit="none", alerts=["CertificateExpiringSoon"],
              overrides=[
                  column("up", "bool_yes_no", ((None, "red"), (1, "green"))),
                  column("login", "s"),
                  column("certificate left", "s", ((None, "red"), (min(limits("CertificateExpiringSoon")), "orange"),
                                                   (max(limits("CertificateExpiringSoon")), "green"))),
              ]),
        row("RDS CloudWatch"),
        ts("RDS CPU", "CPUUtilization (average) from CloudWatch.",
           [(f"{by} (aws_rds_cpuutilization_average{{{SEL}}})", "{{region}} {{db_instance}}")], w=8, unit="percent",
           alerts=["AwsRdsCpuHigh"], **lines((None, "green"), (limits("AwsRdsCpuHigh")[0], "red"))),
        ts("RDS free storage", "FreeStorageSpace (CloudWatch) over allocated storage (DescribeDBInstances).",
           [(f"{by} (aws_rds_free_storage_space_average{{{SEL}}}) / {by} (aws_rds_allocated_storage_bytes{{{SEL}}})", "{{region}} {{db_instance}}")],
           w=8, unit="percentunit", alerts=["AwsRdsFreeStorageLow"],
           **lines((None, "red"), (limits("AwsRdsFreeStorageLow")[0], "green"))),
        ts("RDS freeable memory", "FreeableMemory (average) from CloudWatch.",
           [(f"{by} (aws_rds_freeable_memory_average{{{SEL}}})", "{{region}} {{db_instance}}")], w=8, unit="bytes",
           alerts=["AwsRdsFreeableMemoryLow"], **lines((None, "red"), (limits("AwsRdsFreeableMemoryLow")[0], "green"))),
        row("Real traffic (CloudWatch, ALB)"),
        ts("ALB 5xx ratio", "5xx answers, from the targets and from the load balancer itself, over requests, per load balancer; AwsRealTrafficErrorRatioHigh warns above 0.1 % over 10 minutes.",
           [(f"({lbs} (aws_applicationelb_httpcode_target_5xx_count_sum{{{cw}}}) + {lbs} (aws_applicationelb_httpcode_elb_5xx_count_sum{{{cw}}})) / {lbs} (aws_applicationelb_request_count_sum{{{cw}}})",
             "{{region}} {{load_balancer}}")], w=8, unit="percentunit", alerts=["AwsRealTrafficErrorRatioHigh"],
           **lines((None, "green"), (err, "red"))),
        ts("ALB TargetResponseTime", f"Mean TargetResponseTime per load balancer: the objective is {slow_mean * 1000:.0f} ms (AwsRealTrafficLatencyObjectiveMissed), {slow_max} s pages (AwsRealTrafficLatencyHigh).",
           [(f"{lbs} (aws_applicationelb_target_response_time_average{{{cw}}})", "{{region}} {{load_balancer}}")],
           w=8, unit="s", alerts=["AwsRealTrafficLatencyObjectiveMissed", "AwsRealTrafficLatencyHigh"],
           **lines((None, "green"), (slow_mean, "orange"), (slow_max, "red"))),
        ts("ALB requests", "RequestCount (sum over the CloudWatch period) per load balancer.",
           [(f"{lbs} (aws_applicationelb_request_count_sum{{{cw}}})", "{{region}} {{load_balancer}}")],
           w=8, unit="short"),
        row("Load balancers"),
        table("ALB target health", "Targets per health state, one row per region and target group (aws_elbv2_target_group_targets).",
              [(f'label_join(max by (region, target_group, state) (aws_elbv2_target_group_targets{{{SEL}}}), "group", " ", "region", "target_group")', "")],
              transformations=tg_matrix, w=12, unit="short",
              overrides=[column("group\\state", text=True),
                         column("healthy", steps=((None, "red"), (1, "green"))),
                         column("unhealthy", steps=((None, "green"), (1, "red")))],
              alerts=["AwsNoHealthyTargets", "AwsTargetsUnhealthy"]),
        table("Targets not healthy", "aws_elbv2_target_health for every target not healthy, with AWS's reason code.",
              [(f'max by (region, target_group, target, state, reason) (aws_elbv2_target_health{{state!="healthy",{SEL}}} == 1)', "")],
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True}}}],
              w=12, unit="none"),
        ts("Healthy targets", "Healthy targets per target group; AwsNoHealthyTargets pages at 0.",
           [(f'max by (region, target_group) (aws_elbv2_target_group_targets{{state="healthy",{SEL}}})', "{{region}} {{target_group}}")],
           w=12, unit="short", **lines((None, "red"), (1, "green"))),
        table("Load balancer state", "aws_elbv2_load_balancer_state: the current state per load balancer.",
              [(f"max by (region, load_balancer, state) (aws_elbv2_load_balancer_state{{{SEL}}} == 1)", "")],
              transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "Value": True}}}],
              w=12, unit="none"),
        row("Auto Scaling"),
        table("Auto Scaling capacity", "In service, desired, minimum and maximum per group; in service below minimum pages (AwsCapacityBelowMinimum).",
              [(f"max by (region, autoscaling_group) (aws_autoscaling_group_in_service_instances{{{SEL}}})", ""),
               (f"max by (region, autoscaling_group) (aws_autoscaling_group_desired_capacity{{{SEL}}})", ""),
               (f"max by (region, autoscaling_group) (aws_autoscaling_group_min_size{{{SEL}}})", ""),
               (f"max by (region, autoscaling_group) (aws_autoscaling_group_max_size{{{SEL}}})", "")],
              transformations=[{"id": "merge", "options": {}},
                               {"id": "organize", "options": {"excludeByName": {"Time": True},
                                                              "renameByName": {"Value #A": "in service", "Value #B": "desired", "Value #C": "min", "Value #D": "max"}}}],
              w=12, unit="short", alerts=["AwsCapacityBelowMinimum"]),
        ts("Instances by lifecycle state", "aws_autoscaling_group_instances per lifecycle state (stuck Pending shows here).",
           [(f"max by (region, autoscaling_group, lifecycle_state) (aws_autoscaling_group_instances{{{SEL}}})", "{{region}} {{autoscaling_group}} {{lifecycle_state}}")],
           w=12, unit="short"),
    ]
    return dashboard(
        "outpost-aws", "outpost / AWS inventory and compliance",
        "RDS policy compliance, ALB target health and real traffic, Auto Scaling capacity as outpost's [aws] scrapes see them, with CloudWatch figures. Regional: needs the Prometheus that scrapes the outpost.",
        ["aws"], panels,
        "label_values(outpost_aws_scrape_success, region)",
        'label_values(probe_success{region=~"$region"}, probe)',
        "regional",
    )


# ---------------------------------------------------------------- outpost health
def health():
    job = f"{OUTPOST_JOB},{SEL}"
    rate = "[$__rate_interval]"
    lag = limits("OutpostSchedulerLagging")[0]
    panels = [
        row("Daemon"),
        table("outpost instances", "up of outpost's own scrape jobs (names start with outpost; not the outpost-probe-* jobs) with the running version.",
              [(f"max by (region, instance) (up{{{job}}})", ""),
               (f"max by (region, instance, version) (outpost_build_info{{{job}}})", "")],
              transformations=[{"id": "merge", "options": {}},
                               {"id": "organize", "options": {"excludeByName": {"Time": True, "Value #B": True},
                                                              "renameByName": {"Value #A": "up"}}}],
              w=12, h=7, unit="none", alerts=["OutpostDown"],
              overrides=[column("up", steps=((None, "red"), (1, "green")))]),
        stat("Config reload", "outpost_config_last_reload_successful: 0 means the last reload failed and the previous configuration keeps running.",
             [(f"min by (region, instance) (outpost_config_last_reload_successful{{{job}}})", "{{region}} {{instance}}")],
             w=6, h=7, unit="none", thresholds=thresholds((None, "red"), (1, "green")), color={"mode": "thresholds"},
             mappings=[{"type": "value", "options": {"0": {"text": "failed"}, "1": {"text": "ok"}}}],
             alerts=["OutpostConfigReloadFailed"]),
        stat("Configuration age", "time() - outpost_config_last_reload_success_timestamp_seconds.",
             [(f"time() - max by (region, instance) (outpost_config_last_reload_success_timestamp_seconds{{{job}}})", "{{region}} {{instance}}")],
             w=6, h=7, unit="s"),
        row("Scheduler"),
        ts("Scheduler lateness", f"outpost_scheduler_lag_seconds: how late scheduled runs start; OutpostSchedulerLagging warns when p90 stays above {lag} s.",
           [(f"histogram_quantile({q}, sum by (region, instance, le) (rate(outpost_scheduler_lag_seconds_bucket{{{job}}}{rate})))", f"{{{{region}}}} {{{{instance}}}} p{int(float(q) * 100)}")
            for q in ("0.5", "0.9", "0.99")], w=8, unit="s", alerts=["OutpostSchedulerLagging"],
           **lines((None, "green"), (lag, "red"))),
        ts("Skipped runs", "outpost_scheduler_skipped_runs_total: runs skipped because the previous one took a whole interval; one bar per interval.",
           [(f"sum by (region, instance) (increase(outpost_scheduler_skipped_runs_total{{{job}}}[$__interval]))", "{{region}} {{instance}}")],
           w=8, unit="short", interval="1m", alerts=["OutpostSkippingRuns"], custom={"drawStyle": "bars", "fillOpacity": 80}),
        ts("Probes scheduled and in flight", "outpost_probes and outpost_probes_in_flight.",
           [(f"max by (region, instance) (outpost_probes{{{job}}})", "{{region}} {{instance}} scheduled"),
            (f"max by (region, instance) (outpost_probes_in_flight{{{job}}})", "{{region}} {{instance}} in flight")],
           w=8, unit="short"),
        row("AWS scrapes"),
        table("AWS scrape success", "outpost_aws_scrape_success per region and service (0: the service's alerts are blind).",
              [(f"min by (region, service) (outpost_aws_scrape_success{{{job}}})", "")],
              transformations=[{"id": "groupingToMatrix", "options": {"rowField": "region", "columnField": "service", "valueField": "Value"}}],
              w=8, unit="none", thresholds=thresholds((None, "red"), (1, "green")),
              custom={"cellOptions": {"type": "color-background"}}, color={"mode": "thresholds"},
              overrides=[column("region\\service", text=True)], alerts=["AwsScrapeFailing"]),
        ts("AWS data age", "time() - outpost_aws_scrape_last_success_timestamp_seconds; past stale_after the series go away.",
           [(f"time() - max by (region, service) (outpost_aws_scrape_last_success_timestamp_seconds{{{job}}})", "{{region}} {{service}}")],
           w=8, unit="s", alerts=["AwsScrapeStale"],
           **lines((None, "green"), (limits("AwsScrapeStale")[0], "red"))),
        ts("AWS scrape duration", "outpost_aws_scrape_duration_seconds; close to the interval means throttling or too many resources.",
           [(f"max by (region, service) (outpost_aws_scrape_duration_seconds{{{job}}})", "{{region}} {{service}}")],
           w=8, unit="s"),
        ts("AWS API calls", "outpost_aws_api_calls_total per operation (API cost).",
           [(f"sum by (region, service, operation) (rate(outpost_aws_api_calls_total{{{job}}}{rate}))", "{{region}} {{operation}}")],
           w=12, unit="reqps"),
        ts("AWS API errors", "outpost_aws_api_errors_total by error code, one bar per interval; 0 per region and service when there were none.",
           [(f"sum by (region, service, code) (increase(outpost_aws_api_errors_total{{{job}}}[$__interval])) or max by (region, service) (0 * outpost_aws_scrape_success{{{job}}})", "{{region}} {{service}} {{code}}")],
           w=12, unit="short", interval="1m", custom={"drawStyle": "bars", "fillOpacity": 80}),
        ts("CloudWatch datapoint age", "aws_cloudwatch_datapoint_age_seconds: how old the newest CloudWatch datapoint is ([aws.cloudwatch]).",
           [(f"max by (region) (aws_cloudwatch_datapoint_age_seconds{{{SEL}}})", "{{region}}")], w=24, h=6, unit="s"),
        row("Process"),
        ts("CPU", "rate of process_cpu_seconds_total: cores used.",
           [(f"rate(process_cpu_seconds_total{{{job}}}{rate})", "{{region}} {{instance}}")], w=6, unit="percentunit"),
        ts("Resident memory", "process_resident_memory_bytes.",
           [(f"process_resident_memory_bytes{{{job}}}", "{{region}} {{instance}}")], w=6, unit="bytes"),
        ts("Open file descriptors", "process_open_fds against process_max_fds.",
           [(f"process_open_fds{{{job}}} / process_max_fds{{{job}}}", "{{region}} {{instance}}")], w=6, unit="percentunit"),
        ts("/metrics scrape", "scrape_duration_seconds of outpost's /metrics as Prometheus sees it.",
           [(f"scrape_duration_seconds{{{job}}}", "{{region}} {{instance}} duration")], w=6, unit="s"),
        ts("/probe requests", "outpost_probe_requests_total: Blackbox-style /probe answers by module and HTTP status.",
           [(f"sum by (region, module, code) (rate(outpost_probe_requests_total{{{job}}}{rate}))", "{{region}} {{module}} {{code}}")],
           w=12, unit="reqps"),
        ts("Samples per scrape", "scrape_samples_scraped of outpost's /metrics (cardinality).",
           [(f"scrape_samples_scraped{{{job}}}", "{{region}} {{instance}}")], w=12, unit="short"),
    ]
    return dashboard(
        "outpost-health", "outpost / Health",
        "outpost's own health: up and version, configuration reloads, scheduler lateness and skips, AWS scrapes, process resources, /metrics scrapes. Regional: needs the Prometheus that scrapes the outpost.",
        ["health"], panels,
        'label_values(outpost_build_info, region)',
        'label_values(probe_success{region=~"$region"}, probe)',
        "regional",
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
