//! Popeye JSON (`popeye -o json`): `{"popeye": {"sanitizers": [...]}}` (Popeye ≤ 0.11) or
//! `{"popeye": {"sections": [...]}}` with `linter` (Popeye ≥ 0.20). Each sanitizer / section
//! lists issues per resource (`namespace/name`, or `name` for cluster-scoped resources).
//!
//! - One finding per issue of level 1 or more; level 0 means OK and is not a finding.
//!   Identical issues (same resource, container, code and message) are merged.
//! - Severity: Popeye's levels: 1 (info) → info, 2 (warning) → low, 3 (error) → medium.
//!   Popeye reports hygiene and health (unused config maps, `latest` tags, unhealthy
//!   deployments) rather than vulnerabilities, so its "error" is not ranked above medium.
//! - Layer: cluster-config. Asset: the workload (`Workload`, key `namespace/Kind/name`, the
//!   kind from the resource type: `apps/v1/deployments` → `Deployment`); cluster-wide checks
//!   (`cluster`) are about the cluster (`Cluster`, key `cluster`).
//! - Fingerprint (`popeye/v1`): resource type, resource, container (the issue's group when
//!   it is about a container) and the issue code (`POP-108`). When one resource and
//!   container has several issues with one code (three unnamed ports), the message tells
//!   them apart and is added; otherwise it stays out, because it carries live values
//!   ("Unhealthy 2 desired but have 0 available"). Caveat: pod names carry the ReplicaSet
//!   hash, so pod issues become new findings after a rollout.

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use serde_json::Value;

use super::support::{
    DESCRIPTION_MAX, Repeats, TITLE_MAX, has_any_key, has_key, has_keys, json_head, object_path,
    set_workload,
};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct Popeye;

const NAME: &str = "popeye";

impl ReportFormat for Popeye {
    fn sniff(&self, body: &[u8]) -> bool {
        json_head(body).is_some_and(|head| {
            has_key(&head, "popeye")
                && (has_any_key(&head, &["sanitizers", "sanitizer"])
                    || has_keys(&head, &["sections", "linter"]))
        })
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let root: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        let Some(popeye) = root.get("popeye").filter(|p| p.is_object()) else {
            return Err(ParseError::invalid(
                NAME,
                "expected an object with a \"popeye\" report".to_string(),
            ));
        };
        let Some(sections) = popeye
            .get("sanitizers")
            .or_else(|| popeye.get("sections"))
            .and_then(Value::as_array)
            .map(|a| a.as_slice())
        else {
            return Err(ParseError::layout(
                NAME,
                "`popeye.sanitizers[]` (Popeye ≤ 0.11) or `popeye.sections[]` (Popeye ≥ 0.20)",
            ));
        };
        // Popeye's own tally of issues above OK, per section
        let tallied: i64 = sections
            .iter()
            .map(|s| {
                ["info", "warning", "error"]
                    .iter()
                    .filter_map(|k| s["tally"][*k].as_i64())
                    .sum::<i64>()
            })
            .sum();

        let mut issues: Vec<Issue> = Vec::new();
        for section in sections {
            let section_gvr = str_of(section, "gvr");
            let linter = [str_of(section, "sanitizer"), str_of(section, "linter")]
                .into_iter()
                .find(|s| !s.is_empty())
                .unwrap_or("");
            let Some(by_resource) = section.get("issues").and_then(Value::as_object) else {
                continue;
            };
            for (resource, list) in by_resource {
                for raw in list.as_array().map(|a| a.as_slice()).unwrap_or_default() {
                    let level = raw.get("level").and_then(Value::as_i64).unwrap_or(0);
                    if level <= 0 {
                        continue;
                    }
                    let message = str_of(raw, "message").trim();
                    let (code, text) = split_code(message);
                    let group = str_of(raw, "group").trim();
                    let container = (str_of(raw, "gvr") == "containers"
                        && !group.is_empty()
                        && group != "__root__")
                        .then(|| group.to_string());
                    issues.push(Issue {
                        gvr: if section_gvr.is_empty() {
                            linter
                        } else {
                            section_gvr
                        }
                        .to_string(),
                        linter: linter.to_string(),
                        resource: resource.trim().to_string(),
                        group: group.to_string(),
                        container,
                        level,
                        code: code.to_string(),
                        text: text.to_string(),
                        raw,
                    });
                }
            }
        }

        // how many issues share a code on one resource and group: those need the message
        let mut same_code: HashMap<(String, String, String, String), u32> = HashMap::new();
        for i in &issues {
            *same_code.entry(i.code_key()).or_default() += 1;
        }
        let mut findings = Repeats::default();
        for issue in &issues {
            let with_message =
                same_code.get(&issue.code_key()).copied().unwrap_or(0) > 1 || issue.code.is_empty();
            let f = issue.finding(with_message);
            findings.add(f);
        }
        if issues.is_empty() && tallied > 0 {
            return Err(ParseError::layout(
                NAME,
                "the issues its sections' `tally` counts, as `issues` keyed by resource, each \
                 with `level` and `message`",
            ));
        }
        Ok(ParsedReport {
            scanner: "Popeye".to_string(),
            scanner_version: None,
            findings: findings.into_findings(),
            skipped: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// "[POP-108] Unnamed port 80" → ("POP-108", "Unnamed port 80").
fn split_code(message: &str) -> (&str, &str) {
    if let Some(rest) = message.strip_prefix('[')
        && let Some(end) = rest.find(']')
    {
        let code = rest[..end].trim();
        if code.to_ascii_uppercase().starts_with("POP-") {
            return (code, rest[end + 1..].trim());
        }
    }
    ("", message)
}

fn severity(level: i64) -> Severity {
    match level {
        1 => Severity::Info,
        2 => Severity::Low,
        _ => Severity::Medium,
    }
}

/// The kind of a resource type: `apps/v1/deployments` → `Deployment`.
fn kind_of(gvr: &str) -> String {
    let plural = gvr
        .rsplit('/')
        .next()
        .unwrap_or(gvr)
        .trim()
        .to_ascii_lowercase();
    let known = [
        ("pods", "Pod"),
        ("deployments", "Deployment"),
        ("daemonsets", "DaemonSet"),
        ("statefulsets", "StatefulSet"),
        ("replicasets", "ReplicaSet"),
        ("jobs", "Job"),
        ("cronjobs", "CronJob"),
        ("services", "Service"),
        ("configmaps", "ConfigMap"),
        ("secrets", "Secret"),
        ("serviceaccounts", "ServiceAccount"),
        ("ingresses", "Ingress"),
        ("networkpolicies", "NetworkPolicy"),
        ("persistentvolumes", "PersistentVolume"),
        ("persistentvolumeclaims", "PersistentVolumeClaim"),
        ("horizontalpodautoscalers", "HorizontalPodAutoscaler"),
        ("poddisruptionbudgets", "PodDisruptionBudget"),
        ("podsecuritypolicies", "PodSecurityPolicy"),
        ("clusterroles", "ClusterRole"),
        ("clusterrolebindings", "ClusterRoleBinding"),
        ("roles", "Role"),
        ("rolebindings", "RoleBinding"),
        ("namespaces", "Namespace"),
        ("nodes", "Node"),
        ("gateways", "Gateway"),
        ("httproutes", "HTTPRoute"),
    ];
    known
        .iter()
        .find(|(p, _)| *p == plural)
        .map(|(_, k)| k.to_string())
        .unwrap_or(plural)
}

struct Issue<'a> {
    gvr: String,
    linter: String,
    resource: String,
    group: String,
    container: Option<String>,
    level: i64,
    code: String,
    text: String,
    raw: &'a Value,
}

impl Issue<'_> {
    fn code_key(&self) -> (String, String, String, String) {
        (
            self.gvr.clone(),
            self.resource.clone(),
            self.group.clone(),
            self.code.clone(),
        )
    }

    fn finding(&self, with_message: bool) -> NewFinding {
        let mut fp = Fingerprint::new("popeye/v1");
        fp.push(&self.gvr)
            .push(&self.resource)
            .push(self.container.as_deref().unwrap_or(""))
            .push(&self.code);
        if with_message {
            fp.push(&normalize::collapse_whitespace(&self.text));
        }

        let cluster_wide = self.gvr == "cluster" || self.linter == "cluster";
        let (namespace, name) = match self.resource.split_once('/') {
            Some((ns, name)) => (ns.to_string(), name.to_string()),
            None => (String::new(), self.resource.clone()),
        };
        let kind = kind_of(&self.gvr);
        let label = object_path(&[namespace.as_str(), &kind, &name]);

        let title = match normalize::first_line(&self.text, TITLE_MAX) {
            t if t.is_empty() => self.code.clone(),
            t => t,
        };
        let mut f = NewFinding::new(
            fp.finish(),
            Layer::ClusterConfig,
            severity(self.level),
            title,
        );
        f.rule_id = self.code.clone();
        let mut description = self.text.clone();
        if let Some(c) = &self.container {
            description.push_str(&format!("\nContainer: {c}"));
        }
        description.push_str(&format!("\nResource: {} {}", self.gvr, self.resource));
        f.description = normalize::bounded(&description, DESCRIPTION_MAX);
        if cluster_wide {
            f.location = format!("cluster: {}", self.resource);
            f.asset = Some(Asset {
                kind: AssetKind::Cluster,
                key: "cluster".to_string(),
            });
        } else {
            f.location = match &self.container {
                Some(c) => format!("{label} (container {c})"),
                None => label.clone(),
            };
            set_workload(&mut f, namespace, kind, name, label);
        }
        f.evidence = Some(normalize::evidence(self.raw));
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{
        assert_distinct, assert_kept, edited, fixture, parse_error, read, reversed,
    };

    const REPORT: &[u8] = fixture!("popeye", "cluster-lint.json");

    #[test]
    fn fingerprints_ignore_live_values_but_tell_ports_apart() {
        let a = Popeye.parse(REPORT).unwrap();
        assert_ne!(a.findings[2].fingerprint, a.findings[3].fingerprint);
        let text = String::from_utf8_lossy(REPORT).replace(
            "Unhealthy 2 desired but have 0 available",
            "Unhealthy 3 desired but have 1 available",
        );
        let b = read(&Popeye, reversed(&text, "/popeye/sanitizers").as_bytes());
        assert_kept(&a, &b);
        assert_distinct(&a);
    }

    #[test]
    fn sections_layout_is_read() {
        let text = edited(
            REPORT,
            &[
                ("\"sanitizers\"", "\"sections\""),
                ("\"sanitizer\"", "\"linter\""),
            ],
        );
        assert!(Popeye.sniff(text.as_bytes()));
        let parsed = Popeye.parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.findings, Popeye.parse(REPORT).unwrap().findings);
    }

    #[test]
    fn malformed_input_is_a_parse_error() {
        let err = parse_error(&Popeye, b"{\"popeye\": {\"sanitizers\": [");
        assert!(err.message.contains("truncated"));
        assert!(Popeye.parse(b"[]").is_err());
        assert!(Popeye.parse(br#"{"popeye": 1}"#).is_err());
        let odd =
            br#"{"popeye": {"sanitizers": [1, {"issues": {"a": 2, "b": [3, {"level": "x"}]}}]}}"#;
        assert!(Popeye.parse(odd).unwrap().findings.is_empty());
    }

    #[test]
    fn a_report_without_sections_or_with_unreadable_issues_is_refused() {
        assert!(
            Popeye
                .parse(br#"{"popeye":{"score":80,"grade":"B"}}"#)
                .unwrap_err()
                .layout
        );
        let odd = br#"{"popeye":{"sections":[{"linter":"pods","gvr":"v1/pods","tally":{"ok":1,"info":0,"warning":2,"error":0},"issues":[{"level":2,"message":"x"}]}]}}"#;
        assert!(Popeye.parse(odd).unwrap_err().layout);
        let clean = br#"{"popeye":{"sections":[{"linter":"pods","gvr":"v1/pods","tally":{"ok":3,"info":0,"warning":0,"error":0},"issues":{}}]}}"#;
        assert_eq!(Popeye.parse(clean).unwrap().findings.len(), 0);
    }
}
