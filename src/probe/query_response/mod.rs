//! The `query_response` dialogue of the tcp and unix probers: ordered steps, each
//! optionally expecting a line (regex) or exact bytes, then sending a line, then
//! upgrading to TLS (STARTTLS).
//!
//! Same semantics as Blackbox's `prober/query_response.go`, with these departures:
//! - `expect_bytes` reads until it has as many bytes as expected (Blackbox does a
//!   single read, so a reply split across packets fails).
//! - A failing step is named in the outcome's detail and the trace by its index and
//!   text (Blackbox's #1528), and has an outcome of its own (`expect_regex`,
//!   `expect_bytes`).
//! - Bytes the server sent after the line preceding STARTTLS, before the TLS
//!   handshake, fail the run instead of being dropped: they would otherwise be
//!   read as if they had come over TLS (the STARTTLS command-injection class).
//! - Lines may be up to [`MAX_LINE`] long (Blackbox's scanner stops at 64 KiB);
//!   a failure quotes the last line read up to [`QUOTED`] bytes.

pub mod config;

use regex::bytes::Regex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{tls, FailureReason, ProbeFailure, Recorder};
use crate::config::TlsSettings;
use crate::metrics::names;

/// The longest line an `expect` step reads; a longer one fails the run.
pub const MAX_LINE: usize = 1 << 20;

/// The most of a line read from the peer that a failure message quotes. The
/// message stays with the report until the next run and is logged, so it must
/// not carry a line of up to [`MAX_LINE`] bytes.
pub const QUOTED: usize = 256;

/// One `query_response` step, validated.
#[derive(Debug, Clone, Default)]
pub struct QueryStep {
    /// Read lines until one matches.
    pub expect: Option<Regex>,
    /// Read exactly these bytes.
    pub expect_bytes: Option<Vec<u8>>,
    /// A line to send (a `\n` is appended); `$1`/`${name}` expand the captures of
    /// this step's `expect`.
    pub send: Option<String>,
    /// Upgrade the connection to TLS after this step's send.
    pub starttls: bool,
    /// `probe_expect_info` labels: names (interned at load) and values with
    /// capture references, set when `expect` matches.
    pub labels: Vec<(&'static str, String)>,
}

/// A byte stream the dialogue can run over: TCP, a Unix socket, or TLS on either.
pub trait Conn: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Conn for T {}

/// How a STARTTLS step upgrades the connection.
#[derive(Debug, Clone, Copy)]
pub struct Upgrade<'a> {
    pub tls: &'a TlsSettings,
    /// SNI and the name verified; `None` sends no SNI (allowed only with
    /// `insecure_skip_verify`).
    pub server_name: Option<&'a str>,
}

/// What runs on a fresh connection: TLS from the first byte when `tls`, then the
/// steps. tcp and unix differ only in how they connect and name the server.
#[derive(Debug, Clone, Copy)]
pub struct Dialogue<'a> {
    pub tls: bool,
    /// The TLS settings and server name, for `tls` and for `starttls` steps.
    pub upgrade: Upgrade<'a>,
    pub steps: &'a [QueryStep],
}

/// Runs `dialogue` on a connected `stream`. The caller bounds it with the run's
/// deadline.
pub async fn open<IO: Conn + 'static>(
    stream: IO,
    dialogue: Dialogue<'_>,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    let conn: Box<dyn Conn> = if dialogue.tls {
        Box::new(handshake(stream, dialogue.upgrade, rec).await?)
    } else {
        Box::new(stream)
    };
    run(conn, dialogue.steps, dialogue.upgrade, rec).await
}

/// The TLS handshake of `tls` and of `starttls`; its series, cipher included, are
/// those Blackbox 0.28's query_response reports.
async fn handshake<IO: Conn>(
    io: IO,
    upgrade: Upgrade<'_>,
    rec: &mut Recorder,
) -> Result<tokio_rustls::client::TlsStream<IO>, ProbeFailure> {
    let series = tls::SeriesOptions { cipher: true };
    let (stream, _) = match upgrade.server_name {
        Some(name) => tls::handshake(io, upgrade.tls, name, &[], series, rec).await?,
        None => tls::handshake_without_sni(io, upgrade.tls, series, rec).await?,
    };
    Ok(stream)
}

/// Runs `steps` over `conn`.
pub(crate) async fn run(
    conn: Box<dyn Conn>,
    steps: &[QueryStep],
    upgrade: Upgrade<'_>,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    let mut session = Session {
        conn,
        buf: Vec::new(),
        eof: false,
    };
    for (i, step) in steps.iter().enumerate() {
        session.step(i, step, upgrade, rec).await?;
    }
    Ok(())
}

/// The connection and what has been read from it but not yet consumed.
struct Session {
    conn: Box<dyn Conn>,
    buf: Vec<u8>,
    eof: bool,
}

impl Session {
    async fn step(
        &mut self,
        i: usize,
        step: &QueryStep,
        upgrade: Upgrade<'_>,
        rec: &mut Recorder,
    ) -> Result<(), ProbeFailure> {
        let mut send = step.send.as_deref().map(|s| s.as_bytes().to_vec());
        if let Some(re) = &step.expect {
            let (line, expanded) = self.expect(i, re, send.as_deref(), rec).await?;
            send = expanded;
            if !step.labels.is_empty() {
                record_expect_info(re, &line, &step.labels, rec);
            }
        }
        if let Some(bytes) = &step.expect_bytes {
            self.expect_bytes(i, bytes, rec).await?;
        }
        if let Some(line) = send {
            self.send(i, &line, rec).await?;
        }
        if step.starttls {
            self.starttls(i, upgrade, rec).await?;
        }
        Ok(())
    }

    /// Reads lines until one matches `re`. Returns the line and `send` expanded
    /// with its captures.
    async fn expect(
        &mut self,
        i: usize,
        re: &Regex,
        send: Option<&[u8]>,
        rec: &mut Recorder,
    ) -> Result<(Vec<u8>, Option<Vec<u8>>), ProbeFailure> {
        let mut last = Vec::new();
        while let Some(line) = self.read_line(i).await? {
            rec.trace(format_args!(
                "query_response[{i}]: read line {:?}",
                String::from_utf8_lossy(&line)
            ));
            if let Some(caps) = re.captures(&line) {
                rec.set(names::PROBE_FAILED_DUE_TO_REGEX, 0.0);
                rec.trace(format_args!(
                    "query_response[{i}]: expect {:?} matched",
                    re.as_str()
                ));
                let expanded = send.map(|s| {
                    let mut out = Vec::new();
                    caps.expand(s, &mut out);
                    out
                });
                return Ok((line.clone(), expanded));
            }
            last = line;
        }
        rec.set(names::PROBE_FAILED_DUE_TO_REGEX, 1.0);
        let message = format!(
            "query_response[{i}]: expect {:?} matched no line before the connection closed (last line {})",
            re.as_str(),
            quoted(&last)
        );
        rec.trace(&message);
        Err(ProbeFailure::new(FailureReason::ExpectRegex, message))
    }

    /// Reads exactly `want.len()` bytes and compares them with `want`.
    async fn expect_bytes(
        &mut self,
        i: usize,
        want: &[u8],
        rec: &mut Recorder,
    ) -> Result<(), ProbeFailure> {
        while self.buf.len() < want.len() && !self.eof {
            self.fill(i).await?;
        }
        if self.buf.len() < want.len() {
            let message = format!(
                "query_response[{i}]: connection closed after {} of the {} bytes of expect_bytes",
                self.buf.len(),
                want.len()
            );
            rec.trace(&message);
            return Err(ProbeFailure::new(FailureReason::Io, message));
        }
        let got: Vec<u8> = self.buf.drain(..want.len()).collect();
        if got != want {
            rec.set(names::PROBE_FAILED_DUE_TO_BYTES, 1.0);
            let message = format!(
                "query_response[{i}]: expect_bytes {:?} does not match the bytes read {:?}",
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(&got)
            );
            rec.trace(&message);
            return Err(ProbeFailure::new(FailureReason::ExpectBytes, message));
        }
        rec.set(names::PROBE_FAILED_DUE_TO_BYTES, 0.0);
        rec.trace(format_args!("query_response[{i}]: expect_bytes matched"));
        Ok(())
    }

    async fn send(
        &mut self,
        i: usize,
        line: &[u8],
        rec: &mut Recorder,
    ) -> Result<(), ProbeFailure> {
        rec.trace(format_args!(
            "query_response[{i}]: sending {:?}",
            String::from_utf8_lossy(line)
        ));
        let mut out = Vec::with_capacity(line.len() + 1);
        out.extend_from_slice(line);
        out.push(b'\n');
        let written = async {
            self.conn.write_all(&out).await?;
            self.conn.flush().await
        };
        written.await.map_err(|e| {
            ProbeFailure::new(
                FailureReason::Io,
                format!("query_response[{i}]: sending: {e}"),
            )
        })
    }

    async fn starttls(
        &mut self,
        i: usize,
        upgrade: Upgrade<'_>,
        rec: &mut Recorder,
    ) -> Result<(), ProbeFailure> {
        if !self.buf.is_empty() {
            return Err(ProbeFailure::new(
                FailureReason::Tls,
                format!(
                    "query_response[{i}]: the server sent {} bytes before the TLS handshake of starttls",
                    self.buf.len()
                ),
            ));
        }
        rec.trace(format_args!("query_response[{i}]: starting TLS"));
        // The plain stream moves into the TLS stream; a closed in-memory pipe holds
        // its place until the handshake gives the TLS stream back.
        let (placeholder, _) = tokio::io::duplex(1);
        let plain = std::mem::replace(&mut self.conn, Box::new(placeholder));
        self.conn = Box::new(handshake(plain, upgrade, rec).await?);
        Ok(())
    }

    /// The next line without its `\n` (and `\r`), the last unterminated one at
    /// the end of the stream, or `None` at the end.
    async fn read_line(&mut self, i: usize) -> Result<Option<Vec<u8>>, ProbeFailure> {
        let mut scanned = 0;
        loop {
            if let Some(pos) = self.buf[scanned..].iter().position(|b| *b == b'\n') {
                let end = scanned + pos;
                let mut line: Vec<u8> = self.buf.drain(..=end).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Some(line));
            }
            scanned = self.buf.len();
            if self.buf.len() > MAX_LINE {
                return Err(ProbeFailure::new(
                    FailureReason::Io,
                    format!("query_response[{i}]: a line longer than {MAX_LINE} bytes"),
                ));
            }
            if self.eof {
                return Ok((!self.buf.is_empty()).then(|| std::mem::take(&mut self.buf)));
            }
            self.fill(i).await?;
        }
    }

    /// Reads what is available into the buffer; sets `eof` at the end.
    async fn fill(&mut self, i: usize) -> Result<(), ProbeFailure> {
        let mut chunk = [0u8; 4096];
        match self.conn.read(&mut chunk).await {
            Ok(0) => {
                self.eof = true;
                Ok(())
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) => Err(ProbeFailure::new(
                FailureReason::Io,
                format!("query_response[{i}]: reading: {e}"),
            )),
        }
    }
}

/// `line` quoted for a failure message: whole up to [`QUOTED`] bytes, else its
/// first [`QUOTED`] bytes and its length.
fn quoted(line: &[u8]) -> String {
    match line.get(..QUOTED) {
        Some(start) if line.len() > QUOTED => format!(
            "{:?}... ({} bytes)",
            String::from_utf8_lossy(start),
            line.len()
        ),
        _ => format!("{:?}", String::from_utf8_lossy(line)),
    }
}

/// `probe_expect_info{labels} 1`, label values expanded with the match's captures.
fn record_expect_info(
    re: &Regex,
    line: &[u8],
    labels: &[(&'static str, String)],
    rec: &mut Recorder,
) {
    let Some(caps) = re.captures(line) else {
        return;
    };
    let values = labels
        .iter()
        .map(|(name, template)| {
            let mut out = Vec::new();
            caps.expand(template.as_bytes(), &mut out);
            (*name, String::from_utf8_lossy(&out).into_owned().into())
        })
        .collect();
    rec.set_with(names::PROBE_EXPECT_INFO, values, 1.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_quotes_a_long_line_by_its_start() {
        assert_eq!(quoted(b"-ERR x"), "\"-ERR x\"");
        let exact = vec![b'a'; QUOTED];
        assert_eq!(quoted(&exact), format!("{:?}", "a".repeat(QUOTED)));
        let long = vec![b'a'; MAX_LINE];
        assert_eq!(
            quoted(&long),
            format!("{:?}... ({MAX_LINE} bytes)", "a".repeat(QUOTED))
        );
    }
}
