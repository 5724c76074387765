//! kube-hunter JSON (`kube-hunter --report json`: `nodes`, `services`, `vulnerabilities`).
//!
//! - One finding per vulnerability and location. Entries with the same fingerprint
//!   (kube-hunter repeats identical entries when several hunters reach the same service) are
//!   merged, counting occurrences.
//! - Severity: kube-hunter's own `high` / `medium` / `low` (a `critical` or `info` is kept as
//!   such); anything else is medium.
//! - Layer: dast (probes a running cluster from the network or a pod). Asset: the host and
//!   port probed (`Host`, key `10.0.0.1:443`); checks run inside the hunter's pod ("Local to
//!   Pod (kube-hunter-5pmjs)") are about the cluster (`Cluster`, key `cluster`).
//! - Fingerprint (`kube_hunter/v1`): vulnerability id (`KHV…`; when kube-hunter says `None`,
//!   the vulnerability name), and the location with the hunter pod's generated name removed
//!   (it changes on every run). Not the evidence, description or hunter name.

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use serde::Deserialize;
use serde_json::Value;

use super::fingerprint::Fingerprint;
use super::normalize;
use super::{Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct KubeHunter;

const NAME: &str = "kube_hunter";
const TITLE_MAX: usize = 300;
const DESCRIPTION_MAX: usize = 20_000;
const LOCAL_TO_POD: &str = "Local to Pod";

#[derive(Deserialize, Default)]
#[serde(default)]
struct Output {
    vulnerabilities: Option<Vec<Value>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Vulnerability {
    location: String,
    vid: String,
    category: String,
    severity: String,
    vulnerability: String,
    description: String,
    evidence: Value,
    avd_reference: String,
    hunter: String,
}

impl ReportFormat for KubeHunter {
    fn name(&self) -> &'static str {
        NAME
    }

    fn sniff(&self, body: &[u8]) -> bool {
        let head = String::from_utf8_lossy(&body[..body.len().min(8192)]);
        head.trim_start().starts_with('{')
            && head.contains("\"vulnerabilities\"")
            && (head.contains("\"hunter\"")
                || head.contains("\"avd_reference\"")
                || (head.contains("\"nodes\"") && head.contains("\"services\"")))
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let root: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        if !root.is_object() {
            return Err(ParseError {
                format: NAME,
                message: "expected a JSON object with \"vulnerabilities\"".to_string(),
                line: None,
                column: None,
                layout: false,
            });
        }
        let output: Output =
            serde_json::from_value(root).map_err(|e| ParseError::from_json(NAME, &e))?;
        let mut findings: Vec<NewFinding> = Vec::new();
        let mut index: HashMap<[u8; 32], usize> = HashMap::new();
        for raw in output.vulnerabilities.iter().flatten() {
            let v: Vulnerability =
                serde_json::from_value(raw.clone()).map_err(|e| ParseError::from_json(NAME, &e))?;
            let f = finding(&v, raw);
            match index.get(&f.fingerprint) {
                Some(&i) => {
                    if let Some(kept) = findings.get_mut(i) {
                        kept.occurrences = kept.occurrences.saturating_add(1);
                        kept.severity = kept.severity.min(f.severity);
                    }
                }
                None => {
                    index.insert(f.fingerprint, findings.len());
                    findings.push(f);
                }
            }
        }
        Ok(ParsedReport {
            scanner: "kube-hunter".to_string(),
            scanner_version: None,
            findings,
            skipped: Vec::new(),
        })
    }
}

fn severity(raw: &str) -> Severity {
    raw.parse::<Severity>().unwrap_or(Severity::Medium)
}

/// "Local to Pod (kube-hunter-5pmjs)" → "Local to Pod": the pod name is per run.
fn stable_location(location: &str) -> String {
    let l = location.trim();
    if l.starts_with(LOCAL_TO_POD) {
        LOCAL_TO_POD.to_string()
    } else {
        l.to_string()
    }
}

fn vid(v: &Vulnerability) -> Option<&str> {
    let id = v.vid.trim();
    (!id.is_empty() && !id.eq_ignore_ascii_case("none")).then_some(id)
}

fn finding(v: &Vulnerability, raw: &Value) -> NewFinding {
    let location = stable_location(&v.location);
    let id = vid(v);
    let title = match normalize::first_line(&v.vulnerability, TITLE_MAX) {
        t if t.is_empty() => id.unwrap_or("kube-hunter finding").to_string(),
        t => t,
    };

    let mut fp = Fingerprint::new("kube_hunter/v1");
    match id {
        Some(id) => fp.push(&id.to_ascii_uppercase()),
        None => fp
            .push("name")
            .push(&normalize::collapse_whitespace(&v.vulnerability)),
    };
    fp.push(&location);

    let evidence_text = match &v.evidence {
        Value::String(s) => s.trim().to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut description = normalize::collapse_whitespace(&v.description);
    for (label, text) in [
        ("Category", v.category.trim()),
        ("Evidence", evidence_text.as_str()),
        ("Hunter", v.hunter.trim()),
        ("Location", v.location.trim()),
    ] {
        if !text.is_empty() {
            description.push_str(&format!("\n{label}: {text}"));
        }
    }

    let mut f = NewFinding::new(fp.finish(), Layer::Dast, severity(&v.severity), title);
    f.rule_id = id.unwrap_or("").to_string();
    f.description = normalize::bounded(description.trim(), DESCRIPTION_MAX);
    let reference = v.avd_reference.trim();
    if reference.starts_with("http") && !reference.to_ascii_lowercase().ends_with("/none/") {
        f.references = vec![reference.to_string()];
    }
    f.location = location.clone();
    f.asset = Some(if location == LOCAL_TO_POD || location.is_empty() {
        Asset {
            kind: AssetKind::Cluster,
            key: "cluster".to_string(),
        }
    } else {
        Asset {
            kind: AssetKind::Host,
            key: location,
        }
    });
    f.evidence = Some(normalize::evidence(raw));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/kube_hunter/pod-hunt.json"
    ));

    #[test]
    fn reads_vulnerabilities_and_merges_identical_ones() {
        let parsed = KubeHunter.parse(REPORT).unwrap();
        assert_eq!(parsed.scanner, "kube-hunter");
        let got: Vec<(&str, &str, Severity, u32)> = parsed
            .findings
            .iter()
            .map(|f| {
                (
                    f.rule_id.as_str(),
                    f.title.as_str(),
                    f.severity,
                    f.occurrences,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "KHV050",
                    "Read access to pod's service account token",
                    Severity::Low,
                    1
                ),
                ("", "CAP_NET_RAW Enabled", Severity::Medium, 1),
                ("KHV036", "Anonymous Authentication", Severity::High, 2),
                ("KHV002", "K8s Version Disclosure", Severity::Medium, 1),
            ]
        );
        let pod = &parsed.findings[0];
        assert_eq!(pod.layer, Layer::Dast);
        assert_eq!(pod.location, "Local to Pod");
        assert_eq!(pod.asset.as_ref().unwrap().kind, AssetKind::Cluster);
        assert_eq!(
            pod.references,
            vec!["https://avd.aquasec.com/kube-hunter/khv050/"]
        );
        assert!(parsed.findings[1].references.is_empty());
        let kubelet = &parsed.findings[2];
        assert_eq!(
            kubelet.asset,
            Some(Asset {
                kind: AssetKind::Host,
                key: "192.168.49.2:10250".to_string()
            })
        );
        assert!(parsed.findings[3].description.contains("Evidence: v1.29.4"));
    }

    #[test]
    fn fingerprint_ignores_pod_name_and_evidence() {
        let a = KubeHunter.parse(REPORT).unwrap();
        let text = String::from_utf8_lossy(REPORT)
            .replace("kube-hunter-7xk2p", "kube-hunter-q9w8e")
            .replace("v1.29.4", "v1.30.1");
        let mut root: Value = serde_json::from_str(&text).unwrap();
        root["vulnerabilities"].as_array_mut().unwrap().reverse();
        let b = KubeHunter.parse(root.to_string().as_bytes()).unwrap();
        assert_eq!(b.findings.len(), a.findings.len());
        for f in &a.findings {
            assert!(b.findings.iter().any(|g| g.fingerprint == f.fingerprint));
        }
        let mut fps: Vec<_> = a.findings.iter().map(|f| f.fingerprint).collect();
        fps.sort();
        fps.dedup();
        assert_eq!(fps.len(), a.findings.len());
    }

    #[test]
    fn severity_levels() {
        assert_eq!(severity("high"), Severity::High);
        assert_eq!(severity("medium"), Severity::Medium);
        assert_eq!(severity("low"), Severity::Low);
        assert_eq!(severity("weird"), Severity::Medium);
    }

    #[test]
    fn sniffs_kube_hunter_only() {
        assert!(KubeHunter.sniff(REPORT));
        assert!(KubeHunter.sniff(br#"{"nodes": [], "services": [], "vulnerabilities": []}"#));
        assert!(!KubeHunter.sniff(br#"{"version":"2.1.0","runs":[]}"#));
        assert!(!KubeHunter.sniff(br#"{"vulnerabilities": [{"id": "GHSA-1"}]}"#));
    }

    #[test]
    fn malformed_input_is_a_parse_error() {
        let err = KubeHunter.parse(b"{\"vulnerabilities\": [{]}").unwrap_err();
        assert_eq!(err.format, "kube_hunter");
        assert!(err.line.is_some());
        assert!(KubeHunter.parse(b"[]").is_err());
        assert!(
            KubeHunter
                .parse(br#"{"vulnerabilities": [{"vid": 3}]}"#)
                .is_err()
        );
    }
}
