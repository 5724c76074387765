//! kubeaudit JSON Lines (`kubeaudit all -p json`): one audit result per line (a JSON array of
//! the same objects is read too; blank lines are skipped).
//!
//! - Variants: kubeaudit 0.11 and later (to 0.22): `AuditResultName`, `ResourceKind`,
//!   `ResourceName`, `ResourceNamespace`, `ResourceApiVersion` (0.11: `ResourceVersion` /
//!   `ResourceGroup`, and an empty kind from cluster audits), the result's metadata
//!   flattened, `level`, `msg`. Lines of 0.9–0.10 (`AuditResultName` but no resource, so
//!   one result on N resources would be one finding) and of 0.8 and older (`KubeType`,
//!   `Name`, `FindingID`, no `AuditResultName`) are refused (422, naming the line), never
//!   merged into fewer findings.
//! - One finding per line: one auditor result (`AuditResultName`) on one resource, for one
//!   container, capability or annotation where the result names one. Lines with the same
//!   fingerprint are merged, counting occurrences.
//! - Severity: kubeaudit's `level`: error → high, warning → medium, info → info; any other
//!   level → medium.
//! - Layer: cluster-config. Asset: the workload (`Workload`, key `namespace/Kind/name`, the
//!   namespace left out for cluster-scoped resources).
//! - Fingerprint (`kubeaudit/v1`): result name, namespace, kind, name, container, the
//!   result's `Metadata` (the capability) and missing annotation. Not the message, time,
//!   level or API version (moving `policy/v1beta1` to `policy/v1` is the fix, not a new
//!   resource).

use app::domain::{Layer, Severity};
use serde::Deserialize;
use serde_json::Value;

use super::support::{
    self, DESCRIPTION_MAX, Repeats, TITLE_MAX, has_any_key, has_key, object_path, set_workload,
};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct Kubeaudit;

const NAME: &str = "kubeaudit";

#[derive(Deserialize, Default)]
#[serde(default)]
struct Item {
    #[serde(rename = "AuditResultName")]
    audit_result_name: String,
    #[serde(rename = "ResourceKind")]
    resource_kind: String,
    #[serde(rename = "ResourceName")]
    resource_name: String,
    #[serde(rename = "ResourceNamespace")]
    resource_namespace: String,
    #[serde(rename = "ResourceApiVersion")]
    resource_api_version: String,
    #[serde(rename = "Namespace")]
    namespace: String,
    #[serde(rename = "Container")]
    container: String,
    #[serde(rename = "Metadata")]
    metadata: Value,
    #[serde(rename = "MissingAnnotation")]
    missing_annotation: String,
    level: String,
    msg: String,
}

impl ReportFormat for Kubeaudit {
    fn sniff(&self, body: &[u8]) -> bool {
        let head = support::head(body);
        let first = head
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        (first.starts_with('{') || first.starts_with('['))
            && has_key(first, "AuditResultName")
            && has_any_key(first, &["ResourceKind", "level"])
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let items = super::support::json_items(NAME, body)?;
        let mut findings = Repeats::default();
        for (line, raw) in items {
            if !is_result(&raw) {
                let mut err = ParseError::layout(NAME, EXPECTED);
                err.line = line;
                return Err(err);
            }
            let item: Item = serde_json::from_value(raw.clone()).map_err(|e| {
                let mut err = ParseError::from_json(NAME, &e);
                err.line = line;
                err.column = None;
                err
            })?;
            let f = finding(&item, &raw);
            findings.add(f);
        }
        Ok(ParsedReport {
            scanner: "kubeaudit".to_string(),
            scanner_version: None,
            findings: findings.into_findings(),
            skipped: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// The layout read, for a layout refusal.
const EXPECTED: &str = "kubeaudit 0.11 or later JSON lines (`kubeaudit all -p json`), each \
     with `AuditResultName` and the resource (`ResourceKind`, `ResourceName`, \
     `ResourceNamespace`); kubeaudit 0.9 and 0.10 name no resource, and 0.8 and older no \
     result, so their lines cannot be told apart";

/// Whether a line is a result of kubeaudit 0.11 or later: a result name and the resource's
/// `ResourceKind`, which 0.11 and later always write (empty from early 0.11 cluster audits,
/// which knew no kind; then `ResourceName` tells resources apart). 0.9–0.10 lines have no
/// resource, so one result on N resources would be one finding; 0.8 and older lines
/// (`KubeType`, `Name`, `FindingID`) have no result name.
fn is_result(raw: &Value) -> bool {
    let name = raw
        .get("AuditResultName")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty());
    name && raw.get("ResourceKind").is_some_and(Value::is_string)
}

fn severity(level: &str) -> Severity {
    match level.trim().to_ascii_lowercase().as_str() {
        "error" => Severity::High,
        "warning" => Severity::Medium,
        "info" => Severity::Info,
        _ => Severity::Medium,
    }
}

/// The first sentence of a message: "Resource limits not set." → "Resource limits not set".
fn first_sentence(text: &str) -> String {
    let line = normalize::first_line(text, TITLE_MAX);
    let sentence = match line.find(". ") {
        Some(i) => &line[..i],
        None => line.trim_end_matches('.'),
    };
    sentence.trim().to_string()
}

fn finding(item: &Item, raw: &Value) -> NewFinding {
    let rule = item.audit_result_name.trim();
    let namespace = [&item.resource_namespace, &item.namespace]
        .into_iter()
        .map(|s| s.trim())
        .find(|s| !s.is_empty())
        .unwrap_or("");
    let (kind, name) = (item.resource_kind.trim(), item.resource_name.trim());
    let container = item.container.trim();
    let metadata = match &item.metadata {
        Value::String(s) => s.trim().to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let annotation = item.missing_annotation.trim();

    let mut fp = Fingerprint::new("kubeaudit/v1");
    fp.push(rule)
        .push(namespace)
        .push(kind)
        .push(name)
        .push(container)
        .push(&metadata)
        .push(annotation);

    let title = match first_sentence(&item.msg) {
        t if t.is_empty() => rule.to_string(),
        t => t,
    };
    let mut description = item.msg.trim().to_string();
    for (label, value) in [
        ("Auditor result", rule),
        ("Container", container),
        ("Detail", metadata.as_str()),
        ("API version", item.resource_api_version.trim()),
    ] {
        if !value.is_empty() {
            description.push_str(&format!("\n{label}: {value}"));
        }
    }
    let label = object_path(&[namespace, kind, name]);

    let mut f = NewFinding::new(
        fp.finish(),
        Layer::ClusterConfig,
        severity(&item.level),
        title,
    );
    f.rule_id = rule.to_string();
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    f.location = if container.is_empty() {
        label.clone()
    } else {
        format!("{label} (container {container})")
    };
    set_workload(&mut f, namespace, kind, name, label);
    f.evidence = Some(normalize::evidence(raw));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{
        assert_distinct, assert_kept, fixture, parse_error,
    };

    const REPORT: &[u8] = fixture!("kubeaudit", "cluster-audit.jsonl");

    #[test]
    fn fingerprints_tell_capabilities_apart_and_ignore_time() {
        let a = Kubeaudit.parse(REPORT).unwrap();
        assert_ne!(a.findings[1].fingerprint, a.findings[2].fingerprint);
        let text =
            String::from_utf8_lossy(REPORT).replace("2026-11-20T09:00:01Z", "2026-11-27T10:11:12Z");
        let mut lines: Vec<&str> = text.lines().collect();
        lines.reverse();
        let b = Kubeaudit.parse(lines.join("\n").as_bytes()).unwrap();
        assert_kept(&a, &b);
        assert_distinct(&a);
        // a repeated line is merged
        let doubled = format!("{text}\n{}", text.lines().next().unwrap());
        let c = Kubeaudit.parse(doubled.as_bytes()).unwrap();
        assert_eq!(c.findings.len(), 7);
        assert_eq!(c.findings[0].occurrences, 2);
    }

    #[test]
    fn a_json_array_is_read_too() {
        let text = String::from_utf8_lossy(REPORT);
        let items: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let array = format!("[{}]", items.join(","));
        let parsed = Kubeaudit.parse(array.as_bytes()).unwrap();
        assert_eq!(parsed.findings, Kubeaudit.parse(REPORT).unwrap().findings);
    }

    #[test]
    fn lines_of_kubeaudit_before_0_11_are_refused() {
        // 0.9/0.10: the same result on two deployments, with no resource to tell them apart
        let v0_10 = br#"{"AuditResultName":"RunAsNonRootPSCNilCSCNil","Container":"app","level":"error","msg":"runAsNonRoot should be set to true or runAsUser should be set to a value > 0 either in the container SecurityContext or PodSecurityContext.","time":"2020-07-20T10:00:00Z"}
{"AuditResultName":"RunAsNonRootPSCNilCSCNil","Container":"app","level":"error","msg":"runAsNonRoot should be set to true or runAsUser should be set to a value > 0 either in the container SecurityContext or PodSecurityContext.","time":"2020-07-20T10:00:00Z"}"#;
        assert!(Kubeaudit.sniff(v0_10));
        let err = Kubeaudit.parse(v0_10).unwrap_err();
        assert!(err.layout);
        assert_eq!(err.line, Some(1));
        assert!(err.message.contains("0.11"), "{}", err.message);
        // 0.8 (logrus fields, no result name)
        let v0_8 = br#"{"Container":"app","FindingID":"ErrorRunAsNonRootPSCNilCSCNil","KubeType":"deployment","Name":"api","Namespace":"shop","level":"error","msg":"RunAsNonRoot is not set in ContainerSecurityContext, which results in root user being allowed!","time":"2020-03-01T10:00:00Z"}"#;
        assert!(Kubeaudit.parse(v0_8).unwrap_err().layout);
        // one such line among 0.11 lines refuses the report, with its line
        let text = String::from_utf8_lossy(REPORT);
        let mixed = format!("{}\n{}", text.trim_end(), String::from_utf8_lossy(v0_8));
        let err = Kubeaudit.parse(mixed.as_bytes()).unwrap_err();
        assert!(err.layout);
        assert_eq!(err.line, Some(mixed.lines().count()));
        // early 0.11 cluster audits wrote an empty kind: still read, told apart by name
        let empty_kind = br#"{"AuditResultName":"LimitsNotSet","Container":"app","ResourceGroup":"core","ResourceKind":"","ResourceName":"api","ResourceNamespace":"shop","ResourceVersion":"","level":"warning","msg":"Resource limits not set.","time":"2020-09-01T10:00:00Z"}
{"AuditResultName":"LimitsNotSet","Container":"app","ResourceGroup":"core","ResourceKind":"","ResourceName":"web","ResourceNamespace":"shop","ResourceVersion":"","level":"warning","msg":"Resource limits not set.","time":"2020-09-01T10:00:00Z"}"#;
        assert_eq!(Kubeaudit.parse(empty_kind).unwrap().findings.len(), 2);
    }

    #[test]
    fn malformed_line_is_a_parse_error_with_its_line() {
        let text = String::from_utf8_lossy(REPORT);
        let broken = text.replacen("\n", "\n{\"AuditResultName\": \n", 2);
        let err = parse_error(&Kubeaudit, broken.as_bytes());
        assert_eq!(err.line, Some(2));
        assert!(Kubeaudit.parse(b"{\"AuditResultName\": 5}").is_err());
        assert!(Kubeaudit.parse(b"[1]").is_err());
        assert!(Kubeaudit.parse(b"7").is_err());
    }
}
