//! `/metrics` as a stream: the page is encoded on a blocking thread into chunks
//! of [`CHUNK`] bytes that go through a channel of [`QUEUED_CHUNKS`] into the
//! response body, so a scrape holds at most a few chunks however many probes
//! there are, and a slow reader only slows its own encoder.
//!
//! Why this never delays a probe start: the encoder runs off the Tokio workers
//! (on the blocking pool), and the only locks it takes are each probe's results
//! lock for the time of one reference-count copy ([`crate::results::ProbeState::snapshot`])
//! and the scheduler's probe list for the time of cloning it; it waits for the
//! reader only while holding none of them.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

use crate::metrics::encode::Format;
use crate::metrics::source::{self, Source};

/// Bytes per chunk handed to the connection.
pub(super) const CHUNK: usize = 64 * 1024;

/// Chunks encoded ahead of the reader.
pub(super) const QUEUED_CHUNKS: usize = 4;

/// A response body fed by a channel of chunks; it ends when the sender is dropped.
#[derive(Debug)]
pub(super) struct ChannelBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// Starts encoding `sources` in `format` on the blocking pool and returns the
/// body that streams the page. A reader that goes away stops the encoder at its
/// next chunk.
pub(super) fn stream(format: Format, sources: Vec<Arc<dyn Source>>) -> ChannelBody {
    let (tx, rx) = mpsc::channel::<Bytes>(QUEUED_CHUNKS);
    tokio::task::spawn_blocking(move || {
        let sink = Box::new(move |chunk: String| tx.blocking_send(Bytes::from(chunk)).is_ok());
        source::render_stream(format, &sources, CHUNK, sink);
    });
    ChannelBody { rx }
}
