//! The first step: reading the scope. When a project's part of a scan opens, the findings
//! its scope (project, scanner, target) already holds are read once; from then on each
//! reported finding is compared with them in memory ([`ScopeDiff`]), so a chunk knows
//! without a statement which findings are unchanged, which to rewrite and which to look up,
//! and what is left unreported at the end is what the scan no longer contains.

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use app::sla::SlaPolicy;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::PgConnection;

use crate::gate::{self, GatePolicy};
use crate::ingest::copy_rows::{EncodedFinding, RowContext, Rows};

/// A finding the scan's scope held when the scan began.
pub(super) struct Known {
    fingerprint: [u8; 32],
    id: i64,
    /// The first half of its content hash, which is plenty to tell a change (a false
    /// match would take a second preimage of 128 bits); `None` for rows stored without one.
    content_hash: Option<[u8; 16]>,
    /// Not fixed: reported with the same content, it is unchanged (a fixed one reopens).
    live: bool,
    /// Breaks a gate rule whenever a scan reports it: a secret, or past its SLA.
    gate_candidate: bool,
    /// Reported by this scan, with the occurrences of its first report.
    reported: Option<u32>,
}

/// The scope's findings when the scan began, sorted by fingerprint. A sorted vector rather
/// than a hash map: a map's power-of-two tables held twice the memory for large scopes
/// (42 MB instead of 20 MB at 310k findings), and it is searched once per finding.
pub(super) struct Scope(Vec<Known>);

impl Scope {
    fn sorted(mut known: Vec<Known>) -> Scope {
        known.sort_unstable_by_key(|k| k.fingerprint);
        Scope(known)
    }

    fn position(&self, fingerprint: &[u8; 32]) -> Option<usize> {
        self.0
            .binary_search_by(|k| k.fingerprint.cmp(fingerprint))
            .ok()
    }

    fn find(&mut self, fingerprint: &[u8; 32]) -> Option<&mut Known> {
        let at = self.position(fingerprint)?;
        Some(&mut self.0[at])
    }

    /// The occurrences of the first report of a finding the scope holds.
    fn first_report(&self, fingerprint: &[u8; 32]) -> Option<u32> {
        self.0[self.position(fingerprint)?].reported
    }

    /// What the scan did not report: the findings it no longer contains.
    fn unreported(&self) -> Vec<i64> {
        self.0
            .iter()
            .filter(|k| k.reported.is_none())
            .map(|k| k.id)
            .collect()
    }
}

/// The scope's findings as the scan begins, in one streamed query. Fixed findings whose
/// fix is verified are left out: nothing can close them again, and one that is reported
/// again is found by the lookup (and reopened).
pub(super) async fn scope_findings(
    conn: &mut PgConnection,
    project_id: i64,
    scanner: &str,
    target: &str,
) -> Result<Scope, sqlx::Error> {
    // `gate_candidate` is the gate's own test for findings a scan did not write (they are
    // not new): a secret, or due by the project's SLA (app::sla::sql). A runtime query: its
    // SQL is built from that shared fragment.
    let sql = format!(
        "WITH sla AS MATERIALIZED (SELECT * FROM project_sla WHERE project_id = $1 LIMIT 1)
         SELECT f.fingerprint, f.content_hash, f.id, f.state <> 'fixed',
                f.layer = 'secret' OR coalesce({due_at} <= now(), false)
           FROM findings f CROSS JOIN sla s
          WHERE f.project_id = $1 AND f.scanner = $2 AND f.target = $3
            AND (f.state <> 'fixed' OR NOT f.fix_verified)",
        due_at = app::sla::sql::DUE_AT,
    );
    // Sized from the scope's last scan, so that a large scope is not read into a vector
    // that doubles (and briefly holds two copies) as it grows.
    let expected = sqlx::query_scalar!(
        "SELECT s.findings_total FROM scopes c JOIN scans s ON s.id = c.last_scan_id
          WHERE c.project_id = $1 AND c.scanner = $2 AND c.target = $3",
        project_id,
        scanner,
        target,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let expected = expected.unwrap_or(0).max(0) as usize;
    let mut known = Vec::with_capacity(expected + expected / 8);
    let mut rows = sqlx::query_as::<_, (Vec<u8>, Option<Vec<u8>>, i64, bool, bool)>(&sql)
        .bind(project_id)
        .bind(scanner)
        .bind(target)
        .fetch(&mut *conn);
    while let Some((fingerprint, hash, id, live, gate_candidate)) = rows.try_next().await? {
        // fingerprints are SHA-256 digests; any other value can match no report
        let Ok(fingerprint) = <[u8; 32]>::try_from(fingerprint) else {
            continue;
        };
        known.push(Known {
            fingerprint,
            id,
            content_hash: hash.and_then(|h| h.get(..16)?.try_into().ok()),
            live,
            gate_candidate,
            reported: None,
        });
    }
    drop(rows);
    Ok(Scope::sorted(known))
}

/// A repeat of a fingerprint already written by this scan, merged at the end.
pub(super) struct Repeat {
    pub(super) fingerprint: Vec<u8>,
    pub(super) severity: Severity,
    occurrences: i32,
}

/// The first report of a fingerprint the scope did not hold.
struct FirstReport {
    occurrences: u32,
    /// The worst it was reported at: repeats raise it, as the scan's merge of repeats
    /// raises the stored finding's.
    severity: Severity,
    secret: bool,
    /// [`gate::overdue_severities`] from when it was first seen.
    overdue: u8,
    /// Inserted by this scan, as its n-th new finding (the order of their ids); `None`
    /// while it waits for a lookup, and for a finding the project already had.
    inserted: Option<u32>,
}

/// What a chunk does with one finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    New,
    /// Known: changed, reopening, or a runtime alert with new events.
    Rewrite,
    Unchanged,
    /// Not in the scope: the project may know it (another scope, or fixed and verified).
    LookUp,
}

/// What the scan has reported so far, against what its scope held when it began.
pub(super) struct ScopeDiff {
    scope: Scope,
    /// The scope had no findings at all when the scan began (checked under the project's
    /// lock): every finding is new (a finding's identity includes its scope), so nothing
    /// is looked up.
    empty_scope: bool,
    /// Fingerprints reported so far that the scope did not hold, with their first report
    /// (the scope's own are marked in `scope`).
    seen: HashMap<[u8; 32], FirstReport>,
    pub(super) repeats: Vec<Repeat>,
    /// Distinct findings reported.
    pub(super) total: i64,
    /// Findings reported unchanged that the gate must look at (see [`Known::gate_candidate`]).
    pub(super) unchanged_gate_candidates: Vec<i64>,
    /// Findings inserted, staged for a rewrite, and reported unchanged.
    pub(super) new: i64,
    pub(super) staged: i64,
    pub(super) unchanged: i64,
}

impl ScopeDiff {
    /// `None`: the scope holds no findings at all.
    pub(super) fn new(scope: Option<Scope>) -> ScopeDiff {
        ScopeDiff {
            empty_scope: scope.is_none(),
            scope: scope.unwrap_or(Scope(Vec::new())),
            seen: HashMap::new(),
            repeats: Vec::new(),
            total: 0,
            unchanged_gate_candidates: Vec::new(),
            new: 0,
            staged: 0,
            unchanged: 0,
        }
    }

    /// What to do with `f`, the scan's time being `now`; `None` for a repeat of a
    /// fingerprint the scan already reported, kept to be merged at the end.
    pub(super) fn classify(
        &mut self,
        f: &EncodedFinding,
        sla: &SlaPolicy,
        now: DateTime<Utc>,
    ) -> Option<Outcome> {
        let outcome = if let Some(k) = self.scope.find(&f.fingerprint) {
            match k.reported {
                Some(_) => None,
                None => {
                    k.reported = Some(f.occurrences);
                    // runtime alerts always count their new events: never unchanged
                    if k.live
                        && f.layer != Layer::Runtime
                        && k.content_hash.is_some_and(|h| f.hash.starts_with(&h))
                    {
                        if k.gate_candidate {
                            self.unchanged_gate_candidates.push(k.id);
                        }
                        Some(Outcome::Unchanged)
                    } else {
                        Some(Outcome::Rewrite)
                    }
                }
            }
        } else {
            match self.seen.entry(f.fingerprint) {
                std::collections::hash_map::Entry::Occupied(mut first) => {
                    let first = first.get_mut();
                    first.severity = first.severity.min(f.severity);
                    None
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(FirstReport {
                        occurrences: f.occurrences,
                        severity: f.severity,
                        secret: f.layer == Layer::Secret,
                        overdue: gate::overdue_severities(sla, f.first_seen(now), now),
                        inserted: None,
                    });
                    Some(if self.empty_scope {
                        Outcome::New
                    } else {
                        Outcome::LookUp
                    })
                }
            }
        };
        match outcome {
            Some(_) => self.total += 1,
            // the same problem reported twice (say, one rule on one line): one finding,
            // at the highest severity it was given, counting both
            None => self.repeats.push(Repeat {
                fingerprint: f.fingerprint.to_vec(),
                severity: f.severity,
                occurrences: f.occurrences.min(i32::MAX as u32) as i32,
            }),
        }
        outcome
    }

    /// Sorts a chunk's findings, every lookup answered, into rows to insert and rows to
    /// stage for a rewrite, counting each kind.
    pub(super) fn rows(
        &mut self,
        ctx: &RowContext,
        fresh: &[EncodedFinding],
        outcomes: Vec<Outcome>,
    ) -> (Rows, Rows) {
        let (mut new_rows, mut staged_rows) = (Rows::default(), Rows::default());
        for (f, outcome) in fresh.iter().zip(outcomes) {
            match outcome {
                Outcome::New => {
                    new_rows.push(ctx, f);
                    if let Some(first) = self.seen.get_mut(&f.fingerprint) {
                        first.inserted = Some(self.new as u32);
                    }
                    self.new += 1;
                }
                Outcome::Rewrite => {
                    staged_rows.push(ctx, f);
                    self.staged += 1;
                }
                Outcome::Unchanged => self.unchanged += 1,
                Outcome::LookUp => unreachable!("every lookup was answered above"),
            }
        }
        (new_rows, staged_rows)
    }

    /// What the scan did not report of its scope: the findings it no longer contains.
    pub(super) fn unreported(&self) -> Vec<i64> {
        self.scope.unreported()
    }

    /// The gate's tally of the findings this scan inserted.
    pub(super) fn tally_inserted<'p>(&self, policy: &'p GatePolicy) -> gate::NewFindingsTally<'p> {
        let mut tally = gate::NewFindingsTally::new(policy);
        for (fingerprint, first) in &self.seen {
            if let Some(order) = first.inserted {
                tally.add(
                    *fingerprint,
                    order.into(),
                    first.severity,
                    first.secret,
                    first.overdue,
                );
            }
        }
        tally
    }

    /// Each repeated fingerprint (in no particular order) with the occurrences of all its
    /// reports, the first one's included, at most `i32::MAX`.
    pub(super) fn repeat_totals(&self) -> (Vec<&[u8]>, Vec<i32>) {
        let mut occurrences: HashMap<&[u8], i64> = HashMap::new();
        for r in &self.repeats {
            *occurrences.entry(&r.fingerprint[..]).or_insert_with(|| {
                let fp: [u8; 32] = r.fingerprint[..].try_into().expect("32 bytes");
                let first = self.seen.get(&fp).map(|f| f.occurrences);
                let first = first.or_else(|| self.scope.first_report(&fp));
                i64::from(first.expect("a repeat follows its first report"))
            }) += i64::from(r.occurrences);
        }
        occurrences
            .into_iter()
            .map(|(fp, n)| (fp, n.min(i64::from(i32::MAX)) as i32))
            .unzip()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::HashMap;

    use chrono::TimeZone;

    use super::*;
    use crate::ingest::NewFinding;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    /// A finding as the parser's side encodes it, fingerprint `[id; 32]`.
    pub(in crate::ingest::store) fn encoded(
        id: u8,
        layer: Layer,
        severity: Severity,
        title: &str,
    ) -> EncodedFinding {
        let f = NewFinding::new([id; 32], layer, severity, title);
        EncodedFinding::of("trivy", "repo", &f)
    }

    fn code(id: u8) -> EncodedFinding {
        encoded(id, Layer::Code, Severity::High, "a finding")
    }

    fn with_occurrences(id: u8, occurrences: u32) -> EncodedFinding {
        let f = NewFinding::new([id; 32], Layer::Code, Severity::High, "a finding");
        EncodedFinding::of("trivy", "repo", &NewFinding { occurrences, ..f })
    }

    /// `f` as its scope stored it: live, with the same content.
    fn known(f: &EncodedFinding, id: i64) -> Known {
        Known {
            fingerprint: f.fingerprint,
            id,
            content_hash: Some(f.hash[..16].try_into().unwrap()),
            live: true,
            gate_candidate: false,
            reported: None,
        }
    }

    fn diff(known: Vec<Known>) -> ScopeDiff {
        ScopeDiff::new(Some(Scope::sorted(known)))
    }

    fn classify(diff: &mut ScopeDiff, f: &EncodedFinding) -> Option<Outcome> {
        diff.classify(f, &SlaPolicy::default(), now())
    }

    #[test]
    fn the_scope_is_searched_by_fingerprint_whatever_order_it_was_read_in() {
        let findings: Vec<EncodedFinding> = (1..=20).rev().map(code).collect();
        let mut scope = Scope::sorted(
            findings
                .iter()
                .enumerate()
                .map(|(i, f)| known(f, i as i64))
                .collect(),
        );
        for (i, f) in findings.iter().enumerate() {
            assert_eq!(scope.find(&f.fingerprint).map(|k| k.id), Some(i as i64));
        }
        assert!(scope.find(&code(99).fingerprint).is_none());
        assert_eq!(scope.first_report(&code(99).fingerprint), None);
    }

    #[test]
    fn in_an_empty_scope_every_first_report_is_new() {
        let mut diff = ScopeDiff::new(None);
        assert_eq!(classify(&mut diff, &code(1)), Some(Outcome::New));
        assert_eq!(classify(&mut diff, &code(2)), Some(Outcome::New));
        assert_eq!(classify(&mut diff, &code(1)), None, "a repeat");
        assert_eq!(diff.total, 2);
        assert_eq!(diff.repeats.len(), 1);
        assert_eq!(diff.repeats[0].fingerprint, code(1).fingerprint.to_vec());
    }

    #[test]
    fn a_scope_that_holds_findings_looks_up_the_ones_it_does_not_hold() {
        // an empty read (every finding fixed and verified) is not an empty scope
        let mut diff = diff(Vec::new());
        assert_eq!(classify(&mut diff, &code(1)), Some(Outcome::LookUp));
    }

    #[test]
    fn known_findings_are_unchanged_only_when_live_with_the_same_content() {
        let same = code(1);
        let changed = code(2);
        let fixed = code(3);
        let unhashed = code(4);
        let runtime = encoded(5, Layer::Runtime, Severity::High, "an alert");
        let mut diff = diff(vec![
            known(&same, 1),
            Known {
                content_hash: Some([0; 16]),
                ..known(&changed, 2)
            },
            Known {
                live: false,
                ..known(&fixed, 3)
            },
            Known {
                content_hash: None,
                ..known(&unhashed, 4)
            },
            known(&runtime, 5),
        ]);
        assert_eq!(classify(&mut diff, &same), Some(Outcome::Unchanged));
        assert_eq!(classify(&mut diff, &changed), Some(Outcome::Rewrite));
        assert_eq!(
            classify(&mut diff, &fixed),
            Some(Outcome::Rewrite),
            "reopens"
        );
        assert_eq!(classify(&mut diff, &unhashed), Some(Outcome::Rewrite));
        assert_eq!(
            classify(&mut diff, &runtime),
            Some(Outcome::Rewrite),
            "an alert always counts its new events"
        );
        assert_eq!(classify(&mut diff, &code(6)), Some(Outcome::LookUp));
        assert_eq!(diff.total, 6);
        assert!(diff.repeats.is_empty());
        assert!(diff.unchanged_gate_candidates.is_empty());
    }

    #[test]
    fn unchanged_gate_candidates_are_kept_for_the_gate() {
        let (candidate, changed_candidate, plain) = (code(1), code(2), code(3));
        let mut diff = diff(vec![
            Known {
                gate_candidate: true,
                ..known(&candidate, 10)
            },
            Known {
                gate_candidate: true,
                live: false,
                ..known(&changed_candidate, 20)
            },
            known(&plain, 30),
        ]);
        for f in [&candidate, &changed_candidate, &plain] {
            classify(&mut diff, f);
        }
        // a rewritten one is judged with the staged rows instead
        assert_eq!(diff.unchanged_gate_candidates, vec![10]);
    }

    #[test]
    fn a_repeat_keeps_the_worst_severity_it_was_reported_at() {
        let mut diff = ScopeDiff::new(None);
        for severity in [Severity::Low, Severity::Critical, Severity::Medium] {
            classify(&mut diff, &encoded(1, Layer::Code, severity, "t"));
        }
        assert_eq!(diff.total, 1);
        assert_eq!(diff.seen[&code(1).fingerprint].severity, Severity::Critical);
        let repeated: Vec<Severity> = diff.repeats.iter().map(|r| r.severity).collect();
        assert_eq!(repeated, vec![Severity::Critical, Severity::Medium]);
    }

    #[test]
    fn a_known_finding_reported_twice_is_a_repeat() {
        let f = with_occurrences(1, 2);
        let mut diff = diff(vec![known(&f, 1)]);
        assert_eq!(classify(&mut diff, &f), Some(Outcome::Unchanged));
        assert_eq!(classify(&mut diff, &f), None);
        assert_eq!(diff.scope.first_report(&f.fingerprint), Some(2));
        assert_eq!(diff.total, 1);
    }

    #[test]
    fn repeat_totals_add_every_report_to_the_first() {
        let in_scope = with_occurrences(1, 2);
        let mut diff = diff(vec![known(&in_scope, 1)]);
        for f in [
            with_occurrences(1, 2),
            with_occurrences(1, 3),
            with_occurrences(2, 1),
            with_occurrences(2, 1),
            with_occurrences(2, 4),
            with_occurrences(3, 1),
            with_occurrences(3, u32::MAX),
            with_occurrences(4, 1),
        ] {
            classify(&mut diff, &f);
        }
        let (fps, totals) = diff.repeat_totals();
        let totals: HashMap<&[u8], i32> = fps.into_iter().zip(totals).collect();
        assert_eq!(totals.len(), 3, "only repeated fingerprints: {totals:?}");
        assert_eq!(totals[&in_scope.fingerprint[..]], 5);
        assert_eq!(totals[&code(2).fingerprint[..]], 6);
        assert_eq!(totals[&code(3).fingerprint[..]], i32::MAX, "capped to int4");
    }

    #[test]
    fn a_first_report_is_overdue_from_when_it_was_first_seen() {
        let mut diff = ScopeDiff::new(None);
        let mut old = NewFinding::new([1; 32], Layer::Runtime, Severity::Critical, "alert");
        old.seen = Some((now() - chrono::Duration::days(8), now()));
        let old = EncodedFinding::of("falco", "cluster", &old);
        let fresh = encoded(2, Layer::Secret, Severity::Critical, "key");
        classify(&mut diff, &old);
        classify(&mut diff, &fresh);
        // critical is due after 7 days by default
        assert_eq!(diff.seen[&old.fingerprint].overdue & 1, 1);
        assert_eq!(diff.seen[&fresh.fingerprint].overdue, 0);
        assert!(diff.seen[&fresh.fingerprint].secret);
        assert!(!diff.seen[&old.fingerprint].secret);
    }

    fn row_context() -> RowContext {
        RowContext {
            project_id: 1,
            scan_id: 2,
            now: now(),
            assignee_user_id: None,
            assignee_team_id: Some(3),
            sla: SlaPolicy::default(),
        }
    }

    #[test]
    fn new_findings_are_inserted_in_report_order() {
        let mut diff = ScopeDiff::new(None);
        let fresh = vec![code(3), code(1), code(2)];
        let outcomes: Vec<Outcome> = fresh
            .iter()
            .map(|f| classify(&mut diff, f).unwrap())
            .collect();
        let (new_rows, staged_rows) = diff.rows(&row_context(), &fresh, outcomes);
        assert!(!new_rows.is_empty());
        assert!(staged_rows.is_empty());
        assert_eq!((diff.new, diff.staged, diff.unchanged), (3, 0, 0));
        let order: Vec<Option<u32>> = fresh
            .iter()
            .map(|f| diff.seen[&f.fingerprint].inserted)
            .collect();
        assert_eq!(order, vec![Some(0), Some(1), Some(2)]);
    }

    #[test]
    fn rewrites_are_staged_and_unchanged_findings_only_counted() {
        let (same, fixed) = (code(1), code(2));
        let mut diff = diff(vec![
            known(&same, 1),
            Known {
                live: false,
                ..known(&fixed, 2)
            },
        ]);
        let fresh = vec![same, fixed];
        let outcomes: Vec<Outcome> = fresh
            .iter()
            .map(|f| classify(&mut diff, f).unwrap())
            .collect();
        let (new_rows, staged_rows) = diff.rows(&row_context(), &fresh, outcomes);
        assert!(new_rows.is_empty());
        assert!(!staged_rows.is_empty());
        assert_eq!((diff.new, diff.staged, diff.unchanged), (0, 1, 1));
    }

    #[test]
    #[should_panic(expected = "every lookup was answered")]
    fn rows_need_every_lookup_answered() {
        let mut diff = diff(Vec::new());
        let fresh = vec![code(1)];
        let outcomes = vec![classify(&mut diff, &fresh[0]).unwrap()];
        diff.rows(&row_context(), &fresh, outcomes);
    }

    #[test]
    fn what_the_scan_did_not_report_is_left_unreported() {
        let findings: Vec<EncodedFinding> = (1..=4).map(code).collect();
        let mut diff = diff(
            findings
                .iter()
                .zip([10, 20, 30, 40])
                .map(|(f, id)| known(f, id))
                .collect(),
        );
        classify(&mut diff, &findings[1]);
        classify(&mut diff, &findings[3]);
        classify(&mut diff, &code(9));
        let mut unreported = diff.unreported();
        unreported.sort_unstable();
        assert_eq!(unreported, vec![10, 30]);
    }
}
