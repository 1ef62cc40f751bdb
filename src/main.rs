//! The `outpost` binary: parse the command line, set up logging, run, and turn
//! errors into messages and exit codes. Everything else lives in the library.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use outpost::cli::{listen_addresses, Cli, Command, LogFormat};
use outpost::config::Config;
use outpost::daemon::{self, Daemon, Options};
use outpost::probe::{self, ProbeContext};
use tokio_util::sync::CancellationToken;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("outpost: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            None | Some(Command::Run) => run(&cli).await,
            Some(Command::Check) => Ok(check(&cli)),
            Some(Command::Probe {
                target,
                module,
                timeout,
            }) => probe_once(&cli, target, module, *timeout).await,
            Some(Command::Rules { runbook_base }) => rules(&cli, runbook_base),
            Some(Command::ImportBlackbox {
                blackbox_yml,
                scrape_config,
                job,
            }) => import_blackbox(blackbox_yml, scrape_config.as_deref().zip(job.as_deref())),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("outpost: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(cli: &Cli) {
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

fn load(cli: &Cli) -> Option<Config> {
    match Config::load_with(&cli.config, cli.web_config_file.as_deref()) {
        Ok(c) => Some(c),
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!(
                "{}: {} error(s); not started",
                cli.config.display(),
                errors.0.len()
            );
            None
        }
    }
}

fn check(cli: &Cli) -> ExitCode {
    match load(cli) {
        Some(c) => {
            // A warning, not an error: the exit code stays 0.
            if let Some(warning) = outpost::cli::open_probe_warning(&c, &cli.listen) {
                eprintln!("{warning}");
            }
            println!(
                "{}: OK: {} modules, {} probes",
                cli.config.display(),
                c.modules.len(),
                c.probes.len()
            );
            ExitCode::SUCCESS
        }
        None => ExitCode::FAILURE,
    }
}

/// `outpost rules`: the SLOs' rule file on stdout, or the config's errors as
/// `check` prints them.
fn rules(cli: &Cli, runbook_base: &str) -> anyhow::Result<ExitCode> {
    let Some(config) = load(cli) else {
        return Ok(ExitCode::FAILURE);
    };
    let text = outpost::slo_rules::render(&config, runbook_base);
    // Written, not print!ed: a closed pipe (`outpost rules | head`) is an error
    // to report, not a panic.
    let mut stdout = std::io::stdout().lock();
    std::io::Write::write_all(&mut stdout, text.as_bytes())
        .and_then(|()| std::io::Write::flush(&mut stdout))
        .context("cannot write the rules to stdout")?;
    Ok(ExitCode::SUCCESS)
}

async fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let Some(config) = load(cli) else {
        return Ok(ExitCode::FAILURE);
    };
    let signals = daemon::Signals::register().context("cannot install signal handlers")?;
    let listener = bind(&cli.listen).await?;
    if let Some(warning) = outpost::cli::open_probe_warning(&config, &cli.listen) {
        tracing::warn!("{}", warning.trim_start_matches("warning: "));
    }
    tracing::info!(
        address = %listener.local_addr().map_or_else(|_| cli.listen.clone(), |a| a.to_string()),
        config = %cli.config.display(),
        probes = config.probes.len(),
        version = env!("CARGO_PKG_VERSION"),
        "outpost started"
    );
    let shutdown = CancellationToken::new();
    let options = Options {
        watch_interval: cli.watch_config,
        shard: cli.shard,
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

async fn probe_once(
    cli: &Cli,
    target: &str,
    module_name: &str,
    timeout: Option<std::time::Duration>,
) -> anyhow::Result<ExitCode> {
    let Some(config) = load(cli) else {
        return Ok(ExitCode::from(2));
    };
    let Some(module) = config.module(module_name) else {
        let known: Vec<&str> = config.modules.keys().map(String::as_str).collect();
        anyhow::bail!(
            "unknown module {module_name:?}; modules defined: {}",
            known.join(", ")
        );
    };
    let timeout = timeout
        .or(module.timeout)
        .unwrap_or(std::time::Duration::from_secs(10));
    let mut ctx = ProbeContext::new(timeout);
    ctx.debug = true;
    let report = probe::run(module, target, &ctx).await;
    for line in &report.trace {
        println!("{line}");
    }
    println!();
    print!(
        "{}",
        outpost::metrics::render::render_report(outpost::metrics::encode::Format::Text, &report)
    );
    Ok(if report.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
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
            Ok(ExitCode::from(2))
        }
    }
}
