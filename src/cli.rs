//! Command-line interface: `outpost [run] | check | probe TARGET | rules`, each
//! subcommand with only the flags it uses.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// The command line. Flags fall in three sets, each shown only where it applies:
/// [`GlobalArgs`] (every subcommand), [`DaemonArgs`] (`run`, and `outpost` with no
/// subcommand, which runs the daemon) and each subcommand's own.
#[derive(Debug, Parser)]
#[command(
    name = "outpost",
    version,
    about = "Synthetic prober and AWS scraper for Prometheus, Blackbox Exporter compatible",
    after_help = "Without a subcommand, outpost runs the daemon (as `outpost run`).\n\
                  Exit codes: 0 success; 1 a probe failed, or the daemon failed at run time; \
                  2 bad usage or a bad configuration."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The daemon's flags for the bare invocation; `outpost run` has its own copy.
    #[command(flatten)]
    pub daemon: DaemonArgs,
    /// Check the configuration and exit, as `outpost check` (Blackbox's flag).
    #[arg(long = "config.check", help_heading = "Daemon options")]
    pub config_check: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every subcommand takes, listed apart in each help so that a
/// subcommand's own flags stand out.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Configuration file [default: $OUTPOST_CONFIG, else ./probes.toml, else
    /// /etc/outpost/probes.toml, the first that exists].
    // No clap `env`: whether the path came from the flag, the environment or the
    // search decides the message when it is missing (see `resolve_config`).
    // The aliases are Blackbox's and exporter-toolkit's spellings, so that systemd
    // units and Helm values written for Blackbox Exporter keep working.
    #[arg(
        long,
        visible_alias = "config.file",
        global = true,
        value_name = "PATH"
    )]
    pub config: Option<PathBuf>,
    /// Log format.
    #[arg(
        long,
        visible_alias = "log.format",
        global = true,
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,
    /// Log level (error, warn, info, debug, trace) or a tracing filter directive.
    #[arg(
        long,
        visible_alias = "log.level",
        global = true,
        default_value = "info",
        env = "OUTPOST_LOG_LEVEL"
    )]
    pub log_level: String,
}

/// The daemon's flags: `outpost run`'s, and the bare `outpost`'s.
#[derive(Debug, Clone, PartialEq, Args)]
#[command(next_help_heading = "Daemon options")]
pub struct DaemonArgs {
    /// Address to serve /metrics, /probe and the rest on (":9465" = every interface).
    // Blackbox's spelling is an alias only: its default (:9115) is not outpost's.
    #[arg(
        long,
        visible_alias = "web.listen-address",
        default_value = DEFAULT_LISTEN,
        env = "OUTPOST_LISTEN"
    )]
    pub listen: String,
    /// exporter-toolkit's web config YAML (TLS and basic auth of the listener), as
    /// every Prometheus exporter takes it; instead of [server.tls_server_config] and
    /// [server.basic_auth_users]. Re-read on every reload.
    #[arg(
        long = "web.config.file",
        value_name = "PATH",
        env = "OUTPOST_WEB_CONFIG"
    )]
    pub web_config_file: Option<PathBuf>,
    /// Reload when the configuration file changes, checking this often (e.g. "30s").
    #[arg(long, value_parser = parse_duration)]
    pub watch_config: Option<Duration>,
    /// Run only shard INDEX of COUNT replicas' probes (e.g. "2/3"), or "auto":
    /// the replica's ordinal and the replica count from the environment
    /// (OUTPOST_SHARD_ORDINAL or the hostname's -N; OUTPOST_SHARD_COUNT or
    /// OUTPOST_SHARD_PEERS). Overrides the configuration's `server.shard`.
    #[arg(long, env = "OUTPOST_SHARD")]
    pub shard: Option<crate::shard::ShardFlag>,
}

/// `outpost check`'s flags.
#[derive(Debug, Clone, PartialEq, Args)]
pub struct CheckArgs {
    /// How to print the errors: text (each with its line and a caret under the
    /// mistake, on stderr) or json (on stdout, an array of {file, line, column,
    /// key, message, hint}; `[]` when the file is valid).
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// exporter-toolkit's web config YAML the daemon will be given: checked with the
    /// configuration (pass the daemon's, as its ExecStartPre does).
    #[arg(
        long = "web.config.file",
        value_name = "PATH",
        env = "OUTPOST_WEB_CONFIG"
    )]
    pub web_config_file: Option<PathBuf>,
    /// Also try the configuration's [aws] section for real: per region the
    /// credentials, who they are, and one cheap call per service; each failure
    /// said in words with what to do (exit 1 when one fails). Text only.
    #[arg(long, conflicts_with = "format")]
    pub aws: bool,
    /// The daemon's listen address, for the warning about an open /probe: not a flag
    /// of `check` (it serves nothing); `OUTPOST_LISTEN` when unset, as the daemon.
    #[arg(skip)]
    pub listen: Option<String>,
}

/// What `--listen` is when neither the flag nor `OUTPOST_LISTEN` sets it.
pub const DEFAULT_LISTEN: &str = ":9465";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (the default).
    Run(DaemonArgs),
    /// Validate the configuration; print every error with file:line:col.
    ///
    /// Exits 0 with a summary, or 2 with every error. Warns (the exit code stays 0)
    /// when /probe would be open to anyone, judged on the address the daemon
    /// listens on: OUTPOST_LISTEN, else :9465.
    Check(CheckArgs),
    /// Probe TARGET once with a module of the configuration and print a trace.
    Probe {
        /// What to probe, in the form the module's prober takes.
        #[arg(long_help = format!(
            "What to probe, in the form the module's prober takes: {}.",
            crate::probe::ProberKind::target_forms()
        ))]
        target: String,
        /// Module of the configuration to use [default: http_2xx].
        #[arg(long, short, conflicts_with = "prober")]
        module: Option<String>,
        /// Probe with this prober's defaults and --set options, without a
        /// configuration file.
        #[arg(long, value_name = "KIND", value_parser = prober_kind)]
        prober: Option<crate::probe::ProberKind>,
        /// With --prober: one option of its settings block, as KEY=VALUE in TOML
        /// (`--set method=POST --set valid_status_codes=[200]
        /// --set tls_config.insecure_skip_verify=true`); repeat for more.
        #[arg(
            long = "set",
            short = 'o',
            value_name = "KEY=VALUE",
            requires = "prober"
        )]
        set: Vec<String>,
        /// Timeout; defaults to the module's, else 10s.
        #[arg(long, value_parser = parse_duration)]
        timeout: Option<Duration>,
        /// Also print the run's series, as /probe would serve them.
        #[arg(long)]
        metrics: bool,
        /// text: the trace, then the verdict as the last line; json: one object
        /// (target, module, success, outcome, reason, message, duration, trace).
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
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
    /// Print the shell completion script for SHELL.
    ///
    /// bash: `outpost completions bash > /etc/bash_completion.d/outpost`;
    /// zsh: into a directory of $fpath as `_outpost`;
    /// fish: `outpost completions fish > ~/.config/fish/completions/outpost.fish`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page, outpost(1), in roff.
    ///
    /// `outpost man | man -l -` reads it; `outpost man --out-dir DIR` writes
    /// outpost.1 and one page per subcommand (outpost-check.1 ...) for packaging.
    Man {
        /// Write every page into DIR instead of outpost(1) to stdout.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

impl Cli {
    /// Parses `std::env::args`, exiting as clap does (code 2) on bad usage.
    pub fn parse_args() -> Cli {
        Cli::try_parse_args_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// As [`Cli::parse_args`] from `args`. Besides clap's own checks: a daemon flag
    /// written before a subcommand other than the daemon's (`outpost --listen X
    /// check`) is an error, not silently ignored.
    pub fn try_parse_args_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut cmd = Cli::command();
        let matches = cmd.try_get_matches_from_mut(args)?;
        let cli = Cli::from_arg_matches(&matches)?;
        let Some(sub) = matches.subcommand_name() else {
            return Ok(cli);
        };
        // The top level's own flags are the daemon's; global ones are everyone's.
        // Only the command line counts: OUTPOST_LISTEN in the environment of
        // `outpost check` is the daemon's setting, not a mistake.
        let misplaced = cmd.get_arguments().find(|arg| {
            !arg.is_global_set()
                && matches.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine)
        });
        match misplaced {
            Some(arg) => {
                let flag = arg.get_long().unwrap_or(arg.get_id().as_str());
                let instead = match flag {
                    "config.check" => "`outpost check`".to_string(),
                    _ => format!(
                        "`outpost run --{flag} ...`, or `outpost --{flag} ...` without a subcommand"
                    ),
                };
                Err(cmd.error(
                    ErrorKind::ArgumentConflict,
                    format!("--{flag} is not a flag of `outpost {sub}`: write {instead}"),
                ))
            }
            None => Ok(cli),
        }
    }

    /// The subcommand to run: the one given, else the daemon with the top-level
    /// flags, or with `--config.check` a check of what the daemon would load.
    pub fn into_command(self) -> (GlobalArgs, Command) {
        let command = match (self.command, self.config_check) {
            (Some(command), _) => command,
            (None, false) => Command::Run(self.daemon),
            (None, true) => Command::Check(CheckArgs {
                format: CheckFormat::Text,
                aws: false,
                web_config_file: self.daemon.web_config_file,
                listen: Some(self.daemon.listen),
            }),
        };
        (self.global, command)
    }
}

/// `outpost completions SHELL`: the script, generated from the clap model so that
/// it offers exactly the flags and subcommands that parse.
pub fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    // Into memory: clap_complete panics when its writer fails, and stdout can be
    // a closed pipe; the caller writes the bytes and reports such an error.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "outpost", &mut script);
    script
}

/// `outpost man`: the outpost(1) page in roff.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(man_command()).render(&mut page)?;
    Ok(page)
}

/// `outpost man --out-dir DIR`: outpost.1 and outpost-SUBCOMMAND.1 for each
/// subcommand, the pages outpost(1) refers to.
pub fn write_man_pages(dir: &Path) -> std::io::Result<()> {
    clap_mangen::generate_to(man_command(), dir)
}

/// The model the man pages describe: without clap's `help` subcommand, which has
/// no page of its own (`--help` is listed as an option everywhere).
fn man_command() -> clap::Command {
    Cli::command().disable_help_subcommand(true)
}

impl CheckArgs {
    /// The address the warning about an open /probe judges: the daemon's
    /// `--listen` when known, else `OUTPOST_LISTEN`, else the default.
    pub fn listen(&self) -> String {
        self.listen
            .clone()
            .or_else(|| std::env::var("OUTPOST_LISTEN").ok())
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string())
    }
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
    #[error("{}: {}", path.display(), missing(by))]
    Missing { path: PathBuf, by: &'static str },
    /// Nothing given, and none of the search path exists.
    #[error("{} (hint: {NOT_FOUND_HINT})", not_found(tried))]
    NotFound { tried: String },
}

fn missing(by: &str) -> String {
    format!("no such file (given by {by})")
}

fn not_found(tried: &str) -> String {
    format!("no configuration file: --config not given, {CONFIG_ENV} not set, and none of {tried} exists")
}

const NOT_FOUND_HINT: &str = "pass --config PATH or set OUTPOST_CONFIG";

impl ConfigPathError {
    /// As a configuration error, for `outpost check --format json`: the file
    /// given, or none when nothing was found.
    pub fn to_config_error(&self) -> crate::config::ConfigError {
        let (file, message, hint) = match self {
            ConfigPathError::Missing { path, by } => (path.clone(), missing(by), None),
            ConfigPathError::NotFound { tried } => (
                PathBuf::new(),
                not_found(tried),
                Some(NOT_FOUND_HINT.to_string()),
            ),
        };
        crate::config::ConfigError {
            file,
            line: 0,
            column: 0,
            key: String::new(),
            message,
            hint,
            snippet: None,
        }
    }
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

/// `outpost check --format` and `outpost probe --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    /// For editors and CI.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// key=value fields on one line; `logfmt` (Blackbox's name) is accepted for it.
    #[value(alias = "logfmt")]
    Text,
    Json,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::config::duration::parse(s)
}

fn prober_kind(s: &str) -> Result<crate::probe::ProberKind, String> {
    crate::probe::ProberKind::from_name(s).ok_or_else(|| {
        format!(
            "not a prober; one of: {}",
            crate::probe::ProberKind::names().join(", ")
        )
    })
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
        let cli = Cli::try_parse_args_from(["outpost"]).map_err(|e| e.to_string());
        let cli = cli.map(|c| c.into_command()).map(|(g, c)| (g.config, c));
        let Ok((config, Command::Run(daemon))) = cli else {
            panic!("not the daemon: {cli:?}")
        };
        assert_eq!((config, daemon.listen.as_str()), (None, ":9465"));
    }

    /// `outpost [run]`'s flags, parsed from `args` with `--config c.toml`.
    fn daemon_args(args: &[&str]) -> Result<DaemonArgs, String> {
        let args = ["outpost", "--config", "c.toml"].iter().chain(args);
        match Cli::try_parse_args_from(args).map(Cli::into_command) {
            Ok((global, Command::Run(daemon))) if global.config == Some("c.toml".into()) => {
                Ok(daemon)
            }
            Ok(other) => Err(format!("not the daemon with c.toml: {other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn bare_invocation_takes_every_daemon_flag_as_run_does() {
        let flags = [
            "--listen",
            "127.0.0.1:1",
            "--web.config.file",
            "web.yml",
            "--watch-config",
            "30s",
            "--shard",
            "2/3",
        ];
        let want = DaemonArgs {
            listen: "127.0.0.1:1".into(),
            web_config_file: Some("web.yml".into()),
            watch_config: Some(Duration::from_secs(30)),
            shard: crate::shard::Shard::new(2, 3).map(crate::shard::ShardFlag::Fixed),
        };
        assert_eq!(daemon_args(&flags), Ok(want.clone()));
        let run: Vec<&str> = ["run"].iter().chain(&flags).copied().collect();
        assert_eq!(daemon_args(&run), Ok(want));
    }

    #[test]
    fn daemon_flags_belong_to_the_daemon_alone() {
        let parse = |args: &[&str]| {
            Cli::try_parse_args_from(args)
                .map(|_| ())
                .map_err(|e| (e.kind(), e.to_string()))
        };
        // Before another subcommand: refused, not ignored.
        let err = parse(&["outpost", "--listen", "127.0.0.1:1", "check"]);
        let Err((kind, text)) = err else {
            panic!("accepted")
        };
        assert_eq!(kind, ErrorKind::ArgumentConflict);
        assert!(
            text.contains(
                "--listen is not a flag of `outpost check`: write `outpost run --listen ...`"
            ),
            "{text}"
        );
        let err = parse(&["outpost", "--config.check", "check"]);
        assert!(
            matches!(&err, Err((_, text)) if text.contains("--config.check is not a flag of `outpost check`: write `outpost check`")),
            "{err:?}"
        );
        // After it: not one of its flags.
        for args in [
            &["outpost", "check", "--listen", "x"][..],
            &["outpost", "check", "--shard", "1/2"],
            &["outpost", "probe", "--watch-config", "1s", "http://a"],
            &["outpost", "probe", "--web.config.file", "w.yml", "http://a"],
            &["outpost", "rules", "--listen", "x"],
        ] {
            assert_eq!(
                parse(args).map_err(|(kind, _)| kind),
                Err(ErrorKind::UnknownArgument),
                "{args:?}"
            );
        }
        // Global flags go anywhere.
        assert_eq!(
            parse(&["outpost", "--config", "c.toml", "probe", "http://a"]),
            Ok(())
        );
        assert_eq!(
            parse(&["outpost", "probe", "http://a", "--log-level", "debug"]),
            Ok(())
        );
        assert_eq!(
            parse(&["outpost", "check", "--web.config.file", "w.yml"]),
            Ok(())
        );
    }

    /// Blackbox's and exporter-toolkit's spellings parse to the same values as
    /// outpost's own.
    #[test]
    fn blackbox_flag_spellings_are_aliases() {
        let parse = |args: &[&str]| {
            Cli::try_parse_args_from(args)
                .map(Cli::into_command)
                .map(|(g, c)| (g.config, g.log_level, g.log_format, c))
                .map_err(|e| e.to_string())
        };
        let ours = parse(&[
            "outpost",
            "--config",
            "c.toml",
            "--listen",
            "127.0.0.1:9115",
            "--web.config.file",
            "w.yml",
            "--log-level",
            "debug",
            "--log-format",
            "json",
        ]);
        let blackbox = parse(&[
            "outpost",
            "--config.file=c.toml",
            "--web.listen-address=127.0.0.1:9115",
            "--web.config.file=w.yml",
            "--log.level=debug",
            "--log.format=json",
        ]);
        let Ok((Some(config), level, LogFormat::Json, Command::Run(daemon))) = &ours else {
            panic!("{ours:?}")
        };
        assert_eq!(
            (config.to_str(), level.as_str(), daemon.listen.as_str()),
            (Some("c.toml"), "debug", "127.0.0.1:9115")
        );
        assert_eq!(format!("{blackbox:?}"), format!("{ours:?}"));
        // Blackbox's logfmt is outpost's text format.
        let logfmt = parse(&["outpost", "--log.format", "logfmt"]).map(|(_, _, f, _)| f);
        assert_eq!(logfmt, Ok(LogFormat::Text));
        // Global aliases work after a subcommand too.
        let probe = parse(&["outpost", "probe", "--config.file", "c.toml", "http://a"]);
        assert!(
            matches!(&probe, Ok((Some(c), _, _, Command::Probe { .. })) if c == Path::new("c.toml")),
            "{probe:?}"
        );
        // --config.check: `check` of what the daemon flags would load.
        let check = parse(&[
            "outpost",
            "--config.file",
            "c.toml",
            "--web.listen-address",
            "127.0.0.1:9115",
            "--web.config.file",
            "w.yml",
            "--config.check",
        ]);
        let want = CheckArgs {
            format: CheckFormat::Text,
            aws: false,
            web_config_file: Some("w.yml".into()),
            listen: Some("127.0.0.1:9115".into()),
        };
        assert!(
            matches!(&check, Ok((Some(c), _, _, Command::Check(args))) if c == Path::new("c.toml") && *args == want),
            "{check:?}"
        );
    }

    /// Each subcommand's help lists the flags it uses and no other.
    #[test]
    fn each_help_lists_only_its_own_flags() {
        let help = |sub: Option<&str>| {
            let mut cmd = Cli::command();
            cmd.build();
            let cmd = match sub {
                Some(name) => cmd.find_subcommand_mut(name).map(|c| c.render_long_help()),
                None => Some(cmd.render_long_help()),
            };
            cmd.map(|h| h.to_string()).unwrap_or_default()
        };
        let daemon = ["--listen", "--web.config.file", "--watch-config", "--shard"];
        let global = ["--config", "--log-level", "--log-format"];
        let cases: [(Option<&str>, &[&str], &[&str]); 5] = [
            (None, &daemon, &[]),
            (Some("run"), &daemon, &[]),
            (
                Some("check"),
                &["--web.config.file"],
                &["--listen", "--watch-config", "--shard"],
            ),
            (Some("probe"), &["--module", "--timeout"], &daemon),
            (Some("rules"), &["--runbook-base"], &daemon),
        ];
        for (sub, present, absent) in cases {
            let text = help(sub);
            for flag in global.iter().chain(present) {
                assert!(text.contains(flag), "{sub:?} lacks {flag}:\n{text}");
            }
            for flag in absent {
                assert!(!text.contains(flag), "{sub:?} shows {flag}:\n{text}");
            }
        }
        assert!(help(None).contains("AWS scraper"));
        // A subcommand's own flags come first; the global ones under their heading.
        let check = help(Some("check"));
        let (own, global) = (check.find("--format"), check.find("--config <PATH>"));
        let heading = check.find("Global options:");
        assert!(
            own < heading && heading < global && own.is_some(),
            "{check}"
        );
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
        let base = |args: &[&str]| match Cli::try_parse_args_from(args).map(|c| c.command) {
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
        let cli = Cli::try_parse_args_from([
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
                ..
            })) => {
                assert_eq!(
                    (target.as_str(), module.as_deref(), timeout),
                    ("http://a", Some("m1"), Some(Duration::from_secs(2)))
                );
            }
            other => panic!("unexpected parse: {other:?}"),
        }
    }
}
