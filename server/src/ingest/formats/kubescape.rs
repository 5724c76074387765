//! Kubescape JSON (`kubescape scan --format json`, format v2: `summaryDetails`, `results`,
//! `resources`), from a cluster scan or a scan of manifest files.
//!
//! - Variants: format v2 as Kubescape 2.x and 3.x write it, a control's status as
//!   `{"status": "failed"}` or a bare string, or only on its rules (then the control failed
//!   when one of its rules did). The v1 layout (a list of framework reports, Kubescape 1.x)
//!   is not claimed by detection. A report whose own `summaryDetails` counts failed
//!   resources, or whose controls carry no status anywhere, while nothing in it is readable
//!   is refused (422), never stored as a clean scan.
//! - One finding per failed control per resource (a control whose `status.status` is
//!   `failed` in a resource's `results` entry); its failed rules and their failed / fix paths
//!   go into the description and remediation, they are not findings of their own.
//! - Severity: the control's `severity` when the report gives one, else its `scoreFactor`
//!   (from `summaryDetails.controls`) on Kubescape's own scale: 9–10 → critical, 7–8 → high,
//!   4–6 → medium, 1–3 → low, 0 or unknown → info (i.e. [`Severity::from_cvss`]).
//! - Layer: cluster-config. Asset: the workload (`Workload`, key
//!   `[cluster/]namespace/Kind/name`, the namespace left out when the manifest has none),
//!   from the resource object's kind and metadata, else from the resource id.
//! - Fingerprint (`kubescape/v1`): control id, cluster name, namespace, kind, name and the
//!   manifest's relative path for file scans. Not the report GUID, the score, the failed
//!   paths or the absolute scan directory.

use app::domain::{Layer, Severity};
use serde_json::Value;

use super::support::{
    DESCRIPTION_MAX, TITLE_MAX, has_key, has_keys, json_head, json_object, set_workload,
};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct Kubescape;

const NAME: &str = "kubescape";

impl ReportFormat for Kubescape {
    fn sniff(&self, body: &[u8]) -> bool {
        json_head(body).is_some_and(|head| {
            has_key(&head, "summaryDetails") || has_keys(&head, &["customerGUID", "reportGUID"])
        })
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let root = json_object(NAME, body, "expected a JSON object with \"results\"")?;
        let cluster = text(&root, "/clusterName").trim().to_string();
        let controls = root.pointer("/summaryDetails/controls");
        let resources: Vec<&Value> = list(&root, "/resources");
        let mut findings = Vec::new();
        let mut unreadable = 0usize;
        for result in list(&root, "/results") {
            let resource_id = text(result, "/resourceID");
            let resource = resources
                .iter()
                .copied()
                .find(|r| text(r, "/resourceID") == resource_id);
            let workload = Workload::new(resource_id, resource, &cluster);
            for control in list(result, "/controls") {
                match control_status(control) {
                    Some(s) if s == "failed" => {}
                    Some(_) => continue,
                    None => {
                        unreadable += 1;
                        continue;
                    }
                }
                let id = text(control, "/controlID").trim();
                let summary = controls.and_then(|c| c.get(id));
                findings.push(finding(&workload, id, control, summary));
            }
        }
        // Kubescape's own summary counts failed resources: a report it says fails is never
        // read as clean, whatever its layout
        let failed_resources = root
            .pointer("/summaryDetails/ResourceCounters/failedResources")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if findings.is_empty() && (unreadable > 0 || failed_resources > 0) {
            return Err(ParseError::layout(
                NAME,
                "`results[].controls[]` each with a `status` (`{\"status\": \"failed\"}`) or \
                 rules with one (kubescape --format json, format v2)",
            ));
        }
        let skipped: Vec<String> = (0..unreadable)
            .map(|_| "a control without a status Bosun can read".to_string())
            .collect();
        let scanner_version = root
            .pointer("/metadata/scanMetadata/kubescapeVersion")
            .and_then(Value::as_str)
            .map(str::to_string)
            .filter(|v| !v.is_empty());
        Ok(ParsedReport {
            scanner: "Kubescape".to_string(),
            scanner_version,
            findings,
            skipped,
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn list<'a>(v: &'a Value, pointer: &str) -> Vec<&'a Value> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// A control's status: its own (`{"status": "failed"}` or a bare string), else what its
/// rules say (layouts that give status per rule only: failed when any rule failed);
/// `None` when neither says.
fn control_status(control: &Value) -> Option<String> {
    let own = status(control);
    if !own.is_empty() {
        return Some(own);
    }
    let rules: Vec<String> = list(control, "/rules")
        .into_iter()
        .map(status)
        .filter(|s| !s.is_empty())
        .collect();
    if rules.is_empty() {
        return None;
    }
    Some(if rules.iter().any(|s| s == "failed") {
        "failed".into()
    } else {
        rules[0].clone()
    })
}

/// `status` as `{"status": "failed"}` (v2) or a bare string.
fn status(v: &Value) -> String {
    match v.get("status") {
        Some(Value::String(s)) => s.to_ascii_lowercase(),
        Some(obj) => text(obj, "/status").to_ascii_lowercase(),
        None => String::new(),
    }
}

struct Workload {
    cluster: String,
    namespace: String,
    kind: String,
    name: String,
    file: Option<String>,
}

impl Workload {
    fn new(resource_id: &str, resource: Option<&Value>, cluster: &str) -> Workload {
        let object = resource.and_then(|r| r.get("object"));
        let field = |p: &str| {
            object
                .map(|o| text(o, p).trim().to_string())
                .unwrap_or_default()
        };
        let (mut namespace, mut kind, mut name) = (
            field("/metadata/namespace"),
            field("/kind"),
            field("/metadata/name"),
        );
        // resource ids end in `<namespace>/<Kind>/<name>` ("apps/v1/prod/Deployment/api")
        let parts: Vec<&str> = resource_id.rsplitn(4, '/').collect();
        if kind.is_empty() {
            kind = parts.get(1).copied().unwrap_or("").to_string();
        }
        if name.is_empty() {
            name = parts.first().copied().unwrap_or("").to_string();
        }
        if namespace.is_empty() && object.is_none() {
            namespace = parts.get(2).copied().unwrap_or("").to_string();
        }
        let file = resource
            .map(|r| text(r, "/source/relativePath"))
            .filter(|p| !p.trim().is_empty())
            .map(normalize::path);
        Workload {
            cluster: cluster.to_string(),
            namespace,
            kind,
            name,
            file,
        }
    }

    fn label(&self) -> String {
        [&self.namespace, &self.kind, &self.name]
            .into_iter()
            .filter(|p| !p.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("/")
    }

    fn key(&self) -> String {
        if self.cluster.is_empty() {
            self.label()
        } else {
            format!("{}/{}", self.cluster, self.label())
        }
    }
}

fn severity(control: &Value, summary: Option<&Value>) -> Severity {
    let named = [Some(control), summary]
        .into_iter()
        .flatten()
        .find_map(|c| c.get("severity").and_then(Value::as_str))
        .and_then(|s| s.parse::<Severity>().ok());
    if let Some(s) = named {
        return s;
    }
    let factor = [summary, Some(control)]
        .into_iter()
        .flatten()
        .find_map(|c| c.get("scoreFactor").and_then(Value::as_f64));
    Severity::from_cvss(factor.unwrap_or(0.0))
}

fn finding(w: &Workload, id: &str, control: &Value, summary: Option<&Value>) -> NewFinding {
    let name = [
        text(control, "/name"),
        summary.map(|s| text(s, "/name")).unwrap_or(""),
    ]
    .into_iter()
    .map(|t| normalize::first_line(t, TITLE_MAX))
    .find(|t| !t.is_empty())
    .unwrap_or_else(|| id.to_string());

    let mut fp = Fingerprint::new("kubescape/v1");
    fp.push(id)
        .push(&w.cluster)
        .push(&w.namespace)
        .push(&w.kind)
        .push(&w.name)
        .push(w.file.as_deref().unwrap_or(""));

    let mut failed_paths = Vec::new();
    let mut fixes = Vec::new();
    let mut rules = Vec::new();
    for rule in list(control, "/rules") {
        if status(rule) != "failed" {
            continue;
        }
        rules.push(text(rule, "/name").to_string());
        for p in list(rule, "/failedPaths") {
            failed_paths.extend(p.as_str().map(str::to_string));
        }
        for p in list(rule, "/fixPaths") {
            fixes.push(format!("set {} = {}", text(p, "/path"), text(p, "/value")));
        }
        for p in list(rule, "/paths") {
            for key in ["/failedPath", "/reviewPath", "/deletePath"] {
                let t = text(p, key);
                if !t.is_empty() {
                    failed_paths.push(t.to_string());
                }
            }
            if let Some(fix) = p.get("fixPath") {
                fixes.push(format!(
                    "set {} = {}",
                    text(fix, "/path"),
                    text(fix, "/value")
                ));
            }
        }
    }
    let mut description = format!("Kubescape control {id}: {name}.");
    if let Some(cat) = summary
        .map(|s| text(s, "/category/name"))
        .filter(|c| !c.is_empty())
    {
        description.push_str(&format!("\nCategory: {cat}"));
    }
    if !rules.is_empty() {
        description.push_str(&format!("\nFailed rules: {}", rules.join(", ")));
    }
    if !failed_paths.is_empty() {
        description.push_str(&format!("\nFailed paths: {}", failed_paths.join(", ")));
    }

    let label = w.label();
    let mut f = NewFinding::new(
        fp.finish(),
        Layer::ClusterConfig,
        severity(control, summary),
        name,
    );
    f.rule_id = id.to_string();
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    f.remediation = normalize::bounded(&fixes.join("\n"), DESCRIPTION_MAX);
    if !id.is_empty() {
        f.references = vec![format!(
            "https://hub.armosec.io/docs/{}",
            id.to_ascii_lowercase()
        )];
    }
    f.location = match &w.file {
        Some(file) => format!("{label} ({file})"),
        None => label.clone(),
    };
    f.file_path = w.file.clone();
    let key = if label.is_empty() {
        String::new()
    } else {
        w.key()
    };
    set_workload(
        &mut f,
        w.namespace.as_str(),
        w.kind.as_str(),
        w.name.as_str(),
        key,
    );
    f.evidence = Some(normalize::evidence(control));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{
        assert_distinct, assert_kept, edited, fixture, parse_error, read, reversed,
    };

    const REPORT: &[u8] = fixture!("kubescape", "cluster-scan.json");

    #[test]
    fn one_finding_per_failed_control_and_resource() {
        let parsed = Kubescape.parse(REPORT).unwrap();
        let f = &parsed.findings[0];
        assert!(f.remediation.contains("allowPrivilegeEscalation = false"));
        assert_eq!(f.references, vec!["https://hub.armosec.io/docs/c-0016"]);
        assert!(
            parsed.findings[3]
                .description
                .contains("automountServiceAccountToken")
        );
    }

    #[test]
    fn explicit_severity_wins_over_score_factor() {
        let text = String::from_utf8_lossy(REPORT).replace(
            "\"name\": \"Privileged container\",\n        \"status\"",
            "\"name\": \"Privileged container\", \"severity\": \"Low\",\n        \"status\"",
        );
        let parsed = Kubescape.parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.findings[1].severity, Severity::Low);
    }

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        let a = Kubescape.parse(REPORT).unwrap();
        let text = edited(
            REPORT,
            &[
                ("5f0e2b7a-0c55-4b55-9d55-2b9d3f7a1c01", "other-guid"),
                ("v3.0.8", "v3.0.9"),
                ("2026-11-20T08:15:02Z", "2026-11-27T08:15:02Z"),
            ],
        );
        let b = read(&Kubescape, reversed(&text, "/results").as_bytes());
        assert_kept(&a, &b);
        assert_distinct(&a);
    }

    #[test]
    fn workload_from_resource_id_when_object_missing() {
        let mut root: Value = serde_json::from_slice(REPORT).unwrap();
        root["resources"] = Value::Array(vec![]);
        let parsed = Kubescape.parse(root.to_string().as_bytes()).unwrap();
        let f = &parsed.findings[0];
        assert_eq!(f.location, "payments/Deployment/api");
    }

    #[test]
    fn malformed_input_is_a_parse_error() {
        let err = parse_error(&Kubescape, b"{\"summaryDetails\": oops}");
        assert!(err.line.is_some());
        assert!(Kubescape.parse(b"[1, 2]").is_err());
        // odd shapes inside are no panic; with nothing readable, no silent zero either
        let odd = Kubescape
            .parse(br#"{"results": [{"controls": [{"status": 5}, 7]}, 3], "resources": 1}"#)
            .unwrap_err();
        assert!(odd.layout);
    }

    #[test]
    fn a_layout_without_control_status_is_read_from_rules_or_refused() {
        let by_rules = br#"{"summaryDetails":{},"results":[{"resourceID":"path=1/api=apps/v1/shop/Deployment/api",
            "controls":[{"controlID":"C-0057","name":"Privileged container",
                         "rules":[{"name":"rule-privilege-escalation","status":"failed"}]},
                        {"controlID":"C-0016","name":"Allow privilege escalation",
                         "rules":[{"name":"r","status":"passed"}]}]}]}"#;
        let parsed = Kubescape.parse(by_rules).unwrap();
        assert_eq!(parsed.findings.len(), 1);
        assert_eq!(parsed.findings[0].rule_id, "C-0057");
        // neither the controls nor their rules say: refused, not read as clean
        let unreadable = br#"{"summaryDetails":{},"results":[{"resourceID":"x",
            "controls":[{"controlID":"C-0057","name":"Privileged container"}]}]}"#;
        let err = Kubescape.parse(unreadable).unwrap_err();
        assert!(err.layout, "{err}");
        assert!(err.message.contains("status"), "{err}");
        // the report's own summary says resources failed, yet nothing is readable
        let summary_only = br#"{"summaryDetails":{"ResourceCounters":{"failedResources":3,"passedResources":1}},"results":[]}"#;
        assert!(Kubescape.parse(summary_only).unwrap_err().layout);
        // a clean report is clean
        let clean = br#"{"summaryDetails":{"ResourceCounters":{"failedResources":0,"passedResources":4}},"results":[]}"#;
        assert_eq!(Kubescape.parse(clean).unwrap().findings.len(), 0);
    }
}
