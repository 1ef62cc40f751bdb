//! The seam `/metrics` is built on: a [`Source`] declares its families and
//! encodes them from state it already holds. The scheduled probes, the daemon's
//! own series, the process and each AWS service cache are sources; the page is
//! the sources' output, one after another, in the order they were registered.

use std::sync::Arc;

use super::encode::{Encoder, Format, Sink};
use super::names::Family;

/// Something `/metrics` shows.
///
/// `encode` runs on every scrape, so it must only read stored state (a snapshot
/// under a short lock): never I/O, never an await. It may write only the families
/// `families` lists (the encoder checks; a debug build panics on the first
/// undeclared one), which is what lets the contract test hold every series
/// against docs/metrics.md.
pub trait Source: Send + Sync + std::fmt::Debug {
    /// Every family this source can write, each with its type and help.
    fn families(&self) -> &[Family];
    /// Writes the current series of this source's families.
    fn encode(&self, enc: &mut Encoder);
}

/// The `/metrics` page: every source in turn. `size_hint` is the previous page's
/// length, so a page of tens of MiB is written into one allocation.
pub fn render(format: Format, sources: &[Arc<dyn Source>], size_hint: usize) -> String {
    let mut enc = Encoder::with_capacity(format, size_hint + size_hint / 8);
    for source in sources {
        enc.declare(source.families());
        source.encode(&mut enc);
    }
    enc.finish()
}

/// The `/metrics` page, streamed: every source in turn into an encoder that
/// hands `sink` chunks of about `chunk` bytes as they fill. Only one chunk (and
/// what the sink queues) exists at a time, however long the page. Returns whether
/// the reader took the whole page.
pub fn render_stream(
    format: Format,
    sources: &[Arc<dyn Source>],
    chunk: usize,
    sink: Sink,
) -> bool {
    let mut enc = Encoder::streaming(format, chunk, sink);
    for source in sources {
        if enc.is_closed() {
            return false;
        }
        enc.declare(source.families());
        source.encode(&mut enc);
    }
    enc.finish_stream()
}

/// The families `source` wrote that it did not declare (empty when it keeps its
/// contract). For tests: a release build does not panic on them.
pub fn undeclared(source: &dyn Source, format: Format) -> Vec<String> {
    let mut enc = Encoder::new(format);
    enc.declare(source.families());
    source.encode(&mut enc);
    enc.undeclared().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::names::{self, Kind};

    /// Declares the daemon's families but writes one of its own.
    #[derive(Debug)]
    struct Rogue;

    impl Source for Rogue {
        fn families(&self) -> &[Family] {
            names::DAEMON
        }
        fn encode(&self, enc: &mut Encoder) {
            enc.family("rogue_series", Kind::Gauge, "Not declared.");
            enc.sample(&[], 1.0);
        }
    }

    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "not declared"))]
    fn an_undeclared_family_is_caught() {
        assert_eq!(undeclared(&Rogue, Format::Text), ["rogue_series"]);
    }

    #[test]
    fn a_declared_family_by_name_gets_its_type_and_help() {
        let mut enc = Encoder::new(Format::Text);
        enc.declare(names::DAEMON);
        enc.start_declared(names::OUTPOST_MODULE_UNKNOWN_TOTAL);
        enc.sample(&[], 2.0);
        assert!(enc.undeclared().is_empty());
        assert_eq!(
            enc.finish(),
            "# HELP outpost_module_unknown_total Requests to /probe naming a module that does not exist.\n\
             # TYPE outpost_module_unknown_total counter\noutpost_module_unknown_total 2\n"
        );
    }
}
