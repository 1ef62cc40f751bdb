//! RDS: every DB instance of the region (filtered by tags), its configuration
//! and status as `aws_rds_*` series, plus pending maintenance actions.

use aws_sdk_rds::types::DbInstance;
use aws_sdk_rds::Client;

use super::calls::{
    Calls, ScrapeError, RDS_DESCRIBE_DB_INSTANCES, RDS_DESCRIBE_PENDING_MAINTENANCE_ACTIONS,
};
use super::{tag_label_values, AwsSample, FoundResource, Resource, Snapshot};
use crate::config::AwsConfig;
use crate::metrics::names::{self as n, Family};

pub const FAMILIES: &[Family] = n::AWS_RDS;

/// Records per page: the API's maximum, so N instances cost ceil(N / 100) calls.
const PAGE: i32 = 100;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Lists the instances (every page), then their pending maintenance actions.
pub async fn scrape(
    client: &Client,
    calls: &mut Calls,
    config: &AwsConfig,
) -> Result<Snapshot, ScrapeError> {
    let mut instances: Vec<DbInstance> = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = calls
            .call(
                RDS_DESCRIBE_DB_INSTANCES,
                client
                    .describe_db_instances()
                    .max_records(PAGE)
                    .set_marker(marker.take())
                    .send(),
            )
            .await?;
        instances.extend(page.db_instances().iter().cloned());
        match page.marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => break,
        }
    }
    instances.retain(|i| config.selects(&tags(i)));
    let pending = pending_actions(client, calls).await;
    let mut out = Vec::new();
    for instance in &instances {
        instance_samples(config, instance, pending.as_deref(), &mut out);
    }
    let resources = instances
        .iter()
        .filter_map(|i| i.db_instance_identifier())
        .map(|id| Resource::DbInstance { id: id.to_string() })
        .collect();
    let found = instances.iter().filter_map(found).collect();
    Ok(Snapshot {
        samples: out,
        resources,
        found,
    })
}

/// Statuses of an instance stopped on purpose: `[[discover]]` makes no probe of
/// it (a probe could only fail and page someone for a choice someone made).
const STOPPED: &[&str] = &["stopped", "stopping"];

/// A DB instance as `[[discover]]` sees it (the fields of
/// [`crate::discovery::DiscoverService::Rds`]); `None` while it has no endpoint
/// (being created) or is stopped.
fn found(i: &DbInstance) -> Option<FoundResource> {
    let id = i.db_instance_identifier().filter(|id| !id.is_empty())?;
    if STOPPED.contains(&i.db_instance_status().unwrap_or_default()) {
        return None;
    }
    let endpoint = i.endpoint()?;
    let address = endpoint.address().filter(|a| !a.is_empty())?;
    let port = endpoint.port()?;
    Some(FoundResource {
        id: id.to_string(),
        fields: vec![
            ("db_instance", id.to_string()),
            ("endpoint", address.to_string()),
            ("port", port.to_string()),
            ("engine", i.engine().unwrap_or_default().to_string()),
        ],
        tags: tags(i),
    })
}

/// (resource ARN, actions) for every pending maintenance action; `None` when the
/// API did not answer, in which case the series is left out rather than zero.
async fn pending_actions(client: &Client, calls: &mut Calls) -> Option<Vec<(String, usize)>> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = calls
            .call(
                RDS_DESCRIBE_PENDING_MAINTENANCE_ACTIONS,
                client
                    .describe_pending_maintenance_actions()
                    .max_records(PAGE)
                    .set_marker(marker.take())
                    .send(),
            )
            .await
            .ok()?;
        for r in page.pending_maintenance_actions() {
            let arn = r.resource_identifier().unwrap_or_default().to_string();
            out.push((arn, r.pending_maintenance_action_details().len()));
        }
        match page.marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Some(out),
        }
    }
}

fn tags(instance: &DbInstance) -> Vec<(String, String)> {
    instance
        .tag_list()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn flag(b: Option<bool>) -> f64 {
    if b.unwrap_or(false) {
        1.0
    } else {
        0.0
    }
}

fn instance_samples(
    config: &AwsConfig,
    i: &DbInstance,
    pending: Option<&[(String, usize)]>,
    out: &mut Vec<AwsSample>,
) {
    let id = i.db_instance_identifier().unwrap_or_default();
    let mut info = AwsSample::new(
        n::AWS_RDS_INSTANCE_INFO,
        &[
            ("db_instance", id),
            ("engine", i.engine().unwrap_or_default()),
            ("engine_version", i.engine_version().unwrap_or_default()),
            ("instance_class", i.db_instance_class().unwrap_or_default()),
        ],
        1.0,
    );
    info.labels
        .extend(tag_label_values(&config.tag_labels, &tags(i)));
    out.push(info);
    let status = i.db_instance_status().unwrap_or("unknown");
    out.push(AwsSample::new(
        n::AWS_RDS_INSTANCE_STATUS,
        &[("db_instance", id), ("status", status)],
        1.0,
    ));
    setting_samples(i, id, pending, out);
}

/// One series per setting the operators alert on, labelled by instance only.
fn setting_samples(
    i: &DbInstance,
    id: &str,
    pending: Option<&[(String, usize)]>,
    out: &mut Vec<AwsSample>,
) {
    let mut one = |family: &'static str, value: f64| {
        out.push(AwsSample::new(family, &[("db_instance", id)], value));
    };
    one(n::AWS_RDS_MULTI_AZ, flag(i.multi_az()));
    one(n::AWS_RDS_STORAGE_ENCRYPTED, flag(i.storage_encrypted()));
    one(
        n::AWS_RDS_BACKUP_RETENTION_PERIOD_SECONDS,
        // AWS counts days; Prometheus' base unit is the second.
        f64::from(i.backup_retention_period().unwrap_or(0)) * 86_400.0,
    );
    one(
        n::AWS_RDS_DELETION_PROTECTION,
        flag(i.deletion_protection()),
    );
    one(
        n::AWS_RDS_PERFORMANCE_INSIGHTS_ENABLED,
        flag(i.performance_insights_enabled()),
    );
    one(
        n::AWS_RDS_ENHANCED_MONITORING_INTERVAL_SECONDS,
        f64::from(i.monitoring_interval().unwrap_or(0)),
    );
    one(
        n::AWS_RDS_ALLOCATED_STORAGE_BYTES,
        f64::from(i.allocated_storage().unwrap_or(0)) * GIB,
    );
    if let Some(max) = i.max_allocated_storage() {
        one(n::AWS_RDS_MAX_ALLOCATED_STORAGE_BYTES, f64::from(max) * GIB);
    }
    one(
        n::AWS_RDS_PUBLICLY_ACCESSIBLE,
        flag(i.publicly_accessible()),
    );
    one(
        n::AWS_RDS_AUTO_MINOR_VERSION_UPGRADE,
        flag(i.auto_minor_version_upgrade()),
    );
    if let Some(till) = i.certificate_details().and_then(|c| c.valid_till()) {
        one(
            n::AWS_RDS_CERTIFICATE_EXPIRY_TIMESTAMP_SECONDS,
            till.as_secs_f64(),
        );
    }
    if let Some(pending) = pending {
        let arn = i.db_instance_arn().unwrap_or_default();
        let count: usize = pending
            .iter()
            .filter(|(r, _)| !arn.is_empty() && r == arn)
            .map(|(_, c)| c)
            .sum();
        one(n::AWS_RDS_PENDING_MAINTENANCE_ACTIONS, count as f64);
    }
}
