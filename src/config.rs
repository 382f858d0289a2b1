//! Provider settings from the environment or a TOML config file (`--config`), never from
//! flags. The file uses the environment variables' names as keys; the environment wins.
//! Secrets are held only here and in the provider client, and never printed.

use crate::provider::paytm::{PaytmConfig, STAGING_URL};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const PAYTM_MID: &str = "PAYRUN_PAYTM_MID";
pub const PAYTM_MERCHANT_KEY: &str = "PAYRUN_PAYTM_MERCHANT_KEY";
pub const PAYTM_SUBWALLET_GUID: &str = "PAYRUN_PAYTM_SUBWALLET_GUID";
pub const PAYTM_BASE_URL: &str = "PAYRUN_PAYTM_BASE_URL";

/// Request timeout for every provider call.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: key {key} must be a string")]
    NotAString { path: PathBuf, key: String },
    #[error(
        "{key} is not set; set the environment variable or put it in the file given with --config"
    )]
    Missing { key: &'static str },
    #[error("{key} must be exactly 16 characters (Paytm merchant keys are); check the value you copied from the dashboard")]
    BadMerchantKey { key: &'static str },
}

/// Settings as key -> value, from the file (if any) overlaid by the environment.
#[derive(Default)]
pub struct Settings {
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("keys", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Settings {
    /// The file's settings (if any), overlaid by `PAYRUN_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut settings = match file {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        for (key, value) in std::env::vars() {
            if key.starts_with("PAYRUN_") {
                settings.values.insert(key, value);
            }
        }
        Ok(settings)
    }

    fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                path: path.into(),
                message: e.message().to_string(),
            })?;
        let mut values = BTreeMap::new();
        for (key, value) in table {
            let toml::Value::String(v) = value else {
                return Err(ConfigError::NotAString {
                    path: path.into(),
                    key,
                });
            };
            values.insert(key, v);
        }
        Ok(Settings { values })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    fn require(&self, key: &'static str) -> Result<String, ConfigError> {
        self.get(key)
            .map(|v| v.trim().to_string())
            .ok_or(ConfigError::Missing { key })
    }

    pub fn paytm(&self) -> Result<PaytmConfig, ConfigError> {
        let merchant_key = self.require(PAYTM_MERCHANT_KEY)?;
        if merchant_key.len() != 16 {
            return Err(ConfigError::BadMerchantKey {
                key: PAYTM_MERCHANT_KEY,
            });
        }
        Ok(PaytmConfig {
            mid: self.require(PAYTM_MID)?,
            merchant_key,
            subwallet_guid: self.require(PAYTM_SUBWALLET_GUID)?,
            base_url: self
                .get(PAYTM_BASE_URL)
                .unwrap_or(STAGING_URL)
                .trim_end_matches('/')
                .to_string(),
            timeout: REQUEST_TIMEOUT,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_keys_are_read_and_errors_never_show_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payrun.toml");
        std::fs::write(
            &path,
            "PAYRUN_PAYTM_MID = \"MID123\"\nPAYRUN_PAYTM_MERCHANT_KEY = \"short-secret\"\nPAYRUN_PAYTM_SUBWALLET_GUID = \"g\"\n",
        )
        .unwrap();
        let mut settings = Settings::from_file(&path).unwrap();
        let err = settings.paytm().unwrap_err().to_string();
        assert!(err.contains(PAYTM_MERCHANT_KEY));
        assert!(!err.contains("short-secret"));
        settings
            .values
            .insert(PAYTM_MERCHANT_KEY.into(), "0123456789abcdef".into());
        let cfg = settings.paytm().unwrap();
        assert_eq!(cfg.mid, "MID123");
        assert_eq!(cfg.base_url, STAGING_URL);
        assert!(!format!("{cfg:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn missing_and_malformed() {
        let s = Settings::default();
        assert!(matches!(s.paytm(), Err(ConfigError::Missing { .. })));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, "PAYRUN_PAYTM_MID = 5\n").unwrap();
        assert!(matches!(
            Settings::from_file(&path),
            Err(ConfigError::NotAString { .. })
        ));
        std::fs::write(&path, "not toml [").unwrap();
        assert!(matches!(
            Settings::from_file(&path),
            Err(ConfigError::Parse { .. })
        ));
    }
}
