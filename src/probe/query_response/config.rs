//! `query_response = [...]` in a tcp or unix block: its file model and checks.

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde::Deserialize;
use toml::de::DeValue;
use toml::Spanned;

use super::QueryStep;
use crate::config::tree::{self, decode};
use crate::config::validate::Ctx;
use crate::config::values::{self, is_label_name};

/// One step as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct QueryStepFile {
    pub expect: Option<Spanned<String>>,
    pub expect_bytes: Option<Spanned<String>>,
    pub send: Option<Spanned<String>>,
    pub starttls: Option<Spanned<bool>>,
    pub labels: Option<Vec<Spanned<LabelFile>>>,
}

/// One `labels` item of a step.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub struct LabelFile {
    pub name: Spanned<String>,
    pub value: Spanned<String>,
}

/// Builds the steps of the array at `path`, each decoded on its own so that one
/// bad step does not hide another. `tls` says whether the connection is TLS from
/// the first byte, in which case a `starttls` step is an error.
pub(crate) fn build(
    ctx: &mut Ctx<'_>,
    path: &str,
    value: Option<&Spanned<DeValue<'_>>>,
    tls: bool,
) -> Vec<QueryStep> {
    let Some(value) = value else {
        return Vec::new();
    };
    let Some(items) = value.get_ref().as_array() else {
        ctx.error_hint(
            value.span(),
            path,
            "must be an array of steps",
            "write query_response = [{ expect = \"^220 \" }, { send = \"QUIT\" }]",
        );
        return Vec::new();
    };
    let mut steps = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = tree::index(path, i);
        if let Some(file) = decode::<QueryStepFile>(ctx, item, &at) {
            steps.push(build_step(ctx, &at, item.span(), &file, tls));
        }
    }
    steps
}

fn build_step(
    ctx: &mut Ctx<'_>,
    path: &str,
    span: std::ops::Range<usize>,
    file: &QueryStepFile,
    tls: bool,
) -> QueryStep {
    let at = |key: &str| tree::key(path, key);
    if let (Some(_), Some(bytes)) = (&file.expect, &file.expect_bytes) {
        ctx.error_hint(
            bytes.span(),
            &at("expect_bytes"),
            "expect and expect_bytes are mutually exclusive",
            "use one step for each",
        );
    }
    let starttls = file.starttls.as_ref().is_some_and(|s| *s.get_ref());
    if let (true, Some(s)) = (tls && starttls, &file.starttls) {
        ctx.error_hint(
            s.span(),
            &at("starttls"),
            "starttls on a connection that is TLS from the first byte",
            "set tls = false to upgrade with starttls, or remove starttls",
        );
    }
    let empty =
        file.expect.is_none() && file.expect_bytes.is_none() && file.send.is_none() && !starttls;
    if empty {
        ctx.error_hint(
            span.clone(),
            path,
            "the step does nothing",
            "give it expect, expect_bytes, send or starttls = true",
        );
    }
    let expect = file
        .expect
        .as_ref()
        .and_then(|re| values::bytes_regex(ctx, &at("expect"), re));
    let labels = match &file.labels {
        Some(labels) if file.expect.is_none() => {
            ctx.error_hint(
                labels.first().map_or(span, Spanned::span),
                &at("labels"),
                "labels need an expect regex to take their values from",
                "add expect to this step, or remove labels",
            );
            Vec::new()
        }
        Some(labels) => build_labels(ctx, &at("labels"), labels),
        None => Vec::new(),
    };
    QueryStep {
        expect,
        expect_bytes: file
            .expect_bytes
            .as_ref()
            .map(|b| b.get_ref().as_bytes().to_vec()),
        send: file.send.as_ref().map(|s| s.get_ref().clone()),
        starttls,
        labels,
    }
}

fn build_labels(
    ctx: &mut Ctx<'_>,
    path: &str,
    labels: &[Spanned<LabelFile>],
) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let l = label.get_ref();
        let name = l.name.get_ref();
        let at = tree::key(&tree::index(path, i), "name");
        if !is_label_name(name) || name.starts_with("__") {
            ctx.error_hint(
                l.name.span(),
                &at,
                format!("invalid label name {name:?}"),
                "label names match [a-zA-Z_][a-zA-Z0-9_]* and do not start with __",
            );
        } else if out.iter().any(|(n, _)| n == name) {
            ctx.error(l.name.span(), &at, format!("duplicate label name {name:?}"));
        } else {
            out.push((intern(name), l.value.get_ref().clone()));
        }
    }
    out
}

/// A label name as `&'static str`, as every sample's label names are. Each
/// distinct name is kept once for the life of the process, so reloads of the same
/// configuration cost nothing more.
fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_names_are_shared() {
        let a = intern("ssh_version");
        let b = intern(&String::from("ssh_version"));
        assert!(std::ptr::eq(a, b));
        assert_eq!(a, "ssh_version");
    }
}
