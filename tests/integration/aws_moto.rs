//! AWS scrapes against a real moto_server seeded in two regions
//! (tests/testdata/aws/seed.py): every series per resource, tag filters and
//! labels, the API going away (scrape fails, daemon lives, data expires), and no
//! `[aws]` meaning no AWS client at all.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use outpost::daemon::Options;

use crate::support::daemon::{promtool_check, sample, TestDaemon};
use crate::support::moto::{binary_with_aws_at, options_for, Moto};

const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

async fn daemon(toml: &str, moto: &Moto, built: &Arc<AtomicUsize>) -> TestDaemon {
    let options = Options {
        aws: moto.options(built.clone()),
        ..Options::default()
    };
    TestDaemon::start_with(toml, options).await
}

/// Whether every region × service has scraped successfully.
fn all_scraped(m: &str, services: &[&str]) -> bool {
    REGIONS.iter().all(|r| {
        services.iter().all(|s| {
            sample(
                m,
                "outpost_aws_scrape_success",
                &format!("region=\"{r}\",service=\"{s}\""),
            ) == Some(1.0)
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_series_per_resource_in_two_regions() {
    let moto = Moto::start();
    for r in REGIONS {
        moto.seed(r);
    }
    let built = Arc::new(AtomicUsize::new(0));
    let d = daemon(
        "[aws]\nregions = [\"eu-west-1\", \"us-east-1\"]\ninterval = \"2s\"\ntag_labels = [\"team\", \"env\"]\n",
        &moto,
        &built,
    )
    .await;
    let m = d
        .metrics_when(Duration::from_secs(60), |m| {
            all_scraped(m, &["rds", "elbv2", "autoscaling"])
        })
        .await;
    assert!(all_scraped(&m, &["rds", "elbv2", "autoscaling"]), "{m}");
    promtool_check(&m);
    // One SDK configuration per region × service, built once.
    assert_eq!(built.load(Ordering::SeqCst), 6);
    let app = d.daemon.as_ref().unwrap().app.clone();
    for source in app.sources() {
        assert_eq!(
            outpost::metrics::source::undeclared(
                source.as_ref(),
                outpost::metrics::encode::Format::Text,
            ),
            Vec::<String>::new(),
            "{source:?}"
        );
    }
    for r in REGIONS {
        assert_rds(&m, r);
        assert_elbv2(&m, r);
        assert_autoscaling(&m, r);
        let calls = |s: &str, op: &str| {
            sample(
                &m,
                "outpost_aws_api_calls_total",
                &format!("region=\"{r}\",service=\"{s}\",operation=\"{op}\""),
            )
            .unwrap_or(0.0)
        };
        assert!(calls("rds", "DescribeDBInstances") >= 1.0, "{m}");
        assert!(calls("elbv2", "DescribeTargetHealth") >= 2.0, "{m}");
        assert!(calls("elbv2", "DescribeTags") >= 1.0, "{m}");
        assert!(
            calls("autoscaling", "DescribeAutoScalingGroups") >= 1.0,
            "{m}"
        );
    }
    d.stop().await;
}

fn assert_rds(m: &str, r: &str) {
    let v = |name: &str, db: &str| sample(m, name, &format!("region=\"{r}\",db_instance=\"{db}\""));
    assert_eq!(
        sample(
            m,
            "aws_rds_instance_info",
            &format!("region=\"{r}\",db_instance=\"db-good\",engine=\"mysql\",engine_version=\"8.0.35\",instance_class=\"db.m5.large\",tag_team=\"web\",tag_env=\"prod\"")
        ),
        Some(1.0),
        "{m}"
    );
    let status = |db: &str, s: &str| {
        sample(
            m,
            "aws_rds_instance_status",
            &format!("region=\"{r}\",db_instance=\"{db}\",status=\"{s}\""),
        )
    };
    assert_eq!(status("db-good", "available"), Some(1.0), "{m}");
    assert_eq!(status("db-bad", "available"), Some(1.0), "{m}");
    assert_eq!(status("db-stopped", "stopped"), Some(1.0), "{m}");
    let expect = [
        ("aws_rds_multi_az", 1.0, 0.0),
        ("aws_rds_storage_encrypted", 1.0, 0.0),
        (
            "aws_rds_backup_retention_period_seconds",
            7.0 * 86_400.0,
            86_400.0,
        ),
        ("aws_rds_deletion_protection", 1.0, 0.0),
        ("aws_rds_enhanced_monitoring_interval_seconds", 60.0, 0.0),
        ("aws_rds_allocated_storage_bytes", 100.0 * GIB, 20.0 * GIB),
        ("aws_rds_publicly_accessible", 0.0, 1.0),
        ("aws_rds_auto_minor_version_upgrade", 1.0, 0.0),
        // Seeded on for db-good and explicitly off for db-bad, so the pair
        // means the same whether or not a moto version echoes the default.
        ("aws_rds_performance_insights_enabled", 1.0, 0.0),
    ];
    for (name, good, bad) in expect {
        assert_eq!(v(name, "db-good"), Some(good), "{name} db-good in {r}");
        assert_eq!(v(name, "db-bad"), Some(bad), "{name} db-bad in {r}");
    }
    assert_eq!(
        v("aws_rds_max_allocated_storage_bytes", "db-good"),
        Some(500.0 * GIB)
    );
    assert_eq!(v("aws_rds_max_allocated_storage_bytes", "db-bad"), None);
}

fn assert_elbv2(m: &str, r: &str) {
    let lb = "alb-web";
    assert_eq!(
        sample(
            m,
            "aws_elbv2_load_balancer_state",
            &format!("region=\"{r}\",load_balancer=\"{lb}\",state=\"active\"")
        ),
        Some(1.0),
        "{m}"
    );
    let targets = |lb: &str, tg: &str, state: &str| {
        sample(
            m,
            "aws_elbv2_target_group_targets",
            &format!(
                "region=\"{r}\",load_balancer=\"{lb}\",target_group=\"{tg}\",state=\"{state}\""
            ),
        )
    };
    assert_eq!(targets(lb, "tg-web", "healthy"), Some(2.0), "{m}");
    assert_eq!(targets(lb, "tg-web", "unused"), Some(1.0), "{m}");
    assert_eq!(targets(lb, "tg-web", "unhealthy"), Some(0.0), "{m}");
    assert_eq!(targets("", "tg-idle", "healthy"), Some(0.0), "{m}");
    let per_target: Vec<&str> = m
        .lines()
        .filter(|l| {
            l.starts_with(&format!(
                "aws_elbv2_target_health{{region=\"{r}\",target_group=\"tg-web\""
            ))
        })
        .collect();
    assert_eq!(per_target.len(), 3, "{m}");
    assert_eq!(
        per_target
            .iter()
            .filter(|l| l.contains("state=\"unused\",reason=\"Target.InvalidState\""))
            .count(),
        1,
        "{per_target:?}"
    );
    assert!(
        m.contains(&format!("aws_elbv2_load_balancer_info{{region=\"{r}\",load_balancer=\"{lb}\",type=\"application\"")),
        "{m}"
    );
}

fn assert_autoscaling(m: &str, r: &str) {
    let v = |name: &str, g: &str| {
        sample(
            m,
            name,
            &format!("region=\"{r}\",autoscaling_group=\"{g}\""),
        )
    };
    for (g, min, desired, max) in [("asg-web", 2.0, 2.0, 6.0), ("asg-small", 1.0, 1.0, 2.0)] {
        assert_eq!(v("aws_autoscaling_group_min_size", g), Some(min), "{m}");
        assert_eq!(
            v("aws_autoscaling_group_desired_capacity", g),
            Some(desired),
            "{m}"
        );
        assert_eq!(v("aws_autoscaling_group_max_size", g), Some(max), "{m}");
        assert_eq!(
            v("aws_autoscaling_group_in_service_instances", g),
            Some(desired),
            "{m}"
        );
        assert_eq!(
            sample(
                m,
                "aws_autoscaling_group_instances",
                &format!("region=\"{r}\",autoscaling_group=\"{g}\",lifecycle_state=\"InService\"")
            ),
            Some(desired),
            "{m}"
        );
        assert_eq!(
            sample(
                m,
                "aws_autoscaling_group_info",
                &format!(
                    "region=\"{r}\",autoscaling_group=\"{g}\",tag_team=\"web\",tag_env=\"prod\""
                )
            ),
            Some(1.0),
            "{m}"
        );
    }
}

/// `tag_filters` keeps only matching resources; the others have no series.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_filters_select_resources() {
    let moto = Moto::start();
    moto.seed("eu-west-1");
    let built = Arc::new(AtomicUsize::new(0));
    let d = daemon(
        "[aws]\nregions = [\"eu-west-1\"]\ninterval = \"2s\"\nservices = [\"rds\", \"elbv2\"]\ntag_filters = { env = [\"prod\"] }\n",
        &moto,
        &built,
    )
    .await;
    let ok = |m: &str, s: &str| {
        sample(
            m,
            "outpost_aws_scrape_success",
            &format!("region=\"eu-west-1\",service=\"{s}\""),
        ) == Some(1.0)
    };
    let m = d
        .metrics_when(Duration::from_secs(60), |m| ok(m, "rds") && ok(m, "elbv2"))
        .await;
    let db = |id: &str| {
        sample(
            &m,
            "aws_rds_multi_az",
            &format!("region=\"eu-west-1\",db_instance=\"{id}\""),
        )
    };
    assert_eq!(db("db-good"), Some(1.0), "{m}");
    assert_eq!(db("db-stopped"), Some(0.0), "{m}");
    assert_eq!(db("db-bad"), None, "{m}");
    assert!(m.contains("target_group=\"tg-web\""), "{m}");
    assert!(!m.contains("target_group=\"tg-idle\""), "{m}");
    assert!(!m.contains("service=\"autoscaling\""), "{m}");
    d.stop().await;
}

/// The API goes away mid-run: the scrape fails (success 0, errors counted), the
/// daemon keeps serving, the last good data stays until `stale_after`, then goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_api_fails_the_scrape_and_data_expires() {
    let mut moto = Moto::start();
    moto.seed("eu-west-1");
    let built = Arc::new(AtomicUsize::new(0));
    let d = daemon(
        "[aws]\nregions = [\"eu-west-1\"]\ninterval = \"1s\"\nstale_after = \"4s\"\nservices = [\"autoscaling\"]\n",
        &moto,
        &built,
    )
    .await;
    let success = |m: &str| {
        sample(
            m,
            "outpost_aws_scrape_success",
            "region=\"eu-west-1\",service=\"autoscaling\"",
        )
    };
    let min = |m: &str| {
        sample(
            m,
            "aws_autoscaling_group_min_size",
            "region=\"eu-west-1\",autoscaling_group=\"asg-web\"",
        )
    };
    let m = d
        .metrics_when(Duration::from_secs(60), |m| success(m) == Some(1.0))
        .await;
    assert_eq!(min(&m), Some(2.0), "{m}");
    moto.kill();
    let failed = d
        .metrics_when(Duration::from_secs(30), |m| success(m) == Some(0.0))
        .await;
    assert_eq!(success(&failed), Some(0.0), "{failed}");
    let last_ok = sample(
        &failed,
        "outpost_aws_scrape_last_success_timestamp_seconds",
        "region=\"eu-west-1\",service=\"autoscaling\"",
    )
    .unwrap();
    let errors: f64 = failed
        .lines()
        .filter(|l| l.starts_with("outpost_aws_api_errors_total{region=\"eu-west-1\",service=\"autoscaling\",operation=\"DescribeAutoScalingGroups\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(errors >= 1.0, "{failed}");
    let gone = d
        .metrics_when(Duration::from_secs(30), |m| min(m).is_none())
        .await;
    assert_eq!(min(&gone), None, "{gone}");
    // Gone no earlier than stale_after after the last good scrape.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(now - last_ok >= 4.0, "expired after {}s", now - last_ok);
    assert_eq!(success(&gone), Some(0.0), "{gone}");
    let (status, _) = d.get("/-/healthy").await;
    assert_eq!(status, 200);
    d.stop().await;
}

/// No `[aws]`: no SDK configuration is ever built, so no AWS call can be made,
/// and `/metrics` has no AWS series.
#[tokio::test]
async fn no_aws_section_makes_no_aws_client() {
    let built = Arc::new(AtomicUsize::new(0));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    let options = Options {
        aws: options_for(endpoint, built.clone()),
        ..Options::default()
    };
    let d = TestDaemon::start_with("", options).await;
    let (_, m) = d.get("/metrics").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, again) = d.get("/metrics").await;
    assert_eq!(built.load(Ordering::SeqCst), 0);
    for page in [&m, &again] {
        assert!(!page.contains("aws_"), "{page}");
    }
    d.stop().await;
}

/// The shipped binary takes its endpoint and credentials from the environment
/// (aws-config's default chain): `AWS_ENDPOINT_URL` points it at moto. IMDS and
/// profile files are switched off so nothing is asked beyond loopback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_honours_aws_endpoint_url() {
    use std::io::{BufRead, BufReader};
    let moto = Moto::start();
    moto.seed("eu-west-1");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probes.toml");
    std::fs::write(
        &config,
        "[aws]\nregions = [\"eu-west-1\"]\ninterval = \"2s\"\nservices = [\"autoscaling\"]\n",
    )
    .unwrap();
    let mut child = daemon_binary(&config, &moto.endpoint(), dir.path())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr: std::net::SocketAddr = loop {
        let line = lines.next().expect("daemon exited early").unwrap();
        if let Some(rest) = line.split("\"address\":\"").nth(1) {
            break rest.split('"').next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let want =
        "aws_autoscaling_group_min_size{region=\"eu-west-1\",autoscaling_group=\"asg-web\"} 2";
    let mut page = String::new();
    for _ in 0..600 {
        let (_, _, body) = crate::support::daemon::request(addr, "GET", "/metrics", &[]).await;
        page = body;
        if page.contains(want) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(page.contains(want), "{page}");
}

/// The daemon binary on `config`, logging JSON to a piped stderr, with AWS
/// pointed at `endpoint` and the environment's credentials only.
fn daemon_binary(
    config: &std::path::Path,
    endpoint: &str,
    dir: &std::path::Path,
) -> std::process::Command {
    use std::process::Stdio;
    let mut cmd = binary_with_aws_at(endpoint, dir);
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--log-format",
        "json",
        "--config",
    ])
    .arg(config)
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    cmd
}

/// `outpost check --aws` tries each region for real: with moto answering, who
/// the credentials are and the first page of each service (exit 0); with no
/// endpoint listening, the cause in words and where to look (exit 1); with no
/// credentials at all, one line per region naming the chain, and no call.
#[test]
fn check_aws_tries_each_region_and_says_what_is_wrong() {
    let moto = Moto::start();
    moto.seed("eu-west-1");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probes.toml");
    std::fs::write(
        &config,
        "[aws]\nregions = [\"eu-west-1\", \"us-east-2\"]\nservices = [\"rds\", \"elbv2\", \"autoscaling\"]\n",
    )
    .unwrap();
    let check = |endpoint: &str, credentials: bool| {
        let mut cmd = binary_with_aws_at(endpoint, dir.path());
        if !credentials {
            cmd.env_remove("AWS_ACCESS_KEY_ID")
                .env_remove("AWS_SECRET_ACCESS_KEY");
        }
        let out = cmd
            .args(["check", "--aws", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        // Times vary: the "  12 ms" column goes.
        let stdout = regex::Regex::new(r"  +\d+ ms  ")
            .unwrap()
            .replace_all(&String::from_utf8_lossy(&out.stdout), "  ")
            .into_owned();
        let lines: Vec<String> = stdout.lines().map(str::to_string).collect();
        (out.status.code(), lines, stdout)
    };

    let (code, lines, all) = check(&moto.endpoint(), true);
    assert_eq!(code, Some(0), "{all}");
    let want_ok = [
        "eu-west-1  credentials  ok  found, access key AKIA…EY01",
        "eu-west-1  identity     ok  arn:aws:sts::123456789012:user/moto",
        "eu-west-1  rds          ok  DescribeDBInstances: 3 DB instances",
        "eu-west-1  elbv2        ok  DescribeLoadBalancers: 1 load balancer",
        "eu-west-1  autoscaling  ok  DescribeAutoScalingGroups: 1 Auto Scaling group on the first page, and more",
        "us-east-2  credentials  ok  found, access key AKIA…EY01",
        "us-east-2  identity     ok  arn:aws:sts::123456789012:user/moto",
        "us-east-2  rds          ok  DescribeDBInstances: 0 DB instances",
    ];
    for want in want_ok {
        assert!(lines.iter().any(|l| l == want), "{want:?} not in:\n{all}");
    }
    assert_eq!(
        lines.last().map(String::as_str),
        Some("AWS: all 10 checks passed"),
        "{all}"
    );

    // Nothing listens on the endpoint: the cause, not "dispatch failure".
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (code, _, all) = check(&format!("http://127.0.0.1:{port}"), true);
    assert_eq!(code, Some(1), "{all}");
    assert!(
        all.contains("eu-west-1  identity     FAILED  dispatch_failure: GetCallerIdentity: ")
            && all.contains("Connection refused"),
        "{all}"
    );
    assert!(
        all.contains("hint: outpost reached no AWS endpoint"),
        "{all}"
    );
    assert!(all.ends_with("AWS: 8 of 10 checks failed\n"), "{all}");

    // No credentials anywhere: said once per region, nothing else tried.
    let (code, lines, all) = check(&moto.endpoint(), false);
    assert_eq!(code, Some(1), "{all}");
    assert!(
        lines[1].starts_with("eu-west-1  credentials  FAILED  no_credentials: "),
        "{all}"
    );
    assert!(
        all.contains("hint: the default chain would use: instance profile"),
        "{all}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("AWS: 2 of 2 checks failed"),
        "{all}"
    );
}

/// More instances than one page holds (100): every page is read, each scrape
/// costing exactly two DescribeDBInstances calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_is_read() {
    let moto = Moto::start();
    moto.seed_with("eu-west-1", 101);
    let built = Arc::new(AtomicUsize::new(0));
    let d = daemon(
        "[aws]\nregions = [\"eu-west-1\"]\ninterval = \"5s\"\nservices = [\"rds\"]\n",
        &moto,
        &built,
    )
    .await;
    let m = d
        .metrics_when(Duration::from_secs(60), |m| {
            sample(
                m,
                "outpost_aws_scrape_success",
                "region=\"eu-west-1\",service=\"rds\"",
            ) == Some(1.0)
        })
        .await;
    let instances = m
        .lines()
        .filter(|l| l.starts_with("aws_rds_multi_az{region=\"eu-west-1\""))
        .count();
    assert_eq!(instances, 104, "{m}");
    let calls = sample(
        &m,
        "outpost_aws_api_calls_total",
        "region=\"eu-west-1\",service=\"rds\",operation=\"DescribeDBInstances\"",
    )
    .unwrap();
    assert!(calls >= 2.0 && calls % 2.0 == 0.0, "{calls} calls");
    d.stop().await;
}

/// With `role_arn`, the scrape runs on credentials from STS AssumeRole (moto
/// answers it like AWS), and succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_arn_assumes_the_role() {
    let moto = Moto::start();
    moto.seed("eu-west-1");
    let built = Arc::new(AtomicUsize::new(0));
    let d = daemon(
        "[aws]\nregions = [\"eu-west-1\"]\ninterval = \"2s\"\nservices = [\"autoscaling\"]\nrole_arn = \"arn:aws:iam::123456789012:role/outpost\"\n",
        &moto,
        &built,
    )
    .await;
    let m = d
        .metrics_when(Duration::from_secs(60), |m| {
            m.contains("outpost_aws_scrape_success{region=\"eu-west-1\",service=\"autoscaling\"}")
        })
        .await;
    assert_eq!(
        sample(
            &m,
            "outpost_aws_scrape_success",
            "region=\"eu-west-1\",service=\"autoscaling\""
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "aws_autoscaling_group_max_size",
            "region=\"eu-west-1\",autoscaling_group=\"asg-web\""
        ),
        Some(6.0),
        "{m}"
    );
    d.stop().await;
}

/// A reload applies `[aws]`: another service list swaps the scrapers (the old
/// service's series leave `/metrics`, the new one's arrive), and removing the
/// section stops them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_applies_a_changed_aws_section() {
    let moto = Moto::start();
    for r in REGIONS {
        moto.seed(r);
    }
    let built = Arc::new(AtomicUsize::new(0));
    let section = |service: &str| {
        format!("[aws]\nregions = [\"eu-west-1\", \"us-east-1\"]\ninterval = \"2s\"\nservices = [\"{service}\"]\n")
    };
    let d = daemon(&section("autoscaling"), &moto, &built).await;
    let m = d
        .metrics_when(Duration::from_secs(60), |m| {
            all_scraped(m, &["autoscaling"])
        })
        .await;
    assert!(all_scraped(&m, &["autoscaling"]), "{m}");
    assert!(!m.contains("aws_rds_"), "{m}");

    let reload = || async {
        let (status, _, body) =
            crate::support::daemon::request(d.addr, "POST", "/-/reload", &[]).await;
        assert_eq!(status, 200, "{body}");
    };
    std::fs::write(&d.config_path, section("rds")).unwrap();
    reload().await;
    let m = d
        .metrics_when(Duration::from_secs(60), |m| all_scraped(m, &["rds"]))
        .await;
    assert!(all_scraped(&m, &["rds"]), "{m}");
    assert!(m.contains("aws_rds_instance_info"), "{m}");
    assert!(!m.contains("aws_autoscaling_"), "{m}");
    assert!(!m.contains("service=\"autoscaling\""), "{m}");

    std::fs::write(&d.config_path, "").unwrap();
    reload().await;
    let (_, m) = d.get("/metrics").await;
    assert!(!m.contains("aws_"), "{m}");
    d.stop().await;
}

/// An AWS endpoint that refuses connections: the first failure is logged with
/// its whole cause ("Connection refused", not only "dispatch_failure"), the
/// same failure again in one short line, and the start names the credentials'
/// source. Loopback only: port 1 of 127.0.0.1 has no listener.
#[test]
fn a_scrape_that_cannot_run_says_why_once() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probes.toml");
    std::fs::write(
        &config,
        "[aws]\nregions = [\"eu-west-1\"]\ninterval = \"1s\"\nservices = [\"autoscaling\"]\n",
    )
    .unwrap();
    let mut child = daemon_binary(&config, "http://127.0.0.1:1", dir.path())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (send, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = send.send(line);
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while std::time::Instant::now() < deadline {
        let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) else {
            continue;
        };
        seen.push(line);
        // With retries, the 1 s operation timeout cuts some scrapes short (cause:
        // timeout); wait until the refused connection has been seen too.
        let refused = seen.iter().any(|l| l.contains("Connection refused"));
        if refused && seen.iter().filter(|l| l.contains("still failing")).count() >= 2 {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let all = seen.join("\n");
    let start: Vec<&String> = seen
        .iter()
        .filter(|l| l.contains("AWS scrapes start"))
        .collect();
    assert_eq!(start.len(), 1, "{all}");
    assert!(
        start[0].contains("\"credentials\":\"environment (AWS_ACCESS_KEY_ID)\""),
        "{all}"
    );
    // In full: the first failure, and each time the cause changes (with retries
    // the 1 s operation timeout can cut a later scrape short: a new cause).
    let full: Vec<&str> = seen
        .iter()
        .filter(|l| l.contains("AWS scrape failed"))
        .filter_map(|l| l.split("\"error\":\"").nth(1))
        .collect();
    assert!(
        full.iter().any(
            |e| e.starts_with("DescribeAutoScalingGroups: dispatch_failure: ")
                && e.contains("Connection refused")
        ),
        "the cause is lost:\n{all}"
    );
    for pair in full.windows(2) {
        assert_ne!(pair[0], pair[1], "the same cause twice in full:\n{all}");
    }
    let short: Vec<&String> = seen
        .iter()
        .filter(|l| l.contains("still failing"))
        .collect();
    assert!(short.len() >= 2, "{all}");
    assert!(
        short.iter().all(|l| !l.contains("Connection refused")),
        "{all}"
    );
}
