//! The status page `/` and `/api/v1/status` of a running daemon with one probe
//! passing and one failing against an in-process target: what they say, their
//! filters, the reload status, history across reloads, and the page as
//! Chromium renders it.

use std::time::Duration;

use http::StatusCode;
use serde_json::Value;

use crate::support::browser::{dump_dom, visible_text};
use crate::support::daemon::{request, target_server, TestDaemon};

fn config(target: std::net::SocketAddr, extra: &str) -> String {
    format!(
        r#"
[modules.http_2xx]
prober = "http"
timeout = "1s"
[modules.http_2xx.http]
preferred_ip_protocol = "ip4"

[[probes]]
name = "web-ok"
module = "http_2xx"
target = "http://{target}/ok"
interval = "1s"
labels = {{ service = "web", tier = "front" }}

[[probes]]
name = "api-broken"
module = "http_2xx"
target = "http://{target}/fail"
interval = "1s"
labels = {{ service = "api" }}
{extra}"#
    )
}

/// `/api/v1/status` (with `query`), parsed.
async fn status(d: &TestDaemon, query: &str) -> Value {
    let (code, headers, body) =
        request(d.addr, "GET", &format!("/api/v1/status{query}"), &[]).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}):\n{body}"))
}

/// The probe named `name` in a status document.
fn probe<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["probes"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no probe {name} in {status}"))
}

fn names(status: &Value) -> Vec<&str> {
    status["probes"]
        .as_array()
        .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
        .unwrap_or_default()
}

/// Starts the daemon and waits until each probe has run `runs` times.
async fn started(runs: usize) -> TestDaemon {
    let target = target_server().await;
    let d = TestDaemon::start(&config(target, "")).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let s = status(&d, "").await;
        let enough = ["web-ok", "api-broken"]
            .iter()
            .all(|n| probe(&s, n)["history"].as_array().map_or(0, Vec::len) >= runs);
        if enough {
            return d;
        }
        assert!(tokio::time::Instant::now() < deadline, "too few runs: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_a_passing_and_a_failing_probe() {
    let d = started(3).await;
    let (code, headers, page) = request(d.addr, "GET", "/", &[]).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    for expected in [
        "<meta http-equiv=refresh content=5>",
        "<title>1 down · outpost</title>",
        "<tr class=up><td class=up><b>up</b><br><small>for ",
        "<td><b>web-ok</b><br><a class=l href=\"?label=service%3Aweb\">service=web</a>",
        "<tr class=down><td class=down><b>down</b><br><small>for ",
        "<td><b>api-broken</b>",
        "ago: <b class=down>unexpected HTTP status</b>\
         <div class=err>status code 500, wanted 2xx</div>",
        "<span class=strip><i title=\"",
        "<i class=f title=\"",
        " unexpected HTTP status\"></i>",
        "<a href=\"?state=down\">down (1)</a>",
    ] {
        assert!(page.contains(expected), "no {expected:?} in\n{page}");
    }
    assert_eq!(page.matches("<svg class=sp").count(), 2, "{page}");
    assert_eq!(page.matches("<polyline points=\"").count(), 2, "{page}");
    // No script, no asset from elsewhere: it works offline and with JS off.
    assert!(
        !page.contains("<script") && !page.contains("src="),
        "{page}"
    );
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_twin_has_states_reasons_and_history() {
    let d = started(3).await;
    let s = status(&d, "").await;
    assert_eq!(s["counts"]["total"], 2);
    assert_eq!(
        (s["counts"]["up"].as_u64(), s["counts"]["down"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(s["config"]["status_history"], 60);
    assert_eq!(s["config"]["reload"]["successful"], true);
    assert_eq!(s["aws"], Value::Null, "no [aws], no AWS section");

    let ok = probe(&s, "web-ok");
    assert_eq!(ok["state"], "up");
    assert_eq!(ok["module"], "http_2xx");
    assert_eq!(
        ok["labels"],
        serde_json::json!({"service": "web", "tier": "front"})
    );
    assert_eq!(ok["latest"]["outcome"], "success");
    assert_eq!(ok["latest"]["reason"], Value::Null);

    let broken = probe(&s, "api-broken");
    assert_eq!(broken["state"], "down");
    assert_eq!(broken["latest"]["outcome"], "http_status");
    assert_eq!(broken["latest"]["reason"], "unexpected HTTP status");
    assert_eq!(broken["latest"]["error"], "status code 500, wanted 2xx");
    let history = broken["history"].as_array().unwrap();
    assert!(history.len() >= 3);
    assert!(history.iter().all(|r| r["outcome"] == "http_status"));
    let first = history[0]["started"].as_u64().unwrap();
    assert_eq!(
        broken["state_since"].as_u64(),
        Some(first),
        "down since its first run"
    );
    assert!(history
        .iter()
        .all(|r| r["duration_seconds"].as_f64() > Some(0.0)));
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_by_state_and_label_on_the_page_and_in_json() {
    let d = started(1).await;
    assert_eq!(names(&status(&d, "?state=down").await), ["api-broken"]);
    assert_eq!(names(&status(&d, "?state=up").await), ["web-ok"]);
    assert_eq!(names(&status(&d, "?label=service:web").await), ["web-ok"]);
    assert_eq!(
        names(&status(&d, "?label=service%3Aweb&label=tier%3Afront&state=").await),
        ["web-ok"]
    );
    let none = status(&d, "?state=down&label=service:web").await;
    assert!(names(&none).is_empty());
    assert_eq!(none["counts"]["total"], 1, "counts follow the label filter");

    let (code, page) = d.get("/?state=down").await;
    assert_eq!(code, StatusCode::OK);
    assert!(page.contains("<b>api-broken</b>") && !page.contains("<b>web-ok</b>"));
    assert!(page.contains("<option selected>down</option>"), "{page}");

    let (code, _, body) = request(d.addr, "GET", "/api/v1/status?state=sideways", &[]).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        "{\"error\":\"unknown state \\\"sideways\\\": use up, down or pending (or leave it empty for all)\"}\n"
    );
    let (code, page) = d.get("/?label=nocolon").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(
        page.contains("label filter &quot;nocolon&quot; is not KEY:VALUE"),
        "{page}"
    );
    let (code, _, _) = request(d.addr, "POST", "/api/v1/status", &[]).await;
    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_status_and_history_across_reloads() {
    let d = started(2).await;
    let broken = format!(
        "{}\n[[probes]]\nname = \"x\"\n",
        std::fs::read_to_string(&d.config_path).unwrap()
    );
    std::fs::write(&d.config_path, broken).unwrap();
    let (code, _, _) = request(d.addr, "POST", "/-/reload", &[]).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    let s = status(&d, "").await;
    assert_eq!(s["config"]["reload"]["successful"], false);
    let errors = s["config"]["reload"]["errors"].as_array().unwrap();
    let path = d.config_path.display().to_string();
    assert_eq!(
        errors,
        &[Value::from(format!(
            "{path}:22:1: probes[2]: missing required key `module`"
        ))]
    );
    let (_, page) = d.get("/").await;
    assert!(
        page.contains("failed; the running configuration stays:</span><div class=err>"),
        "{page}"
    );

    // A good reload: web-ok is unchanged and keeps its history; the new probe starts empty.
    let before = probe(&s, "web-ok")["history"].as_array().unwrap().len();
    let target = probe(&s, "web-ok")["target"].as_str().unwrap().to_string();
    let addr = target.trim_start_matches("http://").trim_end_matches("/ok");
    let extra = format!("\n[[probes]]\nname = \"later\"\nmodule = \"http_2xx\"\ntarget = \"http://{addr}/ok\"\ninterval = \"1h\"\n");
    std::fs::write(&d.config_path, config(addr.parse().unwrap(), &extra)).unwrap();
    let (code, _, body) = request(d.addr, "POST", "/-/reload", &[]).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let s = status(&d, "").await;
    assert_eq!(s["config"]["reload"]["successful"], true);
    assert_eq!(s["config"]["reload"]["errors"], serde_json::json!([]));
    assert!(s["config"]["reload"]["last_attempt"].as_f64().is_some());
    assert!(probe(&s, "web-ok")["history"].as_array().unwrap().len() >= before);
    assert_eq!(probe(&s, "later")["state"], "pending");
    d.stop().await;
}

/// What a person sees: Chromium loads the page from the daemon, and the text of
/// the DOM it built names both probes, their states, the failure in words and
/// the error; the pictures are there as SVG.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_page() {
    let d = started(3).await;
    let dom = dump_dom(&format!("http://{}/", d.addr)).await;
    assert_eq!(dom.matches("<svg class=\"sp\"").count(), 2, "{dom}");
    assert!(dom.contains("<polyline points=\""), "{dom}");
    assert!(dom.contains("<span class=\"strip\"><i title=\""), "{dom}");
    let text = visible_text(&dom);
    println!("--- the status page as Chromium shows it ---\n{text}\n---");
    for expected in [
        "outpost",
        "1 module · 2 scheduled probes · keeps 60 runs each · refreshes every 5 s",
        "No reload since start.",
        "Show: all (2) · up (1) · down (1) · pending (0)",
        "State [all] Label Filter Clear",
        "State | Probe | Module | Target | Latest run | Latency | Last 60 runs | Durations | Certificate |",
        "\nup\nfor ",
        "| web-ok\nservice=web\ntier=front | http_2xx | http://127.0.0.1:",
        "/ok | succeeded ",
        "\ndown\nfor ",
        "| api-broken\nservice=api | http_2xx | http://127.0.0.1:",
        "/fail | failed ",
        " ago: unexpected HTTP status\nstatus code 500, wanted 2xx | ",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    d.stop().await;
}

/// With `[aws]` against moto (tests/testdata/aws/seed.py): the resources of the
/// AWS caches on the page and in the JSON, with their flags; then the API goes
/// away and the scrape's error shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_resources_and_scrape_errors() {
    use crate::support::moto::Moto;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    let mut moto = Moto::start();
    moto.seed("eu-west-1");
    let options = outpost::daemon::Options {
        aws: moto.options(Arc::new(AtomicUsize::new(0))),
        ..outpost::daemon::Options::default()
    };
    let toml = "[aws]\nregions = [\"eu-west-1\"]\ninterval = \"1s\"\nstale_after = \"1h\"\n";
    let d = TestDaemon::start_with(toml, options).await;
    let scraped = |s: &Value, want: bool| {
        s["aws"]["regions"][0]["scrapes"]
            .as_array()
            .is_some_and(|a| a.len() == 3 && a.iter().all(|x| x["success"] == want))
    };
    let s = status_when(&d, |s| scraped(s, true)).await;
    let region = &s["aws"]["regions"][0];
    assert_eq!(region["region"], "eu-west-1");
    let db = |id: &str| {
        region["rds_instances"]
            .as_array()
            .and_then(|a| a.iter().find(|i| i["id"] == id))
            .unwrap_or_else(|| panic!("no {id} in {region}"))
    };
    assert_eq!(
        db("db-good"),
        &serde_json::json!({"id": "db-good", "engine": "mysql 8.0.35",
            "instance_class": "db.m5.large", "status": "available", "multi_az": true,
            "storage_encrypted": true, "backup_retention_days": 7.0,
            "deletion_protection": true, "publicly_accessible": false, "compliant": true})
    );
    let bad = db("db-bad");
    assert_eq!(bad["compliant"], false);
    assert_eq!(
        (
            &bad["multi_az"],
            &bad["publicly_accessible"],
            &bad["backup_retention_days"]
        ),
        (&Value::from(false), &Value::from(true), &Value::from(1.0))
    );
    assert_eq!(db("db-stopped")["status"], "stopped");
    assert!(region["target_groups"].as_array().unwrap().contains(&serde_json::json!(
        {"load_balancer": "alb-web", "target_group": "tg-web", "healthy": 2, "unhealthy": 0, "other": 1}
    )));
    assert!(region["autoscaling_groups"].as_array().unwrap().contains(&serde_json::json!(
        {"name": "asg-web", "in_service": 2, "min_size": 2, "desired_capacity": 2, "max_size": 6}
    )));
    let (_, page) = d.get("/").await;
    for expected in [
        "<h2>AWS</h2><h3>eu-west-1</h3>",
        "<tr><td>db-good</td><td>mysql 8.0.35</td><td>db.m5.large</td><td class=up>available</td>\
         <td>yes</td><td>yes</td><td>yes (7 days)</td><td>yes</td><td>no</td></tr>",
        "<tr class=down><td>db-bad</td>",
        "<tr><td>alb-web</td><td>tg-web</td><td>2</td><td>0</td><td>1</td></tr>",
        "<tr><td>asg-web</td><td>2</td><td>2</td><td>2</td><td>6</td></tr>",
    ] {
        assert!(page.contains(expected), "no {expected:?} in\n{page}");
    }

    moto.kill();
    let s = status_when(&d, |s| scraped(s, false)).await;
    let rds = &s["aws"]["regions"][0]["scrapes"][0];
    assert_eq!(rds["service"], "rds");
    let error = rds["error"].as_str().unwrap_or_default();
    // Refused at once, or out of time while retrying: either way the call and why.
    assert!(
        ["dispatch_failure", "timeout"]
            .iter()
            .any(|code| error.starts_with(&format!("DescribeDBInstances: {code}: "))),
        "{rds}"
    );
    assert!(
        rds["last_success"].as_f64().is_some(),
        "the last good scrape is kept"
    );
    assert!(
        !s["aws"]["regions"][0]["rds_instances"]
            .as_array()
            .unwrap()
            .is_empty(),
        "within stale_after the last good data still shows"
    );
    let (_, page) = d.get("/").await;
    assert!(
        page.contains("<tr><td>rds</td><td class=down>failed</td>"),
        "{page}"
    );
    d.stop().await;
}

/// Polls `/api/v1/status` until `done` holds (at most 60 s: moto starts slowly).
async fn status_when(d: &TestDaemon, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = status(d, "").await;
        if done(&s) {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "never: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
