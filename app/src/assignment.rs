//! Assignment: who works on a finding. New findings go to their project's owning team (and
//! its default assignee); anyone who may assign can hand a finding to a person who may work
//! on its project (see [`WORKS_ON_FINDINGS`]), or to a team. The finding page offers them
//! in a picker ([`assignable`], [`AssignPanel`]); "my work" ([`crate::my_work`]) lists what
//! is assigned to the signed-in person.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::ui::{Field, SubmitButton, Tone};
use crate::workflow::{Action, Role};

/// What a person's role must allow for findings to be assigned to them: working on a
/// finding is moving it through its states. Viewers may not, so they are never assignees.
pub const WORKS_ON_FINDINGS: Action = Action::ChangeState;

/// Most people the picker lists; a project with more offers a typed email instead.
pub const PICKER_MAX: usize = 500;

/// The roles that may be assigned findings, as the database writes them.
pub fn working_roles() -> Vec<&'static str> {
    Role::ALL
        .iter()
        .filter(|role| crate::workflow::allowed(**role, WORKS_ON_FINDINGS))
        .map(|role| role.as_str())
        .collect()
}

/// Assigns a finding: `user` is an email, `team` a slug; leave both empty to unassign.
#[server(endpoint = "assign")]
pub async fn assign(
    finding_id: i64,
    user: Option<String>,
    team: Option<String>,
) -> Result<(), AppError> {
    let finding = crate::access::require_on_finding(finding_id, Action::Assign).await?;
    let (actor, slug) = (finding.user, finding.project_slug);
    let ctx = crate::server_context::server_context()?;
    let (user_id, team_id) =
        resolve_assignee(&ctx.pool, user, team, std::slice::from_ref(&slug)).await?;
    db::set(&ctx.pool, &[finding_id], user_id, team_id, None, actor.id).await?;
    Ok(())
}

/// Someone a finding can be assigned to, as the picker lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Assignee {
    pub email: String,
    pub name: String,
    pub role: String,
}

impl Assignee {
    /// "Ada Admin · ada@example.com · admin", or without the name when there is none.
    pub fn label(&self) -> String {
        if self.name.trim().is_empty() {
            format!("{} · {}", self.email, self.role)
        } else {
            format!("{} · {} · {}", self.name.trim(), self.email, self.role)
        }
    }
}

/// Whom the finding page's picker offers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickerOptions {
    /// The people who may work on the finding's project (its team's developers, ops and
    /// security engineers, all-teams security engineers and admins), by name; at most
    /// [`PICKER_MAX`].
    pub people: Vec<Assignee>,
    /// How many such people there are.
    pub total: i64,
    /// The team that owns the project, as (slug, name), when it has one.
    pub team: Option<(String, String)>,
}

/// Whom finding `finding_id` can be assigned to, for its page's picker. Anyone who may view
/// the finding may ask; a role that may not assign gets an empty answer (the page shows
/// such a person no picker).
#[server(endpoint = "assignable")]
pub async fn assignable(finding_id: i64) -> Result<PickerOptions, AppError> {
    let access = crate::access::require_on_finding(finding_id, Action::View).await?;
    if !crate::workflow::allowed(access.role, Action::Assign) {
        return Ok(PickerOptions::default());
    }
    let ctx = crate::server_context::server_context()?;
    Ok(db::assignable(&ctx.pool, &access.project_slug).await?)
}

/// The person (an email) and team (a slug) to assign to, as ids; empty means nobody. The
/// person must be someone who may work on every one of `projects` ([`WORKS_ON_FINDINGS`]),
/// so nothing lands with someone who cannot see it or act on it.
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
            // what people typed goes back to them bounded
            let shown: String = email.chars().take(100).collect();
            let id: Option<i64> =
                sqlx::query_scalar!("SELECT id FROM users WHERE email = $1", email)
                    .fetch_optional(pool)
                    .await?;
            let not_on = |project: &str| {
                AppError::invalid_field(
                    "user",
                    format!("{shown} is not someone with a role on project {project}."),
                )
            };
            let Some(id) = id else {
                return Err(not_on(projects.first().map_or("", String::as_str)));
            };
            for project in projects {
                match crate::access::db::role_on_project(pool, id, project).await? {
                    None => return Err(not_on(project)),
                    Some((_, role)) if !crate::workflow::allowed(role, WORKS_ON_FINDINGS) => {
                        return Err(AppError::invalid_field(
                            "user",
                            format!(
                                "{shown} is a {role} on project {project} and may not work on \
                                 its findings; assign one of its developers, ops or security \
                                 engineers, or an admin."
                            ),
                        ));
                    }
                    Some(_) => {}
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
                .ok_or_else(|| {
                    let slug: String = slug.chars().take(64).collect();
                    AppError::invalid_field("team", format!("No team '{slug}'."))
                })?,
        ),
    };
    Ok((user_id, team_id))
}

#[cfg(feature = "ssr")]
pub mod db {
    use sqlx::PgPool;

    use super::{Assignee, PICKER_MAX, PickerOptions};

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

    /// Whom findings of project `slug` can be assigned to: everyone whose role there
    /// ([`crate::access::db::ROLE`]) may work on findings, by name then email, at most
    /// [`PICKER_MAX`], with how many there are; and the team that owns it.
    pub async fn assignable(pool: &PgPool, slug: &str) -> Result<PickerOptions, sqlx::Error> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            person: Assignee,
            total: i64,
        }
        let role = crate::access::db::ROLE;
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT u.email, u.display_name AS name, r.role, count(*) OVER () AS total
               FROM projects p
               JOIN users u ON u.is_admin OR u.security_all_teams
                            OR u.id IN (SELECT tm.user_id FROM team_members tm
                                         WHERE tm.team_id = p.team_id)
               LEFT JOIN team_members m ON m.team_id = p.team_id AND m.user_id = u.id
              CROSS JOIN LATERAL (SELECT {role} AS role) r
              WHERE p.slug = $1 AND r.role = ANY($2)
              ORDER BY lower(coalesce(nullif(trim(u.display_name), ''), u.email)), u.email
              LIMIT $3"
        ))
        .bind(slug)
        .bind(super::working_roles())
        .bind(PICKER_MAX as i64)
        .fetch_all(pool)
        .await?;
        let team: Option<(String, String)> = sqlx::query_as(
            "SELECT t.slug, t.name FROM projects p JOIN teams t ON t.id = p.team_id
              WHERE p.slug = $1",
        )
        .bind(slug)
        .fetch_optional(pool)
        .await?;
        Ok(PickerOptions {
            total: rows.first().map_or(0, |r| r.total),
            people: rows.into_iter().map(|r| r.person).collect(),
            team,
        })
    }
}

/// The finding page's assignment controls: a picker of the people who may work on the
/// finding (a plain `<select>`, so it works before the page is interactive; a typed email
/// with suggestions when there are more than [`PICKER_MAX`]) and its project's team, and
/// "Assign to me" and "Unassign" in one click. `assignee` and `team` are the current ones
/// (email, slug); `me` is the viewer's email.
#[component]
pub fn AssignPanel(
    finding_id: i64,
    assignee: Option<String>,
    team: Option<String>,
    me: String,
    options: PickerOptions,
    action: ServerAction<Assign>,
) -> impl IntoView {
    let current = assignee.clone().unwrap_or_default();
    let current_team = team.clone().unwrap_or_default();
    let listed = options.people.iter().any(|p| p.email == current);
    let assigned_to_me = current == me;
    let someone_assigned = !current.is_empty();
    let (me_team, unassign_team) = (current_team.clone(), current_team.clone());
    let truncated = options.total > options.people.len() as i64;
    // someone assigned who may no longer work on it is said so, not silently kept
    let stale = (!current.is_empty() && !listed && !truncated).then(|| {
        format!(
            "Assigned to {current}, who may no longer work on this project's findings: \
             choose someone who can."
        )
    });
    let person_field = if truncated {
        let note = format!(
            "{} people may work on this project; the first {} by name are suggested. \
             Type the email of anyone else among them.",
            options.total,
            options.people.len()
        );
        let typed = current.clone();
        view! {
            <Field label="Person" hint=note>
                <input type="email" name="user" list="assignable-people" autocomplete="off"
                    value=typed placeholder="person@example.com"/>
                <datalist id="assignable-people">
                    {options.people.iter().map(|p| view! {
                        <option value=p.email.clone() label=p.label()></option>
                    }).collect_view()}
                </datalist>
            </Field>
        }
        .into_any()
    } else {
        let chosen = if listed {
            current.clone()
        } else {
            String::new()
        };
        view! {
            <Field label="Person">
                <select name="user">
                    <option value="" selected=chosen.is_empty()>"Nobody"</option>
                    {options.people.iter().map(|p| {
                        let selected = p.email == chosen;
                        view! { <option value=p.email.clone() selected=selected>{p.label()}</option> }
                    }).collect_view()}
                </select>
            </Field>
        }
        .into_any()
    };
    // the project's team, and the current team when another (so that it is not lost unseen)
    let mut teams: Vec<(String, String)> = options.team.iter().cloned().collect();
    if !current_team.is_empty() && !teams.iter().any(|(slug, _)| *slug == current_team) {
        teams.push((current_team.clone(), String::new()));
    }
    let no_team = current_team.is_empty();
    let team_field = view! {
        <Field label="Team">
            <select name="team">
                <option value="" selected=no_team>"No team"</option>
                {teams.into_iter().map(|(slug, name)| {
                    let selected = slug == current_team;
                    let text = if name.trim().is_empty() { slug.clone() } else { format!("{} ({slug})", name.trim()) };
                    view! { <option value=slug selected=selected>{text}</option> }
                }).collect_view()}
            </select>
        </Field>
    };
    view! {
        <div class="assign-panel">
            <ActionForm action attr:class="toolbar assign-form">
                <input type="hidden" name="finding_id" value=finding_id/>
                {person_field}
                {team_field}
                <SubmitButton tone=Tone::Primary pending=action.pending()>"Assign"</SubmitButton>
            </ActionForm>
            <div class="toolbar assign-quick">
                {(!assigned_to_me).then(|| view! {
                    <ActionForm action attr:class="assign-me">
                        <input type="hidden" name="finding_id" value=finding_id/>
                        <input type="hidden" name="user" value=me/>
                        <input type="hidden" name="team" value=me_team/>
                        <SubmitButton pending=action.pending()>"Assign to me"</SubmitButton>
                    </ActionForm>
                })}
                {someone_assigned.then(|| view! {
                    // the person goes; the team keeps it
                    <ActionForm action attr:class="unassign">
                        <input type="hidden" name="finding_id" value=finding_id/>
                        <input type="hidden" name="user" value=""/>
                        <input type="hidden" name="team" value=unassign_team/>
                        <SubmitButton pending=action.pending()>"Unassign"</SubmitButton>
                    </ActionForm>
                })}
            </div>
            {stale.map(|text| view! { <p class="notice notice-warn assign-stale">{text}</p> })}
        </div>
    }
}
