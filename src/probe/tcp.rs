//! The `tcp` prober. (To be written.)

use super::{FailureReason, ProbeContext, ProbeFailure, Recorder};
use crate::config::TcpModule;

pub async fn probe(
    _target: &str,
    _module: &TcpModule,
    _ctx: &ProbeContext,
    _rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    Err(ProbeFailure::new(
        FailureReason::Io,
        "tcp prober not written yet",
    ))
}
