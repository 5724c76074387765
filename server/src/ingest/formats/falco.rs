//! Falco runtime alerts: the JSON event Falco's `json_output` (and Falcosidekick's webhook
//! output) emits — `output`, `priority`, `rule`, `time`, `output_fields`, `source`, `tags`,
//! `hostname` — one object, newline-delimited objects, or a JSON array of them.
//!
//! - Variants: Falco 0.30 and later (`source`, `tags`; `hostname` since 0.33), with or
//!   without `output` (`json_include_output_property`). Events without `output_fields`
//!   (`json_include_output_fields_property: false`, 0.41+) are refused (422): nothing would
//!   name the workload. Falco's own health events (`Falco internal: …`) are skipped, counted.
//!
//! - One finding per rule per workload, however many times it fires: repeated events are
//!   counted (`occurrences`) and move the finding's last-seen time to the newest event.
//! - Workload: Kubernetes namespace and pod name with the ReplicaSet / pod hash suffixes
//!   removed (pods come and go; their Deployment stays), plus the container image
//!   repository (no tag). Outside Kubernetes: the host and the image or process name.
//! - Severity from `priority`: emergency/alert/critical → critical, error → high,
//!   warning → medium, notice → low, informational/debug → info. Layer: runtime.
//! - Fingerprint (`falco/v1`): rule, namespace, workload, image repository, host (host only
//!   when there is no Kubernetes context).
//! - Events are a stream, not a snapshot: an alert that stops firing is not "fixed".

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::support::{has_keys, opening};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::{
    Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat, normalize,
};

pub struct Falco;

const NAME: &str = "falco";

#[derive(Deserialize)]
struct Event {
    /// Left out with `json_include_output_property: false`; the fields say it all.
    #[serde(default)]
    output: String,
    priority: String,
    rule: String,
    time: Option<DateTime<Utc>>,
    /// Required: without it (`json_include_output_fields_property: false`, Falco 0.41+)
    /// nothing names the workload, and every pod of a node would merge into one finding.
    output_fields: Option<Map<String, Value>>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    hostname: Option<String>,
}

impl ReportFormat for Falco {
    fn sniff(&self, body: &[u8]) -> bool {
        opening(body, 4096, &['{', '['])
            .is_some_and(|head| has_keys(&head, &["rule", "priority", "output"]))
    }

    fn sniff_top(&self, top: &crate::ingest::document::TopLevel) -> bool {
        // keys come sorted, so a large `output_fields` pushes `priority` and `rule` far in
        top.has("rule")
            && top.has("priority")
            && top.has("time")
            && (top.has("output") || top.has("output_fields"))
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let events = read_events(body)?;
        let mut groups: HashMap<[u8; 32], NewFinding> = HashMap::new();
        let mut order = Vec::new();
        let mut skipped = Vec::new();
        if events.iter().any(|e| e.output_fields.is_none()) {
            return Err(ParseError::layout(
                NAME,
                "Falco JSON events with `output_fields` (json_output: true with \
                 json_include_output_fields_property: true, Falco's default)",
            ));
        }
        for event in &events {
            if event.rule.starts_with("Falco internal:") {
                // Falco's own health events (dropped syscalls, metrics snapshots)
                skipped.push(format!(
                    "{}: Falco's own health event, not an alert",
                    normalize::bounded(event.rule.trim(), 200)
                ));
                continue;
            }
            let f = finding(event);
            match groups.get_mut(&f.fingerprint) {
                Some(existing) => merge(existing, f),
                None => {
                    order.push(f.fingerprint);
                    groups.insert(f.fingerprint, f);
                }
            }
        }
        let findings = order
            .into_iter()
            .filter_map(|k| groups.remove(&k))
            .collect();
        Ok(ParsedReport {
            scanner: "Falco".into(),
            scanner_version: None,
            findings,
            skipped,
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// A JSON array, or one or more whitespace/newline-separated objects.
fn read_events(body: &[u8]) -> Result<Vec<Event>, ParseError> {
    let trimmed = body.trim_ascii_start();
    if trimmed.starts_with(b"[") {
        return serde_json::from_slice(trimmed).map_err(|e| ParseError::from_json(NAME, &e));
    }
    serde_json::Deserializer::from_slice(body)
        .into_iter::<Event>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ParseError::from_json(NAME, &e))
}

fn severity(priority: &str) -> Severity {
    match priority.trim().to_ascii_lowercase().as_str() {
        "emergency" | "alert" | "critical" => Severity::Critical,
        "error" => Severity::High,
        "warning" => Severity::Medium,
        "notice" => Severity::Low,
        _ => Severity::Info,
    }
}

/// `payments-api-7d9c8b6f5-x2x9q` → `payments-api`: drops the pod and ReplicaSet hashes.
fn workload_from_pod(pod: &str) -> String {
    let mut parts: Vec<&str> = pod.split('-').collect();
    let is_hash = |s: &str, lens: &[usize]| {
        lens.contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    if parts.len() > 1 && parts.last().is_some_and(|s| is_hash(s, &[5])) {
        parts.pop();
        if parts.len() > 1
            && parts
                .last()
                .is_some_and(|s| is_hash(s, &[8, 9, 10]) && s.bytes().any(|b| b.is_ascii_digit()))
        {
            parts.pop();
        }
    }
    parts.join("-")
}

fn field<'a>(fields: &'a Map<String, Value>, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| fields.get(*n).and_then(Value::as_str))
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "<NA>")
}

fn finding(event: &Event) -> NewFinding {
    let empty = Map::new();
    let fields = event.output_fields.as_ref().unwrap_or(&empty);
    let namespace = field(fields, &["k8s.ns.name", "ka.target.namespace"]);
    let pod = field(fields, &["k8s.pod.name"]);
    let workload = pod.map(workload_from_pod);
    let image_repo = field(fields, &["container.image.repository"])
        .map(str::to_string)
        .or_else(|| field(fields, &["container.image"]).map(normalize::image_repository));
    let process = field(fields, &["proc.name"]);
    let host = event.hostname.as_deref().filter(|h| !h.is_empty());

    let mut fp = Fingerprint::new("falco/v1");
    fp.push(&event.rule)
        .push(namespace.unwrap_or(""))
        .push(workload.as_deref().unwrap_or(""))
        .push(image_repo.as_deref().unwrap_or(""));
    if namespace.is_none() {
        fp.push(host.unwrap_or("")).push(if image_repo.is_none() {
            process.unwrap_or("")
        } else {
            ""
        });
    }

    let location = match (namespace, &workload) {
        (Some(ns), Some(w)) => format!("{ns}/{w}"),
        (Some(ns), None) => ns.to_string(),
        _ => [host, image_repo.as_deref().or(process)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" / "),
    };
    let mut f = NewFinding::new(
        fp.finish(),
        Layer::Runtime,
        severity(&event.priority),
        normalize::first_line(&event.rule, 300),
    );
    f.rule_id = event.rule.clone();
    // the output line starts with a timestamp and priority; the rest says what happened
    f.description = normalize::bounded(&event.output, 4_000);
    f.location = location;
    f.k8s_namespace = namespace.map(str::to_string);
    f.k8s_name = workload.clone();
    f.image = field(fields, &["container.image"])
        .map(str::to_string)
        .or(image_repo.clone());
    f.asset = match (namespace, &workload, &image_repo) {
        (Some(ns), Some(w), _) => Some(Asset {
            kind: AssetKind::Workload,
            key: format!("{ns}/{w}"),
        }),
        (_, _, Some(img)) => Some(Asset {
            kind: AssetKind::Image,
            key: img.clone(),
        }),
        _ => host.map(|h| Asset {
            kind: AssetKind::Host,
            key: h.to_string(),
        }),
    };
    f.references = event
        .tags
        .iter()
        .filter(|t| t.starts_with("T") || t.starts_with("mitre"))
        .cloned()
        .collect();
    f.occurrences = 1;
    f.seen = event.time.map(|t| (t, t));
    f.evidence = Some(normalize::evidence(&serde_json::json!({
        "output": event.output, "priority": event.priority, "source": event.source,
        "tags": event.tags, "hostname": event.hostname, "output_fields": fields,
    })));
    f
}

/// Later events of one finding: count them, widen the time span, keep the newest evidence.
fn merge(into: &mut NewFinding, next: NewFinding) {
    into.occurrences += next.occurrences;
    if next.severity < into.severity {
        into.severity = next.severity;
    }
    into.seen = match (into.seen, next.seen) {
        (Some((a0, a1)), Some((b0, b1))) => {
            if b1 > a1 {
                into.evidence = next.evidence;
                into.description = next.description;
            }
            Some((a0.min(b0), a1.max(b1)))
        }
        (a, b) => a.or(b),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{first, fixture, parse_error, summaries};

    const SHELLS: &[u8] = fixture!("falco", "shell-in-container.ndjson");
    const SINGLE: &[u8] = fixture!("falco", "sidekick-event.json");

    #[test]
    fn repeated_events_on_one_workload_are_one_finding_with_a_count() {
        let api = first(&Falco, SHELLS);
        assert_eq!(api.occurrences, 4);
        let (first, last) = api.seen.unwrap();
        assert_eq!(first.to_rfc3339(), "2026-11-20T08:00:01+00:00");
        assert_eq!(last.to_rfc3339(), "2026-11-20T09:30:00+00:00");
        assert!(
            api.description.contains("x2x9q"),
            "evidence of the newest event is kept"
        );
    }

    #[test]
    fn a_single_sidekick_event_parses() {
        let report = Falco.parse(SINGLE).unwrap();
        // Error is high
        assert_eq!(
            summaries(&report),
            [
                "Write below etc High Runtime | Write below etc | at default/nginx | image docker.io/library/nginx:1.27 | k8s default/-/nginx | asset Workload default/nginx"
            ]
        );
        assert!(Falco.sniff(SINGLE) && Falco.sniff(SHELLS));
        assert!(!Falco.sniff(br#"{"version":"2.1.0","runs":[]}"#));
    }

    #[test]
    fn pod_names_reduce_to_their_workload() {
        assert_eq!(
            workload_from_pod("payments-api-7d9c8b6f5-x2x9q"),
            "payments-api"
        );
        assert_eq!(workload_from_pod("node-agent-4kq7z"), "node-agent");
        assert_eq!(workload_from_pod("postgres-0"), "postgres-0");
        assert_eq!(workload_from_pod("nginx"), "nginx");
    }

    #[test]
    fn priorities_map_to_severities_and_bad_input_is_refused() {
        for (p, s) in [
            ("Emergency", Severity::Critical),
            ("Alert", Severity::Critical),
            ("Critical", Severity::Critical),
            ("Error", Severity::High),
            ("Warning", Severity::Medium),
            ("Notice", Severity::Low),
            ("Informational", Severity::Info),
            ("Debug", Severity::Info),
        ] {
            assert_eq!(severity(p), s, "{p}");
        }
        parse_error(&Falco, b"{\"rule\": \"x\", \"priority\": ");
        let array = br#"[{"output":"o","priority":"Warning","rule":"R","output_fields":{}}]"#;
        assert_eq!(Falco.parse(array).unwrap().findings.len(), 1);
    }

    #[test]
    fn events_without_output_fields_are_refused_and_health_events_skipped() {
        let bare = br#"{"hostname":"node-1","priority":"Notice","rule":"Terminal shell in container","source":"syscall","tags":["container","shell"],"time":"2024-06-01T10:00:00.123456789Z","output":"10:00:00.123456789: Notice A shell was spawned in a container with an attached terminal (user=root container_id=3ad7b26ded6d)"}"#;
        assert!(Falco.parse(bare).unwrap_err().layout);
        let health = br#"{"hostname":"node-1","priority":"Informational","rule":"Falco internal: metrics snapshot","source":"internal","time":"2024-06-01T10:00:00Z","output":"Falco metrics snapshot","output_fields":{"evt.time":1717236000}}"#;
        let r = Falco.parse(health).unwrap();
        assert_eq!((r.findings.len(), r.skipped.len()), (0, 1));
    }
}
