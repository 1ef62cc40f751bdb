//! The `outpost` binary: parse the command line, set up logging, run, and turn
//! errors into messages and exit codes. Everything else lives in the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use outpost::cli::{
    listen_addresses, CheckArgs, CheckFormat, Cli, Command, ConfigPathError, DaemonArgs,
    GlobalArgs, LogFormat,
};
use outpost::config::{Config, ConfigErrors, Module};
use outpost::daemon::{self, Daemon, Options};
use outpost::probe::{self, ProbeContext};
use outpost::shard::auto::AutoShard;
use outpost::shard::ShardFlag;
use tokio_util::sync::CancellationToken;

/// One exit-code rule for every subcommand, so scripts and units can tell a
/// failing target from a broken invocation: 0 success; 1 a probe failed
/// (`outpost probe`) or the daemon failed at run time (cannot listen ...); 2 bad
/// usage or a bad configuration, the code clap already uses for usage errors.
const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    // Before any thread starts (see the module).
    let tuning = outpost::allocator::fix_mmap_threshold();
    let (global, command) = Cli::parse_args().into_command();
    init_logging(&global);
    tracing::debug!(?tuning, "system allocator");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("outpost: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let result = runtime.block_on(async {
        match &command {
            Command::Run(daemon) => run(&global, daemon).await,
            Command::Check(args) => check(&global, args).await,
            Command::Probe {
                target,
                module,
                prober,
                set,
                timeout,
                metrics,
                format,
            } => {
                let how = ProbeWith {
                    module: module.as_deref(),
                    prober: *prober,
                    set,
                };
                probe_once(&global, target, how, *timeout, *metrics, *format).await
            }
            Command::Rules { runbook_base } => rules(&global, runbook_base),
            Command::Completions { shell } => {
                write_stdout(&outpost::cli::completions(*shell)).map(|()| ExitCode::SUCCESS)
            }
            Command::Man { out_dir } => man(out_dir.as_deref()),
            Command::ImportBlackbox {
                blackbox_yml,
                scrape_config,
                job,
            } => import_blackbox(blackbox_yml, scrape_config.as_deref().zip(job.as_deref())),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("outpost: {e:#}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn init_logging(cli: &GlobalArgs) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match cli.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Why there is no configuration to run on.
enum LoadFailure {
    /// No file: `--config` or `OUTPOST_CONFIG` names a missing one, or none was found.
    NoFile(ConfigPathError),
    /// The file read, and every error in it.
    Invalid(PathBuf, ConfigErrors),
}

/// The configuration `--config`, `OUTPOST_CONFIG` or the search path names, loaded
/// and validated, with the listener's settings from `web_config_file` if given.
fn try_load(cli: &GlobalArgs, web_config_file: Option<&Path>) -> Result<Config, LoadFailure> {
    let env = std::env::var_os(outpost::cli::CONFIG_ENV);
    let path = outpost::cli::resolve_config(
        cli.config.as_deref(),
        env.as_deref(),
        outpost::cli::CONFIG_SEARCH_PATH,
    )
    .map_err(LoadFailure::NoFile)?;
    Config::load_with(&path, web_config_file).map_err(|errors| LoadFailure::Invalid(path, errors))
}

/// As [`try_load`]; `None` after printing why not on stderr: where it looked, or
/// every error with its line and a caret under the mistake.
fn load(cli: &GlobalArgs, web_config_file: Option<&Path>) -> Option<Config> {
    report_load(try_load(cli, web_config_file))
}

/// The configuration, or `None` after printing why there is none.
fn report_load(loaded: Result<Config, LoadFailure>) -> Option<Config> {
    match loaded {
        Ok(config) => Some(config),
        Err(LoadFailure::NoFile(e)) => {
            eprintln!("outpost: {e}");
            None
        }
        Err(LoadFailure::Invalid(path, errors)) => {
            eprint!("{}", errors.with_snippets());
            eprintln!(
                "{}: {} error(s); not started",
                path.display(),
                errors.0.len()
            );
            None
        }
    }
}

async fn check(cli: &GlobalArgs, args: &CheckArgs) -> anyhow::Result<ExitCode> {
    if args.format == CheckFormat::Json {
        return check_json(cli, args);
    }
    let Some(c) = load(cli, args.web_config_file.as_deref()) else {
        return Ok(ExitCode::from(EXIT_USAGE));
    };
    // A warning, not an error: the exit code stays 0.
    if let Some(warning) = outpost::cli::open_probe_warning(&c, &args.listen()) {
        eprintln!("{warning}");
    }
    let discover = match c.discover.len() {
        0 => String::new(),
        1 => ", 1 discover entry".to_string(),
        n => format!(", {n} discover entries"),
    };
    println!(
        "{}: OK: {} modules, {} probes{discover}",
        c.source.display(),
        c.modules.len(),
        c.probes.len()
    );
    if args.aws {
        return check_aws(&c).await;
    }
    Ok(ExitCode::SUCCESS)
}

/// `outpost check --aws`: the AWS side tried for real, after the file passed.
async fn check_aws(c: &Config) -> anyhow::Result<ExitCode> {
    let Some(aws) = &c.aws else {
        eprintln!(
            "outpost: {} has no [aws] section: --aws has nothing to try",
            c.source.display()
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    };
    let findings = outpost::aws::preflight::run(aws, &Default::default()).await;
    write_stdout(outpost::aws::preflight::text(&findings).as_bytes())?;
    Ok(if findings.iter().all(|f| f.result.is_ok()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// `outpost check --format json`: the errors as one JSON array on stdout (`[]`
/// when the file is valid), the exit code as in text; the /probe warning, not an
/// error, stays on stderr.
fn check_json(cli: &GlobalArgs, args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let (errors, code) = match try_load(cli, args.web_config_file.as_deref()) {
        Ok(c) => {
            if let Some(warning) = outpost::cli::open_probe_warning(&c, &args.listen()) {
                eprintln!("{warning}");
            }
            (ConfigErrors(Vec::new()), ExitCode::SUCCESS)
        }
        Err(LoadFailure::NoFile(e)) => (
            ConfigErrors(vec![e.to_config_error()]),
            ExitCode::from(EXIT_USAGE),
        ),
        Err(LoadFailure::Invalid(_, errors)) => (errors, ExitCode::from(EXIT_USAGE)),
    };
    let mut json = errors
        .to_json()
        .context("cannot encode the errors as JSON")?;
    json.push('\n');
    write_stdout(json.as_bytes())?;
    Ok(code)
}

/// `outpost rules`: the SLOs' rule file on stdout, or the config's errors as
/// `check` prints them.
fn rules(cli: &GlobalArgs, runbook_base: &str) -> anyhow::Result<ExitCode> {
    let Some(config) = load(cli, None) else {
        return Ok(ExitCode::from(EXIT_USAGE));
    };
    let text = outpost::slo_rules::render(&config, runbook_base);
    write_stdout(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `outpost man`: outpost(1) to stdout, or every page into `out_dir`.
fn man(out_dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    match out_dir {
        Some(dir) => outpost::cli::write_man_pages(dir)
            .with_context(|| format!("cannot write the man pages into {}", dir.display()))?,
        None => write_stdout(&outpost::cli::man_page().context("cannot render the man page")?)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Written, not print!ed: a closed pipe (`outpost rules | head`) is an error to
/// report, not a panic.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    std::io::Write::write_all(&mut stdout, bytes)
        .and_then(|()| std::io::Write::flush(&mut stdout))
        .context("cannot write to stdout")
}

async fn run(cli: &GlobalArgs, daemon: &DaemonArgs) -> anyhow::Result<ExitCode> {
    let Some(config) = load(cli, daemon.web_config_file.as_deref()) else {
        return Ok(ExitCode::from(EXIT_USAGE));
    };
    let signals = daemon::Signals::register().context("cannot install signal handlers")?;
    let listener = bind(&daemon.listen).await?;
    if let Some(warning) = outpost::cli::open_probe_warning(&config, &daemon.listen) {
        tracing::warn!("{}", warning.trim_start_matches("warning: "));
    }
    tracing::info!(
        address = %listener.local_addr().map_or_else(|_| daemon.listen.clone(), |a| a.to_string()),
        config = %config.source.display(),
        probes = config.probes.len(),
        version = env!("CARGO_PKG_VERSION"),
        "outpost started"
    );
    let shutdown = CancellationToken::new();
    let (shard, auto_shard) = match daemon.shard {
        None => (None, None),
        Some(ShardFlag::Fixed(shard)) => (Some(shard), None),
        Some(ShardFlag::Auto) => {
            let hostname = std::env::var("HOSTNAME")
                .ok()
                .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok());
            let auto = AutoShard::from_env(|k| std::env::var(k).ok(), hostname.as_deref())?;
            tracing::info!(ordinal = auto.ordinal, count = ?auto.count, "--shard auto");
            (None, Some(auto))
        }
    };
    let options = Options {
        watch_interval: daemon.watch_config,
        shard,
        auto_shard,
        ..Options::default()
    };
    let daemon = Daemon::start(config, listener, options, shutdown.clone())
        .context("cannot start the probe thread")?;
    let signals = tokio::spawn(daemon::handle_signals(
        signals,
        daemon.app.clone(),
        shutdown.clone(),
    ));
    daemon.wait().await.context("serving HTTP failed")?;
    shutdown.cancel();
    let _ = signals.await;
    tracing::info!("outpost stopped");
    Ok(ExitCode::SUCCESS)
}

/// Binds the first of `--listen`'s candidate addresses that works.
async fn bind(listen: &str) -> anyhow::Result<tokio::net::TcpListener> {
    let mut last_error = None;
    for address in listen_addresses(listen) {
        match tokio::net::TcpListener::bind(&address).await {
            Ok(listener) => return Ok(listener),
            Err(e) => {
                last_error =
                    Some(anyhow::Error::new(e).context(format!("cannot listen on {address}")))
            }
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("no address to listen on in {listen:?}")))
}

/// Which module `outpost probe` runs: one of the configuration's, or one made
/// from `--prober` and `--set` with no configuration.
struct ProbeWith<'a> {
    module: Option<&'a str>,
    prober: Option<probe::ProberKind>,
    set: &'a [String],
}

/// The module to run and the name it is shown by; `None` after saying why not.
fn probe_module(cli: &GlobalArgs, how: &ProbeWith<'_>) -> Option<(Arc<Module>, String)> {
    if let Some(kind) = how.prober {
        let config = match outpost::config::inline::config(kind, how.set) {
            Err(e) => {
                eprintln!("outpost: {e}");
                return None;
            }
            Ok(Err(errors)) => {
                eprint!("{}", errors.with_snippets());
                eprintln!(
                    "--prober {kind}: {} error(s) in the --set options",
                    errors.0.len()
                );
                return None;
            }
            Ok(Ok(config)) => config,
        };
        let module = config.module(outpost::config::inline::MODULE)?.clone();
        return Some((module, format!("--prober {kind}")));
    }
    let name = how.module.unwrap_or("http_2xx");
    let config = match try_load(cli, None) {
        Err(LoadFailure::NoFile(e)) => {
            eprintln!("outpost: {e}");
            eprintln!(
                "(hint: `outpost probe --prober http TARGET` probes without a configuration)"
            );
            return None;
        }
        other => report_load(other)?,
    };
    let Some(module) = config.module(name) else {
        eprintln!(
            "outpost: unknown module {name:?} (hint: {})",
            config.unknown_module_hint(name)
        );
        return None;
    };
    Some((module.clone(), name.to_string()))
}

async fn probe_once(
    cli: &GlobalArgs,
    target: &str,
    how: ProbeWith<'_>,
    timeout: Option<std::time::Duration>,
    metrics: bool,
    format: CheckFormat,
) -> anyhow::Result<ExitCode> {
    let Some((module, module_name)) = probe_module(cli, &how) else {
        return Ok(ExitCode::from(EXIT_USAGE));
    };
    let module_name = module_name.as_str();
    let timeout = timeout
        .or(module.timeout)
        .unwrap_or(std::time::Duration::from_secs(10));
    let mut ctx = ProbeContext::new(timeout);
    ctx.debug = true;
    let report = probe::run(&module, target, &ctx).await;
    let series = metrics.then(|| {
        outpost::metrics::render::render_report(outpost::metrics::encode::Format::Text, &report)
    });
    let text = match format {
        CheckFormat::Text => probe::verdict::text(module_name, target, &report, series.as_deref()),
        CheckFormat::Json => probe::verdict::json(module_name, target, &report, series.as_deref()),
    };
    write_stdout(text.as_bytes())?;
    Ok(if report.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    })
}

/// `outpost import-blackbox`: the TOML on stdout, or every refusal on stderr and
/// exit 2.
fn import_blackbox(
    blackbox_yml: &std::path::Path,
    scrape: Option<(&std::path::Path, &str)>,
) -> anyhow::Result<ExitCode> {
    let scrape = scrape.map(|(file, job)| outpost::import::ScrapeJob { file, job });
    match outpost::import::import_blackbox(blackbox_yml, scrape) {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            std::io::Write::write_all(&mut stdout, text.as_bytes())
                .and_then(|()| std::io::Write::flush(&mut stdout))
                .context("cannot write the TOML to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            eprintln!("{}: not imported", blackbox_yml.display());
            Ok(ExitCode::from(EXIT_USAGE))
        }
    }
}
