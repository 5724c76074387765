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
    #[serde(skip)]
    pub is_new: bool,
    #[serde(skip)]
    pub is_secret: bool,
    #[serde(skip)]
    pub breached: bool,
    #[serde(skip)]
    pub waived: bool,
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

/// Evaluates the policy on the findings the scan reported (fixed and false positives aside).
pub async fn evaluate(
    conn: &mut PgConnection,
    project_id: i64,
    scan_id: i64,
    policy: &GatePolicy,
) -> Result<GateVerdict, sqlx::Error> {
    // Due dates from the project's SLA (app::sla::sql); a risk-accepted finding's clock is
    // stopped, and it is waived anyway while its acceptance lasts. The scan's findings are
    // those it wrote plus those it reported unchanged (ingest's `seen_unchanged`), as two
    // branches rather than an OR: right after a large import the statistics on `findings`
    // are stale, and the OR form let the planner choose a plan that took minutes at 310k.
    // The policy is one row, joined last.
    use futures_util::TryStreamExt;
    let sql = format!(
        "WITH in_scan AS (
            SELECT f.* FROM findings f
             WHERE f.project_id = $1 AND f.last_scan_id = $2
               AND f.state NOT IN ('fixed', 'false_positive')
            UNION ALL
            SELECT f.* FROM seen_unchanged u
              JOIN findings f ON f.project_id = u.project_id AND f.fingerprint = u.fingerprint
             WHERE u.project_id = $1 AND f.last_scan_id <> $2
               AND f.state NOT IN ('fixed', 'false_positive')
         ), sla AS MATERIALIZED (
            SELECT * FROM project_sla WHERE project_id = $1
         )
         SELECT f.id, f.severity, f.title, f.location,
                f.first_scan_id = $2 AS is_new,
                f.layer = 'secret' AS is_secret,
                coalesce({due_at} <= now(), false) AS breached,
                f.state = 'risk_accepted' AND coalesce(f.risk_accepted_until > now(), false) AS waived
           FROM in_scan f CROSS JOIN sla s
          WHERE (f.first_scan_id = $2 AND f.severity = ANY($3)) OR f.layer = 'secret'
                 OR {due_at} <= now()
          ORDER BY f.severity, f.id",
        due_at = app::sla::sql::DUE_AT,
    );
    let mut rows = sqlx::query_as::<_, GateFinding>(&sql)
        .bind(project_id)
        .bind(scan_id)
        .bind(&policy.block_new)
        .fetch(&mut *conn);
    // streamed: a first import can have 100k candidates, of which a few dozen are listed
    let mut tally = Tally::new(policy);
    while let Some(finding) = rows.try_next().await? {
        tally.add(finding);
    }
    Ok(tally.verdict())
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

/// The pure part: which rules the candidate findings break.
pub fn verdict(policy: &GatePolicy, candidates: &[GateFinding]) -> GateVerdict {
    let mut tally = Tally::new(policy);
    for finding in candidates {
        tally.add(finding.clone());
    }
    tally.verdict()
}

type Breaks = fn(&GatePolicy, &GateFinding) -> bool;

/// Counts candidates rule by rule as they come, keeping only the first [`LISTED`] failing
/// and waived findings of each.
struct Tally<'a> {
    policy: &'a GatePolicy,
    rules: Vec<(Violation, Breaks, usize)>,
}

impl<'a> Tally<'a> {
    fn new(policy: &'a GatePolicy) -> Tally<'a> {
        let new_names: Vec<&str> = policy.block_new.iter().map(|s| s.as_str()).collect();
        let rules: [(&'static str, String, Breaks); 3] = [
            (
                "no_new_findings",
                format!("no new {} findings", new_names.join(" or ")),
                |p, f| f.is_new && p.block_new.contains(&f.severity),
            ),
            ("no_secrets", "no secrets".into(), |p, f| {
                p.block_secrets && f.is_secret
            }),
            (
                "no_sla_breaches",
                "nothing past its SLA due date".into(),
                |p, f| p.block_sla_breaches && f.breached,
            ),
        ];
        Tally {
            policy,
            rules: rules
                .into_iter()
                .map(|(rule, description, breaks)| {
                    let violation = Violation {
                        rule,
                        description,
                        findings: Vec::new(),
                        count: 0,
                        waived: Vec::new(),
                    };
                    (violation, breaks, 0)
                })
                .collect(),
        }
    }

    fn add(&mut self, finding: GateFinding) {
        for (violation, breaks, waived) in &mut self.rules {
            if !breaks(self.policy, &finding) {
                continue;
            }
            let list = if finding.waived {
                *waived += 1;
                &mut violation.waived
            } else {
                violation.count += 1;
                &mut violation.findings
            };
            if list.len() < LISTED {
                list.push(finding.clone());
            }
        }
    }

    /// Rules broken or waived, in rule order; the gate passes when none is broken.
    fn verdict(self) -> GateVerdict {
        let violations: Vec<Violation> = self
            .rules
            .into_iter()
            .filter(|(v, _, waived)| v.count > 0 || *waived > 0)
            .map(|(v, _, _)| v)
            .collect();
        GateVerdict {
            passed: violations.iter().all(|v| v.count == 0),
            violations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(id: i64, severity: Severity) -> GateFinding {
        GateFinding {
            id,
            severity,
            title: format!("f{id}"),
            location: String::new(),
            is_new: false,
            is_secret: false,
            breached: false,
            waived: false,
        }
    }

    #[test]
    fn new_critical_fails_and_new_medium_does_not() {
        let policy = GatePolicy::default();
        let mut crit = f(1, Severity::Critical);
        crit.is_new = true;
        let mut medium = f(2, Severity::Medium);
        medium.is_new = true;
        assert!(verdict(&policy, &[medium.clone()]).passed);
        let v = verdict(&policy, &[crit, medium]);
        assert!(!v.passed);
        assert_eq!(v.violations[0].rule, "no_new_findings");
        assert_eq!(
            v.violations[0]
                .findings
                .iter()
                .map(|f| f.id)
                .collect::<Vec<_>>(),
            vec![1]
        );
    }

    #[test]
    fn accepted_risk_waives_but_is_listed() {
        let mut secret = f(3, Severity::High);
        secret.is_secret = true;
        secret.waived = true;
        let v = verdict(&GatePolicy::default(), &[secret]);
        assert!(v.passed);
        assert_eq!(v.violations[0].rule, "no_secrets");
        assert_eq!(v.violations[0].count, 0);
        assert_eq!(v.violations[0].waived.len(), 1);
    }

    #[test]
    fn rules_can_be_switched_off() {
        let mut old = f(4, Severity::Low);
        old.breached = true;
        assert!(!verdict(&GatePolicy::default(), &[old.clone()]).passed);
        let lenient = GatePolicy {
            block_sla_breaches: false,
            ..GatePolicy::default()
        };
        assert!(verdict(&lenient, &[old]).passed);
    }
}
