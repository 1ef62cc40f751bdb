//! The validated configuration: what the rest of outpost runs on.
//!
//! `probes.toml` is read in two stages (as ripgrep does with its flags): [`mod@file`]
//! mirrors the TOML with serde and keeps source spans; [`validate`] checks the whole
//! file in one pass, collecting *every* error with `file:line:col`, and builds the
//! types below. Once a [`Config`] exists, durations are parsed, regexes compiled,
//! files read and certificates loaded, and each [`Module`] holds exactly its
//! prober's settings. Nothing downstream re-parses or re-validates.

pub mod aws;
mod discover;
pub mod duration;
pub mod error;
pub mod file;
pub mod identity;
pub mod inline;
pub mod listener;
pub mod policy;
pub mod secret;
pub mod validate;
pub mod web_file;

mod modules;
mod probes;
pub(crate) mod shared;
mod slos;
mod split;
pub(crate) mod tls_files;
pub(crate) mod tree;
pub(crate) mod values;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

pub use crate::probe::dns::{DnsModule, RrRules, Transport};
pub use crate::probe::http::{Auth, Compression, HeaderMatch, HttpModule, DEFAULT_MAX_REDIRECTS};
pub use crate::probe::http::{CelRule, ExtraHeader};
pub use crate::probe::icmp::IcmpModule;
pub use crate::probe::mysql::MysqlModule;
pub use crate::probe::tcp::TcpModule;
pub use crate::probe::{Prober, ProberKind};
pub use aws::{AwsConfig, AwsService};
pub use error::{ConfigError, ConfigErrors, Snippet};
pub use identity::ModuleIdentity;
pub use listener::{BasicAuthUsers, ClientAuthType, ListenerTls, PasswordHash};
pub use slos::{LatencyObjective, SliSource, SloSelector, SloSpec};
pub use slos::{DEFAULT_SLO_WINDOW, MAX_SLO_WINDOW, MIN_SLO_WINDOW};

/// The timeout of a run whose probe and module set none (capped by the probe's
/// interval).
pub const DEFAULT_MODULE_TIMEOUT: Duration = Duration::from_secs(10);

/// Default buckets of `probe_run_duration_seconds`: exactly the two boundaries
/// the shipped rules read, the SLA's "< 500 ms" and the "response > 2 s" alert.
/// Every further bucket is one more series per probe (and per replica and
/// region), so finer resolution is a per-module choice (`run_duration_buckets`);
/// the latest run's exact duration is `probe_duration_seconds` anyway.
pub const DEFAULT_RUN_DURATION_BUCKETS: &[f64] = &[0.5, 2.0];

/// A loaded, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from (for messages and reloads).
    pub source: PathBuf,
    pub server: ServerConfig,
    pub modules: BTreeMap<String, Arc<Module>>,
    pub probes: Vec<ProbeSpec>,
    /// `[[slos]]`, in file order: what `outpost rules` writes rules for; the
    /// daemon does not use them.
    pub slos: Vec<SloSpec>,
    /// `[aws]`; `None` when absent, and then no AWS client is ever built.
    pub aws: Option<aws::AwsConfig>,
    /// `[[discover]]`, in file order: probes of what the AWS scrape finds.
    pub discover: Vec<crate::discovery::DiscoverSpec>,
    /// `--web.config.file`: where `server.tls` and `server.basic_auth_users` came
    /// from instead of `[server]`; read again on every reload.
    pub web_config_file: Option<PathBuf>,
}

impl Config {
    /// Reads, parses and validates `path`. Every problem found is returned at once.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        validate::load(path, None)
    }

    /// As [`Config::load`], with the listener's TLS and basic auth read from
    /// exporter-toolkit's web config YAML at `web_config_file` when given
    /// (`--web.config.file`); `[server]` must not set them too.
    pub fn load_with(path: &Path, web_config_file: Option<&Path>) -> Result<Config, ConfigErrors> {
        validate::load(path, web_config_file)
    }

    /// Parses and validates `text` as if it had been read from `path`.
    pub fn from_str_at(text: &str, path: &Path) -> Result<Config, ConfigErrors> {
        validate::parse_and_validate(text, path)
    }

    pub fn module(&self, name: &str) -> Option<&Arc<Module>> {
        self.modules.get(name)
    }

    /// What to tell someone who asked for module `name` that is not defined: a
    /// "did you mean" when a defined one is close, and the defined ones, as
    /// `outpost check` says it of a `[[probes]]` entry.
    pub fn unknown_module_hint(&self, name: &str) -> String {
        let names: Vec<&str> = self.modules.keys().map(String::as_str).collect();
        probes::unknown_module_hint(name, &names)
    }
}

/// `[server]`: daemon-wide settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Upper bound on scheduled probe runs in flight at once.
    pub max_concurrent_probes: usize,
    /// Connections the listener serves at once; past it, new ones wait in the
    /// kernel's backlog. Read at start.
    pub max_connections: usize,
    /// `[server.probe_endpoint]`: whether `/probe` serves, and its own cap.
    pub probe_endpoint: ProbeEndpointConfig,
    /// Subtracted from `X-Prometheus-Scrape-Timeout-Seconds` on `/probe` (Blackbox's
    /// `--timeout-offset`).
    pub timeout_offset: Duration,
    /// `shard = "I/N"`: run only the probes of shard I of N (`--shard` overrides it).
    pub shard: Option<crate::shard::Shard>,
    /// `[server.tls_server_config]` (or the web config file's): `None` serves plain HTTP.
    pub tls: Option<Arc<ListenerTls>>,
    /// `[server.basic_auth_users]` (or the web config file's): `None` asks for no
    /// credentials.
    pub basic_auth_users: Option<Arc<BasicAuthUsers>>,
    /// Runs each scheduled probe keeps for the status page (`status_history`),
    /// within [`STATUS_HISTORY_RANGE`].
    pub status_history: usize,
}

/// The default of `[server] status_history`: at a 15 s interval, the last 15 minutes.
pub const DEFAULT_STATUS_HISTORY: usize = 60;

/// The values `[server] status_history` may take. The upper bound keeps a probe's
/// ring at 12 KiB and its row of the status page readable.
pub const STATUS_HISTORY_RANGE: std::ops::RangeInclusive<usize> = 1..=1000;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_concurrent_probes: 256,
            max_connections: 1024,
            probe_endpoint: ProbeEndpointConfig::default(),
            timeout_offset: Duration::from_millis(500),
            shard: None,
            tls: None,
            basic_auth_users: None,
            status_history: DEFAULT_STATUS_HISTORY,
        }
    }
}

/// `[server.probe_endpoint]`. `/probe` has a cap of its own, apart from the
/// scheduled runs', so a flood of `/probe` requests at stalling targets is refused
/// at its cap instead of taking the slots scheduled probes run in.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeEndpointConfig {
    /// `false`: `/probe` answers 404 and probes nothing.
    pub enabled: bool,
    /// `/probe` runs in flight at once; a request past it is answered 503 at once.
    pub max_concurrent: usize,
    /// Which targets `/probe` may reach ([`policy::TargetPolicy`]).
    pub policy: Arc<policy::TargetPolicy>,
    /// Hold scheduled `[[probes]]` to the same policy (default: only `/probe`).
    pub apply_to_scheduled_probes: bool,
}

impl Default for ProbeEndpointConfig {
    fn default() -> Self {
        ProbeEndpointConfig {
            enabled: true,
            max_concurrent: 128,
            policy: Arc::default(),
            apply_to_scheduled_probes: false,
        }
    }
}

/// `[modules.NAME]`: how to probe, independent of what.
#[derive(Debug, Clone)]
pub struct Module {
    pub name: String,
    /// The module's own `timeout`, if set. Effective timeouts are worked out by the
    /// caller (scheduler or `/probe`), which knows the interval or scrape timeout.
    pub timeout: Option<Duration>,
    pub prober: Prober,
    /// Buckets of `probe_run_duration_seconds` for probes using this module.
    pub run_duration_buckets: Vec<f64>,
    /// `precreate_failure_reasons`: every failure reason of the prober exists in
    /// `probe_failures_total` at 0 from the start, not only once it happened.
    pub precreate_failure_reasons: bool,
    /// The module as written, secrets replaced by `<secret>`, for `debug=true`.
    pub redacted: String,
    /// What the reload diff compares: a hash of the settings and the files they
    /// name, holding no secret (see [`ModuleIdentity`]).
    pub identity: ModuleIdentity,
}

/// `preferred_ip_protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpProtocol {
    Ip4,
    /// Blackbox's default, kept for parity.
    #[default]
    Ip6,
}

/// Address selection, shared by every prober that resolves a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpSettings {
    pub preferred: IpProtocol,
    /// `ip_protocol_fallback` (default true): use the other family when the preferred
    /// one has no address. Never applied to a failed connect.
    pub fallback: bool,
    /// `source_ip_address`: local address to bind before connecting.
    pub source_ip: Option<IpAddr>,
}

impl Default for IpSettings {
    fn default() -> Self {
        IpSettings {
            preferred: IpProtocol::Ip6,
            fallback: true,
            source_ip: None,
        }
    }
}

/// `min_version` / `max_version`. rustls speaks only TLS 1.2 and 1.3; `TLS10` and
/// `TLS11` are accepted as minimums and mean "anything rustls speaks".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

/// `tls_config`, with files already read and parsed.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// Roots from `ca_file`; `None` means the system's trust store.
    pub ca: Option<Arc<RootCertStore>>,
    /// `cert_file` + `key_file`: client certificate chain and key for mTLS.
    pub client_cert: Option<ClientCert>,
    /// `server_name`: SNI and the name verified; defaults to the target's host.
    pub server_name: Option<String>,
    pub insecure_skip_verify: bool,
    pub min_version: Option<TlsVersion>,
    pub max_version: Option<TlsVersion>,
}

#[derive(Debug)]
pub struct ClientCert {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Clone for ClientCert {
    fn clone(&self) -> Self {
        ClientCert {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

/// One `[[probes]]` entry: what to probe, with which module, how often.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSpec {
    pub name: String,
    pub module: String,
    pub target: String,
    pub interval: Duration,
    /// The effective timeout: the probe's own, else the module's, else the smaller
    /// of the interval and 10 s (Prometheus' default scrape timeout).
    pub timeout: Duration,
    /// Static labels, in the order written.
    pub labels: Vec<(String, String)>,
    /// `fan_out = "all"`: every address of the target's host, each probed.
    /// Boxed: most probes have none, and inline it would be 32 bytes in each.
    pub fan_out: Option<Box<crate::fanout::FanOut>>,
    /// A `[[probes]]` entry, or made by `[[discover]]`.
    pub origin: Origin,
}

/// Where a scheduled probe comes from. A reload diffs the configuration's
/// probes and leaves the discovered ones to discovery, which diffs its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// A `[[probes]]` entry.
    #[default]
    Config,
    /// Made by a `[[discover]]` entry from a resource the AWS scrape found.
    Discovered,
}
