//! `basic_auth`, `bearer_token`, `bearer_token_file`: at most one, credentials
//! read from their files at load.

use toml::Spanned;

use super::file::{BasicAuthFile, HttpFile};
use super::tree;
use super::validate::Ctx;
use super::Auth;

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
                "configure at most one of basic_auth, bearer_token and bearer_token_file",
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
    secret_file(ctx, &tree::key(path, "bearer_token_file"), name).map(Auth::Bearer)
}

fn basic_auth(ctx: &mut Ctx<'_>, path: &str, file: &BasicAuthFile) -> Option<Auth> {
    let username = match (&file.username, &file.username_file) {
        (Some(_), Some(f)) => {
            ctx.error(
                f.span(),
                &tree::key(path, "username_file"),
                "username and username_file are mutually exclusive",
            );
            None
        }
        (Some(u), None) => Some(u.get_ref().clone()),
        (None, Some(f)) => secret_file(ctx, &tree::key(path, "username_file"), f),
        (None, None) => Some(String::new()),
    };
    let password = match (&file.password, &file.password_file) {
        (Some(_), Some(f)) => {
            ctx.error(
                f.span(),
                &tree::key(path, "password_file"),
                "password and password_file are mutually exclusive",
            );
            None
        }
        (Some(p), None) => Some(p.get_ref().clone()),
        (None, Some(f)) => secret_file(ctx, &tree::key(path, "password_file"), f),
        (None, None) => Some(String::new()),
    };
    Some(Auth::Basic {
        username: username?,
        password: password?,
    })
}

/// A credential read from a file, trailing newline trimmed.
fn secret_file(ctx: &mut Ctx<'_>, path: &str, name: &Spanned<String>) -> Option<String> {
    let (file, bytes) = ctx.read_file(path, name)?;
    match String::from_utf8(bytes) {
        Ok(text) => Some(text.trim_end_matches(['\n', '\r']).to_string()),
        Err(_) => {
            ctx.error(
                name.span(),
                path,
                format!("{} is not UTF-8 text", file.display()),
            );
            None
        }
    }
}
