//! A person's own account: the password rules, and changing the password, which signs the
//! person out everywhere else (a stolen session ends with the old password).

use leptos::prelude::*;

use crate::auth::whoami;
use crate::layout::{AppHeader, message};

/// NIST SP 800-63B: length is what makes a password strong; long passphrases welcome.
pub const PASSWORD_MIN_CHARS: usize = 12;
/// Bounds the work of hashing what someone pastes.
pub const PASSWORD_MAX_CHARS: usize = 1024;

/// Why a new password is refused, if it is. `again` is the repeated entry of a form, when
/// there is one.
pub fn password_problem(password: &str, again: Option<&str>) -> Option<String> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Some(format!(
            "A password needs at least {PASSWORD_MIN_CHARS} characters."
        ));
    }
    if chars > PASSWORD_MAX_CHARS {
        return Some(format!(
            "A password may have at most {PASSWORD_MAX_CHARS} characters."
        ));
    }
    if again.is_some_and(|again| again != password) {
        return Some("The two passwords differ.".to_string());
    }
    None
}

/// Changes the signed-in person's password after checking the current one, ends all their
/// sessions (every browser and device is signed out) and starts a fresh one for this
/// browser. `new_password_again`, when sent (the page sends it), must equal `new_password`.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    new_password_again: Option<String>,
) -> Result<(), ServerFnError> {
    use crate::access::fail;
    use crate::auth::{sessions, throttle};
    use http::StatusCode;

    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    check_new_password(&new_password, new_password_again.as_deref())?;
    // Guessing the current password here counts against the same limit as signing in, so
    // a stolen session cannot be used to find the password.
    let keys = throttle::keys(&user.email).await;
    if let Some(minutes) = throttle::blocked(&ctx.pool, &keys).await? {
        return Err(fail(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Too many wrong passwords. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            ),
        ));
    }
    if !db::password_matches(&ctx.pool, user.id, &current_password).await? {
        throttle::record_failure(&ctx.pool, &keys).await?;
        return Err(fail(
            StatusCode::FORBIDDEN,
            "Your current password is not correct.",
        ));
    }
    throttle::clear(&ctx.pool, &keys).await?;
    let hash = hash_password(&new_password).await?;
    let token = db::replace_password(&ctx.pool, user.id, &hash).await?;
    sessions::send_cookie(&token, ctx.secure_cookies);
    Ok(())
}

/// [`password_problem`] as a 400 answer.
#[cfg(feature = "ssr")]
pub(crate) fn check_new_password(password: &str, again: Option<&str>) -> Result<(), ServerFnError> {
    match password_problem(password, again) {
        Some(problem) => Err(crate::access::fail(http::StatusCode::BAD_REQUEST, &problem)),
        None => Ok(()),
    }
}

/// argon2id off the async workers (it is CPU-heavy by design).
#[cfg(feature = "ssr")]
pub(crate) async fn hash_password(password: &str) -> Result<String, ServerFnError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || crate::auth::password::hash(&password))
        .await
        .map_err(|e| ServerFnError::new(format!("hashing the password failed: {e}")))?
        .map_err(|e| ServerFnError::new(format!("hashing the password failed: {e}")))
}

#[cfg(feature = "ssr")]
pub mod db {
    use sqlx::PgPool;

    use crate::auth::{password, sessions};

    /// Whether `candidate` is the person's password.
    pub async fn password_matches(
        pool: &PgPool,
        user_id: i64,
        candidate: &str,
    ) -> Result<bool, sqlx::Error> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(pool)
                .await?;
        let Some(stored) = stored else {
            return Ok(false);
        };
        let candidate = candidate.to_string();
        Ok(
            tokio::task::spawn_blocking(move || password::verify(&candidate, &stored))
                .await
                .unwrap_or(false),
        )
    }

    /// Sets a new password hash, ends every session of the person and starts a new one, in
    /// one transaction with its audit event (which records how many sessions ended, never a
    /// secret). Returns the new session's token.
    pub async fn replace_password(
        pool: &PgPool,
        user_id: i64,
        hash: &str,
    ) -> Result<String, sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user_id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        let ended = sessions::end_all(&mut *tx, user_id).await?;
        let token = sessions::create(&mut *tx, user_id).await?;
        crate::admin::db::audit(
            &mut tx,
            Some(user_id),
            ("user", user_id),
            "password_changed",
            None,
            Some(serde_json::json!({ "sessions_ended": ended })),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let user = Resource::new(|| (), |_| whoami());
    let change = ServerAction::<ChangePassword>::new();
    let outcome = move || {
        change.value().get().map(|result| match result {
            Ok(()) => view! {
                <p class="notice" role="status">
                    "Password changed. Every other browser and device signed in as you has been signed out."
                </p>
            }
            .into_any(),
            Err(err) => view! { <p class="error" role="alert">{message(&err)}</p> }.into_any(),
        })
    };
    view! {
        <AppHeader/>
        <main class="account">
            <h1>"Your account"</h1>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    user.await.ok().flatten().map(|u| view! {
                        <dl class="account-fields">
                            <dt>"Email"</dt><dd class="account-email">{u.email}</dd>
                            <dt>"Name"</dt><dd>{u.display_name}</dd>
                            <dt>"Admin"</dt><dd>{if u.is_admin { "yes" } else { "no" }}</dd>
                        </dl>
                    })
                })}
            </Transition>
            <h2>"Change your password"</h2>
            <p class="muted">
                {format!("At least {PASSWORD_MIN_CHARS} characters. Changing it signs you out everywhere else.")}
            </p>
            <ActionForm action=change attr:class="stacked-form change-password">
                <label>"Current password"
                    <input type="password" name="current_password" autocomplete="current-password" required/>
                </label>
                <label>"New password"
                    <input type="password" name="new_password" autocomplete="new-password"
                        minlength=PASSWORD_MIN_CHARS maxlength=PASSWORD_MAX_CHARS required/>
                </label>
                <label>"New password again"
                    <input type="password" name="new_password_again" autocomplete="new-password"
                        minlength=PASSWORD_MIN_CHARS maxlength=PASSWORD_MAX_CHARS required/>
                </label>
                <button type="submit" disabled=move || change.pending().get()>"Change password"</button>
            </ActionForm>
            {outcome}
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_twelve_to_1024_characters_and_equal_repeats() {
        assert!(
            password_problem("short", None)
                .unwrap()
                .contains("at least 12")
        );
        assert!(password_problem(&"x".repeat(11), None).is_some());
        assert_eq!(password_problem(&"x".repeat(12), None), None);
        // characters, not bytes
        assert_eq!(password_problem(&"é".repeat(12), None), None);
        assert_eq!(password_problem(&"x".repeat(1024), None), None);
        assert!(
            password_problem(&"x".repeat(1025), None)
                .unwrap()
                .contains("at most 1024")
        );
        assert_eq!(
            password_problem("long enough pass", Some("long enough pass")),
            None
        );
        assert_eq!(
            password_problem("long enough pass", Some("long enough pas")).as_deref(),
            Some("The two passwords differ.")
        );
    }
}
