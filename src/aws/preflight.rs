//! `outpost check --aws`: before a deploy, or when the AWS series are missing,
//! one cheap call per region and service with the daemon's own credentials
//! chain, SDK stack and timeouts, each answer said in words with what to do.
//!
//! Per region: the credentials (the chain resolved, a role assumed), who they
//! are (`sts:GetCallerIdentity`, which needs no permission), then the first
//! page of each configured service, using the operations the scrapes call
//! (so `deploy/iam-policy.json` is what is being tested) at their smallest page.

use std::time::{Duration, Instant};

use aws_sdk_rds::config::ProvideCredentials;
use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};

use super::calls::{
    cause_chain, error_code, Operation, AUTOSCALING_DESCRIBE_AUTO_SCALING_GROUPS,
    CLOUDWATCH_GET_METRIC_DATA, ELBV2_DESCRIBE_LOAD_BALANCERS, RDS_DESCRIBE_DB_INSTANCES,
};
use super::sdk::{self, AwsOptions};
use crate::config::{AwsConfig, AwsService};

/// The longest any one check may take: the daemon's own per-call limit.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// One check's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub region: String,
    /// `credentials`, `identity`, or a service's name.
    pub what: &'static str,
    pub result: Result<String, Problem>,
    pub took: Duration,
}

/// What went wrong, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The service's error code (`AccessDenied`) or what happened
    /// (`no_credentials`, `dispatch_failure`, `timeout`).
    pub code: String,
    pub message: String,
    pub hint: String,
}

/// Runs every check of every region of `config`, regions concurrently; the
/// findings in the order of `regions`, each region's in the order made.
pub async fn run(config: &AwsConfig, options: &AwsOptions) -> Vec<Finding> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, region) in config.regions.iter().enumerate() {
        let (region, config, options) = (region.clone(), config.clone(), options.clone());
        tasks.spawn(async move { (i, check_region(&region, &config, &options).await) });
    }
    let mut by_region: Vec<(usize, Vec<Finding>)> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(found) = joined {
            by_region.push(found);
        }
    }
    by_region.sort_by_key(|(i, _)| *i);
    by_region.into_iter().flat_map(|(_, f)| f).collect()
}

async fn check_region(region: &str, config: &AwsConfig, options: &AwsOptions) -> Vec<Finding> {
    let sdk = sdk::load(region, config, CHECK_TIMEOUT, options).await;
    let finding = |what, result, started: Instant| Finding {
        region: region.to_string(),
        what,
        result,
        took: started.elapsed(),
    };
    let mut out = Vec::new();
    let started = Instant::now();
    let credentials = match sdk.credentials_provider() {
        None => Err(no_credentials(
            "no credentials provider is configured".into(),
        )),
        Some(provider) => match timed(provider.provide_credentials()).await {
            Ok(Ok(c)) => Ok(format!("found, access key {}", key_hint(c.access_key_id()))),
            Ok(Err(e)) => Err(no_credentials(cause_chain(&e))),
            Err(elapsed) => Err(elapsed),
        },
    };
    let have_credentials = credentials.is_ok();
    out.push(finding("credentials", credentials, started));
    if !have_credentials {
        // Every call would fail the same way: one line says it.
        return out;
    }
    let started = Instant::now();
    let sts = aws_sdk_sts::Client::new(&sdk);
    let identity = match timed(sts.get_caller_identity().send()).await {
        // The ARN names the account, and the role or user.
        Ok(Ok(who)) => Ok(who
            .arn()
            .unwrap_or("an identity without an ARN")
            .to_string()),
        Ok(Err(e)) => Err(problem(None, &e)),
        Err(elapsed) => Err(elapsed),
    };
    out.push(finding("identity", identity, started));
    for service in services(config) {
        let started = Instant::now();
        let result = call(service, &sdk).await;
        out.push(finding(service.name(), result, started));
    }
    out
}

/// The services `config` scrapes, CloudWatch last when configured.
fn services(config: &AwsConfig) -> Vec<AwsService> {
    let mut out = config.services.clone();
    if config.cloudwatch.is_some() && !out.contains(&AwsService::Cloudwatch) {
        out.push(AwsService::Cloudwatch);
    }
    out
}

/// The first, smallest page of `service`'s scrape.
async fn call(service: AwsService, sdk: &aws_config::SdkConfig) -> Result<String, Problem> {
    match service {
        AwsService::Rds => {
            let op = RDS_DESCRIBE_DB_INSTANCES;
            // 20 is the smallest page RDS accepts.
            let request = aws_sdk_rds::Client::new(sdk)
                .describe_db_instances()
                .max_records(20)
                .send();
            let page = answer(op, request).await?;
            Ok(counted(
                op,
                page.db_instances().len(),
                page.marker().is_some(),
                "DB instance",
            ))
        }
        AwsService::Elbv2 => {
            let op = ELBV2_DESCRIBE_LOAD_BALANCERS;
            let request = aws_sdk_elasticloadbalancingv2::Client::new(sdk)
                .describe_load_balancers()
                .page_size(1)
                .send();
            let page = answer(op, request).await?;
            let more = page.next_marker().is_some();
            Ok(counted(
                op,
                page.load_balancers().len(),
                more,
                "load balancer",
            ))
        }
        AwsService::Autoscaling => {
            let op = AUTOSCALING_DESCRIBE_AUTO_SCALING_GROUPS;
            let request = aws_sdk_autoscaling::Client::new(sdk)
                .describe_auto_scaling_groups()
                .max_records(1)
                .send();
            let page = answer(op, request).await?;
            let more = page.next_token().is_some();
            Ok(counted(
                op,
                page.auto_scaling_groups().len(),
                more,
                "Auto Scaling group",
            ))
        }
        AwsService::Cloudwatch => {
            use aws_sdk_cloudwatch::types::{Metric, MetricDataQuery, MetricStat};
            let op = CLOUDWATCH_GET_METRIC_DATA;
            // One metric (CloudWatch bills per metric requested): the ALBs'
            // request count of the last five minutes, summed over the region.
            let metric = Metric::builder()
                .namespace("AWS/ApplicationELB")
                .metric_name("RequestCount")
                .build();
            let stat = MetricStat::builder()
                .metric(metric)
                .period(300)
                .stat("Sum")
                .build();
            let query = MetricDataQuery::builder()
                .id("outpost_check")
                .metric_stat(stat)
                .build();
            let now = std::time::SystemTime::now();
            let request = aws_sdk_cloudwatch::Client::new(sdk)
                .get_metric_data()
                .metric_data_queries(query)
                .start_time((now - Duration::from_secs(300)).into())
                .end_time(now.into())
                .send();
            answer(op, request).await?;
            Ok(format!("{}: answered (1 metric requested)", op.name))
        }
    }
}

/// "DescribeDBInstances: 3 DB instances" or "...: 1 load balancer, and more".
fn counted(op: Operation, n: usize, more: bool, noun: &str) -> String {
    let plural = if n == 1 { "" } else { "s" };
    let more = if more {
        " on the first page, and more"
    } else {
        ""
    };
    format!("{}: {n} {noun}{plural}{more}", op.name)
}

async fn answer<T, E, R>(
    op: Operation,
    request: impl std::future::Future<Output = Result<T, SdkError<E, R>>>,
) -> Result<T, Problem>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match timed(request).await {
        Ok(Ok(page)) => Ok(page),
        Ok(Err(e)) => Err(problem(Some(op), &e)),
        Err(elapsed) => Err(elapsed),
    }
}

async fn timed<T>(f: impl std::future::Future<Output = T>) -> Result<T, Problem> {
    tokio::time::timeout(CHECK_TIMEOUT, f)
        .await
        .map_err(|_| Problem {
            code: "timeout".into(),
            message: format!("no answer within {}s", CHECK_TIMEOUT.as_secs()),
            hint: NO_ROUTE_HINT.into(),
        })
}

const NO_ROUTE_HINT: &str = "outpost reached no AWS endpoint: check DNS, the route (a private \
    subnet needs a NAT gateway or VPC interface endpoints for sts, rds, elasticloadbalancing, \
    autoscaling and monitoring), HTTPS_PROXY/NO_PROXY, and AWS_ENDPOINT_URL if set";

fn no_credentials(message: String) -> Problem {
    Problem {
        code: "no_credentials".into(),
        message,
        hint: format!(
            "the default chain would use: {}; on EC2 attach an instance profile, on EKS \
             annotate the service account (IRSA), elsewhere set AWS_PROFILE or \
             AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
            super::credentials::default_chain_source(
                |k| std::env::var(k).ok(),
                std::env::var_os("HOME")
                    .as_deref()
                    .map(std::path::Path::new)
            )
        ),
    }
}

/// The error in words, with what to do about it by its code.
fn problem<E, R>(op: Option<Operation>, e: &SdkError<E, R>) -> Problem
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let code = error_code(e);
    let message = match e {
        SdkError::ServiceError(s) => s.err().message().unwrap_or("").to_string(),
        other => cause_chain(other),
    };
    let message = match op {
        Some(op) => format!("{}: {message}", op.name),
        None => format!("GetCallerIdentity: {message}"),
    };
    let hint = hint_for(&code, op);
    Problem {
        code,
        message,
        hint,
    }
}

fn hint_for(code: &str, op: Option<Operation>) -> String {
    match code {
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "AuthorizationError"
        | "UnauthorizedAccess" => match op {
            Some(op) => format!(
                "the credentials lack {}: deploy/iam-policy.json grants exactly what outpost calls",
                op.iam_action()
            ),
            None => {
                "the credentials may not be used here (an SCP or a permissions boundary?)".into()
            }
        },
        "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "SignatureDoesNotMatch"
        | "InvalidSignatureException"
        | "IncompleteSignature" => {
            "AWS refused the credentials: a wrong or deleted key, or a key of another partition"
                .into()
        }
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
            "the credentials have expired: refresh the session, or check the host's clock".into()
        }
        "OptInRequired" | "InvalidRegion" => {
            "this region is not enabled for the account (Account settings, AWS Regions)".into()
        }
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
            "throttled: another client is using this account's API rate; the scrapes back off"
                .into()
        }
        "dispatch_failure" | "timeout" => NO_ROUTE_HINT.into(),
        "response_error" => {
            "the endpoint answered something that is not AWS: a proxy or AWS_ENDPOINT_URL?".into()
        }
        _ => "see the message; docs/runbooks.md#awsscrapefailing lists the usual causes".into(),
    }
}

/// `AKIA…WXYZ`: enough of a key ID to tell which key it is, never the secret.
fn key_hint(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "(short key ID)".into();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// The findings as aligned lines, a hint under each failure, and a last line
/// counting failures.
pub fn text(findings: &[Finding]) -> String {
    use std::fmt::Write;
    let region_w = findings.iter().map(|f| f.region.len()).max().unwrap_or(0);
    let what_w = findings.iter().map(|f| f.what.len()).max().unwrap_or(0);
    let mut out = String::new();
    for f in findings {
        let took = format!("{:.0} ms", f.took.as_secs_f64() * 1000.0);
        let (state, said) = match &f.result {
            Ok(said) => ("ok", said.clone()),
            Err(p) => ("FAILED", format!("{}: {}", p.code, p.message)),
        };
        let _ = writeln!(
            out,
            "{:<region_w$}  {:<what_w$}  {state:<6}  {took:>7}  {said}",
            f.region, f.what
        );
        if let Err(p) = &f.result {
            let _ = writeln!(out, "{:<region_w$}  {:<what_w$}  hint: {}", "", "", p.hint);
        }
    }
    let failed = findings.iter().filter(|f| f.result.is_err()).count();
    let _ = match failed {
        0 => writeln!(out, "AWS: all {} checks passed", findings.len()),
        n => writeln!(out, "AWS: {n} of {} checks failed", findings.len()),
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_id_is_shown_by_its_ends_only() {
        assert_eq!(key_hint("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
        assert_eq!(key_hint("testing"), "(short key ID)");
    }

    #[test]
    fn access_denied_names_the_iam_action_to_grant() {
        let hint = hint_for("AccessDenied", Some(RDS_DESCRIBE_DB_INSTANCES));
        assert!(
            hint.starts_with("the credentials lack rds:DescribeDBInstances: "),
            "{hint}"
        );
        assert!(hint_for("dispatch_failure", None).contains("VPC interface endpoints"));
    }

    #[test]
    fn findings_align_and_failures_carry_a_hint() {
        let ok = Finding {
            region: "eu-west-1".into(),
            what: "identity",
            result: Ok("arn:aws:iam::123456789012:user/o".into()),
            took: Duration::from_millis(12),
        };
        let failed = Finding {
            region: "ap-southeast-1".into(),
            what: "rds",
            result: Err(Problem {
                code: "AccessDenied".into(),
                message: "DescribeDBInstances: not authorized".into(),
                hint: "grant it".into(),
            }),
            took: Duration::from_millis(80),
        };
        assert_eq!(
            text(&[ok, failed]),
            "eu-west-1       identity  ok        12 ms  arn:aws:iam::123456789012:user/o\n\
             ap-southeast-1  rds       FAILED    80 ms  AccessDenied: DescribeDBInstances: not authorized\n\
             \x20                         hint: grant it\n\
             AWS: 1 of 2 checks failed\n"
        );
    }
}
