//! A person's own account: the password rules, and changing the password, which signs the
//! person out everywhere else (a stolen session ends with the old password).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;

use crate::auth::whoami;
use crate::layout::{AppHeader, ErrorAlert};
use crate::ui::{Card, DataTable, Field, OkNotice, PageHeader, SubmitButton, Tone};

pub use crate::domain::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};

/// Changes the signed-in person's password after checking the current one, ends all their
/// sessions (every browser and device is signed out) and starts a fresh one for this
/// browser. `new_password_again`, when sent (the page sends it), must equal `new_password`.
#[server(endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    new_password_again: Option<String>,
) -> Result<(), AppError> {
    use crate::auth::{password, sessions, throttle};

    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    let new_password =
        crate::domain::NewPassword::parse(&new_password, new_password_again.as_deref())?;
    if current_password.chars().count() > PASSWORD_MAX_CHARS {
        return Err(AppError::forbidden("Your current password is not correct."));
    }
    // Guessing the current password here counts against the same limit as signing in, so
    // a stolen session cannot be used to find the password.
    let address = crate::server_context::client_address();
    let keys = throttle::Keys::new(Some(user.id), &user.email, address);
    let attempt = match throttle::begin(&ctx.pool, &keys).await? {
        throttle::Attempt::Blocked { minutes } => {
            tracing::warn!(target: "bosun::security", event = "password_change_locked_out",
                user_id = user.id, address = ?address);
            return Err(AppError::too_many_requests(format!(
                "Too many wrong passwords. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            )));
        }
        throttle::Attempt::Go(attempt) => attempt,
    };
    let account = password::account(&ctx.pool, &user.email).await?;
    if password::check(account, current_password).await? != Some(user.id) {
        tracing::warn!(target: "bosun::security", event = "password_change_refused",
            user_id = user.id, address = ?address);
        return Err(AppError::forbidden("Your current password is not correct."));
    }
    throttle::succeeded(&ctx.pool, &keys, &attempt).await?;
    let hash = hash_password(&new_password).await?;
    let token = db::replace_password(&ctx.pool, &ctx.sessions, user.id, &hash).await?;
    sessions::send_cookie(&ctx.sessions, &token);
    tracing::info!(target: "bosun::security", event = "password_changed", user_id = user.id);
    Ok(())
}

/// `Chrome 156 on Linux` from a `User-Agent`: enough to tell one's browsers apart. The
/// full text stays available (the page shows it on hover).
pub fn browser_summary(user_agent: &str) -> String {
    let version = |marker: &str| {
        user_agent.split(marker).nth(1).map(|rest| {
            rest.split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap_or("")
                .to_string()
        })
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"),
        ("Version/", "Safari"),
        ("curl/", "curl"),
    ]
    .iter()
    .find_map(|(marker, name)| {
        version(marker).map(|v| {
            if v.is_empty() {
                name.to_string()
            } else {
                format!("{name} {v}")
            }
        })
    });
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| user_agent.contains(marker))
    .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(os)) => format!("{b} on {os}"),
        (Some(b), None) => b,
        (None, Some(os)) => format!("a browser on {os}"),
        (None, None) => user_agent.chars().take(40).collect(),
    }
}

/// One of the signed-in person's sessions, for the account page.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionView {
    pub id: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_seen_at: chrono::DateTime<chrono::Utc>,
    /// The browser, as it described itself when signing in.
    pub user_agent: Option<String>,
    pub client_address: Option<String>,
    /// The session of the browser asking.
    pub current: bool,
}

/// The signed-in person's live sessions, most recently used first.
#[server(endpoint = "list_sessions")]
pub async fn list_sessions() -> Result<Vec<SessionView>, AppError> {
    use crate::auth::sessions;

    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    let current = sessions::token_from_request(&ctx.sessions).map(|t| sessions::hash_token(&t));
    Ok(sessions::list(&ctx.pool, &ctx.sessions, user.id)
        .await?
        .into_iter()
        .map(|s| SessionView {
            current: current.as_deref() == Some(s.token_hash.as_slice()),
            id: s.id,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            user_agent: s.user_agent,
            client_address: s.client_address,
        })
        .collect())
}

/// Signs the person out on every other browser and device; returns how many sessions
/// ended. Audited.
#[server(endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<u64, AppError> {
    use crate::auth::sessions;

    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    let token =
        sessions::token_from_request(&ctx.sessions).ok_or_else(AppError::unauthenticated)?;
    let mut tx = ctx.pool.begin().await?;
    let ended = sessions::end_others(&mut *tx, user.id, &token).await?;
    crate::audit::record(
        &mut tx,
        crate::audit::Event::new("user", user.id, "other_sessions_ended")
            .by(Some(user.id))
            .after(serde_json::json!({ "sessions_ended": ended })),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(target: "bosun::security", event = "other_sessions_ended", user_id = user.id, ended);
    Ok(ended)
}

/// argon2id off the async workers (it is CPU-heavy by design).
#[cfg(feature = "ssr")]
pub(crate) async fn hash_password(
    password: &crate::domain::NewPassword,
) -> Result<String, AppError> {
    let password = password.expose().to_string();
    tokio::task::spawn_blocking(move || crate::auth::password::hash(&password))
        .await?
        .map_err(|e| AppError::internal(format_args!("hashing the password failed: {e}")))
}

#[cfg(feature = "ssr")]
pub mod db {
    use sqlx::PgPool;

    use crate::auth::sessions;
    use crate::server_context::SessionPolicy;

    /// Sets a new password hash, ends every session of the person and starts a new one, in
    /// one transaction with its audit event (which records how many sessions ended, never a
    /// secret). Returns the new session's token.
    pub async fn replace_password(
        pool: &PgPool,
        policy: &SessionPolicy,
        user_id: i64,
        hash: &str,
    ) -> Result<String, sqlx::Error> {
        let mut tx = pool.begin().await?;
        sqlx::query!(
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            user_id,
            hash,
        )
        .execute(&mut *tx)
        .await?;
        let ended = sessions::end_all(&mut *tx, user_id).await?;
        let token = sessions::create(&mut *tx, policy, user_id).await?;
        crate::audit::record(
            &mut tx,
            crate::audit::Event::new("user", user_id, "password_changed")
                .by(Some(user_id))
                .after(serde_json::json!({ "sessions_ended": ended })),
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
    let end_others = ServerAction::<EndOtherSessions>::new();
    let sessions = Resource::new(
        move || (end_others.version().get(), change.version().get()),
        |_| list_sessions(),
    );
    let ended = move || {
        end_others.value().get().map(|result| match result {
            Ok(n) => view! {
                <OkNotice>
                    {format!("Signed out {n} other session{}.", if n == 1 { "" } else { "s" })}
                </OkNotice>
            }
            .into_any(),
            Err(err) => view! { <ErrorAlert err/> }.into_any(),
        })
    };
    let outcome = move || {
        change.value().get().map(|result| match result {
            Ok(()) => view! {
                <OkNotice>
                    "Password changed. Every other browser and device signed in as you has been signed out."
                </OkNotice>
            }
            .into_any(),
            Err(err) => view! { <ErrorAlert err/> }.into_any(),
        })
    };
    view! {
        <Title text="Your account"/>
        <AppHeader/>
        <main class="account">
            <PageHeader title="Your account" sub="Who you are signed in as, where, and your password."/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    user.await.ok().flatten().map(|u| view! {
                        <Card title="You">
                            <dl class="account-fields">
                                <dt>"Email"</dt><dd class="account-email">{u.email}</dd>
                                <dt>"Name"</dt><dd>{if u.display_name.is_empty() { "—".to_string() } else { u.display_name }}</dd>
                                <dt>"Admin"</dt><dd>{if u.is_admin { "yes" } else { "no" }}</dd>
                            </dl>
                        </Card>
                    })
                })}
            </Transition>
            <Card title="Where you are signed in">
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match sessions.await {
                            Err(err) => view! { <ErrorAlert err/> }.into_any(),
                            Ok(list) => {
                                let others = list.iter().filter(|s| !s.current).count();
                                view! {
                                    <DataTable label="Sessions" class="sessions-table">
                                        <thead><tr><th>"Browser"</th><th>"From"</th><th>"Signed in"</th><th>"Last active"</th></tr></thead>
                                        <tbody>
                                            {list.into_iter().map(|s| view! {
                                                <tr class:current=s.current>
                                                    <td title=s.user_agent.clone().unwrap_or_default()>
                                                        {s.user_agent.as_deref().map(browser_summary).unwrap_or_else(|| "unknown browser".into())}
                                                        {s.current.then(|| view! { " " <strong class="this-browser">"(this browser)"</strong> })}
                                                    </td>
                                                    <td class="address">{s.client_address.clone().unwrap_or_else(|| "—".into())}</td>
                                                    <td class="when">{s.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                                    <td class="when">{s.last_seen_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </DataTable>
                                    <ActionForm action=end_others attr:class="toolbar">
                                        <button type="submit" class="btn btn-danger" disabled=move || others == 0 || end_others.pending().get()>
                                            "Sign out everywhere else"
                                        </button>
                                        {(others == 0).then(|| view! { <span class="muted">"This is your only session."</span> })}
                                    </ActionForm>
                                }
                                .into_any()
                            }
                        }
                    })}
                </Transition>
                {ended}
            </Card>
            <Card title="Change your password">
                <p class="muted">
                    {format!("At least {PASSWORD_MIN_CHARS} characters. Changing it signs you out everywhere else.")}
                </p>
                <ActionForm action=change attr:class="stacked-form change-password">
                    <Field label="Current password">
                        <input type="password" name="current_password" autocomplete="current-password" required/>
                    </Field>
                    <Field label="New password">
                        <input type="password" name="new_password" autocomplete="new-password"
                            minlength=PASSWORD_MIN_CHARS maxlength=PASSWORD_MAX_CHARS required/>
                    </Field>
                    <Field label="New password again">
                        <input type="password" name="new_password_again" autocomplete="new-password"
                            minlength=PASSWORD_MIN_CHARS maxlength=PASSWORD_MAX_CHARS required/>
                    </Field>
                    <SubmitButton tone=Tone::Primary pending=change.pending()>"Change password"</SubmitButton>
                </ActionForm>
                {outcome}
            </Card>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_summarised_by_name_version_and_system() {
        assert_eq!(
            browser_summary(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36"
            ),
            "Headless Chrome 156 on Linux"
        );
        assert_eq!(
            browser_summary(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86"
            ),
            "Edge 131 on Windows"
        );
        assert_eq!(
            browser_summary(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"
            ),
            "Safari 18 on macOS"
        );
        assert_eq!(
            browser_summary(
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
            ),
            "Firefox 133 on Linux"
        );
        assert_eq!(browser_summary("reqwest"), "reqwest");
    }
}
