//! KubeLinter JSON (`kube-linter lint --format json`: `Checks`, `Reports`, `Summary`).
//!
//! - Variants: the JSON of KubeLinter 0.2 and later (`Reports` may be `null` when clean). A
//!   report whose `Summary` says checks failed while no report is readable is refused (422).
//!   KubeLinter's SARIF is read by [`super::sarif`] with this module's identity.
//! - One finding per entry of `Reports`: one check failing on one object (and, for
//!   container checks, one container: the diagnostic names it, `container "api" …`).
//!   Reports with the same fingerprint are merged, counting occurrences.
//! - Severity: KubeLinter has no severities; every report is medium (a failed policy check).
//! - Layer: cluster-config. Asset: the workload (`Workload`, key `namespace/Kind/name`, the
//!   namespace left out when the manifest has none).
//! - Fingerprint (`kube_linter/v1`): check name, manifest file path, namespace, kind, name and
//!   the container named in the diagnostic. Not the diagnostic text itself (it carries values
//!   such as the image tag that change without the problem changing).

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use serde::Deserialize;
use serde_json::Value;

use super::support::{
    DESCRIPTION_MAX, Repeats, TITLE_MAX, has_key, has_keys, json_head, json_object, object_path,
    set_workload,
};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct KubeLinter;

const NAME: &str = "kube_linter";

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Output {
    checks: Vec<CheckInfo>,
    reports: Option<Vec<Value>>,
    summary: Summary,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Summary {
    kube_linter_version: Option<String>,
    /// `Passed` or `Failed`: KubeLinter's own verdict.
    checks_status: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CheckInfo {
    name: String,
    description: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Report {
    diagnostic: Diagnostic,
    check: String,
    remediation: String,
    object: Object,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Diagnostic {
    message: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Object {
    metadata: ObjectMetadata,
    #[serde(rename = "K8sObject")]
    k8s_object: K8sObject,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct ObjectMetadata {
    file_path: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct K8sObject {
    namespace: String,
    name: String,
    group_version_kind: Gvk,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Gvk {
    kind: String,
}

impl ReportFormat for KubeLinter {
    fn sniff(&self, body: &[u8]) -> bool {
        json_head(body).is_some_and(|head| {
            has_key(&head, "KubeLinterVersion")
                || has_keys(&head, &["Reports", "K8sObject"])
                // the check list comes first and can fill the first 8 KiB on its own
                || has_keys(&head, &["Checks", "objectKinds", "template"])
        })
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let root = json_object(NAME, body, "expected a JSON object with \"Reports\"")?;
        let output: Output =
            serde_json::from_value(root).map_err(|e| ParseError::from_json(NAME, &e))?;
        let descriptions: HashMap<&str, &str> = output
            .checks
            .iter()
            .map(|c| (c.name.as_str(), c.description.as_str()))
            .collect();
        let mut findings = Repeats::default();
        for raw in output.reports.iter().flatten() {
            let report: Report =
                serde_json::from_value(raw.clone()).map_err(|e| ParseError::from_json(NAME, &e))?;
            let f = finding(&report, &descriptions, raw);
            findings.add(f);
        }
        let failed = output
            .summary
            .checks_status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("failed"));
        if findings.is_empty() && failed {
            return Err(ParseError::layout(
                NAME,
                "the failing checks its summary reports, as `Reports[]` with `Check`, `Diagnostic` \
                 and `Object.K8sObject` (kube-linter lint --format json, 0.x)",
            ));
        }
        Ok(ParsedReport {
            scanner: "KubeLinter".to_string(),
            scanner_version: output.summary.kube_linter_version.filter(|v| !v.is_empty()),
            findings: findings.into_findings(),
            skipped: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// The identity of a report (`kube_linter/v1`), shared by KubeLinter's JSON and its SARIF
/// (read by [`super::sarif`], from the result's logical locations).
pub fn identity(
    check: &str,
    path: &str,
    namespace: &str,
    kind: &str,
    name: &str,
    container: &str,
) -> [u8; 32] {
    Fingerprint::new("kube_linter/v1")
        .push(check)
        .push(path)
        .push(namespace)
        .push(kind)
        .push(name)
        .push(container)
        .finish()
}

/// The container a diagnostic names (`container "api" does not …`).
pub fn container(message: &str) -> Option<&str> {
    let start = message.find("container \"")? + "container \"".len();
    let rest = message.get(start..)?;
    let end = rest.find('"')?;
    rest.get(..end)
}

fn finding(report: &Report, descriptions: &HashMap<&str, &str>, raw: &Value) -> NewFinding {
    let check = report.check.trim();
    let obj = &report.object.k8s_object;
    let (namespace, kind, name) = (
        obj.namespace.trim(),
        obj.group_version_kind.kind.trim(),
        obj.name.trim(),
    );
    let path = normalize::path(&report.object.metadata.file_path);
    let message = report.diagnostic.message.trim();
    let container = container(message).unwrap_or("");

    let fingerprint = identity(check, &path, namespace, kind, name, container);

    let title = if check.is_empty() {
        normalize::first_line(message, TITLE_MAX)
    } else {
        normalize::bounded(check, TITLE_MAX)
    };
    let mut description = message.to_string();
    if let Some(d) = descriptions.get(check).filter(|d| !d.trim().is_empty()) {
        description.push_str("\n\n");
        description.push_str(d.trim());
    }
    let label = object_path(&[namespace, kind, name]);

    let mut f = NewFinding::new(fingerprint, Layer::ClusterConfig, Severity::Medium, title);
    f.rule_id = check.to_string();
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    f.remediation = normalize::bounded(report.remediation.trim(), DESCRIPTION_MAX);
    if !check.is_empty() {
        f.references = vec![format!(
            "https://docs.kubelinter.io/#/generated/checks?id={check}"
        )];
    }
    f.location = match (label.is_empty(), path.is_empty()) {
        (false, false) => format!("{label} ({path})"),
        (false, true) => label.clone(),
        (true, _) => path.clone(),
    };
    f.file_path = Some(path).filter(|p| !p.is_empty());
    set_workload(&mut f, namespace, kind, name, label);
    f.evidence = Some(normalize::evidence(raw));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{assert_kept, first, fixture, parse_error};

    const REPORT: &[u8] = fixture!("kube_linter", "lint.json");

    #[test]
    fn one_finding_per_report_all_medium() {
        let f = first(&KubeLinter, REPORT);
        assert!(f.description.contains("read-only root filesystem"));
        assert!(f.remediation.contains("readOnlyRootFilesystem"));
    }

    #[test]
    fn containers_are_told_apart_and_repeats_merged() {
        let parsed = KubeLinter.parse(REPORT).unwrap();
        assert_ne!(
            parsed.findings[0].fingerprint,
            parsed.findings[1].fingerprint
        );
        let mut root: Value = serde_json::from_slice(REPORT).unwrap();
        let first = root["Reports"][0].clone();
        root["Reports"].as_array_mut().unwrap().push(first);
        let again = KubeLinter.parse(root.to_string().as_bytes()).unwrap();
        assert_eq!(again.findings.len(), 4);
        assert_eq!(again.findings[0].occurrences, 2);
    }

    #[test]
    fn fingerprint_is_stable() {
        let a = KubeLinter.parse(REPORT).unwrap();
        let mut root: Value = serde_json::from_slice(REPORT).unwrap();
        root["Reports"].as_array_mut().unwrap().reverse();
        root["Summary"]["KubeLinterVersion"] = "v0.7.0".into();
        root["Reports"][0]["Diagnostic"]["Message"] =
            "no pods found matching service labels (map[app:legacy tier:web])".into();
        let b = KubeLinter.parse(root.to_string().as_bytes()).unwrap();
        assert_kept(&a, &b);
    }

    #[test]
    fn sniffs_kube_linter_only() {
        assert!(KubeLinter.sniff(REPORT));
        assert!(!KubeLinter.sniff(br#"{"version":"2.1.0","runs":[]}"#));
        assert!(!KubeLinter.sniff(br#"{"check_type":"kubernetes","results":{}}"#));
        // a long check list pushes the reports past the sniffed prefix
        let checks_only = br#"{"Checks": [{"name": "latest-tag", "scope": {"objectKinds": ["DeploymentLike"]}, "template": "latest-tag"}"#;
        assert!(KubeLinter.sniff(checks_only));
    }

    #[test]
    fn malformed_input_is_a_parse_error() {
        let err = parse_error(&KubeLinter, b"{\"Reports\": [}");
        assert!(err.line.is_some());
        assert!(KubeLinter.parse(b"[]").is_err());
        assert!(KubeLinter.parse(br#"{"Reports": [{"Check": 1}]}"#).is_err());
        assert!(
            KubeLinter
                .parse(br#"{"Reports": null}"#)
                .unwrap()
                .findings
                .is_empty()
        );
    }

    #[test]
    fn a_failed_summary_with_no_readable_report_is_refused() {
        let odd = br#"{"Checks":[],"Results":[{"Check":"privileged-container"}],"Summary":{"ChecksStatus":"Failed","KubeLinterVersion":"0.7.1"}}"#;
        assert!(KubeLinter.parse(odd).unwrap_err().layout);
        let clean = br#"{"Checks":[],"Reports":null,"Summary":{"ChecksStatus":"Passed"}}"#;
        assert_eq!(KubeLinter.parse(clean).unwrap().findings.len(), 0);
    }
}
