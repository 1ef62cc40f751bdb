//! The provisioned Grafana dashboards (grafana/dashboards/*.json) as data: every
//! panel query with the dashboard and panel it belongs to, and Grafana's template
//! variables substituted so Prometheus or promtool can read the expression.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// Where the provisioned dashboards live, relative to the crate root.
pub(crate) const DIR: &str = "grafana/dashboards";

/// One dashboard file, parsed.
pub(crate) struct Dashboard {
    pub(crate) path: PathBuf,
    pub(crate) json: Value,
}

impl Dashboard {
    pub(crate) fn uid(&self) -> &str {
        self.json["uid"].as_str().unwrap_or("")
    }

    /// Every panel, the ones nested in collapsed rows included.
    pub(crate) fn panels(&self) -> Vec<&Value> {
        let mut out = Vec::new();
        for p in self.json["panels"].as_array().into_iter().flatten() {
            out.push(p);
            out.extend(p["panels"].as_array().into_iter().flatten());
        }
        out
    }

    /// The template variable called `name`.
    pub(crate) fn variable(&self, name: &str) -> Option<&Value> {
        self.json["templating"]["list"]
            .as_array()?
            .iter()
            .find(|v| v["name"] == name)
    }
}

/// One query of one panel.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub(crate) dashboard: String,
    pub(crate) panel: String,
    pub(crate) ref_id: String,
    pub(crate) expr: String,
}

impl Query {
    /// "dashboard / panel (refId)", for failure messages.
    pub(crate) fn name(&self) -> String {
        format!("{} / {:?} ({})", self.dashboard, self.panel, self.ref_id)
    }
}

/// Every grafana/dashboards/*.json, parsed; panics naming the file that is not JSON.
pub(crate) fn load_all() -> Vec<Dashboard> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(DIR)
        .unwrap_or_else(|e| panic!("cannot read {DIR}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths.into_iter().map(|p| load(&p)).collect()
}

fn load(path: &Path) -> Dashboard {
    let text = std::fs::read_to_string(path).unwrap();
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()));
    Dashboard {
        path: path.to_path_buf(),
        json,
    }
}

/// Every panel target's `expr` across `dashboards`, as written (variables kept).
pub(crate) fn queries(dashboards: &[Dashboard]) -> Vec<Query> {
    let mut out = Vec::new();
    for d in dashboards {
        for p in d.panels() {
            for t in p["targets"].as_array().into_iter().flatten() {
                out.push(Query {
                    dashboard: d.uid().to_string(),
                    panel: p["title"].as_str().unwrap_or("").to_string(),
                    ref_id: t["refId"].as_str().unwrap_or("").to_string(),
                    expr: t["expr"].as_str().unwrap_or("").to_string(),
                });
            }
        }
    }
    out
}

/// Values for the template variables a dashboard query may use.
pub(crate) struct Variables<'a> {
    /// `$region`: a regex, as Grafana writes a multi-value selection.
    pub(crate) region: &'a str,
    /// `$probe`: likewise.
    pub(crate) probe: &'a str,
    /// `$__rate_interval` and `$__interval`.
    pub(crate) interval: &'a str,
    /// `$__range`.
    pub(crate) range: &'a str,
}

/// `expr` with every variable replaced; `Err` names a variable nobody defines.
pub(crate) fn substitute(expr: &str, v: &Variables<'_>) -> Result<String, String> {
    // Longer names first: `$__range` is a prefix of `$__range_s`.
    let table = [
        ("__rate_interval", v.interval),
        ("__interval_ms", "15000"),
        ("__interval", v.interval),
        ("__range_ms", "3600000"),
        ("__range_s", "3600"),
        ("__range", v.range),
        ("region", v.region),
        ("probe", v.probe),
        ("target", ".*"),
        ("runbook_base", ""),
    ];
    let mut out = expr.to_string();
    for (name, value) in table {
        out = out
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("[[{name}]]"), value)
            .replace(&format!("${name}"), value);
    }
    match out.find('$') {
        Some(at) => Err(format!(
            "unknown template variable at {:?}",
            &out[at..(at + 20).min(out.len())]
        )),
        None => Ok(out),
    }
}
