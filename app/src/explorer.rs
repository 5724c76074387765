//! What the findings explorer shows, as one validated value: [`ExplorerQuery`], parsed from
//! and written back to the URL (`/findings?severity=critical,high&state=active&sort=due`).
//!
//! The URL contract (also used by the overview's links):
//! - `severity`, `layer`: comma lists (`severity=critical,high`); repeated keys add up, so
//!   a plain form's checkboxes (`severity=critical&severity=high`) mean the same;
//! - `state`: `active` | `closed` | `all` | a list of states; absent = not closed;
//! - `project`, `team`: slugs; `team=none`: projects without a team (unless a team is
//!   named `none`); `assignee`: `me` | `none` | a user id;
//! - `scanner`, `rule` (rule id, CVE or alias, exact), `package` (package name, exact),
//!   `q` (free text over title, location, package and image);
//! - `sla`: `breached` | `due_soon` (due within 7 days, not breached) | `on_track`;
//! - `since`: `YYYY-MM-DD`, first seen on or after (UTC);
//! - `scan`: a scan's id (as on a project's scans page), with `change`: `new` (findings the
//!   scan saw first), `fixed` (the ones it closed: a complete scan no longer reported them)
//!   or `reopened` (fixed ones it reported again); `scan` alone is all three, the scan's
//!   whole diff. Bosun keeps what each scan *changed*, not every finding it reported (an
//!   unchanged finding is not rewritten), so there is no "everything scan N reported".
//!   A scan of a project the viewer cannot see answers 404, like an unknown project.
//!   With `scan`, an absent `state` means every state (the fixed ones are closed); an
//!   explicit `state` still narrows. `change` without `scan` is an error;
//! - `group`: `rule` (one row per CVE or rule id: a finding whose rule id is not a CVE but
//!   which has a CVE alias counts under that CVE) | `package` (one row per package name;
//!   findings without a package are left out): the top [`GROUPS_SHOWN`] groups of the
//!   findings the other parameters select, instead of their rows; no `after` / `before`;
//!   `sort=severity` orders groups by their worst severity, any other sort by count;
//! - `sort`: `newest` (default) | `severity` | `due` | `last_seen`;
//! - `after` / `before`: opaque cursors of the next / previous page.
//!
//! An empty value is absent (forms send empty fields); an unknown key or value is an error
//! that names it, never silently ignored.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{FindingState, Layer, Severity};

/// Rows per page.
pub const PAGE_SIZE: usize = 50;

/// Totals stop counting here; more shows as "10,000+".
pub const COUNT_LIMIT: i64 = 10_000;

/// Longest free-text search, rule, scanner or slug accepted.
const TEXT_MAX: usize = 200;

/// Groups a grouped view shows (the top ones by its sort).
pub const GROUPS_SHOWN: i64 = 100;

/// What a scan changed, for `scan=<id>&change=…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScanChange {
    /// Findings the scan saw first (`findings.first_scan_id`).
    New,
    /// Findings the scan closed (audit action `fixed_by_scan`).
    Fixed,
    /// Fixed findings the scan reported again (audit action `reopened_by_scan`).
    Reopened,
}

impl ScanChange {
    pub const ALL: &'static [ScanChange] =
        &[ScanChange::New, ScanChange::Reopened, ScanChange::Fixed];

    pub fn as_str(self) -> &'static str {
        match self {
            ScanChange::New => "new",
            ScanChange::Fixed => "fixed",
            ScanChange::Reopened => "reopened",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ScanChange::New => "New in the scan",
            ScanChange::Fixed => "Fixed by the scan",
            ScanChange::Reopened => "Reopened by the scan",
        }
    }
}

/// One row per what, in a grouped view (`group=…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupBy {
    /// A CVE or rule id.
    Rule,
    /// A package name.
    Package,
}

impl GroupBy {
    pub const ALL: &'static [GroupBy] = &[GroupBy::Rule, GroupBy::Package];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Rule => "rule",
            GroupBy::Package => "package",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GroupBy::Rule => "Rule or CVE",
            GroupBy::Package => "Package",
        }
    }
}

/// Which states the explorer shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateFilter {
    /// Everything but fixed and false positive (the default).
    #[default]
    NotClosed,
    /// Open work: open, confirmed, in progress, reopened.
    Active,
    /// Fixed and false positive.
    Closed,
    All,
    /// These states (sorted, at least one).
    Only(Vec<FindingState>),
}

/// Open work: the states an SLA runs in.
pub const ACTIVE_STATES: &[FindingState] = &[
    FindingState::Open,
    FindingState::Confirmed,
    FindingState::InProgress,
    FindingState::Reopened,
];

/// Done: fixed or a false positive.
pub const CLOSED_STATES: &[FindingState] = &[FindingState::Fixed, FindingState::FalsePositive];

impl StateFilter {
    /// The states shown, or `None` for all of them.
    pub fn states(&self) -> Option<Vec<FindingState>> {
        match self {
            StateFilter::NotClosed => Some(
                FindingState::ALL
                    .iter()
                    .copied()
                    .filter(|s| !CLOSED_STATES.contains(s))
                    .collect(),
            ),
            StateFilter::Active => Some(ACTIVE_STATES.to_vec()),
            StateFilter::Closed => Some(CLOSED_STATES.to_vec()),
            StateFilter::All => None,
            StateFilter::Only(states) => Some(states.clone()),
        }
    }

    fn as_param(&self) -> Option<String> {
        match self {
            StateFilter::NotClosed => None,
            StateFilter::Active => Some("active".into()),
            StateFilter::Closed => Some("closed".into()),
            StateFilter::All => Some("all".into()),
            StateFilter::Only(states) => Some(join(states.iter().map(|s| s.as_str()))),
        }
    }

    pub fn label(&self) -> String {
        match self {
            StateFilter::NotClosed => "Not closed".into(),
            StateFilter::Active => "Active".into(),
            StateFilter::Closed => "Closed".into(),
            StateFilter::All => "All states".into(),
            StateFilter::Only(states) => states
                .iter()
                .map(|s| s.label())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// Whose findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AssigneeFilter {
    Me,
    /// No person assigned.
    Nobody,
    User(i64),
}

/// Where findings stand against their SLA (open work only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SlaFilter {
    Breached,
    /// Due within 7 days, not breached.
    DueSoon,
    /// Due in more than 7 days.
    OnTrack,
}

impl SlaFilter {
    pub const ALL: &'static [SlaFilter] =
        &[SlaFilter::Breached, SlaFilter::DueSoon, SlaFilter::OnTrack];

    pub fn as_str(self) -> &'static str {
        match self {
            SlaFilter::Breached => "breached",
            SlaFilter::DueSoon => "due_soon",
            SlaFilter::OnTrack => "on_track",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SlaFilter::Breached => "SLA breached",
            SlaFilter::DueSoon => "Due within 7 days",
            SlaFilter::OnTrack => "On track",
        }
    }
}

/// The order of the list; each is a total order (ties broken by id), so pages are stable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sort {
    /// Newest first (by id: the order Bosun learned of them).
    #[default]
    Newest,
    /// Most severe first; within a severity, longest-standing first.
    Severity,
    /// Soonest due first (breached ones first); findings without an SLA last.
    Due,
    /// Most recently changed by a scan first.
    LastSeen,
}

impl Sort {
    pub const ALL: &'static [Sort] = &[Sort::Newest, Sort::Severity, Sort::Due, Sort::LastSeen];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Severity => "severity",
            Sort::Due => "due",
            Sort::LastSeen => "last_seen",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Newest => "Newest",
            Sort::Severity => "Severity",
            Sort::Due => "Due date",
            Sort::LastSeen => "Last seen",
        }
    }

    fn letter(self) -> char {
        match self {
            Sort::Newest => 'n',
            Sort::Severity => 's',
            Sort::Due => 'd',
            Sort::LastSeen => 'l',
        }
    }
}

/// A position in the list: the sort key of a row and its id. Written into URLs as an
/// opaque token; a cursor of another sort is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cursor {
    Newest {
        id: i64,
    },
    Severity {
        severity: Severity,
        id: i64,
    },
    /// `due: None` = no SLA (sorted last).
    Due {
        due: Option<DateTime<Utc>>,
        id: i64,
    },
    LastSeen {
        at: DateTime<Utc>,
        id: i64,
    },
}

impl Cursor {
    pub fn sort(&self) -> Sort {
        match self {
            Cursor::Newest { .. } => Sort::Newest,
            Cursor::Severity { .. } => Sort::Severity,
            Cursor::Due { .. } => Sort::Due,
            Cursor::LastSeen { .. } => Sort::LastSeen,
        }
    }

    pub fn id(&self) -> i64 {
        match *self {
            Cursor::Newest { id }
            | Cursor::Severity { id, .. }
            | Cursor::Due { id, .. }
            | Cursor::LastSeen { id, .. } => id,
        }
    }

    /// The cursor of a row in `sort`.
    pub fn of(sort: Sort, row: &crate::domain::FindingSummary) -> Cursor {
        let id = row.id;
        match sort {
            Sort::Newest => Cursor::Newest { id },
            Sort::Severity => Cursor::Severity {
                severity: row.severity,
                id,
            },
            Sort::Due => Cursor::Due {
                due: row.due_at,
                id,
            },
            Sort::LastSeen => Cursor::LastSeen {
                at: row.last_seen_at,
                id,
            },
        }
    }

    /// `n123`, `s2.123` (severity rank), `d<µs>.123` or `d-.123`, `l<µs>.123`.
    pub fn token(&self) -> String {
        let key = match *self {
            Cursor::Newest { .. } => String::new(),
            Cursor::Severity { severity, .. } => format!("{}.", rank(severity)),
            Cursor::Due { due: None, .. } => "-.".into(),
            Cursor::Due { due: Some(at), .. } | Cursor::LastSeen { at, .. } => {
                format!("{}.", at.timestamp_micros())
            }
        };
        format!("{}{key}{}", self.sort().letter(), self.id())
    }

    pub fn parse(token: &str) -> Option<Cursor> {
        let mut chars = token.chars();
        let letter = chars.next()?;
        let rest = chars.as_str();
        let id_of = |s: &str| s.parse::<i64>().ok().filter(|id| *id > 0);
        let micros = |s: &str| DateTime::<Utc>::from_timestamp_micros(s.parse().ok()?);
        match letter {
            'n' => Some(Cursor::Newest { id: id_of(rest)? }),
            _ => {
                let (key, id) = rest.split_once('.')?;
                let id = id_of(id)?;
                match letter {
                    's' => Some(Cursor::Severity {
                        severity: *Severity::ALL.get(key.parse::<usize>().ok()?)?,
                        id,
                    }),
                    'd' if key == "-" => Some(Cursor::Due { due: None, id }),
                    'd' => Some(Cursor::Due {
                        due: Some(micros(key)?),
                        id,
                    }),
                    'l' => Some(Cursor::LastSeen {
                        at: micros(key)?,
                        id,
                    }),
                    _ => None,
                }
            }
        }
    }
}

fn rank(severity: Severity) -> usize {
    Severity::ALL
        .iter()
        .position(|s| *s == severity)
        .unwrap_or(0)
}

/// Which page: the first, the one after a row, or the one before a row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Page {
    #[default]
    First,
    After(Cursor),
    Before(Cursor),
}

/// Everything the explorer's URL says, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExplorerQuery {
    /// Sorted, each once; empty = any.
    pub severity: Vec<Severity>,
    pub state: StateFilter,
    pub layer: Vec<Layer>,
    pub project: Option<String>,
    pub team: Option<String>,
    pub assignee: Option<AssigneeFilter>,
    pub scanner: Option<String>,
    pub rule: Option<String>,
    /// Exact package name.
    pub package: Option<String>,
    pub q: Option<String>,
    pub sla: Option<SlaFilter>,
    pub since: Option<NaiveDate>,
    /// A scan's id: its diff, or one part of it (`change`).
    pub scan: Option<i64>,
    /// Only with `scan`.
    pub change: Option<ScanChange>,
    /// Groups instead of rows.
    pub group: Option<GroupBy>,
    pub sort: Sort,
    pub page: Page,
}

/// A URL parameter the explorer cannot use, and why (shown to the person).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

/// The URL keys, in the order [`ExplorerQuery::to_query_string`] writes them.
pub const KEYS: &[&str] = &[
    "severity", "state", "layer", "project", "team", "assignee", "scanner", "rule", "package", "q",
    "sla", "since", "scan", "change", "group", "sort", "after", "before",
];

impl ExplorerQuery {
    /// Parses a URL's query string (without `?`).
    pub fn parse(query: &str) -> Result<ExplorerQuery, QueryError> {
        ExplorerQuery::from_pairs(decode_pairs(query))
    }

    /// From decoded `(key, value)` pairs; repeated keys of lists add up.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<ExplorerQuery, QueryError> {
        let mut q = ExplorerQuery::default();
        let mut states: Vec<String> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in pairs {
            let (key, value) = (key.as_ref(), value.as_ref().trim());
            if !KEYS.contains(&key) {
                return Err(QueryError(format!(
                    "Unknown filter '{}'. The explorer understands: {}.",
                    clip(key),
                    KEYS.join(", ")
                )));
            }
            if value.is_empty() {
                continue;
            }
            let list = matches!(key, "severity" | "layer" | "state");
            if !list && seen.iter().any(|k| k == key) {
                return Err(QueryError(format!("'{key}' is given twice; give it once.")));
            }
            seen.push(key.to_string());
            match key {
                "severity" => {
                    for v in items(value) {
                        q.severity.push(v.parse().map_err(|_| {
                            unknown("severity", v, Severity::ALL.iter().map(|s| s.as_str()))
                        })?);
                    }
                }
                "layer" => {
                    for v in items(value) {
                        q.layer.push(v.parse().map_err(|_| {
                            unknown("layer", v, Layer::ALL.iter().map(|s| s.as_str()))
                        })?);
                    }
                }
                "state" => states.extend(items(value).map(str::to_string)),
                "project" => q.project = Some(slug("project", value)?),
                "team" => q.team = Some(slug("team", value)?),
                "assignee" => {
                    q.assignee = Some(match value {
                        "me" => AssigneeFilter::Me,
                        "none" => AssigneeFilter::Nobody,
                        id => AssigneeFilter::User(
                            id.parse().ok().filter(|id| *id > 0).ok_or_else(|| {
                                QueryError(format!(
                                    "Unknown assignee '{}': use me, none or a person's id.",
                                    clip(id)
                                ))
                            })?,
                        ),
                    })
                }
                "scanner" => q.scanner = Some(text("scanner", value)?),
                "rule" => q.rule = Some(text("rule", value)?),
                "package" => q.package = Some(text("package", value)?),
                "q" => q.q = Some(text("search", value)?),
                "sla" => {
                    q.sla = Some(
                        SlaFilter::ALL
                            .iter()
                            .copied()
                            .find(|s| s.as_str() == value)
                            .ok_or_else(|| {
                                unknown(
                                    "SLA status",
                                    value,
                                    SlaFilter::ALL.iter().map(|s| s.as_str()),
                                )
                            })?,
                    )
                }
                "since" => {
                    q.since = Some(NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
                        QueryError(format!(
                            "'since' must be a date as YYYY-MM-DD, not '{}'.",
                            clip(value)
                        ))
                    })?)
                }
                "scan" => {
                    q.scan = Some(value.parse().ok().filter(|id| *id > 0).ok_or_else(|| {
                        QueryError(format!(
                            "'scan' must be a scan's number (as on a project's scans page), not '{}'.",
                            clip(value)
                        ))
                    })?)
                }
                "change" => {
                    q.change = Some(
                        ScanChange::ALL
                            .iter()
                            .copied()
                            .find(|c| c.as_str() == value)
                            .ok_or_else(|| {
                                unknown(
                                    "change",
                                    value,
                                    ScanChange::ALL.iter().map(|c| c.as_str()),
                                )
                            })?,
                    )
                }
                "group" => {
                    q.group = Some(
                        GroupBy::ALL
                            .iter()
                            .copied()
                            .find(|g| g.as_str() == value)
                            .ok_or_else(|| {
                                unknown("grouping", value, GroupBy::ALL.iter().map(|g| g.as_str()))
                            })?,
                    )
                }
                "sort" => {
                    q.sort = Sort::ALL
                        .iter()
                        .copied()
                        .find(|s| s.as_str() == value)
                        .ok_or_else(|| {
                            unknown("sort", value, Sort::ALL.iter().map(|s| s.as_str()))
                        })?
                }
                "after" | "before" => {
                    if q.page != Page::First {
                        return Err(QueryError("Give 'after' or 'before', not both.".into()));
                    }
                    let cursor = Cursor::parse(value).ok_or_else(|| {
                        QueryError(
                            "This page link is damaged; start again from the first page.".into(),
                        )
                    })?;
                    q.page = if key == "after" {
                        Page::After(cursor)
                    } else {
                        Page::Before(cursor)
                    };
                }
                _ => unreachable!("every key of KEYS is handled"),
            }
        }
        q.severity.sort();
        q.severity.dedup();
        q.layer.sort();
        q.layer.dedup();
        q.state = state_filter(&states)?;
        if q.change.is_some() && q.scan.is_none() {
            return Err(QueryError(
                "'change' needs 'scan': say which scan's new, fixed or reopened findings.".into(),
            ));
        }
        if q.group.is_some() && q.page != Page::First {
            return Err(QueryError(
                "A grouped view has no pages (it shows the top groups); remove 'after' or 'before'."
                    .into(),
            ));
        }
        if let Page::After(c) | Page::Before(c) = q.page
            && c.sort() != q.sort
        {
            return Err(QueryError(
                "This page link belongs to another sort order; start again from the first page."
                    .into(),
            ));
        }
        Ok(q)
    }

    /// The query string (without `?`) that parses back to this query; the default
    /// query is the empty string.
    pub fn to_query_string(&self) -> String {
        let mut out = String::new();
        let mut add = |key: &str, value: &str| {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(key);
            out.push('=');
            out.push_str(&encode(value));
        };
        if !self.severity.is_empty() {
            add("severity", &join(self.severity.iter().map(|s| s.as_str())));
        }
        if let Some(state) = self.state.as_param() {
            add("state", &state);
        }
        if !self.layer.is_empty() {
            add("layer", &join(self.layer.iter().map(|s| s.as_str())));
        }
        for (key, value) in [("project", &self.project), ("team", &self.team)] {
            if let Some(v) = value {
                add(key, v);
            }
        }
        if let Some(a) = self.assignee {
            add(
                "assignee",
                &match a {
                    AssigneeFilter::Me => "me".to_string(),
                    AssigneeFilter::Nobody => "none".to_string(),
                    AssigneeFilter::User(id) => id.to_string(),
                },
            );
        }
        for (key, value) in [
            ("scanner", &self.scanner),
            ("rule", &self.rule),
            ("package", &self.package),
            ("q", &self.q),
        ] {
            if let Some(v) = value {
                add(key, v);
            }
        }
        if let Some(sla) = self.sla {
            add("sla", sla.as_str());
        }
        if let Some(since) = self.since {
            add("since", &since.format("%Y-%m-%d").to_string());
        }
        if let Some(scan) = self.scan {
            add("scan", &scan.to_string());
        }
        if let Some(change) = self.change {
            add("change", change.as_str());
        }
        if let Some(group) = self.group {
            add("group", group.as_str());
        }
        if self.sort != Sort::Newest {
            add("sort", self.sort.as_str());
        }
        match self.page {
            Page::First => {}
            Page::After(c) => add("after", &c.token()),
            Page::Before(c) => add("before", &c.token()),
        }
        out
    }

    /// `/findings` with this query.
    pub fn url(&self) -> String {
        let query = self.to_query_string();
        if query.is_empty() {
            "/findings".into()
        } else {
            format!("/findings?{query}")
        }
    }

    /// The same filters and sort, on the first page.
    pub fn first_page(&self) -> ExplorerQuery {
        ExplorerQuery {
            page: Page::First,
            ..self.clone()
        }
    }

    /// The filters without paging or sort: what a total, a selection or an export covers.
    pub fn filters_only(&self) -> ExplorerQuery {
        ExplorerQuery {
            page: Page::First,
            sort: Sort::Newest,
            ..self.clone()
        }
    }

    /// The states the filters select: [`ExplorerQuery::state`], except that a scan's diff
    /// (`scan`) without a `state` is every state (what a scan fixed is closed).
    pub fn effective_state(&self) -> StateFilter {
        match (&self.state, self.scan) {
            (StateFilter::NotClosed, Some(_)) => StateFilter::All,
            (state, _) => state.clone(),
        }
    }

    /// Whether any filter narrows the list (beyond the default state).
    pub fn is_filtered(&self) -> bool {
        self.filters_only() != ExplorerQuery::default()
    }

    /// The active filters as chips: a label and the URL without that one value (first page).
    pub fn chips(&self) -> Vec<(String, String)> {
        let base = self.first_page();
        let mut chips = Vec::new();
        for s in &self.severity {
            let mut q = base.clone();
            q.severity.retain(|x| x != s);
            chips.push((format!("Severity: {}", s.label()), q.url()));
        }
        if self.state != StateFilter::NotClosed {
            let q = ExplorerQuery {
                state: StateFilter::NotClosed,
                ..base.clone()
            };
            chips.push((format!("State: {}", self.state.label()), q.url()));
        }
        for l in &self.layer {
            let mut q = base.clone();
            q.layer.retain(|x| x != l);
            chips.push((format!("Layer: {}", l.label()), q.url()));
        }
        let mut one = |label: String, clear: fn(&mut ExplorerQuery)| {
            let mut q = base.clone();
            clear(&mut q);
            chips.push((label, q.url()));
        };
        if let Some(p) = &self.project {
            one(format!("Project: {p}"), |q| q.project = None);
        }
        if let Some(t) = &self.team {
            let label = if t == "none" {
                "No team".to_string()
            } else {
                format!("Team: {t}")
            };
            one(label, |q| q.team = None);
        }
        if let Some(a) = self.assignee {
            let label = match a {
                AssigneeFilter::Me => "Assigned to me".to_string(),
                AssigneeFilter::Nobody => "Unassigned".to_string(),
                AssigneeFilter::User(id) => format!("Assigned to person #{id}"),
            };
            one(label, |q| q.assignee = None);
        }
        if let Some(s) = &self.scanner {
            one(format!("Scanner: {s}"), |q| q.scanner = None);
        }
        if let Some(r) = &self.rule {
            one(format!("Rule: {r}"), |q| q.rule = None);
        }
        if let Some(p) = &self.package {
            one(format!("Package: {p}"), |q| q.package = None);
        }
        if let Some(t) = &self.q {
            one(format!("Search: {t}"), |q| q.q = None);
        }
        if let Some(s) = self.sla {
            one(s.label().to_string(), |q| q.sla = None);
        }
        if let Some(d) = self.since {
            one(format!("First seen since {d}"), |q| q.since = None);
        }
        if let Some(scan) = self.scan {
            one(format!("Scan #{scan}"), |q| {
                q.scan = None;
                q.change = None;
            });
        }
        if let Some(c) = self.change {
            one(c.label().to_string(), |q| q.change = None);
        }
        if let Some(g) = self.group {
            let label = match g {
                GroupBy::Rule => "Grouped by rule or CVE",
                GroupBy::Package => "Grouped by package",
            };
            one(label.to_string(), |q| q.group = None);
        }
        chips
    }
}

fn state_filter(values: &[String]) -> Result<StateFilter, QueryError> {
    match values {
        [] => Ok(StateFilter::NotClosed),
        [one] if one == "active" => Ok(StateFilter::Active),
        [one] if one == "closed" => Ok(StateFilter::Closed),
        [one] if one == "all" => Ok(StateFilter::All),
        many => {
            let mut states = Vec::new();
            for v in many {
                if matches!(v.as_str(), "active" | "closed" | "all") {
                    return Err(QueryError(format!(
                        "state={v} cannot be combined with other states."
                    )));
                }
                states.push(v.parse::<FindingState>().map_err(|_| {
                    unknown(
                        "state",
                        v,
                        ["active", "closed", "all"]
                            .into_iter()
                            .chain(FindingState::ALL.iter().map(|s| s.as_str())),
                    )
                })?);
            }
            states.sort();
            states.dedup();
            Ok(StateFilter::Only(states))
        }
    }
}

fn items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty())
}

fn join<'a>(values: impl Iterator<Item = &'a str>) -> String {
    values.collect::<Vec<_>>().join(",")
}

fn clip(value: &str) -> String {
    value.chars().take(40).collect()
}

fn unknown<'a>(what: &str, value: &str, known: impl Iterator<Item = &'a str>) -> QueryError {
    QueryError(format!(
        "Unknown {what} '{}'. Use one of: {}.",
        clip(value),
        known.collect::<Vec<_>>().join(", ")
    ))
}

fn slug(what: &str, value: &str) -> Result<String, QueryError> {
    let value = value.to_ascii_lowercase();
    if crate::domain::Slug::is_valid(&value) {
        Ok(value)
    } else {
        Err(QueryError(format!(
            "'{}' is not a {what} name: names are lowercase letters, digits and dashes.",
            clip(&value)
        )))
    }
}

fn text(what: &str, value: &str) -> Result<String, QueryError> {
    if value.chars().count() > TEXT_MAX || value.contains('\0') {
        return Err(QueryError(format!(
            "The {what} text is too long (at most {TEXT_MAX} characters)."
        )));
    }
    Ok(value.to_string())
}

/// Percent-encodes a query value (everything but unreserved characters and `,`).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Splits and decodes a query string (`+` is a space, `%XX` a byte; bad escapes are kept).
pub fn decode_pairs(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The instant a `since` date starts (00:00 UTC).
pub fn day_start(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// What the explorer answers for one page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExplorerPage {
    pub rows: Vec<crate::domain::FindingSummary>,
    /// Findings matching the filters: exact, or (when `bounded`) more than [`COUNT_LIMIT`].
    pub total: i64,
    /// Counting stopped at [`COUNT_LIMIT`]: the filters are not among those the maintained
    /// counts are kept by, and there were more.
    pub bounded: bool,
    /// The next / previous page's query string, when there is one.
    pub next: Option<String>,
    pub prev: Option<String>,
}

impl ExplorerPage {
    /// "1,234 findings", "10,000+ findings", "1 finding".
    pub fn total_label(&self) -> String {
        total_label(self.total, self.bounded)
    }
}

/// "1,234 findings", "1 finding", or "10,000+ findings" for a count that stopped there.
pub fn total_label(total: i64, bounded: bool) -> String {
    if bounded {
        format!("{}+ findings", thousands(COUNT_LIMIT))
    } else {
        format!(
            "{} finding{}",
            thousands(total),
            if total == 1 { "" } else { "s" }
        )
    }
}

/// 12345 → "12,345".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_empty_query() {
        let q = ExplorerQuery::parse("").unwrap();
        assert_eq!(q, ExplorerQuery::default());
        assert_eq!(q.to_query_string(), "");
        assert_eq!(q.url(), "/findings");
        assert_eq!(q.state, StateFilter::NotClosed);
        assert_eq!(q.sort, Sort::Newest);
    }

    #[test]
    fn every_parameter_round_trips_through_the_url() {
        let cursor = Cursor::Due {
            due: Some(DateTime::from_timestamp_micros(1_767_225_600_123_456).unwrap()),
            id: 42,
        };
        let q = ExplorerQuery {
            severity: vec![Severity::Critical, Severity::High],
            state: StateFilter::Only(vec![FindingState::Open, FindingState::RiskAccepted]),
            layer: vec![Layer::Image, Layer::Secret],
            project: Some("web".into()),
            team: Some("shop".into()),
            assignee: Some(AssigneeFilter::User(7)),
            scanner: Some("trivy".into()),
            rule: Some("CVE-2024-1234".into()),
            package: Some("@scope/left-pad".into()),
            q: Some("log4j & friends, 100% \"fun\"+é".into()),
            sla: Some(SlaFilter::DueSoon),
            since: Some(NaiveDate::from_ymd_opt(2026, 1, 31).unwrap()),
            scan: Some(12),
            change: Some(ScanChange::Reopened),
            group: None,
            sort: Sort::Due,
            page: Page::After(cursor),
        };
        let text = q.to_query_string();
        assert_eq!(ExplorerQuery::parse(&text).unwrap(), q, "{text}");
        for state in [StateFilter::Active, StateFilter::Closed, StateFilter::All] {
            let q = ExplorerQuery {
                state,
                ..ExplorerQuery::default()
            };
            assert_eq!(ExplorerQuery::parse(&q.to_query_string()).unwrap(), q);
        }
        for cursor in [
            Cursor::Newest { id: 9 },
            Cursor::Severity {
                severity: Severity::Low,
                id: 3,
            },
            Cursor::Due { due: None, id: 5 },
            Cursor::LastSeen {
                at: DateTime::from_timestamp_micros(1).unwrap(),
                id: 1,
            },
        ] {
            let q = ExplorerQuery {
                sort: cursor.sort(),
                page: Page::Before(cursor),
                ..ExplorerQuery::default()
            };
            assert_eq!(ExplorerQuery::parse(&q.to_query_string()).unwrap(), q);
        }
        for a in [AssigneeFilter::Me, AssigneeFilter::Nobody] {
            let q = ExplorerQuery {
                assignee: Some(a),
                ..ExplorerQuery::default()
            };
            assert_eq!(ExplorerQuery::parse(&q.to_query_string()).unwrap(), q);
        }
    }

    #[test]
    fn the_overview_link_means_what_it_says() {
        let q = ExplorerQuery::parse("severity=critical&layer=image&state=active").unwrap();
        assert_eq!(q.severity, vec![Severity::Critical]);
        assert_eq!(q.layer, vec![Layer::Image]);
        assert_eq!(q.state, StateFilter::Active);
        assert_eq!(
            q.to_query_string(),
            "severity=critical&state=active&layer=image"
        );
    }

    #[test]
    fn form_fields_repeat_keys_and_send_empty_values() {
        let q = ExplorerQuery::parse(
            "severity=high&severity=critical&project=&team=&q=&layer=secret,image&sort=newest",
        )
        .unwrap();
        assert_eq!(q.severity, vec![Severity::Critical, Severity::High]);
        assert_eq!(q.layer, vec![Layer::Image, Layer::Secret]);
        assert_eq!(q.project, None);
        assert_eq!(
            q.to_query_string(),
            "severity=critical,high&layer=image,secret"
        );
        let q = ExplorerQuery::parse("q=stripe+key&rule=CVE-2021-44228").unwrap();
        assert_eq!(q.q.as_deref(), Some("stripe key"));
    }

    #[test]
    fn unknown_values_are_named_not_ignored() {
        let err = |s: &str| ExplorerQuery::parse(s).unwrap_err().0;
        assert!(err("severity=urgent").contains("Unknown severity 'urgent'"));
        assert!(err("severity=urgent").contains("critical, high"));
        assert!(err("state=done").contains("Unknown state 'done'"));
        assert!(err("state=active,open").contains("cannot be combined"));
        assert!(err("layer=network").contains("Unknown layer 'network'"));
        assert!(err("colour=red").contains("Unknown filter 'colour'"));
        assert!(err("assignee=bob").contains("Unknown assignee 'bob'"));
        assert!(err("sla=late").contains("Unknown SLA status 'late'"));
        assert!(err("since=yesterday").contains("YYYY-MM-DD"));
        assert!(err("sort=random").contains("Unknown sort 'random'"));
        assert!(err("project=Web Shop").contains("not a project name"));
        assert!(err("after=zzz").contains("damaged"));
        assert!(err("after=n5&before=n9").contains("not both"));
        assert!(err("sort=due&after=n5").contains("another sort"));
        assert!(err("project=a&project=b").contains("twice"));
        assert!(err(&format!("q={}", "x".repeat(201))).contains("too long"));
    }

    #[test]
    fn chips_remove_one_value_each_and_go_back_to_the_first_page() {
        let q = ExplorerQuery::parse("severity=critical,high&q=key&after=n10").unwrap();
        let chips = q.chips();
        assert_eq!(
            chips,
            vec![
                (
                    "Severity: Critical".into(),
                    "/findings?severity=high&q=key".into()
                ),
                (
                    "Severity: High".into(),
                    "/findings?severity=critical&q=key".into()
                ),
                (
                    "Search: key".into(),
                    "/findings?severity=critical,high".into()
                ),
            ]
        );
    }

    #[test]
    fn a_scans_diff_and_groups_are_in_the_url() {
        let q = ExplorerQuery::parse("scan=42&change=fixed").unwrap();
        assert_eq!((q.scan, q.change), (Some(42), Some(ScanChange::Fixed)));
        // what a scan fixed is closed: no state given means every state
        assert_eq!(q.state, StateFilter::NotClosed);
        assert_eq!(q.effective_state(), StateFilter::All);
        assert_eq!(q.to_query_string(), "scan=42&change=fixed");
        let q = ExplorerQuery::parse("scan=42&state=active").unwrap();
        assert_eq!(q.effective_state(), StateFilter::Active);
        assert_eq!(
            ExplorerQuery::parse("").unwrap().effective_state(),
            StateFilter::NotClosed
        );
        for g in GroupBy::ALL {
            let q = ExplorerQuery {
                group: Some(*g),
                package: Some("openssl".into()),
                sort: Sort::Severity,
                ..ExplorerQuery::default()
            };
            assert_eq!(ExplorerQuery::parse(&q.to_query_string()).unwrap(), q);
        }
        let chips = ExplorerQuery::parse("scan=7&change=new&group=package")
            .unwrap()
            .chips();
        assert_eq!(
            chips,
            vec![
                ("Scan #7".into(), "/findings?group=package".into()),
                (
                    "New in the scan".into(),
                    "/findings?scan=7&group=package".into()
                ),
                (
                    "Grouped by package".into(),
                    "/findings?scan=7&change=new".into()
                ),
            ]
        );
        let err = |s: &str| ExplorerQuery::parse(s).unwrap_err().0;
        assert!(err("scan=abc").contains("'scan' must be a scan's number"));
        assert!(err("scan=0").contains("'scan' must be a scan's number"));
        assert!(err("scan=1&change=gone").contains("Unknown change 'gone'"));
        assert!(err("change=new").contains("needs 'scan'"));
        assert!(err("group=team").contains("Unknown grouping 'team'"));
        assert!(err("group=rule&after=n5").contains("no pages"));
        assert!(err("scan=1&scan=2").contains("twice"));
    }

    #[test]
    fn cursors_are_tokens_that_parse_back() {
        for bad in [
            "", "n", "n0", "n-1", "x5", "s9.1", "s1", "d.1", "dabc.1", "l1.x",
        ] {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
        assert_eq!(Cursor::parse("n17"), Some(Cursor::Newest { id: 17 }));
        assert_eq!(
            Cursor::parse("s0.3"),
            Some(Cursor::Severity {
                severity: Severity::Critical,
                id: 3
            })
        );
    }

    #[test]
    fn totals_read_well() {
        assert_eq!(total_label(0, false), "0 findings");
        assert_eq!(total_label(1, false), "1 finding");
        assert_eq!(total_label(1234, false), "1,234 findings");
        assert_eq!(total_label(10_000, false), "10,000 findings");
        assert_eq!(total_label(523_114, false), "523,114 findings");
        assert_eq!(total_label(10_001, true), "10,000+ findings");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn decoding_handles_escapes_and_bad_ones() {
        assert_eq!(
            decode_pairs("a=%41%2c+b&c=100%&d"),
            vec![
                ("a".into(), "A, b".into()),
                ("c".into(), "100%".into()),
                ("d".into(), "".into())
            ]
        );
        assert_eq!(decode("%E2%9C%93"), "✓");
        assert_eq!(encode("a b&c=✓"), "a%20b%26c%3D%E2%9C%93");
    }
}
