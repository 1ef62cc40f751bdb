//! What the status page shows, as data: collected from the results store, the
//! history rings, the reload status and the AWS caches, then either written as
//! HTML ([`super::html`]) or serialized as `/api/v1/status` (the same fields).

use std::sync::Arc;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use super::aws::AwsStatus;
use super::filter::Filter;
use super::text::reason_words;
use crate::history::Run;
use crate::metrics::names;
use crate::results::ProbeState;

/// Up: the latest run succeeded. Down: it failed. Pending: no run yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum State {
    Up,
    Down,
    #[default]
    Pending,
}

impl State {
    pub(super) const ALL: [State; 3] = [State::Up, State::Down, State::Pending];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            State::Up => "up",
            State::Down => "down",
            State::Pending => "pending",
        }
    }

    pub(super) fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// The whole page.
#[derive(Debug, Serialize)]
pub(super) struct Status {
    /// Unix seconds.
    pub(super) generated_at: f64,
    pub(super) config: ConfigStatus,
    /// The probes the label filters let through, by state (the state filter
    /// aside, so the page can say how many each state link would show).
    pub(super) counts: Counts,
    /// The probes every filter lets through, in configuration order.
    pub(super) probes: Vec<ProbeStatus>,
    /// `None` without `[aws]`.
    pub(super) aws: Option<AwsStatus>,
}

#[derive(Debug, Default, Serialize)]
pub(super) struct Counts {
    pub(super) total: usize,
    pub(super) up: usize,
    pub(super) down: usize,
    pub(super) pending: usize,
}

impl Counts {
    pub(super) fn of(&self, state: State) -> usize {
        match state {
            State::Up => self.up,
            State::Down => self.down,
            State::Pending => self.pending,
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct ConfigStatus {
    pub(super) file: String,
    pub(super) modules: usize,
    /// Every scheduled probe, filtered or not.
    pub(super) scheduled_probes: usize,
    /// `[server] status_history`.
    pub(super) status_history: usize,
    pub(super) reload: ReloadView,
}

#[derive(Debug, Serialize)]
pub(super) struct ReloadView {
    /// When the running configuration was loaded (start or last good reload).
    pub(super) loaded_at: f64,
    /// When the latest reload was tried; `None` before the first.
    pub(super) last_attempt: Option<f64>,
    pub(super) successful: bool,
    /// The latest reload's errors when it failed, `file:line:col: key: message`.
    pub(super) errors: Vec<String>,
}

/// One scheduled probe.
#[derive(Debug, Clone, Default, Serialize)]
pub(super) struct ProbeStatus {
    pub(super) name: String,
    pub(super) module: String,
    /// With any URL password hidden, as on `/metrics`.
    pub(super) target: String,
    /// Static labels, in the order written (a JSON object).
    #[serde(serialize_with = "as_map")]
    pub(super) labels: Vec<(String, String)>,
    pub(super) interval_seconds: f64,
    pub(super) state: State,
    /// When the current state began (the first run of the streak), Unix seconds.
    pub(super) state_since: Option<u32>,
    pub(super) latest: Option<Latest>,
    /// `probe_ssl_earliest_cert_expiry` of the latest run, when it saw a certificate.
    pub(super) tls_cert_expiry: Option<f64>,
    /// The runs the ring can hold (`status_history`).
    pub(super) history_limit: usize,
    /// Oldest first.
    pub(super) history: Vec<HistoryRun>,
    /// A `fan_out` probe's addresses, in address order, each with its latest
    /// run; empty for any other probe.
    pub(super) addresses: Vec<AddressStatus>,
    /// `Some` for a probe a `[[discover]]` entry made.
    pub(super) discovered: Option<DiscoveredStatus>,
}

/// How a discovered probe came to be, and whether its resource is still there.
#[derive(Debug, Clone, Serialize)]
pub(super) struct DiscoveredStatus {
    /// The `[[discover]]` entry's name.
    pub(super) by: String,
    /// The resource is gone from the latest good scrapes: the probe does not
    /// run, its series stay until the grace is over.
    pub(super) resource_gone: bool,
}

/// One address of a `fan_out` probe.
#[derive(Debug, Clone, Serialize)]
pub(super) struct AddressStatus {
    pub(super) ip: String,
    pub(super) state: State,
    pub(super) latest: Option<Latest>,
}

/// The latest run.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Latest {
    /// Unix seconds.
    pub(super) started: f64,
    pub(super) duration_seconds: f64,
    /// `success` or the failure reason's label (`probe_failures_total{reason}`).
    pub(super) outcome: &'static str,
    /// The reason in words; `None` on success.
    pub(super) reason: Option<&'static str>,
    /// What went wrong, as the prober said it.
    pub(super) error: Option<String>,
}

/// One run of the history: `{"started": unix seconds, "duration_seconds", "outcome"}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct HistoryRun(pub(super) Run);

impl Serialize for HistoryRun {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut run = s.serialize_struct("Run", 3)?;
        run.serialize_field("started", &self.0.started)?;
        run.serialize_field("duration_seconds", &self.0.duration)?;
        run.serialize_field("outcome", self.0.outcome())?;
        run.end()
    }
}

fn as_map<S: Serializer>(labels: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(labels.len()))?;
    for (k, v) in labels {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

/// The probes `filter` lets through, and the counts by state of those its label
/// filters let through.
pub(super) fn probes(states: &[Arc<ProbeState>], filter: &Filter) -> (Counts, Vec<ProbeStatus>) {
    let mut counts = Counts::default();
    let mut shown = Vec::new();
    for state in states {
        let probe = probe_status(state);
        if !filter.labels_match(&probe) {
            continue;
        }
        counts.total += 1;
        match probe.state {
            State::Up => counts.up += 1,
            State::Down => counts.down += 1,
            State::Pending => counts.pending += 1,
        }
        if filter.matches(&probe) {
            shown.push(probe);
        }
    }
    (counts, shown)
}

/// One probe's results and history, read under one lock.
/// The latest run of a snapshot (a probe's or one of its addresses') and the
/// state it puts it in.
fn latest_of(snapshot: &crate::results::Snapshot) -> (Option<Latest>, State) {
    let latest = snapshot.latest.as_ref().map(|r| Latest {
        started: snapshot.last_run.unwrap_or_default(),
        duration_seconds: r.duration.as_secs_f64(),
        outcome: r.outcome(),
        reason: r.failure.as_ref().map(|f| reason_words(f.reason)),
        error: r.failure.as_ref().map(|f| f.message.clone()),
    });
    let state = match &snapshot.latest {
        None => State::Pending,
        Some(r) if r.success => State::Up,
        Some(_) => State::Down,
    };
    (latest, state)
}

pub(super) fn probe_status(state: &ProbeState) -> ProbeStatus {
    let (snapshot, history) = state.with_history();
    let spec = &state.spec;
    let (latest, state_of) = latest_of(&snapshot);
    let addresses = snapshot
        .addresses
        .iter()
        .map(|a| {
            let (latest, state) = latest_of(&a.snapshot);
            AddressStatus {
                ip: a.ip.to_string(),
                state,
                latest,
            }
        })
        .collect();
    ProbeStatus {
        name: spec.name.clone(),
        module: spec.module.clone(),
        target: crate::redact::url(&spec.target).into_owned(),
        labels: spec.labels.clone(),
        interval_seconds: spec.interval.as_secs_f64(),
        state: state_of,
        state_since: history.since(),
        tls_cert_expiry: snapshot
            .latest
            .as_ref()
            .and_then(|r| r.value(names::PROBE_SSL_EARLIEST_CERT_EXPIRY, &[])),
        latest,
        history_limit: history.limit(),
        history: history.runs().map(HistoryRun).collect(),
        addresses,
        discovered: discovered(state),
    }
}

fn discovered(state: &ProbeState) -> Option<DiscoveredStatus> {
    match state.spec.origin {
        crate::config::Origin::Config => None,
        crate::config::Origin::Discovered => Some(DiscoveredStatus {
            by: state
                .spec
                .labels
                .iter()
                .find(|(k, _)| k == "discovery")
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
            resource_gone: state.run_cancel.is_paused(),
        }),
    }
}
