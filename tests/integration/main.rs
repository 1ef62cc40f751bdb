//! outpost's integration tests: one binary, one module per area, shared peers and
//! helpers under `support/`.

mod http_probe;
mod support;
mod tcp_probe;
