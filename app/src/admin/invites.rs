//! Invitations: an admin invites a person by email and gets a link, shown once, with which
//! that person chooses a name and password, and is signed in. A link works once, for
//! [`VALID_DAYS`] days, unless an admin revokes it first; inviting the same email again
//! replaces the pending link. The link's token is 32 random bytes; like a session's, only
//! its SHA-256 is stored.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::domain::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
use crate::layout::Brand;
use crate::layout::{ErrorAlert, message};
use crate::ui::{Field, SubmitButton, Tone};

/// How long an invitation link works.
pub const VALID_DAYS: i32 = 7;
/// Longest display name accepted.
pub const DISPLAY_NAME_MAX: usize = 100;
/// One answer for unknown, used, revoked and expired links alike: the link is all its
/// holder has, and the answer should not tell which it was.
pub const INVALID_LINK: &str =
    "This invitation link is invalid or has expired. Ask an admin for a new one.";

/// An invitation not yet accepted, revoked or expired, as the admin page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PendingInvite {
    pub id: i64,
    pub email: String,
    pub is_admin: bool,
    /// The inviting admin's email.
    pub invited_by: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// What the invited person sees before accepting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Invitation {
    pub email: String,
    pub is_admin: bool,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// Invites a person (as a global admin when `admin`); returns the link's path,
/// `/invite/<token>`, which is shown this once. 409 when the email already has an account.
#[server(endpoint = "invite_user")]
pub async fn invite_user(
    email: String,
    #[server(default)] admin: bool,
) -> Result<String, AppError> {
    use crate::auth::sessions;

    let actor = super::require_admin().await?;
    let email = crate::domain::EmailAddress::parse(&email)?;
    let ctx = crate::server_context::server_context()?;
    let token = sessions::new_token();
    match db::create(
        &ctx.pool,
        actor.id,
        &email,
        admin,
        &sessions::hash_token(&token),
    )
    .await?
    {
        db::Created::Done => Ok(format!("/invite/{token}")),
        db::Created::AccountExists => Err(AppError::conflict(format!(
            "{email} already has an account."
        ))),
    }
}

/// Withdraws a pending invitation so its link no longer works.
#[server(endpoint = "revoke_invite")]
pub async fn revoke_invite(id: i64) -> Result<(), AppError> {
    let actor = super::require_admin().await?;
    let ctx = crate::server_context::server_context()?;
    match db::revoke(&ctx.pool, actor.id, id).await? {
        db::Revoked::Done | db::Revoked::AlreadyRevoked => Ok(()),
        db::Revoked::NotFound => Err(AppError::not_found("No such invitation.")),
        db::Revoked::AlreadyUsed => Err(AppError::conflict(
            "This invitation was already accepted: the account exists.",
        )),
    }
}

/// Pending invitations, newest first.
#[server(endpoint = "list_invites")]
pub async fn list_invites() -> Result<Vec<PendingInvite>, AppError> {
    super::require_admin().await?;
    let ctx = crate::server_context::server_context()?;
    Ok(db::pending(&ctx.pool).await?)
}

/// The invitation behind a link, while it can still be accepted (no session needed).
#[server(endpoint = "invite_details")]
pub async fn invite_details(token: String) -> Result<Invitation, AppError> {
    let ctx = crate::server_context::server_context()?;
    db::find(&ctx.pool, &token)
        .await?
        .ok_or_else(|| AppError::not_found(INVALID_LINK))
}

/// Creates the invited person's account with the name and password they chose, uses up the
/// link, signs them in and sends them to the findings. `password_again`, when sent (the
/// page sends it), must equal `password`. No session needed.
#[server(endpoint = "accept_invite")]
pub async fn accept_invite(
    token: String,
    display_name: String,
    password: String,
    password_again: Option<String>,
) -> Result<(), AppError> {
    use crate::auth::sessions;

    let ctx = crate::server_context::server_context()?;
    // the link first: fixing the form is pointless when the link is dead
    if db::find(&ctx.pool, &token).await?.is_none() {
        return Err(AppError::not_found(INVALID_LINK));
    }
    let display_name = checked_display_name(&display_name)?;
    let password = crate::domain::NewPassword::parse(&password, password_again.as_deref())?;
    let hash = crate::account::hash_password(&password).await?;
    match db::accept(&ctx.pool, &ctx.sessions, &token, &display_name, &hash).await? {
        db::Accepted::SignedIn(session) => {
            // whoever was signed in in this browser before is signed out
            if let Some(previous) = sessions::token_from_request(&ctx.sessions) {
                sessions::delete(&ctx.pool, &previous).await?;
            }
            sessions::send_cookie(&ctx.sessions, &session);
            leptos_axum::redirect("/findings");
            Ok(())
        }
        db::Accepted::InvalidLink => Err(AppError::not_found(INVALID_LINK)),
        db::Accepted::AccountExists(email) => Err(AppError::conflict(format!(
            "{email} already has an account: sign in instead."
        ))),
    }
}

/// A display name: trimmed, 1 to [`DISPLAY_NAME_MAX`] characters, no control characters.
#[cfg(feature = "ssr")]
fn checked_display_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > DISPLAY_NAME_MAX || name.chars().any(char::is_control) {
        return Err(AppError::invalid(format!(
            "Your name has 1 to {DISPLAY_NAME_MAX} characters."
        )));
    }
    Ok(name.to_string())
}

#[cfg(feature = "ssr")]
pub mod db {
    use serde_json::json;
    use sqlx::PgPool;

    use super::{Invitation, PendingInvite, VALID_DAYS};
    use crate::auth::sessions;

    /// SQL condition: the invitation `i` can still be accepted.
    const USABLE: &str = "i.used_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > now()";

    pub enum Created {
        Done,
        AccountExists,
    }

    /// Stores a new invitation for `email` (its token's hash) and retires the email's
    /// earlier pending ones, each audited.
    pub async fn create(
        pool: &PgPool,
        actor: i64,
        email: &str,
        is_admin: bool,
        token_hash: &[u8],
    ) -> Result<Created, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let exists: bool = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM users WHERE email = $1) AS "exists!""#,
            email,
        )
        .fetch_one(&mut *tx)
        .await?;
        if exists {
            return Ok(Created::AccountExists);
        }
        let created = sqlx::query!(
            "INSERT INTO invites (email, token_hash, is_admin, invited_by, expires_at)
             VALUES ($1, $2, $3, $4, now() + make_interval(days => $5))
             RETURNING id, expires_at",
            email,
            token_hash,
            is_admin,
            actor,
            VALID_DAYS,
        )
        .fetch_one(&mut *tx)
        .await?;
        let (id, expires_at) = (created.id, created.expires_at);
        let replaced: Vec<i64> = sqlx::query_scalar!(
            "UPDATE invites SET revoked_at = now()
              WHERE email = $1 AND id <> $2 AND used_at IS NULL AND revoked_at IS NULL
             RETURNING id",
            email,
            id,
        )
        .fetch_all(&mut *tx)
        .await?;
        for old in replaced {
            crate::audit::record(
                &mut tx,
                crate::audit::Event::new("invite", old, "replaced")
                    .by(Some(actor))
                    .after(json!({ "by_invite_id": id })),
            )
            .await?;
        }
        crate::audit::record(
            &mut tx,
            crate::audit::Event::new("invite", id, "created")
                .by(Some(actor))
                .after(json!({ "email": email, "is_admin": is_admin, "expires_at": expires_at })),
        )
        .await?;
        tx.commit().await?;
        Ok(Created::Done)
    }

    pub enum Revoked {
        Done,
        AlreadyRevoked,
        AlreadyUsed,
        NotFound,
    }

    pub async fn revoke(pool: &PgPool, actor: i64, id: i64) -> Result<Revoked, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let found: Option<(bool, bool)> = sqlx::query!(
            r#"SELECT used_at IS NOT NULL AS "used!", revoked_at IS NOT NULL AS "revoked!"
                 FROM invites WHERE id = $1 FOR UPDATE"#,
            id,
        )
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| (r.used, r.revoked));
        match found {
            None => return Ok(Revoked::NotFound),
            Some((true, _)) => return Ok(Revoked::AlreadyUsed),
            Some((_, true)) => return Ok(Revoked::AlreadyRevoked),
            Some(_) => {}
        }
        sqlx::query!("UPDATE invites SET revoked_at = now() WHERE id = $1", id)
            .execute(&mut *tx)
            .await?;
        crate::audit::record(
            &mut tx,
            crate::audit::Event::new("invite", id, "revoked").by(Some(actor)),
        )
        .await?;
        tx.commit().await?;
        Ok(Revoked::Done)
    }

    pub async fn pending(pool: &PgPool) -> Result<Vec<PendingInvite>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT i.id, i.email, i.is_admin, u.email AS invited_by, i.created_at, i.expires_at
               FROM invites i LEFT JOIN users u ON u.id = i.invited_by
              WHERE {USABLE}
              ORDER BY i.created_at DESC, i.id DESC"
        ))
        .fetch_all(pool)
        .await
    }

    /// The invitation a token opens, while it can be accepted.
    pub async fn find(pool: &PgPool, token: &str) -> Result<Option<Invitation>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT i.email, i.is_admin, i.expires_at FROM invites i
              WHERE i.token_hash = $1 AND {USABLE}"
        ))
        .bind(sessions::hash_token(token))
        .fetch_optional(pool)
        .await
    }

    pub enum Accepted {
        /// The account exists now; the token of its first session.
        SignedIn(String),
        InvalidLink,
        /// Someone created an account for the email since the invitation was sent.
        AccountExists(String),
    }

    /// Uses up the invitation and creates its account and first session, all or nothing.
    /// Marking the link used is the first write, so of two people racing with one link, the
    /// second waits for the first and then finds it used.
    pub async fn accept(
        pool: &PgPool,
        policy: &crate::server_context::SessionPolicy,
        token: &str,
        display_name: &str,
        password_hash: &str,
    ) -> Result<Accepted, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let invite: Option<(i64, String, bool)> = sqlx::query_as(&format!(
            "UPDATE invites i SET used_at = now()
              WHERE i.token_hash = $1 AND {USABLE}
             RETURNING i.id, i.email, i.is_admin"
        ))
        .bind(sessions::hash_token(token))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((invite_id, email, is_admin)) = invite else {
            return Ok(Accepted::InvalidLink);
        };
        let user_id: Option<i64> = sqlx::query_scalar!(
            "INSERT INTO users (email, display_name, password_hash, is_admin)
             VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING RETURNING id",
            email,
            display_name,
            password_hash,
            is_admin,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(user_id) = user_id else {
            // rolled back: the link stays as it was
            return Ok(Accepted::AccountExists(email));
        };
        crate::audit::record(
            &mut tx,
            crate::audit::Event::new("invite", invite_id, "accepted")
                .by(Some(user_id))
                .after(json!({ "user_id": user_id })),
        )
        .await?;
        crate::audit::record(
            &mut tx,
            crate::audit::Event::new("user", user_id, "created")
                .by(Some(user_id))
                .after(json!({
                    "email": email,
                    "display_name": display_name,
                    "is_admin": is_admin,
                    "invite_id": invite_id,
                })),
        )
        .await?;
        let session = sessions::create(&mut *tx, policy, user_id).await?;
        tx.commit().await?;
        Ok(Accepted::SignedIn(session))
    }
}

/// The page an invitation link opens: who is invited, and a form to choose a name and
/// password. Public: the invited person has no account yet.
#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let invitation = Resource::new(token, invite_details);
    let accept = ServerAction::<AcceptInvite>::new();
    let error = move || {
        accept
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| message(&e))
    };
    view! {
        <Title text="Accept your invitation"/>
        <main class="login invite">
            <Brand/>
            <h1>"Join Bosun"</h1>
            <Transition fallback=|| view! { <p class="muted">"Checking the invitation…"</p> }>
                {move || Suspend::new(async move {
                    match invitation.await {
                        Err(err) => view! { <ErrorAlert err/> }.into_any(),
                        Ok(invitation) => view! {
                            <p>
                                "You are invited as " <strong class="invite-email">{invitation.email}</strong>
                                {invitation.is_admin.then_some(", an admin")} "."
                            </p>
                            <p class="muted">
                                {format!(
                                    "This link works once, until {}.",
                                    invitation.expires_at.format("%Y-%m-%d %H:%M UTC")
                                )}
                            </p>
                            <ActionForm action=accept attr:class="login-form">
                                <input type="hidden" name="token" value=token()/>
                                <Field label="Your name">
                                    <input type="text" name="display_name" autocomplete="name"
                                        maxlength=DISPLAY_NAME_MAX required/>
                                </Field>
                                <Field label="Password" hint=format!("At least {PASSWORD_MIN_CHARS} characters.")>
                                    <input type="password" name="password" autocomplete="new-password"
                                        minlength=PASSWORD_MIN_CHARS maxlength=PASSWORD_MAX_CHARS required/>
                                </Field>
                                <Field label="Password again">
                                    <input type="password" name="password_again" autocomplete="new-password"
                                        minlength=PASSWORD_MIN_CHARS maxlength=PASSWORD_MAX_CHARS required/>
                                </Field>
                                <SubmitButton tone=Tone::Primary pending=accept.pending()>"Create account"</SubmitButton>
                                <Show when=move || error().is_some()>
                                    <p class="notice notice-error" role="alert">{error}</p>
                                </Show>
                            </ActionForm>
                        }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}
