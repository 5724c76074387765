//! The audit trail: one append-only row a change, in the same transaction as the change, so
//! the trail never says what did not happen nor misses what did (docs/glossary.md "audit").
//!
//! [`record`] writes one event. Operations on many findings at once (bulk triage, a scan's
//! closing and reopening, risk-acceptance expiry) write their events in the same statement as
//! the change instead, as `INSERT … SELECT` over the changed rows: one statement whatever the
//! count. Those statements name the same columns this module does.

#[cfg(feature = "ssr")]
pub use db::record;

/// One change, about to be appended to the trail. `before` and `after` hold the changed
/// fields only, never a secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Event<'a> {
    /// Who did it: a person, or `None` from the command line or a background job.
    pub actor_user_id: Option<i64>,
    /// The project the change belongs to, when it belongs to one (the project's trail).
    pub project_id: Option<i64>,
    pub subject_type: &'a str,
    pub subject_id: i64,
    pub action: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    /// Why, in the actor's words.
    pub reason: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// `action` done to the `subject_type` with id `subject_id`, by nobody yet.
    pub fn new(subject_type: &'a str, subject_id: i64, action: &'a str) -> Event<'a> {
        Event {
            actor_user_id: None,
            project_id: None,
            subject_type,
            subject_id,
            action,
            before: None,
            after: None,
            reason: None,
        }
    }

    pub fn by(self, actor_user_id: Option<i64>) -> Event<'a> {
        Event {
            actor_user_id,
            ..self
        }
    }

    pub fn in_project(self, project_id: Option<i64>) -> Event<'a> {
        Event { project_id, ..self }
    }

    pub fn before(self, before: impl Into<Option<serde_json::Value>>) -> Event<'a> {
        Event {
            before: before.into(),
            ..self
        }
    }

    pub fn after(self, after: impl Into<Option<serde_json::Value>>) -> Event<'a> {
        Event {
            after: after.into(),
            ..self
        }
    }

    pub fn because(self, reason: Option<&'a str>) -> Event<'a> {
        Event { reason, ..self }
    }
}

#[cfg(feature = "ssr")]
mod db {
    use sqlx::PgConnection;

    use super::Event;

    /// Appends `event` to the trail, on the caller's transaction.
    pub async fn record(conn: &mut PgConnection, event: Event<'_>) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "INSERT INTO audit_events (actor_user_id, project_id, subject_type, subject_id,
                                       action, before, after, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            event.actor_user_id,
            event.project_id,
            event.subject_type,
            event.subject_id,
            event.action,
            event.before,
            event.after,
            event.reason,
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Event;
    use serde_json::json;

    #[test]
    fn an_event_carries_what_each_step_set_and_nothing_else() {
        let event = Event::new("team", 7, "created")
            .by(Some(3))
            .after(json!({ "slug": "shop" }));
        assert_eq!(event.actor_user_id, Some(3));
        assert_eq!((event.subject_type, event.subject_id), ("team", 7));
        assert_eq!(event.after, Some(json!({ "slug": "shop" })));
        assert_eq!(
            (event.project_id, event.before, event.reason),
            (None, None, None)
        );
        let why = Event::new("ingest_token", 1, "revoked")
            .in_project(Some(9))
            .because(Some("leaked"));
        assert_eq!((why.project_id, why.reason), (Some(9), Some("leaked")));
    }
}
