//! The last step: the answer to the sender. Each project's part of a scan ends in a
//! [`ProjectOutcome`]; the report's [`IngestOutcome`] sums them, with the items the parser
//! skipped (tallied by reason while it ran) and the findings no routing rule took.

use serde::Serialize;

use super::Header;
use crate::gate::GateVerdict;
use crate::ingest::normalize;

/// The answer to a sender: counts per outcome, summed over every project the report
/// reached (one, unless a team or cluster token routed it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IngestOutcome {
    /// The scan row (the first one, when the report was routed into several projects).
    pub scan_id: i64,
    /// The project (comma-separated when routed into several).
    pub project: String,
    pub format: String,
    pub scanner: String,
    pub scanner_version: Option<String>,
    /// Findings seen for the first time.
    pub new: i64,
    /// Findings already known (re-sent).
    pub unchanged: i64,
    /// Findings that were fixed and came back (not counted in `unchanged`).
    pub reopened: i64,
    /// Findings of this scope the scan no longer contains: now fixed (verified by scan).
    pub fixed: i64,
    /// Distinct findings in the report that were stored.
    pub total: i64,
    /// Why missing findings were not auto-closed, when they were not.
    pub auto_close_skipped: Option<String>,
    /// The CI gate, evaluated on this scan (every project's rules, when routed).
    pub gate: GateVerdict,
    /// Findings no routing rule matched (team and cluster tokens only): not stored.
    #[serde(skip_serializing_if = "is_zero")]
    pub unrouted: i64,
    /// Per project, when a team or cluster token routed the report.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routed: Vec<ProjectOutcome>,
    /// Items of the report that did not become findings, counted by why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedItems>,
}

/// Items of a report skipped for one reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SkippedItems {
    pub reason: String,
    pub count: u32,
}

/// Distinct reasons kept per report; more are counted under one line.
const SKIPPED_REASONS_MAX: usize = 20;

pub(super) fn tally_skipped(tally: &mut Vec<SkippedItems>, reason: String) {
    let reason = normalize::bounded(&reason, 300);
    if let Some(entry) = tally.iter_mut().find(|e| e.reason == reason) {
        entry.count = entry.count.saturating_add(1);
    } else if tally.len() < SKIPPED_REASONS_MAX {
        tally.push(SkippedItems { reason, count: 1 });
    } else {
        tally_skipped_other(tally);
    }
}

fn tally_skipped_other(tally: &mut [SkippedItems]) {
    const OTHER: &str = "other reasons";
    match tally.iter_mut().find(|e| e.reason == OTHER) {
        Some(entry) => entry.count = entry.count.saturating_add(1),
        None => {
            if let Some(last) = tally.last_mut() {
                last.reason = OTHER.to_string();
                last.count = last.count.saturating_add(1);
            }
        }
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// One project's share of a routed report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ProjectOutcome {
    pub project: String,
    pub scan_id: i64,
    pub new: i64,
    pub unchanged: i64,
    pub reopened: i64,
    pub fixed: i64,
    pub total: i64,
    pub auto_close_skipped: Option<String>,
    pub gate: GateVerdict,
}

impl IngestOutcome {
    /// The report's answer from its projects' outcomes, in destination order. `routed`:
    /// a team or cluster token's routing rules chose the projects, and the answer lists
    /// each one's share.
    pub(super) fn summed(
        format: &str,
        header: Header,
        outcomes: Vec<ProjectOutcome>,
        routed: bool,
        unrouted: i64,
        skipped: Vec<SkippedItems>,
    ) -> IngestOutcome {
        let sum = |f: fn(&ProjectOutcome) -> i64| outcomes.iter().map(f).sum::<i64>();
        IngestOutcome {
            scan_id: outcomes.first().map_or(0, |o| o.scan_id),
            project: outcomes
                .iter()
                .map(|o| o.project.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            format: format.to_string(),
            scanner: header.scanner,
            scanner_version: header.scanner_version,
            new: sum(|o| o.new),
            unchanged: sum(|o| o.unchanged),
            reopened: sum(|o| o.reopened),
            fixed: sum(|o| o.fixed),
            total: sum(|o| o.total),
            auto_close_skipped: outcomes.iter().find_map(|o| {
                o.auto_close_skipped.as_ref().map(|why| {
                    if routed {
                        format!("{}: {why}", o.project)
                    } else {
                        why.clone()
                    }
                })
            }),
            gate: GateVerdict::merge(outcomes.iter().map(|o| &o.gate)),
            unrouted,
            routed: if routed { outcomes } else { Vec::new() },
            skipped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(reasons: &[&str]) -> Vec<SkippedItems> {
        let mut tally = Vec::new();
        for reason in reasons {
            tally_skipped(&mut tally, reason.to_string());
        }
        tally
    }

    fn item(reason: &str, count: u32) -> SkippedItems {
        SkippedItems {
            reason: reason.into(),
            count,
        }
    }

    #[test]
    fn skipped_items_are_counted_by_reason_in_first_seen_order() {
        let tally = tally(&["no location", "no rule", "no location", "no location"]);
        assert_eq!(tally, vec![item("no location", 3), item("no rule", 1)]);
    }

    #[test]
    fn a_long_reason_is_bounded_and_its_repeats_still_add_up() {
        let long = "x".repeat(400);
        let tally = tally(&[&long, &long]);
        assert_eq!(tally.len(), 1);
        assert_eq!(tally[0].count, 2);
        assert_eq!(
            tally[0].reason.chars().count(),
            301,
            "300 characters and an ellipsis"
        );
        assert!(tally[0].reason.ends_with('…'));
    }

    #[test]
    fn reasons_past_the_cap_are_counted_under_other_reasons() {
        let reasons: Vec<String> = (0..SKIPPED_REASONS_MAX).map(|i| format!("r{i}")).collect();
        let mut tally = tally(&reasons.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(tally.len(), SKIPPED_REASONS_MAX);

        // the first reason over the cap takes the last line's place, counting both
        tally_skipped(&mut tally, "one more".into());
        assert_eq!(tally.len(), SKIPPED_REASONS_MAX);
        assert_eq!(tally.last(), Some(&item("other reasons", 2)));
        // later ones add to that line, and kept reasons still count their repeats
        tally_skipped(&mut tally, "and another".into());
        tally_skipped(&mut tally, "r0".into());
        assert_eq!(tally.len(), SKIPPED_REASONS_MAX);
        assert_eq!(tally.last(), Some(&item("other reasons", 3)));
        assert_eq!(tally[0], item("r0", 2));
        assert!(!tally.iter().any(|e| e.reason == "one more"));
    }

    #[test]
    fn counts_saturate() {
        let mut tally = vec![item("r", u32::MAX)];
        tally_skipped(&mut tally, "r".into());
        assert_eq!(tally, vec![item("r", u32::MAX)]);
    }

    fn passed() -> GateVerdict {
        GateVerdict {
            passed: true,
            violations: Vec::new(),
        }
    }

    fn project(name: &str, scan_id: i64, new: i64, skipped: Option<&str>) -> ProjectOutcome {
        ProjectOutcome {
            project: name.into(),
            scan_id,
            new,
            unchanged: 2,
            reopened: 1,
            fixed: 4,
            total: new + 3,
            auto_close_skipped: skipped.map(Into::into),
            gate: passed(),
        }
    }

    fn header() -> Header {
        Header {
            scanner: "trivy".into(),
            scanner_version: Some("0.50.0".into()),
        }
    }

    #[test]
    fn one_project_is_the_whole_answer() {
        let outcome = IngestOutcome::summed(
            "trivy",
            header(),
            vec![project("web", 7, 5, Some("partial scan"))],
            false,
            0,
            Vec::new(),
        );
        assert_eq!(outcome.scan_id, 7);
        assert_eq!(outcome.project, "web");
        assert_eq!((outcome.new, outcome.total, outcome.fixed), (5, 8, 4));
        assert_eq!(outcome.scanner, "trivy");
        assert_eq!(outcome.scanner_version.as_deref(), Some("0.50.0"));
        assert_eq!(outcome.auto_close_skipped.as_deref(), Some("partial scan"));
        assert!(outcome.routed.is_empty(), "not routed: no per-project list");
    }

    #[test]
    fn a_routed_report_sums_its_projects_and_lists_each() {
        let projects = vec![
            project("api", 3, 1, None),
            project("web", 4, 10, Some("suspiciously empty")),
        ];
        let outcome = IngestOutcome::summed(
            "sarif",
            header(),
            projects.clone(),
            true,
            6,
            vec![item("no rule", 2)],
        );
        assert_eq!(outcome.scan_id, 3, "the first project's scan");
        assert_eq!(outcome.project, "api, web");
        assert_eq!(outcome.format, "sarif");
        assert_eq!(outcome.new, 11);
        assert_eq!(outcome.unchanged, 4);
        assert_eq!(outcome.reopened, 2);
        assert_eq!(outcome.fixed, 8);
        assert_eq!(outcome.total, 17);
        assert_eq!(
            outcome.auto_close_skipped.as_deref(),
            Some("web: suspiciously empty"),
            "a routed reason names its project"
        );
        assert_eq!(outcome.unrouted, 6);
        assert_eq!(outcome.routed, projects);
        assert_eq!(outcome.skipped, vec![item("no rule", 2)]);
        assert!(outcome.gate.passed);
    }

    #[test]
    fn the_gate_fails_when_one_project_fails() {
        let mut failing = project("web", 4, 1, None);
        failing.gate.passed = false;
        let outcome = IngestOutcome::summed(
            "sarif",
            header(),
            vec![project("api", 3, 1, None), failing],
            true,
            0,
            Vec::new(),
        );
        assert!(!outcome.gate.passed);
    }

    #[test]
    fn empty_extras_are_left_out_of_the_answer() {
        let outcome = IngestOutcome::summed(
            "trivy",
            header(),
            vec![project("web", 7, 5, None)],
            false,
            0,
            Vec::new(),
        );
        let json = serde_json::to_value(&outcome).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for absent in ["unrouted", "routed", "skipped"] {
            assert!(!keys.contains(&absent), "{absent} in {keys:?}");
        }
        for present in [
            "scan_id",
            "project",
            "new",
            "fixed",
            "auto_close_skipped",
            "gate",
        ] {
            assert!(keys.contains(&present), "{present} not in {keys:?}");
        }
        assert_eq!(json["auto_close_skipped"], serde_json::Value::Null);
        assert_eq!(json["gate"]["passed"], true);
    }

    #[test]
    fn routed_extras_are_in_the_answer() {
        let outcome = IngestOutcome::summed(
            "sarif",
            header(),
            vec![project("api", 3, 1, None)],
            true,
            2,
            vec![item("no rule", 1)],
        );
        let json = serde_json::to_value(&outcome).unwrap();
        assert_eq!(json["unrouted"], 2);
        assert_eq!(json["routed"][0]["project"], "api");
        assert_eq!(json["routed"][0]["scan_id"], 3);
        assert_eq!(json["skipped"][0]["reason"], "no rule");
        assert_eq!(json["skipped"][0]["count"], 1);
    }
}
