//! A `[[discover]]` target template: text with `{field}` holes filled from a
//! resource (`"https://{dns_name}/health"`); `{{` and `}}` stand for braces.

use std::fmt;

/// A parsed template: every field it names is one of its service's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(&'static str),
}

/// Why a template does not parse: where (byte offset in the template) and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
    pub hint: String,
}

impl Template {
    /// Parses `text`, whose holes may name only `fields`.
    pub fn parse(text: &str, fields: &[&'static str]) -> Result<Template, TemplateError> {
        let known = || format!("this service's fields: {}", fields.join(", "));
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text.char_indices().peekable();
        while let Some((at, c)) = rest.next() {
            match c {
                '{' if rest.peek().map(|(_, c)| *c) == Some('{') => {
                    rest.next();
                    literal.push('{');
                }
                '}' if rest.peek().map(|(_, c)| *c) == Some('}') => {
                    rest.next();
                    literal.push('}');
                }
                '}' => {
                    return Err(TemplateError {
                        offset: at,
                        message: "a `}` closes no field".into(),
                        hint: "write `}}` for a literal brace".into(),
                    })
                }
                '{' => {
                    let Some(len) = text[at + 1..].find('}') else {
                        return Err(TemplateError {
                            offset: at,
                            message: "a `{` is not closed".into(),
                            hint: format!(
                                "write {{field}}, or `{{{{` for a literal brace; {}",
                                known()
                            ),
                        });
                    };
                    let name = &text[at + 1..at + 1 + len];
                    let Some(field) = fields.iter().find(|f| **f == name) else {
                        let hint =
                            match crate::config::values::suggest(name, fields.iter().copied()) {
                                Some(close) => format!("did you mean {{{close}}}? {}", known()),
                                None => known(),
                            };
                        return Err(TemplateError {
                            offset: at,
                            message: format!("unknown field {{{name}}}"),
                            hint,
                        });
                    };
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Field(field));
                    // Skip the name and its closing brace.
                    for _ in 0..=name.chars().count() {
                        rest.next();
                    }
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// The template with each field's value; `None` if a value is missing.
    pub fn render<'a>(&self, value: impl Fn(&str) -> Option<&'a str>) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field(field) => out.push_str(value(field)?),
            }
        }
        Some(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(text) => f.write_str(&text.replace('{', "{{").replace('}', "}}"))?,
                Part::Field(field) => write!(f, "{{{field}}}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test data is known to be valid")]
mod tests {
    use super::*;

    const FIELDS: &[&str] = &["dns_name", "region", "port"];

    fn render(t: &Template) -> Option<String> {
        t.render(|f| match f {
            "dns_name" => Some("web-1.eu-west-1.elb.amazonaws.com"),
            "region" => Some("eu-west-1"),
            _ => None,
        })
    }

    #[test]
    fn fields_are_filled_and_braces_escaped() {
        let t = Template::parse("https://{dns_name}/health?r={region}&x={{1}}", FIELDS).unwrap();
        assert_eq!(
            render(&t).as_deref(),
            Some("https://web-1.eu-west-1.elb.amazonaws.com/health?r=eu-west-1&x={1}")
        );
        assert_eq!(
            t.to_string(),
            "https://{dns_name}/health?r={region}&x={{1}}"
        );
        // A field the resource lacks leaves the whole target undefined.
        let t = Template::parse("{dns_name}:{port}", FIELDS).unwrap();
        assert_eq!(render(&t), None);
    }

    #[test]
    fn mistakes_say_where_and_what() {
        let e = Template::parse("https://{dns_nam}/", FIELDS).unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (8, "unknown field {dns_nam}")
        );
        assert!(
            e.hint.starts_with("did you mean {dns_name}? "),
            "{}",
            e.hint
        );
        let e = Template::parse("{endpoint}", FIELDS).unwrap_err();
        assert_eq!(e.hint, "this service's fields: dns_name, region, port");
        let e = Template::parse("https://{dns_name/", FIELDS).unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (8, "a `{` is not closed"));
        let e = Template::parse("a}b", FIELDS).unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (1, "a `}` closes no field"));
        let e = Template::parse("{}", FIELDS).unwrap_err();
        assert_eq!(e.message, "unknown field {}");
    }
}
