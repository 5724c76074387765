//! A finding's timeline: its audit events in words, each change with its from and to
//! ("changed the severity from high to low", "assigned it to ana@… (was team shop)"), a
//! risk acceptance with its expiry, and the scan that fixed or reopened it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: chrono::DateTime<chrono::Utc>,
    /// A person's email, or "Bosun" for scans and background jobs.
    pub actor: String,
    /// The scan that did it, for a link to the project's scan history.
    pub scan_id: Option<i64>,
    pub what: String,
    pub reason: Option<String>,
}

/// One audit event of a finding, with the people and teams its ids name.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct EventRow {
    pub action: String,
    /// `state`, `severity` and `risk_accepted_until` of the change, before and after.
    pub before_state: Option<String>,
    pub after_state: Option<String>,
    pub before_severity: Option<String>,
    pub after_severity: Option<String>,
    pub until: Option<String>,
    /// The assignment before and after: a person's email and a team's slug.
    pub before_user: Option<String>,
    pub before_team: Option<String>,
    pub after_user: Option<String>,
    pub after_team: Option<String>,
}

fn words(value: &Option<String>) -> String {
    value.as_deref().unwrap_or("?").replace('_', " ")
}

/// An assignment change in words: the person, then the team, each only when it changed.
fn assignment(
    before_user: &Option<String>,
    before_team: &Option<String>,
    after_user: &Option<String>,
    after_team: &Option<String>,
) -> String {
    let mut parts = Vec::new();
    match (before_user, after_user) {
        (b, a) if b == a => {}
        (None, Some(a)) => parts.push(format!("assigned it to {a}")),
        (Some(b), Some(a)) => parts.push(format!("assigned it to {a} (was {b})")),
        (Some(b), None) => parts.push(format!("unassigned {b}")),
        (None, None) => {}
    }
    match (before_team, after_team) {
        (b, a) if b == a => {}
        (None, Some(a)) => parts.push(format!("gave it to team {a}")),
        (Some(b), Some(a)) => parts.push(format!("gave it to team {a} (was team {b})")),
        (Some(b), None) => parts.push(format!("took it from team {b}")),
        (None, None) => {}
    }
    if parts.is_empty() {
        "changed the assignment".to_string()
    } else {
        parts.join("; ")
    }
}

/// A date as the timeline shows it: `2026-12-31` from a stored timestamp.
fn day(value: &Option<String>) -> String {
    value
        .as_deref()
        .map(|v| v.chars().take(10).collect())
        .unwrap_or_default()
}

impl EventRow {
    /// What happened, in words, after the actor's name.
    pub fn describe(&self) -> String {
        match self.action.as_str() {
            "state_changed" => {
                let mut what = format!(
                    "moved it from {} to {}",
                    words(&self.before_state),
                    words(&self.after_state)
                );
                if self.after_state.as_deref() == Some("risk_accepted") && self.until.is_some() {
                    what.push_str(&format!(" until {}", day(&self.until)));
                }
                what
            }
            "severity_changed" => format!(
                "changed the severity from {} to {}",
                words(&self.before_severity),
                words(&self.after_severity)
            ),
            "assigned" => assignment(
                &self.before_user,
                &self.before_team,
                &self.after_user,
                &self.after_team,
            ),
            "fixed_by_scan" => "fixed (no longer reported by the scan)".to_string(),
            "reopened_by_scan" => "reopened (reported again)".to_string(),
            "fix_verified_by_scan" => "verified the fix".to_string(),
            "risk_acceptance_expired" => format!(
                "reopened: the risk acceptance expired{}",
                self.until
                    .as_ref()
                    .map(|_| format!(" on {}", day(&self.until)))
                    .unwrap_or_default()
            ),
            "commented" => "commented".to_string(),
            other => other.replace('_', " "),
        }
    }
}

#[cfg(feature = "ssr")]
pub mod db {
    use sqlx::PgPool;

    use super::{EventRow, TimelineEntry};

    /// Events shown at most; a finding's trail rarely comes near.
    pub const SHOWN: i64 = 500;

    #[derive(sqlx::FromRow)]
    struct Row {
        at: chrono::DateTime<chrono::Utc>,
        actor: Option<String>,
        scan_id: Option<i64>,
        reason: Option<String>,
        #[sqlx(flatten)]
        event: EventRow,
    }

    /// The finding's events, oldest first.
    pub async fn of_finding(pool: &PgPool, id: i64) -> Result<Vec<TimelineEntry>, sqlx::Error> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT e.at, u.email AS actor, e.scan_id, e.reason, e.action,
                    e.before->>'state' AS before_state, e.after->>'state' AS after_state,
                    e.before->>'severity' AS before_severity, e.after->>'severity' AS after_severity,
                    coalesce(e.after->>'risk_accepted_until', e.before->>'risk_accepted_until') AS until,
                    bu.email AS before_user, bt.slug AS before_team,
                    au.email AS after_user, att.slug AS after_team
               FROM audit_events e
               LEFT JOIN users u ON u.id = e.actor_user_id
               LEFT JOIN users bu ON e.action = 'assigned' AND bu.id = (e.before->>'user_id')::int8
               LEFT JOIN teams bt ON e.action = 'assigned' AND bt.id = (e.before->>'team_id')::int8
               LEFT JOIN users au ON e.action = 'assigned' AND au.id = (e.after->>'user_id')::int8
               LEFT JOIN teams att ON e.action = 'assigned' AND att.id = (e.after->>'team_id')::int8
              WHERE e.subject_type = 'finding' AND e.subject_id = $1
              ORDER BY e.at, e.id
              LIMIT $2",
        )
        .bind(id)
        .bind(SHOWN)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| TimelineEntry {
                at: row.at,
                actor: row.actor.unwrap_or_else(|| "Bosun".to_string()),
                scan_id: row.scan_id,
                what: row.event.describe(),
                reason: row.reason,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn every_change_says_from_and_to() {
        let severity = EventRow {
            action: "severity_changed".into(),
            before_severity: some("high"),
            after_severity: some("low"),
            ..EventRow::default()
        };
        assert_eq!(severity.describe(), "changed the severity from high to low");
        let accepted = EventRow {
            action: "state_changed".into(),
            before_state: some("in_progress"),
            after_state: some("risk_accepted"),
            until: some("2027-03-01T00:00:00+00:00"),
            ..EventRow::default()
        };
        assert_eq!(
            accepted.describe(),
            "moved it from in progress to risk accepted until 2027-03-01"
        );
        let expired = EventRow {
            action: "risk_acceptance_expired".into(),
            until: some("2027-03-01T00:00:00+00:00"),
            ..EventRow::default()
        };
        assert_eq!(
            expired.describe(),
            "reopened: the risk acceptance expired on 2027-03-01"
        );
    }

    #[test]
    fn assignments_name_who_before_and_after() {
        let event = |bu: Option<String>,
                     bt: Option<String>,
                     au: Option<String>,
                     at: Option<String>| EventRow {
            action: "assigned".into(),
            before_user: bu,
            before_team: bt,
            after_user: au,
            after_team: at,
            ..EventRow::default()
        };
        assert_eq!(
            event(None, None, some("ana@example.com"), some("shop")).describe(),
            "assigned it to ana@example.com; gave it to team shop"
        );
        assert_eq!(
            event(None, some("shop"), some("ana@example.com"), some("shop")).describe(),
            "assigned it to ana@example.com"
        );
        assert_eq!(
            event(
                some("ana@example.com"),
                some("shop"),
                some("bo@example.com"),
                some("data")
            )
            .describe(),
            "assigned it to bo@example.com (was ana@example.com); gave it to team data (was team shop)"
        );
        assert_eq!(
            event(some("ana@example.com"), some("shop"), None, None).describe(),
            "unassigned ana@example.com; took it from team shop"
        );
    }
}
