//! The TOML text `import-blackbox` prints: tables in the order they were built,
//! keys in the order the YAML wrote them, comments where a value needs a word.
//!
//! Written by hand rather than through a serializer so that the output reads as
//! the hand-written examples of docs/configuration.md do (sub-tables as `[a.b]`
//! headers, lists of steps as arrays of inline tables, regexes as literal strings)
//! and so that a comment can sit on the line of the value it is about.

use std::fmt::Write as _;

/// A value on one line (or, for a long text at the top of a table, a `'''` block).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Str(String),
    Int(i64),
    Bool(bool),
    Array(Vec<Val>),
    /// An inline table, `{ k = v, ... }`, keys in order.
    Inline(Vec<(String, Val)>),
}

/// What a key holds: a value on the key's line, or a sub-table with a header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    Val(Val),
    Table(Table),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) item: Item,
    /// Written after the value, on its line (`# ...`).
    pub(crate) comment: Option<String>,
}

/// A table: its entries in order, and notes written as comment lines above its
/// header.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Table {
    pub(crate) notes: Vec<String>,
    pub(crate) entries: Vec<Entry>,
}

impl Table {
    pub(crate) fn push(&mut self, key: &str, item: Item, comment: Option<String>) {
        self.entries.push(Entry {
            key: key.to_string(),
            item,
            comment,
        });
    }

    pub(crate) fn val(&mut self, key: &str, val: Val) {
        self.push(key, Item::Val(val), None);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.notes.is_empty()
    }
}

/// A whole output file: leading comment lines, then `[name.X]` tables under
/// one root key (`modules`), then an array of tables (`probes`).
#[derive(Debug, Default)]
pub(crate) struct Document {
    pub(crate) header: Vec<String>,
    pub(crate) modules: Vec<(String, Table)>,
    pub(crate) probes_notes: Vec<String>,
    pub(crate) probes: Vec<Table>,
}

impl Document {
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            comment_line(&mut out, line);
        }
        for (name, table) in &self.modules {
            let path = key_path("modules", name);
            write_table(&mut out, &path, table, false);
        }
        if !self.probes_notes.is_empty() || !self.probes.is_empty() {
            separate(&mut out);
            for line in &self.probes_notes {
                comment_line(&mut out, line);
            }
        }
        for (i, table) in self.probes.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            write_table(&mut out, "probes", table, true);
        }
        out
    }
}

/// A blank line between blocks, none at the very start.
fn separate(out: &mut String) {
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
}

fn comment_line(out: &mut String, line: &str) {
    if line.is_empty() {
        out.push_str("#\n");
    } else {
        let _ = writeln!(out, "# {line}");
    }
}

/// Writes `table` under the header `[path]` (`[[path]]` when `array`), then its
/// sub-tables. A table holding only sub-tables gets no header of its own (TOML
/// defines it through theirs).
fn write_table(out: &mut String, path: &str, table: &Table, array: bool) {
    let has_values = table.entries.iter().any(|e| matches!(e.item, Item::Val(_)));
    let has_tables = table
        .entries
        .iter()
        .any(|e| matches!(e.item, Item::Table(_)));
    if has_values || !table.notes.is_empty() || !has_tables || array {
        if !array {
            separate(out);
        }
        for note in &table.notes {
            comment_line(out, note);
        }
        if array {
            let _ = writeln!(out, "[[{path}]]");
        } else {
            let _ = writeln!(out, "[{path}]");
        }
        for entry in &table.entries {
            if let Item::Val(v) = &entry.item {
                let _ = write!(out, "{} = {}", key(&entry.key), value(v, true));
                if let Some(c) = &entry.comment {
                    let _ = write!(out, "  # {c}");
                }
                out.push('\n');
            }
        }
    }
    for entry in &table.entries {
        if let Item::Table(sub) = &entry.item {
            write_table(out, &key_path(path, &entry.key), sub, false);
        }
    }
}

/// `path.key`, the key quoted when it is not bare.
pub(crate) fn key_path(path: &str, k: &str) -> String {
    format!("{path}.{}", key(k))
}

/// A key as TOML writes it: bare when it can be, else a basic string.
pub(crate) fn key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        k.to_string()
    } else {
        basic(k)
    }
}

fn value(v: &Val, top: bool) -> String {
    match v {
        Val::Str(s) => string(s, top),
        Val::Int(i) => i.to_string(),
        Val::Bool(b) => b.to_string(),
        Val::Array(items) => {
            let items: Vec<String> = items.iter().map(|i| value(i, false)).collect();
            format!("[{}]", items.join(", "))
        }
        Val::Inline(entries) if entries.is_empty() => "{}".to_string(),
        Val::Inline(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{} = {}", key(k), value(v, false)))
                .collect();
            format!("{{ {} }}", entries.join(", "))
        }
    }
}

/// A string in the most readable form TOML allows for it: a `'''` block for text
/// of several lines (PEM) at the top of a table, a literal `'...'` for text with
/// backslashes or double quotes (regexes), otherwise a basic `"..."` string.
pub(crate) fn string(s: &str, top: bool) -> String {
    let control = |c: char| c.is_control() && c != '\n';
    let plain = !s.chars().any(control);
    if top && plain && s.contains('\n') && !s.contains("'''") && !s.ends_with('\'') {
        return format!("'''\n{s}'''");
    }
    if plain && !s.contains('\n') && !s.contains('\'') && (s.contains('\\') || s.contains('"')) {
        return format!("'{s}'");
    }
    basic(s)
}

/// A basic string with TOML's escapes.
fn basic(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_take_their_most_readable_form() {
        assert_eq!(string("GET", true), "\"GET\"");
        assert_eq!(string(r"(\*|example\.com)", true), r"'(\*|example\.com)'");
        assert_eq!(string("{\"a\": 1}", true), "'{\"a\": 1}'");
        assert_eq!(string("it's \\d", true), "\"it's \\\\d\"");
        assert_eq!(string("a\tb", true), "\"a\\tb\"");
        assert_eq!(string("EHLO prober\r", true), "\"EHLO prober\\r\"");
        assert_eq!(string("l1\nl2\n", true), "'''\nl1\nl2\n'''");
        assert_eq!(string("l1\nl2\n", false), "\"l1\\nl2\\n\"");
        assert_eq!(string("\u{7f}", true), "\"\\u007F\"");
    }

    #[test]
    fn keys_are_quoted_only_when_needed() {
        assert_eq!(key("http_2xx"), "http_2xx");
        assert_eq!(key("Content-Type"), "Content-Type");
        assert_eq!(key("a.b"), "\"a.b\"");
        assert_eq!(key(""), "\"\"");
    }

    #[test]
    fn tables_write_values_then_sub_tables() {
        let mut tls = Table::default();
        tls.val("insecure_skip_verify", Val::Bool(true));
        let mut http = Table::default();
        http.val("method", Val::Str("POST".into()));
        http.push("tls_config", Item::Table(tls), None);
        http.push(
            "bearer_token",
            Item::Val(Val::Str("t".into())),
            Some("a secret".into()),
        );
        let mut module = Table::default();
        module.val("prober", Val::Str("http".into()));
        module.push("http", Item::Table(http), None);
        let mut probe = Table::default();
        probe.val("name", Val::Str("p".into()));
        probe.val(
            "labels",
            Val::Inline(vec![("env".into(), Val::Str("prod".into()))]),
        );
        let doc = Document {
            header: vec!["hello".into()],
            modules: vec![("a b".into(), module)],
            probes_notes: vec![],
            probes: vec![probe.clone(), probe],
        };
        assert_eq!(
            doc.render(),
            "# hello\n\n[modules.\"a b\"]\nprober = \"http\"\n\n[modules.\"a b\".http]\n\
             method = \"POST\"\nbearer_token = \"t\"  # a secret\n\n\
             [modules.\"a b\".http.tls_config]\ninsecure_skip_verify = true\n\n\
             [[probes]]\nname = \"p\"\nlabels = { env = \"prod\" }\n\n\
             [[probes]]\nname = \"p\"\nlabels = { env = \"prod\" }\n"
        );
    }
}
