#!/usr/bin/env python3
"""Checks the generated Grafana dashboards against the rules and configuration.

    .venv/bin/python3 scripts/check-dashboards.py [-v] [DIR]
    .venv/bin/python3 scripts/check-dashboards.py --self-test

DIR (default grafana/dashboards) holds the dashboard JSON files. Each problem is
one line, `check-dashboards: <dashboard uid> / <panel title>: [<check>] <problem>`,
printed on stderr, and the exit status is 1 when there is any; else one OK line
with counts. The checks, one function each (their docstrings say why):

  job-selector     check_job_selectors        job=~ that also selects /probe jobs
  unit             check_units                stat/table/timeseries/gauge/bargauge without a unit
  alert-threshold  check_alert_thresholds     panel of an alert's series without its threshold
  matrix-link      check_matrix_links         SLA matrix cell not linking to the probe detail
  sum-gauge        check_no_sum_of_gauges     sum() straight over a gauge (HA pairs double it)
  time-interval    check_time_interval        Grafana timeInterval != Prometheus scrape_interval
  global           check_global_dashboards    regional|global tag; global reads only federated series

They read docs/metrics.md (series and types), prometheus/*.rules.yml (alerts and
recording rules), prometheus/prometheus.yml, prometheus/global/prometheus-global.yml
and grafana/provisioning/datasources/*.yml. -v prints what was derived from them
(the alert thresholds, the federated names). --self-test runs the checks on
scripts/testdata/dashboards/ (one bad file per check, one good dashboard) against
the fixed context of scripts/testdata/dashboards/context/, so it does not move
when the real rules do. Run by `make rules`. Python 3 standard library + PyYAML
(the venv of scripts/install-test-deps.sh).
"""
import argparse
import ast
import glob
import json
import math
import operator
import os
import re
import sys

try:
    import yaml
except ImportError:  # pragma: no cover
    sys.exit("check-dashboards: PyYAML missing: run with .venv/bin/python3 (scripts/install-test-deps.sh makes it)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "check-dashboards"

# The /probe jobs (outpost-probe-<module>) whose series name targets, not outpost.
PROBE_JOB = "outpost-probe-http"
PROBE_DETAIL = "/d/outpost-probe-detail"
SLA_UID = "outpost-sla-overview"
UNIT_PANELS = ("stat", "table", "timeseries", "gauge", "bargauge")
# Generated SLO burn-rate alerts: shown as multiples of the budget, not raw thresholds.
THRESHOLD_EXEMPT_RULE_FILES = ("outpost-slo.rules.yml",)
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


# --------------------------------------------------------------------- PromQL
# Enough of PromQL to find selectors, metric names, aggregations and top-level
# operators: a tokenizer that knows quoted strings (commas and braces inside
# them are text), Grafana variables ($region, ${x:regex}, $__rate_interval,
# [[x]]) and durations, and a walker that keeps track of (), {} and [] depth.

TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<var>\$\{[^}]*\}|\$\w+|\[\[[\w.:]+\]\])
  | (?P<num>0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:[a-zA-Z]+(?:\d+[a-zA-Z]+)*)?)
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}\[\]@])
  | (?P<other>.)
    """,
    re.X | re.S,
)
PLAIN_NUMBER = re.compile(r"^(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$")

AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}
CLAUSES = {"by", "without", "on", "ignoring", "group_left", "group_right"}
SET_OPS = {"and", "or", "unless"}
KEYWORDS = AGGREGATIONS | CLAUSES | SET_OPS | {"bool", "offset", "atan2", "inf", "nan", "start", "end"}
COMPARISONS = {"==", "!=", "<", ">", "<=", ">="}
THRESHOLD_OPS = {"<", ">", "<=", ">="}
OPENERS = {"(": ")", "{": "}", "[": "]"}


class Tok:
    __slots__ = ("kind", "text", "start", "end", "brace", "bracket", "clause")

    def __init__(self, kind, text, start=0, end=0):
        self.kind, self.text, self.start, self.end = kind, text, start, end
        self.brace = self.bracket = self.clause = False

    def __repr__(self):
        return self.text


def tokenize(expr):
    """Tokens of a PromQL expression (whitespace and comments dropped), each
    marked as inside a {} selector, a [] range or a label list (by/without/on/
    ignoring/group_left/group_right (...))."""
    toks = []
    for m in TOKEN_RE.finditer(expr):
        if m.lastgroup not in ("ws", "comment"):
            toks.append(Tok(m.lastgroup, m.group(), m.start(), m.end()))
    brace = bracket = depth = 0
    clause_at = None  # paren depth at which a label list closes
    for i, t in enumerate(toks):
        if t.text == "{" and t.kind == "op":
            brace += 1
        elif t.text == "}" and t.kind == "op":
            brace = max(0, brace - 1)
            t.brace = True
            continue
        elif t.text == "[" and t.kind == "op" and not brace:
            bracket += 1
        elif t.text == "]" and t.kind == "op" and not brace:
            bracket = max(0, bracket - 1)
            t.bracket = True
            continue
        t.brace, t.bracket = brace > 0, bracket > 0
        if brace or bracket:
            continue
        if t.text == "(" and t.kind == "op":
            if clause_at is None and i > 0 and toks[i - 1].kind == "ident" and toks[i - 1].text in CLAUSES:
                clause_at = depth
            depth += 1
        elif t.text == ")" and t.kind == "op":
            depth -= 1
            if clause_at is not None and depth == clause_at:
                t.clause = True
                clause_at = None
                continue
        if clause_at is not None:
            t.clause = True
    return toks


def matching(toks, i):
    """Index of the bracket closing toks[i] (an opener), or len(toks) - 1."""
    want, level = OPENERS[toks[i].text], 0
    for j in range(i, len(toks)):
        if toks[j].kind != "op":
            continue
        if toks[j].text == toks[i].text:
            level += 1
        elif toks[j].text == want:
            level -= 1
            if level == 0:
                return j
    return len(toks) - 1


def top_level(toks):
    """Indices of the tokens outside any (), {} or [] of this token list."""
    level = 0
    for i, t in enumerate(toks):
        if t.kind == "op" and t.text in OPENERS:
            if level == 0:
                yield i
            level += 1
            continue
        if t.kind == "op" and t.text in (")", "}", "]"):
            level = max(0, level - 1)
            continue
        if level == 0:
            yield i


def unquote(s):
    """The value of a PromQL string literal (Go escapes in "..." and '...')."""
    if s[0] == "`":
        return s[1:-1]
    simple = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}

    def esc(m):
        c = m.group(1)
        if c in simple:
            return simple[c]
        if c[0] in "xuU":
            return chr(int(c[1:], 16))
        if c[0] in "01234567" and len(c) == 3:
            return chr(int(c, 8))
        return c

    return re.sub(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", esc, s[1:-1], flags=re.S)


def selectors(toks):
    """(metric name or None, [(label, op, value)], text) of every {...} selector."""
    out, i = [], 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "op" and t.text == "{" and not t.bracket:
            j = matching(toks, i)
            inner = toks[i + 1:j]
            name = None
            if i > 0 and toks[i - 1].kind == "ident" and toks[i - 1].text.lower() not in KEYWORDS:
                name = toks[i - 1].text
            matchers, k = [], 0
            while k < len(inner):
                a = inner[k]
                if (a.kind in ("ident", "str") and k + 2 < len(inner)
                        and inner[k + 1].text in ("=", "!=", "=~", "!~") and inner[k + 2].kind == "str"):
                    label = unquote(a.text) if a.kind == "str" else a.text
                    matchers.append((label, inner[k + 1].text, unquote(inner[k + 2].text)))
                    k += 3
                elif a.kind == "str":  # Prometheus 3: {"metric.name", ...}
                    name = unquote(a.text)
                    k += 1
                else:
                    k += 1
            text = (name or "") + "{" + ",".join(f"{l}{o}{json.dumps(v)}" for l, o, v in matchers) + "}"
            out.append((name, matchers, text))
            i = j + 1
        else:
            i += 1
    return out


def is_metric_position(toks, i):
    """toks[i] is an identifier naming a series: not a function or keyword, not a
    label name inside {} or a label list, not in a [] range."""
    t = toks[i]
    if t.kind != "ident" or t.brace or t.bracket or t.clause or t.text.lower() in KEYWORDS:
        return False
    return not (i + 1 < len(toks) and toks[i + 1].kind == "op" and toks[i + 1].text == "(")


def metric_names(toks):
    """Every identifier of the expression that names a series (in order)."""
    names = [t.text for i, t in enumerate(toks) if is_metric_position(toks, i)]
    for name, _, _ in selectors(toks):  # {__name__="x"} and {"x"}
        if name and name not in names:
            names.append(name)
    return names


def split_set_ops(toks):
    """The operands of the top-level and/or/unless of an expression (their
    on (...) / ignoring (...) modifiers dropped; a fully parenthesised operand
    is opened and split again)."""
    cuts = [i for i in top_level(toks) if toks[i].kind == "ident" and toks[i].text in SET_OPS]
    parts, start = [], 0
    for c in cuts + [len(toks)]:
        part = toks[start:c]
        start = c + 1
        while part and part[0].kind == "ident" and part[0].text in CLAUSES:
            if len(part) > 1 and part[1].text == "(":
                part = part[matching(part, 1) + 1:]
            else:
                part = part[1:]
        if not part:
            continue
        if part[0].text == "(" and matching(part, 0) == len(part) - 1:
            parts.extend(split_set_ops(part[1:-1]))
        else:
            parts.append(part)
    return parts


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Mod: math.fmod, ast.Pow: operator.pow}


def const_value(toks):
    """The value of a constant: a number or arithmetic of numbers
    (`7 * 86400`, `(14.4 * 0.001)`), else None."""
    if not toks:
        return None
    text = []
    for t in toks:
        if t.kind == "num" and PLAIN_NUMBER.match(t.text):
            text.append(t.text)
        elif t.kind == "op" and t.text in "+-*/%()^" and len(t.text) == 1:
            text.append("**" if t.text == "^" else t.text)
        else:
            return None

    def ev(n):
        if isinstance(n, ast.Expression):
            return ev(n.body)
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)):
            return float(n.value)
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            v = ev(n.operand)
            return -v if isinstance(n.op, ast.USub) else v
        if isinstance(n, ast.BinOp) and type(n.op) in _BINOPS:
            return _BINOPS[type(n.op)](ev(n.left), ev(n.right))
        raise ValueError(n)

    try:
        return ev(ast.parse(" ".join(text), mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError):
        return None


def grafana_vars_to_any(regex):
    """A regex with Grafana variables read as what they may expand to: anything."""
    return re.sub(r"\$\{[^}]*\}|\$\w+|\[\[[\w.:]+\]\]", ".*", regex)


def full_match(regex, value):
    """Prometheus anchors label regexes at both ends."""
    return re.fullmatch(f"(?:{regex})", value) is not None


def fmt_num(v):
    return f"{v:g}" if abs(v) < 1e6 or v != int(v) else str(int(v))


# ------------------------------------------------------------------- context
def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f) or {}


def documented_series(metrics_md):
    """{series name: type} from the tables of docs/metrics.md whose header starts
    with `series` (not the label or reason tables), first column `name`. A table
    without a `type` column (the Blackbox series) takes the type its section
    states in prose ("All are gauges"); a histogram's _bucket, _count and _sum
    are counters."""
    types, header, section_type = {}, None, None
    lines = open(metrics_md).read().splitlines()
    for n, line in enumerate(lines):
        if re.match(r"^#{1,6}\s", line):
            header, section_type = None, None
            continue
        m = re.search(r"\ball (?:of them )?are (gauges|counters|histograms)\b", line, re.I)
        if m and not line.lstrip().startswith("|"):
            section_type = m.group(1).lower().rstrip("s")
        if not line.lstrip().startswith("|"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if n + 1 < len(lines) and re.match(r"^\s*\|?\s*:?-{3,}", lines[n + 1]):
            header = [c.lower() for c in cells]
            continue
        if not header or header[0] != "series":
            continue
        m = re.fullmatch(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`", cells[0])
        if not m:
            continue
        kind = section_type or "untyped"
        if "type" in header and header.index("type") < len(cells):
            kind = cells[header.index("type")].strip("` ").lower() or kind
        types[m.group(1)] = kind
    for name, kind in list(types.items()):
        if kind == "histogram":
            for suffix in HISTOGRAM_SUFFIXES:
                types.setdefault(name + suffix, "counter")
    return types


def rule_groups(paths):
    """(file, rule) of every rule of the rule files."""
    for path in paths:
        for group in load_yaml(path).get("groups") or []:
            for rule in group.get("rules") or []:
                yield path, rule


def alert_thresholds(rule_files, known):
    """[(alert, frozenset(metrics), const, comparison text)] of every alert outside
    THRESHOLD_EXEMPT_RULE_FILES: each operand of its top-level and/or/unless that
    is `LEFT OP CONST` (OP < > <= >=, CONST a non-zero number or arithmetic of
    numbers); metrics are LEFT's series names that are documented or recorded.
    Also returns what was skipped, and why, for -v."""
    out, skipped = [], []
    for path, rule in rule_groups(rule_files):
        name = rule.get("alert")
        if not name:
            continue
        if os.path.basename(path) in THRESHOLD_EXEMPT_RULE_FILES:
            skipped.append((name, "exempt file " + os.path.basename(path)))
            continue
        expr = str(rule.get("expr", ""))
        toks = tokenize(expr)
        before = len(out) + len(skipped)
        for part in split_set_ops(toks):
            cmp = [i for i in top_level(part) if part[i].kind == "op" and part[i].text in COMPARISONS]
            if not cmp:
                continue
            i = cmp[-1]  # comparisons are left-associative: the last one is outermost
            op, left, right = part[i].text, part[:i], part[i + 1:]
            if right and right[0].text == "bool":
                right = right[1:]
            text = " ".join(expr[part[0].start:part[-1].end].split())
            if op not in THRESHOLD_OPS:
                skipped.append((name, f"{text}: {op} is not a threshold"))
                continue
            value = const_value(right)
            if value is None or value == 0:
                skipped.append((name, f"{text}: right side is {'0' if value == 0 else 'not a constant'}"))
                continue
            metrics = frozenset(m for m in metric_names(left) if m in known)
            if not metrics:
                skipped.append((name, f"{text}: no documented or recorded series"))
                continue
            item = (name, metrics, value, text)
            if any(o[:3] == item[:3] for o in out):
                skipped.append((name, f"{text}: same threshold as above"))
            else:
                out.append(item)
        if len(out) + len(skipped) == before:
            skipped.append((name, "no top-level comparison with a constant"))
    return out, skipped


def federation_selectors(global_config):
    """The match[] selectors of the /federate scrape jobs, each as
    (text, [(op, value)] on __name__)."""
    out = []
    for job in load_yaml(global_config).get("scrape_configs") or []:
        for sel in (job.get("params") or {}).get("match[]") or []:
            toks = tokenize(sel)
            found = selectors(toks)
            if not found:  # a bare metric name
                found = [(t.text, [], sel) for t in toks[:1] if t.kind == "ident"]
            conds = []
            for name, matchers, _ in found:
                if name:
                    conds.append(("=", name))
                conds += [(op, v) for l, op, v in matchers if l == "__name__"]
            out.append((sel, conds))
    return out


def federated(name, fed):
    """Whether a match[] selector picks series of this name (other labels ignored)."""
    for _, conds in fed:
        ok = True
        for op, v in conds:
            hit = full_match(v, name) if op in ("=~", "!~") else v == name
            if hit != (op in ("=", "=~")):
                ok = False
        if ok:
            return True
    return False


class Context:
    """What the checks read besides the dashboards."""

    def __init__(self, metrics_md, rule_files, global_config, prometheus_config, datasource_files):
        self.metrics_md, self.rule_files = metrics_md, rule_files
        self.global_config, self.prometheus_config = global_config, prometheus_config
        self.datasource_files = datasource_files
        self.types = documented_series(metrics_md)
        self.recorded = {r["record"] for _, r in rule_groups(rule_files) if r.get("record")}
        self.known = set(self.types) | self.recorded
        self.alerts, self.alerts_skipped = alert_thresholds(rule_files, self.known)
        self.federation = federation_selectors(global_config)
        # Recording rules of the global Prometheus itself exist there unfederated.
        base = os.path.dirname(global_config)
        own = []
        for pattern in load_yaml(global_config).get("rule_files") or []:
            own += glob.glob(os.path.join(base, pattern))
        self.global_recorded = {r["record"] for _, r in rule_groups(sorted(own)) if r.get("record")}

    @classmethod
    def repo(cls, root=ROOT):
        p = lambda *a: os.path.join(root, *a)  # noqa: E731
        return cls(p("docs", "metrics.md"), sorted(glob.glob(p("prometheus", "*.rules.yml"))),
                   p("prometheus", "global", "prometheus-global.yml"), p("prometheus", "prometheus.yml"),
                   sorted(glob.glob(p("grafana", "provisioning", "datasources", "*.y*ml"))))


# ---------------------------------------------------------------- dashboards
class Problem:
    def __init__(self, kind, where, panel, text):
        self.kind, self.where, self.panel, self.text = kind, where, panel, text

    def __str__(self):
        return f"{NAME}: {self.line()}"

    def line(self):
        return f"{self.where} / {self.panel}: [{self.kind}] {self.text}"


def panels_of(dash):
    """Every panel, those inside collapsed rows included."""
    for p in dash.get("panels") or []:
        yield p
        for q in p.get("panels") or []:
            yield q


def exprs_of(panel):
    return [t["expr"] for t in panel.get("targets") or [] if isinstance(t.get("expr"), str) and t["expr"].strip()]


def title(panel):
    return panel.get("title") or f"(panel id {panel.get('id')})"


def threshold_values(panel):
    """Step values of the panel's thresholds, overrides included."""
    fc = panel.get("fieldConfig") or {}
    sets = [((fc.get("defaults") or {}).get("thresholds") or {})]
    for o in fc.get("overrides") or []:
        sets += [p.get("value") or {} for p in o.get("properties") or [] if p.get("id") == "thresholds"]
    return [s["value"] for t in sets for s in t.get("steps") or []
            if isinstance(s.get("value"), (int, float)) and not isinstance(s.get("value"), bool)]


def check_job_selectors(dash, ctx):
    """A job=~ regex that matches outpost-probe-http also selects the Blackbox-style
    /probe jobs (outpost-probe-<module>), whose series name the probed targets, not
    outpost instances: up, process_* and scrape_* of those jobs would be counted as
    outpost's own. Such a selector must also exclude them with a job!~ matching
    outpost-probe-http (job="..." equality is precise and fine)."""
    out = []
    for panel in panels_of(dash):
        for expr in exprs_of(panel):
            for _, matchers, text in selectors(tokenize(expr)):
                jobs = [(op, v) for l, op, v in matchers if l == "job"]
                wide = [v for op, v in jobs if op == "=~" and safe_match(grafana_vars_to_any(v), PROBE_JOB)]
                if not wide:
                    continue
                if any(op == "!~" and safe_match(v, PROBE_JOB) for op, v in jobs):
                    continue
                out.append(Problem("job-selector", dash["uid"], title(panel),
                                   f'{text}: job=~"{wide[0]}" also selects the /probe jobs ({PROBE_JOB} ...); '
                                   f'add job!~"outpost-probe-.*" to the selector'))
    return out


def safe_match(regex, value):
    try:
        return full_match(regex, value)
    except re.error:
        return False


def check_units(dash, ctx):
    """A number without a unit is read wrongly (seconds as ms, ratios as percent,
    bytes as counts): every stat, table, timeseries, gauge and bargauge panel
    states fieldConfig.defaults.unit ("none" or "short" when it is a plain count)."""
    out = []
    for panel in panels_of(dash):
        if panel.get("type") not in UNIT_PANELS:
            continue
        unit = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
        if not (isinstance(unit, str) and unit.strip()):
            out.append(Problem("unit", dash["uid"], title(panel),
                               f"{panel['type']} panel without fieldConfig.defaults.unit"))
    return out


def check_alert_thresholds(dash, ctx):
    """The on-call opens the dashboard when an alert fires: a panel that shows the
    alert's series (every series of the alert's left side) must draw the alert's
    threshold as a threshold step, in the alert's unit, so the line the alert
    crossed is visible (relative tolerance 1e-9). SLO burn-rate alerts are exempt
    (THRESHOLD_EXEMPT_RULE_FILES: shown as multiples of the budget)."""
    out = []
    for panel in panels_of(dash):
        read = {m for e in exprs_of(panel) for m in metric_names(tokenize(e))}
        if not read:
            continue
        steps = threshold_values(panel)
        for alert, metrics, value, text in ctx.alerts:
            if not metrics <= read:
                continue
            if any(math.isclose(value, s, rel_tol=1e-9) for s in steps):
                continue
            shown = ", ".join(fmt_num(s) for s in steps) or "none"
            out.append(Problem("alert-threshold", dash["uid"], title(panel),
                               f"alert {alert} fires at {fmt_num(value)} ({text}) on {', '.join(sorted(metrics))}; "
                               f"threshold steps: {shown}"))
    return out


def check_matrix_links(dash, ctx):
    """A red cell of the SLA overview's target x region matrix is where an
    investigation starts: the cell must link to the probe detail dashboard with the
    time range and the variables (${__url_time_range}, var-region=...), or the
    click lands on the last 24 h of every probe. Only data links count
    (fieldConfig.defaults.links, or an override's links): a panel-level `links`
    entry is the header menu, not a cell click, and ${__field.name} or
    ${__data.fields.x} mean nothing there."""
    if dash.get("uid") != SLA_UID:
        return []
    out = []
    for panel in panels_of(dash):
        if panel.get("type") != "table":
            continue
        if not any(t.get("id") == "groupingToMatrix" for t in panel.get("transformations") or []):
            continue
        fc = panel.get("fieldConfig") or {}
        links = list((fc.get("defaults") or {}).get("links") or [])
        for o in fc.get("overrides") or []:
            for p in o.get("properties") or []:
                if p.get("id") == "links":
                    links += p.get("value") or []
        need = (PROBE_DETAIL, "${__url_time_range}", "var-region")
        if any(all(n in str(l.get("url", "")) for n in need) for l in links):
            continue
        urls = "; ".join(str(l.get("url", "")) for l in links) or "none"
        out.append(Problem("matrix-link", dash["uid"], title(panel),
                           f"groupingToMatrix table without a data link to {PROBE_DETAIL} carrying "
                           f"${{__url_time_range}} and var-region (links: {urls})"))
    return out


def sums(toks):
    """(index of `sum`, argument tokens) of every sum aggregation."""
    for i, t in enumerate(toks):
        if t.kind != "ident" or t.text != "sum" or t.brace or t.bracket or t.clause:
            continue
        j = i + 1
        if j < len(toks) and toks[j].text in ("by", "without") and j + 1 < len(toks) and toks[j + 1].text == "(":
            j = matching(toks, j + 1) + 1
        if j < len(toks) and toks[j].text == "(":
            yield i, toks[j + 1:matching(toks, j)]


def check_no_sum_of_gauges(dash, ctx):
    """With HA pairs (docs/scaling.md) two replicas expose the same gauge, so a sum
    straight over a gauge family (the first identifier inside sum(...) is a gauge
    documented in docs/metrics.md) counts everything twice: use max, min or avg
    (then sum if needed). Sums over rate()/increase() of counters, histogram
    _bucket/_count/_sum, or recording rules are fine. CloudWatch's *_sum series
    are documented gauges and count as such."""
    out = []
    for panel in panels_of(dash):
        for expr in exprs_of(panel):
            toks = tokenize(expr)
            for _, arg in sums(toks):
                first = next((k for k, a in enumerate(arg) if a.kind == "ident" and not a.brace), None)
                if first is None or not is_metric_position(arg, first):
                    continue
                name = arg[first].text
                if ctx.types.get(name) == "gauge":
                    out.append(Problem("sum-gauge", dash["uid"], title(panel),
                                       f"sum over the gauge {name} (doubled under HA pairs): aggregate it "
                                       f"with max/min/avg instead"))
    return out


def label_values_metrics(dash):
    """(variable name, metric) of every label_values(METRIC, label) variable query."""
    out = []
    for var in (dash.get("templating") or {}).get("list") or []:
        if var.get("type") != "query":
            continue
        q = var.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or var.get("definition") or "")
        for m in re.finditer(r"label_values\s*\(", str(q)):
            toks = tokenize(str(q)[m.end() - 1:])
            inner = toks[1:matching(toks, 0)]
            commas = [i for i in top_level(inner) if inner[i].text == ","]
            if commas:
                out += [(var.get("name"), n) for n in metric_names(inner[:commas[0]])]
    return out


def check_global_dashboards(dash, ctx):
    """Every dashboard says which Prometheus it is for, with exactly one of the tags
    `regional` or `global`. The global Prometheus holds only what it federates
    (match[] of prometheus/global/prometheus-global.yml) and what its own rules
    record: a global dashboard's panel reading anything else is empty there. So
    every documented or recorded series its queries read, and every metric of its
    label_values() variables, must be federated (full-anchored on __name__; the
    selectors' other matchers are not compared)."""
    tags = [t for t in dash.get("tags") or [] if t in ("regional", "global")]
    if len(tags) != 1:
        has = ", ".join(dash.get("tags") or []) or "none"
        return [Problem("global", dash["uid"], "(dashboard)", f"needs exactly one of the tags regional, global (has: {has})")]
    if tags[0] != "global":
        return []
    out = []

    def ok(name):
        return name in ctx.global_recorded or federated(name, ctx.federation)

    rel = os.path.relpath(ctx.global_config, ROOT) if ctx.global_config.startswith(ROOT) else ctx.global_config
    for var, name in label_values_metrics(dash):
        if not ok(name):
            out.append(Problem("global", dash["uid"], f"(variable {var})",
                               f"label_values reads {name}, which no match[] selector of {rel} federates"))
    for panel in panels_of(dash):
        seen = []
        for e in exprs_of(panel):
            for n in metric_names(tokenize(e)):
                if n in ctx.known and n not in seen and not ok(n):
                    seen.append(n)
        for n in seen:
            out.append(Problem("global", dash["uid"], title(panel),
                               f"reads {n}, which no match[] selector of {rel} federates"))
    return out


DASHBOARD_CHECKS = (check_job_selectors, check_units, check_alert_thresholds, check_matrix_links,
                    check_no_sum_of_gauges, check_global_dashboards)


def parse_duration(s):
    """Seconds of a Prometheus/Grafana duration (1m30s, 15s, 2h), or None."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)", str(s))
    if not parts or "".join(a + b for a, b in parts) != str(s).strip():
        return None
    mult = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    return sum(float(a) * mult[b] for a, b in parts)


def check_time_interval(datasource_docs, scrape_interval, where_config="prometheus/prometheus.yml"):
    """Grafana's $__rate_interval is max(4 x timeInterval, $__interval + timeInterval):
    with a timeInterval shorter than the real scrape interval a rate() window can
    hold fewer than two samples and the panel goes blank or jumpy; a longer one
    hides detail. Every provisioned Prometheus datasource's jsonData.timeInterval
    equals global.scrape_interval of the regional Prometheus.
    datasource_docs: [(path, parsed provisioning YAML)]."""
    out = []
    want = parse_duration(scrape_interval)
    for path, doc in datasource_docs:
        for ds in (doc or {}).get("datasources") or []:
            if ds.get("type") != "prometheus":
                continue
            got = (ds.get("jsonData") or {}).get("timeInterval")
            if got is None or parse_duration(got) is None or parse_duration(got) != want:
                out.append(Problem("time-interval", path, ds.get("name", "(datasource)"),
                                   f"jsonData.timeInterval is {got!r}, {where_config} scrapes every "
                                   f"{scrape_interval!r}: they must be equal"))
    return out


def repo_time_interval(ctx):
    docs = [(os.path.relpath(p, ROOT), load_yaml(p)) for p in ctx.datasource_files]
    interval = (load_yaml(ctx.prometheus_config).get("global") or {}).get("scrape_interval", "1m")
    return check_time_interval(docs, interval, os.path.relpath(ctx.prometheus_config, ROOT))


def load_dashboard(path):
    with open(path) as f:
        d = json.load(f)
    if "dashboard" in d and "panels" not in d:  # an API export
        d = d["dashboard"]
    d.setdefault("uid", os.path.basename(path))
    return d


def check_files(paths, ctx):
    """Problems of the dashboard files, and the dashboards read."""
    problems, dashes = [], []
    for path in paths:
        d = load_dashboard(path)
        dashes.append(d)
        for check in DASHBOARD_CHECKS:
            problems += check(d, ctx)
    return problems, dashes


def verbose_report(ctx, dashes):
    print(f"{NAME}: {len(ctx.types)} documented series ({sum(1 for t in ctx.types.values() if t == 'gauge')} gauges), "
          f"{len(ctx.recorded)} recording rules")
    print(f"{NAME}: alert thresholds (alert, series, constant) checked by check_alert_thresholds:")
    for alert, metrics, value, text in ctx.alerts:
        panels = [f"{d['uid']} / {title(p)}" for d in dashes for p in panels_of(d)
                  if metrics <= {m for e in exprs_of(p) for m in metric_names(tokenize(e))}]
        print(f"  {alert}: {', '.join(sorted(metrics))} {fmt_num(value)}   [{text}]")
        print(f"      panels: {'; '.join(panels) if panels else 'none reads all of them'}")
    print(f"{NAME}: alert comparisons not checked:")
    for alert, why in ctx.alerts_skipped:
        print(f"  {alert}: {why}")
    print(f"{NAME}: federation match[] selectors: {'  '.join(s for s, _ in ctx.federation)}; "
          f"recorded on the global Prometheus: {', '.join(sorted(ctx.global_recorded)) or 'none'}")


# ------------------------------------------------------------------ self-test
TESTDATA = os.path.join(ROOT, "scripts", "testdata", "dashboards")
KIND_OF_FILE = {"1": "job-selector", "2": "unit", "3": "alert-threshold", "4": "matrix-link",
                "5": "sum-gauge", "6": "time-interval", "7": "global"}


# (expression, series names, label matchers, first identifier inside each sum).
PARSER_CASES = [
    ('sum by (region, le) (rate(x_bucket{a=~"b,{c}",region=~"$region"}[$__rate_interval]))',
     ["x_bucket"], [("a", "=~", "b,{c}"), ("region", "=~", "$region")], ["rate"]),
    ('a * on (region, db) group_left (status) max by (region, db, status) (b{s="}"} == 1)',
     ["a", "b"], [("s", "=", "}")], []),
    ("sum(c) without (instance) / ignoring (le) sum(0 * d)", ["c", "d"], [], ["c", "d"]),
    ('histogram_quantile(0.9, sum without (group) (rate(e[5m] offset 1h))) > bool 2',
     ["e"], [], ["rate"]),
    ('label_replace(f{x="a\\"b"}, "dst", "$1", "src", "(.*)") and on () g @ start()',
     ["f", "g"], [("x", "=", 'a"b')], []),
    ("max_over_time(h[1h:5m]) # sum(not_read)", ["h"], [], []),
]


def self_test():
    """Each bad file must fail exactly its check, the good dashboard none."""
    c = os.path.join(TESTDATA, "context")
    ctx = Context(os.path.join(c, "metrics.md"), sorted(glob.glob(os.path.join(c, "*.rules.yml"))),
                  os.path.join(c, "prometheus-global.yml"), os.path.join(c, "prometheus.yml"), [])
    failed = []

    def expect(label, problems, kind):
        kinds = sorted({p.kind for p in problems})
        want = [kind] if kind else []
        if kinds == want:
            first = f": {problems[0].line()}" if problems else ""
            print(f"{NAME}: self-test ok: {label}: {len(problems)} problem(s){first}")
        else:
            failed.append(label)
            print(f"{NAME}: self-test FAILED: {label}: expected {want or 'no problem'}, got {kinds or 'none'}",
                  file=sys.stderr)
            for p in problems:
                print(f"    {p}", file=sys.stderr)

    # The PromQL reading: series names, selectors, sum arguments.
    for expr, names, matchers, summed in PARSER_CASES:
        toks = tokenize(expr)
        got = (metric_names(toks), [m for _, ms, _ in selectors(toks) for m in ms],
               [next((a.text for a in arg if a.kind == "ident"), None) for _, arg in sums(toks)])
        if got != (names, matchers, summed):
            failed.append(f"parse {expr}")
            print(f"{NAME}: self-test FAILED: {expr}: read {got}, expected {(names, matchers, summed)}",
                  file=sys.stderr)
    if not any(f.startswith("parse ") for f in failed):
        print(f"{NAME}: self-test ok: {len(PARSER_CASES)} PromQL expressions read as expected")

    # What the parser derives from the fixture rules (and/or/unless, on (...),
    # bool, arithmetic, the exempt SLO file, == and 0 dropped).
    derived = sorted((a, tuple(sorted(m)), v) for a, m, v, _ in ctx.alerts)
    want = sorted([
        ("TestProbeSlow", ("probe_duration_seconds",), 2.0),
        ("TestCertificateExpiring", ("probe_ssl_earliest_cert_expiry",), 7 * 86400.0),
        ("TestDownInRegions", ("probe:availability:ratio_rate1h",), 0.999),
        ("TestAvailabilityLow", ("probe:error:ratio_rate1h",), 14.4 * 0.001),
    ])
    if derived == want:
        shown = "; ".join(f"{x} {', '.join(m)} {fmt_num(v)}" for x, m, v in derived)
        print(f"{NAME}: self-test ok: derived alert thresholds: {shown}")
    else:
        failed.append("derived alert thresholds")
        print(f"{NAME}: self-test FAILED: alert thresholds {derived}, expected {want}", file=sys.stderr)

    bad = sorted(glob.glob(os.path.join(TESTDATA, "bad", "*")))
    if sorted(os.path.basename(p)[0] for p in bad) != sorted(KIND_OF_FILE):
        failed.append("bad/ files")
        print(f"{NAME}: self-test FAILED: bad/ needs one file per check 1-7, has {bad}", file=sys.stderr)
    for path in bad:
        label = os.path.relpath(path, TESTDATA)
        kind = KIND_OF_FILE[os.path.basename(path)[0]]
        if path.endswith(".json"):
            expect(label, check_files([path], ctx)[0], kind)
        else:  # check 6 reads Grafana's provisioning, not a dashboard
            interval = load_yaml(ctx.prometheus_config)["global"]["scrape_interval"]
            doc = load_yaml(path)
            expect(label, check_time_interval([(label, doc)], interval), kind)
            for ds in doc["datasources"]:
                ds["jsonData"]["timeInterval"] = interval
            expect(label + " with timeInterval = scrape_interval", check_time_interval([(label, doc)], interval), None)

    good = sorted(glob.glob(os.path.join(TESTDATA, "good", "*.json")))
    for path in good:
        label = os.path.relpath(path, TESTDATA)
        expect(label, check_files([path], ctx)[0], None)
        d = load_dashboard(path)
        for tags in (["outpost"], ["outpost", "regional", "global"]):
            d["tags"] = tags
            expect(f"{label} tagged {tags}", check_global_dashboards(d, ctx), "global")
    if not good:
        failed.append("good/")
    if failed:
        print(f"{NAME}: self-test FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"{NAME}: self-test OK ({len(bad)} bad files each caught by its own check, {len(good)} good dashboard clean)")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", nargs="?", default=os.path.join(ROOT, "grafana", "dashboards"))
    ap.add_argument("-v", "--verbose", action="store_true", help="print the derived thresholds and selectors")
    ap.add_argument("--self-test", action="store_true", help="check scripts/testdata/dashboards")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    paths = sorted(glob.glob(os.path.join(args.dir, "*.json")))
    if not paths:
        print(f"{NAME}: no *.json in {args.dir}", file=sys.stderr)
        return 1
    ctx = Context.repo()
    problems, dashes = check_files(paths, ctx)
    problems += repo_time_interval(ctx)
    if args.verbose:
        verbose_report(ctx, dashes)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{NAME}: {len(problems)} problem(s) in {len(paths)} dashboards", file=sys.stderr)
        return 1
    n_panels = sum(1 for d in dashes for _ in panels_of(d))
    n_exprs = sum(len(exprs_of(p)) for d in dashes for p in panels_of(d))
    print(f"{NAME}: OK ({len(dashes)} dashboards, {n_panels} panels, {n_exprs} queries; "
          f"{len(ctx.alerts)} alert thresholds, {len(ctx.federation)} federation selectors, "
          f"{len(ctx.datasource_files)} datasource files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
