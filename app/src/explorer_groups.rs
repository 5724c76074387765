//! The explorer grouped (`/findings?group=rule|package&…`): instead of rows of findings, one
//! row per CVE or rule id (or per package name) of the findings the other parameters select,
//! with how many findings, their worst severity, how many projects and assets (and images)
//! they are in, and when the oldest was first seen; each links to the explorer filtered to
//! it. Same filters and visibility as the rows ([`crate::findings::db::scope`] and
//! [`crate::findings::db::push_filters`]); the top [`crate::explorer::GROUPS_SHOWN`] by
//! count (or, with `sort=severity`, by worst severity), with how many groups there are.
//!
//! Grouping by rule puts a finding under its rule id, unless that is not a CVE and the
//! finding has CVE aliases: then under the first of them in the scanner's order (so Trivy's
//! `CVE-2021-44228` and OSV's `GHSA-jfh8-c2jp-5v3q` aliasing it are one row). A group's link
//! is `rule=<key>`, which also matches findings naming the key among several CVE aliases,
//! so on such rare findings it may list a few more than the group counts.
//!
//! Cost: every matching finding is read and grouped (no index holds rule ids or packages).
//! Measured on the 1M-finding seed (2 shared, busy cores): a one-team developer (7,455 open
//! findings) 40–70 ms; an admin's `severity=critical` 0.6 s; an admin's whole estate (640k
//! open findings, 206k rules) about 3 s, 2 s of it reading and sorting the rows. Faster
//! estate-wide groups would need counts kept per rule, like the overview's aggregates.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::domain::Severity;
use crate::error::AppError;
use crate::explorer::{ExplorerQuery, GroupBy, Sort};
use crate::ui::{DataTable, EmptyState, SeverityBadge};

/// One group of findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct GroupRow {
    /// The CVE or rule id, or the package name (`""`: findings without a rule id).
    pub key: String,
    /// The title of one of its findings (the first Bosun learned of), for rules.
    pub title: String,
    pub findings: i64,
    /// The worst severity among them.
    pub severity: Severity,
    pub projects: i64,
    /// Distinct assets (image, workload, URL…, else the scanned target: a repository) and
    /// images among them.
    pub assets: i64,
    pub images: i64,
    pub first_seen: chrono::DateTime<chrono::Utc>,
}

/// The top groups of a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupPage {
    pub by: GroupBy,
    pub rows: Vec<GroupRow>,
    /// Groups in all (more than shown when over [`crate::explorer::GROUPS_SHOWN`]).
    pub groups: i64,
    /// Findings in all the groups.
    pub findings: i64,
}

/// The groups of the explorer query `query` (without `?`), which must have `group`.
#[server(endpoint = "group_findings")]
pub async fn group_findings(#[server(default)] query: String) -> Result<GroupPage, AppError> {
    let user = crate::auth::require_user().await?;
    let query = ExplorerQuery::parse(&query).map_err(|e| AppError::invalid(e.0))?;
    let Some(by) = query.group else {
        return Err(AppError::invalid(
            "Say how to group: group=rule or group=package.",
        ));
    };
    let ctx = crate::server_context::server_context()?;
    db::groups(&ctx.pool, user.id, &query, by).await
}

#[cfg(feature = "ssr")]
pub mod db {
    use sqlx::{PgPool, QueryBuilder};

    use super::{GroupPage, GroupRow};
    use crate::error::AppError;
    use crate::explorer::{ExplorerQuery, GROUPS_SHOWN, GroupBy, Sort};
    use crate::findings::db::{push_filters, scope};

    /// A finding's group when grouping by rule: its rule id, or the first CVE among its
    /// aliases when the rule id is not a CVE. An expression without a subquery, so that the
    /// scan of a large estate can run in parallel workers.
    pub const RULE_KEY: &str =
        "CASE WHEN f.rule_id ILIKE 'cve-%' OR f.aliases = '{}' THEN f.rule_id
         ELSE coalesce(substring(array_to_string(f.aliases, ' ') FROM '(?i)cve-[0-9]+-[0-9]+'),
                       f.rule_id) END";

    /// What a finding is about, for counting assets: its asset (image, workload, URL…), or
    /// else the target its scans named (a repository, for code findings).
    pub const ASSET: &str = "coalesce(f.asset_key, nullif(f.target, ''))";

    #[derive(sqlx::FromRow)]
    struct Counted {
        #[sqlx(flatten)]
        row: GroupRow,
        groups: i64,
        total: i64,
    }

    /// The top [`GROUPS_SHOWN`] groups of `q`'s findings by `by`, with the number of groups
    /// and findings in all.
    pub async fn groups(
        pool: &PgPool,
        user_id: i64,
        q: &ExplorerQuery,
        by: GroupBy,
    ) -> Result<GroupPage, AppError> {
        let now = chrono::Utc::now();
        let scope = scope(pool, user_id, q).await?;
        let key = match by {
            GroupBy::Rule => RULE_KEY,
            GroupBy::Package => "f.package_name",
        };
        // the groups are counted over narrow rows (no titles: sorting 600k of them spilled
        // to disk); the title of each shown group is its first finding's, read afterwards
        let mut qb = QueryBuilder::new(format!(
            "SELECT g.key, coalesce(s.title, '') AS title, g.findings, g.severity, g.projects,
                    g.assets, g.images, g.first_seen, g.groups, g.total
               FROM (SELECT g.*, (count(*) OVER ())::int8 AS groups,
                            (sum(g.findings) OVER ())::int8 AS total
                       FROM (SELECT k.key, min(k.id) AS sample, count(*) AS findings,
                                    min(k.severity) AS severity,
                                    count(DISTINCT k.project_id) AS projects,
                                    count(DISTINCT k.asset) AS assets,
                                    count(DISTINCT k.image) AS images,
                                    min(k.first_seen_at) AS first_seen
                               FROM (SELECT {key} AS key, f.id, f.severity, f.project_id,
                                            {ASSET} AS asset, f.image, f.first_seen_at
                                       FROM findings f WHERE true"
        ));
        if let Some(ids) = &scope {
            qb.push(" AND f.project_id = ANY(")
                .push_bind(ids.clone())
                .push(")");
        }
        if by == GroupBy::Package {
            qb.push(" AND f.package_name IS NOT NULL");
        }
        push_filters(&mut qb, q, user_id, now);
        let order = match q.sort {
            Sort::Severity => "g.severity, g.findings DESC, g.key",
            _ => "g.findings DESC, g.severity, g.key",
        };
        qb.push(format!(
            ") k GROUP BY k.key) g ORDER BY {order} LIMIT {GROUPS_SHOWN}) g
             LEFT JOIN findings s ON s.id = g.sample
             ORDER BY {order}"
        ));
        let rows: Vec<Counted> = qb.build_query_as().fetch_all(pool).await?;
        let (groups, findings) = rows.first().map_or((0, 0), |r| (r.groups, r.total));
        Ok(GroupPage {
            by,
            rows: rows.into_iter().map(|r| r.row).collect(),
            groups,
            findings,
        })
    }
}

/// Whether the explorer query string `query` asks for groups.
pub fn is_grouped(query: &str) -> bool {
    ExplorerQuery::parse(query).is_ok_and(|q| q.group.is_some())
}

/// The groups of the page's query, or `None` when it does not ask for groups (then nothing
/// is fetched).
pub async fn load(query: String) -> Result<Option<GroupPage>, AppError> {
    let query = query.trim_start_matches('?').to_string();
    if is_grouped(&query) {
        group_findings(query).await.map(Some)
    } else {
        Ok(None)
    }
}

/// "100 of 1,234 CVEs and rules", "3 packages".
pub fn groups_label(page: &GroupPage) -> String {
    let (one, many) = match page.by {
        GroupBy::Rule => ("CVE or rule", "CVEs and rules"),
        GroupBy::Package => ("package", "packages"),
    };
    let noun = if page.groups == 1 { one } else { many };
    format!(
        "{} finding{} in {} {noun}",
        crate::explorer::thousands(page.findings),
        if page.findings == 1 { "" } else { "s" },
        crate::explorer::thousands(page.groups)
    )
}

/// The grouped view: a table of the top groups, each linking to its findings.
#[component]
pub fn GroupedResults(page: GroupPage, query: ExplorerQuery) -> impl IntoView {
    let label = groups_label(&page);
    let shown = page.rows.len() as i64;
    // the page's heading says how many; this says when not all are shown
    let note = (page.groups > shown).then(|| {
        format!(
            "Showing the top {shown} by {} of {label}; narrow the filters to see the rest.",
            if query.sort == Sort::Severity {
                "worst severity"
            } else {
                "number of findings"
            }
        )
    });
    if page.rows.is_empty() {
        return view! {
            <EmptyState title="No findings match these filters" class="groups-empty">
                <p>{match page.by {
                    GroupBy::Rule => "Nothing to group. Remove a filter above, or ",
                    GroupBy::Package => "None of the matching findings names a package. Remove a filter above, or ",
                }} <a href=ExplorerQuery { group: None, ..query.first_page() }.url()>"list the findings"</a> "."</p>
            </EmptyState>
        }
        .into_any();
    }
    let (key_head, label_head) = match page.by {
        GroupBy::Rule => ("CVE or rule", "CVEs and rules"),
        GroupBy::Package => ("Package", "Packages"),
    };
    let by = page.by;
    let link = move |key: &str| -> Option<String> {
        if key.is_empty() || key.chars().count() > 200 {
            return None;
        }
        let mut q = ExplorerQuery {
            group: None,
            ..query.first_page()
        };
        match by {
            GroupBy::Rule => q.rule = Some(key.to_string()),
            GroupBy::Package => q.package = Some(key.to_string()),
        }
        Some(q.url())
    };
    view! {
        {note.map(|note| view! { <p class="muted shown groups-note">{note}</p> })}
        <DataTable label=label_head class="groups-table">
            <thead>
                <tr>
                    <th scope="col">{key_head}</th>
                    <th scope="col">"Worst"</th>
                    <th scope="col" class="num">"Findings"</th>
                    <th scope="col" class="num">"Projects"</th>
                    <th scope="col" class="num" title="Distinct assets: images, workloads, URLs, else the scanned repository">"Assets"</th>
                    <th scope="col" class="num">"Images"</th>
                    <th scope="col">"Oldest seen"</th>
                </tr>
            </thead>
            <tbody>
                {page.rows.into_iter().map(|g| {
                    let href = link(&g.key);
                    let shown_key = if g.key.is_empty() { "(no rule id)".to_string() } else { g.key.clone() };
                    let title = (by == GroupBy::Rule && !g.title.is_empty()).then(|| g.title.clone());
                    let count = crate::explorer::thousands(g.findings);
                    view! {
                        <tr class="group" data-key=g.key.clone() data-findings=g.findings>
                            <th scope="row" class="group-key">
                                {match href.clone() {
                                    Some(href) => view! { <a href=href><code>{shown_key}</code></a> }.into_any(),
                                    None => view! { <code>{shown_key}</code> }.into_any(),
                                }}
                                {title.map(|t| view! { <small class="muted group-title">{t}</small> })}
                            </th>
                            <td><SeverityBadge severity=g.severity/></td>
                            <td class="num">{match href {
                                Some(href) => view! { <a href=href>{count}</a> }.into_any(),
                                None => view! { <span>{count}</span> }.into_any(),
                            }}</td>
                            <td class="num">{g.projects}</td>
                            <td class="num">{g.assets}</td>
                            <td class="num">{g.images}</td>
                            <td class="when">{g.first_seen.format("%Y-%m-%d").to_string()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </DataTable>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(by: GroupBy, groups: i64, findings: i64) -> GroupPage {
        GroupPage {
            by,
            rows: Vec::new(),
            groups,
            findings,
        }
    }

    #[test]
    fn labels_count_findings_and_groups() {
        assert_eq!(
            groups_label(&page(GroupBy::Rule, 1234, 20_000)),
            "20,000 findings in 1,234 CVEs and rules"
        );
        assert_eq!(
            groups_label(&page(GroupBy::Package, 1, 3)),
            "3 findings in 1 package"
        );
    }

    #[test]
    fn only_grouped_queries_fetch_groups() {
        assert!(is_grouped("group=rule&severity=high"));
        assert!(!is_grouped("severity=high"));
        assert!(!is_grouped("group=nonsense"));
        assert_eq!(crate::explorer::GROUPS_SHOWN, 100);
    }
}
