//! Running Bosun's people: invitations, accounts' admin flags, teams and their members.
//! Everything here is for global admins (`CurrentUser::is_admin`) but an invitation's own
//! page, where the invited person chooses a password.
//!
//! - `invites`: invite by email (a one-time link valid for a week), revoke, accept.
//! - `users`: everyone with their teams and roles; the admin and "security on every team"
//!   flags.
//! - `teams`: teams with their projects and members; adding, re-roling and removing members.
//!
//! Every change and its audit event commit in one transaction.

pub mod invites;
pub mod teams;
pub mod users;

#[cfg(feature = "ssr")]
use crate::error::AppError;

/// The signed-in person when they are a global admin; 401 when nobody is signed in, 403
/// for everyone else.
#[cfg(feature = "ssr")]
pub async fn require_admin() -> Result<crate::auth::CurrentUser, AppError> {
    let user = crate::auth::require_user().await?;
    if !user.is_admin {
        crate::access::log_denied(user.id, "Manage users", "people and teams");
        return Err(AppError::forbidden(
            "Only admins may manage people and teams.",
        ));
    }
    Ok(user)
}

/// RFC 5321's limit on a forward path.
pub const EMAIL_MAX_CHARS: usize = 254;

/// A plausible email address, trimmed and lowercased (accounts are keyed by it); `None` when
/// the text is not one.
///
/// This is the one normalisation of emails: sign-in, its throttle, account creation and
/// invitations all use it, and lookups compare with `=`, never with SQL's `lower()` (whose
/// idea of lower case depends on the database's locale and differs from Rust's).
pub fn normalise_email(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > EMAIL_MAX_CHARS {
        return None;
    }
    let email = trimmed.to_lowercase();
    let plausible = email.chars().count() <= EMAIL_MAX_CHARS
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    plausible.then_some(email)
}

/// [`normalise_email`] as a 400 answer naming what was typed.
#[cfg(feature = "ssr")]
fn checked_email(raw: &str) -> Result<String, AppError> {
    normalise_email(raw).ok_or_else(|| {
        AppError::invalid(format!(
            "'{}' is not an email address.",
            raw.trim().chars().take(80).collect::<String>()
        ))
    })
}

#[cfg(feature = "ssr")]
pub mod db {
    use serde_json::Value;
    use sqlx::PgConnection;

    /// Appends an audit event about a person, team or invitation (no project); `before` and
    /// `after` hold the changed fields, never a secret.
    pub async fn audit(
        conn: &mut PgConnection,
        actor_user_id: Option<i64>,
        (subject_type, subject_id): (&str, i64),
        action: &str,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO audit_events (actor_user_id, subject_type, subject_id, action, before, after)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(actor_user_id)
        .bind(subject_type)
        .bind(subject_id)
        .bind(action)
        .bind(before)
        .bind(after)
        .execute(conn)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::normalise_email;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalise_email("  Ana@Example.COM ").as_deref(),
            Some("ana@example.com")
        );
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "a b@example.com",
            "a@b@c",
            "a\u{0}@example.com",
        ] {
            assert_eq!(normalise_email(bad), None, "{bad:?}");
        }
        assert_eq!(
            normalise_email(&format!("{}@example.com", "a".repeat(250))),
            None
        );
    }
}
