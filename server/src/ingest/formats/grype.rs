//! Anchore Grype JSON (`grype -o json`), old (0.7: `links`, `cvssV3`, one `matchDetails`
//! object) and current (`urls`, `cvss[]`, `relatedVulnerabilities`, `matchDetails[]`) layouts,
//! for image, directory, file and SBOM sources. Grype's SARIF is read by [`super::sarif`]
//! with this module's identity and severity (see [`SarifMessage`]).
//!
//! - Refused as a layout Bosun does not read (422): a document with no top-level `matches`
//!   list (Grype always writes it, `[]` when clean), e.g. another `-o` output sent with the
//!   format named.
//! - Severity: Grype's labels: Critical → critical, High → high, Medium → medium, Low → low,
//!   Negligible → info; Unknown (or missing) → the highest CVSS v3 base score given, mapped
//!   with [`Severity::from_cvss`], else info.
//! - Layer: `image` when the source is a container image, else `dependency`.
//! - One finding per vulnerability × package (name, version, where it was found): matches of
//!   the same vulnerability on the same package reported by several matchers are merged
//!   (their highest severity is kept), as DefectDojo does.
//! - Fingerprint (`grype/v1`): for image sources the image repository without tag or digest
//!   (a re-tag or rebuild keeps identity), then the vulnerability id, the package name, the
//!   package type, and for language packages the first of the sorted paths the package was
//!   found at (OS packages live in the package database, whose path says nothing). Versions,
//!   descriptions and the report's timestamps never go in.

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use serde::Deserialize;
use serde_json::Value;

use super::support::{
    DESCRIPTION_MAX, LIST_MAX, SHORT_MAX, TITLE_MAX, has_any_key, has_key, has_keys, json_head,
};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct Grype;

const NAME: &str = "grype";
/// Package types whose location is the OS package database, not a file of the project.
const OS_PACKAGE_TYPES: &[&str] = &["deb", "rpm", "apk", "alpm", "portage", "linux-kernel"];

impl ReportFormat for Grype {
    fn scans_images(&self) -> bool {
        true
    }

    fn sniff(&self, body: &[u8]) -> bool {
        json_head(body).is_some_and(|head| {
            has_key(&head, "matches")
                && (has_any_key(&head, &["matchDetails", "relatedVulnerabilities"])
                    || head.contains("\"name\": \"grype\"")
                    || head.contains("\"name\":\"grype\"")
                    || has_keys(&head, &["source", "userInput"]))
        })
    }

    fn sniff_top(&self, top: &crate::ingest::document::TopLevel) -> bool {
        !top.array && top.has("matches") && (top.has("source") || top.has("descriptor"))
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let report: Report =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        // Grype writes `matches` always, `[]` when there are none: a document without it
        // (another of Grype's outputs, a renamed list) is not a clean scan
        if report.matches.is_empty()
            && !crate::ingest::document::top_level(body)
                .is_some_and(|t| !t.array && t.has("matches"))
        {
            return Err(ParseError::layout(
                NAME,
                "a top-level `matches` list (`grype -o json`)",
            ));
        }
        let source = Source::of(&report.source);
        let mut findings: Vec<NewFinding> = Vec::new();
        let mut index: HashMap<[u8; 32], usize> = HashMap::new();
        for (i, raw) in report.matches.iter().enumerate() {
            let m = Match::deserialize(raw).map_err(|e| {
                ParseError::invalid(NAME, format!("match {i} has an unexpected shape: {e}"))
            })?;
            let f = finding(&source, &m, raw);
            match index.get(&f.fingerprint) {
                Some(&at) => {
                    if let Some(kept) = findings.get_mut(at)
                        && f.severity < kept.severity
                    {
                        kept.severity = f.severity;
                    }
                }
                None => {
                    index.insert(f.fingerprint, findings.len());
                    findings.push(f);
                }
            }
        }
        Ok(ParsedReport {
            scanner: "Grype".to_string(),
            scanner_version: report.descriptor.version.filter(|v| !v.trim().is_empty()),
            findings,
            skipped: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Report {
    matches: Vec<Value>,
    source: Value,
    descriptor: Descriptor,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Descriptor {
    version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Match {
    vulnerability: Vulnerability,
    related_vulnerabilities: Vec<Vulnerability>,
    artifact: Artifact,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Vulnerability {
    id: String,
    severity: String,
    description: String,
    data_source: String,
    urls: Vec<String>,
    links: Vec<String>,
    cvss: Value,
    #[serde(rename = "cvssV3")]
    cvss_v3: Value,
    fix: Fix,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Fix {
    versions: Vec<String>,
    state: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Artifact {
    name: String,
    version: String,
    #[serde(rename = "type")]
    kind: String,
    locations: Vec<Location>,
    purl: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Location {
    path: String,
}

/// The identity of a match (`grype/v1`), shared by Grype's JSON and its SARIF (read by
/// [`super::sarif`] from [`SarifMessage`]).
pub fn identity(
    image_repo: &str,
    id: &str,
    pkg: &str,
    pkg_type: &str,
    file: Option<&str>,
) -> [u8; 32] {
    Fingerprint::new("grype/v1")
        .push(image_repo)
        .push(id)
        .push(pkg)
        .push(pkg_type)
        .push(file.unwrap_or(""))
        .finish()
}

/// Whether a package type is the operating system's (its file is the package database,
/// which says nothing about which package: it stays out of the identity).
pub fn is_os_package(pkg_type: &str) -> bool {
    OS_PACKAGE_TYPES.contains(&pkg_type.trim().to_ascii_lowercase().as_str())
}

/// What Grype's SARIF (v0.74.7 and later) says of a match in its result message: `A medium
/// vulnerability in deb package: libssl3, version 3.0.11 was found in image
/// registry/shop/api:1.4.2 at: /var/lib/dpkg/status` (or `… was found at: <path>` for a
/// directory). Its severity word is Grype's label, except that `low` also stands for
/// Negligible and Unknown.
#[derive(Debug, PartialEq, Eq)]
pub struct SarifMessage<'a> {
    pub severity: &'a str,
    pub pkg_type: &'a str,
    pub pkg: &'a str,
    pub image: Option<&'a str>,
    pub path: Option<&'a str>,
}

impl<'a> SarifMessage<'a> {
    pub fn read(message: &'a str) -> Option<SarifMessage<'a>> {
        // VEX-annotated results append a line ("VEX Status: …")
        let first = message.lines().next()?.trim();
        let rest = first.strip_prefix("A ")?;
        let (severity, rest) = rest.split_once(" vulnerability in ")?;
        let (pkg_type, rest) = rest.split_once(" package: ")?;
        let (pkg, rest) = rest.split_once(", version ")?;
        let (_version, found) = rest.split_once(" was found ")?;
        let (image, path) = if let Some(image) = found.strip_prefix("in image ") {
            match image.rsplit_once(" at: ") {
                Some((image, path)) => (Some(image), Some(path)),
                None => (Some(image), None),
            }
        } else {
            (None, found.strip_prefix("at: "))
        };
        Some(SarifMessage {
            severity,
            pkg_type,
            pkg,
            image: image.map(str::trim).filter(|i| !i.is_empty()),
            path: path.map(str::trim).filter(|p| !p.is_empty()),
        })
    }

    /// The image repository without tag or digest, as the JSON reader keys image matches.
    pub fn image_repo(&self) -> String {
        self.image
            .map(|i| normalize::bounded(&normalize::image_repository(i), SHORT_MAX))
            .unwrap_or_default()
    }

    /// Grype's severity; `low` with a security-severity of 0 is Negligible or Unknown
    /// without a score, which the JSON reader makes info.
    pub fn severity(&self, score: Option<f64>) -> Severity {
        match self.severity.to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" => Severity::High,
            "medium" => Severity::Medium,
            "low" if score.is_some_and(|s| s <= 0.0) => Severity::Info,
            "low" => Severity::Low,
            _ => score.map_or(Severity::Info, Severity::from_cvss),
        }
    }
}

/// What the scan was of.
struct Source {
    image: Option<String>,
    image_repo: String,
    asset: Option<Asset>,
}

impl Source {
    fn of(source: &Value) -> Source {
        let kind = source["type"].as_str().unwrap_or("");
        let target = &source["target"];
        if kind == "image" {
            let name = target["userInput"]
                .as_str()
                .or(target["tags"][0].as_str())
                .unwrap_or("")
                .trim();
            let digest = target["repoDigests"][0]
                .as_str()
                .and_then(|d| d.split_once('@').map(|(_, d)| d))
                .or(target["manifestDigest"].as_str())
                .map(str::trim)
                .filter(|d| !d.is_empty());
            let repo = normalize::bounded(&normalize::image_repository(name.trim()), SHORT_MAX);
            let image = match digest {
                Some(d) if !name.contains('@') && !name.is_empty() => format!("{name}@{d}"),
                _ => name.to_string(),
            };
            let key = match digest {
                Some(d) if !repo.is_empty() => format!("{repo}@{d}"),
                _ => name.to_string(),
            };
            Source {
                image: (!image.is_empty()).then(|| normalize::bounded(&image, SHORT_MAX)),
                image_repo: repo,
                asset: (!key.is_empty()).then(|| Asset {
                    kind: AssetKind::Image,
                    key: normalize::bounded(&key, SHORT_MAX),
                }),
            }
        } else {
            let path = target
                .as_str()
                .map(|t| normalize::path(t.trim_matches('"')))
                .filter(|p| !p.is_empty() && p != ".");
            Source {
                image: None,
                image_repo: String::new(),
                asset: path.map(|key| Asset {
                    kind: AssetKind::Repository,
                    key: normalize::bounded(&key, SHORT_MAX),
                }),
            }
        }
    }
}

/// The highest CVSS v3 base score a vulnerability carries, in either layout.
fn cvss3_score(v: &Vulnerability) -> Option<f64> {
    let listed = v.cvss.as_array().into_iter().flatten().filter_map(|c| {
        let version = c["version"].as_str().unwrap_or("");
        version
            .starts_with('3')
            .then(|| c["metrics"]["baseScore"].as_f64())
            .flatten()
    });
    listed
        .chain(v.cvss_v3["baseScore"].as_f64())
        .fold(None, |best: Option<f64>, s| {
            Some(best.map_or(s, |b| b.max(s)))
        })
}

fn severity(v: &Vulnerability) -> Severity {
    match v.severity.trim().to_ascii_lowercase().as_str() {
        "critical" => Severity::Critical,
        "high" => Severity::High,
        "medium" => Severity::Medium,
        "low" => Severity::Low,
        "negligible" => Severity::Info,
        _ => cvss3_score(v).map_or(Severity::Info, Severity::from_cvss),
    }
}

fn finding(source: &Source, m: &Match, raw: &Value) -> NewFinding {
    let v = &m.vulnerability;
    let a = &m.artifact;
    let id = v.id.trim();
    let pkg = a.name.trim();
    let pkg_type = a.kind.trim();
    let mut paths: Vec<String> = a
        .locations
        .iter()
        .map(|l| normalize::path(&l.path))
        .filter(|p| !p.is_empty())
        .collect();
    paths.sort();
    let os_package = is_os_package(pkg_type);
    let file = (!os_package)
        .then(|| paths.first().cloned())
        .flatten()
        .map(|p| normalize::bounded(&p, SHORT_MAX));

    let fingerprint = identity(&source.image_repo, id, pkg, pkg_type, file.as_deref());

    let title = normalize::bounded(
        format!("{id} in {pkg} {}", a.version.trim()).trim(),
        TITLE_MAX,
    );
    let layer = if source.image.is_some() {
        Layer::Image
    } else {
        Layer::Dependency
    };
    let mut f = NewFinding::new(fingerprint, layer, severity(v), title);
    f.rule_id = normalize::bounded(id, SHORT_MAX);
    f.aliases = normalize::aliases(
        std::iter::once(id)
            .chain(m.related_vulnerabilities.iter().map(|r| r.id.as_str()))
            .filter(|i| normalize::is_alias(i)),
    );
    let description = [v.description.as_str()]
        .into_iter()
        .chain(
            m.related_vulnerabilities
                .iter()
                .map(|r| r.description.as_str()),
        )
        .map(str::trim)
        .find(|d| !d.is_empty())
        .unwrap_or("");
    f.description = normalize::bounded(description, DESCRIPTION_MAX);
    let fixed: Vec<&str> = v
        .fix
        .versions
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if !fixed.is_empty() {
        let fixed = normalize::bounded(&fixed.join(", "), SHORT_MAX);
        f.remediation = format!("Upgrade {pkg} to {fixed}.");
        f.fixed_version = Some(fixed);
    } else if v.fix.state.trim() == "wont-fix" {
        f.remediation = "The maintainers will not fix this version.".to_string();
    }
    let mut references: Vec<String> = Vec::new();
    let all = [v.data_source.as_str()]
        .into_iter()
        .chain(v.urls.iter().map(String::as_str))
        .chain(v.links.iter().map(String::as_str))
        .chain(m.related_vulnerabilities.iter().flat_map(|r| {
            std::iter::once(r.data_source.as_str()).chain(r.urls.iter().map(String::as_str))
        }));
    for r in all.map(str::trim).filter(|r| !r.is_empty()) {
        if references.len() >= LIST_MAX {
            break;
        }
        if !references.iter().any(|x| x == r) {
            references.push(normalize::bounded(r, SHORT_MAX));
        }
    }
    f.references = references;
    f.package_name = (!pkg.is_empty()).then(|| normalize::bounded(pkg, SHORT_MAX));
    f.package_version =
        (!a.version.trim().is_empty()).then(|| normalize::bounded(a.version.trim(), SHORT_MAX));
    f.file_path = file.or_else(|| paths.first().map(|p| normalize::bounded(p, SHORT_MAX)));
    f.image = source.image.clone();
    f.asset = source.asset.clone();
    f.location = match (&source.image, &f.file_path) {
        (Some(i), _) => i.clone(),
        (None, Some(p)) => p.clone(),
        (None, None) => normalize::bounded(a.purl.trim(), SHORT_MAX),
    };
    f.evidence = Some(normalize::evidence(raw));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{
        assert_distinct, assert_same_identities, find_pkg, fixture, parse_error, read,
    };

    #[test]
    fn image_report() {
        let r = read(&Grype, fixture!("grype", "image.json"));
        assert_eq!(r.scanner, "Grype");
        assert_eq!(r.scanner_version.as_deref(), Some("0.82.0"));
        // 7 matches, one of them a second matcher's report of the same problem
        assert_eq!(r.findings.len(), 6);
        let f = find_pkg(&r, "CVE-2024-45490", "libexpat");
        assert_eq!(f.layer, Layer::Image);
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.package_version.as_deref(), Some("2.6.2-r0"));
        assert_eq!(f.fixed_version.as_deref(), Some("2.6.3-r0"));
        assert_eq!(f.remediation, "Upgrade libexpat to 2.6.3-r0.");
        assert_eq!(
            f.image.as_deref(),
            Some(
                "registry.example.com/acme/web:3.2.0@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            )
        );
        assert_eq!(
            f.asset.as_ref().map(|a| (a.kind, a.key.as_str())),
            Some((
                AssetKind::Image,
                "registry.example.com/acme/web@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            ))
        );
        assert_eq!(f.aliases, vec!["CVE-2024-45490"]);
        assert!(
            f.references
                .contains(&"https://nvd.nist.gov/vuln/detail/CVE-2024-45490".to_string())
        );
        let ghsa = find_pkg(&r, "GHSA-3q9x-9rxj-2x76", "werkzeug");
        assert_eq!(ghsa.aliases, vec!["GHSA-3q9x-9rxj-2x76", "CVE-2024-34069"]);
        assert_eq!(ghsa.file_path.as_deref(), Some("/app/requirements.txt"));
        assert_eq!(
            ghsa.description,
            "Werkzeug debugger vulnerable to remote execution."
        );
    }

    #[test]
    fn severities_map() {
        let r = read(&Grype, fixture!("grype", "image.json"));
        for (rule, pkg, severity, why) in [
            ("CVE-2024-45490", "libexpat", Severity::Critical, ""),
            ("GHSA-3q9x-9rxj-2x76", "werkzeug", Severity::High, ""),
            (
                "CVE-2024-2511",
                "libcrypto3",
                Severity::Medium,
                "merged: highest kept",
            ),
            ("CVE-2024-4603", "libcrypto3", Severity::Low, ""),
            ("CVE-2005-2541", "tar", Severity::Info, "negligible"),
            (
                "CVE-2024-9999",
                "zlib",
                Severity::High,
                "unknown → CVSS 7.5",
            ),
        ] {
            assert_eq!(find_pkg(&r, rule, pkg).severity, severity, "{rule} {why}");
        }
    }

    #[test]
    fn identity_survives_retag_and_reorder_and_a_new_version() {
        let a = read(&Grype, fixture!("grype", "image.json"));
        let b = read(&Grype, fixture!("grype", "image_retagged.json"));
        assert_same_identities(&a, &b, |b, f| {
            find_pkg(b, &f.rule_id, f.package_name.as_deref().unwrap())
        });
        assert_distinct(&a);
    }

    #[test]
    fn old_layout_and_directory_source() {
        let r = read(&Grype, fixture!("grype", "directory_old.json"));
        assert_eq!(r.findings.len(), 2);
        let f = find_pkg(&r, "CVE-2021-23337", "lodash");
        assert_eq!(f.layer, Layer::Dependency);
        assert_eq!(f.severity, Severity::High);
        assert_eq!(f.location, "web/package-lock.json");
        assert_eq!(
            f.references,
            vec!["https://github.com/advisories/GHSA-35jh-r3h4-6jhm"]
        );
        let g = find_pkg(&r, "CVE-2020-8203", "lodash");
        assert_eq!(g.severity, Severity::High, "unknown label, cvssV3 7.4");
        assert_eq!(f.image, None);
    }

    #[test]
    fn a_document_without_matches_is_refused() {
        let renamed = br#"{"source": {"type": "image", "target": {"userInput": "alpine:3.18", "imageID": "sha256:8ca4"}},
 "distro": {"name": "alpine", "version": "3.18.4"},
 "descriptor": {"name": "grype", "version": "0.74.0"},
 "vulnerabilities": [{"id": "CVE-2023-5363", "severity": "High"}]}"#;
        let err = Grype.parse(renamed).unwrap_err();
        assert!(err.layout, "{err}");
        assert!(err.message.contains("`matches`"), "{}", err.message);
        assert!(Grype.parse(b"[]").unwrap_err().layout);
        assert!(Grype.parse(b"{}").unwrap_err().layout);
        let clean = br#"{"matches": [], "source": {"type": "image", "target": {"userInput": "alpine:3.18"}},
 "descriptor": {"name": "grype", "version": "0.74.0"}}"#;
        let r = read(&Grype, clean);
        assert!(r.findings.is_empty() && r.skipped.is_empty());
    }

    #[test]
    fn malformed_input_is_a_parse_error() {
        let err = parse_error(&Grype, b"{\"matches\": [\n  {oops}]}");
        assert_eq!(err.line, Some(2));
        let err = Grype
            .parse(br#"{"matches":[{"vulnerability":{"id":5}}]}"#)
            .unwrap_err();
        assert!(err.message.contains("match 0"), "{}", err.message);
        assert!(
            Grype
                .parse(b"{\"matches\":[")
                .unwrap_err()
                .message
                .contains("truncated")
        );
    }
}
