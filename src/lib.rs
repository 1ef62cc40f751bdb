//! outpost: a synthetic prober and AWS scraper for Prometheus.
//!
//! # Layout
//! ```text
//! probes.toml ─▶ config::file (serde mirror, spans) ─▶ config::validate ─▶ Config
//! Config ─▶ scheduler ─▶ probe::run(module, target, ctx) ─▶ ProbeReport ─▶ results ─▶ /metrics
//! GET /probe ──────────▶ probe::run(...) ─▶ ProbeReport ─▶ encoded for that response only
//! outpost probe ───────▶ probe::run(...) ─▶ ProbeReport ─▶ printed trace
//! ```
//! - [`config`]: the file model, one validation pass, the typed [`config::Config`].
//! - [`probe`]: one file per prober behind one signature; shared `net` and `tls`.
//! - [`metrics`]: metric names, the exposition writer, renderers.

pub mod app;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod metrics;
pub mod probe;
pub mod results;
pub mod scheduler;
pub mod server;
