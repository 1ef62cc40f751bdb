//! `outpost probe --prober KIND --set KEY=VALUE ...`: a module written on the
//! command line. It becomes the TOML a file would hold and goes through the same
//! validation, so every option, check and message is the file's own and no
//! second set of flags has to be kept in step with the settings blocks.

use std::path::Path;

use super::{Config, ConfigErrors};
use crate::probe::ProberKind;

/// The name of the module `--prober` makes.
pub const MODULE: &str = "inline";

/// What errors in it are reported against, in place of a file name.
pub const SOURCE: &str = "<command line>";

/// A `--set` argument that cannot become a TOML line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InlineError {
    #[error("--set {0:?}: expected KEY=VALUE (e.g. --set method=POST, --set tls_config.insecure_skip_verify=true)")]
    NoEquals(String),
    #[error("--set {0:?}: the key may hold only letters, digits, '_', '-' and '.' between names (e.g. tls_config.server_name)")]
    BadKey(String),
}

/// The module's TOML: `[modules.inline]` with `prober`, then each `--set` as
/// one line of its settings block, in the order given (line 5 is the first).
/// A VALUE that is a TOML value (`true`, `5`, `[200, 301]`, `"x"`) is kept as
/// written; anything else is taken as a string, so `--set method=POST` works
/// without quotes.
pub fn module_toml(kind: ProberKind, sets: &[String]) -> Result<String, InlineError> {
    let mut text =
        format!("[modules.{MODULE}]\nprober = \"{kind}\"\n\n[modules.{MODULE}.{kind}]\n");
    for set in sets {
        let (key, value) = set
            .split_once('=')
            .ok_or_else(|| InlineError::NoEquals(set.clone()))?;
        let key = key.trim();
        if !is_dotted_key(key) {
            return Err(InlineError::BadKey(set.clone()));
        }
        text.push_str(key);
        text.push_str(" = ");
        text.push_str(&value_text(value.trim()));
        text.push('\n');
    }
    Ok(text)
}

/// The configuration holding only the module of `module_toml`.
pub fn config(
    kind: ProberKind,
    sets: &[String],
) -> Result<Result<Config, ConfigErrors>, InlineError> {
    let text = module_toml(kind, sets)?;
    Ok(Config::from_str_at(&text, Path::new(SOURCE)))
}

fn is_dotted_key(key: &str) -> bool {
    !key.is_empty()
        && key.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

/// `value` as written when it is exactly one TOML value, else as a TOML string.
fn value_text(value: &str) -> String {
    let one_value = !value.contains('\n')
        && format!("v = {value}")
            .parse::<toml::Table>()
            .is_ok_and(|t| t.len() == 1);
    if one_value {
        value.to_string()
    } else {
        // A JSON string is a TOML basic string: the same escapes, one line.
        serde_json::Value::from(value).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sets(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn each_set_is_one_line_of_the_settings_block() {
        let text = module_toml(
            ProberKind::Http,
            &sets(&[
                "method=POST",
                "valid_status_codes=[200, 301]",
                "tls_config.insecure_skip_verify = true",
                "body=a = b",
                "fail_if_body_matches_regexp=[\"x\"]",
            ]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            text,
            "[modules.inline]\nprober = \"http\"\n\n[modules.inline.http]\n\
             method = \"POST\"\n\
             valid_status_codes = [200, 301]\n\
             tls_config.insecure_skip_verify = true\n\
             body = \"a = b\"\n\
             fail_if_body_matches_regexp = [\"x\"]\n"
        );
    }

    #[test]
    fn a_set_that_could_write_other_toml_is_refused() {
        assert_eq!(
            module_toml(ProberKind::Tcp, &sets(&["tls"])),
            Err(InlineError::NoEquals("tls".into()))
        );
        for bad in ["a]\n[x=1", "=1", "a..b=1", "a b=1"] {
            assert_eq!(
                module_toml(ProberKind::Tcp, &sets(&[bad])),
                Err(InlineError::BadKey(bad.into())),
                "{bad}"
            );
        }
        // A value that is two TOML lines is one string, not a second key.
        let text = module_toml(ProberKind::Tcp, &sets(&["tls=true\nx = 1"]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(text.ends_with("tls = \"true\\nx = 1\"\n"), "{text}");
    }

    #[test]
    fn the_module_is_validated_as_a_file_would_be() {
        let config = config(ProberKind::Tcp, &sets(&["tls=true"]))
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(config.module(MODULE).is_some());
        let errors = |items: &[&str]| match config_errors(items) {
            Some(e) => e.to_string(),
            None => panic!("{items:?} accepted"),
        };
        let wrong_type = errors(&["tls=yes"]);
        assert!(
            wrong_type.starts_with("<command line>:5:7: modules.inline.tcp.tls: "),
            "{wrong_type}"
        );
        let unknown = errors(&["tls=true", "nope=1"]);
        assert!(
            unknown.starts_with("<command line>:6:1: modules.inline.tcp: unknown key `nope`"),
            "{unknown}"
        );
    }

    fn config_errors(items: &[&str]) -> Option<ConfigErrors> {
        config(ProberKind::Tcp, &sets(items)).ok()?.err()
    }
}
