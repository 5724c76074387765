//! Assignment: who works on a finding. New findings go to their project's owning team (and
//! its default assignee); anyone who may assign can hand a finding to a person with a role
//! on its project, or to a team. "My work" lists what is assigned to the signed-in person.

use leptos::prelude::*;

use crate::domain::FindingSummary;
use crate::layout::AppHeader;

/// Assigns a finding: `user` is an email, `team` a slug; leave both empty to unassign.
#[server(endpoint = "assign")]
pub async fn assign(
    finding_id: i64,
    user: Option<String>,
    team: Option<String>,
) -> Result<(), ServerFnError> {
    use crate::access::fail;
    use http::StatusCode;

    let finding =
        crate::access::require_on_finding(finding_id, crate::workflow::Action::Assign).await?;
    let (actor, slug) = (finding.user, finding.project_slug);
    let ctx = crate::server_context::server_context()?;
    let user = user
        .map(|u| u.trim().to_lowercase())
        .filter(|u| !u.is_empty());
    let team = team
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty());
    let user_id = match &user {
        None => None,
        Some(email) => {
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                .bind(email)
                .fetch_optional(&ctx.pool)
                .await?;
            let on_project = match id {
                Some(id) => crate::access::db::role_on_project(&ctx.pool, id, &slug)
                    .await?
                    .is_some(),
                None => false,
            };
            if !on_project {
                return Err(fail(
                    StatusCode::BAD_REQUEST,
                    &format!("{email} is not someone with a role on this project."),
                ));
            }
            id
        }
    };
    let team_id = match &team {
        None => None,
        Some(slug) => Some(
            sqlx::query_scalar::<_, i64>("SELECT id FROM teams WHERE slug = $1")
                .bind(slug)
                .fetch_optional(&ctx.pool)
                .await?
                .ok_or_else(|| fail(StatusCode::BAD_REQUEST, &format!("No team '{slug}'.")))?,
        ),
    };
    db::set(&ctx.pool, finding_id, user_id, team_id, actor.id).await?;
    Ok(())
}

/// Open findings assigned to the signed-in person, newest first.
#[server(endpoint = "my_work")]
pub async fn my_work() -> Result<Vec<FindingSummary>, ServerFnError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    Ok(db::assigned_to(&ctx.pool, user.id).await?)
}

#[cfg(feature = "ssr")]
pub mod db {
    use sqlx::PgPool;

    use crate::domain::FindingSummary;

    pub async fn set(
        pool: &PgPool,
        finding_id: i64,
        user_id: Option<i64>,
        team_id: Option<i64>,
        actor: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "WITH old AS (
                SELECT id, project_id, assignee_user_id, assignee_team_id FROM findings
                 WHERE id = $1 FOR UPDATE
             ), changed AS (
                UPDATE findings f SET assignee_user_id = $2, assignee_team_id = $3
                  FROM old WHERE f.id = old.id
                RETURNING f.id
             )
             INSERT INTO audit_events (actor_user_id, project_id, subject_type, subject_id, action,
                                       before, after)
             SELECT $4, old.project_id, 'finding', old.id, 'assigned',
                    jsonb_build_object('user_id', old.assignee_user_id, 'team_id', old.assignee_team_id),
                    jsonb_build_object('user_id', $2::int8, 'team_id', $3::int8)
               FROM old JOIN changed ON changed.id = old.id",
        )
        .bind(finding_id)
        .bind(user_id)
        .bind(team_id)
        .bind(actor)
        .execute(pool)
        .await?;
        Ok(())
    }

    pub async fn assigned_to(
        pool: &PgPool,
        user_id: i64,
    ) -> Result<Vec<FindingSummary>, sqlx::Error> {
        let visible = crate::access::db::VISIBLE_PROJECT;
        sqlx::query_as(&format!(
            "SELECT f.id, p.slug AS project_slug, p.name AS project_name, f.severity, f.layer,
                    f.state, f.title, f.rule_id, f.location, f.scanner, f.first_seen_at,
                    f.last_seen_at
               FROM findings f JOIN projects p ON p.id = f.project_id
              WHERE f.assignee_user_id = $1 AND {visible}
                AND f.state IN ('open', 'confirmed', 'in_progress', 'reopened')
              ORDER BY f.severity, f.first_seen_at DESC, f.id DESC
              LIMIT 500"
        ))
        .bind(user_id)
        .fetch_all(pool)
        .await
    }
}

#[component]
pub fn MyWorkPage() -> impl IntoView {
    let findings = Resource::new(|| (), |_| my_work());
    view! {
        <AppHeader/>
        <main class="findings my-work">
            <h1>"My work"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match findings.await {
                        Ok(rows) => view! { <crate::findings::FindingsTable rows/> }.into_any(),
                        Err(err) => view! { <p class="error" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}
