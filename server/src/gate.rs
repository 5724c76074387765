//! The CI gate: a project's policy evaluated on each accepted scan. Its verdict goes back
//! to the pipeline in the upload response, so `bosun push` can fail a build.
//!
//! Default policy: no new critical or high findings, no secrets, nothing past its SLA.
//! A finding whose risk was accepted (with an unexpired acceptance) does not fail the gate:
//! it is listed under the rule as waived.

use app::domain::Severity;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

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
    fn default() -> Self {
        GatePolicy {
            block_new: vec![Severity::Critical, Severity::High],
            block_secrets: true,
            block_sla_breaches: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GateVerdict {
    pub passed: bool,
    pub violations: Vec<Violation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Violation {
    pub rule: &'static str,
    pub description: String,
    /// Findings that break the rule (at most [`LISTED`]; `count` has the full number).
    pub findings: Vec<GateFinding>,
    pub count: usize,
    /// Findings that would break it but carry an unexpired risk acceptance.
    pub waived: Vec<GateFinding>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct GateFinding {
    pub id: i64,
    pub severity: Severity,
    pub title: String,
    pub location: String,
}

/// Findings listed per violation; the response stays small for huge scans.
pub const LISTED: usize = 25;

pub async fn policy_for(
    conn: &mut PgConnection,
    project_id: i64,
) -> Result<GatePolicy, sqlx::Error> {
    let stored: Option<sqlx::types::Json<GatePolicy>> =
        sqlx::query_scalar("SELECT policy FROM gate_policies WHERE project_id = $1")
            .bind(project_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(stored.map(|j| j.0).unwrap_or_default())
}

/// The gate's rules, in the order they are reported: name and description.
fn rules(policy: &GatePolicy) -> [(&'static str, String); 3] {
    let new_names: Vec<&str> = policy.block_new.iter().map(|s| s.as_str()).collect();
    [
        (
            "no_new_findings",
            format!("no new {} findings", new_names.join(" or ")),
        ),
        ("no_secrets", "no secrets".into()),
        ("no_sla_breaches", "nothing past its SLA due date".into()),
    ]
}

/// One listed finding of a rule, with how many findings break (or are waived under) it.
#[derive(sqlx::FromRow)]
struct Listed {
    rule: i32,
    waived: bool,
    total: i64,
    #[sqlx(flatten)]
    finding: GateFinding,
}

/// Which findings a scan reported, as ingest knows them while it writes.
pub struct ScanFindings<'a> {
    pub scan_id: i64,
    /// Every finding id above this was inserted by the scan (see ingest's `ProjectScan`).
    pub watermark: i64,
    /// Findings the scan reported unchanged that can break a rule whoever reports them: a
    /// secret, or past its SLA. The others cannot: they are not new.
    pub unchanged_candidates: &'a [i64],
}

/// Evaluates the policy on the findings the scan reported (fixed and false positives aside).
/// Runs inside the ingest's transaction: it reads its `staged_findings`.
pub async fn evaluate(
    conn: &mut PgConnection,
    project_id: i64,
    scan: &ScanFindings<'_>,
    policy: &GatePolicy,
) -> Result<GateVerdict, sqlx::Error> {
    // Due dates from the project's SLA (app::sla::sql); a risk-accepted finding's clock is
    // stopped, and it is waived anyway while its acceptance lasts. The scan's findings are
    // three disjoint sets, each found by an index: the ones it inserted (ids above the
    // watermark), the known ones it rewrote (ingest's `staged_findings`), and the gate's
    // candidates among those it reported unchanged. No branch reads the project's other
    // findings, so an unchanged re-import of 100k findings reads only a handful.
    // The database counts and ranks (a first import can break a rule 100k times) and only
    // the first [`LISTED`] findings of each rule come back, each rule's numbers matching
    // the order of [`rules`]. Ranking works on narrow rows; text is joined for the few kept.
    let sql = format!(
        "WITH in_scan AS (
            SELECT f.* FROM findings f
             WHERE f.id > $6 AND f.project_id = $1 AND f.last_scan_id = $2
               AND f.state NOT IN ('fixed', 'false_positive')
            UNION ALL
            SELECT f.* FROM staged_findings s
              JOIN findings f ON f.project_id = s.project_id AND f.fingerprint = s.fingerprint
             WHERE s.project_id = $1 AND f.state NOT IN ('fixed', 'false_positive')
            UNION ALL
            SELECT f.* FROM findings f
             WHERE f.id = ANY($7) AND f.state NOT IN ('fixed', 'false_positive')
         ), sla AS MATERIALIZED (
            -- LIMIT 1 tells the planner what it cannot know of a view: one row, so it
            -- joins without materialising the scan's findings
            SELECT * FROM project_sla WHERE project_id = $1 LIMIT 1
         ), candidates AS MATERIALIZED (
            SELECT f.id, f.severity,
                   f.first_scan_id = $2 AND f.severity = ANY($3) AS is_new,
                   f.layer = 'secret' AS is_secret,
                   coalesce({due_at} <= now(), false) AS breached,
                   f.state = 'risk_accepted' AND coalesce(f.risk_accepted_until > now(), false) AS waived
              FROM in_scan f CROSS JOIN sla s
             WHERE (f.first_scan_id = $2 AND f.severity = ANY($3)) OR f.layer = 'secret'
                    OR {due_at} <= now()
         ), broken AS (
            -- one branch per rule, numbered as in `rules` (a join against a VALUES list of
            -- the rules cost a loop per candidate: a third of the query on a first import)
            SELECT 0 AS rule, waived, id, severity FROM candidates WHERE is_new
            UNION ALL
            SELECT 1, waived, id, severity FROM candidates WHERE $4 AND is_secret
            UNION ALL
            SELECT 2, waived, id, severity FROM candidates WHERE $5 AND breached
         ), ranked AS (
            SELECT rule, waived, id,
                   row_number() OVER (PARTITION BY rule, waived ORDER BY severity, id) AS n,
                   count(*) OVER (PARTITION BY rule, waived) AS total
              FROM broken
         )
         SELECT b.rule, b.waived, b.total, f.id, f.severity, f.title, f.location
           FROM ranked b
          -- a lookup per kept row: as a join, the planner hashes every finding instead
          CROSS JOIN LATERAL (SELECT * FROM findings f WHERE f.id = b.id LIMIT 1) f
          WHERE b.n <= {LISTED}
          ORDER BY b.rule, b.waived, b.n",
        due_at = app::sla::sql::DUE_AT,
    );
    let listed = sqlx::query_as::<_, Listed>(&sql)
        .bind(project_id)
        .bind(scan.scan_id)
        .bind(&policy.block_new)
        .bind(policy.block_secrets)
        .bind(policy.block_sla_breaches)
        .bind(scan.watermark)
        .bind(scan.unchanged_candidates)
        .fetch_all(&mut *conn)
        .await?;
    Ok(verdict(policy, listed))
}

/// The verdict from each rule's listed findings and totals.
fn verdict(policy: &GatePolicy, listed: Vec<Listed>) -> GateVerdict {
    let mut violations: Vec<(Violation, i64)> = rules(policy)
        .into_iter()
        .map(|(rule, description)| {
            let violation = Violation {
                rule,
                description,
                findings: Vec::new(),
                count: 0,
                waived: Vec::new(),
            };
            (violation, 0)
        })
        .collect();
    for row in listed {
        let Some((violation, waived)) = violations.get_mut(row.rule as usize) else {
            continue;
        };
        if row.waived {
            *waived = row.total;
            violation.waived.push(row.finding);
        } else {
            violation.count = row.total as usize;
            violation.findings.push(row.finding);
        }
    }
    let violations: Vec<Violation> = violations
        .into_iter()
        .filter(|(v, waived)| v.count > 0 || *waived > 0)
        .map(|(v, _)| v)
        .collect();
    GateVerdict {
        passed: violations.iter().all(|v| v.count == 0),
        violations,
    }
}

impl GateVerdict {
    /// One verdict for a report routed into several projects: it passes when every
    /// project's gate passes; violations of one rule are listed together.
    pub fn merge<'a>(verdicts: impl IntoIterator<Item = &'a GateVerdict>) -> GateVerdict {
        let mut merged = GateVerdict {
            passed: true,
            violations: Vec::new(),
        };
        for verdict in verdicts {
            merged.passed &= verdict.passed;
            for v in &verdict.violations {
                match merged.violations.iter_mut().find(|m| m.rule == v.rule) {
                    Some(m) => {
                        m.count += v.count;
                        m.findings.extend(v.findings.iter().cloned());
                        m.findings.truncate(LISTED);
                        m.waived.extend(v.waived.iter().cloned());
                        m.waived.truncate(LISTED);
                    }
                    None => merged.violations.push(v.clone()),
                }
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(rule: i32, waived: bool, total: i64, id: i64) -> Listed {
        Listed {
            rule,
            waived,
            total,
            finding: GateFinding {
                id,
                severity: Severity::High,
                title: format!("f{id}"),
                location: String::new(),
            },
        }
    }

    #[test]
    fn counts_come_from_totals_and_lists_from_rows() {
        let v = verdict(
            &GatePolicy::default(),
            vec![listed(0, false, 300, 1), listed(0, false, 300, 2)],
        );
        assert!(!v.passed);
        assert_eq!(v.violations.len(), 1);
        assert_eq!(v.violations[0].rule, "no_new_findings");
        assert_eq!(
            v.violations[0].description,
            "no new critical or high findings"
        );
        assert_eq!(v.violations[0].count, 300);
        let ids: Vec<i64> = v.violations[0].findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, vec![1, 2]);
    }

    #[test]
    fn a_rule_broken_only_by_waived_findings_passes_but_is_listed() {
        let v = verdict(&GatePolicy::default(), vec![listed(1, true, 1, 3)]);
        assert!(v.passed);
        assert_eq!(v.violations[0].rule, "no_secrets");
        assert_eq!(v.violations[0].count, 0);
        assert_eq!(v.violations[0].waived.len(), 1);
    }

    #[test]
    fn nothing_broken_passes_with_no_violations() {
        let v = verdict(&GatePolicy::default(), Vec::new());
        assert!(v.passed);
        assert!(v.violations.is_empty());
    }
}
