//! Runs the daemon in-process on 127.0.0.1:0 with a config written to a temp dir,
//! small target servers to probe, and a plain HTTP client to talk to both.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use outpost::config::Config;
use outpost::daemon::{Daemon, Options};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// A daemon running in this process.
pub struct TestDaemon {
    pub addr: SocketAddr,
    pub config_path: PathBuf,
    pub daemon: Option<Daemon>,
    _dir: tempfile::TempDir,
}

impl TestDaemon {
    /// Writes `toml` as the config file and starts the daemon on it.
    pub async fn start(toml: &str) -> TestDaemon {
        Self::start_with(toml, Options::default()).await
    }

    /// As [`TestDaemon::start`], with daemon options (e.g. the config file watch).
    pub async fn start_with(toml: &str, options: Options) -> TestDaemon {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("probes.toml");
        std::fs::write(&config_path, toml).unwrap();
        let config =
            Config::load(&config_path).unwrap_or_else(|e| panic!("test config invalid:\n{e}"));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let daemon = Daemon::start(config, listener, options, CancellationToken::new()).unwrap();
        TestDaemon {
            addr,
            config_path,
            daemon: Some(daemon),
            _dir: dir,
        }
    }

    /// Starts the daemon on `config`, loaded by the test from files in `dir`
    /// (certificates, a web config file), which lives as long as the daemon.
    pub async fn start_loaded(dir: tempfile::TempDir, config: Config) -> TestDaemon {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config_path = config.source.clone();
        let daemon = Daemon::start(
            config,
            listener,
            Options::default(),
            CancellationToken::new(),
        )
        .unwrap();
        TestDaemon {
            addr,
            config_path,
            daemon: Some(daemon),
            _dir: dir,
        }
    }

    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let (status, _, body) = request(self.addr, "GET", path, &[]).await;
        (status, body)
    }

    /// Polls `/metrics` until `done` holds for its text, for at most `limit`.
    pub async fn metrics_when(&self, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let (_, body) = self.get("/metrics").await;
            if done(&body) || tokio::time::Instant::now() >= deadline {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(d) = self.daemon.take() {
            d.shutdown.cancel();
            d.wait().await.unwrap();
        }
    }
}

/// One HTTP/1.1 request; returns status, headers and body text.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, http::HeaderMap, String) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = sender
        .send_request(req.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// A target with a few behaviours: `/ok` 200, `/fail` 500, `/slow` answers after
/// 5 s, `/redirect` 302 to `/ok`.
pub async fn target_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let svc = service_fn(|req: Request<Incoming>| async move {
                    let mut resp = Response::new(Full::new(Bytes::from_static(b"hello outpost\n")));
                    match req.uri().path() {
                        "/ok" => {}
                        "/fail" => *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR,
                        "/slow" => tokio::time::sleep(Duration::from_secs(5)).await,
                        "/redirect" => {
                            *resp.status_mut() = StatusCode::FOUND;
                            resp.headers_mut()
                                .insert("location", "/ok".parse().unwrap());
                        }
                        _ => *resp.status_mut() = StatusCode::NOT_FOUND,
                    }
                    Ok::<_, Infallible>(resp)
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// The value of the sample `name{labels}` in exposition `text`, labels given in
/// order as `k="v"` pairs joined by commas (exactly as written).
pub fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = if labels.is_empty() {
        format!("{name} ")
    } else {
        format!("{name}{{{labels}}} ")
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
}

/// Runs `promtool check metrics` on `text`; panics with its output if it objects.
pub fn promtool_check(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("promtool not found ({e}); install it with `make test` or `apt-get install prometheus`"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let messages = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && messages.trim().is_empty(),
        "promtool check metrics objects:\n{messages}\n--- input ---\n{text}"
    );
}
