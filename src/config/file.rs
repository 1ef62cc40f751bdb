//! The serde mirror of `probes.toml`, with source spans. (To be written.)
