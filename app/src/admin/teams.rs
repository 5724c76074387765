//! Teams (docs/glossary.md "team"): who is in each, with which role, and which projects it owns.
//! The `bosun team` commands use the same database functions, so the page and the command
//! line change teams, and audit the changes, alike.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;
use serde::{Deserialize, Serialize};

use crate::layout::{AppHeader, ErrorAlert, failed_actions, last_error};
use crate::ui::{Card, DataTable, EmptyState, Field, PageHeader, SubmitButton, Tone};
use crate::workflow::Role;

/// The roles a person can have in a team; admin is global, not a team role.
pub const TEAM_ROLES: [Role; 4] = [Role::Viewer, Role::Developer, Role::Ops, Role::Security];

/// A team as the teams page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamSummary {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// The projects it owns: (slug, name).
    pub projects: Vec<(String, String)>,
    pub members: Vec<TeamMember>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamMember {
    pub email: String,
    pub display_name: String,
    pub role: Role,
}

/// Every team with its projects and members, by slug.
#[server(endpoint = "list_teams")]
pub async fn list_teams() -> Result<Vec<TeamSummary>, AppError> {
    super::require_admin().await?;
    let ctx = crate::server_context::server_context()?;
    Ok(db::all(&ctx.pool).await?)
}

/// Creates a team; its name defaults to its slug. 409 when the slug is taken.
#[server(endpoint = "create_team")]
pub async fn create_team(slug: String, #[server(default)] name: String) -> Result<(), AppError> {
    let actor = super::require_admin().await?;
    let slug = crate::domain::Slug::parse_for("team slug", &slug.trim().to_lowercase())?;
    let ctx = crate::server_context::server_context()?;
    match db::create_team(&ctx.pool, Some(actor.id), &slug, &name).await? {
        Some(_) => Ok(()),
        None => Err(AppError::conflict(format!("Team '{slug}' already exists."))),
    }
}

/// Puts a person (by email) in a team with a role, or changes their role there.
#[server(endpoint = "set_membership")]
pub async fn set_membership(team: String, email: String, role: String) -> Result<(), AppError> {
    let actor = super::require_admin().await?;
    let email = crate::domain::EmailAddress::parse(&email)?;
    let role = role
        .parse::<Role>()
        .ok()
        .filter(|role| TEAM_ROLES.contains(role))
        .ok_or_else(|| {
            AppError::invalid(
                "A team role is viewer, developer, ops or security (admin is global: set it on \
                 the Users page).",
            )
        })?;
    let ctx = crate::server_context::server_context()?;
    let team = team.trim();
    membership_answer(
        db::set_membership(&ctx.pool, Some(actor.id), team, &email, role).await?,
        team,
        &email,
    )
}

/// Takes a person (by email) out of a team.
#[server(endpoint = "remove_membership")]
pub async fn remove_membership(team: String, email: String) -> Result<(), AppError> {
    let actor = super::require_admin().await?;
    let email = crate::domain::EmailAddress::parse(&email)?;
    let ctx = crate::server_context::server_context()?;
    let team = team.trim();
    membership_answer(
        db::remove_membership(&ctx.pool, Some(actor.id), team, &email).await?,
        team,
        &email,
    )
}

#[cfg(feature = "ssr")]
fn membership_answer(outcome: db::Membership, team: &str, email: &str) -> Result<(), AppError> {
    match outcome {
        db::Membership::Done => Ok(()),
        db::Membership::NoTeam => Err(AppError::not_found(format!("No team '{team}'."))),
        db::Membership::NoUser => Err(AppError::not_found(format!(
            "Nobody has an account with {email}: invite them on the Users page first."
        ))),
        db::Membership::NotAMember => Err(AppError::not_found(format!(
            "{email} is not in team '{team}'."
        ))),
        db::Membership::NotATeamRole => Err(AppError::invalid(
            "A team role is viewer, developer, ops or security.",
        )),
    }
}

#[cfg(feature = "ssr")]
pub mod db {
    use std::collections::HashMap;

    use serde_json::json;
    use sqlx::{PgConnection, PgPool};

    use super::{TEAM_ROLES, TeamMember, TeamSummary};
    use crate::workflow::Role;

    /// Creates a team (its name defaults to its slug) and audits it; its id, or `None` when
    /// the slug is taken. `actor` is `None` from the command line.
    pub async fn create_team(
        pool: &PgPool,
        actor: Option<i64>,
        slug: &str,
        name: &str,
    ) -> Result<Option<i64>, sqlx::Error> {
        let name = match name.trim() {
            "" => slug,
            name => name,
        };
        let mut tx = pool.begin().await?;
        let id: Option<i64> = sqlx::query_scalar!(
            "INSERT INTO teams (slug, name) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING
             RETURNING id",
            slug,
            name,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Ok(None);
        };
        crate::audit::record(
            &mut tx,
            crate::audit::Event::new("team", id, "created")
                .by(actor)
                .after(json!({ "slug": slug, "name": name })),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// How a membership change went.
    #[derive(Debug, PartialEq, Eq)]
    pub enum Membership {
        Done,
        NoTeam,
        NoUser,
        NotAMember,
        NotATeamRole,
    }

    /// `(team id, user id, stored email)` by slug and email.
    async fn team_and_user(
        conn: &mut PgConnection,
        team: &str,
        email: &str,
    ) -> Result<Result<(i64, i64, String), Membership>, sqlx::Error> {
        let team_id: Option<i64> =
            sqlx::query_scalar!("SELECT id FROM teams WHERE slug = $1", team)
                .fetch_optional(&mut *conn)
                .await?;
        let Some(team_id) = team_id else {
            return Ok(Err(Membership::NoTeam));
        };
        let Ok(email) = crate::domain::EmailAddress::parse(email) else {
            return Ok(Err(Membership::NoUser));
        };
        let user = sqlx::query!(
            "SELECT id, email FROM users WHERE email = $1",
            email.as_str()
        )
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| (r.id, r.email));
        Ok(user
            .map(|(user_id, email)| (team_id, user_id, email))
            .ok_or(Membership::NoUser))
    }

    /// Puts a person in a team with `role`, or changes their role there, and audits what
    /// changed (nothing when they already have that role).
    pub async fn set_membership(
        pool: &PgPool,
        actor: Option<i64>,
        team: &str,
        email: &str,
        role: Role,
    ) -> Result<Membership, sqlx::Error> {
        if !TEAM_ROLES.contains(&role) {
            return Ok(Membership::NotATeamRole);
        }
        let mut tx = pool.begin().await?;
        let (team_id, user_id, email) = match team_and_user(&mut tx, team, email).await? {
            Ok(ids) => ids,
            Err(outcome) => return Ok(outcome),
        };
        let before: Option<String> = sqlx::query_scalar!(
            r#"SELECT role::text AS "role!" FROM team_members
                WHERE team_id = $1 AND user_id = $2 FOR UPDATE"#,
            team_id,
            user_id,
        )
        .fetch_optional(&mut *tx)
        .await?;
        if before.as_deref() == Some(role.as_str()) {
            return Ok(Membership::Done);
        }
        // the role goes as text, cast by the statement (`Role` is not a PostgreSQL type)
        sqlx::query!(
            "INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3::team_role)
             ON CONFLICT (team_id, user_id) DO UPDATE SET role = EXCLUDED.role",
            team_id,
            user_id,
            role.as_str() as _,
        )
        .execute(&mut *tx)
        .await?;
        let member = |role: &str| json!({ "user_id": user_id, "email": email, "role": role });
        let action = if before.is_some() {
            "member_role_changed"
        } else {
            "member_added"
        };
        crate::audit::record(
            &mut tx,
            crate::audit::Event::new("team", team_id, action)
                .by(actor)
                .before(before.as_deref().map(member))
                .after(member(role.as_str())),
        )
        .await?;
        tx.commit().await?;
        Ok(Membership::Done)
    }

    /// Takes a person out of a team and audits it.
    pub async fn remove_membership(
        pool: &PgPool,
        actor: Option<i64>,
        team: &str,
        email: &str,
    ) -> Result<Membership, sqlx::Error> {
        let mut tx = pool.begin().await?;
        let (team_id, user_id, email) = match team_and_user(&mut tx, team, email).await? {
            Ok(ids) => ids,
            Err(outcome) => return Ok(outcome),
        };
        let removed: Option<String> = sqlx::query_scalar!(
            r#"DELETE FROM team_members WHERE team_id = $1 AND user_id = $2
               RETURNING role::text AS "role!""#,
            team_id,
            user_id,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(role) = removed else {
            return Ok(Membership::NotAMember);
        };
        crate::audit::record(
            &mut tx,
            crate::audit::Event::new("team", team_id, "member_removed")
                .by(actor)
                .before(json!({ "user_id": user_id, "email": email, "role": role })),
        )
        .await?;
        tx.commit().await?;
        Ok(Membership::Done)
    }

    pub async fn all(pool: &PgPool) -> Result<Vec<TeamSummary>, sqlx::Error> {
        let teams = sqlx::query!("SELECT id, slug, name FROM teams ORDER BY slug")
            .fetch_all(pool)
            .await?;
        let projects = sqlx::query!(
            r#"SELECT team_id AS "team_id!", slug, name FROM projects WHERE team_id IS NOT NULL
                ORDER BY slug"#,
        )
        .fetch_all(pool)
        .await?;
        let members = sqlx::query!(
            r#"SELECT m.team_id, u.email, u.display_name, m.role::text AS "role!"
                 FROM team_members m JOIN users u ON u.id = m.user_id
                ORDER BY u.email"#,
        )
        .fetch_all(pool)
        .await?;
        let mut projects_of: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        for p in projects {
            projects_of
                .entry(p.team_id)
                .or_default()
                .push((p.slug, p.name));
        }
        let mut members_of: HashMap<i64, Vec<TeamMember>> = HashMap::new();
        for m in members {
            if let Ok(role) = m.role.parse() {
                members_of.entry(m.team_id).or_default().push(TeamMember {
                    email: m.email,
                    display_name: m.display_name,
                    role,
                });
            }
        }
        Ok(teams
            .into_iter()
            .map(|t| TeamSummary {
                id: t.id,
                slug: t.slug,
                name: t.name,
                projects: projects_of.remove(&t.id).unwrap_or_default(),
                members: members_of.remove(&t.id).unwrap_or_default(),
            })
            .collect())
    }
}

/// A role picker for team roles, with `selected` chosen.
fn role_options(selected: Option<Role>) -> impl IntoView {
    TEAM_ROLES
        .iter()
        .map(|role| {
            view! { <option value=role.as_str() selected=selected == Some(*role)>{role.label()}</option> }
        })
        .collect_view()
}

#[component]
pub fn TeamsPage() -> impl IntoView {
    let create = ServerAction::<CreateTeam>::new();
    let set = ServerAction::<SetMembership>::new();
    let remove = ServerAction::<RemoveMembership>::new();
    let teams = Resource::new(
        move || {
            (
                create.version().get(),
                set.version().get(),
                remove.version().get(),
            )
        },
        |_| list_teams(),
    );
    let errors = move || {
        failed_actions([
            last_error(create.value().get()),
            last_error(set.value().get()),
            last_error(remove.value().get()),
        ])
    };

    view! {
        <Title text="Teams"/>
        <AppHeader/>
        <main class="admin admin-teams">
            <PageHeader title="Teams" sub="Teams own projects; a person sees a project's findings through their role on its team."/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let list = match teams.await {
                        Ok(list) => list,
                        Err(err) => return view! { <ErrorAlert err/> }.into_any(),
                    };
                    let empty = list.is_empty();
                    view! {
                        <Card title="New team" class="create-team">
                            <ActionForm action=create attr:class="toolbar">
                                <Field label="Short name" hint="Lower case, digits and dashes">
                                    <input type="text" name="slug" placeholder="payments"
                                        pattern="[a-z0-9][a-z0-9\\-]{0,62}" required/>
                                </Field>
                                <Field label="Name (optional)" class="grow">
                                    <input type="text" name="name" placeholder="Payments team"/>
                                </Field>
                                <SubmitButton tone=Tone::Primary pending=create.pending()>"Create team"</SubmitButton>
                            </ActionForm>
                        </Card>
                        {errors}
                        <Show when=move || empty>
                            <EmptyState title="No teams yet">
                                <p>"Create a team above, add its people, then give it projects with "
                                    <code>"bosun project create SLUG --team TEAM"</code> "."</p>
                            </EmptyState>
                        </Show>
                        {list.into_iter().map(|team| {
                            let slug = team.slug.clone();
                            let projects = if team.projects.is_empty() {
                                format!("none yet (bosun project create SLUG --team {})", team.slug)
                            } else {
                                team.projects.iter().map(|(slug, _)| slug.clone()).collect::<Vec<_>>().join(", ")
                            };
                            let label = format!("Members of {}", team.name);
                            let team_slug = slug.clone();
                            view! {
                                <section class="card team" data-team=team.slug.clone()>
                                    <div class="team-head">
                                        <h2 class="card-title">{team.name}</h2>
                                        <span class="badge">{team.slug.clone()}</span>
                                    </div>
                                    <p class="team-projects muted">"Projects: " {projects}</p>
                                    <DataTable label>
                                        <thead><tr><th>"Member"</th><th>"Name"</th><th>"Role"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                        <tbody>
                                            {team.members.into_iter().map(|m| {
                                                // each form's children own their copies
                                                let (role_team, role_email) = (team_slug.clone(), m.email.clone());
                                                let (remove_team, remove_email) = (team_slug.clone(), m.email.clone());
                                                let role_label = format!("Role of {}", m.email);
                                                view! {
                                                    <tr data-member=m.email.clone()>
                                                        <td>{m.email.clone()}</td>
                                                        <td>{m.display_name}</td>
                                                        <td>
                                                            <ActionForm action=set attr:class="toolbar">
                                                                <input type="hidden" name="team" value=role_team.clone()/>
                                                                <input type="hidden" name="email" value=role_email.clone()/>
                                                                <select name="role" aria-label=role_label>{role_options(Some(m.role))}</select>
                                                                <SubmitButton small=true>"Change"</SubmitButton>
                                                            </ActionForm>
                                                        </td>
                                                        <td class="actions-cell">
                                                            <ActionForm action=remove attr:class="inline">
                                                                <input type="hidden" name="team" value=remove_team.clone()/>
                                                                <input type="hidden" name="email" value=remove_email.clone()/>
                                                                <SubmitButton tone=Tone::Danger small=true>"Remove"</SubmitButton>
                                                            </ActionForm>
                                                        </td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </DataTable>
                                    <ActionForm action=set attr:class="toolbar add-member">
                                        <input type="hidden" name="team" value=slug/>
                                        <Field label="Add a member" class="grow">
                                            <input type="email" name="email" placeholder="name@example.com" required/>
                                        </Field>
                                        <Field label="Role">
                                            <select name="role">{role_options(Some(Role::Developer))}</select>
                                        </Field>
                                        <SubmitButton>"Add member"</SubmitButton>
                                    </ActionForm>
                                </section>
                            }
                        }).collect_view()}
                    }.into_any()
                })}
            </Transition>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_is_not_a_team_role() {
        assert!(!TEAM_ROLES.contains(&Role::Admin));
        assert_eq!(TEAM_ROLES.len(), Role::ALL.len() - 1);
    }
}
