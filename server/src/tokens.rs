//! Ingest tokens: bearer secrets that CI pipelines and cluster tools use to push reports.
//! A token speaks for one project, for one team (its findings routed into the team's
//! projects by routing rules), or for the whole estate (a cluster-wide tool, routed by
//! every rule). Shown once at creation; only their SHA-256 is stored.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// Every token starts with this, so secret scanners (and people) can recognise one.
pub const TOKEN_PREFIX: &str = "bosun_";

/// What a valid token lets its bearer do.
#[derive(Debug, Clone, sqlx::FromRow)]
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

/// Whom a new token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOwner {
    Project(i64),
    Team(i64),
    /// Every project, by every routing rule: for cluster-wide tools.
    Cluster,
}

pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates a token for a project and returns it in clear, the only time it is shown.
pub async fn create(pool: &PgPool, project_id: i64, name: &str) -> Result<String, sqlx::Error> {
    create_for(pool, TokenOwner::Project(project_id), name).await
}

/// Creates a token for a project, a team or the whole estate, returned in clear once.
pub async fn create_for(
    pool: &PgPool,
    owner: TokenOwner,
    name: &str,
) -> Result<String, sqlx::Error> {
    let (project_id, team_id) = match owner {
        TokenOwner::Project(id) => (Some(id), None),
        TokenOwner::Team(id) => (None, Some(id)),
        TokenOwner::Cluster => (None, None),
    };
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    sqlx::query(
        "INSERT INTO ingest_tokens (project_id, team_id, name, token_hash, prefix)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(project_id)
    .bind(team_id)
    .bind(name)
    .bind(hash(&token))
    .bind(&token[..TOKEN_PREFIX.len() + 6])
    .execute(pool)
    .await?;
    Ok(token)
}

/// The grant behind a presented token, recording its use; `None` when unknown or revoked.
pub async fn authenticate(pool: &PgPool, token: &str) -> Result<Option<TokenGrant>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE ingest_tokens t SET last_used_at = now()
          WHERE t.token_hash = $1 AND t.revoked_at IS NULL
         RETURNING t.id AS token_id, t.project_id, t.team_id,
                   (SELECT slug FROM projects p WHERE p.id = t.project_id) AS project_slug",
    )
    .bind(hash(token))
    .fetch_optional(pool)
    .await
}

/// A token as lists show it: never the secret, only its first characters.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn list(pool: &PgPool, project_id: i64) -> Result<Vec<TokenInfo>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM ingest_tokens
          WHERE project_id = $1 ORDER BY id",
    )
    .bind(project_id)
    .fetch_all(pool)
    .await
}

/// Revokes the project's token with this id; `false` when there is none (or it was revoked).
pub async fn revoke(pool: &PgPool, project_id: i64, token_id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let revoked = sqlx::query(
        "UPDATE ingest_tokens SET revoked_at = now()
          WHERE id = $1 AND project_id = $2 AND revoked_at IS NULL",
    )
    .bind(token_id)
    .bind(project_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if revoked {
        sqlx::query(
            "INSERT INTO audit_events (project_id, subject_type, subject_id, action, after, reason)
             VALUES ($1, 'ingest_token', $2, 'revoked', '{\"revoked\": true}', 'revoked from the command line')",
        )
        .bind(project_id)
        .bind(token_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(revoked)
}
