//! The overview at `/`: what a security lead reads every morning, scoped to what the viewer
//! may see and optionally to one team (`/?team=<slug>`). Every number links to the findings
//! explorer showing exactly the findings it counts (see [`explorer`]).
//!
//! Counts come from the aggregates that triggers keep in the same transaction as the
//! findings (migrations 26 and 27: `team_counts`, `project_open_counts`, `team_weekly`), so the
//! page reads a few thousand rows at a million findings and never a stale number. SLA
//! counts depend on the clock, so they are read from the findings' stored due dates ([`db::DUE_AT`]).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::domain::{Layer, Severity};
use crate::error::AppError;
use crate::layout::{AppHeader, ErrorAlert};

/// Active (open work) states, as the explorer's `state=active`.
pub const ACTIVE_STATES: &str = "('open', 'confirmed', 'in_progress', 'reopened')";

/// Weights of the riskiest-projects score: a critical weighs as much as 25 low findings.
pub const RISK_WEIGHTS: [(Severity, i64); 5] = [
    (Severity::Critical, 25),
    (Severity::High, 10),
    (Severity::Medium, 3),
    (Severity::Low, 1),
    (Severity::Info, 0),
];

/// Weeks the opened-vs-fixed chart shows, the current one included.
pub const WEEKS: i64 = 12;
/// Days the mean time to remediate looks back over.
pub const MTTR_DAYS: i64 = 90;
/// Days ahead the "risk acceptances expiring" list looks.
pub const EXPIRY_DAYS: i64 = 14;
/// Days ahead "due soon" looks (the explorer's `sla=due_soon`).
pub const DUE_SOON_DAYS: i64 = 7;
/// Rows of each list (riskiest projects, newest findings, expiring acceptances, gates).
pub const LIST_ROWS: i64 = 8;

/// A link to the explorer with these query parameters (the URL contract of #15).
pub fn explorer(params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if query.is_empty() {
        "/findings".to_string()
    } else {
        format!("/findings?{}", query.join("&"))
    }
}

/// Percent-encodes what a query value may not hold as is (slugs and enum names pass through).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamChoice {
    pub slug: String,
    pub name: String,
}

/// Open findings of one team (or of the projects without one: `slug` None), by severity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamRow {
    pub slug: Option<String>,
    pub name: String,
    /// In [`Severity::ALL`] order.
    pub open: [i64; 5],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectRisk {
    pub slug: String,
    pub name: String,
    pub open: [i64; 5],
    pub score: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingLine {
    pub id: i64,
    pub title: String,
    pub severity: Severity,
    pub project_slug: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Week {
    /// The Monday (UTC) the week starts on.
    pub start: chrono::NaiveDate,
    pub opened: i64,
    pub fixed: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remediation {
    pub severity: Severity,
    pub fixed: i64,
    /// Mean days from first seen to fixed; None when nothing was fixed.
    pub mean_days: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateFailures {
    pub project_slug: String,
    pub project_name: String,
    pub failures: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// Teams the viewer may filter by.
    pub teams: Vec<TeamChoice>,
    /// The team filter in force.
    pub team: Option<String>,
    /// Open findings by severity x layer: `matrix[severity][layer]` in `ALL` orders.
    pub matrix: [[i64; 7]; 5],
    pub by_team: Vec<TeamRow>,
    pub riskiest: Vec<ProjectRisk>,
    /// Active findings past their due date, and due within [`DUE_SOON_DAYS`], by severity.
    pub breached: [i64; 5],
    pub due_soon: [i64; 5],
    pub expiring: Vec<FindingLine>,
    pub expiring_total: i64,
    pub newest: Vec<FindingLine>,
    pub weeks: Vec<Week>,
    pub remediation: Vec<Remediation>,
    pub gate_failures: Vec<GateFailures>,
    pub gate_failures_total: i64,
    /// Monday (UTC) of this week, for "this week" and the `since=` links.
    pub week_start: chrono::NaiveDate,
}

impl Overview {
    pub fn open_total(&self) -> i64 {
        self.matrix.iter().flatten().sum()
    }
}

#[cfg(feature = "ssr")]
fn sev_index(severity: Severity) -> usize {
    Severity::ALL
        .iter()
        .position(|s| *s == severity)
        .unwrap_or(0)
}

#[cfg(feature = "ssr")]
fn layer_index(layer: Layer) -> usize {
    Layer::ALL.iter().position(|l| *l == layer).unwrap_or(0)
}

/// The overview for the signed-in person, optionally for one team.
#[server(endpoint = "overview")]
pub async fn load_overview(team: Option<String>) -> Result<Overview, AppError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    let team = team.filter(|t| !t.trim().is_empty());
    db::overview(&ctx.pool, user.id, team).await
}

#[cfg(feature = "ssr")]
pub mod db {
    use sqlx::PgPool;

    use super::*;

    /// When a finding `f` falls due: its stored date (migration 25), "never" without an
    /// SLA, written as the due-date indexes are so they serve these counts.
    pub const DUE_AT: &str = "coalesce(f.due_at, 'infinity'::timestamptz)";
    /// The instant this UTC week began (its Monday, 00:00): where the weeks kept in
    /// `team_due_weeks` / `project_due_weeks` end and counting the findings begins, and
    /// where "gate failures this week" start.
    pub const THIS_WEEK_START: &str = "(bosun_week(now())::timestamp AT TIME ZONE 'UTC')";

    /// `(team id, slug, name)` of the teams `user` may see, each visible team's projects
    /// being visible to them (`access::db::project_visible_to` over the team's id).
    fn visible_teams() -> String {
        let visible = crate::access::db::project_visible_to("$1");
        format!("SELECT p.team_id FROM (SELECT id AS team_id FROM teams) p WHERE {visible}")
    }

    /// The team ids (0: projects without a team) whose counts `user` ($1) sees, limited
    /// to team $2 when given.
    fn scope() -> String {
        let visible = crate::access::db::project_visible_to("$1");
        format!(
            "SELECT coalesce(p.team_id, 0) FROM
               (SELECT id AS team_id FROM teams UNION ALL SELECT NULL) p
              WHERE {visible}
                AND ($2::bigint IS NULL OR p.team_id = $2)"
        )
    }

    /// Condition on `projects p` for the visible projects of the team filter `$2`.
    fn project_scope() -> String {
        let visible = crate::access::db::project_visible_to("$1");
        format!("{visible} AND ($2::bigint IS NULL OR p.team_id = $2)")
    }

    pub async fn overview(
        pool: &PgPool,
        user_id: i64,
        team: Option<String>,
    ) -> Result<Overview, AppError> {
        let teams: Vec<(i64, String, String)> = sqlx::query_as(&format!(
            "SELECT t.id, t.slug, t.name FROM teams t
              WHERE t.id IN ({}) ORDER BY t.name, t.slug",
            visible_teams()
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
        let scope = scope();
        let projects = project_scope();
        let active = ACTIVE_STATES;

        let matrix = async {
            sqlx::query_as::<_, (Severity, Layer, i64)>(&format!(
                "SELECT severity, layer, sum(n)::bigint FROM team_counts
                  WHERE team_id IN ({scope}) AND state IN {active} GROUP BY severity, layer"
            ))
            .bind(user_id)
            .bind(team_id)
            .fetch_all(pool)
            .await
        };
        let by_team = async {
            sqlx::query_as::<_, (Option<String>, Option<String>, Severity, i64)>(&format!(
                "SELECT t.slug, t.name, c.severity, sum(c.n)::bigint
                   FROM team_counts c LEFT JOIN teams t ON t.id = c.team_id
                  WHERE c.team_id IN ({scope}) AND c.state IN {active}
                  GROUP BY t.slug, t.name, c.severity"
            ))
            .bind(user_id)
            .bind(team_id)
            .fetch_all(pool)
            .await
        };
        let weights: String = RISK_WEIGHTS
            .iter()
            .map(|(s, w)| format!("WHEN '{s}' THEN {w} "))
            .collect();
        let riskiest = async {
            sqlx::query_as::<_, (String, String, Vec<i64>, i64)>(&format!(
                "SELECT p.slug, p.name,
                        ARRAY[coalesce(sum(c.n) FILTER (WHERE c.severity = 'critical'), 0),
                              coalesce(sum(c.n) FILTER (WHERE c.severity = 'high'), 0),
                              coalesce(sum(c.n) FILTER (WHERE c.severity = 'medium'), 0),
                              coalesce(sum(c.n) FILTER (WHERE c.severity = 'low'), 0),
                              coalesce(sum(c.n) FILTER (WHERE c.severity = 'info'), 0)]::bigint[],
                        sum(c.n * CASE c.severity {weights} ELSE 0 END)::bigint AS score
                   FROM project_open_counts c JOIN projects p ON p.id = c.project_id
                  WHERE {projects}
                  GROUP BY p.id
                 HAVING sum(c.n) > 0
                  ORDER BY score DESC, sum(c.n) DESC, p.slug
                  LIMIT $3"
            ))
            .bind(user_id)
            .bind(team_id)
            .bind(LIST_ROWS)
            .fetch_all(pool)
            .await
        };
        // Breached: the weeks before this one from the maintained counts (migration 27),
        // this week's from the findings' due-date index; due soon: from the index.
        let sla = async {
            sqlx::query_as::<_, (Severity, i64, i64)>(&format!(
                "WITH this_week AS (
                    SELECT f.severity,
                           count(*) FILTER (WHERE {DUE_AT} <= now()) AS breached,
                           count(*) FILTER (WHERE {DUE_AT} > now()) AS due_soon
                      FROM findings f JOIN projects p ON p.id = f.project_id
                     WHERE {projects} AND f.state IN {active}
                       AND {DUE_AT} >= {THIS_WEEK_START}
                       AND {DUE_AT} <= now() + make_interval(days => $3)
                     GROUP BY f.severity),
                 earlier AS (
                    SELECT severity, sum(n)::bigint AS breached FROM team_due_weeks
                     WHERE team_id IN ({scope}) AND week < bosun_week(now())
                     GROUP BY severity)
                 SELECT severity, coalesce(e.breached, 0) + coalesce(w.breached, 0),
                        coalesce(w.due_soon, 0)
                   FROM this_week w FULL JOIN earlier e USING (severity)"
            ))
            .bind(user_id)
            .bind(team_id)
            .bind(DUE_SOON_DAYS as i32)
            .fetch_all(pool)
            .await
        };
        let expiring = async {
            sqlx::query_as::<
                _,
                (
                    i64,
                    String,
                    Severity,
                    String,
                    chrono::DateTime<chrono::Utc>,
                    i64,
                ),
            >(&format!(
                "SELECT f.id, f.title, f.severity, p.slug, f.risk_accepted_until,
                            count(*) OVER ()
                       FROM findings f JOIN projects p ON p.id = f.project_id
                      WHERE {projects} AND f.state = 'risk_accepted'
                        AND f.risk_accepted_until <= now() + make_interval(days => $3)
                      ORDER BY f.risk_accepted_until, f.id
                      LIMIT $4"
            ))
            .bind(user_id)
            .bind(team_id)
            .bind(EXPIRY_DAYS as i32)
            .bind(LIST_ROWS)
            .fetch_all(pool)
            .await
        };
        // Someone who sees everything walks the newest findings of two severities
        // (`findings_severity_idx`); anyone else takes the newest of each visible project
        // first, so a viewer of a few projects never walks everyone else's findings.
        let sees_all: bool =
            sqlx::query_scalar("SELECT is_admin OR security_all_teams FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_one(pool)
                .await?;
        // the visible projects as a list: the planner then knows how few they are
        let visible_ids: Vec<i64> = if sees_all && team_id.is_none() {
            Vec::new()
        } else {
            sqlx::query_scalar(&format!("SELECT p.id FROM projects p WHERE {projects}"))
                .bind(user_id)
                .bind(team_id)
                .fetch_all(pool)
                .await?
        };
        let newest = async {
            type Row = (i64, String, Severity, String, chrono::DateTime<chrono::Utc>);
            if sees_all && team_id.is_none() {
                sqlx::query_as::<_, Row>(&format!(
                    "SELECT f.id, f.title, f.severity, p.slug, f.first_seen_at
                       FROM findings f JOIN projects p ON p.id = f.project_id
                      WHERE f.severity IN ('critical', 'high') AND f.state IN {active}
                      ORDER BY f.id DESC
                      LIMIT $1"
                ))
                .bind(LIST_ROWS)
                .fetch_all(pool)
                .await
            } else {
                // newest of each visible project (backwards on an index led by
                // project_id and id), then the newest of those
                sqlx::query_as::<_, Row>(&format!(
                    "SELECT x.* FROM projects p
                      CROSS JOIN LATERAL (
                            SELECT f.id, f.title, f.severity, p.slug, f.first_seen_at
                              FROM findings f
                             WHERE f.project_id = p.id AND f.severity IN ('critical', 'high')
                               AND f.state IN {active}
                             ORDER BY f.id DESC
                             LIMIT $2) x
                      WHERE p.id = ANY($1)
                      ORDER BY x.id DESC
                      LIMIT $2"
                ))
                .bind(&visible_ids)
                .bind(LIST_ROWS)
                .fetch_all(pool)
                .await
            }
        };
        let weeks = async {
            sqlx::query_as::<_, (chrono::NaiveDate, i64, i64)>(&format!(
                "SELECT week, sum(opened)::bigint, sum(fixed)::bigint FROM team_weekly
                  WHERE team_id IN ({scope}) AND week > bosun_week(now()) - 7 * $3::int
                  GROUP BY week"
            ))
            .bind(user_id)
            .bind(team_id)
            .bind(WEEKS as i32)
            .fetch_all(pool)
            .await
        };
        // the weeks that overlap the last 90 days: 13 weeks, the current one included
        let remediation = async {
            sqlx::query_as::<_, (Severity, i64, f64)>(&format!(
                "SELECT severity, sum(fixed)::bigint, sum(fix_seconds)::float8 FROM team_weekly
                  WHERE team_id IN ({scope})
                    AND week > bosun_week(now()) - 7 * (($3::int + 6) / 7)
                  GROUP BY severity"
            ))
            .bind(user_id)
            .bind(team_id)
            .bind(MTTR_DAYS as i32)
            .fetch_all(pool)
            .await
        };
        let gates = async {
            sqlx::query_as::<_, (String, String, i64, i64)>(&format!(
                "SELECT p.slug, p.name, count(*), (sum(count(*)) OVER ())::bigint
                   FROM scans sc JOIN projects p ON p.id = sc.project_id
                  WHERE {projects} AND sc.gate_passed = false
                    AND sc.received_at >= {THIS_WEEK_START}
                  GROUP BY p.id
                  ORDER BY count(*) DESC, p.slug
                  LIMIT $3"
            ))
            .bind(user_id)
            .bind(team_id)
            .bind(LIST_ROWS)
            .fetch_all(pool)
            .await
        };
        let week_start = async {
            sqlx::query_scalar::<_, chrono::NaiveDate>("SELECT bosun_week(now())")
                .fetch_one(pool)
                .await
        };
        let (
            matrix,
            by_team,
            riskiest,
            sla,
            expiring,
            newest,
            weeks,
            remediation,
            gates,
            week_start,
        ) = tokio::try_join!(
            matrix,
            by_team,
            riskiest,
            sla,
            expiring,
            newest,
            weeks,
            remediation,
            gates,
            week_start
        )?;

        let mut cells = [[0i64; 7]; 5];
        for (sev, layer, n) in matrix {
            cells[sev_index(sev)][layer_index(layer)] += n;
        }
        let mut teams_rows: Vec<TeamRow> = Vec::new();
        for (slug, name, sev, n) in by_team {
            let row = match teams_rows.iter_mut().find(|r| r.slug == slug) {
                Some(row) => row,
                None => {
                    teams_rows.push(TeamRow {
                        name: name.unwrap_or_else(|| "No team".to_string()),
                        slug,
                        open: [0; 5],
                    });
                    teams_rows.last_mut().expect("just pushed")
                }
            };
            row.open[sev_index(sev)] += n;
        }
        teams_rows.retain(|r| r.open.iter().sum::<i64>() > 0);
        teams_rows.sort_by(|a, b| {
            let total = |r: &TeamRow| r.open.iter().sum::<i64>();
            (b.open[0], b.open[1], total(b))
                .cmp(&(a.open[0], a.open[1], total(a)))
                .then(a.name.cmp(&b.name))
        });
        let riskiest = riskiest
            .into_iter()
            .map(|(slug, name, open, score)| {
                let mut counts = [0; 5];
                for (i, n) in open.into_iter().take(5).enumerate() {
                    counts[i] = n;
                }
                ProjectRisk {
                    slug,
                    name,
                    open: counts,
                    score,
                }
            })
            .collect();
        let mut breached = [0; 5];
        let mut due_soon = [0; 5];
        for (sev, b, d) in sla {
            breached[sev_index(sev)] = b;
            due_soon[sev_index(sev)] = d;
        }
        let expiring_total = expiring.first().map_or(0, |r| r.5);
        let expiring = expiring
            .into_iter()
            .map(|(id, title, severity, project_slug, at, _)| FindingLine {
                id,
                title,
                severity,
                project_slug,
                at,
            })
            .collect();
        let newest = newest
            .into_iter()
            .map(|(id, title, severity, project_slug, at)| FindingLine {
                id,
                title,
                severity,
                project_slug,
                at,
            })
            .collect();
        let weeks = (0..WEEKS)
            .rev()
            .map(|back| {
                let start = week_start - chrono::Duration::weeks(back);
                let (opened, fixed) = weeks
                    .iter()
                    .find(|(w, _, _)| *w == start)
                    .map_or((0, 0), |(_, o, f)| (*o, *f));
                Week {
                    start,
                    opened,
                    fixed,
                }
            })
            .collect();
        let remediation = Severity::ALL
            .iter()
            .map(|&severity| {
                let (fixed, seconds) = remediation
                    .iter()
                    .find(|(s, _, _)| *s == severity)
                    .map_or((0, 0.0), |(_, f, s)| (*f, *s));
                Remediation {
                    severity,
                    fixed,
                    mean_days: (fixed > 0).then(|| seconds / fixed as f64 / 86_400.0),
                }
            })
            .collect();
        let gate_failures_total = gates.first().map_or(0, |g| g.3);
        let gate_failures = gates
            .into_iter()
            .map(|(project_slug, project_name, failures, _)| GateFailures {
                project_slug,
                project_name,
                failures,
            })
            .collect();
        Ok(Overview {
            teams: teams
                .into_iter()
                .map(|(_, slug, name)| TeamChoice { slug, name })
                .collect(),
            team,
            matrix: cells,
            by_team: teams_rows,
            riskiest,
            breached,
            due_soon,
            expiring,
            expiring_total,
            newest,
            weeks,
            remediation,
            gate_failures,
            gate_failures_total,
            week_start,
        })
    }
}

#[component]
pub fn OverviewPage() -> impl IntoView {
    let query = use_query_map();
    let team = Memo::new(move |_| query.read().get("team").filter(|t| !t.is_empty()));
    let data = Resource::new(move || team.get(), load_overview);
    view! {
        <Title text="Overview"/>
        <AppHeader/>
        <main class="overview">
            <header class="page-head">
                <h1>"Overview"</h1>
                <p class="page-sub">
                    "Open work across the projects you can see. Every number opens the findings it counts."
                </p>
            </header>
            <Transition fallback=|| view! { <p class="muted">"Loading the overview…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(o) => view! { <OverviewBody o/> }.into_any(),
                        Err(err) => view! { <ErrorAlert err/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

/// A number that opens the explorer; zero is shown plain (nothing to open).
pub(crate) fn count_link(n: i64, href: String, label: String) -> AnyView {
    if n == 0 {
        view! { <span class="zero">"0"</span> }.into_any()
    } else {
        view! { <a href=href aria-label=label>{n.to_string()}</a> }.into_any()
    }
}

#[component]
fn OverviewBody(o: Overview) -> AnyView {
    let team = o.team.clone().unwrap_or_default();
    let t = team.clone();
    let link = move |extra: &[(&str, &str)]| {
        let mut params: Vec<(&str, &str)> = extra.to_vec();
        params.push(("team", t.as_str()));
        explorer(&params)
    };
    let total = o.open_total();
    let breached_total: i64 = o.breached.iter().sum();
    let due_soon_total: i64 = o.due_soon.iter().sum();
    let critical_open: i64 = o.matrix[0].iter().sum();
    let week = o.week_start.format("%Y-%m-%d").to_string();

    view! {
        <TeamFilter teams=o.teams.clone() selected=team.clone()/>
        <section class="stats" aria-label="Headline numbers">
            <div class="stat">
                <span class="stat-value">{count_link(total, link(&[("state", "active")]), format!("{total} open findings"))}</span>
                <span class="stat-label">"Open findings"</span>
            </div>
            <div class="stat stat-critical">
                <span class="stat-value">{count_link(critical_open, link(&[("severity", "critical"), ("state", "active")]), format!("{critical_open} open critical findings"))}</span>
                <span class="stat-label">"Open critical"</span>
            </div>
            <div class="stat stat-breached">
                <span class="stat-value">{count_link(breached_total, link(&[("sla", "breached"), ("state", "active")]), format!("{breached_total} findings past their SLA"))}</span>
                <span class="stat-label">"SLA breached"</span>
            </div>
            <div class="stat">
                <span class="stat-value">{count_link(due_soon_total, link(&[("sla", "due_soon"), ("state", "active")]), format!("{due_soon_total} findings due within 7 days"))}</span>
                <span class="stat-label">"Due within 7 days"</span>
            </div>
            <div class="stat">
                <span class="stat-value">{o.gate_failures_total.to_string()}</span>
                <span class="stat-label">"Gate failures this week"</span>
            </div>
        </section>
        <div class="overview-grid">
            <Matrix matrix=o.matrix team=team.clone()/>
            <SlaCard breached=o.breached due_soon=o.due_soon team=team.clone()/>
            <TeamsCard rows=o.by_team.clone()/>
            <RiskiestCard rows=o.riskiest.clone()/>
            <NewestCard rows=o.newest.clone() team=team.clone()/>
            <ExpiringCard rows=o.expiring.clone() total=o.expiring_total/>
            <WeeksCard weeks=o.weeks.clone() team=team.clone() this_week=week/>
            <RemediationCard rows=o.remediation.clone() team=team.clone()/>
            <GatesCard rows=o.gate_failures.clone() total=o.gate_failures_total/>
        </div>
    }
    .into_any()
}

/// Links, so the filter is in the URL and works without JavaScript.
#[component]
fn TeamFilter(teams: Vec<TeamChoice>, selected: String) -> AnyView {
    if teams.len() < 2 && selected.is_empty() {
        return ().into_any();
    }
    let all_class = if selected.is_empty() {
        "chip active"
    } else {
        "chip"
    };
    view! {
        <nav class="team-filter toolbar" aria-label="Filter by team">
            <span class="field-label">"Team"</span>
            <a href="/" class=all_class aria-current=selected.is_empty().then_some("page")>"All teams"</a>
            {teams
                .into_iter()
                .map(|t| {
                    let active = t.slug == selected;
                    view! {
                        <a
                            href=format!("/?team={}", t.slug)
                            class=if active { "chip active" } else { "chip" }
                            aria-current=active.then_some("page")
                            data-team=t.slug.clone()
                        >
                            {t.name}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
    .into_any()
}

#[component]
fn Matrix(matrix: [[i64; 7]; 5], team: String) -> AnyView {
    let link = move |extra: &[(&str, &str)]| {
        let mut params: Vec<(&str, &str)> = extra.to_vec();
        params.push(("state", "active"));
        params.push(("team", team.as_str()));
        explorer(&params)
    };
    let layer_totals: Vec<i64> = (0..7).map(|l| matrix.iter().map(|r| r[l]).sum()).collect();
    let total: i64 = layer_totals.iter().sum();
    view! {
        <section class="card card-wide matrix-card">
            <h2 class="card-title">"Open findings by severity and layer"</h2>
            <div class="table-wrap" role="region" aria-label="Table" tabindex="0">
                <table class="data-table matrix">
                    <caption class="visually-hidden">"Open findings by severity (rows) and layer (columns)"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Severity"</th>
                            {Layer::ALL.iter().map(|l| view! { <th scope="col" class="num">{l.label()}</th> }).collect_view()}
                            <th scope="col" class="num">"Total"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {Severity::ALL
                            .iter()
                            .enumerate()
                            .map(|(si, &sev)| {
                                let row_total: i64 = matrix[si].iter().sum();
                                view! {
                                    <tr data-severity=sev.as_str()>
                                        <th scope="row"><span class=format!("sev sev-{sev}")>{sev.label()}</span></th>
                                        {Layer::ALL
                                            .iter()
                                            .enumerate()
                                            .map(|(li, &layer)| {
                                                let n = matrix[si][li];
                                                view! {
                                                    <td class="num" data-layer=layer.as_str()>
                                                        {count_link(n, link(&[("severity", sev.as_str()), ("layer", layer.as_str())]),
                                                            format!("{n} open {} {} findings", sev.as_str(), layer.label().to_lowercase()))}
                                                    </td>
                                                }
                                            })
                                            .collect_view()}
                                        <td class="num total">{count_link(row_total, link(&[("severity", sev.as_str())]), format!("{row_total} open {} findings", sev.as_str()))}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                    <tfoot>
                        <tr>
                            <th scope="row">"Total"</th>
                            {Layer::ALL
                                .iter()
                                .enumerate()
                                .map(|(li, &layer)| {
                                    let n = layer_totals[li];
                                    view! { <td class="num total" data-layer=layer.as_str()>{count_link(n, link(&[("layer", layer.as_str())]), format!("{n} open {} findings", layer.label().to_lowercase()))}</td> }
                                })
                                .collect_view()}
                            <td class="num total">{count_link(total, link(&[]), format!("{total} open findings"))}</td>
                        </tr>
                    </tfoot>
                </table>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn SlaCard(breached: [i64; 5], due_soon: [i64; 5], team: String) -> AnyView {
    let link = move |sla: &str, sev: Severity| {
        explorer(&[
            ("severity", sev.as_str()),
            ("state", "active"),
            ("sla", sla),
            ("team", team.as_str()),
        ])
    };
    let with_sla: Vec<(usize, Severity)> = Severity::ALL
        .iter()
        .copied()
        .enumerate()
        .filter(|(i, _)| breached[*i] + due_soon[*i] > 0)
        .collect();
    view! {
        <section class="card sla-card">
            <h2 class="card-title">"SLA"</h2>
            {if with_sla.is_empty() {
                view! { <div class="empty">"Nothing is past its SLA or due within 7 days."</div> }.into_any()
            } else {
                view! {
                    <table class="data-table">
                        <thead>
                            <tr><th scope="col">"Severity"</th><th scope="col" class="num">"Breached"</th><th scope="col" class="num">"Due ≤ 7 days"</th></tr>
                        </thead>
                        <tbody>
                            {with_sla
                                .into_iter()
                                .map(|(i, sev)| {
                                    let (b, d) = (breached[i], due_soon[i]);
                                    view! {
                                        <tr data-severity=sev.as_str()>
                                            <th scope="row"><span class=format!("sev sev-{sev}")>{sev.label()}</span></th>
                                            <td class="num breached">{count_link(b, link("breached", sev), format!("{b} {} findings past their SLA", sev.as_str()))}</td>
                                            <td class="num due-soon">{count_link(d, link("due_soon", sev), format!("{d} {} findings due within 7 days", sev.as_str()))}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
        </section>
    }
    .into_any()
}

/// The severity columns of a per-team or per-project row: each a link to those findings.
fn severity_cells(
    open: [i64; 5],
    base: Vec<(&'static str, String)>,
    what: String,
) -> impl IntoView {
    Severity::ALL
        .iter()
        .enumerate()
        .map(|(i, &sev)| {
            let n = open[i];
            let mut params: Vec<(&str, &str)> =
                base.iter().map(|(k, v)| (*k, v.as_str())).collect();
            params.push(("severity", sev.as_str()));
            params.push(("state", "active"));
            let href = explorer(&params);
            view! {
                <td class="num" data-severity=sev.as_str()>
                    {count_link(n, href, format!("{n} open {} findings of {what}", sev.as_str()))}
                </td>
            }
        })
        .collect_view()
}

fn severity_heads() -> impl IntoView {
    Severity::ALL
        .iter()
        .map(|s| view! { <th scope="col" class="num">{s.label()}</th> })
        .collect_view()
}

#[component]
fn TeamsCard(rows: Vec<TeamRow>) -> AnyView {
    view! {
        <section class="card teams-card">
            <h2 class="card-title">"Open findings by team"</h2>
            {if rows.is_empty() {
                view! { <div class="empty">"No open findings in the teams you can see."</div> }.into_any()
            } else {
                view! {
                    <div class="table-wrap" role="region" aria-label="Table" tabindex="0">
                        <table class="data-table">
                            <thead><tr><th scope="col">"Team"</th>{severity_heads()}<th scope="col" class="num">"Total"</th></tr></thead>
                            <tbody>
                                {rows
                                    .into_iter()
                                    .map(|r| {
                                        let total: i64 = r.open.iter().sum();
                                        match r.slug.clone() {
                                            Some(slug) => {
                                                let href = explorer(&[("team", slug.as_str()), ("state", "active")]);
                                                view! {
                                                    <tr data-team=slug.clone()>
                                                        <th scope="row"><a href=format!("/?team={slug}")>{r.name.clone()}</a></th>
                                                        {severity_cells(r.open, vec![("team", slug.clone())], format!("team {}", r.name))}
                                                        <td class="num total">{count_link(total, href, format!("{total} open findings of team {}", r.name))}</td>
                                                    </tr>
                                                }
                                                .into_any()
                                            }
                                            // projects without a team: the explorer's team=none
                                            None => {
                                                let href = explorer(&[("team", "none"), ("state", "active")]);
                                                view! {
                                                    <tr data-team="">
                                                        <th scope="row">{r.name.clone()}</th>
                                                        {severity_cells(r.open, vec![("team", "none".to_string())], "projects without a team".to_string())}
                                                        <td class="num total">{count_link(total, href, format!("{total} open findings of projects without a team"))}</td>
                                                    </tr>
                                                }
                                                .into_any()
                                            }
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}
        </section>
    }
    .into_any()
}

#[component]
fn RiskiestCard(rows: Vec<ProjectRisk>) -> AnyView {
    let weights = RISK_WEIGHTS
        .iter()
        .filter(|(_, w)| *w > 0)
        .map(|(s, w)| format!("{w}×{}", s.as_str()))
        .collect::<Vec<_>>()
        .join(" + ");
    view! {
        <section class="card card-wide riskiest-card">
            <h2 class="card-title">"Riskiest projects"</h2>
            <p class="card-note muted">{format!("Ranked by open findings weighted by severity: {weights}.")}</p>
            {if rows.is_empty() {
                view! { <div class="empty">"No open findings in the projects you can see."</div> }.into_any()
            } else {
                view! {
                    <div class="table-wrap" role="region" aria-label="Table" tabindex="0">
                        <table class="data-table">
                            <thead><tr><th scope="col">"Project"</th>{severity_heads()}<th scope="col" class="num">"Score"</th></tr></thead>
                            <tbody>
                                {rows
                                    .into_iter()
                                    .map(|p| {
                                        view! {
                                            <tr data-project=p.slug.clone()>
                                                <th scope="row"><a href=format!("/projects/{}", p.slug)>{p.name.clone()}</a></th>
                                                {severity_cells(p.open, vec![("project", p.slug.clone())], format!("project {}", p.name))}
                                                <td class="num score">
                                                    <a href=explorer(&[("project", p.slug.as_str()), ("state", "active"), ("sort", "severity")])>
                                                        {p.score.to_string()}
                                                    </a>
                                                </td>
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
        </section>
    }
    .into_any()
}

fn finding_list(rows: Vec<FindingLine>, when: &'static str) -> impl IntoView {
    view! {
        <ul class="finding-lines">
            {rows
                .into_iter()
                .map(|f| {
                    view! {
                        <li data-id=f.id>
                            <span class=format!("sev sev-{}", f.severity)>{f.severity.label()}</span>
                            " "
                            <a href=format!("/findings/{}", f.id)>{f.title.clone()}</a>
                            <small class="muted">
                                " · " <a href=format!("/projects/{}", f.project_slug)>{f.project_slug.clone()}</a>
                                " · " {when} " " {f.at.format("%Y-%m-%d").to_string()}
                            </small>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

#[component]
fn NewestCard(rows: Vec<FindingLine>, team: String) -> AnyView {
    let all = explorer(&[
        ("severity", "critical,high"),
        ("state", "active"),
        ("team", team.as_str()),
        ("sort", "newest"),
    ]);
    view! {
        <section class="card newest-card">
            <h2 class="card-title">"Newest critical and high"</h2>
            {if rows.is_empty() {
                view! { <div class="empty">"No open critical or high findings. Nothing urgent."</div> }.into_any()
            } else {
                view! {
                    {finding_list(rows, "first seen")}
                    <p><a class="btn-link" href=all>"All open critical and high findings →"</a></p>
                }
                .into_any()
            }}
        </section>
    }
    .into_any()
}

#[component]
fn ExpiringCard(rows: Vec<FindingLine>, total: i64) -> AnyView {
    view! {
        <section class="card expiring-card">
            <h2 class="card-title">{format!("Risk acceptances expiring within {EXPIRY_DAYS} days")}</h2>
            {if rows.is_empty() {
                view! { <div class="empty">"No accepted risk expires in the next two weeks."</div> }.into_any()
            } else {
                let more = (total > rows.len() as i64)
                    .then(|| format!("{} more; ", total - rows.len() as i64));
                view! {
                    <p class="card-note">
                        <strong class="expiring-total">{total.to_string()}</strong>
                        " expiring. They reopen when their time is up."
                    </p>
                    {finding_list(rows, "expires")}
                    <p class="muted">
                        {more}
                        <a class="btn-link" href=explorer(&[("state", "risk_accepted"), ("sort", "due")])>"all accepted risks →"</a>
                    </p>
                }
                .into_any()
            }}
        </section>
    }
    .into_any()
}

/// Opened vs fixed per week, as an SVG bar chart with the numbers in a table beside it.
#[component]
fn WeeksCard(weeks: Vec<Week>, team: String, this_week: String) -> AnyView {
    let max = weeks
        .iter()
        .map(|w| w.opened.max(w.fixed))
        .max()
        .unwrap_or(0)
        .max(1);
    let (width, height, pad_left, pad_bottom) = (600.0_f64, 200.0_f64, 36.0_f64, 22.0_f64);
    let plot_h = height - pad_bottom - 8.0;
    let slot = (width - pad_left) / weeks.len().max(1) as f64;
    let bar = (slot - 6.0) / 2.0;
    let y = move |n: i64| 8.0 + plot_h * (1.0 - n as f64 / max as f64);
    let opened_total: i64 = weeks.iter().map(|w| w.opened).sum();
    let fixed_total: i64 = weeks.iter().map(|w| w.fixed).sum();
    let desc = format!(
        "Over the last {WEEKS} weeks {opened_total} findings were first seen and {fixed_total} fixed. {}",
        weeks
            .iter()
            .map(|w| format!(
                "Week of {}: {} opened, {} fixed.",
                w.start.format("%b %d"),
                w.opened,
                w.fixed
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let bars = weeks
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let x = pad_left + slot * i as f64 + 3.0;
            let label = w.start.format("%m-%d").to_string();
            let (yo, yf) = (y(w.opened), y(w.fixed));
            let base = 8.0 + plot_h;
            view! {
                <g class="week">
                    <rect class="bar-opened" x=format!("{x:.1}") y=format!("{yo:.1}") width=format!("{bar:.1}") height=format!("{:.1}", base - yo)>
                        <title>{format!("Week of {}: {} opened", w.start, w.opened)}</title>
                    </rect>
                    <rect class="bar-fixed" x=format!("{:.1}", x + bar) y=format!("{yf:.1}") width=format!("{bar:.1}") height=format!("{:.1}", base - yf)>
                        <title>{format!("Week of {}: {} fixed", w.start, w.fixed)}</title>
                    </rect>
                    {(i % 2 == 1 || weeks.len() <= 6).then(|| view! {
                        <text class="axis-label" x=format!("{:.1}", x + bar) y=format!("{:.1}", height - 6.0) text-anchor="middle">{label}</text>
                    })}
                </g>
            }
        })
        .collect_view();
    let since_link = explorer(&[
        ("since", this_week.as_str()),
        ("state", "all"),
        ("team", team.as_str()),
    ]);
    let this_week_opened = weeks.last().map_or(0, |w| w.opened);
    view! {
        <section class="card card-wide weeks-card">
            <h2 class="card-title">{format!("Opened vs fixed, last {WEEKS} weeks")}</h2>
            <div class="chart-with-table">
                <svg class="chart bar-chart" viewBox=format!("0 0 {width} {height}") role="img" aria-labelledby="weeks-title weeks-desc" preserveAspectRatio="xMidYMid meet">
                    <title id="weeks-title">{format!("Findings opened and fixed per week, last {WEEKS} weeks")}</title>
                    <desc id="weeks-desc">{desc}</desc>
                    <line class="axis" x1=pad_left.to_string() y1=format!("{:.1}", 8.0 + plot_h) x2=width.to_string() y2=format!("{:.1}", 8.0 + plot_h)/>
                    <text class="axis-label" x=(pad_left - 4.0).to_string() y="14" text-anchor="end">{max.to_string()}</text>
                    <text class="axis-label" x=(pad_left - 4.0).to_string() y=format!("{:.1}", 8.0 + plot_h) text-anchor="end">"0"</text>
                    {bars}
                </svg>
                <p class="legend">
                    <span class="key key-opened"></span>" Opened (first seen) "
                    <span class="key key-fixed"></span>" Fixed (and still fixed)"
                </p>
                <details class="chart-data">
                    <summary>"The numbers"</summary>
                    <table class="data-table">
                        <thead><tr><th scope="col">"Week of"</th><th scope="col" class="num">"Opened"</th><th scope="col" class="num">"Fixed"</th></tr></thead>
                        <tbody>
                            {weeks
                                .iter()
                                .map(|w| view! {
                                    <tr><td>{w.start.format("%Y-%m-%d").to_string()}</td><td class="num">{w.opened.to_string()}</td><td class="num">{w.fixed.to_string()}</td></tr>
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </details>
            </div>
            <p class="card-note muted">
                "This week: "
                {count_link(this_week_opened, since_link, format!("{this_week_opened} findings first seen this week"))}
                " first seen since Monday."
            </p>
        </section>
    }
    .into_any()
}

/// Mean time to remediate per severity, as horizontal SVG bars and a table.
#[component]
fn RemediationCard(rows: Vec<Remediation>, team: String) -> AnyView {
    let _ = team;
    let max = rows
        .iter()
        .filter_map(|r| r.mean_days)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let (width, row_h, label_w) = (360.0_f64, 26.0_f64, 62.0_f64);
    let height = row_h * rows.len() as f64 + 8.0;
    let desc = rows
        .iter()
        .map(|r| match r.mean_days {
            Some(d) => format!(
                "{}: {d:.1} days over {} fixed.",
                r.severity.label(),
                r.fixed
            ),
            None => format!("{}: none fixed.", r.severity.label()),
        })
        .collect::<Vec<_>>()
        .join(" ");
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let y = 4.0 + row_h * i as f64;
            let w = r
                .mean_days
                .map_or(0.0, |d| (width - label_w - 80.0) * d.max(0.0) / max);
            let text = r
                .mean_days
                .map_or("none fixed".to_string(), |d| format!("{d:.1} d"));
            view! {
                <g class=format!("mttr mttr-{}", r.severity)>
                    <text class="axis-label" x="0" y=format!("{:.1}", y + row_h / 2.0 + 4.0)>{r.severity.label()}</text>
                    <rect class=format!("bar-sev sev-fill-{}", r.severity) x=label_w.to_string() y=format!("{:.1}", y + 4.0) width=format!("{w:.1}") height=format!("{:.1}", row_h - 8.0)/>
                    <text class="value-label" x=format!("{:.1}", label_w + w + 6.0) y=format!("{:.1}", y + row_h / 2.0 + 4.0)>{text}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <section class="card mttr-card">
            <h2 class="card-title">{format!("Mean time to remediate, last {MTTR_DAYS} days")}</h2>
            <svg class="chart hbar-chart" viewBox=format!("0 0 {width} {height}") role="img" aria-labelledby="mttr-title mttr-desc">
                <title id="mttr-title">"Mean days from first seen to fixed, by severity"</title>
                <desc id="mttr-desc">{desc}</desc>
                {bars}
            </svg>
            <table class="data-table mttr-table">
                <thead><tr><th scope="col">"Severity"</th><th scope="col" class="num">"Fixed"</th><th scope="col" class="num">"Mean days"</th></tr></thead>
                <tbody>
                    {rows
                        .iter()
                        .map(|r| view! {
                            <tr data-severity=r.severity.as_str()>
                                <th scope="row">{r.severity.label()}</th>
                                <td class="num">{r.fixed.to_string()}</td>
                                <td class="num">{r.mean_days.map_or("–".to_string(), |d| format!("{d:.1}"))}</td>
                            </tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
            <p class="card-note muted">"Findings fixed in the weeks overlapping the last 90 days that are still fixed, from first seen to fixed."</p>
        </section>
    }
    .into_any()
}

#[component]
fn GatesCard(rows: Vec<GateFailures>, total: i64) -> AnyView {
    view! {
        <section class="card gates-card">
            <h2 class="card-title">"Gate failures this week"</h2>
            {if rows.is_empty() {
                view! { <div class="empty">"No pipeline was stopped by a gate since Monday."</div> }.into_any()
            } else {
                view! {
                    <p class="card-note"><strong class="gate-total">{total.to_string()}</strong>" scans failed their gate since Monday (UTC)."</p>
                    <ul class="gate-lines">
                        {rows
                            .into_iter()
                            .map(|g| view! {
                                <li data-project=g.project_slug.clone()>
                                    <a href=format!("/projects/{}/scans", g.project_slug)>{g.project_name.clone()}</a>
                                    ": " <span class="num">{g.failures.to_string()}</span>
                                </li>
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explorer_links_follow_the_contract() {
        assert_eq!(
            explorer(&[
                ("severity", "critical"),
                ("layer", "image"),
                ("state", "active")
            ]),
            "/findings?severity=critical&layer=image&state=active"
        );
        assert_eq!(explorer(&[("team", "")]), "/findings");
        assert_eq!(
            explorer(&[("severity", "critical,high"), ("q", "a b&c")]),
            "/findings?severity=critical,high&q=a%20b%26c"
        );
    }
}
