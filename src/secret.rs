//! `Secret`: a credential (merchant key, client secret, password, access token) that prints
//! as a fixed mask in `Debug` and `Display`, so a config or client can derive `Debug` and
//! still never show it. The value is read only through [`Secret::expose`].

use std::fmt;

/// What a secret prints as, whatever its value.
pub const MASK: &str = "<redacted>";

/// A credential whose value is shown only on request.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that must send or sign with it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_only_the_mask() {
        let s = Secret::from("hunter2-hunter2");
        assert_eq!(format!("{s:?}"), MASK);
        assert_eq!(s.to_string(), MASK);
        assert_eq!(format!("{:?}", Some(s.clone())), format!("Some({MASK})"));
        assert_eq!(s.expose(), "hunter2-hunter2");
    }
}
