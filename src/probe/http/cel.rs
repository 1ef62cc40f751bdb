//! `fail_if_body_json_matches_cel` / `fail_if_body_json_not_matches_cel`: CEL
//! expressions over the response body parsed as JSON, as Blackbox runs them.
//!
//! The expression sees one variable, `body`: the parsed JSON value. JSON numbers
//! are CEL doubles, as Go's `encoding/json` makes them for Blackbox (so
//! `body.count == 3` holds and `body.count + 1` is a type error in both). A body
//! that is not JSON, an expression that does not evaluate to a bool, or one that
//! fails to evaluate (e.g. a missing key) fails the probe.
//!
//! The body reader keeps at most [`body_cap`] bytes for these rules: the
//! module's `body_size_limit`, or [`DEFAULT_BODY_CAP`] when there is none; a
//! longer body fails the rule rather than growing memory without bound.
//! Parsing and evaluation are synchronous, so they run on the blocking pool:
//! the probe's deadline still ends the run on time.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use cel::objects::{Key, Map};
use cel::{Context, Program, Value};

use super::{series, HttpModule};
use crate::probe::{FailureReason, ProbeFailure, Recorder};

/// Bytes kept for CEL when the module reads without limit (`body_size_limit = 0`):
/// the default limit's 10 MiB.
pub(super) const DEFAULT_BODY_CAP: u64 = super::DEFAULT_BODY_SIZE_LIMIT;

/// One compiled CEL expression and its source text.
#[derive(Clone)]
pub struct CelRule {
    source: String,
    program: Arc<Program>,
}

impl fmt::Debug for CelRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CelRule").field(&self.source).finish()
    }
}

impl CelRule {
    /// Compiles `source`; the error is the parser's message.
    pub fn compile(source: &str) -> Result<CelRule, String> {
        // The parser is generated (ANTLR) code: should it ever panic on odd
        // input, that must be a config error, never a crashed reload.
        let compiled = std::panic::catch_unwind(|| Program::compile(source))
            .map_err(|_| "the CEL parser failed on this expression".to_string())?;
        let program = compiled.map_err(|e| match e.errors.first() {
            Some(first) => format!("at column {} of the expression: {}", first.pos.1, first.msg),
            None => e.to_string(),
        })?;
        Ok(CelRule {
            source: source.to_string(),
            program: Arc::new(program),
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// Whether the module has a CEL rule (the body must then be kept).
pub(super) fn configured(module: &HttpModule) -> bool {
    module.fail_if_body_json_matches_cel.is_some()
        || module.fail_if_body_json_not_matches_cel.is_some()
}

/// How many body bytes are kept for the rules.
pub(super) fn body_cap(module: &HttpModule) -> u64 {
    module.body_size_limit.unwrap_or(DEFAULT_BODY_CAP)
}

/// Registers `probe_failed_due_to_cel` at 0 when a rule is configured (Blackbox
/// registers it only then).
pub(super) fn register(module: &HttpModule, rec: &mut Recorder) {
    if configured(module) {
        rec.set(series::PROBE_FAILED_DUE_TO_CEL, 0.0);
    }
}

/// Runs the rules over the kept body (`None`: it was longer than the cap) and
/// sets `probe_failed_due_to_cel`.
pub(super) async fn check(
    body: Option<Vec<u8>>,
    module: &HttpModule,
    rec: &mut Recorder,
) -> Result<(), ProbeFailure> {
    let matches = module.fail_if_body_json_matches_cel.clone();
    let not_matches = module.fail_if_body_json_not_matches_cel.clone();
    let cap = body_cap(module);
    let result = match body {
        None => Err(format!(
            "body longer than the {cap} bytes kept for CEL rules (body_size_limit, default 10 MiB)"
        )),
        Some(body) => tokio::task::spawn_blocking(move || {
            evaluate(&body, matches.as_ref(), not_matches.as_ref())
        })
        .await
        .unwrap_or_else(|e| Err(format!("CEL evaluation aborted: {e}"))),
    };
    let failed = result.is_err();
    rec.set(
        series::PROBE_FAILED_DUE_TO_CEL,
        if failed { 1.0 } else { 0.0 },
    );
    result.map_err(|m| ProbeFailure::new(FailureReason::BodyCel, m))
}

/// Blackbox's `matchCELExpressions`: parse, then each rule in turn.
fn evaluate(
    body: &[u8],
    matches: Option<&CelRule>,
    not_matches: Option<&CelRule>,
) -> Result<(), String> {
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    let mut context = Context::default();
    context.add_variable_from_value("body", json_to_cel(json));
    if let Some(rule) = matches {
        if run(rule, &context)? {
            return Err(format!("body matched CEL expression {:?}", rule.source));
        }
    }
    if let Some(rule) = not_matches {
        if !run(rule, &context)? {
            return Err(format!(
                "body did not match CEL expression {:?}",
                rule.source
            ));
        }
    }
    Ok(())
}

fn run(rule: &CelRule, context: &Context<'_, '_>) -> Result<bool, String> {
    match rule.program.execute(context) {
        Ok(Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!(
            "CEL expression {:?} gave a {}, not a bool",
            rule.source,
            other.type_of()
        )),
        Err(e) => Err(format!("evaluating CEL expression {:?}: {e}", rule.source)),
    }
}

/// JSON as CEL values; numbers become doubles (see the module docs). serde_json
/// stops at 128 levels of nesting, which bounds this recursion.
fn json_to_cel(json: serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::String(Arc::new(s)),
        serde_json::Value::Array(items) => {
            Value::List(Arc::new(items.into_iter().map(json_to_cel).collect()))
        }
        serde_json::Value::Object(fields) => {
            let map: HashMap<Key, Value> = fields
                .into_iter()
                .map(|(k, v)| (Key::String(Arc::new(k)), json_to_cel(v)))
                .collect();
            Value::Map(Map { map: Arc::new(map) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(source: &str) -> CelRule {
        CelRule::compile(source).unwrap_or_else(|e| panic!("{source}: {e}"))
    }

    #[test]
    fn blackbox_cases() {
        let m = rule("body.foo.bar == 'baz'");
        assert!(evaluate(br#"{"foo":{"bar":"baz"}}"#, Some(&m), None).is_err());
        assert!(evaluate(br#"{"foo":{"bar":"qux"}}"#, Some(&m), None).is_ok());
        assert!(evaluate(b"not json", Some(&m), None).is_err());
        assert!(evaluate(b"", Some(&m), None).is_err());
        // A missing key is an evaluation error, and that fails.
        assert!(evaluate(br#"{"other":1}"#, Some(&m), None).is_err());
        let not = rule("body.foo.bar == 'baz'");
        assert!(evaluate(br#"{"foo":{"bar":"baz"}}"#, None, Some(&not)).is_ok());
        assert!(evaluate(br#"{"foo":{"bar":"qux"}}"#, None, Some(&not)).is_err());
        let non_bool = rule("body.foo");
        let e = evaluate(br#"{"foo":1}"#, Some(&non_bool), None);
        assert!(e.as_ref().is_err_and(|e| e.contains("not a bool")), "{e:?}");
    }

    #[test]
    fn numbers_are_doubles_as_in_go() {
        let r = rule("body.count == 3 && body.count > 2.5 && size(body.items) == 2");
        assert!(evaluate(br#"{"count":3,"items":[1,2]}"#, None, Some(&r)).is_ok());
        let add = rule("body.count + 1 == 4");
        assert!(evaluate(br#"{"count":3}"#, None, Some(&add)).is_err());
    }

    #[test]
    fn documented_example_rules() {
        let ok = rule("body.status == 'ok' && body.checks.all(c, c.healthy)");
        let maintenance = rule("has(body.maintenance) && body.maintenance");
        let healthy = br#"{"status":"ok","checks":[{"healthy":true}]}"#;
        assert!(evaluate(healthy, Some(&maintenance), Some(&ok)).is_ok());
        let sick = br#"{"status":"ok","checks":[{"healthy":false}]}"#;
        assert!(evaluate(sick, Some(&maintenance), Some(&ok)).is_err());
        let down = br#"{"status":"ok","checks":[],"maintenance":true}"#;
        assert!(evaluate(down, Some(&maintenance), Some(&ok)).is_err());
    }

    #[test]
    fn hostile_nesting_is_not_json() {
        let r = rule("true");
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = evaluate(deep.as_bytes(), None, Some(&r));
        assert!(e.as_ref().is_err_and(|e| e.contains("not JSON")), "{e:?}");
    }

    #[test]
    fn bad_expressions_do_not_compile() {
        for bad in ["body.foo ==", "(", "body.[1]"] {
            assert!(CelRule::compile(bad).is_err(), "{bad}");
        }
    }
}
