//! The AWS part of the status page, read from the AWS caches (the series of each
//! region's last good snapshot, as `/metrics` shows them) and their scrape
//! health: RDS instances with their compliance flags, ALB target groups with
//! their healthy and unhealthy targets, Auto Scaling groups in service against
//! their minimum. Nothing here calls AWS.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::aws::cache::{RegionView, ServiceCache};
use crate::aws::AwsSample;
use crate::metrics::names as n;

/// The least backup retention an instance complies with: 7 days, as the
/// `AwsDatabaseMisconfigured` alert.
pub(super) const MIN_BACKUP_RETENTION_DAYS: f64 = 7.0;

#[derive(Debug, Serialize)]
pub(super) struct AwsStatus {
    /// In configuration order.
    pub(super) regions: Vec<AwsRegion>,
}

#[derive(Debug, Default, Serialize)]
pub(super) struct AwsRegion {
    pub(super) region: String,
    /// One per configured service.
    pub(super) scrapes: Vec<Scrape>,
    pub(super) rds_instances: Vec<RdsInstance>,
    pub(super) target_groups: Vec<TargetGroup>,
    pub(super) autoscaling_groups: Vec<AutoscalingGroup>,
}

/// The health of one service's scrapes in one region.
#[derive(Debug, Serialize)]
pub(super) struct Scrape {
    pub(super) service: &'static str,
    /// The latest scrape's outcome; `None` before the first ended.
    pub(super) success: Option<bool>,
    /// Unix seconds of the last good snapshot.
    pub(super) last_success: Option<f64>,
    /// Why the latest scrape failed.
    pub(super) error: Option<String>,
    pub(super) duration_seconds: f64,
    /// The last good snapshot is too old to show.
    pub(super) stale: bool,
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub(super) struct RdsInstance {
    pub(super) id: String,
    pub(super) engine: String,
    pub(super) instance_class: String,
    pub(super) status: String,
    pub(super) multi_az: bool,
    pub(super) storage_encrypted: bool,
    pub(super) backup_retention_days: f64,
    pub(super) deletion_protection: bool,
    pub(super) publicly_accessible: bool,
    /// Every flag above as the policy wants it ([`RdsInstance::complies`]).
    pub(super) compliant: bool,
}

impl RdsInstance {
    pub(super) fn backups_ok(&self) -> bool {
        self.backup_retention_days >= MIN_BACKUP_RETENTION_DAYS
    }

    /// Every flag the page shows as the policy wants it: `AwsDatabaseMisconfigured`'s
    /// items (Multi-AZ, encrypted, backups, deletion protection) and not public.
    pub(super) fn complies(&self) -> bool {
        self.multi_az
            && self.storage_encrypted
            && self.backups_ok()
            && self.deletion_protection
            && !self.publicly_accessible
    }
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub(super) struct TargetGroup {
    /// Empty for a group attached to no load balancer.
    pub(super) load_balancer: String,
    pub(super) target_group: String,
    pub(super) healthy: u64,
    pub(super) unhealthy: u64,
    /// initial, draining, unused, unavailable.
    pub(super) other: u64,
}

#[derive(Debug, Default, Serialize, PartialEq)]
pub(super) struct AutoscalingGroup {
    pub(super) name: String,
    pub(super) in_service: u64,
    pub(super) min_size: u64,
    pub(super) desired_capacity: u64,
    pub(super) max_size: u64,
}

/// Every configured region, with what each cache holds for it.
pub(super) fn collect(regions: &[String], caches: &[Arc<ServiceCache>]) -> AwsStatus {
    let views: Vec<RegionView> = caches.iter().flat_map(|c| c.regions()).collect();
    let regions = regions
        .iter()
        .map(|region| {
            let mut out = AwsRegion {
                region: region.clone(),
                ..AwsRegion::default()
            };
            for view in views.iter().filter(|v| &v.region == region) {
                out.scrapes.push(Scrape {
                    service: view.service.name(),
                    success: view.success,
                    last_success: view.last_success,
                    error: view.error.clone(),
                    duration_seconds: view.duration,
                    stale: view.stale,
                });
                rds(&view.samples, &mut out.rds_instances);
                target_groups(&view.samples, &mut out.target_groups);
                autoscaling(&view.samples, &mut out.autoscaling_groups);
            }
            out
        })
        .collect();
    AwsStatus { regions }
}

fn label<'a>(s: &'a AwsSample, key: &str) -> &'a str {
    s.labels
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

fn rds(samples: &[AwsSample], out: &mut Vec<RdsInstance>) {
    let mut by_id: BTreeMap<&str, RdsInstance> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.family.starts_with("aws_rds_")) {
        let id = label(s, "db_instance");
        let i = by_id.entry(id).or_insert_with(|| RdsInstance {
            id: id.to_string(),
            ..RdsInstance::default()
        });
        let on = s.value == 1.0;
        match s.family {
            n::AWS_RDS_INSTANCE_INFO => {
                i.engine = format!("{} {}", label(s, "engine"), label(s, "engine_version"));
                i.instance_class = label(s, "instance_class").to_string();
            }
            n::AWS_RDS_INSTANCE_STATUS => i.status = label(s, "status").to_string(),
            n::AWS_RDS_MULTI_AZ => i.multi_az = on,
            n::AWS_RDS_STORAGE_ENCRYPTED => i.storage_encrypted = on,
            n::AWS_RDS_BACKUP_RETENTION_PERIOD_SECONDS => {
                i.backup_retention_days = s.value / 86_400.0;
            }
            n::AWS_RDS_DELETION_PROTECTION => i.deletion_protection = on,
            n::AWS_RDS_PUBLICLY_ACCESSIBLE => i.publicly_accessible = on,
            _ => {}
        }
    }
    out.extend(by_id.into_values().map(|mut i| {
        i.compliant = i.complies();
        i
    }));
}

fn target_groups(samples: &[AwsSample], out: &mut Vec<TargetGroup>) {
    let mut by_key: BTreeMap<(&str, &str), TargetGroup> = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| s.family == n::AWS_ELBV2_TARGET_GROUP_TARGETS)
    {
        let (lb, tg) = (label(s, "load_balancer"), label(s, "target_group"));
        let g = by_key.entry((lb, tg)).or_insert_with(|| TargetGroup {
            load_balancer: lb.to_string(),
            target_group: tg.to_string(),
            ..TargetGroup::default()
        });
        let count = s.value.max(0.0) as u64;
        match label(s, "state") {
            "healthy" => g.healthy += count,
            "unhealthy" => g.unhealthy += count,
            _ => g.other += count,
        }
    }
    out.extend(by_key.into_values());
}

fn autoscaling(samples: &[AwsSample], out: &mut Vec<AutoscalingGroup>) {
    let mut by_name: BTreeMap<&str, AutoscalingGroup> = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| s.family.starts_with("aws_autoscaling_group_"))
    {
        let name = label(s, "autoscaling_group");
        let g = by_name.entry(name).or_insert_with(|| AutoscalingGroup {
            name: name.to_string(),
            ..AutoscalingGroup::default()
        });
        let v = s.value.max(0.0) as u64;
        match s.family {
            n::AWS_AUTOSCALING_GROUP_IN_SERVICE_INSTANCES => g.in_service = v,
            n::AWS_AUTOSCALING_GROUP_MIN_SIZE => g.min_size = v,
            n::AWS_AUTOSCALING_GROUP_DESIRED_CAPACITY => g.desired_capacity = v,
            n::AWS_AUTOSCALING_GROUP_MAX_SIZE => g.max_size = v,
            _ => {}
        }
    }
    out.extend(by_name.into_values());
}

#[cfg(test)]
pub(super) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::aws::calls::{Calls, ScrapeError};
    use crate::aws::Snapshot;
    use crate::config::AwsService;

    fn sample(family: &'static str, labels: &[(&str, &str)], value: f64) -> AwsSample {
        AwsSample::new(family, labels, value)
    }

    /// Caches for two regions: ap-southeast-1 scraped well (one compliant and one
    /// public, single-AZ database; a target group with an unhealthy target; a
    /// group below its minimum), ap-east-1's RDS scrape refused.
    pub(in super::super) fn caches() -> Vec<Arc<ServiceCache>> {
        let regions = ["ap-southeast-1".to_string(), "ap-east-1".to_string()];
        let stale = Duration::from_secs(300);
        let rds = Arc::new(ServiceCache::new(AwsService::Rds, &regions, stale));
        let db = |id: &'static str, good: f64, public: f64, days: f64| {
            let l = [("db_instance", id)];
            vec![
                sample(
                    n::AWS_RDS_INSTANCE_INFO,
                    &[
                        ("db_instance", id),
                        ("engine", "mysql"),
                        ("engine_version", "8.0.35"),
                        ("instance_class", "db.t3.micro"),
                    ],
                    1.0,
                ),
                sample(
                    n::AWS_RDS_INSTANCE_STATUS,
                    &[("db_instance", id), ("status", "available")],
                    1.0,
                ),
                sample(n::AWS_RDS_MULTI_AZ, &l, good),
                sample(n::AWS_RDS_STORAGE_ENCRYPTED, &l, 1.0),
                sample(
                    n::AWS_RDS_BACKUP_RETENTION_PERIOD_SECONDS,
                    &l,
                    days * 86_400.0,
                ),
                sample(n::AWS_RDS_DELETION_PROTECTION, &l, good),
                sample(n::AWS_RDS_PUBLICLY_ACCESSIBLE, &l, public),
            ]
        };
        let mut samples = db("orders", 1.0, 0.0, 7.0);
        samples.extend(db("scratch<b>", 0.0, 1.0, 1.0));
        let ok = |samples| {
            Ok(Snapshot {
                samples,
                resources: vec![],
                found: vec![],
            })
        };
        let took = Duration::from_millis(120);
        rds.record("ap-southeast-1", ok(samples), Calls::default(), took);
        let refused = ScrapeError {
            operation: "DescribeDBInstances",
            code: "AccessDenied".into(),
            message: "User is not authorized to perform rds:DescribeDBInstances".into(),
        };
        rds.record("ap-east-1", Err(refused), Calls::default(), took);

        let elb = Arc::new(ServiceCache::new(AwsService::Elbv2, &regions, stale));
        let mut targets = Vec::new();
        for (state, count) in [("healthy", 2.0), ("unhealthy", 1.0), ("draining", 1.0)] {
            targets.push(sample(
                n::AWS_ELBV2_TARGET_GROUP_TARGETS,
                &[
                    ("load_balancer", "web-alb"),
                    ("target_group", "web-tg"),
                    ("state", state),
                ],
                count,
            ));
        }
        elb.record("ap-southeast-1", ok(targets), Calls::default(), took);

        let asg = Arc::new(ServiceCache::new(AwsService::Autoscaling, &regions, stale));
        let l = [("autoscaling_group", "web-asg")];
        let groups = vec![
            sample(n::AWS_AUTOSCALING_GROUP_IN_SERVICE_INSTANCES, &l, 1.0),
            sample(n::AWS_AUTOSCALING_GROUP_MIN_SIZE, &l, 2.0),
            sample(n::AWS_AUTOSCALING_GROUP_DESIRED_CAPACITY, &l, 2.0),
            sample(n::AWS_AUTOSCALING_GROUP_MAX_SIZE, &l, 6.0),
        ];
        asg.record("ap-southeast-1", ok(groups), Calls::default(), took);
        vec![rds, elb, asg]
    }

    #[test]
    fn resources_and_scrape_health_per_region() {
        let regions = ["ap-southeast-1".to_string(), "ap-east-1".to_string()];
        let status = collect(&regions, &caches());
        let [sg, hk] = &status.regions[..] else {
            panic!("two regions: {status:?}");
        };
        assert_eq!(sg.region, "ap-southeast-1");
        let services: Vec<_> = sg.scrapes.iter().map(|s| s.service).collect();
        assert_eq!(services, ["rds", "elbv2", "autoscaling"]);
        assert!(sg.scrapes.iter().all(|s| s.success == Some(true)));

        let [orders, scratch] = &sg.rds_instances[..] else {
            panic!("{:?}", sg.rds_instances);
        };
        assert_eq!(orders.id, "orders");
        assert_eq!(orders.engine, "mysql 8.0.35");
        assert_eq!(orders.status, "available");
        assert!(orders.compliant, "{orders:?}");
        assert!(!scratch.compliant);
        assert!(scratch.publicly_accessible && !scratch.multi_az && !scratch.backups_ok());

        assert_eq!(
            sg.target_groups,
            [TargetGroup {
                load_balancer: "web-alb".into(),
                target_group: "web-tg".into(),
                healthy: 2,
                unhealthy: 1,
                other: 1,
            }]
        );
        assert_eq!(
            sg.autoscaling_groups,
            [AutoscalingGroup {
                name: "web-asg".into(),
                in_service: 1,
                min_size: 2,
                desired_capacity: 2,
                max_size: 6,
            }]
        );

        assert_eq!(hk.region, "ap-east-1");
        let rds = &hk.scrapes[0];
        assert_eq!(rds.success, Some(false));
        assert_eq!(rds.last_success, None);
        assert_eq!(
            rds.error.as_deref(),
            Some("DescribeDBInstances: AccessDenied: User is not authorized to perform rds:DescribeDBInstances")
        );
        assert_eq!(hk.scrapes[1].success, None, "elbv2 not scraped yet");
        assert!(hk.rds_instances.is_empty());
    }
}
