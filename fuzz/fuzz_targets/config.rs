//! `probes.toml` parsing and validation: `Config::from_str_at` on any UTF-8 text
//! (the `[[probes]]` splitter, the span-keeping TOML tree, every validation pass).
#![no_main]

use std::collections::HashSet;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use outpost::config::Config;

fuzz_target!(|text: &str| {
    match Config::from_str_at(text, Path::new("fuzz.toml")) {
        Ok(config) => {
            let mut names = HashSet::new();
            for probe in &config.probes {
                assert!(
                    config.module(&probe.module).is_some(),
                    "probe {:?} uses an unknown module {:?}",
                    probe.name,
                    probe.module
                );
                assert!(
                    names.insert(&probe.name),
                    "duplicate probe {:?}",
                    probe.name
                );
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "an error without errors");
            // Positions point into the text (or nowhere: line 0).
            let lines = text.split('\n').count();
            for e in &errors.0 {
                if e.file == Path::new("fuzz.toml") {
                    assert!(e.line <= lines, "line {} of {lines}: {e}", e.line);
                    assert!(e.line == 0 || e.column >= 1, "column 0: {e}");
                }
                assert!(!e.message.is_empty(), "an empty message: {e:?}");
            }
            let _ = errors.to_string();
        }
    }
});
