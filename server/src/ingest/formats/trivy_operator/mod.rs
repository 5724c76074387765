//! Trivy Operator custom resources (`kubectl get vulnerabilityreports -o json`, …).
//!
//! - Variants read: a single report CR, a Kubernetes `List` of them (`items`), a bare JSON
//!   array of them, and a dict of CRD plural names → lists of CRs (the shape of a dump of
//!   all `*.aquasecurity.github.io` resources). Kinds read: `VulnerabilityReport` (and the
//!   cluster-scoped variant), `ConfigAuditReport`, `RbacAssessmentReport`,
//!   `InfraAssessmentReport` (and their cluster-scoped variants: all share `report.checks`),
//!   `ExposedSecretReport`, and the summary `ClusterComplianceReport`. Other kinds (SBOM
//!   reports, detailed compliance reports) give no findings.
//! - Workload: from the `trivy-operator.resource.kind` / `.name` / `.namespace` labels (the
//!   CR's own namespace as a fallback), and the `trivy-operator.container.name` label.
//! - Severity: Trivy's labels: CRITICAL → critical, HIGH → high, MEDIUM → medium, LOW → low,
//!   UNKNOWN (or anything else) → info.
//! - Layer: vulnerabilities → image (the operator scans the workload's container images);
//!   config, RBAC and infra checks and compliance controls → cluster_config; secrets → secret.
//! - One finding per vulnerability × package × workload container; per *failed* check
//!   (`success: false`) × workload; per secret × file × workload container; per compliance
//!   control with `totalFail > 0`. Nothing is merged.
//! - Fingerprint (`trivy_operator/v1`): a kind tag, the workload's namespace, kind and a
//!   rollout-stable name (a ReplicaSet's `-<pod-template-hash>` suffix is dropped, so a new
//!   rollout of the same Deployment keeps identity), then: vulnerability: container name,
//!   image repository without tag or digest, vulnerability id, package, package target;
//!   check: check id; secret: container, image repository, rule id, file and the redacted
//!   match with whitespace collapsed; compliance: the benchmark id and the control id.
//!   Installed versions, titles, messages, scores and timestamps never go in.

use app::domain::Layer;
use serde::Deserialize;
use serde_json::Value;

use super::support::{
    DESCRIPTION_MAX, SHORT_MAX, SNIFF_BYTES, TITLE_MAX, object_path, opening, set_package,
    title_and_description,
};
use super::trivy::{SecretText, severity};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct TrivyOperator;

const NAME: &str = "trivy_operator";
const REPORT_KINDS: &[&str] = &[
    "VulnerabilityReport",
    "ConfigAuditReport",
    "ExposedSecretReport",
    "RbacAssessmentReport",
    "InfraAssessmentReport",
    "ClusterComplianceReport",
    "SbomReport",
];

impl ReportFormat for TrivyOperator {
    fn scans_images(&self) -> bool {
        true
    }

    fn sniff(&self, body: &[u8]) -> bool {
        opening(body, SNIFF_BYTES, &['{', '[']).is_some_and(|head| {
            let known_kind = REPORT_KINDS.iter().any(|k| head.contains(k))
                || head.contains("reports.aquasecurity.github.io\"");
            head.contains("aquasecurity.github.io") && known_kind
        })
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let root: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        let mut crs = Vec::new();
        collect(&root, &mut crs, 0);
        let mut findings = Vec::new();
        let mut scanner_version = None;
        // the operator's own tally of what each report found, by severity
        let tallied: i64 = crs
            .iter()
            .map(|cr| {
                ["criticalCount", "highCount", "mediumCount", "lowCount"]
                    .iter()
                    .filter_map(|k| cr["report"]["summary"][*k].as_i64())
                    .sum::<i64>()
            })
            .sum();
        for cr in crs {
            let parsed: Cr = Cr::deserialize(cr).map_err(|e| {
                ParseError::invalid(
                    NAME,
                    format!("a report resource has an unexpected shape: {e}"),
                )
            })?;
            if scanner_version.is_none() {
                scanner_version = parsed
                    .report
                    .scanner
                    .version
                    .clone()
                    .filter(|v| !v.trim().is_empty());
            }
            read_cr(&parsed, &mut findings)?;
        }
        if findings.is_empty() && tallied > 0 {
            return Err(ParseError::layout(
                NAME,
                "the findings its `report.summary` counts, as `report.vulnerabilities`, \
                 `report.checks` or `report.secrets` (Trivy Operator 0.x report resources)",
            ));
        }
        Ok(ParsedReport {
            scanner: "Trivy Operator".to_string(),
            scanner_version,
            findings,
            skipped: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// Report CRs anywhere in the accepted shapes.
fn collect<'a>(v: &'a Value, out: &mut Vec<&'a Value>, depth: usize) {
    if depth > 3 {
        return;
    }
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect(i, out, depth + 1)),
        Value::Object(map) => {
            if map.contains_key("report")
                || (map.contains_key("status") && map.contains_key("kind"))
            {
                out.push(v);
            } else if let Some(items) = map.get("items") {
                collect(items, out, depth + 1);
            } else {
                // a dict of CRD plural names → lists of reports
                for (key, value) in map {
                    if key.contains("aquasecurity.github.io") || value.is_array() {
                        collect(value, out, depth + 1);
                    }
                }
            }
        }
        _ => {}
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Cr {
    kind: String,
    metadata: CrMetadata,
    report: Report,
    spec: Value,
    status: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CrMetadata {
    name: String,
    namespace: String,
    labels: std::collections::BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Report {
    scanner: Scanner,
    artifact: Artifact,
    registry: Registry,
    vulnerabilities: Vec<Value>,
    checks: Vec<Value>,
    secrets: Vec<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Scanner {
    version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Artifact {
    repository: String,
    tag: String,
    digest: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Registry {
    server: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Vuln {
    #[serde(rename = "vulnerabilityID")]
    vulnerability_id: String,
    resource: String,
    installed_version: String,
    fixed_version: String,
    severity: String,
    title: String,
    description: String,
    primary_link: String,
    links: Vec<String>,
    target: String,
    pkg_path: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Check {
    #[serde(rename = "checkID")]
    check_id: String,
    title: String,
    description: String,
    messages: Vec<String>,
    remediation: String,
    severity: String,
    category: String,
    success: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Secret {
    #[serde(rename = "ruleID")]
    rule_id: String,
    category: String,
    severity: String,
    title: String,
    target: String,
    #[serde(rename = "match")]
    matched: String,
}

/// The workload a report is about, from the operator's labels.
struct Workload {
    namespace: String,
    kind: String,
    name: String,
    container: String,
    image: Option<String>,
    image_repo: String,
}

impl Workload {
    fn of(cr: &Cr) -> Workload {
        let label = |k: &str| {
            cr.metadata
                .labels
                .get(k)
                .and_then(Value::as_str)
                .map(|s| normalize::bounded(s.trim(), SHORT_MAX))
                .unwrap_or_default()
        };
        let mut namespace = label("trivy-operator.resource.namespace");
        if namespace.is_empty() {
            namespace = normalize::bounded(cr.metadata.namespace.trim(), SHORT_MAX);
        }
        let a = &cr.report.artifact;
        let server = cr.report.registry.server.trim();
        let repo = a.repository.trim();
        let image_repo = match (server, repo) {
            (_, "") => String::new(),
            ("", r) => r.to_string(),
            (s, r) => format!("{s}/{r}"),
        };
        let image = (!image_repo.is_empty()).then(|| {
            let mut i = image_repo.clone();
            if !a.tag.trim().is_empty() {
                i = format!("{i}:{}", a.tag.trim());
            }
            if !a.digest.trim().is_empty() {
                i = format!("{i}@{}", a.digest.trim());
            }
            normalize::bounded(&i, SHORT_MAX)
        });
        Workload {
            namespace,
            kind: label("trivy-operator.resource.kind"),
            name: label("trivy-operator.resource.name"),
            container: label("trivy-operator.container.name"),
            image,
            image_repo: normalize::bounded(&image_repo, SHORT_MAX),
        }
    }

    /// The name that survives a rollout: a ReplicaSet `web-5d8f7c9b4` is `web`.
    fn stable_name(&self) -> &str {
        if self.kind == "ReplicaSet"
            && let Some((base, hash)) = self.name.rsplit_once('-')
        {
            let hashlike = !base.is_empty()
                && (5..=10).contains(&hash.len())
                && hash
                    .chars()
                    .all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c));
            if hashlike {
                return base;
            }
        }
        &self.name
    }

    fn push(&self, fp: &mut Fingerprint) {
        fp.push(&self.namespace)
            .push(&self.kind)
            .push(self.stable_name());
    }

    fn location(&self) -> String {
        object_path(&[self.namespace.as_str(), &self.kind, &self.name])
    }

    fn apply(&self, f: &mut NewFinding, with_image: bool) {
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        f.k8s_namespace = opt(&self.namespace);
        f.k8s_kind = opt(&self.kind);
        f.k8s_name = opt(&self.name);
        if with_image {
            f.image = self.image.clone();
        }
        let location = self.location();
        if !location.is_empty() {
            f.asset = Some(Asset {
                kind: AssetKind::Workload,
                key: object_path(&[self.namespace.as_str(), &self.kind, self.stable_name()]),
            });
        }
        f.location = match (&self.image, with_image) {
            (Some(i), true) if !location.is_empty() => format!("{location} ({i})"),
            (Some(i), true) => i.clone(),
            _ => location,
        };
    }
}

/// A failed check or compliance control: a cluster-config finding named by its id.
fn failed_check(
    fingerprint: [u8; 32],
    severity_label: &str,
    title: String,
    id: &str,
) -> NewFinding {
    let mut f = NewFinding::new(
        fingerprint,
        Layer::ClusterConfig,
        severity(severity_label),
        title,
    );
    f.rule_id = normalize::bounded(id, SHORT_MAX);
    f
}

fn item<T: for<'de> Deserialize<'de>>(raw: &Value, what: &str) -> Result<T, ParseError> {
    T::deserialize(raw).map_err(|e| ParseError::invalid(NAME, format!("{what}: {e}")))
}

fn read_cr(cr: &Cr, out: &mut Vec<NewFinding>) -> Result<(), ParseError> {
    let kind = cr
        .kind
        .trim()
        .strip_prefix("Cluster")
        .unwrap_or(cr.kind.trim());
    if kind == "ComplianceReport" {
        return compliance(cr, out);
    }
    let workload = Workload::of(cr);
    if kind == "VulnerabilityReport" || kind.is_empty() {
        for raw in &cr.report.vulnerabilities {
            let v: Vuln = item(raw, "a vulnerability")?;
            out.push(vulnerability(&workload, &v, raw));
        }
    }
    if matches!(
        kind,
        "ConfigAuditReport" | "RbacAssessmentReport" | "InfraAssessmentReport" | ""
    ) {
        for raw in &cr.report.checks {
            let c: Check = item(raw, "a check")?;
            if c.success == Some(false) {
                out.push(check(&workload, &c, raw));
            }
        }
    }
    if kind == "ExposedSecretReport" || kind.is_empty() {
        for raw in &cr.report.secrets {
            let s: Secret = item(raw, "a secret")?;
            out.push(secret(&workload, &s, raw));
        }
    }
    Ok(())
}

fn vulnerability(w: &Workload, v: &Vuln, raw: &Value) -> NewFinding {
    let id = v.vulnerability_id.trim();
    let pkg = v.resource.trim();
    let pkg_path = normalize::path(if v.pkg_path.trim().is_empty() {
        &v.target
    } else {
        &v.pkg_path
    });
    let mut fp = Fingerprint::new("trivy_operator/v1");
    fp.push("vuln");
    w.push(&mut fp);
    fp.push(&w.container)
        .push(&w.image_repo)
        .push(id)
        .push(pkg)
        .push(&pkg_path);
    let title = normalize::bounded(
        format!("{id} in {pkg} {}", v.installed_version.trim()).trim(),
        TITLE_MAX,
    );
    let mut f = NewFinding::new(fp.finish(), Layer::Image, severity(&v.severity), title);
    f.rule_id = normalize::bounded(id, SHORT_MAX);
    f.aliases = normalize::aliases(std::iter::once(id).filter(|a| normalize::is_alias(a)));
    let description = title_and_description(&v.title, &v.description);
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    let package = (pkg, v.installed_version.as_str(), v.fixed_version.as_str());
    set_package(&mut f, package, &v.primary_link, &v.links);
    f.file_path = (!pkg_path.is_empty()).then(|| normalize::bounded(&pkg_path, SHORT_MAX));
    w.apply(&mut f, true);
    f.evidence = Some(normalize::evidence(raw));
    f
}

fn check(w: &Workload, c: &Check, raw: &Value) -> NewFinding {
    let id = c.check_id.trim();
    let mut fp = Fingerprint::new("trivy_operator/v1");
    fp.push("check");
    w.push(&mut fp);
    fp.push(id);
    let title = [c.title.as_str(), id]
        .into_iter()
        .map(|t| normalize::first_line(t, TITLE_MAX))
        .find(|t| !t.is_empty())
        .unwrap_or_default();
    let mut f = failed_check(fp.finish(), &c.severity, title, id);
    let mut description = c.description.trim().to_string();
    for m in c
        .messages
        .iter()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
    {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(m);
    }
    if description.is_empty() {
        description = c.category.trim().to_string();
    }
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    f.remediation = normalize::bounded(c.remediation.trim(), DESCRIPTION_MAX);
    let avd = id.to_ascii_lowercase();
    if let Some(n) = avd.strip_prefix("avd-") {
        f.references = vec![format!("https://avd.aquasec.com/misconfig/{n}")];
    } else if !avd.is_empty() && avd.chars().all(|ch| ch.is_ascii_alphanumeric()) {
        f.references = vec![format!("https://avd.aquasec.com/misconfig/{avd}")];
    }
    w.apply(&mut f, false);
    f.evidence = Some(normalize::evidence(raw));
    f
}

fn secret(w: &Workload, s: &Secret, raw: &Value) -> NewFinding {
    let path = normalize::path(&s.target);
    let matched = normalize::collapse_whitespace(&s.matched);
    let mut fp = Fingerprint::new("trivy_operator/v1");
    fp.push("secret");
    w.push(&mut fp);
    fp.push(&w.container)
        .push(&w.image_repo)
        .push(s.rule_id.trim())
        .push(&path)
        .push(&matched);
    let text = SecretText {
        title: &s.title,
        category: &s.category,
        rule_id: &s.rule_id,
        severity: &s.severity,
        matched: &s.matched,
    };
    let mut f = text.finding(fp.finish(), &path);
    f.remediation = "Revoke and rotate the secret, then rebuild the image without it.".to_string();
    f.file_path = (!path.is_empty()).then(|| normalize::bounded(&path, SHORT_MAX));
    w.apply(&mut f, true);
    f.evidence = Some(normalize::evidence(raw));
    f
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ControlCheck {
    id: String,
    name: String,
    severity: String,
    total_fail: Option<i64>,
}

fn compliance(cr: &Cr, out: &mut Vec<NewFinding>) -> Result<(), ParseError> {
    let summary = &cr.status["summaryReport"];
    let benchmark = summary["id"]
        .as_str()
        .or(cr.spec["compliance"]["id"].as_str())
        .unwrap_or(cr.metadata.name.as_str())
        .trim()
        .to_string();
    let benchmark_title = summary["title"]
        .as_str()
        .or(cr.spec["compliance"]["title"].as_str())
        .unwrap_or("")
        .trim();
    let controls = summary["controlCheck"].as_array().map(Vec::as_slice);
    for raw in controls.unwrap_or_default() {
        let c: ControlCheck = item(raw, "a compliance control")?;
        let failed = c.total_fail.unwrap_or(0);
        if failed <= 0 {
            continue;
        }
        let id = c.id.trim();
        let mut fp = Fingerprint::new("trivy_operator/v1");
        fp.push("compliance").push(&benchmark).push(id);
        let title = normalize::bounded(format!("{id} {}", c.name.trim()).trim(), TITLE_MAX);
        let mut f = failed_check(fp.finish(), &c.severity, title, id);
        let spec_description = cr.spec["compliance"]["controls"]
            .as_array()
            .and_then(|cs| cs.iter().find(|x| x["id"].as_str() == Some(id)))
            .and_then(|x| x["description"].as_str())
            .unwrap_or("")
            .trim();
        let mut description = format!("{failed} resource(s) fail this control");
        if !benchmark_title.is_empty() {
            description = format!("{description} of {benchmark_title}");
        }
        description.push('.');
        if !spec_description.is_empty() {
            description = format!("{spec_description}\n\n{description}");
        }
        f.description = normalize::bounded(&description, DESCRIPTION_MAX);
        f.location = normalize::bounded(
            &format!(
                "cluster ({})",
                if benchmark.is_empty() {
                    "compliance"
                } else {
                    &benchmark
                }
            ),
            SHORT_MAX,
        );
        f.evidence = Some(normalize::evidence(raw));
        out.push(f);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
