//! The people with an account: their teams and roles, and the two global flags an admin
//! sets: admin, and security engineer on every team. Bosun always keeps one admin.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;
use serde::{Deserialize, Serialize};

use super::invites::{InviteUser, RevokeInvite, VALID_DAYS, list_invites};
use crate::layout::{AppHeader, ErrorAlert, failed_actions, last_error};
use crate::ui::{Card, DataTable, Field, PageHeader, SubmitButton, Tone};
use crate::workflow::Role;

/// A person as the users page lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub is_admin: bool,
    pub security_all_teams: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Their teams, by slug, with their role in each.
    pub teams: Vec<(String, Role)>,
}

/// Everyone with an account, by email.
#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    super::require_admin().await?;
    let ctx = crate::server_context::server_context()?;
    Ok(db::all(&ctx.pool).await?)
}

/// Sets a person's global flags: admin, and security engineer on every team's projects.
/// 409 when it would leave Bosun without an admin.
#[server(endpoint = "set_user_flags")]
pub async fn set_user_flags(
    user_id: i64,
    is_admin: bool,
    security_all_teams: bool,
) -> Result<(), AppError> {
    let actor = super::require_admin().await?;
    let ctx = crate::server_context::server_context()?;
    let flags = db::Flags {
        is_admin,
        security_all_teams,
    };
    match db::set_flags(&ctx.pool, Some(actor.id), user_id, flags).await? {
        db::FlagsSet::Done => Ok(()),
        db::FlagsSet::NotFound => Err(AppError::not_found("No such user.")),
        db::FlagsSet::LastAdmin(email) => Err(AppError::conflict(format!(
            "{email} is the last admin: make someone else an admin first."
        ))),
    }
}

#[cfg(feature = "ssr")]
pub mod db {
    use std::collections::HashMap;

    use serde::Serialize;
    use sqlx::PgPool;

    use super::UserSummary;
    use crate::workflow::Role;

    pub async fn all(pool: &PgPool) -> Result<Vec<UserSummary>, sqlx::Error> {
        let users = sqlx::query!(
            "SELECT id, email, display_name, is_admin, security_all_teams, created_at
               FROM users ORDER BY email",
        )
        .fetch_all(pool)
        .await?;
        let memberships = sqlx::query!(
            r#"SELECT m.user_id, t.slug, m.role::text AS "role!"
                 FROM team_members m JOIN teams t ON t.id = m.team_id
                ORDER BY t.slug"#,
        )
        .fetch_all(pool)
        .await?;
        let mut teams: HashMap<i64, Vec<(String, Role)>> = HashMap::new();
        for m in memberships {
            if let Ok(role) = m.role.parse() {
                teams.entry(m.user_id).or_default().push((m.slug, role));
            }
        }
        Ok(users
            .into_iter()
            .map(|u| UserSummary {
                id: u.id,
                email: u.email,
                display_name: u.display_name,
                is_admin: u.is_admin,
                security_all_teams: u.security_all_teams,
                created_at: u.created_at,
                teams: teams.remove(&u.id).unwrap_or_default(),
            })
            .collect())
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    pub struct Flags {
        pub is_admin: bool,
        pub security_all_teams: bool,
    }

    pub enum FlagsSet {
        Done,
        NotFound,
        /// Taking this person's admin flag would leave no admin; their email.
        LastAdmin(String),
    }

    /// Sets a person's flags and audits the change (nothing happens when they are unchanged).
    /// `actor` is `None` from the command line, which makes the same change the same way.
    pub async fn set_flags(
        pool: &PgPool,
        actor: Option<i64>,
        user_id: i64,
        flags: Flags,
    ) -> Result<FlagsSet, sqlx::Error> {
        change_flags(pool, actor, user_id, |_| flags).await
    }

    /// Sets only the security-on-every-team flag (`bosun user security-all-teams`), leaving
    /// the admin flag as it is at that moment; audited as [`set_flags`] audits.
    pub async fn set_security_all_teams(
        pool: &PgPool,
        actor: Option<i64>,
        user_id: i64,
        on: bool,
    ) -> Result<FlagsSet, sqlx::Error> {
        change_flags(pool, actor, user_id, |now| Flags {
            security_all_teams: on,
            ..now
        })
        .await
    }

    async fn change_flags(
        pool: &PgPool,
        actor: Option<i64>,
        user_id: i64,
        change: impl FnOnce(Flags) -> Flags,
    ) -> Result<FlagsSet, sqlx::Error> {
        let mut tx = pool.begin().await?;
        // Locking every admin row serialises concurrent demotions, so two admins cannot each
        // remove the other's flag and leave none.
        let admins: Vec<i64> =
            sqlx::query_scalar!("SELECT id FROM users WHERE is_admin ORDER BY id FOR UPDATE")
                .fetch_all(&mut *tx)
                .await?;
        let current = sqlx::query!(
            "SELECT email, is_admin, security_all_teams FROM users WHERE id = $1 FOR UPDATE",
            user_id,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(current) = current else {
            return Ok(FlagsSet::NotFound);
        };
        let email = current.email;
        let before = Flags {
            is_admin: current.is_admin,
            security_all_teams: current.security_all_teams,
        };
        let flags = change(before);
        if before == flags {
            return Ok(FlagsSet::Done);
        }
        if before.is_admin && !flags.is_admin && admins == [user_id] {
            return Ok(FlagsSet::LastAdmin(email));
        }
        sqlx::query!(
            "UPDATE users SET is_admin = $2, security_all_teams = $3 WHERE id = $1",
            user_id,
            flags.is_admin,
            flags.security_all_teams,
        )
        .execute(&mut *tx)
        .await?;
        crate::audit::record(
            &mut tx,
            crate::audit::Event::new("user", user_id, "flags_changed")
                .by(actor)
                .before(serde_json::to_value(before).ok())
                .after(serde_json::to_value(flags).ok()),
        )
        .await?;
        tx.commit().await?;
        Ok(FlagsSet::Done)
    }
}

/// The link as people will paste it: this page's origin before the path.
fn absolute_link(path: &str) -> String {
    #[cfg(feature = "hydrate")]
    if let Ok(origin) = window().location().origin() {
        return format!("{origin}{path}");
    }
    path.to_string()
}

fn yes_no(on: bool) -> &'static str {
    if on { "yes" } else { "no" }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let invite = ServerAction::<InviteUser>::new();
    let revoke = ServerAction::<RevokeInvite>::new();
    let flags = ServerAction::<SetUserFlags>::new();
    let users = Resource::new(move || flags.version().get(), |_| list_users());
    let invites = Resource::new(
        move || (invite.version().get(), revoke.version().get()),
        |_| list_invites(),
    );
    let invite_outcome = move || {
        invite.value().get().map(|result| match result {
            Ok(path) => view! {
                <div class="invite-link" role="status">
                    <p>
                        {format!(
                            "Send this link to the person you invited. It is shown only now, works once and expires in {VALID_DAYS} days:"
                        )}
                    </p>
                    <input type="text" readonly class="invite-url" aria-label="Invitation link" value=absolute_link(&path)/>
                </div>
            }
            .into_any(),
            Err(err) => view! { <ErrorAlert err/> }.into_any(),
        })
    };
    let errors = move || {
        failed_actions([
            last_error(revoke.value().get()),
            last_error(flags.value().get()),
        ])
    };

    view! {
        <Title text="Users"/>
        <AppHeader/>
        <main class="admin admin-users">
            <PageHeader title="Users" sub="Who can sign in, and who is an admin. Team roles are set on the Teams page."/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let people = match users.await {
                        Ok(people) => people,
                        Err(err) => return view! { <ErrorAlert err/> }.into_any(),
                    };
                    view! {
                        <Card title="Invite someone" class="invite">
                            <ActionForm action=invite attr:class="toolbar invite-form">
                                <Field label="Email" class="grow">
                                    <input type="email" name="email" placeholder="name@example.com" required/>
                                </Field>
                                <label class="check"><input type="checkbox" name="admin" value="true"/> "Make them an admin"</label>
                                <SubmitButton tone=Tone::Primary pending=invite.pending()>"Invite"</SubmitButton>
                            </ActionForm>
                            {invite_outcome}
                        </Card>
                        {errors}
                        <section class="pending-invites">
                            <h2>"Pending invitations"</h2>
                            <Transition fallback=|| ()>
                                {move || Suspend::new(async move {
                                    match invites.await {
                                        Err(err) => view! { <ErrorAlert err/> }.into_any(),
                                        Ok(list) if list.is_empty() => view! {
                                            <p class="muted">"No invitation is waiting to be accepted. Invite someone above; their link works once."</p>
                                        }.into_any(),
                                        Ok(list) => view! {
                                            <DataTable label="Pending invitations">
                                                <thead><tr><th>"Email"</th><th>"Admin"</th><th>"Invited by"</th><th>"Expires"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                                                <tbody>
                                                    {list.into_iter().map(|i| view! {
                                                        <tr data-invite=i.id>
                                                            <td>{i.email}</td>
                                                            <td>{yes_no(i.is_admin)}</td>
                                                            <td>{i.invited_by.unwrap_or_default()}</td>
                                                            <td class="when">{i.expires_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                                            <td class="actions-cell">
                                                                <ActionForm action=revoke attr:class="inline">
                                                                    <input type="hidden" name="id" value=i.id/>
                                                                    <SubmitButton tone=Tone::Danger small=true>"Revoke"</SubmitButton>
                                                                </ActionForm>
                                                            </td>
                                                        </tr>
                                                    }).collect_view()}
                                                </tbody>
                                            </DataTable>
                                        }.into_any(),
                                    }
                                })}
                            </Transition>
                        </section>
                        <section class="people">
                            <h2>"People"</h2>
                            <DataTable label="People">
                                <thead>
                                    <tr><th>"Email"</th><th>"Name"</th><th>"Teams"</th><th>"Admin"</th><th>"Security on every team"</th><th>"Joined"</th></tr>
                                </thead>
                                <tbody>
                                    {people.into_iter().map(|u| {
                                        let teams = if u.teams.is_empty() {
                                            "no team yet".to_string()
                                        } else {
                                            u.teams.iter()
                                                .map(|(team, role)| format!("{team} ({role})"))
                                                .collect::<Vec<_>>()
                                                .join(", ")
                                        };
                                        let no_team = u.teams.is_empty();
                                        view! {
                                            <tr data-user=u.id>
                                                <td>{u.email}</td>
                                                <td>{u.display_name}</td>
                                                <td class:muted=no_team>{teams}</td>
                                                <td>
                                                    {yes_no(u.is_admin)} " · "
                                                    <ActionForm action=flags attr:class="inline">
                                                        <input type="hidden" name="user_id" value=u.id/>
                                                        <input type="hidden" name="is_admin" value=(!u.is_admin).to_string()/>
                                                        <input type="hidden" name="security_all_teams" value=u.security_all_teams.to_string()/>
                                                        <button type="submit" class="btn-link">{if u.is_admin { "remove admin" } else { "make admin" }}</button>
                                                    </ActionForm>
                                                </td>
                                                <td>
                                                    {yes_no(u.security_all_teams)} " · "
                                                    <ActionForm action=flags attr:class="inline">
                                                        <input type="hidden" name="user_id" value=u.id/>
                                                        <input type="hidden" name="is_admin" value=u.is_admin.to_string()/>
                                                        <input type="hidden" name="security_all_teams" value=(!u.security_all_teams).to_string()/>
                                                        <button type="submit" class="btn-link">{if u.security_all_teams { "own teams only" } else { "give every team" }}</button>
                                                    </ActionForm>
                                                </td>
                                                <td class="when">{u.created_at.format("%Y-%m-%d").to_string()}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </DataTable>
                        </section>
                    }.into_any()
                })}
            </Transition>
        </main>
    }
}
