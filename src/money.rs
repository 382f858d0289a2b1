//! Money as integer paise: exact parsing from sheet text and spreadsheet numbers, and the
//! provider wire formats. No `f64` arithmetic ever touches an amount.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of Indian rupees in paise (1 rupee = 100 paise).
/// Serialised as the bare integer number of paise (journal, JSON).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Amount(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount is empty")]
    Empty,
    #[error(
        "'{0}' is not an amount in rupees (digits with an optional '.' and up to two decimals)"
    )]
    NotANumber(String),
    #[error(
        "'{0}' has more than two decimals; amounts are rupees with at most two decimals (paise)"
    )]
    TooPrecise(String),
    #[error("'{0}' is too large")]
    TooLarge(String),
}

/// Largest accepted amount: 10 crore rupees, far above any payout-link limit.
const MAX_PAISE: i64 = 10_000_000_000;

impl Amount {
    pub const fn from_paise(paise: i64) -> Self {
        Amount(paise)
    }

    pub const fn paise(self) -> i64 {
        self.0
    }

    /// Parses rupees written as decimal text: `1500`, `1,500.50`, `₹ 99.9`, `INR 10`.
    /// Thousands separators and a currency marker are allowed; signs, exponents and a third
    /// decimal are not.
    pub fn parse(text: &str) -> Result<Self, AmountError> {
        let mut t = text.trim();
        for prefix in ["₹", "INR", "Rs.", "Rs"] {
            if let Some(rest) = t.strip_prefix(prefix) {
                t = rest.trim_start();
                break;
            }
        }
        if t.is_empty() {
            return Err(if text.trim().is_empty() {
                AmountError::Empty
            } else {
                AmountError::NotANumber(text.trim().to_string())
            });
        }
        let bad = || AmountError::NotANumber(text.trim().to_string());
        let (int, frac) = match t.split_once('.') {
            Some((i, f)) => (i, f),
            None => (t, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        let digits: String = if int.contains(',') {
            // Thousands separators must sit between digit groups (Indian 1,00,000 or 100,000).
            // A first group of more than three digits ("1234,567") is not a grouping anyone
            // writes; accepting it would read a mistyped decimal as a thousandfold amount.
            let groups: Vec<&str> = int.split(',').collect();
            let ok = (1..=3).contains(&groups[0].len())
                && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()))
                && groups[1..].iter().all(|g| g.len() == 2 || g.len() == 3)
                && groups.last().is_some_and(|g| g.len() == 3);
            if !ok {
                return Err(bad());
            }
            groups.concat()
        } else {
            int.to_string()
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 2 {
            return Err(AmountError::TooPrecise(text.trim().to_string()));
        }
        let digits = digits.trim_start_matches('0');
        if digits.len() > 12 {
            return Err(AmountError::TooLarge(text.trim().to_string()));
        }
        let rupees: i64 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| bad())?
        };
        let paise: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        let total = rupees * 100 + paise;
        if total > MAX_PAISE {
            return Err(AmountError::TooLarge(text.trim().to_string()));
        }
        Ok(Amount(total))
    }

    /// Converts a spreadsheet number. Excel keeps 15 significant digits, so the value is
    /// first rounded to 15 significant digits (as Excel displays it), then must have at most
    /// two decimals: `10.299999999999999` is 10.30, `1000.0000000001` is rejected.
    pub fn from_spreadsheet_number(value: f64) -> Result<Self, AmountError> {
        if !value.is_finite() || value < 0.0 {
            return Err(AmountError::NotANumber(value.to_string()));
        }
        Self::parse(&excel_decimal(value))
    }

    /// Paytm's wire format: rupees as a string with two decimals (`"1500.50"`).
    pub fn to_rupees_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", self.0.abs() / 100, self.0.abs() % 100)
    }

    /// As an Indian finance team reads it: the rupee sign and lakh/crore grouping, the last
    /// three digits first, then pairs (`₹4,78,516.19`, `₹1,00,00,000.00`). For people only:
    /// JSON, CSV and XLSX keep plain numbers.
    pub fn to_indian(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let rupees = (self.0.unsigned_abs() / 100).to_string();
        let (head, last3) = rupees.split_at(rupees.len().saturating_sub(3));
        let mut grouped = String::new();
        for (i, digit) in head.chars().enumerate() {
            if i > 0 && (head.len() - i) % 2 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        if !head.is_empty() {
            grouped.push(',');
        }
        grouped.push_str(last3);
        format!("{sign}₹{grouped}.{:02}", self.0.unsigned_abs() % 100)
    }
}

/// The decimal text Excel shows for a number: 15 significant digits, trailing zeros trimmed.
/// Done on the decimal string from `{:e}` formatting, so no float arithmetic decides a digit.
pub fn excel_decimal(value: f64) -> String {
    if !value.is_finite() {
        // A damaged workbook can hold NaN or infinity; show it rather than panic below.
        return value.to_string();
    }
    if value == 0.0 {
        return "0".into();
    }
    // `{:.14e}` rounds to 15 significant digits correctly (round-half-even on the exact value).
    let sci = format!("{:.14e}", value.abs());
    let (mantissa, exp) = sci.split_once('e').expect("exponent in {:e} output");
    let exp: i32 = exp.parse().expect("integer exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let point = exp + 1; // position of the decimal point within `digits`
    let mut out = String::new();
    if value < 0.0 {
        out.push('-');
    }
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(digits);
    } else if point as usize >= digits.len() {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
    } else {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    }
    out
}

impl fmt::Display for Amount {
    /// Rupees with two decimals, no grouping: the form machines read ([`Amount::to_indian`]
    /// is for people).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rupees_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_people_read_parses_back_to_the_same_paise() {
        // An approver copies the total `validate` printed into `--expect-total`.
        for paise in [0, 5, 100, 99_900, 47_851_619, 1_000_000_000, MAX_PAISE] {
            let shown = Amount::from_paise(paise).to_indian();
            assert_eq!(
                Amount::parse(&shown),
                Ok(Amount::from_paise(paise)),
                "{shown}"
            );
        }
    }

    #[test]
    fn indian_grouping_puts_lakhs_and_crores_where_people_read_them() {
        let rupees = |r: i64| Amount::from_paise(r * 100).to_indian();
        assert_eq!(rupees(0), "₹0.00");
        assert_eq!(rupees(1), "₹1.00");
        assert_eq!(rupees(999), "₹999.00");
        assert_eq!(rupees(1_000), "₹1,000.00");
        assert_eq!(rupees(10_000), "₹10,000.00");
        assert_eq!(rupees(100_000), "₹1,00,000.00");
        assert_eq!(rupees(1_000_000), "₹10,00,000.00");
        assert_eq!(rupees(10_000_000), "₹1,00,00,000.00");
        assert_eq!(Amount::from_paise(47_851_619).to_indian(), "₹4,78,516.19");
        assert_eq!(Amount::from_paise(5).to_indian(), "₹0.05");
        assert_eq!(Amount::from_paise(-1_000_050).to_indian(), "-₹10,000.50");
        assert_eq!(
            Amount::from_paise(i64::MIN).to_indian(),
            "-₹92,23,37,20,36,85,47,758.08"
        );
    }

    fn p(s: &str) -> Result<i64, AmountError> {
        Amount::parse(s).map(Amount::paise)
    }

    #[test]
    fn parses_decimal_text_exactly() {
        assert_eq!(p("1"), Ok(100));
        assert_eq!(p("1.5"), Ok(150));
        assert_eq!(p("1.50"), Ok(150));
        assert_eq!(p("1.500"), Ok(150));
        assert_eq!(p(" 0.01 "), Ok(1));
        assert_eq!(p(".75"), Ok(75));
        assert_eq!(p("12,345.67"), Ok(1_234_567));
        assert_eq!(p("1,00,000"), Ok(10_000_000));
        assert_eq!(p("₹ 250"), Ok(25_000));
        assert_eq!(p("INR 99.99"), Ok(9_999));
        assert_eq!(p("0.1"), Ok(10));
    }

    #[test]
    fn rejects_what_is_not_exact_rupees() {
        assert!(matches!(p(""), Err(AmountError::Empty)));
        assert!(matches!(p("1.001"), Err(AmountError::TooPrecise(_))));
        assert!(matches!(p("-5"), Err(AmountError::NotANumber(_))));
        assert!(matches!(p("1e3"), Err(AmountError::NotANumber(_))));
        assert!(matches!(p("12,34"), Err(AmountError::NotANumber(_))));
        assert!(matches!(p("1234,567"), Err(AmountError::NotANumber(_))));
        assert!(matches!(p("1.2.3"), Err(AmountError::NotANumber(_))));
        assert!(matches!(p("."), Err(AmountError::NotANumber(_))));
        assert!(matches!(p("abc"), Err(AmountError::NotANumber(_))));
        assert!(matches!(p("99999999999999"), Err(AmountError::TooLarge(_))));
    }

    #[test]
    fn spreadsheet_numbers_round_to_excel_precision() {
        let f = |v: f64| Amount::from_spreadsheet_number(v).map(Amount::paise);
        assert_eq!(f(0.29 + 10.01), Ok(1030));
        assert_eq!(f(10.299999999999999), Ok(1030));
        assert_eq!(f(1500.0), Ok(150_000));
        assert_eq!(f(0.1 + 0.2), Ok(30));
        assert_eq!(f(1234567.89), Ok(123_456_789));
        assert!(matches!(
            f(1000.0000000001),
            Err(AmountError::TooPrecise(_))
        ));
        assert!(f(f64::NAN).is_err());
        assert!(f(-1.0).is_err());
    }

    #[test]
    fn excel_decimal_text() {
        assert_eq!(excel_decimal(7777777777.0), "7777777777");
        assert_eq!(excel_decimal(7.77777e9), "7777770000");
        assert_eq!(excel_decimal(0.05), "0.05");
        assert_eq!(excel_decimal(123.0), "123");
        assert_eq!(excel_decimal(f64::NAN), "NaN");
        assert_eq!(excel_decimal(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn wire_format() {
        assert_eq!(Amount::from_paise(100).to_rupees_string(), "1.00");
        assert_eq!(Amount::from_paise(150_050).to_rupees_string(), "1500.50");
        assert_eq!(Amount::from_paise(7).to_rupees_string(), "0.07");
    }
}
