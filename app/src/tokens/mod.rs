//! Ingest tokens: the bearer secrets CI pipelines and cluster tools push reports with.
//!
//! A token speaks for one project, for one team (its findings routed into the team's
//! projects by routing rules), or for the whole estate (a cluster-wide tool, routed by
//! every rule). It is shown once when created; only its SHA-256 is stored, with its first
//! characters so people can tell tokens apart. A token may expire, and can be revoked;
//! every creation and revocation is an audit event. The CLI (`bosun token …`) and the
//! tokens page (`/settings/tokens`) both go through [`db`].
//!
//! Who may manage which tokens follows the capability table ("Manage tokens and
//! routing"): a project's tokens need that capability on the project, a team's tokens
//! that role in the team; cluster-wide tokens, which reach every project, need an admin or
//! a security engineer given every team.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Every token starts with this, so secret scanners (and people) can recognise one.
pub const TOKEN_PREFIX: &str = "bosun_";
/// Longest token name.
pub const NAME_MAX: usize = 100;
/// The expiries the tokens page offers, in days (and "never").
pub const EXPIRY_CHOICES: &[u32] = &[30, 90, 180, 365];

/// Whom a token speaks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenScope {
    /// A project, by slug.
    Project(String),
    /// A team, by slug: routed into its projects by its rules.
    Team(String),
    /// Every project, by every routing rule.
    Cluster,
}

impl TokenScope {
    /// `project:web`, `team:shop`, `cluster`: the form value of a scope.
    pub fn key(&self) -> String {
        match self {
            TokenScope::Project(slug) => format!("project:{slug}"),
            TokenScope::Team(slug) => format!("team:{slug}"),
            TokenScope::Cluster => "cluster".to_string(),
        }
    }

    pub fn parse(key: &str) -> Option<TokenScope> {
        match key.trim().split_once(':') {
            Some(("project", slug)) if !slug.is_empty() => Some(TokenScope::Project(slug.into())),
            Some(("team", slug)) if !slug.is_empty() => Some(TokenScope::Team(slug.into())),
            None if key.trim() == "cluster" => Some(TokenScope::Cluster),
            _ => None,
        }
    }

    /// How lists name it: `project web`, `team shop`, `cluster-wide`.
    pub fn label(&self) -> String {
        match self {
            TokenScope::Project(slug) => format!("project {slug}"),
            TokenScope::Team(slug) => format!("team {slug}"),
            TokenScope::Cluster => "cluster-wide".to_string(),
        }
    }
}

/// A token as lists show it: never the secret, only its first characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub scope: TokenScope,
    /// The token's first characters (`bosun_1a2b3c`).
    pub prefix: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub created_by: Option<String>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl TokenInfo {
    /// `active`, `expired` or `revoked`, at `now`.
    pub fn status(&self, now: chrono::DateTime<chrono::Utc>) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at.is_some_and(|at| at <= now) {
            "expired"
        } else {
            "active"
        }
    }
}

/// The tokens page: the tokens the person may manage and the scopes they may create for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensView {
    pub tokens: Vec<TokenInfo>,
    pub scopes: Vec<TokenScope>,
}

/// A token just created: the secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub id: i64,
    pub token: String,
    pub scope: TokenScope,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The tokens the signed-in person may manage, newest first, and the scopes they may create
/// tokens for. Empty for people who manage none.
#[server(endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<TokensView, AppError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    let scopes = db::manageable_scopes(&ctx.pool, user.id).await?;
    let tokens = db::list(&ctx.pool, &db::Filter::All)
        .await?
        .into_iter()
        .filter(|t| scopes.contains(&t.scope))
        .collect();
    Ok(TokensView { tokens, scopes })
}

/// Creates a token for `scope` (`project:SLUG`, `team:SLUG` or `cluster`) that expires in
/// `expires_in_days` (none: never); returns the secret, shown only this once. Audited.
#[server(endpoint = "create_token")]
pub async fn create_token(
    scope: String,
    #[server(default)] name: String,
    expires_in_days: Option<String>,
) -> Result<NewToken, AppError> {
    let scope = TokenScope::parse(&scope).ok_or_else(|| {
        AppError::invalid_field("scope", "Choose a project, a team or cluster-wide.")
    })?;
    let user = require_manage(&scope).await?;
    let name = checked_name(&name)?;
    let days = match expires_in_days.as_deref().map(str::trim) {
        None | Some("") | Some("never") => None,
        Some(days) => Some(
            days.parse::<u32>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| {
                    AppError::invalid_field(
                        "expires_in_days",
                        "An expiry is 1 to 3650 days, or never.",
                    )
                })?,
        ),
    };
    let ctx = crate::server_context::server_context()?;
    let expires_at = days.map(|d| chrono::Utc::now() + chrono::Duration::days(i64::from(d)));
    let owner = db::owner_of(&ctx.pool, &scope)
        .await?
        .ok_or_else(|| not_found(&scope))?;
    let (id, token) = db::create(&ctx.pool, Some(user.id), owner, &name, expires_at).await?;
    Ok(NewToken {
        id,
        token,
        scope,
        expires_at,
    })
}

/// Revokes a token: it stops working at once. Audited.
#[server(endpoint = "revoke_token")]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    let ctx = crate::server_context::server_context()?;
    let user = crate::auth::require_user().await?;
    let token = db::find(&ctx.pool, id)
        .await?
        .ok_or_else(|| AppError::not_found("No such token."))?;
    // a token of a project the person cannot see answers like a missing one
    require_manage(&token.scope)
        .await
        .map_err(|err| match err.kind {
            crate::error::ErrorKind::NotFound => AppError::not_found("No such token."),
            _ => err,
        })?;
    match db::revoke(&ctx.pool, Some(user.id), id, "revoked on the tokens page").await? {
        true => Ok(()),
        false => Err(AppError::conflict("This token was already revoked.")),
    }
}

/// The signed-in person when they may manage tokens of `scope`; 404 for a project or team
/// they cannot see, 403 when their role may not.
#[cfg(feature = "ssr")]
async fn require_manage(scope: &TokenScope) -> Result<crate::auth::CurrentUser, AppError> {
    use crate::workflow::Action;

    match scope {
        TokenScope::Project(slug) => {
            let (user, _, _) = crate::access::require(slug, Action::ManageTokensAndRouting).await?;
            Ok(user)
        }
        TokenScope::Team(_) | TokenScope::Cluster => {
            let user = crate::auth::require_user().await?;
            let ctx = crate::server_context::server_context()?;
            if db::manageable_scopes(&ctx.pool, user.id)
                .await?
                .contains(scope)
            {
                return Ok(user);
            }
            if let TokenScope::Team(slug) = scope
                && !db::sees_team(&ctx.pool, user.id, slug).await?
            {
                return Err(not_found(scope));
            }
            crate::access::log_denied(user.id, "manage_tokens", &scope.label());
            Err(AppError::forbidden(match scope {
                TokenScope::Cluster => {
                    "Only admins and security engineers of every team may manage cluster-wide tokens."
                }
                _ => "Your role in this team may not manage its tokens.",
            }))
        }
    }
}

#[cfg(feature = "ssr")]
fn not_found(scope: &TokenScope) -> AppError {
    match scope {
        TokenScope::Project(_) => AppError::not_found("No such project."),
        _ => AppError::not_found("No such team."),
    }
}

#[cfg(feature = "ssr")]
fn checked_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    if name.chars().count() > NAME_MAX {
        return Err(AppError::invalid_field(
            "name",
            format!("A token's name has at most {NAME_MAX} characters."),
        ));
    }
    Ok(name.to_string())
}

#[cfg(feature = "ssr")]
pub mod db;
mod page;

pub use page::TokensPage;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_their_form_value() {
        for scope in [
            TokenScope::Project("web".into()),
            TokenScope::Team("shop".into()),
            TokenScope::Cluster,
        ] {
            assert_eq!(TokenScope::parse(&scope.key()), Some(scope));
        }
        assert_eq!(TokenScope::parse("project:"), None);
        assert_eq!(TokenScope::parse("estate"), None);
    }

    #[test]
    fn a_token_is_active_until_it_expires_or_is_revoked() {
        let now = chrono::Utc::now();
        let mut t = TokenInfo {
            id: 1,
            name: String::new(),
            scope: TokenScope::Cluster,
            prefix: "bosun_abcdef".into(),
            created_at: now,
            created_by: None,
            expires_at: Some(now + chrono::Duration::days(1)),
            last_used_at: None,
            revoked_at: None,
        };
        assert_eq!(t.status(now), "active");
        t.expires_at = Some(now);
        assert_eq!(t.status(now), "expired");
        t.revoked_at = Some(now);
        assert_eq!(t.status(now), "revoked");
    }
}
