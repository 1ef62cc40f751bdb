//! The `http` prober. (To be written.)

use super::{FailureReason, ProbeContext, ProbeFailure, Recorder};
use crate::config::HttpModule;

pub async fn probe(
    _target: &str,
    _module: &HttpModule,
    _ctx: &ProbeContext,
    _rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    Err(ProbeFailure::new(
        FailureReason::Io,
        "http prober not written yet",
    ))
}
