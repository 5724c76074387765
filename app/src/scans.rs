//! A project's scan history: every report received, accepted or rejected, newest first.
//! A rejected report shows why, so whoever owns the pipeline can fix it. Each accepted scan's
//! new, reopened and fixed counts open exactly those findings in the explorer
//! ([`crate::scan_diff`]); each row is the anchor `#scan-<id>` (the finding timeline links
//! there).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use crate::explorer::ScanChange;
use crate::layout::{AppHeader, ErrorAlert};
use crate::ui::{DataTable, EmptyState};

/// Scans one page shows.
pub const SCANS_SHOWN: i64 = 100;

/// One received report, as the history shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanSummary {
    pub id: i64,
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// `accepted` or `rejected`.
    pub status: String,
    pub format: String,
    pub scanner: String,
    pub scanner_version: Option<String>,
    pub target: String,
    pub branch: Option<String>,
    pub commit_sha: Option<String>,
    pub partial: bool,
    pub findings_total: i32,
    pub findings_new: i32,
    pub findings_reopened: i32,
    pub findings_fixed: i32,
    pub gate_passed: Option<bool>,
    /// Why the report was refused, or why it closed nothing.
    pub note: Option<String>,
    /// Items of the report that did not become findings, and why (`3 skipped: …`).
    pub skipped: Option<String>,
}

/// The project's latest scans, for anyone with a role on it.
#[server(endpoint = "list_scans")]
pub async fn list_scans(project: String) -> Result<Vec<ScanSummary>, AppError> {
    let (_, project_id, _) =
        crate::access::require(&project, crate::workflow::Action::View).await?;
    let ctx = crate::server_context::server_context()?;
    let rows = sqlx::query_as!(
        ScanSummary,
        r#"SELECT s.id, s.received_at, s.status::text AS "status!", s.format, s.scanner,
                s.scanner_version, s.target, s.branch, s.commit_sha, s.partial, s.findings_total,
                s.findings_new, s.findings_reopened, s.findings_fixed, s.gate_passed,
                coalesce(s.error, s.auto_close_skipped) AS note,
                (SELECT string_agg((e->>'count') || ' skipped: ' || (e->>'reason'), '; ')
                   FROM jsonb_array_elements(s.skipped) e) AS skipped
           FROM scans s
          WHERE s.project_id = $1
          ORDER BY s.received_at DESC, s.id DESC
          LIMIT $2"#,
        project_id,
        SCANS_SHOWN,
    )
    .fetch_all(&ctx.pool)
    .await?;
    Ok(rows)
}

#[component]
pub fn ScansPage() -> impl IntoView {
    let params = use_params_map();
    let project = Memo::new(move |_| params.read().get("slug").unwrap_or_default());
    let scans = Resource::new(move || project.get(), list_scans);
    view! {
        <Title text="Scans"/>
        <AppHeader/>
        <main class="scans">
            <header class="page-head">
                <div>
                    <h1>"Scans of " <code>{move || project.get()}</code></h1>
                    <p class="page-sub">"Every report received for this project, newest first. A rejected report says why."</p>
                </div>
            </header>
            <Transition fallback=|| view! { <p class="muted">"Loading scans…"</p> }>
                {move || Suspend::new(async move {
                    match scans.await {
                        Ok(rows) => view! { <ScansTable rows/> }.into_any(),
                        Err(err) => view! { <ErrorAlert err/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn ScansTable(rows: Vec<ScanSummary>) -> impl IntoView {
    if rows.is_empty() {
        return view! {
            <EmptyState title="No reports received for this project yet">
                <p>
                    "Scans appear here once a CI pipeline or cluster tool pushes a report with a token for this project: "
                    <code>"bosun push"</code> " or " <code>"POST /api/v1/reports"</code> ". "
                    "Tokens are on the " <a href="/settings/tokens">"tokens page"</a> "."
                </p>
            </EmptyState>
        }
        .into_any();
    }
    view! {
        <DataTable label="Scans" class="scans-table">
            <thead>
                <tr>
                    <th>"Received"</th>
                    <th>"Status"</th>
                    <th>"Scanner"</th>
                    <th>"Target"</th>
                    <th>"Findings"</th>
                    <th>"Gate"</th>
                    <th>"Note"</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|s| {
                        let scanner = match (&s.scanner, &s.scanner_version) {
                            (name, _) if name.is_empty() => s.format.clone(),
                            (name, Some(v)) => format!("{name} {v}"),
                            (name, None) => name.clone(),
                        };
                        let counts = (s.status == "accepted").then(|| view! { <ScanCounts scan=s.clone()/> });
                        let gate = match s.gate_passed {
                            Some(true) => "passed",
                            Some(false) => "failed",
                            None => "–",
                        };
                        let branch = s.branch.clone().unwrap_or_default();
                        view! {
                            <tr class=format!("scan scan-{}", s.status) data-id=s.id id=format!("scan-{}", s.id)>
                                <td class="when">{s.received_at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                <td><span class=format!("status status-{}", s.status)>{s.status.clone()}</span></td>
                                <td>{scanner}<small class="muted">" · " {s.format.clone()}</small></td>
                                <td><code>{s.target.clone()}</code><small class="muted">" " {branch}</small></td>
                                <td class="counts">{counts}</td>
                                <td class=format!("gate gate-{gate}")>{gate}</td>
                                <td class="note">
                                    {s.note.clone()}
                                    {s.skipped.clone().map(|text| view! { <span class="skipped">{text}</span> })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </DataTable>
    }
    .into_any()
}

/// An accepted scan's counts: the total it reported, and its new, reopened and fixed
/// findings, each a link to exactly those (in every state) when there are any.
#[component]
fn ScanCounts(scan: ScanSummary) -> impl IntoView {
    let id = scan.id;
    let part = move |n: i32, change: ScanChange, word: &'static str| {
        let text = format!("{n} {word}");
        if n > 0 {
            // the accessible name starts with the visible text
            let label = format!(
                "{text} {} scan #{id}",
                match change {
                    ScanChange::New => "in",
                    ScanChange::Reopened | ScanChange::Fixed => "by",
                }
            );
            view! {
                <a class=format!("scan-change change-{}", change.as_str()) data-change=change.as_str()
                    href=crate::scan_diff::explorer_url(id, Some(change)) aria-label=label>{text}</a>
            }
            .into_any()
        } else {
            view! { <span class="zero">{text}</span> }.into_any()
        }
    };
    // "all changes" when the scan did more than one kind of change
    let kinds = [
        scan.findings_new,
        scan.findings_reopened,
        scan.findings_fixed,
    ]
    .iter()
    .filter(|n| **n > 0)
    .count();
    view! {
        <span class="scan-total" title="Findings in the report. Bosun keeps what each scan changed, not every finding it reported, so the total is not a link.">
            {format!("{} total", scan.findings_total)}
        </span>
        " · " {part(scan.findings_new, ScanChange::New, "new")}
        " · " {part(scan.findings_reopened, ScanChange::Reopened, "reopened")}
        " · " {part(scan.findings_fixed, ScanChange::Fixed, "fixed")}
        {scan.partial.then_some(" · partial")}
        {(kinds > 1).then(|| view! {
            " · " <a class="scan-diff" href=crate::scan_diff::explorer_url(id, None)
                aria-label=format!("all changes of scan #{id}")>"all changes"</a>
        })}
    }
}
