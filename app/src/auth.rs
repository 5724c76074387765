//! Signing in and out, server-side sessions, and the current user.
//!
//! The session cookie carries an opaque random token; the database stores only its
//! SHA-256, with an idle and an absolute expiry ([`crate::server_context::SessionPolicy`]).
//! Every server function that reads or changes data calls [`require_user`] first.
//! Sign-ins, failed sign-ins and lockouts are logged as `bosun::security` events (never a
//! password, a token or the email typed).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::layout::Brand;
use crate::ui::{Field, SubmitButton, Tone};

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
pub async fn whoami() -> Result<Option<CurrentUser>, AppError> {
    let ctx = crate::server_context::server_context()?;
    Ok(sessions::current_user(&ctx).await?)
}

/// Signs in with email and password; on success ends this browser's previous session,
/// sets a new session cookie and redirects to `next` (a local path) or the findings.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::server_context::client_address;

    let ctx = crate::server_context::server_context()?;
    let Ok(email) = crate::domain::EmailAddress::parse(&email) else {
        return Err(AppError::invalid_field(
            "email",
            "Enter your email address (at most 254 characters).",
        ));
    };
    if password.chars().count() > crate::domain::PASSWORD_MAX_CHARS {
        // bounds the hashing work; no password is that long
        return Err(AppError::invalid_field(
            "password",
            "Email or password is incorrect.",
        ));
    }
    let address = client_address();
    let account = password::account(&ctx.pool, &email).await?;
    let keys = throttle::Keys::new(account.as_ref().map(|a| a.0), &email, address);
    let attempt = match throttle::begin(&ctx.pool, &keys).await? {
        throttle::Attempt::Blocked { minutes } => {
            tracing::warn!(target: "bosun::security", event = "sign_in_locked_out",
                user_id = ?account.as_ref().map(|a| a.0), address = ?address);
            return Err(AppError::too_many_requests(format!(
                "Too many failed sign-ins. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            )));
        }
        throttle::Attempt::Go(attempt) => attempt,
    };
    // One message for unknown email and wrong password: no user enumeration.
    let Some(user_id) = password::check(account, password).await? else {
        tracing::warn!(target: "bosun::security", event = "sign_in_failed",
            address = ?address);
        return Err(AppError::new(
            crate::error::ErrorKind::Unauthenticated,
            "Email or password is incorrect.",
        ));
    };
    throttle::succeeded(&ctx.pool, &keys, &attempt).await?;
    // a browser holds one session: signing in again ends the one it had
    if let Some(previous) = sessions::token_from_request(&ctx.sessions) {
        sessions::delete(&ctx.pool, &previous).await?;
    }
    let token = sessions::create(&ctx.pool, &ctx.sessions, user_id).await?;
    sessions::send_cookie(&ctx.sessions, &token);
    tracing::info!(target: "bosun::security", event = "signed_in", user_id, address = ?address);
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// Ends the current session everywhere it is stored and clears the cookie.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let ctx = crate::server_context::server_context()?;
    if let Some(token) = sessions::token_from_request(&ctx.sessions) {
        sessions::delete(&ctx.pool, &token).await?;
    }
    sessions::clear_cookie(&ctx.sessions);
    leptos_axum::redirect("/login");
    Ok(())
}

/// Where to go after signing in: `next` when it is a path on this site, else the findings.
///
/// Only one leading `/` followed by printable ASCII without `\` is followed: browsers drop
/// tabs and newlines from URLs and read `\` as `/`, so `/\t/evil.example` or `/\evil`
/// would otherwise become `//evil.example`, another site.
pub fn safe_next(next: Option<&str>) -> String {
    const DEFAULT: &str = "/findings";
    let Some(path) = next else {
        return DEFAULT.to_string();
    };
    let local = path.starts_with('/')
        && !path[1..].starts_with('/')
        && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    if local {
        path.to_string()
    } else {
        DEFAULT.to_string()
    }
}

/// The signed-in user, or a 401 "sign in required" error for the server function.
#[cfg(feature = "ssr")]
pub async fn require_user() -> Result<CurrentUser, AppError> {
    let ctx = crate::server_context::server_context()?;
    match sessions::current_user(&ctx).await? {
        Some(user) => Ok(user),
        None => Err(AppError::unauthenticated()),
    }
}

#[cfg(feature = "ssr")]
pub mod throttle {
    //! Sign-in throttling: at most [`PER_ACCOUNT`] failed attempts per account and
    //! [`PER_ADDRESS`] per client address within [`WINDOW_MINUTES`]; past that, sign-in is
    //! refused (429) until the oldest failure leaves the window.
    //!
    //! Atomic: an attempt is counted and recorded *before* the password is checked, one
    //! attempt per key at a time, so of any number of parallel guesses exactly the limit
    //! reach the check. A refused attempt leaves no record (it never reached the check); a
    //! successful one removes the account's failures and its own address record. The account key is the account's id when the email names one, so
    //! spellings of an email that reach the same account share one counter; an email
    //! without an account is counted by its normalised text, which answers alike.

    use sqlx::PgPool;

    pub const WINDOW_MINUTES: i64 = 15;
    pub const PER_ACCOUNT: i64 = 5;
    /// Generous: many people may share one address (an office, a proxy).
    pub const PER_ADDRESS: i64 = 50;

    pub struct Keys {
        account: String,
        address: Option<String>,
    }

    impl Keys {
        /// `email` must be normalised ([`crate::domain::EmailAddress`]).
        pub fn new(user_id: Option<i64>, email: &str, address: Option<std::net::IpAddr>) -> Keys {
            Keys {
                account: match user_id {
                    Some(id) => format!("user:{id}"),
                    None => format!("email:{email}"),
                },
                address: address.map(|ip| format!("ip:{ip}")),
            }
        }

        fn all(&self) -> Vec<String> {
            std::iter::once(self.account.clone())
                .chain(self.address.clone())
                .collect()
        }
    }

    /// A recorded attempt allowed to check the password.
    pub struct Recorded {
        ids: Vec<i64>,
    }

    pub enum Attempt {
        Go(Recorded),
        /// Refused; sign-in is possible again in this many minutes.
        Blocked {
            minutes: i64,
        },
    }

    /// Records an attempt and decides whether it may go on to the password check.
    ///
    /// Per key, attempts are decided one at a time (a transaction-scoped advisory lock on
    /// each key, taken in a fixed order): the count and the record of this attempt commit
    /// together, so the limit's worth of attempts go on and every later one is refused,
    /// however many arrive at once.
    pub async fn begin(pool: &PgPool, keys: &Keys) -> Result<Attempt, sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query!(
            "SELECT pg_advisory_xact_lock(h)
               FROM (SELECT hashtextextended(k, 0) AS h FROM unnest($1::text[]) k ORDER BY 1) locks",
            &keys.all(),
        )
        .execute(&mut *tx)
        .await?;
        let counts: Vec<(String, i64, f64)> = sqlx::query!(
            r#"SELECT key, count(*) AS "count!",
                      extract(epoch FROM min(at) + make_interval(mins => $2) - now())::float8
                        AS "left!"
                 FROM login_attempts
                WHERE key = ANY($1) AND at > now() - make_interval(mins => $2)
                GROUP BY key"#,
            &keys.all(),
            WINDOW_MINUTES as i32,
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|r| (r.key, r.count, r.left))
        .collect();
        let blocked = counts
            .iter()
            .filter(|(key, count, _)| {
                let limit = if *key == keys.account {
                    PER_ACCOUNT
                } else {
                    PER_ADDRESS
                };
                *count >= limit
            })
            .map(|(_, _, left)| (left / 60.0).ceil().max(1.0) as i64)
            .max();
        if let Some(minutes) = blocked {
            tx.rollback().await?;
            return Ok(Attempt::Blocked { minutes });
        }
        let ids: Vec<i64> = sqlx::query_scalar!(
            "INSERT INTO login_attempts (key) SELECT unnest($1::text[]) RETURNING id",
            &keys.all(),
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Attempt::Go(Recorded { ids }))
    }

    /// The password was right: forget the account's failures and this attempt's address
    /// record (an office's successful sign-ins do not count against it).
    pub async fn succeeded(
        pool: &PgPool,
        keys: &Keys,
        attempt: &Recorded,
    ) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "DELETE FROM login_attempts WHERE key = $1 OR id = ANY($2)",
            &keys.account,
            &attempt.ids,
        )
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

    /// The account (id, password hash) of a normalised email, if there is one.
    pub async fn account(pool: &PgPool, email: &str) -> Result<Option<(i64, String)>, sqlx::Error> {
        Ok(sqlx::query!(
            "SELECT id, password_hash FROM users WHERE email = $1",
            email
        )
        .fetch_optional(pool)
        .await?
        .map(|r| (r.id, r.password_hash)))
    }

    /// The account's id when `password` is its password. Takes as long for no account.
    pub async fn check(
        account: Option<(i64, String)>,
        password: String,
    ) -> Result<Option<i64>, tokio::task::JoinError> {
        let (user_id, stored) = match account {
            Some((id, stored)) => (Some(id), stored),
            None => (None, DUMMY_HASH.clone()),
        };
        // argon2 is CPU-heavy: keep it off the async workers.
        let ok = tokio::task::spawn_blocking(move || verify(&password, &stored)).await?;
        Ok(if ok { user_id } else { None })
    }
}

#[cfg(feature = "ssr")]
pub mod sessions {
    //! Sessions: created at sign-in, ended by sign-out, a password change, "sign out
    //! everywhere else", or their idle or absolute expiry.

    use super::CurrentUser;
    use crate::server_context::{ServerContext, SessionPolicy};
    use rand::RngCore;
    use sha2::{Digest, Sha256};
    use sqlx::PgPool;

    pub fn new_token() -> String {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        hex::encode(bytes)
    }

    pub fn hash_token(token: &str) -> Vec<u8> {
        Sha256::digest(token.as_bytes()).to_vec()
    }

    /// Starts a session for `user_id` from the current request (its browser and address
    /// are kept for the person's list of sessions); returns the token for the cookie.
    /// Takes a pool or a transaction, so an account change and its new session can commit
    /// together.
    pub async fn create<'e>(
        db: impl sqlx::PgExecutor<'e>,
        policy: &SessionPolicy,
        user_id: i64,
    ) -> Result<String, sqlx::Error> {
        let token = new_token();
        sqlx::query!(
            "INSERT INTO sessions (token_hash, user_id, expires_at, user_agent, client_address)
             VALUES ($1, $2, now() + make_interval(secs => $3), $4, $5)",
            hash_token(&token),
            user_id,
            policy.absolute_secs as f64,
            crate::server_context::user_agent(),
            crate::server_context::client_address().map(|ip| ip.to_string()),
        )
        .execute(db)
        .await?;
        Ok(token)
    }

    /// Ends every session of a person (signs them out everywhere); returns how many ended.
    pub async fn end_all<'e>(
        db: impl sqlx::PgExecutor<'e>,
        user_id: i64,
    ) -> Result<u64, sqlx::Error> {
        let done = sqlx::query!("DELETE FROM sessions WHERE user_id = $1", user_id)
            .execute(db)
            .await?;
        Ok(done.rows_affected())
    }

    pub async fn delete(pool: &PgPool, token: &str) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "DELETE FROM sessions WHERE token_hash = $1",
            hash_token(token)
        )
        .execute(pool)
        .await?;
        Ok(())
    }

    /// How stale a session's last-seen time may get before a request writes it again: the
    /// idle timer is kept to the minute, and a busy person's requests do not each rewrite
    /// (and lock) the session row.
    pub const TOUCH_EVERY_SECS: i64 = 60;

    /// The user behind a session token, refreshing its idle timer (at most once every
    /// [`TOUCH_EVERY_SECS`]); `None` when the token is unknown or expired.
    pub async fn user_for_token(
        pool: &PgPool,
        policy: &SessionPolicy,
        token: &str,
    ) -> Result<Option<CurrentUser>, sqlx::Error> {
        let row = sqlx::query!(
            "WITH s AS (
                SELECT id, user_id, last_seen_at FROM sessions
                 WHERE token_hash = $1
                   AND expires_at > now()
                   AND last_seen_at > now() - make_interval(secs => $2)
             ), touched AS (
                UPDATE sessions SET last_seen_at = now()
                  FROM s
                 WHERE sessions.id = s.id AND s.last_seen_at <= now() - make_interval(secs => $3)
             )
             SELECT u.id, u.email, u.display_name, u.is_admin FROM users u JOIN s ON s.user_id = u.id",
            hash_token(token),
            policy.idle_secs as f64,
            TOUCH_EVERY_SECS as f64,
        )
        .fetch_optional(pool)
        .await?;
        Ok(row.map(|r| CurrentUser {
            id: r.id,
            email: r.email,
            display_name: r.display_name,
            is_admin: r.is_admin,
        }))
    }

    /// The session token from the current request's cookies.
    pub fn token_from_request(policy: &SessionPolicy) -> Option<String> {
        let parts = crate::server_context::request_parts()?;
        token_from_headers(&parts.headers, policy)
    }

    /// The session cookie's value; only the cookie name of this policy counts (over
    /// https only the `__Host-` one, which a sibling subdomain cannot set).
    pub fn token_from_headers(headers: &http::HeaderMap, policy: &SessionPolicy) -> Option<String> {
        let name = policy.cookie_name();
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value.to_string())
            .filter(|v| !v.is_empty())
    }

    /// The person the page guard signed in for this request (a request extension only the
    /// server sets), so a page's server functions do not look the session up again.
    #[derive(Debug, Clone)]
    pub struct ResolvedSession(pub CurrentUser);

    /// The signed-in person of the current request: as the page guard resolved them, or
    /// from the session cookie.
    pub async fn current_user(ctx: &ServerContext) -> Result<Option<CurrentUser>, sqlx::Error> {
        let Some(parts) = crate::server_context::request_parts() else {
            return Ok(None);
        };
        if let Some(ResolvedSession(user)) = parts.extensions.get::<ResolvedSession>() {
            return Ok(Some(user.clone()));
        }
        match token_from_headers(&parts.headers, &ctx.sessions) {
            Some(token) => user_for_token(&ctx.pool, &ctx.sessions, &token).await,
            None => Ok(None),
        }
    }

    /// Sets the session cookie for a new session on this server function's response.
    pub fn send_cookie(policy: &SessionPolicy, token: &str) {
        set_cookie(&cookie_header(policy, token, policy.absolute_secs));
    }

    /// Tells the browser to forget the session cookie.
    pub fn clear_cookie(policy: &SessionPolicy) {
        set_cookie(&cookie_header(policy, "", 0));
    }

    fn set_cookie(value: &str) {
        if let (Some(response), Ok(value)) = (
            leptos::prelude::use_context::<leptos_axum::ResponseOptions>(),
            value.parse(),
        ) {
            response.append_header(http::header::SET_COOKIE, value);
        }
    }

    pub fn cookie_header(policy: &SessionPolicy, token: &str, max_age: i64) -> String {
        format!(
            "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
            policy.cookie_name(),
            if policy.secure { "; Secure" } else { "" }
        )
    }

    /// One of a person's sessions, as their account page lists them.
    #[derive(Debug, Clone)]
    pub struct SessionRow {
        pub id: i64,
        pub token_hash: Vec<u8>,
        pub created_at: chrono::DateTime<chrono::Utc>,
        pub last_seen_at: chrono::DateTime<chrono::Utc>,
        pub user_agent: Option<String>,
        pub client_address: Option<String>,
    }

    /// A person's live sessions, most recently used first.
    pub async fn list(
        pool: &PgPool,
        policy: &SessionPolicy,
        user_id: i64,
    ) -> Result<Vec<SessionRow>, sqlx::Error> {
        sqlx::query_as!(
            SessionRow,
            "SELECT id, token_hash, created_at, last_seen_at, user_agent, client_address
               FROM sessions
              WHERE user_id = $1 AND expires_at > now()
                AND last_seen_at > now() - make_interval(secs => $2)
              ORDER BY last_seen_at DESC",
            user_id,
            policy.idle_secs as f64,
        )
        .fetch_all(pool)
        .await
    }

    /// Ends a person's sessions but the one with `keep_token`; returns how many ended.
    pub async fn end_others<'e>(
        db: impl sqlx::PgExecutor<'e>,
        user_id: i64,
        keep_token: &str,
    ) -> Result<u64, sqlx::Error> {
        let done = sqlx::query!(
            "DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2",
            user_id,
            hash_token(keep_token),
        )
        .execute(db)
        .await?;
        Ok(done.rows_affected())
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
        <Title text="Sign in"/>
        <main class="login">
            <Brand/>
            <h1>"Sign in"</h1>
            <ActionForm action=login attr:class="login-form">
                <input type="hidden" name="next" prop:value=next/>
                <Field label="Email">
                    <input type="email" name="email" autocomplete="username" required/>
                </Field>
                <Field label="Password">
                    <input type="password" name="password" autocomplete="current-password" required/>
                </Field>
                <SubmitButton tone=Tone::Primary pending=login.pending()>"Sign in"</SubmitButton>
                <Show when=move || error().is_some()>
                    <p class="notice notice-error" role="alert">{error}</p>
                </Show>
            </ActionForm>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_same_site_paths_are_followed_after_sign_in() {
        for ok in [
            "/findings",
            "/findings?severity=high&x=%2F",
            "/projects/web/scans",
            "/",
        ] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for hostile in [
            "//evil.example/phish",
            "/\t/evil.example/phish",
            "/\n/evil.example",
            "/\r\n//evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/ /evil.example",
            "/\u{0}",
            "/é",
            "",
            "findings",
        ] {
            assert_eq!(safe_next(Some(hostile)), "/findings", "{hostile:?}");
        }
        assert_eq!(safe_next(None), "/findings");
    }
}
