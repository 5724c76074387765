//! Ingest tokens as the report API sees them: what a presented token lets its bearer do.
//! The token store itself (create, list, revoke, expiry, audit) is `app::tokens::db`,
//! shared by the CLI and the tokens page.

use sqlx::PgPool;

pub use app::tokens::TOKEN_PREFIX;
pub use app::tokens::db::{Filter, TokenOwner, hash};

/// What a valid token lets its bearer do.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    /// `None` for reports Bosun loads itself (the demo data).
    pub token_id: Option<i64>,
    /// Set for a project token: every finding goes to this project.
    pub project_id: Option<i64>,
    pub project_slug: Option<String>,
    /// Set for a team token; with neither set, the token is cluster-wide.
    pub team_id: Option<i64>,
}

impl TokenGrant {
    /// The grant Bosun itself uses to load a report into a project.
    pub fn for_project(project_id: i64, project_slug: impl Into<String>) -> TokenGrant {
        TokenGrant {
            token_id: None,
            project_id: Some(project_id),
            project_slug: Some(project_slug.into()),
            team_id: None,
        }
    }
}

/// Creates a token for a project (no expiry) and returns it in clear, the only time it is
/// shown.
pub async fn create(pool: &PgPool, project_id: i64, name: &str) -> Result<String, sqlx::Error> {
    create_for(pool, TokenOwner::Project(project_id), name).await
}

/// Creates a token for a project, a team or the whole estate (no expiry), returned in
/// clear once.
pub async fn create_for(
    pool: &PgPool,
    owner: TokenOwner,
    name: &str,
) -> Result<String, sqlx::Error> {
    Ok(app::tokens::db::create(pool, None, owner, name, None)
        .await?
        .1)
}

/// The grant behind a presented token, recording its use; `None` when unknown, expired or
/// revoked.
pub async fn authenticate(pool: &PgPool, token: &str) -> Result<Option<TokenGrant>, sqlx::Error> {
    sqlx::query_as!(
        TokenGrant,
        r#"UPDATE ingest_tokens t SET last_used_at = now()
          WHERE t.token_hash = $1 AND t.revoked_at IS NULL
            AND (t.expires_at IS NULL OR t.expires_at > now())
         RETURNING t.id AS "token_id?", t.project_id, t.team_id,
                   (SELECT slug FROM projects p WHERE p.id = t.project_id) AS project_slug"#,
        hash(token),
    )
    .fetch_optional(pool)
    .await
}

/// `90d`, `12w`, `48h`, `1y` → a duration; what `bosun token create --expires-in` takes.
pub fn parse_expiry(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("'{text}' is not a duration like 90d, 12w, 48h or 1y"))?;
    let hours = match unit {
        "h" => n,
        "d" => n * 24,
        "w" => n * 24 * 7,
        "y" => n * 24 * 365,
        _ => {
            return Err(format!(
                "'{text}' is not a duration like 90d, 12w, 48h or 1y"
            ));
        }
    };
    if hours > 24 * 365 * 10 {
        return Err("a token may live at most 10 years".into());
    }
    Ok(chrono::Duration::hours(hours))
}

#[cfg(test)]
mod tests {
    use super::parse_expiry;

    #[test]
    fn expiries_read_hours_days_weeks_and_years() {
        assert_eq!(parse_expiry("90d").unwrap(), chrono::Duration::days(90));
        assert_eq!(parse_expiry("12w").unwrap(), chrono::Duration::weeks(12));
        assert_eq!(parse_expiry(" 48h ").unwrap(), chrono::Duration::hours(48));
        assert_eq!(parse_expiry("1y").unwrap(), chrono::Duration::days(365));
        for bad in ["", "d", "0d", "90", "90m", "-1d", "11y"] {
            assert!(parse_expiry(bad).is_err(), "{bad}");
        }
    }
}
