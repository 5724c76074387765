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

#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error("no team '{0}'")]
    NoTeam(String),
    #[error("no user '{0}'")]
    NoUser(String),
    #[error(
        "a team role is viewer, developer, ops or security (admin is global: `bosun user create --admin`)"
    )]
    NotATeamRole,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Adds a person to a team with a role (or changes their role there). Audited.
pub async fn add_member(
    pool: &PgPool,
    team: &str,
    email: &str,
    role: app::workflow::Role,
) -> Result<(), MemberError> {
    if role == app::workflow::Role::Admin {
        return Err(MemberError::NotATeamRole);
    }
    let mut tx = pool.begin().await?;
    let team_id: i64 = sqlx::query_scalar("SELECT id FROM teams WHERE slug = $1")
        .bind(team)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| MemberError::NoTeam(team.to_string()))?;
    let user_id: i64 = sqlx::query_scalar("SELECT id FROM users WHERE email = lower($1)")
        .bind(email.trim())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| MemberError::NoUser(email.to_string()))?;
    let before: Option<String> = sqlx::query_scalar(
        "SELECT role::text FROM team_members WHERE team_id = $1 AND user_id = $2",
    )
    .bind(team_id)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3::team_role)
         ON CONFLICT (team_id, user_id) DO UPDATE SET role = EXCLUDED.role",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(role.as_str())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO audit_events (subject_type, subject_id, action, before, after)
         VALUES ('team_member', $1, 'role_set', jsonb_build_object('team_id', $2::int8, 'role', $3::text),
                 jsonb_build_object('team_id', $2::int8, 'role', $4::text))",
    )
    .bind(user_id)
    .bind(team_id)
    .bind(before)
    .bind(role.as_str())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
