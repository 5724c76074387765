//! Teams: groups of people that own projects (docs/glossary.md "team"). Team tokens and
//! routing rules send findings into a team's projects.

use sqlx::PgPool;

use crate::projects::Slug;

#[derive(Debug, Clone)]
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

/// Creates a team (audited, like on the admin page); its slug follows the same rules as a
/// project's.
pub async fn create(pool: &PgPool, slug: &Slug, name: &str) -> Result<Team, TeamError> {
    let Some(id) = app::admin::teams::db::create_team(pool, None, slug.as_str(), name).await?
    else {
        return Err(TeamError::Exists(slug.as_str().to_string()));
    };
    Ok(
        sqlx::query_as!(Team, "SELECT id, slug, name FROM teams WHERE id = $1", id)
            .fetch_one(pool)
            .await?,
    )
}

pub async fn find(pool: &PgPool, slug: &str) -> Result<Team, TeamError> {
    sqlx::query_as!(
        Team,
        "SELECT id, slug, name FROM teams WHERE slug = $1",
        slug
    )
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
    let before: Option<i64> = sqlx::query_scalar!(
        "SELECT team_id FROM projects WHERE id = $1 FOR UPDATE",
        project_id,
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE projects SET team_id = $2 WHERE id = $1",
        project_id,
        team_id,
    )
    .execute(&mut *tx)
    .await?;
    let event = app::audit::Event::new("project", project_id, "team_changed")
        .in_project(Some(project_id))
        .before(serde_json::json!({ "team_id": before }))
        .after(serde_json::json!({ "team_id": team_id }));
    app::audit::record(&mut tx, event).await?;
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

/// Adds a person to a team with a role (or changes their role there). Audited, like on the
/// admin page.
pub async fn add_member(
    pool: &PgPool,
    team: &str,
    email: &str,
    role: app::workflow::Role,
) -> Result<(), MemberError> {
    use app::admin::teams::db::{Membership, set_membership};
    match set_membership(pool, None, team, email, role).await? {
        Membership::Done => Ok(()),
        Membership::NoTeam => Err(MemberError::NoTeam(team.to_string())),
        Membership::NoUser | Membership::NotAMember => Err(MemberError::NoUser(email.to_string())),
        Membership::NotATeamRole => Err(MemberError::NotATeamRole),
    }
}
