//! `[modules.NAME.unix]`: its file model and checks.

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::UnixModule;
use crate::config::file::Block;
use crate::config::shared::{self, SettingsBlock};
use crate::config::tree::{self, child};
use crate::config::validate::Ctx;
use crate::probe::query_response;

/// `[modules.NAME.unix]`, without the contents of `tls_config`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct UnixFile {
    pub tls: Option<bool>,
    pub tls_config: Block,
    pub query_response: Block,
}

/// Builds the unix settings at `path`; absent means defaults. `None` after an error.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: Option<&Spanned<DeValue<'_>>>,
) -> Option<UnixModule> {
    let Some(value) = value else {
        return Some(UnixModule::default());
    };
    let SettingsBlock { file, tls_config } = shared::decode_block::<UnixFile>(ctx, path, value)?;
    let before = ctx.error_count();
    let tls = file.tls.unwrap_or(false);
    let query_response = query_response::config::build(
        ctx,
        &tree::key(path, "query_response"),
        child(value, "query_response"),
        tls,
    );
    let tls_config = tls_config?;
    (ctx.error_count() == before).then(|| UnixModule {
        tls,
        tls_config,
        query_response,
    })
}
