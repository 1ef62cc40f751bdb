//! The two pictures of a probe's history, drawn inline so the page needs no
//! asset: a sparkline of its run durations (an SVG polyline) and a strip of its
//! outcomes (one small coloured cell per run, its title the time and outcome).
//! Both are written for size: a page of 500 probes with 60 runs each stays small.

use std::fmt::Write;

use super::model::HistoryRun;
use super::text::{clock, latency, reason_words};

/// The sparkline's drawing height in viewBox units; the CSS sets its size.
const HEIGHT: u32 = 20;

/// The polyline's points for `durations` (oldest first) in a box of `limit`
/// slots, 2 units apart: the newest run at the right edge, so a ring still
/// filling grows from the right. Heights are scaled to the longest run, from 0,
/// with a unit's margin, in whole units (what a 20 px picture can show).
pub(super) fn points(durations: &[f32], limit: usize) -> String {
    let max = durations.iter().copied().fold(0.0_f32, f32::max);
    let first = limit.saturating_sub(durations.len());
    let mut out = String::with_capacity(durations.len() * 7);
    for (i, d) in durations.iter().enumerate() {
        let x = 2 * (first + i);
        let scaled = if max > 0.0 {
            (d.max(0.0) / max * (HEIGHT - 2) as f32).round() as u32
        } else {
            0
        };
        let y = HEIGHT - 1 - scaled;
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "{x},{y}");
    }
    // One point draws nothing: a second, the same, shows as a dot (round caps).
    if durations.len() == 1 {
        let again = out.clone();
        let _ = write!(out, " {again}");
    }
    out
}

/// `<svg>` of the durations of `runs`; nothing when there is no run.
pub(super) fn sparkline(out: &mut String, runs: &[HistoryRun], limit: usize) {
    if runs.is_empty() {
        return;
    }
    let durations: Vec<f32> = runs.iter().map(|r| r.0.duration).collect();
    let (min, max) = durations
        .iter()
        .fold((f32::MAX, 0.0_f32), |(lo, hi), d| (lo.min(*d), hi.max(*d)));
    let width = (2 * limit.saturating_sub(1)).max(2);
    let _ = write!(
        out,
        "<svg class=sp viewBox=\"0 0 {width} {HEIGHT}\" preserveAspectRatio=none>\
         <title>durations of the last {} runs: {} to {}</title>\
         <polyline points=\"{}\"/></svg>",
        runs.len(),
        latency(f64::from(min)),
        latency(f64::from(max)),
        points(&durations, limit)
    );
}

/// The outcome strip of `runs`, oldest first: a cell per run, green when it
/// succeeded, red when it failed, its title the time and outcome in words. The
/// CSS lines the cells up 60 to a row, the newest at the right edge, as the
/// sparkline's.
pub(super) fn strip(out: &mut String, runs: &[HistoryRun], now: f64) {
    out.push_str("<span class=strip>");
    for run in runs {
        let at = clock(f64::from(run.0.started), now);
        let _ = match run.0.failure {
            None => write!(out, "<i title=\"{at} ok\"></i>"),
            Some(reason) => write!(
                out,
                "<i class=f title=\"{at} {}\"></i>",
                reason_words(reason)
            ),
        };
    }
    out.push_str("</span>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Run;
    use crate::probe::FailureReason;

    fn runs(durations: &[f32], failed: &[usize]) -> Vec<HistoryRun> {
        durations
            .iter()
            .enumerate()
            .map(|(i, d)| {
                HistoryRun(Run {
                    // 2025-12-06 16:29:41 UTC, one run a minute.
                    started: 1_765_038_581 + 60 * i as u32,
                    duration: *d,
                    failure: failed.contains(&i).then_some(FailureReason::Timeout),
                })
            })
            .collect()
    }

    #[test]
    fn points_are_right_aligned_and_scaled_to_the_longest_run() {
        // 4 slots, 3 runs: x = 2, 4, 6; y = 19 - round(18 * d / 4).
        assert_eq!(points(&[1.0, 2.0, 4.0], 4), "2,14 4,10 6,1");
        // A full ring starts at 0.
        assert_eq!(points(&[0.5, 0.5], 2), "0,1 2,1");
        // All zero: a flat line at the bottom, not a division by zero.
        assert_eq!(points(&[0.0, 0.0], 3), "2,19 4,19");
        assert_eq!(points(&[0.3], 60), "118,1 118,1");
        assert_eq!(points(&[], 60), "");
    }

    #[test]
    fn sparkline_is_an_inline_svg_polyline() {
        let mut out = String::new();
        sparkline(&mut out, &runs(&[0.012, 0.024, 0.036], &[]), 4);
        assert_eq!(
            out,
            "<svg class=sp viewBox=\"0 0 6 20\" preserveAspectRatio=none>\
             <title>durations of the last 3 runs: 12 ms to 36 ms</title>\
             <polyline points=\"2,13 4,7 6,1\"/></svg>"
        );
        let mut none = String::new();
        sparkline(&mut none, &[], 60);
        assert_eq!(none, "");
    }

    #[test]
    fn strip_has_a_cell_per_run_with_time_and_outcome() {
        let mut out = String::new();
        let now = 1_765_038_581.0 + 300.0;
        strip(&mut out, &runs(&[0.01, 5.0, 0.01], &[1]), now);
        assert_eq!(
            out,
            "<span class=strip><i title=\"16:29:41 ok\"></i>\
             <i class=f title=\"16:30:41 timed out\"></i>\
             <i title=\"16:31:41 ok\"></i></span>"
        );
    }
}
