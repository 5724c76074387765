//! CycloneDX BOMs with vulnerabilities: JSON (spec 1.4 and later, top-level
//! `vulnerabilities` whose `affects[].ref` point at components' `bom-ref`) and XML (the same
//! 1.4+ `<vulnerabilities>` model, and the 1.0 vulnerability *extension* of spec 1.2/1.3
//! where `<v:vulnerabilities>` sit inside the affected `<component>`, as old Grype wrote).
//! A BOM without vulnerabilities is read and gives no findings.
//!
//! - Severity: the first rating's own label: critical → critical, high → high, medium →
//!   medium, low → low, info / none → info; with no label (or `unknown`) the highest rating
//!   score is mapped with [`Severity::from_cvss`]; with neither, info.
//! - Layer: `image` when the BOM's subject (`metadata.component`) is a container, else
//!   `dependency`.
//! - One finding per vulnerability × affected component: a vulnerability that affects three
//!   components is three problems to fix. Affects that point at no listed component still
//!   give a finding, named by the reference.
//! - Fingerprint (`cyclonedx/v1`): the image repository without tag or digest when the
//!   subject is a container (else empty), the vulnerability id, then the component's
//!   identity without its version: package URL without version and qualifiers, else group
//!   and name; and the file the component was found in when the producer says
//!   (`syft:location:0:path`). `bom-ref`s (often random UUIDs), versions, ratings and texts
//!   never go in.
//! - XML is read with `quick_xml`, which never expands external entities or DTDs; only the
//!   five predefined entities and character references are resolved, others are dropped.

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use serde_json::Value;

use super::support::{self, DESCRIPTION_MAX, LIST_MAX, SHORT_MAX, TITLE_MAX, has_key};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat};

mod json;
#[cfg(test)]
mod tests;
mod xml_bom;

use super::xml;
use json::from_json;
use xml_bom::from_xml;

pub struct CycloneDx;

const NAME: &str = "cyclonedx";

impl ReportFormat for CycloneDx {
    fn sniff(&self, body: &[u8]) -> bool {
        let head = support::head(body);
        let t = head.trim_start_matches('\u{feff}').trim_start();
        if t.starts_with('{') {
            has_key(&head, "bomFormat") && head.contains("CycloneDX")
        } else if t.starts_with('<') {
            head.contains("<bom") && head.contains("cyclonedx.org/schema/bom")
        } else {
            false
        }
    }

    fn sniff_top(&self, top: &crate::ingest::document::TopLevel) -> bool {
        !top.array && top.value("bomFormat") == Some("CycloneDX")
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let xml = body
            .iter()
            .find(|b| !b.is_ascii_whitespace() && **b != 0xEF && **b != 0xBB && **b != 0xBF)
            .is_some_and(|b| *b == b'<');
        let bom = if xml {
            let root = xml::parse_root(NAME, body, "bom")?;
            from_xml(&root)
        } else {
            let root = support::json_object(NAME, body, "the document is not a JSON object")?;
            from_json(&root)
        };
        let subject = &Subject::of(&bom.subject);
        let from_checkov = bom
            .tool
            .as_deref()
            .is_some_and(|t| crate::ingest::tools::scanner_id(t) == "checkov");
        let findings = bom
            .vulns
            .iter()
            .flat_map(|v| {
                v.affects.iter().map(move |c| {
                    let mut f = finding(subject, v, c);
                    if from_checkov {
                        // failed policy checks, not package vulnerabilities: as Checkov's
                        // JSON and SARIF say them
                        f.layer = super::checkov::layer_of_check(&v.id);
                        if v.ratings
                            .iter()
                            .all(|r| r.score.is_none() && !known_rating(r))
                        {
                            f.severity = Severity::Medium;
                        }
                    }
                    f
                })
            })
            .collect();
        Ok(ParsedReport {
            scanner: bom.tool.unwrap_or_else(|| "CycloneDX".to_string()),
            scanner_version: bom.tool_version,
            findings,
            skipped: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// A component as far as a finding needs it.
#[derive(Default, Clone)]
struct Component {
    kind: String,
    group: String,
    name: String,
    version: String,
    purl: String,
    path: String,
}

#[derive(Default)]
struct Rating {
    severity: String,
    score: Option<f64>,
}

#[derive(Default)]
struct Vuln {
    id: String,
    other_ids: Vec<String>,
    ratings: Vec<Rating>,
    cwes: Vec<String>,
    description: String,
    detail: String,
    recommendation: String,
    references: Vec<String>,
    affects: Vec<Component>,
    raw: Value,
}

#[derive(Default)]
struct Bom {
    tool: Option<String>,
    tool_version: Option<String>,
    subject: Component,
    vulns: Vec<Vuln>,
}

/// An `affects` reference that names no listed component.
fn dangling(r: &str) -> Component {
    let r = normalize::bounded(r.trim(), SHORT_MAX);
    if r.starts_with("pkg:") {
        Component {
            purl: r,
            ..Component::default()
        }
    } else {
        Component {
            name: r,
            ..Component::default()
        }
    }
}

/// The BOM's subject, when it is a container image.
struct Subject {
    image: Option<String>,
    image_repo: String,
    asset: Option<Asset>,
}

impl Subject {
    fn of(c: &Component) -> Subject {
        if c.kind != "container" || c.name.is_empty() {
            return Subject {
                image: None,
                image_repo: String::new(),
                asset: None,
            };
        }
        let repo = normalize::image_repository(c.name.trim());
        let version = c.version.trim();
        let digest = version.starts_with("sha256:").then_some(version);
        let image = match digest {
            Some(d) if !c.name.contains('@') => format!("{}@{d}", c.name),
            None if !version.is_empty() && repo == c.name => format!("{}:{version}", c.name),
            _ => c.name.clone(),
        };
        let key = match digest {
            Some(d) => format!("{repo}@{d}"),
            None => image.clone(),
        };
        Subject {
            image: Some(image),
            image_repo: repo,
            asset: Some(Asset {
                kind: AssetKind::Image,
                key,
            }),
        }
    }
}

/// A package URL without version, qualifiers and subpath: `pkg:npm/lodash`.
fn versionless_purl(purl: &str) -> &str {
    let p = purl.split(['?', '#']).next().unwrap_or("");
    match (p.rfind('@'), p.rfind('/')) {
        (Some(at), Some(slash)) if at > slash => &p[..at],
        _ => p,
    }
}

fn known_rating(r: &Rating) -> bool {
    matches!(
        r.severity.trim().to_ascii_lowercase().as_str(),
        "critical" | "high" | "medium" | "moderate" | "low" | "info" | "none" | "negligible"
    )
}

/// The tool that made a BOM, of those its metadata lists: CycloneDX's own libraries
/// (`cyclonedx-python-lib`, …) are listed beside the tool that used them, and are not it.
fn producer<'a>(names: impl Iterator<Item = (&'a str, &'a str)>) -> Option<(String, String)> {
    let all: Vec<(&str, &str)> = names.filter(|(n, _)| !n.trim().is_empty()).collect();
    let library = |n: &str| {
        let n = n.to_ascii_lowercase();
        n.starts_with("cyclonedx") && (n.contains("lib") || n.contains("core-java"))
    };
    all.iter()
        .find(|(n, _)| !library(n))
        .or(all.first())
        .map(|(n, v)| (n.to_string(), v.to_string()))
}

fn severity(ratings: &[Rating]) -> Severity {
    for r in ratings {
        match r.severity.trim().to_ascii_lowercase().as_str() {
            "critical" => return Severity::Critical,
            "high" => return Severity::High,
            "medium" | "moderate" => return Severity::Medium,
            "low" => return Severity::Low,
            "info" | "none" | "negligible" => return Severity::Info,
            _ => {}
        }
    }
    ratings
        .iter()
        .filter_map(|r| r.score)
        .fold(None, |best: Option<f64>, s| {
            Some(best.map_or(s, |b| b.max(s)))
        })
        .map_or(Severity::Info, Severity::from_cvss)
}

fn finding(subject: &Subject, v: &Vuln, c: &Component) -> NewFinding {
    let identity = if c.purl.is_empty() {
        format!("{}/{}", c.group, c.name)
    } else {
        versionless_purl(&c.purl).to_string()
    };
    let path = normalize::path(&c.path);
    let mut fp = Fingerprint::new("cyclonedx/v1");
    fp.push(&subject.image_repo)
        .push(&v.id)
        .push(&identity)
        .push(&path);

    let aliases = normalize::aliases(
        std::iter::once(v.id.as_str())
            .chain(v.other_ids.iter().map(String::as_str))
            .filter(|i| normalize::is_alias(i))
            .map(str::to_string)
            .chain(v.cwes.iter().filter(|c| c.len() > 4).cloned()),
    );
    let shown_id = if normalize::is_alias(&v.id) || v.id.is_empty() {
        aliases.first().cloned().unwrap_or_else(|| v.id.clone())
    } else {
        aliases
            .iter()
            .find(|a| !a.starts_with("CWE-"))
            .cloned()
            .unwrap_or_else(|| v.id.clone())
    };
    let package = match (c.name.as_str(), c.purl.as_str()) {
        ("", p) => p.to_string(),
        (n, _) if c.group.is_empty() => n.to_string(),
        (n, _) => format!("{}:{n}", c.group),
    };
    let title = normalize::bounded(
        format!("{shown_id} in {package} {}", c.version).trim(),
        TITLE_MAX,
    );
    let layer = if subject.image.is_some() {
        Layer::Image
    } else {
        Layer::Dependency
    };
    let mut f = NewFinding::new(fp.finish(), layer, severity(&v.ratings), title);
    f.rule_id = v.id.clone();
    f.aliases = aliases;
    let description = match (v.description.as_str(), v.detail.as_str()) {
        ("", d) => d.to_string(),
        (d, "") => d.to_string(),
        (d, detail) if detail.starts_with(d.trim_end_matches(['.', '…'])) => detail.to_string(),
        (d, detail) => format!("{d}\n\n{detail}"),
    };
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    f.remediation = v.recommendation.clone();
    let mut references: Vec<String> = Vec::new();
    for r in v.references.iter().filter(|r| !r.is_empty()) {
        if references.len() < LIST_MAX && !references.contains(r) {
            references.push(r.clone());
        }
    }
    f.references = references;
    f.package_name = (!package.is_empty()).then(|| normalize::bounded(&package, SHORT_MAX));
    f.package_version = (!c.version.is_empty()).then(|| c.version.clone());
    f.file_path = (!path.is_empty()).then(|| normalize::bounded(&path, SHORT_MAX));
    f.image = subject.image.clone();
    f.asset = subject.asset.clone();
    f.location = subject
        .image
        .clone()
        .or_else(|| f.file_path.clone())
        .or_else(|| (!c.purl.is_empty()).then(|| c.purl.clone()))
        .unwrap_or_else(|| format!("{package} {}", c.version).trim().to_string());
    f.evidence = Some(normalize::evidence(&v.raw));
    f
}
