//! One finding: every normalised field, its timeline (scan events, state changes,
//! assignments, comments), a comment box and the moves the viewer's role allows.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::assignment::{Assign, AssignPanel, assignable};
use crate::comments::{AddComment, EditComment, list_comments};
use crate::domain::{FindingState, Layer, Severity};
use crate::layout::{AppHeader, ErrorAlert, message};
use crate::triage::{ChangeState, OverrideSeverity};
use crate::ui::{Field, SeverityBadge, SubmitButton, Tone};

/// Everything the finding page shows besides comments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingView {
    pub id: i64,
    pub project_slug: String,
    pub title: String,
    pub severity: Severity,
    pub scanner_severity: Severity,
    pub layer: Layer,
    pub state: FindingState,
    pub rule_id: String,
    pub aliases: Vec<String>,
    pub description: String,
    pub remediation: String,
    pub references: Vec<String>,
    pub location: String,
    pub package: Option<String>,
    pub fixed_version: Option<String>,
    pub image: Option<String>,
    pub workload: Option<String>,
    pub url: Option<String>,
    pub scanner: String,
    pub target: String,
    /// The scanner's own record of it, pretty-printed (bounded when it was stored).
    pub evidence: Option<String>,
    pub first_seen_at: chrono::DateTime<chrono::Utc>,
    pub risk_accepted_until: Option<chrono::DateTime<chrono::Utc>>,
    pub assignee: Option<String>,
    pub assignee_team: Option<String>,
    /// When it must be fixed by, and how that stands now (see `sla`).
    pub due_at: Option<chrono::DateTime<chrono::Utc>>,
    pub sla_days: Option<i32>,
    pub sla: crate::sla::SlaStatus,
    /// States the viewer may move this finding to.
    pub moves: Vec<FindingState>,
    pub can_comment: bool,
    pub can_change_severity: bool,
    pub can_assign: bool,
    /// The signed-in person, for "assign to me".
    pub viewer_email: String,
    pub timeline: Vec<TimelineEntry>,
}

pub use crate::timeline::TimelineEntry;

#[server(endpoint = "finding_detail")]
pub async fn finding_detail(id: i64) -> Result<FindingView, AppError> {
    let access = crate::access::require_on_finding(id, crate::workflow::Action::View).await?;
    let role = access.role;
    let ctx = crate::server_context::server_context()?;
    let mut detail = db::detail(&ctx.pool, id).await?;
    detail.moves = FindingState::ALL
        .iter()
        .copied()
        .filter(|to| crate::workflow::transition(detail.state, *to, role, false).is_ok())
        .collect();
    detail.can_comment = crate::workflow::allowed(role, crate::workflow::Action::Comment);
    detail.can_change_severity =
        crate::workflow::allowed(role, crate::workflow::Action::ChangeSeverity);
    detail.can_assign = crate::workflow::allowed(role, crate::workflow::Action::Assign);
    detail.viewer_email = access.user.email;
    Ok(detail)
}

#[cfg(feature = "ssr")]
mod db {
    use sqlx::PgPool;

    use super::FindingView;
    use crate::domain::{FindingState, Layer, Severity};

    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        project_slug: String,
        title: String,
        severity: Severity,
        scanner_severity: Severity,
        layer: Layer,
        state: FindingState,
        rule_id: String,
        aliases: Vec<String>,
        description: String,
        remediation: String,
        references: Vec<String>,
        location: String,
        package: Option<String>,
        fixed_version: Option<String>,
        image: Option<String>,
        workload: Option<String>,
        url: Option<String>,
        scanner: String,
        target: String,
        evidence: Option<String>,
        first_seen_at: chrono::DateTime<chrono::Utc>,
        risk_accepted_until: Option<chrono::DateTime<chrono::Utc>>,
        assignee: Option<String>,
        assignee_team: Option<String>,
        due_at: Option<chrono::DateTime<chrono::Utc>>,
        sla_days: Option<i32>,
    }

    pub async fn detail(pool: &PgPool, id: i64) -> Result<FindingView, sqlx::Error> {
        let r: Row = sqlx::query_as(&format!(
            r#"SELECT f.id, p.slug AS project_slug, f.title, f.severity, f.scanner_severity,
                      f.layer, f.state, f.rule_id, f.aliases, f.description, f.remediation,
                      f."references", f.location,
                      CASE WHEN f.package_name IS NOT NULL
                           THEN f.package_name || coalesce(' ' || f.package_version, '') END AS package,
                      f.fixed_version, f.image,
                      CASE WHEN f.k8s_name IS NOT NULL
                           THEN concat_ws('/', f.k8s_namespace, f.k8s_kind, f.k8s_name) END AS workload,
                      f.url, f.scanner, f.target, f.evidence::text AS evidence,
                      f.first_seen_at, f.risk_accepted_until,
                      u.email AS assignee, t.slug AS assignee_team,
                      {due_at} AS due_at, {days} AS sla_days
                 FROM findings f JOIN projects p ON p.id = f.project_id
                 JOIN project_sla s ON s.project_id = f.project_id
                 LEFT JOIN users u ON u.id = f.assignee_user_id
                 LEFT JOIN teams t ON t.id = f.assignee_team_id
                WHERE f.id = $1"#,
            due_at = crate::sla::sql::DUE_AT,
            days = crate::sla::sql::DAYS,
        ))
        .bind(id)
        .fetch_one(pool)
        .await?;
        let timeline = crate::timeline::db::of_finding(pool, id).await?;
        Ok(FindingView {
            id: r.id,
            project_slug: r.project_slug,
            title: r.title,
            severity: r.severity,
            scanner_severity: r.scanner_severity,
            layer: r.layer,
            state: r.state,
            rule_id: r.rule_id,
            aliases: r.aliases,
            description: r.description,
            remediation: r.remediation,
            references: r.references,
            location: r.location,
            package: r.package,
            fixed_version: r.fixed_version,
            image: r.image,
            workload: r.workload,
            url: r.url,
            scanner: r.scanner,
            target: r.target,
            evidence: r.evidence.map(|text| pretty_json(&text)),
            first_seen_at: r.first_seen_at,
            risk_accepted_until: r.risk_accepted_until,
            assignee: r.assignee,
            assignee_team: r.assignee_team,
            due_at: r.due_at,
            sla_days: r.sla_days,
            sla: crate::sla::assess(r.state, r.due_at, r.sla_days, chrono::Utc::now()),
            moves: Vec::new(),
            can_comment: false,
            can_change_severity: false,
            can_assign: false,
            viewer_email: String::new(),
            timeline,
        })
    }

    /// Stored evidence is compact JSON; indented, people can read it.
    fn pretty_json(text: &str) -> String {
        serde_json::from_str::<serde_json::Value>(text)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|_| text.to_string())
    }
}

/// A scanner's reference: a link when it is a web address, text otherwise (a report could
/// carry `javascript:` or anything else).
fn reference(r: String) -> AnyView {
    let lower = r.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        let href = r.clone();
        view! { <a href=href rel="noopener noreferrer nofollow">{r}</a> }.into_any()
    } else {
        view! { <code>{r}</code> }.into_any()
    }
}

#[component]
pub fn FindingPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params
            .read()
            .get("id")
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    });
    let change = ServerAction::<ChangeState>::new();
    let severity = ServerAction::<OverrideSeverity>::new();
    let comment = ServerAction::<AddComment>::new();
    let assign = ServerAction::<Assign>::new();
    let edit = ServerAction::<EditComment>::new();
    let detail = Resource::new(
        move || {
            (
                id.get(),
                change.version().get() + severity.version().get() + assign.version().get(),
                comment.version().get(),
            )
        },
        |(id, _, _)| finding_detail(id),
    );
    let people = Resource::new(move || id.get(), assignable);
    let comments = Resource::new(
        move || (id.get(), comment.version().get() + edit.version().get()),
        |(id, _)| list_comments(id),
    );
    let edit_error = move || {
        edit.value()
            .get()
            .and_then(|r| r.err())
            .map(|e| message(&e))
    };
    let change_error = move || {
        change
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| message(&e))
    };
    let assign_error = move || {
        assign
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| message(&e))
    };
    let comment_error = move || {
        comment
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| message(&e))
    };

    view! {
        <Title text="Finding"/>
        <AppHeader/>
        <main class="finding-page">
            <Transition fallback=|| view! { <p class="muted">"Loading the finding…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Err(err) => view! { <ErrorAlert err/> }.into_any(),
                        Ok(f) => {
                            let id = f.id;
                            let severity_note = (f.severity != f.scanner_severity)
                                .then(|| format!(" (scanner said {})", f.scanner_severity.label()));
                            let moves = f.moves.clone();
                            let can_change_severity = f.can_change_severity;
                            // the select starts at the finding's severity, so submitting it
                            // unchanged never escalates (or lowers) anything
                            let current_severity = f.severity;
                            let can_assign = f.can_assign;
                            // whom it can go to; a failure leaves the rest of the page usable
                            let assignable_options = match (can_assign, people.await) {
                                (true, Ok(options)) => options,
                                _ => crate::assignment::PickerOptions::default(),
                            };
                            view! {
                                <header class="page-head finding-head">
                                    <div>
                                        <h1 class="finding-title">{f.title.clone()}</h1>
                                        <p class="finding-meta">
                                            <SeverityBadge severity=f.severity/>
                                            {severity_note}
                                            <span class="finding-state" data-state=f.state.as_str()>{f.state.label()}</span>
                                            <span>{f.layer.label()}</span>
                                            <span>"Project " <a href=format!("/projects/{}/scans", f.project_slug)>{f.project_slug.clone()}</a></span>
                                        </p>
                                    </div>
                                </header>
                                <section class="card details">
                                    <h2 class="card-title">"Details"</h2>
                                    <dl class="finding-fields">
                                        <dt>"Rule"</dt><dd><code>{f.rule_id.clone()}</code> " " {f.aliases.join(", ")}</dd>
                                        <dt>"Location"</dt><dd><code>{f.location.clone()}</code></dd>
                                        {f.package.clone().map(|p| view! { <dt>"Package"</dt><dd>{p} {f.fixed_version.clone().map(|v| format!(" → fixed in {v}"))}</dd> })}
                                        {f.image.clone().map(|i| view! { <dt>"Image"</dt><dd><code>{i}</code></dd> })}
                                        {f.workload.clone().map(|w| view! { <dt>"Workload"</dt><dd><code>{w}</code></dd> })}
                                        {f.url.clone().map(|u| view! { <dt>"URL"</dt><dd><code>{u}</code></dd> })}
                                        <dt>"Scanner"</dt><dd>{f.scanner.clone()} " on " <code>{f.target.clone()}</code></dd>
                                        <dt>"First seen"</dt><dd>{f.first_seen_at.format("%Y-%m-%d %H:%M UTC").to_string()}</dd>
                                        <dt>"Assigned to"</dt><dd class="assignee">{f.assignee.clone().unwrap_or_else(|| "nobody".into())} {f.assignee_team.clone().map(|t| format!(" · team {t}"))}</dd>
                                        {f.risk_accepted_until.map(|u| view! { <dt>"Risk accepted until"</dt><dd>{u.format("%Y-%m-%d").to_string()}</dd> })}
                                        <dt>"Due"</dt><dd class="due"><crate::findings::SlaBadge due_at=f.due_at sla=f.sla/>
                                            {f.sla_days.map(|d| format!(" ({d}-day SLA for {})", f.severity.label().to_lowercase()))}
                                        </dd>
                                    </dl>
                                </section>
                                <section class="card actions">
                                    <h2 class="card-title">"Triage"</h2>
                                    {if moves.is_empty() {
                                        view! { <p class="muted">"Your role on this project cannot change its state. Comment to ask someone who can."</p> }.into_any()
                                    } else {
                                        // one control, one reason: the reason typed is always the chosen move's
                                        let chosen = RwSignal::new(moves[0]);
                                        let accepting = move || chosen.get() == FindingState::RiskAccepted;
                                        view! {
                                            <ActionForm action=change attr:class="toolbar state-change">
                                                <input type="hidden" name="finding_id" value=id/>
                                                <Field label="New state">
                                                    <select name="to"
                                                        on:change=move |ev| {
                                                            if let Ok(to) = event_target_value(&ev).parse::<FindingState>() {
                                                                chosen.set(to);
                                                            }
                                                        }>
                                                        {moves.into_iter().map(|to| view! { <option value=to.as_str()>{to.label()}</option> }).collect_view()}
                                                    </select>
                                                </Field>
                                                <label class="field grow">
                                                    <span class="field-label">{move || if accepting() { "Justification (required)" } else { "Reason (optional)" }}</span>
                                                    <input type="text" name="reason"
                                                        placeholder=move || if accepting() { "Why this risk is acceptable" } else { "Why, for the audit trail" }/>
                                                </label>
                                                <label class="field" hidden=move || !accepting()>
                                                    <span class="field-label">"Accepted until"</span>
                                                    <input type="date" name="risk_accepted_until"/>
                                                </label>
                                                <SubmitButton tone=Tone::Primary pending=change.pending()>"Change state"</SubmitButton>
                                            </ActionForm>
                                        }.into_any()
                                    }}
                                    <Show when=move || change_error().is_some()>
                                        <p class="notice notice-error" role="alert">{change_error}</p>
                                    </Show>
                                    <Show when=move || can_change_severity>
                                        <ActionForm action=severity attr:class="toolbar severity-override">
                                            <input type="hidden" name="finding_id" value=id/>
                                            <Field label="Severity">
                                                <select name="severity">
                                                    {Severity::ALL.iter().map(|s| view! { <option value=s.as_str() selected=*s == current_severity>{s.label()}</option> }).collect_view()}
                                                </select>
                                            </Field>
                                            <Field label="Reason (required)" class="grow">
                                                <input type="text" name="reason" placeholder="Why the scanner's severity is wrong here"/>
                                            </Field>
                                            <SubmitButton pending=severity.pending()>"Change severity"</SubmitButton>
                                        </ActionForm>
                                    </Show>
                                    {can_assign.then(|| view! {
                                        <AssignPanel finding_id=id assignee=f.assignee.clone() team=f.assignee_team.clone()
                                            me=f.viewer_email.clone() options=assignable_options.clone() action=assign/>
                                    })}
                                    <Show when=move || assign_error().is_some()>
                                        <p class="notice notice-error assign-error" role="alert">{assign_error}</p>
                                    </Show>
                                </section>
                                <section class="card description"><h2 class="card-title">"Description"</h2><p class="pre">{f.description.clone()}</p></section>
                                <Show when={let r = f.remediation.clone(); move || !r.is_empty()}>
                                    <section class="card remediation"><h2 class="card-title">"Remediation"</h2><p class="pre">{f.remediation.clone()}</p></section>
                                </Show>
                                {(!f.references.is_empty()).then(|| view! {
                                    <section class="card references"><h2 class="card-title">"References"</h2>
                                        <ul>{f.references.clone().into_iter().map(|r| view! { <li>{reference(r)}</li> }).collect_view()}</ul>
                                    </section>
                                })}
                                {f.evidence.clone().map(|e| view! {
                                    <details class="evidence"><summary>"Raw evidence"</summary><pre tabindex="0">{e}</pre></details>
                                })}
                                <section class="card timeline">
                                    <h2 class="card-title">"Timeline"</h2>
                                    {f.timeline.is_empty().then(|| view! { <p class="muted">"Nothing has happened to this finding yet."</p> })}
                                    <ol>
                                        {f.timeline.iter().map(|e| view! {
                                            <li>
                                                <span class="when">{e.at.format("%Y-%m-%d %H:%M").to_string()}</span> " "
                                                <span class="actor">{e.actor.clone()}</span> " " {e.what.clone()}
                                                {e.scan_id.map(|scan| {
                                                    let href = format!("/projects/{}/scans#scan-{scan}", f.project_slug);
                                                    view! { " · " <a href=href>{format!("scan #{scan}")}</a> }
                                                })}
                                                {e.reason.clone().map(|r| view! { <q>{r}</q> })}
                                            </li>
                                        }).collect_view()}
                                    </ol>
                                </section>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
            <section class="card comments">
                <h2 class="card-title">"Comments"</h2>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        comments.await.ok().map(|list| {
                            if list.is_empty() {
                                return view! { <p class="muted no-comments">"No comments yet."</p> }.into_any();
                            }
                            list.into_iter().map(|c| view! {
                                <article class="comment" id=format!("comment-{}", c.id) data-id=c.id>
                                    <header>
                                        <span class="actor">{c.author_email.clone()}</span> " "
                                        <span class="when">{c.created_at.format("%Y-%m-%d %H:%M").to_string()}</span>
                                        {c.edited_at.map(|_| " (edited)")}
                                    </header>
                                    // sanitised on the server by `markdown::render` (ammonia)
                                    <div class="comment-body" inner_html=c.html></div>
                                    {c.editable.then(|| view! {
                                        <details class="comment-edit">
                                            <summary>"Edit"</summary>
                                            <ActionForm action=edit>
                                                <textarea name="body" rows="4" aria-label="Comment" prop:value=c.source.clone()></textarea>
                                                <input type="hidden" name="comment_id" value=c.id/>
                                                <button type="submit" class="btn">"Save"</button>
                                            </ActionForm>
                                        </details>
                                    })}
                                </article>
                            }).collect_view().into_any()
                        })
                    })}
                </Transition>
                <Show when=move || edit_error().is_some()>
                    <p class="notice notice-error" role="alert">{edit_error}</p>
                </Show>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        detail.await.ok().filter(|f| f.can_comment).map(|f| view! {
                            <ActionForm action=comment attr:class="comment-form">
                                <input type="hidden" name="finding_id" value=f.id/>
                                <label class="field">
                                    <span class="field-label">"Add a comment"</span>
                                    <textarea name="body" rows="4" placeholder="Markdown; @name mentions a person, @team a team"></textarea>
                                </label>
                                <SubmitButton tone=Tone::Primary pending=comment.pending()>"Comment"</SubmitButton>
                            </ActionForm>
                        })
                    })}
                </Transition>
                <Show when=move || comment_error().is_some()>
                    <p class="notice notice-error" role="alert">{comment_error}</p>
                </Show>
            </section>
        </main>
    }
}
