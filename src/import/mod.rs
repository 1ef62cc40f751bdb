//! `outpost import-blackbox`: a Blackbox Exporter configuration translated into
//! outpost's TOML.
//!
//! ```text
//! blackbox.yml ─▶ yaml (nodes with line:col) ─▶ blackbox (one schema per block) ─┐
//! prometheus.yml + job ─▶ yaml ─▶ scrape ([[probes]] from static_configs) ───────┴▶ emit ─▶ TOML
//!                                                      the TOML ─▶ config::validate (as `outpost check`)
//! ```
//!
//! Every Blackbox option is either written in outpost's spelling or refused with a
//! message naming it and where it was written; nothing is dropped without a word
//! (an option whose value is Blackbox's default may be left out with a comment
//! saying so). The TOML is then validated as `outpost check` validates a file, and
//! whatever it objects to (a DNS type outpost lacks, TLS 1.1, a bad regex ...) is
//! reported at the YAML line it came from; only files that cannot be read are let
//! through, since they are read where the configuration will run.

mod blackbox;
mod emit;
mod scrape;
mod yaml;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::{Config, ConfigError};
use yaml::Pos;

/// One thing that keeps a configuration from being imported: where it is
/// written, the key path (outpost's, which is Blackbox's), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub file: PathBuf,
    /// 1-based; 0 when there is no position.
    pub line: usize,
    pub column: usize,
    /// e.g. `modules.http_2xx.http.tls_config.ca_ref`; empty for a syntax error.
    pub key: String,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The same shape as `outpost check`'s errors.
        let as_config = ConfigError {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            key: self.key.clone(),
            message: self.message.clone(),
            hint: self.hint.clone(),
            snippet: None,
        };
        as_config.fmt(f)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Every problem found, in the order found (one per line when shown).
    #[error("{}", lines(.0))]
    Refused(Vec<Refusal>),
}

fn lines(refusals: &[Refusal]) -> String {
    let lines: Vec<String> = refusals.iter().map(Refusal::to_string).collect();
    lines.join("\n")
}

/// `--scrape-config FILE --job NAME`: the Prometheus job whose static targets
/// become `[[probes]]`.
#[derive(Debug, Clone, Copy)]
pub struct ScrapeJob<'a> {
    pub file: &'a Path,
    pub job: &'a str,
}

/// Reads Blackbox's `blackbox_yml` (and the scrape config, if given) and returns
/// the equivalent outpost TOML.
pub fn import_blackbox(
    blackbox_yml: &Path,
    scrape: Option<ScrapeJob<'_>>,
) -> Result<String, ImportError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| ImportError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let text = read(blackbox_yml)?;
    let scrape_text = scrape.map(|s| read(s.file)).transpose()?;
    let scrape = scrape.zip(scrape_text.as_deref()).map(|(s, text)| Scrape {
        file: s.file,
        job: s.job,
        text,
    });
    translate(&text, blackbox_yml, scrape)
}

/// The scrape config's text, where it was read from, and the job to import.
#[derive(Debug, Clone, Copy)]
pub struct Scrape<'a> {
    pub file: &'a Path,
    pub job: &'a str,
    pub text: &'a str,
}

/// Translates the text of a Blackbox configuration read from `path`.
pub fn translate(
    text: &str,
    path: &Path,
    scrape: Option<Scrape<'_>>,
) -> Result<String, ImportError> {
    let mut walk = Walk::new(path);
    let root = parse(&mut walk, text)?;
    let modules = blackbox::modules(&mut walk, &root);
    let mut doc = emit::Document {
        header: blackbox::header(path, &modules, walk.relative_files),
        ..emit::Document::default()
    };
    if let Some(scrape) = scrape {
        walk.file = scrape.file.to_path_buf();
        let root = parse(&mut walk, scrape.text)?;
        (doc.probes_notes, doc.probes) = scrape::probes(&mut walk, &root, scrape.job, &modules);
    }
    doc.modules = modules.into_iter().map(|m| (m.name, m.table)).collect();
    if !walk.refusals.is_empty() {
        return Err(ImportError::Refused(walk.refusals));
    }
    let toml = doc.render();
    validate(&toml, path, &walk)?;
    Ok(toml)
}

fn parse(walk: &mut Walk, text: &str) -> Result<yaml::Node, ImportError> {
    yaml::parse(text).map_err(|e| {
        walk.refuse(e.at, "", e.message, None);
        ImportError::Refused(std::mem::take(&mut walk.refusals))
    })
}

/// What the walk over the YAML collects: refusals, and where each key of the
/// output came from (so that `outpost check`'s objections point at the YAML).
pub(crate) struct Walk {
    file: PathBuf,
    refusals: Vec<Refusal>,
    /// outpost key path (as `config::tree` writes it) → where it was written.
    origins: Vec<(String, PathBuf, Pos)>,
    /// Whether a relative file name was carried over.
    relative_files: bool,
}

impl Walk {
    fn new(file: &Path) -> Walk {
        Walk {
            file: file.to_path_buf(),
            refusals: Vec::new(),
            origins: Vec::new(),
            relative_files: false,
        }
    }

    pub(crate) fn refuse(
        &mut self,
        at: Pos,
        key: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) {
        self.refusals.push(Refusal {
            file: self.file.clone(),
            line: at.line,
            column: at.column,
            key: key.to_string(),
            message: message.into(),
            hint,
        });
    }

    pub(crate) fn origin(&mut self, path: &str, at: Pos) {
        self.origins.push((path.to_string(), self.file.clone(), at));
    }

    /// The YAML position of the longest recorded path that `key` is within.
    fn origin_of(&self, key: &str) -> Option<(&Path, Pos)> {
        self.origins
            .iter()
            .filter(|(path, _, _)| {
                key == path
                    || key
                        .strip_prefix(path.as_str())
                        .is_some_and(|rest| rest.starts_with(['.', '[']))
            })
            .max_by_key(|(path, _, _)| path.len())
            .map(|(_, file, at)| (file.as_path(), *at))
    }
}

/// Loads the TOML as `outpost check` would, beside the Blackbox file (where its
/// relative file names are most likely to resolve), and turns every objection
/// into a refusal at the YAML it came from. A file that cannot be read is not an
/// objection here: it is read on the machine that runs the configuration.
fn validate(toml: &str, blackbox: &Path, walk: &Walk) -> Result<(), ImportError> {
    let at = blackbox.with_file_name("outpost-import.toml");
    let Err(errors) = Config::from_str_at(toml, &at) else {
        return Ok(());
    };
    let refusals: Vec<Refusal> = errors
        .0
        .into_iter()
        .filter(|e| !about_the_machine(e))
        .map(|e| {
            let (file, pos) = walk
                .origin_of(&e.key)
                .map_or((blackbox, Pos::default()), |(f, p)| (f, p));
            Refusal {
                file: file.to_path_buf(),
                line: pos.line,
                column: pos.column,
                key: e.key,
                message: e.message,
                hint: e.hint,
            }
        })
        .collect();
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(ImportError::Refused(refusals))
    }
}

/// An error about the machine the import runs on rather than the configuration:
/// a file it names that is not here, or a proxy variable of this environment.
fn about_the_machine(e: &ConfigError) -> bool {
    let last = e.key.rsplit('.').next().unwrap_or_default();
    let last = last.split('[').next().unwrap_or_default();
    let file_key = last.ends_with("_file") || last == "files";
    (file_key && e.message.starts_with("cannot read ")) || last == "proxy_from_environment"
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod origin_tests {
    use super::*;

    #[test]
    fn origins_match_whole_segments_and_prefer_the_longest() {
        let mut walk = Walk::new(Path::new("b.yml"));
        let p = |line| Pos { line, column: 1 };
        walk.origin("modules.a", p(1));
        walk.origin("modules.a.http", p(2));
        walk.origin("modules.a.http.tls_config", p(3));
        walk.origin("probes[1]", p(4));
        let line = |key: &str| walk.origin_of(key).map(|(_, at)| at.line);
        assert_eq!(line("modules.a.http.tls_config.max_version"), Some(3));
        assert_eq!(line("modules.a.http.headers.X"), Some(2));
        assert_eq!(line("modules.ab"), None);
        assert_eq!(line("probes[1].labels.job"), Some(4));
        assert_eq!(line("probes[10]"), None);
    }
}
