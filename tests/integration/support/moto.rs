//! A real `moto_server` (PyPI `moto[server]`, installed into `.venv` by
//! scripts/install-test-deps.sh) on a free 127.0.0.1 port, killed on drop, and
//! the SDK options that point outpost at it with static credentials.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use outpost::aws::AwsOptions;

const MOTO: &str = ".venv/bin/moto_server";
const PYTHON: &str = ".venv/bin/python";
const HINT: &str = "run scripts/install-test-deps.sh (creates .venv with moto[server])";

pub(crate) struct Moto {
    pub addr: SocketAddr,
    child: Option<Child>,
}

impl Moto {
    /// Starts moto_server and waits until it accepts connections.
    pub(crate) fn start() -> Moto {
        assert!(Path::new(MOTO).exists(), "{MOTO} is missing: {HINT}");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(MOTO)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {MOTO}: {e}; {HINT}"));
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let moto = Moto {
            addr,
            child: Some(child),
        };
        // Readiness, not a timing assertion: moto imports for a while at start.
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Seeds `region` with tests/testdata/aws/seed.py (boto3 from the venv).
    pub(crate) fn seed(&self, region: &str) {
        self.seed_with(region, 0);
    }

    /// [`Moto::seed`] plus `extra` RDS instances, to make the API page.
    pub(crate) fn seed_with(&self, region: &str, extra: usize) {
        let out = Command::new(PYTHON)
            .args(["tests/testdata/aws/seed.py", &self.endpoint(), region])
            .arg(extra.to_string())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {PYTHON}: {e}; {HINT}"));
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("seeded"),
            "seeding {region} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Seeds `region`'s CloudWatch with tests/testdata/aws/cloudwatch_seed.py
    /// (after [`Moto::seed`]), values scaled by `k`.
    pub(crate) fn seed_cloudwatch(&self, region: &str, k: u32) {
        let out = Command::new(PYTHON)
            .args([
                "tests/testdata/aws/cloudwatch_seed.py",
                &self.endpoint(),
                region,
            ])
            .arg(k.to_string())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {PYTHON}: {e}; {HINT}"));
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("seeded"),
            "seeding CloudWatch in {region} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Stops moto: every later call fails to connect.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SDK options pointing at this server with static credentials (so no
    /// credentials chain, IMDS included, is ever asked), counting every client
    /// configuration built.
    pub(crate) fn options(&self, built: Arc<AtomicUsize>) -> AwsOptions {
        options_for(self.endpoint(), built)
    }
}

/// AWS options for `endpoint` (a loopback URL) with static test credentials.
pub(crate) fn options_for(endpoint: String, built: Arc<AtomicUsize>) -> AwsOptions {
    AwsOptions {
        loader: Some(Arc::new(move |loader| {
            built.fetch_add(1, Ordering::SeqCst);
            loader.endpoint_url(endpoint.clone()).credentials_provider(
                aws_sdk_rds::config::Credentials::new("testing", "testing", None, None, "test"),
            )
        })),
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.kill();
    }
}
