use std::collections::HashMap;

use super::*;
use crate::config::Config;

/// The `[[discover]]` entries of a file with `[aws]` in two regions and an
/// http and a tcp module.
fn specs(discover: &str) -> Vec<DiscoverSpec> {
    let text = format!(
        "[aws]\nregions = [\"eu-west-1\", \"us-east-1\"]\n\
         [modules.web]\nprober = \"http\"\n[modules.db]\nprober = \"tcp\"\n{discover}"
    );
    match Config::from_str_at(&text, std::path::Path::new("t.toml")) {
        Ok(c) => c.discover,
        Err(e) => panic!("{e}"),
    }
}

const ALB: &str = "[[discover]]\nname = \"alb\"\nservice = \"elbv2\"\nmodule = \"web\"\n\
    target = \"https://{dns_name}/health\"\ninterval = \"30s\"\ngrace = 2\n\
    tag_filters = { env = [\"prod\"] }\ntag_labels = [\"team\"]\n";

fn lb(name: &str, env: &str) -> FoundResource {
    FoundResource {
        id: name.to_string(),
        fields: vec![
            ("load_balancer", name.to_string()),
            ("dns_name", format!("{name}-1.eu-west-1.elb.amazonaws.com")),
        ],
        tags: vec![
            ("env".to_string(), env.to_string()),
            ("team".to_string(), "web".to_string()),
        ],
    }
}

/// What the caches say: per (service, region), the good-scrape count and list.
#[derive(Default)]
struct Caches(HashMap<(AwsService, String), FoundSnapshot>);

impl Caches {
    fn scrape(&mut self, service: AwsService, region: &str, found: Vec<FoundResource>) {
        let entry = self
            .0
            .entry((service, region.to_string()))
            .or_insert((0, Arc::default()));
        *entry = (entry.0 + 1, Arc::new(found));
    }

    fn get(&self) -> impl Fn(AwsService, &str) -> Option<FoundSnapshot> + '_ {
        |service, region| self.0.get(&(service, region.to_string())).cloned()
    }
}

fn names(d: &Discovered) -> Vec<&str> {
    d.probes.iter().map(|p| p.name.as_str()).collect()
}

#[test]
fn a_found_resource_becomes_a_probe_with_its_labels() {
    let specs = specs(ALB);
    let mut caches = Caches::default();
    caches.scrape(
        AwsService::Elbv2,
        "eu-west-1",
        vec![lb("web", "prod"), lb("dev", "dev")],
    );
    let mut discovery = Discovery::default();
    let out = discovery.update(&specs, caches.get());
    assert_eq!(names(&out), ["alb/eu-west-1/web"]);
    let p = &out.probes[0];
    assert_eq!(p.target, "https://web-1.eu-west-1.elb.amazonaws.com/health");
    assert_eq!(p.module, "web");
    assert_eq!(p.interval, std::time::Duration::from_secs(30));
    assert_eq!(p.origin, Origin::Discovered);
    let labels: Vec<(&str, &str)> = p
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            ("discovery", "alb"),
            ("region", "eu-west-1"),
            ("load_balancer", "web"),
            ("tag_team", "web"),
        ]
    );
    assert!(out.paused.is_empty());
    let figures = discovery.figures();
    assert_eq!(figures[0].added, 1);
    assert_eq!(figures[0].regions[0].active, 1);
    // us-east-1 has not been scraped: no figures time yet, nothing made.
    assert_eq!(figures[0].regions[1].updated, None);
}

#[test]
fn a_resource_that_goes_is_paused_for_the_grace_then_removed() {
    let specs = specs(ALB);
    let mut caches = Caches::default();
    let mut discovery = Discovery::default();
    caches.scrape(
        AwsService::Elbv2,
        "eu-west-1",
        vec![lb("a", "prod"), lb("b", "prod")],
    );
    discovery.update(&specs, caches.get());
    // b is gone from one good scrape: kept, paused.
    caches.scrape(AwsService::Elbv2, "eu-west-1", vec![lb("a", "prod")]);
    let out = discovery.update(&specs, caches.get());
    assert_eq!(names(&out), ["alb/eu-west-1/a", "alb/eu-west-1/b"]);
    assert_eq!(out.paused, ["alb/eu-west-1/b".to_string()].into());
    assert_eq!(
        (
            discovery.figures()[0].regions[0].active,
            discovery.figures()[0].regions[0].grace
        ),
        (1, 1)
    );
    // No new scrape (a failed one keeps the count): nothing changes.
    let again = discovery.update(&specs, caches.get());
    assert_eq!(again, out);
    // Back within the grace: running again.
    caches.scrape(
        AwsService::Elbv2,
        "eu-west-1",
        vec![lb("a", "prod"), lb("b", "prod")],
    );
    let out = discovery.update(&specs, caches.get());
    assert!(out.paused.is_empty());
    // Gone for grace (2) + 1 good scrapes: removed.
    for expected in [2, 2, 1] {
        caches.scrape(AwsService::Elbv2, "eu-west-1", vec![lb("a", "prod")]);
        let out = discovery.update(&specs, caches.get());
        assert_eq!(out.probes.len(), expected);
    }
    let f = &discovery.figures()[0];
    assert_eq!((f.added, f.removed), (2, 1));
}

#[test]
fn the_cap_counts_what_it_leaves_out_and_keeps_the_probes_it_has() {
    let specs = specs(&ALB.replace("grace = 2", "grace = 0\nmax_probes = 2"));
    let mut caches = Caches::default();
    let mut discovery = Discovery::default();
    caches.scrape(
        AwsService::Elbv2,
        "eu-west-1",
        vec![lb("m", "prod"), lb("n", "prod")],
    );
    discovery.update(&specs, caches.get());
    // A third one sorts first, but the two probes there stay; it is counted.
    caches.scrape(
        AwsService::Elbv2,
        "eu-west-1",
        vec![lb("a", "prod"), lb("m", "prod"), lb("n", "prod")],
    );
    let out = discovery.update(&specs, caches.get());
    assert_eq!(names(&out), ["alb/eu-west-1/m", "alb/eu-west-1/n"]);
    assert_eq!(discovery.figures()[0].skipped, 1);
    // One goes (grace 0): the waiting one takes its place on that scrape.
    caches.scrape(
        AwsService::Elbv2,
        "eu-west-1",
        vec![lb("a", "prod"), lb("n", "prod")],
    );
    let out = discovery.update(&specs, caches.get());
    assert_eq!(names(&out), ["alb/eu-west-1/a", "alb/eu-west-1/n"]);
    assert_eq!(discovery.figures()[0].skipped, 0);
}

#[test]
fn a_changed_entry_applies_at_once_and_a_removed_one_takes_its_probes() {
    let mut caches = Caches::default();
    let mut discovery = Discovery::default();
    caches.scrape(
        AwsService::Elbv2,
        "eu-west-1",
        vec![lb("a", "prod"), lb("b", "staging")],
    );
    caches.scrape(AwsService::Elbv2, "us-east-1", vec![lb("c", "prod")]);
    let wide = specs(&ALB.replace("[\"prod\"]", "[\"prod\", \"staging\"]"));
    let out = discovery.update(&wide, caches.get());
    assert_eq!(
        names(&out),
        ["alb/eu-west-1/a", "alb/eu-west-1/b", "alb/us-east-1/c"]
    );
    // Narrower filters and one region: what no longer qualifies goes now,
    // without waiting for a scrape or a grace.
    let narrow = specs(&ALB.replace("grace = 2", "grace = 2\nregions = [\"eu-west-1\"]"));
    let out = discovery.update(&narrow, caches.get());
    assert_eq!(names(&out), ["alb/eu-west-1/a"]);
    assert!(out.paused.is_empty());
    // A new template changes the probe's target, same name.
    let other = specs(&ALB.replace("/health", "/ready"));
    let out = discovery.update(&other, caches.get());
    assert_eq!(
        out.probes[0].target,
        "https://a-1.eu-west-1.elb.amazonaws.com/ready"
    );
    // No entry: no probe, no figures.
    let out = discovery.update(&[], caches.get());
    assert!(out.probes.is_empty());
    assert!(discovery.figures().is_empty());
}

#[test]
fn rds_instances_are_probed_at_their_endpoint_and_port() {
    let specs = specs(
        "[[discover]]\nname = \"db\"\nservice = \"rds\"\nmodule = \"db\"\n\
         target = \"{endpoint}:{port}\"\ninterval = \"15s\"\nlabels = { tier = \"data\" }\n",
    );
    let mut caches = Caches::default();
    let instance = FoundResource {
        id: "orders".into(),
        fields: vec![
            ("db_instance", "orders".into()),
            ("endpoint", "orders.abc.us-east-1.rds.amazonaws.com".into()),
            ("port", "5432".into()),
        ],
        tags: vec![],
    };
    // An instance without an endpoint yet cannot make a target: left out.
    let creating = FoundResource {
        id: "new".into(),
        fields: vec![("db_instance", "new".into())],
        tags: vec![],
    };
    caches.scrape(AwsService::Rds, "us-east-1", vec![instance, creating]);
    let out = Discovery::default().update(&specs, caches.get());
    assert_eq!(names(&out), ["db/us-east-1/orders"]);
    assert_eq!(
        out.probes[0].target,
        "orders.abc.us-east-1.rds.amazonaws.com:5432"
    );
    let last: Vec<&str> = out.probes[0]
        .labels
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(last, ["discovery", "region", "db_instance", "tier"]);
}
