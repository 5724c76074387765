//! What one scan changed, as an explorer filter (`/findings?scan=<id>&change=new|fixed|reopened`,
//! see [`crate::explorer`]) and the links to it from a project's scans page.
//!
//! Where each part comes from:
//! - **new**: `findings.first_scan_id` (ingest writes the id of the scan that inserted the
//!   finding; it never changes);
//! - **fixed** / **reopened**: the audit events ingest writes in the scan's transaction,
//!   one per finding, subject `finding`, action `fixed_by_scan` / `reopened_by_scan`, with
//!   the scan's id in `audit_events.scan_id` (`server/src/ingest/store/reconcile.rs`);
//!   the event rows are never updated or deleted, so a finding fixed by a scan stays in
//!   that scan's diff whatever happens to it later.
//!
//! Their counts are the scan's own (`scans.findings_new`, `findings_fixed`,
//! `findings_reopened`), as long as no `state` narrows the view. What a scan reported
//! *unchanged* is not kept per scan (`findings.last_scan_id` is the last scan that changed
//! a finding, and an unchanged finding is not rewritten), so "everything scan N reported"
//! is not offered: its total is shown, not linked.
//!
//! At a million findings: the filter always reads one project (the scan's), and both
//! lookups are indexes, `findings (first_scan_id)` and `audit_events (scan_id)` (migration
//! 20261206000029; see its header for what they cost).

use crate::explorer::{ExplorerQuery, ScanChange, StateFilter};

/// The explorer's view of scan `scan`'s `change` (all three when `None`), in every state.
pub fn explorer_url(scan: i64, change: Option<ScanChange>) -> String {
    ExplorerQuery {
        scan: Some(scan),
        change,
        state: StateFilter::NotClosed,
        ..ExplorerQuery::default()
    }
    .url()
}

#[cfg(feature = "ssr")]
pub mod db {
    use sqlx::{PgPool, Postgres, QueryBuilder};

    use crate::error::AppError;
    use crate::explorer::ScanChange;

    /// The audit actions of what a scan closed and reopened (written by ingest).
    pub const FIXED_BY_SCAN: &str = "fixed_by_scan";
    pub const REOPENED_BY_SCAN: &str = "reopened_by_scan";

    /// The project of scan `scan` when `user_id` may see it; otherwise not found, in the
    /// words of a missing project (so an id does not tell whether another team's scan exists).
    pub async fn project_of(pool: &PgPool, user_id: i64, scan: i64) -> Result<i64, AppError> {
        let visible = crate::access::db::project_visible_to("$1");
        sqlx::query_scalar::<_, i64>(&format!(
            "SELECT p.id FROM scans s JOIN projects p ON p.id = s.project_id
              WHERE s.id = $2 AND {visible}"
        ))
        .bind(user_id)
        .bind(scan)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| AppError::not_found(format!("No scan #{scan} that you can see.")))
    }

    /// The condition (starting with ` AND`) on `findings f` of scan `scan`'s `change`, or of
    /// its whole diff.
    pub fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, scan: i64, change: Option<ScanChange>) {
        match change {
            Some(ScanChange::New) => {
                qb.push(" AND f.first_scan_id = ").push_bind(scan);
            }
            Some(ScanChange::Fixed) => {
                qb.push(" AND f.id IN (");
                push_events(qb, scan, &[FIXED_BY_SCAN]);
                qb.push(")");
            }
            Some(ScanChange::Reopened) => {
                qb.push(" AND f.id IN (");
                push_events(qb, scan, &[REOPENED_BY_SCAN]);
                qb.push(")");
            }
            // one list of ids from both indexes (an OR of the two would read the project)
            None => {
                qb.push(" AND f.id IN (SELECT n.id FROM findings n WHERE n.first_scan_id = ")
                    .push_bind(scan)
                    .push(" UNION ALL ");
                push_events(qb, scan, &[FIXED_BY_SCAN, REOPENED_BY_SCAN]);
                qb.push(")");
            }
        }
    }

    /// The ids of the findings scan `scan` wrote an audit event of one of `actions` about.
    fn push_events(qb: &mut QueryBuilder<'_, Postgres>, scan: i64, actions: &[&str]) {
        // fixed names, never from the URL
        let actions = actions
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(", ");
        qb.push("SELECT e.subject_id FROM audit_events e WHERE e.scan_id = ")
            .push_bind(scan)
            .push(format!(
                " AND e.subject_type = 'finding' AND e.action IN ({actions})"
            ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_the_scan_and_its_change_only() {
        assert_eq!(
            explorer_url(5, Some(ScanChange::Fixed)),
            "/findings?scan=5&change=fixed"
        );
        assert_eq!(explorer_url(5, None), "/findings?scan=5");
        let q = ExplorerQuery::parse("scan=5&change=reopened").unwrap();
        assert_eq!(q.effective_state(), StateFilter::All);
    }
}
