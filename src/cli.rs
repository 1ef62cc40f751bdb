//! Command-line interface: `outpost [run] | check | probe TARGET | rules`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "outpost",
    version,
    about = "Synthetic prober for Prometheus, Blackbox Exporter compatible"
)]
pub struct Cli {
    /// Configuration file [default: $OUTPOST_CONFIG, else ./probes.toml, else
    /// /etc/outpost/probes.toml, the first that exists].
    // No clap `env`: whether the path came from the flag, the environment or the
    // search decides the message when it is missing (see `resolve_config`).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Address to serve /metrics, /probe and the rest on (":9465" = every interface).
    #[arg(long, global = true, default_value = ":9465", env = "OUTPOST_LISTEN")]
    pub listen: String,
    /// exporter-toolkit's web config YAML (TLS and basic auth of the listener), as
    /// every Prometheus exporter takes it; instead of [server.tls_server_config] and
    /// [server.basic_auth_users]. Re-read on every reload.
    #[arg(
        long = "web.config.file",
        global = true,
        value_name = "PATH",
        env = "OUTPOST_WEB_CONFIG"
    )]
    pub web_config_file: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log level (error, warn, info, debug, trace) or a tracing filter directive.
    #[arg(long, global = true, default_value = "info", env = "OUTPOST_LOG_LEVEL")]
    pub log_level: String,
    /// Reload when the configuration file changes, checking this often (e.g. "30s").
    #[arg(long, global = true, value_parser = parse_duration)]
    pub watch_config: Option<Duration>,
    /// Run only shard INDEX of COUNT replicas' probes (e.g. "2/3"); overrides the
    /// configuration's `server.shard`.
    #[arg(long, global = true, env = "OUTPOST_SHARD")]
    pub shard: Option<crate::shard::Shard>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (the default).
    Run,
    /// Validate the configuration; print every error with file:line:col.
    Check,
    /// Probe TARGET once with a module of the configuration and print a trace.
    Probe {
        /// What to probe, in the form the module's prober takes.
        #[arg(long_help = format!(
            "What to probe, in the form the module's prober takes: {}.",
            crate::probe::ProberKind::target_forms()
        ))]
        target: String,
        /// Module to use.
        #[arg(long, short, default_value = "http_2xx")]
        module: String,
        /// Timeout; defaults to the module's, else 10s.
        #[arg(long, value_parser = parse_duration)]
        timeout: Option<Duration>,
    },
    /// Print the Prometheus rules (recording rules, burn-rate alerts) of the
    /// configuration's SLOs (its `[[slos]]` tables).
    Rules {
        /// Where the alerts' runbook_url points, before "#sloerrorbudgetburn".
        #[arg(long, default_value = "docs/runbooks.md")]
        runbook_base: String,
    },
}

/// Where the configuration is looked for when neither `--config` nor
/// `OUTPOST_CONFIG` names it, in order: the working directory (a checkout, a
/// container's WORKDIR), then where packages and deploy/ install it.
pub const CONFIG_SEARCH_PATH: &[&str] = &["probes.toml", "/etc/outpost/probes.toml"];

/// The environment variable that names the configuration when `--config` does not.
pub const CONFIG_ENV: &str = "OUTPOST_CONFIG";

/// No configuration file to read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigPathError {
    /// The path given by `by` (`--config` or `OUTPOST_CONFIG`) does not exist.
    #[error("{}: no such file (given by {by})", path.display())]
    Missing { path: PathBuf, by: &'static str },
    /// Nothing given, and none of the search path exists.
    #[error(
        "no configuration file: --config not given, {CONFIG_ENV} not set, and none of {tried} exists \
         (hint: pass --config PATH or set {CONFIG_ENV})"
    )]
    NotFound { tried: String },
}

/// The configuration file to read: `--config`, else `OUTPOST_CONFIG` (empty counts as
/// unset, as an empty line in an EnvironmentFile leaves it), else the first of
/// `search` that exists. A path given by the flag or the environment is used only
/// if it exists; one whose existence cannot be told (a directory that cannot be
/// read) is used, so that loading it names the real I/O error.
pub fn resolve_config(
    flag: Option<&Path>,
    env: Option<&OsStr>,
    search: &[&str],
) -> Result<PathBuf, ConfigPathError> {
    let given = match (flag, env.filter(|v| !v.is_empty())) {
        (Some(path), _) => Some((path.to_path_buf(), "--config")),
        (None, Some(path)) => Some((PathBuf::from(path), CONFIG_ENV)),
        (None, None) => None,
    };
    if let Some((path, by)) = given {
        return match path.try_exists() {
            Ok(false) => Err(ConfigPathError::Missing { path, by }),
            Ok(true) | Err(_) => Ok(path),
        };
    }
    for candidate in search {
        let path = PathBuf::from(candidate);
        if path.try_exists().unwrap_or(true) {
            return Ok(path);
        }
    }
    let tried: Vec<String> = search
        .iter()
        .map(|c| match Path::new(c).is_relative() {
            true => format!("./{c}"),
            false => (*c).to_string(),
        })
        .collect();
    Err(ConfigPathError::NotFound {
        tried: tried.join(", "),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::config::duration::parse(s)
}

/// The addresses to try, in order, for `--listen`: `:9465` means every interface,
/// IPv6 and IPv4 on one dual-stack socket where the host has IPv6, IPv4 only
/// otherwise (as Go's `:9115` does for Blackbox); other forms are used as given.
pub fn listen_addresses(listen: &str) -> Vec<String> {
    match listen.strip_prefix(':') {
        Some(port) => vec![format!("[::]:{port}"), format!("0.0.0.0:{port}")],
        None => vec![listen.to_string()],
    }
}

/// Whether `--listen` serves every interface: a bare `:PORT`, `0.0.0.0:PORT` or `[::]:PORT`.
fn listens_everywhere(listen: &str) -> bool {
    listen.starts_with(':') || listen.starts_with("0.0.0.0:") || listen.starts_with("[::]:")
}

/// `outpost check`'s warning when `/probe`, which probes any target a caller
/// names from this host, is open to anyone who can reach the listener: served
/// on every interface with neither basic auth nor required client certificates.
pub fn open_probe_warning(config: &crate::config::Config, listen: &str) -> Option<String> {
    let server = &config.server;
    // An allow list closes /probe to the targets it names: a policy, so no warning.
    let guarded = server.basic_auth_users.is_some()
        || !server.probe_endpoint.policy.allow.is_empty()
        || server
            .tls
            .as_ref()
            .is_some_and(|t| t.client_auth.keeps_strangers_out());
    if !server.probe_endpoint.enabled || guarded || !listens_everywhere(listen) {
        return None;
    }
    Some(format!(
        "warning: /probe is open to anyone who can reach {listen}: it probes any target they name, from this host \
         (hint: set [server.basic_auth_users], require client certificates with \
         [server.tls_server_config] client_auth_type = \"RequireAndVerifyClientCert\", \
         list the targets it may reach in [server.probe_endpoint] allow, \
         or set [server.probe_endpoint] enabled = false)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_probe_is_warned_about_only_when_open() {
        use std::path::Path;
        let load = |text: &str| crate::config::Config::from_str_at(text, Path::new("p.toml"));
        let open = load("").map_err(|e| e.to_string());
        let open = open.as_ref().map(|c| open_probe_warning(c, ":9465"));
        let text = open.clone().ok().flatten().unwrap_or_default();
        assert!(
            text.starts_with("warning: /probe is open to anyone who can reach :9465"),
            "{open:?}"
        );
        let quiet = |text: &str, listen: &str| {
            load(text)
                .map(|c| open_probe_warning(&c, listen))
                .map_err(|e| e.to_string())
        };
        assert_eq!(quiet("", "127.0.0.1:9465"), Ok(None));
        assert_eq!(
            quiet("[server.probe_endpoint]\nenabled = false\n", ":9465"),
            Ok(None)
        );
        assert_eq!(
            quiet(
                "[server.probe_endpoint]\nallow = [\"10.0.0.0/8\"]\n",
                ":9465"
            ),
            Ok(None)
        );
        // A deny list alone leaves every other target open.
        assert!(quiet(
            "[server.probe_endpoint]\ndeny = [\"10.0.0.0/8\"]\n",
            ":9465"
        )
        .is_ok_and(|w| w.is_some()));
        assert!(quiet("", "0.0.0.0:9465").is_ok_and(|w| w.is_some()));
        assert!(quiet("", "[::]:9465").is_ok_and(|w| w.is_some()));
    }

    #[test]
    fn bare_port_listens_everywhere() {
        assert_eq!(listen_addresses(":9465"), ["[::]:9465", "0.0.0.0:9465"]);
        assert_eq!(listen_addresses("127.0.0.1:1"), ["127.0.0.1:1"]);
        assert_eq!(listen_addresses("[::1]:9465"), ["[::1]:9465"]);
    }

    #[test]
    fn bare_invocation_is_run_with_defaults() {
        let cli = Cli::try_parse_from(["outpost"]).map_err(|e| e.to_string());
        let cli = cli
            .as_ref()
            .map(|c| (c.config.clone(), c.listen.clone(), c.command.is_none()));
        assert_eq!(cli, Ok((None, ":9465".to_string(), true)));
    }

    #[test]
    fn config_is_the_flag_then_the_environment_then_the_search_path() {
        let dir = tempfile::tempdir().map_err(|e| e.to_string());
        let Ok(dir) = dir else {
            panic!("no temp dir: {dir:?}")
        };
        let file = |name: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, "").map(|()| path)
        };
        let (Ok(a), Ok(b), Ok(c)) = (file("a.toml"), file("b.toml"), file("c.toml")) else {
            panic!("cannot write into {}", dir.path().display())
        };
        let missing = dir.path().join("missing.toml");
        let (a_os, b_os) = (a.as_os_str(), b.as_os_str());
        let s = |p: &Path| p.to_str().map(str::to_string).unwrap_or_default();
        let (c_str, missing_str) = (s(&c), s(&missing));
        let search = [missing_str.as_str(), c_str.as_str()];
        let resolve = |flag: Option<&Path>, env: Option<&OsStr>| resolve_config(flag, env, &search);
        assert_eq!(resolve(Some(&a), Some(b_os)), Ok(a.clone()));
        assert_eq!(resolve(None, Some(b_os)), Ok(b.clone()));
        // An empty OUTPOST_CONFIG is unset; the first existing search entry wins.
        assert_eq!(resolve(None, Some(OsStr::new(""))), Ok(c.clone()));
        assert_eq!(resolve(None, None), Ok(c.clone()));
        // Given and missing: an error naming it and who gave it, never a fallback.
        assert_eq!(
            resolve(Some(&missing), Some(a_os)),
            Err(ConfigPathError::Missing {
                path: missing.clone(),
                by: "--config"
            })
        );
        let err = resolve(None, Some(missing.as_os_str())).map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err(format!(
                "{missing_str}: no such file (given by OUTPOST_CONFIG)"
            ))
        );
        let none = resolve_config(None, None, &["nope.toml", &missing_str]);
        assert_eq!(
            none.map_err(|e| e.to_string()),
            Err(format!(
                "no configuration file: --config not given, OUTPOST_CONFIG not set, and none of \
                 ./nope.toml, {missing_str} exists (hint: pass --config PATH or set OUTPOST_CONFIG)"
            ))
        );
    }

    #[test]
    fn probe_help_names_every_probers_target_form() {
        use clap::CommandFactory;
        let mut cmd = Cli::command();
        let probe = cmd
            .find_subcommand_mut("probe")
            .map(|c| c.render_long_help().to_string());
        let help = probe.unwrap_or_default();
        for kind in crate::probe::ProberKind::ALL {
            let entry = format!("{} ({})", kind.target_form(), kind.name());
            assert!(
                help.contains(&entry),
                "`outpost probe --help` lacks {entry:?}:\n{help}"
            );
        }
    }

    #[test]
    fn rules_subcommand_takes_a_runbook_base() {
        let base = |args: &[&str]| match Cli::try_parse_from(args).map(|c| c.command) {
            Ok(Some(Command::Rules { runbook_base })) => runbook_base,
            other => panic!("unexpected parse: {other:?}"),
        };
        assert_eq!(base(&["outpost", "rules"]), "docs/runbooks.md");
        assert_eq!(
            base(&[
                "outpost",
                "rules",
                "--config",
                "x.toml",
                "--runbook-base",
                "https://wiki/slo"
            ]),
            "https://wiki/slo"
        );
    }

    #[test]
    fn probe_subcommand_takes_target_and_module() {
        let cli = Cli::try_parse_from([
            "outpost",
            "--config",
            "x.toml",
            "probe",
            "http://a",
            "-m",
            "m1",
            "--timeout",
            "2s",
        ]);
        match cli.map(|c| c.command) {
            Ok(Some(Command::Probe {
                target,
                module,
                timeout,
            })) => {
                assert_eq!(
                    (target.as_str(), module.as_str(), timeout),
                    ("http://a", "m1", Some(Duration::from_secs(2)))
                );
            }
            other => panic!("unexpected parse: {other:?}"),
        }
    }
}
