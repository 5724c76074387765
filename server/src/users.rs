//! Creating accounts from the command line; in the app, admins invite people instead
//! (`app::admin`).

use app::auth::password;
use app::domain::{EmailAddress, InvalidInput, NewPassword};
use sqlx::PgPool;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The email address or the password is not acceptable (the web's rules).
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("a user with email '{0}' already exists")]
    Exists(String),
    #[error("no user '{0}'")]
    NotFound(String),
    #[error("hashing the password failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Creates an account from what was typed on the command line: the email and password are
/// checked by the same types as the web's (a password of 12 characters or more).
pub async fn create(
    pool: &PgPool,
    email: &str,
    password: &str,
    is_admin: bool,
) -> Result<i64, UserError> {
    let email = EmailAddress::parse(email)?;
    let password = NewPassword::parse(password, None)?;
    let hash = tokio::task::spawn_blocking(move || password::hash(password.expose()))
        .await
        .map_err(|e| UserError::Hash(e.to_string()))?
        .map_err(|e| UserError::Hash(e.to_string()))?;
    sqlx::query_scalar!(
        "INSERT INTO users (email, password_hash, is_admin) VALUES ($1, $2, $3)
         ON CONFLICT (email) DO NOTHING RETURNING id",
        email.as_str(),
        hash,
        is_admin,
    )
    .fetch_optional(pool)
    .await?
    .ok_or(UserError::Exists(email.to_string()))
}

pub async fn count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"SELECT count(*) AS "count!" FROM users"#)
        .fetch_one(pool)
        .await
}

/// Gives (or takes) a person the security role on every team's projects, through the same
/// store function as the admin page's Users list, so the change is audited the same way.
pub async fn set_security_all_teams(pool: &PgPool, email: &str, on: bool) -> Result<(), UserError> {
    use app::admin::users::db::{FlagsSet, set_security_all_teams};
    let email = EmailAddress::parse(email)?;
    let id: Option<i64> =
        sqlx::query_scalar!("SELECT id FROM users WHERE email = $1", email.as_str())
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
