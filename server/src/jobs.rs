//! Background work the server does on a timer.

use std::time::Duration;

use sqlx::PgPool;

/// Re-opens findings whose risk acceptance has expired, each with an audit event: an
/// exception without an end is how risk gets forgotten. Returns how many were reopened.
pub async fn reopen_expired_risk_acceptances(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH expired AS (
            UPDATE findings f SET state = 'reopened', risk_accepted_until = NULL,
                                  risk_accepted_by = NULL
              FROM (SELECT id, risk_accepted_until FROM findings
                     WHERE state = 'risk_accepted' AND risk_accepted_until <= now()
                     FOR UPDATE SKIP LOCKED) old
             WHERE f.id = old.id
            RETURNING f.id, f.project_id, old.risk_accepted_until
         ), events AS (
            INSERT INTO audit_events (project_id, subject_type, subject_id, action, before, after,
                                      reason)
            SELECT project_id, 'finding', id, 'risk_acceptance_expired',
                   jsonb_build_object('state', 'risk_accepted', 'risk_accepted_until',
                                      risk_accepted_until),
                   '{"state":"reopened"}', 'the risk acceptance expired'
              FROM expired
            RETURNING 1
         )
         SELECT count(*) AS "count!" FROM events"#,
    )
    .fetch_one(pool)
    .await
}

/// Runs the periodic jobs until the process ends. A failed round is logged and retried
/// next time; it never stops the server.
pub async fn run(pool: PgPool, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match reopen_expired_risk_acceptances(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(reopened = n, "expired risk acceptances reopened"),
            Err(err) => tracing::warn!(error = %err, "risk acceptance expiry failed; will retry"),
        }
        // sign-in attempts older than a day no longer count for anything
        if let Err(err) =
            sqlx::query!("DELETE FROM login_attempts WHERE at < now() - interval '1 day'")
                .execute(&pool)
                .await
        {
            tracing::warn!(error = %err, "purging old sign-in failures failed; will retry");
        }
    }
}
