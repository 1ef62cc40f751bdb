//! outpost: a synthetic prober and AWS scraper for Prometheus.
//!
//! # Layout
//! ```text
//! probes.toml ─▶ config::file (serde mirror, spans) ─▶ config::validate ─▶ Config
//! Config ─▶ scheduler ─▶ probe::run(module, target, ctx) ─▶ ProbeReport ─▶ results ─▶ /metrics
//! GET /probe ──────────▶ probe::run(...) ─▶ ProbeReport ─▶ encoded for that response only
//! outpost probe ───────▶ probe::run(...) ─▶ ProbeReport ─▶ printed trace
//! aws scraper (own interval) ─▶ cache snapshot ─▶ metrics::source::Source ─▶ /metrics
//! ```
//! - [`config`]: the file model, one validation pass, the typed [`config::Config`].
//! - [`probe`]: one file per prober behind one signature; shared `net` and `tls`.
//! - [`metrics`]: metric names, the exposition writer, and the [`metrics::source::Source`]
//!   seam: `/metrics` walks a list of sources (scheduled probes, daemon, process,
//!   AWS caches), each declaring its families and encoding stored state.
//! - [`aws`]: `[aws]` scrapes, one task per region × service on its own interval
//!   into a cache that is a `/metrics` source; no `[aws]`, no AWS client.
//! - [`scheduler`]: owns time: intervals, start spread, concurrency cap, reload diff;
//!   [`shard`]: which replica runs a probe when the list is split (`--shard I/N`);
//!   [`probe_thread`]: the thread the scheduled runs live on, apart from serving.
//! - [`results`]: per probe, the latest report and run statistics, swapped together,
//!   and the [`history`] ring of its recent runs for the status page.
//! - [`redact`]: what of a secret may be shown (URL passwords, credential headers).
//! - [`server`]: the HTTP endpoints and the status page; [`app`]: shared state and reloads;
//!   [`daemon`]: the assembly, signals and shutdown; [`cli`]: the command line.
//! - [`slo_rules`]: `outpost rules`, the Prometheus rules of the `[[slos]]` entries.
//! - [`import`]: `outpost import-blackbox`, a Blackbox Exporter configuration as TOML.
//! - `fuzzing` (hidden): entry points of `fuzz/`'s targets into private parsers.
//!
//! Seams for what comes next: a prober is a module under `probe/` exporting the
//! items listed in `probe/kind.rs`, plus one line in that file's table; every
//! dispatch ([`probe::ProberKind`], [`probe::Prober`]) is derived from it. AWS
//! scrapes refresh a cache on their own interval, and each cache is a `/metrics`
//! source beside the probes (a reload swaps them when `[aws]` changes); a
//! `/probe` target policy and listener auth go in `server`'s routing.

pub mod allocator;
pub mod app;
pub mod aws;
pub mod civil_date;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod discovery;
pub mod fanout;
#[doc(hidden)]
pub mod fuzzing;
pub mod history;
pub mod import;
pub mod metrics;
pub mod probe;
pub mod probe_thread;
pub mod redact;
pub mod results;
pub mod scheduler;
pub mod server;
pub mod shard;
pub mod slo_rules;
