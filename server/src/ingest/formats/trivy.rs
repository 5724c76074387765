//! Trivy JSON (`trivy image|fs|repo|config|k8s --format json`).
//!
//! - Variants read: SchemaVersion 2 reports (0.19+: image, filesystem, repository, config:
//!   one `Results[]` entry per target with `Vulnerabilities`, `Misconfigurations`,
//!   `Secrets`); Kubernetes cluster reports in the older layout (0.28 to 0.41: top-level
//!   `Vulnerabilities` and `Misconfigurations` lists of resources), in the `Resources` layout
//!   (0.42+, with `ClusterName`; a resource's `Metadata` an object up to 0.56, a list since
//!   0.57) and `--report summary` (`Findings`, the same resources); and the legacy
//!   pre-SchemaVersion layout (up to 0.19), a bare list of results, whose empty lists were
//!   `null` up to 0.18.
//! - Trivy's SARIF is read by [`super::sarif`] with this module's identity for
//!   vulnerabilities and secrets (see [`SarifMessage`], [`language_target`]).
//! - Nothing silent: a resource Trivy could not scan (`Error`) and license results are
//!   skipped items; a report whose `MisconfSummary` counts failed checks none of which can
//!   be read is refused (422). Compliance reports are not Trivy findings reports.
//! - Severity: Trivy's own labels: CRITICAL → critical, HIGH → high, MEDIUM → medium,
//!   LOW → low, UNKNOWN (or anything else) → info.
//! - Layer: a vulnerability is `image` when the artifact is a container image (an image
//!   report, a Kubernetes workload's image, or a legacy report of an OS package target),
//!   else `dependency`; a misconfiguration is `cluster_config` (only `Status: FAIL` counts:
//!   passes and exceptions are not findings); a secret is `secret`.
//! - One finding per vulnerability × package × target, per failed check × target (×
//!   resource), per secret match. Nothing is merged here; identical fingerprints within one
//!   report are merged by the store.
//! - Fingerprint (`trivy/v1`): a kind tag, then the subject — for a Kubernetes resource the
//!   cluster, namespace, kind and name; for an image the image repository *without* tag or
//!   digest (a re-tag or rebuild of the same repository keeps identity) — then:
//!   vulnerability: vulnerability id, package name, and for language packages the file the
//!   package was found in (target / package path; OS packages have none, and the OS release
//!   in their target is left out so a base-image upgrade does not rename findings);
//!   misconfiguration: check id, target and the IaC resource name Trivy reports;
//!   secret: rule id, target file and the (already redacted) matched text with whitespace
//!   collapsed, not the line number. Installed versions, titles, descriptions and dates never
//!   go in.

use app::domain::{Layer, Severity};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::support::{
    DESCRIPTION_MAX, LIST_MAX, SHORT_MAX, SNIFF_BYTES, TITLE_MAX, has_any_key, has_key, object_path,
};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{
    Asset, AssetKind, FindingSink, NewFinding, ParseError, ParsedReport, ReportFormat,
};

pub struct Trivy;

const NAME: &str = "trivy";

impl ReportFormat for Trivy {
    fn name(&self) -> &'static str {
        NAME
    }

    fn scans_images(&self) -> bool {
        true
    }

    fn sniff(&self, body: &[u8]) -> bool {
        let (head, tail) = normalize::ends(body, SNIFF_BYTES);
        let trimmed = head.trim_start();
        if trimmed.starts_with('{') {
            // sorted keys put SchemaVersion after a large Results array: check both ends
            ((has_key(&head, "SchemaVersion") || has_key(&tail, "SchemaVersion"))
                && has_any_key(&head, &["ArtifactName", "Results"]))
                || (has_key(&head, "ClusterName")
                    && has_any_key(
                        &head,
                        &["Resources", "Vulnerabilities", "Misconfigurations"],
                    ))
        } else if let Some(rest) = trimmed.strip_prefix('[') {
            // legacy: a bare list of `{"Target": …, "Type": …, "Vulnerabilities": …}`
            rest.trim_start()
                .strip_prefix('{')
                .is_some_and(|r| r.trim_start().starts_with("\"Target\""))
                && has_any_key(&head, &["Vulnerabilities", "Type"])
        } else {
            false
        }
    }

    fn sniff_top(&self, top: &crate::ingest::document::TopLevel) -> bool {
        !top.array
            && ((top.has("SchemaVersion") && (top.has("ArtifactName") || top.has("Results")))
                || (top.has("ClusterName") && (top.has("Resources") || top.has("Findings"))))
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let mut sink = crate::ingest::CollectSink::default();
        self.parse_into(body, &mut sink)?;
        Ok(sink.report.expect("parse_into sends a header"))
    }

    /// Streams: each vulnerability, misconfiguration and secret stays raw text until its
    /// turn, so a large report is never held as a tree of values.
    fn parse_into(&self, body: &[u8], out: &mut dyn FindingSink) -> Result<(), ParseError> {
        let legacy = body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'[');
        if legacy {
            let results: Vec<TResult> =
                serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
            out.header("Trivy".to_string(), None);
            let mut tally = Tally::default();
            for r in &results {
                let ctx = Subject::Legacy;
                read_result(&ctx, r, out, &mut tally)?;
            }
            tally.check(out)?;
        } else {
            let report: Report =
                serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
            let scanner_version = report
                .trivy
                .version
                .clone()
                .filter(|v| !v.trim().is_empty());
            out.header("Trivy".to_string(), scanner_version);
            let artifact = Subject::Artifact {
                name: report.artifact_name.trim().to_string(),
                kind: report.artifact_type.trim().to_string(),
                digest: report
                    .metadata
                    .repo_digests()
                    .find_map(|d| d.split_once('@').map(|(_, d)| d.to_string())),
            };
            let mut tally = Tally::default();
            for r in report.results.iter().flatten() {
                read_result(&artifact, r, out, &mut tally)?;
            }
            let cluster = report.cluster_name.trim();
            for resource in [
                &report.vulnerabilities,
                &report.misconfigurations,
                &report.resources,
                &report.findings,
            ]
            .into_iter()
            .flatten()
            .flatten()
            {
                let ctx = Subject::Workload {
                    cluster: cluster.to_string(),
                    namespace: resource.namespace.trim().to_string(),
                    kind: resource.kind.trim().to_string(),
                    name: resource.name.trim().to_string(),
                    image: resource
                        .metadata
                        .repo_tags()
                        .next()
                        .or(resource.metadata.repo_digests().next())
                        .cloned(),
                };
                if let Some(error) = resource.error.as_deref().map(str::trim)
                    && !error.is_empty()
                {
                    let what = object_path(&[
                        resource.namespace.trim(),
                        resource.kind.trim(),
                        resource.name.trim(),
                    ]);
                    out.skipped(format!(
                        "{what}: Trivy could not scan it: {}",
                        normalize::bounded(error, 300)
                    ));
                }
                for r in resource.results.iter().flatten() {
                    read_result(&ctx, r, out, &mut tally)?;
                }
            }
            tally.check(out)?;
        }
        Ok(())
    }
}

// Lists are `Option`s: Trivy up to 0.18 wrote `null` for an empty list.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Report<'a> {
    artifact_name: String,
    artifact_type: String,
    metadata: MetadataField,
    #[serde(borrow)]
    results: Option<Vec<TResult<'a>>>,
    cluster_name: String,
    #[serde(borrow)]
    vulnerabilities: Option<Vec<Resource<'a>>>,
    #[serde(borrow)]
    misconfigurations: Option<Vec<Resource<'a>>>,
    #[serde(borrow)]
    resources: Option<Vec<Resource<'a>>>,
    /// `trivy k8s --report summary`: the same resources, merged per workload.
    #[serde(borrow)]
    findings: Option<Vec<Resource<'a>>>,
    trivy: TrivyInfo,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct TrivyInfo {
    version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Metadata {
    repo_tags: Option<Vec<String>>,
    repo_digests: Option<Vec<String>>,
}

/// A resource's `Metadata`: one object up to Trivy 0.56, a list (one per container) since 0.57.
#[derive(Deserialize)]
#[serde(untagged)]
enum MetadataField {
    One(Metadata),
    Many(Vec<Metadata>),
    Other(serde::de::IgnoredAny),
}

impl Default for MetadataField {
    fn default() -> Self {
        MetadataField::One(Metadata::default())
    }
}

impl MetadataField {
    fn all(&self) -> &[Metadata] {
        match self {
            MetadataField::One(m) => std::slice::from_ref(m),
            MetadataField::Many(list) => list,
            MetadataField::Other(_) => &[],
        }
    }

    fn repo_tags(&self) -> impl Iterator<Item = &String> {
        self.all().iter().flat_map(|m| m.repo_tags.iter().flatten())
    }

    fn repo_digests(&self) -> impl Iterator<Item = &String> {
        self.all()
            .iter()
            .flat_map(|m| m.repo_digests.iter().flatten())
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Resource<'a> {
    namespace: String,
    kind: String,
    name: String,
    metadata: MetadataField,
    #[serde(borrow)]
    results: Option<Vec<TResult<'a>>>,
    /// Why Trivy could not scan the resource (an image it could not pull, …).
    error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct TResult<'a> {
    target: String,
    class: String,
    #[serde(rename = "Type")]
    kind: String,
    // raw until read, one at a time (see `parse_into`)
    #[serde(borrow)]
    vulnerabilities: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    misconfigurations: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    secrets: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    licenses: Option<Vec<&'a RawValue>>,
    misconf_summary: Option<MisconfSummary>,
}

/// Trivy's own count of a target's failed checks (0.19 and later).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct MisconfSummary {
    failures: Option<i64>,
}

/// Failed checks a report counts and those read, to tell a layout the reader cannot see.
#[derive(Default)]
struct Tally {
    counted: i64,
    read: i64,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Vuln {
    #[serde(rename = "VulnerabilityID")]
    vulnerability_id: String,
    pkg_name: String,
    pkg_path: String,
    installed_version: String,
    fixed_version: String,
    severity: String,
    title: String,
    description: String,
    #[serde(rename = "PrimaryURL")]
    primary_url: String,
    references: Vec<String>,
    #[serde(rename = "CweIDs")]
    cwe_ids: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Misconf {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "AVDID")]
    avd_id: String,
    title: String,
    description: String,
    message: String,
    resolution: String,
    severity: String,
    #[serde(rename = "PrimaryURL")]
    primary_url: String,
    references: Vec<String>,
    status: String,
    cause_metadata: CauseMetadata,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct CauseMetadata {
    resource: String,
    start_line: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct Secret {
    #[serde(rename = "RuleID")]
    rule_id: String,
    category: String,
    severity: String,
    title: String,
    start_line: Option<i64>,
    #[serde(rename = "Match")]
    matched: String,
}

/// What Trivy's SARIF (`trivy image|fs|repo --format sarif`) says of a result in its
/// message, which carries what its JSON has in fields.
#[derive(Debug, PartialEq, Eq)]
pub enum SarifMessage<'a> {
    /// `Package: …\nInstalled Version: …\nVulnerability …\nSeverity: …`
    Vulnerability { pkg: &'a str, severity: Severity },
    /// `Artifact: …\nType: …\nSecret …\nSeverity: …\nMatch: …` (the match already redacted)
    Secret {
        matched: &'a str,
        severity: Severity,
    },
    /// `Artifact: …\nType: …\nVulnerability <check>\nSeverity: …\nMessage: …`
    Misconfiguration { severity: Severity },
    /// `Artifact: …\nLicense …`: not a security finding.
    License,
}

impl<'a> SarifMessage<'a> {
    pub fn read(message: &'a str) -> Option<SarifMessage<'a>> {
        let line = |prefix: &str| {
            message
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
                .map(str::trim)
        };
        let label = || severity(line("Severity: ").unwrap_or(""));
        if let Some(pkg) = message.strip_prefix("Package: ") {
            let pkg = pkg.lines().next().unwrap_or("").trim();
            return Some(SarifMessage::Vulnerability {
                pkg,
                severity: label(),
            });
        }
        message.strip_prefix("Artifact: ")?;
        if line("License ").is_some() {
            Some(SarifMessage::License)
        } else if line("Secret ").is_some() {
            let matched = message.split_once("\nMatch: ").map_or("", |(_, m)| m);
            Some(SarifMessage::Secret {
                matched,
                severity: label(),
            })
        } else if line("Vulnerability ").is_some() {
            Some(SarifMessage::Misconfiguration { severity: label() })
        } else {
            None
        }
    }
}

/// The `Target` Trivy's JSON gives a language package found at `pkg_path` inside an image
/// or directory (its fixed per-type names), which its SARIF leaves out: a `.jar` is under
/// `Java`, a `node_modules` `package.json` under `Node.js`, … `None` when the path is not of
/// those kinds (then the SARIF location is the target itself, a lockfile).
pub fn language_target(pkg_path: &str) -> Option<&'static str> {
    let lower = pkg_path.to_ascii_lowercase();
    let file = lower.rsplit('/').next().unwrap_or("");
    let java = [".jar", ".war", ".ear", ".par", ".jpi", ".hpi"];
    if java.iter().any(|e| file.ends_with(e)) || lower.contains(".jar/") {
        Some("Java")
    } else if file == "package.json" {
        Some("Node.js")
    } else if lower.contains(".dist-info/") || lower.contains(".egg-info") || file == "metadata" {
        Some("Python")
    } else if file.ends_with(".gemspec") {
        Some("Ruby")
    } else if lower.contains("conda-meta/") {
        Some("Conda")
    } else {
        None
    }
}

/// The identity (`trivy/v1`) of a vulnerability: its subject (pushed by `subject`: a
/// Kubernetes resource, or an artifact's image repository), id, package, the file of a
/// language package (none for OS packages) and the package's own path.
fn vulnerability_identity(
    subject: impl FnOnce(&mut Fingerprint),
    id: &str,
    pkg: &str,
    file: &str,
    pkg_path: &str,
) -> [u8; 32] {
    let mut fp = Fingerprint::new("trivy/v1");
    fp.push("vuln");
    subject(&mut fp);
    fp.push(id).push(pkg).push(file).push(pkg_path);
    fp.finish()
}

/// The identity (`trivy/v1`) of a secret: its subject, rule, file (normalised) and the
/// already redacted match with whitespace collapsed.
fn secret_identity(
    subject: impl FnOnce(&mut Fingerprint),
    rule_id: &str,
    path: &str,
    matched: &str,
) -> [u8; 32] {
    let mut fp = Fingerprint::new("trivy/v1");
    fp.push("secret");
    subject(&mut fp);
    fp.push(rule_id)
        .push(path)
        .push(&normalize::collapse_whitespace(matched));
    fp.finish()
}

/// The subject of an image or directory scan's findings: the image repository, empty for a
/// directory.
fn push_artifact(fp: &mut Fingerprint, image_repo: &str) {
    fp.push("artifact").push(image_repo);
}

/// [`vulnerability_identity`] from what Trivy's SARIF gives: the image repository (empty
/// for a directory), the id, the package and the location of a language package (none for
/// OS packages).
pub fn sarif_vulnerability_identity(
    image_repo: &str,
    id: &str,
    pkg: &str,
    language_location: Option<&str>,
) -> [u8; 32] {
    let (file, pkg_path) = match language_location {
        None => (String::new(), String::new()),
        Some(at) => {
            let at = normalize::path(at);
            match language_target(&at) {
                Some(target) => (target.to_string(), at),
                None => (at, String::new()),
            }
        }
    };
    vulnerability_identity(
        |fp| push_artifact(fp, image_repo),
        id.trim(),
        pkg.trim(),
        &file,
        &pkg_path,
    )
}

/// [`secret_identity`] from what Trivy's SARIF gives.
pub fn sarif_secret_identity(
    image_repo: &str,
    rule_id: &str,
    path: &str,
    matched: &str,
) -> [u8; 32] {
    secret_identity(
        |fp| push_artifact(fp, image_repo),
        rule_id.trim(),
        &normalize::path(path),
        matched,
    )
}

/// What the results of one target are about.
enum Subject {
    /// A SchemaVersion 2 report's artifact (`ArtifactName`, `ArtifactType`).
    Artifact {
        name: String,
        kind: String,
        digest: Option<String>,
    },
    /// A Kubernetes resource of a cluster report.
    Workload {
        cluster: String,
        namespace: String,
        kind: String,
        name: String,
        image: Option<String>,
    },
    /// A legacy report: nothing but the target.
    Legacy,
}

const OS_TYPES: &[&str] = &[
    "alpine",
    "debian",
    "ubuntu",
    "redhat",
    "centos",
    "rocky",
    "alma",
    "amazon",
    "oracle",
    "photon",
    "suse",
    "opensuse",
    "opensuse.leap",
    "opensuse.tumbleweed",
    "sles",
    "cbl-mariner",
    "azurelinux",
    "wolfi",
    "chainguard",
    "fedora",
    "bottlerocket",
];

/// Whether a result lists OS packages (of an image) rather than language packages (of a file).
fn is_os_result(r: &TResult<'_>) -> bool {
    if !r.class.is_empty() {
        return r.class == "os-pkgs";
    }
    OS_TYPES.contains(&r.kind.to_ascii_lowercase().as_str())
}

/// An OS target names the image and its OS: `alpine:3.14 (alpine 3.14.0)` → `alpine:3.14`.
fn image_of_target(target: &str) -> &str {
    target
        .rsplit_once(" (")
        .map_or(target, |(image, _)| image)
        .trim()
}

pub(crate) fn severity(label: &str) -> Severity {
    match label.trim().to_ascii_uppercase().as_str() {
        "CRITICAL" => Severity::Critical,
        "HIGH" => Severity::High,
        "MEDIUM" => Severity::Medium,
        "LOW" => Severity::Low,
        _ => Severity::Info,
    }
}

/// An item of a target that is not the shape Trivy writes.
fn unreadable(what: &str, target: &str, e: serde_json::Error) -> ParseError {
    let target = normalize::bounded(target, 200);
    ParseError::invalid(NAME, format!("{what} of target '{target}': {e}"))
}

/// One raw item read as its type (as a `Value` too: it was checked to be valid JSON when the
/// report was read).
fn typed<T: for<'de> Deserialize<'de>>(
    raw: &RawValue,
    what: &str,
    target: &str,
) -> Result<T, ParseError> {
    serde_json::from_str(raw.get()).map_err(|e| unreadable(what, target, e))
}

fn item<T: for<'de> Deserialize<'de>>(
    raw: &Value,
    what: &str,
    target: &str,
) -> Result<T, ParseError> {
    T::deserialize(raw).map_err(|e| unreadable(what, target, e))
}

fn references(primary: &str, rest: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in std::iter::once(primary).chain(rest.iter().map(String::as_str)) {
        let r = r.trim();
        if !r.is_empty() && !out.iter().any(|o| o == r) && out.len() < LIST_MAX {
            out.push(normalize::bounded(r, SHORT_MAX));
        }
    }
    out
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| normalize::bounded(s, SHORT_MAX))
}

/// Identity, location and asset shared by every finding of one target.
struct Place {
    layer_for_vulns: Layer,
    image: Option<String>,
    image_repo: Option<String>,
    workload: Option<(String, String, String, String)>,
    asset: Option<Asset>,
    /// Set when the target is a file (lockfile, manifest, Dockerfile, secret-bearing file).
    file: Option<String>,
}

impl Place {
    fn new(subject: &Subject, r: &TResult<'_>) -> Place {
        let target = r.target.trim();
        let os = is_os_result(r);
        let file = (!os && !target.is_empty()).then(|| normalize::path(target));
        match subject {
            Subject::Artifact { name, kind, digest } => {
                if kind == "container_image" {
                    let image = match digest {
                        Some(d) if !name.contains('@') => format!("{name}@{d}"),
                        _ => name.clone(),
                    };
                    let repo = normalize::image_repository(name.trim());
                    let key = match digest {
                        Some(d) => format!("{repo}@{d}"),
                        None => name.clone(),
                    };
                    Place {
                        layer_for_vulns: Layer::Image,
                        image: Some(image),
                        image_repo: Some(repo),
                        workload: None,
                        asset: Some(Asset {
                            kind: AssetKind::Image,
                            key,
                        }),
                        file,
                    }
                } else {
                    let key = normalize::path(name);
                    Place {
                        layer_for_vulns: Layer::Dependency,
                        image: None,
                        image_repo: None,
                        workload: None,
                        asset: (!key.is_empty() && key != ".").then_some(Asset {
                            kind: AssetKind::Repository,
                            key,
                        }),
                        file,
                    }
                }
            }
            Subject::Workload {
                cluster,
                namespace,
                kind,
                name,
                image,
            } => {
                let image = if os {
                    Some(image_of_target(target).to_string())
                } else {
                    image.clone()
                };
                let key = object_path(&[cluster.as_str(), namespace, kind, name]);
                Place {
                    layer_for_vulns: Layer::Image,
                    image_repo: image
                        .as_deref()
                        .map(|i| normalize::image_repository(i.trim())),
                    image,
                    workload: Some((
                        cluster.clone(),
                        namespace.clone(),
                        kind.clone(),
                        name.clone(),
                    )),
                    asset: Some(Asset {
                        kind: AssetKind::Workload,
                        key,
                    }),
                    // a Kubernetes config target is `Kind/name`, not a file
                    file: file.filter(|_| r.class != "config"),
                }
            }
            Subject::Legacy => {
                let image = os.then(|| image_of_target(target).to_string());
                Place {
                    layer_for_vulns: if os { Layer::Image } else { Layer::Dependency },
                    image_repo: image
                        .as_deref()
                        .map(|i| normalize::image_repository(i.trim())),
                    asset: image.as_ref().map(|i| Asset {
                        kind: AssetKind::Image,
                        key: i.clone(),
                    }),
                    image,
                    workload: None,
                    file,
                }
            }
        }
    }

    /// The subject's identity, first in every fingerprint.
    fn push_subject(&self, fp: &mut Fingerprint) {
        let image_repo = self.image_repo.as_deref().unwrap_or("");
        match &self.workload {
            Some((cluster, namespace, kind, name)) => {
                fp.push("k8s")
                    .push(cluster)
                    .push(namespace)
                    .push(kind)
                    .push(name)
                    .push(image_repo);
            }
            None => push_artifact(fp, image_repo),
        }
    }

    fn workload_location(&self) -> Option<String> {
        self.workload
            .as_ref()
            .map(|(_, ns, kind, name)| object_path(&[ns.as_str(), kind, name]))
    }

    fn apply(&self, f: &mut NewFinding) {
        f.image = self.image.clone();
        f.asset = self.asset.clone();
        if let Some((_, ns, kind, name)) = &self.workload {
            f.k8s_namespace = non_empty(ns);
            f.k8s_kind = non_empty(kind);
            f.k8s_name = non_empty(name);
        }
    }
}

impl Tally {
    /// A report whose own summary counts failed checks none of which it was possible to read
    /// is in a layout this reader does not know: refused, never stored as clean. Fewer read
    /// than counted is not refused (Trivy's Kubernetes summaries count a workload's failures
    /// once per container while listing them once), but it is said.
    fn check(&self, out: &mut dyn FindingSink) -> Result<(), ParseError> {
        if self.counted > 0 && self.read == 0 {
            return Err(ParseError::layout(
                NAME,
                &format!(
                    "the {} failed checks its `MisconfSummary` counts, as `Misconfigurations[]` \
                     entries with `Status: FAIL` in `Results[]` (or in `Resources[]`/`Findings[]` \
                     of a Kubernetes report)",
                    self.counted
                ),
            ));
        }
        if self.read < self.counted {
            out.skipped(format!(
                "Trivy's MisconfSummary counts {} failed checks but lists {}: only the listed \
                 ones are findings",
                self.counted, self.read
            ));
        }
        Ok(())
    }
}

fn read_result(
    subject: &Subject,
    r: &TResult<'_>,
    out: &mut dyn FindingSink,
    tally: &mut Tally,
) -> Result<(), ParseError> {
    let place = Place::new(subject, r);
    let target = r.target.trim();
    tally.counted += r
        .misconf_summary
        .as_ref()
        .and_then(|m| m.failures)
        .unwrap_or(0)
        .max(0);
    let licenses = r.licenses.as_ref().map_or(0, Vec::len);
    if licenses > 0 {
        out.skipped(format!(
            "{licenses} license finding(s) of target '{}': Bosun tracks security findings, not \
             licenses",
            normalize::bounded(target, 200)
        ));
    }
    // vulnerabilities and misconfigurations are read straight from their text (the bulk
    // of a large report); secrets go through a value, which is redacted
    for raw in r.vulnerabilities.iter().flatten() {
        let v: Vuln = typed(raw, "a vulnerability", target)?;
        out.finding(vulnerability(
            &place,
            &v,
            normalize::evidence_text(raw.get()),
        ));
    }
    for raw in r.misconfigurations.iter().flatten() {
        let m: Misconf = typed(raw, "a misconfiguration", target)?;
        let status = m.status.trim().to_ascii_uppercase();
        if !status.is_empty() && status != "FAIL" {
            continue;
        }
        tally.read += 1;
        out.finding(misconfiguration(
            &place,
            target,
            &m,
            normalize::evidence_text(raw.get()),
        ));
    }
    for raw in r.secrets.iter().flatten() {
        let raw: Value = typed(raw, "a secret", target)?;
        let s: Secret = item(&raw, "a secret", target)?;
        out.finding(secret(&place, target, &s, &raw));
    }
    Ok(())
}

fn vulnerability(place: &Place, v: &Vuln, evidence: Value) -> NewFinding {
    let id = v.vulnerability_id.trim();
    let pkg = v.pkg_name.trim();
    let pkg_path = normalize::path(&v.pkg_path);
    let fingerprint = vulnerability_identity(
        |fp| place.push_subject(fp),
        id,
        pkg,
        place.file.as_deref().unwrap_or(""),
        &pkg_path,
    );

    let title = normalize::bounded(
        format!("{id} in {pkg} {}", v.installed_version.trim()).trim(),
        TITLE_MAX,
    );
    let mut f = NewFinding::new(
        fingerprint,
        place.layer_for_vulns,
        severity(&v.severity),
        title,
    );
    f.rule_id = normalize::bounded(id, SHORT_MAX);
    f.aliases = normalize::aliases(
        std::iter::once(id)
            .chain(v.cwe_ids.iter().map(String::as_str))
            .filter(|a| normalize::is_alias(a)),
    );
    let description = match (v.title.trim(), v.description.trim()) {
        ("", d) => d.to_string(),
        (t, "") => t.to_string(),
        (t, d) => format!("{t}\n\n{d}"),
    };
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    f.fixed_version = non_empty(&v.fixed_version);
    if let Some(fixed) = &f.fixed_version {
        f.remediation = format!("Upgrade {pkg} to {fixed}.");
    }
    f.references = references(&v.primary_url, &v.references);
    f.package_name = non_empty(pkg);
    f.package_version = non_empty(&v.installed_version);
    f.file_path = if pkg_path.is_empty() {
        place.file.clone()
    } else {
        Some(normalize::bounded(&pkg_path, SHORT_MAX))
    };
    place.apply(&mut f);
    f.location = place
        .workload_location()
        .map(|w| match &place.image {
            Some(i) => format!("{w} ({i})"),
            None => w,
        })
        .or_else(|| f.file_path.clone())
        .or_else(|| place.image.clone())
        .unwrap_or_default();
    f.evidence = Some(evidence);
    f
}

fn misconfiguration(place: &Place, target: &str, m: &Misconf, evidence: Value) -> NewFinding {
    let id = if m.id.trim().is_empty() {
        m.avd_id.trim()
    } else {
        m.id.trim()
    };
    let resource = m.cause_metadata.resource.trim();
    let mut fp = Fingerprint::new("trivy/v1");
    fp.push("misconfig");
    place.push_subject(&mut fp);
    fp.push(id).push(&normalize::path(target)).push(resource);

    let title = [m.title.as_str(), m.message.as_str(), id]
        .into_iter()
        .map(|t| normalize::first_line(t, TITLE_MAX))
        .find(|t| !t.is_empty())
        .unwrap_or_default();
    let mut f = NewFinding::new(
        fp.finish(),
        Layer::ClusterConfig,
        severity(&m.severity),
        title,
    );
    f.rule_id = normalize::bounded(id, SHORT_MAX);
    let description = match (m.description.trim(), m.message.trim()) {
        ("", msg) => msg.to_string(),
        (d, "") => d.to_string(),
        (d, msg) => format!("{d}\n\n{msg}"),
    };
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    f.remediation = normalize::bounded(m.resolution.trim(), DESCRIPTION_MAX);
    f.references = references(&m.primary_url, &m.references);
    f.line = m
        .cause_metadata
        .start_line
        .and_then(|l| i32::try_from(l).ok())
        .filter(|l| *l > 0);
    f.file_path = place.file.clone();
    place.apply(&mut f);
    f.location = match (place.workload_location(), &f.file_path, f.line) {
        (Some(w), _, _) => w,
        (None, Some(p), Some(l)) => format!("{p}:{l}"),
        (None, Some(p), None) => p.clone(),
        (None, None, _) => normalize::bounded(target, SHORT_MAX),
    };
    f.evidence = Some(evidence);
    f
}

fn secret(place: &Place, target: &str, s: &Secret, raw: &Value) -> NewFinding {
    let path = normalize::path(target);
    let fingerprint = secret_identity(
        |fp| place.push_subject(fp),
        s.rule_id.trim(),
        &path,
        &s.matched,
    );

    let what = [s.title.as_str(), s.category.as_str(), s.rule_id.as_str()]
        .into_iter()
        .map(str::trim)
        .find(|t| !t.is_empty())
        .unwrap_or("Secret");
    let title = normalize::bounded(&format!("{what} in {path}"), TITLE_MAX);
    let mut f = NewFinding::new(fingerprint, Layer::Secret, severity(&s.severity), title);
    f.rule_id = normalize::bounded(s.rule_id.trim(), SHORT_MAX);
    f.description = normalize::bounded(
        &format!("{what} found in {path}: {}", s.matched.trim()),
        DESCRIPTION_MAX,
    );
    f.remediation =
        "Revoke and rotate the secret, then remove it from the file and its history.".to_string();
    f.line = s
        .start_line
        .and_then(|l| i32::try_from(l).ok())
        .filter(|l| *l > 0);
    f.file_path = (!path.is_empty()).then(|| normalize::bounded(&path, SHORT_MAX));
    place.apply(&mut f);
    f.location = match (&f.file_path, f.line) {
        (Some(p), Some(l)) => format!("{p}:{l}"),
        (Some(p), None) => p.clone(),
        (None, _) => place.workload_location().unwrap_or_default(),
    };
    f.evidence = Some(normalize::evidence(raw));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{assert_distinct, find, fixture};

    fn parse(bytes: &[u8]) -> ParsedReport {
        Trivy.parse(bytes).expect("parses")
    }

    #[test]
    fn image_report_vulnerabilities_are_image_layer() {
        let r = parse(fixture!("trivy", "image.json"));
        assert_eq!(r.scanner, "Trivy");
        assert_eq!(r.scanner_version.as_deref(), Some("0.58.1"));
        assert_eq!(r.findings.len(), 5);
        let f = find(&r, "CVE-2024-5535");
        assert_eq!(f.layer, Layer::Image);
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.package_name.as_deref(), Some("libssl3"));
        assert_eq!(f.package_version.as_deref(), Some("3.3.1-r0"));
        assert_eq!(f.fixed_version.as_deref(), Some("3.3.1-r1"));
        assert_eq!(
            f.image.as_deref(),
            Some(
                "registry.example.com/shop/api:1.4.2@sha256:1111111111111111111111111111111111111111111111111111111111111111"
            )
        );
        assert_eq!(
            f.asset.as_ref().map(|a| (a.kind, a.key.as_str())),
            Some((
                AssetKind::Image,
                "registry.example.com/shop/api@sha256:1111111111111111111111111111111111111111111111111111111111111111"
            ))
        );
        assert_eq!(f.aliases, vec!["CVE-2024-5535", "CWE-200"]);
        assert_eq!(f.references[0], "https://avd.aquasec.com/nvd/cve-2024-5535");
        assert!(f.remediation.contains("3.3.1-r1"));
        assert!(f.evidence.is_some());
        assert_eq!(f.file_path, None, "OS packages have no file");
        let jar = find(&r, "CVE-2022-42003");
        assert_eq!(
            jar.file_path.as_deref(),
            Some("app/lib/jackson-databind-2.13.3.jar")
        );
        assert_eq!(jar.location, "app/lib/jackson-databind-2.13.3.jar");
    }

    #[test]
    fn severities_map_including_unknown() {
        let r = parse(fixture!("trivy", "image.json"));
        let sev = |id| find(&r, id).severity;
        assert_eq!(sev("CVE-2024-5535"), Severity::Critical);
        assert_eq!(sev("CVE-2022-42003"), Severity::High);
        assert_eq!(sev("CVE-2024-4741"), Severity::Medium);
        assert_eq!(sev("CVE-2024-2511"), Severity::Low);
        assert_eq!(sev("CVE-2024-9143"), Severity::Info);
    }

    #[test]
    fn image_identity_survives_retag_and_reorder_but_not_another_package() {
        let a = parse(fixture!("trivy", "image.json"));
        let b = parse(fixture!("trivy", "image_retagged.json"));
        for id in ["CVE-2024-5535", "CVE-2022-42003"] {
            assert_eq!(find(&a, id).fingerprint, find(&b, id).fingerprint, "{id}");
        }
        assert_ne!(
            find(&a, "CVE-2024-5535").fingerprint,
            find(&a, "CVE-2024-4741").fingerprint
        );
        assert_distinct(&a);
    }

    #[test]
    fn filesystem_report_reads_vulns_failed_checks_and_secrets() {
        let r = parse(fixture!("trivy", "filesystem.json"));
        // 2 vulnerabilities, 1 failed check (the PASS is skipped), 1 secret
        assert_eq!(r.findings.len(), 4);
        let dep = find(&r, "CVE-2023-32681");
        assert_eq!(dep.layer, Layer::Dependency);
        assert_eq!(
            dep.file_path.as_deref(),
            Some("services/api/requirements.txt")
        );
        assert_eq!(dep.aliases, vec!["CVE-2023-32681", "CWE-200"]);
        let check = find(&r, "DS002");
        assert_eq!(check.layer, Layer::ClusterConfig);
        assert_eq!(check.severity, Severity::High);
        assert_eq!(check.title, "Image user should not be 'root'");
        assert_eq!(check.location, "Dockerfile");
        assert!(check.remediation.contains("USER"));
        let secret = find(&r, "aws-access-key-id");
        assert_eq!(secret.layer, Layer::Secret);
        assert_eq!(secret.severity, Severity::Critical);
        assert_eq!(secret.location, "deploy/env.sh:3");
        assert_eq!(secret.line, Some(3));
        assert!(r.findings.iter().all(|f| f.rule_id != "DS001"));
    }

    #[test]
    fn kubernetes_older_layout() {
        let r = parse(fixture!("trivy", "k8s_old.json"));
        assert_eq!(r.findings.len(), 3);
        let v = find(&r, "CVE-2023-2650");
        assert_eq!(v.layer, Layer::Image);
        assert_eq!(v.image.as_deref(), Some("docker.io/library/nginx:1.25.0"));
        assert_eq!(v.k8s_namespace.as_deref(), Some("shop"));
        assert_eq!(v.k8s_kind.as_deref(), Some("Deployment"));
        assert_eq!(v.k8s_name.as_deref(), Some("web"));
        assert_eq!(
            v.asset.as_ref().map(|a| a.key.as_str()),
            Some("prod-eu/shop/Deployment/web")
        );
        let m = find(&r, "KSV001");
        assert_eq!(m.layer, Layer::ClusterConfig);
        assert_eq!(m.severity, Severity::Medium);
        assert_eq!(m.location, "shop/Deployment/web");
        assert_eq!(m.file_path, None);
        assert_eq!(m.line, Some(12));
    }

    #[test]
    fn kubernetes_resources_layout() {
        let r = parse(fixture!("trivy", "k8s_resources.json"));
        assert_eq!(r.findings.len(), 3);
        let role = r
            .findings
            .iter()
            .find(|f| f.k8s_kind.as_deref() == Some("ClusterRole"))
            .unwrap();
        assert_eq!(role.location, "ClusterRole/admin-ish");
        assert_eq!(role.k8s_namespace, None);
        let a = find(&r, "KSV012");
        let fps: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.rule_id == "KSV012")
            .map(|f| f.fingerprint)
            .collect();
        assert_eq!(fps.len(), 2);
        assert_ne!(fps[0], fps[1], "same check on two workloads");
        assert_eq!(a.severity, Severity::Medium);
    }

    #[test]
    fn legacy_list_layout() {
        let r = parse(fixture!("trivy", "legacy.json"));
        assert_eq!(r.findings.len(), 2);
        let os = find(&r, "CVE-2011-3374");
        assert_eq!(os.layer, Layer::Image);
        assert_eq!(os.image.as_deref(), Some("debian:10"));
        assert_eq!(os.severity, Severity::Low);
        let lang = find(&r, "GHSA-pxg6-pf52-xh8x");
        assert_eq!(lang.layer, Layer::Dependency);
        assert_eq!(lang.aliases, vec!["GHSA-pxg6-pf52-xh8x"]);
        assert_eq!(lang.file_path.as_deref(), Some("app/package-lock.json"));
    }

    #[test]
    fn empty_reports_have_no_findings() {
        let r = parse(br#"{"SchemaVersion":2,"ArtifactName":"x:1","ArtifactType":"container_image","Results":[{"Target":"x:1 (alpine 3.20.0)","Class":"os-pkgs","Type":"alpine"}]}"#);
        assert!(r.findings.is_empty());
        assert!(parse(b"[]").findings.is_empty());
    }

    #[test]
    fn sniffs_a_report_whose_schema_version_comes_last() {
        let vulns = vec![r#"{"VulnerabilityID":"CVE-2024-1","PkgName":"p","InstalledVersion":"1","Severity":"LOW"}"#; 300].join(",");
        let body = format!(
            r#"{{"ArtifactName":"app:1","Results":[{{"Target":"app","Vulnerabilities":[{vulns}]}}],"SchemaVersion":2}}"#
        );
        assert!(body.len() > 16384);
        assert!(Trivy.sniff(body.as_bytes()));
    }

    #[test]
    fn sniffs_trivy_and_not_others() {
        for f in [
            &fixture!("trivy", "image.json")[..],
            fixture!("trivy", "filesystem.json"),
            fixture!("trivy", "k8s_old.json"),
            fixture!("trivy", "k8s_resources.json"),
            fixture!("trivy", "legacy.json"),
        ] {
            assert!(Trivy.sniff(f));
        }
        assert!(
            !Trivy.sniff(br#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Trivy"}}}]}"#)
        );
        assert!(!Trivy.sniff(br#"{"apiVersion":"aquasecurity.github.io/v1alpha1","kind":"VulnerabilityReport","report":{"vulnerabilities":[]}}"#));
        assert!(
            !Trivy.sniff(
                br#"{"matches":[],"source":{"type":"image"},"descriptor":{"name":"grype"}}"#
            )
        );
        assert!(!Trivy.sniff(br#"[{"id":"x"}]"#));
        assert!(!Trivy.sniff(b"<xml/>"));
    }

    #[test]
    fn malformed_input_is_a_parse_error() {
        let err = Trivy
            .parse(b"{\"SchemaVersion\": 2,\n \"Results\": [ oops ]}")
            .unwrap_err();
        assert_eq!(err.format, "trivy");
        assert_eq!(err.line, Some(2));
        let err = Trivy.parse(br#"{"SchemaVersion":2,"Results":[{"Target":"a","Vulnerabilities":[{"VulnerabilityID":7}]}]}"#).unwrap_err();
        assert!(err.message.contains("vulnerability"), "{}", err.message);
        assert!(
            Trivy
                .parse(b"[{\"Target\":")
                .unwrap_err()
                .message
                .contains("truncated")
        );
        assert!(Trivy.parse(b"").is_err());
    }

    /// `trivy k8s` since 0.57 writes a resource's `Metadata` as a list; `--report summary`
    /// puts the resources under `Findings`. Both were read as nothing (or refused).
    const K8S_V057: &str = r#"{
      "ClusterName": "prod-eu",
      "RESOURCES": [
        {
          "Namespace": "shop", "Kind": "Deployment", "Name": "web",
          "Metadata": [{"ImageID": "sha256:4f2a", "RepoTags": ["nginx:1.25.0"], "RepoDigests": ["nginx@sha256:4f2a"]}],
          "Results": [
            {"Target": "nginx:1.25.0 (debian 12.0)", "Class": "os-pkgs", "Type": "debian",
             "Vulnerabilities": [{"VulnerabilityID": "CVE-2023-2650", "PkgName": "libssl3", "InstalledVersion": "3.0.8-1", "FixedVersion": "3.0.9-1", "Severity": "MEDIUM"}]},
            {"Target": "Deployment/web", "Class": "config", "Type": "kubernetes",
             "MisconfSummary": {"Successes": 27, "Failures": 1},
             "Misconfigurations": [{"Type": "Kubernetes Security Check", "ID": "KSV001", "AVDID": "AVD-KSV-0001", "Title": "Process can elevate its own privileges", "Severity": "MEDIUM", "Status": "FAIL"}]}
          ]
        },
        {"Namespace": "shop", "Kind": "Deployment", "Name": "worker", "Error": "unable to pull image registry.local/worker:2"}
      ]
    }"#;

    #[test]
    fn kubernetes_reports_since_0_57_and_summaries_are_read() {
        for key in ["Resources", "Findings"] {
            let body = K8S_V057.replace("RESOURCES", key);
            let detected = crate::ingest::detect(body.as_bytes()).map(|f| f.name());
            assert_eq!(detected, Some(NAME), "{key}");
            let r = parse(body.as_bytes());
            assert_eq!(r.findings.len(), 2, "{key}");
            let v = find(&r, "CVE-2023-2650");
            assert_eq!(v.image.as_deref(), Some("nginx:1.25.0"));
            assert_eq!(r.skipped.len(), 1, "{:?}", r.skipped);
            assert!(r.skipped[0].contains("shop/Deployment/worker: Trivy could not scan it"));
        }
    }

    #[test]
    fn null_lists_of_trivy_0_18_are_empty() {
        let body = br#"[{"Target": "alpine:3.13 (alpine 3.13.5)", "Type": "alpine", "Vulnerabilities": [{"VulnerabilityID": "CVE-2021-36159", "PkgName": "apk-tools", "InstalledVersion": "2.12.5-r0", "FixedVersion": "2.12.6-r0", "Severity": "CRITICAL"}]},
            {"Target": "app/package-lock.json", "Type": "npm", "Vulnerabilities": null}]"#;
        assert_eq!(parse(body).findings.len(), 1);
    }

    #[test]
    fn failed_checks_counted_but_unreadable_are_refused() {
        let odd = br#"{"SchemaVersion": 2, "ArtifactName": "deploy/", "ArtifactType": "filesystem",
            "Results": [{"Target": "deploy/app.yaml", "Class": "config", "Type": "kubernetes",
              "MisconfSummary": {"Successes": 20, "Failures": 2},
              "Misconfs": [{"ID": "KSV012", "Status": "FAIL", "Severity": "MEDIUM"}]}]}"#;
        let err = Trivy.parse(odd).unwrap_err();
        assert!(err.layout, "{err}");
        assert!(err.message.contains("2 failed checks"), "{err}");
        // fewer listed than counted is read, and said
        let fewer = br#"{"SchemaVersion": 2, "ArtifactName": "deploy/", "ArtifactType": "filesystem",
            "Results": [{"Target": "deploy/app.yaml", "Class": "config", "Type": "kubernetes",
              "MisconfSummary": {"Successes": 20, "Failures": 2},
              "Misconfigurations": [{"ID": "KSV012", "Status": "FAIL", "Severity": "MEDIUM"}],
              "Licenses": [{"Severity": "HIGH", "Category": "restricted", "PkgName": "x", "Name": "GPL-3.0"}]}]}"#;
        let r = parse(fewer);
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.skipped.len(), 2, "{:?}", r.skipped);
    }
}
