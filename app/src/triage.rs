//! Triage: people moving a finding through its workflow. Every change is checked against
//! the person's role on the finding's project (see `access` and `workflow`) and written with
//! its audit event in one transaction.

use leptos::prelude::*;

use crate::error::AppError;

use crate::domain::FindingState;

/// Longest reason or justification kept.
pub const REASON_MAX: usize = 4_000;

/// Moves a finding to another state. Accepting a risk needs a justification and an expiry
/// (`risk_accepted_until`, RFC 3339, in the future); other moves take an optional reason.
#[server(endpoint = "change_state")]
pub async fn change_state(
    finding_id: i64,
    to: FindingState,
    reason: Option<String>,
    risk_accepted_until: Option<String>,
) -> Result<FindingState, AppError> {
    // the move itself decides what the role needs (transition below); seeing it is the floor
    let finding =
        crate::access::require_on_finding(finding_id, crate::workflow::Action::View).await?;
    let (user, from, role) = (finding.user, finding.state, finding.role);
    let ctx = crate::server_context::server_context()?;
    if let Err(refused) = crate::workflow::transition(from, to, role, false) {
        let message = capitalised(&refused.to_string());
        return Err(if refused.is_forbidden() {
            crate::access::log_denied(user.id, to.as_str(), &format!("finding {finding_id}"));
            AppError::forbidden(message)
        } else {
            AppError::conflict(message)
        });
    }
    let (reason, until) = checked_move(to, reason, risk_accepted_until)?;
    let changed = db::set_states(
        &ctx.pool,
        &[(finding_id, from)],
        to,
        until,
        reason.as_deref(),
        user.id,
    )
    .await?;
    if changed.is_empty() {
        return Err(AppError::conflict(
            "The finding changed meanwhile; reload it and try again.",
        ));
    }
    Ok(to)
}

/// Overrides a finding's severity (security engineers and admins, with a reason). The
/// scanner's own severity stays recorded and visible; later scans keep the override.
#[server(endpoint = "override_severity")]
pub async fn override_severity(
    finding_id: i64,
    severity: crate::domain::Severity,
    reason: String,
) -> Result<(), AppError> {
    let user =
        crate::access::require_on_finding(finding_id, crate::workflow::Action::ChangeSeverity)
            .await?
            .user;
    let ctx = crate::server_context::server_context()?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > REASON_MAX {
        return Err(AppError::invalid(
            "Changing a severity needs a reason (up to 4000 characters).",
        ));
    }
    db::set_severity(&ctx.pool, finding_id, severity, reason, user.id).await?;
    Ok(())
}

/// The reason and risk-acceptance expiry of a move to `to`, checked: a reason is optional
/// but bounded; accepting a risk needs a justification and an expiry in the future.
#[cfg(feature = "ssr")]
pub fn checked_move(
    to: FindingState,
    reason: Option<String>,
    risk_accepted_until: Option<String>,
) -> Result<(Option<String>, Option<chrono::DateTime<chrono::Utc>>), AppError> {
    let reason = reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > REASON_MAX)
    {
        return Err(AppError::invalid(format!(
            "The reason is longer than {REASON_MAX} characters."
        )));
    }
    if to != FindingState::RiskAccepted {
        return Ok((reason, None));
    }
    let Some(text) = risk_accepted_until
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Err(AppError::invalid("Accepting a risk needs an expiry date."));
    };
    let until = parse_expiry(text).ok_or_else(|| {
        AppError::invalid("The expiry is not a date (YYYY-MM-DD) or date and time (RFC 3339).")
    })?;
    if until <= chrono::Utc::now() {
        return Err(AppError::invalid("The expiry must be in the future."));
    }
    if reason.is_none() {
        return Err(AppError::invalid("Accepting a risk needs a justification."));
    }
    Ok((reason, Some(until)))
}

/// An expiry as a browser's date field sends it (the end of that day, UTC) or RFC 3339.
#[cfg(feature = "ssr")]
fn parse_expiry(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&chrono::Utc));
    }
    let day = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(23, 59, 59)?.and_utc())
}

#[cfg(feature = "ssr")]
pub fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

#[cfg(feature = "ssr")]
pub mod db {
    use chrono::{DateTime, Utc};
    use sqlx::PgPool;

    use crate::domain::FindingState;

    /// The slug of the finding's project and its current state.
    pub async fn finding_project(
        pool: &PgPool,
        finding_id: i64,
    ) -> Result<Option<(String, FindingState)>, sqlx::Error> {
        Ok(sqlx::query!(
            r#"SELECT p.slug, f.state AS "state: FindingState"
                 FROM findings f JOIN projects p ON p.id = f.project_id
                WHERE f.id = $1"#,
            finding_id,
        )
        .fetch_optional(pool)
        .await?
        .map(|r| (r.slug, r.state)))
    }

    /// Sets a person's severity on a finding, keeping the scanner's, with its audit event.
    pub async fn set_severity(
        pool: &PgPool,
        finding_id: i64,
        severity: crate::domain::Severity,
        reason: &str,
        actor: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query!(
            "WITH old AS (
                SELECT id, project_id, severity FROM findings WHERE id = $1 FOR UPDATE
             ), changed AS (
                UPDATE findings f SET severity = $2 FROM old WHERE f.id = old.id RETURNING f.id
             )
             INSERT INTO audit_events (actor_user_id, project_id, subject_type, subject_id, action,
                                       before, after, reason)
             SELECT $3, old.project_id, 'finding', old.id, 'severity_changed',
                    jsonb_build_object('severity', old.severity),
                    jsonb_build_object('severity', $2::severity), $4
               FROM old JOIN changed ON changed.id = old.id",
            finding_id,
            severity as _,
            actor,
            reason,
        )
        .execute(pool)
        .await?;
        Ok(())
    }

    /// Moves each finding that is still in its `from` state to `to`, with one audit event
    /// each, in one statement; returns the ids it moved (one someone else changed first is
    /// left alone). A person's "fixed" awaits verification by the next complete scan of its
    /// scope. The SLA pause is kept by a trigger (migration `..._sla`).
    pub async fn set_states(
        pool: &PgPool,
        moves: &[(i64, FindingState)],
        to: FindingState,
        risk_accepted_until: Option<DateTime<Utc>>,
        reason: Option<&str>,
        actor: i64,
    ) -> Result<Vec<i64>, sqlx::Error> {
        let (ids, from): (Vec<i64>, Vec<FindingState>) = moves.iter().copied().unzip();
        let queue = crate::outbox::QUEUE;
        sqlx::query_scalar(&format!(
            "WITH old AS (
                SELECT f.id, f.project_id, f.state, f.risk_accepted_until,
                       f.assignee_user_id, f.assignee_team_id
                  FROM findings f
                  JOIN unnest($1::int8[], $2::finding_state[]) AS m(id, from_state)
                    ON m.id = f.id AND f.state = m.from_state
                 ORDER BY f.id
                   FOR UPDATE OF f
             ), changed AS (
                UPDATE findings f SET state = $3,
                       risk_accepted_until = CASE WHEN $3 = 'risk_accepted' THEN $4 END,
                       risk_accepted_by = CASE WHEN $3 = 'risk_accepted' THEN $5 END,
                       fixed_at = CASE WHEN $3 = 'fixed' THEN now() END,
                       fix_verified = CASE WHEN $3 = 'fixed' THEN false ELSE f.fix_verified END
                  FROM old WHERE f.id = old.id
                RETURNING f.id
             ), audited AS (
                INSERT INTO audit_events (actor_user_id, project_id, subject_type, subject_id,
                                          action, before, after, reason)
                SELECT $5, old.project_id, 'finding', old.id, 'state_changed',
                       jsonb_strip_nulls(jsonb_build_object('state', old.state,
                                                            'risk_accepted_until', old.risk_accepted_until)),
                       jsonb_strip_nulls(jsonb_build_object('state', $3::finding_state,
                                                            'risk_accepted_until', $4::timestamptz)),
                       $6
                  FROM old JOIN changed ON changed.id = old.id
                RETURNING id, project_id, subject_id
             ), queued AS (
                {queue}
                SELECT 'risk_accepted', r.user_id, r.team_id, $5, a.id, a.project_id, a.subject_id
                  FROM audited a
                  JOIN old ON old.id = a.subject_id
                 CROSS JOIN LATERAL (VALUES (old.assignee_user_id, NULL::int8),
                                            (NULL::int8, old.assignee_team_id)) AS r(user_id, team_id)
                 WHERE $3 = 'risk_accepted'
                   AND (r.user_id <> $5 OR r.team_id IS NOT NULL)
             )
             SELECT subject_id FROM audited"
        ))
        .bind(ids)
        .bind(from)
        .bind(to)
        .bind(risk_accepted_until)
        .bind(actor)
        .bind(reason)
        .fetch_all(pool)
        .await
    }
}
