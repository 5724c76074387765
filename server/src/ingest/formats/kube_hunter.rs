//! kube-hunter JSON (`kube-hunter --report json`: `nodes`, `services`, `vulnerabilities`).
//!
//! - Variants: `--report json` of kube-hunter 0.2 to 0.6.8 (with `--statistics`, also
//!   `hunter_statistics`), and the same entries in a Starboard `KubeHunterReport` resource
//!   (`report.vulnerabilities`, `report.scanner.version`) or a list of them
//!   (`KubeHunterReportList` / `kubectl get kubehunterreports -o json`:
//!   `items[].report.vulnerabilities`), read with the same fingerprint. A report with none of
//!   these lists (or a list that is not an array), a list whose items are not
//!   `KubeHunterReport`s, or one whose own count (`Σ hunter_statistics[].vulnerabilities`,
//!   or Starboard's `summary` counts) is above 0 while it lists nothing is refused (422),
//!   never stored as a clean scan.
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

use app::domain::{Layer, Severity};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::support::{
    DESCRIPTION_MAX, Repeats, TITLE_MAX, has_any_key, has_key, has_keys, json_head,
};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct KubeHunter;

const NAME: &str = "kube_hunter";
const LOCAL_TO_POD: &str = "Local to Pod";

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
    fn sniff(&self, body: &[u8]) -> bool {
        json_head(body).is_some_and(|head| {
            has_key(&head, "vulnerabilities")
                && (has_any_key(&head, &["hunter", "avd_reference"])
                    || has_keys(&head, &["nodes", "services"]))
        })
    }

    fn sniff_top(&self, top: &crate::ingest::document::TopLevel) -> bool {
        // a large cluster's `nodes` and `services` can push `vulnerabilities` out of the head
        !top.array
            && ((top.has("nodes") && top.has("services") && top.has("vulnerabilities"))
                || matches!(
                    top.value("kind"),
                    Some("KubeHunterReport" | "KubeHunterReportList")
                ))
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let root: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        let Some(root) = root.as_object() else {
            return Err(ParseError::invalid(
                NAME,
                "expected a JSON object with \"vulnerabilities\"".to_string(),
            ));
        };
        let Output {
            lists,
            tallied,
            version,
        } = output(root)?;
        let mut findings = Repeats::default();
        for raw in lists.into_iter().flatten() {
            let v: Vulnerability =
                serde_json::from_value(raw.clone()).map_err(|e| ParseError::from_json(NAME, &e))?;
            let f = finding(&v, raw);
            findings.add(f);
        }
        if findings.is_empty() && tallied > 0 {
            return Err(ParseError::layout(
                NAME,
                "the vulnerabilities its `hunter_statistics` or Starboard `summary` counts, as \
                 `vulnerabilities[]` objects with `vid`, `vulnerability` and `location`",
            ));
        }
        Ok(ParsedReport {
            scanner: "kube-hunter".to_string(),
            scanner_version: version,
            findings: findings.into_findings(),
            skipped: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// The layouts read, for a layout refusal.
const EXPECTED: &str = "kube-hunter --report json (top-level `nodes`, `services`, \
     `vulnerabilities`), or a Starboard `KubeHunterReport` (`report.vulnerabilities`) or \
     `KubeHunterReportList` (`items[].report.vulnerabilities`)";

/// A report's vulnerability lists, with the tool's own count of them.
struct Output<'a> {
    lists: Vec<&'a Vec<Value>>,
    /// kube-hunter's `hunter_statistics` (counted as hunters publish, so at least the
    /// entries listed) or Starboard's `summary` counts: only "more than 0" is used.
    tallied: i64,
    /// Starboard's `report.scanner.version`.
    version: Option<String>,
}

fn output(root: &Map<String, Value>) -> Result<Output<'_>, ParseError> {
    let refuse = || ParseError::layout(NAME, EXPECTED);
    if let Some(list) = root.get("vulnerabilities") {
        let tallied = root
            .get("hunter_statistics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|h| h.get("vulnerabilities").and_then(Value::as_i64))
            .sum();
        return Ok(Output {
            lists: vec![list.as_array().ok_or_else(refuse)?],
            tallied,
            version: None,
        });
    }
    let reports: Vec<&Map<String, Value>> = if root.contains_key("report") {
        vec![root]
    } else if let Some(items) = root.get("items") {
        items
            .as_array()
            .ok_or_else(refuse)?
            .iter()
            .map(|i| i.as_object().ok_or_else(refuse))
            .collect::<Result<_, _>>()?
    } else {
        return Err(refuse());
    };
    let mut out = Output {
        lists: Vec::new(),
        tallied: 0,
        version: None,
    };
    for cr in reports {
        // a list of other resources (say trivy-operator's reports) is not read as this
        if cr
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k != "KubeHunterReport")
        {
            return Err(refuse());
        }
        let report = cr
            .get("report")
            .and_then(Value::as_object)
            .ok_or_else(refuse)?;
        match report.get("vulnerabilities") {
            Some(Value::Array(list)) => out.lists.push(list),
            // Go writes an empty list as `null`
            Some(Value::Null) => {}
            _ => return Err(refuse()),
        }
        out.tallied += ["highCount", "mediumCount", "lowCount", "unknownCount"]
            .iter()
            .filter_map(|k| report.get("summary").and_then(|s| s.get(*k)))
            .filter_map(Value::as_i64)
            .sum::<i64>();
        if out.version.is_none() {
            out.version = report
                .get("scanner")
                .and_then(|s| s.get("version"))
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| normalize::bounded(v, 100));
        }
    }
    Ok(out)
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
    use crate::ingest::formats::test_support::{
        assert_distinct, assert_kept, edited, fixture, header, parse_error, read, reversed, summary,
    };

    const REPORT: &[u8] = fixture!("kube_hunter", "pod-hunt.json");

    #[test]
    fn reads_vulnerabilities_and_merges_identical_ones() {
        let parsed = KubeHunter.parse(REPORT).unwrap();
        let occurrences: Vec<u32> = parsed.findings.iter().map(|f| f.occurrences).collect();
        assert_eq!(occurrences, [1, 1, 2, 1]);
        assert_eq!(
            parsed.findings[0].references,
            vec!["https://avd.aquasec.com/kube-hunter/khv050/"]
        );
        assert!(parsed.findings[1].references.is_empty());
        assert!(parsed.findings[3].description.contains("Evidence: v1.29.4"));
    }

    #[test]
    fn fingerprint_ignores_pod_name_and_evidence() {
        let a = KubeHunter.parse(REPORT).unwrap();
        let text = edited(
            REPORT,
            &[
                ("kube-hunter-7xk2p", "kube-hunter-q9w8e"),
                ("v1.29.4", "v1.30.1"),
            ],
        );
        let b = read(&KubeHunter, reversed(&text, "/vulnerabilities").as_bytes());
        assert_eq!(b.findings.len(), a.findings.len());
        assert_kept(&a, &b);
        assert_distinct(&a);
    }

    #[test]
    fn severity_levels() {
        assert_eq!(severity("high"), Severity::High);
        assert_eq!(severity("medium"), Severity::Medium);
        assert_eq!(severity("low"), Severity::Low);
        assert_eq!(severity("weird"), Severity::Medium);
    }

    const STARBOARD: &[u8] = br#"{"apiVersion":"aquasecurity.github.io/v1alpha1","kind":"KubeHunterReport","metadata":{"name":"cluster","creationTimestamp":"2021-09-01T10:00:00Z"},
 "report":{"updateTimestamp":"2021-09-01T10:00:00Z","scanner":{"name":"kube-hunter","vendor":"Aqua Security","version":"0.6.1"},
  "summary":{"highCount":0,"mediumCount":1,"lowCount":0,"unknownCount":0},
  "vulnerabilities":[{"location":"10.96.0.1:443","vid":"KHV002","category":"Information Disclosure","severity":"medium","vulnerability":"K8s Version Disclosure","description":"The kubernetes version could be obtained from the /version endpoint","evidence":"v1.21.1","hunter":"Api Version Hunter","avd_reference":"https://avd.aquasec.com/kube-hunter/khv002/"}]}}"#;

    #[test]
    fn starboard_reports_are_read() {
        assert!(KubeHunter.sniff(STARBOARD));
        let parsed = KubeHunter.parse(STARBOARD).unwrap();
        assert_eq!(header(&parsed), ("kube-hunter", Some("0.6.1"), 1, 0));
        let f = &parsed.findings[0];
        assert_eq!(
            summary(f),
            "KHV002 Medium Dast | K8s Version Disclosure | at 10.96.0.1:443 | asset Host 10.96.0.1:443"
        );
        // the same entry in kube-hunter's own JSON is the same finding
        let cr: Value = serde_json::from_slice(STARBOARD).unwrap();
        let plain = serde_json::json!({
            "nodes": [], "services": [],
            "vulnerabilities": cr["report"]["vulnerabilities"],
        });
        let p = KubeHunter.parse(plain.to_string().as_bytes()).unwrap();
        assert_eq!(p.findings[0].fingerprint, f.fingerprint);
        // the list `kubectl get kubehunterreports -o json` writes
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [cr]});
        let l = KubeHunter.parse(list.to_string().as_bytes()).unwrap();
        assert_eq!(l.findings, parsed.findings);
        // an empty report (Go writes the empty list as null)
        let empty = br#"{"kind":"KubeHunterReport","report":{"scanner":{"name":"kube-hunter","version":"0.6.1"},"summary":{"highCount":0,"mediumCount":0,"lowCount":0,"unknownCount":0},"vulnerabilities":null}}"#;
        assert!(KubeHunter.parse(empty).unwrap().findings.is_empty());
    }

    #[test]
    fn a_large_cluster_is_detected_by_its_top_level_keys() {
        let nodes: Vec<Value> = (0..400)
            .map(|i| serde_json::json!({"type": "Node/Master", "location": format!("10.0.{}.{}", i / 250, i % 250)}))
            .collect();
        let body = serde_json::json!({
            "nodes": nodes, "services": [],
            "vulnerabilities": [{"location": "10.0.0.1:443", "vid": "KHV002", "severity": "medium",
                "vulnerability": "K8s Version Disclosure", "hunter": "Api Version Hunter"}],
        })
        .to_string();
        assert!(!KubeHunter.sniff(body.as_bytes()));
        assert_eq!(
            crate::ingest::detect(body.as_bytes()).map(|f| f.name()),
            Some(NAME)
        );
        let mut cr: Value = serde_json::from_slice(STARBOARD).unwrap();
        cr["metadata"]["annotations"] = serde_json::json!({"note": "x".repeat(9000)});
        let cr = cr.to_string();
        assert_eq!(
            crate::ingest::detect(cr.as_bytes()).map(|f| f.name()),
            Some(NAME)
        );
    }

    #[test]
    fn a_report_without_readable_vulnerabilities_is_refused() {
        for body in [
            &br#"{"nodes": [], "services": []}"#[..],
            br#"{"nodes": [], "services": [], "vulnerabilities": null}"#,
            br#"{"nodes": [], "services": [], "vulnerabilities": {"KHV002": {}}}"#,
            br#"{"kind":"KubeHunterReport","report":{"summary":{"mediumCount":1},"findings":[{"vid":"KHV002"}]}}"#,
            br#"{"kind":"List","items":[{"kind":"VulnerabilityReport","report":{"vulnerabilities":[{"vulnerabilityID":"CVE-1"}]}}]}"#,
            br#"{"kind":"List","items":[3]}"#,
            // a tally above 0 with nothing listed
            br#"{"kind":"KubeHunterReport","report":{"summary":{"highCount":0,"mediumCount":1,"lowCount":0,"unknownCount":0},"vulnerabilities":[]}}"#,
            br#"{"nodes":[],"services":[],"vulnerabilities":[],"hunter_statistics":[{"name":"Api Version Hunter","description":"d","vulnerabilities":1}]}"#,
        ] {
            let err = KubeHunter.parse(body).unwrap_err();
            assert!(err.layout, "{}: {}", String::from_utf8_lossy(body), err.message);
        }
        let clean = br#"{"nodes":[],"services":[],"vulnerabilities":[],"hunter_statistics":[{"name":"Api Version Hunter","description":"d","vulnerabilities":0}]}"#;
        assert!(KubeHunter.parse(clean).unwrap().findings.is_empty());
    }

    #[test]
    fn malformed_input_is_a_parse_error() {
        let err = parse_error(&KubeHunter, b"{\"vulnerabilities\": [{]}");
        assert!(err.line.is_some());
        assert!(KubeHunter.parse(b"[]").is_err());
        assert!(
            KubeHunter
                .parse(br#"{"vulnerabilities": [{"vid": 3}]}"#)
                .is_err()
        );
    }
}
