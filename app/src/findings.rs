//! The findings explorer: every finding the viewer may see, filtered, sorted and paged on
//! the server. Everything is in the URL (see [`crate::explorer`] for the contract), so a
//! view can be shared, and the page works without JavaScript: filters are a plain GET form,
//! chips and page links are plain links.

use std::collections::BTreeSet;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

use crate::domain::{FindingState, FindingSummary, Layer, Severity};
use crate::error::AppError;
use crate::explorer::{ExplorerPage, ExplorerQuery, Page, SlaFilter, Sort, StateFilter};
use crate::layout::AppHeader;
use crate::sla::SlaStatus;

/// One page of findings for the URL query string `query` (without `?`), with the total
/// matching and the neighbouring pages.
#[server(endpoint = "list_findings")]
pub async fn list_findings(#[server(default)] query: String) -> Result<ExplorerPage, AppError> {
    let user = crate::auth::require_user().await?;
    let query = ExplorerQuery::parse(&query).map_err(|e| AppError::invalid(e.0))?;
    let ctx = crate::server_context::server_context()?;
    db::page(&ctx.pool, user.id, &query).await
}

/// The ids of every finding matching the query's filters, for "select all N matching"; more
/// than one bulk action takes is refused with the count.
#[server(endpoint = "matching_finding_ids")]
pub async fn matching_finding_ids(#[server(default)] query: String) -> Result<Vec<i64>, AppError> {
    let user = crate::auth::require_user().await?;
    let query = ExplorerQuery::parse(&query).map_err(|e| AppError::invalid(e.0))?;
    let ctx = crate::server_context::server_context()?;
    let max = crate::bulk::BULK_MAX;
    let ids = db::matching_ids(&ctx.pool, user.id, &query, max as i64 + 1).await?;
    if ids.len() > max {
        let (total, bounded) = db::total(&ctx.pool, user.id, &query).await?;
        return Err(AppError::invalid(format!(
            "{} match; one bulk action takes at most {}. Narrow the filters to act on them.",
            crate::explorer::total_label(total, bounded),
            crate::explorer::thousands(max as i64)
        )));
    }
    Ok(ids)
}

#[cfg(feature = "ssr")]
pub mod db {
    use chrono::{DateTime, Utc};
    use sqlx::{PgPool, Postgres, QueryBuilder};

    use crate::domain::FindingSummary;
    use crate::error::AppError;
    use crate::explorer::{
        ACTIVE_STATES, AssigneeFilter, COUNT_LIMIT, Cursor, ExplorerPage, ExplorerQuery, PAGE_SIZE,
        Page, SlaFilter, Sort,
    };

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

    /// A finding's sort key for sort=due: its stored due date, none (no SLA) last. The
    /// expression of `findings_due_idx` (migration 25).
    const DUE_KEY: &str = "coalesce(f.due_at, 'infinity'::timestamptz)";
    /// The predicate of `findings_due_idx`, written as the index writes it so that the
    /// planner can use the index.
    const NOT_CLOSED: &str = "f.state NOT IN ('fixed', 'false_positive')";

    /// The columns a row of the explorer needs, from `findings f` and `projects p` (the SLA
    /// days come back from the stored due date: due = first seen + pause + days).
    const ROW_SELECT: &str = "SELECT f.id, p.slug AS project_slug, p.name AS project_name,
        f.severity, f.layer, f.state, f.title, f.rule_id, f.location, f.scanner,
        f.first_seen_at, f.last_seen_at, f.due_at,
        (extract(epoch FROM f.due_at - f.first_seen_at - f.sla_paused) / 86400)::int4 AS sla_days";

    /// Which projects a query reads: `None` = all (someone who sees everything, with no
    /// project, team or scan filter), else these (possibly none).
    pub(crate) async fn scope(
        pool: &PgPool,
        user_id: i64,
        q: &ExplorerQuery,
    ) -> Result<Option<Vec<i64>>, AppError> {
        let sees_all: bool =
            sqlx::query_scalar("SELECT is_admin OR security_all_teams FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(pool)
                .await?
                .unwrap_or(false);
        // a scan's diff reads the scan's project (404 when it is not visible)
        let scan_project = match q.scan {
            Some(scan) => Some(crate::scan_diff::db::project_of(pool, user_id, scan).await?),
            None => None,
        };
        if sees_all && q.project.is_none() && q.team.is_none() {
            return Ok(scan_project.map(|p| vec![p]));
        }
        let visible = crate::access::db::project_visible_to("$1");
        let ids: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT p.id FROM projects p
              WHERE {visible}
                AND ($2::text IS NULL OR p.slug = $2)
                AND ($3::text IS NULL OR p.team_id = (SELECT t.id FROM teams t WHERE t.slug = $3)
                     OR $3 = 'none' AND p.team_id IS NULL
                        AND NOT EXISTS (SELECT 1 FROM teams t WHERE t.slug = 'none'))
              ORDER BY p.id"
        ))
        .bind(user_id)
        .bind(q.project.as_deref())
        .bind(q.team.as_deref())
        .fetch_all(pool)
        .await?;
        if ids.is_empty() {
            if let Some(project) = &q.project {
                return Err(AppError::not_found(format!(
                    "No project '{project}' that you can see."
                )));
            }
            if let Some(team) = &q.team {
                return Err(AppError::not_found(format!(
                    "No team '{team}' with projects that you can see."
                )));
            }
        }
        Ok(Some(match scan_project {
            Some(p) => ids.into_iter().filter(|id| *id == p).collect(),
            None => ids,
        }))
    }

    /// The conditions of `q`'s filters on `findings f` (each starting with ` AND`); the
    /// project and team filters are the scope's (and the scan's project).
    pub(crate) fn push_filters(
        qb: &mut QueryBuilder<'_, Postgres>,
        q: &ExplorerQuery,
        user_id: i64,
        now: DateTime<Utc>,
    ) {
        // Enum values are written as literals: they come from fixed lists, never from the
        // URL's text, and literals let the planner see which index predicates hold.
        let list = |values: Vec<&str>| {
            values
                .iter()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !q.severity.is_empty() {
            qb.push(format!(
                " AND f.severity IN ({})",
                list(q.severity.iter().map(|s| s.as_str()).collect())
            ));
        }
        if !q.layer.is_empty() {
            qb.push(format!(
                " AND f.layer IN ({})",
                list(q.layer.iter().map(|s| s.as_str()).collect())
            ));
        }
        let mut states = q.effective_state().states();
        if q.sla.is_some() {
            // an SLA runs in open work only
            let active = ACTIVE_STATES.to_vec();
            states = Some(match states {
                Some(s) => s.into_iter().filter(|s| active.contains(s)).collect(),
                None => active,
            });
        }
        match &states {
            None => {}
            Some(s) if s.is_empty() => {
                qb.push(" AND false");
            }
            Some(s) => {
                let closed = crate::explorer::CLOSED_STATES;
                if s.len() < crate::domain::FindingState::ALL.len() - closed.len()
                    || s.iter().any(|x| closed.contains(x))
                {
                    qb.push(format!(
                        " AND f.state IN ({})",
                        list(s.iter().map(|x| x.as_str()).collect())
                    ));
                }
                if !s.iter().any(|x| closed.contains(x)) {
                    qb.push(format!(" AND {NOT_CLOSED}"));
                }
            }
        }
        match q.assignee {
            None => {}
            Some(AssigneeFilter::Me) => {
                qb.push(" AND f.assignee_user_id = ").push_bind(user_id);
            }
            Some(AssigneeFilter::Nobody) => {
                qb.push(" AND f.assignee_user_id IS NULL");
            }
            Some(AssigneeFilter::User(id)) => {
                qb.push(" AND f.assignee_user_id = ").push_bind(id);
            }
        }
        if let Some(scanner) = &q.scanner {
            qb.push(" AND f.scanner = ").push_bind(scanner.clone());
        }
        if let Some(rule) = &q.rule {
            qb.push(" AND (f.rule_id = ")
                .push_bind(rule.clone())
                .push(" OR f.aliases @> ARRAY[")
                .push_bind(rule.clone())
                .push("]::text[])");
        }
        if let Some(package) = &q.package {
            qb.push(" AND f.package_name = ").push_bind(package.clone());
        }
        if let Some(scan) = q.scan {
            crate::scan_diff::db::push_filter(qb, scan, q.change);
        }
        if let Some(text) = &q.q {
            let pattern = format!("%{}%", like_escape(text));
            qb.push(" AND (f.title ILIKE ")
                .push_bind(pattern.clone())
                .push(" OR f.location ILIKE ")
                .push_bind(pattern.clone())
                .push(" OR f.package_name ILIKE ")
                .push_bind(pattern.clone())
                .push(" OR f.image ILIKE ")
                .push_bind(pattern)
                .push(")");
        }
        let soon = now + chrono::Duration::days(7);
        match q.sla {
            None => {}
            Some(SlaFilter::Breached) => {
                qb.push(format!(" AND {DUE_KEY} <= ")).push_bind(now);
            }
            Some(SlaFilter::DueSoon) => {
                qb.push(format!(" AND {DUE_KEY} > "))
                    .push_bind(now)
                    .push(format!(" AND {DUE_KEY} <= "))
                    .push_bind(soon);
            }
            Some(SlaFilter::OnTrack) => {
                qb.push(format!(" AND {DUE_KEY} > "))
                    .push_bind(soon)
                    .push(format!(" AND {DUE_KEY} < 'infinity'::timestamptz"));
            }
        }
        if let Some(since) = q.since {
            qb.push(" AND f.first_seen_at >= ")
                .push_bind(crate::explorer::day_start(since));
        }
    }

    /// `text` for ILIKE, matched literally.
    fn like_escape(text: &str) -> String {
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    }

    /// The ORDER BY of a sort, forwards or (to read a previous page) backwards.
    fn order(sort: Sort, backwards: bool) -> String {
        let (key, ascending) = match sort {
            Sort::Newest => (vec!["f.id"], false),
            Sort::Severity => (vec!["f.severity", "f.id"], true),
            Sort::Due => (vec![DUE_KEY, "f.id"], true),
            Sort::LastSeen => (vec!["f.last_seen_at", "f.id"], false),
        };
        let dir = if ascending != backwards { "" } else { " DESC" };
        key.iter()
            .map(|k| format!("{k}{dir}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The keyset condition: rows after (or before) `cursor` in its sort.
    fn push_keyset(qb: &mut QueryBuilder<'_, Postgres>, cursor: &Cursor, backwards: bool) {
        let ascending = matches!(cursor, Cursor::Severity { .. } | Cursor::Due { .. });
        let op = if ascending != backwards { ">" } else { "<" };
        match *cursor {
            Cursor::Newest { id } => {
                qb.push(format!(" AND f.id {op} ")).push_bind(id);
            }
            Cursor::Severity { severity, id } => {
                qb.push(format!(" AND (f.severity, f.id) {op} ("))
                    .push(format!("'{}'::severity, ", severity.as_str()))
                    .push_bind(id)
                    .push(")");
            }
            Cursor::Due { due, id } => {
                qb.push(format!(" AND ({DUE_KEY}, f.id) {op} (coalesce("))
                    .push_bind(due)
                    .push("::timestamptz, 'infinity'::timestamptz), ")
                    .push_bind(id)
                    .push(")");
            }
            Cursor::LastSeen { at, id } => {
                qb.push(format!(" AND (f.last_seen_at, f.id) {op} ("))
                    .push_bind(at)
                    .push(", ")
                    .push_bind(id)
                    .push(")");
            }
        }
    }

    /// Up to `limit` rows of `q` from where its page starts, in display order when
    /// reading forwards (reversed when `backwards`).
    #[allow(clippy::too_many_arguments)]
    async fn rows(
        pool: &PgPool,
        user_id: i64,
        q: &ExplorerQuery,
        scope: &Option<Vec<i64>>,
        cursor: Option<&Cursor>,
        backwards: bool,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<FindingSummary>, sqlx::Error> {
        let order = order(q.sort, backwards);
        let mut qb = QueryBuilder::new("");
        match scope {
            // everyone's findings: one walk of the index of the sort
            None => {
                qb.push(format!(
                    "{ROW_SELECT} FROM findings f JOIN projects p ON p.id = f.project_id WHERE true"
                ));
                push_filters(&mut qb, q, user_id, now);
                if let Some(c) = cursor {
                    push_keyset(&mut qb, c, backwards);
                }
            }
            // the visible projects' findings: the top rows of each project (an index range
            // per project, read from the index alone where it can be), merged; then the
            // page's rows are read
            Some(ids) => {
                let keys = match q.sort {
                    Sort::Newest => "f.id",
                    Sort::Severity => "f.id, f.severity",
                    Sort::Due => "f.id, f.due_at",
                    Sort::LastSeen => "f.id, f.last_seen_at",
                };
                qb.push(format!(
                    "{ROW_SELECT} FROM (SELECT f.id FROM projects p CROSS JOIN LATERAL (
                        SELECT {keys} FROM findings f WHERE f.project_id = p.id"
                ));
                push_filters(&mut qb, q, user_id, now);
                if let Some(c) = cursor {
                    push_keyset(&mut qb, c, backwards);
                }
                qb.push(format!(" ORDER BY {order} LIMIT "))
                    .push_bind(limit)
                    .push(") f WHERE p.id = ANY(")
                    .push_bind(ids.clone())
                    .push(format!(") ORDER BY {order} LIMIT "))
                    .push_bind(limit)
                    .push(") top JOIN findings f ON f.id = top.id JOIN projects p ON p.id = f.project_id");
            }
        }
        qb.push(format!(" ORDER BY {order} LIMIT "))
            .push_bind(limit);
        let rows = qb
            .build_query_as::<FindingSummary>()
            .fetch_all(pool)
            .await?;
        Ok(with_sla(rows))
    }

    /// How many findings match `q`'s filters, and whether counting stopped at
    /// [`COUNT_LIMIT`].
    pub async fn total(
        pool: &PgPool,
        user_id: i64,
        q: &ExplorerQuery,
    ) -> Result<(i64, bool), AppError> {
        let scope = scope(pool, user_id, q).await?;
        Ok(count(pool, user_id, q, &scope, chrono::Utc::now()).await?)
    }

    async fn count(
        pool: &PgPool,
        user_id: i64,
        q: &ExplorerQuery,
        scope: &Option<Vec<i64>>,
        now: DateTime<Utc>,
    ) -> Result<(i64, bool), sqlx::Error> {
        if let Some(total) = counted(pool, q, scope).await? {
            return Ok((total, false));
        }
        let mut qb = QueryBuilder::new("SELECT count(*) FROM (SELECT 1 FROM findings f WHERE true");
        if let Some(ids) = scope {
            qb.push(" AND f.project_id = ANY(")
                .push_bind(ids.clone())
                .push(")");
        }
        push_filters(&mut qb, q, user_id, now);
        qb.push(" LIMIT ").push_bind(COUNT_LIMIT + 1).push(") t");
        let total: i64 = qb.build_query_scalar().fetch_one(pool).await?;
        Ok((total, total > COUNT_LIMIT))
    }

    /// The exact total from the counts the triggers keep (migrations 26 and 27), when `q`
    /// filters only by what they are kept by: severity, layer, state, project and team.
    /// `None` for any other filter (the rows are counted then).
    async fn counted(
        pool: &PgPool,
        q: &ExplorerQuery,
        scope: &Option<Vec<i64>>,
    ) -> Result<Option<i64>, sqlx::Error> {
        // built from the countable filters alone, so a filter added later is never ignored
        let countable = ExplorerQuery {
            severity: q.severity.clone(),
            state: q.state.clone(),
            layer: q.layer.clone(),
            project: q.project.clone(),
            team: q.team.clone(),
            sort: q.sort,
            page: q.page,
            ..ExplorerQuery::default()
        };
        if countable != *q {
            return Ok(None);
        }
        let names = |values: Vec<&str>| values.into_iter().map(str::to_string).collect::<Vec<_>>();
        let severities = names(q.severity.iter().map(|s| s.as_str()).collect());
        let layers = names(q.layer.iter().map(|l| l.as_str()).collect());
        let states = q
            .state
            .states()
            .map(|states| names(states.iter().map(|s| s.as_str()).collect()));
        // compared as the enums they are: casting each row's value to text costs 3x
        let filters = "(cardinality($1::severity[]) = 0 OR severity = ANY($1::severity[]))
                   AND (cardinality($2::layer[]) = 0 OR layer = ANY($2::layer[]))
                   AND ($3::finding_state[] IS NULL OR state = ANY($3::finding_state[]))";
        let sql = match scope {
            // everyone's: the team roll-up, a few thousand rows at most
            None => format!("SELECT coalesce(sum(n), 0)::int8 FROM team_counts WHERE {filters}"),
            Some(_) => format!(
                "SELECT coalesce(sum(n), 0)::int8 FROM finding_counts
                  WHERE project_id = ANY($4) AND {filters}"
            ),
        };
        let total: i64 = sqlx::query_scalar(&sql)
            .bind(severities)
            .bind(layers)
            .bind(states)
            .bind(scope.clone().unwrap_or_default())
            .fetch_one(pool)
            .await?;
        Ok(Some(total))
    }

    /// Ids of findings matching `q`'s filters, at most `limit`.
    pub async fn matching_ids(
        pool: &PgPool,
        user_id: i64,
        q: &ExplorerQuery,
        limit: i64,
    ) -> Result<Vec<i64>, AppError> {
        let scope = scope(pool, user_id, q).await?;
        let mut qb = QueryBuilder::new("SELECT f.id FROM findings f WHERE true");
        if let Some(ids) = &scope {
            qb.push(" AND f.project_id = ANY(")
                .push_bind(ids.clone())
                .push(")");
        }
        push_filters(&mut qb, q, user_id, chrono::Utc::now());
        qb.push(" LIMIT ").push_bind(limit);
        let mut ids: Vec<i64> = qb.build_query_scalar().fetch_all(pool).await?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// One page of the explorer, with its total and neighbours.
    pub async fn page(
        pool: &PgPool,
        user_id: i64,
        q: &ExplorerQuery,
    ) -> Result<ExplorerPage, AppError> {
        let now = chrono::Utc::now();
        let scope = scope(pool, user_id, q).await?;
        let (cursor, backwards) = match &q.page {
            Page::First => (None, false),
            Page::After(c) => (Some(c), false),
            Page::Before(c) => (Some(c), true),
        };
        let mut rows = rows(
            pool,
            user_id,
            q,
            &scope,
            cursor,
            backwards,
            PAGE_SIZE as i64 + 1,
            now,
        )
        .await?;
        let more = rows.len() > PAGE_SIZE;
        rows.truncate(PAGE_SIZE);
        if backwards {
            rows.reverse();
        }
        let (total, bounded) = count(pool, user_id, q, &scope, now).await?;
        let link = |page: Page| ExplorerQuery { page, ..q.clone() }.to_query_string();
        let first = rows.first().map(|r| Cursor::of(q.sort, r));
        let last = rows.last().map(|r| Cursor::of(q.sort, r));
        let (has_prev, has_next) = match q.page {
            Page::First => (false, more),
            Page::After(_) => (true, more),
            Page::Before(_) => (more, true),
        };
        Ok(ExplorerPage {
            next: last.filter(|_| has_next).map(|c| link(Page::After(c))),
            prev: first.filter(|_| has_prev).map(|c| link(Page::Before(c))),
            rows,
            total,
            bounded,
        })
    }

    /// Every finding of `q` in its order, `batch` rows at a time (keyset pages), for
    /// exports: `each` gets each batch; at most `max` rows in all.
    pub async fn for_each_batch(
        pool: &PgPool,
        user_id: i64,
        q: &ExplorerQuery,
        batch: i64,
        max: usize,
        mut each: impl FnMut(Vec<FindingSummary>) -> bool,
    ) -> Result<(), AppError> {
        let now = chrono::Utc::now();
        let scope = scope(pool, user_id, q).await?;
        let q = q.first_page();
        let mut cursor: Option<Cursor> = None;
        let mut sent = 0;
        loop {
            let limit = batch.min((max - sent) as i64);
            if limit == 0 {
                return Ok(());
            }
            let rows = rows(
                pool,
                user_id,
                &q,
                &scope,
                cursor.as_ref(),
                false,
                limit,
                now,
            )
            .await?;
            let done = (rows.len() as i64) < limit;
            sent += rows.len();
            cursor = rows.last().map(|r| Cursor::of(q.sort, r));
            if !each(rows) || done {
                return Ok(());
            }
        }
    }
}

#[component]
pub fn FindingsPage() -> impl IntoView {
    let search = use_location().search;
    let parsed = Memo::new(move |_| ExplorerQuery::parse(&search.get()));
    let bulk = crate::bulk::Bulk::new();
    // a grouped view (`group=`) reads its groups instead of rows
    let grouped = Memo::new(move |_| parsed.with(|q| q.as_ref().is_ok_and(|q| q.group.is_some())));
    // blocking (like `groups` below): the answer's status (400 for a bad parameter, 404 for
    // a project or scan one cannot see) is set before the answer starts, whatever the timing
    let findings = Resource::new_blocking(
        move || (search.get(), bulk.version()),
        |(query, _)| async move {
            let query = query.trim_start_matches('?').to_string();
            if crate::explorer_groups::is_grouped(&query) {
                return Ok(ExplorerPage::default());
            }
            list_findings(query).await
        },
    );
    // blocking: the answer's status (404 for a scan one cannot see) is set before it starts
    let groups = Resource::new_blocking(move || search.get(), crate::explorer_groups::load);
    let select_all = ServerAction::<MatchingFindingIds>::new();
    Effect::new(move |_| {
        if let Some(Ok(ids)) = select_all.value().get() {
            bulk.selection.set(ids.into_iter().collect());
        }
    });

    view! {
        <Title text="Findings"/>
        <AppHeader/>
        <main class="findings explorer">
            <header class="page-head">
                <h1>"Findings"</h1>
                <p class="page-sub">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            if let Ok(Some(page)) = groups.await {
                                return Some(view! {
                                    <span class="total" data-total=page.findings>{crate::explorer_groups::groups_label(&page)}</span>
                                }.into_any());
                            }
                            findings.await.ok().filter(|_| !grouped.get_untracked()).map(|page| view! {
                                <span class="total" data-total=page.total>{page.total_label()}</span>
                            }.into_any())
                        })}
                    </Transition>
                </p>
            </header>
            {move || match parsed.get() {
                Ok(q) => view! { <FilterForm q/> }.into_any(),
                Err(_) => view! { <FilterForm q=ExplorerQuery::default()/> }.into_any(),
            }}
            <crate::bulk::BulkBar bulk/>
            <Transition fallback=|| view! { <p class="muted">"Loading findings…"</p> }>
                {move || Suspend::new(async move {
                    match groups.await {
                        Ok(Some(page)) => {
                            let query = parsed.get_untracked().unwrap_or_default();
                            return view! { <crate::explorer_groups::GroupedResults page query/> }.into_any();
                        }
                        Ok(None) => {}
                        Err(err) => return view! { <LoadError err/> }.into_any(),
                    }
                    match findings.await {
                        Ok(page) => {
                            let query = parsed.get_untracked().unwrap_or_default();
                            view! { <ExplorerResults page query bulk select_all/> }.into_any()
                        }
                        Err(err) => view! { <LoadError err/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

/// The filters as a plain GET form (works without JavaScript), and a chip per active
/// filter that links to the view without it.
#[component]
fn FilterForm(q: ExplorerQuery) -> impl IntoView {
    let chips = q.chips();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let state_value = match &q.state {
        StateFilter::NotClosed => String::new(),
        StateFilter::Active => "active".into(),
        StateFilter::Closed => "closed".into(),
        StateFilter::All => "all".into(),
        StateFilter::Only(s) => s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","),
    };
    let mut state_options: Vec<(String, String)> = vec![
        (
            String::new(),
            // a scan's diff is in every state unless one is chosen
            if q.scan.is_some() {
                "Any state"
            } else {
                "Not closed"
            }
            .into(),
        ),
        ("active".into(), "Active (open work)".into()),
        ("closed".into(), "Closed".into()),
        ("all".into(), "All states".into()),
    ];
    state_options.extend(
        FindingState::ALL
            .iter()
            .map(|s| (s.as_str().to_string(), s.label().to_string())),
    );
    if !state_options.iter().any(|(v, _)| *v == state_value) {
        state_options.push((state_value.clone(), q.state.label()));
    }
    let assignee_value = match q.assignee {
        None => String::new(),
        Some(crate::explorer::AssigneeFilter::Me) => "me".into(),
        Some(crate::explorer::AssigneeFilter::Nobody) => "none".into(),
        Some(crate::explorer::AssigneeFilter::User(id)) => id.to_string(),
    };
    let mut assignee_options: Vec<(String, String)> = vec![
        (String::new(), "Anyone".into()),
        ("me".into(), "Me".into()),
        ("none".into(), "Unassigned".into()),
    ];
    if let Some(crate::explorer::AssigneeFilter::User(id)) = q.assignee {
        assignee_options.push((id.to_string(), format!("Person #{id}")));
    }
    let sla_value = q.sla.map(|s| s.as_str()).unwrap_or_default();
    let select = |name: &'static str,
                  label: &'static str,
                  current: String,
                  options: Vec<(String, String)>| {
        view! {
            <label class="field">
                <span class="field-label">{label}</span>
                <select name=name>
                    {options.into_iter().map(|(value, text)| {
                        let selected = value == current;
                        view! { <option value=value selected=selected>{text}</option> }
                    }).collect_view()}
                </select>
            </label>
        }
    };
    let input = |name: &'static str,
                 label: &'static str,
                 value: String,
                 kind: &'static str,
                 hint: &'static str| {
        view! {
            <label class="field">
                <span class="field-label">{label}</span>
                <input type=kind name=name value=value placeholder=hint/>
            </label>
        }
    };
    let severities = q.severity.clone();
    let layers = q.layer.clone();
    view! {
        <form method="get" action="/findings" class="explorer-filters" role="search" aria-label="Filter findings">
            <div class="toolbar">
                {input("q", "Search", text(&q.q), "search", "title, location, package, image")}
                {select("state", "State", state_value, state_options)}
                {select("sla", "SLA", sla_value.to_string(), std::iter::once((String::new(), "Any".to_string()))
                    .chain(SlaFilter::ALL.iter().map(|s| (s.as_str().to_string(), s.label().to_string()))).collect())}
                {select("assignee", "Assignee", assignee_value, assignee_options)}
                {select("sort", "Sort by", q.sort.as_str().to_string(), sort_options(q.group.is_some()))}
                {select("group", "Group by", q.group.map(|g| g.as_str()).unwrap_or_default().to_string(),
                    std::iter::once((String::new(), "None (findings)".to_string()))
                        .chain(crate::explorer::GroupBy::ALL.iter().map(|g| (g.as_str().to_string(), g.label().to_string()))).collect())}
                // the scan's diff stays when other filters change (its chip removes it)
                {q.scan.map(|scan| view! { <input type="hidden" name="scan" value=scan.to_string()/> })}
                {q.change.map(|c| view! { <input type="hidden" name="change" value=c.as_str()/> })}
            </div>
            <div class="toolbar">
                <fieldset class="field checks">
                    <legend class="field-label">"Severity"</legend>
                    {Severity::ALL.iter().map(|s| {
                        let checked = severities.contains(s);
                        view! {
                            <label class="check"><input type="checkbox" name="severity" value=s.as_str() checked=checked/>
                                <span class=format!("sev sev-{s}")>{s.label()}</span></label>
                        }
                    }).collect_view()}
                </fieldset>
                <fieldset class="field checks">
                    <legend class="field-label">"Layer"</legend>
                    {Layer::ALL.iter().map(|l| {
                        let checked = layers.contains(l);
                        view! {
                            <label class="check"><input type="checkbox" name="layer" value=l.as_str() checked=checked/>
                                {l.label()}</label>
                        }
                    }).collect_view()}
                </fieldset>
            </div>
            <div class="toolbar">
                {input("project", "Project", text(&q.project), "text", "project slug")}
                {input("team", "Team", text(&q.team), "text", "team slug")}
                {input("scanner", "Scanner", text(&q.scanner), "text", "e.g. trivy")}
                {input("rule", "Rule / CVE", text(&q.rule), "text", "e.g. CVE-2021-44228")}
                {input("package", "Package", text(&q.package), "text", "exact name, e.g. openssl")}
                {input("since", "First seen since", q.since.map(|d| d.to_string()).unwrap_or_default(), "date", "YYYY-MM-DD")}
                <button type="submit" class="btn btn-primary">"Apply filters"</button>
                <a class="btn-link" href="/findings">"Clear all"</a>
            </div>
        </form>
        <Show when={let empty = chips.is_empty(); move || !empty}>
            <nav class="chips" aria-label="Active filters">
                {chips.clone().into_iter().map(|(label, href)| view! {
                    <a class="chip active" href=href title="Remove this filter">
                        {label} <span aria-hidden="true">" ×"</span>
                        <span class="visually-hidden">" (remove)"</span>
                    </a>
                }).collect_view()}
            </nav>
        </Show>
    }
}

/// The sort select's options: a grouped view sorts its groups by count (any sort but
/// severity) or by worst severity.
fn sort_options(grouped: bool) -> Vec<(String, String)> {
    if grouped {
        return vec![
            (Sort::Newest.as_str().into(), "Most findings".into()),
            (Sort::Severity.as_str().into(), "Worst severity".into()),
        ];
    }
    Sort::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), s.label().to_string()))
        .collect()
}

/// The page's rows, the pager, "select all N matching" and the export links.
#[component]
fn ExplorerResults(
    page: ExplorerPage,
    query: ExplorerQuery,
    bulk: crate::bulk::Bulk,
    select_all: ServerAction<MatchingFindingIds>,
) -> impl IntoView {
    let filters = query.filters_only();
    let export_query = ExplorerQuery {
        sort: query.sort,
        ..filters.clone()
    }
    .to_query_string();
    let export = move |format: &str| {
        if export_query.is_empty() {
            format!("/api/findings/export?format={format}")
        } else {
            format!("/api/findings/export?format={format}&{export_query}")
        }
    };
    let shown = page.rows.len() as i64;
    let total = page.total;
    let total_label = page.total_label();
    let selectable = total > shown && total <= crate::bulk::BULK_MAX as i64;
    let too_many = total > crate::bulk::BULK_MAX as i64;
    let filters_text = filters.to_query_string();
    let pager = {
        let prev = page.prev.clone();
        let next = page.next.clone();
        view! {
            <nav class="pager" aria-label="Pages">
                {match prev {
                    Some(p) => view! { <a class="btn" rel="prev" href=format!("/findings?{p}")>"← Previous 50"</a> }.into_any(),
                    None => view! { <span class="btn disabled" aria-disabled="true">"← Previous 50"</span> }.into_any(),
                }}
                {match next {
                    Some(n) => view! { <a class="btn" rel="next" href=format!("/findings?{n}")>"Next 50 →"</a> }.into_any(),
                    None => view! { <span class="btn disabled" aria-disabled="true">"Next 50 →"</span> }.into_any(),
                }}
            </nav>
        }
    };
    let rows = page.rows;
    let body = if rows.is_empty() {
        let first = query.page != Page::First;
        view! {
            <div class="empty">
                {if first {
                    view! { <p>"No more findings this way. " <a href=query.first_page().url()>"Back to the first page"</a></p> }.into_any()
                } else if query.is_filtered() {
                    view! { <p>"No findings match these filters. Remove a filter above, or " <a href="/findings">"clear them all"</a> "."</p> }.into_any()
                } else {
                    view! { <p>"No open findings in your projects. Scanner reports pushed to "
                        <code>"POST /api/v1/reports"</code> " (or " <code>"bosun push"</code> ") show up here."</p> }.into_any()
                }}
            </div>
        }
        .into_any()
    } else {
        view! { <FindingsTable rows selection=bulk.selection hide_count=true/> }.into_any()
    };
    view! {
        <div class="toolbar explorer-actions">
            <span class="muted shown">{format!("Showing {shown} of {}", total_label.clone())}</span>
            <Show when=move || selectable>
                <button type="button" class="btn-link select-matching"
                    on:click={let q = filters_text.clone(); move |_| { select_all.dispatch(MatchingFindingIds { query: q.clone() }); }}>
                    {format!("Select all {total} matching")}
                </button>
            </Show>
            <Show when=move || too_many>
                <span class="muted bulk-limit">{format!(
                    "{} match: a bulk action takes at most {}; narrow the filters to act on all of them.",
                    total_label.clone(), crate::explorer::thousands(crate::bulk::BULK_MAX as i64))}</span>
            </Show>
            {move || select_all.value().get().and_then(|r| r.err()).map(|err| view! {
                <p class="notice notice-error" role="alert">{crate::layout::message(&err)}</p>
            })}
            <a class="btn" href=export("csv") rel="external" download="">"Export CSV"</a>
            <a class="btn" href=export("json") rel="external" download="">"Export JSON"</a>
        </div>
        {body}
        {pager}
    }
}

#[component]
pub(crate) fn FindingsTable(
    rows: Vec<FindingSummary>,
    /// With a selection, each row gets a checkbox (for bulk actions).
    #[prop(optional)]
    selection: Option<RwSignal<BTreeSet<i64>>>,
    /// The page says how many there are (the explorer's total), not the table.
    #[prop(optional)]
    hide_count: bool,
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
        <Show when=move || !hide_count>
            <p class="muted count">{format!("{count} finding{}", if count == 1 { "" } else { "s" })}</p>
        </Show>
        <table class="data-table findings-table">
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
