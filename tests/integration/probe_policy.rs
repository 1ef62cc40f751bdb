//! `/probe`'s target policy against the instance metadata address, for real and
//! without ever sending a packet to it outside this machine: a network namespace of
//! the test's own carries 169.254.169.254 on its loopback, with a server there that
//! records every connection, and an outpost process runs inside the namespace
//! (`ip netns exec`, which also gives it /etc/netns/NS/hosts, so `metadata.test`
//! resolves to that address). Every network prober is refused by address, by a name
//! resolving to it, and the http prober through a redirect, with 403 and a reason,
//! and the metadata server sees no connection at all. A target the policy allows
//! still probes.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::daemon::sample;
use crate::support::netns::{self, ip};

const BIN: &str = env!("CARGO_BIN_EXE_outpost");
const METADATA: &str = "169.254.169.254";
/// outpost's port inside the namespace (its own, so any port is free).
const OUTPOST: &str = "127.0.0.1:9465";

/// One namespace, its hosts file and its processes; all removed on drop.
struct Namespace {
    name: String,
    children: Vec<Child>,
}

impl Namespace {
    fn new() -> Namespace {
        static RUN: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "op{}md{}",
            std::process::id(),
            RUN.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name]);
        let ns = Namespace {
            name,
            children: Vec::new(),
        };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ip(&[
            "-n",
            &ns.name,
            "addr",
            "add",
            &format!("{METADATA}/32"),
            "dev",
            "lo",
        ]);
        let etc = Path::new("/etc/netns").join(&ns.name);
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("hosts"),
            format!("127.0.0.1 localhost\n{METADATA} metadata.test\n"),
        )
        .unwrap();
        ns
    }

    /// Runs `f` on a thread inside the namespace: sockets it opens stay there.
    fn enter<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> R {
        netns::enter(&self.name, f)
    }

    /// A server on `addr` inside the namespace answering every request with
    /// `answer`, counting connections.
    fn serve(&self, addr: &str, answer: &'static str) -> Arc<AtomicUsize> {
        let addr: SocketAddr = addr.parse().unwrap();
        let listener = self.enter(move || TcpListener::bind(addr).unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                counted.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 2048];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        hits
    }

    /// One HTTP/1.0 GET to outpost inside the namespace: status and body.
    fn get(&self, path: &str) -> (u16, String) {
        self.try_get(path)
            .unwrap_or_else(|e| panic!("GET {path} from outpost in the namespace: {e}"))
    }

    fn try_get(&self, path: &str) -> std::io::Result<(u16, String)> {
        let request = format!("GET {path} HTTP/1.0\r\nHost: outpost\r\n\r\n");
        self.enter(move || {
            let mut s = TcpStream::connect(OUTPOST)?;
            s.set_read_timeout(Some(Duration::from_secs(20)))?;
            s.write_all(request.as_bytes())?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            let status = text
                .split(' ')
                .nth(1)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let body = text
                .split_once("\r\n\r\n")
                .map_or("", |(_, b)| b)
                .to_string();
            Ok((status, body))
        })
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(&self.name));
    }
}

const CONFIG: &str = r#"
[modules.http_2xx]
prober = "http"
timeout = "3s"
[modules.tcp_connect]
prober = "tcp"
timeout = "3s"
[modules.dns_udp]
prober = "dns"
timeout = "3s"
[modules.dns_udp.dns]
query_name = "example.com"
[modules.icmp]
prober = "icmp"
timeout = "3s"
[modules.grpc]
prober = "grpc"
timeout = "3s"
"#;

#[test]
fn metadata_is_refused_directly_by_name_and_through_a_redirect() {
    let mut ns = Namespace::new();
    let metadata_hits = ns.serve(
        &format!("{METADATA}:80"),
        "HTTP/1.0 200 OK\r\n\r\nsecret-role-credentials",
    );
    let redirects = ns.serve(
        "127.0.0.1:8081",
        "HTTP/1.0 302 Found\r\nLocation: http://169.254.169.254/latest/meta-data/\r\n\r\n",
    );
    let allowed = ns.serve("127.0.0.1:8082", "HTTP/1.0 200 OK\r\n\r\nok");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probes.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let log = File::create(dir.path().join("outpost.log")).unwrap();
    let child = Command::new("ip")
        .args([
            "netns", "exec", &ns.name, BIN, "--listen", OUTPOST, "--config",
        ])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    ns.children.push(child);
    let ready = Instant::now() + Duration::from_secs(15);
    while !matches!(ns.try_get("/-/ready"), Ok((200, _))) {
        assert!(
            Instant::now() < ready,
            "outpost did not start in the namespace"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let denied = [
        (
            "http_2xx",
            "http://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is link-local",
        ),
        (
            "http_2xx",
            "http://metadata.test/latest/meta-data/",
            "metadata.test (169.254.169.254) is link-local",
        ),
        (
            "http_2xx",
            "http://[::ffff:169.254.169.254]/",
            "is link-local",
        ),
        (
            "http_2xx",
            "http://127.0.0.1:8081/",
            "169.254.169.254 is link-local",
        ),
        (
            "tcp_connect",
            "169.254.169.254:80",
            "169.254.169.254 is link-local",
        ),
        (
            "tcp_connect",
            "metadata.test:80",
            "metadata.test (169.254.169.254)",
        ),
        (
            "dns_udp",
            "169.254.169.254:53",
            "169.254.169.254 is link-local",
        ),
        ("icmp", "metadata.test", "metadata.test (169.254.169.254)"),
        (
            "grpc",
            "metadata.test:80",
            "metadata.test (169.254.169.254)",
        ),
        (
            "tcp_connect",
            "[fd00:ec2::254]:80",
            "EC2 instance metadata over IPv6",
        ),
    ];
    for (module, target, why) in denied {
        let (status, body) = ns.get(&format!("/probe?module={module}&target={target}"));
        assert_eq!(status, 403, "{module} {target}: {body}");
        assert!(
            body.starts_with("Target denied by [server.probe_endpoint]: ") && body.contains(why),
            "{module} {target}: {body}"
        );
    }
    // The redirect was followed as far as the redirector, and no further.
    assert_eq!(redirects.load(Ordering::SeqCst), 1);
    assert_eq!(
        metadata_hits.load(Ordering::SeqCst),
        0,
        "the metadata server was reached"
    );

    // A target the policy allows still probes.
    let (status, body) = ns.get("/probe?module=http_2xx&target=http://127.0.0.1:8082/");
    assert_eq!(status, 200, "{body}");
    assert_eq!(sample(&body, "probe_success", ""), Some(1.0), "{body}");
    assert_eq!(allowed.load(Ordering::SeqCst), 1);

    let (_, metrics) = ns.get("/metrics");
    let refused: f64 = ["http_2xx", "tcp_connect", "dns_udp", "icmp", "grpc"]
        .iter()
        .filter_map(|m| {
            sample(
                &metrics,
                "outpost_probe_requests_total",
                &format!("module=\"{m}\",code=\"403\""),
            )
        })
        .sum();
    assert_eq!(refused, denied.len() as f64, "{metrics}");
    assert_eq!(metadata_hits.load(Ordering::SeqCst), 0);
}

/// Scheduled probes are the operator's and not held to the policy, unless
/// `apply_to_scheduled_probes` says so; then a denied target fails as `denied`
/// without a connection. Loopback only: the denied address is 127.0.0.2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_probes_follow_the_policy_only_when_asked() {
    use crate::support::daemon::TestDaemon;
    let listener = tokio::net::TcpListener::bind("127.0.0.2:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head).await;
            let _ = stream.write_all(b"HTTP/1.0 200 OK\r\n\r\nok").await;
            let _ = stream.shutdown().await;
        }
    });
    let config = |apply: bool| {
        format!(
            "[server.probe_endpoint]\ndeny = [\"127.0.0.2/32\"]\napply_to_scheduled_probes = {apply}\n\
             [modules.http_2xx]\nprober = \"http\"\ntimeout = \"1s\"\n\
             [[probes]]\nname = \"p\"\nmodule = \"http_2xx\"\ntarget = \"http://{addr}/\"\ninterval = \"1s\"\n"
        )
    };
    let labels = format!("probe=\"p\",module=\"http_2xx\",target=\"http://{addr}/\"");
    let ran = |m: &str| {
        sample(
            m,
            "probe_runs_total",
            &format!("{labels},outcome=\"failure\""),
        )
        .unwrap_or(0.0)
            + sample(
                m,
                "probe_runs_total",
                &format!("{labels},outcome=\"success\""),
            )
            .unwrap_or(0.0)
            >= 1.0
    };

    // Default: the operator's probe reaches its target.
    let d = TestDaemon::start(&config(false)).await;
    let m = d.metrics_when(Duration::from_secs(10), ran).await;
    assert_eq!(sample(&m, "probe_success", &labels), Some(1.0), "{m}");
    d.stop().await;
    let reached = hits.load(Ordering::SeqCst);
    assert!(reached >= 1);

    // Asked to: refused before any connection, counted as `denied`.
    let d = TestDaemon::start(&config(true)).await;
    let m = d.metrics_when(Duration::from_secs(10), ran).await;
    assert_eq!(sample(&m, "probe_success", &labels), Some(0.0), "{m}");
    assert!(
        sample(
            &m,
            "probe_failures_total",
            &format!("{labels},reason=\"denied\"")
        ) >= Some(1.0),
        "{m}"
    );
    d.stop().await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        reached,
        "a denied target was connected to"
    );
}
