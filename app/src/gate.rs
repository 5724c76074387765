//! A project's CI gate policy: what fails the verdict sent back to CI on each scan.
//! The policy is stored here and edited on the project's settings page; the server
//! evaluates it on each accepted scan (`server::gate`).

use serde::{Deserialize, Serialize};

use crate::domain::Severity;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GatePolicy {
    /// New findings of these severities fail the gate.
    pub block_new: Vec<Severity>,
    /// Any open secret in the scan fails the gate.
    pub block_secrets: bool,
    /// Any finding in the scan past its SLA due date fails the gate.
    pub block_sla_breaches: bool,
}

impl Default for GatePolicy {
    /// No new critical or high findings, no secrets, nothing past its SLA.
    fn default() -> Self {
        GatePolicy {
            block_new: vec![Severity::Critical, Severity::High],
            block_secrets: true,
            block_sla_breaches: true,
        }
    }
}

impl GatePolicy {
    /// The policy in words, for the settings page and the audit trail's readers.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.block_new.is_empty() {
            let names: Vec<&str> = self.block_new.iter().map(|s| s.label()).collect();
            parts.push(format!("new {} findings", names.join(", ").to_lowercase()));
        }
        if self.block_secrets {
            parts.push("any open secret".to_string());
        }
        if self.block_sla_breaches {
            parts.push("any finding past its SLA".to_string());
        }
        if parts.is_empty() {
            "Never fails: the gate only reports.".to_string()
        } else {
            format!("Fails on {}.", parts.join("; "))
        }
    }

    /// Keeps `block_new` in severity order without repeats, so equal policies compare
    /// (and audit) equal however they were entered.
    pub fn normalised(mut self) -> GatePolicy {
        self.block_new.sort();
        self.block_new.dedup();
        self
    }
}

#[cfg(feature = "ssr")]
pub mod db {
    use sqlx::PgConnection;

    use super::GatePolicy;

    /// The stored policy of a project, or `None` when it uses the default.
    pub async fn stored(
        conn: &mut PgConnection,
        project_id: i64,
    ) -> Result<Option<GatePolicy>, sqlx::Error> {
        let row: Option<sqlx::types::Json<GatePolicy>> =
            sqlx::query_scalar("SELECT policy FROM gate_policies WHERE project_id = $1")
                .bind(project_id)
                .fetch_optional(&mut *conn)
                .await?;
        Ok(row.map(|json| json.0))
    }

    /// Stores `policy` for the project and audits the change (before and after), in the
    /// caller's transaction. Returns false when nothing changed (and writes nothing).
    pub async fn set(
        conn: &mut PgConnection,
        actor: Option<i64>,
        project_id: i64,
        policy: &GatePolicy,
        reason: Option<&str>,
    ) -> Result<bool, sqlx::Error> {
        let before = stored(conn, project_id).await?;
        let policy = policy.clone().normalised();
        if before.clone().unwrap_or_default() == policy {
            return Ok(false);
        }
        let json = serde_json::to_value(&policy).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        sqlx::query(
            "INSERT INTO gate_policies (project_id, policy) VALUES ($1, $2)
             ON CONFLICT (project_id) DO UPDATE SET policy = EXCLUDED.policy, updated_at = now()",
        )
        .bind(project_id)
        .bind(&json)
        .execute(&mut *conn)
        .await?;
        let before = serde_json::to_value(before.unwrap_or_default()).ok();
        crate::audit::record(
            conn,
            crate::audit::Event::new("gate_policy", project_id, "changed")
                .by(actor)
                .in_project(Some(project_id))
                .before(before)
                .after(json)
                .because(reason),
        )
        .await?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_the_default_and_an_empty_policy() {
        assert_eq!(
            GatePolicy::default().describe(),
            "Fails on new critical, high findings; any open secret; any finding past its SLA."
        );
        let none = GatePolicy {
            block_new: vec![],
            block_secrets: false,
            block_sla_breaches: false,
        };
        assert_eq!(none.describe(), "Never fails: the gate only reports.");
    }

    #[test]
    fn normalising_orders_and_dedups_severities() {
        let policy = GatePolicy {
            block_new: vec![Severity::High, Severity::Critical, Severity::High],
            ..GatePolicy::default()
        };
        assert_eq!(policy.normalised(), GatePolicy::default());
    }
}
