//! `outpost_discovery_*`: how many probes each `[[discover]]` entry made, how
//! many resources its cap left out, and what it added and removed.

use std::sync::{Arc, Mutex, PoisonError};

use super::Discovery;
use crate::metrics::encode::Encoder;
use crate::metrics::names::{self, Family};
use crate::metrics::source::Source;

/// The `/metrics` source of [`Discovery`]'s figures; writes nothing while no
/// `[[discover]]` entry is configured.
#[derive(Debug)]
pub struct DiscoverySeries {
    pub discovery: Arc<Mutex<Discovery>>,
}

impl Source for DiscoverySeries {
    fn families(&self) -> &[Family] {
        names::DISCOVERY
    }

    fn encode(&self, enc: &mut Encoder) {
        let figures = self
            .discovery
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .figures();
        if figures.is_empty() {
            return;
        }
        enc.start_declared(names::OUTPOST_DISCOVERY_PROBES);
        for entry in &figures {
            for r in &entry.regions {
                for (state, n) in [("active", r.active), ("grace", r.grace)] {
                    let labels = [
                        ("discovery", entry.name.as_str()),
                        ("region", r.region.as_str()),
                        ("state", state),
                    ];
                    enc.sample(&labels, n as f64);
                }
            }
        }
        enc.start_declared(names::OUTPOST_DISCOVERY_RESOURCES_SKIPPED);
        for entry in &figures {
            enc.sample(&[("discovery", entry.name.as_str())], entry.skipped as f64);
        }
        enc.start_declared(names::OUTPOST_DISCOVERY_CHANGES_TOTAL);
        for entry in &figures {
            for (change, n) in [("added", entry.added), ("removed", entry.removed)] {
                let labels = [("discovery", entry.name.as_str()), ("change", change)];
                enc.sample(&labels, n as f64);
            }
        }
        enc.start_declared(names::OUTPOST_DISCOVERY_LAST_UPDATE_TIMESTAMP_SECONDS);
        for entry in &figures {
            for r in &entry.regions {
                if let Some(at) = r.updated {
                    let labels = [
                        ("discovery", entry.name.as_str()),
                        ("region", r.region.as_str()),
                    ];
                    enc.sample(&labels, at);
                }
            }
        }
    }
}
