//! Validation: header mapping (`Columns`) and per-row checks (`Validator`) that turn a
//! `RawRow` of typed cells into a `PayoutRow`, or into every `RowIssue` the row has.
//!
//! Owns the meaning of columns and the provider's field rules. Rules that differ between
//! providers live in `Policy`; the field parsers take it as a parameter, so adding a provider
//! means adding a `Policy` arm, not new checks.
//!
//! Every issue names the row (as Excel shows it), the column (as the file spells it), the value
//! and what to do. A row's issues are all collected; checking stops at nothing.
//!
//! `columns` maps headers to fields, `rules` checks rows, `fields` parses each field's cell.

mod columns;
mod fields;
mod rules;
#[cfg(test)]
mod tests;

pub use columns::{ColumnError, ColumnMap, Columns, Field};
pub use fields::MAX_ORDER_ID;
pub(crate) use fields::NOTIFY_MODES;
pub(crate) use rules::Policy;
pub use rules::{RowIssue, Rules, Validator};
