//! Exposition formats: Prometheus text 0.0.4 and OpenMetrics 1.0.
//!
//! outpost writes its own exposition rather than going through a client library's
//! registry: the series are snapshots of stored reports, so there is nothing to
//! register or unregister (removed probes simply stop being written), and serving
//! both formats from one writer keeps counter naming right in each (`foo_total` is
//! the family name in text, `foo` in OpenMetrics), which is where off-the-shelf
//! encoders trip Debian's `promtool check metrics`.

use std::borrow::Cow;

use super::names::{Family, Kind};
use super::number::push_f64;
#[cfg(test)]
use super::number::EXACT_INTEGERS;

/// Which format to write; chosen from the scraper's `Accept` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    OpenMetrics,
}

impl Format {
    /// OpenMetrics only when the scraper lists it in `Accept`, as Prometheus does
    /// (`application/openmetrics-text;version=1.0.0,...`); classic text otherwise.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a)
                if a.split(',').any(|part| {
                    let mut params = part.split(';').map(str::trim);
                    let is_om = params.next() == Some("application/openmetrics-text");
                    let q_zero =
                        params.any(|p| p.starts_with("q=") && p[2..].parse() == Ok(0.0f64));
                    is_om && !q_zero
                }) =>
            {
                Format::OpenMetrics
            }
            _ => Format::Text,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// A label set being built for one sample: borrowed names, owned or borrowed values.
pub type Labels<'a> = [(&'a str, &'a str)];

/// Where a streaming encoder hands each finished chunk; it answers `false` once
/// nobody reads any more (the scraper went away), and later output is dropped.
pub type Sink = Box<dyn FnMut(String) -> bool + Send>;

/// A streaming encoder's outlet: chunks of about `chunk` bytes go to `sink` as
/// they fill, so a page of hundreds of MiB never exists whole in memory.
struct Stream {
    sink: Sink,
    chunk: usize,
    closed: bool,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("chunk", &self.chunk)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

/// Writes families one after another. Every sample of a family must be written
/// between its `family` call and the next.
#[derive(Debug)]
pub struct Encoder {
    format: Format,
    out: String,
    /// Set for a streaming encoder ([`Encoder::streaming`]); `None` builds one String.
    stream: Option<Stream>,
    /// The `le` values of the last histogram bounds written, formatted once and
    /// reused while the bounds stay the same (every probe of a module shares them).
    le_cache: (Vec<f64>, Vec<String>),
    /// The current family's sample name (gauge, counter) or base name (histogram).
    current: String,
    kind: Option<Kind>,
    /// The families the source being encoded declared (see [`Encoder::declare`]);
    /// `None` accepts any family (`/probe`, unit tests).
    declared: Option<Vec<Family>>,
    /// Families written that their source did not declare.
    undeclared: Vec<String>,
}

impl Encoder {
    pub fn new(format: Format) -> Self {
        Self::with_capacity(format, 4096)
    }

    /// An encoder whose output buffer starts with room for `bytes`.
    pub fn with_capacity(format: Format, bytes: usize) -> Self {
        Encoder {
            format,
            out: String::with_capacity(bytes),
            stream: None,
            le_cache: (Vec::new(), Vec::new()),
            current: String::new(),
            kind: None,
            declared: None,
            undeclared: Vec::new(),
        }
    }

    /// An encoder that hands its output to `sink` in chunks of about `chunk`
    /// bytes as it goes (a chunk ends at a line end, so it may run a line over),
    /// instead of building the page in one String. End it with
    /// [`Encoder::finish_stream`].
    pub fn streaming(format: Format, chunk: usize, sink: Sink) -> Self {
        let mut enc = Self::with_capacity(format, chunk + chunk / 8);
        enc.stream = Some(Stream {
            sink,
            chunk: chunk.max(1),
            closed: false,
        });
        enc
    }

    /// Whether a streaming encoder's reader went away (output is dropped since):
    /// a long source may stop early.
    pub fn is_closed(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.closed)
    }

    /// Hands the buffer to the sink once it holds a chunk (streaming only).
    fn maybe_flush(&mut self) {
        let Some(stream) = &mut self.stream else {
            return;
        };
        if self.out.len() < stream.chunk {
            return;
        }
        if stream.closed {
            self.out.clear();
            return;
        }
        let full = std::mem::replace(
            &mut self.out,
            String::with_capacity(stream.chunk + stream.chunk / 8),
        );
        stream.closed = !(stream.sink)(full);
    }

    /// Ends a streaming encoder: the last partial chunk (and `# EOF` in
    /// OpenMetrics) goes to the sink. Returns whether the reader took it all.
    pub fn finish_stream(mut self) -> bool {
        if self.format == Format::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
        match self.stream.take() {
            Some(mut stream) if !stream.closed => self.out.is_empty() || (stream.sink)(self.out),
            Some(_) => false,
            None => true,
        }
    }

    /// From now on only `families` may be written: a family outside them is
    /// recorded in [`Encoder::undeclared`] (and fails a debug build at once), so a
    /// series cannot go out without a name, type and help its source published.
    pub fn declare(&mut self, families: &[Family]) {
        self.declared = Some(families.to_vec());
    }

    /// Families written since [`Encoder::declare`] that were not declared.
    pub fn undeclared(&self) -> &[String] {
        &self.undeclared
    }

    /// Starts a declared family: [`Encoder::family`] with its own kind and help.
    pub fn start(&mut self, family: &Family) {
        self.family(family.name, family.kind, family.help);
    }

    /// Starts the family `name` with the type and help its source declared. A
    /// name not declared is recorded as undeclared and its samples are dropped.
    pub fn start_declared(&mut self, name: &str) {
        let found = self
            .declared
            .as_ref()
            .and_then(|d| d.iter().find(|f| f.name == name).copied());
        match found {
            Some(family) => self.start(&family),
            None => {
                debug_assert!(
                    false,
                    "family {name} written but not declared by its source"
                );
                self.undeclared.push(name.to_string());
                self.kind = None;
            }
        }
    }

    /// Starts a family. `name` is the sample name for gauges and counters (a
    /// counter's name ends in `_total`), the base name for histograms.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        if let Some(declared) = &self.declared {
            if !declared.iter().any(|f| f.name == name && f.kind == kind) {
                debug_assert!(
                    false,
                    "family {name} written but not declared by its source"
                );
                self.undeclared.push(name.to_string());
            }
        }
        let family_name = match (self.format, kind) {
            (Format::OpenMetrics, Kind::Counter) => name.strip_suffix("_total").unwrap_or(name),
            _ => name,
        };
        let type_name = match kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        };
        for line in [
            ["# HELP ", family_name, " ", &escape_help(help), "\n"],
            ["# TYPE ", family_name, " ", type_name, "\n"],
        ] {
            line.iter().for_each(|part| self.out.push_str(part));
        }
        self.current.clear();
        self.current.push_str(name);
        self.kind = Some(kind);
        self.maybe_flush();
    }

    /// A gauge or counter sample of the current family.
    pub fn sample(&mut self, labels: &Labels<'_>, value: f64) {
        self.sample_with_prefix("", labels, value);
    }

    /// A sample whose label set starts with `prefix`, labels already written and
    /// escaped by [`label_prefix`] (shared by every series of one probe).
    pub fn sample_with_prefix(&mut self, prefix: &str, labels: &Labels<'_>, value: f64) {
        if matches!(self.kind, Some(Kind::Gauge | Kind::Counter)) {
            write_line(
                &mut self.out,
                &self.current,
                "",
                prefix,
                labels,
                None,
                value,
            );
            self.maybe_flush();
        }
    }

    /// A whole histogram sample set: cumulative `counts` per upper bound in
    /// `buckets` (the +Inf bucket is `count`), then `_sum` and `_count`.
    pub fn histogram(
        &mut self,
        labels: &Labels<'_>,
        buckets: &[f64],
        counts: &[u64],
        sum: f64,
        count: u64,
    ) {
        self.histogram_with_prefix("", labels, buckets, counts, sum, count);
    }

    /// [`Encoder::histogram`] with a label prefix, as in [`Encoder::sample_with_prefix`].
    pub fn histogram_with_prefix(
        &mut self,
        prefix: &str,
        labels: &Labels<'_>,
        buckets: &[f64],
        counts: &[u64],
        sum: f64,
        count: u64,
    ) {
        if self.kind != Some(Kind::Histogram) {
            return;
        }
        if self.le_cache.0 != buckets {
            self.le_cache.0 = buckets.to_vec();
            self.le_cache.1 = buckets.iter().map(|b| format_le(self.format, *b)).collect();
        }
        let base = &self.current;
        for (le, c) in self.le_cache.1.iter().zip(counts) {
            write_line(
                &mut self.out,
                base,
                "_bucket",
                prefix,
                labels,
                Some(le),
                *c as f64,
            );
        }
        write_line(
            &mut self.out,
            base,
            "_bucket",
            prefix,
            labels,
            Some("+Inf"),
            count as f64,
        );
        write_line(&mut self.out, base, "_sum", prefix, labels, None, sum);
        write_line(
            &mut self.out,
            base,
            "_count",
            prefix,
            labels,
            None,
            count as f64,
        );
        self.maybe_flush();
    }

    /// The finished exposition.
    pub fn finish(mut self) -> String {
        if self.format == Format::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
        self.out
    }
}

/// Writes `labels` as the start of a label set (`a="x",b="y"`), escaped, for
/// [`Encoder::sample_with_prefix`].
pub fn label_prefix(labels: &Labels<'_>) -> String {
    let mut out = String::new();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape_label_value(&mut out, v);
        out.push('"');
    }
    out
}

fn format_le(format: Format, bound: f64) -> String {
    let s = format_value(bound);
    // OpenMetrics wants canonical floats in `le` ("1.0", not "1").
    if format == Format::OpenMetrics && !s.contains(['.', 'e', 'I', 'N']) {
        format!("{s}.0")
    } else {
        s
    }
}

fn write_line(
    out: &mut String,
    name: &str,
    suffix: &str,
    prefix: &str,
    labels: &Labels<'_>,
    le: Option<&str>,
    value: f64,
) {
    out.push_str(name);
    out.push_str(suffix);
    if !prefix.is_empty() || !labels.is_empty() || le.is_some() {
        out.push('{');
        out.push_str(prefix);
        let mut first = prefix.is_empty();
        for (k, v) in labels.iter().copied().chain(le.map(|v| ("le", v))) {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(k);
            out.push_str("=\"");
            escape_label_value(out, v);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    push_value(out, value);
    out.push('\n');
}

fn push_value(out: &mut String, v: f64) {
    if v.is_finite() {
        push_f64(out, v);
    } else {
        out.push_str(&format_value(v));
    }
}

/// Prometheus' float spelling: `+Inf`, `-Inf`, `NaN`, otherwise the shortest
/// decimal that reads back as the same value.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
}

fn escape_label_value(out: &mut String, v: &str) {
    // A byte scan: label values are ASCII nearly always, and the char-set
    // pattern of `str::contains` costs several times more per byte.
    if !v.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(h: &str) -> Cow<'_, str> {
    // Two memchr scans: help texts are long and nearly never need escaping.
    if h.contains('\\') || h.contains('\n') {
        Cow::Owned(h.replace('\\', "\\\\").replace('\n', "\\n"))
    } else {
        Cow::Borrowed(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_counter_keeps_total_in_family_name() {
        let mut e = Encoder::new(Format::Text);
        e.family("probe_runs_total", Kind::Counter, "Runs.");
        e.sample(&[("outcome", "success")], 3.0);
        assert_eq!(
            e.finish(),
            "# HELP probe_runs_total Runs.\n# TYPE probe_runs_total counter\nprobe_runs_total{outcome=\"success\"} 3\n"
        );
    }

    #[test]
    fn openmetrics_counter_drops_total_from_family_and_ends_with_eof() {
        let mut e = Encoder::new(Format::OpenMetrics);
        e.family("probe_runs_total", Kind::Counter, "Runs.");
        e.sample(&[], 1.0);
        assert_eq!(
            e.finish(),
            "# HELP probe_runs Runs.\n# TYPE probe_runs counter\nprobe_runs_total 1\n# EOF\n"
        );
    }

    #[test]
    fn histogram_writes_cumulative_buckets_sum_and_count() {
        let mut e = Encoder::new(Format::Text);
        e.family("d", Kind::Histogram, "D.");
        e.histogram(&[("p", "a")], &[0.5, 2.0], &[1, 2], 1.75, 3);
        let out = e.finish();
        assert!(out.contains("d_bucket{p=\"a\",le=\"0.5\"} 1\n"), "{out}");
        assert!(out.contains("d_bucket{p=\"a\",le=\"2\"} 2\n"), "{out}");
        assert!(out.contains("d_bucket{p=\"a\",le=\"+Inf\"} 3\n"), "{out}");
        assert!(
            out.contains("d_sum{p=\"a\"} 1.75\nd_count{p=\"a\"} 3\n"),
            "{out}"
        );
    }

    #[test]
    fn openmetrics_le_is_canonical_float() {
        let mut e = Encoder::new(Format::OpenMetrics);
        e.family("d", Kind::Histogram, "D.");
        e.histogram(&[], &[2.0], &[0], 0.0, 0);
        assert!(e.finish().contains("d_bucket{le=\"2.0\"} 0\n"));
    }

    #[test]
    fn a_prefix_leads_the_label_set() {
        let mut e = Encoder::new(Format::Text);
        e.family("g", Kind::Gauge, "G.");
        let prefix = label_prefix(&[("probe", "a\"b"), ("module", "m")]);
        e.sample_with_prefix(&prefix, &[("phase", "tls")], 2.0);
        e.sample_with_prefix(&prefix, &[], 1.0);
        let out = e.finish();
        assert!(
            out.contains("g{probe=\"a\\\"b\",module=\"m\",phase=\"tls\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("g{probe=\"a\\\"b\",module=\"m\"} 1\n"),
            "{out}"
        );
    }

    #[test]
    fn samples_outside_their_kind_are_not_written() {
        let mut e = Encoder::new(Format::Text);
        e.family("h", Kind::Histogram, "H.");
        e.sample(&[], 1.0);
        e.family("g", Kind::Gauge, "G.");
        e.histogram(&[], &[1.0], &[0], 0.0, 0);
        assert_eq!(
            e.finish(),
            "# HELP h H.\n# TYPE h histogram\n# HELP g G.\n# TYPE g gauge\n"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let mut e = Encoder::new(Format::Text);
        e.family("g", Kind::Gauge, "G.");
        e.sample(&[("v", "a\"b\\c\nd")], -1.5);
        assert!(e.finish().contains("g{v=\"a\\\"b\\\\c\\nd\"} -1.5\n"));
    }

    #[test]
    fn negotiates_openmetrics_only_when_asked() {
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Text);
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
            )),
            Format::OpenMetrics
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
    }

    #[test]
    fn whole_numbers_are_spelled_as_float_formatting_spells_them() {
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            EXACT_INTEGERS - 1.0,
            EXACT_INTEGERS,
            -EXACT_INTEGERS + 1.0,
            1e300,
            5e-324,
            0.5,
            -2.5,
        ];
        // Powers of two and of ten either side of the exact-integer edge.
        for e in 0..70 {
            let p = 2f64.powi(e);
            values.extend([p, p - 1.0, p + 1.0, -p, 10f64.powi(e % 25) + 0.5]);
        }
        for v in values {
            let mut out = String::new();
            push_value(&mut out, v);
            assert_eq!(out, format_value(v), "{v:?}");
        }
    }

    #[test]
    fn a_stream_hands_over_whole_lines_and_stops_when_its_reader_goes() {
        use std::sync::{Arc, Mutex};
        let got = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink_got = got.clone();
        let mut e = Encoder::streaming(
            Format::Text,
            10,
            Box::new(move |c| {
                let mut got = sink_got.lock().unwrap_or_else(|p| p.into_inner());
                got.push(c);
                got.len() < 3
            }),
        );
        e.family("g", Kind::Gauge, "G.");
        for i in 0..10 {
            e.sample(&[], f64::from(i));
        }
        assert!(e.is_closed());
        assert!(!e.finish_stream());
        let got = got.lock().unwrap_or_else(|p| p.into_inner());
        assert_eq!(
            got.concat(),
            "# HELP g G.\n# TYPE g gauge\ng 0\ng 1\ng 2\ng 3\ng 4\ng 5\n",
            "three chunks, each ending at a line end, then nothing"
        );
    }

    #[test]
    fn values_use_prometheus_spelling() {
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(1_700_000_000.0), "1700000000");
    }
}
