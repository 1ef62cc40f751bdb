//! The daemon's own series (`outpost_*`) and the process' (`process_*`), each a
//! [`Source`] of `/metrics`. The counters the HTTP side keeps live here, shared
//! by the app that counts and the source that shows them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::encode::Encoder;
use super::names::{self, Family};
use super::process;
use super::source::Source;
use crate::scheduler::{Limiter, Scheduler};

/// The reload state shown on `/metrics` and the status page.
#[derive(Debug, Clone, PartialEq)]
pub struct ReloadStatus {
    pub last_successful: bool,
    /// When the running configuration was loaded: at start, then by every
    /// successful reload.
    pub last_success_timestamp: f64,
    /// When the latest reload was tried, successful or not; `None` before the first.
    pub last_attempt_timestamp: Option<f64>,
    /// The errors of the latest reload when it failed, one line each
    /// (`file:line:col: key: message`); empty after a success.
    pub errors: Vec<String>,
}

/// What the daemon counts besides the scheduler: reloads and `/probe` requests.
#[derive(Debug)]
pub struct DaemonStats {
    reload: Mutex<ReloadStatus>,
    /// `/probe` answers by (module, status code).
    probe_requests: Mutex<BTreeMap<(String, u16), u64>>,
    module_unknown: AtomicU64,
}

impl DaemonStats {
    pub fn new() -> Self {
        DaemonStats {
            reload: Mutex::new(ReloadStatus {
                last_successful: true,
                last_success_timestamp: process::unix_now(),
                last_attempt_timestamp: None,
                errors: Vec::new(),
            }),
            probe_requests: Mutex::new(BTreeMap::new()),
            module_unknown: AtomicU64::new(0),
        }
    }

    /// The reload status, to read or update.
    pub fn reload(&self) -> MutexGuard<'_, ReloadStatus> {
        self.reload.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn count_probe_request(&self, module: &str, code: u16) {
        let mut m = self
            .probe_requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *m.entry((module.to_string(), code)).or_insert(0) += 1;
    }

    pub fn count_unknown_module(&self) {
        self.module_unknown.fetch_add(1, Ordering::Relaxed);
    }

    fn probe_requests(&self) -> Vec<((String, u16), u64)> {
        self.probe_requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

impl Default for DaemonStats {
    fn default() -> Self {
        Self::new()
    }
}

/// `outpost_*`: build, reloads, scheduler and `/probe` figures.
#[derive(Debug)]
pub struct DaemonSeries {
    pub stats: Arc<DaemonStats>,
    pub scheduler: Arc<Scheduler>,
    /// The scheduled runs' and `/probe`'s caps, whose runs in flight add up.
    pub limiters: [Arc<Limiter>; 2],
}

impl Source for DaemonSeries {
    fn families(&self) -> &[Family] {
        names::DAEMON
    }

    fn encode(&self, enc: &mut Encoder) {
        let gauge = |enc: &mut Encoder, name: &str, value: f64| {
            enc.start_declared(name);
            enc.sample(&[], value);
        };
        // The two fields read, not the whole status (its errors are the status page's).
        let (last_successful, last_success_timestamp) = {
            let r = self.stats.reload();
            (r.last_successful, r.last_success_timestamp)
        };
        enc.start_declared(names::OUTPOST_BUILD_INFO);
        enc.sample(&[("version", env!("CARGO_PKG_VERSION"))], 1.0);
        gauge(
            enc,
            names::OUTPOST_CONFIG_LAST_RELOAD_SUCCESSFUL,
            if last_successful { 1.0 } else { 0.0 },
        );
        gauge(
            enc,
            names::OUTPOST_CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS,
            last_success_timestamp,
        );
        gauge(enc, names::OUTPOST_PROBES, self.scheduler.len() as f64);
        gauge(
            enc,
            names::OUTPOST_PROBES_IN_FLIGHT,
            self.limiters.iter().map(|l| l.in_flight()).sum::<i64>() as f64,
        );
        if let Some(shard) = self.scheduler.shard() {
            gauge(enc, names::OUTPOST_SHARD_INDEX, f64::from(shard.index()));
            gauge(enc, names::OUTPOST_SHARD_COUNT, f64::from(shard.count()));
        }
        enc.start_declared(names::OUTPOST_SCHEDULER_LAG_SECONDS);
        let lag = self.scheduler.stats().lag();
        enc.histogram(
            &[],
            lag.bounds(),
            lag.cumulative_counts(),
            lag.sum(),
            lag.count(),
        );
        gauge(
            enc,
            names::OUTPOST_SCHEDULER_SKIPPED_RUNS_TOTAL,
            self.scheduler.stats().skipped() as f64,
        );
        enc.start_declared(names::OUTPOST_PROBE_REQUESTS_TOTAL);
        for ((module, code), n) in &self.stats.probe_requests() {
            enc.sample(
                &[("module", module), ("code", &code.to_string())],
                *n as f64,
            );
        }
        gauge(
            enc,
            names::OUTPOST_MODULE_UNKNOWN_TOTAL,
            self.stats.module_unknown.load(Ordering::Relaxed) as f64,
        );
    }
}

/// `process_*`, read from `/proc/self` on each scrape (a few small reads of a
/// kernel pseudo-filesystem, which never block on the network).
#[derive(Debug, Default)]
pub struct ProcessSeries;

impl Source for ProcessSeries {
    fn families(&self) -> &[Family] {
        names::PROCESS
    }

    fn encode(&self, enc: &mut Encoder) {
        let Some(p) = process::read() else { return };
        let mut one = |name: &str, value: f64| {
            enc.start_declared(name);
            enc.sample(&[], value);
        };
        one(names::PROCESS_CPU_SECONDS_TOTAL, p.cpu_seconds);
        one(names::PROCESS_RESIDENT_MEMORY_BYTES, p.resident_bytes);
        one(names::PROCESS_VIRTUAL_MEMORY_BYTES, p.virtual_bytes);
        one(names::PROCESS_START_TIME_SECONDS, p.start_time_seconds);
        one(names::PROCESS_OPEN_FDS, p.open_fds);
        if let Some(max) = p.max_fds {
            one(names::PROCESS_MAX_FDS, max);
        }
        one(names::PROCESS_THREADS, p.threads);
    }
}
