//! Network namespaces the tests make themselves: `ip` commands, and code run on a
//! thread inside one (a socket stays in the namespace it was made in, whichever
//! thread then uses it).

use std::fs::File;
use std::path::Path;
use std::process::Command;

use nix::sched::{setns, CloneFlags};

/// Runs `ip ARGS`, panicking with its error output if it fails.
pub(crate) fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("`ip` (Debian package iproute2) is needed: {e}"));
    assert!(
        out.status.success(),
        "ip {}: {}\nNetwork namespaces need root (CAP_SYS_ADMIN and CAP_NET_ADMIN), as \
         `make test` and CI run the tests.",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `f` on a thread that entered the named namespace (`ip netns add NAME`) first.
pub(crate) fn enter<R: Send + 'static>(ns: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let file = File::open(Path::new("/run/netns").join(ns)).unwrap();
    std::thread::spawn(move || {
        setns(&file, CloneFlags::CLONE_NEWNET).expect("setns into the test's namespace");
        f()
    })
    .join()
    .unwrap()
}
