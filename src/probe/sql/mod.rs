//! What the database probers (mysql, postgres) configure identically: the login
//! (`username`, and the password from `password_file` or `password_env`) and the
//! query with its checks (`query`, `expect_rows`, `expect_first_value`), read from
//! the prober's own settings block by [`config::build`], and [`QueryCheck::check`],
//! which holds a query's result to them.
//!
//! The password is read when the configuration is loaded (and at every reload), as
//! every other secret of outpost is (`basic_auth.password_file`,
//! `bearer_token_env`): `outpost check` then reports a missing file or an unset
//! variable before any probe runs, and the module's identity hashes the file's
//! contents, so a changed password file restarts the module's probes on reload.
//! A clear `password` in the TOML is refused with a hint.
//!
//! The outcomes a database prober reports with these settings are shared too:
//! `auth` (the server refused the login), `query` (it answered the query with an
//! error), `query_result` (the answer did not pass `expect_rows` or
//! `expect_first_value`) and `too_many_connections`; `fail_if_not_ssl` is
//! `ssl_required`, as in http.

pub mod config;

use regex::Regex;

use super::{FailureReason, ProbeFailure};
use crate::config::secret::Secret;

/// `query` when a block sets none.
pub const DEFAULT_QUERY: &str = "SELECT 1";

/// The longest part of a value quoted in a failure's message.
const QUOTED: usize = 256;

/// Who logs in. Without a login a prober stops after the greeting (and TLS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub username: String,
    /// From `password_file` or `password_env`; empty when neither is set (a user
    /// without a password). Its `Debug` never shows it.
    pub password: Secret,
}

/// The query run after logging in and what its result must be.
#[derive(Debug, Clone)]
pub struct QueryCheck {
    /// `query`, default [`DEFAULT_QUERY`].
    pub query: String,
    /// `expect_rows`: the number of rows the query must return; `None` is any.
    pub expect_rows: Option<u64>,
    /// `expect_first_value`: a regex (unanchored) the first column of the first
    /// row, as text, must match; a NULL or no row at all does not match.
    pub expect_first_value: Option<Regex>,
}

impl Default for QueryCheck {
    fn default() -> Self {
        QueryCheck {
            query: DEFAULT_QUERY.to_string(),
            expect_rows: None,
            expect_first_value: None,
        }
    }
}

/// The login and query settings of a database prober's block.
#[derive(Debug, Clone, Default)]
pub struct SqlSettings {
    /// `None` without `username`: no login and no query.
    pub login: Option<Login>,
    pub query: QueryCheck,
}

/// The first column of the first row of a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstValue {
    /// The result has no row (or no column).
    Missing,
    /// SQL NULL.
    Null,
    /// The value as text (the text protocols send every value so); bytes that are
    /// not UTF-8 are replaced.
    Text(String),
}

/// As a trace shows it: `none`, `NULL`, or the text quoted and cut.
impl std::fmt::Display for FirstValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FirstValue::Missing => f.write_str("none"),
            FirstValue::Null => f.write_str("NULL"),
            FirstValue::Text(t) => f.write_str(&quoted(t)),
        }
    }
}

/// What a prober read of a query's answer: enough to check it, never the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryResult {
    pub rows: u64,
    pub first_value: FirstValue,
}

/// "The query returned 1 row; first value \"1\"": the trace line of a result,
/// the same for every database prober.
impl std::fmt::Display for QueryResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows = if self.rows == 1 { "row" } else { "rows" };
        write!(
            f,
            "The query returned {} {rows}; first value {}",
            self.rows, self.first_value
        )
    }
}

impl QueryCheck {
    /// Holds `result` to `expect_rows` then `expect_first_value`; the first rule
    /// that fails is the run's outcome, `query_result`, with what was expected and
    /// what came back in words.
    pub fn check(&self, result: &QueryResult) -> Result<(), ProbeFailure> {
        if let Some(want) = self.expect_rows {
            if result.rows != want {
                return Err(ProbeFailure::new(
                    FailureReason::QueryResult,
                    format!(
                        "expect_rows is {want}, the query returned {} {}",
                        result.rows,
                        plural(result.rows, "row", "rows")
                    ),
                ));
            }
        }
        let Some(re) = &self.expect_first_value else {
            return Ok(());
        };
        let fail = |what: String| {
            ProbeFailure::new(
                FailureReason::QueryResult,
                format!("expect_first_value {:?}: {what}", re.as_str()),
            )
        };
        match &result.first_value {
            FirstValue::Missing => Err(fail("the query returned no value".into())),
            FirstValue::Null => Err(fail("the first value is NULL".into())),
            FirstValue::Text(text) if re.is_match(text) => Ok(()),
            FirstValue::Text(text) => Err(fail(format!(
                "the first value {} does not match",
                quoted(text)
            ))),
        }
    }
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// `text` quoted, cut at [`QUOTED`] bytes (on a character boundary) with its
/// length said when it is longer.
pub fn quoted(text: &str) -> String {
    if text.len() <= QUOTED {
        return format!("{text:?}");
    }
    let mut end = QUOTED;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}... ({} bytes)", &text[..end], text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_reads_as_words_in_a_trace() {
        let result = |rows, first_value| QueryResult { rows, first_value }.to_string();
        assert_eq!(
            result(1, FirstValue::Text("10.11".into())),
            "The query returned 1 row; first value \"10.11\""
        );
        assert_eq!(
            result(0, FirstValue::Missing),
            "The query returned 0 rows; first value none"
        );
        assert_eq!(
            result(2, FirstValue::Null),
            "The query returned 2 rows; first value NULL"
        );
    }

    fn check(rows: Option<u64>, re: Option<&str>) -> QueryCheck {
        QueryCheck {
            expect_rows: rows,
            expect_first_value: re.map(|r| Regex::new(r).unwrap_or_else(|e| panic!("{e}"))),
            ..QueryCheck::default()
        }
    }

    fn result(rows: u64, first: FirstValue) -> QueryResult {
        QueryResult {
            rows,
            first_value: first,
        }
    }

    fn message(r: Result<(), ProbeFailure>) -> String {
        match r {
            Ok(()) => "ok".into(),
            Err(f) => {
                assert_eq!(f.reason, FailureReason::QueryResult);
                f.message
            }
        }
    }

    #[test]
    fn no_rule_passes_anything() {
        let c = QueryCheck::default();
        assert_eq!(c.query, "SELECT 1");
        assert_eq!(message(c.check(&result(0, FirstValue::Missing))), "ok");
        assert_eq!(message(c.check(&result(9, FirstValue::Null))), "ok");
    }

    #[test]
    fn expect_rows_counts_exactly() {
        let c = check(Some(1), None);
        assert_eq!(message(c.check(&result(1, FirstValue::Null))), "ok");
        assert_eq!(
            message(c.check(&result(0, FirstValue::Missing))),
            "expect_rows is 1, the query returned 0 rows"
        );
        assert_eq!(
            message(check(Some(2), None).check(&result(1, FirstValue::Missing))),
            "expect_rows is 2, the query returned 1 row"
        );
    }

    #[test]
    fn expect_first_value_matches_the_text_unanchored() {
        let c = check(None, Some("^1$"));
        assert_eq!(
            message(c.check(&result(1, FirstValue::Text("1".into())))),
            "ok"
        );
        assert_eq!(
            message(c.check(&result(1, FirstValue::Text("10".into())))),
            "expect_first_value \"^1$\": the first value \"10\" does not match"
        );
        assert_eq!(
            message(c.check(&result(1, FirstValue::Null))),
            "expect_first_value \"^1$\": the first value is NULL"
        );
        assert_eq!(
            message(c.check(&result(0, FirstValue::Missing))),
            "expect_first_value \"^1$\": the query returned no value"
        );
        let c = check(None, Some("10\\.11"));
        let version = FirstValue::Text("10.11.6-MariaDB-0+deb12u1".into());
        assert_eq!(message(c.check(&result(1, version))), "ok");
    }

    #[test]
    fn rows_are_checked_before_the_value() {
        let c = check(Some(1), Some("x"));
        let m = message(c.check(&result(2, FirstValue::Text("y".into()))));
        assert!(m.starts_with("expect_rows is 1"), "{m}");
    }

    #[test]
    fn a_long_value_is_quoted_in_part() {
        let long = "é".repeat(200);
        let q = quoted(&long);
        assert!(q.ends_with("... (400 bytes)"), "{q}");
        assert!(q.len() < 300, "{}", q.len());
        assert_eq!(quoted("ab"), "\"ab\"");
    }
}
