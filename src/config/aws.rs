//! `[aws]`: which regions and services to scrape, how often, as whom, which
//! resources (tag filters) and which of their tags become labels;
//! `[aws.cloudwatch]` in [`cloudwatch`].

pub mod cloudwatch;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::file::{DurationText, StringMap};
use super::tree::decode;
use super::validate::Ctx;
use super::values::{self, is_label_name};

/// `interval` when not set.
pub const DEFAULT_AWS_INTERVAL: Duration = Duration::from_secs(60);
/// `stale_after` when not set: this many intervals.
pub const DEFAULT_STALE_INTERVALS: u32 = 3;

/// `[aws]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct AwsFile {
    pub regions: Spanned<Vec<Spanned<String>>>,
    pub interval: Option<Spanned<DurationText>>,
    pub stale_after: Option<Spanned<DurationText>>,
    pub services: Option<Spanned<Vec<Spanned<String>>>>,
    pub role_arn: Option<Spanned<String>>,
    pub role_arns: Option<StringMap>,
    pub tag_filters: Option<TagFilterFile>,
    pub tag_labels: Option<Spanned<Vec<Spanned<String>>>>,
    pub cloudwatch: Option<cloudwatch::CloudwatchFile>,
}

/// An AWS service outpost calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AwsService {
    Rds,
    Elbv2,
    Autoscaling,
    /// `GetMetricData`, configured by `[aws.cloudwatch]` rather than `services`.
    Cloudwatch,
}

impl AwsService {
    /// The Describe scrapes, which `services` selects among.
    pub const ALL: &'static [AwsService] =
        &[AwsService::Rds, AwsService::Elbv2, AwsService::Autoscaling];

    /// The name in `services` and in the `service` label.
    pub fn name(self) -> &'static str {
        match self {
            AwsService::Rds => "rds",
            AwsService::Elbv2 => "elbv2",
            AwsService::Autoscaling => "autoscaling",
            AwsService::Cloudwatch => "cloudwatch",
        }
    }
}

impl std::fmt::Display for AwsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A resource tag exported as a label on the `*_info` series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagLabel {
    /// The tag key, as in AWS.
    pub tag: String,
    /// `tag_` + the key with every character outside `[a-zA-Z0-9_]` made `_`.
    pub label: String,
}

/// `[aws]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsConfig {
    pub regions: Vec<String>,
    pub interval: Duration,
    /// How long the last good data of a failing scrape is still shown.
    pub stale_after: Duration,
    pub services: Vec<AwsService>,
    /// Role to assume in every region without its own entry in `role_arns`.
    pub role_arn: Option<String>,
    /// Per-region roles, overriding `role_arn`.
    pub role_arns: BTreeMap<String, String>,
    /// Scrape only resources carrying, for each key, one of the values.
    pub tag_filters: Vec<(String, Vec<String>)>,
    pub tag_labels: Vec<TagLabel>,
    /// `[aws.cloudwatch]`; `None`: no CloudWatch call at all.
    pub cloudwatch: Option<cloudwatch::CloudwatchConfig>,
    /// A `[[discover]]` entry of elbv2 filters or labels by tags, so the
    /// scrape fetches load balancers' tags even when `[aws]` itself does not.
    pub discovery_needs_tags: bool,
}

impl AwsConfig {
    /// The role to assume in `region`, if any.
    pub fn role_for(&self, region: &str) -> Option<&str> {
        self.role_arns
            .get(region)
            .or(self.role_arn.as_ref())
            .map(String::as_str)
    }

    /// Whether a resource with `tags` passes the tag filters.
    pub fn selects(&self, tags: &[(String, String)]) -> bool {
        self.tag_filters.iter().all(|(key, wanted)| {
            tags.iter()
                .any(|(k, v)| k == key && wanted.iter().any(|w| w == v))
        })
    }
}

/// The label a tag key becomes.
pub fn tag_label_name(tag: &str) -> String {
    let body: String = tag
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("tag_{body}")
}

/// Builds `[aws]`; `None` when it has errors (recorded in `ctx`).
pub(crate) fn build(ctx: &mut Ctx<'_>, value: &Spanned<DeValue<'_>>) -> Option<AwsConfig> {
    let before = ctx.error_count();
    let file = decode::<AwsFile>(ctx, value, "aws")?;
    let regions = regions(ctx, &file.regions);
    let interval = match &file.interval {
        Some(i) => values::duration(ctx, "aws.interval", i, true).unwrap_or(DEFAULT_AWS_INTERVAL),
        None => DEFAULT_AWS_INTERVAL,
    };
    let stale_after = match &file.stale_after {
        Some(s) => {
            let d = values::duration(ctx, "aws.stale_after", s, true);
            if d.is_some_and(|d| d < interval) {
                ctx.error_hint(
                    s.span(),
                    "aws.stale_after",
                    "must be at least `interval`",
                    "data goes stale only after a scrape was missed; the default is 3 intervals",
                );
            }
            d.unwrap_or(interval)
        }
        None => interval * DEFAULT_STALE_INTERVALS,
    };
    let services = services(ctx, file.services.as_ref());
    let role_arn = file.role_arn.as_ref().map(|a| {
        role(ctx, "aws.role_arn", a);
        a.get_ref().clone()
    });
    let mut role_arns = BTreeMap::new();
    for (region, arn) in file.role_arns.iter().flatten() {
        let path = super::tree::key("aws.role_arns", region.get_ref());
        if !regions.contains(region.get_ref()) {
            ctx.error_hint(
                region.span(),
                &path,
                format!("`{}` is not in `regions`", region.get_ref()),
                "role_arns maps a region of `regions` to the role assumed there",
            );
        }
        role(ctx, &path, arn);
        role_arns.insert(region.get_ref().clone(), arn.get_ref().clone());
    }
    let tag_filters = tag_filters(ctx, "aws.tag_filters", file.tag_filters.as_ref());
    let tag_labels = tag_labels(ctx, "aws.tag_labels", file.tag_labels.as_ref());
    let cloudwatch = file
        .cloudwatch
        .as_ref()
        .map(|c| cloudwatch::build(ctx, c, &services));
    (ctx.error_count() == before).then_some(AwsConfig {
        regions,
        interval,
        stale_after,
        services,
        role_arn,
        role_arns,
        tag_filters,
        tag_labels,
        cloudwatch,
        discovery_needs_tags: false,
    })
}

fn regions(ctx: &mut Ctx<'_>, list: &Spanned<Vec<Spanned<String>>>) -> Vec<String> {
    if list.get_ref().is_empty() {
        ctx.error_hint(
            list.span(),
            "aws.regions",
            "must list at least one region",
            "e.g. regions = [\"eu-west-1\"]; remove [aws] to scrape no AWS API",
        );
    }
    let mut out: Vec<String> = Vec::new();
    for region in list.get_ref() {
        let name = region.get_ref();
        // Region names are lowercase words and a number: eu-west-1, us-gov-east-1.
        let valid = name.split('-').count() >= 3
            && name.split('-').all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
        if !valid {
            ctx.error_hint(
                region.span(),
                "aws.regions",
                format!("`{name}` is not an AWS region name"),
                "region names look like eu-west-1 or us-east-2",
            );
        } else if out.contains(name) {
            ctx.error(
                region.span(),
                "aws.regions",
                format!("`{name}` is listed twice"),
            );
        } else {
            out.push(name.clone());
        }
    }
    out
}

fn services(ctx: &mut Ctx<'_>, list: Option<&Spanned<Vec<Spanned<String>>>>) -> Vec<AwsService> {
    let Some(list) = list else {
        return AwsService::ALL.to_vec();
    };
    if list.get_ref().is_empty() {
        ctx.error_hint(
            list.span(),
            "aws.services",
            "must list at least one service",
            "leave `services` out to scrape rds, elbv2 and autoscaling",
        );
    }
    let mut out = Vec::new();
    for name in list.get_ref() {
        match AwsService::ALL.iter().find(|s| s.name() == name.get_ref()) {
            Some(s) if out.contains(s) => ctx.error(
                name.span(),
                "aws.services",
                format!("`{s}` is listed twice"),
            ),
            Some(s) => out.push(*s),
            None => {
                let valid: Vec<&str> = AwsService::ALL.iter().map(|s| s.name()).collect();
                let hint = match values::suggest(name.get_ref(), valid.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("valid services: {}", valid.join(", ")),
                };
                ctx.error_hint(
                    name.span(),
                    "aws.services",
                    format!("unknown service `{}`", name.get_ref()),
                    hint,
                );
            }
        }
    }
    out
}

fn role(ctx: &mut Ctx<'_>, path: &str, arn: &Spanned<String>) {
    let parts: Vec<&str> = arn.get_ref().splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts.first() == Some(&"arn")
        && parts.get(2) == Some(&"iam")
        && parts.get(5).is_some_and(|r| r.starts_with("role/"));
    if !ok {
        ctx.error_hint(
            arn.span(),
            path,
            format!("`{}` is not an IAM role ARN", arn.get_ref()),
            "role ARNs look like arn:aws:iam::123456789012:role/outpost",
        );
    }
}

/// `tag_filters` as written: tag key to accepted values.
pub type TagFilterFile = BTreeMap<Spanned<String>, Spanned<Vec<Spanned<String>>>>;

/// `tag_filters` at `at` (`aws.tag_filters`, `discover[0].tag_filters`).
pub(super) fn tag_filters(
    ctx: &mut Ctx<'_>,
    at: &str,
    file: Option<&TagFilterFile>,
) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (key, wanted) in file.into_iter().flatten() {
        let path = super::tree::key(at, key.get_ref());
        if wanted.get_ref().is_empty() {
            ctx.error_hint(
                wanted.span(),
                &path,
                "must list at least one value",
                "a resource passes when its tag has one of the values listed",
            );
        }
        let values = wanted
            .get_ref()
            .iter()
            .map(|v| v.get_ref().clone())
            .collect();
        out.push((key.get_ref().clone(), values));
    }
    out
}

/// `tag_labels` at `at` (`aws.tag_labels`, `discover[0].tag_labels`).
pub(super) fn tag_labels(
    ctx: &mut Ctx<'_>,
    at: &str,
    list: Option<&Spanned<Vec<Spanned<String>>>>,
) -> Vec<TagLabel> {
    let mut out: Vec<TagLabel> = Vec::new();
    for tag in list.into_iter().flat_map(|l| l.get_ref()) {
        let label = tag_label_name(tag.get_ref());
        if tag.get_ref().is_empty() || !is_label_name(&label) {
            ctx.error(tag.span(), at, "a tag key cannot be empty");
        } else if let Some(other) = out.iter().find(|t| t.label == label) {
            ctx.error_hint(
                tag.span(),
                at,
                format!(
                    "`{}` and `{}` both become label `{label}`",
                    other.tag,
                    tag.get_ref()
                ),
                "characters outside a-z, A-Z, 0-9 and _ become _ in the label name",
            );
        } else {
            out.push(TagLabel {
                tag: tag.get_ref().clone(),
                label,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_keys_become_label_names() {
        assert_eq!(tag_label_name("team"), "tag_team");
        assert_eq!(
            tag_label_name("aws:cloudformation:stack-name"),
            "tag_aws_cloudformation_stack_name"
        );
    }
}
