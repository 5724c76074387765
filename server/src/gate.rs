//! The CI gate: a project's policy evaluated on each accepted scan. Its verdict goes back
//! to the pipeline in the upload response, so `bosun push` can fail a build.
//!
//! Default policy: no new critical or high findings, no secrets, nothing past its SLA.
//! A finding whose risk was accepted (with an unexpired acceptance) does not fail the gate:
//! it is listed under the rule as waived.

use std::collections::BinaryHeap;

use app::domain::Severity;
use app::sla::SlaPolicy;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::PgConnection;

/// Stored and edited by the app (the project settings page); evaluated here.
pub use app::gate::GatePolicy;

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

/// What the gate needs of a project: its policy and the SLA its due dates come from.
pub struct ProjectRules {
    pub policy: GatePolicy,
    pub sla: SlaPolicy,
}

/// A project's gate policy (the default when it has none stored) and effective SLA.
pub async fn rules_for(
    conn: &mut PgConnection,
    project_id: i64,
) -> Result<ProjectRules, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT (SELECT policy FROM gate_policies WHERE project_id = $1)
                    AS "policy: sqlx::types::Json<GatePolicy>",
                  s.critical_days, s.high_days, s.medium_days, s.low_days, s.info_days
             FROM project_sla s WHERE s.project_id = $1"#,
        project_id,
    )
    .fetch_one(&mut *conn)
    .await?;
    // the table's checks keep days within 0..=3650
    let days = |d: Option<i32>| d.and_then(|d| u32::try_from(d).ok());
    Ok(ProjectRules {
        policy: row.policy.map(|j| j.0).unwrap_or_default(),
        sla: SlaPolicy {
            critical: days(row.critical_days),
            high: days(row.high_days),
            medium: days(row.medium_days),
            low: days(row.low_days),
            info: days(row.info_days),
        },
    })
}

/// The severities at which a finding first seen at `first_seen`, its SLA clock never
/// paused, is past due at `now`: one bit per severity, in [`Severity::ALL`] order. Due is
/// `days` whole 24-hour days after first seen, as `app::sla::sql::DUE_AT` computes it.
pub fn overdue_severities(sla: &SlaPolicy, first_seen: DateTime<Utc>, now: DateTime<Utc>) -> u8 {
    Severity::ALL
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            sla.days(**s)
                .is_some_and(|d| first_seen + Duration::hours(24 * i64::from(d)) <= now)
        })
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// The findings a scan inserted, tallied by ingest as it writes them: they are new and
/// open (never waived), and which rules they break follows from their severity, layer and
/// when they were first seen, so the database need not read 100k new rows back to judge
/// them. Per rule: how many break it, and the first [`LISTED`] by severity, then order of
/// insertion (which is the order of their ids).
pub struct NewFindingsTally<'a> {
    policy: &'a GatePolicy,
    rules: [RuleTally; 3],
}

#[derive(Default)]
struct RuleTally {
    count: usize,
    /// The best [`LISTED`] so far; the heap's top is the one to drop next.
    best: BinaryHeap<(Severity, u64, [u8; 32])>,
}

impl<'a> NewFindingsTally<'a> {
    pub fn new(policy: &'a GatePolicy) -> Self {
        NewFindingsTally {
            policy,
            rules: Default::default(),
        }
    }

    /// One inserted finding: its `order` of insertion, its severity after the scan's repeats
    /// were merged, whether it is a secret, and `overdue` from [`overdue_severities`].
    pub fn add(
        &mut self,
        fingerprint: [u8; 32],
        order: u64,
        severity: Severity,
        secret: bool,
        overdue: u8,
    ) {
        let overdue_now = Severity::ALL
            .iter()
            .position(|s| *s == severity)
            .is_some_and(|i| overdue & 1 << i != 0);
        let broken = [
            self.policy.block_new.contains(&severity),
            self.policy.block_secrets && secret,
            self.policy.block_sla_breaches && overdue_now,
        ];
        for (rule, _) in self.rules.iter_mut().zip(broken).filter(|(_, b)| *b) {
            rule.count += 1;
            rule.best.push((severity, order, fingerprint));
            if rule.best.len() > LISTED {
                rule.best.pop();
            }
        }
    }

    fn listed_fingerprints(&self) -> Vec<[u8; 32]> {
        let mut fps: Vec<[u8; 32]> = self
            .rules
            .iter()
            .flat_map(|r| r.best.iter().map(|(_, _, fp)| *fp))
            .collect();
        fps.sort_unstable();
        fps.dedup();
        fps
    }
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
    /// The findings it inserted (see [`NewFindingsTally`]).
    pub inserted: &'a NewFindingsTally<'a>,
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
) -> Result<GateVerdict, sqlx::Error> {
    let policy = scan.inserted.policy;
    // The scan's findings are three disjoint sets: the ones it inserted, tallied by ingest;
    // the known ones it rewrote (ingest's `staged_findings`), and the gate's candidates
    // among those it reported unchanged, both judged here, each found by an index. No
    // branch reads the project's other findings, so an unchanged re-import of 100k
    // findings reads only a handful.
    // Due dates from the project's SLA (app::sla::sql); a risk-accepted finding's clock is
    // stopped, and it is waived anyway while its acceptance lasts. The database counts and
    // ranks (a large rewrite can break a rule 100k times) and only the first [`LISTED`]
    // findings of each rule come back, each rule's numbers matching the order of [`rules`].
    // Ranking works on narrow rows; text is joined for the few kept.
    let sql = format!(
        "WITH in_scan AS (
            SELECT f.* FROM staged_findings s
              JOIN findings f ON f.project_id = s.project_id AND f.fingerprint = s.fingerprint
             WHERE s.project_id = $1 AND f.state NOT IN ('fixed', 'false_positive')
            UNION ALL
            SELECT f.* FROM findings f
             WHERE f.id = ANY($6) AND f.state NOT IN ('fixed', 'false_positive')
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
        .bind(scan.unchanged_candidates)
        .fetch_all(&mut *conn)
        .await?;
    Ok(verdict(
        policy,
        listed,
        new_violations(conn, project_id, scan.inserted).await?,
    ))
}

/// Per rule, how many inserted findings break it and the first [`LISTED`] of them, read
/// by fingerprint (one statement for all rules).
async fn new_violations(
    conn: &mut PgConnection,
    project_id: i64,
    tally: &NewFindingsTally<'_>,
) -> Result<[(usize, Vec<GateFinding>); 3], sqlx::Error> {
    let fingerprints = tally.listed_fingerprints();
    let rows: Vec<(Vec<u8>, GateFinding)> = if fingerprints.is_empty() {
        Vec::new()
    } else {
        let fps: Vec<&[u8]> = fingerprints.iter().map(|f| &f[..]).collect();
        sqlx::query!(
            r#"SELECT fingerprint, id, severity AS "severity: Severity", title, location
                 FROM findings
                WHERE project_id = $1 AND fingerprint = ANY($2)"#,
            project_id,
            &fps as &[&[u8]],
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| {
            (
                r.fingerprint,
                GateFinding {
                    id: r.id,
                    severity: r.severity,
                    title: r.title,
                    location: r.location,
                },
            )
        })
        .collect()
    };
    let found: std::collections::HashMap<&[u8], &GateFinding> =
        rows.iter().map(|(fp, f)| (&fp[..], f)).collect();
    Ok(std::array::from_fn(|i| {
        let rule = &tally.rules[i];
        let mut best: Vec<&(Severity, u64, [u8; 32])> = rule.best.iter().collect();
        best.sort_unstable();
        let listed = best
            .into_iter()
            .filter_map(|(_, _, fp)| found.get(&fp[..]).map(|f| (*f).clone()))
            .collect();
        (rule.count, listed)
    }))
}

/// The verdict from each rule's listed findings and totals, and the inserted findings'
/// (which are never waived: a new finding has no risk acceptance).
fn verdict(
    policy: &GatePolicy,
    listed: Vec<Listed>,
    inserted: [(usize, Vec<GateFinding>); 3],
) -> GateVerdict {
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
    for ((violation, _), (count, findings)) in violations.iter_mut().zip(inserted) {
        violation.count += count;
        violation.findings.extend(findings);
        violation.findings.sort_by_key(|f| (f.severity, f.id));
        violation.findings.truncate(LISTED);
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
            Default::default(),
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
        let v = verdict(
            &GatePolicy::default(),
            vec![listed(1, true, 1, 3)],
            Default::default(),
        );
        assert!(v.passed);
        assert_eq!(v.violations[0].rule, "no_secrets");
        assert_eq!(v.violations[0].count, 0);
        assert_eq!(v.violations[0].waived.len(), 1);
    }

    #[test]
    fn nothing_broken_passes_with_no_violations() {
        let v = verdict(&GatePolicy::default(), Vec::new(), Default::default());
        assert!(v.passed);
        assert!(v.violations.is_empty());
    }

    fn gate_finding(id: i64, severity: Severity) -> GateFinding {
        GateFinding {
            id,
            severity,
            title: format!("f{id}"),
            location: String::new(),
        }
    }

    #[test]
    fn inserted_findings_add_to_counts_and_rank_with_the_rest() {
        let mut known = listed(0, false, 2, 5);
        known.finding.severity = Severity::High;
        let inserted = [
            (
                LISTED + 1,
                (0..LISTED as i64)
                    .map(|i| gate_finding(100 + i, Severity::Critical))
                    .collect(),
            ),
            (0, Vec::new()),
            (1, vec![gate_finding(7, Severity::Low)]),
        ];
        let v = verdict(&GatePolicy::default(), vec![known], inserted);
        assert!(!v.passed);
        let new = &v.violations[0];
        assert_eq!(new.count, 2 + LISTED + 1);
        assert_eq!(new.findings.len(), LISTED, "the list stays bounded");
        assert!(
            new.findings
                .iter()
                .all(|f| f.severity == Severity::Critical),
            "criticals rank before the known high finding"
        );
        assert_eq!(v.violations[1].rule, "no_sla_breaches");
        assert_eq!(v.violations[1].count, 1);
    }

    #[test]
    fn the_tally_keeps_the_worst_first_and_counts_all() {
        let policy = GatePolicy::default();
        let mut tally = NewFindingsTally::new(&policy);
        for order in 0..100u64 {
            let severity = if order % 10 == 9 {
                Severity::Critical
            } else {
                Severity::High
            };
            tally.add([order as u8; 32], order, severity, order == 3, 0);
        }
        tally.add([200; 32], 100, Severity::Low, false, 0);
        let new = &tally.rules[0];
        assert_eq!(new.count, 100, "lows are not blocked by default");
        let mut best: Vec<_> = new.best.iter().map(|(s, o, _)| (*s, *o)).collect();
        best.sort_unstable();
        assert_eq!(best.len(), LISTED);
        assert_eq!(best[0], (Severity::Critical, 9));
        assert_eq!(best[9], (Severity::Critical, 99));
        assert_eq!(
            best[10],
            (Severity::High, 0),
            "then highs in order of insertion"
        );
        assert_eq!(tally.rules[1].count, 1, "one secret");
        assert_eq!(tally.rules[2].count, 0, "none overdue");
    }

    #[test]
    fn overdue_severities_follow_the_sla_days() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let sla = SlaPolicy {
            critical: Some(0),
            ..SlaPolicy::default()
        };
        assert_eq!(
            overdue_severities(&sla, now, now),
            0b00001,
            "0 days: due at once"
        );
        let ten_days_ago = now - Duration::days(10);
        // ten days: past critical's 7, within high's 30
        assert_eq!(
            overdue_severities(&SlaPolicy::default(), ten_days_ago, now),
            0b00001
        );
        assert_eq!(
            overdue_severities(&SlaPolicy::default(), now - Duration::days(200), now),
            0b01111,
            "info has no SLA"
        );
        assert_eq!(
            overdue_severities(&SlaPolicy::default(), now - Duration::days(7), now),
            0b00001,
            "due exactly now counts, as `<= now()` does"
        );
    }
}
