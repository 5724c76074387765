//! Routing rules, as people keep them: which project a finding from a team-wide or
//! cluster-wide token lands in. The CLI (`bosun route`) and the project settings page add
//! and remove rules through [`db`]; the ingest path matches findings against them
//! (`server::ingest::routing`).

use serde::{Deserialize, Serialize};

/// One rule of a project, as its settings page lists it. A pattern left out matches anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct RoutingRule {
    pub id: i64,
    /// Rules are tried lowest position first (then oldest first).
    pub position: i32,
    pub namespace: Option<String>,
    pub image_repository: Option<String>,
    pub path: Option<String>,
    /// The team whose tokens use the rule; none: an estate-wide rule for cluster-wide tokens.
    pub team: Option<String>,
}

/// A rule to add: at least one pattern, each a valid glob.
#[derive(Debug, Clone, Default)]
pub struct NewRule {
    pub namespace: Option<String>,
    pub image_repository: Option<String>,
    pub path: Option<String>,
    pub position: Option<i32>,
}

#[cfg(feature = "ssr")]
pub use db::{RuleError, add_rule, compile};

#[cfg(feature = "ssr")]
pub mod db {
    use globset::{Glob, GlobMatcher};
    use sqlx::{PgConnection, PgPool};

    use super::{NewRule, RoutingRule};

    /// A glob as the rules use it: `*` crosses `/` (so `payments-*` and `team/*` both work as
    /// people expect); `?`, `[…]` and `{a,b}` as usual.
    pub fn compile(pattern: &str) -> Result<GlobMatcher, globset::Error> {
        Ok(Glob::new(pattern)?.compile_matcher())
    }

    #[derive(Debug, thiserror::Error)]
    pub enum RuleError {
        #[error("a routing rule needs at least one of: namespace, image repository, path")]
        NoPattern,
        #[error("invalid {field} pattern '{pattern}': {source}")]
        BadPattern {
            field: &'static str,
            pattern: String,
            source: globset::Error,
        },
        #[error("a rule's position is 0 to 100000")]
        BadPosition,
        #[error(transparent)]
        Db(#[from] sqlx::Error),
    }

    impl RuleError {
        /// The form field the error is about, for a 400 that names it.
        pub fn field(&self) -> &'static str {
            match self {
                RuleError::NoPattern => "namespace",
                RuleError::BadPattern { field, .. } => match *field {
                    "image repository" => "image_repository",
                    other => other,
                },
                RuleError::BadPosition => "position",
                RuleError::Db(_) => "",
            }
        }
    }

    /// Adds a rule sending matching findings to `project_id`. It belongs to the project's
    /// team (so that team's tokens use it); a project without a team gets an estate-wide
    /// rule, which only cluster-wide tokens use. Audited, as `actor` (none: the CLI).
    pub async fn add_rule(
        pool: &PgPool,
        actor: Option<i64>,
        project_id: i64,
        rule: &NewRule,
    ) -> Result<i64, RuleError> {
        let fields = [
            ("namespace", &rule.namespace),
            ("image repository", &rule.image_repository),
            ("path", &rule.path),
        ];
        let clean = |p: &Option<String>| {
            p.as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
        };
        if fields.iter().all(|(_, p)| clean(p).is_none()) {
            return Err(RuleError::NoPattern);
        }
        for (field, pattern) in fields {
            if let Some(pattern) = clean(pattern) {
                compile(&pattern).map_err(|source| RuleError::BadPattern {
                    field,
                    pattern,
                    source,
                })?;
            }
        }
        if rule.position.is_some_and(|p| !(0..=100_000).contains(&p)) {
            return Err(RuleError::BadPosition);
        }
        let mut tx = pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO routing_rules (team_id, position, namespace, image_repository, path, project_id)
             SELECT team_id, coalesce($2, 100), $3, $4, $5, id FROM projects WHERE id = $1
             RETURNING id",
        )
        .bind(project_id)
        .bind(rule.position)
        .bind(clean(&rule.namespace))
        .bind(clean(&rule.image_repository))
        .bind(clean(&rule.path))
        .fetch_one(&mut *tx)
        .await?;
        let after = rule_json(&mut tx, id).await?;
        crate::audit::record(
            &mut tx,
            crate::audit::Event::new("routing_rule", id, "created")
                .by(actor)
                .in_project(Some(project_id))
                .after(after),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Removes a rule of `project_id`; false when it has no such rule. Audited.
    pub async fn remove_rule(
        pool: &PgPool,
        actor: Option<i64>,
        project_id: i64,
        rule_id: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let before = rule_json(&mut tx, rule_id).await?;
        let removed = sqlx::query("DELETE FROM routing_rules WHERE id = $1 AND project_id = $2")
            .bind(rule_id)
            .bind(project_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed == 0 {
            return Ok(false);
        }
        crate::audit::record(
            &mut tx,
            crate::audit::Event::new("routing_rule", rule_id, "deleted")
                .by(actor)
                .in_project(Some(project_id))
                .before(before),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The rules sending findings to `project_id`, in the order they are tried.
    pub async fn rules_of(pool: &PgPool, project_id: i64) -> Result<Vec<RoutingRule>, sqlx::Error> {
        sqlx::query_as(
            "SELECT r.id, r.position, r.namespace, r.image_repository, r.path, t.slug AS team
               FROM routing_rules r LEFT JOIN teams t ON t.id = r.team_id
              WHERE r.project_id = $1
              ORDER BY r.position, r.id",
        )
        .bind(project_id)
        .fetch_all(pool)
        .await
    }

    /// A rule as the audit trail records it.
    async fn rule_json(
        conn: &mut PgConnection,
        id: i64,
    ) -> Result<Option<serde_json::Value>, sqlx::Error> {
        sqlx::query_scalar("SELECT to_jsonb(r) - 'created_at' FROM routing_rules r WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await
    }
}
