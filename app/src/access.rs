//! Who may see and do what on which project. A person's role on a project is their role in
//! the team that owns it; admins are admins everywhere, and security engineers given every
//! team are security everywhere. What each role may do is [`crate::workflow::allowed`].
//!
//! Every server function that touches a project asks [`require`] (or, given a finding,
//! [`require_on_finding`]) first. A project the
//! person has no role on answers like one that does not exist, so names do not leak.

use crate::error::AppError;

use crate::auth::CurrentUser;
use crate::domain::FindingState;
use crate::workflow::{Action, Role};

/// The signed-in user's role on a project, if they have one, after checking `action` is
/// allowed for it. Errors read well in a page: "Sign in required.", "No such project.",
/// "Your role (viewer) may not …".
pub async fn require(
    project_slug: &str,
    action: Action,
) -> Result<(CurrentUser, i64, Role), AppError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    let found = db::role_on_project(&ctx.pool, user.id, project_slug).await?;
    let Some((project_id, role)) = found else {
        log_denied(user.id, action_name(action), project_slug);
        return Err(AppError::not_found("No such project."));
    };
    check(user.id, role, action, project_slug)?;
    Ok((user, project_id, role))
}

/// A finding the signed-in user may act on, with what the server functions need of it.
pub struct FindingAccess {
    pub user: CurrentUser,
    pub project_slug: String,
    pub state: FindingState,
    pub role: Role,
}

/// [`require`] for the project of a finding. A finding of a project the person has no
/// role on answers "No such finding." (404), exactly like a missing one.
pub async fn require_on_finding(
    finding_id: i64,
    action: Action,
) -> Result<FindingAccess, AppError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    let missing = || {
        log_denied(
            user.id,
            action_name(action),
            &format!("finding {finding_id}"),
        );
        AppError::not_found("No such finding.")
    };
    let (project_slug, state) = crate::triage::db::finding_project(&ctx.pool, finding_id)
        .await?
        .ok_or_else(missing)?;
    let (_, role) = db::role_on_project(&ctx.pool, user.id, &project_slug)
        .await?
        .ok_or_else(missing)?;
    check(user.id, role, action, &format!("finding {finding_id}"))?;
    Ok(FindingAccess {
        user,
        project_slug,
        state,
        role,
    })
}

/// One finding of a batch, with the signed-in person's role on its project.
pub struct BatchFinding {
    pub id: i64,
    pub project_slug: String,
    pub state: FindingState,
    pub role: Role,
}

/// [`require_on_finding`] for many findings, in one query. Any finding that is missing or
/// on a project the person has no role on makes the whole batch 404, and any the role may
/// not `action` makes it 403: a batch is never done in part for lack of rights.
pub async fn require_on_findings(
    ids: &[i64],
    action: Action,
) -> Result<(CurrentUser, Vec<BatchFinding>), AppError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    let found = db::roles_on_findings(&ctx.pool, user.id, ids).await?;
    let visible: Vec<BatchFinding> = found
        .into_iter()
        .filter_map(|(id, project_slug, state, role)| {
            Some(BatchFinding {
                id,
                project_slug,
                state,
                role: role?.parse().ok()?,
            })
        })
        .collect();
    if visible.len() < ids.len() {
        let missing = ids.len() - visible.len();
        log_denied(
            user.id,
            action_name(action),
            &format!("{missing} findings of a batch"),
        );
        return Err(AppError::not_found(format!(
            "{missing} of the selected findings do{} not exist or are not visible to you.",
            if missing == 1 { "es" } else { "" }
        )));
    }
    for finding in &visible {
        check(
            user.id,
            finding.role,
            action,
            &format!("finding {}", finding.id),
        )?;
    }
    Ok((user, visible))
}

/// An authorisation failure, as a structured `bosun::security` event: who, what they tried,
/// on what. (The answer they get says no more than "no such …" or "your role may not".)
pub fn log_denied(user_id: i64, action: &str, on: &str) {
    // `on` may be what the person typed: bounded, and escaped so it cannot forge log lines
    let on: String = on.chars().take(100).flat_map(char::escape_debug).collect();
    tracing::warn!(target: "bosun::security", event = "authorisation_denied", user_id, action, on);
}

fn action_name(action: Action) -> &'static str {
    crate::workflow::CAPABILITIES
        .iter()
        .find(|(a, _)| *a == action)
        .map_or("", |(_, words)| words)
}

/// 403 with what the role may not do, when the capability table says no.
fn check(user_id: i64, role: Role, action: Action, on: &str) -> Result<(), AppError> {
    if crate::workflow::allowed(role, action) {
        return Ok(());
    }
    log_denied(user_id, action_name(action), on);
    Err(AppError::forbidden(format!(
        "Your role ({}) may not do this: {}.",
        role.as_str(),
        crate::workflow::CAPABILITIES
            .iter()
            .find(|(a, _)| *a == action)
            .map_or("", |(_, words)| words)
            .to_lowercase()
    )))
}

pub mod db {
    use sqlx::PgPool;

    use crate::domain::FindingState;
    use crate::workflow::Role;

    /// `(project id, role)` of a user on the project with this slug; `None` when the
    /// project does not exist or the user has no role on it.
    pub async fn role_on_project(
        pool: &PgPool,
        user_id: i64,
        project_slug: &str,
    ) -> Result<Option<(i64, Role)>, sqlx::Error> {
        if !crate::domain::Slug::is_valid(project_slug) {
            return Ok(None);
        }
        let row: Option<(i64, Option<String>)> = sqlx::query_as(&format!(
            "SELECT p.id, {ROLE}
               FROM projects p
               JOIN users u ON u.id = $1
               LEFT JOIN team_members m ON m.team_id = p.team_id AND m.user_id = u.id
              WHERE p.slug = $2"
        ))
        .bind(user_id)
        .bind(project_slug)
        .fetch_optional(pool)
        .await?;
        Ok(row.and_then(|(id, role)| Some((id, role?.parse().ok()?))))
    }

    /// A user `u`'s role on a project `p`, given their membership `m` of its team (NULL:
    /// none): admins are admin and all-teams security engineers security everywhere.
    pub const ROLE: &str = "CASE WHEN u.is_admin THEN 'admin'
                             WHEN u.security_all_teams THEN 'security'
                             ELSE m.role::text END";

    /// Each finding of `ids` that exists, with its project, state and the user's role there
    /// (`None`: no role, so they may not see it).
    pub async fn roles_on_findings(
        pool: &PgPool,
        user_id: i64,
        ids: &[i64],
    ) -> Result<Vec<(i64, String, FindingState, Option<String>)>, sqlx::Error> {
        sqlx::query_as(&format!(
            "SELECT f.id, p.slug, f.state, {ROLE}
               FROM findings f
               JOIN projects p ON p.id = f.project_id
               JOIN users u ON u.id = $1
               LEFT JOIN team_members m ON m.team_id = p.team_id AND m.user_id = u.id
              WHERE f.id = ANY($2)"
        ))
        .bind(user_id)
        .bind(ids)
        .fetch_all(pool)
        .await
    }

    /// SQL condition (on a `projects p` in scope) for the projects a user may view; `user`
    /// is an SQL expression for their id: a parameter such as `$1`, or a column.
    pub fn project_visible_to(user: &str) -> String {
        format!(
            "(EXISTS (SELECT 1 FROM users vu WHERE vu.id = {user}
                                           AND (vu.is_admin OR vu.security_all_teams))
              OR EXISTS (SELECT 1 FROM team_members vm
                          WHERE vm.team_id = p.team_id AND vm.user_id = {user}))"
        )
    }
}
