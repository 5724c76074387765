//! Routing rules: which project a finding from a team-wide or cluster-wide token lands in.
//!
//! One Trivy Operator, Kubescape, kube-bench or Falco feed covers many teams' workloads.
//! Each rule names globs over a finding's Kubernetes namespace, image repository (without
//! tag or digest, so re-tags route the same way) and file path, and the project that
//! matching findings belong to. Rules are tried in order (position, then id); the first
//! whose every pattern matches wins. A finding no rule matches is not stored; the upload
//! response counts it as `unrouted`, so the sender can tell a rule is missing.

use globset::GlobMatcher;

/// Rules are kept (added, removed, audited) by the app's store, shared with the settings page.
pub use app::routing::{NewRule, RuleError, add_rule, compile};
use sqlx::PgConnection;

use super::NewFinding;
use super::normalize::image_repository;

/// A project a routed report may write into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub project_id: i64,
    pub project_slug: String,
}

/// A routing rule as stored.
#[derive(Debug, Clone)]
pub struct RuleRow {
    pub id: i64,
    pub namespace: Option<String>,
    pub image_repository: Option<String>,
    pub path: Option<String>,
    pub project_id: i64,
    pub project_slug: String,
}

struct Rule {
    namespace: Option<GlobMatcher>,
    image_repository: Option<GlobMatcher>,
    path: Option<GlobMatcher>,
    destination: usize,
}

/// The compiled rules of one token.
pub struct Router {
    rules: Vec<Rule>,
    destinations: Vec<Destination>,
}

impl Router {
    pub fn new(rows: Vec<RuleRow>) -> Router {
        let mut destinations: Vec<Destination> = Vec::new();
        let mut rules = Vec::new();
        for row in rows {
            // patterns were checked when the rule was made; one that no longer compiles
            // (say, after a globset upgrade) matches nothing rather than everything
            let glob = |p: &Option<String>| p.as_deref().map(|p| compile(p).ok());
            let (namespace, image_repository, path) = (
                glob(&row.namespace),
                glob(&row.image_repository),
                glob(&row.path),
            );
            if [&namespace, &image_repository, &path]
                .iter()
                .any(|g| matches!(g, Some(None)))
            {
                tracing::warn!(
                    rule = row.id,
                    "routing rule has an invalid pattern; skipped"
                );
                continue;
            }
            let destination = match destinations
                .iter()
                .position(|d| d.project_id == row.project_id)
            {
                Some(i) => i,
                None => {
                    destinations.push(Destination {
                        project_id: row.project_id,
                        project_slug: row.project_slug.clone(),
                    });
                    destinations.len() - 1
                }
            };
            rules.push(Rule {
                namespace: namespace.flatten(),
                image_repository: image_repository.flatten(),
                path: path.flatten(),
                destination,
            });
        }
        Router {
            rules,
            destinations,
        }
    }

    /// Every project this router can send findings to: a complete scan speaks for all of
    /// them, so each gets a scan row and may have missing findings closed.
    pub fn destinations(&self) -> &[Destination] {
        &self.destinations
    }

    /// The index (into [`Router::destinations`]) of the project a finding belongs to.
    pub fn route(&self, f: &NewFinding) -> Option<usize> {
        let repository = f.image.as_deref().map(image_repository);
        let matches = |glob: &Option<GlobMatcher>, value: Option<&str>| match glob {
            None => true,
            Some(g) => value.is_some_and(|v| g.is_match(v)),
        };
        self.rules
            .iter()
            .find(|r| {
                matches(&r.namespace, f.k8s_namespace.as_deref())
                    && matches(&r.image_repository, repository.as_deref())
                    && matches(&r.path, f.file_path.as_deref())
            })
            .map(|r| r.destination)
    }
}

/// The rules a token routes by: a team token uses its team's rules, a cluster-wide token
/// every rule.
pub async fn rules_for(
    conn: &mut PgConnection,
    team_id: Option<i64>,
) -> Result<Vec<RuleRow>, sqlx::Error> {
    sqlx::query_as!(
        RuleRow,
        "SELECT r.id, r.namespace, r.image_repository, r.path, r.project_id,
                p.slug AS project_slug
           FROM routing_rules r JOIN projects p ON p.id = r.project_id
          WHERE $1::int8 IS NULL OR r.team_id = $1
          ORDER BY r.position, r.id",
        team_id,
    )
    .fetch_all(conn)
    .await
}

/// A rule as `bosun route list` shows it.
#[derive(Debug, Clone)]
pub struct RuleListing {
    pub id: i64,
    pub team: Option<String>,
    pub position: i32,
    pub namespace: Option<String>,
    pub image_repository: Option<String>,
    pub path: Option<String>,
    pub project: String,
}

/// Every rule, in the order they are tried.
pub async fn list_rules(pool: &sqlx::PgPool) -> Result<Vec<RuleListing>, sqlx::Error> {
    // `team?`: sqlx infers the LEFT JOINed slug as NOT NULL, but an estate-wide rule has none
    sqlx::query_as!(
        RuleListing,
        r#"SELECT r.id, t.slug AS "team?", r.position, r.namespace, r.image_repository, r.path,
                p.slug AS project
           FROM routing_rules r JOIN projects p ON p.id = r.project_id
           LEFT JOIN teams t ON t.id = r.team_id
          ORDER BY r.position, r.id"#,
    )
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::{Layer, Severity};

    fn rule(
        id: i64,
        ns: Option<&str>,
        image: Option<&str>,
        path: Option<&str>,
        project: i64,
    ) -> RuleRow {
        RuleRow {
            id,
            namespace: ns.map(str::to_string),
            image_repository: image.map(str::to_string),
            path: path.map(str::to_string),
            project_id: project,
            project_slug: format!("p{project}"),
        }
    }

    fn finding(ns: Option<&str>, image: Option<&str>, path: Option<&str>) -> NewFinding {
        let mut f = NewFinding::new([0; 32], Layer::Image, Severity::High, "t");
        f.k8s_namespace = ns.map(str::to_string);
        f.image = image.map(str::to_string);
        f.file_path = path.map(str::to_string);
        f
    }

    #[test]
    fn first_matching_rule_wins_and_every_pattern_must_match() {
        let router = Router::new(vec![
            rule(1, Some("payments"), Some("registry.io/pay/*"), None, 10),
            rule(2, Some("payments*"), None, None, 20),
            rule(3, None, Some("registry.io/shop/*"), None, 30),
            rule(4, None, None, Some("services/search/**"), 40),
        ]);
        let project = |f: &NewFinding| router.route(f).map(|i| router.destinations()[i].project_id);
        assert_eq!(
            project(&finding(
                Some("payments"),
                Some("registry.io/pay/api:1.2@sha256:ab"),
                None
            )),
            Some(10)
        );
        // rule 1 needs both; the namespace alone falls through to rule 2
        assert_eq!(
            project(&finding(Some("payments"), Some("other/img:1"), None)),
            Some(20)
        );
        assert_eq!(
            project(&finding(Some("payments-staging"), None, None)),
            Some(20)
        );
        // a re-tag routes the same way; a registry port is not a tag
        assert_eq!(
            project(&finding(None, Some("registry.io/shop/web:2.0"), None)),
            Some(30)
        );
        assert_eq!(
            project(&finding(None, Some("registry.io/shop/web:3.1"), None)),
            Some(30)
        );
        assert_eq!(
            project(&finding(None, None, Some("services/search/src/main.rs"))),
            Some(40)
        );
        assert_eq!(
            project(&finding(Some("kube-system"), None, Some("docs/x.md"))),
            None
        );
        assert_eq!(router.destinations().len(), 4);
    }

    #[test]
    fn a_rule_with_a_broken_pattern_matches_nothing() {
        let router = Router::new(vec![rule(1, Some("[unclosed"), None, None, 10)]);
        assert_eq!(router.route(&finding(Some("[unclosed"), None, None)), None);
        assert!(router.destinations().is_empty());
    }
}
