//! The `outpost` binary itself: `check`, `probe`, and the daemon's signals.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use outpost::scheduler::spread_offset;

use crate::support::daemon::{request, sample, target_server};

const BIN: &str = env!("CARGO_BIN_EXE_outpost");

fn write_config(text: impl AsRef<[u8]>) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("probes.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn check_accepts_the_shipped_config_with_a_summary() {
    let out = Command::new(BIN)
        .args(["check", "--config", "probes.toml"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), "probes.toml: OK: 9 modules, 6 probes");
    let out = Command::new(BIN)
        .args(["check", "--config", "examples/regions.toml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "examples/regions.toml: OK: 5 modules, 6 probes"
    );
}

#[test]
fn check_lists_every_error_with_its_position_and_exits_2() {
    let (_dir, path) = write_config(
        "[modules.m]\nprober = \"http\"\n\n[[probes]]\nname = \"a\"\nmodule = \"nope\"\ntarget = \"http://127.0.0.1/\"\ninterval = \"0s\"\n",
    );
    let out = Command::new(BIN)
        .arg("check")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let p = path.display();
    assert!(
        stderr.contains(&format!("{p}:6:")),
        "unknown module not located:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("{p}:8:")),
        "bad interval not located:\n{stderr}"
    );
    assert!(stderr.contains("2 error(s)"), "{stderr}");
}

/// On a terminal, each error keeps its one line (file:line:col: key: message
/// (hint: ...)) and shows the offending line under it with carets under the
/// mistake, rustc style; then the count.
#[test]
fn check_shows_each_error_on_its_line_with_a_caret() {
    let (_dir, path) = write_config(
        "[modules.http_2xx]\nprober = \"http\"\ntimeout = \"5 s\"\n\n[[probes]]\nname = \"a\"\nmodule = \"htp_2xx\"\ntarget = \"http://127.0.0.1/\"\ninterval = \"15s\"\n",
    );
    let out = Command::new(BIN)
        .arg("check")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    let p = path.display();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(out.stdout, b"");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "{p}:3:11: modules.http_2xx.timeout: invalid duration \"5 s\": expected e.g. \"15s\", \"500ms\", \"1m30s\" \
             (hint: units are ms, s, m, h, d, w, y, largest first)\n  \
             |\n\
             3 | timeout = \"5 s\"\n  \
             |           ^^^^^\n\
             \n\
             {p}:7:10: probes[0].module: unknown module \"htp_2xx\" (hint: did you mean \"http_2xx\"? defined modules: http_2xx)\n  \
             |\n\
             7 | module = \"htp_2xx\"\n  \
             |          ^^^^^^^^^\n\
             \n\
             {p}: 2 error(s); not started\n"
        )
    );
}

/// `check --format json`: one JSON array on stdout for editors and CI, the same
/// errors and exit codes as the text; `[]` for a valid file; no file found is one
/// error without a file.
#[test]
fn check_format_json_lists_the_errors_for_editors_and_ci() {
    let (dir, path) = write_config(
        "[modules.m]\nprober = \"http\"\ntimeout = \"5 s\"\n\n[[probes]]\nname = \"a\"\nmodule = \"nope\"\ntarget = \"http://127.0.0.1/\"\ninterval = \"15s\"\n",
    );
    let check = |cwd: &std::path::Path, config: Option<&std::path::Path>| {
        let mut cmd = Command::new(BIN);
        cmd.args(["check", "--format", "json"])
            .current_dir(cwd)
            .env_remove("OUTPOST_CONFIG")
            .env("OUTPOST_LISTEN", "127.0.0.1:9465");
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(stderr, "", "stderr is not for the errors in JSON");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), json)
    };
    let file = path.display().to_string();
    assert_eq!(
        check(dir.path(), Some(&path)),
        (
            Some(2),
            serde_json::json!([
                {"file": file, "line": 3, "column": 11, "key": "modules.m.timeout",
                 "message": "invalid duration \"5 s\": expected e.g. \"15s\", \"500ms\", \"1m30s\"",
                 "hint": "units are ms, s, m, h, d, w, y, largest first"},
                {"file": file, "line": 7, "column": 10, "key": "probes[0].module",
                 "message": "unknown module \"nope\"", "hint": "defined modules: m"},
            ])
        )
    );
    std::fs::write(&path, "[modules.m]\nprober = \"http\"\n").unwrap();
    assert_eq!(
        check(dir.path(), Some(&path)),
        (Some(0), serde_json::json!([]))
    );
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("missing.toml");
    assert_eq!(
        check(empty.path(), Some(&missing)),
        (
            Some(2),
            serde_json::json!([{"file": missing.display().to_string(), "line": null,
                "column": null, "key": null, "message": "no such file (given by --config)",
                "hint": null}])
        )
    );
}

#[test]
fn check_reports_a_missing_file_without_panicking() {
    let out = Command::new(BIN)
        .args(["check", "--config", "/nonexistent/probes.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/probes.toml"));
}

/// Malformed files of every kind are refused with a message and exit 2: binary junk,
/// a truncated table, a negative duration, an unknown enum value, a bad regex, a
/// wrong type, and a plain-text password where a bcrypt hash belongs.
#[test]
fn check_refuses_malformed_configs_with_a_message_and_exit_2() {
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let cases: [(&[u8], &str); 8] = [
        (&junk, "cannot read the file"),
        (b"[modules.a\nprober = ", "probes.toml:1:"),
        (b"[modules.a]\nprober = \"http\"\ntimeout = \"-5s\"\n", "invalid duration \"-5s\""),
        (b"[modules.a]\nprober = \"gopher\"\n", "invalid prober \"gopher\""),
        (
            b"[modules.a]\nprober = \"http\"\n[modules.a.http]\nfail_if_body_matches_regexp = [\"(\"]\n",
            "invalid regular expression",
        ),
        (b"[server]\nmax_concurrent_probes = \"many\"\n", "server.max_concurrent_probes"),
        (b"[server.basic_auth_users]\nprometheus = \"hunter2\"\n", "plain-text"),
        // The error is the username's, on a line that holds a password: the
        // line is not shown under it.
        (
            b"[modules.a]\nprober = \"http\"\n[modules.a.http]\nbasic_auth = { username = 5, password = \"hunter2\" }\n",
            "expected a string",
        ),
    ];
    for (text, want) in cases {
        let (_dir, path) = write_config(text);
        let out = Command::new(BIN)
            .arg("check")
            .arg("--config")
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{want}: {stderr}");
        assert!(stderr.contains(want), "{want}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("hunter2"),
            "{stderr}"
        );
    }
}

/// Without `--config`: `OUTPOST_CONFIG`, then `./probes.toml`, then
/// `/etc/outpost/probes.toml`; a path given and missing is an error naming it, and
/// nothing found lists the paths tried. Each run has its own working directory.
#[test]
fn config_is_found_as_an_operator_expects() {
    // /probe closed: no warning on stderr beside the summary.
    let closed = "[server.probe_endpoint]\nenabled = false\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("probes.toml"),
        format!("{closed}[modules.a]\nprober = \"http\"\n"),
    )
    .unwrap();
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        format!("{closed}[modules.a]\nprober = \"http\"\n[modules.b]\nprober = \"tcp\"\n"),
    )
    .unwrap();
    let empty = tempfile::tempdir().unwrap();
    let check = |cwd: &std::path::Path, env: Option<&std::path::Path>, args: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.arg("check")
            .args(args)
            .current_dir(cwd)
            .env_remove("OUTPOST_CONFIG");
        if let Some(path) = env {
            cmd.env("OUTPOST_CONFIG", path);
        }
        let out = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text.trim().to_string())
    };
    let found = |path: &std::path::Path, modules: usize| {
        (
            Some(0),
            format!("{}: OK: {modules} modules, 0 probes", path.display()),
        )
    };
    // ./probes.toml of the working directory.
    assert_eq!(
        check(dir.path(), None, &[]),
        found("probes.toml".as_ref(), 1)
    );
    // OUTPOST_CONFIG before it; --config before both.
    assert_eq!(check(dir.path(), Some(&other), &[]), found(&other, 2));
    let here = dir.path().join("probes.toml");
    let flag = ["--config", here.to_str().unwrap()];
    assert_eq!(check(empty.path(), Some(&other), &flag), found(&here, 1));
    // Given and missing: named, with who named it; no fallback to ./probes.toml.
    let missing = dir.path().join("missing.toml");
    let (code, text) = check(dir.path(), None, &["--config", missing.to_str().unwrap()]);
    assert_eq!(
        (code, text),
        (
            Some(2),
            format!(
                "outpost: {}: no such file (given by --config)",
                missing.display()
            )
        )
    );
    let (code, text) = check(dir.path(), Some(&missing), &[]);
    assert_eq!(
        (code, text),
        (
            Some(2),
            format!(
                "outpost: {}: no such file (given by OUTPOST_CONFIG)",
                missing.display()
            )
        )
    );
    // Nothing given, nothing in the working directory: the packaged path, if this
    // host has one, else an error listing every path tried.
    let system = std::path::Path::new("/etc/outpost/probes.toml");
    let (code, text) = check(empty.path(), None, &[]);
    if system.exists() {
        assert!(text.starts_with("/etc/outpost/probes.toml"), "{text}");
    } else {
        assert_eq!(
            (code, text.as_str()),
            (
                Some(2),
                "outpost: no configuration file: --config not given, OUTPOST_CONFIG not set, and none of \
                 ./probes.toml, /etc/outpost/probes.toml exists (hint: pass --config PATH or set OUTPOST_CONFIG)"
            )
        );
    }
}

/// `check` and `probe` list their own flags, not the daemon's; `outpost --help`
/// (the bare invocation is the daemon) and `outpost run --help` list the daemon's.
#[test]
fn each_subcommand_help_lists_only_its_flags() {
    let help = |args: &[&str]| {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for args in [
        &["check", "--help"][..],
        &["check", "-h"],
        &["probe", "--help"],
    ] {
        let text = help(args);
        assert!(text.contains("--config"), "{args:?}:\n{text}");
        for daemon_flag in ["--listen", "--watch-config", "--shard"] {
            assert!(
                !text.contains(daemon_flag),
                "{args:?} shows {daemon_flag}:\n{text}"
            );
        }
    }
    for args in [&["--help"][..], &["run", "--help"]] {
        let text = help(args);
        for daemon_flag in ["--listen", "--web.config.file", "--watch-config", "--shard"] {
            assert!(
                text.contains(daemon_flag),
                "{args:?} lacks {daemon_flag}:\n{text}"
            );
        }
    }
}

/// One exit-code rule in every subcommand: 2 for bad usage and bad configuration
/// (the code clap gives usage errors), whatever the subcommand; 1 is kept for a
/// probe that failed (`probe_subcommand_prints_a_trace_and_sets_the_exit_code`).
#[test]
fn bad_config_and_bad_usage_exit_2_in_every_subcommand() {
    let (_dir, bad) = write_config("[modules.m]\nprober = \"gopher\"\n");
    let (_dir2, good) = write_config("[modules.m]\nprober = \"http\"\n");
    let run = |args: &[&str], config: &std::path::Path| {
        let out = Command::new(BIN)
            .args(args)
            .arg("--config")
            .arg(config)
            .env_remove("OUTPOST_CONFIG")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The daemon (`run`, and the bare invocation) must refuse to start, not serve.
    let daemon = ["--listen", "127.0.0.1:0"];
    for args in [
        &["check"][..],
        &["probe", "http://127.0.0.1:1/"],
        &["run", daemon[0], daemon[1]],
        &daemon,
        &["rules"],
    ] {
        let (code, stderr) = run(args, &bad);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("invalid prober \"gopher\""),
            "{args:?}: {stderr}"
        );
    }
    let (code, stderr) = run(&["probe", "-m", "nope", "http://127.0.0.1:1/"], &good);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("unknown module \"nope\""), "{stderr}");
    let (code, stderr) = run(&["check", "--no-such-flag"], &good);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
}

/// Starts the binary on 127.0.0.1:0 and reads the bound address from its log.
fn spawn_daemon(config: &std::path::Path) -> (Child, SocketAddr) {
    spawn_daemon_with(
        &[
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--config",
        ],
        config,
    )
}

/// As [`spawn_daemon`], with `args` before the config's path; they must ask for
/// JSON logs and an address to listen on.
fn spawn_daemon_with(args: &[&str], config: &std::path::Path) -> (Child, SocketAddr) {
    let mut child = Command::new(BIN)
        .args(args)
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("daemon exited before logging its address")
            .unwrap();
        if let Some(rest) = line.split("\"address\":\"").nth(1) {
            break rest.split('"').next().unwrap().parse().unwrap();
        }
    };
    // Keep draining the log so the daemon never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} failed");
}

/// Waits for the child to exit, for at most `limit`; kills it if it does not.
fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}

/// A target that accepts connections and never answers, holding each one; counts
/// the connections accepted.
async fn stalling_target() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(stream);
        }
    });
    (addr, accepted)
}

#[tokio::test]
async fn sighup_reloads_and_sigterm_stops_within_five_seconds() {
    let target = target_server().await;
    let (stall, accepted) = stalling_target().await;
    // A run against the stalling target lasts its whole 10-minute timeout. The
    // probe's name is one whose start offset is under a second, so its first run
    // starts at once; the interval is long, so nothing but that run is in flight.
    let interval = Duration::from_secs(600);
    let name = (0..)
        .map(|i| format!("stall-{i}"))
        .find(|n| spread_offset(n, interval) < Duration::from_secs(1))
        .unwrap();
    let base = format!(
        "[modules.http_2xx]\nprober = \"http\"\n[modules.http_2xx.http]\npreferred_ip_protocol = \"ip4\"\n\n\
         [modules.stall]\nprober = \"http\"\ntimeout = \"10m\"\n[modules.stall.http]\npreferred_ip_protocol = \"ip4\"\n\n\
         [[probes]]\nname = \"{name}\"\nmodule = \"stall\"\ntarget = \"http://{stall}/\"\ninterval = \"10m\"\n"
    );
    let (_dir, path) = write_config(&base);
    let (mut child, addr) = spawn_daemon(&path);
    // Straight after start-up, before any request: the handlers are in place
    // before the daemon says it started, so this SIGHUP reloads instead of
    // killing it (SIGHUP's default action).
    std::fs::write(&path, format!("{base}\n[[probes]]\nname = \"ok\"\nmodule = \"http_2xx\"\ntarget = \"http://{target}/ok\"\ninterval = \"1s\"\n")).unwrap();
    signal(&child, "-HUP");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut probes = None;
    while Instant::now() < deadline {
        let (_, _, metrics) = request(addr, "GET", "/metrics", &[]).await;
        probes = sample(&metrics, "outpost_probes", "");
        if probes == Some(2.0) && accepted.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(probes, Some(2.0), "SIGHUP did not reload");
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "the stalling run did not start"
    );

    // That run is in flight, with minutes to go: SIGTERM must not wait for it.
    signal(&child, "-TERM");
    let status = wait_exit(&mut child, Duration::from_secs(5));
    assert!(
        status.is_some_and(|s| s.success()),
        "did not exit 0 within 5 s: {status:?}"
    );
}

#[tokio::test]
async fn probe_subcommand_prints_a_trace_and_sets_the_exit_code() {
    let target = target_server().await;
    let (_dir, path) = write_config("[modules.http_2xx]\nprober = \"http\"\n[modules.http_2xx.http]\npreferred_ip_protocol = \"ip4\"\n");
    let run = |url: String, extra: &'static [&'static str]| {
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .arg("--config")
                .arg(&path)
                .args(["probe", &url])
                .args(extra)
                .output()
                .unwrap()
        })
    };
    let ok = run(format!("http://{target}/ok"), &[]).await.unwrap();
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{text}");
    assert!(text.contains("Probe succeeded"), "{text}");
    // The series only when asked for: the screen ends on the verdict.
    assert!(!text.contains("probe_success"), "{text}");
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("OK: http_2xx http://{target}/ok succeeded in ")),
        "{text}"
    );
    let fail = run(format!("http://{target}/fail"), &["--metrics"])
        .await
        .unwrap();
    assert_eq!(fail.status.code(), Some(1));
    let text = String::from_utf8_lossy(&fail.stdout);
    assert!(text.contains("probe_http_status_code 500"), "{text}");
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("FAILED: unexpected HTTP status: ")
            && last.contains(&format!("(http_2xx http://{target}/fail, after ")),
        "{text}"
    );
    let json = run(format!("http://{target}/fail"), &["--format", "json"])
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json.status.code(), Some(1));
    assert_eq!(
        (&v["success"], &v["outcome"], &v["reason"]),
        (
            &serde_json::json!(false),
            &serde_json::json!("http_status"),
            &serde_json::json!("unexpected HTTP status")
        )
    );
}

/// `outpost probe -m` with a module that is not defined says which one was meant,
/// as `outpost check` does of a `[[probes]]` entry, and probes nothing (exit 2).
#[test]
fn probe_with_an_unknown_module_suggests_the_closest() {
    let (_dir, path) = write_config(
        "[modules.http_2xx]\nprober = \"http\"\n[modules.tcp_connect]\nprober = \"tcp\"\n",
    );
    let probe = |module: &str| {
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&path)
            .args(["probe", "-m", module, "http://127.0.0.1:1/"])
            .output()
            .unwrap();
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(
        probe("htp_2xx"),
        (
            Some(2),
            "outpost: unknown module \"htp_2xx\" (hint: did you mean \"http_2xx\"? \
             defined modules: http_2xx, tcp_connect)\n"
                .to_string()
        )
    );
    assert_eq!(
        probe("dns"),
        (
            Some(2),
            "outpost: unknown module \"dns\" (hint: defined modules: http_2xx, tcp_connect)\n"
                .to_string()
        )
    );
}

/// The subcommands a user types (clap's `help` aside), as the model names them.
fn subcommand_names() -> Vec<String> {
    use clap::CommandFactory;
    let names: Vec<String> = outpost::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .filter(|n| n != "help")
        .collect();
    for name in ["run", "check", "probe", "rules", "completions", "man"] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} missing from {names:?}"
        );
    }
    names
}

fn stdout_of(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// `outpost completions SHELL` prints a script naming every subcommand; bash, run
/// here, completes with it the way a user sees it: subcommand names, and a
/// subcommand's own flags only.
#[test]
fn completions_name_every_subcommand_and_bash_completes_with_them() {
    let bash = stdout_of(&["completions", "bash"]);
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout_of(&["completions", shell]);
        for name in subcommand_names() {
            assert!(script.contains(&name), "{shell} script lacks {name}");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("outpost.bash");
    std::fs::write(&script, &bash).unwrap();
    // What bash offers after `outpost WORDS...` with the cursor on the last word.
    let complete = |words: &str| {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)); \
                 _outpost outpost \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; \
                 printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                script.display()
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let mut words: Vec<String> = text.lines().map(str::to_string).collect();
        words.sort();
        words
    };
    assert_eq!(complete("outpost ch"), ["check"]);
    assert_eq!(complete("outpost co"), ["completions"]);
    let check_flags = complete("outpost check --");
    assert!(
        check_flags.contains(&"--web.config.file".to_string()),
        "{check_flags:?}"
    );
    assert!(
        check_flags.contains(&"--config.file".to_string()),
        "{check_flags:?}"
    );
    assert!(
        !check_flags.contains(&"--listen".to_string()),
        "{check_flags:?}"
    );
    assert_eq!(complete("outpost completions z"), ["zsh"]);
}

/// `outpost man` prints outpost(1) in roff, naming every subcommand's page and
/// the exit codes; `--out-dir` writes those pages.
#[test]
fn man_page_names_every_subcommand_and_out_dir_writes_their_pages() {
    let page = stdout_of(&["man"]);
    assert!(page.contains("\n.TH outpost 1 "), "{page}");
    assert!(page.contains("AWS scraper"), "{page}");
    assert!(page.contains("Exit codes: 0 success"), "{page}");
    for name in subcommand_names() {
        // roff escapes the hyphen.
        let see = format!("outpost\\-{}(1)", name.replace('-', "\\-"));
        assert!(page.contains(&see), "no {see}:\n{page}");
    }
    let dir = tempfile::tempdir().unwrap();
    stdout_of(&["man", "--out-dir", dir.path().to_str().unwrap()]);
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut want: Vec<String> = subcommand_names()
        .iter()
        .map(|n| format!("outpost-{n}.1"))
        .chain(["outpost.1".to_string()])
        .collect();
    want.sort();
    assert_eq!(files, want);
    let check = std::fs::read_to_string(dir.path().join("outpost-check.1")).unwrap();
    assert!(check.contains(".TH outpost-check 1 "), "{check}");
    assert!(
        check.contains("web.config.file") && !check.contains("\\-\\-listen"),
        "{check}"
    );
}

/// A systemd unit or Helm values written for Blackbox Exporter: its flag spellings
/// start the daemon, and `--config.check` checks and exits as `outpost check`.
#[tokio::test]
async fn blackbox_flag_spellings_run_the_daemon_and_check() {
    let (_dir, path) = write_config("[modules.http_2xx]\nprober = \"http\"\n");
    let (mut child, addr) = spawn_daemon_with(
        &[
            "--web.listen-address=127.0.0.1:0",
            "--log.format=json",
            "--log.level=info",
            "--config.file",
        ],
        &path,
    );
    assert_eq!(
        request(addr, "GET", "/-/healthy", &[]).await.0,
        StatusCode::OK
    );
    signal(&child, "-TERM");
    assert!(wait_exit(&mut child, Duration::from_secs(5)).is_some_and(|s| s.success()));

    let check = |path: &std::path::Path| {
        let out = Command::new(BIN)
            .args([
                "--web.listen-address",
                "127.0.0.1:9115",
                "--config.check",
                "--config.file",
            ])
            .arg(path)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The listen address is a loopback one: no warning about an open /probe.
    assert_eq!(
        check(&path),
        (
            Some(0),
            format!("{}: OK: 1 modules, 0 probes\n", path.display()),
            String::new()
        )
    );
    let (_bad_dir, bad) = write_config("[modules.m]\nprober = \"gopher\"\n");
    let (code, stdout, stderr) = check(&bad);
    assert_eq!((code, stdout.as_str()), (Some(2), ""), "{stderr}");
    assert!(stderr.contains("invalid prober \"gopher\""), "{stderr}");
}

/// `--listen :PORT` listens on every interface: IPv6 and IPv4 on one socket where
/// the host has IPv6 (as Blackbox's `:9115`), IPv4 alone where it has not.
#[tokio::test]
async fn a_bare_port_listens_on_ipv4_and_ipv6_loopback() {
    let (_dir, path) = write_config("[modules.http_2xx]\nprober = \"http\"\n");
    let mut child = Command::new(BIN)
        .args(["--listen", ":0", "--log-format", "json", "--config"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let address: SocketAddr = loop {
        let line = lines.next().expect("daemon exited early").unwrap();
        if let Some(rest) = line.split("\"address\":\"").nth(1) {
            break rest.split('"').next().unwrap().parse().unwrap();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    assert!(address.ip().is_unspecified(), "{address}");
    let v4: SocketAddr = format!("127.0.0.1:{}", address.port()).parse().unwrap();
    assert_eq!(
        request(v4, "GET", "/-/healthy", &[]).await.0,
        StatusCode::OK
    );
    if address.is_ipv6() {
        let v6: SocketAddr = format!("[::1]:{}", address.port()).parse().unwrap();
        assert_eq!(
            request(v6, "GET", "/-/healthy", &[]).await.0,
            StatusCode::OK
        );
    }
    signal(&child, "-TERM");
    assert!(wait_exit(&mut child, Duration::from_secs(5)).is_some_and(|s| s.success()));
}

/// `outpost rules` prints a rule file promtool accepts: one group per SLO and SLI,
/// with the config's values (quotes, backslashes, template braces) quoted safely.
#[test]
fn rules_prints_the_slo_groups_and_promtool_accepts_them() {
    let (dir, path) = write_config(
        r#"[modules.http_2xx]
prober = "http"
run_duration_buckets = [0.5, 2]

[[probes]]
name = "web"
module = "http_2xx"
target = "https://web.example.com/health"
interval = "15s"
labels = { service = "web \"front\" \\ {{ x }}" }

[[slos]]
name = "web-probes"
probes = { service = "web \"front\" \\ {{ x }}" }
objective = 99.99
latency = "2s"
latency_objective = 99
labels = { team = "web {{ $labels.job }}" }

[[slos]]
name = "edge"
sli = "alb"
probes = { region = "eu-west-1", tag_team = "web" }
objective = 99.9
window = "28d"
"#,
    );
    let out = Command::new(BIN)
        .arg("rules")
        .arg("--config")
        .arg(&path)
        .args(["--runbook-base", "https://runbooks.example/outpost"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for group in [
        "  - name: slo-web-probes-availability\n",
        "  - name: slo-web-probes-latency\n",
        "  - name: slo-edge-availability\n",
    ] {
        assert!(stdout.contains(group), "{group:?} missing:\n{stdout}");
    }
    assert!(!stdout.contains("slo-edge-latency"));
    assert!(stdout.contains("runbook_url: \"https://runbooks.example/outpost#sloerrorbudgetburn\""));
    let file = dir.path().join("slo.rules.yml");
    std::fs::write(&file, stdout.as_bytes()).unwrap();
    let check = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("promtool not found ({e}); `make test` installs it (apt-get install prometheus)")
        });
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(check.status.success(), "{said}\n--- rules ---\n{stdout}");
    // Three groups, each 26 records (10 raw rates, 6 averaged, 8 ratios, the
    // objective, the budget left) and 4 alerts.
    assert!(said.contains("SUCCESS: 90 rules found"), "{said}");
}

#[test]
fn rules_refuses_a_bad_slo_with_its_position_and_exit_2() {
    let (_dir, path) = write_config(
        "[[slos]]\nname = \"edge\"\nsli = \"alb\"\nobjective = 99.9\nlatency = \"1s\"\n",
    );
    let out = Command::new(BIN)
        .arg("rules")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{}:5:11: slos[0].latency: an SLO of sli = \"alb\" cannot have a latency objective",
            path.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("1 error(s)"), "{stderr}");
}
