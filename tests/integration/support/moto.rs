//! A real `moto_server` (PyPI `moto[server]`, installed into `.venv` by
//! scripts/install-test-deps.sh) on a free 127.0.0.1 port, or on 127.0.0.1 inside
//! a network namespace of the test's own, killed on drop; the SDK options that
//! point outpost at it with static credentials, and the environment that points
//! the outpost binary at it.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use outpost::aws::AwsOptions;

use super::netns;

const MOTO: &str = ".venv/bin/moto_server";
const PYTHON: &str = ".venv/bin/python";
const HINT: &str = "run scripts/install-test-deps.sh (creates .venv with moto[server])";

pub(crate) struct Moto {
    pub addr: SocketAddr,
    child: Option<Child>,
    /// The network namespace moto runs in (and is seeded from), if any.
    ns: Option<String>,
}

impl Moto {
    /// Starts moto_server and waits until it accepts connections.
    ///
    /// The port is picked below Linux's ephemeral range (32768-60999), which the
    /// kernel hands out to `bind(0)` and outgoing connections: moto takes
    /// seconds to start, and a port picked by `bind(0)` and released could be
    /// given meanwhile to another test's listener, which the readiness check
    /// would then take for moto's. A moto that could not bind exits, and is
    /// started again on another port.
    pub(crate) fn start() -> Moto {
        assert!(Path::new(MOTO).exists(), "{MOTO} is missing: {HINT}");
        for _ in 0..10 {
            let mut moto = Moto::launch(Command::new(MOTO), unused_port(), None);
            if moto.wait_ready() {
                return moto;
            }
        }
        panic!("moto_server exited at start on ten ports in a row");
    }

    /// Starts moto_server on 127.0.0.1:`port` inside the network namespace `ns`
    /// (`ip netns add`, loopback up) and waits until it accepts connections there.
    pub(crate) fn start_in(ns: &str, port: u16) -> Moto {
        assert!(Path::new(MOTO).exists(), "{MOTO} is missing: {HINT}");
        // `ip netns exec` execs moto in place: the child is moto itself.
        let mut exec = Command::new("ip");
        exec.args(["netns", "exec", ns, MOTO]);
        let mut moto = Moto::launch(exec, port, Some(ns));
        assert!(moto.wait_ready(), "moto_server exited at start in {ns}");
        moto
    }

    /// Spawns `command` (moto_server, or what execs it) serving 127.0.0.1:`port`.
    fn launch(mut command: Command, port: u16, ns: Option<&str>) -> Moto {
        let child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {MOTO} ({ns:?}): {e}; {HINT}"));
        Moto {
            addr: ([127, 0, 0, 1], port).into(),
            child: Some(child),
            ns: ns.map(str::to_string),
        }
    }

    /// Readiness, not a timing assertion: moto imports for a while at start.
    /// `false` if moto exited first (its port was taken).
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let exited = self
                .child
                .as_mut()
                .is_none_or(|c| c.try_wait().ok().flatten().is_some());
            if exited {
                self.child = None;
                return false;
            }
            let addr = self.addr;
            let up = match &self.ns {
                Some(ns) => netns::enter(ns, move || TcpStream::connect(addr).is_ok()),
                None => TcpStream::connect(addr).is_ok(),
            };
            if up {
                return true;
            }
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `PYTHON SCRIPT`, run inside moto's namespace when it has one.
    fn python(&self, script: &str) -> Command {
        let mut cmd = match &self.ns {
            Some(ns) => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", ns, PYTHON]);
                cmd
            }
            None => Command::new(PYTHON),
        };
        cmd.arg(script);
        cmd
    }

    /// Runs tests/testdata/aws/discover_seed.py in `region` with `actions`
    /// (see the script's header) and returns the `NAME ADDRESS` pairs it
    /// printed for what it created.
    pub(crate) fn discover_seed(&self, region: &str, actions: &[&str]) -> Vec<(String, String)> {
        let out = self
            .python("tests/testdata/aws/discover_seed.py")
            .arg(self.endpoint())
            .arg(region)
            .args(actions)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {PYTHON}: {e}; {HINT}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.lines().last() == Some("seeded"),
            "discover_seed.py {region} {actions:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(name, address)| (name.to_string(), address.to_string()))
            .collect()
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
        let out = self
            .python("tests/testdata/aws/seed.py")
            .args([&self.endpoint(), region])
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
        let out = self
            .python("tests/testdata/aws/cloudwatch_seed.py")
            .args([&self.endpoint(), region])
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

/// A port below the ephemeral range that nothing listens on now, different at
/// each call of this process.
fn unused_port() -> u16 {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let spread = (std::process::id() as usize).wrapping_mul(7919) + n * 104_729;
        let port = 20_000 + (spread % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
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

/// The outpost binary with AWS pointed at `endpoint` and the environment's
/// credentials only: none of the host's profiles, roles or instance metadata.
pub(crate) fn binary_with_aws_at(endpoint: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outpost"));
    aws_env_at(&mut cmd, endpoint, dir);
    cmd
}

/// Sets `cmd`'s environment as [`binary_with_aws_at`] does, for a command that
/// runs outpost through another (`ip netns exec NS outpost`, which keeps it).
pub(crate) fn aws_env_at(cmd: &mut Command, endpoint: &str, dir: &Path) {
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIAOUTPOSTTESTKEY01")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", dir.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ROLE_ARN")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.kill();
    }
}
