//! Hostile peers for every prober but http (`hostile.rs` has those), and for the
//! daemon as a whole. Each peer is in-process and misbehaves in one way: it drips,
//! stalls, never ends a line, resets, speaks the wrong protocol, answers garbage or
//! the wrong ID, floods, or lets packets vanish. Every run must fail with its exact
//! reason and end within its timeout plus [`TOLERANCE`], its trace (kept, as for
//! `debug=true`) and failure detail bounded however much the peer sends; a daemon
//! with such probes keeps its good probe on schedule and its memory bounded.
//! Loopback only (the icmp case runs in a network namespace of its own); every
//! peer loop is bounded in count and time.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::process::Command;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hickory_proto::op::Message;
use http::{Request, Response};
use hyper::body::{Body, Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use nix::sched::{unshare, CloneFlags};
use outpost::config::{Config, Module};
use outpost::probe::query_response::MAX_LINE;
use outpost::probe::report::{MAX_TRACE_LINE, MAX_TRACE_LINES};
use outpost::probe::ProbeReport;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixListener};

use crate::support::daemon::{sample, target_server, TestDaemon};
use crate::support::dns::{reply, Answer, Responder};
use crate::support::metrics::{assert_metric, assert_outcome};
use crate::support::run_with;

/// How far past its timeout a run may end. The deadline is enforced around the
/// whole run (`probe::run`), so what remains is waking the timer and assembling
/// the report on a loaded 2-core machine. This bounds a hang; it is not a speed
/// benchmark.
const TOLERANCE: Duration = Duration::from_millis(500);

/// The timeout of the runs below: short, but long enough that a peer's first
/// bytes arrive well before it on a loaded machine.
const TIMEOUT: Duration = Duration::from_secs(1);

/// The longest a peer holds a connection open or keeps dripping: longer than any
/// run here, so the prober always gives up first, yet bounded.
const PEER_LIFETIME: Duration = Duration::from_secs(30);

/// The most an endless peer writes on one connection (then it holds, silent).
const ENDLESS_CAP: usize = 256 << 20;

/// Module `m` of a config written as TOML (`[modules.m]` and its blocks), through
/// the config loader, so each test also proves its options are read.
fn module(toml: &str) -> Arc<Module> {
    let config = Config::from_str_at(toml, Path::new("hostile.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{toml}"));
    config.modules["m"].clone()
}

/// Runs one probe and asserts it ended within `timeout` + [`TOLERANCE`], measured
/// around the whole call.
async fn timed(m: &Module, target: &str, timeout: Duration) -> ProbeReport {
    let started = Instant::now();
    let r = run_with(m, target, timeout, None).await;
    assert_within(&r, started.elapsed(), timeout);
    r
}

#[track_caller]
fn assert_within(r: &ProbeReport, took: Duration, timeout: Duration) {
    assert!(
        took <= timeout + TOLERANCE,
        "the run took {took:?}: more than its timeout {timeout:?} + {TOLERANCE:?}\n{:#?}",
        r.trace
    );
}

/// Reads and drops what the client sends until it closes, for at most
/// [`PEER_LIFETIME`]: the connection stays open and silent meanwhile.
async fn hold<S: AsyncRead + Unpin>(mut s: S) {
    let _ = tokio::time::timeout(PEER_LIFETIME, async {
        let mut buf = [0u8; 4096];
        while matches!(s.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// A TCP peer on 127.0.0.1 that runs `serve` on every connection.
async fn tcp_peer<F, Fut>(serve: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve(s));
        }
    });
    addr
}

/// Writes `bytes`, then holds the connection open and silent.
async fn send_then_hold(mut s: TcpStream, bytes: &'static [u8]) {
    let _ = s.write_all(bytes).await;
    hold(s).await;
}

/// Drips one byte every 500 ms and never a newline (a slowloris).
async fn drip(mut s: TcpStream) {
    let drops = PEER_LIFETIME.as_millis() / 500;
    for _ in 0..drops {
        if s.write_all(b"a").await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Writes `chunk` again and again, up to [`ENDLESS_CAP`] bytes, then holds.
async fn endless(mut s: TcpStream, chunk: Vec<u8>) {
    for _ in 0..ENDLESS_CAP / chunk.len() {
        if s.write_all(&chunk).await.is_err() {
            return;
        }
    }
    hold(s).await;
}

/// One line that never ends: `a` in 64 KiB writes.
async fn endless_line(s: TcpStream) {
    endless(s, vec![b'a'; 64 << 10]).await;
}

/// An HTTP answer whose body never ends, in 64 KiB writes, up to [`ENDLESS_CAP`].
async fn endless_body(mut s: TcpStream) {
    let mut head = [0u8; 4096];
    let _ = s.read(&mut head).await;
    let _ = s
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1099511627776\r\n\r\n")
        .await;
    endless_line(s).await;
}

// --- tcp ---------------------------------------------------------------------

const EXPECT_OK: &str = r#"
[modules.m]
prober = "tcp"
[[modules.m.tcp.query_response]]
expect = "^OK"
"#;

/// A peer dripping a byte every 500 ms keeps the line from ever completing: the
/// run ends at its deadline, not when (or if) the peer stops.
#[tokio::test]
async fn tcp_slowloris_ends_at_the_deadline() {
    let addr = tcp_peer(drip).await;
    let r = timed(&module(EXPECT_OK), &addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "timeout");
}

/// A line with no newline is buffered up to `MAX_LINE`, then the run fails.
#[tokio::test]
async fn tcp_endless_line_is_cut_at_max_line() {
    let addr = tcp_peer(endless_line).await;
    let r = timed(&module(EXPECT_OK), &addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "io");
    let message = &r.failure.as_ref().unwrap().message;
    assert!(
        message.contains(&format!("longer than {MAX_LINE} bytes")),
        "{message}"
    );
}

/// The trace of a run (`/probe?debug=true`, `outpost probe`) holds a bounded
/// number of lines of bounded length, however many lines a peer sends.
#[track_caller]
fn assert_trace_bounded(r: &ProbeReport) {
    let bytes: usize = r.trace.iter().map(String::len).sum();
    assert!(
        r.trace.len() <= MAX_TRACE_LINES,
        "{} trace lines ({bytes} bytes)",
        r.trace.len()
    );
    assert!(
        r.trace.iter().all(|l| l.len() <= MAX_TRACE_LINE + 64),
        "a trace line longer than {MAX_TRACE_LINE} bytes ({bytes} bytes in all)"
    );
    assert!(
        r.trace.last().is_some_and(|l| l.contains("Probe failed")),
        "the run's last line is kept: {:?}",
        r.trace.last()
    );
}

/// Short lines that never match, as fast as the peer can send them, with the
/// trace on: the run waits for a match until its deadline, and its trace stays
/// bounded.
#[tokio::test]
async fn tcp_endless_unmatched_lines_keep_the_trace_bounded() {
    let addr = tcp_peer(|s| endless(s, b"no\n".repeat(21_845))).await;
    let r = timed(&module(EXPECT_OK), &addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "timeout");
    assert_trace_bounded(&r);
}

/// Lines just under `MAX_LINE`, one after another: each is read, none is traced
/// whole.
#[tokio::test]
async fn tcp_endless_long_lines_keep_the_trace_bounded() {
    let addr = tcp_peer(|s| endless(s, [vec![b'a'; MAX_LINE - 1], b"\n".to_vec()].concat())).await;
    let r = timed(&module(EXPECT_OK), &addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "timeout");
    assert_trace_bounded(&r);
}

/// A failure's message is kept with the report until the next run and logged:
/// the last line read goes into it as an excerpt, not whole.
#[tokio::test]
async fn tcp_a_long_unmatched_line_is_quoted_in_the_failure_as_an_excerpt() {
    let addr = tcp_peer(|mut s: TcpStream| async move {
        let line = [vec![b'a'; MAX_LINE - 1], b"\n".to_vec()].concat();
        let _ = s.write_all(&line).await;
    })
    .await;
    let r = timed(&module(EXPECT_OK), &addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "expect_regex");
    let message = &r.failure.as_ref().unwrap().message;
    assert!(
        message.len() < 1024,
        "a {}-byte failure message: {:?}...",
        message.len(),
        &message[..200]
    );
    assert!(
        message.contains(&format!("{} bytes", MAX_LINE - 1)),
        "{message}"
    );
}

/// The peer reads the command, sends half an answer, then resets (SO_LINGER 0).
#[tokio::test]
async fn tcp_reset_mid_dialogue_fails_as_io() {
    let addr = tcp_peer(|mut s: TcpStream| async move {
        let mut line = [0u8; 64];
        let _ = s.read(&mut line).await;
        let _ = s.write_all(b"+PO").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(s);
    })
    .await;
    let m = module(
        r#"
[modules.m]
prober = "tcp"
[[modules.m.tcp.query_response]]
send = "PING"
[[modules.m.tcp.query_response]]
expect = "^\\+PONG"
"#,
    );
    let r = timed(&m, &addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "io");
}

const TCP_TLS: &str = r#"
[modules.m]
prober = "tcp"
[modules.m.tcp]
tls = true
tls_config = { insecure_skip_verify = true }
"#;

/// TCP is accepted and the ClientHello never answered.
#[tokio::test]
async fn tcp_tls_handshake_that_never_completes_times_out() {
    let addr = tcp_peer(hold).await;
    let r = timed(&module(TCP_TLS), &addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "timeout");
}

/// A plain-text banner where a TLS record was expected.
#[tokio::test]
async fn tcp_plain_text_where_tls_was_expected_fails_as_tls() {
    let addr = tcp_peer(|s| send_then_hold(s, b"220 mail.example ESMTP ready\r\n")).await;
    let r = timed(&module(TCP_TLS), &addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "tls");
}

// --- unix --------------------------------------------------------------------

/// A socket that accepts and says nothing while an `expect` waits.
#[tokio::test]
async fn unix_silent_socket_times_out_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silent.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let peer = tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(hold(s));
        }
    });
    let m = module(
        r#"
[modules.m]
prober = "unix"
[[modules.m.unix.query_response]]
expect = "^OK"
"#,
    );
    let r = timed(&m, path.to_str().unwrap(), TIMEOUT).await;
    assert_outcome(&r, "timeout");
    peer.abort();
}

// --- dns ---------------------------------------------------------------------

fn dns(transport: &str) -> Arc<Module> {
    module(&format!(
        "[modules.m]\nprober = \"dns\"\n[modules.m.dns]\nquery_name = \"x.test\"\ntransport_protocol = \"{transport}\"\n"
    ))
}

async fn udp_responder(answer: Answer) -> Responder {
    Responder::start(IpAddr::V4(Ipv4Addr::LOCALHOST), answer).await
}

#[tokio::test]
async fn dns_udp_server_that_never_answers_times_out() {
    let silent = udp_responder(Arc::new(|_| None)).await;
    let r = timed(&dns("udp"), &silent.addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "timeout");
    assert_metric(&r, "probe_dns_query_succeeded", &[], 0.0);
    assert_eq!(silent.queries().len(), 1);
}

/// Garbage of several shapes, each answered at once: a failure of its own, not a
/// panic and not a wait for a better answer.
#[tokio::test]
async fn dns_udp_garbage_fails_as_io() {
    let shapes: [fn(&Message) -> Vec<u8>; 4] = [
        // Shorter than a header.
        |_| vec![1, 2, 3],
        // A header of the right ID promising 65535 answers, and nothing after it.
        |q| {
            let mut b = q.metadata.id.to_be_bytes().to_vec();
            b.extend_from_slice(&[0x81, 0x80, 0, 1, 0xff, 0xff, 0, 0, 0, 0]);
            b
        },
        // The right ID, then a name whose label length runs past the end.
        |q| {
            let mut b = q.metadata.id.to_be_bytes().to_vec();
            b.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 63, b'x']);
            b
        },
        // The right ID, then a compression pointer to itself (a loop).
        |q| {
            let mut b = q.metadata.id.to_be_bytes().to_vec();
            b.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12]);
            b.extend_from_slice(&[0, 1, 0, 1]);
            b
        },
    ];
    for shape in shapes {
        let garbage = udp_responder(Arc::new(move |q| Some(shape(q)))).await;
        let r = timed(&dns("udp"), &garbage.addr.to_string(), TIMEOUT).await;
        assert_outcome(&r, "io");
        assert_metric(&r, "probe_dns_query_succeeded", &[], 0.0);
    }
}

/// An answer to another query (another ID) could be a late answer to an earlier
/// run: over UDP it is ignored, and the run waits for its own until the deadline.
#[tokio::test]
async fn dns_udp_answer_with_another_id_is_ignored() {
    let other = udp_responder(Arc::new(|q| {
        let mut q = q.clone();
        q.metadata.id = q.metadata.id.wrapping_add(1);
        Some(reply(&q, vec![], vec![]))
    }))
    .await;
    let r = timed(&dns("udp"), &other.addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "timeout");
    assert!(
        r.trace
            .iter()
            .any(|l| l.contains("Ignored a response with ID")),
        "{:#?}",
        r.trace
    );
}

/// A UDP server answering each query with a flood of answers to other IDs: each
/// is ignored (and traced), the run waits for its own until the deadline, and the
/// trace stays bounded.
#[tokio::test]
async fn dns_udp_flood_of_other_ids_keeps_the_trace_bounded() {
    const FLOOD: usize = 20_000;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let peer = tokio::spawn(async move {
        let mut buf = vec![0u8; 65535];
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            return;
        };
        let mut other = Message::from_vec(&buf[..n]).unwrap();
        other.metadata.id = other.metadata.id.wrapping_add(1);
        let answer = reply(&other, vec![], vec![]);
        for _ in 0..FLOOD {
            if socket.send_to(&answer, from).await.is_err() {
                return;
            }
            // Paced by the prober's reading, so few are lost to a full buffer.
            tokio::task::yield_now().await;
        }
    });
    let r = timed(&dns("udp"), &addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "timeout");
    let ignored = r
        .trace
        .iter()
        .filter(|l| l.contains("Ignored a response with ID"))
        .count();
    assert!(ignored > 0, "{:#?}", r.trace);
    assert_trace_bounded(&r);
    // The flood went past the cap: the trace says how much it left out.
    assert!(
        r.trace.iter().any(|l| l.contains("trace lines dropped")),
        "{ignored} ignored answers traced, none dropped"
    );
    peer.abort();
}

/// What a raw DNS-over-TCP peer does after reading one framed query.
#[derive(Clone, Copy)]
enum AfterQuery {
    /// A length prefix of 512 and only a 12-byte header, then silence.
    ShortThenHold,
    /// The same, then close.
    ShortThenClose,
    /// A well-framed NOERROR answer with another ID.
    OtherId,
}

async fn dns_tcp_peer(after: AfterQuery) -> SocketAddr {
    tcp_peer(move |mut s: TcpStream| async move {
        let Ok(len) = s.read_u16().await else { return };
        let mut query = vec![0u8; usize::from(len)];
        if s.read_exact(&mut query).await.is_err() {
            return;
        }
        let query = Message::from_vec(&query).unwrap();
        let answer = match after {
            AfterQuery::ShortThenHold | AfterQuery::ShortThenClose => {
                let mut b = 512u16.to_be_bytes().to_vec();
                b.extend_from_slice(&query.metadata.id.to_be_bytes());
                b.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]);
                b
            }
            AfterQuery::OtherId => {
                let mut other = query.clone();
                other.metadata.id = other.metadata.id.wrapping_add(1);
                let body = reply(&other, vec![], vec![]);
                let mut b = u16::try_from(body.len()).unwrap().to_be_bytes().to_vec();
                b.extend_from_slice(&body);
                b
            }
        };
        let _ = s.write_all(&answer).await;
        match after {
            AfterQuery::ShortThenHold | AfterQuery::OtherId => hold(s).await,
            AfterQuery::ShortThenClose => drop(s),
        }
    })
    .await
}

#[tokio::test]
async fn dns_tcp_answer_shorter_than_its_length_then_silence_times_out() {
    let addr = dns_tcp_peer(AfterQuery::ShortThenHold).await;
    let r = timed(&dns("tcp"), &addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "timeout");
}

#[tokio::test]
async fn dns_tcp_answer_shorter_than_its_length_then_close_fails_as_io() {
    let addr = dns_tcp_peer(AfterQuery::ShortThenClose).await;
    let r = timed(&dns("tcp"), &addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "io");
}

/// Over TCP the connection carries this query only, so another ID is an error at
/// once rather than something to wait past.
#[tokio::test]
async fn dns_tcp_answer_with_another_id_fails_as_io() {
    let addr = dns_tcp_peer(AfterQuery::OtherId).await;
    let r = timed(&dns("tcp"), &addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "io");
    let message = &r.failure.as_ref().unwrap().message;
    assert!(message.contains("does not match the query's"), "{message}");
}

// --- grpc --------------------------------------------------------------------

const GRPC: &str = "[modules.m]\nprober = \"grpc\"\n";

/// A response body that never yields a frame (and never ends).
struct Stalled;

impl Body for Stalled {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Pending
    }
}

/// A response body of 16 KiB DATA frames without end (up to [`ENDLESS_CAP`]).
struct Endless(usize);

impl Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        const FRAME: usize = 16 << 10;
        if self.0 >= ENDLESS_CAP {
            return Poll::Pending;
        }
        self.0 += FRAME;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![0u8; FRAME])))))
    }
}

/// An HTTP/2 server answering every call with gRPC response headers, then `body`.
async fn grpc_peer<B>(body: fn() -> B) -> SocketAddr
where
    B: Body<Data = Bytes, Error = Infallible> + Send + 'static,
{
    tcp_peer(move |s: TcpStream| async move {
        let svc = hyper::service::service_fn(move |_req: Request<Incoming>| async move {
            let mut resp = Response::new(body());
            resp.headers_mut()
                .insert("content-type", "application/grpc".parse().unwrap());
            Ok::<_, Infallible>(resp)
        });
        let serving = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(s), svc);
        let _ = tokio::time::timeout(PEER_LIFETIME, serving).await;
    })
    .await
}

/// An HTTP/2 server answering every call with gRPC response headers, then nothing:
/// no message, no trailers, the stream left open.
async fn grpc_stall_peer() -> SocketAddr {
    grpc_peer(|| Stalled).await
}

#[tokio::test]
async fn grpc_headers_then_stall_times_out() {
    let addr = grpc_stall_peer().await;
    let r = timed(&module(GRPC), &addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "timeout");
}

/// A health answer is a few bytes: one that never ends is cut at the prober's
/// 64 KiB limit and fails as INTERNAL, at once, whatever the peer would send.
#[tokio::test]
async fn grpc_endless_answer_is_cut_and_fails_as_internal() {
    let addr = grpc_peer(|| Endless(0)).await;
    let r = timed(&module(GRPC), &addr.to_string(), TIMEOUT).await;
    assert_outcome(&r, "grpc_status");
    assert_metric(&r, "probe_grpc_status_code", &[], 13.0);
}

/// HTTP/1.1 where HTTP/2 was expected, the connection then left open or closed:
/// the broken connection fails the call as UNAVAILABLE, as grpc-go reports it, at
/// once.
#[tokio::test]
async fn grpc_garbage_instead_of_http2_fails_as_unavailable() {
    for then_hold in [true, false] {
        let addr = tcp_peer(move |mut s: TcpStream| async move {
            let _ = s
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nbad request")
                .await;
            if then_hold {
                hold(s).await;
            }
        })
        .await;
        let r = timed(&module(GRPC), &addr.to_string(), TIMEOUT).await;
        assert_outcome(&r, "grpc_status");
        assert_metric(&r, "probe_grpc_status_code", &[], 14.0);
    }
}

// --- icmp --------------------------------------------------------------------

/// Echo requests to an address of a subnet where nobody answers, in a network
/// namespace of this test's own: a veth pair (the `dummy` link type needs a kernel
/// module that may be missing) with 10.99.0.1/24 on one end and a permanent
/// neighbour entry for 10.99.0.2, so requests leave at once and vanish on the
/// other end, with no ARP failure to report an error early.
#[test]
fn icmp_packets_that_vanish_time_out_at_the_deadline() {
    let r = std::thread::spawn(|| {
        unshare(CloneFlags::CLONE_NEWNET)
            .expect("unshare(CLONE_NEWNET) needs root (CAP_SYS_ADMIN): run the tests as root");
        for args in [
            "link set lo up",
            "link add hp0 type veth peer name hp1",
            "addr add 10.99.0.1/24 dev hp0",
            "link set hp0 up",
            "link set hp1 up",
            "neigh replace 10.99.0.2 lladdr 02:00:00:00:00:02 dev hp0 nud permanent",
        ] {
            let status = Command::new("ip")
                .args(args.split(' '))
                .status()
                .expect("`ip` (Debian package iproute2) is needed for the icmp tests");
            assert!(status.success(), "ip {args}");
        }
        let m = module(
            "[modules.m]\nprober = \"icmp\"\n[modules.m.icmp]\npreferred_ip_protocol = \"ip4\"\n",
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let started = Instant::now();
        let r = rt.block_on(run_with(&m, "10.99.0.2", TIMEOUT, None));
        assert_within(&r, started.elapsed(), TIMEOUT);
        r
    })
    .join()
    .unwrap();
    assert_outcome(&r, "timeout");
    assert_metric(&r, "probe_icmp_duration_seconds", &[("phase", "rtt")], 0.0);
}

// --- the daemon --------------------------------------------------------------

/// How late a scheduled run may start against its planned time (a bucket bound
/// of `outpost_scheduler_lag_seconds`). Hostile targets must not delay other
/// probes; on an idle machine lag is well under a millisecond, so this bounds
/// starvation, it is not a benchmark.
const LATE: &str = "0.5";

/// How much the process's resident memory may grow over [`ENDLESS_RUNS`] runs
/// against each endless peer: one run buffering what such a peer sends in its
/// 1 s would exceed it; allocator slack and the test's own peers stay well under.
const RSS_GROWTH: u64 = 64 << 20;

/// Runs of each endless probe between the two memory readings.
const ENDLESS_RUNS: f64 = 4.0;

/// `VmRSS` of this process in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kb << 10
}

/// `probe_runs_total{probe="NAME",...,outcome="OUTCOME"}` in exposition `text`.
fn runs(text: &str, probe: &str, outcome: &str) -> f64 {
    let (head, tail) = (
        format!("probe_runs_total{{probe=\"{probe}\","),
        format!("outcome=\"{outcome}\"}}"),
    );
    text.lines()
        .filter_map(|l| l.strip_prefix(&head))
        .filter_map(|l| l.split_once(&tail).map(|(_, v)| v))
        .filter_map(|v| v.trim().parse::<f64>().ok())
        .sum()
}

fn all_runs(text: &str, probe: &str) -> f64 {
    runs(text, probe, "success") + runs(text, probe, "failure")
}

/// The names of the hostile scheduled probes.
const HOSTILE: &[&str] = &[
    "slowloris",
    "endless_line",
    "tls_stall",
    "grpc_stall",
    "dns_silent",
    "unix_silent",
    "endless_body",
];

/// A good probe every second beside probes of every stalling and endless peer
/// above: the good one keeps succeeding on schedule, no run starts late, and the
/// endless peers do not make memory grow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_keeps_a_good_probe_on_schedule_beside_hostile_peers() {
    let good = target_server().await;
    let slowloris = tcp_peer(drip).await;
    let endless = tcp_peer(endless_line).await;
    let silent = tcp_peer(hold).await;
    let grpc = grpc_stall_peer().await;
    let dns = udp_responder(Arc::new(|_| None)).await;
    let body = tcp_peer(endless_body).await;
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("silent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let unix = tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(hold(s));
        }
    });
    let sock = sock.display();
    let toml = format!(
        r#"
[modules.good]
prober = "http"
timeout = "1s"
[modules.expect_ok]
prober = "tcp"
timeout = "1s"
[[modules.expect_ok.tcp.query_response]]
expect = "^OK"
[modules.tls]
prober = "tcp"
timeout = "1s"
[modules.tls.tcp]
tls = true
tls_config = {{ insecure_skip_verify = true }}
[modules.grpc]
prober = "grpc"
timeout = "1s"
[modules.dns]
prober = "dns"
timeout = "1s"
[modules.dns.dns]
query_name = "x.test"
[modules.unix]
prober = "unix"
timeout = "1s"
[[modules.unix.unix.query_response]]
expect = "^OK"
[modules.http]
prober = "http"
timeout = "1s"

[[probes]]
name = "good"
module = "good"
target = "http://{good}/ok"
interval = "1s"
[[probes]]
name = "slowloris"
module = "expect_ok"
target = "{slowloris}"
interval = "2s"
[[probes]]
name = "endless_line"
module = "expect_ok"
target = "{endless}"
interval = "2s"
[[probes]]
name = "tls_stall"
module = "tls"
target = "{silent}"
interval = "2s"
[[probes]]
name = "grpc_stall"
module = "grpc"
target = "{grpc}"
interval = "2s"
[[probes]]
name = "dns_silent"
module = "dns"
target = "{dns_addr}"
interval = "2s"
[[probes]]
name = "unix_silent"
module = "unix"
target = "{sock}"
interval = "2s"
[[probes]]
name = "endless_body"
module = "http"
target = "http://{body}/"
interval = "2s"
"#,
        dns_addr = dns.addr,
    );
    let d = TestDaemon::start(&toml).await;

    // Every probe has run once: the peers' first connections are made.
    let m = d
        .metrics_when(Duration::from_secs(10), |m| {
            runs(m, "good", "success") >= 1.0 && HOSTILE.iter().all(|p| all_runs(m, p) >= 1.0)
        })
        .await;
    assert!(
        HOSTILE.iter().all(|p| all_runs(&m, p) >= 1.0),
        "not every probe ran within 10 s:\n{m}"
    );
    let (rss_before, good_before, started) = (rss(), runs(&m, "good", "success"), Instant::now());
    let (line_before, body_before) = (all_runs(&m, "endless_line"), all_runs(&m, "endless_body"));

    let m = d
        .metrics_when(Duration::from_secs(20), |m| {
            all_runs(m, "endless_line") >= line_before + ENDLESS_RUNS
                && all_runs(m, "endless_body") >= body_before + ENDLESS_RUNS
        })
        .await;
    let (rss_after, elapsed) = (rss(), started.elapsed());
    assert!(
        all_runs(&m, "endless_line") >= line_before + ENDLESS_RUNS
            && all_runs(&m, "endless_body") >= body_before + ENDLESS_RUNS,
        "the endless probes did not run {ENDLESS_RUNS} times within 20 s:\n{m}"
    );

    // The good probe: every run succeeded, one a second (one may be in flight).
    assert_eq!(runs(&m, "good", "failure"), 0.0, "{m}");
    let good_runs = runs(&m, "good", "success") - good_before;
    assert!(
        good_runs >= elapsed.as_secs_f64().floor() - 1.0,
        "{good_runs} good runs in {elapsed:?}:\n{m}"
    );
    // The hostile ones all failed.
    for p in HOSTILE {
        assert_eq!(runs(&m, p, "success"), 0.0, "{p}:\n{m}");
    }
    // No run started later than LATE after its planned time.
    let lag = |series: &str| sample(&m, series, "").unwrap_or(f64::NAN);
    let on_time = sample(
        &m,
        "outpost_scheduler_lag_seconds_bucket",
        &format!("le=\"{LATE}\""),
    )
    .unwrap_or_else(|| panic!("no le=\"{LATE}\" bucket:\n{m}"));
    assert_eq!(
        on_time,
        lag("outpost_scheduler_lag_seconds_count"),
        "runs started more than {LATE} s late:\n{m}"
    );
    assert_eq!(
        sample(&m, "outpost_scheduler_skipped_runs_total", ""),
        Some(0.0),
        "{m}"
    );
    // Memory: bounded whatever the endless peers send.
    let grown = rss_after.saturating_sub(rss_before);
    assert!(
        grown < RSS_GROWTH,
        "RSS grew by {} MiB ({} -> {} MiB) over {ENDLESS_RUNS} runs against each endless peer",
        grown >> 20,
        rss_before >> 20,
        rss_after >> 20
    );
    d.stop().await;
    unix.abort();
}
