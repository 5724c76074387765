//! What the format modules' tests share: their fixtures, finding a finding by rule, and the
//! (rule, severity) list most mapping tests compare.

use app::domain::Severity;

use crate::ingest::{NewFinding, ParsedReport};

/// A fixture's bytes, read at compile time: `fixture!("trivy", "image.json")` is
/// `server/fixtures/trivy/image.json`.
macro_rules! fixture {
    ($format:literal, $file:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/",
            $format,
            "/",
            $file
        ))
    };
}
pub(crate) use fixture;

/// The first finding of `rule`; a test that asks for a rule expects it to be there.
pub fn find<'a>(report: &'a ParsedReport, rule: &str) -> &'a NewFinding {
    report
        .findings
        .iter()
        .find(|f| f.rule_id == rule)
        .unwrap_or_else(|| panic!("no finding {rule}"))
}

/// Each finding's rule and severity, in report order.
pub fn rules_and_severities(report: &ParsedReport) -> Vec<(&str, Severity)> {
    report
        .findings
        .iter()
        .map(|f| (f.rule_id.as_str(), f.severity))
        .collect()
}
