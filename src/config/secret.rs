//! A secret option is one whose file-model field has the type [`Secret`]. Decoding a
//! `Secret` records where its value stands in the file, and the module dump that
//! `debug=true` shows hides every value recorded ([`super::tree::redact`]), so a new
//! prober's `password` or `dsn` is hidden by being declared as a secret, not by
//! being added to a list of names somewhere else. `tests/integration/config.rs`
//! holds every file model to that: a field named like a credential must be a
//! `Secret`.

use std::cell::RefCell;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

thread_local! {
    /// The spans recorded while a [`collect`] runs on this thread; `None` outside.
    static SEEN: RefCell<Option<Vec<Range<usize>>>> = const { RefCell::new(None) };
}

/// A secret value as written in the file. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A secret read elsewhere than the file (a `_file` or `_env` key), kept so that
/// its `Debug` hides it as well.
impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl AsRef<str> for Secret {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(crate::redact::SECRET)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Spanned::<String>::deserialize(deserializer)?;
        SEEN.with(|seen| {
            if let Some(spans) = seen.borrow_mut().as_mut() {
                spans.push(value.span());
            }
        });
        Ok(Secret(value.into_inner()))
    }
}

/// Runs `decode` and returns its result with the spans of every [`Secret`] it
/// decoded. Nested calls each get their own.
pub(crate) fn collect<R>(decode: impl FnOnce() -> R) -> (R, Vec<Range<usize>>) {
    let outer = SEEN.with(|seen| seen.borrow_mut().replace(Vec::new()));
    let result = decode();
    let spans = SEEN.with(|seen| std::mem::replace(&mut *seen.borrow_mut(), outer));
    (result, spans.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct File {
        plain: Option<Spanned<String>>,
        password: Option<Spanned<Secret>>,
        list: Option<Vec<Secret>>,
    }

    #[test]
    fn decoding_records_the_span_of_each_secret_value() {
        let text = "plain = \"p\"\npassword = \"hunter2\"\nlist = [\"a\", \"bb\"]\n";
        let (file, mut spans) = collect(|| toml::from_str::<File>(text));
        let file = file.map_err(|e| e.to_string());
        spans.sort_by_key(|s| s.start);
        let shown: Vec<&str> = spans.iter().map(|s| &text[s.clone()]).collect();
        assert_eq!(shown, ["\"hunter2\"", "\"a\"", "\"bb\""]);
        let file = file.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file.plain.map(Spanned::into_inner).as_deref(), Some("p"));
        let password = file.password.map(Spanned::into_inner);
        assert_eq!(password.as_ref().map(Secret::expose), Some("hunter2"));
        assert_eq!(format!("{password:?}"), "Some(<secret>)");
        let list: Vec<String> = file
            .list
            .into_iter()
            .flatten()
            .map(Secret::into_inner)
            .collect();
        assert_eq!(list, ["a", "bb"]);
        // Outside a collect nothing is kept.
        let _ = toml::from_str::<File>(text);
        assert!(SEEN.with(|s| s.borrow().is_none()));
    }
}
