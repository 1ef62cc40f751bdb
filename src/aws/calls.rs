//! Every AWS API operation outpost calls, and the accounting of each call.
//!
//! [`OPERATIONS`] is the one list: the scrapers pass these constants to
//! [`Calls::call`] (a debug build panics on any other), the call counters are
//! pre-created from it, and a test compares it with `deploy/iam-policy.json` so
//! the policy grants exactly what the code calls.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_rds::error::ProvideErrorMetadata;
use aws_sdk_rds::error::SdkError;

use crate::config::AwsService;

/// One API operation: the service it belongs to and its API name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Operation {
    pub service: AwsService,
    pub name: &'static str,
}

impl Operation {
    const fn new(service: AwsService, name: &'static str) -> Self {
        Operation { service, name }
    }

    /// The IAM action that allows it, e.g. `rds:DescribeDBInstances`.
    pub fn iam_action(&self) -> String {
        let prefix = match self.service {
            AwsService::Rds => "rds",
            AwsService::Elbv2 => "elasticloadbalancing",
            AwsService::Autoscaling => "autoscaling",
            AwsService::Cloudwatch => "cloudwatch",
        };
        format!("{prefix}:{}", self.name)
    }
}

pub const RDS_DESCRIBE_DB_INSTANCES: Operation =
    Operation::new(AwsService::Rds, "DescribeDBInstances");
pub const RDS_DESCRIBE_PENDING_MAINTENANCE_ACTIONS: Operation =
    Operation::new(AwsService::Rds, "DescribePendingMaintenanceActions");
pub const ELBV2_DESCRIBE_LOAD_BALANCERS: Operation =
    Operation::new(AwsService::Elbv2, "DescribeLoadBalancers");
pub const ELBV2_DESCRIBE_TARGET_GROUPS: Operation =
    Operation::new(AwsService::Elbv2, "DescribeTargetGroups");
pub const ELBV2_DESCRIBE_TARGET_HEALTH: Operation =
    Operation::new(AwsService::Elbv2, "DescribeTargetHealth");
pub const ELBV2_DESCRIBE_TAGS: Operation = Operation::new(AwsService::Elbv2, "DescribeTags");
pub const AUTOSCALING_DESCRIBE_AUTO_SCALING_GROUPS: Operation =
    Operation::new(AwsService::Autoscaling, "DescribeAutoScalingGroups");
pub const CLOUDWATCH_GET_METRIC_DATA: Operation =
    Operation::new(AwsService::Cloudwatch, "GetMetricData");

/// Every operation the scrapers call.
pub const OPERATIONS: &[Operation] = &[
    RDS_DESCRIBE_DB_INSTANCES,
    RDS_DESCRIBE_PENDING_MAINTENANCE_ACTIONS,
    ELBV2_DESCRIBE_LOAD_BALANCERS,
    ELBV2_DESCRIBE_TARGET_GROUPS,
    ELBV2_DESCRIBE_TARGET_HEALTH,
    ELBV2_DESCRIBE_TAGS,
    AUTOSCALING_DESCRIBE_AUTO_SCALING_GROUPS,
    CLOUDWATCH_GET_METRIC_DATA,
];

/// IAM actions called by the SDK's credentials chain rather than a scraper:
/// `sts:AssumeRole` when `role_arn` / `role_arns` is set.
pub const CREDENTIAL_ACTIONS: &[&str] = &["sts:AssumeRole"];

/// A failed scrape: the call that failed and why.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {code}: {message}")]
pub struct ScrapeError {
    pub operation: &'static str,
    pub code: String,
    pub message: String,
}

/// The calls of one scrape, by operation, and the errors by (operation, code).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calls {
    pub calls: BTreeMap<&'static str, u64>,
    pub errors: BTreeMap<(&'static str, String), u64>,
    /// CloudWatch's billing unit: the metric queries sent in `GetMetricData` calls.
    pub metrics_requested: u64,
}

impl Calls {
    /// Awaits one API call, counting it and, if it fails, its error code.
    pub async fn call<T, E, R>(
        &mut self,
        op: Operation,
        request: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<T, ScrapeError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        debug_assert!(
            OPERATIONS.contains(&op),
            "{op:?} is not in OPERATIONS (and so not in deploy/iam-policy.json)"
        );
        *self.calls.entry(op.name).or_insert(0) += 1;
        match request.await {
            Ok(out) => Ok(out),
            Err(e) => {
                let code = error_code(&e);
                *self.errors.entry((op.name, code.clone())).or_insert(0) += 1;
                let message = match &e {
                    SdkError::ServiceError(s) => s.err().message().unwrap_or("").to_string(),
                    // No answer: the cause is deep in the chain (no credentials, no
                    // route, a name that does not resolve, a TLS failure), and the
                    // top levels only say "dispatch failure" or "other".
                    other => cause_chain(other),
                };
                Err(ScrapeError {
                    operation: op.name,
                    code,
                    message,
                })
            }
        }
    }
}

/// Every message of an error's source chain, outermost first, without the
/// levels that repeat the one below or say nothing ("other"): what an operator
/// needs to see why a request got no answer.
pub(crate) fn cause_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        let says_nothing = matches!(text.as_str(), "" | "other" | "io" | "dispatch failure");
        if !says_nothing && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    if parts.is_empty() {
        e.to_string()
    } else {
        parts.join(": ")
    }
}

/// The `code` label of an error: the service's error code (`Throttling`,
/// `AccessDenied` ...) or, when the request got no answer, what went wrong.
pub(crate) fn error_code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    match e {
        SdkError::ServiceError(s) => s.err().code().unwrap_or("Unknown").to_string(),
        SdkError::TimeoutError(_) => "timeout".to_string(),
        SdkError::DispatchFailure(_) => "dispatch_failure".to_string(),
        SdkError::ResponseError(_) => "response_error".to_string(),
        SdkError::ConstructionFailure(_) => "construction_failure".to_string(),
        _ => "unknown".to_string(),
    }
}

#[cfg(test)]
mod chain_tests {
    use super::cause_chain;

    #[derive(Debug)]
    struct Level(&'static str, Option<Box<Level>>);
    impl std::fmt::Display for Level {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Level {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn the_chain_keeps_every_level_that_says_something() {
        let e = Level(
            "dispatch failure",
            Some(Box::new(Level(
                "other",
                Some(Box::new(Level(
                    "client error (Connect)",
                    Some(Box::new(Level("Connection refused (os error 111)", None))),
                ))),
            ))),
        );
        assert_eq!(
            cause_chain(&e),
            "client error (Connect): Connection refused (os error 111)"
        );
        // A level that repeats the one it wraps is said once.
        let e = Level(
            "tcp connect error",
            Some(Box::new(Level("tcp connect error", None))),
        );
        assert_eq!(cause_chain(&e), "tcp connect error");
        assert_eq!(cause_chain(&Level("other", None)), "other");
    }
}
