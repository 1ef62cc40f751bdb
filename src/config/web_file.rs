//! `--web.config.file`: exporter-toolkit's web config YAML, the file every
//! Prometheus exporter takes, read as it is: `tls_server_config` and
//! `basic_auth_users` mean what `[server.tls_server_config]` and
//! `[server.basic_auth_users]` mean, and are checked by the same code
//! ([`super::listener`]). Relative file names resolve against the YAML file's
//! directory, as exporter-toolkit resolves them; errors point at the YAML's
//! `line:col`.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_saphyr::{Location, Spanned as YamlSpanned};
use toml::Spanned;

use super::file::TlsServerFile;
use super::listener::{self, BasicAuthUsers, ListenerTls};
use super::validate::Ctx;
use super::{ConfigError, ConfigErrors};

/// What the web config file sets.
#[derive(Debug, Default)]
pub struct WebListener {
    pub tls: Option<ListenerTls>,
    pub basic_auth_users: Option<BasicAuthUsers>,
}

/// The file's top level. Keys outpost does not serve are named so that they are
/// refused with a reason, not as unknown.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebYaml {
    tls_server_config: Option<YamlSpanned<TlsYaml>>,
    basic_auth_users: Option<YamlSpanned<BTreeMap<String, YamlSpanned<String>>>>,
    http_server_config: Option<YamlSpanned<IgnoredAny>>,
}

/// `tls_server_config`, as [`TlsServerFile`] with YAML locations.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsYaml {
    cert_file: Option<YamlSpanned<String>>,
    key_file: Option<YamlSpanned<String>>,
    client_ca_file: Option<YamlSpanned<String>>,
    client_auth_type: Option<YamlSpanned<String>>,
    min_version: Option<YamlSpanned<String>>,
    max_version: Option<YamlSpanned<String>>,
    prefer_server_cipher_suites: Option<bool>,
    cipher_suites: Option<YamlSpanned<IgnoredAny>>,
    curve_preferences: Option<YamlSpanned<IgnoredAny>>,
    client_allowed_sans: Option<YamlSpanned<IgnoredAny>>,
}

/// Reads and checks the web config file at `path`. Every problem is returned at once.
pub fn load(path: &Path) -> Result<WebListener, ConfigErrors> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| one_error(path, 0, 0, format!("cannot read the web config file: {e}")))?;
    parse(&text, path)
}

/// Checks `text`, read from `path`.
pub fn parse(text: &str, path: &Path) -> Result<WebListener, ConfigErrors> {
    let mut ctx = Ctx::new(path, text);
    let yaml = match decode(text) {
        Ok(yaml) => yaml,
        Err(e) => {
            let at = e.location().map_or(0..0, |l| span(text, &l, 0));
            yaml_error(&mut ctx, at, &e.without_snippet().to_string());
            return Err(ctx.into_errors());
        }
    };
    let mut web = WebListener::default();
    if let Some(block) = &yaml.http_server_config {
        ctx.error_hint(
            span(text, &block.referenced, 0),
            "http_server_config",
            "http_server_config is not supported by outpost",
            "remove it: outpost serves HTTP/1.1 and HTTP/2 and sets no extra headers",
        );
    }
    if let Some(tls) = &yaml.tls_server_config {
        let file = Spanned::new(span(text, &tls.referenced, 0), tls_file(text, &tls.value));
        web.tls = listener::build_tls(&mut ctx, "tls_server_config", &file);
    }
    if let Some(users) = &yaml.basic_auth_users {
        // The key's own location is not kept; errors about a name point at its value.
        let entries: Vec<(Spanned<String>, Spanned<String>)> = users
            .value
            .iter()
            .map(|(name, hash)| {
                let at = span(text, &hash.referenced, hash.value.len());
                (
                    Spanned::new(at.clone(), name.clone()),
                    Spanned::new(at, hash.value.clone()),
                )
            })
            .collect();
        let table = span(text, &users.referenced, 0);
        web.basic_auth_users = listener::build_users(
            &mut ctx,
            "basic_auth_users",
            table,
            entries.iter().map(|(n, h)| (n, h)),
        );
    }
    if ctx.error_count() > 0 {
        return Err(ctx.into_errors());
    }
    Ok(web)
}

/// The YAML document; an empty file (or comments only) sets nothing, as in
/// exporter-toolkit.
fn decode(text: &str) -> Result<WebYaml, serde_saphyr::Error> {
    let blank = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if blank {
        return Ok(WebYaml {
            tls_server_config: None,
            basic_auth_users: None,
            http_server_config: None,
        });
    }
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    serde_saphyr::from_str_with_options(text, options)
}

/// A YAML or serde error, worded as the TOML side words its own: an unknown key
/// with the keys of its table, the position as `file:line:col` only.
fn yaml_error(ctx: &mut Ctx<'_>, at: Range<usize>, message: &str) {
    let message = message.trim();
    let message = message
        .rfind(" at line ")
        .map_or(message, |i| message.get(..i).unwrap_or(message));
    let mut quoted = message.split('`').skip(1).step_by(2);
    if let (Some(rest), Some(key)) = (message.strip_prefix("unknown field `"), quoted.next()) {
        let valid: Vec<&str> = rest
            .split_once("expected one of ")
            .map(|(_, names)| names.split(", ").map(|n| n.trim_matches('`')).collect())
            .unwrap_or_default();
        let table = if valid.contains(&"cert_file") {
            "tls_server_config"
        } else {
            ""
        };
        ctx.unknown_key(at, table, key, &valid);
        return;
    }
    ctx.error(at, "", message);
}

fn tls_file(text: &str, tls: &TlsYaml) -> TlsServerFile {
    let string = |v: &Option<YamlSpanned<String>>| {
        v.as_ref()
            .map(|v| Spanned::new(span(text, &v.referenced, v.value.len()), v.value.clone()))
    };
    let block = |v: &Option<YamlSpanned<IgnoredAny>>| {
        v.as_ref()
            .map(|v| Spanned::new(span(text, &v.referenced, 0), IgnoredAny))
    };
    TlsServerFile {
        cert_file: string(&tls.cert_file),
        key_file: string(&tls.key_file),
        client_ca_file: string(&tls.client_ca_file),
        client_auth_type: string(&tls.client_auth_type),
        min_version: string(&tls.min_version),
        max_version: string(&tls.max_version),
        prefer_server_cipher_suites: tls.prefer_server_cipher_suites,
        cipher_suites: block(&tls.cipher_suites),
        curve_preferences: block(&tls.curve_preferences),
        client_allowed_sans: block(&tls.client_allowed_sans),
    }
}

/// The byte range at `location` in `text` (`len` bytes long at most), for
/// [`Ctx`], which turns it back into `line:col`.
fn span(text: &str, location: &Location, len: usize) -> Range<usize> {
    let start = location
        .span()
        .byte_offset()
        .and_then(|o| usize::try_from(o).ok())
        .unwrap_or_else(|| offset(text, to_usize(location.line()), to_usize(location.column())))
        .min(text.len());
    start..(start + len).min(text.len())
}

/// The byte offset of 1-based `line` and `column` (in characters) in `text`.
fn offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let rest = text.get(line_start..).unwrap_or_default();
    let within = rest
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(rest.len(), |(i, _)| i);
    line_start + within
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn one_error(path: &Path, line: usize, column: usize, message: String) -> ConfigErrors {
    ConfigErrors(vec![ConfigError {
        file: path.to_path_buf(),
        line,
        column,
        key: String::new(),
        message,
        hint: None,
        // YAML lines are not shown: a basic_auth_users entry's line is a user and
        // a hash, and the secret checks are written for TOML.
        snippet: None,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_lines_and_characters() {
        let text = "a: 1\nbé: 2\n";
        assert_eq!(offset(text, 1, 1), 0);
        assert_eq!(offset(text, 2, 1), 5);
        assert_eq!(offset(text, 2, 3), 8);
        assert_eq!(offset(text, 9, 1), text.len());
    }
}
