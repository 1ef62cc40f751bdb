//! Configuration errors: each one points at `file:line:col` and names the key.

use std::fmt;
use std::path::PathBuf;

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem has no position (e.g. the file cannot be read).
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// Dotted path of the offending key, e.g. `probes[2].module`; empty if none.
    pub key: String,
    pub message: String,
    pub hint: Option<String>,
    /// The offending line and how much of it the error covers, for the
    /// terminal's caret display ([`ConfigError::snippet`]); `None` when there is
    /// no position, or the line may hold a secret (see [`Snippet::of`]).
    pub snippet: Option<Snippet>,
}

/// One source line as an error shows it, rustc style: the line, then carets under
/// the span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    /// The line without its end, tabs and other control characters made one
    /// space or `?` each, so that columns still count one per character and
    /// nothing in the file can drive the terminal.
    pub line: String,
    /// Characters the span covers on this line, at least 1.
    pub width: usize,
}

/// Longest stretch of a line shown; a longer one is cut around the span.
const SNIPPET_MAX: usize = 120;

impl Snippet {
    /// The line of `text` holding byte `start`, with the span `start..end`, unless
    /// it may show a secret: a key on it, or on `key_path`, is named like a
    /// credential (as `tests/integration/config.rs` holds `Secret` fields to), a
    /// header on it carries credentials, it is in `basic_auth_users`, or a URL on
    /// it has a password. The one-line error never quotes a value it was not
    /// written to, so that line is all these reveal.
    pub(crate) fn of(text: &str, start: usize, end: usize, key_path: &str) -> Option<Snippet> {
        let start = start.min(text.len());
        let line_start = text.get(..start)?.rfind('\n').map_or(0, |i| i + 1);
        let line_end = text
            .get(start..)?
            .find('\n')
            .map_or(text.len(), |i| start + i);
        let raw = text.get(line_start..line_end)?.trim_end_matches('\r');
        if may_hold_a_secret(raw, key_path) {
            return None;
        }
        let covered = text
            .get(start..end.clamp(start, line_end))
            .map_or(0, |s| s.chars().count());
        let line = raw
            .chars()
            .map(|c| match c {
                '\t' => ' ',
                c if c.is_control() => '?',
                c => c,
            })
            .collect();
        Some(Snippet {
            line,
            width: covered.max(1),
        })
    }
}

/// Names that mark a key's value as a credential, at the end of the key after `_`
/// or as the whole key (the list `every_credential_option_is_declared_a_secret`
/// checks the file models with).
const CREDENTIAL_WORDS: &[&str] = &[
    "password",
    "passphrase",
    "secret",
    "secrets",
    "token",
    "credentials",
    "dsn",
    "key",
    "api_key",
];

fn is_credential_key(key: &str) -> bool {
    let key = key
        .trim_matches(|c| c == '"' || c == '\'')
        .to_ascii_lowercase();
    CREDENTIAL_WORDS.iter().any(|word| {
        key.strip_suffix(word)
            .is_some_and(|rest| rest.is_empty() || rest.ends_with('_'))
    }) || crate::redact::is_credential_header(&key)
}

/// Whether showing `line` (of the error at `key_path`) might show a secret.
fn may_hold_a_secret(line: &str, key_path: &str) -> bool {
    if key_path.contains("basic_auth_users") || key_path.split('.').any(is_credential_key) {
        return true;
    }
    // The word before each `=` is a key (inline tables hold several on a line); one
    // inside a quoted value only makes this more cautious.
    let mut pieces: Vec<&str> = line.split('=').collect();
    pieces.pop();
    let credential_key = pieces.iter().any(|piece| {
        piece
            .trim_end()
            .rsplit(|c: char| c.is_whitespace() || c == '{' || c == ',' || c == '.')
            .next()
            .is_some_and(is_credential_key)
    });
    if credential_key {
        return true;
    }
    line.split(|c: char| c == '"' || c == '\'' || c.is_whitespace())
        .any(|token| matches!(crate::redact::url(token), std::borrow::Cow::Owned(_)))
}

impl ConfigError {
    /// The rustc-style lines under the one-line form: a gutter, the offending line,
    /// carets under the span. Empty without a [`Snippet`].
    pub fn snippet(&self) -> String {
        let Some(snippet) = &self.snippet else {
            return String::new();
        };
        let chars: Vec<char> = snippet.line.chars().collect();
        let at = self.column.saturating_sub(1).min(chars.len());
        // A long line is shown from a little before the span, cut with "...".
        let from = match chars.len() > SNIPPET_MAX {
            true => at.saturating_sub(SNIPPET_MAX / 3),
            false => 0,
        };
        let to = (from + SNIPPET_MAX).min(chars.len());
        let mut shown: String = chars.get(from..to).unwrap_or_default().iter().collect();
        let mut offset = at - from;
        if from > 0 {
            shown.insert_str(0, "...");
            offset += 3;
        }
        if to < chars.len() {
            shown.push_str("...");
        }
        let width = snippet.width.min(to.saturating_sub(at)).max(1);
        let number = self.line.to_string();
        let gutter = " ".repeat(number.len());
        format!(
            "{gutter} |\n{number} | {shown}\n{gutter} | {}{}\n",
            " ".repeat(offset),
            "^".repeat(width)
        )
    }

    /// The error as `outpost check --format json` gives it.
    fn json(&self) -> JsonError<'_> {
        let positive = |n: usize| (n > 0).then_some(n);
        JsonError {
            file: (!self.file.as_os_str().is_empty()).then(|| self.file.display().to_string()),
            line: positive(self.line),
            column: positive(self.column),
            key: (!self.key.is_empty()).then_some(self.key.as_str()),
            message: &self.message,
            hint: self.hint.as_deref(),
        }
    }
}

/// One error for editors and CI, its fields in this order; `null` where there is
/// none (no file, no position, no key, no hint).
#[derive(serde::Serialize)]
struct JsonError<'e> {
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    key: Option<&'e str>,
    message: &'e str,
    hint: Option<&'e str>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        f.write_str(": ")?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

/// Every problem found in one pass, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl ConfigErrors {
    /// Every error in its one-line form, each followed by its [`ConfigError::snippet`]
    /// and a blank line when it has one: what a terminal shows (`outpost check`).
    /// Reload answers, logs and the golden files keep the one-line `Display`.
    pub fn with_snippets(&self) -> String {
        let mut out = String::new();
        for e in &self.0 {
            out.push_str(&format!("{e}\n"));
            let snippet = e.snippet();
            if !snippet.is_empty() {
                out.push_str(&snippet);
                out.push('\n');
            }
        }
        out
    }

    /// A JSON array of `{file, line, column, key, message, hint}`, in file order,
    /// one error a line (`[]` for none): `outpost check --format json`.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        let mut out = String::from("[");
        for (i, e) in self.0.iter().enumerate() {
            out.push_str(if i == 0 { "\n  " } else { ",\n  " });
            out.push_str(&serde_json::to_string(&e.json())?);
        }
        out.push_str(if self.0.is_empty() { "]" } else { "\n]" });
        Ok(out)
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error `Ctx` would record at the first `needle` of `text`, under `key`.
    fn error_at(text: &str, needle: &str, key: &str) -> ConfigError {
        let start = text.find(needle).unwrap_or(text.len());
        let (line, column) = line_col(text, start);
        ConfigError {
            file: PathBuf::from("p.toml"),
            line,
            column,
            key: key.to_string(),
            message: "bad".to_string(),
            hint: Some("fix it".to_string()),
            snippet: Snippet::of(text, start, start + needle.len(), key),
        }
    }

    #[test]
    fn snippet_puts_carets_under_the_span() {
        let text = "[modules.m]\nprober = \"http\"\ntimeout = \"5 s\"\n";
        let e = error_at(text, "\"5 s\"", "modules.m.timeout");
        assert_eq!(
            e.to_string(),
            "p.toml:3:11: modules.m.timeout: bad (hint: fix it)"
        );
        assert_eq!(
            e.snippet(),
            "  |\n3 | timeout = \"5 s\"\n  |           ^^^^^\n"
        );
        // Tabs count one column each and show as one space; CRLF ends are cut;
        // the gutter widens with the line number.
        let text = format!("{}\tinterval =\t\"0s\"\r\n", "\n".repeat(11));
        let e = error_at(&text, "\"0s\"", "probes[0].interval");
        assert_eq!(
            e.snippet(),
            "   |\n12 |  interval = \"0s\"\n   |             ^^^^\n"
        );
        // A span over several lines is underlined to the end of its first; an
        // empty one gets one caret.
        let text = "a = [\n  1,\n]\n";
        let e = error_at(text, "[\n  1,\n]", "a");
        assert_eq!(e.snippet(), "  |\n1 | a = [\n  |     ^\n");
        let e = error_at(text, "", "");
        assert_eq!(e.snippet(), "  |\n1 | a = [\n  | ^\n");
        // Control characters cannot reach the terminal.
        let e = error_at("x = \"\u{1b}[31m\"\n", "\"", "x");
        assert_eq!(e.snippet(), "  |\n1 | x = \"?[31m\"\n  |     ^\n");
    }

    #[test]
    fn a_long_line_is_shown_around_the_span() {
        let text = format!(
            "labels = {{ {}, bad = 1 }}\n",
            "k = \"v\", ".repeat(30).trim_end_matches(", ")
        );
        let e = error_at(&text, "bad", "probes[0].labels");
        let snippet = e.snippet();
        let lines: Vec<&str> = snippet.lines().collect();
        assert_eq!(lines.len(), 3, "{snippet}");
        let (shown, carets) = (lines[1], lines[2]);
        assert!(
            shown.starts_with("1 | ...") && shown.ends_with("bad = 1 }"),
            "{shown}"
        );
        // The carets stand under "bad".
        let at = carets.find('^').unwrap_or(0);
        assert_eq!(shown.get(at..at + 3), Some("bad"), "{snippet}");
        assert_eq!(carets.trim_end().len(), at + 3);
    }

    #[test]
    fn a_line_that_may_hold_a_secret_is_not_shown() {
        let hidden = [
            (
                "password = \"hunter2\"",
                "modules.m.http.basic_auth.password",
            ),
            // An error of another key on a line that holds a credential.
            (
                "basic_auth = { username = 5, password = \"hunter2\" }",
                "modules.m.http.basic_auth.username",
            ),
            ("bearer_token = \"abc\"", "modules.m.http.bearer_token"),
            ("Authorization = \"Bearer abc\"", "modules.m.http.headers"),
            ("X-Api-Key = 5", "modules.m.http.headers"),
            ("\"client_secret\" = 1", "modules.m.http.oauth2"),
            (
                "prometheus = \"hunter2\"",
                "server.basic_auth_users.prometheus",
            ),
            (
                "proxy_url = \"http://u:hunter2@proxy:3128\"",
                "modules.m.http.proxy_url",
            ),
            ("target = \"https://u:p@web/\"", "probes[0].target"),
            ("key = \"\"\"", "server.tls_server_config.key"),
        ];
        for (line, key) in hidden {
            let text = format!("{line}\n");
            assert_eq!(error_at(&text, line, key).snippet, None, "{line}");
        }
        let shown = [
            ("password_env = 5", "modules.m.http.basic_auth.password_env"),
            (
                "password_file = \"pw\"",
                "modules.m.http.basic_auth.password_file",
            ),
            ("key_file = \"k.pem\"", "modules.m.http.tls_config.key_file"),
            ("target = \"https://u@web/?a=b\"", "probes[0].target"),
            ("module = \"keyed\"", "probes[0].module"),
        ];
        for (line, key) in shown {
            let text = format!("{line}\n");
            assert!(error_at(&text, line, key).snippet.is_some(), "{line}");
        }
    }

    #[test]
    fn errors_as_json_keep_their_fields_in_order() {
        let text = "timeout = \"5 s\"\n";
        let errors = ConfigErrors(vec![
            error_at(text, "\"5 s\"", "modules.m.timeout"),
            ConfigError {
                file: PathBuf::new(),
                line: 0,
                column: 0,
                key: String::new(),
                message: "no \"file\"".to_string(),
                hint: None,
                snippet: None,
            },
        ]);
        assert_eq!(
            errors.to_json().map_err(|e| e.to_string()),
            Ok(
                "[\n  {\"file\":\"p.toml\",\"line\":1,\"column\":11,\"key\":\"modules.m.timeout\",\
                \"message\":\"bad\",\"hint\":\"fix it\"},\n  \
                {\"file\":null,\"line\":null,\"column\":null,\"key\":null,\
                \"message\":\"no \\\"file\\\"\",\"hint\":null}\n]"
                    .to_string()
            )
        );
        assert_eq!(
            ConfigErrors(Vec::new())
                .to_json()
                .map_err(|e| e.to_string()),
            Ok("[]".to_string())
        );
    }

    #[test]
    fn line_col_counts_lines_and_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(line_col(text, 9), (2, 3));
        assert_eq!(line_col(text, 1000), (3, 1));
    }
}
