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
use crate::layout::{AppHeader, message};

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
pub mod db {
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
            TokenScope::Team(slug) => {
                sqlx::query_scalar!("SELECT id FROM teams WHERE slug = $1", slug)
                    .fetch_optional(pool)
                    .await?
                    .map(TokenOwner::Team)
            }
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

    const SELECT: &str =
        "SELECT t.id, t.name, t.prefix, t.created_at, t.expires_at, t.last_used_at,
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
            .filter(|r| {
                crate::workflow::allowed(**r, crate::workflow::Action::ManageTokensAndRouting)
            })
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
}

/// `/settings/tokens`: the person's manageable tokens, creating one (shown once) and
/// revoking.
#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let view_data = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let created = move || {
        create.value().get().map(|result| match result {
            Ok(new) => view! {
                <div class="invite-link new-token" role="status">
                    <p>
                        {format!(
                            "New token for {}{}. Store it as a CI secret now: it is shown only this once.",
                            new.scope.label(),
                            new.expires_at
                                .map(|at| format!(", expires {}", at.format("%Y-%m-%d")))
                                .unwrap_or_default()
                        )}
                    </p>
                    <input type="text" readonly class="invite-url token-secret" aria-label="New token" value=new.token/>
                </div>
            }
            .into_any(),
            Err(err) => view! { <p class="error" role="alert">{message(&err)}</p> }.into_any(),
        })
    };
    let revoke_error = move || {
        revoke
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| view! { <p class="error" role="alert">{message(&e)}</p> })
    };
    view! {
        <AppHeader/>
        <main class="admin tokens">
            <h1>"Ingest tokens"</h1>
            <p class="muted">
                "CI pipelines and cluster tools push reports with these. A project token writes to its project; a team or cluster-wide token routes findings by routing rules."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let data = match view_data.await {
                        Ok(data) => data,
                        Err(err) => return view! { <p class="error" role="alert">{message(&err)}</p> }.into_any(),
                    };
                    if data.scopes.is_empty() {
                        return view! {
                            <p class="empty">
                                "Your role does not manage tokens of any project. Ops and security engineers of a team, and admins, do."
                            </p>
                        }
                        .into_any();
                    }
                    let now = chrono::Utc::now();
                    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                        t.map_or("—".to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
                    };
                    view! {
                        <section class="create-token">
                            <h2>"Create a token"</h2>
                            <ActionForm action=create attr:class="inline-form">
                                <select name="scope" aria-label="For">
                                    {data.scopes.iter().map(|s| view! {
                                        <option value=s.key()>{s.label()}</option>
                                    }).collect_view()}
                                </select>
                                <input type="text" name="name" placeholder="What uses it (e.g. GitHub Actions)" aria-label="Name" maxlength=NAME_MAX/>
                                <select name="expires_in_days" aria-label="Expires">
                                    {EXPIRY_CHOICES.iter().map(|d| view! {
                                        <option value=d.to_string() selected=*d == 90>{format!("expires in {d} days")}</option>
                                    }).collect_view()}
                                    <option value="never">"never expires"</option>
                                </select>
                                <button type="submit" disabled=move || create.pending().get()>"Create token"</button>
                            </ActionForm>
                            {created}
                        </section>
                        {revoke_error}
                        <section>
                            <h2>"Tokens"</h2>
                            {if data.tokens.is_empty() {
                                view! { <p class="muted">"None yet."</p> }.into_any()
                            } else {
                                view! {
                                    <table class="admin-table tokens-table">
                                        <thead><tr>
                                            <th>"Name"</th><th>"For"</th><th>"Starts with"</th><th>"Created"</th>
                                            <th>"Expires"</th><th>"Last used"</th><th>"Status"</th><th></th>
                                        </tr></thead>
                                        <tbody>
                                            {data.tokens.into_iter().map(|t| {
                                                let status = t.status(now);
                                                view! {
                                                    <tr data-token=t.id>
                                                        <td>{if t.name.is_empty() { "—".to_string() } else { t.name.clone() }}</td>
                                                        <td>{t.scope.label()}</td>
                                                        <td><code>{format!("{}…", t.prefix)}</code></td>
                                                        <td class="when">{when(Some(t.created_at))}
                                                            {t.created_by.clone().map(|by| view! { <br/><span class="muted">{by}</span> })}
                                                        </td>
                                                        <td class="when">{t.expires_at.map_or("never".to_string(), |at| at.format("%Y-%m-%d %H:%M").to_string())}</td>
                                                        <td class="when">{when(t.last_used_at)}</td>
                                                        <td><span class=format!("token-status token-{status}")>{status}</span></td>
                                                        <td>
                                                            {(status != "revoked").then(|| view! {
                                                                <ActionForm action=revoke attr:class="inline">
                                                                    <input type="hidden" name="id" value=t.id/>
                                                                    <button type="submit">"Revoke"</button>
                                                                </ActionForm>
                                                            })}
                                                        </td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                        </section>
                    }
                    .into_any()
                })}
            </Transition>
        </main>
    }
}

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
