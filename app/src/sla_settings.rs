//! SLA settings: the instance's days per severity and each project's overrides.
//!
//! The instance policy is set by admins and by security engineers with access to every
//! team; a project's overrides by whoever may manage policies on it (security, admin).
//! Every change is audited with its before and after. The due-date arithmetic is `sla`.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;
use serde::{Deserialize, Serialize};

use crate::layout::{AppHeader, ErrorAlert, message};
use crate::sla::{SlaOverrides, SlaPolicy};
use crate::ui::{DataTable, EmptyState, Field, PageHeader};

/// Longest SLA a form accepts (the database allows the same), about ten years.
pub const MAX_DAYS: u32 = 3650;

/// What the settings page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaSettingsView {
    pub instance: SlaPolicy,
    pub can_edit_instance: bool,
    pub projects: Vec<ProjectSla>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSla {
    pub slug: String,
    pub name: String,
    pub overrides: SlaOverrides,
    /// The instance policy with this project's overrides.
    pub effective: SlaPolicy,
    pub can_edit: bool,
}

/// The instance policy and the overrides of every project the person can see.
#[server(endpoint = "sla_settings")]
pub async fn sla_settings() -> Result<SlaSettingsView, AppError> {
    use crate::workflow::{Action, allowed};

    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    let instance = db::instance(&ctx.pool).await?;
    let projects = db::projects(&ctx.pool, user.id)
        .await?
        .into_iter()
        .map(|(slug, name, role, overrides)| ProjectSla {
            slug,
            name,
            effective: instance.with_overrides(&overrides),
            overrides,
            can_edit: role
                .and_then(|r| r.parse().ok())
                .is_some_and(|r| allowed(r, Action::ManagePolicies)),
        })
        .collect();
    Ok(SlaSettingsView {
        instance,
        can_edit_instance: db::may_edit_instance(&ctx.pool, user.id).await?,
        projects,
    })
}

/// Sets the instance's days per severity; an empty field means that severity has no SLA.
#[server(endpoint = "set_instance_sla")]
pub async fn set_instance_sla(
    critical: Option<String>,
    high: Option<String>,
    medium: Option<String>,
    low: Option<String>,
    info: Option<String>,
) -> Result<(), AppError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    if !db::may_edit_instance(&ctx.pool, user.id).await? {
        return Err(AppError::forbidden(
            "Only admins and security engineers with access to every team may change the \
             instance's SLAs.",
        ));
    }
    let policy = SlaPolicy {
        critical: days("Critical", critical)?,
        high: days("High", high)?,
        medium: days("Medium", medium)?,
        low: days("Low", low)?,
        info: days("Info", info)?,
    };
    db::save_instance(&ctx.pool, &policy, user.id).await?;
    Ok(())
}

/// Sets a project's overrides; an empty field keeps the instance's days for that severity.
#[server(endpoint = "set_project_sla")]
pub async fn set_project_sla(
    project: String,
    critical: Option<String>,
    high: Option<String>,
    medium: Option<String>,
    low: Option<String>,
    info: Option<String>,
) -> Result<(), AppError> {
    let (user, project_id, _) =
        crate::access::require(&project, crate::workflow::Action::ManagePolicies).await?;
    let ctx = crate::server_context::server_context()?;
    let overrides = SlaOverrides {
        critical: days("Critical", critical)?,
        high: days("High", high)?,
        medium: days("Medium", medium)?,
        low: days("Low", low)?,
        info: days("Info", info)?,
    };
    db::save_project(&ctx.pool, project_id, &overrides, user.id).await?;
    Ok(())
}

/// A form's days field: empty is `None`, otherwise a whole number up to [`MAX_DAYS`].
#[cfg(feature = "ssr")]
fn days(severity: &str, field: Option<String>) -> Result<Option<u32>, AppError> {
    let text = field.unwrap_or_default();
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<u32>() {
        Ok(days) if days <= MAX_DAYS => Ok(Some(days)),
        _ => Err(AppError::invalid(format!(
            "{severity}: '{}' is not a whole number of days from 0 to {MAX_DAYS}.",
            text.chars().take(20).collect::<String>()
        ))),
    }
}

#[cfg(feature = "ssr")]
pub mod db {
    use sqlx::PgPool;
    use sqlx::types::Json;

    use crate::domain::Severity;
    use crate::sla::{SlaOverrides, SlaPolicy};

    /// Days per severity, as `sla_policy` and `project_sla_overrides` store them.
    struct DaysRow {
        critical_days: Option<i32>,
        high_days: Option<i32>,
        medium_days: Option<i32>,
        low_days: Option<i32>,
        info_days: Option<i32>,
    }

    fn policy(row: DaysRow) -> SlaPolicy {
        let day = |d: Option<i32>| d.and_then(|d| u32::try_from(d).ok());
        SlaPolicy {
            critical: day(row.critical_days),
            high: day(row.high_days),
            medium: day(row.medium_days),
            low: day(row.low_days),
            info: day(row.info_days),
        }
    }

    fn overrides(row: DaysRow) -> SlaOverrides {
        let p = policy(row);
        SlaOverrides {
            critical: p.critical,
            high: p.high,
            medium: p.medium,
            low: p.low,
            info: p.info,
        }
    }

    fn bind_days(days: Option<u32>) -> Option<i32> {
        days.and_then(|d| i32::try_from(d).ok())
    }

    pub async fn instance(pool: &PgPool) -> Result<SlaPolicy, sqlx::Error> {
        let row = sqlx::query_as!(
            DaysRow,
            "SELECT critical_days, high_days, medium_days, low_days, info_days FROM sla_policy",
        )
        .fetch_one(pool)
        .await?;
        Ok(policy(row))
    }

    /// Admins, and security engineers with access to every team.
    pub async fn may_edit_instance(pool: &PgPool, user_id: i64) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar!(
            r#"SELECT coalesce((SELECT is_admin OR security_all_teams FROM users WHERE id = $1), false)
                        AS "may_edit!""#,
            user_id,
        )
        .fetch_one(pool)
        .await
    }

    #[derive(sqlx::FromRow)]
    struct ProjectRow {
        slug: String,
        name: String,
        role: Option<String>,
        critical_days: Option<i32>,
        high_days: Option<i32>,
        medium_days: Option<i32>,
        low_days: Option<i32>,
        info_days: Option<i32>,
    }

    /// A project's slug, name, the user's role there and its overrides.
    pub type VisibleProject = (String, String, Option<String>, SlaOverrides);

    /// Every project the user can see, with their role there and its overrides.
    pub async fn projects(pool: &PgPool, user_id: i64) -> Result<Vec<VisibleProject>, sqlx::Error> {
        let rows: Vec<ProjectRow> = sqlx::query_as(&format!(
            "SELECT p.slug, p.name, {role} AS role,
                    o.critical_days, o.high_days, o.medium_days, o.low_days, o.info_days
               FROM projects p
               JOIN users u ON u.id = $1
               LEFT JOIN team_members m ON m.team_id = p.team_id AND m.user_id = u.id
               LEFT JOIN project_sla_overrides o ON o.project_id = p.id
              WHERE {visible}
              ORDER BY p.slug",
            role = crate::access::db::ROLE,
            visible = crate::access::db::project_visible_to("$1")
        ))
        .bind(user_id)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let days = DaysRow {
                    critical_days: r.critical_days,
                    high_days: r.high_days,
                    medium_days: r.medium_days,
                    low_days: r.low_days,
                    info_days: r.info_days,
                };
                (r.slug, r.name, r.role, overrides(days))
            })
            .collect())
    }

    pub async fn save_instance(
        pool: &PgPool,
        new: &SlaPolicy,
        actor: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = pool.begin().await?;
        let before = sqlx::query_as!(
            DaysRow,
            "SELECT critical_days, high_days, medium_days, low_days, info_days
               FROM sla_policy FOR UPDATE",
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query!(
            "UPDATE sla_policy SET critical_days = $1, high_days = $2, medium_days = $3,
                    low_days = $4, info_days = $5, updated_at = now(), updated_by = $6",
            bind_days(new.critical),
            bind_days(new.high),
            bind_days(new.medium),
            bind_days(new.low),
            bind_days(new.info),
            actor,
        )
        .execute(&mut *tx)
        .await?;
        let before = policy(before);
        let changed: Vec<Severity> = Severity::ALL
            .iter()
            .copied()
            .filter(|s| before.days(*s) != new.days(*s))
            .collect();
        refresh_due_dates(&mut tx, None, &changed).await?;
        audit(&mut tx, actor, None, Json(before), Json(*new)).await?;
        tx.commit().await
    }

    /// Stores a project's overrides (none at all removes its row).
    pub async fn save_project(
        pool: &PgPool,
        project_id: i64,
        new: &SlaOverrides,
        actor: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = pool.begin().await?;
        let before = sqlx::query_as!(
            DaysRow,
            "SELECT critical_days, high_days, medium_days, low_days, info_days
               FROM project_sla_overrides WHERE project_id = $1 FOR UPDATE",
            project_id,
        )
        .fetch_optional(&mut *tx)
        .await?;
        if *new == SlaOverrides::default() {
            sqlx::query!(
                "DELETE FROM project_sla_overrides WHERE project_id = $1",
                project_id,
            )
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query!(
                "INSERT INTO project_sla_overrides (project_id, critical_days, high_days,
                        medium_days, low_days, info_days, updated_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (project_id) DO UPDATE SET critical_days = $2, high_days = $3,
                        medium_days = $4, low_days = $5, info_days = $6, updated_by = $7,
                        updated_at = now()",
                project_id,
                bind_days(new.critical),
                bind_days(new.high),
                bind_days(new.medium),
                bind_days(new.low),
                bind_days(new.info),
                actor,
            )
            .execute(&mut *tx)
            .await?;
        }
        refresh_due_dates(&mut tx, Some(project_id), Severity::ALL).await?;
        let before = before.map(overrides).unwrap_or_default();
        audit(&mut tx, actor, Some(project_id), Json(before), Json(*new)).await?;
        tx.commit().await
    }

    /// Rewrites the stored due dates (`findings.due_at`) that a policy change moved: of one
    /// project, or of every project, for findings of `severities`. One statement, in the
    /// transaction of the change, so no one reads a policy and dates that disagree.
    async fn refresh_due_dates(
        tx: &mut sqlx::PgConnection,
        project_id: Option<i64>,
        severities: &[Severity],
    ) -> Result<(), sqlx::Error> {
        if severities.is_empty() {
            return Ok(());
        }
        let due = crate::sla::sql::DUE_AT;
        // a runtime query: its SQL is built from the shared due-date fragment
        sqlx::query(&format!(
            "UPDATE findings f SET due_at = {due}
               FROM project_sla s
              WHERE s.project_id = f.project_id
                AND ($1::int8 IS NULL OR f.project_id = $1)
                AND f.severity = ANY($2::text[]::severity[])
                AND f.due_at IS DISTINCT FROM {due}"
        ))
        .bind(project_id)
        .bind(severities.iter().map(|s| s.as_str()).collect::<Vec<_>>())
        .execute(tx)
        .await?;
        Ok(())
    }

    /// One audit event for a policy change: the instance's (subject 0) or a project's.
    async fn audit<T: serde::Serialize>(
        tx: &mut sqlx::PgConnection,
        actor: i64,
        project_id: Option<i64>,
        before: Json<T>,
        after: Json<T>,
    ) -> Result<(), sqlx::Error> {
        let event = crate::audit::Event::new("sla_policy", project_id.unwrap_or(0), "sla_changed")
            .by(Some(actor))
            .in_project(project_id)
            .before(serde_json::to_value(&before.0).ok())
            .after(serde_json::to_value(&after.0).ok());
        crate::audit::record(tx, event).await
    }
}

fn field_value(days: Option<u32>) -> String {
    days.map(|d| d.to_string()).unwrap_or_default()
}

/// A severity's name as a field label: "critical" → "Critical".
fn severity_word(sev: &str) -> String {
    let mut chars = sev.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn shown(days: Option<u32>) -> String {
    days.map_or_else(|| "none".to_string(), |d| format!("{d} d"))
}

/// `/settings/sla`: the instance policy and every visible project's overrides.
#[component]
pub fn SlaSettingsPage() -> impl IntoView {
    let save_instance = ServerAction::<SetInstanceSla>::new();
    let save_project = ServerAction::<SetProjectSla>::new();
    let settings = Resource::new(
        move || save_instance.version().get() + save_project.version().get(),
        |_| sla_settings(),
    );
    let error = move || {
        save_instance
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| save_project.value().get().and_then(|r| r.err()))
            .map(|e| message(&e))
    };
    const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];
    view! {
        <Title text="SLAs"/>
        <AppHeader/>
        <main class="settings sla-settings">
            <PageHeader
                title="SLA settings"
                sub="Days allowed to fix a finding, counted from when it was first seen. The clock stops while a risk is accepted. A finding is due soon in the last fifth of its window (at most 7 days)."
            />
            <Show when=move || error().is_some()>
                <p class="notice notice-error" role="alert">{error}</p>
            </Show>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Err(err) => view! { <ErrorAlert err/> }.into_any(),
                        Ok(s) => {
                            let instance = s.instance;
                            let values = [instance.critical, instance.high, instance.medium, instance.low, instance.info];
                            view! {
                                <section class="card instance-sla">
                                    <h2 class="card-title">"Every project (instance default)"</h2>
                                    <ActionForm action=save_instance attr:class="sla-form" attr:data-scope="instance">
                                        {SEVERITIES.iter().zip(values).map(|(sev, days)| view! {
                                            <Field label=severity_word(sev)>
                                                <input type="number" min="0" max=MAX_DAYS name=*sev
                                                    value=field_value(days) placeholder="none"
                                                    disabled=!s.can_edit_instance/>
                                            </Field>
                                        }).collect_view()}
                                        <Show when=move || s.can_edit_instance>
                                            <button type="submit" class="btn btn-primary">"Save"</button>
                                        </Show>
                                    </ActionForm>
                                    {(!s.can_edit_instance).then(|| view! {
                                        <p class="muted">"Only admins change the instance's days."</p>
                                    })}
                                </section>
                                <section class="project-sla">
                                    <h2>"Projects"</h2>
                                    <p class="muted">"An empty field keeps the instance's days."</p>
                                    {s.projects.is_empty().then(|| view! {
                                        <EmptyState title="No projects you can see">
                                            <p>"Projects appear here once you are on the team that owns them."</p>
                                        </EmptyState>
                                    })}
                                    <DataTable label="Project SLAs">
                                        <thead><tr><th>"Project"</th><th>"Overrides (days)"</th><th>"In effect"</th></tr></thead>
                                        <tbody>
                                            {s.projects.into_iter().map(|p| {
                                                let o = p.overrides;
                                                let e = p.effective;
                                                let overrides = [o.critical, o.high, o.medium, o.low, o.info];
                                                let inherited = values;
                                                let effective = [e.critical, e.high, e.medium, e.low, e.info];
                                                let (slug, can_edit) = (p.slug.clone(), p.can_edit);
                                                view! {
                                                    <tr data-project=p.slug.clone()>
                                                        <td title=p.slug.clone()>{p.name.clone()}</td>
                                                        <td>
                                                            <ActionForm action=save_project attr:class="sla-form">
                                                                <input type="hidden" name="project" value=slug.clone()/>
                                                                {SEVERITIES.iter().zip(overrides).zip(inherited).map(|((sev, days), from_instance)| view! {
                                                                    <Field label=severity_word(sev)>
                                                                        <input type="number" min="0" max=MAX_DAYS name=*sev
                                                                            value=field_value(days) placeholder=field_value(from_instance)
                                                                            disabled=!can_edit/>
                                                                    </Field>
                                                                }).collect_view()}
                                                                {can_edit.then(|| view! { <button type="submit" class="btn btn-sm">"Save"</button> })}
                                                            </ActionForm>
                                                        </td>
                                                        <td class="effective">
                                                            {SEVERITIES.iter().zip(effective).map(|(sev, days)| format!("{sev}: {}", shown(days))).collect::<Vec<_>>().join(" · ")}
                                                        </td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </DataTable>
                                </section>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </main>
    }
}
