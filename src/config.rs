//! Provider settings from the environment or a TOML config file (`--config`), never from
//! flags. The file uses the environment variables' names as keys; the environment wins.
//! Secrets are held only here and in the provider client, and never printed.

mod template;
pub use template::template;

use crate::payout::ProviderKind;
use crate::provider::paytm::{PaytmConfig, STAGING_URL};
use crate::provider::payu::{self, Credentials, PayuConfig};
use crate::provider::ProviderConfig;
use crate::secret::Secret;
use crate::validate::{ColumnMap, Field};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const PAYTM_MID: &str = "PAYRUN_PAYTM_MID";
pub const PAYTM_MERCHANT_KEY: &str = "PAYRUN_PAYTM_MERCHANT_KEY";
pub const PAYTM_SUBWALLET_GUID: &str = "PAYRUN_PAYTM_SUBWALLET_GUID";
pub const PAYTM_BASE_URL: &str = "PAYRUN_PAYTM_BASE_URL";
pub const PAYU_CLIENT_ID: &str = "PAYRUN_PAYU_CLIENT_ID";
pub const PAYU_CLIENT_SECRET: &str = "PAYRUN_PAYU_CLIENT_SECRET";
pub const PAYU_USERNAME: &str = "PAYRUN_PAYU_USERNAME";
pub const PAYU_PASSWORD: &str = "PAYRUN_PAYU_PASSWORD";
pub const PAYU_MERCHANT_ID: &str = "PAYRUN_PAYU_MERCHANT_ID";
pub const PAYU_AUTH_URL: &str = "PAYRUN_PAYU_AUTH_URL";
pub const PAYU_BASE_URL: &str = "PAYRUN_PAYU_BASE_URL";
pub const PAYU_DISABLE_APPROVAL: &str = "PAYRUN_PAYU_DISABLE_APPROVAL";

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
    #[error("PayU needs {PAYU_CLIENT_SECRET}, or {PAYU_USERNAME} and {PAYU_PASSWORD}, besides {PAYU_CLIENT_ID}; set them in the environment or the file given with --config")]
    NoPayuLogin,
    #[error("{key} must be true or false")]
    NotABool { key: &'static str },
    #[error(
        "config file {path} holds secrets and other users may change it; run `chmod 600 {path}`"
    )]
    WritableByOthers { path: PathBuf },
    #[error("{key} is {url}: {why}; nothing was sent")]
    Insecure {
        key: &'static str,
        url: String,
        why: String,
    },
    #[error("config file {path}: [columns] maps '{header}' to no known field; use one of: name, phone, email, amount, order_id, expiry, notify, comments")]
    BadColumn { path: PathBuf, header: String },
}

/// Settings as key -> value, from the file (if any) overlaid by the environment, and the
/// file's `[columns]` table.
#[derive(Debug, Default)]
pub struct Settings {
    /// Every value is held as a `Secret`, so `Debug` shows the keys and no value; which keys
    /// are secrets to a person is [`SECRETS`]' business (`shown`).
    values: BTreeMap<String, Secret>,
    /// Sheet headers mapped to fields (`"Beneficiary Mobile" = "phone"`).
    pub columns: ColumnMap,
    /// The config file read, if any.
    file: Option<PathBuf>,
    /// The keys whose value came from the environment.
    from_env: std::collections::BTreeSet<String>,
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Env,
    File(PathBuf),
    /// Not set: the built-in default applies, if the setting has one.
    Default,
}

/// Settings whose values are never shown, only whether they are set.
const SECRETS: &[&str] = &[PAYTM_MERCHANT_KEY, PAYU_CLIENT_SECRET, PAYU_PASSWORD];

impl Settings {
    /// The file's settings (if any), overlaid by `PAYRUN_*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut settings = match file {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        for (key, value) in std::env::vars() {
            if key.starts_with("PAYRUN_") {
                settings.from_env.insert(key.clone());
                settings.values.insert(key, value.into());
            }
        }
        Ok(settings)
    }

    /// Whether `key` has a (non-blank) value.
    pub fn is_set(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Where the value of `key` came from.
    pub fn source(&self, key: &str) -> Source {
        if !self.is_set(key) {
            Source::Default
        } else if self.from_env.contains(key) {
            Source::Env
        } else {
            self.file.clone().map_or(Source::Default, Source::File)
        }
    }

    /// The value of `key` as it may be shown to a person: `set` for a secret.
    pub fn shown(&self, key: &str) -> Option<String> {
        let value = self.get(key)?;
        Some(if SECRETS.contains(&key) {
            "set".into()
        } else {
            value.trim().to_string()
        })
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
        let mut columns = ColumnMap::new();
        for (key, value) in table {
            match value {
                toml::Value::String(v) => {
                    values.insert(key, v.into());
                }
                toml::Value::Table(map) if key == "columns" => {
                    for (header, field) in map {
                        let field = field.as_str().and_then(Field::from_name).ok_or_else(|| {
                            ConfigError::BadColumn {
                                path: path.into(),
                                header: header.clone(),
                            }
                        })?;
                        columns.push((header, field));
                    }
                }
                _ => {
                    return Err(ConfigError::NotAString {
                        path: path.into(),
                        key,
                    })
                }
            }
        }
        if SECRETS.iter().any(|k| values.contains_key(*k)) {
            guarded(path)?;
        }
        Ok(Settings {
            values,
            columns,
            file: Some(path.into()),
            from_env: Default::default(),
        })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(Secret::expose)
            .filter(|v| !v.trim().is_empty())
    }

    fn require(&self, key: &'static str) -> Result<String, ConfigError> {
        self.get(key)
            .map(|v| v.trim().to_string())
            .ok_or(ConfigError::Missing { key })
    }

    /// The settings of `provider`'s account.
    pub fn provider(&self, provider: ProviderKind) -> Result<ProviderConfig, ConfigError> {
        Ok(match provider {
            ProviderKind::Paytm => ProviderConfig::Paytm(self.paytm()?),
            ProviderKind::Payu => ProviderConfig::Payu(self.payu()?),
        })
    }

    /// The URL setting `key`, or `default`, without a trailing slash.
    pub fn url(&self, key: &str, default: &str) -> String {
        self.get(key)
            .unwrap_or(default)
            .trim()
            .trim_end_matches('/')
            .to_string()
    }

    /// The URL `key` names (or `default`), refused unless credentials may travel to it.
    fn secure_url(&self, key: &'static str, default: &str) -> Result<String, ConfigError> {
        let url = self.url(key, default);
        match transport_safety(&url) {
            Ok(_) => Ok(url),
            Err(why) => Err(ConfigError::Insecure { key, url, why }),
        }
    }

    pub fn payu(&self) -> Result<PayuConfig, ConfigError> {
        let client_id = self.require(PAYU_CLIENT_ID)?;
        let credentials = match (
            self.get(PAYU_CLIENT_SECRET),
            self.get(PAYU_USERNAME),
            self.get(PAYU_PASSWORD),
        ) {
            (Some(secret), _, _) => Credentials::Client {
                client_id,
                client_secret: secret.trim().into(),
            },
            (None, Some(username), Some(password)) => Credentials::User {
                client_id,
                username: username.trim().to_string(),
                password: password.into(),
            },
            _ => return Err(ConfigError::NoPayuLogin),
        };
        let disable_approval = match self.get(PAYU_DISABLE_APPROVAL).map(str::trim) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ConfigError::NotABool {
                    key: PAYU_DISABLE_APPROVAL,
                })
            }
        };
        Ok(PayuConfig {
            credentials,
            merchant_id: self.require(PAYU_MERCHANT_ID)?,
            auth_url: self.secure_url(PAYU_AUTH_URL, payu::TEST_AUTH_URL)?,
            base_url: self.secure_url(PAYU_BASE_URL, payu::TEST_BASE_URL)?,
            timeout: REQUEST_TIMEOUT,
            disable_approval,
        })
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
            merchant_key: merchant_key.into(),
            subwallet_guid: self.require(PAYTM_SUBWALLET_GUID)?,
            base_url: self.secure_url(PAYTM_BASE_URL, STAGING_URL)?,
            timeout: REQUEST_TIMEOUT,
        })
    }
}

/// A file holding secrets must not be writable by others (refused) and should not be
/// readable by them (warned).
fn guarded(path: &Path) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o022 != 0 {
        return Err(ConfigError::WritableByOthers { path: path.into() });
    }
    if mode & 0o044 != 0 {
        tracing::warn!(
            "config file {} holds secrets and other users may read it; run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

/// Whether credentials may travel to `url`: https anywhere, http only to this machine (the
/// simulator). Says how, or why not.
pub fn transport_safety(url: &str) -> Result<&'static str, String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    match parsed.scheme() {
        "https" => Ok("https"),
        "http" if parsed.host_str().is_some_and(is_loopback) => Ok("http to a loopback host"),
        "http" => Err(
            "http to a host that is not loopback would send the credentials in clear text; use https"
                .into(),
        ),
        other => Err(format!("scheme {other} is neither https nor http")),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_file_with_secrets_that_others_may_change_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payrun.toml");
        std::fs::write(&path, "PAYRUN_PAYU_CLIENT_SECRET = \"s3cret\"\n").unwrap();
        for mode in [0o666, 0o620, 0o602] {
            chmod(&path, mode);
            let err = Settings::from_file(&path).unwrap_err().to_string();
            assert!(err.contains("chmod 600"), "{mode:o}: {err}");
            assert!(!err.contains("s3cret"));
        }
        for mode in [0o600, 0o644, 0o400] {
            chmod(&path, mode);
            assert!(Settings::from_file(&path).is_ok(), "{mode:o}");
        }
        // Without a secret in it, the file's mode is the owner's business.
        std::fs::write(&path, "PAYRUN_PAYTM_MID = \"M\"\n").unwrap();
        chmod(&path, 0o666);
        assert!(Settings::from_file(&path).is_ok());
    }

    #[test]
    fn file_keys_are_read_and_errors_never_show_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payrun.toml");
        std::fs::write(
            &path,
            "PAYRUN_PAYTM_MID = \"MID123\"\nPAYRUN_PAYTM_MERCHANT_KEY = \"short-secret\"\nPAYRUN_PAYTM_SUBWALLET_GUID = \"g\"\n",
        )
        .unwrap();
        chmod(&path, 0o600);
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
    fn payu_logs_in_with_a_secret_or_a_user_and_never_shows_them() {
        let mut s = Settings::default();
        let mut set = |k: &str, v: &str| {
            s.values.insert(k.into(), v.into());
        };
        set(PAYU_CLIENT_ID, "cid");
        set(PAYU_MERCHANT_ID, "42");
        set(PAYU_USERNAME, "ops@example.com");
        let mut s2 = Settings {
            values: s.values.clone(),
            ..Settings::default()
        };
        assert!(matches!(s.payu(), Err(ConfigError::NoPayuLogin)));
        s2.values.insert(PAYU_PASSWORD.into(), "pass-word-9".into());
        let user = s2.payu().unwrap();
        assert!(matches!(user.credentials, Credentials::User { .. }));
        assert_eq!(user.base_url, payu::TEST_BASE_URL);
        s2.values
            .insert(PAYU_CLIENT_SECRET.into(), "top-secret-1".into());
        s2.values
            .insert(PAYU_BASE_URL.into(), "http://127.0.0.1:9/".into());
        let client = s2.payu().unwrap();
        assert!(matches!(client.credentials, Credentials::Client { .. }));
        assert_eq!(client.base_url, "http://127.0.0.1:9");
        let shown = format!("{client:?} {user:?}");
        assert!(
            !shown.contains("top-secret-1") && !shown.contains("pass-word-9"),
            "{shown}"
        );
        s2.values.insert(PAYU_DISABLE_APPROVAL.into(), "yes".into());
        assert!(matches!(s2.payu(), Err(ConfigError::NotABool { .. })));
    }

    #[test]
    fn debug_shows_the_keys_and_no_value() {
        let mut s = Settings::default();
        s.values
            .insert(PAYU_CLIENT_SECRET.into(), "top-secret-1".into());
        s.values.insert(PAYTM_MID.into(), "MID123".into());
        let shown = format!("{s:?}");
        assert!(shown.contains(PAYU_CLIENT_SECRET), "{shown}");
        assert!(
            !shown.contains("top-secret-1") && !shown.contains("MID123"),
            "{shown}"
        );
    }

    #[test]
    fn a_columns_table_maps_headers_to_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payrun.toml");
        std::fs::write(
            &path,
            "PAYRUN_PAYTM_MID = \"M\"\n[columns]\n\"Beneficiary Mobile\" = \"phone\"\n\"Net Pay\" = \"amount\"\n",
        )
        .unwrap();
        let settings = Settings::from_file(&path).unwrap();
        assert_eq!(
            settings.columns,
            [
                ("Beneficiary Mobile".to_string(), Field::Phone),
                ("Net Pay".to_string(), Field::Amount)
            ]
        );
        std::fs::write(&path, "[columns]\n\"X\" = \"salary\"\n").unwrap();
        let err = Settings::from_file(&path).err().unwrap().to_string();
        assert!(err.contains("'X' to no known field"), "{err}");
    }

    #[test]
    fn each_setting_names_its_source_and_secrets_show_only_as_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payrun.toml");
        std::fs::write(
            &path,
            "PAYRUN_PAYTM_MID = \"MID123\"\nPAYRUN_PAYTM_MERCHANT_KEY = \"0123456789abcdef\"\n",
        )
        .unwrap();
        let mut s = Settings::from_file(&path).unwrap();
        s.values.insert(PAYTM_SUBWALLET_GUID.into(), "guid".into());
        s.from_env.insert(PAYTM_SUBWALLET_GUID.into());
        assert_eq!(s.source(PAYTM_MID), Source::File(path.clone()));
        assert_eq!(s.source(PAYTM_SUBWALLET_GUID), Source::Env);
        assert_eq!(s.source(PAYTM_BASE_URL), Source::Default);
        assert_eq!(s.shown(PAYTM_MID).as_deref(), Some("MID123"));
        assert_eq!(s.shown(PAYTM_MERCHANT_KEY).as_deref(), Some("set"));
        assert_eq!(s.shown(PAYTM_BASE_URL), None);
        assert!(!s.is_set(PAYTM_BASE_URL));
        assert_eq!(s.url(PAYTM_BASE_URL, STAGING_URL), STAGING_URL);
    }

    #[test]
    fn credentials_travel_only_over_https_or_to_this_machine() {
        for ok in [
            "https://dashboard.paytm.com",
            "http://127.0.0.1:8099",
            "http://127.8.9.10",
            "http://localhost:1",
            "http://[::1]:9",
        ] {
            assert!(transport_safety(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "ftp://x",
            "nonsense",
        ] {
            assert!(transport_safety(bad).is_err(), "{bad}");
        }
        let mut s = Settings::default();
        s.values.insert(PAYU_CLIENT_ID.into(), "c".into());
        s.values.insert(PAYU_CLIENT_SECRET.into(), "s".into());
        s.values.insert(PAYU_MERCHANT_ID.into(), "1".into());
        s.values
            .insert(PAYU_AUTH_URL.into(), "http://accounts.example".into());
        let err = s.payu().unwrap_err().to_string();
        assert!(
            err.contains(PAYU_AUTH_URL) && err.contains("https"),
            "{err}"
        );
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
