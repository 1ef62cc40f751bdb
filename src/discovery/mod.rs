//! `[[discover]]`: probes of what the AWS scrape finds. Each good scrape of a
//! service in a region updates the entries of that service: a resource that
//! appears gets a probe, one that goes is paused (its series kept) for `grace`
//! good scrapes and then removed, and one that stays keeps its probe and
//! counters. A failed scrape changes nothing.
//!
//! The flow is one way: the AWS cache's snapshot ([`crate::aws::cache::ServiceCache::found`])
//! → [`Discovery::update`] → a probe list → the scheduler's diff
//! ([`crate::scheduler::Scheduler::apply_discovered`]), the same diff a reload uses.

pub mod series;
pub mod template;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::aws::{tag_label_values, FoundResource};
use crate::config::aws::TagLabel;
use crate::config::{AwsService, Origin, ProbeSpec};
use crate::metrics::process::unix_now;
pub use template::Template;

/// The default of `max_probes`.
pub const DEFAULT_MAX_PROBES: usize = 100;
/// The default of `grace`, in good scrapes.
pub const DEFAULT_GRACE: u32 = 3;

/// A service whose resources `[[discover]]` can probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoverService {
    /// Load balancers (every type).
    Elbv2,
    /// DB instances that are not stopped.
    Rds,
}

impl DiscoverService {
    pub const ALL: &'static [DiscoverService] = &[DiscoverService::Elbv2, DiscoverService::Rds];

    /// The name in `service`.
    pub fn name(self) -> &'static str {
        self.aws().name()
    }

    /// The AWS scrape that finds the resources.
    pub fn aws(self) -> AwsService {
        match self {
            DiscoverService::Elbv2 => AwsService::Elbv2,
            DiscoverService::Rds => AwsService::Rds,
        }
    }

    /// The label of the resource's identifier, as on its `aws_*` series.
    pub fn id_label(self) -> &'static str {
        match self {
            DiscoverService::Elbv2 => "load_balancer",
            DiscoverService::Rds => "db_instance",
        }
    }

    /// The fields a target template may name: the resource's (see
    /// `found` in src/aws/elbv2.rs and src/aws/rds.rs) and `region`.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            DiscoverService::Elbv2 => &[
                "dns_name",
                "load_balancer",
                "region",
                "scheme",
                "type",
                "vpc_id",
            ],
            DiscoverService::Rds => &["endpoint", "port", "db_instance", "region", "engine"],
        }
    }

    /// A plausible value of each field, to check a template's targets before
    /// any resource is found.
    pub fn example(self, field: &str) -> Option<&'static str> {
        Some(match (self, field) {
            (_, "region") => "eu-west-1",
            (DiscoverService::Elbv2, "dns_name") => "web-1234567890.eu-west-1.elb.amazonaws.com",
            (DiscoverService::Elbv2, "load_balancer") => "web",
            (DiscoverService::Elbv2, "scheme") => "internet-facing",
            (DiscoverService::Elbv2, "type") => "application",
            (DiscoverService::Elbv2, "vpc_id") => "vpc-0123456789abcdef0",
            (DiscoverService::Rds, "endpoint") => "db.abcdefghijkl.eu-west-1.rds.amazonaws.com",
            (DiscoverService::Rds, "port") => "5432",
            (DiscoverService::Rds, "db_instance") => "db",
            (DiscoverService::Rds, "engine") => "postgres",
            _ => return None,
        })
    }
}

/// One `[[discover]]` entry, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoverSpec {
    pub name: String,
    pub service: DiscoverService,
    /// Where to look; each one of `[aws].regions`.
    pub regions: Vec<String>,
    /// Only resources carrying, for each key, one of the values.
    pub tag_filters: Vec<(String, Vec<String>)>,
    pub tag_labels: Vec<TagLabel>,
    pub target: Template,
    /// The probe each resource gets: module, interval, timeout, static labels
    /// and fan-out; its name and target are made per resource.
    pub probe: ProbeSpec,
    /// Probes the entry may make, over all its regions.
    pub max_probes: usize,
    /// Good scrapes a resource may be missing before its probe goes.
    pub grace: u32,
}

impl DiscoverSpec {
    /// Whether a resource with `tags` passes the entry's tag filters.
    fn selects(&self, tags: &[(String, String)]) -> bool {
        self.tag_filters.iter().all(|(key, wanted)| {
            tags.iter()
                .any(|(k, v)| k == key && wanted.iter().any(|w| w == v))
        })
    }

    /// The probe of `resource` found in `region`; `None` when the target
    /// template names a field the resource lacks.
    pub fn probe_of(&self, region: &str, resource: &FoundResource) -> Option<ProbeSpec> {
        let target = self.target.render(|field| match field {
            "region" => Some(region),
            other => resource.field(other),
        })?;
        let mut labels = Vec::with_capacity(3 + self.tag_labels.len() + self.probe.labels.len());
        labels.push(("discovery".to_string(), self.name.clone()));
        labels.push(("region".to_string(), region.to_string()));
        labels.push((self.service.id_label().to_string(), resource.id.clone()));
        labels.extend(tag_label_values(&self.tag_labels, &resource.tags));
        labels.extend(self.probe.labels.iter().cloned());
        Some(ProbeSpec {
            name: probe_name(&self.name, region, &resource.id),
            target,
            labels,
            origin: Origin::Discovered,
            ..self.probe.clone()
        })
    }
}

/// A discovered probe's name: entry, region and resource identifier.
pub fn probe_name(entry: &str, region: &str, id: &str) -> String {
    format!("{entry}/{region}/{id}")
}

/// The discovered probes for the scheduler: the list, and which of them are in
/// their grace (kept, not run).
#[derive(Debug, Default, PartialEq)]
pub struct Discovered {
    pub probes: Vec<ProbeSpec>,
    pub paused: HashSet<String>,
}

/// What discovery keeps between scrapes, per entry.
#[derive(Debug, Default)]
pub struct Discovery {
    entries: BTreeMap<String, EntryState>,
}

/// One resource with a probe.
#[derive(Debug)]
struct Known {
    region: String,
    resource: FoundResource,
    /// Good scrapes of its region since it was last seen: 0 while present.
    misses: u32,
}

#[derive(Debug, Default)]
struct EntryState {
    /// The entry as last applied: a change re-reads every region at once.
    spec: Option<DiscoverSpec>,
    /// Per region, the good scrape last applied ([`crate::aws::cache::ServiceCache::found`]'s count).
    applied: HashMap<String, u64>,
    /// By probe name.
    known: BTreeMap<String, Known>,
    /// Per region, resources found past `max_probes` by its latest scrape.
    skipped: HashMap<String, usize>,
    /// Per region, when a good scrape last updated it (Unix seconds).
    updated: HashMap<String, f64>,
    added: u64,
    removed: u64,
}

/// A region's good snapshot as the cache has it: its count and what it found.
pub type FoundSnapshot = (u64, Arc<Vec<FoundResource>>);

impl Discovery {
    /// Brings every entry of `specs` up to date with what `found(service,
    /// region)` reports (`None`: no good scrape yet, which changes nothing), and
    /// returns the whole discovered probe list.
    pub fn update(
        &mut self,
        specs: &[DiscoverSpec],
        found: impl Fn(AwsService, &str) -> Option<FoundSnapshot>,
    ) -> Discovered {
        self.entries
            .retain(|name, _| specs.iter().any(|s| &s.name == name));
        for spec in specs {
            let state = self.entries.entry(spec.name.clone()).or_default();
            state.update(spec, &found);
        }
        let mut out = Discovered::default();
        for spec in specs {
            let Some(state) = self.entries.get(&spec.name) else {
                continue;
            };
            for (name, known) in &state.known {
                let Some(probe) = spec.probe_of(&known.region, &known.resource) else {
                    continue;
                };
                if known.misses > 0 {
                    out.paused.insert(name.clone());
                }
                out.probes.push(probe);
            }
        }
        out
    }

    /// Each entry's figures, in name order: what `/metrics` shows.
    pub fn figures(&self) -> Vec<EntryFigures> {
        self.entries
            .iter()
            .map(|(name, state)| {
                let regions = state
                    .spec
                    .as_ref()
                    .map(|s| s.regions.clone())
                    .unwrap_or_default();
                let regions = regions
                    .into_iter()
                    .map(|region| {
                        let in_region = state.known.values().filter(|k| k.region == region);
                        let (mut active, mut grace) = (0, 0);
                        for k in in_region {
                            if k.misses == 0 {
                                active += 1;
                            } else {
                                grace += 1;
                            }
                        }
                        let updated = state.updated.get(&region).copied();
                        RegionFigures {
                            region,
                            active,
                            grace,
                            updated,
                        }
                    })
                    .collect();
                EntryFigures {
                    name: name.clone(),
                    regions,
                    skipped: state.skipped.values().sum(),
                    added: state.added,
                    removed: state.removed,
                }
            })
            .collect()
    }
}

/// One entry's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryFigures {
    pub name: String,
    pub regions: Vec<RegionFigures>,
    pub skipped: usize,
    pub added: u64,
    pub removed: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegionFigures {
    pub region: String,
    pub active: usize,
    pub grace: usize,
    pub updated: Option<f64>,
}

impl EntryState {
    fn update(
        &mut self,
        spec: &DiscoverSpec,
        found: &impl Fn(AwsService, &str) -> Option<FoundSnapshot>,
    ) {
        let changed = self.spec.as_ref() != Some(spec);
        if changed {
            // Regions no longer listed lose their probes now.
            let before = self.known.len();
            self.known.retain(|_, k| spec.regions.contains(&k.region));
            self.removed += (before - self.known.len()) as u64;
            self.applied.retain(|r, _| spec.regions.contains(r));
            self.skipped.retain(|r, _| spec.regions.contains(r));
            self.updated.retain(|r, _| spec.regions.contains(r));
            self.spec = Some(spec.clone());
        }
        for region in &spec.regions {
            let Some((count, resources)) = found(spec.service.aws(), region) else {
                continue;
            };
            let new_scrape = self.applied.get(region) != Some(&count);
            if !new_scrape && !changed {
                continue;
            }
            self.applied.insert(region.clone(), count);
            self.apply_region(spec, region, &resources, new_scrape);
        }
    }

    /// Applies one region's snapshot. `new_scrape`: a resource missing from it
    /// counts a miss; otherwise (the entry changed, the snapshot was seen) one
    /// that no longer qualifies goes at once.
    fn apply_region(
        &mut self,
        spec: &DiscoverSpec,
        region: &str,
        resources: &[FoundResource],
        new_scrape: bool,
    ) {
        let mut present: Vec<&FoundResource> = resources
            .iter()
            .filter(|r| spec.selects(&r.tags) && spec.probe_of(region, r).is_some())
            .collect();
        present.sort_by(|a, b| a.id.cmp(&b.id));
        let present_names: HashSet<String> = present
            .iter()
            .map(|r| probe_name(&spec.name, region, &r.id))
            .collect();
        let mut removed = 0;
        self.known.retain(|name, k| {
            if k.region != region || present_names.contains(name) {
                return true;
            }
            if new_scrape {
                k.misses += 1;
            }
            let keep = new_scrape && k.misses <= spec.grace;
            removed += u64::from(!keep);
            keep
        });
        self.removed += removed;
        let mut skipped = 0;
        for resource in present {
            let name = probe_name(&spec.name, region, &resource.id);
            if let Some(k) = self.known.get_mut(&name) {
                k.misses = 0;
                k.resource = resource.clone();
            } else if self.known.len() < spec.max_probes {
                self.known.insert(
                    name,
                    Known {
                        region: region.to_string(),
                        resource: resource.clone(),
                        misses: 0,
                    },
                );
                self.added += 1;
            } else {
                skipped += 1;
            }
        }
        self.skipped.insert(region.to_string(), skipped);
        self.updated.insert(region.to_string(), unix_now());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test data is known to be valid")]
mod tests;
