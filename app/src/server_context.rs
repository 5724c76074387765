//! What server functions get from the server: the database pool, the session policy, and
//! who is calling (the client's address, as the server worked it out).

use leptos::prelude::*;
use sqlx::PgPool;

use crate::error::AppError;

#[derive(Clone, Debug)]
pub struct ServerContext {
    pub pool: PgPool,
    pub sessions: SessionPolicy,
    /// A layer whose last scan is older than this many days is flagged on the project
    /// page's coverage map (`BOSUN_COVERAGE_STALE_DAYS`).
    pub coverage_stale_days: i64,
}

/// How long sessions live and how their cookie is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Bosun is served over HTTPS: the cookie is `Secure` and named with the `__Host-`
    /// prefix, which browsers only accept from a secure origin, for the whole host.
    pub secure: bool,
    /// A session ends after this long without a request (seconds).
    pub idle_secs: i64,
    /// A session ends this long after sign-in, however busy (seconds).
    pub absolute_secs: i64,
}

impl SessionPolicy {
    /// ASVS defaults: 30 minutes idle, 12 hours in all.
    pub const DEFAULT_IDLE_SECS: i64 = 30 * 60;
    pub const DEFAULT_ABSOLUTE_SECS: i64 = 12 * 3600;

    pub fn new(secure: bool) -> SessionPolicy {
        SessionPolicy {
            secure,
            idle_secs: Self::DEFAULT_IDLE_SECS,
            absolute_secs: Self::DEFAULT_ABSOLUTE_SECS,
        }
    }

    pub fn cookie_name(&self) -> &'static str {
        if self.secure {
            "__Host-bosun_session"
        } else {
            "bosun_session"
        }
    }
}

/// The address of the person calling: the TCP peer, or the address a trusted proxy in
/// front of Bosun forwarded (`BOSUN_TRUSTED_PROXIES`). Set by the server on every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub std::net::IpAddr);

/// The server context, or an internal error when it was not provided (a wiring bug).
pub fn server_context() -> Result<ServerContext, AppError> {
    use_context::<ServerContext>().ok_or_else(|| AppError::internal("server context missing"))
}

/// The request being answered, as leptos hands it to server functions and pages.
pub fn request_parts() -> Option<http::request::Parts> {
    use_context::<http::request::Parts>()
}

/// The calling client's address, when the server knows it.
pub fn client_address() -> Option<std::net::IpAddr> {
    request_parts()?
        .extensions
        .get::<ClientAddress>()
        .map(|a| a.0)
}

/// The browser's `User-Agent`, bounded, for the list of a person's sessions.
pub fn user_agent() -> Option<String> {
    let parts = request_parts()?;
    let agent = parts.headers.get(http::header::USER_AGENT)?.to_str().ok()?;
    Some(
        agent
            .chars()
            .filter(|c| !c.is_control())
            .take(300)
            .collect(),
    )
}
