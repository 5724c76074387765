//! Bosun's own generic JSON format, for home-grown tools and scripts.
//!
//! ```json
//! {
//!   "bosun_format": 1,
//!   "scanner": { "name": "license-check", "version": "0.3.0" },
//!   "findings": [{
//!     "id": "optional stable id from your tool",
//!     "rule_id": "LIC-GPL", "title": "GPL-3.0 dependency in a proprietary service",
//!     "severity": "high",                      // critical | high | medium | low | info
//!     "layer": "dependency",                   // code | dependency | image | cluster_config | secret | dast | runtime
//!     "description": "...", "remediation": "...", "references": ["https://..."],
//!     "aliases": ["CVE-2024-1234", "CWE-79"],
//!     "file": "go.mod", "line": 12,
//!     "package": { "name": "example.org/lib", "version": "1.2.0", "fixed_version": "1.3.0" },
//!     "image": "registry.example/app:1.4", "url": "https://app.example/login",
//!     "k8s": { "namespace": "payments", "kind": "Deployment", "name": "api" }
//!   }]
//! }
//! ```
//! Only `scanner.name`, `title`, `severity` and `layer` are required; a wrong value is
//! refused with the finding's index. Fingerprint (`bosun/v1`): scanner and `id` when given,
//! else scanner, layer, rule, file, package name, image repository (no tag), workload and URL.

use app::domain::{Layer, Severity};
use serde::Deserialize;

use super::support::{has_key, opening};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::{
    Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat, normalize,
};

pub struct BosunJson;

const NAME: &str = "bosun";

#[derive(Deserialize)]
struct Report {
    bosun_format: u32,
    scanner: Scanner,
    #[serde(default)]
    findings: Vec<Item>,
}

#[derive(Deserialize)]
struct Scanner {
    name: String,
    version: Option<String>,
}

#[derive(Deserialize)]
struct Item {
    id: Option<String>,
    #[serde(default)]
    rule_id: String,
    title: String,
    severity: String,
    layer: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    remediation: String,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    aliases: Vec<String>,
    file: Option<String>,
    line: Option<i32>,
    package: Option<Package>,
    image: Option<String>,
    url: Option<String>,
    k8s: Option<K8s>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: Option<String>,
    fixed_version: Option<String>,
}

#[derive(Deserialize)]
struct K8s {
    namespace: Option<String>,
    kind: Option<String>,
    name: Option<String>,
}

impl ReportFormat for BosunJson {
    fn sniff(&self, body: &[u8]) -> bool {
        opening(body, 4096, &['{']).is_some_and(|head| has_key(&head, "bosun_format"))
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let report: Report =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        let invalid = |message: String| ParseError::invalid(NAME, message);
        if report.bosun_format != 1 {
            return Err(invalid(format!(
                "bosun_format {} is not supported (use 1)",
                report.bosun_format
            )));
        }
        let scanner = report.scanner.name.trim().to_string();
        if scanner.is_empty() {
            return Err(invalid("scanner.name must not be empty".into()));
        }
        let mut findings = Vec::with_capacity(report.findings.len());
        for (i, item) in report.findings.into_iter().enumerate() {
            let severity: Severity = item
                .severity
                .parse()
                .map_err(|e| invalid(format!("findings[{i}].severity: {e}")))?;
            let layer: Layer = item
                .layer
                .parse()
                .map_err(|e| invalid(format!("findings[{i}].layer: {e}")))?;
            let title = normalize::first_line(&item.title, 300);
            if title.is_empty() {
                return Err(invalid(format!("findings[{i}].title must not be empty")));
            }
            findings.push(finding(&scanner, item, layer, severity, title));
        }
        Ok(ParsedReport {
            scanner,
            scanner_version: report.scanner.version,
            findings,
            skipped: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

fn finding(
    scanner: &str,
    item: Item,
    layer: Layer,
    severity: Severity,
    title: String,
) -> NewFinding {
    let file = item
        .file
        .as_deref()
        .map(normalize::path)
        .filter(|p| !p.is_empty());
    let workload = item.k8s.as_ref().map(|k| {
        [&k.namespace, &k.kind, &k.name]
            .iter()
            .map(|v| v.as_deref().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("/")
    });
    let mut fp = Fingerprint::new("bosun/v1");
    fp.push(&scanner.to_ascii_lowercase());
    match item.id.as_deref().filter(|id| !id.trim().is_empty()) {
        Some(id) => {
            fp.push("id").push(id.trim());
        }
        None => {
            fp.push(layer.as_str())
                .push(&item.rule_id)
                .push(file.as_deref().unwrap_or(""))
                .push(item.package.as_ref().map(|p| p.name.as_str()).unwrap_or(""))
                .push(
                    &item
                        .image
                        .as_deref()
                        .map(normalize::image_repository)
                        .unwrap_or_default(),
                )
                .push(workload.as_deref().unwrap_or(""))
                .push(item.url.as_deref().unwrap_or(""));
            if item.rule_id.is_empty() {
                fp.push(&title);
            }
        }
    }
    let location = match (&file, item.line, &workload, &item.image, &item.url) {
        (Some(f), Some(l), ..) => format!("{f}:{l}"),
        (Some(f), None, ..) => f.clone(),
        (None, _, Some(w), ..) => w.clone(),
        (None, _, None, Some(img), _) => img.clone(),
        (None, _, None, None, Some(url)) => url.clone(),
        _ => String::new(),
    };
    let asset = if let Some(img) = &item.image {
        Some(Asset {
            kind: AssetKind::Image,
            key: normalize::image_repository(img),
        })
    } else if let Some(w) = &workload {
        Some(Asset {
            kind: AssetKind::Workload,
            key: w.clone(),
        })
    } else {
        item.url.as_ref().map(|u| Asset {
            kind: AssetKind::Url,
            key: u.clone(),
        })
    };
    let mut f = NewFinding::new(fp.finish(), layer, severity, title);
    f.rule_id = item.rule_id;
    f.aliases = normalize::aliases(&item.aliases);
    f.description = normalize::bounded(&item.description, 20_000);
    f.remediation = normalize::bounded(&item.remediation, 20_000);
    f.references = item.references.into_iter().take(50).collect();
    f.file_path = file;
    f.line = item.line;
    f.location = location;
    if let Some(p) = item.package {
        f.package_name = Some(p.name);
        f.package_version = p.version;
        f.fixed_version = p.fixed_version;
    }
    f.image = item.image;
    if let Some(k) = item.k8s {
        f.k8s_namespace = k.namespace;
        f.k8s_kind = k.kind;
        f.k8s_name = k.name;
    }
    f.url = item.url;
    f.asset = asset;
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::fixture;

    const FIXTURE: &[u8] = fixture!("bosun", "license-check.json");

    #[test]
    fn image_findings_survive_a_retag_and_ids_win() {
        let a = br#"{"bosun_format":1,"scanner":{"name":"t"},"findings":[{"title":"x","severity":"low","layer":"image","rule_id":"R","image":"reg.io/app:1.0"}]}"#;
        let b = br#"{"bosun_format":1,"scanner":{"name":"t"},"findings":[{"title":"x","severity":"low","layer":"image","rule_id":"R","image":"reg.io/app:2.0@sha256:ab"}]}"#;
        let fa = &BosunJson.parse(a).unwrap().findings[0];
        let fb = &BosunJson.parse(b).unwrap().findings[0];
        assert_eq!(fa.fingerprint, fb.fingerprint);
    }

    #[test]
    fn wrong_values_name_the_finding() {
        let bad = br#"{"bosun_format":1,"scanner":{"name":"t"},"findings":[{"title":"x","severity":"urgent","layer":"code"}]}"#;
        let err = BosunJson.parse(bad).unwrap_err();
        assert_eq!(
            err.message,
            "findings[0].severity: unknown severity 'urgent'"
        );
        let v2 = br#"{"bosun_format":2,"scanner":{"name":"t"}}"#;
        assert!(
            BosunJson
                .parse(v2)
                .unwrap_err()
                .message
                .contains("not supported")
        );
        assert!(BosunJson.sniff(FIXTURE));
        assert!(!BosunJson.sniff(br#"{"version":"2.1.0","runs":[]}"#));
    }
}
