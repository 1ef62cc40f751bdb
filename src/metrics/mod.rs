//! Metrics: names and help texts, the exposition writer, and the renderers that
//! turn stored state (probe reports, counters, daemon state) into families.

pub mod daemon;
pub mod encode;
mod layout;
pub mod names;
pub mod number;
pub mod process;
pub mod render;
mod report_view;
pub mod source;
mod warm;
