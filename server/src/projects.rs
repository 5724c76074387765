//! Projects: the services Bosun tracks.

use sqlx::PgPool;

/// A project's URL-safe name: lowercase letters, digits and dashes, 1–63 characters,
/// starting with a letter or digit. Validated once, here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectSlug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid project slug '{0}': use 1-63 lowercase letters, digits and dashes, starting with a letter or digit"
)]
pub struct InvalidSlug(pub String);

impl ProjectSlug {
    pub fn parse(raw: &str) -> Result<ProjectSlug, InvalidSlug> {
        let ok = (1..=63).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !raw.starts_with('-');
        if ok {
            Ok(ProjectSlug(raw.to_string()))
        } else {
            Err(InvalidSlug(raw.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
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

pub async fn create(
    pool: &PgPool,
    slug: &ProjectSlug,
    name: &str,
) -> Result<Project, ProjectError> {
    let name = if name.trim().is_empty() {
        slug.as_str()
    } else {
        name.trim()
    };
    sqlx::query_as("INSERT INTO projects (slug, name) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING RETURNING id, slug, name")
        .bind(slug.as_str())
        .bind(name)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ProjectError::Exists(slug.as_str().to_string()))
}

pub async fn find(pool: &PgPool, slug: &str) -> Result<Project, ProjectError> {
    sqlx::query_as("SELECT id, slug, name FROM projects WHERE slug = $1")
        .bind(slug)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ProjectError::NotFound(slug.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_validated() {
        for good in ["payments", "a", "svc-2", &"x".repeat(63)] {
            assert!(ProjectSlug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-lead",
            "Upper",
            "has space",
            "ünï",
            "a/b",
            &"x".repeat(64),
        ] {
            assert!(ProjectSlug::parse(bad).is_err(), "{bad}");
        }
    }
}
