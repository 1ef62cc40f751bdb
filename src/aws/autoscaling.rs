//! Auto Scaling: each group's sizes and its instances by lifecycle state, as
//! `aws_autoscaling_*` series (one call per page of groups: tags come with them).

use std::collections::BTreeMap;

use aws_sdk_autoscaling::types::AutoScalingGroup;
use aws_sdk_autoscaling::Client;

use super::calls::{Calls, ScrapeError, AUTOSCALING_DESCRIBE_AUTO_SCALING_GROUPS};
use super::{tag_label_values, AwsSample, Resource, Snapshot};
use crate::config::AwsConfig;
use crate::metrics::names::{self as n, Family};

pub const FAMILIES: &[Family] = n::AWS_AUTOSCALING;

/// The lifecycle states counted even at zero: those an alert compares.
pub const COUNTED_STATES: &[&str] = &["InService", "Pending", "Terminating", "Standby"];

/// Groups per page: the API's maximum (its default is 50).
const PAGE: i32 = 100;

pub async fn scrape(
    client: &Client,
    calls: &mut Calls,
    config: &AwsConfig,
) -> Result<Snapshot, ScrapeError> {
    let mut out = Vec::new();
    let mut resources = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = calls
            .call(
                AUTOSCALING_DESCRIBE_AUTO_SCALING_GROUPS,
                client
                    .describe_auto_scaling_groups()
                    .max_records(PAGE)
                    .set_next_token(token.take())
                    .send(),
            )
            .await?;
        for group in page.auto_scaling_groups() {
            let tags = tags(group);
            if config.selects(&tags) {
                group_samples(config, group, &tags, &mut out);
                let name = group.auto_scaling_group_name().unwrap_or_default();
                resources.push(Resource::AutoscalingGroup {
                    name: name.to_string(),
                });
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => {
                return Ok(Snapshot {
                    samples: out,
                    resources,
                    found: Vec::new(),
                })
            }
        }
    }
}

fn tags(group: &AutoScalingGroup) -> Vec<(String, String)> {
    group
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn group_samples(
    config: &AwsConfig,
    g: &AutoScalingGroup,
    tags: &[(String, String)],
    out: &mut Vec<AwsSample>,
) {
    let name = g.auto_scaling_group_name().unwrap_or_default();
    let label = [("autoscaling_group", name)];
    let mut info = AwsSample::new(n::AWS_AUTOSCALING_GROUP_INFO, &label, 1.0);
    info.labels
        .extend(tag_label_values(&config.tag_labels, tags));
    out.push(info);
    let size = |v: Option<i32>| f64::from(v.unwrap_or(0));
    out.push(AwsSample::new(
        n::AWS_AUTOSCALING_GROUP_DESIRED_CAPACITY,
        &label,
        size(g.desired_capacity()),
    ));
    out.push(AwsSample::new(
        n::AWS_AUTOSCALING_GROUP_MIN_SIZE,
        &label,
        size(g.min_size()),
    ));
    out.push(AwsSample::new(
        n::AWS_AUTOSCALING_GROUP_MAX_SIZE,
        &label,
        size(g.max_size()),
    ));
    let mut states: BTreeMap<&str, u64> = COUNTED_STATES.iter().map(|s| (*s, 0)).collect();
    for i in g.instances() {
        let state = i.lifecycle_state().map(|s| s.as_str()).unwrap_or("Unknown");
        *states.entry(state).or_insert(0) += 1;
    }
    let in_service = states.get("InService").copied().unwrap_or(0);
    out.push(AwsSample::new(
        n::AWS_AUTOSCALING_GROUP_IN_SERVICE_INSTANCES,
        &label,
        in_service as f64,
    ));
    for (state, count) in states {
        out.push(AwsSample::new(
            n::AWS_AUTOSCALING_GROUP_INSTANCES,
            &[("autoscaling_group", name), ("lifecycle_state", state)],
            count as f64,
        ));
    }
}
