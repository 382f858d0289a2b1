//! The simulator's dialects: the plausible realities it can speak where the providers'
//! documentation is silent (`docs/PROVIDERS.md`), their names on the command line,
//! and parsing those names. What each dialect answers lives with its protocol (`paytm`,
//! `payu`); the ones that only preset the configuration are applied by
//! `SandboxConfig::with_dialect`.

use std::fmt;
use std::str::FromStr;

/// How the simulator answers where the providers' documentation is silent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Dialect {
    /// Paytm answers an unknown order id with a dedicated code (PL_030); every PayU path exists.
    #[default]
    Documented,
    /// Paytm answers an unknown order id `PL_057 Invalid request`.
    PaytmPl057,
    /// Paytm answers an unknown order id `PL_011 Invalid value of orderId`.
    PaytmPl011,
    /// Paytm answers an unknown order id with an HTML 404 page.
    Paytm404,
    /// Paytm answers an unknown order id `SUCCESS` with an empty `result`.
    PaytmEmpty,
    /// Paytm answers an unknown order id with a code nobody has seen (`PL_1299`).
    PaytmUnknownCode,
    /// PayU's host does not serve Smart Send Details (HTTP 404).
    PayuNoDetails,
    /// PayU's host does not serve the v2 status by linkId (HTTP 404).
    PayuNoV2Status,
    /// PayU's host does not serve Get Account Details (HTTP 404).
    PayuNoAccountDetail,
    /// The first N lookups of each new link answer "not found" (both providers).
    DetailsLag(u32),
    /// The provider has no duplicate check on order ids: a repeated create makes another link.
    NoDuplicateCheck,
}

const LAG_PREFIX: &str = "details-lag-";

/// The dialects whose name is fixed, with that name.
const FIXED: [(Dialect, &str); 10] = [
    (Dialect::Documented, "documented"),
    (Dialect::PaytmPl057, "paytm-pl057"),
    (Dialect::PaytmPl011, "paytm-pl011"),
    (Dialect::Paytm404, "paytm-404"),
    (Dialect::PaytmEmpty, "paytm-empty"),
    (Dialect::PaytmUnknownCode, "paytm-unknown-code"),
    (Dialect::PayuNoDetails, "payu-no-details"),
    (Dialect::PayuNoV2Status, "payu-no-v2-status"),
    (Dialect::PayuNoAccountDetail, "payu-no-account-detail"),
    (Dialect::NoDuplicateCheck, "no-duplicate-check"),
];

impl Dialect {
    /// One of each (DetailsLag(3) for the lagging one), for tests that cover every dialect.
    pub fn all() -> Vec<Dialect> {
        let mut all: Vec<Dialect> = FIXED.iter().map(|(d, _)| *d).collect();
        all.insert(all.len() - 1, Dialect::DetailsLag(3));
        all
    }

    /// The name `--dialect` takes, e.g. `paytm-404` or `details-lag-3`.
    pub fn name(&self) -> String {
        match self {
            Dialect::DetailsLag(n) => format!("{LAG_PREFIX}{n}"),
            fixed => FIXED
                .iter()
                .find(|(d, _)| d == fixed)
                .map_or_else(String::new, |(_, name)| (*name).to_string()),
        }
    }
}

/// Every name, with `details-lag-N` for the lagging family, for help and error texts.
fn listing() -> String {
    let mut names: Vec<String> = FIXED.iter().map(|(_, n)| (*n).to_string()).collect();
    names.insert(names.len() - 1, format!("{LAG_PREFIX}N"));
    names.join(", ")
}

/// A `--dialect` value that names no dialect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{given}' is not a simulator dialect; the dialects are: {}",
    listing()
)]
pub struct UnknownDialect {
    given: String,
}

impl FromStr for Dialect {
    type Err = UnknownDialect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        if let Some((dialect, _)) = FIXED.iter().find(|(_, n)| *n == name) {
            return Ok(*dialect);
        }
        name.strip_prefix(LAG_PREFIX)
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse().ok())
            .map(Dialect::DetailsLag)
            .ok_or_else(|| UnknownDialect { given: s.into() })
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str_and_display() {
        for dialect in Dialect::all() {
            assert_eq!(dialect.name().parse::<Dialect>(), Ok(dialect), "{dialect}");
            assert_eq!(dialect.to_string(), dialect.name());
        }
        assert_eq!("details-lag-0".parse(), Ok(Dialect::DetailsLag(0)));
        assert_eq!(" paytm-404 ".parse(), Ok(Dialect::Paytm404));
        assert_eq!(Dialect::default().name(), "documented");
    }

    /// Exhaustive, so a new variant does not compile until it has a place here.
    fn ordinal(d: Dialect) -> usize {
        match d {
            Dialect::Documented => 0,
            Dialect::PaytmPl057 => 1,
            Dialect::PaytmPl011 => 2,
            Dialect::Paytm404 => 3,
            Dialect::PaytmEmpty => 4,
            Dialect::PaytmUnknownCode => 5,
            Dialect::PayuNoDetails => 6,
            Dialect::PayuNoV2Status => 7,
            Dialect::PayuNoAccountDetail => 8,
            Dialect::DetailsLag(_) => 9,
            Dialect::NoDuplicateCheck => 10,
        }
    }

    #[test]
    fn all_covers_every_variant_once() {
        let mut ordinals: Vec<usize> = Dialect::all().into_iter().map(ordinal).collect();
        ordinals.sort_unstable();
        assert_eq!(ordinals, (0..11).collect::<Vec<_>>());
        assert!(Dialect::all().contains(&Dialect::DetailsLag(3)));
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_list() {
        for bad in [
            "",
            "paytm",
            "details-lag-",
            "details-lag-x",
            "details-lag--1",
        ] {
            let err = bad.parse::<Dialect>().unwrap_err().to_string();
            for name in ["documented", "paytm-unknown-code", "details-lag-N"] {
                assert!(err.contains(name), "{err}");
            }
            assert!(err.contains("no-duplicate-check"), "{err}");
        }
    }
}
