//! The findings explorer: every finding Bosun tracks, newest first, filterable by severity.
//!
//! The filter lives in the URL (`?severity=high`), so a filtered view can be shared; in the
//! browser, changing it fetches rows through [`list_findings`] without reloading the page.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;
use leptos_router::{components::A, hooks::use_query_map};

use crate::domain::{FindingSummary, Severity};
use crate::layout::AppHeader;
use crate::sla::SlaStatus;

/// Rows one page shows; the explorer issue adds paging past this.
pub const PAGE_SIZE: i64 = 200;

/// Findings newest first, optionally of one severity: those of the projects the signed-in
/// user has a role on (see `access`).
#[server(endpoint = "list_findings")]
pub async fn list_findings(severity: Option<Severity>) -> Result<Vec<FindingSummary>, AppError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    Ok(db::list(&ctx.pool, user.id, severity, PAGE_SIZE).await?)
}

#[cfg(feature = "ssr")]
pub mod db {
    use crate::domain::{FindingSummary, Severity};
    use sqlx::PgPool;

    /// The columns of a [`FindingSummary`], over `findings f`, `projects p` and the
    /// project's SLA `s`; `{due_at}` and `{days}` are filled from [`crate::sla::sql`].
    pub const SUMMARY_SELECT: &str = "SELECT f.id, p.slug AS project_slug, p.name AS project_name,
            f.severity, f.layer, f.state, f.title, f.rule_id, f.location, f.scanner,
            f.first_seen_at, f.last_seen_at, {due_at} AS due_at, {days} AS sla_days
       FROM findings f JOIN projects p ON p.id = f.project_id
       JOIN project_sla s ON s.project_id = f.project_id";

    /// [`SUMMARY_SELECT`] ready to use.
    pub fn summary_select() -> String {
        SUMMARY_SELECT
            .replace("{due_at}", crate::sla::sql::DUE_AT)
            .replace("{days}", crate::sla::sql::DAYS)
    }

    /// Computes each row's SLA status as of now.
    pub fn with_sla(mut rows: Vec<FindingSummary>) -> Vec<FindingSummary> {
        let now = chrono::Utc::now();
        rows.iter_mut().for_each(|row| row.assess_sla(now));
        rows
    }

    /// Newest first (by id: the order Bosun learned of them); either query reads the
    /// primary key or `findings_severity_idx` backwards, so it reads only the rows it returns.
    pub async fn list(
        pool: &PgPool,
        user_id: i64,
        severity: Option<Severity>,
        limit: i64,
    ) -> Result<Vec<FindingSummary>, sqlx::Error> {
        let visible = crate::access::db::project_visible_to("$1");
        let select = summary_select();
        let rows = match severity {
            Some(sev) => {
                sqlx::query_as(&format!(
                    "{select} WHERE {visible} AND f.severity = $2
                 ORDER BY f.id DESC LIMIT $3"
                ))
                .bind(user_id)
                .bind(sev)
                .bind(limit)
                .fetch_all(pool)
                .await
            }
            None => {
                sqlx::query_as(&format!(
                    "{select} WHERE {visible} ORDER BY f.id DESC LIMIT $2"
                ))
                .bind(user_id)
                .bind(limit)
                .fetch_all(pool)
                .await
            }
        }?;
        Ok(with_sla(rows))
    }
}

#[component]
pub fn FindingsPage() -> impl IntoView {
    let query = use_query_map();
    let severity = Memo::new(move |_| {
        query
            .read()
            .get("severity")
            .and_then(|s| s.parse::<Severity>().ok())
    });
    let bulk = crate::bulk::Bulk::new();
    let findings = Resource::new(
        move || (severity.get(), bulk.version()),
        |(severity, _)| list_findings(severity),
    );

    view! {
        <Title text="Findings"/>
        <AppHeader/>
        <main class="findings">
            <h1>"Findings"</h1>
            <SeverityFilter selected=severity/>
            <crate::bulk::BulkBar bulk/>
            <Transition fallback=|| view! { <p class="muted">"Loading findings…"</p> }>
                {move || Suspend::new(async move {
                    match findings.await {
                        Ok(rows) => view! { <FindingsTable rows selection=bulk.selection/> }.into_any(),
                        Err(err) => view! { <LoadError err/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

/// Links, not buttons: each filter is a URL, and the router swaps rows in place.
#[component]
fn SeverityFilter(selected: Memo<Option<Severity>>) -> impl IntoView {
    let chip = move |value: Option<Severity>| {
        move || {
            if selected.get() == value {
                "chip active"
            } else {
                "chip"
            }
        }
    };
    view! {
        <nav class="severity-filter" aria-label="Filter by severity">
            <A href="/findings" attr:class=chip(None) attr:data-severity="all">"All"</A>
            {Severity::ALL
                .iter()
                .map(|&sev| {
                    view! {
                        <A
                            href=format!("/findings?severity={sev}")
                            attr:class=chip(Some(sev))
                            attr:data-severity=sev.as_str()
                        >
                            {sev.label()}
                        </A>
                    }
                })
                .collect_view()}
        </nav>
    }
}

#[component]
pub(crate) fn FindingsTable(
    rows: Vec<FindingSummary>,
    /// With a selection, each row gets a checkbox (for bulk actions).
    #[prop(optional)]
    selection: Option<RwSignal<BTreeSet<i64>>>,
) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <p class="empty">
                "No findings here yet. Push a scanner report to " <code>"POST /api/v1/reports"</code>
                " or run " <code>"bosun push"</code> "."
            </p>
        }
        .into_any();
    }
    let count = rows.len();
    let all_ids: Vec<i64> = rows.iter().map(|f| f.id).collect();
    let select_all = selection.map(|selection| {
        let all = all_ids.clone();
        let every = move || selection.with(|s| all.iter().all(|id| s.contains(id)));
        view! {
            <th class="select">
                <input type="checkbox" aria-label="Select all" prop:checked=every
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        selection.update(|s| {
                            if on { s.extend(all_ids.iter().copied()) } else { s.clear() }
                        });
                    }/>
            </th>
        }
    });
    let select_one = move |id: i64| {
        selection.map(|selection| {
            view! {
                <td class="select">
                    <input type="checkbox" aria-label=format!("Select finding {id}")
                        prop:checked=move || selection.with(|s| s.contains(&id))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            selection.update(|s| {
                                if on { s.insert(id); } else { s.remove(&id); }
                            });
                        }/>
                </td>
            }
        })
    };
    view! {
        <p class="muted count">{format!("{count} finding{}", if count == 1 { "" } else { "s" })}</p>
        <table class="findings-table">
            <thead>
                <tr>
                    {select_all}
                    <th>"Severity"</th>
                    <th>"Finding"</th>
                    <th>"Location"</th>
                    <th>"Project"</th>
                    <th>"Layer"</th>
                    <th>"State"</th>
                    <th>"Due"</th>
                    <th>"First seen"</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|f| {
                        view! {
                            <tr class="finding" data-id=f.id data-severity=f.severity.as_str()>
                                {select_one(f.id)}
                                <td class="severity">
                                    <span class=format!("sev sev-{}", f.severity)>{f.severity.label()}</span>
                                </td>
                                <td class="title">
                                    <a href=format!("/findings/{}", f.id)><span>{f.title}</span></a>
                                    <small class="rule">{f.rule_id} " · " {f.scanner}</small>
                                </td>
                                <td class="location"><code>{f.location}</code></td>
                                <td title=f.project_slug>{f.project_name}</td>
                                <td>{f.layer.label()}</td>
                                <td class="state">{f.state.label()}</td>
                                <td class="due"><SlaBadge due_at=f.due_at sla=f.sla/></td>
                                <td class="when">{f.first_seen_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// A finding's SLA at a glance: when it is due and how that stands.
#[component]
pub fn SlaBadge(due_at: Option<chrono::DateTime<chrono::Utc>>, sla: SlaStatus) -> impl IntoView {
    match (sla, due_at) {
        (SlaStatus::None, _) | (_, None) => view! { <span class="sla sla-none">"—"</span> }.into_any(),
        (SlaStatus::Paused, _) => view! {
            <span class="sla sla-paused" data-sla="paused" title="Risk accepted: the SLA clock is stopped">"Paused"</span>
        }
        .into_any(),
        (status, Some(due)) => view! {
            <span class=format!("sla sla-{}", status.as_str()) data-sla=status.as_str()>
                {status.label()} " · " {due.format("%Y-%m-%d").to_string()}
            </span>
        }
        .into_any(),
    }
}

#[component]
fn LoadError(err: AppError) -> impl IntoView {
    let message = crate::layout::message(&err);
    let signed_out = err.kind == crate::error::ErrorKind::Unauthenticated;
    view! {
        <p class="error" role="alert">
            {message}
            <Show when=move || signed_out>
                " " <a href="/login?next=/findings">"Sign in again"</a>
            </Show>
        </p>
    }
}
