//! Signing in and out, server-side sessions, and the current user.
//!
//! The session cookie carries an opaque random token; the database stores only its
//! SHA-256, with an idle and an absolute expiry. Every server function that reads or
//! changes data calls [`require_user`] first.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::layout::Brand;

pub const SESSION_COOKIE: &str = "bosun_session";

/// The signed-in person, as pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub is_admin: bool,
}

/// Who is signed in, if anyone.
#[server(endpoint = "whoami")]
pub async fn whoami() -> Result<Option<CurrentUser>, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    Ok(sessions::current_user(&ctx.pool).await?)
}

/// Signs in with email and password; on success sets the session cookie and redirects.
#[server(endpoint = "login")]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<(), ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    // One message for unknown email and wrong password: no user enumeration.
    let response = expect_context::<leptos_axum::ResponseOptions>();
    let keys = throttle::keys(&email).await;
    if let Some(minutes) = throttle::blocked(&ctx.pool, &keys).await? {
        response.set_status(http::StatusCode::TOO_MANY_REQUESTS);
        return Err(ServerFnError::new(format!(
            "Too many failed sign-ins. Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        )));
    }
    let Some(user_id) = password::check_credentials(&ctx.pool, &email, &password).await? else {
        throttle::record_failure(&ctx.pool, &keys).await?;
        response.set_status(http::StatusCode::UNAUTHORIZED);
        return Err(ServerFnError::new("Email or password is incorrect."));
    };
    throttle::clear(&ctx.pool, &keys).await?;
    let token = sessions::create(&ctx.pool, user_id).await?;
    sessions::send_cookie(&token, ctx.secure_cookies);
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// Ends the current session everywhere it is stored and clears the cookie.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    if let Some(token) = sessions::token_from_request() {
        sessions::delete(&ctx.pool, &token).await?;
    }
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.append_header(
        http::header::SET_COOKIE,
        sessions::cookie_header("", ctx.secure_cookies, 0)
            .parse()
            .expect("cookie header is ASCII"),
    );
    leptos_axum::redirect("/login");
    Ok(())
}

/// Only local paths are followed after sign-in, so a crafted link cannot send people away.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_string(),
        _ => "/findings".to_string(),
    }
}

/// The signed-in user, or a 401 "sign in required" error for the server function.
#[cfg(feature = "ssr")]
pub async fn require_user() -> Result<CurrentUser, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    match sessions::current_user(&ctx.pool).await? {
        Some(user) => Ok(user),
        None => {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(http::StatusCode::UNAUTHORIZED);
            }
            Err(ServerFnError::new("Sign in required."))
        }
    }
}

#[cfg(feature = "ssr")]
pub mod throttle {
    //! Sign-in throttling: at most [`PER_ACCOUNT`] failures per email typed and
    //! [`PER_ADDRESS`] per client address within [`WINDOW_MINUTES`]; past that, sign-in is
    //! refused (429) until the oldest failure leaves the window. Keyed by the email text,
    //! not the account, so it says nothing about which emails exist.

    use sqlx::PgPool;

    pub const WINDOW_MINUTES: i64 = 15;
    pub const PER_ACCOUNT: i64 = 5;
    /// Generous: many people may share one address (an office, a proxy).
    pub const PER_ADDRESS: i64 = 50;

    pub struct Keys {
        email: String,
        address: Option<String>,
    }

    /// The throttle keys of this sign-in: the email typed and the client's address.
    pub async fn keys(email: &str) -> Keys {
        let address = leptos_axum::extract::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .await
            .ok()
            .map(|info| format!("ip:{}", info.0.ip()));
        Keys {
            email: format!("email:{}", email.trim().to_lowercase()),
            address,
        }
    }

    /// Minutes until sign-in is allowed again, when it is blocked now.
    pub async fn blocked(pool: &PgPool, keys: &Keys) -> Result<Option<i64>, sqlx::Error> {
        let rows: Vec<(i64, Option<f64>)> = sqlx::query_as(
            "SELECT count(*), extract(epoch FROM min(at) + make_interval(mins => $3) - now())::float8
               FROM login_failures
              WHERE key = $1 AND at > now() - make_interval(mins => $3)
             UNION ALL
             SELECT count(*), extract(epoch FROM min(at) + make_interval(mins => $3) - now())::float8
               FROM login_failures
              WHERE key = $2 AND at > now() - make_interval(mins => $3)",
        )
        .bind(&keys.email)
        .bind(keys.address.as_deref().unwrap_or(""))
        .bind(WINDOW_MINUTES as i32)
        .fetch_all(pool)
        .await?;
        let limits = [PER_ACCOUNT, PER_ADDRESS];
        Ok(rows
            .iter()
            .zip(limits)
            .filter(|((count, _), limit)| count >= limit)
            .filter_map(|((_, left), _)| *left)
            .map(|secs| (secs / 60.0).ceil().max(1.0) as i64)
            .max())
    }

    pub async fn record_failure(pool: &PgPool, keys: &Keys) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO login_failures (key) SELECT unnest($1::text[])")
            .bind(
                std::iter::once(keys.email.clone())
                    .chain(keys.address.clone())
                    .collect::<Vec<_>>(),
            )
            .execute(pool)
            .await?;
        Ok(())
    }

    /// A successful sign-in forgets the account's failures (not the address's).
    pub async fn clear(pool: &PgPool, keys: &Keys) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(&keys.email)
            .execute(pool)
            .await?;
        Ok(())
    }
}

#[cfg(feature = "ssr")]
pub mod password {
    //! argon2id with the OWASP-recommended parameters (19 MiB, 2 passes, 1 lane), which are
    //! the `argon2` crate's defaults.

    use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
    use argon2::{Argon2, password_hash::rand_core::OsRng};
    use sqlx::PgPool;
    use std::sync::LazyLock;

    pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
        let salt = SaltString::generate(&mut OsRng);
        Ok(Argon2::default()
            .hash_password(password.as_bytes(), &salt)?
            .to_string())
    }

    pub fn verify(password: &str, stored: &str) -> bool {
        PasswordHash::new(stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    }

    /// A hash of nothing anyone knows: verified against when the email is unknown, so a
    /// wrong email takes as long as a wrong password.
    static DUMMY_HASH: LazyLock<String> =
        LazyLock::new(|| hash("bosun-timing-equaliser").expect("argon2 hashes"));

    /// The user id when the email exists and the password matches.
    pub async fn check_credentials(
        pool: &PgPool,
        email: &str,
        password: &str,
    ) -> Result<Option<i64>, sqlx::Error> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT id, password_hash FROM users WHERE email = lower($1)")
                .bind(email.trim())
                .fetch_optional(pool)
                .await?;
        let password = password.to_string();
        let (user_id, stored) = match row {
            Some((id, stored)) => (Some(id), stored),
            None => (None, DUMMY_HASH.clone()),
        };
        // argon2 is CPU-heavy: keep it off the async workers.
        let ok = tokio::task::spawn_blocking(move || verify(&password, &stored))
            .await
            .unwrap_or(false);
        Ok(if ok { user_id } else { None })
    }
}

#[cfg(feature = "ssr")]
pub mod sessions {
    use super::{CurrentUser, SESSION_COOKIE};
    use leptos::prelude::use_context;
    use rand::RngCore;
    use sha2::{Digest, Sha256};
    use sqlx::PgPool;

    /// A session ends 7 days after sign-in, or after 12 hours without use.
    pub const ABSOLUTE_TTL_SECS: i64 = 7 * 24 * 3600;
    pub const IDLE_TTL_SECS: i64 = 12 * 3600;

    pub fn new_token() -> String {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        hex::encode(bytes)
    }

    pub fn hash_token(token: &str) -> Vec<u8> {
        Sha256::digest(token.as_bytes()).to_vec()
    }

    /// Starts a session for `user_id`; returns the token for the cookie. Takes a pool or a
    /// transaction, so an account change and its new session can commit together.
    pub async fn create<'e>(
        db: impl sqlx::PgExecutor<'e>,
        user_id: i64,
    ) -> Result<String, sqlx::Error> {
        let token = new_token();
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, expires_at)
             VALUES ($1, $2, now() + make_interval(secs => $3))",
        )
        .bind(hash_token(&token))
        .bind(user_id)
        .bind(ABSOLUTE_TTL_SECS as f64)
        .execute(db)
        .await?;
        Ok(token)
    }

    /// Ends every session of a person (signs them out everywhere); returns how many ended.
    pub async fn end_all<'e>(
        db: impl sqlx::PgExecutor<'e>,
        user_id: i64,
    ) -> Result<u64, sqlx::Error> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(db)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn delete(pool: &PgPool, token: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(hash_token(token))
            .execute(pool)
            .await?;
        Ok(())
    }

    /// The user behind a session token, refreshing its idle timer; `None` when the
    /// token is unknown or expired.
    pub async fn user_for_token(
        pool: &PgPool,
        token: &str,
    ) -> Result<Option<CurrentUser>, sqlx::Error> {
        let row: Option<(i64, String, String, bool)> = sqlx::query_as(
            "WITH s AS (
                UPDATE sessions SET last_seen_at = now()
                 WHERE token_hash = $1
                   AND expires_at > now()
                   AND last_seen_at > now() - make_interval(secs => $2)
                RETURNING user_id)
             SELECT u.id, u.email, u.display_name, u.is_admin FROM users u JOIN s ON s.user_id = u.id",
        )
        .bind(hash_token(token))
        .bind(IDLE_TTL_SECS as f64)
        .fetch_optional(pool)
        .await?;
        Ok(row.map(|(id, email, display_name, is_admin)| CurrentUser {
            id,
            email,
            display_name,
            is_admin,
        }))
    }

    /// The session token from the current request's cookies.
    pub fn token_from_request() -> Option<String> {
        let parts = use_context::<http::request::Parts>()?;
        token_from_headers(&parts.headers)
    }

    pub fn token_from_headers(headers: &http::HeaderMap) -> Option<String> {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == SESSION_COOKIE)
            .map(|(_, value)| value.to_string())
            .filter(|v| !v.is_empty())
    }

    pub async fn current_user(pool: &PgPool) -> Result<Option<CurrentUser>, sqlx::Error> {
        match token_from_request() {
            Some(token) => user_for_token(pool, &token).await,
            None => Ok(None),
        }
    }

    /// Sets the session cookie for a new session on this server function's response.
    pub fn send_cookie(token: &str, secure: bool) {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.append_header(
                http::header::SET_COOKIE,
                cookie_header(token, secure, ABSOLUTE_TTL_SECS)
                    .parse()
                    .expect("cookie header is ASCII"),
            );
        }
    }

    pub fn cookie_header(token: &str, secure: bool, max_age: i64) -> String {
        format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
            if secure { "; Secure" } else { "" }
        )
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = move || {
        login
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| crate::layout::message(&e))
    };
    view! {
        <main class="login">
            <Brand/>
            <h1>"Sign in"</h1>
            <ActionForm action=login attr:class="login-form">
                <input type="hidden" name="next" prop:value=next/>
                <label>"Email" <input type="email" name="email" autocomplete="username" required/></label>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                <button type="submit" disabled=move || login.pending().get()>"Sign in"</button>
                <Show when=move || error().is_some()>
                    <p class="error" role="alert">{error}</p>
                </Show>
            </ActionForm>
        </main>
    }
}
