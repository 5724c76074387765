//! `/projects/<slug>/settings`: how a project is wired to CI and the cluster — its CI gate
//! policy, the routing rules that send team and cluster-wide findings to it, and its ingest
//! tokens. Everyone with a role on the project may read it; security people and admins edit
//! the gate (`ManagePolicies`), ops, security and admins the routing
//! (`ManageTokensAndRouting`). Every change is audited.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::domain::Severity;
use crate::error::AppError;
use crate::gate::GatePolicy;
use crate::layout::{AppHeader, ErrorAlert, failed_actions, last_error};
use crate::routing::RoutingRule;

/// What the settings page shows of a project, and what the viewer may change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSettingsView {
    pub slug: String,
    pub name: String,
    pub team: Option<String>,
    pub gate: GatePolicy,
    /// False while the project uses the default policy.
    pub gate_customised: bool,
    pub rules: Vec<RoutingRule>,
    pub can_edit_gate: bool,
    pub can_edit_routing: bool,
}

#[server(endpoint = "project_settings")]
pub async fn project_settings(project: String) -> Result<ProjectSettingsView, AppError> {
    use crate::workflow::{Action, allowed};

    let (_, project_id, role) = crate::access::require(&project, Action::View).await?;
    let ctx = crate::server_context::server_context()?;
    let (slug, name, team): (String, String, Option<String>) = sqlx::query_as(
        "SELECT p.slug, p.name, t.name FROM projects p LEFT JOIN teams t ON t.id = p.team_id
          WHERE p.id = $1",
    )
    .bind(project_id)
    .fetch_one(&ctx.pool)
    .await?;
    let mut conn = ctx.pool.acquire().await?;
    let stored = crate::gate::db::stored(&mut conn, project_id).await?;
    Ok(ProjectSettingsView {
        slug,
        name,
        team,
        gate_customised: stored.is_some(),
        gate: stored.unwrap_or_default(),
        rules: crate::routing::db::rules_of(&ctx.pool, project_id).await?,
        can_edit_gate: allowed(role, Action::ManagePolicies),
        can_edit_routing: allowed(role, Action::ManageTokensAndRouting),
    })
}

/// Sets the project's gate policy from the form's checkboxes (a box left unticked is
/// absent). Audited with the reason given.
#[server(endpoint = "save_gate_policy")]
#[allow(clippy::too_many_arguments)] // one argument per checkbox of the form
pub async fn save_gate_policy(
    project: String,
    critical: Option<String>,
    high: Option<String>,
    medium: Option<String>,
    low: Option<String>,
    info: Option<String>,
    secrets: Option<String>,
    sla_breaches: Option<String>,
    #[server(default)] reason: String,
) -> Result<bool, AppError> {
    let (user, project_id, _) =
        crate::access::require(&project, crate::workflow::Action::ManagePolicies).await?;
    let ticked = [critical, high, medium, low, info];
    let policy = GatePolicy {
        block_new: Severity::ALL
            .iter()
            .zip(ticked)
            .filter_map(|(sev, on)| on.map(|_| *sev))
            .collect(),
        block_secrets: secrets.is_some(),
        block_sla_breaches: sla_breaches.is_some(),
    };
    let reason = reason.trim();
    if reason.chars().count() > 2000 {
        return Err(AppError::invalid_field(
            "reason",
            "A reason is at most 2000 characters.",
        ));
    }
    let ctx = crate::server_context::server_context()?;
    let mut tx = ctx.pool.begin().await?;
    let changed = crate::gate::db::set(
        &mut tx,
        Some(user.id),
        project_id,
        &policy,
        Some(reason).filter(|r| !r.is_empty()),
    )
    .await?;
    tx.commit().await?;
    Ok(changed)
}

/// Adds a routing rule sending matching findings to the project. Audited.
#[server(endpoint = "add_routing_rule")]
pub async fn add_routing_rule(
    project: String,
    #[server(default)] namespace: String,
    #[server(default)] image_repository: String,
    #[server(default)] path: String,
    #[server(default)] position: String,
) -> Result<i64, AppError> {
    use crate::routing::RuleError;

    let (user, project_id, _) =
        crate::access::require(&project, crate::workflow::Action::ManageTokensAndRouting).await?;
    let position = match position.trim() {
        "" => None,
        p => Some(p.parse::<i32>().map_err(|_| {
            AppError::invalid_field("position", "A position is a whole number, 0 to 100000.")
        })?),
    };
    let rule = crate::routing::NewRule {
        namespace: Some(namespace),
        image_repository: Some(image_repository),
        path: Some(path),
        position,
    };
    let ctx = crate::server_context::server_context()?;
    crate::routing::add_rule(&ctx.pool, Some(user.id), project_id, &rule)
        .await
        .map_err(|err| match err {
            RuleError::Db(err) => AppError::from(err),
            other => AppError::invalid_field(other.field(), other.to_string()),
        })
}

/// Removes one of the project's routing rules. Audited.
#[server(endpoint = "remove_routing_rule")]
pub async fn remove_routing_rule(project: String, id: i64) -> Result<(), AppError> {
    let (user, project_id, _) =
        crate::access::require(&project, crate::workflow::Action::ManageTokensAndRouting).await?;
    let ctx = crate::server_context::server_context()?;
    match crate::routing::db::remove_rule(&ctx.pool, Some(user.id), project_id, id).await? {
        true => Ok(()),
        false => Err(AppError::not_found("No such routing rule.")),
    }
}

#[component]
pub fn ProjectSettingsPage() -> impl IntoView {
    let params = use_params_map();
    let project = Memo::new(move |_| params.read().get("slug").unwrap_or_default());
    let save_gate = ServerAction::<SaveGatePolicy>::new();
    let add_rule = ServerAction::<AddRoutingRule>::new();
    let remove_rule = ServerAction::<RemoveRoutingRule>::new();
    let settings = Resource::new(
        move || {
            (
                project.get(),
                save_gate.version().get(),
                add_rule.version().get(),
                remove_rule.version().get(),
            )
        },
        |(project, ..)| project_settings(project),
    );
    let errors = move || {
        failed_actions([
            last_error(save_gate.value().get()),
            last_error(add_rule.value().get()),
            last_error(remove_rule.value().get()),
        ])
    };
    let saved = move || {
        save_gate.value().get().and_then(Result::ok).map(|changed| {
            let text = if changed {
                "Gate policy saved. The next scan is judged by it."
            } else {
                "Nothing changed: that is the policy already in force."
            };
            view! { <p class="notice notice-ok" role="status">{text}</p> }
        })
    };
    view! {
        <Title text=move || format!("Settings of {}", project.get())/>
        <AppHeader/>
        <main class="project-settings">
            {errors}
            {saved}
            <Suspense fallback=|| view! { <p class="muted">"Loading settings…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(s) => view! {
                            <SettingsView s save_gate add_rule remove_rule/>
                        }
                        .into_any(),
                        Err(err) => view! {
                            <header class="page-head"><h1>"Project settings"</h1></header>
                            <ErrorAlert err/>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn SettingsView(
    s: ProjectSettingsView,
    save_gate: ServerAction<SaveGatePolicy>,
    add_rule: ServerAction<AddRoutingRule>,
    remove_rule: ServerAction<RemoveRoutingRule>,
) -> impl IntoView {
    let slug = s.slug.clone();
    let team = s.team.clone().map_or_else(
        || "No team owns this project: its routing rules are used by cluster-wide tokens only.".to_string(),
        |t| format!("Owned by {t}: its routing rules are used by that team's tokens and cluster-wide ones."),
    );
    view! {
        <header class="page-head">
            <h1>"Settings of " {s.name.clone()}</h1>
            <p class="page-sub">
                <a href=format!("/projects/{slug}")>"Project"</a> " · "
                <a href=format!("/projects/{slug}/scans")>"Scans"</a> " · "
                <a href=format!("/settings/tokens?scope=project:{slug}")>"Ingest tokens"</a>
            </p>
        </header>
        <section class="card gate-policy">
            <h2 class="card-title">"CI gate"</h2>
            <p>
                {s.gate.describe()}
                {(!s.gate_customised).then_some(" (Bosun's default policy.)")}
            </p>
            {s.can_edit_gate.then(|| view! { <GateForm slug=slug.clone() gate=s.gate.clone() save_gate/> })}
        </section>
        <section class="card routing-rules">
            <h2 class="card-title">"Routing rules"</h2>
            <p class="muted">{team}</p>
            <RulesTable slug=slug.clone() rules=s.rules.clone() editable=s.can_edit_routing remove_rule/>
            {s.can_edit_routing.then(|| view! { <RuleForm slug=slug.clone() add_rule/> })}
        </section>
    }
}

#[component]
fn GateForm(
    slug: String,
    gate: GatePolicy,
    save_gate: ServerAction<SaveGatePolicy>,
) -> impl IntoView {
    let names = ["critical", "high", "medium", "low", "info"];
    let reason = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(input)) = (save_gate.value().get(), reason.get_untracked()) {
            input.set_value("");
        }
    });
    view! {
        <ActionForm action=save_gate attr:class="gate-form">
            <input type="hidden" name="project" value=slug/>
            <fieldset>
                <legend>"Fail the gate on new findings of severity"</legend>
                {Severity::ALL.iter().zip(names).map(|(sev, name)| view! {
                    <label class="check">
                        <input type="checkbox" name=name value="on" checked=gate.block_new.contains(sev)/>
                        <span class=format!("sev sev-{sev}")>{sev.label()}</span>
                    </label>
                }).collect_view()}
            </fieldset>
            <label class="check">
                <input type="checkbox" name="secrets" value="on" checked=gate.block_secrets/>
                "Fail on any open secret in the scan"
            </label>
            <label class="check">
                <input type="checkbox" name="sla_breaches" value="on" checked=gate.block_sla_breaches/>
                "Fail on any finding in the scan past its SLA"
            </label>
            <label class="field">
                <span class="field-label">"Why (kept in the audit trail)"</span>
                <input type="text" name="reason" maxlength="2000" node_ref=reason/>
            </label>
            <button type="submit" class="btn btn-primary" disabled=move || save_gate.pending().get()>"Save gate policy"</button>
        </ActionForm>
    }
}

#[component]
fn RulesTable(
    slug: String,
    rules: Vec<RoutingRule>,
    editable: bool,
    remove_rule: ServerAction<RemoveRoutingRule>,
) -> impl IntoView {
    if rules.is_empty() {
        return view! {
            <div class="empty">
                "No routing rules send findings here. A project token writes to this project directly; add a rule when a team or cluster-wide feed (Trivy Operator, Kubescape, Falco) should land here."
            </div>
        }
        .into_any();
    }
    let any = |p: Option<String>| p.unwrap_or_else(|| "any".to_string());
    view! {
        <div class="table-wrap" role="region" aria-label="Routing rules" tabindex="0">
            <table class="data-table rules-table">
                <thead><tr>
                    <th class="num">"Position"</th><th>"Namespace"</th><th>"Image repository"</th>
                    <th>"Path"</th><th>"Used by"</th>{editable.then(|| view! { <th></th> })}
                </tr></thead>
                <tbody>
                    {rules.into_iter().map(|r| {
                        let slug = slug.clone();
                        view! {
                            <tr data-rule=r.id>
                                <td class="num">{r.position}</td>
                                <td><code>{any(r.namespace)}</code></td>
                                <td><code>{any(r.image_repository)}</code></td>
                                <td><code>{any(r.path)}</code></td>
                                <td>{r.team.map_or("cluster-wide tokens".to_string(), |t| format!("team {t}"))}</td>
                                {editable.then(|| view! {
                                    <td>
                                        <ActionForm action=remove_rule attr:class="inline">
                                            <input type="hidden" name="project" value=slug/>
                                            <input type="hidden" name="id" value=r.id/>
                                            <button type="submit" class="btn btn-danger">"Remove"</button>
                                        </ActionForm>
                                    </td>
                                })}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn RuleForm(slug: String, add_rule: ServerAction<AddRoutingRule>) -> impl IntoView {
    // empty boxes after a rule is added, ready for the next one
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(form)) = (add_rule.value().get(), form.get_untracked()) {
            form.reset();
        }
    });
    view! {
        <ActionForm action=add_rule node_ref=form attr:class="rule-form toolbar">
            <input type="hidden" name="project" value=slug/>
            <label class="field">
                <span class="field-label">"Namespace"</span>
                <input type="text" name="namespace" placeholder="payments-*" maxlength="200"/>
            </label>
            <label class="field">
                <span class="field-label">"Image repository"</span>
                <input type="text" name="image_repository" placeholder="registry.example.com/shop/*" maxlength="200"/>
            </label>
            <label class="field">
                <span class="field-label">"Path"</span>
                <input type="text" name="path" placeholder="services/search/**" maxlength="200"/>
            </label>
            <label class="field">
                <span class="field-label">"Position"</span>
                <input type="number" name="position" min="0" max="100000" placeholder="100"/>
            </label>
            <button type="submit" class="btn btn-primary" disabled=move || add_rule.pending().get()>"Add rule"</button>
        </ActionForm>
        <p class="muted">"Globs: " <code>"*"</code> " matches across " <code>"/"</code> ". A finding must match every pattern given; rules are tried lowest position first."</p>
    }
}
