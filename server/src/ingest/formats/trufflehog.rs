//! TruffleHog JSON Lines reports (`trufflehog … --json`), one JSON object per line.
//!
//! - Variants: TruffleHog v3 (3.0 to 3.4.4 name the detector only by `DetectorType`;
//!   `SourceMetadata.Data.<Source>`, `DetectorName`, `Verified`,
//!   `Raw`, `RawV2`, `Redacted`, `ExtraData`; sources git, github, gitlab, filesystem, docker,
//!   s3, … with `file`/`line`/`repository`/`link`/`image`) and truffleHog v2 (`branch`,
//!   `commit`, `commitHash`, `path`, `reason`, `stringsFound`, `diff`, `printDiff`; also
//!   v3's `--json-legacy`). TruffleHog's JSON log lines (stderr captured with the results)
//!   are not findings, but when its closing "finished scanning" line counts more results than
//!   the report holds, or a line is none of these, the report is refused (422).
//! - Severity: v3: a **verified** (live) credential → critical, an unverified one → high.
//!   v2 has no verification: regex detectors (private keys, "Generic Secret", …) → high,
//!   the noisy "High Entropy" reason → medium.
//! - Layer: secret.
//! - One finding, v3: per distinct secret: detector, file, line and secret; the same secret
//!   in several commits (or an exact duplicate line) is one finding, the commits are listed in
//!   the evidence. v2: per file and reason (v2 reports one line per commit and the strings
//!   found in it, with no line numbers; the strings change as the file is edited, so the file
//!   and the kind of secret are what stays the same).
//! - Secrets are never stored: v3 `Raw`/`RawV2` and v2 `stringsFound`/`diff`/`printDiff` are
//!   replaced by `[redacted]` in the evidence; v3's own `Redacted` form is kept.
//! - Fingerprint (`trufflehog/v1`): v3: "v3", detector name, file (or the source's link when
//!   there is no file), line, SHA-256 of the raw secret (`RawV2`, else `Raw`). v2: "v2",
//!   reason, path. Commits, timestamps, e-mails and verification state stay out.

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::support::{
    self, DESCRIPTION_MAX, LIST_MAX, TITLE_MAX, first_text, has_any_key, has_key, has_keys, redact,
};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct Trufflehog;

/// The layouts read, as a refusal names them.
const EXPECTED: &str = "TruffleHog 3 `--json` lines (`SourceMetadata`, `DetectorName` or \
                        `DetectorType`) or TruffleHog 2 / `--json-legacy` lines (`branch`, \
                        `commitHash`, `reason`, `stringsFound`)";

const NAME: &str = "trufflehog";
const V3_SECRET_FIELDS: &[&str] = &["Raw", "RawV2"];
const V2_SECRET_FIELDS: &[&str] = &["stringsFound", "diff", "printDiff"];

impl ReportFormat for Trufflehog {
    fn sniff(&self, body: &[u8]) -> bool {
        let head = support::head(body);
        let first = head.trim_start().lines().next().unwrap_or("");
        if !first.starts_with('{') {
            return false;
        }
        // DetectorName since 3.4.5; 3.0 to 3.4.4 name the detector by number only
        let v3 = has_key(first, "SourceMetadata")
            && has_any_key(first, &["DetectorName", "DetectorType"]);
        let v2 = has_keys(first, &["commitHash", "branch"])
            && has_any_key(first, &["stringsFound", "printDiff"]);
        v3 || v2
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let mut acc = Accumulator::default();
        let (mut results, mut counted) = (0i64, None);
        for (line, item) in super::support::json_items(NAME, body)? {
            let Some(obj) = item.as_object() else {
                continue; // json_items gives objects only
            };
            if obj.contains_key("SourceMetadata")
                || obj.contains_key("DetectorName")
                || obj.contains_key("DetectorType")
            {
                acc.add_v3(obj, &item);
                results += 1;
            } else if obj.contains_key("reason") || obj.contains_key("stringsFound") {
                acc.add_v2(obj, &item);
                results += 1;
            } else if obj.contains_key("level") && obj.contains_key("msg") {
                // TruffleHog's own log (stderr captured with the results): not findings,
                // but its closing line counts the results it printed
                if obj.get("msg").and_then(Value::as_str) == Some("finished scanning") {
                    let count = |k: &str| obj.get(k).and_then(Value::as_i64).unwrap_or(0);
                    counted = Some(count("verified_secrets") + count("unverified_secrets"));
                }
            } else {
                return Err(ParseError {
                    line,
                    ..ParseError::layout(NAME, EXPECTED)
                });
            }
        }
        if let Some(counted) = counted.filter(|c| *c > results) {
            return Err(ParseError::layout(
                NAME,
                &format!(
                    "the {counted} results its \"finished scanning\" line counts ({results} \
                     readable), as {EXPECTED}"
                ),
            ));
        }
        Ok(ParsedReport {
            scanner: NAME.to_string(),
            scanner_version: None,
            findings: acc.finish(),
            skipped: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

#[derive(Default)]
struct Accumulator {
    findings: Vec<NewFinding>,
    commits: Vec<Vec<String>>,
    seen: HashMap<[u8; 32], usize>,
}

impl Accumulator {
    /// The finding with this fingerprint already seen: remember the commit and say so.
    fn merged(&mut self, fingerprint: &[u8; 32], commit: Option<&String>) -> bool {
        let Some(&i) = self.seen.get(fingerprint) else {
            return false;
        };
        if let (Some(c), Some(list)) = (commit, self.commits.get_mut(i))
            && !list.contains(c)
            && list.len() < LIST_MAX
        {
            list.push(c.clone());
        }
        true
    }

    fn push(&mut self, finding: NewFinding, commit: Option<String>) {
        self.seen.insert(finding.fingerprint, self.findings.len());
        self.findings.push(finding);
        self.commits.push(commit.into_iter().collect());
    }

    fn add_v3(&mut self, obj: &Map<String, Value>, raw: &Value) {
        let detector = first_text(obj, &["DetectorName"])
            .or_else(|| obj.get("DetectorType").map(|t| format!("detector {t}")))
            .unwrap_or_else(|| "Secret".to_string());
        // SourceMetadata.Data is a one-key object named after the source (Git, Filesystem, …)
        let source = obj
            .get("SourceMetadata")
            .and_then(|m| m.get("Data"))
            .and_then(Value::as_object)
            .and_then(|d| d.values().find_map(Value::as_object));
        let empty = Map::new();
        let source = source.unwrap_or(&empty);
        let file = first_text(source, &["file", "path", "filename"])
            .map(|p| normalize::path(&p))
            .filter(|p| !p.is_empty());
        let line = source
            .get("line")
            .and_then(Value::as_i64)
            .filter(|l| *l > 0)
            .and_then(|l| i32::try_from(l).ok());
        let link = first_text(source, &["link"]);
        let commit = first_text(source, &["commit"]);
        let repository = first_text(source, &["repository"]);
        let image = first_text(source, &["image"]);
        let verified = obj
            .get("Verified")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let secret = ["RawV2", "Raw"]
            .iter()
            .filter_map(|k| obj.get(*k))
            .filter_map(Value::as_str)
            .find(|s| !s.is_empty())
            .unwrap_or("");
        let fingerprint = Fingerprint::new("trufflehog/v1")
            .push("v3")
            .push(&detector)
            .push(file.as_deref().or(link.as_deref()).unwrap_or(""))
            .push(&line.map(|l| l.to_string()).unwrap_or_default())
            .push(&hex::encode(Sha256::digest(secret.as_bytes())))
            .finish();
        if self.merged(&fingerprint, commit.as_ref()) {
            return;
        }
        let location = match (&file, line) {
            (Some(f), Some(l)) => format!("{f}:{l}"),
            (Some(f), None) => f.clone(),
            (None, _) => link.clone().unwrap_or_default(),
        };
        let state = if verified { "verified" } else { "unverified" };
        let title = match &file {
            Some(f) => format!("{detector} secret ({state}) in {f}"),
            None => format!("{detector} secret ({state})"),
        };
        let severity = if verified {
            Severity::Critical
        } else {
            Severity::High
        };
        let mut description = format!("TruffleHog detector {detector} found a {state} secret");
        if !location.is_empty() {
            description.push_str(&format!(" at {location}"));
        }
        if let Some(r) = first_text(obj, &["Redacted"]) {
            description.push_str(&format!(" (shown redacted: `{r}`)"));
        }
        description.push('.');
        if let Some(e) = first_text(obj, &["VerificationError"]) {
            description.push_str(&format!(" Verification error: {e}"));
        }
        let mut f = NewFinding::new(fingerprint, Layer::Secret, severity, title);
        f.rule_id = detector;
        f.description = normalize::bounded(&description, DESCRIPTION_MAX);
        f.file_path = file;
        f.line = line;
        f.location = location;
        f.url = link.clone();
        f.references = link.into_iter().collect();
        f.image = image.clone();
        f.asset = repository
            .map(|key| Asset {
                kind: AssetKind::Repository,
                key,
            })
            .or_else(|| {
                image.map(|i| Asset {
                    kind: AssetKind::Image,
                    key: normalize::image_repository(&i),
                })
            });
        fill_common(&mut f, raw, V3_SECRET_FIELDS);
        self.push(f, commit);
    }

    fn add_v2(&mut self, obj: &Map<String, Value>, raw: &Value) {
        let reason = first_text(obj, &["reason"]).unwrap_or_else(|| "Secret".to_string());
        let path = first_text(obj, &["path"])
            .map(|p| normalize::path(&p))
            .filter(|p| !p.is_empty());
        let commit = first_text(obj, &["commitHash"]);
        let fingerprint = Fingerprint::new("trufflehog/v1")
            .push("v2")
            .push(&reason)
            .push(path.as_deref().unwrap_or(""))
            .finish();
        if self.merged(&fingerprint, commit.as_ref()) {
            return;
        }
        let severity = if reason.to_ascii_lowercase().contains("entropy") {
            Severity::Medium
        } else {
            Severity::High
        };
        let title = match &path {
            Some(p) => format!("{reason} in {p}"),
            None => reason.clone(),
        };
        let mut description = format!("truffleHog found {reason}");
        if let Some(p) = &path {
            description.push_str(&format!(" in {p}"));
        }
        if let Some(b) = first_text(obj, &["branch"]) {
            description.push_str(&format!(" on branch {b}"));
        }
        description.push('.');
        let mut f = NewFinding::new(fingerprint, Layer::Secret, severity, title);
        f.rule_id = reason;
        f.description = normalize::bounded(&description, DESCRIPTION_MAX);
        f.location = path.clone().unwrap_or_default();
        f.file_path = path;
        fill_common(&mut f, raw, V2_SECRET_FIELDS);
        self.push(f, commit);
    }

    fn finish(self) -> Vec<NewFinding> {
        let mut findings = self.findings;
        for (finding, list) in findings.iter_mut().zip(self.commits) {
            if list.len() > 1
                && let Some(Value::Object(ev)) = finding.evidence.as_mut()
            {
                ev.insert(
                    "commits".to_string(),
                    Value::Array(list.into_iter().map(Value::String).collect()),
                );
            }
        }
        findings
    }
}

fn fill_common(f: &mut NewFinding, raw: &Value, secret_fields: &[&str]) {
    f.title = normalize::first_line(&f.title, TITLE_MAX);
    f.aliases = vec!["CWE-798".to_string()];
    f.remediation = "Revoke and rotate the credential, remove it from the source and its \
                     history, and load it from a secret store instead."
        .to_string();
    f.evidence = Some(normalize::evidence(&redact(raw, secret_fields)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::support::REDACTED;
    use crate::ingest::formats::test_support::{
        assert_secrets_kept_out, first, fixture, parse_error, sorted_fingerprints,
    };

    const V3: &[u8] = fixture!("trufflehog", "v3.jsonl");
    const V2: &[u8] = fixture!("trufflehog", "v2.jsonl");

    #[test]
    fn v3_merges_one_secret_across_commits() {
        let aws = first(&Trufflehog, V3);
        assert_eq!(aws.aliases, vec!["CWE-798"]);
        let ev = aws.evidence.as_ref().unwrap();
        assert_eq!(ev["Raw"], REDACTED);
        assert_eq!(ev["commits"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn v2_merges_by_file_and_reason() {
        let generic = first(&Trufflehog, V2);
        let ev = generic.evidence.as_ref().unwrap();
        assert_eq!(ev["stringsFound"], REDACTED);
        assert_eq!(ev["diff"], REDACTED);
        assert_eq!(ev["commits"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn secrets_never_reach_the_finding() {
        let secrets = [
            "wJalrXUtnFEMI",
            "s3cr3t-Pa55word",
            "bosunfixturetoken",
            "f3a9c1d2e4b5a6978877665544332211",
            "BEGIN RSA PRIVATE KEY",
            "Zm9vYmFy",
        ];
        assert_secrets_kept_out(&Trufflehog, &[V3, V2], &secrets);
    }

    #[test]
    fn fingerprints_survive_reordering_and_new_commits() {
        let a = Trufflehog.parse(V3).unwrap();
        let text = String::from_utf8_lossy(V3);
        let mut lines: Vec<&str> = text.lines().collect();
        lines.reverse();
        let reversed = lines.join("\n").replace(
            "1f0c1c1d7e52b6a1b0e3f6d1a8c4c2e9a0b1c2d3",
            "ffffffffffffffffffffffffffffffffffffffff",
        );
        let b = Trufflehog.parse(reversed.as_bytes()).unwrap();
        let fa = sorted_fingerprints(&a);
        assert_eq!(fa, sorted_fingerprints(&b));
        let unique: std::collections::HashSet<_> = fa.iter().collect();
        assert_eq!(unique.len(), 3);
        // a different secret at the same place is a different finding
        let other = text.replacen("wJalrXUtnFEMI", "AAAAAAAAAAAAA", 1);
        let c = Trufflehog.parse(other.as_bytes()).unwrap();
        assert_eq!(c.findings.len(), 4);
    }

    #[test]
    fn malformed_lines_are_parse_errors_with_their_line() {
        let body = format!(
            "{}\n{{\"DetectorName\": ",
            String::from_utf8_lossy(V2).trim_end()
        );
        let err = parse_error(&Trufflehog, body.as_bytes());
        assert_eq!(err.line, Some(5));
        assert!(Trufflehog.parse(b"[1,2]").is_err());
        assert!(Trufflehog.parse(b"").unwrap().findings.is_empty());
        // odd shapes do not panic
        let odd = Trufflehog
            .parse(br#"{"SourceMetadata":{"Data":3},"DetectorName":7,"Raw":[1]}"#)
            .unwrap();
        assert_eq!(odd.findings.len(), 1);
    }

    #[test]
    fn unknown_lines_and_a_tally_without_results_are_refused() {
        let logs_only = br#"{"level":"info-0","ts":"2024-06-01T10:00:00.123Z","logger":"trufflehog","msg":"running source","with_units":true}
{"level":"info-0","ts":"2024-06-01T10:00:03.456Z","logger":"trufflehog","msg":"finished scanning","chunks":1234,"bytes":567890,"verified_secrets":1,"unverified_secrets":2,"scan_duration":"3.1s","trufflehog_version":"3.78.0"}"#;
        let err = Trufflehog.parse(logs_only).unwrap_err();
        assert!(err.layout && err.message.contains("the 3 results"), "{err}");
        let clean = br#"{"level":"info-0","ts":"2024-06-01T10:00:03.456Z","logger":"trufflehog","msg":"finished scanning","verified_secrets":0,"unverified_secrets":0}"#;
        assert_eq!(Trufflehog.parse(clean).unwrap().findings.len(), 0);
        let unknown = br#"{"SourceName":"trufflehog - git","Detector":"AWS","Secret":"AKIAYVP4CIPPERUVIFXG"}"#;
        let err = Trufflehog.parse(unknown).unwrap_err();
        assert!(err.layout && err.line == Some(1), "{err}");
    }

    #[test]
    fn trufflehog_3_0_without_detector_names_is_detected_and_read() {
        let v3_0 = br#"{"SourceMetadata":{"Data":{"Git":{"commit":"fbc14303","file":"keys","email":"dev <dev@example.com>","repository":"https://github.com/acme/app","timestamp":"2022-04-20 10:17:40 -0700 -0700","line":4}}},"SourceID":0,"SourceType":16,"SourceName":"trufflehog - git","DetectorType":2,"Verified":false,"Raw":"QUtJQVlWUDRDSVBQRVJVVklGWEc=","Redacted":"AKIAYVP4CIPPERUVIFXG","ExtraData":null,"StructuredData":null}"#;
        assert!(Trufflehog.sniff(v3_0));
        assert_eq!(Trufflehog.parse(v3_0).unwrap().findings.len(), 1);
    }
}
