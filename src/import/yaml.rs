//! A YAML document as a tree of nodes that remember where they were written and,
//! for plain scalars, how: Go's YAML decoder gives a string option the scalar's
//! text whatever it looks like (`X-Version: 1.0` is the header value `"1.0"`, not
//! the number 1), so the translator needs the text as well as the type serde
//! inferred. Read with serde-saphyr, the YAML crate the web config file uses:
//! aliases and merge keys are expanded within its limits, duplicate keys are an
//! error (as in Go's yaml.v3).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

/// Where a node or key was written: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl Pos {
    fn of(location: &Location) -> Pos {
        let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        Pos {
            line: n(location.line()),
            column: n(location.column()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub(crate) at: Pos,
    pub(crate) value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    /// A plain scalar read as a boolean (`true`, `yes` ...), with its text.
    Bool(bool, String),
    /// A plain scalar read as an integer, with its text.
    Int(i64, String),
    /// A plain scalar read as a float, with its text.
    Float(String),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in the order written.
    Map(Vec<(Key, Node)>),
}

/// A mapping key and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    pub(crate) name: String,
    pub(crate) at: Pos,
}

impl Node {
    /// The scalar's text as Go would put it in a string field; `None` for a list
    /// or a mapping. Null is the empty string, as Go leaves it.
    pub(crate) fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Null => Some(""),
            Value::Bool(_, t) | Value::Int(_, t) | Value::Float(t) | Value::Str(t) => Some(t),
            Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// What kind of YAML value this is, for messages.
    pub(crate) fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(..) => "a boolean",
            Value::Int(..) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// A YAML syntax error: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub(crate) at: Pos,
    pub(crate) message: String,
}

/// Parses `text`; an empty document (or comments only) is `Null`.
pub(crate) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let blank = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if blank {
        return Ok(Node {
            at: Pos { line: 1, column: 1 },
            value: Value::Null,
        });
    }
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    let raw: Spanned<Raw> =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| SyntaxError {
            at: e.location().map(|l| Pos::of(&l)).unwrap_or_default(),
            message: message(&e.without_snippet().to_string()),
        })?;
    Ok(node(raw, text))
}

/// serde-saphyr's message without its own trailing position.
fn message(text: &str) -> String {
    let text = text.trim();
    text.rfind(" at line ")
        .map_or(text, |i| text.get(..i).unwrap_or(text))
        .to_string()
}

/// The value as serde-saphyr infers it, before the source text is attached.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    /// Integers past i64 and floats: only their text is kept.
    Number,
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<String>, Spanned<Raw>)>),
}

fn node(raw: Spanned<Raw>, text: &str) -> Node {
    let at = Pos::of(&raw.referenced);
    // An alias's text is its anchor's: read the scalar where it was defined.
    let source = || {
        let span = raw.defined.span();
        span.byte_offset()
            .zip(span.byte_len())
            .and_then(|(o, l)| {
                let o = usize::try_from(o).ok()?;
                text.get(o..o.checked_add(usize::try_from(l).ok()?)?)
            })
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let value = match raw.value {
        Raw::Null => Value::Null,
        Raw::Bool(b) => Value::Bool(b, source()),
        Raw::Int(i) => Value::Int(i, source()),
        Raw::Number => Value::Float(source()),
        Raw::Str(s) => Value::Str(s),
        Raw::Seq(items) => Value::Seq(items.into_iter().map(|i| node(i, text)).collect()),
        Raw::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = Key {
                        at: Pos::of(&k.referenced),
                        name: k.value,
                    };
                    (key, node(v, text))
                })
                .collect(),
        ),
    };
    Node { at, value }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Raw, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Raw;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
                Ok(Raw::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
                Raw::deserialize(d)
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Raw, E> {
                Ok(Raw::Bool(b))
            }
            fn visit_i64<E: de::Error>(self, i: i64) -> Result<Raw, E> {
                Ok(Raw::Int(i))
            }
            fn visit_u64<E: de::Error>(self, u: u64) -> Result<Raw, E> {
                Ok(i64::try_from(u).map_or(Raw::Number, Raw::Int))
            }
            fn visit_i128<E: de::Error>(self, _: i128) -> Result<Raw, E> {
                Ok(Raw::Number)
            }
            fn visit_u128<E: de::Error>(self, _: u128) -> Result<Raw, E> {
                Ok(Raw::Number)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Raw, E> {
                Ok(Raw::Number)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Raw, E> {
                Ok(Raw::Str(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Raw, E> {
                Ok(Raw::Str(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Raw::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Raw::Map(entries))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Pos {
        Pos { line, column }
    }

    #[test]
    fn scalars_keep_their_text_and_positions() {
        let doc = "a:\n  x: 1.0\n  y: yes\n  z: 010\n  q: \"a\\tb\"\n  n:\n  l: [1, two]\n";
        let root = parse(doc).unwrap_or_else(|e| panic!("{e:?}"));
        let Value::Map(top) = &root.value else {
            panic!("{root:?}")
        };
        let Value::Map(a) = &top[0].1.value else {
            panic!("{root:?}")
        };
        let texts: Vec<(&str, Option<&str>, Pos)> = a
            .iter()
            .map(|(k, v)| (k.name.as_str(), v.text(), k.at))
            .collect();
        assert_eq!(
            texts,
            [
                ("x", Some("1.0"), at(2, 3)),
                ("y", Some("yes"), at(3, 3)),
                ("z", Some("010"), at(4, 3)),
                ("q", Some("a\tb"), at(5, 3)),
                ("n", Some(""), at(6, 3)),
                ("l", None, at(7, 3)),
            ]
        );
        assert!(matches!(a[1].1.value, Value::Bool(true, _)));
        assert_eq!(a[5].1.at, at(7, 6));
    }

    #[test]
    fn aliases_expand_and_duplicates_are_errors() {
        let root = parse("a: &x {p: 1}\nb: *x\n").unwrap_or_else(|e| panic!("{e:?}"));
        let Value::Map(top) = &root.value else {
            panic!("{root:?}")
        };
        // The alias is the anchored mapping, its scalar's text read where defined.
        let Value::Map(b) = &top[1].1.value else {
            panic!("{root:?}")
        };
        assert_eq!(b[0].0.name, "p");
        assert_eq!(b[0].1.value, Value::Int(1, "1".into()));
        let e = parse("a: 1\na: 2\n").err();
        assert_eq!(e.map(|e| e.at.line), Some(2));
        assert!(parse("# nothing\n").is_ok_and(|n| n.value == Value::Null));
    }
}
