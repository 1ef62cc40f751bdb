//! `fail_if_body_json_matches_cel` / `fail_if_body_json_not_matches_cel`:
//! compiled at load, so a bad expression is a config error.

use toml::Spanned;

use crate::config::validate::Ctx;
use crate::probe::http::CelRule;

/// Compiles the expression at `path`, if set; `None` after an error (recorded).
pub(super) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: &Option<Spanned<String>>,
) -> Option<CelRule> {
    let value = value.as_ref()?;
    match CelRule::compile(value.get_ref()) {
        Ok(rule) => Some(rule),
        Err(e) => {
            ctx.error_hint(
                value.span(),
                path,
                format!("invalid CEL expression: {e}"),
                "write a CEL expression over `body`, the parsed JSON, e.g. \"body.status == 'ok'\"",
            );
            None
        }
    }
}
