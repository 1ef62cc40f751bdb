//! `probes.toml` loading: golden error files for every mistake, typed values of the
//! good configs, strictness (an unknown key in any table is refused), redaction,
//! and no panic on mangled input.
//!
//! Golden files: `tests/testdata/configs/bad/NAME.toml` is loaded and its errors
//! must equal `NAME.err` exactly. After an intended change of wording, rewrite
//! them all with
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test --test integration config::
//! ```
//!
//! and review the diff: it is the user-visible change.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::config_errors;
use outpost::config::policy::{Rule, TargetPolicy};
use outpost::config::{
    Auth, Compression, Config, ConfigErrors, IpProtocol, LatencyObjective, Prober, SliSource,
    SloSelector, SloSpec, TlsVersion, Transport, DEFAULT_MAX_REDIRECTS,
    DEFAULT_RUN_DURATION_BUCKETS, DEFAULT_SLO_WINDOW,
};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// Relative to the crate root, where `cargo test` runs, so messages are stable.
const GOOD: &str = "tests/testdata/configs/good";
const BAD: &str = "tests/testdata/configs/bad";

fn toml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

fn load_ok(path: &Path) -> Config {
    Config::load(path).unwrap_or_else(|e| panic!("{} should load:\n{e}", path.display()))
}

fn load_err(path: &Path) -> ConfigErrors {
    match Config::load(path) {
        Ok(_) => panic!("{} should be rejected", path.display()),
        Err(e) => e,
    }
}

#[test]
fn bad_configs_match_their_golden_errors() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    let files = toml_files(BAD);
    assert!(files.len() > 40, "bad configs missing from {BAD}");
    for path in &files {
        let got = format!("{}\n", load_err(path));
        let golden = path.with_extension("err");
        if update {
            std::fs::write(&golden, &got).unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
            continue;
        }
        let want = std::fs::read_to_string(&golden).unwrap_or_default();
        if got != want {
            mismatches.push(format!(
                "== {}\n-- want\n{want}-- got\n{got}",
                path.display()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} golden mismatch(es) (UPDATE_GOLDEN=1 rewrites them):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn every_golden_error_file_has_its_config() {
    for entry in std::fs::read_dir(BAD).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|x| x == "err") {
            assert!(
                path.with_extension("toml").exists(),
                "{} has no .toml",
                path.display()
            );
        }
    }
}

#[test]
fn every_error_has_a_position_and_errors_come_in_file_order() {
    for path in toml_files(BAD) {
        let errors = load_err(&path).0;
        assert!(!errors.is_empty());
        for e in &errors {
            assert!(
                e.line > 0 && e.column > 0,
                "{}: no position: {e}",
                path.display()
            );
        }
        let positions: Vec<_> = errors.iter().map(|e| (e.line, e.column)).collect();
        let mut sorted = positions.clone();
        sorted.sort();
        assert_eq!(positions, sorted, "{}", path.display());
    }
}

#[test]
fn one_pass_reports_every_error() {
    let errors = load_err(Path::new(&format!("{BAD}/many-errors.toml"))).0;
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "server.timeout_offset",
            "modules.http_2xx",
            "modules.http_2xx.http.valid_status_codes[1]",
            "modules.http_2xx.http.fail_if_body_matches_regexp[0]",
            "modules.tcp_connect",
            "probes[0].labels.job",
            "probes[1].name",
            "probes[1].module",
            "probes[1].interval",
        ]
    );
}

#[test]
fn two_unknown_keys_and_an_unknown_module_are_three_errors() {
    let text = r#"
[modules.a]
prober = "http"
bogus_one = 1

[modules.b]
prober = "tcp"
bogus_two = 2

[[probes]]
name = "p"
module = "c"
target = "x:1"
interval = "1m"
"#;
    let errors = config_errors(text);
    assert_eq!(
        errors,
        "probes.toml:4:1: modules.a: unknown key `bogus_one` (hint: valid keys here: prober, timeout, run_duration_buckets, precreate_failure_reasons, http, tcp, unix, dns, grpc, icmp, mysql, postgres)\n\
         probes.toml:8:1: modules.b: unknown key `bogus_two` (hint: valid keys here: prober, timeout, run_duration_buckets, precreate_failure_reasons, http, tcp, unix, dns, grpc, icmp, mysql, postgres)\n\
         probes.toml:12:10: probes[0].module: unknown module \"c\" (hint: did you mean \"a\"? defined modules: a, b)"
    );
}

#[test]
fn body_size_limit_defaults_to_10_mib_and_0_means_unlimited() {
    let text = "[modules.a]\nprober = \"http\"\n\
                [modules.b]\nprober = \"http\"\n[modules.b.http]\nbody_size_limit = 0\n\
                [modules.c]\nprober = \"http\"\n[modules.c.http]\nbody_size_limit = \"64MB\"\n";
    let config =
        Config::from_str_at(text, Path::new("probes.toml")).unwrap_or_else(|e| panic!("{e}"));
    let limit = |name: &str| match &config.modules[name].prober {
        Prober::Http(http) => http.body_size_limit,
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(limit("a"), Some(10 << 20));
    assert_eq!(limit("b"), None);
    assert_eq!(limit("c"), Some(64 << 20));
}

/// Secrecy is a property of an option's declaration: a field of a file model (a
/// struct deriving `Deserialize` in a file of `deny_unknown_fields` models: every
/// prober's config and src/config/) whose name says it holds a credential
/// must have the type `Secret`, which hides it in every module dump. A new prober's
/// `password` or `dsn` declared as a plain `String` fails here.
#[test]
fn every_credential_option_is_declared_a_secret() {
    let credential = regex::Regex::new(
        r"(^|_)(password|passphrase|secret|secrets|token|credentials|dsn|key|api_key)$",
    )
    .unwrap();
    let field =
        regex::Regex::new(r"^\s*(?:pub(?:\([a-z]+\))?\s+)?([a-z_][a-z0-9_]*)\s*:\s*(.+?),?\s*$")
            .unwrap();
    let mut files = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let (mut checked, mut plain) = (Vec::new(), Vec::new());
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        // File models are strict: every one says so.
        if !text.contains("deny_unknown_fields") {
            continue;
        }
        let mut deserialized = false;
        let mut in_struct = false;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with("#[derive(") {
                deserialized = t.contains("Deserialize");
            } else if t.starts_with("pub struct") || t.starts_with("struct") {
                in_struct = deserialized && t.ends_with('{');
                deserialized = false;
            } else if in_struct && t == "}" {
                in_struct = false;
            } else if in_struct {
                if let Some(c) = field.captures(line) {
                    let (name, ty) = (&c[1], &c[2]);
                    if credential.is_match(name) {
                        checked.push(format!("{}: {name}", path.display()));
                        if !ty.contains("Secret") {
                            plain.push(format!("{}: {name}: {ty}", path.display()));
                        }
                    }
                }
            }
        }
    }
    assert_eq!(
        plain,
        Vec::<String>::new(),
        "credential options not declared as Secret"
    );
    // The scan found what it must: the known secret options of today's probers.
    for known in [
        "password",
        "bearer_token",
        "credentials",
        "secrets",
        "client_secret",
        "key",
    ] {
        assert!(
            checked.iter().any(|c| c.ends_with(&format!(": {known}"))),
            "the scan missed {known}: {checked:?}"
        );
    }
}

#[test]
fn probe_endpoint_errors_name_their_key() {
    let text = "[server.probe_endpoint]\nmax_concurrent = 0\nenable = true\n";
    let errors = config_errors(text);
    assert_eq!(
        errors,
        "probes.toml:3:1: server.probe_endpoint: unknown key `enable` (hint: did you mean `enabled`?)"
    );
    let text = "[server.probe_endpoint]\nallow = [\"10.0.0.0/33\", \"ok.example\", \"a b\"]\n";
    let errors = config_errors(text);
    let hint = "(hint: write a CIDR (\"10.0.0.0/8\", \"169.254.169.254/32\", \"fd00::/8\"), an address, a host name, or *.domain for every name below it)";
    assert_eq!(
        errors,
        format!(
            "probes.toml:2:10: server.probe_endpoint.allow[0]: \"10.0.0.0/33\" is neither an address block nor a host name {hint}\n\
             probes.toml:2:39: server.probe_endpoint.allow[2]: \"a b\" is neither an address block nor a host name {hint}"
        )
    );
    let text = "[server.probe_endpoint]\nmax_concurrent = 0\n";
    let errors = config_errors(text);
    assert_eq!(
        errors,
        "probes.toml:2:18: server.probe_endpoint.max_concurrent: must be an integer greater than zero"
    );
}

#[test]
fn good_configs_load() {
    let files = toml_files(GOOD);
    assert!(files.len() >= 3);
    for path in files {
        load_ok(&path);
    }
}

/// The shipped probes.toml's commented-out AWS part ([aws], [aws.cloudwatch],
/// [[discover]]) is a working example: uncommented, it passes the check, and
/// its two discover entries look where [aws] scrapes.
#[test]
fn the_shipped_files_commented_aws_part_is_valid_once_uncommented() {
    let text = std::fs::read_to_string("probes.toml").unwrap();
    let start = text.find("\n# [aws]\n").unwrap();
    let (head, aws_part) = text.split_at(start);
    let uncommented: String = aws_part
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(rest) if rest.starts_with('[') || is_assignment(rest) => rest,
            _ => line,
        })
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(uncommented.contains("\n[[discover]]\n"), "{uncommented}");
    let uncommented = format!("{head}{uncommented}");
    let config = Config::from_str_at(&uncommented, Path::new("probes.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
    let aws = config.aws.as_ref().unwrap();
    assert!(config.aws.as_ref().unwrap().cloudwatch.is_some());
    let names: Vec<&str> = config.discover.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["alb", "db"]);
    for d in &config.discover {
        assert_eq!(d.regions, aws.regions);
    }
    assert!(aws.discovery_needs_tags, "the alb entry filters by tag");
}

/// `key = value` with a bare key, not prose that happens to hold " = ".
fn is_assignment(line: &str) -> bool {
    line.split_once(" = ").is_some_and(|(key, _)| {
        !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[test]
fn an_empty_file_is_an_empty_config() {
    let config = Config::from_str_at("", Path::new("probes.toml")).ok();
    let config = config.unwrap_or_else(|| panic!("an empty config should load"));
    assert!(config.modules.is_empty() && config.probes.is_empty());
    assert_eq!(config.server, outpost::config::ServerConfig::default());
    assert_eq!(config.server.status_history, 60, "the documented default");
}

#[test]
fn status_history_takes_1_to_1000_runs() {
    let with = |n: &str| config_errors(&format!("[server]\nstatus_history = {n}\n"));
    for ok in ["1", "60", "1000"] {
        assert_eq!(with(ok), "", "status_history = {ok}");
    }
    for bad in ["0", "-1", "1001"] {
        assert_eq!(
            with(bad),
            format!(
                "probes.toml:2:18: server.status_history: must be an integer from 1 to 1000, not {bad}"
            )
        );
    }
}

#[test]
fn a_missing_file_is_one_error_without_position() {
    let errors = load_err(Path::new("tests/testdata/configs/no-such-file.toml")).0;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 0);
    assert!(errors[0]
        .to_string()
        .starts_with("tests/testdata/configs/no-such-file.toml: cannot read the file"));
}

#[test]
fn kitchen_sink_values() {
    let config = load_ok(Path::new(&format!("{GOOD}/kitchen-sink.toml")));
    assert_eq!(config.server.max_concurrent_probes, 64);
    assert_eq!(config.server.status_history, 120);
    assert_eq!(config.server.timeout_offset, Duration::from_millis(250));
    assert_eq!(
        config.server.probe_endpoint,
        outpost::config::ProbeEndpointConfig {
            enabled: false,
            max_concurrent: 16,
            policy: std::sync::Arc::new(TargetPolicy {
                allow: ["169.254.169.254/32", "*.internal.example"]
                    .iter()
                    .filter_map(|r| Rule::parse(r))
                    .collect(),
                deny: ["10.0.0.0/8", "db.internal.example"]
                    .iter()
                    .filter_map(|r| Rule::parse(r))
                    .collect(),
            }),
            apply_to_scheduled_probes: true,
        }
    );
    assert_eq!(config.server.probe_endpoint.policy.allow.len(), 2);
    assert_eq!(config.server.probe_endpoint.policy.deny.len(), 2);

    let module = &config.modules["http_everything"];
    assert_eq!(module.name, "http_everything");
    assert_eq!(module.timeout, Some(Duration::from_secs(5)));
    assert_eq!(module.run_duration_buckets, [0.1, 0.5, 2.0]);
    assert!(module.precreate_failure_reasons);
    let Prober::Http(http) = &module.prober else {
        panic!("http_everything is an http module");
    };
    assert_eq!(http.valid_status_codes, [200, 204]);
    assert_eq!(http.valid_http_versions, ["HTTP/1.1", "HTTP/2.0"]);
    assert_eq!(http.method, http::Method::POST);
    let headers: Vec<(&str, &str)> = http
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_str().unwrap_or("?")))
        .collect();
    // In the order written; header names are lower-cased by `http`.
    assert_eq!(
        headers,
        [
            ("host", "example.com"),
            ("user-agent", "outpost-test"),
            ("accept-encoding", "gzip;q=1.0, br;q=0.5"),
        ]
    );
    assert_eq!(http.body.as_deref(), Some(&b"{\"query\":\"ping\"}"[..]));
    assert_eq!(http.compression, Some(Compression::Gzip));
    assert!(!http.follow_redirects);
    assert_eq!(http.max_redirects, 3);
    assert!(!http.fail_if_ssl && http.fail_if_not_ssl);
    let body_res: Vec<&str> = http
        .fail_if_body_matches_regexp
        .iter()
        .map(|r| r.as_str())
        .collect();
    assert_eq!(body_res, ["(?i)error", "maintenance"]);
    // Unanchored, as Blackbox's Go regexp.Compile: a match anywhere counts.
    assert!(http.fail_if_body_matches_regexp[1].is_match(b"down for maintenance today"));
    assert!(http.fail_if_body_not_matches_regexp[0].is_match(b"{\"status\": \"ok\"}"));
    let m = &http.fail_if_header_matches[0];
    assert_eq!(
        (m.header.as_str(), m.regexp.as_str(), m.allow_missing),
        ("content-type", "text/html", false)
    );
    let m = &http.fail_if_header_not_matches[0];
    assert_eq!(
        (m.header.as_str(), m.regexp.as_str(), m.allow_missing),
        ("x-served-by", "^web-", true)
    );
    assert!(
        matches!(&http.auth, Some(Auth::Basic { username, password }) if username == "prober" && password == "hunter2-inline")
    );
    assert_eq!(
        http.proxy_url.as_ref().map(ToString::to_string).as_deref(),
        Some("http://proxy.internal:3128/")
    );
    assert!(http.skip_resolve_phase_with_proxy);
    assert!(!http.enable_http2);
    assert_eq!(http.ip.preferred, IpProtocol::Ip4);
    assert!(!http.ip.fallback);
    assert_eq!(http.body_size_limit, Some(10 * 1024 * 1024));
    let tls = &http.tls;
    assert_eq!(tls.ca.as_ref().map(|store| store.len()), Some(1));
    let client = tls.client_cert.as_ref().map(|c| c.chain.len());
    assert_eq!(client, Some(1));
    assert_eq!(tls.server_name.as_deref(), Some("api.example.com"));
    assert!(!tls.insecure_skip_verify);
    assert_eq!(
        (tls.min_version, tls.max_version),
        (Some(TlsVersion::Tls12), Some(TlsVersion::Tls13))
    );

    let Prober::Http(http) = &config.modules["http_password_file"].prober else {
        panic!("http_password_file is an http module");
    };
    assert!(
        matches!(&http.auth, Some(Auth::Basic { password, .. }) if password == "hunter2-from-file")
    );
    assert!(
        !http.follow_redirects,
        "no_follow_redirects = true is the deprecated spelling"
    );
    assert_eq!(http.body.as_deref(), Some(&b"ping"[..]));
    assert_eq!(http.body_size_limit, Some(4096));
    let Prober::Http(http) = &config.modules["http_bearer_file"].prober else {
        panic!("http_bearer_file is an http module");
    };
    assert!(matches!(&http.auth, Some(Auth::Bearer(t)) if t == "token-from-file"));
    assert_eq!(http.compression, None);
    assert!(http.follow_redirects);
    assert_eq!(http.max_redirects, DEFAULT_MAX_REDIRECTS);
    assert_eq!(http.ip.preferred, IpProtocol::Ip6, "Blackbox's default");
    assert_eq!(
        http.tls.ca.as_ref().map(|_| ()),
        None,
        "no ca_file: system roots"
    );

    let tcp_connect = &config.modules["tcp_connect"];
    assert_eq!(
        tcp_connect.run_duration_buckets,
        DEFAULT_RUN_DURATION_BUCKETS
    );
    assert!(!tcp_connect.precreate_failure_reasons, "off by default");
    let Prober::Tcp(tcp) = &config.modules["tcp_tls"].prober else {
        panic!("tcp_tls is a tcp module");
    };
    assert!(tcp.tls);
    assert_eq!(tcp.ip.preferred, IpProtocol::Ip4);
    assert!(!tcp.ip.fallback);
    assert_eq!(
        tcp.ip.source_ip,
        Some(
            "127.0.0.1"
                .parse()
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into())
        )
    );
    assert!(tcp.tls_config.insecure_skip_verify);
    assert_eq!(tcp.tls_config.min_version, Some(TlsVersion::Tls13));

    let Prober::Dns(dns) = &config.modules["dns_everything"].prober else {
        panic!("dns_everything is a dns module");
    };
    assert_eq!(dns.query_name.to_ascii(), "example.com.");
    assert_eq!(u16::from(dns.query_type), 15);
    assert_eq!(u16::from(dns.query_class), 1);
    assert_eq!(dns.transport, Transport::Tcp);
    assert!(dns.dns_over_tls && !dns.recursion_desired);
    assert_eq!(dns.valid_rcodes, [0, 3]);
    assert_eq!(
        dns.tls_config.server_name.as_deref(),
        Some("dns.example.com")
    );
    assert!(dns.tls_config.ca.is_some());
    assert!(!dns.ip.fallback);
    for rules in [
        &dns.validate_answer,
        &dns.validate_authority,
        &dns.validate_additional,
    ] {
        assert_eq!(rules.fail_if_matches.len(), 1);
        assert_eq!(rules.fail_if_not_matches.len(), 1);
        assert_eq!(rules.fail_if_all_match.len(), 1);
        assert_eq!(rules.fail_if_none_matches.len(), 1);
    }
    assert_eq!(
        dns.validate_answer.fail_if_matches[0].as_str(),
        "\\tCNAME\\t"
    );
    // DoT implies tcp; the defaults are udp, ANY, IN, RD and NOERROR.
    let Prober::Dns(soa) = &config.modules["dns_soa"].prober else {
        panic!("dns_soa is a dns module");
    };
    assert_eq!(soa.transport, Transport::Udp);
    assert!(soa.recursion_desired && !soa.dns_over_tls);
    assert_eq!(soa.valid_rcodes, [0]);
}

#[test]
fn kitchen_sink_slos() {
    let config = load_ok(Path::new(&format!("{GOOD}/kitchen-sink.toml")));
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        config.slos,
        [
            SloSpec {
                name: "api".into(),
                selector: SloSelector::Probes(vec!["api".into(), "fast".into()]),
                sli: SliSource::Probes,
                objective: 99.95,
                latency: Some(LatencyObjective {
                    bound: 0.5,
                    objective: 99.0
                }),
                window: Duration::from_secs(28 * 86400),
                labels: pairs(&[("team", "api"), ("tier", "1")]),
            },
            SloSpec {
                name: "edge".into(),
                selector: SloSelector::Labels(pairs(&[
                    ("region", "eu-west-1"),
                    ("tag_team", "web")
                ])),
                sli: SliSource::Alb,
                objective: 99.9,
                latency: None,
                window: DEFAULT_SLO_WINDOW,
                labels: vec![],
            },
        ]
    );
}

#[test]
fn kitchen_sink_probes_and_effective_timeouts() {
    let config = load_ok(Path::new(&format!("{GOOD}/kitchen-sink.toml")));
    let summary: Vec<(&str, &str, &str, u64, u64)> = config
        .probes
        .iter()
        .map(|p| {
            let interval = p.interval.as_secs();
            (
                p.name.as_str(),
                p.module.as_str(),
                p.target.as_str(),
                interval,
                p.timeout.as_secs(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            // The module's timeout (5s).
            (
                "api",
                "http_everything",
                "https://api.example.com/health",
                30,
                5
            ),
            // The probe's own timeout; the target is kept as written.
            ("bare-host", "http_password_file", "example.com", 60, 20),
            // No timeout anywhere: the interval, when under 10s.
            ("fast", "http_bearer", "HTTPS://example.com/", 5, 5),
            ("mysql", "tcp_connect", "db.internal:3306", 15, 3),
            ("dns-over-tls", "tcp_tls", "[2001:db8::53]:853", 90, 10),
            // No timeout anywhere: 10s, Prometheus' default scrape timeout.
            (
                "token-file",
                "http_bearer_file",
                "http://10.0.0.1:8080/",
                120,
                10
            ),
        ]
    );
    let labels = |i: usize| -> Vec<(&str, &str)> {
        config.probes[i]
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    };
    // In the order written, not sorted.
    assert_eq!(
        labels(0),
        [
            ("service", "api"),
            ("target_region", "ap-southeast-1"),
            ("env", "prod")
        ]
    );
    assert_eq!(labels(3), [("service", "rds")]);
    assert!(labels(1).is_empty());
}

/// `enable_http3` turns HTTP/2 off (required) and forces TLS 1.3 as the minimum.
#[test]
fn http3_module_forces_tls13() {
    let config = load_ok(Path::new(&format!("{GOOD}/kitchen-sink.toml")));
    let Prober::Http(http) = &config.modules["http3"].prober else {
        panic!("http3 is an http module");
    };
    assert!(http.enable_http3 && !http.enable_http2);
    assert_eq!(http.valid_http_versions, ["HTTP/3.0"]);
    assert_eq!(http.tls.min_version, Some(TlsVersion::Tls13));
    let Prober::Http(http) = &config.modules["http_everything"].prober else {
        panic!("http_everything is an http module");
    };
    assert!(!http.enable_http3);
}

/// Body rules are compiled at load into the bytes regexes the body reader runs:
/// a pattern valid only over bytes (a raw, non-UTF-8 byte) loads and matches that
/// byte; compiled as a `str` regex it would be refused.
#[test]
fn body_regexes_are_compiled_once_as_bytes_regexes() {
    let text = "[modules.p]\nprober = \"http\"\n[modules.p.http]\nfail_if_body_matches_regexp = ['(?-u:\\xFF)']\nfail_if_body_not_matches_regexp = ['ok']\n";
    let config = Config::from_str_at(text, Path::new("probes.toml"))
        .unwrap_or_else(|e| panic!("should load:\n{e}"));
    let Prober::Http(http) = &config.modules["p"].prober else {
        panic!("not http");
    };
    let rule = &http.fail_if_body_matches_regexp[0];
    assert!(rule.is_match(b"a\xFFb"));
    assert!(!rule.is_match("\u{FF}".as_bytes()));
    assert_eq!(http.fail_if_body_not_matches_regexp.len(), 1);
}

#[test]
fn files_are_read_relative_to_the_config_directory() {
    // The same config through an absolute path reads the same files.
    let absolute = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(GOOD)
        .join("kitchen-sink.toml");
    let config = load_ok(&absolute);
    assert_eq!(config.source, absolute);
    assert_eq!(config.modules.len(), 9);
}

#[test]
fn redacted_modules_hide_secrets() {
    let config = load_ok(Path::new(&format!("{GOOD}/kitchen-sink.toml")));
    for module in config.modules.values() {
        for secret in [
            "hunter2-inline",
            "s3cr3t-bearer",
            "hunter2-from-file",
            "token-from-file",
        ] {
            assert!(
                !module.redacted.contains(secret),
                "{} reveals {secret}:\n{}",
                module.name,
                module.redacted
            );
        }
        assert!(module
            .redacted
            .contains(&format!("prober = \"{}\"", module.prober.kind())));
    }
    let redacted = &config.modules["http_bearer"].redacted;
    assert!(
        redacted.contains("bearer_token = \"<secret>\""),
        "{redacted}"
    );
    let redacted = &config.modules["http_everything"].redacted;
    assert!(redacted.contains("password = \"<secret>\""), "{redacted}");
    assert!(redacted.contains("username = \"prober\""), "{redacted}");
    assert!(
        redacted.contains("ca_file = \"files/ca.pem\""),
        "{redacted}"
    );
    // The redacted text is TOML that reads back.
    assert!(redacted.parse::<toml::Table>().is_ok(), "{redacted}");

    let text = "[modules.p]\nprober = \"http\"\nhttp = { proxy_url = \"http://u:proxypass@proxy:3128\" }\n";
    let config = Config::from_str_at(text, Path::new("probes.toml")).ok();
    let redacted = config
        .map(|c| c.modules["p"].redacted.clone())
        .unwrap_or_default();
    assert!(
        redacted.contains("http://u:<secret>@proxy:3128"),
        "{redacted}"
    );
    assert!(!redacted.contains("proxypass"), "{redacted}");
}

/// One place to put `bogus_key = 1`: the text offset, the text, the table's key
/// path and the line the error must point at.
struct Injection {
    offset: usize,
    insert: &'static str,
    table: String,
}

/// Every table of a config that takes a fixed set of keys: the root, `[server]`,
/// each module, each settings block, `tls_config`, `basic_auth`, header matchers
/// and each probe. Free-form maps (`modules` itself, `headers`, `labels`) are
/// skipped. Tables written as dotted keys have no place of their own to inject
/// into; the good configs write every table as a header or an inline table.
fn injections(text: &str) -> Vec<Injection> {
    let mut out = vec![Injection {
        offset: 0,
        insert: "bogus_key = 1\n",
        table: String::new(),
    }];
    let Ok(root) = DeTable::parse(text) else {
        panic!("good config does not parse");
    };
    for (key, value) in root.get_ref().iter() {
        let name = key.get_ref().to_string();
        if name == "modules" {
            for (module, v) in value.get_ref().as_table().into_iter().flatten() {
                walk(text, v, format!("modules.{}", module.get_ref()), &mut out);
            }
        } else {
            walk(text, value, name, &mut out);
        }
    }
    out
}

fn walk(text: &str, value: &Spanned<DeValue<'_>>, path: String, out: &mut Vec<Injection>) {
    match value.get_ref() {
        DeValue::Table(table) => {
            let span = value.span();
            match text.as_bytes().get(span.start) {
                Some(b'{') if !table.is_empty() => {
                    out.push(Injection {
                        offset: span.start + 1,
                        insert: " bogus_key = 1,",
                        table: path.clone(),
                    });
                }
                Some(b'[') => {
                    out.push(Injection {
                        offset: span.end,
                        insert: "\nbogus_key = 1",
                        table: path.clone(),
                    });
                }
                _ => {}
            }
            for (k, v) in table.iter() {
                let key = k.get_ref().to_string();
                // Free-form maps: any key is valid there.
                let free_form = [
                    "headers",
                    "labels",
                    "endpoint_params",
                    "proxy_connect_header",
                    "metadata",
                    "role_arns",
                    "tag_filters",
                ];
                if key == "http_headers" {
                    // Keyed by header name (free-form); each entry is strict.
                    for (name, entry) in v.get_ref().as_table().into_iter().flatten() {
                        let name = name.get_ref().to_string();
                        walk(text, entry, format!("{path}.{key}.{name}"), out);
                    }
                } else if !free_form.contains(&key.as_str()) {
                    walk(text, v, format!("{path}.{key}"), out);
                }
            }
        }
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(text, item, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_table_of_every_good_config_rejects_an_unknown_key() {
    for path in toml_files(GOOD) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let points = injections(&text);
        assert!(
            points.len() > 2,
            "{}: nothing to inject into",
            path.display()
        );
        for point in points {
            let mut bad = text.clone();
            bad.insert_str(point.offset, point.insert);
            let want_line = bad[..point.offset + point.insert.len()]
                .matches('\n')
                .count()
                + 1
                - usize::from(point.insert.ends_with('\n'));
            let errors = match Config::from_str_at(&bad, &path) {
                Ok(_) => panic!(
                    "{}: bogus_key in `{}` was accepted",
                    path.display(),
                    point.table
                ),
                Err(e) => e.0,
            };
            let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
            assert_eq!(
                errors.len(),
                1,
                "{}: `{}`:\n{}",
                path.display(),
                point.table,
                shown.join("\n")
            );
            let e = &errors[0];
            assert_eq!(
                e.message,
                "unknown key `bogus_key`",
                "{}: {e}",
                path.display()
            );
            assert_eq!(e.key, point.table, "{}: {e}", path.display());
            assert_eq!(e.line, want_line, "{}: {e}", path.display());
        }
    }
}

#[test]
fn the_strictness_test_reaches_every_kind_of_table() {
    let text = std::fs::read_to_string(format!("{GOOD}/kitchen-sink.toml")).unwrap_or_default();
    let tables: Vec<String> = injections(&text).into_iter().map(|i| i.table).collect();
    for want in [
        "",
        "server",
        "modules.http_everything",
        "modules.http_everything.http",
        "modules.http_everything.http.tls_config",
        "modules.http_everything.http.basic_auth",
        "modules.http_everything.http.fail_if_header_matches[0]",
        "modules.http_everything.http.fail_if_header_not_matches[0]",
        "modules.tcp_tls.tcp",
        "modules.tcp_tls.tcp.tls_config",
        "probes[0]",
        "probes[5]",
        "slos[0]",
        "slos[1]",
        "slos[1].probes",
    ] {
        assert!(
            tables.iter().any(|t| t == want),
            "no injection into `{want}`: {tables:?}"
        );
    }
    let text = std::fs::read_to_string(format!("{GOOD}/tcp.toml")).unwrap_or_default();
    let tables: Vec<String> = injections(&text).into_iter().map(|i| i.table).collect();
    assert!(
        tables.iter().any(|t| t == "modules.smtps.tcp.tls_config"),
        "{tables:?}"
    );
}

#[test]
fn mangled_configs_never_panic() {
    let mut inputs: Vec<(PathBuf, String)> = Vec::new();
    for path in toml_files(GOOD).into_iter().chain(toml_files(BAD)) {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        inputs.push((path, text));
    }
    for (path, text) in &inputs {
        // Every prefix: unterminated strings, tables cut in half, missing values.
        for (cut, _) in text.char_indices() {
            let _ = Config::from_str_at(&text[..cut], path);
        }
        // Every line dropped.
        let lines: Vec<&str> = text.lines().collect();
        for skip in 0..lines.len() {
            let mangled: Vec<&str> = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, l)| *l)
                .collect();
            let _ = Config::from_str_at(&mangled.join("\n"), path);
        }
        // Values swapped for other types.
        for swap in [
            ("\"", "1 #"),
            ("= ", "= [] #"),
            ("= ", "= {} #"),
            ("= ", "= -9223372036854775808 #"),
            ("= ", "= nan #"),
            ("= ", "= 1979-05-27 #"),
        ] {
            let _ = Config::from_str_at(&text.replace(swap.0, swap.1), path);
        }
    }
}

#[test]
fn the_examples_in_the_configuration_docs_are_valid() {
    let docs = std::fs::read_to_string("docs/configuration.md").unwrap_or_default();
    let blocks: Vec<&str> = docs
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert!(
        blocks.len() >= 8,
        "toml examples missing from docs/configuration.md"
    );
    for block in blocks {
        let Err(errors) = Config::from_str_at(block, Path::new("docs/example.toml")) else {
            continue;
        };
        for e in errors.0 {
            // Examples may name files that are not here, or a module from another example.
            let acceptable =
                e.message.starts_with("cannot read ") || e.message.starts_with("unknown module");
            assert!(acceptable, "docs example is invalid: {e}\n{block}");
        }
    }
}

#[test]
fn oauth2_settings_and_secret_file_are_read_at_load() {
    let config = load_ok(Path::new(&format!("{GOOD}/auth-and-proxies.toml")));
    let Prober::Http(http) = &config.modules["http_oauth2"].prober else {
        panic!("http_oauth2 is an http module");
    };
    let o = http.oauth2.as_deref().expect("oauth2 is set");
    assert_eq!(o.client_id, "outpost");
    assert_eq!(o.client_secret, "client-s3cret-from-file");
    assert_eq!(o.token_url.as_str(), "https://auth.internal/oauth2/token");
    assert_eq!(o.scopes, ["probe.read", "probe.write"]);
    assert_eq!(
        o.endpoint_params,
        [("audience".to_string(), "https://api.internal".to_string())]
    );
    assert!(o.tls.ca.is_some());
    assert_eq!(o.tls.server_name.as_deref(), Some("auth.internal"));
    assert_eq!(
        o.proxy_url.as_ref().map(ToString::to_string).as_deref(),
        Some("http://proxy.internal:3128/")
    );
    assert!(
        !format!("{http:?}").contains("client-s3cret"),
        "Debug shows the secret"
    );

    let redacted = &config.modules["http_oauth2_inline"].redacted;
    assert!(
        redacted.contains("client_secret = \"<secret>\""),
        "{redacted}"
    );
    assert!(!redacted.contains("client-s3cret-inline"), "{redacted}");
    let redacted = &config.modules["http_oauth2"].redacted;
    assert!(
        redacted.contains("client_secret_file = \"files/client_secret\""),
        "{redacted}"
    );
}

#[test]
fn proxy_options_load_and_connect_headers_stay_secret() {
    let config = load_ok(Path::new(&format!("{GOOD}/auth-and-proxies.toml")));
    let Prober::Http(http) = &config.modules["http_https_proxy"].prober else {
        panic!("http_https_proxy is an http module");
    };
    assert_eq!(
        http.proxy_url.as_ref().map(ToString::to_string).as_deref(),
        Some("https://proxy.internal:8443/")
    );
    let no_proxy = http
        .proxy_options
        .no_proxy
        .as_ref()
        .expect("no_proxy is set");
    assert!(!no_proxy.use_proxy("api.internal", 443));
    assert!(!no_proxy.use_proxy("10.1.2.3", 80));
    assert!(no_proxy.use_proxy("example.com", 443));
    let headers: Vec<(&str, &[u8])> = http
        .proxy_options
        .connect_header
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    assert_eq!(
        headers,
        [
            ("proxy-token", &b"proxy-s3cret"[..]),
            ("x-tenant", b"a"),
            ("x-tenant", b"b")
        ]
    );
    assert!(
        !format!("{http:?}").contains("proxy-s3cret"),
        "Debug shows a secret"
    );
    for name in ["http_https_proxy", "http_env_proxy"] {
        let redacted = &config.modules[name].redacted;
        assert!(!redacted.contains("proxy-s3cret"), "{redacted}");
        assert!(redacted.contains("<secret>"), "{redacted}");
    }
    let Prober::Http(env) = &config.modules["http_env_proxy"].prober else {
        panic!("http_env_proxy is an http module");
    };
    assert!(env.proxy_options.from_environment.is_some());
}

/// `[aws]`: defaults when only `regions` is given, every key as written otherwise,
/// and no `[aws]` at all means no AWS configuration.
#[test]
fn aws_section_defaults_and_values() {
    use outpost::config::aws::TagLabel;
    use outpost::config::AwsService;
    let path = Path::new("x.toml");
    let none = Config::from_str_at("", path).unwrap();
    assert_eq!(none.aws, None);

    let min = Config::from_str_at("[aws]\nregions = [\"eu-west-1\"]\n", path).unwrap();
    let aws = min.aws.unwrap();
    assert_eq!(aws.regions, ["eu-west-1"]);
    assert_eq!(aws.interval, Duration::from_secs(60));
    assert_eq!(aws.stale_after, Duration::from_secs(180));
    assert_eq!(aws.services, AwsService::ALL);
    assert_eq!(aws.role_for("eu-west-1"), None);
    assert!(aws.selects(&[]));

    let sink = load_ok(&Path::new(GOOD).join("kitchen-sink.toml"));
    let aws = sink.aws.unwrap();
    assert_eq!(aws.regions, ["eu-west-1", "us-east-1"]);
    assert_eq!(aws.interval, Duration::from_secs(120));
    assert_eq!(aws.stale_after, Duration::from_secs(600));
    assert_eq!(
        aws.role_for("eu-west-1"),
        Some("arn:aws:iam::123456789012:role/outpost")
    );
    assert_eq!(
        aws.role_for("us-east-1"),
        Some("arn:aws:iam::210987654321:role/outpost-us")
    );
    let tags = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    assert!(aws.selects(&tags(&[("env", "prod"), ("team", "db")])));
    assert!(!aws.selects(&tags(&[("env", "dev")])));
    assert!(!aws.selects(&tags(&[("team", "db")])));
    assert_eq!(
        aws.tag_labels,
        [
            TagLabel {
                tag: "team".into(),
                label: "tag_team".into()
            },
            TagLabel {
                tag: "aws:cloudformation:stack-name".into(),
                label: "tag_aws_cloudformation_stack_name".into()
            },
        ]
    );
}
