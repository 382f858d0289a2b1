//! payrun: payout sheets in, payout links out, with a journal that makes every run resumable.
//!
//! `sheet` reads cells -> `validate` turns a row into a `payout::PayoutRow` or issues, and
//! `intake` streams a whole sheet through it into the `journal` -> `engine` creates and polls
//! links through a `provider` -> `report` writes what happened. `template` writes a blank sheet to
//! fill; `sandbox` simulates the providers; `commands` is the edge that wires it together for `main`. The module map, the
//! row states and the invariants: docs/ARCHITECTURE.md; what payrun relies on from each
//! provider: docs/PROVIDERS.md.

pub mod cli;
pub mod commands;
pub mod config;
pub mod crashpoint;
pub mod engine;
pub mod intake;
pub mod ist;
pub mod journal;
pub mod money;
pub mod pacer;
pub mod payout;
pub mod progress;
pub mod provider;
pub mod redact;
pub mod report;
pub mod sandbox;
pub mod secret;
pub mod sheet;
pub mod staged;
pub mod template;
pub mod validate;
