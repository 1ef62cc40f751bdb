//! Streaming response-body reader with bounded memory, whatever the peer sends.
//!
//! Bytes arrive chunk by chunk ([`BodyReader::push`]). When `compression` is set
//! they go through a streaming decoder (`flate2` / `brotli` writers, whose output
//! comes out in pieces of at most a few tens of KiB, so a decompression bomb never
//! materialises). The decoded bytes are counted against `body_size_limit` and,
//! only when body regexes are configured, matched over a sliding window of
//! [`REGEX_WINDOW`] bytes. Nothing else of the body is kept, unless a caller
//! asks for the decoded bytes up to a cap ([`BodyReader::keep`], for CEL rules).
//!
//! Deflate means raw DEFLATE (RFC 1951), as Blackbox's `compress/flate` reader.

use std::io::{self, Write};

use regex::bytes::Regex;

use crate::probe::http::Compression;

/// Size of the body regex window. The buffer grows to `2 × REGEX_WINDOW`, the
/// regexes run over it, then only its last `REGEX_WINDOW` bytes are kept as the
/// overlap with what follows. A match longer than `REGEX_WINDOW` bytes may
/// therefore be missed, and away from the start of the body `^` no longer means
/// "start of body" (one byte of context is kept so it does not match at a window
/// edge), while a match that touches the end of a non-final window is only
/// counted once more data has arrived.
pub const REGEX_WINDOW: usize = 1 << 20;

/// Bytes a decoder writes to the sink in one go (its output buffer).
const DECODER_BUFFER: usize = 32 * 1024;

/// Why reading stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyStop {
    /// More than `body_size_limit` bytes after decompression.
    TooLarge,
    /// A `fail_if_body_matches_regexp` rule matched (its pattern).
    Matched(String),
    /// The bytes do not decode with the configured compression.
    Decompression(String),
}

/// The outcome of the regex rules once the body is complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegexVerdict {
    /// No rule configured.
    NotRun,
    Pass,
    /// A `fail_if_body_not_matches_regexp` pattern never matched.
    Missing(String),
}

/// The rules are the module's own, compiled once at load and borrowed per run.
struct Window<'r> {
    fail_if_matches: &'r [Regex],
    fail_if_not_matches: &'r [Regex],
    /// Per `fail_if_not_matches` rule: matched yet.
    seen: Vec<bool>,
    buf: Vec<u8>,
    /// Bytes at the front of `buf` kept only as context (0 at the start of the body).
    context: usize,
}

impl Window<'_> {
    /// Runs the rules over the buffer. `last`: no more data will come.
    fn scan(&mut self, last: bool) -> Option<String> {
        let hay = &self.buf[..];
        let counts = |m: Option<regex::bytes::Match<'_>>| match m {
            Some(m) => last || m.end() < hay.len(),
            None => false,
        };
        for re in self.fail_if_matches {
            if counts(re.find_at(hay, self.context)) {
                return Some(re.as_str().to_string());
            }
        }
        for (re, seen) in self.fail_if_not_matches.iter().zip(&mut self.seen) {
            if !*seen && counts(re.find_at(hay, self.context)) {
                *seen = true;
            }
        }
        None
    }

    fn push(&mut self, mut data: &[u8]) -> Option<String> {
        while !data.is_empty() {
            let room = (2 * REGEX_WINDOW).saturating_sub(self.buf.len()).max(1);
            let n = room.min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() >= 2 * REGEX_WINDOW {
                if let Some(p) = self.scan(false) {
                    return Some(p);
                }
                let keep = REGEX_WINDOW + 1;
                let cut = self.buf.len() - keep;
                self.buf.drain(..cut);
                self.context = 1;
            }
        }
        None
    }
}

/// Where decoded bytes end up: counted, limited, matched.
struct Sink<'r> {
    len: u64,
    limit: Option<u64>,
    window: Option<Window<'r>>,
    stop: Option<BodyStop>,
    kept: Option<Kept>,
}

/// The decoded body, kept up to `cap` bytes; `overflow` once more arrived.
struct Kept {
    bytes: Vec<u8>,
    cap: u64,
    overflow: bool,
}

impl Kept {
    fn push(&mut self, data: &[u8]) {
        let room = self.cap.saturating_sub(self.bytes.len() as u64);
        if data.len() as u64 > room {
            self.overflow = true;
        } else if !self.overflow {
            self.bytes.extend_from_slice(data);
        }
    }
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.stop.is_some() {
            return Err(io::Error::other("body reading stopped"));
        }
        let mut take = buf;
        if let Some(limit) = self.limit {
            let room = limit.saturating_sub(self.len);
            if (buf.len() as u64) > room {
                // Room is at most buf.len() here, so it fits in usize.
                take = &buf[..usize::try_from(room).unwrap_or(0)];
                self.stop = Some(BodyStop::TooLarge);
            }
        }
        self.len += take.len() as u64;
        if let Some(k) = &mut self.kept {
            k.push(take);
        }
        if let Some(w) = &mut self.window {
            if let Some(p) = w.push(take) {
                self.stop = Some(BodyStop::Matched(p));
            }
        }
        if self.stop.is_some() {
            return Err(io::Error::other("body reading stopped"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Decoder<'r> {
    Identity(Sink<'r>),
    Gzip(Box<flate2::write::GzDecoder<Sink<'r>>>),
    Deflate(Box<flate2::write::DeflateDecoder<Sink<'r>>>),
    Brotli(Box<brotli::DecompressorWriter<Sink<'r>>>),
}

impl<'r> Decoder<'r> {
    fn sink(&self) -> &Sink<'r> {
        match self {
            Decoder::Identity(s) => s,
            Decoder::Gzip(d) => d.get_ref(),
            Decoder::Deflate(d) => d.get_ref(),
            Decoder::Brotli(d) => d.get_ref(),
        }
    }

    fn sink_mut(&mut self) -> &mut Sink<'r> {
        match self {
            Decoder::Identity(s) => s,
            Decoder::Gzip(d) => d.get_mut(),
            Decoder::Deflate(d) => d.get_mut(),
            Decoder::Brotli(d) => d.get_mut(),
        }
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Decoder::Identity(s) => s.write_all(data),
            Decoder::Gzip(d) => d.write_all(data),
            Decoder::Deflate(d) => d.write_all(data),
            Decoder::Brotli(d) => d.write_all(data),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        match self {
            Decoder::Identity(_) => Ok(()),
            Decoder::Gzip(d) => d.try_finish(),
            Decoder::Deflate(d) => d.try_finish(),
            Decoder::Brotli(d) => d.close(),
        }
    }
}

/// Reads one response body; see the module docs.
pub struct BodyReader<'r> {
    decoder: Decoder<'r>,
    compression: Option<Compression>,
    raw_len: u64,
}

impl<'r> BodyReader<'r> {
    /// `fail_if_matches` / `fail_if_not_matches`: the body rules to run (empty
    /// when they must not run, e.g. because an earlier check failed).
    pub fn new(
        compression: Option<Compression>,
        limit: Option<u64>,
        fail_if_matches: &'r [Regex],
        fail_if_not_matches: &'r [Regex],
    ) -> Self {
        let window = if fail_if_matches.is_empty() && fail_if_not_matches.is_empty() {
            None
        } else {
            Some(Window {
                fail_if_matches,
                fail_if_not_matches,
                seen: vec![false; fail_if_not_matches.len()],
                buf: Vec::new(),
                context: 0,
            })
        };
        let sink = Sink {
            len: 0,
            limit,
            window,
            stop: None,
            kept: None,
        };
        let decoder = match compression {
            None | Some(Compression::Identity) => Decoder::Identity(sink),
            Some(Compression::Gzip) => Decoder::Gzip(Box::new(flate2::write::GzDecoder::new(sink))),
            Some(Compression::Deflate) => {
                Decoder::Deflate(Box::new(flate2::write::DeflateDecoder::new(sink)))
            }
            Some(Compression::Brotli) => Decoder::Brotli(Box::new(
                brotli::DecompressorWriter::new(sink, DECODER_BUFFER),
            )),
        };
        BodyReader {
            decoder,
            compression,
            raw_len: 0,
        }
    }

    /// Keeps the decoded body, up to `cap` bytes, for [`BodyReader::take_kept`].
    pub fn keep(&mut self, cap: u64) {
        self.decoder.sink_mut().kept = Some(Kept {
            bytes: Vec::new(),
            cap,
            overflow: false,
        });
    }

    /// The kept body: `None` if nothing was kept, `Some(None)` if it was longer
    /// than the cap.
    pub fn take_kept(&mut self) -> Option<Option<Vec<u8>>> {
        let kept = self.decoder.sink_mut().kept.take()?;
        Some((!kept.overflow).then_some(kept.bytes))
    }

    /// Whether a decoder runs (the caller feeds it small slices).
    pub fn decoding(&self) -> bool {
        !matches!(self.decoder, Decoder::Identity(_))
    }

    /// Whether any regex rule is being run.
    pub fn matching(&self) -> bool {
        self.decoder.sink().window.is_some()
    }

    /// Feeds one chunk as received. An `Err` means stop reading.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), BodyStop> {
        self.raw_len += chunk.len() as u64;
        let result = self.decoder.write_all(chunk);
        self.check(result)
    }

    fn check(&mut self, result: io::Result<()>) -> Result<(), BodyStop> {
        if let Some(stop) = self.decoder.sink_mut().stop.clone() {
            return Err(stop);
        }
        result.map_err(|e| {
            let name = self
                .compression
                .map(Compression::token)
                .unwrap_or("identity");
            BodyStop::Decompression(format!("not a valid {name} stream: {e}"))
        })
    }

    /// The body ended: flushes the decoder and runs the final regex scan.
    pub fn finish(&mut self) -> Result<RegexVerdict, BodyStop> {
        let result = self.decoder.finish();
        self.check(result)?;
        let Some(w) = &mut self.decoder.sink_mut().window else {
            return Ok(RegexVerdict::NotRun);
        };
        if let Some(p) = w.scan(true) {
            return Err(BodyStop::Matched(p));
        }
        let missing = w
            .fail_if_not_matches
            .iter()
            .zip(&w.seen)
            .find(|(_, seen)| !**seen);
        match missing {
            Some((re, _)) => Ok(RegexVerdict::Missing(re.as_str().to_string())),
            None => Ok(RegexVerdict::Pass),
        }
    }

    /// Bytes after decompression (capped at the limit, as Blackbox reports).
    pub fn uncompressed_len(&self) -> u64 {
        self.decoder.sink().len
    }

    /// Bytes as received on the wire (after transfer decoding).
    pub fn raw_len(&self) -> u64 {
        self.raw_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn re(p: &str) -> Regex {
        Regex::new(p).unwrap_or_else(|_| Regex::new("^$").unwrap_or_else(|_| unreachable!()))
    }

    #[test]
    fn counts_and_limits() {
        let mut r = BodyReader::new(None, Some(4), &[], &[]);
        assert_eq!(r.push(b"abc"), Ok(()));
        assert_eq!(r.push(b"de"), Err(BodyStop::TooLarge));
        assert_eq!(r.uncompressed_len(), 4);
    }

    #[test]
    fn match_across_window_edge() {
        let rules = [re("needle")];
        let mut r = BodyReader::new(None, None, &[], &rules);
        let filler = vec![b'x'; 2 * REGEX_WINDOW - 3];
        assert_eq!(r.push(&filler), Ok(()));
        assert_eq!(r.push(b"needle"), Ok(()));
        assert_eq!(r.push(&filler), Ok(()));
        assert_eq!(r.finish(), Ok(RegexVerdict::Pass));
    }

    #[test]
    fn anchor_does_not_match_mid_body() {
        let rules = [re("^x")];
        let mut r = BodyReader::new(None, None, &rules, &[]);
        assert_eq!(r.push(b"y"), Ok(()));
        let filler = vec![b'x'; 3 * REGEX_WINDOW];
        assert_eq!(r.push(&filler), Ok(()));
        assert_eq!(r.finish(), Ok(RegexVerdict::Pass));
    }

    #[test]
    fn fail_if_matches_stops_early() {
        let rules = [re("bad")];
        let mut r = BodyReader::new(None, None, &rules, &[]);
        assert_eq!(r.push(b"all bad"), Ok(()));
        assert_eq!(r.finish(), Err(BodyStop::Matched("bad".into())));
    }

    #[test]
    fn missing_rule() {
        let rules = [re("A"), re("B")];
        let mut r = BodyReader::new(None, None, &[], &rules);
        assert_eq!(r.push(b"only A"), Ok(()));
        assert_eq!(r.finish(), Ok(RegexVerdict::Missing("B".into())));
    }

    #[test]
    fn keeps_the_body_up_to_its_cap() {
        let mut r = BodyReader::new(None, None, &[], &[]);
        r.keep(5);
        assert_eq!(r.push(b"abc"), Ok(()));
        assert_eq!(r.push(b"de"), Ok(()));
        assert_eq!(r.take_kept(), Some(Some(b"abcde".to_vec())));
        let mut r = BodyReader::new(None, None, &[], &[]);
        r.keep(5);
        assert_eq!(r.push(b"abcdef"), Ok(()));
        assert_eq!(r.take_kept(), Some(None));
        assert_eq!(r.uncompressed_len(), 6);
    }

    #[test]
    fn garbage_is_not_gzip() {
        let mut r = BodyReader::new(Some(Compression::Gzip), None, &[], &[]);
        let res = r
            .push(b"definitely not gzip")
            .and_then(|_| r.finish().map(|_| ()));
        assert!(matches!(res, Err(BodyStop::Decompression(_))));
    }
}
