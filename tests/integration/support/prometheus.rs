//! A real Prometheus (Debian's `prometheus` package) on a free 127.0.0.1 port,
//! with its config and TSDB in a temp dir, killed on drop; and its HTTP API read
//! as JSON.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use tokio::net::TcpStream;

use super::daemon::request;

const HINT: &str = "`make test` installs it (apt-get install prometheus)";

pub(crate) struct Prometheus {
    pub(crate) addr: SocketAddr,
    child: Child,
}

impl Prometheus {
    /// Starts Prometheus on `dir/prometheus.yml`, which the caller wrote.
    pub(crate) fn start(dir: &Path) -> Prometheus {
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("prometheus not found ({e}); {HINT}"));
        Prometheus {
            addr: ([127, 0, 0, 1], port).into(),
            child,
        }
    }

    /// GET `path` and its body; `None` while Prometheus is not listening yet.
    pub(crate) async fn get(&self, path: &str) -> Option<String> {
        TcpStream::connect(self.addr).await.ok()?;
        Some(request(self.addr, "GET", path, &[]).await.2)
    }

    /// GET an API `path` as JSON; `None` while Prometheus is not ready.
    pub(crate) async fn api(&self, path: &str) -> Option<Value> {
        serde_json::from_str(&self.get(path).await?).ok()
    }

    /// An instant query's answer (`status`, `data.result` or `error`).
    pub(crate) async fn query(&self, promql: &str) -> Option<Value> {
        self.api(&format!("/api/v1/query?query={}", encode(promql)))
            .await
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Percent-encodes a query parameter value.
pub(crate) fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
