//! The token store: the CLI and the tokens page both call these.

use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::{TOKEN_PREFIX, TokenInfo, TokenScope};

/// Whom a new token speaks for, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOwner {
    Project(i64),
    Team(i64),
    /// Every project, by every routing rule: for cluster-wide tools.
    Cluster,
}

/// Which tokens a list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    All,
    Project(i64),
    Team(i64),
    Cluster,
}

pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The owner's ids behind a scope; `None` when its project or team does not exist.
pub async fn owner_of(
    pool: &PgPool,
    scope: &TokenScope,
) -> Result<Option<TokenOwner>, sqlx::Error> {
    Ok(match scope {
        TokenScope::Project(slug) => {
            sqlx::query_scalar!("SELECT id FROM projects WHERE slug = $1", slug)
                .fetch_optional(pool)
                .await?
                .map(TokenOwner::Project)
        }
        TokenScope::Team(slug) => sqlx::query_scalar!("SELECT id FROM teams WHERE slug = $1", slug)
            .fetch_optional(pool)
            .await?
            .map(TokenOwner::Team),
        TokenScope::Cluster => Some(TokenOwner::Cluster),
    })
}

/// Creates a token and its audit event in one transaction; returns its id and the
/// secret, in clear this once.
pub async fn create(
    pool: &PgPool,
    actor: Option<i64>,
    owner: TokenOwner,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(i64, String), sqlx::Error> {
    let (project_id, team_id) = match owner {
        TokenOwner::Project(id) => (Some(id), None),
        TokenOwner::Team(id) => (None, Some(id)),
        TokenOwner::Cluster => (None, None),
    };
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(bytes));
    let mut tx = pool.begin().await?;
    let id: i64 = sqlx::query_scalar!(
        "INSERT INTO ingest_tokens (project_id, team_id, name, token_hash, prefix, expires_at,
                                        created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        project_id,
        team_id,
        name,
        hash(&token),
        &token[..TOKEN_PREFIX.len() + 6],
        expires_at,
        actor,
    )
    .fetch_one(&mut *tx)
    .await?;
    let after = serde_json::json!({
        "name": name,
        "team_id": team_id,
        "cluster_wide": project_id.is_none() && team_id.is_none(),
        "expires_at": expires_at,
    });
    let event = crate::audit::Event::new("ingest_token", id, "created")
        .by(actor)
        .in_project(project_id)
        .after(after);
    crate::audit::record(&mut tx, event).await?;
    tx.commit().await?;
    Ok((id, token))
}

const SELECT: &str = "SELECT t.id, t.name, t.prefix, t.created_at, t.expires_at, t.last_used_at,
                                 t.revoked_at, p.slug AS project, tm.slug AS team,
                                 u.email AS created_by
                            FROM ingest_tokens t
                            LEFT JOIN projects p ON p.id = t.project_id
                            LEFT JOIN teams tm ON tm.id = t.team_id
                            LEFT JOIN users u ON u.id = t.created_by";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    name: String,
    prefix: String,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    project: Option<String>,
    team: Option<String>,
    created_by: Option<String>,
}

impl From<Row> for TokenInfo {
    fn from(r: Row) -> TokenInfo {
        let scope = match (r.project, r.team) {
            (Some(project), _) => TokenScope::Project(project),
            (None, Some(team)) => TokenScope::Team(team),
            (None, None) => TokenScope::Cluster,
        };
        TokenInfo {
            id: r.id,
            name: r.name,
            scope,
            prefix: r.prefix,
            created_at: r.created_at,
            created_by: r.created_by,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        }
    }
}

/// Tokens of every kind, or of one project, team or the cluster; newest first.
pub async fn list(pool: &PgPool, filter: &Filter) -> Result<Vec<TokenInfo>, sqlx::Error> {
    let (condition, id) = match filter {
        Filter::All => ("TRUE", None),
        Filter::Project(id) => ("t.project_id = $1", Some(*id)),
        Filter::Team(id) => ("t.team_id = $1", Some(*id)),
        Filter::Cluster => ("t.project_id IS NULL AND t.team_id IS NULL", None),
    };
    let sql = format!("{SELECT} WHERE {condition} ORDER BY t.id DESC");
    let mut query = sqlx::query_as::<_, Row>(&sql);
    if let Some(id) = id {
        query = query.bind(id);
    }
    Ok(query
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(TokenInfo::from)
        .collect())
}

pub async fn find(pool: &PgPool, id: i64) -> Result<Option<TokenInfo>, sqlx::Error> {
    Ok(
        sqlx::query_as::<_, Row>(&format!("{SELECT} WHERE t.id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?
            .map(TokenInfo::from),
    )
}

/// Revokes a token of any kind, with its audit event; `false` when there is no such
/// token or it was already revoked.
pub async fn revoke(
    pool: &PgPool,
    actor: Option<i64>,
    token_id: i64,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let revoked: Option<Option<i64>> = sqlx::query_scalar!(
        "UPDATE ingest_tokens SET revoked_at = now()
              WHERE id = $1 AND revoked_at IS NULL RETURNING project_id",
        token_id,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(project_id) = revoked else {
        return Ok(false);
    };
    let event = crate::audit::Event::new("ingest_token", token_id, "revoked")
        .by(actor)
        .in_project(project_id)
        .after(serde_json::json!({ "revoked": true }))
        .because(Some(reason));
    crate::audit::record(&mut tx, event).await?;
    tx.commit().await?;
    Ok(true)
}

/// The scopes a person may manage tokens of: projects and teams where their role has
/// "Manage tokens and routing", and the cluster for admins and security engineers of
/// every team.
pub async fn manageable_scopes(
    pool: &PgPool,
    user_id: i64,
) -> Result<Vec<TokenScope>, sqlx::Error> {
    let everywhere: Option<String> = sqlx::query_scalar!(
        "SELECT CASE WHEN is_admin THEN 'admin' WHEN security_all_teams THEN 'security' END
               FROM users WHERE id = $1",
        user_id,
    )
    .fetch_optional(pool)
    .await?
    .flatten();
    let managing_roles: Vec<String> = crate::workflow::Role::ALL
        .iter()
        .filter(|r| crate::workflow::allowed(**r, crate::workflow::Action::ManageTokensAndRouting))
        .map(|r| r.as_str().to_string())
        .collect();
    let rows = sqlx::query!(
        r#"SELECT 'project' AS "kind!", p.slug AS "slug!" FROM projects p
               LEFT JOIN team_members m ON m.team_id = p.team_id AND m.user_id = $1
              WHERE $2 OR m.role::text = ANY($3)
             UNION ALL
             SELECT 'team', t.slug FROM teams t
               LEFT JOIN team_members m ON m.team_id = t.id AND m.user_id = $1
              WHERE $2 OR m.role::text = ANY($3)
             ORDER BY 1, 2"#,
        user_id,
        everywhere.is_some(),
        &managing_roles,
    )
    .fetch_all(pool)
    .await?;
    let mut scopes: Vec<TokenScope> = rows
        .into_iter()
        .map(|r| match r.kind.as_str() {
            "project" => TokenScope::Project(r.slug),
            _ => TokenScope::Team(r.slug),
        })
        .collect();
    if everywhere.is_some() {
        scopes.push(TokenScope::Cluster);
    }
    Ok(scopes)
}

/// Whether a person is in a team (or sees every team): who may learn it exists.
pub async fn sees_team(pool: &PgPool, user_id: i64, slug: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM teams t JOIN users u ON u.id = $1
                             WHERE t.slug = $2
                               AND (u.is_admin OR u.security_all_teams
                                    OR EXISTS (SELECT 1 FROM team_members m
                                                WHERE m.team_id = t.id AND m.user_id = u.id)))
                      AS "exists!""#,
        user_id,
        slug,
    )
    .fetch_one(pool)
    .await
}
