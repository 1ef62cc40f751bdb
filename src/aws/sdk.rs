//! The SDK configuration of one region: aws-config's default credentials and
//! endpoint chain, on outpost's own hyper 1 / rustls / ring stack (the SDK's
//! default features would bring a second HTTP and TLS stack and aws-lc), with
//! attempt and operation timeouts and the standard retry with backoff.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

use crate::config::AwsConfig;

/// The longest one attempt of a call may take.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a call may take, retries included (never more than `interval`).
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per call, the first included; throttling backs off exponentially.
const MAX_ATTEMPTS: u32 = 3;

/// Changes the loader before it loads: tests point it at `moto_server` with
/// static credentials (per daemon, not process-wide environment).
pub type LoaderHook = Arc<dyn Fn(ConfigLoader) -> ConfigLoader + Send + Sync>;

/// How AWS clients are built.
#[derive(Clone, Default)]
pub struct AwsOptions {
    pub loader: Option<LoaderHook>,
}

impl std::fmt::Debug for AwsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsOptions")
            .field("loader", &self.loader.is_some())
            .finish()
    }
}

/// Loads the SDK configuration for `region`, assuming the region's role if any;
/// a call never takes longer than `interval`, the caller's own.
pub async fn load(
    region: &str,
    config: &AwsConfig,
    interval: Duration,
    options: &AwsOptions,
) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT.min(interval))
        .operation_timeout(OPERATION_TIMEOUT.min(interval))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .http_client(http)
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(hook) = &options.loader {
        loader = hook(loader);
    }
    let base = loader.load().await;
    let Some(role) = config.role_for(region) else {
        return base;
    };
    let provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("outpost")
        .region(Region::new(region.to_string()))
        .configure(&base)
        .build()
        .await;
    base.into_builder()
        .credentials_provider(aws_sdk_rds::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build()
}
