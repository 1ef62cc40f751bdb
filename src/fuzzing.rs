//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz), not an API: thin
//! wrappers that reach parsers private to their modules, each calling the real
//! code with an in-memory peer. Parsers that are public already (the config,
//! `web_file::parse`, `grpc::wire`, `icmp::packet`, `dns::text`) are fuzzed
//! directly. See `fuzz/README.md`.

use std::future::Future;
use std::io::Cursor;
use std::time::Duration;

use hickory_proto::op::Message;
use http::{HeaderMap, HeaderValue};

use crate::config::TlsSettings;
use crate::probe::query_response::{self, QueryStep, Upgrade};
use crate::probe::{dns, ProbeFailure, Recorder};
use crate::server::probe_endpoint;

/// Drives `future` on a current-thread runtime made once per thread; in-memory
/// streams never wait, so it needs no I/O driver or timers. `None` if no runtime
/// could be made.
fn block_on<F: Future>(future: F) -> Option<F::Output> {
    thread_local! {
        static RUNTIME: Option<tokio::runtime::Runtime> =
            tokio::runtime::Builder::new_current_thread().build().ok();
    }
    RUNTIME.with(|rt| rt.as_ref().map(|rt| rt.block_on(future)))
}

/// Reaches `query_response::run` (line reading, `expect` captures, `send` and
/// label expansion, `expect_bytes`) with `peer` as all the peer sends, then EOF.
/// Steps with `starttls` would need a TLS peer: leave it unset.
pub fn query_response(steps: &[QueryStep], peer: &[u8]) -> Option<Result<(), ProbeFailure>> {
    let conn = tokio::io::join(Cursor::new(peer.to_vec()), tokio::io::sink());
    let tls = TlsSettings::default();
    let upgrade = Upgrade {
        tls: &tls,
        server_name: None,
    };
    let mut rec = Recorder::new(true);
    block_on(query_response::run(
        Box::new(conn),
        steps,
        upgrade,
        &mut rec,
    ))
}

/// Reaches `dns::exchange::framed` (DNS over TCP: the 2-byte length prefix, the
/// read, the decode, the ID check) sending `query` with ID `id` to a server that
/// answers `peer`. Returns the response and how many bytes of `peer` were read.
pub fn dns_tcp_response(
    query: &[u8],
    id: u16,
    peer: &[u8],
) -> Option<(Result<Message, ProbeFailure>, u64)> {
    let mut reader = Cursor::new(peer);
    let stream = tokio::io::join(&mut reader, tokio::io::sink());
    let mut rec = Recorder::new(true);
    let exchanged = block_on(dns::exchange::framed(
        stream,
        Duration::ZERO,
        query,
        id,
        &mut rec,
    ))?;
    Some((exchanged.map(|e| e.response), reader.position()))
}

/// Reaches `/probe`'s `QueryParams::parse` and `get`: the value of `name` in the
/// query string `query`.
pub fn probe_query_param(query: &str, name: &str) -> Option<String> {
    probe_endpoint::QueryParams::parse(query)
        .get(name)
        .map(str::to_string)
}

/// Reaches `/probe`'s `run_timeout` (the `X-Prometheus-Scrape-Timeout-Seconds`
/// header, then `effective_timeout`). The outer `None`: `header` is not a valid
/// header value at all; the inner one: the header is not a number.
pub fn probe_run_timeout(
    header: Option<&[u8]>,
    module_timeout: Option<Duration>,
    offset: Duration,
) -> Option<Option<Duration>> {
    let mut headers = HeaderMap::new();
    if let Some(value) = header {
        let value = HeaderValue::from_bytes(value).ok()?;
        headers.insert("x-prometheus-scrape-timeout-seconds", value);
    }
    Some(probe_endpoint::run_timeout(
        &headers,
        module_timeout,
        offset,
    ))
}
