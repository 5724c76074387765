//! Projects: the list with each project's posture (`/projects`) and a project's page
//! (`/projects/<slug>`) with its layer coverage map — for each of the seven layers, when it
//! was last scanned and by what, its open findings, and a warning when it was never scanned
//! or not for longer than `BOSUN_COVERAGE_STALE_DAYS`.
//!
//! Open counts come from the maintained aggregates (`project_open_counts`,
//! `finding_counts`; migration 26); a layer's last scan from the scopes that have reported
//! findings in it (`scope_layers` joined to `scopes`, whose latest scan counts clean or not).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use crate::domain::{Layer, Severity};
use crate::error::AppError;
use crate::layout::{AppHeader, ErrorAlert};
use crate::overview::{count_link, explorer};

/// Projects the list shows at most (riskiest first); a team filter narrows it.
pub const PROJECTS_SHOWN: i64 = 200;
/// Scans the project page lists (the scan history page has more).
pub const RECENT_SCANS: i64 = 10;

type Time = chrono::DateTime<chrono::Utc>;

/// One project's posture, as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectPosture {
    pub slug: String,
    pub name: String,
    pub team_slug: Option<String>,
    pub team_name: Option<String>,
    /// Open (active) findings in [`Severity::ALL`] order.
    pub open: [i64; 5],
    pub breached: i64,
    /// Last scan per layer in [`Layer::ALL`] order.
    pub last_scans: [Option<Time>; 7],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectList {
    pub projects: Vec<ProjectPosture>,
    /// Visible projects in all (of the team filter), shown or not.
    pub total: i64,
    pub teams: Vec<crate::overview::TeamChoice>,
    pub team: Option<String>,
    pub stale_days: i64,
}

/// Where a layer stands on the coverage map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    Never,
    Stale,
    Current,
}

impl Coverage {
    pub fn of(last: Option<Time>, now: Time, stale_days: i64) -> Coverage {
        match last {
            None => Coverage::Never,
            Some(at) if now - at > chrono::Duration::days(stale_days) => Coverage::Stale,
            Some(_) => Coverage::Current,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Coverage::Never => "never",
            Coverage::Stale => "stale",
            Coverage::Current => "current",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerCoverage {
    pub layer: Layer,
    pub last_scan_at: Option<Time>,
    pub last_scan_id: Option<i64>,
    pub scanner: Option<String>,
    pub target: Option<String>,
    pub open: i64,
    pub coverage: Coverage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentScan {
    pub id: i64,
    pub received_at: Time,
    pub status: String,
    pub scanner: String,
    pub target: String,
    pub findings_new: i32,
    pub findings_reopened: i32,
    pub findings_fixed: i32,
    pub gate_passed: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectView {
    pub slug: String,
    pub name: String,
    pub team_slug: Option<String>,
    pub team_name: Option<String>,
    pub open: [i64; 5],
    pub breached: i64,
    pub coverage: Vec<LayerCoverage>,
    pub stale_days: i64,
    pub scans: Vec<RecentScan>,
}

/// The visible projects (of one team), riskiest first.
#[server(endpoint = "list_projects")]
pub async fn list_projects(team: Option<String>) -> Result<ProjectList, AppError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    let team = team.filter(|t| !t.trim().is_empty());
    db::list(&ctx.pool, user.id, team, ctx.coverage_stale_days).await
}

/// One project, for anyone with a role on it; any other answers 404 "No such project."
#[server(endpoint = "project_detail")]
pub async fn project_detail(slug: String) -> Result<ProjectView, AppError> {
    let (_, project_id, _) = crate::access::require(&slug, crate::workflow::Action::View).await?;
    let ctx = crate::server_context::server_context()?;
    db::detail(&ctx.pool, project_id, ctx.coverage_stale_days).await
}

#[cfg(feature = "ssr")]
pub mod db {
    use sqlx::PgPool;

    use super::*;
    use crate::overview::ACTIVE_STATES;
    use crate::overview::db::{DUE_AT, THIS_WEEK_START};

    fn counts(values: Vec<Option<i64>>) -> [i64; 5] {
        let mut out = [0; 5];
        for (i, n) in values.into_iter().take(5).enumerate() {
            out[i] = n.unwrap_or(0);
        }
        out
    }

    /// Per project of the array `$1`, its active findings past their due date: the weeks
    /// before this one from the maintained counts (migration 27), this week's from the
    /// findings' due-date index (exact to the second).
    fn breached_sql() -> String {
        format!(
            "SELECT project_id, sum(n)::int8 FROM (
                SELECT project_id, n FROM project_due_weeks
                 WHERE project_id = ANY($1) AND week < bosun_week(now())
                UNION ALL
                SELECT f.project_id, 1 FROM findings f
                 WHERE f.project_id = ANY($1) AND f.state IN {ACTIVE_STATES}
                   AND {DUE_AT} >= {THIS_WEEK_START}
                   AND {DUE_AT} <= now()) x
              GROUP BY project_id"
        )
    }

    const OPEN_ARRAY: &str = "ARRAY[sum(c.n) FILTER (WHERE c.severity = 'critical'),
              sum(c.n) FILTER (WHERE c.severity = 'high'),
              sum(c.n) FILTER (WHERE c.severity = 'medium'),
              sum(c.n) FILTER (WHERE c.severity = 'low'),
              sum(c.n) FILTER (WHERE c.severity = 'info')]::bigint[]";

    #[derive(sqlx::FromRow)]
    struct ListRow {
        id: i64,
        slug: String,
        name: String,
        team_slug: Option<String>,
        team_name: Option<String>,
        open: Vec<Option<i64>>,
        total: i64,
    }

    pub async fn list(
        pool: &PgPool,
        user_id: i64,
        team: Option<String>,
        stale_days: i64,
    ) -> Result<ProjectList, AppError> {
        let visible = crate::access::db::project_visible_to("$1");
        let teams: Vec<(i64, String, String)> = sqlx::query_as(&format!(
            "SELECT p.team_id, t.slug, t.name
               FROM (SELECT id AS team_id FROM teams) p JOIN teams t ON t.id = p.team_id
              WHERE {visible} ORDER BY t.name, t.slug"
        ))
        .bind(user_id)
        .fetch_all(pool)
        .await?;
        let team_id = match &team {
            None => None,
            Some(slug) => Some(
                teams
                    .iter()
                    .find(|(_, s, _)| s == slug)
                    .map(|(id, _, _)| *id)
                    .ok_or_else(|| AppError::not_found("No such team."))?,
            ),
        };
        let weights: String = crate::overview::RISK_WEIGHTS
            .iter()
            .map(|(s, w)| format!("WHEN '{s}' THEN {w} "))
            .collect();
        let rows: Vec<ListRow> = sqlx::query_as(&format!(
            "SELECT p.id, p.slug, p.name, t.slug AS team_slug, t.name AS team_name,
                    {OPEN_ARRAY} AS open, count(*) OVER () AS total
               FROM projects p
               LEFT JOIN teams t ON t.id = p.team_id
               LEFT JOIN project_open_counts c ON c.project_id = p.id
              WHERE {visible} AND ($2::bigint IS NULL OR p.team_id = $2)
              GROUP BY p.id, t.id
              ORDER BY coalesce(sum(c.n * CASE c.severity {weights} ELSE 0 END), 0) DESC,
                       coalesce(sum(c.n), 0) DESC, p.name, p.slug
              LIMIT $3"
        ))
        .bind(user_id)
        .bind(team_id)
        .bind(PROJECTS_SHOWN)
        .fetch_all(pool)
        .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let breached: Vec<(i64, i64)> = sqlx::query_as(&breached_sql())
            .bind(&ids)
            .fetch_all(pool)
            .await?;
        let scans: Vec<(i64, Layer, Time)> = sqlx::query_as(
            "SELECT l.project_id, l.layer, max(s.last_scan_at)
               FROM scope_layers l
               JOIN scopes s USING (project_id, scanner, target)
              WHERE l.project_id = ANY($1)
              GROUP BY l.project_id, l.layer",
        )
        .bind(&ids)
        .fetch_all(pool)
        .await?;
        let total = rows.first().map_or(0, |r| r.total);
        let projects = rows
            .into_iter()
            .map(|r| {
                let mut last_scans: [Option<Time>; 7] = [None; 7];
                for (_, layer, at) in scans.iter().filter(|(id, _, _)| *id == r.id) {
                    if let Some(i) = Layer::ALL.iter().position(|l| l == layer) {
                        last_scans[i] = Some(*at);
                    }
                }
                ProjectPosture {
                    breached: breached
                        .iter()
                        .find(|(id, _)| *id == r.id)
                        .map_or(0, |(_, n)| *n),
                    slug: r.slug,
                    name: r.name,
                    team_slug: r.team_slug,
                    team_name: r.team_name,
                    open: counts(r.open),
                    last_scans,
                }
            })
            .collect();
        Ok(ProjectList {
            projects,
            total,
            teams: teams
                .into_iter()
                .map(|(_, slug, name)| crate::overview::TeamChoice { slug, name })
                .collect(),
            team,
            stale_days,
        })
    }

    pub async fn detail(
        pool: &PgPool,
        project_id: i64,
        stale_days: i64,
    ) -> Result<ProjectView, AppError> {
        let (slug, name, team_slug, team_name): (String, String, Option<String>, Option<String>) =
            sqlx::query_as(
                "SELECT p.slug, p.name, t.slug, t.name FROM projects p
                   LEFT JOIN teams t ON t.id = p.team_id WHERE p.id = $1",
            )
            .bind(project_id)
            .fetch_one(pool)
            .await?;
        let by_cell: Vec<(Severity, Layer, i64)> = sqlx::query_as(&format!(
            "SELECT severity, layer, sum(n)::bigint FROM finding_counts
              WHERE project_id = $1 AND state IN {ACTIVE_STATES}
              GROUP BY severity, layer"
        ))
        .bind(project_id)
        .fetch_all(pool)
        .await?;
        let breached: i64 = sqlx::query_as::<_, (i64, i64)>(&breached_sql())
            .bind(vec![project_id])
            .fetch_optional(pool)
            .await?
            .map_or(0, |(_, n)| n);
        // each layer's most recently scanned scope
        let last: Vec<(Layer, Time, i64, String, String)> = sqlx::query_as(
            "SELECT DISTINCT ON (l.layer) l.layer, s.last_scan_at, s.last_scan_id, s.scanner,
                    s.target
               FROM scope_layers l
               JOIN scopes s USING (project_id, scanner, target)
              WHERE l.project_id = $1
              ORDER BY l.layer, s.last_scan_at DESC, s.scanner, s.target",
        )
        .bind(project_id)
        .fetch_all(pool)
        .await?;
        let scans: Vec<RecentScan> = sqlx::query_as::<
            _,
            (
                i64,
                Time,
                String,
                String,
                String,
                i32,
                i32,
                i32,
                Option<bool>,
            ),
        >(
            "SELECT id, received_at, status::text, scanner, target, findings_new,
                    findings_reopened, findings_fixed, gate_passed
               FROM scans WHERE project_id = $1
              ORDER BY received_at DESC, id DESC LIMIT $2",
        )
        .bind(project_id)
        .bind(RECENT_SCANS)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(
            |(id, received_at, status, scanner, target, new, reopened, fixed, gate)| RecentScan {
                id,
                received_at,
                status,
                scanner,
                target,
                findings_new: new,
                findings_reopened: reopened,
                findings_fixed: fixed,
                gate_passed: gate,
            },
        )
        .collect();

        let now = chrono::Utc::now();
        let mut open = [0; 5];
        for (sev, _, n) in &by_cell {
            if let Some(i) = Severity::ALL.iter().position(|s| s == sev) {
                open[i] += n;
            }
        }
        let coverage = Layer::ALL
            .iter()
            .map(|&layer| {
                let scan = last.iter().find(|(l, ..)| *l == layer);
                let last_scan_at = scan.map(|s| s.1);
                LayerCoverage {
                    layer,
                    last_scan_at,
                    last_scan_id: scan.map(|s| s.2),
                    scanner: scan.map(|s| s.3.clone()),
                    target: scan.map(|s| s.4.clone()),
                    open: by_cell
                        .iter()
                        .filter(|(_, l, _)| *l == layer)
                        .map(|(_, _, n)| n)
                        .sum(),
                    coverage: Coverage::of(last_scan_at, now, stale_days),
                }
            })
            .collect();
        Ok(ProjectView {
            slug,
            name,
            team_slug,
            team_name,
            open,
            breached,
            coverage,
            stale_days,
            scans,
        })
    }
}

fn ago(at: Time) -> String {
    let days = (chrono::Utc::now() - at).num_days();
    match days {
        0 => "today".to_string(),
        1 => "yesterday".to_string(),
        d => format!("{d} days ago"),
    }
}

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let query = use_query_map();
    let team = Memo::new(move |_| query.read().get("team").filter(|t| !t.is_empty()));
    let data = Resource::new(move || team.get(), list_projects);
    view! {
        <Title text="Projects"/>
        <AppHeader/>
        <main class="projects">
            <header class="page-head">
                <h1>"Projects"</h1>
                <p class="page-sub">"Each project you can see: its open findings, SLA breaches and when each layer was last scanned. Riskiest first."</p>
            </header>
            <Transition fallback=|| view! { <p class="muted">"Loading projects…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(list) => view! { <ProjectsTable list/> }.into_any(),
                        Err(err) => view! { <ErrorAlert err/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn ProjectsTable(list: ProjectList) -> AnyView {
    let selected = list.team.clone().unwrap_or_default();
    let filter = (list.teams.len() > 1 || !selected.is_empty()).then(|| {
        view! {
            <nav class="team-filter toolbar" aria-label="Filter by team">
                <span class="field-label">"Team"</span>
                <a href="/projects" class=if selected.is_empty() { "chip active" } else { "chip" }>"All teams"</a>
                {list
                    .teams
                    .iter()
                    .map(|t| {
                        let active = t.slug == selected;
                        view! {
                            <a href=format!("/projects?team={}", t.slug) class=if active { "chip active" } else { "chip" } aria-current=active.then_some("page")>
                                {t.name.clone()}
                            </a>
                        }
                    })
                    .collect_view()}
            </nav>
        }
    });
    if list.projects.is_empty() {
        return view! {
            {filter}
            <div class="empty">
                "You can see no projects yet. A project appears when its team pushes a first report, or when an admin gives you a role in the team that owns it."
            </div>
        }
        .into_any();
    }
    let shown = list.projects.len() as i64;
    let note = (list.total > shown).then(|| {
        format!(
            "Showing the {shown} riskiest of {} projects; filter by team to see the rest.",
            list.total
        )
    });
    let stale_days = list.stale_days;
    let now = chrono::Utc::now();
    view! {
        {filter}
        {note.map(|n| view! { <p class="notice">{n}</p> })}
        <div class="table-wrap" role="region" aria-label="Table" tabindex="0">
            <table class="data-table projects-table">
                <thead>
                    <tr>
                        <th scope="col">"Project"</th>
                        <th scope="col">"Team"</th>
                        {Severity::ALL.iter().map(|s| view! { <th scope="col" class="num">{s.label()}</th> }).collect_view()}
                        <th scope="col" class="num">"Breached"</th>
                        <th scope="col">"Layers scanned"</th>
                    </tr>
                </thead>
                <tbody>
                    {list
                        .projects
                        .into_iter()
                        .map(|p| {
                            let slug = p.slug.clone();
                            let layers = Layer::ALL
                                .iter()
                                .enumerate()
                                .map(|(i, layer)| {
                                    let c = Coverage::of(p.last_scans[i], now, stale_days);
                                    let title = match p.last_scans[i] {
                                        Some(at) => format!("{}: last scanned {} ({})", layer.label(), at.format("%Y-%m-%d"), ago(at)),
                                        None => format!("{}: never scanned", layer.label()),
                                    };
                                    let text = title.clone();
                                    view! {
                                        <li class=format!("layer-pip cov-{}", c.as_str()) title=title data-layer=layer.as_str()>
                                            <span class="visually-hidden">{text}</span>
                                        </li>
                                    }
                                })
                                .collect_view();
                            view! {
                                <tr data-project=slug.clone()>
                                    <th scope="row"><a href=format!("/projects/{slug}")>{p.name.clone()}</a><br/><small class="muted">{slug.clone()}</small></th>
                                    <td>{p.team_name.clone().unwrap_or_else(|| "–".into())}</td>
                                    {Severity::ALL
                                        .iter()
                                        .enumerate()
                                        .map(|(i, sev)| {
                                            let n = p.open[i];
                                            view! {
                                                <td class="num" data-severity=sev.as_str()>
                                                    {count_link(n, explorer(&[("project", slug.as_str()), ("severity", sev.as_str()), ("state", "active")]), format!("{n} open {} findings of {}", sev.as_str(), p.name))}
                                                </td>
                                            }
                                        })
                                        .collect_view()}
                                    <td class="num breached">
                                        {count_link(p.breached, explorer(&[("project", slug.as_str()), ("state", "active"), ("sla", "breached")]), format!("{} findings of {} past their SLA", p.breached, p.name))}
                                    </td>
                                    <td><ul class="layer-pips" aria-label="Layers scanned">{layers}</ul></td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <p class="legend muted">
            <span class="layer-pip cov-current"></span>" scanned in the last " {stale_days} " days  "
            <span class="layer-pip cov-stale"></span>" older  "
            <span class="layer-pip cov-never"></span>" never scanned. Layers in order: "
            {Layer::ALL.iter().map(|l| l.label()).collect::<Vec<_>>().join(", ")} "."
        </p>
    }
    .into_any()
}

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let slug = Memo::new(move |_| params.read().get("slug").unwrap_or_default());
    let data = Resource::new(move || slug.get(), project_detail);
    view! {
        <Title text=move || format!("Project {}", slug.get())/>
        <AppHeader/>
        <main class="project-page">
            <Transition fallback=|| view! { <p class="muted">"Loading the project…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(p) => view! { <ProjectBody p/> }.into_any(),
                        Err(err) => view! {
                            <header class="page-head"><h1>"Project not available"</h1></header>
                            <ErrorAlert err/>
                            <p><a href="/projects">"All projects"</a></p>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn ProjectBody(p: ProjectView) -> AnyView {
    let slug = p.slug.clone();
    let s = slug.clone();
    let link = move |extra: &[(&str, &str)]| {
        let mut params = vec![("project", s.as_str())];
        params.extend_from_slice(extra);
        explorer(&params)
    };
    let total: i64 = p.open.iter().sum();
    let gaps = p
        .coverage
        .iter()
        .filter(|c| c.coverage != Coverage::Current)
        .count();
    let stale_days = p.stale_days;
    view! {
        <header class="page-head">
            <h1>{p.name.clone()}</h1>
            <p class="page-sub">
                <code>{slug.clone()}</code>
                " · owned by "
                {match (p.team_slug.clone(), p.team_name.clone()) {
                    (Some(t), Some(name)) => view! { <a href=format!("/?team={t}") class="team">{name}</a> }.into_any(),
                    _ => view! { <span class="team">"no team (admins and security only)"</span> }.into_any(),
                }}
                " · " <a href=format!("/projects/{slug}/scans")>"Scans"</a>
                " · " <a href=format!("/projects/{slug}/settings")>"Settings (gate, routing, tokens)"</a>
            </p>
        </header>
        <section class="stats" aria-label="Headline numbers">
            <div class="stat">
                <span class="stat-value">{count_link(total, link(&[("state", "active")]), format!("{total} open findings"))}</span>
                <span class="stat-label">"Open findings"</span>
            </div>
            {Severity::ALL
                .iter()
                .enumerate()
                .filter(|(_, s)| **s != Severity::Info)
                .map(|(i, sev)| {
                    let n = p.open[i];
                    view! {
                        <div class=format!("stat stat-{sev}")>
                            <span class="stat-value">{count_link(n, link(&[("severity", sev.as_str()), ("state", "active")]), format!("{n} open {} findings", sev.as_str()))}</span>
                            <span class="stat-label">{sev.label()}</span>
                        </div>
                    }
                })
                .collect_view()}
            <div class="stat stat-breached">
                <span class="stat-value">{count_link(p.breached, link(&[("sla", "breached"), ("state", "active")]), format!("{} findings past their SLA", p.breached))}</span>
                <span class="stat-label">"SLA breached"</span>
            </div>
        </section>
        <section class="card coverage-card">
            <h2 class="card-title">"Layer coverage"</h2>
            <p class="card-note">
                {if gaps == 0 {
                    format!("Every layer was scanned in the last {stale_days} days.")
                } else {
                    format!("{gaps} of 7 layers were never scanned or not in the last {stale_days} days. Scan every layer: a missing one is a blind spot, not a clean bill.")
                }}
            </p>
            <ul class="coverage-map">
                {p.coverage
                    .iter()
                    .map(|c| {
                        let status = match c.coverage {
                            Coverage::Never => "Never scanned".to_string(),
                            Coverage::Stale => format!("Stale: not scanned in {stale_days} days"),
                            Coverage::Current => "Scanned".to_string(),
                        };
                        let warn = c.coverage != Coverage::Current;
                        let open = c.open;
                        view! {
                            <li class=format!("coverage-tile cov-{}", c.coverage.as_str()) data-layer=c.layer.as_str() data-coverage=c.coverage.as_str()>
                                <h3 class="coverage-layer">{c.layer.label()}</h3>
                                <p class="coverage-status">
                                    {warn.then(|| view! { <span class="warn-icon" aria-hidden="true">"⚠ "</span> })}
                                    <strong>{status}</strong>
                                </p>
                                {c.last_scan_at.map(|at| view! {
                                    <p class="coverage-when">
                                        <time datetime=at.to_rfc3339()>{at.format("%Y-%m-%d %H:%M").to_string()}</time>
                                        " (" {ago(at)} ")"
                                    </p>
                                })}
                                {c.scanner.clone().map(|scanner| view! {
                                    <p class="coverage-scanner muted">"by " <code>{scanner}</code>
                                        {c.target.clone().filter(|t| !t.is_empty()).map(|t| view! { " on " <code>{t}</code> })}
                                    </p>
                                })}
                                <p class="coverage-open">
                                    {count_link(open, link(&[("layer", c.layer.as_str()), ("state", "active")]), format!("{open} open {} findings", c.layer.label().to_lowercase()))}
                                    " open"
                                </p>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
        <section class="card scans-card">
            <h2 class="card-title">"Recent scans"</h2>
            {if p.scans.is_empty() {
                view! { <div class="empty">"No report received yet. Push one with this project's token from CI (see Tokens)."</div> }.into_any()
            } else {
                view! {
                    <div class="table-wrap" role="region" aria-label="Table" tabindex="0">
                        <table class="data-table">
                            <thead><tr><th scope="col">"Received"</th><th scope="col">"Scanner"</th><th scope="col">"Target"</th><th scope="col" class="num">"New"</th><th scope="col" class="num">"Reopened"</th><th scope="col" class="num">"Fixed"</th><th scope="col">"Gate"</th></tr></thead>
                            <tbody>
                                {p.scans
                                    .iter()
                                    .map(|s| {
                                        let gate = match (s.status.as_str(), s.gate_passed) {
                                            ("rejected", _) => "rejected",
                                            (_, Some(true)) => "passed",
                                            (_, Some(false)) => "failed",
                                            _ => "–",
                                        };
                                        view! {
                                            <tr data-scan=s.id>
                                                <td>{s.received_at.format("%Y-%m-%d %H:%M").to_string()}</td>
                                                <td>{s.scanner.clone()}</td>
                                                <td><code>{s.target.clone()}</code></td>
                                                <td class="num">{s.findings_new}</td>
                                                <td class="num">{s.findings_reopened}</td>
                                                <td class="num">{s.findings_fixed}</td>
                                                <td class=format!("gate gate-{gate}")>{gate}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}
            <p><a class="btn-link" href=format!("/projects/{slug}/scans")>"Full scan history →"</a></p>
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layer_is_never_stale_or_current() {
        let now: Time = "2026-12-06T12:00:00Z".parse().unwrap();
        assert_eq!(Coverage::of(None, now, 14), Coverage::Never);
        let fresh = now - chrono::Duration::days(14);
        assert_eq!(Coverage::of(Some(fresh), now, 14), Coverage::Current);
        let old = now - chrono::Duration::days(14) - chrono::Duration::seconds(1);
        assert_eq!(Coverage::of(Some(old), now, 14), Coverage::Stale);
    }
}
