//! Projects: the services Bosun tracks.

use sqlx::PgPool;

pub use app::domain::Slug;

#[derive(Debug, Clone)]
pub struct Project {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("project '{0}' already exists")]
    Exists(String),
    #[error("no project '{0}'")]
    NotFound(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub async fn create(pool: &PgPool, slug: &Slug, name: &str) -> Result<Project, ProjectError> {
    let name = if name.trim().is_empty() {
        slug.as_str()
    } else {
        name.trim()
    };
    sqlx::query_as!(
        Project,
        "INSERT INTO projects (slug, name) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING
         RETURNING id, slug, name",
        slug.as_str(),
        name,
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ProjectError::Exists(slug.as_str().to_string()))
}

pub async fn find(pool: &PgPool, slug: &str) -> Result<Project, ProjectError> {
    sqlx::query_as!(
        Project,
        "SELECT id, slug, name FROM projects WHERE slug = $1",
        slug
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ProjectError::NotFound(slug.to_string()))
}
