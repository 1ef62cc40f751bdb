//! ELBv2: load balancers, target groups and the health of every target, as
//! `aws_elbv2_*` series. Tags are fetched (`DescribeTags`, 20 resources a call)
//! only when `tag_filters` or `tag_labels` need them.

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::types::{LoadBalancer, TargetGroup};
use aws_sdk_elasticloadbalancingv2::Client;

use super::calls::{
    Calls, ScrapeError, ELBV2_DESCRIBE_LOAD_BALANCERS, ELBV2_DESCRIBE_TAGS,
    ELBV2_DESCRIBE_TARGET_GROUPS, ELBV2_DESCRIBE_TARGET_HEALTH,
};
use super::{tag_label_values, AwsSample, FoundResource, Resource, Snapshot};
use crate::config::AwsConfig;
use crate::metrics::names::{self as n, Family};

pub const FAMILIES: &[Family] = n::AWS_ELBV2;

/// Every target health state, so each count series exists even at zero.
pub const TARGET_STATES: &[&str] = &[
    "healthy",
    "unhealthy",
    "initial",
    "unused",
    "draining",
    "unavailable",
];

/// Load balancers and target groups per page: the API's maximum.
const PAGE: i32 = 400;

/// `DescribeTags` takes at most this many ARNs.
const TAGS_PER_CALL: usize = 20;

type Tags = BTreeMap<String, Vec<(String, String)>>;

pub async fn scrape(
    client: &Client,
    calls: &mut Calls,
    config: &AwsConfig,
) -> Result<Snapshot, ScrapeError> {
    let mut lbs = load_balancers(client, calls).await?;
    let mut tgs = target_groups(client, calls).await?;
    let tags = if config.tag_filters.is_empty()
        && config.tag_labels.is_empty()
        && !config.discovery_needs_tags
    {
        Tags::new()
    } else {
        let arns = lbs
            .iter()
            .filter_map(|l| l.load_balancer_arn())
            .chain(tgs.iter().filter_map(|t| t.target_group_arn()))
            .map(str::to_string)
            .collect::<Vec<_>>();
        describe_tags(client, calls, &arns).await?
    };
    let tags_of = |arn: Option<&str>| {
        tags.get(arn.unwrap_or_default())
            .cloned()
            .unwrap_or_default()
    };
    lbs.retain(|l| config.selects(&tags_of(l.load_balancer_arn())));
    tgs.retain(|t| config.selects(&tags_of(t.target_group_arn())));
    let mut out = Vec::new();
    let mut lb_names: BTreeMap<&str, &str> = BTreeMap::new();
    for lb in &lbs {
        let name = lb.load_balancer_name().unwrap_or_default();
        lb_names.insert(lb.load_balancer_arn().unwrap_or_default(), name);
        let mut info = AwsSample::new(
            n::AWS_ELBV2_LOAD_BALANCER_INFO,
            &[
                ("load_balancer", name),
                ("type", lb.r#type().map(|t| t.as_str()).unwrap_or_default()),
                (
                    "scheme",
                    lb.scheme().map(|s| s.as_str()).unwrap_or_default(),
                ),
                ("dns_name", lb.dns_name().unwrap_or_default()),
                ("vpc_id", lb.vpc_id().unwrap_or_default()),
            ],
            1.0,
        );
        info.labels.extend(tag_label_values(
            &config.tag_labels,
            &tags_of(lb.load_balancer_arn()),
        ));
        out.push(info);
        let state = lb.state().and_then(|s| s.code()).map(|c| c.as_str());
        out.push(AwsSample::new(
            n::AWS_ELBV2_LOAD_BALANCER_STATE,
            &[
                ("load_balancer", name),
                ("state", state.unwrap_or("unknown")),
            ],
            1.0,
        ));
    }
    for tg in &tgs {
        target_group_samples(client, calls, tg, &lb_names, &mut out).await?;
    }
    let found = lbs
        .iter()
        .filter_map(|lb| found(lb, tags_of(lb.load_balancer_arn())))
        .collect();
    Ok(Snapshot {
        samples: out,
        resources: resources(&lbs, &tgs),
        found,
    })
}

/// A load balancer as `[[discover]]` sees it (the fields of
/// [`crate::discovery::DiscoverService::Elbv2`]); `None` without a DNS name yet.
fn found(lb: &LoadBalancer, tags: Vec<(String, String)>) -> Option<FoundResource> {
    let name = lb.load_balancer_name().filter(|n| !n.is_empty())?;
    let dns_name = lb.dns_name().filter(|d| !d.is_empty())?;
    Some(FoundResource {
        id: name.to_string(),
        fields: vec![
            ("load_balancer", name.to_string()),
            ("dns_name", dns_name.to_string()),
            (
                "scheme",
                lb.scheme().map(|s| s.as_str()).unwrap_or_default().into(),
            ),
            (
                "type",
                lb.r#type().map(|t| t.as_str()).unwrap_or_default().into(),
            ),
            ("vpc_id", lb.vpc_id().unwrap_or_default().to_string()),
        ],
        tags,
    })
}

/// The Application Load Balancers and their (target group, load balancer) pairs
/// as CloudWatch's dimensions: `app/NAME/ID` and `targetgroup/NAME/ID`, the ARNs'
/// resource parts. Network and gateway load balancers publish elsewhere.
fn resources(lbs: &[LoadBalancer], tgs: &[TargetGroup]) -> Vec<Resource> {
    let mut albs: BTreeMap<&str, (String, String)> = BTreeMap::new();
    for lb in lbs {
        let is_alb = lb.r#type().map(|t| t.as_str()) == Some("application");
        let arn = lb.load_balancer_arn().unwrap_or_default();
        if let (true, Some(suffix)) = (is_alb, arn_resource(arn, "loadbalancer/")) {
            let name = lb.load_balancer_name().unwrap_or_default().to_string();
            albs.insert(arn, (name, suffix.to_string()));
        }
    }
    let mut out: Vec<Resource> = albs
        .values()
        .map(|(name, dimension)| Resource::LoadBalancer {
            name: name.clone(),
            dimension: dimension.clone(),
        })
        .collect();
    for tg in tgs {
        let arn = tg.target_group_arn().unwrap_or_default();
        let Some(dimension) = arn_resource(arn, "") else {
            continue;
        };
        for (lb_name, lb_dimension) in tg
            .load_balancer_arns()
            .iter()
            .filter_map(|a| albs.get(a.as_str()))
        {
            out.push(Resource::TargetGroup {
                name: tg.target_group_name().unwrap_or_default().to_string(),
                dimension: dimension.to_string(),
                load_balancer: lb_name.clone(),
                load_balancer_dimension: lb_dimension.clone(),
            });
        }
    }
    out
}

/// The resource part of an ARN (after the fifth `:`) less `prefix`:
/// `...:loadbalancer/app/web/50dc6c495c0c9188` → `app/web/50dc6c495c0c9188`.
fn arn_resource<'a>(arn: &'a str, prefix: &str) -> Option<&'a str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    resource.strip_prefix(prefix).filter(|r| !r.is_empty())
}

async fn load_balancers(
    client: &Client,
    calls: &mut Calls,
) -> Result<Vec<LoadBalancer>, ScrapeError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = calls
            .call(
                ELBV2_DESCRIBE_LOAD_BALANCERS,
                client
                    .describe_load_balancers()
                    .page_size(PAGE)
                    .set_marker(marker.take())
                    .send(),
            )
            .await?;
        out.extend(page.load_balancers().iter().cloned());
        match page.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(out),
        }
    }
}

async fn target_groups(
    client: &Client,
    calls: &mut Calls,
) -> Result<Vec<TargetGroup>, ScrapeError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = calls
            .call(
                ELBV2_DESCRIBE_TARGET_GROUPS,
                client
                    .describe_target_groups()
                    .page_size(PAGE)
                    .set_marker(marker.take())
                    .send(),
            )
            .await?;
        out.extend(page.target_groups().iter().cloned());
        match page.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(out),
        }
    }
}

async fn describe_tags(
    client: &Client,
    calls: &mut Calls,
    arns: &[String],
) -> Result<Tags, ScrapeError> {
    let mut out = Tags::new();
    for chunk in arns.chunks(TAGS_PER_CALL) {
        let page = calls
            .call(
                ELBV2_DESCRIBE_TAGS,
                client
                    .describe_tags()
                    .set_resource_arns(Some(chunk.to_vec()))
                    .send(),
            )
            .await?;
        for d in page.tag_descriptions() {
            let tags = d
                .tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect();
            out.insert(d.resource_arn().unwrap_or_default().to_string(), tags);
        }
    }
    Ok(out)
}

/// The target counts by state (per load balancer of the group, or one set with
/// `load_balancer=""` for a group attached to none) and each target's health.
async fn target_group_samples(
    client: &Client,
    calls: &mut Calls,
    tg: &TargetGroup,
    lb_names: &BTreeMap<&str, &str>,
    out: &mut Vec<AwsSample>,
) -> Result<(), ScrapeError> {
    let name = tg.target_group_name().unwrap_or_default();
    let health = calls
        .call(
            ELBV2_DESCRIBE_TARGET_HEALTH,
            client
                .describe_target_health()
                .set_target_group_arn(tg.target_group_arn().map(str::to_string))
                .send(),
        )
        .await?;
    let mut counts: BTreeMap<&str, u64> = TARGET_STATES.iter().map(|s| (*s, 0)).collect();
    for d in health.target_health_descriptions() {
        let th = d.target_health();
        let state = th
            .and_then(|h| h.state())
            .map(|s| s.as_str())
            .unwrap_or("unknown");
        let reason = th
            .and_then(|h| h.reason())
            .map(|r| r.as_str())
            .unwrap_or_default();
        *counts.entry(state).or_insert(0) += 1;
        let target = d.target().map(|t| match t.port() {
            Some(port) => format!("{}:{port}", t.id().unwrap_or_default()),
            None => t.id().unwrap_or_default().to_string(),
        });
        out.push(AwsSample::new(
            n::AWS_ELBV2_TARGET_HEALTH,
            &[
                ("target_group", name),
                ("target", &target.unwrap_or_default()),
                ("state", state),
                ("reason", reason),
            ],
            1.0,
        ));
    }
    let mut lbs: Vec<&str> = tg
        .load_balancer_arns()
        .iter()
        .map(|arn| lb_names.get(arn.as_str()).copied().unwrap_or(arn.as_str()))
        .collect();
    if lbs.is_empty() {
        lbs.push("");
    }
    for lb in lbs {
        for (state, count) in &counts {
            out.push(AwsSample::new(
                n::AWS_ELBV2_TARGET_GROUP_TARGETS,
                &[
                    ("load_balancer", lb),
                    ("target_group", name),
                    ("state", state),
                ],
                *count as f64,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_are_the_arns_resource_parts() {
        let lb = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188";
        let tg = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg-web/73e2d6bc24d8a067";
        assert_eq!(
            arn_resource(lb, "loadbalancer/"),
            Some("app/web/50dc6c495c0c9188")
        );
        assert_eq!(
            arn_resource(tg, ""),
            Some("targetgroup/tg-web/73e2d6bc24d8a067")
        );
        assert_eq!(arn_resource("arn:aws:elasticloadbalancing", ""), None);
    }
}
