//! The `unix` prober: connect to a Unix domain socket, optionally TLS from the
//! first byte, then the `query_response` dialogue shared with tcp.
//!
//! As Blackbox (0.28): the target is the socket's path, there are no IP series,
//! and there is no default TLS server name: it is `tls_config.server_name`, else
//! the `hostname` parameter; with neither, a handshake needs
//! `insecure_skip_verify` and sends no SNI. A socket the daemon may not open fails
//! with a message that says so.

pub mod config;

use std::io;
use std::path::PathBuf;

use tokio::net::UnixStream;

use super::query_response::{self, Dialogue, QueryStep, Upgrade};
use super::{FailureReason, ProbeContext, ProbeFailure, Recorder, TargetError};
use crate::config::TlsSettings;
use crate::metrics::names::{self, Family};

/// The `prober = "unix"` value and the name of its settings block.
pub const KIND: &str = "unix";
/// What a target of this prober looks like, for help texts.
pub const TARGET_FORM: &str = "a socket path";

/// `[modules.NAME.unix]`.
#[derive(Debug, Clone, Default)]
pub struct UnixModule {
    /// `tls`: TLS from the first byte.
    pub tls: bool,
    pub tls_config: TlsSettings,
    /// `query_response`: the dialogue after connecting.
    pub query_response: Vec<QueryStep>,
}

pub type Settings = UnixModule;

/// A unix target is the socket's path.
pub type Target = PathBuf;

pub fn parse_target(text: &str) -> Result<Target, TargetError> {
    if text.is_empty() || text.contains('\0') {
        return Err(TargetError::new(
            format!("invalid socket path {text:?}"),
            "write the path of a Unix socket, e.g. \"/run/app/app.sock\"",
        ));
    }
    Ok(PathBuf::from(text))
}

/// The failure reasons a unix run can end with.
pub const OUTCOMES: &[FailureReason] = &[
    FailureReason::Timeout,
    FailureReason::InvalidTarget,
    FailureReason::Connect,
    FailureReason::Tls,
    FailureReason::ExpectRegex,
    FailureReason::ExpectBytes,
    FailureReason::Io,
];

/// The series a unix run can emit.
pub const FAMILIES: &[&[Family]] = &[
    names::COMMON,
    names::TLS,
    names::TLS_CIPHER,
    names::REGEX_RULES,
    names::BYTES_RULES,
    names::EXPECT_INFO,
];

pub async fn probe(
    target: &str,
    module: &UnixModule,
    ctx: &ProbeContext,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    rec.set(names::PROBE_FAILED_DUE_TO_REGEX, 0.0);
    rec.set(names::PROBE_FAILED_DUE_TO_BYTES, 0.0);
    let path = parse_target(target)?;
    let stream = connect(&path, rec).await?;
    let name = module
        .tls_config
        .server_name
        .clone()
        .or_else(|| ctx.hostname.clone());
    if (module.tls || module.query_response.iter().any(|s| s.starttls))
        && name.is_none()
        && !module.tls_config.insecure_skip_verify
    {
        return Err(ProbeFailure::new(
            FailureReason::Tls,
            "TLS over a unix socket needs a server name: set tls_config.server_name (or insecure_skip_verify)",
        ));
    }
    let dialogue = Dialogue {
        tls: module.tls,
        upgrade: Upgrade {
            tls: &module.tls_config,
            server_name: name.as_deref(),
        },
        steps: &module.query_response,
    };
    query_response::open(stream, dialogue, rec).await
}

async fn connect(path: &PathBuf, rec: &mut Recorder) -> Result<UnixStream, ProbeFailure> {
    match UnixStream::connect(path).await {
        Ok(stream) => {
            rec.trace(format_args!("Connected to {}", path.display()));
            Ok(stream)
        }
        Err(e) => {
            let why = match e.kind() {
                io::ErrorKind::PermissionDenied => format!(
                    "permission denied connecting to {}: the daemon's user may not open it",
                    path.display()
                ),
                _ => format!("connecting to {}: {e}", path.display()),
            };
            rec.trace(&why);
            Err(ProbeFailure::new(FailureReason::Connect, why))
        }
    }
}
