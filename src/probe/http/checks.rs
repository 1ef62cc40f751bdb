//! The final response: its series, Blackbox's checks in Blackbox's order (status,
//! headers, body, version, TLS), and the streaming body read.

use std::time::Instant;

use http::Version;

use super::conn::{add_phase, HopResponse};
use super::series::{self, HttpPhase};
use super::{HeaderMatch, HttpModule};
use crate::metrics::names;
use crate::probe::body::{BodyReader, BodyStop, RegexVerdict};
use crate::probe::{FailureReason, ProbeFailure, Recorder};

/// Compressed bytes fed to the decoder between two yields.
const FEED_SLICE: usize = 4096;

pub(super) async fn finish(
    resp: &mut HopResponse,
    module: &HttpModule,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    record_head(resp, rec);
    let mut failure = check_head(&resp.head, module, rec).err();
    // Body regexes run only while the probe is still successful (as Blackbox).
    let body_result = check_body(resp, module, failure.is_none(), rec).await;
    failure = failure.or(body_result.err());
    failure = failure.or(check_version(resp.head.version, module).err());
    failure = failure.or(check_ssl(resp.over_tls, module).err());
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

/// The series read off the final response's head.
fn record_head(resp: &HopResponse, rec: &mut Recorder) {
    let head = &resp.head;
    rec.set(
        series::PROBE_HTTP_STATUS_CODE,
        f64::from(head.status.as_u16()),
    );
    rec.set(series::PROBE_HTTP_CONTENT_LENGTH, content_length(head));
    rec.set(series::PROBE_HTTP_VERSION, version_number(head.version));
    rec.set(
        series::PROBE_HTTP_SSL,
        if resp.over_tls { 1.0 } else { 0.0 },
    );
    if !resp.over_tls {
        super::drop_tls_series(rec);
    }
    if let Some(t) = last_modified(head) {
        rec.set(series::PROBE_HTTP_LAST_MODIFIED_TIMESTAMP_SECONDS, t);
    }
}

/// Status, then header rules (only while the status passed).
fn check_head(
    head: &http::response::Parts,
    module: &HttpModule,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    check_status(head.status.as_u16(), &module.valid_status_codes)?;
    if module.fail_if_header_matches.is_empty() && module.fail_if_header_not_matches.is_empty() {
        return Ok(());
    }
    let r = check_headers(&head.headers, module);
    rec.set(
        names::PROBE_FAILED_DUE_TO_REGEX,
        if r.is_ok() { 0.0 } else { 1.0 },
    );
    r
}

/// Reads the body (always, for the transfer phase and length), running the
/// body regexes and CEL rules when `run_regexes` (the probe is still successful).
async fn check_body(
    resp: &mut HopResponse,
    module: &HttpModule,
    run_regexes: bool,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    let (fail_if, fail_if_not): (&[_], &[_]) = if run_regexes {
        (
            &module.fail_if_body_matches_regexp,
            &module.fail_if_body_not_matches_regexp,
        )
    } else {
        (&[], &[])
    };
    let mut reader = BodyReader::new(
        module.compression,
        module.body_size_limit,
        fail_if,
        fail_if_not,
    );
    let matching = reader.matching();
    // CEL rules run only while the probe is still successful (as Blackbox).
    if run_regexes && super::cel::configured(module) {
        reader.keep(super::cel::body_cap(module));
    }
    let body_result = read_body(resp, &mut reader, rec).await;
    if matching {
        let failed = matches!(
            body_result,
            Err(ref f) if f.reason == FailureReason::BodyRegex
        );
        rec.set(
            names::PROBE_FAILED_DUE_TO_REGEX,
            if failed { 1.0 } else { 0.0 },
        );
    }
    body_result?;
    match reader.take_kept() {
        Some(kept) => super::cel::check(kept, module, rec).await,
        None => Ok(()),
    }
}

fn check_version(version: Version, module: &HttpModule) -> Result<(), ProbeFailure> {
    let proto = proto_name(version);
    if module.valid_http_versions.is_empty()
        || module.valid_http_versions.iter().any(|v| v == proto)
    {
        return Ok(());
    }
    Err(ProbeFailure::new(
        FailureReason::HttpVersion,
        format!(
            "{proto} is not in valid_http_versions {:?}",
            module.valid_http_versions
        ),
    ))
}

fn check_ssl(over_tls: bool, module: &HttpModule) -> Result<(), ProbeFailure> {
    if over_tls && module.fail_if_ssl {
        return Err(ProbeFailure::new(
            FailureReason::SslForbidden,
            "final request was over SSL",
        ));
    }
    if !over_tls && module.fail_if_not_ssl {
        return Err(ProbeFailure::new(
            FailureReason::SslRequired,
            "final request was not over SSL",
        ));
    }
    Ok(())
}

/// Reads the body frame by frame into `reader`, writing
/// `probe_http_uncompressed_body_length` as it goes and the `transfer` phase at
/// the end (also when reading stops early).
async fn read_body(
    resp: &mut HopResponse,
    reader: &mut BodyReader<'_>,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    let result = read_frames(resp, reader, rec).await;
    let end = Instant::now();
    add_phase(
        rec,
        HttpPhase::Transfer,
        end.duration_since(resp.first_byte).as_secs_f64(),
    );
    rec.set(
        series::PROBE_HTTP_UNCOMPRESSED_BODY_LENGTH,
        reader.uncompressed_len() as f64,
    );
    rec.trace(format_args!(
        "Read {} body bytes ({} after decompression)",
        reader.raw_len(),
        reader.uncompressed_len()
    ));
    result
}

async fn read_frames(
    resp: &mut HopResponse,
    reader: &mut BodyReader<'_>,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    while let Some(data) = resp.body.data().await? {
        // Decompression is synchronous work: feed compressed input in small
        // slices and yield between them, so a bomb cannot hold the thread past
        // the deadline.
        let slice = if reader.decoding() {
            FEED_SLICE
        } else {
            data.len().max(1)
        };
        for piece in data.chunks(slice) {
            let pushed = reader.push(piece);
            rec.set(
                series::PROBE_HTTP_UNCOMPRESSED_BODY_LENGTH,
                reader.uncompressed_len() as f64,
            );
            pushed.map_err(stop_failure)?;
            if reader.decoding() {
                tokio::task::yield_now().await;
            }
        }
    }
    let verdict = reader.finish().map_err(stop_failure)?;
    match verdict {
        RegexVerdict::Missing(p) => Err(ProbeFailure::new(
            FailureReason::BodyRegex,
            format!(
                "body did not match /{p}/ in the {} read",
                bytes_in_words(reader.uncompressed_len())
            ),
        )),
        RegexVerdict::NotRun | RegexVerdict::Pass => Ok(()),
    }
}

/// "812 bytes", "1 byte", "1.5 MiB": a body's size as a person reads it.
fn bytes_in_words(n: u64) -> String {
    const KIB: u64 = 1024;
    match n {
        1 => "1 byte".to_string(),
        0..KIB => format!("{n} bytes"),
        KIB..1_048_576 => format!("{:.1} KiB", n as f64 / KIB as f64),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

fn stop_failure(stop: BodyStop) -> ProbeFailure {
    match stop {
        BodyStop::TooLarge => ProbeFailure::new(
            FailureReason::BodyTooLarge,
            "body larger than body_size_limit",
        ),
        BodyStop::Matched(p) => {
            ProbeFailure::new(FailureReason::BodyRegex, format!("body matched /{p}/"))
        }
        BodyStop::Decompression(m) => ProbeFailure::new(FailureReason::Decompression, m),
    }
}

fn check_status(status: u16, valid: &[u16]) -> Result<(), ProbeFailure> {
    let ok = if valid.is_empty() {
        (200..300).contains(&status)
    } else {
        valid.contains(&status)
    };
    if ok {
        return Ok(());
    }
    let wanted = if valid.is_empty() {
        "2xx".to_string()
    } else {
        format!("{valid:?}")
    };
    Err(ProbeFailure::new(
        FailureReason::HttpStatus,
        format!("status code {status}, wanted {wanted}"),
    ))
}

fn check_headers(headers: &http::HeaderMap, module: &HttpModule) -> Result<(), ProbeFailure> {
    let fail = |msg: String| ProbeFailure::new(FailureReason::HeaderRegex, msg);
    let values = |m: &HeaderMatch| -> Vec<String> {
        headers
            .get_all(&m.header)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    };
    for m in &module.fail_if_header_matches {
        let vals = values(m);
        if vals.is_empty() {
            if m.allow_missing {
                continue;
            }
            return Err(fail(format!("missing required header {}", m.header)));
        }
        if vals.iter().any(|v| m.regexp.is_match(v)) {
            return Err(fail(format!(
                "header {} matched {:?}",
                m.header,
                m.regexp.as_str()
            )));
        }
    }
    for m in &module.fail_if_header_not_matches {
        let vals = values(m);
        if vals.is_empty() {
            if m.allow_missing {
                continue;
            }
            return Err(fail(format!("missing required header {}", m.header)));
        }
        if !vals.iter().any(|v| m.regexp.is_match(v)) {
            return Err(fail(format!(
                "header {} did not match {:?}",
                m.header,
                m.regexp.as_str()
            )));
        }
    }
    Ok(())
}

/// Go's `resp.ContentLength`: the header's value, -1 when absent or invalid.
fn content_length(head: &http::response::Parts) -> f64 {
    head.headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(-1.0, |n| n as f64)
}

fn last_modified(head: &http::response::Parts) -> Option<f64> {
    let v = head
        .headers
        .get(http::header::LAST_MODIFIED)?
        .to_str()
        .ok()?;
    let t = httpdate::parse_http_date(v).ok()?;
    let secs = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as f64,
        Err(e) => -(e.duration().as_secs() as f64),
    };
    Some(secs)
}

/// `resp.Proto` as Go spells it.
pub(super) fn proto_name(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "unknown",
    }
}

/// `probe_http_version`: 1.0 → 1, 1.1 → 1.1, 2 → 2.
fn version_number(v: Version) -> f64 {
    match v {
        Version::HTTP_09 => 0.9,
        Version::HTTP_10 => 1.0,
        Version::HTTP_11 => 1.1,
        Version::HTTP_2 => 2.0,
        Version::HTTP_3 => 3.0,
        _ => 0.0,
    }
}
