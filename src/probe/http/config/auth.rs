//! `basic_auth`, `bearer_token`, `bearer_token_file` (and `oauth2`, built by
//! `config::oauth2`): at most one, credentials read from their files at load.

use toml::Spanned;

use super::file::{BasicAuthFile, HttpFile};
use crate::config::validate::Ctx;
use crate::config::{shared, tree};
use crate::probe::http::settings::Auth;

/// At most one of basic_auth, bearer_token, bearer_token_file.
pub(crate) fn build(ctx: &mut Ctx<'_>, path: &str, file: &HttpFile) -> Option<Auth> {
    let methods = [
        ("basic_auth", file.basic_auth.as_ref().map(Spanned::span)),
        (
            "bearer_token",
            file.bearer_token.as_ref().map(Spanned::span),
        ),
        (
            "bearer_token_file",
            file.bearer_token_file.as_ref().map(Spanned::span),
        ),
        ("oauth2", file.oauth2.as_ref().map(Spanned::span)),
    ];
    let mut set: Vec<_> = methods
        .iter()
        .filter_map(|(k, s)| s.clone().map(|s| (*k, s)))
        .collect();
    set.sort_by_key(|(_, s)| s.start);
    if let [(first, _), rest @ ..] = set.as_slice() {
        for (key, span) in rest {
            ctx.error_hint(
                span.clone(),
                &tree::key(path, key),
                format!("{first} and {key} are mutually exclusive"),
                "configure at most one of basic_auth, bearer_token, bearer_token_file and oauth2",
            );
        }
        if !rest.is_empty() {
            return None;
        }
    }
    if let Some(basic) = &file.basic_auth {
        return basic_auth(ctx, &tree::key(path, "basic_auth"), basic.get_ref());
    }
    if let Some(token) = &file.bearer_token {
        return Some(Auth::Bearer(token.get_ref().clone()));
    }
    let name = file.bearer_token_file.as_ref()?;
    shared::secret_file(ctx, &tree::key(path, "bearer_token_file"), name).map(Auth::Bearer)
}

fn basic_auth(ctx: &mut Ctx<'_>, path: &str, file: &BasicAuthFile) -> Option<Auth> {
    let before = ctx.error_count();
    let username = shared::secret(
        ctx,
        path,
        ("username", file.username.as_ref()),
        ("username_file", file.username_file.as_ref()),
    );
    let password = shared::secret(
        ctx,
        path,
        ("password", file.password.as_ref()),
        ("password_file", file.password_file.as_ref()),
    );
    (ctx.error_count() == before).then(|| Auth::Basic {
        username: username.unwrap_or_default(),
        password: password.unwrap_or_default(),
    })
}
