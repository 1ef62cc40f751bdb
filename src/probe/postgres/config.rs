//! `[modules.NAME.postgres]`: its file model and checks. The login and query keys
//! are the database probers' shared ones ([`crate::probe::sql::config`]).

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::PostgresModule;
use crate::config::file::Block;
use crate::config::secret::Secret;
use crate::config::shared::{self, SettingsBlock};
use crate::config::tree;
use crate::config::validate::Ctx;
use crate::probe::sql;

/// `[modules.NAME.postgres]`, without the contents of `tls_config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct PostgresFile {
    pub preferred_ip_protocol: Option<Spanned<String>>,
    pub ip_protocol_fallback: Option<bool>,
    pub source_ip_address: Option<Spanned<String>>,
    pub tls: Option<bool>,
    pub fail_if_not_ssl: Option<Spanned<bool>>,
    pub tls_config: Block,
    pub database: Option<Spanned<String>>,
    pub check_recovery: Option<Spanned<bool>>,
    // The shared login and query keys, read by sql::config::build.
    pub username: Option<Spanned<String>>,
    /// Declared only to be refused with a hint.
    pub password: Option<Spanned<Secret>>,
    pub password_file: Option<Spanned<String>>,
    pub password_env: Option<Spanned<String>>,
    pub query: Option<Spanned<String>>,
    pub expect_rows: Option<Spanned<i64>>,
    pub expect_first_value: Option<Spanned<String>>,
}

/// Builds the postgres settings at `path`; absent means defaults. `None` after an error.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: Option<&Spanned<DeValue<'_>>>,
) -> Option<PostgresModule> {
    let Some(value) = value else {
        return Some(PostgresModule::default());
    };
    let SettingsBlock { file, tls_config } =
        shared::decode_block::<PostgresFile>(ctx, path, value)?;
    let before = ctx.error_count();
    let at = |key: &str| tree::key(path, key);
    let tls = file.tls.unwrap_or(false);
    let fail_if_not_ssl = match &file.fail_if_not_ssl {
        Some(f) if *f.get_ref() && !tls => {
            ctx.error_hint(
                f.span(),
                &at("fail_if_not_ssl"),
                "fail_if_not_ssl needs tls = true",
                "set tls = true: without it the prober never asks the server for TLS",
            );
            false
        }
        Some(f) => *f.get_ref(),
        None => false,
    };
    let database = match &file.database {
        Some(d) if d.get_ref().is_empty() => {
            ctx.error_hint(
                d.span(),
                &at("database"),
                "database is empty",
                "name the database, or remove the key for PostgreSQL's default (the user's name)",
            );
            None
        }
        Some(d) if file.username.is_none() => {
            ctx.error_hint(
                d.span(),
                &at("database"),
                "database needs a login",
                "set username: without it the run stops before the StartupMessage",
            );
            None
        }
        Some(d) => Some(d.get_ref().clone()),
        None => None,
    };
    let check_recovery = file.check_recovery.as_ref().is_some_and(|c| *c.get_ref());
    if let (Some(c), true, None) = (&file.check_recovery, check_recovery, &file.username) {
        ctx.error_hint(
            c.span(),
            &at("check_recovery"),
            "check_recovery needs a login",
            "set username: pg_is_in_recovery() is asked after logging in",
        );
    }
    let sql = sql::config::build(ctx, path, value);
    let ip = shared::ip_settings_of(ctx, path, value);
    let tls_config = tls_config?;
    (ctx.error_count() == before).then(|| PostgresModule {
        ip,
        tls,
        fail_if_not_ssl,
        tls_config,
        database,
        check_recovery,
        sql: sql.unwrap_or_default(),
    })
}
