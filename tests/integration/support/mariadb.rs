//! A real MariaDB (Debian's `mariadb-server`: `mariadb-install-db` and
//! `mariadbd`) for the mysql prober's tests, on 127.0.0.1 and a free port, from a
//! fresh data directory, as `nobody` when the tests run as root.
//!
//! [`shared`] starts one server with TLS on (a certificate made here, about to
//! expire) for the whole test binary; [`Mariadb::start`] starts one of a test's
//! own (without TLS, few connections), stopped by its Drop guard. Every server
//! is started by one long-lived thread with `setpriv --pdeathsig KILL`, so the
//! shared one (a static, never dropped) dies with the test binary however it
//! ends, a failed test included.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::certs::{Ca, Leaf};

/// The user the test server logs in with (mysql_native_password).
pub(crate) const USER: &str = "outpost";
pub(crate) const PASSWORD: &str = "probe-pw-1";
/// A user that must log in over TLS (`REQUIRE SSL`).
pub(crate) const TLS_USER: &str = "outpost_tls";
pub(crate) const TLS_PASSWORD: &str = "probe-pw-2";
/// The user the shipped `rds_mysql` module (probes.toml) logs in as: no password,
/// no grant, TLS only, as docs/configuration.md tells the operator to create it.
pub(crate) const SHIPPED_PROBE_USER: &str = "outpost_probe";

/// How long the shared server's certificate is valid from now: it is about to
/// expire, as the certificate alert must see.
pub(crate) const CERT_VALID_FOR: Duration = Duration::from_secs(10 * 86_400);

/// What a server is started with.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Options {
    pub(crate) tls: bool,
    /// `--max-connections`.
    pub(crate) max_connections: Option<u32>,
}

/// A running mariadbd, killed (its process group) and its directory removed on drop.
pub(crate) struct Mariadb {
    child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) dir: PathBuf,
    /// The CA that signed the server's certificate (TLS servers).
    pub(crate) ca_file: Option<PathBuf>,
    pub(crate) leaf: Option<Leaf>,
}

/// The one TLS server of the test binary.
pub(crate) fn shared() -> &'static Mariadb {
    static SERVER: OnceLock<Mariadb> = OnceLock::new();
    SERVER.get_or_init(|| {
        Mariadb::start(Options {
            tls: true,
            max_connections: None,
        })
    })
}

/// `mariadbd --version`'s version, e.g. `10.11.6-MariaDB-0+deb12u1`.
pub(crate) fn server_version() -> String {
    let out = Command::new(mariadbd()).arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .skip_while(|w| *w != "Ver")
        .nth(1)
        .unwrap_or_else(|| panic!("no version in {text:?}"))
        .to_string()
}

fn mariadbd() -> PathBuf {
    let path = PathBuf::from("/usr/sbin/mariadbd");
    assert!(
        path.is_file(),
        "MariaDB is not installed: run `apt-get install -y mariadb-server` \
         (or scripts/install-test-deps.sh)"
    );
    path
}

/// Whether the tests run as root (then the server runs as nobody).
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `command` run as nobody when root, with the parent-death signal set.
fn unprivileged(program: &Path, args: &[String]) -> Command {
    let mut c = Command::new("setpriv");
    if is_root() {
        c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"]);
    }
    c.args(["--pdeathsig", "KILL"]).arg(program).args(args);
    c
}

/// Spawns `command` from one thread that lives as long as the test binary: the
/// parent-death signal is sent when the spawning *thread* ends.
fn spawn(mut command: Command) -> std::io::Result<Child> {
    type Job = (Command, mpsc::Sender<std::io::Result<Child>>);
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::spawn(move || {
            for (mut command, reply) in rx {
                let _ = reply.send(command.spawn());
            }
            // The senders live in a static: this is never reached, and the
            // thread (the servers' parent) lives until the process ends.
            loop {
                std::thread::park();
            }
        });
        Mutex::new(tx)
    });
    command.process_group(0);
    let (tx, rx) = mpsc::channel();
    spawner.lock().unwrap().send((command, tx)).unwrap();
    rx.recv().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The directories of earlier test binaries' shared servers (a static is never
/// dropped): those whose process is gone are removed.
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("outpost-mariadb-")
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Gives the server's user the directory and everything in it.
fn chown_all(path: &Path) {
    if !is_root() {
        return;
    }
    let out = Command::new("chown")
        .args(["-R", "nobody:nogroup"])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "chown: {out:?}");
}

impl Mariadb {
    /// Installs a data directory and starts mariadbd; waits until it greets.
    pub(crate) fn start(options: Options) -> Mariadb {
        static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n == 0 {
            remove_stale_dirs();
        }
        let dir = std::env::temp_dir().join(format!("outpost-mariadb-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("data");
        let init = dir.join("init.sql");
        std::fs::write(
            &init,
            format!(
                "CREATE USER '{USER}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('{PASSWORD}');\n\
                 GRANT SLAVE MONITOR ON *.* TO '{USER}'@'%';\n\
                 CREATE USER '{TLS_USER}'@'%' IDENTIFIED BY '{TLS_PASSWORD}' REQUIRE SSL;\n\
                 CREATE USER '{SHIPPED_PROBE_USER}'@'%' IDENTIFIED BY '' REQUIRE SSL;\n"
            ),
        )
        .unwrap();
        let (mut ca_file, mut leaf) = (None, None);
        let mut args: Vec<String> = vec![
            "--no-defaults".into(),
            format!("--datadir={}", data.display()),
            "--bind-address=127.0.0.1".into(),
            format!("--socket={}", dir.join("sock").display()),
            format!("--pid-file={}", dir.join("pid").display()),
            format!("--init-file={}", init.display()),
            format!("--log-error={}", dir.join("error.log").display()),
            "--skip-name-resolve".into(),
            // A probe without a login ends its handshake early; the tests run
            // hundreds, which must not get 127.0.0.1 blocked.
            "--max-connect-errors=1000000".into(),
            "--innodb-buffer-pool-size=16M".into(),
        ];
        if options.tls {
            let ca = Ca::new();
            let server = ca.leaf_expiring_in(
                &["localhost"],
                &[Ipv4Addr::LOCALHOST.into()],
                CERT_VALID_FOR,
            );
            std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
            std::fs::write(dir.join("server.pem"), server.chain_pem()).unwrap();
            std::fs::write(dir.join("server.key"), server.key_pem()).unwrap();
            args.push(format!("--ssl-ca={}", dir.join("ca.pem").display()));
            args.push(format!("--ssl-cert={}", dir.join("server.pem").display()));
            args.push(format!("--ssl-key={}", dir.join("server.key").display()));
            ca_file = Some(dir.join("ca.pem"));
            leaf = Some(server);
        } else {
            args.push("--skip-ssl".into());
        }
        if let Some(max) = options.max_connections {
            args.push(format!("--max-connections={max}"));
        }
        chown_all(&dir);
        // One bootstrap at a time: two mariadb-install-db runs at once (the shared
        // server and a test's own) now and then fail with "Installation of system
        // tables failed", leaving nothing in the log to say why.
        static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = INSTALL
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let install = unprivileged(
            Path::new("/usr/bin/mariadb-install-db"),
            &[
                "--no-defaults".into(),
                format!("--datadir={}", data.display()),
                "--auth-root-authentication-method=normal".into(),
                "--skip-test-db".into(),
            ],
        )
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("cannot run mariadb-install-db: {e}"));
        assert!(
            install.status.success(),
            "mariadb-install-db: {}{}",
            String::from_utf8_lossy(&install.stdout),
            String::from_utf8_lossy(&install.stderr)
        );
        drop(_one_at_a_time);
        for _ in 0..5 {
            let port = free_port();
            let mut command = unprivileged(&mariadbd(), &args);
            command
                .arg(format!("--port={port}"))
                .current_dir(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let child = spawn(command).unwrap_or_else(|e| panic!("cannot run mariadbd: {e}"));
            let mut server = Mariadb {
                child,
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                dir: dir.clone(),
                ca_file: ca_file.clone(),
                leaf: None,
            };
            if server.ready() {
                server.leaf = leaf;
                return server;
            }
            // Not the port's fault: the log says why.
            let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            if !log.contains("Address already in use") {
                panic!("mariadbd did not start:\n{log}");
            }
            std::mem::forget(server); // its process is gone; keep the directory
        }
        panic!("mariadbd found no free port");
    }

    /// Waits until the server sends its greeting; false when it exited.
    fn ready(&mut self) -> bool {
        use std::io::Read;
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(mut s) = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let mut head = [0u8; 5];
                if s.read_exact(&mut head).is_ok() && head[4] == 10 {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// The server's error log (for a failing assertion's message).
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        // The whole process group: mariadbd and anything it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
