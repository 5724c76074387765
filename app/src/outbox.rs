//! The notification outbox (docs/glossary.md "notification", "outbox"): the rows saying who must hear
//! of a change, written by the change's own store function in its own transaction. The mail
//! worker (issue 16) reads the unsent rows, re-checks that each recipient may still see the
//! finding, coalesces bursts and sends; until then the rows wait.
//!
//! Store functions change many findings in one statement, so they queue in that statement
//! too (`INSERT … SELECT` over the audit events they wrote), through [`QUEUE`]:
//! - [`Kind::Assigned`]: the new assignee person (unless they assigned themselves) and team,
//!   when they changed (`assignment::db::set`);
//! - [`Kind::Mentioned`]: each person who may see the finding, and each team, @mentioned in
//!   a comment by someone else (`comments::db::insert`);
//! - [`Kind::RiskAccepted`]: the finding's assignee person (unless they accepted it) and
//!   team (`triage::db::set_states`).

/// Why someone is notified; the `kind` column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Assigned,
    Mentioned,
    RiskAccepted,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Assigned => "assigned",
            Kind::Mentioned => "mentioned",
            Kind::RiskAccepted => "risk_accepted",
        }
    }
}

/// The head of every statement that queues notifications; the `SELECT` after it gives, in
/// order: kind, recipient person, recipient team (one of the two), actor, the audit event
/// that says what changed, project, finding.
pub const QUEUE: &str =
    "INSERT INTO notification_outbox (kind, recipient_user_id, recipient_team_id,
                                         actor_user_id, audit_event_id, project_id, finding_id)";

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn kinds_are_the_names_the_schema_allows() {
        let schema = include_str!("../../migrations/20261206000024_notification_outbox.sql");
        for kind in [Kind::Assigned, Kind::Mentioned, Kind::RiskAccepted] {
            assert!(schema.contains(&format!("'{}'", kind.as_str())), "{kind:?}");
        }
    }
}
