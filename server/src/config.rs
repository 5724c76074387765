//! Runtime configuration, read from environment variables (documented in the README).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// PostgreSQL to use; `None` starts Bosun's own cluster under `data_dir`.
    pub database_url: Option<String>,
    /// Address to listen on (`BOSUN_ADDR`, default 127.0.0.1:3000).
    pub addr: SocketAddr,
    /// Where Bosun keeps its own files: embedded PostgreSQL, mail outbox (`BOSUN_DATA_DIR`).
    pub data_dir: PathBuf,
    /// The URL people reach Bosun at, for links in emails and the startup banner.
    pub public_url: String,
    /// Where the compiled site (wasm, js, css) lives (`LEPTOS_SITE_ROOT`, default target/site).
    pub site_root: String,
    /// Largest accepted request body, in bytes (`BOSUN_MAX_BODY_BYTES`, default 256 MiB).
    pub max_body_bytes: usize,
    /// Longest a request may take (`BOSUN_REQUEST_TIMEOUT_SECS`, default 120).
    pub request_timeout: Duration,
    /// An empty scan does not auto-close when the last complete scan of its scope had at
    /// least this many findings (`BOSUN_EMPTY_SCAN_GUARD`, default 5).
    pub empty_scan_guard: i64,
    /// How often background jobs run, such as re-opening expired risk acceptances
    /// (`BOSUN_JOBS_INTERVAL_SECS`, default 60).
    pub jobs_interval: Duration,
}

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds the config from any key lookup, so tests need not touch the process env.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let nonempty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let addr: SocketAddr = parse_or(&nonempty, "BOSUN_ADDR", "127.0.0.1:3000")?;
        let public_url = nonempty("BOSUN_PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError {
                var: "BOSUN_PUBLIC_URL",
                message: format!("'{public_url}' must start with http:// or https://"),
            });
        }
        Ok(Config {
            database_url: nonempty("DATABASE_URL"),
            addr,
            data_dir: PathBuf::from(nonempty("BOSUN_DATA_DIR").unwrap_or_else(|| ".bosun".into())),
            public_url,
            site_root: nonempty("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            max_body_bytes: parse_or(&nonempty, "BOSUN_MAX_BODY_BYTES", "268435456")?,
            request_timeout: Duration::from_secs(parse_or(
                &nonempty,
                "BOSUN_REQUEST_TIMEOUT_SECS",
                "120",
            )?),
            empty_scan_guard: parse_or(&nonempty, "BOSUN_EMPTY_SCAN_GUARD", "5")?,
            jobs_interval: Duration::from_secs(
                parse_or::<u64>(&nonempty, "BOSUN_JOBS_INTERVAL_SECS", "60")?.max(1),
            ),
        })
    }

    /// Session cookies get `Secure` when people reach Bosun over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

fn parse_or<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: &str,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    let raw = get(var).unwrap_or_else(|| default.to_string());
    raw.trim().parse().map_err(|e| ConfigError {
        var,
        message: format!("'{raw}' is not valid: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_serve_locally_with_embedded_postgres() {
        let c = config(&[]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.public_url, "http://127.0.0.1:3000");
        assert!(c.database_url.is_none());
        assert!(!c.secure_cookies());
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = config(&[("BOSUN_ADDR", "nowhere")]).unwrap_err();
        assert_eq!(err.var, "BOSUN_ADDR");
        let err = config(&[("BOSUN_PUBLIC_URL", "bosun.example")]).unwrap_err();
        assert_eq!(err.var, "BOSUN_PUBLIC_URL");
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        let c = config(&[("BOSUN_PUBLIC_URL", "https://bosun.example/")]).unwrap();
        assert!(c.secure_cookies());
        assert_eq!(c.public_url, "https://bosun.example");
    }
}
