//! kube-bench JSON (`kube-bench --json`): CIS Kubernetes Benchmark results for one node.
//!
//! - Variants: a top-level list of controls (older releases), `{"Controls": [...], "Totals":
//!   ...}` (current releases) and a single control object.
//! - Selection and severity: kube-bench has no severities, only a status per check. `FAIL` →
//!   medium; `WARN` → info unless the check is manual (`type: manual` or the reason "Test
//!   marked as a manual test"), which is a reminder to look, not a finding; `PASS` and `INFO`
//!   are not findings.
//! - Layer: cluster-config. Asset: the cluster (`Cluster`, key `cluster`; the report does not
//!   name the cluster or the node, so routing happens through the scan's target).
//! - One finding per failing check (`test_number`) per node type (master, node, etcd, …).
//! - Fingerprint (`kube_bench/v1`): node type and test number. Not the benchmark version
//!   (a kube-bench upgrade that moves `cis-1.7` to `cis-1.8` keeps the same checks), not the
//!   description, audit command or actual value.

use app::domain::{Layer, Severity};
use serde::Deserialize;
use serde_json::Value;

use super::support::{DESCRIPTION_MAX, SNIFF_BYTES, TITLE_MAX, has_any_key, has_keys, opening};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct KubeBench;

const NAME: &str = "kube_bench";

#[derive(Deserialize, Default)]
#[serde(default)]
struct Control {
    id: String,
    version: String,
    text: String,
    node_type: String,
    tests: Vec<Section>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Section {
    section: String,
    desc: String,
    results: Vec<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CheckResult {
    test_number: String,
    test_desc: String,
    audit: String,
    #[serde(rename = "type")]
    kind: String,
    remediation: String,
    status: String,
    actual_value: String,
    expected_result: String,
    reason: String,
}

impl ReportFormat for KubeBench {
    fn sniff(&self, body: &[u8]) -> bool {
        opening(body, SNIFF_BYTES, &['{', '[']).is_some_and(|head| {
            has_keys(&head, &["test_number", "test_desc"])
                && has_any_key(&head, &["node_type", "Controls"])
        })
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let root: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        // kube-bench's own tally of failed checks per section (`tests[].fail`); not the
        // control or overall totals, which real reports contradict (a `total_fail: 1` over
        // sections that all say 0 and list no failure)
        let section_failures = |control: &Value| -> i64 {
            control["tests"]
                .as_array()
                .map(|tests| tests.iter().filter_map(|t| t["fail"].as_i64()).sum())
                .unwrap_or(0)
        };
        let tallied_failures: i64 = match &root {
            Value::Object(map) => match map.get("Controls").and_then(Value::as_array) {
                Some(controls) => controls.iter().map(section_failures).sum(),
                None => section_failures(&root),
            },
            Value::Array(controls) => controls.iter().map(section_failures).sum(),
            _ => 0,
        };
        let controls: Vec<Value> = match root {
            Value::Array(items) => items,
            Value::Object(mut map) => match map.remove("Controls") {
                Some(Value::Array(items)) => items,
                Some(Value::Null) => Vec::new(),
                Some(_) => return Err(invalid("\"Controls\" is not a list")),
                None if map.contains_key("tests") => vec![Value::Object(map)],
                None => return Err(invalid("no \"Controls\" list or control object")),
            },
            Value::Null => Vec::new(),
            _ => return Err(invalid("expected a list of controls or an object")),
        };
        let mut findings = Vec::new();
        for raw in controls {
            let control: Control =
                serde_json::from_value(raw).map_err(|e| ParseError::from_json(NAME, &e))?;
            for section in &control.tests {
                for raw_result in &section.results {
                    let result: CheckResult = serde_json::from_value(raw_result.clone())
                        .map_err(|e| ParseError::from_json(NAME, &e))?;
                    if let Some(f) = finding(&control, section, &result, raw_result) {
                        findings.push(f);
                    }
                }
            }
        }
        if findings.is_empty() && tallied_failures > 0 {
            return Err(ParseError::layout(
                NAME,
                "the failed checks its sections count, as `Controls[].tests[].results[]` with \
                 `status` (kube-bench --json, any 0.x release)",
            ));
        }
        Ok(ParsedReport {
            scanner: "kube-bench".to_string(),
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
    ParseError::invalid(NAME, message.to_string())
}

fn is_manual(result: &CheckResult) -> bool {
    result.kind.trim().eq_ignore_ascii_case("manual")
        || result
            .reason
            .to_ascii_lowercase()
            .contains("marked as a manual test")
}

fn severity(result: &CheckResult) -> Option<Severity> {
    match result.status.trim().to_ascii_uppercase().as_str() {
        "FAIL" => Some(Severity::Medium),
        "WARN" if !is_manual(result) => Some(Severity::Info),
        _ => None,
    }
}

fn finding(
    control: &Control,
    section: &Section,
    result: &CheckResult,
    raw: &Value,
) -> Option<NewFinding> {
    let severity = severity(result)?;
    let number = result.test_number.trim();
    let node_type = control.node_type.trim();
    let desc = normalize::first_line(&result.test_desc, TITLE_MAX);
    let title = match (number.is_empty(), desc.is_empty()) {
        (false, false) => normalize::bounded(&format!("{number} {desc}"), TITLE_MAX),
        (true, false) => desc,
        (false, true) => format!("CIS {number}"),
        (true, true) => "kube-bench check".to_string(),
    };

    let mut fp = Fingerprint::new("kube_bench/v1");
    fp.push(&node_type.to_ascii_lowercase()).push(number);
    if number.is_empty() {
        // nothing else identifies a numberless check but what it checks
        fp.push(&normalize::collapse_whitespace(&result.test_desc));
    }

    let mut description = String::new();
    let mut add = |label: &str, text: &str| {
        let text = text.trim();
        if !text.is_empty() {
            description.push_str(&format!("{label}: {text}\n"));
        }
    };
    add(
        "Benchmark",
        &format!("{} {}", control.version.trim(), control.text.trim()),
    );
    add(
        "Control",
        &format!("{} {}", control.id.trim(), section.desc.trim()),
    );
    add("Section", &section.section);
    add("Check", &result.test_desc);
    add("Audit", &result.audit);
    add("Expected", &result.expected_result);
    add("Actual", &result.actual_value);
    add("Reason", &result.reason);

    let mut f = NewFinding::new(fp.finish(), Layer::ClusterConfig, severity, title);
    f.rule_id = number.to_string();
    f.description = normalize::bounded(description.trim_end(), DESCRIPTION_MAX);
    f.remediation = normalize::bounded(result.remediation.trim(), DESCRIPTION_MAX);
    f.location = if node_type.is_empty() {
        format!("CIS {number}")
    } else {
        format!("{node_type}: CIS {number}")
    };
    f.asset = Some(Asset {
        kind: AssetKind::Cluster,
        key: "cluster".to_string(),
    });
    f.evidence = Some(normalize::evidence(raw));
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{edited, first, fixture, parse_error};

    const REPORT: &[u8] = fixture!("kube_bench", "node-report.json");

    #[test]
    fn fails_are_medium_automated_warns_info_rest_skipped() {
        let f = first(&KubeBench, REPORT);
        assert!(f.remediation.contains("chmod 600"));
        assert!(f.description.contains("Actual: permissions=644"));
        assert!(f.evidence.is_some());
    }

    #[test]
    fn top_level_list_and_single_control_are_read() {
        let root: Value = serde_json::from_slice(REPORT).unwrap();
        let controls = root["Controls"].clone();
        let list = KubeBench.parse(controls.to_string().as_bytes()).unwrap();
        assert_eq!(list.findings.len(), 3);
        let single = KubeBench.parse(controls[0].to_string().as_bytes()).unwrap();
        assert_eq!(single.findings.len(), 3);
        assert_eq!(list.findings, single.findings);
    }

    #[test]
    fn fingerprint_ignores_benchmark_version_and_text() {
        let a = KubeBench.parse(REPORT).unwrap();
        let text = edited(
            REPORT,
            &[
                ("cis-1.8", "cis-1.9"),
                ("(Automated)", "(Scored)"),
                ("permissions=644", "permissions=640"),
            ],
        );
        let b = KubeBench.parse(text.as_bytes()).unwrap();
        for (x, y) in a.findings.iter().zip(&b.findings) {
            assert_eq!(x.fingerprint, y.fingerprint);
        }
        assert_ne!(a.findings[0].fingerprint, a.findings[1].fingerprint);
        // the same check on another node type is another finding
        let master = String::from_utf8_lossy(REPORT).replace("\"node\"", "\"master\"");
        let m = KubeBench.parse(master.as_bytes()).unwrap();
        assert_ne!(a.findings[0].fingerprint, m.findings[0].fingerprint);
    }

    #[test]
    fn malformed_input_is_a_parse_error() {
        let err = parse_error(&KubeBench, b"[{\"tests\": [ oops ]}]");
        assert!(err.line.is_some());
        assert!(KubeBench.parse(b"\"text\"").is_err());
        assert!(KubeBench.parse(br#"{"Controls": 3}"#).is_err());
        assert!(
            KubeBench
                .parse(br#"[{"tests": [{"results": [7]}]}]"#)
                .is_err()
        );
    }

    #[test]
    fn failures_tallied_but_none_readable_are_refused() {
        let odd = br#"{"Controls":[{"id":"1","text":"Master","node_type":"master","tests":[{"section":"1.1","desc":"x","fail":1,"checks":[{"test_number":"1.1.1","test_desc":"d","state":"FAIL"}]}],"total_fail":1}],"Totals":{"total_pass":0,"total_fail":1,"total_warn":0,"total_info":0}}"#;
        let err = KubeBench.parse(odd).unwrap_err();
        assert!(err.layout, "{err}");
    }
}
