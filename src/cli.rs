//! Command-line interface: `outpost [run] | check | probe TARGET | rules`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "outpost",
    version,
    about = "Synthetic prober for Prometheus, Blackbox Exporter compatible"
)]
pub struct Cli {
    /// Configuration file.
    #[arg(
        long,
        global = true,
        default_value = "probes.toml",
        env = "OUTPOST_CONFIG"
    )]
    pub config: PathBuf,
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
    /// Print a Blackbox Exporter configuration as outpost TOML: every module, and
    /// with --scrape-config and --job, [[probes]] from that job's static targets.
    /// Options outpost lacks are refused (exit 2), each named with its line.
    ImportBlackbox {
        /// Blackbox Exporter's configuration (blackbox.yml).
        blackbox_yml: PathBuf,
        /// Prometheus' configuration holding the job that scrapes Blackbox's /probe.
        #[arg(long, value_name = "PROMETHEUS_YML", requires = "job")]
        scrape_config: Option<PathBuf>,
        /// The job (job_name) of --scrape-config whose static_configs targets become [[probes]].
        #[arg(long, value_name = "NAME", requires = "scrape_config")]
        job: Option<String>,
    },
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
        assert_eq!(
            cli,
            Ok((PathBuf::from("probes.toml"), ":9465".to_string(), true))
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
