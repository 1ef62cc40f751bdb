//! `--web.config.file`: exporter-toolkit's web config YAML through
//! `config::web_file::parse` (serde-saphyr, outpost's line:col mapping of its
//! locations, the TLS and basic auth checks).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use outpost::config::web_file;

fuzz_target!(|text: &str| {
    if let Err(errors) = web_file::parse(text, Path::new("web.yml")) {
        assert!(!errors.0.is_empty(), "an error without errors");
        let lines = text.split('\n').count();
        for e in &errors.0 {
            if e.file == Path::new("web.yml") {
                assert!(e.line <= lines, "line {} of {lines}: {e}", e.line);
            }
        }
        let _ = errors.to_string();
    }
});
