//! Snyk Open Source and Snyk Container JSON reports (`snyk test --json`,
//! `snyk container test --json`).
//!
//! - Variants: one project object (`vulnerabilities`, `packageManager`, `projectName`,
//!   `displayTargetFile`/`targetFile`, `path`, …), a list of them (`--all-projects`), and
//!   container reports, whose `applications` (the app manifests found in the image) are
//!   projects of their own and are read too. A project with `error` and no `vulnerabilities`
//!   is skipped; a report of nothing but errors is rejected with Snyk's message. Snyk CLI
//!   1.x JSON; a `uniqueCount` above 0 with no readable vulnerability is refused (422).
//!   Snyk's SARIF is read generically by [`super::sarif`] (it has one result per
//!   vulnerability and source package where this JSON has one per binary package).
//! - Severity: `severityWithCritical` when present (older reports cap `severity` at high),
//!   else `severity`: critical → critical, high → high, medium → medium, low → low; anything
//!   else → medium.
//! - Layer: dependency for application manifests; image for OS packages of a container
//!   report (`docker-image|…` projects or a `docker` section).
//! - One finding per vulnerability, installed package and target: Snyk repeats an entry per
//!   dependency path (`from`) that pulls the package in; those are merged, their paths listed
//!   in the description.
//! - Fingerprint (`snyk/v1`): target (`displayTargetFile`/`targetFile`, else `projectName`;
//!   for an image, its repository without tag or digest, so a re-tag keeps the finding;
//!   application targets in an image are `<repository>/<file>`), package (`name`, else
//!   `packageName`), vulnerability id (`SNYK-…`). Versions, paths and texts stay out.

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use serde_json::{Map, Value};

use super::support::{
    DESCRIPTION_MAX, FIELD_MAX, LIST_MAX, SNIFF_BYTES, TITLE_MAX, has_any_key, has_key, has_keys,
    objects, opening, text,
};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct Snyk;

const NAME: &str = "snyk";

impl ReportFormat for Snyk {
    fn sniff(&self, body: &[u8]) -> bool {
        opening(body, SNIFF_BYTES, &['{', '[']).is_some_and(|head| {
            has_keys(&head, &["vulnerabilities", "packageManager"])
                && has_any_key(&head, &["upgradePath", "isUpgradable", "uniqueCount"])
                && !has_key(&head, "auditReportVersion")
        })
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let root: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        let projects: Vec<&Map<String, Value>> = match &root {
            Value::Object(o) => vec![o],
            Value::Array(a) => a.iter().filter_map(Value::as_object).collect(),
            _ => return Err(invalid("expected a JSON object or a list of projects")),
        };
        let mut acc = Accumulator::default();
        let mut errors = Vec::new();
        let mut read_any = false;
        for project in projects {
            let Some(vulns) = project.get("vulnerabilities").and_then(Value::as_array) else {
                if let Some(e) = text(project, "error") {
                    errors.push(e);
                }
                continue;
            };
            read_any = true;
            let target = Target::of(project, None);
            for v in vulns.iter().filter_map(Value::as_object) {
                acc.add(&target, v);
            }
            for app in objects(project.get("applications")) {
                let app_target = Target::of(app, Some(&target));
                for v in objects(app.get("vulnerabilities")) {
                    acc.add(&app_target, v);
                }
            }
        }
        if !read_any {
            return Err(invalid(&match errors.first() {
                Some(e) => format!("Snyk reported an error: {e}"),
                None => "no project with `vulnerabilities` found".to_string(),
            }));
        }
        let findings = acc.finish();
        // Snyk's own count of distinct vulnerabilities per project
        let counted: i64 = match &root {
            Value::Object(o) => o.get("uniqueCount").and_then(Value::as_i64).unwrap_or(0),
            Value::Array(a) => a.iter().filter_map(|p| p["uniqueCount"].as_i64()).sum(),
            _ => 0,
        };
        if findings.is_empty() && counted > 0 {
            return Err(ParseError::layout(
                NAME,
                "the vulnerabilities its `uniqueCount` counts, as `vulnerabilities[]` objects \
                 with `id` and `packageName` (snyk test --json)",
            ));
        }
        Ok(ParsedReport {
            scanner: "snyk".to_string(),
            scanner_version: None,
            findings,
            skipped: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

fn invalid(message: &str) -> ParseError {
    ParseError::invalid(NAME, normalize::bounded(message, FIELD_MAX))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    super::support::strings(v)
        .take(LIST_MAX)
        .map(|s| normalize::bounded(s.trim(), FIELD_MAX))
        .filter(|s| !s.is_empty())
        .collect()
}

/// What a project's findings are about.
struct Target {
    key: String,
    layer: Layer,
    /// `repository:tag` of a container report.
    image: Option<String>,
    repository: Option<String>,
    file: Option<String>,
}

impl Target {
    fn of(project: &Map<String, Value>, image_of: Option<&Target>) -> Target {
        let file = text(project, "displayTargetFile")
            .or_else(|| text(project, "targetFile"))
            .map(|p| normalize::path(&p));
        let name = text(project, "projectName").unwrap_or_default();
        if let Some(parent) = image_of {
            let key = match (&parent.repository, &file) {
                (Some(r), Some(f)) => format!("{r}/{}", f.trim_start_matches('/')),
                (_, Some(f)) => f.clone(),
                (r, None) => format!("{}/{name}", r.as_deref().unwrap_or("")),
            };
            return Target {
                key,
                layer: Layer::Dependency,
                image: parent.image.clone(),
                repository: parent.repository.clone(),
                file,
            };
        }
        let is_image = name.starts_with("docker-image|") || project.contains_key("docker");
        if is_image {
            // `from[0]` is `docker-image|repo@tag`; `path` is `repo:tag` (sometimes more)
            let raw = name
                .strip_prefix("docker-image|")
                .unwrap_or(&name)
                .to_string();
            let raw = if raw.is_empty() {
                text(project, "path").unwrap_or_default()
            } else {
                raw
            };
            let repository = normalize::image_repository(&raw);
            // `path` is `repo:tag`, sometimes followed by `/<app dir>`
            let tag = text(project, "path").and_then(|p| {
                let rest = p.strip_prefix(repository.as_str())?.strip_prefix(':')?;
                let tag = rest.split('/').next().unwrap_or("");
                (!tag.is_empty()).then(|| tag.to_string())
            });
            let image = match tag {
                Some(t) => format!("{repository}:{t}"),
                None => repository.clone(),
            };
            return Target {
                key: repository.clone(),
                layer: Layer::Image,
                image: Some(image),
                repository: Some(repository),
                file: None,
            };
        }
        Target {
            key: file.clone().unwrap_or(name),
            layer: Layer::Dependency,
            image: None,
            repository: None,
            file,
        }
    }
}

#[derive(Default)]
struct Accumulator {
    findings: Vec<NewFinding>,
    paths: Vec<Vec<String>>,
    seen: HashMap<[u8; 32], usize>,
}

impl Accumulator {
    fn add(&mut self, target: &Target, v: &Map<String, Value>) {
        let id = text(v, "id").unwrap_or_default();
        let package = text(v, "name")
            .or_else(|| text(v, "packageName"))
            .unwrap_or_default();
        let fingerprint = Fingerprint::new("snyk/v1")
            .push(&target.key)
            .push(&package)
            .push(&id)
            .finish();
        let from = strings(v.get("from")).join(" > ");
        if let Some(&i) = self.seen.get(&fingerprint) {
            if let Some(list) = self.paths.get_mut(i)
                && !from.is_empty()
                && !list.contains(&from)
                && list.len() < LIST_MAX
            {
                list.push(from);
            }
            return;
        }
        self.seen.insert(fingerprint, self.findings.len());
        self.paths
            .push(Some(from).filter(|f| !f.is_empty()).into_iter().collect());
        self.findings
            .push(finding(fingerprint, target, &id, &package, v));
    }

    fn finish(self) -> Vec<NewFinding> {
        let mut findings = self.findings;
        for (f, paths) in findings.iter_mut().zip(self.paths) {
            if !paths.is_empty() {
                f.description = normalize::bounded(
                    &format!(
                        "{}\n\nDependency paths:\n- {}",
                        f.description,
                        paths.join("\n- ")
                    ),
                    DESCRIPTION_MAX,
                );
            }
        }
        findings
    }
}

fn severity(v: &Map<String, Value>) -> Severity {
    let s = text(v, "severityWithCritical").or_else(|| text(v, "severity"));
    match s.map(|s| s.to_ascii_lowercase()).as_deref() {
        Some("critical") => Severity::Critical,
        Some("high") => Severity::High,
        Some("low") => Severity::Low,
        _ => Severity::Medium,
    }
}

fn finding(
    fingerprint: [u8; 32],
    target: &Target,
    id: &str,
    package: &str,
    v: &Map<String, Value>,
) -> NewFinding {
    let version = text(v, "version");
    let vuln_title = text(v, "title").unwrap_or_else(|| id.to_string());
    let title = match &version {
        Some(ver) => format!("{package}@{ver}: {vuln_title}"),
        None => format!("{package}: {vuln_title}"),
    };
    let ids = v.get("identifiers").and_then(Value::as_object);
    let id_list = |k: &str| strings(ids.and_then(|i| i.get(k)));
    let mut f = NewFinding::new(
        fingerprint,
        target.layer,
        severity(v),
        normalize::first_line(&title, TITLE_MAX),
    );
    f.rule_id = id.to_string();
    f.aliases = normalize::aliases(
        id_list("CVE")
            .into_iter()
            .chain(id_list("GHSA"))
            .chain(id_list("CWE")),
    );
    let mut description = text(v, "description").unwrap_or_else(|| vuln_title.clone());
    if let Some(cvss) = text(v, "CVSSv3") {
        description.push_str(&format!("\n\nCVSS: {cvss}"));
    }
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    let fixed_in = strings(v.get("fixedIn"));
    let upgrade: Vec<String> = strings(v.get("upgradePath"));
    f.remediation = if let Some(to) = upgrade.first() {
        format!("Upgrade to {to}.")
    } else if let Some(n) = text(v, "nearestFixedInVersion") {
        format!("Upgrade {package} to {n}.")
    } else if !fixed_in.is_empty() {
        format!("Upgrade {package} to {}.", fixed_in.join(" or "))
    } else {
        "No fixed version is available yet.".to_string()
    };
    f.references = v
        .get("references")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("url").and_then(Value::as_str))
        .filter(|u| u.starts_with("http"))
        .take(LIST_MAX)
        .map(|u| normalize::bounded(u, FIELD_MAX))
        .collect();
    f.file_path = target.file.clone();
    f.location = match (&target.image, &target.file) {
        (_, Some(file)) => format!("{file} ({package})"),
        (Some(img), None) => format!("{img} ({package})"),
        (None, None) => format!("{} ({package})", target.key),
    };
    f.package_name = Some(package.to_string()).filter(|p| !p.is_empty());
    f.package_version = version;
    f.fixed_version = text(v, "nearestFixedInVersion").or_else(|| fixed_in.first().cloned());
    f.image = target.image.clone();
    f.asset = target.repository.as_ref().map(|r| Asset {
        kind: AssetKind::Image,
        key: r.clone(),
    });
    let mut evidence = v.clone();
    evidence.remove("description");
    f.evidence = Some(normalize::evidence(&Value::Object(evidence)));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{
        assert_distinct, first, fixture, parse_error, sorted_fingerprints,
    };

    const PROJECT: &[u8] = fixture!("snyk", "project.json");
    const CONTAINER: &[u8] = fixture!("snyk", "container.json");

    #[test]
    fn project_entries_merge_by_path() {
        let lodash = first(&Snyk, PROJECT);
        assert_eq!(lodash.aliases, vec!["CVE-2020-28500", "CWE-1333"]);
        assert_eq!(lodash.remediation, "Upgrade to express-validator@6.10.0.");
        assert!(
            lodash
                .description
                .contains("shop-api@1.0.0 > lodash@4.17.15")
        );
        assert!(
            lodash
                .description
                .contains("shop-api@1.0.0 > express-validator@6.4.0 > lodash@4.17.15")
        );
    }

    #[test]
    fn fingerprints_survive_retag_and_reorder() {
        let a = Snyk.parse(CONTAINER).unwrap();
        let retagged = String::from_utf8_lossy(CONTAINER).replace("2.3.1", "2.4.0");
        let mut doc: Value = serde_json::from_str(&retagged).unwrap();
        doc["vulnerabilities"].as_array_mut().unwrap().reverse();
        let b = Snyk.parse(&serde_json::to_vec(&doc).unwrap()).unwrap();
        let fa = sorted_fingerprints(&a);
        assert_eq!(fa, sorted_fingerprints(&b));
        assert_distinct(&a);
        assert_eq!(a.findings.len(), 3);
        // a list of projects reads each project
        let list = format!(
            "[{},{}]",
            String::from_utf8_lossy(PROJECT),
            String::from_utf8_lossy(CONTAINER)
        );
        assert_eq!(Snyk.parse(list.as_bytes()).unwrap().findings.len(), 7);
    }

    #[test]
    fn malformed_reports_are_errors() {
        let err = parse_error(&Snyk, b"{\"vulnerabilities\": [");
        assert!(err.message.contains("truncated"), "{}", err.message);
        let err = Snyk
            .parse(br#"{"ok":false,"error":"Could not detect supported target files"}"#)
            .unwrap_err();
        assert!(err.message.contains("Could not detect"), "{}", err.message);
        assert!(Snyk.parse(b"3").is_err());
        let odd = Snyk
            .parse(br#"{"vulnerabilities":[1,{"identifiers":3,"from":"x","upgradePath":[false]}],"applications":7}"#)
            .unwrap();
        assert_eq!(odd.findings.len(), 1);
    }

    #[test]
    fn image_tag_comes_from_the_path() {
        let body = br#"{"vulnerabilities":[{"id":"SNYK-1","name":"zlib","version":"1"}],
            "packageManager":"deb","projectName":"docker-image|acme/shop","path":"acme/shop:latest/shop"}"#;
        let f = &Snyk.parse(body).unwrap().findings[0];
        assert_eq!(f.image.as_deref(), Some("acme/shop:latest"));
        assert_eq!(f.asset.as_ref().unwrap().key, "acme/shop");
    }

    #[test]
    fn a_unique_count_with_no_readable_vulnerability_is_refused() {
        let odd = br#"{"ok":false,"uniqueCount":2,"vulnerabilities":[["SNYK-JS-LODASH-567746"]],"packageManager":"npm"}"#;
        assert!(Snyk.parse(odd).unwrap_err().layout);
        let clean = br#"{"ok":true,"uniqueCount":0,"vulnerabilities":[],"packageManager":"npm"}"#;
        assert_eq!(Snyk.parse(clean).unwrap().findings.len(), 0);
    }
}
