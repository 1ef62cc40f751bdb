//! `[modules.NAME.mysql]`: its file model and checks.

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::MysqlModule;
use crate::config::file::Block;
use crate::config::secret::Secret;
use crate::config::shared::{self, SettingsBlock};
use crate::config::tree;
use crate::config::validate::Ctx;
use crate::probe::sql;

/// `[modules.NAME.mysql]`, without the contents of `tls_config`. The login and
/// query keys are read by [`sql::config::build`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct MysqlFile {
    pub tls: Option<bool>,
    pub tls_config: Block,
    pub fail_if_not_ssl: Option<bool>,
    pub preferred_ip_protocol: Option<Spanned<String>>,
    pub ip_protocol_fallback: Option<bool>,
    pub source_ip_address: Option<Spanned<String>>,
    pub username: Option<Spanned<String>>,
    /// Refused with a hint (sql::config): a password is never written here.
    pub password: Option<Spanned<Secret>>,
    pub password_file: Option<Spanned<String>>,
    pub password_env: Option<Spanned<String>>,
    pub query: Option<Spanned<String>>,
    pub expect_rows: Option<Spanned<i64>>,
    pub expect_first_value: Option<Spanned<String>>,
    pub replica_lag_query: Option<Spanned<String>>,
}

/// Builds the mysql settings at `path`; absent means defaults. `None` after an error.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: Option<&Spanned<DeValue<'_>>>,
) -> Option<MysqlModule> {
    let Some(value) = value else {
        return Some(MysqlModule::default());
    };
    let SettingsBlock { file, tls_config } = shared::decode_block::<MysqlFile>(ctx, path, value)?;
    let before = ctx.error_count();
    let ip = shared::ip_settings_of(ctx, path, value);
    let sql = sql::config::build(ctx, path, value);
    let replica_lag_query = match &file.replica_lag_query {
        Some(q) if q.get_ref().trim().is_empty() => {
            ctx.error_hint(
                q.span(),
                &tree::key(path, "replica_lag_query"),
                "replica_lag_query is empty",
                "e.g. \"SHOW REPLICA STATUS\" (MySQL 8.0.22+, MariaDB 10.5+), or remove it",
            );
            None
        }
        Some(q) if file.username.is_none() => {
            ctx.error_hint(
                q.span(),
                &tree::key(path, "replica_lag_query"),
                "replica_lag_query needs a login",
                "set username: the query runs after logging in",
            );
            None
        }
        Some(q) => Some(q.get_ref().clone()),
        None => None,
    };
    let tls_config = tls_config?;
    let sql = sql?;
    (ctx.error_count() == before).then(|| MysqlModule {
        ip,
        tls: file.tls.unwrap_or(false),
        tls_config,
        fail_if_not_ssl: file.fail_if_not_ssl.unwrap_or(false),
        sql,
        replica_lag_query,
    })
}
