//! A network namespace of the test's own in which Debian's dnsmasq answers on
//! 127.0.0.1:53. A process started in it with `ip netns exec` finds that resolver
//! through its own `/etc/resolv.conf`: `ip netns exec` bind-mounts
//! `/etc/netns/NAME/resolv.conf` over it for that process only. So outpost
//! resolves as in production, with no resolver setting or hook, and names the
//! test chooses resolve to loopback addresses of the namespace.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::netns;

/// The namespace, its resolv.conf and dnsmasq, all gone on drop.
pub(crate) struct ResolverNs {
    pub name: String,
    etc: PathBuf,
    dnsmasq: Child,
}

impl ResolverNs {
    /// `ip netns add NAME`, its loopback up, then dnsmasq in it answering as
    /// `answers` say (`--addn-hosts=FILE`, `--address=/domain/ip` ...).
    pub(crate) fn start(name: &str, answers: &[String]) -> ResolverNs {
        netns::ip(&["netns", "add", name]);
        netns::ip(&["-n", name, "link", "set", "lo", "up"]);
        let etc = PathBuf::from("/etc/netns").join(name);
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
        let dnsmasq = Command::new("ip")
            .args(["netns", "exec", name, "dnsmasq"])
            .args([
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--port=53",
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--pid-file=",
                "--conf-file=/dev/null",
                "--log-facility=-",
                "--local-ttl=0",
            ])
            .args(answers)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq (Debian package dnsmasq-base) is needed");
        ResolverNs {
            name: name.to_string(),
            etc,
            dnsmasq,
        }
    }

    /// dnsmasq reads its `--addn-hosts` files again (SIGHUP).
    pub(crate) fn reload_dns(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.dnsmasq.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// `program` to be run inside the namespace.
    pub(crate) fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name]).arg(program);
        cmd
    }

    /// `GET path` (HTTP/1.0: the body as sent, never chunked) from `addr` inside
    /// the namespace, the whole response; "" while nothing listens there.
    pub(crate) fn http_get(&self, addr: &str, path: &str) -> String {
        let addr = addr.to_string();
        let stream = netns::enter(&self.name, move || TcpStream::connect(addr).ok());
        let Some(mut stream) = stream else {
            return String::new();
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let _ = write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n");
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text
    }
}

/// Calls `fetch` every 100 ms until its text satisfies `done`, and returns
/// that text; panics after 30 s with `what` and the last text.
pub(crate) fn fetch_until(
    what: &str,
    fetch: impl Fn() -> String,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = fetch();
        if done(&text) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl Drop for ResolverNs {
    fn drop(&mut self) {
        let _ = self.dnsmasq.kill();
        let _ = self.dnsmasq.wait();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = std::fs::remove_dir_all(&self.etc);
    }
}
