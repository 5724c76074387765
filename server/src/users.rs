//! Creating accounts from the command line; in the app, admins invite people instead
//! (`app::admin`).

use app::auth::password;
use sqlx::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("'{0}' is not an email address")]
    InvalidEmail(String),
    #[error("{0}")]
    WeakPassword(String),
    #[error("a user with email '{0}' already exists")]
    Exists(String),
    #[error("no user '{0}'")]
    NotFound(String),
    #[error("hashing the password failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The same minimum as the web's (NIST SP 800-63B: length makes a password strong).
pub const MIN_PASSWORD_LEN: usize = app::account::PASSWORD_MIN_CHARS;

/// A syntactically plausible, normalised (trimmed, lowercase) email address.
pub fn parse_email(raw: &str) -> Result<String, UserError> {
    app::admin::normalise_email(raw)
        .ok_or_else(|| UserError::InvalidEmail(raw.chars().take(80).collect()))
}

pub async fn create(
    pool: &PgPool,
    email: &str,
    password: &str,
    is_admin: bool,
) -> Result<i64, UserError> {
    let email = parse_email(email)?;
    if let Some(problem) = app::account::password_problem(password, None) {
        return Err(UserError::WeakPassword(problem));
    }
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| UserError::Hash(e.to_string()))?
        .map_err(|e| UserError::Hash(e.to_string()))?;
    sqlx::query_scalar(
        "INSERT INTO users (email, password_hash, is_admin) VALUES ($1, $2, $3)
         ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(&email)
    .bind(hash)
    .bind(is_admin)
    .fetch_optional(pool)
    .await?
    .ok_or(UserError::Exists(email))
}

pub async fn count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(pool)
        .await
}

/// Gives (or takes) a person the security role on every team's projects, through the same
/// store function as the admin page's Users list, so the change is audited the same way.
pub async fn set_security_all_teams(pool: &PgPool, email: &str, on: bool) -> Result<(), UserError> {
    use app::admin::users::db::{FlagsSet, set_security_all_teams};
    let email = parse_email(email)?;
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(&email)
        .fetch_optional(pool)
        .await?;
    let Some(id) = id else {
        return Err(UserError::NotFound(email.to_string()));
    };
    match set_security_all_teams(pool, None, id, on).await? {
        FlagsSet::Done => Ok(()),
        // gone in between, or (impossible: the admin flag is kept) a last-admin refusal
        FlagsSet::NotFound | FlagsSet::LastAdmin(_) => Err(UserError::NotFound(email.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            parse_email("  Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        for bad in [
            "",
            "ana",
            "@example.com",
            "ana@",
            "a b@example.com",
            "a@b@c",
        ] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }
}
