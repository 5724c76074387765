//! Teams: groups of people that own projects (PRODUCT.md "team"). Team tokens and
//! routing rules send findings into a team's projects.

use sqlx::PgPool;

use crate::projects::ProjectSlug;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Team {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    #[error("team '{0}' already exists")]
    Exists(String),
    #[error("no team '{0}'")]
    NotFound(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Creates a team; its slug follows the same rules as a project's.
pub async fn create(pool: &PgPool, slug: &ProjectSlug, name: &str) -> Result<Team, TeamError> {
    let name = if name.trim().is_empty() {
        slug.as_str()
    } else {
        name.trim()
    };
    sqlx::query_as(
        "INSERT INTO teams (slug, name) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING
         RETURNING id, slug, name",
    )
    .bind(slug.as_str())
    .bind(name)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| TeamError::Exists(slug.as_str().to_string()))
}

pub async fn find(pool: &PgPool, slug: &str) -> Result<Team, TeamError> {
    sqlx::query_as("SELECT id, slug, name FROM teams WHERE slug = $1")
        .bind(slug)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| TeamError::NotFound(slug.to_string()))
}

/// Makes `team` the owner of a project.
pub async fn assign_project(
    pool: &PgPool,
    team_id: i64,
    project_id: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let before: Option<i64> =
        sqlx::query_scalar("SELECT team_id FROM projects WHERE id = $1 FOR UPDATE")
            .bind(project_id)
            .fetch_one(&mut *tx)
            .await?;
    sqlx::query("UPDATE projects SET team_id = $2 WHERE id = $1")
        .bind(project_id)
        .bind(team_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO audit_events (project_id, subject_type, subject_id, action, before, after)
         VALUES ($1, 'project', $1, 'team_changed', jsonb_build_object('team_id', $2::int8),
                 jsonb_build_object('team_id', $3::int8))",
    )
    .bind(project_id)
    .bind(before)
    .bind(team_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
