//! "My work" at `/my-work`: what is the signed-in person's to do. Three sections, each with
//! an empty state of its own:
//! - due soon: their assigned active findings due within [`DUE_SOON_DAYS`] days or already
//!   breached, breached first (read by the stored due date, through
//!   `findings_assignee_due_idx`);
//! - mentions: findings they, or a team of theirs, were @mentioned on in the last
//!   [`MENTION_DAYS`] days, newest first, with who mentioned them and when;
//! - assigned to them: every active finding assigned to them, the most urgent first, with
//!   the bulk actions.
//!
//! Every section lists only findings of projects the person may still see.

use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

use crate::domain::{FindingState, FindingSummary, Severity};
use crate::error::AppError;
use crate::layout::{AppHeader, ErrorAlert};
use crate::ui::{Badge, BadgeTone, Card, EmptyState, NoTeamYet, PageHeader, SeverityBadge};

pub use crate::overview::DUE_SOON_DAYS;
/// How far back "mentions" looks.
pub const MENTION_DAYS: i64 = 30;
/// Most rows "due soon" and "mentions" list; the explorer has the rest.
pub const SECTION_MAX: i64 = 50;
/// Most rows "assigned to me" lists.
pub const ASSIGNED_MAX: i64 = 500;

/// A finding of "due soon", with how its due date stands in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DueSoon {
    pub finding: FindingSummary,
    pub breached: bool,
    /// "3 days overdue", "due in 5 hours", written on the server (one clock for the page).
    pub when: String,
}

/// A finding someone mentioned the person (or a team of theirs) on: its latest such
/// comment, who wrote it and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct MentionOfMe {
    pub finding_id: i64,
    pub title: String,
    pub severity: Severity,
    pub state: FindingState,
    pub project_slug: String,
    pub project_name: String,
    pub comment_id: i64,
    pub author_name: String,
    pub author_email: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// The team mentioned, when it was a team of theirs and not them by name.
    pub team: Option<String>,
}

/// How a person can be mentioned: their handle and their teams' slugs (for the empty state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mentions {
    pub rows: Vec<MentionOfMe>,
    pub handle: String,
    pub teams: Vec<String>,
}

/// Active findings assigned to the signed-in person, the most urgent first.
#[server(endpoint = "my_work")]
pub async fn my_work() -> Result<Vec<FindingSummary>, AppError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    Ok(db::assigned_to(&ctx.pool, user.id).await?)
}

/// The signed-in person's active findings due within [`DUE_SOON_DAYS`] days or breached.
#[server(endpoint = "my_due_soon")]
pub async fn my_due_soon() -> Result<Vec<DueSoon>, AppError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    let now = chrono::Utc::now();
    Ok(db::due_soon(&ctx.pool, user.id)
        .await?
        .into_iter()
        .map(|finding| {
            let due = finding.due_at.unwrap_or(now);
            DueSoon {
                breached: due <= now,
                when: due_words(due, now),
                finding,
            }
        })
        .collect())
}

/// Where the signed-in person, or a team of theirs, was mentioned lately.
#[server(endpoint = "my_mentions")]
pub async fn my_mentions() -> Result<Mentions, AppError> {
    let user = crate::auth::require_user().await?;
    let ctx = crate::server_context::server_context()?;
    let rows = db::mentions(&ctx.pool, user.id).await?;
    let teams: Vec<String> = sqlx::query_scalar(
        "SELECT t.slug FROM team_members m JOIN teams t ON t.id = m.team_id
          WHERE m.user_id = $1 ORDER BY t.slug",
    )
    .bind(user.id)
    .fetch_all(&ctx.pool)
    .await?;
    let handle = user.email.split('@').next().unwrap_or_default().to_string();
    Ok(Mentions {
        rows,
        handle,
        teams,
    })
}

/// "3 days overdue", "due in 2 days", "due in 5 hours", "1 hour overdue": to the nearest
/// day, or hour under a day.
pub fn due_words(due: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let span = |d: chrono::Duration| {
        let hours = (d.num_minutes() + 30) / 60;
        if hours >= 24 {
            plural((hours + 12) / 24, "day")
        } else {
            plural(hours.max(1), "hour")
        }
    };
    if due <= now {
        format!("{} overdue", span(now - due))
    } else {
        format!("due in {}", span(due - now))
    }
}

#[cfg(feature = "ssr")]
pub mod db {
    use sqlx::PgPool;

    use super::{ASSIGNED_MAX, DUE_SOON_DAYS, MENTION_DAYS, MentionOfMe, SECTION_MAX};
    use crate::domain::FindingSummary;
    use crate::overview::ACTIVE_STATES;

    /// The columns of a [`FindingSummary`] with the stored due date, over `findings f`,
    /// `projects p` and the project's SLA `s`.
    fn summary_select() -> String {
        format!(
            "SELECT f.id, p.slug AS project_slug, p.name AS project_name,
                    f.severity, f.layer, f.state, f.title, f.rule_id, f.location, f.scanner,
                    f.first_seen_at, f.last_seen_at, f.due_at, {days} AS sla_days
               FROM findings f JOIN projects p ON p.id = f.project_id
               JOIN project_sla s ON s.project_id = f.project_id",
            days = crate::sla::sql::DAYS
        )
    }

    /// Active findings assigned to `user_id` on projects they may see: what is due soonest
    /// first, then what has no SLA.
    pub async fn assigned_to(
        pool: &PgPool,
        user_id: i64,
    ) -> Result<Vec<FindingSummary>, sqlx::Error> {
        let visible = crate::access::db::project_visible_to("$1");
        let select = summary_select();
        let rows = sqlx::query_as(&format!(
            "{select}
              WHERE f.assignee_user_id = $1 AND f.state IN {ACTIVE_STATES} AND {visible}
              ORDER BY f.due_at NULLS LAST, f.severity, f.id DESC
              LIMIT $2"
        ))
        .bind(user_id)
        .bind(ASSIGNED_MAX)
        .fetch_all(pool)
        .await?;
        Ok(crate::findings::db::with_sla(rows))
    }

    /// "Due soon" as SQL, for [`due_soon`] and for tests that check its plan: `$1` the
    /// person, `$2` the days ahead, `$3` the most rows. It reads a range of
    /// `findings_assignee_due_idx` (the person's active findings by stored due date) in
    /// order, so it costs the rows it returns, not the person's whole backlog.
    pub fn due_soon_sql() -> String {
        let visible = crate::access::db::project_visible_to("$1");
        let select = summary_select();
        format!(
            "{select}
              WHERE f.assignee_user_id = $1 AND f.state IN {ACTIVE_STATES}
                AND f.due_at <= now() + make_interval(days => $2)
                AND {visible}
              ORDER BY f.due_at, f.id
              LIMIT $3"
        )
    }

    /// Active findings assigned to `user_id` due within [`DUE_SOON_DAYS`] days or already
    /// past due (those first: the earliest due date first), on projects they may see.
    pub async fn due_soon(pool: &PgPool, user_id: i64) -> Result<Vec<FindingSummary>, sqlx::Error> {
        let rows = sqlx::query_as(&due_soon_sql())
            .bind(user_id)
            .bind(DUE_SOON_DAYS as i32)
            .bind(SECTION_MAX)
            .fetch_all(pool)
            .await?;
        Ok(crate::findings::db::with_sla(rows))
    }

    /// The findings on projects `user_id` may see where someone else mentioned them, or a
    /// team they are on, in the last [`MENTION_DAYS`] days: per finding the latest such
    /// comment, newest first. Reads the person's and their teams' mentions by index
    /// (`comment_mentions_user_idx`, `comment_mentions_team_idx`).
    pub async fn mentions(pool: &PgPool, user_id: i64) -> Result<Vec<MentionOfMe>, sqlx::Error> {
        let visible = crate::access::db::project_visible_to("$1");
        sqlx::query_as(&format!(
            "WITH mine AS (
                SELECT m.comment_id, NULL::int8 AS team_id
                  FROM comment_mentions m WHERE m.user_id = $1
                UNION ALL
                SELECT m.comment_id, m.team_id
                  FROM team_members tm JOIN comment_mentions m ON m.team_id = tm.team_id
                 WHERE tm.user_id = $1
             ), latest AS (
                SELECT DISTINCT ON (c.finding_id)
                       c.finding_id, c.id AS comment_id, c.author_id, c.created_at, mine.team_id
                  FROM mine JOIN comments c ON c.id = mine.comment_id
                 WHERE c.created_at > now() - make_interval(days => $2) AND c.author_id <> $1
                 ORDER BY c.finding_id, c.created_at DESC, c.id DESC, mine.team_id NULLS FIRST
             )
             SELECT l.finding_id, f.title, f.severity, f.state, p.slug AS project_slug,
                    p.name AS project_name, l.comment_id, a.display_name AS author_name,
                    a.email AS author_email, l.created_at AS at, t.slug AS team
               FROM latest l
               JOIN findings f ON f.id = l.finding_id
               JOIN projects p ON p.id = f.project_id
               JOIN users a ON a.id = l.author_id
               LEFT JOIN teams t ON t.id = l.team_id
              WHERE {visible}
              ORDER BY l.created_at DESC, l.comment_id DESC
              LIMIT $3"
        ))
        .bind(user_id)
        .bind(MENTION_DAYS as i32)
        .bind(SECTION_MAX)
        .fetch_all(pool)
        .await
    }
}

#[component]
pub fn MyWorkPage() -> impl IntoView {
    let bulk = crate::bulk::Bulk::new();
    let assigned = Resource::new(move || bulk.version(), |_| my_work());
    let due = Resource::new(move || bulk.version(), |_| my_due_soon());
    let mentions = Resource::new(|| (), |_| my_mentions());
    let standing = Resource::new(|| (), |_| crate::ui::my_standing());
    view! {
        <Title text="My work"/>
        <AppHeader/>
        <main class="my-work">
            <PageHeader title="My work" sub="What is due, who asked for you, and everything assigned to you."/>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match standing.await {
                        // nothing can be theirs yet: one empty state that says why, not three
                        Ok(standing) if standing.without_team() => view! { <NoTeamYet standing/> }.into_any(),
                        _ => view! { <Sections bulk assigned due mentions/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn Sections(
    bulk: crate::bulk::Bulk,
    assigned: Resource<Result<Vec<FindingSummary>, AppError>>,
    due: Resource<Result<Vec<DueSoon>, AppError>>,
    mentions: Resource<Result<Mentions, AppError>>,
) -> impl IntoView {
    let loading = || view! { <p class="muted">"Loading…"</p> };
    view! {
        <div class="my-work-grid">
            <Card title="Due soon" class="due-soon">
                <Transition fallback=loading>
                    {move || Suspend::new(async move {
                        match due.await {
                            Ok(rows) if rows.is_empty() => view! { <NothingDue/> }.into_any(),
                            Ok(rows) => view! { <DueList rows/> }.into_any(),
                            Err(err) => view! { <ErrorAlert err/> }.into_any(),
                        }
                    })}
                </Transition>
            </Card>
            <Card title="Mentions" class="mentions">
                <Transition fallback=loading>
                    {move || Suspend::new(async move {
                        match mentions.await {
                            Ok(m) if m.rows.is_empty() => view! { <NoMentions handle=m.handle teams=m.teams/> }.into_any(),
                            Ok(m) => view! { <MentionList rows=m.rows/> }.into_any(),
                            Err(err) => view! { <ErrorAlert err/> }.into_any(),
                        }
                    })}
                </Transition>
            </Card>
        </div>
        <section class="assigned" aria-labelledby="assigned-title">
            <h2 id="assigned-title">"Assigned to you"</h2>
            <p class="page-sub">"Open, confirmed, in-progress and reopened findings, the soonest due first."</p>
            <crate::bulk::BulkBar bulk/>
            <Transition fallback=loading>
                {move || Suspend::new(async move {
                    match assigned.await {
                        Ok(rows) if rows.is_empty() => view! { <NothingAssigned/> }.into_any(),
                        Ok(rows) => view! { <crate::findings::FindingsTable rows selection=bulk.selection/> }.into_any(),
                        Err(err) => view! { <ErrorAlert err/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The due-soon findings as a list (a card is half the page wide, or a phone's): each with
/// its severity and title, then how its due date stands, the date and where it is.
#[component]
fn DueList(rows: Vec<DueSoon>) -> impl IntoView {
    let full = rows.len() as i64 >= SECTION_MAX;
    view! {
        <ul class="work-list due-list">
            {rows.into_iter().map(|d| {
                let f = d.finding;
                let (tone, word) = if d.breached { (BadgeTone::Bad, "Breached") } else { (BadgeTone::Warn, "Due soon") };
                let date = f.due_at.map(|due| format!("due {}", due.format("%Y-%m-%d"))).unwrap_or_default();
                view! {
                    <li class="finding" data-id=f.id data-breached=d.breached.to_string()>
                        <p class="work-line">
                            <SeverityBadge severity=f.severity/>
                            <a href=format!("/findings/{}", f.id)>{f.title}</a>
                        </p>
                        <p class="work-meta">
                            <Badge tone>{word}</Badge>
                            <span class="due-when">{d.when}</span>
                            <span>{date}</span>
                            <span>{f.project_name}</span>
                            <span>{f.state.label()}</span>
                        </p>
                    </li>
                }
            }).collect_view()}
        </ul>
        {full.then(|| view! {
            <p class="card-note">
                "The first " {SECTION_MAX} " are shown. "
                <a href="/findings?assignee=me&sort=due">"All of yours by due date"</a>
            </p>
        })}
    }
}

/// The mentions as a list: the finding, then who mentioned the person (or which of their
/// teams) and when.
#[component]
fn MentionList(rows: Vec<MentionOfMe>) -> impl IntoView {
    view! {
        <ul class="work-list mention-list">
            {rows.into_iter().map(|m| {
                let by = if m.author_name.trim().is_empty() { m.author_email.clone() } else { m.author_name.trim().to_string() };
                let whom = match m.team {
                    Some(team) => format!("mentioned team {team}"),
                    None => "mentioned you".to_string(),
                };
                view! {
                    <li class="mention-row" data-id=m.finding_id data-comment=m.comment_id>
                        <p class="work-line">
                            <SeverityBadge severity=m.severity/>
                            <a href=format!("/findings/{}#comment-{}", m.finding_id, m.comment_id)>{m.title}</a>
                        </p>
                        <p class="work-meta">
                            <span><strong class="by" title=m.author_email>{by}</strong> " " {whom}</span>
                            <span class="when">{m.at.format("%Y-%m-%d %H:%M UTC").to_string()}</span>
                            <span>{m.project_name}</span>
                            <span>{m.state.label()}</span>
                        </p>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// "Due soon" is empty: what would be here, so that empty reads as good news.
#[component]
fn NothingDue() -> impl IntoView {
    view! {
        <EmptyState title="Nothing of yours is due this week" class="nothing-due">
            <p>
                "Findings assigned to you appear here " {DUE_SOON_DAYS} " days before their SLA due date, "
                "and stay at the top once they are overdue."
            </p>
        </EmptyState>
    }
}

/// "Mentions" is empty: how people reach this person.
#[component]
fn NoMentions(handle: String, teams: Vec<String>) -> impl IntoView {
    let teams = (!teams.is_empty()).then(|| {
        let list = teams
            .iter()
            .map(|t| format!("@{t}"))
            .collect::<Vec<_>>()
            .join(", ");
        view! { " or one of your teams (" <code>{list}</code> ")" }
    });
    view! {
        <EmptyState title=format!("No one has mentioned you in the last {MENTION_DAYS} days") class="no-mentions">
            <p>
                "When someone writes " <code>{format!("@{handle}")}</code> {teams}
                " in a comment on a finding you can see, it shows here with who wrote it."
            </p>
        </EmptyState>
    }
}

/// "Assigned to you" is empty for someone on a team: why, and where work comes from.
#[component]
fn NothingAssigned() -> impl IntoView {
    view! {
        <EmptyState title="Nothing is assigned to you right now" class="nothing-assigned">
            <p>
                "Findings appear here when someone assigns one to you, or when you choose "
                <strong>"Assign to me"</strong> " on a finding. Fixed, false-positive and accepted findings drop off."
            </p>
            <p>
                "Look for work in " <a href="/findings?assignee=none">"unassigned findings"</a>
                " or " <a href="/findings">"all open findings"</a> " of your projects."
            </p>
        </EmptyState>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_words_say_how_far_off_or_overdue() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let h = chrono::Duration::hours;
        assert_eq!(due_words(now + h(50), now), "due in 2 days");
        assert_eq!(due_words(now + h(24), now), "due in 1 day");
        assert_eq!(due_words(now + h(5), now), "due in 5 hours");
        assert_eq!(
            due_words(now + chrono::Duration::minutes(10), now),
            "due in 1 hour"
        );
        assert_eq!(due_words(now, now), "1 hour overdue");
        assert_eq!(due_words(now - h(80), now), "3 days overdue");
    }
}
