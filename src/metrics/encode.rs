//! Exposition formats: Prometheus text 0.0.4 and OpenMetrics 1.0.
//!
//! outpost writes its own exposition rather than going through a client library's
//! registry: the series are snapshots of stored reports, so there is nothing to
//! register or unregister (removed probes simply stop being written), and serving
//! both formats from one writer keeps counter naming right in each (`foo_total` is
//! the family name in text, `foo` in OpenMetrics), which is where off-the-shelf
//! encoders trip Debian's `promtool check metrics`.

use std::fmt::Write;

use super::names::Kind;

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

/// Writes families one after another. Every sample of a family must be written
/// between its `family` call and the next.
#[derive(Debug)]
pub struct Encoder {
    format: Format,
    out: String,
    current: Option<(String, Kind)>,
}

impl Encoder {
    pub fn new(format: Format) -> Self {
        Encoder {
            format,
            out: String::with_capacity(4096),
            current: None,
        }
    }

    /// Starts a family. `name` is the sample name for gauges and counters (a
    /// counter's name ends in `_total`), the base name for histograms.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let family_name = match (self.format, kind) {
            (Format::OpenMetrics, Kind::Counter) => name.strip_suffix("_total").unwrap_or(name),
            _ => name,
        };
        let type_name = match kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        };
        let _ = writeln!(self.out, "# HELP {family_name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {family_name} {type_name}");
        self.current = Some((name.to_string(), kind));
    }

    /// A gauge or counter sample of the current family.
    pub fn sample(&mut self, labels: &Labels<'_>, value: f64) {
        let name = match &self.current {
            Some((n, _)) => n.clone(),
            None => return,
        };
        self.line(&name, labels, None, value);
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
        let base = match &self.current {
            Some((n, Kind::Histogram)) => n.clone(),
            _ => return,
        };
        let bucket = format!("{base}_bucket");
        for (bound, c) in buckets.iter().zip(counts) {
            let le = self.format_le(*bound);
            self.line(&bucket, labels, Some(&le), *c as f64);
        }
        self.line(&bucket, labels, Some("+Inf"), count as f64);
        self.line(&format!("{base}_sum"), labels, None, sum);
        self.line(&format!("{base}_count"), labels, None, count as f64);
    }

    /// The finished exposition.
    pub fn finish(mut self) -> String {
        if self.format == Format::OpenMetrics {
            self.out.push_str("# EOF\n");
        }
        self.out
    }

    fn format_le(&self, bound: f64) -> String {
        let s = format_value(bound);
        // OpenMetrics wants canonical floats in `le` ("1.0", not "1").
        if self.format == Format::OpenMetrics && !s.contains(['.', 'e', 'I', 'N']) {
            format!("{s}.0")
        } else {
            s
        }
    }

    fn line(&mut self, name: &str, labels: &Labels<'_>, le: Option<&str>, value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() || le.is_some() {
            self.out.push('{');
            let mut first = true;
            let all = labels.iter().copied().chain(le.map(|v| ("le", v)));
            for (k, v) in all {
                if !first {
                    self.out.push(',');
                }
                first = false;
                self.out.push_str(k);
                self.out.push_str("=\"");
                escape_label_value(&mut self.out, v);
                self.out.push('"');
            }
            self.out.push('}');
        }
        self.out.push(' ');
        self.out.push_str(&format_value(value));
        self.out.push('\n');
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
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(h: &str) -> String {
    h.replace('\\', "\\\\").replace('\n', "\\n")
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
    fn values_use_prometheus_spelling() {
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(1_700_000_000.0), "1700000000");
    }
}
