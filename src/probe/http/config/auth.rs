//! `basic_auth`, `bearer_token`, `bearer_token_file`, `authorization` (and
//! `oauth2`, built by `config::oauth2`): at most one, credentials read from their
//! files at load.

use toml::Spanned;

use super::file::{AuthorizationFile, BasicAuthFile, HttpFile};
use crate::config::validate::Ctx;
use crate::config::{shared, tree};
use crate::probe::http::settings::Auth;

/// At most one of basic_auth, bearer_token, bearer_token_file, bearer_token_env,
/// authorization and oauth2.
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
        (
            "bearer_token_env",
            file.bearer_token_env.as_ref().map(Spanned::span),
        ),
        (
            "authorization",
            file.authorization.as_ref().map(Spanned::span),
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
                "configure at most one of basic_auth, bearer_token, bearer_token_file, bearer_token_env, authorization and oauth2",
            );
        }
        if !rest.is_empty() {
            return None;
        }
    }
    if let Some(basic) = &file.basic_auth {
        return basic_auth(ctx, &tree::key(path, "basic_auth"), basic.get_ref());
    }
    if let Some(a) = &file.authorization {
        return authorization(ctx, &tree::key(path, "authorization"), a);
    }
    shared::secret_or_env(
        ctx,
        path,
        ("bearer_token", file.bearer_token.as_ref()),
        ("bearer_token_file", file.bearer_token_file.as_ref()),
        ("bearer_token_env", file.bearer_token_env.as_ref()),
    )
    .map(Auth::Bearer)
}

fn basic_auth(ctx: &mut Ctx<'_>, path: &str, file: &BasicAuthFile) -> Option<Auth> {
    let before = ctx.error_count();
    let username = shared::secret(
        ctx,
        path,
        ("username", file.username.as_ref()),
        ("username_file", file.username_file.as_ref()),
    );
    let password = shared::secret_or_env(
        ctx,
        path,
        ("password", file.password.as_ref()),
        ("password_file", file.password_file.as_ref()),
        ("password_env", file.password_env.as_ref()),
    );
    (ctx.error_count() == before).then(|| Auth::Basic {
        username: username.unwrap_or_default(),
        password: password.unwrap_or_default(),
    })
}

/// prometheus/common's `authorization`: `type` trimmed, default `Bearer`, never
/// `Basic` (that is `basic_auth`).
fn authorization(ctx: &mut Ctx<'_>, path: &str, file: &Spanned<AuthorizationFile>) -> Option<Auth> {
    let before = ctx.error_count();
    let a = file.get_ref();
    let kind = match &a.kind {
        Some(k) if k.get_ref().trim().eq_ignore_ascii_case("basic") => {
            ctx.error_hint(
                k.span(),
                &tree::key(path, "type"),
                "authorization type cannot be \"Basic\"",
                "use basic_auth for Basic authentication",
            );
            String::new()
        }
        Some(k) if !k.get_ref().trim().is_empty() => k.get_ref().trim().to_string(),
        _ => "Bearer".to_string(),
    };
    let credentials = shared::secret_or_env(
        ctx,
        path,
        ("credentials", a.credentials.as_ref()),
        ("credentials_file", a.credentials_file.as_ref()),
        ("credentials_env", a.credentials_env.as_ref()),
    );
    if ctx.error_count() != before {
        return None;
    }
    let credentials = credentials.unwrap_or_default();
    if http::HeaderValue::from_str(&format!("{kind} {credentials}")).is_err() {
        ctx.error_hint(
            file.span(),
            path,
            "type and credentials cannot be sent in an Authorization header",
            "remove control characters such as newlines",
        );
        return None;
    }
    Some(Auth::Authorization { kind, credentials })
}
