//! The one list of probers. Everything that varies by prober is derived from the
//! table at the bottom of this file: the kind names, the config dispatch, the
//! target check, the outcome labels, the metric families and the call to the
//! prober itself. Adding a prober is its module plus one line in that table; every
//! `match` below is generated from the table, so nothing can be left out of step.
//!
//! Each prober module exports the same items:
//! - `KIND: &str`: the `prober = "..."` value and the name of its settings block;
//! - `Settings`: its typed settings (what a validated module holds);
//! - `config::build(ctx, path, block) -> Option<Settings>`: its file model and checks;
//! - `Target` and `parse_target(&str) -> Result<Target, TargetError>`: one parser
//!   used both when a config is loaded and when a run starts;
//! - `OUTCOMES: &[FailureReason]`: the failure reasons it can produce;
//! - `FAMILIES: &[&[Family]]`: the series it emits (shared groups and its own);
//! - `probe(target, settings, ctx, recorder)`: one run.

use std::fmt;

use toml::de::DeValue;
use toml::Spanned;

use super::{FailureReason, ProbeContext, ProbeFailure, Recorder};
use crate::config::validate::Ctx;
use crate::metrics::names::Family;

/// Why a target is not acceptable to a prober: a sentence and a hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    pub message: String,
    pub hint: String,
}

impl TargetError {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        TargetError {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<TargetError> for ProbeFailure {
    fn from(e: TargetError) -> Self {
        ProbeFailure::new(FailureReason::InvalidTarget, e.message)
    }
}

impl Prober {
    /// The packet train a run sends (`packets` > 1), for the probers that have
    /// one; `None` for a single packet and for the others.
    pub fn packet_train(&self) -> Option<super::packets::PacketSettings> {
        match self {
            Prober::Icmp(m) => m.packets.is_train().then_some(m.packets),
            Prober::Tcp(m) => m.packets.is_train().then_some(m.packets),
            Prober::Http(_)
            | Prober::Unix(_)
            | Prober::Dns(_)
            | Prober::Grpc(_)
            | Prober::Mysql(_)
            | Prober::Postgres(_) => None,
        }
    }
}

/// Blackbox probers outpost does not implement yet: a module naming one is told
/// so, rather than "invalid prober", and their settings blocks are recognised.
pub const NOT_YET: &[&str] = &["websocket"];

macro_rules! probers {
    ($($variant:ident => $module:ident,)*) => {
        /// Which prober a module uses.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ProberKind {
            $($variant,)*
        }

        impl ProberKind {
            /// Every prober, in the table's order.
            pub const ALL: &'static [ProberKind] = &[$(ProberKind::$variant,)*];

            /// The `prober = "..."` value, also the name of the settings block.
            pub const fn name(self) -> &'static str {
                match self {
                    $(ProberKind::$variant => super::$module::KIND,)*
                }
            }

            /// What a target of this prober looks like, for help texts.
            pub const fn target_form(self) -> &'static str {
                match self {
                    $(ProberKind::$variant => super::$module::TARGET_FORM,)*
                }
            }

            /// The failure reasons this prober can produce.
            pub fn outcomes(self) -> &'static [FailureReason] {
                match self {
                    $(ProberKind::$variant => super::$module::OUTCOMES,)*
                }
            }

            /// The series this prober emits, in groups (shared ones and its own).
            pub fn families(self) -> &'static [&'static [Family]] {
                match self {
                    $(ProberKind::$variant => super::$module::FAMILIES,)*
                }
            }

            /// Whether `target` is one this prober accepts; the same parser runs
            /// when a probe starts.
            pub fn check_target(self, target: &str) -> Result<(), TargetError> {
                match self {
                    $(ProberKind::$variant => super::$module::parse_target(target).map(drop),)*
                }
            }

            /// Builds the settings block at `path` (absent means defaults).
            pub(crate) fn build(
                self,
                ctx: &mut Ctx<'_>,
                path: &str,
                block: Option<&Spanned<DeValue<'_>>>,
            ) -> Option<Prober> {
                match self {
                    $(ProberKind::$variant => super::$module::config::build(ctx, path, block)
                        .map(|s| Prober::$variant(s.into())),)*
                }
            }
        }

        /// A module's prober with its validated settings.
        #[derive(Debug, Clone)]
        pub enum Prober {
            $($variant(Box<super::$module::Settings>),)*
        }

        impl Prober {
            pub fn kind(&self) -> ProberKind {
                match self {
                    $(Prober::$variant(_) => ProberKind::$variant,)*
                }
            }

            /// One run of this prober against `target`.
            pub(crate) async fn probe(
                &self,
                target: &str,
                ctx: &ProbeContext,
                rec: &mut Recorder,
            ) -> Result<(), ProbeFailure> {
                match self {
                    $(Prober::$variant(settings) => {
                        super::$module::probe(target, settings, ctx, rec).await
                    })*
                }
            }
        }
    };
}

probers! {
    Http => http,
    Tcp => tcp,
    Unix => unix,
    Dns => dns,
    Grpc => grpc,
    Icmp => icmp,
    Mysql => mysql,
    Postgres => postgres,
}

impl ProberKind {
    /// The kind named `name`, if outpost implements it.
    pub fn from_name(name: &str) -> Option<ProberKind> {
        ProberKind::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// Every prober name, for "valid values" hints.
    pub fn names() -> Vec<&'static str> {
        ProberKind::ALL.iter().map(|k| k.name()).collect()
    }

    /// "a URL (http), host:port (tcp), ...": every prober's target form.
    pub fn target_forms() -> String {
        ProberKind::ALL
            .iter()
            .map(|k| format!("{} ({})", k.target_form(), k.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for ProberKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_not_listed_as_missing() {
        for kind in ProberKind::ALL {
            assert_eq!(ProberKind::from_name(kind.name()), Some(*kind));
            assert!(
                !NOT_YET.contains(&kind.name()),
                "{kind} is implemented: remove it from NOT_YET"
            );
        }
        assert_eq!(ProberKind::from_name("nope"), None);
    }

    #[test]
    fn every_prober_can_time_out_and_reject_its_target() {
        for kind in ProberKind::ALL {
            for reason in [FailureReason::Timeout, FailureReason::InvalidTarget] {
                assert!(kind.outcomes().contains(&reason), "{kind}: {reason}");
            }
        }
    }
}
