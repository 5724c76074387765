//! Reading helpers more than one format needs: the bounds text is held to as it is read,
//! looking at a body's head to sniff its format, and JSON items read from lines or an array.

use std::borrow::Cow;

use serde_json::Value;

use crate::ingest::normalize::caps;
use crate::ingest::{Asset, AssetKind, NewFinding, ParseError};

/// The longest title a format makes, in characters.
pub const TITLE_MAX: usize = caps::TITLE;
/// The longest description a format makes, in characters.
pub const DESCRIPTION_MAX: usize = caps::DESCRIPTION;
/// A short text read from a report (a path, a version, a name), in characters.
pub const SHORT_MAX: usize = 1_000;
/// One field of a report quoted into a description (a code line, a commit message).
pub const FIELD_MAX: usize = 2_000;
/// How many items of a list (references, ids, commits, instances) a finding keeps.
pub const LIST_MAX: usize = 50;

/// How much of a body most formats' [`crate::ingest::ReportFormat::sniff`] looks at.
pub const SNIFF_BYTES: usize = 8192;

/// The first [`SNIFF_BYTES`] of `body` as text.
pub fn head(body: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(&body[..body.len().min(SNIFF_BYTES)])
}

/// The first `n` bytes of `body` as text, when they open (after white space) with one of
/// `opens`: what a format's `sniff` looks for its keys in.
pub fn opening<'a>(body: &'a [u8], n: usize, opens: &[char]) -> Option<Cow<'a, str>> {
    let head = String::from_utf8_lossy(&body[..body.len().min(n)]);
    let opened = head.trim_start().starts_with(opens);
    opened.then_some(head)
}

/// The head of a body that opens a JSON object: [`opening`] of its first [`SNIFF_BYTES`].
pub fn json_head(body: &[u8]) -> Option<Cow<'_, str>> {
    opening(body, SNIFF_BYTES, &['{'])
}

/// Whether `body` opens a JSON object whose head has every one of `all` keys and one of
/// `any`.
pub fn json_head_with(body: &[u8], all: &[&str], any: &[&str]) -> bool {
    json_head(body).is_some_and(|head| has_keys(&head, all) && has_any_key(&head, any))
}

/// Whether `text` has `"key"` (the key in double quotes, as JSON writes it).
pub fn has_key(text: &str, key: &str) -> bool {
    // no match of a key (which holds no quote) can overlap a quoted one: the first of
    // the non-overlapping matches at each quoted place is that place
    text.match_indices(key)
        .any(|(i, _)| text[..i].ends_with('"') && text[i + key.len()..].starts_with('"'))
}

/// Whether `text` has every one of `keys` in double quotes.
pub fn has_keys(text: &str, keys: &[&str]) -> bool {
    keys.iter().all(|k| has_key(text, k))
}

/// Whether `text` has any of `keys` in double quotes.
pub fn has_any_key(text: &str, keys: &[&str]) -> bool {
    keys.iter().any(|k| has_key(text, k))
}

/// The severity a scanner's usual word names: critical, high, medium (or moderate), low; in
/// any case, around white space (OSV-Scanner, Dependency-Check).
pub fn severity_word(word: &str) -> Option<app::domain::Severity> {
    use app::domain::Severity;
    let word = word.trim();
    [
        ("CRITICAL", Severity::Critical),
        ("HIGH", Severity::High),
        ("MEDIUM", Severity::Medium),
        ("MODERATE", Severity::Medium),
        ("LOW", Severity::Low),
    ]
    .into_iter()
    .find(|(name, _)| word.eq_ignore_ascii_case(name))
    .map(|(_, severity)| severity)
}

/// A vulnerability's title and description as one text (either alone when the other is
/// empty).
pub fn title_and_description(title: &str, description: &str) -> String {
    match (title.trim(), description.trim()) {
        ("", d) => d.to_string(),
        (t, "") => t.to_string(),
        (t, d) => format!("{t}\n\n{d}"),
    }
}

/// A short text of a report, trimmed and bounded, when there is one.
pub fn short(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| crate::ingest::normalize::bounded(text, SHORT_MAX))
}

/// Sets the package a vulnerability is in, its fix (with the upgrade as the remediation)
/// and its references (Trivy and Trivy Operator).
pub fn set_package(
    f: &mut NewFinding,
    (name, installed, fixed): (&str, &str, &str),
    primary_url: &str,
    urls: &[String],
) {
    f.fixed_version = short(fixed);
    if let Some(fixed) = &f.fixed_version {
        f.remediation = format!("Upgrade {name} to {fixed}.");
    }
    f.references = references(primary_url, urls);
    f.package_name = short(name);
    f.package_version = short(installed);
}

/// A finding's references: the primary URL, then the rest, each trimmed and bounded, without
/// empties or repeats, at most [`LIST_MAX`] (Trivy and Trivy Operator).
pub fn references(primary: &str, rest: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in std::iter::once(primary).chain(rest.iter().map(String::as_str)) {
        let r = r.trim();
        if !r.is_empty() && !out.iter().any(|o| o == r) && out.len() < LIST_MAX {
            out.push(crate::ingest::normalize::bounded(r, SHORT_MAX));
        }
    }
    out
}

/// Each result read as `T` and made a finding; a result not of that shape is a skipped item
/// (`a result is not one {tool} writes (…)`) rather than the end of the report (Bandit,
/// Semgrep).
pub fn each_result<T: serde::de::DeserializeOwned>(
    results: &[Value],
    tool: &str,
    mut finding: impl FnMut(&T, &Value) -> NewFinding,
) -> (Vec<NewFinding>, Vec<String>) {
    let mut findings = Vec::new();
    let mut skipped = Vec::new();
    for raw in results {
        match serde_json::from_value::<T>(raw.clone()) {
            Ok(item) => findings.push(finding(&item, raw)),
            Err(e) => skipped.push(format!("a result is not one {tool} writes ({e})")),
        }
    }
    (findings, skipped)
}

/// The objects of a list (nothing when it is missing or not a list).
pub fn objects(list: Option<&Value>) -> impl Iterator<Item = &serde_json::Map<String, Value>> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

/// The strings of a list (nothing when it is missing or not a list).
pub fn strings(list: Option<&Value>) -> impl Iterator<Item = &str> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// What stands in the evidence for a field that held a secret.
pub const REDACTED: &str = "[redacted]";

/// The item with each of `fields` that is set replaced by [`REDACTED`] (gitleaks,
/// TruffleHog: the secret never reaches the evidence).
pub fn redact(raw: &Value, fields: &[&str]) -> Value {
    let mut copy = raw.clone();
    if let Value::Object(obj) = &mut copy {
        for key in fields {
            if let Some(v) = obj.get_mut(*key)
                && !v.is_null()
            {
                *v = Value::String(REDACTED.to_string());
            }
        }
    }
    copy
}

/// The text at `key`, trimmed and bounded to [`FIELD_MAX`], when it is not empty.
pub fn text(obj: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    first_text(obj, &[key])
}

/// The first of `keys` that holds a non-empty text, trimmed and bounded to [`FIELD_MAX`].
pub fn first_text(obj: &serde_json::Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .filter_map(|k| obj.get(*k))
        .filter_map(Value::as_str)
        .map(str::trim)
        .find(|s| !s.is_empty())
        .map(|s| crate::ingest::normalize::bounded(s, FIELD_MAX))
}

/// The parts that are set, joined with `/`: a Kubernetes object's `namespace/Kind/name` (a
/// cluster-scoped object has no namespace), with its cluster in front where a format keeps one.
pub fn object_path(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/")
}

/// Sets the Kubernetes object a finding is about, each part only when it is set, and its
/// workload asset under `key` unless that is empty.
pub fn set_workload(
    f: &mut NewFinding,
    namespace: impl Into<String>,
    kind: impl Into<String>,
    name: impl Into<String>,
    key: String,
) {
    let set = |part: String| Some(part).filter(|p| !p.is_empty());
    f.k8s_namespace = set(namespace.into());
    f.k8s_kind = set(kind.into());
    f.k8s_name = set(name.into());
    if !key.is_empty() {
        f.asset = Some(Asset {
            kind: AssetKind::Workload,
            key,
        });
    }
}

/// A JSON document that must be an object; `expected` says what else it is refused as.
pub fn json_object(format: &'static str, body: &[u8], expected: &str) -> Result<Value, ParseError> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::from_json(format, &e))?;
    if !root.is_object() {
        return Err(ParseError::invalid(format, expected));
    }
    Ok(root)
}

/// Findings in the order first seen, one per fingerprint: a repeat adds an occurrence to the
/// finding it repeats, which keeps the higher severity of the two (for the line-per-result
/// formats that write one problem again: kubeaudit, kube-hunter, kube-linter, Popeye).
#[derive(Default)]
pub struct Repeats {
    findings: Vec<NewFinding>,
    index: std::collections::HashMap<[u8; 32], usize>,
}

impl Repeats {
    pub fn add(&mut self, f: NewFinding) {
        match self.index.get(&f.fingerprint) {
            Some(&i) => {
                let kept = &mut self.findings[i];
                kept.occurrences = kept.occurrences.saturating_add(1);
                kept.severity = kept.severity.min(f.severity);
            }
            None => {
                self.index.insert(f.fingerprint, self.findings.len());
                self.findings.push(f);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.findings.is_empty()
    }

    pub fn into_findings(self) -> Vec<NewFinding> {
        self.findings
    }
}

/// The objects of a report written as JSON Lines (one object a line; nuclei, kubeaudit,
/// TruffleHog) or as one JSON array of the same objects, each with its line number when
/// read from lines. Blank lines are skipped, and a line may end with a comma (nuclei 3.3.6's
/// `-jsonl-export` wrote them so). Anything but an object is an error naming its place.
pub fn json_items(
    format: &'static str,
    body: &[u8],
) -> Result<Vec<(Option<usize>, Value)>, ParseError> {
    let text = String::from_utf8_lossy(body);
    let not_object = |message: String, line: Option<usize>| ParseError {
        format,
        message,
        line,
        column: None,
        layout: false,
    };
    if text.trim_start().starts_with('[') {
        let items: Vec<Value> =
            serde_json::from_str(&text).map_err(|e| ParseError::from_json(format, &e))?;
        if let Some(bad) = items.iter().position(|v| !v.is_object()) {
            let message = format!("array item {} is not a JSON object", bad + 1);
            return Err(not_object(message, None));
        }
        return Ok(items.into_iter().map(|v| (None, v)).collect());
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim().trim_end_matches(',');
        if line.is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line).map_err(|e| ParseError {
            line: Some(i + 1),
            ..ParseError::from_json(format, &e)
        })?;
        if !value.is_object() {
            let message = "each line must be a JSON object".to_string();
            return Err(not_object(message, Some(i + 1)));
        }
        out.push((Some(i + 1), value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{has_any_key, has_key, has_keys, json_head, json_items, opening};

    #[test]
    fn heads_open_with_what_is_asked_and_keys_are_quoted() {
        assert_eq!(json_head(b"  {\"a\": 1}").as_deref(), Some("  {\"a\": 1}"));
        assert!(json_head(b"[{}]").is_none());
        assert!(opening(b"\n[{}]", 10, &['{', '[']).is_some());
        assert_eq!(opening(b"{\"abc\"}", 3, &['{']).as_deref(), Some("{\"a"));
        let text = r#"{"level": "x", "levelled": 1, "a": "velvet"}"#;
        assert!(has_key(text, "level") && !has_key(text, "lev") && !has_key(text, "vel"));
        assert!(has_key(text, "a") && has_key(text, "x"));
        assert!(has_keys(text, &["level", "levelled"]) && !has_keys(text, &["level", "b"]));
        assert!(has_any_key(text, &["b", "a"]) && !has_any_key(text, &["b", "c"]));
    }

    #[test]
    fn lines_and_arrays_give_the_same_objects_with_places() {
        let lines = json_items("t", b"{\"a\":1}\n\n{\"a\":2},\n").unwrap();
        assert_eq!(
            lines.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            [Some(1), Some(3)]
        );
        let array = json_items("t", b" [{\"a\":1},{\"a\":2}]").unwrap();
        assert_eq!(array.len(), 2);
        assert_eq!(lines[1].1, array[1].1);
        assert_eq!(
            json_items("t", b"{\"a\":1}\n[1]").unwrap_err().line,
            Some(2)
        );
        assert_eq!(
            json_items("t", b"{\"a\":1}\n{\"a\"").unwrap_err().line,
            Some(2)
        );
        assert!(
            json_items("t", b"[{},2]")
                .unwrap_err()
                .message
                .contains("item 2")
        );
    }
}
