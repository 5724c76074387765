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
    DESCRIPTION_MAX, SHORT_MAX, SNIFF_BYTES, TITLE_MAX, has_any_key, has_key, object_path,
};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{
    Asset, AssetKind, FindingSink, NewFinding, ParseError, ParsedReport, ReportFormat,
};

mod findings;
mod identity;
#[cfg(test)]
mod tests;

use findings::read_result;
pub use identity::{
    SarifMessage, language_target, sarif_secret_identity, sarif_vulnerability_identity,
};

pub struct Trivy;

const NAME: &str = "trivy";

impl ReportFormat for Trivy {
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

    fn name(&self) -> &'static str {
        NAME
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

/// A secret as Trivy and Trivy Operator both name it: "<what> in <path>", where what is the
/// rule's title, else its category, else its id; the description adds what matched (Trivy
/// has already masked the secret in it).
pub(crate) struct SecretText<'a> {
    pub title: &'a str,
    pub category: &'a str,
    pub rule_id: &'a str,
    pub severity: &'a str,
    pub matched: &'a str,
}

impl SecretText<'_> {
    /// The finding with its title, rule, severity and description set.
    pub(crate) fn finding(&self, fingerprint: [u8; 32], path: &str) -> NewFinding {
        let what = [self.title, self.category, self.rule_id]
            .into_iter()
            .map(str::trim)
            .find(|t| !t.is_empty())
            .unwrap_or("Secret");
        let title = normalize::bounded(&format!("{what} in {path}"), TITLE_MAX);
        let mut f = NewFinding::new(fingerprint, Layer::Secret, severity(self.severity), title);
        f.rule_id = normalize::bounded(self.rule_id.trim(), SHORT_MAX);
        f.description = normalize::bounded(
            &format!("{what} found in {path}: {}", self.matched.trim()),
            DESCRIPTION_MAX,
        );
        f
    }
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
