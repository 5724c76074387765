//! What the format modules' tests share: their fixtures, finding a finding by rule, a
//! one-line [`summary`] of a finding's key fields (so a test compares lines rather than a
//! field at a time; [`super::expected`] keeps each fixture's), the identity checks
//! ([`assert_kept`], [`assert_distinct`]) most fingerprint tests make, and
//! [`parse_error`] for the refusals.

use crate::ingest::{NewFinding, ParseError, ParsedReport, ReportFormat};

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

/// A finding's key fields on one line, so a test compares a list of lines rather than a
/// field at a time: `rule Severity Layer | title`, then, each only when set, `at location`,
/// `file path:line` (or `line N`), `pkg name version -> fixed`, `image`, `k8s ns/kind/name`
/// (`-` for a part not set), `asset Kind key` and `url`. A field left out is asserted empty.
pub fn summary(f: &NewFinding) -> String {
    use std::fmt::Write;
    let mut s = format!("{} {:?} {:?} | {}", f.rule_id, f.severity, f.layer, f.title);
    let opt = |v: &Option<String>| v.as_deref().unwrap_or("-").to_string();
    if !f.location.is_empty() {
        let _ = write!(s, " | at {}", f.location);
    }
    match (&f.file_path, f.line) {
        (Some(p), Some(l)) => {
            let _ = write!(s, " | file {p}:{l}");
        }
        (Some(p), None) => {
            let _ = write!(s, " | file {p}");
        }
        (None, Some(l)) => {
            let _ = write!(s, " | line {l}");
        }
        (None, None) => {}
    }
    if f.package_name.is_some() || f.package_version.is_some() || f.fixed_version.is_some() {
        let _ = write!(
            s,
            " | pkg {} {}",
            opt(&f.package_name),
            opt(&f.package_version)
        );
        if let Some(fixed) = &f.fixed_version {
            let _ = write!(s, " -> {fixed}");
        }
    }
    if let Some(image) = &f.image {
        let _ = write!(s, " | image {image}");
    }
    if f.k8s_namespace.is_some() || f.k8s_kind.is_some() || f.k8s_name.is_some() {
        let (ns, kind, name) = (opt(&f.k8s_namespace), opt(&f.k8s_kind), opt(&f.k8s_name));
        let _ = write!(s, " | k8s {ns}/{kind}/{name}");
    }
    if let Some(asset) = &f.asset {
        let _ = write!(s, " | asset {:?} {}", asset.kind, asset.key);
    }
    if let Some(url) = &f.url {
        let _ = write!(s, " | url {url}");
    }
    s
}

/// [`summary`] of each finding, in report order.
pub fn summaries(report: &ParsedReport) -> Vec<String> {
    report.findings.iter().map(summary).collect()
}

/// The first finding of `rule` on package `pkg`.
pub fn find_pkg<'a>(report: &'a ParsedReport, rule: &str, pkg: &str) -> &'a NewFinding {
    report
        .findings
        .iter()
        .find(|f| f.rule_id == rule && f.package_name.as_deref() == Some(pkg))
        .unwrap_or_else(|| panic!("no finding {rule} {pkg}"))
}

/// `body` read by `format`, which must read it.
#[track_caller]
pub fn read(format: &dyn ReportFormat, body: &[u8]) -> ParsedReport {
    format
        .parse(body)
        .unwrap_or_else(|e| panic!("{} does not read it: {e}", format.name()))
}

/// The first finding `format` reads in `body`.
#[track_caller]
pub fn first(format: &dyn ReportFormat, body: &[u8]) -> NewFinding {
    let mut report = read(format, body);
    assert!(
        !report.findings.is_empty(),
        "{} finds nothing",
        format.name()
    );
    report.findings.swap_remove(0)
}

/// The error `format` gives for `body`, which must be its own (named after the format).
#[track_caller]
pub fn parse_error(format: &dyn ReportFormat, body: &[u8]) -> ParseError {
    let err = match format.parse(body) {
        Ok(_) => panic!("{} read a body it should refuse", format.name()),
        Err(err) => err,
    };
    assert_eq!(err.format, format.name());
    err
}

/// A report's header and size: scanner, version, how many findings and skipped items.
pub fn header(report: &ParsedReport) -> (&str, Option<&str>, usize, usize) {
    (
        report.scanner.as_str(),
        report.scanner_version.as_deref(),
        report.findings.len(),
        report.skipped.len(),
    )
}

/// Every fingerprint of `before` is one of `after`'s: what a test that reorders, retags or
/// rewords a report expects to have kept each finding's identity.
#[track_caller]
pub fn assert_kept(before: &ParsedReport, after: &ParsedReport) {
    for f in &before.findings {
        assert!(
            after
                .findings
                .iter()
                .any(|g| g.fingerprint == f.fingerprint),
            "{} lost its identity",
            summary(f)
        );
    }
}

/// `after` has as many findings as `before`, and each finding of `before` has the identity
/// of the finding of `after` that `same` picks for it (the same rule, package, file…).
#[track_caller]
pub fn assert_same_identities<'a>(
    before: &ParsedReport,
    after: &'a ParsedReport,
    same: impl Fn(&'a ParsedReport, &NewFinding) -> &'a NewFinding,
) {
    assert_eq!(before.findings.len(), after.findings.len());
    for f in &before.findings {
        assert_eq!(f.fingerprint, same(after, f).fingerprint, "{}", f.rule_id);
    }
}

/// No finding `format` reads in any of `bodies` shows any of `secrets`, in any field.
#[track_caller]
pub fn assert_secrets_kept_out(format: &dyn ReportFormat, bodies: &[&[u8]], secrets: &[&str]) {
    for body in bodies {
        for f in read(format, body).findings {
            let all = format!("{f:?}");
            for secret in secrets {
                assert!(!all.contains(secret), "{secret} leaked in {all}");
            }
        }
    }
}

/// `body` as text with each `(from, to)` replaced, in order: a report edited the way a rescan
/// would change it.
pub fn edited(body: &[u8], edits: &[(&str, &str)]) -> String {
    let mut text = String::from_utf8_lossy(body).into_owned();
    for (from, to) in edits {
        text = text.replace(from, to);
    }
    text
}

/// A JSON document with the list at `pointer` in reverse order: the same findings reported
/// in another order.
pub fn reversed(json: &str, pointer: &str) -> String {
    let mut root: serde_json::Value = serde_json::from_str(json).expect("JSON");
    root.pointer_mut(pointer)
        .and_then(serde_json::Value::as_array_mut)
        .expect("a list")
        .reverse();
    root.to_string()
}

/// A report's fingerprints, sorted: two reports with the same findings in another order
/// compare equal.
pub fn sorted_fingerprints(report: &ParsedReport) -> Vec<[u8; 32]> {
    let mut fps: Vec<_> = report.findings.iter().map(|f| f.fingerprint).collect();
    fps.sort();
    fps
}

/// No two findings of a report share a fingerprint.
#[track_caller]
pub fn assert_distinct(report: &ParsedReport) {
    let mut fps: Vec<_> = report.findings.iter().map(|f| f.fingerprint).collect();
    fps.sort();
    fps.dedup();
    assert_eq!(
        fps.len(),
        report.findings.len(),
        "fingerprints are distinct"
    );
}
