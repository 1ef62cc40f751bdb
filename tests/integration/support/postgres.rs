//! A real PostgreSQL (Debian's `postgresql` package) for the postgres prober's
//! tests: initdb into a fresh temporary directory, the users made in single-user
//! mode, then the server on 127.0.0.1 and a free port, as `nobody` when the tests
//! run as root (PostgreSQL refuses to run as root), TLS on with a certificate the
//! test makes (rcgen) unless asked otherwise.
//!
//! The server runs under a small `sh` watchdog in a process group of its own. It
//! is stopped when its [`Postgres`] is dropped (SIGQUIT, PostgreSQL's immediate
//! shutdown, to the group, then SIGKILL), and the watchdog also stops it and
//! removes its directory when the test binary exits in any way, which the
//! binary-wide [`primary`] (started once, shared by the tests, never dropped)
//! relies on: the watchdog reads its stdin, a pipe from this process, and the
//! pipe ends with it.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::certs::{Ca, Leaf};

/// Users of the test server, each matched by its own pg_hba.conf line.
pub(crate) const SCRAM_USER: &str = "scram_user";
pub(crate) const SCRAM_PASSWORD: &str = "scram-secret-1";
pub(crate) const MD5_USER: &str = "md5_user";
pub(crate) const MD5_PASSWORD: &str = "md5-secret-2";
/// Logs in with its password in clear (pg_hba `password`).
pub(crate) const CLEAR_USER: &str = "clear_user";
pub(crate) const CLEAR_PASSWORD: &str = "clear-secret-3";
/// Logs in without a password (pg_hba `trust`).
pub(crate) const TRUST_USER: &str = "trust_user";

/// A running PostgreSQL; stopped (and its directory removed) on drop.
pub(crate) struct Postgres {
    watchdog: Child,
    dir: PathBuf,
    pub(crate) addr: SocketAddr,
    /// The CA that signed the server's certificate, when TLS is on.
    pub(crate) ca: Option<Ca>,
    /// The server's certificate, when TLS is on.
    pub(crate) leaf: Option<Leaf>,
}

/// The shared server of the test binary: TLS on, started by the first test that
/// asks, stopped by its watchdog when the binary exits.
pub(crate) fn primary() -> &'static Postgres {
    static PRIMARY: OnceLock<Postgres> = OnceLock::new();
    PRIMARY.get_or_init(|| Postgres::start(true, &[]))
}

/// The directory of Debian's PostgreSQL binaries (the highest version installed).
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): run \
             `apt-get install -y postgresql` (or scripts/install-test-deps.sh)"
        ),
    }
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// `program args` as the server's user: `nobody` when we are root.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--reset-env",
            "--",
        ]);
        c.arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run_ok(mut cmd: Command, stdin: Option<&str>, what: &str) {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A port free on 127.0.0.1 just now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// What the users are, made in single-user mode before the server starts.
const SETUP_SQL: &str = "
SET password_encryption = 'scram-sha-256';
CREATE ROLE scram_user LOGIN PASSWORD 'scram-secret-1';
CREATE ROLE clear_user LOGIN PASSWORD 'clear-secret-3';
SET password_encryption = 'md5';
CREATE ROLE md5_user LOGIN PASSWORD 'md5-secret-2';
CREATE ROLE trust_user LOGIN;
";

/// Host lines only (no Unix socket is opened): md5 for md5_user, clear text for
/// clear_user, trust for trust_user, SCRAM for everyone else.
const PG_HBA: &str = "\
host all md5_user 127.0.0.1/32 md5
host all clear_user 127.0.0.1/32 password
host all trust_user 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
";

impl Postgres {
    /// initdb, users, configuration, certificate (with `ssl`), then the server
    /// with `settings` (`name=value`) besides the tests' own, waited for until it
    /// accepts a login.
    pub(crate) fn start(ssl: bool, settings: &[&str]) -> Postgres {
        let bin = bin_dir();
        let root = tempfile::Builder::new()
            .prefix("outpost-pg-")
            .tempdir()
            .unwrap()
            .keep();
        let data = root.join("data");
        if is_root() {
            run_ok(
                {
                    let mut c = Command::new("chown");
                    c.args(["nobody:nogroup"]).arg(&root);
                    c
                },
                None,
                "chown",
            );
        }
        let mut initdb = as_server_user(&bin.join("initdb"));
        initdb
            .args(["--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C"])
            .args(["-U", "postgres", "--auth=trust", "-D"])
            .arg(&data)
            .current_dir(&root);
        run_ok(initdb, None, "initdb");
        let (ca, leaf) = if ssl {
            let ca = Ca::new();
            let leaf = ca.leaf(&["localhost"], &[Ipv4Addr::LOCALHOST.into()], (2037, 3, 4));
            write_owned(&data.join("server.crt"), &leaf.chain_pem());
            write_owned(&data.join("server.key"), &leaf.key_pem());
            (Some(ca), Some(leaf))
        } else {
            (None, None)
        };
        write_owned(&data.join("pg_hba.conf"), PG_HBA);
        let mut single = as_server_user(&bin.join("postgres"));
        single
            .args(["--single", "-D"])
            .arg(&data)
            .arg("postgres")
            .current_dir(&root);
        run_ok(single, Some(SETUP_SQL), "postgres --single");

        for _ in 0..5 {
            let port = free_port();
            let mut server = Postgres {
                watchdog: spawn_server(&bin, &root, &data, port, ssl, settings),
                dir: root.clone(),
                addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                ca: None,
                leaf: None,
            };
            if server.ready() {
                server.ca = ca;
                server.leaf = leaf;
                return server;
            }
            // The server did not start (its port taken meanwhile?). Its watchdog's
            // stdin stays open, so that the data directory stays for the next try;
            // it is removed when this process ends.
            std::mem::forget(server.watchdog.stdin.take());
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", server.watchdog.id())])
                .status();
            let _ = server.watchdog.wait();
            std::mem::forget(server);
        }
        let log = std::fs::read_to_string(root.join("log")).unwrap_or_default();
        panic!("PostgreSQL did not start; its log:\n{log}");
    }

    /// Polls with a StartupMessage for trust_user until the server authenticates
    /// it ('R'); false when the watchdog (so the server) ended or 30 s passed.
    fn ready(&mut self) -> bool {
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.watchdog.try_wait() {
                return false;
            }
            if let Ok(mut s) = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let startup = startup_message(TRUST_USER, "postgres");
                let mut first = [0u8; 1];
                if s.write_all(&startup).is_ok()
                    && s.read_exact(&mut first).is_ok()
                    && first == *b"R"
                {
                    let _ = s.write_all(&[b'X', 0, 0, 0, 4]);
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Closes the watchdog's stdin, so it stops the server, then makes sure with
    /// SIGKILL to the process group.
    fn stop(&mut self) {
        drop(self.watchdog.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.watchdog.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let group = format!("-{}", self.watchdog.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.watchdog.wait();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The watchdog: starts the server in the background and waits for it; beside
/// it, a reader of the watchdog's stdin stops the server (SIGQUIT: immediate
/// shutdown) when that ends and then removes `root`. (A background job's stdin is
/// /dev/null unless redirected, hence fd 3.)
fn spawn_server(
    bin: &Path,
    root: &Path,
    data: &Path,
    port: u16,
    ssl: bool,
    extra: &[&str],
) -> Child {
    const WATCHDOG: &str = r#"root=$1; shift
exec 3<&0
"$@" 2>>"$root/log" &
pid=$!
{
  read -r _ <&3 || true
  kill -QUIT "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -rf "$root"
} &
wait "$pid"
"#;
    let server = as_server_user(&bin.join("postgres"));
    let mut args: Vec<String> = std::iter::once(server.get_program())
        .chain(server.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    args.extend(["-D".into(), data.display().to_string()]);
    let settings = [
        "listen_addresses=127.0.0.1".to_string(),
        format!("port={port}"),
        "unix_socket_directories=".into(),
        format!("ssl={}", if ssl { "on" } else { "off" }),
        "password_encryption=scram-sha-256".into(),
        "fsync=off".into(),
        "max_connections=20".into(),
        "shared_buffers=16MB".into(),
    ];
    for s in settings
        .into_iter()
        .chain(extra.iter().map(|s| s.to_string()))
    {
        args.extend(["-c".into(), s]);
    }
    Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("watchdog")
        .arg(root)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir(root)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run sh for PostgreSQL: {e}"))
}

/// Writes `text` to `path`, mode 0600, owned by the server's user.
fn write_owned(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    if is_root() {
        let status = Command::new("chown")
            .arg("nobody:nogroup")
            .arg(path)
            .status()
            .unwrap();
        assert!(status.success(), "chown {}", path.display());
    }
}

/// A StartupMessage (protocol 3.0), written here independently of the prober's.
fn startup_message(user: &str, database: &str) -> Vec<u8> {
    let mut body = 196_608u32.to_be_bytes().to_vec();
    for s in ["user", user, "database", database] {
        body.extend_from_slice(s.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut m = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    m.extend(body);
    m
}

/// The version the server reports as `server_version`, from `postgres --version`
/// ("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)").
pub(crate) fn server_version() -> String {
    let out = Command::new(bin_dir().join("postgres"))
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .split_once("(PostgreSQL) ")
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| panic!("unexpected postgres --version: {text}"))
}

/// A session of trust_user logged in and left open (holding a connection slot)
/// until the stream is dropped; read by hand up to ReadyForQuery.
pub(crate) fn hold_session(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&startup_message(TRUST_USER, "postgres"))
        .unwrap();
    loop {
        let mut head = [0u8; 5];
        s.read_exact(&mut head).unwrap();
        let len = u32::from_be_bytes(head[1..].try_into().unwrap()) as usize;
        let mut body = vec![0u8; len - 4];
        s.read_exact(&mut body).unwrap();
        assert_ne!(head[0], b'E', "{}", String::from_utf8_lossy(&body));
        if head[0] == b'Z' {
            return s;
        }
    }
}
