//! payrun: payout sheets in, payout links out, with a journal that makes every run resumable.
//!
//! Data flow (DESIGN.md): `sheet` reads cells -> `validate` turns them into `payout::PayoutRow`s
//! or issues -> `journal` stores the batch -> `engine` creates and polls links through a
//! `provider` -> `report` writes what happened. `sandbox` simulates the providers;
//! `commands` is the edge that wires it together for `main`.

pub mod cli;
pub mod commands;
pub mod config;
pub mod crashpoint;
pub mod engine;
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
pub mod validate;
