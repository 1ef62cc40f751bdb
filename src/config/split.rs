//! Where the `[[probes]]` entries of a file are, so that each can be parsed on its
//! own.
//!
//! The span-keeping TOML tree costs about 2 KiB per `[[probes]]` entry (a B-tree
//! node per table, plus the token and event vectors of the parse): at 100,000
//! probes, over 200 MiB held at once only to be dropped, and glibc keeps that
//! memory for good. Parsed one entry at a time, the tree never holds more than
//! one probe. This module finds the entries with the TOML lexer alone; whenever
//! the file is anything but the plain shape (`[[probes]]` headers, each followed
//! by its keys and its own `[probes.*]` sub-tables), it answers `None` and the
//! caller parses the file whole, as before, so errors read the same either way.

use std::ops::Range;

use toml_parser::lexer::TokenKind;
use toml_parser::Source;

/// The byte ranges of the `[[probes]]` entries in `text`, each from its header to
/// the next header that is not one of its sub-tables (or the end). `None` when
/// there is none, or when the file does not have the plain shape.
pub(crate) fn probe_entries(text: &str) -> Option<Vec<Range<usize>>> {
    let source = Source::new(text);
    let mut tokens = source.lex().map(|t| (t.kind(), t.span()));
    let mut entries = Vec::new();
    let mut open: Option<usize> = None;
    // Nesting of arrays and inline tables inside a value.
    let mut depth = 0usize;
    let mut line_start = true;
    let mut after_equals = false;
    let mut before_first_header = true;
    while let Some((kind, span)) = tokens.next() {
        let raw = &text[span.start()..span.end()];
        match kind {
            TokenKind::Eof => break,
            TokenKind::Whitespace | TokenKind::Comment => continue,
            TokenKind::Newline => {
                line_start = depth == 0;
                if depth == 0 {
                    after_equals = false;
                }
                continue;
            }
            TokenKind::LeftSquareBracket if depth == 0 && line_start => {
                let header = read_header(text, &mut tokens)?;
                before_first_header = false;
                match header {
                    Header::Probe => {
                        if let Some(start) = open.replace(span.start()) {
                            entries.push(start..span.start());
                        }
                    }
                    Header::ProbeSubTable if open.is_some() => {}
                    Header::ProbeSubTable => return None,
                    Header::Other => {
                        if let Some(start) = open.take() {
                            entries.push(start..span.start());
                        }
                    }
                }
            }
            TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket => {
                if depth == 0 && !after_equals {
                    return None;
                }
                depth += 1;
            }
            TokenKind::RightSquareBracket | TokenKind::RightCurlyBracket => {
                depth = depth.checked_sub(1)?;
            }
            TokenKind::Equals if depth == 0 => after_equals = true,
            // A root key before any header: `probes = [...]` or `probes.x = 1`
            // make the probes something else than `[[probes]]` entries.
            _ if depth == 0
                && line_start
                && before_first_header
                && first_key(kind, raw) != FirstKey::Other =>
            {
                return None;
            }
            _ => {}
        }
        line_start = false;
    }
    if let Some(start) = open {
        entries.push(start..text.len());
    }
    (!entries.is_empty()).then_some(entries)
}

/// `text` with the `entries` blanked out: every byte but newlines turned into a
/// space, so that what is left parses with the same spans (and so the same
/// `line:col`) as in the whole file.
pub(crate) fn without(text: &str, entries: &[Range<usize>]) -> Option<String> {
    let mut bytes = text.as_bytes().to_vec();
    for entry in entries {
        for b in bytes.get_mut(entry.clone())? {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    String::from_utf8(bytes).ok()
}

/// What a table header names, as far as the split cares.
#[derive(Debug, PartialEq, Eq)]
enum Header {
    /// `[[probes]]`: a new entry.
    Probe,
    /// `[probes.x]`, `[[probes.x]]` or `[probes]`: part of the entry before it.
    ProbeSubTable,
    Other,
}

#[derive(Debug, PartialEq, Eq)]
enum FirstKey {
    Probes,
    /// A quoted key that may spell `probes` once unescaped.
    Unsure,
    Other,
}

fn first_key(kind: TokenKind, raw: &str) -> FirstKey {
    match kind {
        TokenKind::Atom if raw == "probes" => FirstKey::Probes,
        TokenKind::Atom => FirstKey::Other,
        _ if raw.contains("probes") || raw.contains('\\') => FirstKey::Unsure,
        _ => FirstKey::Other,
    }
}

/// Reads a header after its first `[`, up to and including its last `]`. `None`
/// for anything unusual (the whole-file parse then reports it).
fn read_header(
    text: &str,
    tokens: &mut impl Iterator<Item = (TokenKind, toml_parser::Span)>,
) -> Option<Header> {
    let mut significant = tokens.filter(|(k, _)| *k != TokenKind::Whitespace);
    let (mut kind, mut span) = significant.next()?;
    let array = kind == TokenKind::LeftSquareBracket;
    if array {
        (kind, span) = significant.next()?;
    }
    let first = first_key(kind, &text[span.start()..span.end()]);
    let mut keys = 1;
    loop {
        let (kind, _) = significant.next()?;
        match kind {
            TokenKind::RightSquareBracket => break,
            TokenKind::Dot => {
                let (key, _) = significant.next()?;
                if !matches!(
                    key,
                    TokenKind::Atom | TokenKind::BasicString | TokenKind::LiteralString
                ) {
                    return None;
                }
                keys += 1;
            }
            _ => return None,
        }
    }
    if array && significant.next()?.0 != TokenKind::RightSquareBracket {
        return None;
    }
    match (first, array, keys) {
        (FirstKey::Unsure, _, _) => None,
        (FirstKey::Probes, true, 1) => Some(Header::Probe),
        (FirstKey::Probes, _, _) => Some(Header::ProbeSubTable),
        (FirstKey::Other, _, _) => Some(Header::Other),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test data is known to be valid")]
mod tests {
    use super::*;

    fn texts(text: &str) -> Option<Vec<&str>> {
        probe_entries(text).map(|e| e.into_iter().map(|r| &text[r]).collect())
    }

    #[test]
    fn entries_run_to_the_next_header_that_is_not_their_own() {
        let text = "[server]\nx = [\n[1], {a = 2}]\n[[probes]]\nname = \"a\"\n[probes.labels]\nk = \"v\"\n[[probes]] # two\nname = \"[[probes]]\"\n[modules.m]\nprober = \"http\"\n[[probes]]\nname = 'c'\n";
        assert_eq!(
            texts(text).unwrap(),
            [
                "[[probes]]\nname = \"a\"\n[probes.labels]\nk = \"v\"\n",
                "[[probes]] # two\nname = \"[[probes]]\"\n",
                "[[probes]]\nname = 'c'\n",
            ]
        );
    }

    #[test]
    fn slos_before_between_and_after_probes_stay_out_of_the_entries() {
        let text = "[[slos]]\nname = \"a\"\n[[probes]]\nname = \"p\"\n[probes.labels]\nk = \"v\"\n[[slos]]\nname = \"b\"\n[slos.labels]\nt = \"x\"\n[[probes]]\nname = \"q\"\n[[slos]]\nname = \"c\"\n";
        assert_eq!(
            texts(text).unwrap(),
            [
                "[[probes]]\nname = \"p\"\n[probes.labels]\nk = \"v\"\n",
                "[[probes]]\nname = \"q\"\n",
            ]
        );
        let rest = without(text, &probe_entries(text).unwrap()).unwrap();
        let slos = rest.parse::<toml::Table>().unwrap()["slos"].clone();
        let names: Vec<_> = slos
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn anything_but_the_plain_shape_is_parsed_whole() {
        for text in [
            "probes = [{ name = \"a\" }]\n",
            "probes.x = 1\n[[probes]]\n",
            "[probes.labels]\nk = 1\n[[probes]]\n",
            "[[probes]]\n[server]\n[probes.labels]\n",
            "[[\"probes\"]]\nname = \"a\"\n",
            "[[probes]\nname = \"a\"\n",
            "[server]\n",
        ] {
            assert_eq!(probe_entries(text), None, "{text}");
        }
    }

    #[test]
    fn blanking_keeps_every_offset() {
        let text = "a = 1\n[[probes]]\nname = \"é\"\n[b]\n";
        let entries = probe_entries(text).unwrap();
        let rest = without(text, &entries).unwrap();
        assert_eq!(rest.len(), text.len());
        assert_eq!(rest.lines().count(), text.lines().count());
        assert!(rest.starts_with("a = 1\n") && rest.ends_with("\n[b]\n"));
        assert!(!rest.contains("probes"));
    }
}
