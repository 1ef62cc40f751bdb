//! The Markdown the project ships reads as written: README.md and docs/*.md.

use std::path::PathBuf;

/// README.md and every docs/*.md, relative to the crate root (where tests run).
fn markdown_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("docs")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    files.insert(0, PathBuf::from("README.md"));
    assert!(files.len() > 5, "{files:?}");
    files
}

/// A GitHub table's delimiter row: cells of hyphens, each with an optional colon
/// at either end (`|---|`, `| ---: |`, `|--:|`).
fn is_delimiter_row(line: &str) -> bool {
    let cells = line.trim().trim_start_matches('|').trim_end_matches('|');
    !cells.is_empty()
        && cells.split('|').all(|cell| {
            let dashes = cell.trim().trim_start_matches(':').trim_end_matches(':');
            !dashes.is_empty() && dashes.chars().all(|c| c == '-')
        })
}

/// Where a table row (a line starting with `|`, outside code fences) starts a
/// table without a header: after a blank line (or any line not a row), it must be
/// a header followed by its delimiter row. A blank line inside a table ends it,
/// and GitHub shows the rows after it as text ("| a | b |"), so the rows that
/// follow it are reported here. Returns "line: text" of each, 1-based.
fn cut_tables(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut fence: Option<&str> = None;
    let mut problems = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        if let Some(marker) = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m)) {
            fence = match fence {
                None => Some(marker),
                Some(open) if open == marker => None,
                open => open,
            };
            continue;
        }
        if fence.is_some() {
            continue;
        }
        let previous_is_row = i > 0 && lines[i - 1].starts_with('|');
        if !line.starts_with('|') || previous_is_row {
            continue;
        }
        if !lines.get(i + 1).is_some_and(|next| is_delimiter_row(next)) {
            problems.push(format!("{}: {line}", i + 1));
        }
    }
    problems
}

#[test]
fn table_checker_finds_a_table_cut_by_a_blank_line() {
    let whole = "text\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n| 3 | 4 |\n\nmore\n";
    assert_eq!(cut_tables(whole), Vec::<String>::new());
    let cut = "| a | b |\n| :- | - |\n| 1 | 2 |\n\n| 3 | 4 |\n| 5 | 6 |\n";
    assert_eq!(cut_tables(cut), ["5: | 3 | 4 |"]);
    // Rows in a code block are not a table.
    assert_eq!(
        cut_tables("```text\n\n| not | a table |\n```\n"),
        Vec::<String>::new()
    );
    assert!(!is_delimiter_row("| a | - |") && !is_delimiter_row("|"));
}

/// Every table in README.md and docs/*.md is one block: no blank line cuts one
/// into a table and rows GitHub shows as text.
#[test]
fn every_markdown_table_is_contiguous() {
    let mut problems = Vec::new();
    for path in markdown_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        for problem in cut_tables(&text) {
            problems.push(format!("{}:{problem}", path.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "table rows without a header and delimiter row above them (a blank line cut the table?):\n{}",
        problems.join("\n")
    );
}

/// The text between `<!-- bench:NAME:start -->` and its end marker in
/// docs/benchmarks.md: what `make bench-NAME` wrote there last.
fn bench_section(name: &str) -> String {
    let doc = std::fs::read_to_string("docs/benchmarks.md").unwrap();
    let start = format!("<!-- bench:{name}:start -->");
    let end = format!("<!-- bench:{name}:end -->");
    let from = doc.find(&start).unwrap() + start.len();
    let to = doc.find(&end).unwrap();
    doc[from..to].to_string()
}

/// The value cell of the row of `section`'s table whose first cell starts with `figure`.
fn bench_figure<'a>(section: &'a str, figure: &str) -> &'a str {
    section
        .lines()
        .find(|l| l.starts_with(&format!("| {figure}")))
        .and_then(|l| l.trim_end_matches('|').rsplit('|').next())
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {figure:?} row in:\n{section}"))
}

/// docs/scaling.md's figures for today's 100,000 probes are the scale
/// benchmark's last output, not a copy that drifts: the last row of its table
/// and the page's size and time in its prose, against bench:scale.
#[test]
fn scaling_figures_are_the_scale_benchmarks_last_output() {
    let scale = bench_section("scale");
    let number = |re: &str, text: &str| -> Vec<f64> {
        let caps = regex::Regex::new(re)
            .unwrap()
            .captures(text)
            .unwrap_or_else(|| panic!("{re} not in {text:?}"));
        caps.iter()
            .skip(1)
            .map(|c| c.unwrap().as_str().parse().unwrap())
            .collect()
    };
    let cpu = number(
        r"\(([\d.]+) % of one core\)",
        bench_figure(&scale, "CPU during"),
    )[0];
    let rss = number(
        r"[\d.]+ / ([\d.]+) / [\d.]+",
        bench_figure(&scale, "RSS after start"),
    )[0];
    let lag = number(r"^([\d.]+) %", bench_figure(&scale, "scheduler lag"))[0];
    let skipped = bench_figure(&scale, "skipped runs");
    let page = number(
        r"^(\d+) / (\d+) ms, ([\d.]+) MiB",
        bench_figure(&scale, "a /metrics scrape (first"),
    );
    let (fast, slow) = (page[0].min(page[1]) / 1000.0, page[0].max(page[1]) / 1000.0);
    let page_text = format!("{:.0} MiB, {fast:.2}–{slow:.2} s", page[2]);

    let doc = std::fs::read_to_string("docs/scaling.md").unwrap();
    let row = doc
        .lines()
        .take_while(|l| !l.starts_with("All runs"))
        .filter(|l| l.starts_with("| 100,000"))
        .last()
        .unwrap();
    let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
    assert_eq!(
        cells[1..],
        [
            format!("{cpu} % of one core"),
            format!("{rss:.0} MiB"),
            format!("{lag} %"),
            skipped.to_string(),
            page_text.clone(),
        ],
        "docs/scaling.md's last row against bench:scale in docs/benchmarks.md"
    );
    let prose = format!(
        "({} and {fast:.2}–{slow:.2} s at 100,000)",
        &page_text[..page_text.find(',').unwrap()]
    );
    assert!(doc.contains(&prose), "docs/scaling.md should say {prose}");
    assert!(
        doc.contains(&format!("{rss:.0} MiB after the run's three `/metrics`")),
        "docs/scaling.md's memory prose should give {rss:.0} MiB"
    );
}
