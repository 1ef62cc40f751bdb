//! The login and query keys of a database prober's block, read by one function for
//! every database prober. The prober's own file model (strict: it refuses unknown
//! keys) declares the same keys, so they are known there; [`build`] reads them off
//! the block after that model decoded it, as `config::shared::ip_settings_of`
//! does for the address keys.
//!
//! Keys: `username`, `password_file` | `password_env` (a clear `password` is
//! refused with a hint), `query`, `expect_rows`, `expect_first_value`.

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::{Login, QueryCheck, SqlSettings};
use crate::config::secret::Secret;
use crate::config::validate::Ctx;
use crate::config::{shared, tree, values};

/// The login and query keys read straight off a block. Not strict: the prober's
/// model, decoded first, has refused unknown keys and wrong types already.
#[derive(Debug, Deserialize)]
struct SqlKeysFile {
    username: Option<Spanned<String>>,
    /// Declared only to be refused: a clear password does not belong in the file.
    password: Option<Spanned<Secret>>,
    password_file: Option<Spanned<String>>,
    password_env: Option<Spanned<String>>,
    query: Option<Spanned<String>>,
    expect_rows: Option<Spanned<i64>>,
    expect_first_value: Option<Spanned<String>>,
}

/// The hint of every refused clear password.
pub const PASSWORD_HINT: &str = "put the password in a file readable only by outpost and name it \
     with password_file, or in outpost's environment and name the variable with password_env \
     (docs/configuration.md#database-login-and-query)";

/// Builds the login and query settings of the block `value` at `path`. `None`
/// after an error (recorded); every mistake of the block is reported in one pass.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: &Spanned<DeValue<'_>>,
) -> Option<SqlSettings> {
    let file = tree::decode::<SqlKeysFile>(ctx, value, path)?;
    let before = ctx.error_count();
    let at = |key: &str| tree::key(path, key);
    if let Some(p) = &file.password {
        ctx.error_hint(
            p.span(),
            &at("password"),
            "a clear password is not accepted in the configuration",
            PASSWORD_HINT,
        );
    }
    let password = shared::secret_or_env(
        ctx,
        path,
        ("password", None::<&Spanned<String>>),
        ("password_file", file.password_file.as_ref()),
        ("password_env", file.password_env.as_ref()),
    );
    let username = match &file.username {
        Some(u) if u.get_ref().is_empty() => {
            ctx.error_hint(
                u.span(),
                &at("username"),
                "username is empty",
                "name the user to log in as, or remove username to stop after the greeting",
            );
            None
        }
        Some(u) => Some(u.get_ref().clone()),
        None => None,
    };
    if file.username.is_none() {
        // Everything else needs a login: the first key that does is reported.
        let needs_login = [
            (
                "password_file",
                file.password_file.as_ref().map(Spanned::span),
            ),
            (
                "password_env",
                file.password_env.as_ref().map(Spanned::span),
            ),
            ("query", file.query.as_ref().map(Spanned::span)),
            ("expect_rows", file.expect_rows.as_ref().map(Spanned::span)),
            (
                "expect_first_value",
                file.expect_first_value.as_ref().map(Spanned::span),
            ),
        ];
        if let Some((key, span)) = needs_login
            .into_iter()
            .filter_map(|(k, s)| s.map(|s| (k, s)))
            .min_by_key(|(_, s)| s.start)
        {
            ctx.error_hint(
                span,
                &at(key),
                format!("{key} needs a login"),
                "set username: the query runs after logging in",
            );
        }
    }
    let query = match &file.query {
        Some(q) if q.get_ref().trim().is_empty() => {
            ctx.error_hint(
                q.span(),
                &at("query"),
                "query is empty",
                format!("remove it for the default, {:?}", super::DEFAULT_QUERY),
            );
            None
        }
        Some(q) => Some(q.get_ref().clone()),
        None => None,
    };
    let expect_rows = match &file.expect_rows {
        Some(n) => match u64::try_from(*n.get_ref()) {
            Ok(n) => Some(n),
            Err(_) => {
                ctx.error(n.span(), &at("expect_rows"), "must be 0 or more");
                None
            }
        },
        None => None,
    };
    let expect_first_value = file
        .expect_first_value
        .as_ref()
        .and_then(|re| values::regex(ctx, &at("expect_first_value"), re));
    if ctx.error_count() != before {
        return None;
    }
    Some(SqlSettings {
        login: username.map(|username| Login {
            username,
            password: Secret::from(password.unwrap_or_default()),
        }),
        query: QueryCheck {
            query: query.unwrap_or_else(|| super::DEFAULT_QUERY.to_string()),
            expect_rows,
            expect_first_value,
        },
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use toml::de::DeTable;

    use super::*;

    /// Builds the block of `text` (a table of keys) as if at `modules.db.mysql`.
    fn built(text: &str) -> Result<SqlSettings, String> {
        let mut ctx = Ctx::new(Path::new("/nonexistent/probes.toml"), text);
        let table = DeTable::parse(text).map_err(|e| e.to_string())?;
        let value = Spanned::new(table.span(), DeValue::Table(table.into_inner()));
        match build(&mut ctx, "modules.db.mysql", &value) {
            Some(s) if ctx.error_count() == 0 => Ok(s),
            _ => Err(ctx.into_errors().to_string()),
        }
    }

    fn error(text: &str) -> String {
        match built(text) {
            Ok(s) => panic!("{text} built: {s:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn an_empty_block_is_no_login_and_the_default_query() {
        let s = built("").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.login, None);
        assert_eq!(s.query.query, "SELECT 1");
        assert_eq!(s.query.expect_rows, None);
        assert!(s.query.expect_first_value.is_none());
    }

    #[test]
    fn login_and_query_keys() {
        // A variable every environment has: no test changes the environment.
        let var = "PATH";
        let path = std::env::var(var).unwrap_or_else(|e| panic!("{e}"));
        let s = built(&format!(
            "username = \"monitor\"\npassword_env = \"{var}\"\nquery = \"SELECT @@version\"\n\
             expect_rows = 1\nexpect_first_value = \"^10\\\\.\"\nother = 1\n"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let login = s.login.unwrap_or_else(|| panic!("no login"));
        assert_eq!(login.username, "monitor");
        assert_eq!(login.password.expose(), path);
        assert_eq!(
            format!("{login:?}"),
            "Login { username: \"monitor\", password: <secret> }"
        );
        assert_eq!(s.query.query, "SELECT @@version");
        assert_eq!(s.query.expect_rows, Some(1));
        assert_eq!(
            s.query.expect_first_value.map(|r| r.as_str().to_string()),
            Some("^10\\.".to_string())
        );
        // A user without a password.
        let s = built("username = \"u\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.login.map(|l| l.password.expose().to_string()),
            Some(String::new())
        );
    }

    #[test]
    fn a_password_file_is_read_at_load_its_newline_trimmed() {
        let dir = std::env::temp_dir().join(format!("outpost-sql-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let file = dir.join("pw");
        std::fs::write(&file, "hunter2\n").unwrap_or_else(|e| panic!("{e}"));
        let text = format!(
            "username = \"u\"\npassword_file = {:?}\n",
            file.display().to_string()
        );
        let s = built(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.login.map(|l| l.password.expose().to_string()),
            Some("hunter2".into())
        );
        let _ = std::fs::remove_dir_all(&dir);
        let e = error("username = \"u\"\npassword_file = \"/nonexistent/pw\"\n");
        assert!(
            e.contains("modules.db.mysql.password_file: cannot read /nonexistent/pw"),
            "{e}"
        );
    }

    #[test]
    fn a_clear_password_is_refused_with_a_hint_and_not_shown() {
        let e = error("username = \"u\"\npassword = \"hunter2\"\n");
        assert!(
            e.contains("modules.db.mysql.password: a clear password is not accepted"),
            "{e}"
        );
        assert!(e.contains("password_file"), "{e}");
        assert!(e.contains("password_env"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn mistakes_are_each_reported() {
        let e = error("username = \"u\"\npassword_file = \"a\"\npassword_env = \"B\"\n");
        assert!(
            e.contains("password_file and password_env are mutually exclusive"),
            "{e}"
        );
        let e = error("query = \"SELECT 2\"\nexpect_rows = 1\n");
        assert!(
            e.contains("modules.db.mysql.query: query needs a login"),
            "{e}"
        );
        assert!(e.contains("set username"), "{e}");
        let e = error("username = \"\"\n");
        assert!(e.contains("username is empty"), "{e}");
        let e = error(
            "username = \"u\"\nquery = \"  \"\nexpect_rows = -1\nexpect_first_value = \"(\"\n",
        );
        assert!(e.contains("query is empty"), "{e}");
        assert!(e.contains("expect_rows: must be 0 or more"), "{e}");
        assert!(
            e.contains("expect_first_value: invalid regular expression"),
            "{e}"
        );
        let e = error("username = \"u\"\npassword_env = \"OUTPOST_SQL_TEST_UNSET_VARIABLE\"\n");
        assert!(
            e.contains("environment variable OUTPOST_SQL_TEST_UNSET_VARIABLE is not set"),
            "{e}"
        );
    }
}
