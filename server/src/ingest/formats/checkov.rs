//! Checkov JSON (`checkov -o json`): one report object, or a list of them (one per
//! framework: terraform, kubernetes, helm, dockerfile, secrets, …); a summary-only object
//! (nothing scanned) has no findings.
//!
//! - Variants: Checkov 2.x and 3.x JSON. A report whose `summary.failed` counts failed
//!   checks but lists no `failed_checks` is refused (422). Checkov's SARIF is read by
//!   [`super::sarif`] with this module's identity, severity and layer; its CycloneDX by
//!   [`super::cyclonedx`], with this module's severity and layer.
//! - One finding per entry of `results.failed_checks` (a check on one resource in one file).
//!   Passed and skipped checks are not findings.
//! - Severity: the check's `severity` (CRITICAL/HIGH/MEDIUM/LOW/INFO) when present; Checkov
//!   without a Prisma Cloud API key leaves it `null`, and then the finding is medium (a failed
//!   policy with no stated weight is neither trivia nor an emergency).
//! - Layer: cluster-config (IaC and Kubernetes policies); `secrets` checks → secret,
//!   `sca_package` → dependency, `sca_image` → image.
//! - Kubernetes and Helm resources (`Kind.namespace.name`) fill the k8s fields and a workload
//!   asset (`namespace/Kind/name`); other resources keep only their file location.
//! - SCA checks fill package name, installed and fixed version and the CVE alias from
//!   `vulnerability_details`.
//! - Fingerprint (`checkov/v2`, shared with Checkov's SARIF, see [`identity`]): check id,
//!   repository file path, and the resource the check failed on, told by its own code block
//!   (the only thing both outputs carry: see [`resource_key`]), numbered when one check fails
//!   twice on resources that look alike. Not the line range (it shifts when the file is
//!   edited), nor the block's other lines: editing one resource leaves every other
//!   resource's findings as they are.

use app::domain::{Layer, Severity};
use serde::Deserialize;
use serde_json::Value;

use super::support::{
    DESCRIPTION_MAX, SNIFF_BYTES, TITLE_MAX, has_any_key, has_key, object_path, opening,
};
use crate::ingest::fingerprint::{Fingerprint, Occurrences};
use crate::ingest::normalize;
use crate::ingest::{Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct Checkov;

const NAME: &str = "checkov";

#[derive(Deserialize, Default)]
#[serde(default)]
struct Report {
    check_type: String,
    results: Results,
    summary: Summary,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Results {
    failed_checks: Vec<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Summary {
    checkov_version: Option<String>,
    failed: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Check {
    check_id: String,
    bc_check_id: Option<String>,
    check_name: String,
    file_path: String,
    repo_file_path: Option<String>,
    file_line_range: Vec<Value>,
    resource: String,
    severity: Option<String>,
    bc_category: Option<String>,
    description: Option<String>,
    short_description: Option<String>,
    guideline: Option<String>,
    details: Vec<Value>,
    vulnerability_details: Option<Value>,
    /// `[[line, text], …]`: the resource's source.
    code_block: Vec<Value>,
}

impl ReportFormat for Checkov {
    fn sniff(&self, body: &[u8]) -> bool {
        opening(body, SNIFF_BYTES, &['{', '[']).is_some_and(|head| {
            (has_key(&head, "check_type")
                && has_any_key(&head, &["failed_checks", "passed_checks", "summary"]))
                || has_key(&head, "checkov_version")
        })
    }

    fn sniff_top(&self, top: &crate::ingest::document::TopLevel) -> bool {
        top.has("check_type") && (top.has("results") || top.has("summary"))
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let root: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        let reports = match root {
            Value::Array(items) => items,
            Value::Object(_) => vec![root],
            Value::Null => Vec::new(),
            _ => {
                return Err(ParseError::invalid(
                    NAME,
                    "expected a report object or a list of them".to_string(),
                ));
            }
        };
        let mut findings = Vec::new();
        let mut scanner_version = None;
        let mut seen = Occurrences::default();
        for raw in reports {
            let report: Report =
                serde_json::from_value(raw).map_err(|e| ParseError::from_json(NAME, &e))?;
            if scanner_version.is_none() {
                scanner_version = report.summary.checkov_version.clone();
            }
            // its own summary counts failed checks: never read a failing report as clean
            if report.summary.failed.unwrap_or(0) > 0 && report.results.failed_checks.is_empty() {
                return Err(ParseError::layout(
                    NAME,
                    "the failed checks its summary counts in `results.failed_checks` \
                     (checkov -o json, Checkov 2.x and 3.x)",
                ));
            }
            for raw_check in &report.results.failed_checks {
                let check: Check = serde_json::from_value(raw_check.clone())
                    .map_err(|e| ParseError::from_json(NAME, &e))?;
                findings.push(finding(&report.check_type, &check, raw_check, &mut seen));
            }
        }
        Ok(ParsedReport {
            scanner: "Checkov".to_string(),
            scanner_version,
            findings,
            skipped: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// Checkov's identity for a failed check, in its JSON and its SARIF alike (`checkov/v2`).
pub(super) fn identity(
    check_id: &str,
    path: &str,
    resource: &str,
    first_line: i64,
    seen: &mut Occurrences,
) -> [u8; 32] {
    Fingerprint::new("checkov/v2")
        .push(check_id.trim())
        .push(path.trim_start_matches('/'))
        .push(resource)
        .finish_numbered(seen, (first_line, 0))
}

/// Which resource a failed check is about, from the resource's code block: a Kubernetes
/// object's `Kind/namespace/name`, a Terraform block's address (`aws_s3_bucket.reports`),
/// a one-line Dockerfile instruction's keyword (`FROM`), and otherwise the block's first
/// line. Checkov's JSON names the resource, but its SARIF names only one resource per check
/// (wrongly, for every other): the block is what both carry.
pub fn resource_key(path: &str, block: &str, single_line: bool) -> String {
    let lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
    if let Some(key) = kubernetes_key(&lines) {
        return key;
    }
    if let Some(first) = lines.first().map(|l| l.trim())
        && let Some(address) = terraform_address(first)
    {
        return address;
    }
    let file = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if file.contains("dockerfile") || file.ends_with(".containerfile") {
        return match (single_line, lines.first()) {
            (true, Some(l)) => l
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase(),
            _ => String::new(),
        };
    }
    lines
        .first()
        .map(|l| normalize::collapse_whitespace(l))
        .unwrap_or_default()
}

/// `Kind/namespace/name` of a Kubernetes manifest's top-level `kind` and `metadata`.
fn kubernetes_key(lines: &[&str]) -> Option<String> {
    let value = |line: &str, key: &str| {
        line.strip_prefix(key)
            .map(|v| v.trim().trim_matches(['"', '\'']).to_string())
    };
    let kind = lines.iter().find_map(|l| value(l, "kind:"))?;
    let mut in_metadata = false;
    let (mut name, mut namespace) = (None, None);
    for line in lines {
        if !line.starts_with([' ', '\t']) {
            in_metadata = line.trim_end() == "metadata:";
            continue;
        }
        if in_metadata {
            let field = line.trim_start();
            let indent = line.len() - field.len();
            if indent <= 4 {
                name = name.or_else(|| value(field, "name:"));
                namespace = namespace.or_else(|| value(field, "namespace:"));
            }
        }
    }
    Some(format!(
        "{kind}/{}/{}",
        namespace.unwrap_or_default(),
        name?
    ))
}

/// `type.name` of `resource "type" "name" {`, `data.type.name`, `module.name`.
fn terraform_address(line: &str) -> Option<String> {
    let mut words = line.split_whitespace();
    let block = words.next()?;
    let label = |w: Option<&str>| {
        w.map(|w| w.trim_matches('"').to_string())
            .filter(|w| !w.is_empty() && w != "{")
    };
    match block {
        "resource" => Some(format!("{}.{}", label(words.next())?, label(words.next())?)),
        "data" => Some(format!(
            "data.{}.{}",
            label(words.next())?,
            label(words.next())?
        )),
        "module" => Some(format!("module.{}", label(words.next())?)),
        _ => None,
    }
}

fn severity(raw: Option<&str>) -> Severity {
    raw.and_then(|s| s.parse::<Severity>().ok())
        .unwrap_or(Severity::Medium)
}

/// The layer of a check by its id, for outputs that do not name the framework (SARIF):
/// secrets checks are secrets, everything else configuration.
pub(super) fn layer_of_check(check_id: &str) -> Layer {
    if check_id.to_ascii_uppercase().starts_with("CKV_SECRET") {
        Layer::Secret
    } else {
        Layer::ClusterConfig
    }
}

fn layer(check_type: &str) -> Layer {
    match check_type.trim().to_ascii_lowercase().as_str() {
        "secrets" => Layer::Secret,
        "sca_package" => Layer::Dependency,
        "sca_image" => Layer::Image,
        _ => Layer::ClusterConfig,
    }
}

/// `Kind.namespace.name` of a Kubernetes resource (the name may itself contain dots).
fn k8s_parts(check_type: &str, resource: &str) -> Option<(String, String, String)> {
    let t = check_type.to_ascii_lowercase();
    if t != "kubernetes" && t != "helm" && t != "kustomize" {
        return None;
    }
    let mut parts = resource.splitn(3, '.');
    let kind = parts.next()?.trim();
    let namespace = parts.next()?.trim();
    let name = parts.next()?.trim();
    (!kind.is_empty() && !name.is_empty())
        .then(|| (kind.to_string(), namespace.to_string(), name.to_string()))
}

fn finding(check_type: &str, check: &Check, raw: &Value, seen: &mut Occurrences) -> NewFinding {
    let path = normalize::path(check.repo_file_path.as_deref().unwrap_or(&check.file_path));
    let path = path.trim_start_matches('/').to_string();
    let line = check
        .file_line_range
        .first()
        .and_then(Value::as_i64)
        .and_then(|l| i32::try_from(l).ok())
        .filter(|l| *l > 0);
    let title = [
        check.check_name.as_str(),
        check.short_description.as_deref().unwrap_or(""),
    ]
    .into_iter()
    .map(|t| normalize::first_line(t, TITLE_MAX))
    .find(|t| !t.is_empty())
    .unwrap_or_else(|| check.check_id.clone());

    let block: String = check
        .code_block
        .iter()
        .filter_map(|pair| pair.get(1).and_then(Value::as_str))
        .collect();
    let single_line = check.file_line_range.first() == check.file_line_range.get(1);
    let resource = if block.trim().is_empty() {
        // nothing to tell resources by but their name (SCA checks, secrets)
        check.resource.trim().to_string()
    } else {
        resource_key(&path, &block, single_line)
    };
    let fingerprint = identity(
        &check.check_id,
        &path,
        &resource,
        i64::from(line.unwrap_or(0)),
        seen,
    );

    let mut description = String::new();
    if let Some(d) = check
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        description.push_str(d.trim());
        description.push('\n');
    } else {
        description.push_str(&format!("{}\n", check.check_name.trim()));
    }
    if !check.resource.trim().is_empty() {
        description.push_str(&format!("Resource: {}\n", check.resource.trim()));
    }
    if let Some(c) = check.bc_category.as_deref().filter(|c| !c.is_empty()) {
        description.push_str(&format!("Category: {c}\n"));
    }
    let details: Vec<&str> = check.details.iter().filter_map(Value::as_str).collect();
    if !details.is_empty() {
        description.push_str(&format!("Details: {}\n", details.join("; ")));
    }

    let mut f = NewFinding::new(
        fingerprint,
        layer(check_type),
        severity(check.severity.as_deref()),
        title,
    );
    f.rule_id = check.check_id.trim().to_string();
    // SCA checks (`sca_package`, `sca_image`) name the vulnerable package
    let vuln = check
        .vulnerability_details
        .as_ref()
        .filter(|v| v.is_object());
    let vuln_text = |keys: &[&str]| {
        vuln.and_then(|v| keys.iter().find_map(|k| v.get(*k).and_then(Value::as_str)))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let vuln_id = vuln_text(&["id", "cve_id"]);
    f.aliases = normalize::aliases(
        check
            .bc_check_id
            .iter()
            .chain(std::iter::once(&check.check_id))
            .chain(vuln_id.iter())
            .filter(|id| {
                let u = id.to_ascii_uppercase();
                u.starts_with("CVE-") || u.starts_with("GHSA-") || u.starts_with("CWE-")
            }),
    );
    f.package_name = vuln_text(&["package_name"]);
    f.package_version = vuln_text(&["package_version"]);
    f.fixed_version = vuln_text(&["lowest_fixed_version", "fixed_version"]);
    f.description = normalize::bounded(description.trim_end(), DESCRIPTION_MAX);
    if let Some(g) = check.guideline.as_deref().filter(|g| !g.trim().is_empty()) {
        f.remediation = format!("See {}", g.trim());
        f.references = vec![g.trim().to_string()];
    }
    f.location = match line {
        Some(l) if !path.is_empty() => format!("{path}:{l}"),
        _ => path.clone(),
    };
    f.file_path = Some(path).filter(|p| !p.is_empty());
    f.line = line;
    if let Some((kind, namespace, name)) = k8s_parts(check_type, &check.resource) {
        let key = object_path(&[namespace.as_str(), &kind, &name]);
        f.asset = Some(Asset {
            kind: AssetKind::Workload,
            key,
        });
        f.k8s_namespace = Some(namespace).filter(|n| !n.is_empty());
        f.k8s_kind = Some(kind);
        f.k8s_name = Some(name);
    }
    f.evidence = Some(normalize::evidence(raw));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{
        assert_distinct, assert_kept, edited, first, fixture, parse_error,
    };

    const REPORT: &[u8] = fixture!("checkov", "multi-framework.json");

    #[test]
    fn failed_checks_of_every_framework() {
        let f = first(&Checkov, REPORT);
        assert!(f.references[0].starts_with("https://docs.prismacloud.io/"));
    }

    #[test]
    fn sca_checks_name_the_package() {
        let report = br#"{"check_type": "sca_package", "results": {"failed_checks": [{
            "check_id": "CKV_CVE_2022_42969", "check_name": "Package vulnerable",
            "file_path": "/requirements.txt", "repo_file_path": "/requirements.txt",
            "file_line_range": [3, 3], "resource": "requirements.txt.py", "severity": "HIGH",
            "vulnerability_details": {"id": "CVE-2022-42969", "package_name": "py",
                "package_version": "1.11.0", "lowest_fixed_version": "1.11.1"}}]}}"#;
        let parsed = Checkov.parse(report).unwrap();
        let f = &parsed.findings[0];
        assert_eq!(f.layer, Layer::Dependency);
        assert_eq!(f.aliases, vec!["CVE-2022-42969"]);
        assert_eq!(f.package_name.as_deref(), Some("py"));
        assert_eq!(f.package_version.as_deref(), Some("1.11.0"));
        assert_eq!(f.fixed_version.as_deref(), Some("1.11.1"));
    }

    #[test]
    fn single_object_and_summary_only_reports() {
        let root: Value = serde_json::from_slice(REPORT).unwrap();
        let one = Checkov.parse(root[1].to_string().as_bytes()).unwrap();
        assert_eq!(one.findings.len(), 2);
        let empty = br#"{"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0,
            "resource_count": 0, "checkov_version": "3.2.255"}"#;
        assert!(Checkov.sniff(empty));
        assert!(Checkov.parse(empty).unwrap().findings.is_empty());
    }

    #[test]
    fn fingerprint_survives_line_shift_and_version() {
        let a = Checkov.parse(REPORT).unwrap();
        let text = edited(
            REPORT,
            &[
                ("[1, 9]", "[4, 12]"),
                ("3.2.255", "3.2.300"),
                ("\"severity\": \"LOW\"", "\"severity\": \"MEDIUM\""),
            ],
        );
        let mut root: Value = serde_json::from_str(&text).unwrap();
        root.as_array_mut().unwrap().reverse();
        let b = Checkov.parse(root.to_string().as_bytes()).unwrap();
        assert_kept(&a, &b);
        assert_distinct(&a);
    }

    #[test]
    fn malformed_input_is_a_parse_error() {
        let err = parse_error(&Checkov, b"{\"check_type\": \"terraform\",");
        assert!(err.message.contains("truncated"));
        assert!(Checkov.parse(b"42").is_err());
        assert!(
            Checkov
                .parse(br#"{"results": {"failed_checks": [{"check_id": 5}]}}"#)
                .is_err()
        );
    }

    #[test]
    fn a_failing_summary_without_failed_checks_is_refused() {
        let odd = br#"{"check_type":"kubernetes","results":{"passed_checks":[]},"summary":{"passed":3,"failed":2,"checkov_version":"3.3.30"}}"#;
        let err = Checkov.parse(odd).unwrap_err();
        assert!(err.layout, "{err}");
        let clean = br#"{"check_type":"kubernetes","results":{"failed_checks":[]},"summary":{"passed":3,"failed":0}}"#;
        assert_eq!(Checkov.parse(clean).unwrap().findings.len(), 0);
    }
}
