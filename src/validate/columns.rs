//! Header mapping: the fields payrun reads (`Field`), the headers that name them (built-in
//! aliases and a config file's `ColumnMap`), and which column holds which field (`Columns`),
//! or why the headers cannot be used (`ColumnError`).

use crate::payout::ProviderKind;
use crate::sheet::shown_value;
use std::collections::HashMap;

/// A column the validator understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Name,
    Phone,
    Email,
    Amount,
    OrderId,
    Expiry,
    Notify,
    Comments,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::Name,
        Field::Phone,
        Field::Email,
        Field::Amount,
        Field::OrderId,
        Field::Expiry,
        Field::Notify,
        Field::Comments,
    ];

    /// The field's name in messages, also its canonical header.
    pub fn name(self) -> &'static str {
        self.aliases()[0]
    }

    /// The header a template writes, as the sample sheet spells it; one of the aliases.
    pub fn header(self) -> &'static str {
        match self {
            Field::Name => "Name",
            Field::Phone => "Phone",
            Field::Email => "Email",
            Field::Amount => "Amount (INR)",
            Field::OrderId => "Order ID",
            Field::Expiry => "Expiry Date",
            Field::Notify => "Notify",
            Field::Comments => "Comments",
        }
    }

    /// Accepted headers, compared after `normalise_header`.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Name => &["name", "beneficiary name", "beneficiaryname"],
            Field::Phone => &[
                "phone",
                "mobile",
                "mobile number",
                "phone number",
                "beneficiaryphoneno",
                "beneficiary phone",
                "mobile no",
                "mobile no.",
                "phone no",
                "phone no.",
            ],
            Field::Email => &["email", "e-mail", "beneficiary email", "beneficiaryemail"],
            Field::Amount => &["amount", "amount (inr)", "amount inr", "amount(inr)"],
            Field::OrderId => &["order id", "orderid", "reference", "reference id", "ref"],
            Field::Expiry => &["expiry", "expiry date", "expirydate"],
            Field::Notify => &["notify", "notify mode", "notifymode"],
            Field::Comments => &["comments", "comment", "description", "purpose", "remarks"],
        }
    }

    fn slot(self) -> usize {
        self as usize
    }

    /// The issue code for a control character in the field's cell.
    pub(super) fn control_code(self) -> &'static str {
        match self {
            Field::Name => "name.control_character",
            Field::Phone => "phone.control_character",
            Field::Email => "email.control_character",
            Field::Amount => "amount.control_character",
            Field::OrderId => "order_id.control_character",
            Field::Expiry => "expiry.control_character",
            Field::Notify => "notify.control_character",
            Field::Comments => "comments.control_character",
        }
    }

    fn from_header(header: &str) -> Option<Field> {
        let wanted = normalise_header(header);
        Field::ALL
            .into_iter()
            .find(|f| f.aliases().iter().any(|a| normalise_header(a) == wanted))
    }

    /// The field a config file's `[columns]` entry names: its canonical name, with `_` or
    /// spaces (`order_id`, `order id`).
    pub fn from_name(name: &str) -> Option<Field> {
        let wanted = normalise_header(name);
        Field::ALL
            .into_iter()
            .find(|f| normalise_header(f.name()) == wanted)
    }
}

/// Headers mapped to fields by the user (a config file's `[columns]` table), before the
/// built-in aliases.
pub type ColumnMap = Vec<(String, Field)>;

/// Header comparison ignores case, whitespace and underscores (`Order_ID` = `order id`).
fn normalise_header(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Which column holds which field.
#[derive(Debug, Clone)]
pub struct Columns {
    index: [Option<usize>; 8],
    headers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    #[error(
        "the sheet has no {field} column (its headers are: {}); add one or rename a header to \
         one of: {}. If the data is on another worksheet, choose it with --sheet",
        quoted_list(headers),
        accepted_headers(field)
    )]
    Missing {
        field: &'static str,
        headers: Vec<String>,
    },
    #[error(
        "columns '{}' and '{}' both hold the {field}; rename or delete one of them",
        shown_value(.first),
        shown_value(.second)
    )]
    Duplicate {
        field: &'static str,
        first: String,
        second: String,
    },
    #[error("columns {first} and {second} have the same header '{}'; rename one of them so the report can tell them apart", shown_value(.header))]
    SameHeader {
        header: String,
        first: usize,
        second: usize,
    },
}

fn quoted_list(items: &[String]) -> String {
    let shown: Vec<String> = items
        .iter()
        .filter(|h| !h.is_empty())
        .map(|h| format!("'{}'", shown_value(h)))
        .collect();
    if shown.is_empty() {
        "none".into()
    } else {
        shown.join(", ")
    }
}

fn accepted_headers(field: &str) -> String {
    Field::ALL
        .into_iter()
        .find(|f| f.name() == field)
        .map(|f| f.aliases().join(", "))
        .unwrap_or_default()
}

impl Columns {
    /// Maps headers to fields. Amount is required, and the phone (Paytm) or a phone or
    /// e-mail column (PayU); two headers for one field are an error because the validator
    /// could not know which one to pay from.
    pub fn from_headers(
        headers: &[String],
        provider: ProviderKind,
    ) -> Result<Columns, ColumnError> {
        Columns::mapped(headers, provider, &[])
    }

    /// As `from_headers`, with the user's own header names taking precedence.
    pub fn mapped(
        headers: &[String],
        provider: ProviderKind,
        map: &[(String, Field)],
    ) -> Result<Columns, ColumnError> {
        let mut index: [Option<usize>; 8] = [None; 8];
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, header) in headers.iter().enumerate() {
            let wanted = normalise_header(header);
            if !wanted.is_empty() {
                if let Some(first) = seen.insert(wanted.clone(), i) {
                    return Err(ColumnError::SameHeader {
                        header: header.clone(),
                        first: first + 1,
                        second: i + 1,
                    });
                }
            }
            let mapped = map
                .iter()
                .find(|(h, _)| normalise_header(h) == wanted)
                .map(|(_, f)| *f);
            let Some(field) = mapped.or_else(|| Field::from_header(header)) else {
                continue;
            };
            if let Some(first) = index[field.slot()] {
                return Err(ColumnError::Duplicate {
                    field: field.name(),
                    first: headers[first].clone(),
                    second: header.clone(),
                });
            }
            index[field.slot()] = Some(i);
        }
        let contact = match provider {
            ProviderKind::Paytm => Field::Phone,
            ProviderKind::Payu if index[Field::Email.slot()].is_some() => Field::Email,
            ProviderKind::Payu => Field::Phone,
        };
        for required in [contact, Field::Amount] {
            if index[required.slot()].is_none() {
                return Err(ColumnError::Missing {
                    field: required.name(),
                    headers: headers.to_vec(),
                });
            }
        }
        Ok(Columns {
            index,
            headers: headers.to_vec(),
        })
    }

    /// The header text of the field's column, as written in the file.
    pub fn header(&self, f: Field) -> Option<&str> {
        self.index(f)
            .and_then(|i| self.headers.get(i))
            .map(String::as_str)
    }

    /// The zero-based column index of the field.
    pub fn index(&self, f: Field) -> Option<usize> {
        self.index[f.slot()]
    }
}
