//! `outpost import-blackbox`: Blackbox's example configuration imports and passes
//! `outpost check`; an option outpost lacks is refused with exit 2; and the
//! imported modules probe as Blackbox Exporter itself does (Debian's
//! `prometheus-blackbox-exporter`, run on loopback beside outpost).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::support::daemon::{request, sample, target_server, TestDaemon};
use crate::support::prometheus::{encode, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_outpost");
const TESTDATA: &str = "tests/testdata/blackbox";
const BLACKBOX: &str = "prometheus-blackbox-exporter";
const HINT: &str = "`make test` installs it (apt-get install prometheus-blackbox-exporter)";

fn outpost(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A directory holding the test certificates and secrets as `files/`, as the
/// example's file names expect, and `toml` as `outpost.toml`.
fn beside_the_files(toml: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    for entry in std::fs::read_dir("tests/testdata/configs/good/files").unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), files.join(entry.file_name())).unwrap();
    }
    let path = dir.path().join("outpost.toml");
    std::fs::write(&path, toml).unwrap();
    (dir, path)
}

#[test]
fn blackbox_example_imports_and_passes_outpost_check() {
    let example = format!("{TESTDATA}/example.yml");
    let scrape = format!("{TESTDATA}/prometheus.yml");
    for args in [
        vec!["import-blackbox", example.as_str()],
        vec![
            "import-blackbox",
            &example,
            "--scrape-config",
            &scrape,
            "--job",
            "blackbox",
        ],
    ] {
        let out = outpost(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let toml = text(&out.stdout);
        // Every prober of the example is there.
        for prober in ["http", "tcp", "unix", "dns", "grpc", "icmp"] {
            assert!(
                toml.contains(&format!("prober = \"{prober}\"")),
                "{prober} missing:\n{toml}"
            );
        }
        let (_dir, path) = beside_the_files(&out.stdout);
        let check = outpost(&["check", "--config", path.to_str().unwrap()]);
        let summary = text(&check.stdout);
        assert_eq!(
            check.status.code(),
            Some(0),
            "{}\n{toml}",
            text(&check.stderr)
        );
        let probes = if args.len() > 2 { 3 } else { 0 };
        assert!(
            summary.ends_with(&format!(": OK: 31 modules, {probes} probes\n")),
            "{summary}"
        );
    }
}

#[test]
fn an_option_outpost_lacks_is_refused_with_exit_2_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blackbox.yml");
    std::fs::write(
        &path,
        "modules:\n  http_2xx:\n    prober: http\n  via_socks:\n    prober: http\n    http:\n      \
         basic_auth: {username: u, password: hunter2}\n      tls_config:\n        ca_ref: vault\n",
    )
    .unwrap();
    let out = outpost(&["import-blackbox", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    let p = path.display();
    assert!(
        stderr.starts_with(&format!(
            "{p}:9:9: modules.via_socks.http.tls_config.ca_ref: outpost has no equivalent of Blackbox's `ca_ref` (hint: "
        )),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(&format!("\n{p}: not imported\n")),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    // A file that is not there is an error too, with the same exit code.
    let out = outpost(&["import-blackbox", "/nonexistent/blackbox.yml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("cannot read /nonexistent/blackbox.yml: "));
}

/// Blackbox Exporter on a free loopback port, killed on drop.
struct Blackbox {
    addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl Blackbox {
    async fn start(config: &Path) -> Blackbox {
        let port = free_port();
        let log = config.with_file_name("blackbox.log");
        let child = Command::new(BLACKBOX)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{BLACKBOX} not found ({e}); {HINT}"));
        let blackbox = Blackbox {
            addr: ([127, 0, 0, 1], port).into(),
            child,
            log,
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            if TcpStream::connect(blackbox.addr).await.is_ok() {
                let (status, _, _) = request(blackbox.addr, "GET", "/-/healthy", &[]).await;
                if status.is_success() {
                    return blackbox;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{BLACKBOX} not healthy within 15s:\n{}",
                std::fs::read_to_string(&blackbox.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Blackbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `probe_success` of `/probe?module=M&target=T` at `addr`, within 20s.
async fn probe_success(addr: SocketAddr, module: &str, target: &str) -> f64 {
    let path = format!("/probe?module={module}&target={}", encode(target));
    let (status, _, body) =
        tokio::time::timeout(Duration::from_secs(20), request(addr, "GET", &path, &[]))
            .await
            .unwrap_or_else(|_| panic!("{addr}{path} did not answer within 20s"));
    assert!(status.is_success(), "{addr}{path}: {status}\n{body}");
    sample(&body, "probe_success", "").unwrap_or_else(|| panic!("{addr}{path}:\n{body}"))
}

/// A TCP service that greets each connection with an SSH banner and holds it.
async fn banner_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2 roundtrip\r\n").await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            });
        }
    });
    addr
}

/// The Blackbox configuration of the round trip: what Debian's Blackbox (0.23)
/// reads, with options of every family the probes below exercise.
const ROUND_TRIP_YML: &str = r#"modules:
  http_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
  http_body:
    prober: http
    timeout: 5s
    http:
      valid_status_codes: [200]
      method: GET
      headers:
        X-Probe: roundtrip
      fail_if_body_not_matches_regexp: ["hello outpost"]
      fail_if_header_matches:
        - header: Content-Type
          regexp: "text/html"
          allow_missing: true
      preferred_ip_protocol: ip4
  http_500:
    prober: http
    timeout: 5s
    http:
      valid_status_codes: [500]
      no_follow_redirects: false
      preferred_ip_protocol: ip4
  tcp_connect:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
  ssh_banner:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      query_response:
        - expect: "^SSH-2.0-"
"#;

#[tokio::test]
async fn imported_modules_probe_as_blackbox_does() {
    let http = target_server().await;
    let tcp = banner_server().await;
    let closed: SocketAddr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let yml = dir.path().join("blackbox.yml");
    std::fs::write(&yml, ROUND_TRIP_YML).unwrap();
    let out = outpost(&["import-blackbox", yml.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let imported = TestDaemon::start(&text(&out.stdout)).await;
    let blackbox = Blackbox::start(&yml).await;

    let ok = format!("http://{http}/ok");
    let fail = format!("http://{http}/fail");
    let (open, shut) = (tcp.to_string(), closed.to_string());
    let nowhere = format!("http://{closed}/");
    let cases: [(&str, &str, f64); 11] = [
        ("http_2xx", &ok, 1.0),
        ("http_2xx", &fail, 0.0),
        ("http_2xx", &nowhere, 0.0),
        ("http_body", &ok, 1.0),
        ("http_body", &fail, 0.0),
        ("http_500", &fail, 1.0),
        ("http_500", &ok, 0.0),
        ("tcp_connect", &open, 1.0),
        ("tcp_connect", &shut, 0.0),
        ("ssh_banner", &open, 1.0),
        ("ssh_banner", &shut, 0.0),
    ];
    let mut seen = Vec::new();
    for (module, target, want) in cases {
        let by_blackbox = probe_success(blackbox.addr, module, target).await;
        let by_outpost = probe_success(imported.addr, module, target).await;
        seen.push((module, target, by_blackbox, by_outpost, want));
    }
    let differing: Vec<_> = seen
        .iter()
        .filter(|(_, _, b, o, want)| b != o || o != want)
        .collect();
    assert!(
        differing.is_empty(),
        "(module, target, Blackbox, outpost, expected) that differ: {differing:#?}"
    );
    drop(blackbox);
    imported.stop().await;
}

#[test]
fn the_migration_example_in_the_docs_is_what_the_import_prints() {
    let docs = std::fs::read_to_string("docs/configuration.md").unwrap();
    let section = docs
        .split("## Migrating from Blackbox Exporter\n")
        .nth(1)
        .unwrap_or_default();
    let block = |fence: &str| {
        let start = section.find(fence).map(|i| i + fence.len());
        let rest = start.map_or("", |i| &section[i..]);
        rest.split("```").next().unwrap_or_default().to_string()
    };
    let (yaml, toml) = (block("```yaml\n"), block("```toml\n"));
    assert!(!yaml.is_empty() && !toml.is_empty(), "example missing");
    let text = outpost::import::translate(&yaml, Path::new("blackbox.yml"), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let body = text.split_once("\n\n").map_or("", |(_, b)| b);
    assert_eq!(body, toml);
}
