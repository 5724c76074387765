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
    /// `BOSUN_PUBLIC_URL` was set: state-changing requests must come from exactly that
    /// origin. Unset, the origin must match the request's own `Host`.
    pub public_url_explicit: bool,
    /// Proxies in front of Bosun (`BOSUN_TRUSTED_PROXIES`, comma-separated addresses or
    /// CIDR ranges; default none). Only from these is `X-Forwarded-For` believed, and an
    /// `X-Request-Id` kept.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Session lifetimes: idle (`BOSUN_SESSION_IDLE_MINUTES`, default 30) and absolute
    /// (`BOSUN_SESSION_MAX_HOURS`, default 12).
    pub session_idle: Duration,
    pub session_max: Duration,
    /// Reports received at once (`BOSUN_MAX_CONCURRENT_UPLOADS`, default 4); each may hold
    /// up to `max_body_bytes` in memory.
    pub max_concurrent_uploads: usize,
    /// How long an upload waits for a free slot before it is answered 429
    /// (`BOSUN_UPLOAD_WAIT_SECS`, default 10).
    pub upload_wait: Duration,
    /// Days after which a layer's last scan counts as stale on the coverage map
    /// (`BOSUN_COVERAGE_STALE_DAYS`, default 14).
    pub coverage_stale_days: i64,
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
        let trusted_proxies = nonempty("BOSUN_TRUSTED_PROXIES")
            .map(|list| parse_proxies(&list))
            .transpose()?
            .unwrap_or_default();
        let minutes = |n: u64| Duration::from_secs(n.max(1) * 60);
        Ok(Config {
            public_url_explicit: nonempty("BOSUN_PUBLIC_URL").is_some(),
            trusted_proxies,
            session_idle: minutes(parse_or(&nonempty, "BOSUN_SESSION_IDLE_MINUTES", "30")?),
            session_max: minutes(60 * parse_or::<u64>(&nonempty, "BOSUN_SESSION_MAX_HOURS", "12")?),
            max_concurrent_uploads: parse_or::<usize>(
                &nonempty,
                "BOSUN_MAX_CONCURRENT_UPLOADS",
                "4",
            )?
            .max(1),
            upload_wait: Duration::from_secs(parse_or(&nonempty, "BOSUN_UPLOAD_WAIT_SECS", "10")?),
            coverage_stale_days: parse_or::<u32>(&nonempty, "BOSUN_COVERAGE_STALE_DAYS", "14")?
                .max(1)
                .into(),
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

    /// Session cookies get `Secure` and the `__Host-` prefix when people reach Bosun over
    /// HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// What server functions need to know of sessions.
    pub fn session_policy(&self) -> app::server_context::SessionPolicy {
        app::server_context::SessionPolicy {
            secure: self.secure_cookies(),
            idle_secs: self.session_idle.as_secs() as i64,
            absolute_secs: self.session_max.as_secs() as i64,
        }
    }

    /// `scheme://host[:port]` of the public URL: what a browser sends as `Origin`.
    pub fn public_origin(&self) -> &str {
        let after_scheme = self.public_url.find("://").map_or(0, |i| i + 3);
        match self.public_url[after_scheme..].find('/') {
            Some(slash) => &self.public_url[..after_scheme + slash],
            None => &self.public_url,
        }
    }

    /// Whether a peer address is one of the trusted proxies.
    pub fn is_trusted_proxy(&self, ip: std::net::IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }
}

/// `10.0.0.0/8, 192.168.1.7` → networks; a bare address is a network of one.
fn parse_proxies(list: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError {
                    var: "BOSUN_TRUSTED_PROXIES",
                    message: format!("'{item}' is not an IP address or CIDR range"),
                })
        })
        .collect()
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
    fn trusted_proxies_are_addresses_or_ranges() {
        let c = config(&[("BOSUN_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7 ,::1")]).unwrap();
        assert!(c.is_trusted_proxy("10.1.2.3".parse().unwrap()));
        assert!(c.is_trusted_proxy("192.168.1.7".parse().unwrap()));
        assert!(c.is_trusted_proxy("::1".parse().unwrap()));
        assert!(!c.is_trusted_proxy("192.168.1.8".parse().unwrap()));
        assert!(
            !config(&[])
                .unwrap()
                .is_trusted_proxy("127.0.0.1".parse().unwrap())
        );
        let err = config(&[("BOSUN_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local")]).unwrap_err();
        assert_eq!(err.var, "BOSUN_TRUSTED_PROXIES");
        assert!(err.message.contains("proxy.local"));
    }

    #[test]
    fn sessions_default_to_thirty_minutes_idle_and_twelve_hours() {
        let policy = config(&[]).unwrap().session_policy();
        assert_eq!((policy.idle_secs, policy.absolute_secs), (1800, 43200));
        let policy = config(&[
            ("BOSUN_SESSION_IDLE_MINUTES", "5"),
            ("BOSUN_SESSION_MAX_HOURS", "1"),
        ])
        .unwrap()
        .session_policy();
        assert_eq!((policy.idle_secs, policy.absolute_secs), (300, 3600));
    }

    #[test]
    fn the_public_origin_is_scheme_host_and_port() {
        let c = config(&[("BOSUN_PUBLIC_URL", "https://bosun.example:8443/sub/")]).unwrap();
        assert_eq!(c.public_origin(), "https://bosun.example:8443");
        assert!(c.public_url_explicit);
        let c = config(&[]).unwrap();
        assert_eq!(c.public_origin(), "http://127.0.0.1:3000");
        assert!(!c.public_url_explicit);
    }

    #[test]
    fn coverage_goes_stale_after_fourteen_days_unless_configured() {
        assert_eq!(config(&[]).unwrap().coverage_stale_days, 14);
        let c = config(&[("BOSUN_COVERAGE_STALE_DAYS", "30")]).unwrap();
        assert_eq!(c.coverage_stale_days, 30);
        let err = config(&[("BOSUN_COVERAGE_STALE_DAYS", "soon")]).unwrap_err();
        assert_eq!(err.var, "BOSUN_COVERAGE_STALE_DAYS");
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        let c = config(&[("BOSUN_PUBLIC_URL", "https://bosun.example/")]).unwrap();
        assert!(c.secure_cookies());
        assert_eq!(c.session_policy().cookie_name(), "__Host-bosun_session");
        assert_eq!(c.public_url, "https://bosun.example");
    }
}
