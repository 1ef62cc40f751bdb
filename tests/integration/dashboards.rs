//! The provisioned Grafana dashboards (grafana/dashboards/*.json) are loadable
//! as provisioned: valid JSON of a current schema, the datasource chosen by a
//! `datasource` variable that every panel uses, `region` and `probe` variables,
//! and every panel query valid PromQL once the variables are filled in (checked
//! by `promtool check rules` on a generated rule file). Whether the queries
//! return data is stack_e2e.rs's job.

use std::collections::HashSet;
use std::process::Command;

use crate::support::dashboards::{load_all, queries, substitute, Dashboard, Variables};

/// The dashboards the product promises, by uid (links and bookmarks use them).
const EXPECTED: [&str; 4] = [
    "outpost-aws",
    "outpost-health",
    "outpost-probe-detail",
    "outpost-sla-overview",
];
/// Grafana 11's schema; older ones are migrated on load and rewritten on save.
const MIN_SCHEMA: u64 = 39;
const DS: &str = "${datasource}";

#[test]
fn the_promised_dashboards_exist_with_stable_uids() {
    let all = load_all();
    let uids: Vec<&str> = all.iter().map(Dashboard::uid).collect();
    for uid in EXPECTED {
        assert!(uids.contains(&uid), "dashboard {uid} is missing: {uids:?}");
    }
    let mut seen = HashSet::new();
    for d in &all {
        let stem = d.path.file_stem().unwrap().to_str().unwrap();
        assert_eq!(
            d.uid(),
            stem,
            "{}: uid must be the file name",
            d.path.display()
        );
        assert!(seen.insert(d.uid()), "uid {} used twice", d.uid());
        assert!(d.json["title"].as_str().is_some_and(|t| !t.is_empty()));
        let schema = d.json["schemaVersion"].as_u64().unwrap_or(0);
        assert!(
            schema >= MIN_SCHEMA,
            "{}: schemaVersion {schema} < {MIN_SCHEMA}",
            d.uid()
        );
    }
}

#[test]
fn datasource_region_and_probe_are_template_variables() {
    for d in load_all() {
        let uid = d.uid();
        let ds = d
            .variable("datasource")
            .unwrap_or_else(|| panic!("{uid}: no `datasource` variable"));
        assert_eq!(ds["type"], "datasource", "{uid}: {ds}");
        assert_eq!(ds["query"], "prometheus", "{uid}: {ds}");
        for name in ["region", "probe"] {
            let v = d
                .variable(name)
                .unwrap_or_else(|| panic!("{uid}: no `{name}` variable"));
            assert_eq!(v["type"], "query", "{uid}: ${name}: {v}");
            assert_eq!(v["datasource"]["uid"], DS, "{uid}: ${name}: {v}");
            let definition = v["definition"].as_str().unwrap_or("");
            assert!(
                definition.starts_with("label_values(")
                    && definition.ends_with(&format!(", {name})")),
                "{uid}: ${name} is not a label_values(…, {name}) query: {definition}"
            );
            assert_eq!(v["query"]["query"], definition, "{uid}: ${name}");
        }
    }
}

#[test]
fn every_panel_queries_the_datasource_variable() {
    for d in load_all() {
        let (mut ids, mut titles) = (HashSet::new(), HashSet::new());
        for p in d.panels() {
            let title = p["title"].as_str().unwrap_or("");
            let at = format!("{} / {title:?}", d.uid());
            assert!(ids.insert(p["id"].as_u64()), "{at}: panel id reused");
            // Titles name panels in failure messages and stack_e2e's allow-list.
            assert!(titles.insert(title), "{at}: title reused");
            assert!(p["gridPos"]["w"].as_u64().is_some(), "{at}: no gridPos");
            if p["type"] == "row" {
                assert!(p.get("targets").is_none(), "{at}: a row holds no queries");
                continue;
            }
            assert_eq!(p["datasource"]["uid"], DS, "{at}: panel datasource");
            assert_eq!(p["datasource"]["type"], "prometheus", "{at}");
            let targets = p["targets"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            assert!(!targets.is_empty(), "{at}: no query");
            for t in targets {
                assert_eq!(t["datasource"]["uid"], DS, "{at}: query datasource");
                assert!(
                    t["expr"].as_str().is_some_and(|e| !e.trim().is_empty()),
                    "{at}: empty expr"
                );
            }
        }
    }
}

#[test]
fn every_panel_query_parses_as_promql() {
    let vars = Variables {
        region: "ap-southeast-1|eu-west-2",
        probe: ".*",
        interval: "1m",
        range: "6h",
    };
    let mut rules = Vec::new();
    for q in queries(&load_all()) {
        let expr = substitute(&q.expr, &vars).unwrap_or_else(|e| panic!("{}: {e}", q.name()));
        rules.push((record_name(&q.dashboard, &q.panel, &q.ref_id), q, expr));
    }
    assert!(rules.len() > 40, "too few queries found: {}", rules.len());
    // One promtool run for all; promtool names the failing rule by its record
    // name, which says dashboard, panel and query.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboards.rules.yml");
    let mut yaml = String::from("groups:\n  - name: dashboard-queries\n    rules:\n");
    for (record, _, expr) in &rules {
        yaml += &format!(
            "      - record: {record}\n        expr: {}\n",
            serde_json::to_string(expr).unwrap()
        );
    }
    std::fs::write(&file, &yaml).unwrap();
    let out = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("promtool not found ({e}); `make test` installs it (apt-get install prometheus)")
        });
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let legend: String = rules
        .iter()
        .map(|(record, q, expr)| format!("{record} = {} :: {expr}\n", q.name()))
        .collect();
    assert!(
        out.status.success(),
        "a dashboard query is not valid PromQL:\n{said}\nrecord names:\n{legend}"
    );
}

/// A recording-rule name (`[a-zA-Z_:][a-zA-Z0-9_:]*`) that reads as
/// dashboard:panel:refId.
fn record_name(dashboard: &str, panel: &str, ref_id: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}:{}:{}", clean(dashboard), clean(panel), clean(ref_id))
}

/// A misspelt transformation id makes Grafana drop the panel's table shaping.
#[test]
fn table_transformations_name_known_ids() {
    let known = ["merge", "organize", "groupingToMatrix", "joinByField"];
    for d in load_all() {
        for p in d.panels() {
            for t in p["transformations"].as_array().into_iter().flatten() {
                let id = t["id"].as_str().unwrap_or("");
                assert!(
                    known.contains(&id),
                    "{} / {}: unexpected transformation {id}",
                    d.uid(),
                    p["title"]
                );
            }
        }
    }
}

/// The committed JSON is what grafana/generate.py writes (the script keeps the
/// dashboards uniform; a hand edit of the JSON alone would be lost on the next run).
#[test]
fn dashboards_are_the_generator_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("python3")
        .arg("grafana/generate.py")
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("python3 not found ({e}); install python3"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for d in load_all() {
        let name = d.path.file_name().unwrap();
        let fresh = std::fs::read_to_string(dir.path().join(name))
            .unwrap_or_else(|_| panic!("generate.py does not write {name:?}"));
        assert!(
            fresh == std::fs::read_to_string(&d.path).unwrap(),
            "{} differs from grafana/generate.py's output: run `python3 grafana/generate.py`",
            d.path.display()
        );
    }
    let written = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(
        written,
        load_all().len(),
        "generate.py writes a dashboard not committed"
    );
}
