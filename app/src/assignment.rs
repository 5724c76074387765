//! Assignment: who works on a finding. New findings go to their project's owning team (and
//! its default assignee); anyone who may assign can hand a finding to a person with a role
//! on its project, or to a team. "My work" lists what is assigned to the signed-in person.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;

use crate::domain::FindingSummary;
use crate::layout::{AppHeader, ErrorAlert};
use crate::ui::{EmptyState, NoTeamYet, PageHeader};

/// Assigns a finding: `user` is an email, `team` a slug; leave both empty to unassign.
#[server(endpoint = "assign")]
pub async fn assign(
    finding_id: i64,
    user: Option<String>,
    team: Option<String>,
) -> Result<(), AppError> {
    let finding =
        crate::access::require_on_finding(finding_id, crate::workflow::Action::Assign).await?;
    let (actor, slug) = (finding.user, finding.project_slug);
    let ctx = crate::server_context::server_context()?;
    let (user_id, team_id) =
        resolve_assignee(&ctx.pool, user, team, std::slice::from_ref(&slug)).await?;
    db::set(&ctx.pool, &[finding_id], user_id, team_id, None, actor.id).await?;
    Ok(())
}

/// The person (an email) and team (a slug) to assign to, as ids; empty means nobody. The
/// person must have a role on every one of `projects`, so nothing lands with someone who
/// cannot see it.
#[cfg(feature = "ssr")]
pub async fn resolve_assignee(
    pool: &sqlx::PgPool,
    user: Option<String>,
    team: Option<String>,
    projects: &[String],
) -> Result<(Option<i64>, Option<i64>), AppError> {
    let user = user
        .map(|u| u.trim().to_lowercase())
        .filter(|u| !u.is_empty());
    let team = team
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty());
    let user_id = match &user {
        None => None,
        Some(email) => {
            let id: Option<i64> =
                sqlx::query_scalar!("SELECT id FROM users WHERE email = $1", email)
                    .fetch_optional(pool)
                    .await?;
            let not_on = |project: &str| {
                AppError::invalid(format!(
                    "{email} is not someone with a role on project {project}."
                ))
            };
            let Some(id) = id else {
                return Err(not_on(projects.first().map_or("", String::as_str)));
            };
            for project in projects {
                if crate::access::db::role_on_project(pool, id, project)
                    .await?
                    .is_none()
                {
                    return Err(not_on(project));
                }
            }
            Some(id)
        }
    };
    let team_id = match &team {
        None => None,
        Some(slug) => Some(
            sqlx::query_scalar!("SELECT id FROM teams WHERE slug = $1", slug)
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| AppError::invalid(format!("No team '{slug}'.")))?,
        ),
    };
    Ok((user_id, team_id))
}

/// Open findings assigned to the signed-in person, newest first.
#[server(endpoint = "my_work")]
pub async fn my_work() -> Result<Vec<FindingSummary>, AppError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    Ok(db::assigned_to(&ctx.pool, user.id).await?)
}

#[cfg(feature = "ssr")]
pub mod db {
    use sqlx::PgPool;

    use crate::domain::FindingSummary;

    /// Assigns the findings to a person and/or team (both `None`: unassigned), with one
    /// audit event each and the new assignees' notifications ([`crate::outbox`]), in one
    /// statement.
    pub async fn set(
        pool: &PgPool,
        finding_ids: &[i64],
        user_id: Option<i64>,
        team_id: Option<i64>,
        reason: Option<&str>,
        actor: i64,
    ) -> Result<(), sqlx::Error> {
        let queue = crate::outbox::QUEUE;
        sqlx::query(&format!(
            "WITH old AS (
                SELECT id, project_id, assignee_user_id, assignee_team_id FROM findings
                 WHERE id = ANY($1) ORDER BY id FOR UPDATE
             ), changed AS (
                UPDATE findings f SET assignee_user_id = $2, assignee_team_id = $3
                  FROM old WHERE f.id = old.id
                RETURNING f.id
             ), audited AS (
                INSERT INTO audit_events (actor_user_id, project_id, subject_type, subject_id,
                                          action, before, after, reason)
                SELECT $4, old.project_id, 'finding', old.id, 'assigned',
                       jsonb_build_object('user_id', old.assignee_user_id,
                                          'team_id', old.assignee_team_id),
                       jsonb_build_object('user_id', $2::int8, 'team_id', $3::int8), $5
                  FROM old JOIN changed ON changed.id = old.id
                RETURNING id, project_id, subject_id
             )
             {queue}
             SELECT 'assigned', r.user_id, r.team_id, $4, a.id, a.project_id, a.subject_id
               FROM audited a
               JOIN old ON old.id = a.subject_id
              CROSS JOIN LATERAL (VALUES ($2::int8, NULL::int8), (NULL::int8, $3::int8))
                    AS r(user_id, team_id)
              WHERE (r.user_id <> $4 AND r.user_id IS DISTINCT FROM old.assignee_user_id)
                 OR r.team_id IS DISTINCT FROM old.assignee_team_id AND r.team_id IS NOT NULL"
        ))
        .bind(finding_ids)
        .bind(user_id)
        .bind(team_id)
        .bind(actor)
        .bind(reason)
        .execute(pool)
        .await?;
        Ok(())
    }

    pub async fn assigned_to(
        pool: &PgPool,
        user_id: i64,
    ) -> Result<Vec<FindingSummary>, sqlx::Error> {
        let visible = crate::access::db::project_visible_to("$1");
        let select = crate::findings::db::summary_select();
        // most urgent first: what is due soonest, then what has no SLA
        let rows = sqlx::query_as(&format!(
            "{select}
              WHERE f.assignee_user_id = $1 AND {visible}
                AND f.state IN ('open', 'confirmed', 'in_progress', 'reopened')
              ORDER BY due_at NULLS LAST, f.severity, f.id DESC
              LIMIT 500"
        ))
        .bind(user_id)
        .fetch_all(pool)
        .await?;
        Ok(crate::findings::db::with_sla(rows))
    }
}

#[component]
pub fn MyWorkPage() -> impl IntoView {
    let bulk = crate::bulk::Bulk::new();
    let findings = Resource::new(move || bulk.version(), |_| my_work());
    let standing = Resource::new(|| (), |_| crate::ui::my_standing());
    view! {
        <Title text="My work"/>
        <AppHeader/>
        <main class="findings my-work">
            <PageHeader title="My work" sub="Open findings assigned to you, the most urgent first."/>
            <crate::bulk::BulkBar bulk/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match findings.await {
                        Ok(rows) if rows.is_empty() => match standing.await {
                            Ok(standing) if standing.without_team() => view! { <NoTeamYet standing/> }.into_any(),
                            _ => view! { <NothingAssigned/> }.into_any(),
                        },
                        Ok(rows) => view! { <crate::findings::FindingsTable rows selection=bulk.selection/> }.into_any(),
                        Err(err) => view! { <ErrorAlert err/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

/// My work's empty state for someone on a team: why it is empty and where work comes from.
#[component]
fn NothingAssigned() -> impl IntoView {
    view! {
        <EmptyState title="Nothing is assigned to you right now" class="nothing-assigned">
            <p>
                "Findings appear here when someone assigns one to you, or when you choose "
                <strong>"Assign to me"</strong> " on a finding. Fixed, false-positive and accepted findings drop off."
            </p>
            <p>
                "Look for work in " <a href="/findings?assignee=none">"unassigned findings"</a>
                " or " <a href="/findings">"all open findings"</a> " of your projects."
            </p>
        </EmptyState>
    }
}
