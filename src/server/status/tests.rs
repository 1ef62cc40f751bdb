//! The status page rendered from real probe states (runs recorded as the
//! scheduler records them) at a fixed time: what it says, what it escapes, how
//! it filters, its JSON twin, and its size at 500 probes.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::config::{Module, ModuleIdentity, ProbeSpec, Prober};
use crate::metrics::names;
use crate::probe::{FailureReason, ProbeFailure, ProbeReport, Sample};
use model::Counts;

/// 2025-12-06 16:29:41 UTC: when every test page is generated.
const NOW: f64 = 1_765_038_581.0;

fn state(name: &str, target: &str, labels: &[(&str, &str)], history: usize) -> ProbeState {
    let module = Arc::new(Module {
        name: "http_2xx".into(),
        timeout: None,
        prober: Prober::Tcp(Box::default()),
        run_duration_buckets: vec![0.5, 2.0],
        precreate_failure_reasons: false,
        redacted: String::new(),
        identity: ModuleIdentity::default(),
    });
    let spec = ProbeSpec {
        name: name.into(),
        module: "http_2xx".into(),
        target: target.into(),
        interval: Duration::from_secs(15),
        timeout: Duration::from_secs(5),
        fan_out: None,
        origin: crate::config::Origin::Config,
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let bounds = module.run_duration_buckets.as_slice().into();
    ProbeState::with_bounds(spec, module, bounds, history)
}

/// A run that started `ago` seconds before [`NOW`].
fn report(ago: f64, millis: u64, failure: Option<(FailureReason, &str)>) -> ProbeReport {
    ProbeReport {
        success: failure.is_none(),
        failure: failure.map(|(r, m)| ProbeFailure::new(r, m)),
        duration: Duration::from_millis(millis),
        timeout: Duration::from_secs(5),
        started_at: UNIX_EPOCH + Duration::from_secs_f64(NOW - ago),
        samples: Vec::new(),
        trace: Vec::new(),
        packets: None,
    }
}

fn config(history: usize, scheduled: usize) -> ConfigStatus {
    ConfigStatus {
        file: "/etc/outpost/probes.toml".into(),
        modules: 2,
        scheduled_probes: scheduled,
        status_history: history,
        reload: ReloadView {
            loaded_at: NOW - 3600.0,
            last_attempt: None,
            successful: true,
            errors: Vec::new(),
        },
    }
}

fn status(states: &[Arc<ProbeState>], filter: &Filter, history: usize) -> Status {
    let (counts, probes) = model::probes(states, filter);
    Status {
        generated_at: NOW,
        config: config(history, states.len()),
        counts,
        probes,
        aws: None,
    }
}

/// `web`: up for 5 runs after 3 failures; `api`: down since 192 s ago, with a
/// certificate 20 days from expiry; `new`: not run yet.
fn two_probes_and_a_pending_one() -> Vec<Arc<ProbeState>> {
    let web = state(
        "web",
        "http://web.internal/health",
        &[("service", "web"), ("tier", "front")],
        60,
    );
    let refused = Some((FailureReason::Connect, "connection refused"));
    for i in 0..3 {
        web.record(report(200.0 - 15.0 * f64::from(i), 30, refused));
    }
    for i in 0..5 {
        web.record(report(75.0 - 15.0 * f64::from(i), 12 + i as u64, None));
    }
    let api = state("api", "https://api.internal/", &[("service", "api")], 60);
    api.record(report(207.0, 40, None));
    let status_500 = Some((
        FailureReason::HttpStatus,
        "status 500 is not in valid_status_codes [200]",
    ));
    for ago in [192.0, 177.0, 4.0] {
        let mut r = report(ago, 25, status_500);
        r.samples.push(Sample {
            name: names::PROBE_SSL_EARLIEST_CERT_EXPIRY,
            labels: Vec::new(),
            value: NOW + 20.5 * 86_400.0,
        });
        api.record(r);
    }
    let new = state("new", "http://new.internal/", &[], 60);
    vec![Arc::new(web), Arc::new(api), Arc::new(new)]
}

fn page_of(states: &[Arc<ProbeState>], query: &str) -> String {
    let filter = Filter::parse(Some(query)).unwrap();
    html::page(
        &status(states, &filter, 60),
        &filter,
        &label_choices(states),
        15,
    )
}

#[test]
fn the_page_shows_state_reason_time_in_state_latency_strip_and_sparkline() {
    let states = two_probes_and_a_pending_one();
    let page = page_of(&states, "");
    for expected in [
        "<meta http-equiv=refresh content=15>",
        "<title>1 down · outpost</title>",
        "/etc/outpost/probes.toml · 2 modules · 3 scheduled probes · keeps 60 runs each",
        "Configuration loaded 2025-12-06 15:29:41 UTC (1h00m ago). No reload since start.",
        // web: up since its first success 75 s ago; its labels are filter links.
        "<tr class=up><td class=up><b>up</b><br><small>for 1m15s</small></td><td><b>web</b>\
         <br><a class=l href=\"?label=service%3Aweb\">service=web</a>\
         <br><a class=l href=\"?label=tier%3Afront\">tier=front</a></td>\
         <td>http_2xx</td><td class=m>http://web.internal/health</td>\
         <td>succeeded 15s ago</td><td>16 ms</td>",
        // api: down since the first failure of the streak, 192 s ago.
        "<tr class=down><td class=down><b>down</b><br><small>for 3m12s</small></td>",
        "<td>failed 4s ago: <b class=down>unexpected HTTP status</b>\
         <div class=err>status 500 is not in valid_status_codes [200]</div></td><td>25 ms</td>",
        "<span class=warn title=\"2025-12-27 04:29:41 UTC\">20 days</span>",
        "<tr class=pending><td class=pending><b>pending</b></td><td><b>new</b></td>",
        "<td>not run yet</td><td></td><td><span class=strip></span></td><td></td><td></td></tr>",
        "<a href=\"?\" aria-current=page>all (3)</a> · <a href=\"?state=up\">up (1)</a> · \
         <a href=\"?state=down\">down (1)</a> · <a href=\"?state=pending\">pending (1)</a>",
        "<datalist id=labels><option value=\"service:api\"><option value=\"service:web\">\
         <option value=\"tier:front\"></datalist>",
    ] {
        assert!(page.contains(expected), "no {expected:?} in\n{page}");
    }
    // web's strip: 3 red cells then 5 green, oldest first, each titled.
    let web_strip = "<span class=strip><i class=f title=\"16:26:21 connection failed\"></i>\
         <i class=f title=\"16:26:36 connection failed\"></i>\
         <i class=f title=\"16:26:51 connection failed\"></i>\
         <i title=\"16:28:26 ok\"></i><i title=\"16:28:41 ok\"></i><i title=\"16:28:56 ok\"></i>\
         <i title=\"16:29:11 ok\"></i><i title=\"16:29:26 ok\"></i></span>";
    assert!(page.contains(web_strip), "{page}");
    // Its sparkline: 8 runs at the right of 60 slots, the 30 ms failures on top.
    let web_line = "<title>durations of the last 8 runs: 12 ms to 30 ms</title>\
         <polyline points=\"104,1 106,1 108,1 110,12 112,11 114,11 116,10 118,9\"/>";
    assert!(page.contains(web_line), "{page}");
    assert_eq!(
        page.matches("<svg class=sp").count(),
        2,
        "none for the pending probe"
    );
    assert!(page.ends_with("</body></html>\n"));
}

#[test]
fn everything_from_config_targets_and_errors_is_escaped() {
    let evil = state(
        "<script>alert(1)</script>",
        "http://user:pw@h/?a=1&b=<2>",
        &[("team", "\"><img src=x onerror=alert(2)>")],
        60,
    );
    evil.record(report(
        3.0,
        5,
        Some((FailureReason::BodyRegex, "body matched /<iframe>/")),
    ));
    let states = [Arc::new(evil)];
    let filter = Filter::default();
    let mut s = status(&states, &filter, 60);
    s.config.file = "/tmp/<x>.toml".into();
    s.config.reload.last_attempt = Some(NOW - 10.0);
    s.config.reload.successful = false;
    s.config.reload.errors = vec!["p.toml:3:1: probes[0].name: <oops> & \"more\"".into()];
    let page = html::page(&s, &filter, &label_choices(&states), 15);
    for raw in [
        "<script>", "<img", "<iframe>", "<2>", "<x>", "<oops>", ":pw@",
    ] {
        assert!(!page.contains(raw), "{raw:?} unescaped in\n{page}");
    }
    for escaped in [
        "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>",
        "team=&quot;&gt;&lt;img src=x onerror=alert(2)&gt;",
        "href=\"?label=team%3A%22%3E%3Cimg+src%3Dx+onerror%3Dalert%282%29%3E\"",
        "http://user:&lt;secret&gt;@h/?a=1&amp;b=&lt;2&gt;",
        "<div class=err>body matched /&lt;iframe&gt;/</div>",
        "/tmp/&lt;x&gt;.toml",
        "<span class=bad>Last reload 2025-12-06 16:29:31 UTC failed; the running configuration stays:</span>\
         <div class=err>p.toml:3:1: probes[0].name: &lt;oops&gt; &amp; &quot;more&quot;</div>",
        "<option value=\"team:&quot;&gt;&lt;img src=x onerror=alert(2)&gt;\">",
    ] {
        assert!(page.contains(escaped), "no {escaped:?} in\n{page}");
    }
}

#[test]
fn filters_pick_the_probes_and_every_link_keeps_the_labels() {
    let states = two_probes_and_a_pending_one();
    let page = page_of(&states, "state=up&label=service%3Aweb");
    assert!(page.contains("<b>web</b>") && !page.contains("<b>api</b>"));
    // Counts are of the probes the label filter lets through.
    assert!(page.contains(
        "<a href=\"?label=service%3Aweb\">all (1)</a> · \
         <a href=\"?state=up&amp;label=service%3Aweb\" aria-current=page>up (1)</a> · \
         <a href=\"?state=down&amp;label=service%3Aweb\">down (0)</a>"
    ));
    assert!(page.contains("<option selected>up</option>"));
    assert!(page.contains("<input name=label value=\"service:web\""));
    assert!(page.contains("<a href=\"api/v1/status?state=up&amp;label=service%3Aweb\">JSON</a>"));

    let down = page_of(&states, "state=down");
    assert!(down.contains("<b>api</b>") && !down.contains("<b>web</b>"));
    let none = page_of(&states, "label=service:nothing");
    assert!(none.contains("<td colspan=9>No probe matches these filters.</td>"));
}

#[test]
fn the_json_twin_has_the_same_data() {
    let states = two_probes_and_a_pending_one();
    let filter = Filter::parse(Some("label=service:api")).unwrap();
    // Read back from the text served, as a client reads it (f32 durations
    // are written in their shortest form: 0.025, not 0.02500000037252903).
    let text = serde_json::to_string(&status(&states, &filter, 60)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        json["counts"],
        serde_json::json!({"total": 1, "up": 0, "down": 1, "pending": 0})
    );
    let api = &json["probes"][0];
    assert_eq!(api["name"], "api");
    assert_eq!(api["labels"], serde_json::json!({"service": "api"}));
    assert_eq!(api["state"], "down");
    assert_eq!(api["state_since"], NOW as u32 - 192);
    assert_eq!(api["latest"]["outcome"], "http_status");
    assert_eq!(api["latest"]["reason"], "unexpected HTTP status");
    assert_eq!(
        api["latest"]["error"],
        "status 500 is not in valid_status_codes [200]"
    );
    assert_eq!(api["latest"]["duration_seconds"], 0.025);
    assert_eq!(api["tls_cert_expiry"], NOW + 20.5 * 86_400.0);
    assert_eq!(api["history_limit"], 60);
    assert_eq!(
        api["history"],
        serde_json::json!([
            {"started": NOW as u32 - 207, "duration_seconds": 0.04, "outcome": "success"},
            {"started": NOW as u32 - 192, "duration_seconds": 0.025, "outcome": "http_status"},
            {"started": NOW as u32 - 177, "duration_seconds": 0.025, "outcome": "http_status"},
            {"started": NOW as u32 - 4, "duration_seconds": 0.025, "outcome": "http_status"},
        ])
    );
    assert_eq!(json["config"]["reload"]["successful"], true);
    assert_eq!(json["aws"], serde_json::Value::Null);
}

#[test]
fn refresh_follows_the_shortest_interval_within_bounds() {
    let secs = |s: &[u64]| refresh_seconds(s.iter().map(|s| Duration::from_secs(*s)));
    assert_eq!(secs(&[30, 15, 60]), 15);
    assert_eq!(secs(&[1]), 5);
    assert_eq!(secs(&[3600]), 60);
    assert_eq!(secs(&[]), 60);
}

#[test]
fn the_aws_section_shows_resources_flags_and_scrape_errors() {
    let regions = ["ap-southeast-1".to_string(), "ap-east-1".to_string()];
    let aws = aws::collect(&regions, &aws::tests::caches());
    let filter = Filter::default();
    let mut s = status(&[], &filter, 60);
    s.aws = Some(aws);
    s.counts = Counts::default();
    let page = html::page(&s, &filter, &[], 60);
    for expected in [
        "<h2>AWS</h2><h3>ap-southeast-1</h3>",
        "<tr><td>rds</td><td class=up>ok</td>",
        "<tr><td>orders</td><td>mysql 8.0.35</td><td>db.t3.micro</td><td class=up>available</td>\
         <td>yes</td><td>yes</td><td>yes (7 days)</td><td>yes</td><td>no</td></tr>",
        "<tr class=down><td>scratch&lt;b&gt;</td><td>mysql 8.0.35</td><td>db.t3.micro</td><td class=up>available</td>\
         <td class=bad>no</td><td>yes</td><td class=bad>no (1 days)</td><td class=bad>no</td>\
         <td class=bad>yes</td></tr>",
        "<tr><td>web-alb</td><td>web-tg</td><td>2</td><td class=bad>1</td><td>1</td></tr>",
        "<tr><td>web-asg</td><td class=bad>1</td><td>2</td><td>2</td><td>6</td></tr>",
        "<h3>ap-east-1</h3>",
        "<tr><td>rds</td><td class=down>failed</td><td>never</td><td>120 ms</td>\
         <td class=err>DescribeDBInstances: AccessDenied: User is not authorized to perform rds:DescribeDBInstances</td></tr>",
        "<tr><td>elbv2</td><td class=m>not yet</td><td>never</td><td></td><td class=err></td></tr>",
    ] {
        assert!(page.contains(expected), "no {expected:?} in\n{page}");
    }
}

/// The size budget: 500 probes with a full default history (60 runs), a
/// realistic mix (two labels each, TLS on half, one in ten failing with a
/// sentence of error) must make a page under 1.5 MiB. It is 1.24 MiB, 2.6 KB a
/// probe, most of it the strips' 30,000 titled cells (27 bytes each, the price
/// of a time and outcome on every cell). Why 1.5 MiB: headless Chromium on 2
/// shared cores loads such a page in about 1.1 s more than an empty one, a
/// LAN carries it in tens of milliseconds every refresh, and past 500 probes a
/// person filters rather than scrolls; the margin is for longer names and
/// labels than these, not for more markup per run.
pub(super) const BUDGET_500: usize = 1536 * 1024;

#[test]
fn a_page_of_500_probes_stays_within_its_budget() {
    let regions = ["ap-southeast-1", "ap-east-1", "ap-southeast-2", "eu-west-2"];
    let states: Vec<Arc<ProbeState>> = (0..500)
        .map(|i| {
            let name = format!("web-{:03}-{}", i, regions[i % 4]);
            let target = format!("https://web-{i:03}.{}.example.com/health", regions[i % 4]);
            let labels = [("target_region", regions[i % 4]), ("service", "web")];
            let s = state(&name, &target, &labels, 60);
            for run in 0..60 {
                let failing = i % 10 == 0 && run % 3 == 0;
                let failure = failing.then_some((
                    FailureReason::HttpStatus,
                    "status 503 is not in valid_status_codes [200]",
                ));
                let mut r = report(
                    f64::from(900 - run * 15),
                    40 + (run as u64 * 7) % 90,
                    failure,
                );
                if i % 2 == 0 {
                    r.samples.push(Sample {
                        name: names::PROBE_SSL_EARLIEST_CERT_EXPIRY,
                        labels: Vec::new(),
                        value: NOW + 80.0 * 86_400.0,
                    });
                }
                s.record(r);
            }
            Arc::new(s)
        })
        .collect();
    let page = page_of(&states, "");
    let per_probe = page.len() / 500;
    println!(
        "500 probes x 60 runs: {} bytes ({per_probe} a probe)",
        page.len()
    );
    assert_eq!(page.matches("<svg class=sp").count(), 500);
    assert_eq!(page.matches("<i ").count(), 500 * 60);
    assert!(
        page.len() < BUDGET_500,
        "{} bytes, over the budget of {BUDGET_500}",
        page.len()
    );
    let json = serde_json::to_string(&status(&states, &Filter::default(), 60)).unwrap();
    println!("and its JSON: {} bytes", json.len());
}

/// A `fan_out` probe's row lists each address with its state, and why a down
/// one failed; the JSON twin carries the same under `addresses`.
#[test]
fn a_fan_out_probe_shows_each_address() {
    let mut fan = state("alb", "http://alb.test/", &[], 60);
    fan.spec.fan_out = Some(Box::new(crate::fanout::FanOut {
        success: crate::fanout::SuccessRule::All,
        max_addresses: 16,
        address_grace: 3,
        families: None,
    }));
    let fan = Arc::new(fan);
    let (a, b): (std::net::IpAddr, std::net::IpAddr) =
        ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
    let refused = Some((FailureReason::Connect, "connection refused by 10.0.0.2:80"));
    fan.record_fan_out(crate::results::FanOutRun {
        report: report(10.0, 20, refused),
        resolved: Some(vec![a, b]),
        probed: vec![(a, report(10.0, 5, None)), (b, report(10.0, 20, refused))],
    });
    let states = vec![fan];
    let page = page_of(&states, "");
    assert!(
        page.contains("<div class=m><span class=up>up</span> 10.0.0.1</div>"),
        "{page}"
    );
    assert!(
        page.contains(
            "<div class=m><span class=down>down</span> 10.0.0.2: connection failed</div>"
        ),
        "{page}"
    );
    let filter = Filter::parse(Some("")).unwrap();
    let json = serde_json::to_value(status(&states, &filter, 60)).unwrap();
    let addresses = &json["probes"][0]["addresses"];
    assert_eq!(addresses[0]["ip"], "10.0.0.1");
    assert_eq!(addresses[0]["state"], "up");
    assert_eq!(addresses[1]["state"], "down");
    assert_eq!(addresses[1]["latest"]["outcome"], "connect");
}

/// A discovered probe says which `[[discover]]` entry made it and, when its
/// resource is gone, that it is not run while its series are kept.
#[test]
fn a_discovered_probe_says_where_it_came_from() {
    let labels = [
        ("discovery", "alb"),
        ("region", "eu-west-1"),
        ("load_balancer", "web"),
    ];
    let mut found = state("alb/eu-west-1/web", "http://web.elb/", &labels, 60);
    found.spec.origin = crate::config::Origin::Discovered;
    let gone = state("alb/eu-west-1/old", "http://old.elb/", &labels, 60);
    let mut gone = gone;
    gone.spec.origin = crate::config::Origin::Discovered;
    gone.run_cancel.set_paused(true);
    let written = state("written", "http://w/", &[], 60);
    let states = vec![Arc::new(found), Arc::new(gone), Arc::new(written)];
    let page = page_of(&states, "");
    assert!(
        page.contains("<b>alb/eu-west-1/web</b><br><small>found by [[discover]] alb</small>"),
        "{page}"
    );
    assert!(
        page.contains("<b>alb/eu-west-1/old</b><br><small>found by [[discover]] alb: <b class=warn>resource gone</b>"),
        "{page}"
    );
    assert_eq!(page.matches("found by [[discover]]").count(), 2);
    let json = serde_json::to_value(status(&states, &Filter::default(), 60)).unwrap();
    assert_eq!(json["probes"][0]["discovered"]["by"], "alb");
    assert_eq!(json["probes"][0]["discovered"]["resource_gone"], false);
    assert_eq!(json["probes"][1]["discovered"]["resource_gone"], true);
    assert!(json["probes"][2]["discovered"].is_null());
}
