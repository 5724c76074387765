//! Gitleaks JSON reports (`gitleaks detect --report-format json`).
//!
//! - Variants: gitleaks 8 (`RuleID`, `Description`, `File`, `StartLine`, `Secret`, `Match`,
//!   `Commit`, `Link`, `Tags`, …) and gitleaks 2–7 (`rule`, `file`, `lineNumber`,
//!   `offender`, `line`, `commit`, `repo`, `repoURL`, `leakURL`, `tags`, …). A body of
//!   `null` (what gitleaks 8.21.3 and later write when they find nothing) or `[]` (8.2 to
//!   8.21.2) is a report with no findings. Reports merged with `jq -s` (`[[…], null, […]]`)
//!   are read as one: one level of nesting is flattened, and a `null` in it is an empty
//!   report. Any other element (not an object, or an object with neither a string `RuleID`
//!   nor `rule`, say from a custom `--report-template`) refuses the report (422), never
//!   dropped or read as a leak without a rule.
//! - Severity: gitleaks rules carry no severity, and a leaked credential is always worth
//!   fixing soon, so every finding is **high**. (A rule's tags do not change this.)
//! - Layer: secret.
//! - One finding per distinct secret: same rule, file, line and secret. The same secret seen
//!   in several commits is one finding (the commits are listed in the evidence); the same
//!   secret in two files, or on two lines, is two findings.
//! - The secret itself is never stored: `Secret`, `Match`, `offender` and `line` are replaced
//!   by `[redacted]` in the evidence, and only a SHA-256 of the secret enters the fingerprint.
//! - Fingerprint (`gitleaks/v1`): rule id, file path, start line (empty when the report has
//!   none), SHA-256 of the secret (v8 `Secret`, else `Match`; v7 `offender`, else `line`).
//!   Commit, author, date, message, entropy and gitleaks' own `Fingerprint` (which contains
//!   the commit) stay out, so re-scanning a rewritten history keeps the finding.

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::support::{
    self, DESCRIPTION_MAX, LIST_MAX, TITLE_MAX, first_text, has_any_key, has_keys, redact,
};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct Gitleaks;

const NAME: &str = "gitleaks";
/// Fields that hold the secret or the line around it.
const SECRET_FIELDS: &[&str] = &["Secret", "Match", "Line", "offender", "line"];

impl ReportFormat for Gitleaks {
    fn sniff(&self, body: &[u8]) -> bool {
        let head = support::head(body);
        let trimmed = head.trim();
        if trimmed == "null" {
            return true;
        }
        if !trimmed.starts_with('[') {
            return false;
        }
        let v8 =
            has_keys(&head, &["RuleID", "StartLine"]) && has_any_key(&head, &["Secret", "Match"]);
        let v7 = has_keys(&head, &["offender", "rule", "commit"]);
        v8 || v7
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let root: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        let items = leaks(&root)?;
        let mut findings: Vec<NewFinding> = Vec::new();
        let mut commits: Vec<Vec<String>> = Vec::new();
        let mut seen: HashMap<[u8; 32], usize> = HashMap::new();
        for (item, obj) in items {
            let leak = Leak::read(obj);
            let fingerprint = leak.fingerprint();
            if let Some(&i) = seen.get(&fingerprint) {
                if let (Some(c), Some(list)) = (&leak.commit, commits.get_mut(i))
                    && !list.contains(c)
                    && list.len() < LIST_MAX
                {
                    list.push(c.clone());
                }
                continue;
            }
            seen.insert(fingerprint, findings.len());
            commits.push(leak.commit.clone().into_iter().collect());
            findings.push(leak.finding(fingerprint, item));
        }
        for (finding, list) in findings.iter_mut().zip(commits) {
            if list.len() > 1
                && let Some(Value::Object(ev)) = finding.evidence.as_mut()
            {
                ev.insert(
                    "commits".to_string(),
                    Value::Array(list.into_iter().map(Value::String).collect()),
                );
            }
        }
        Ok(ParsedReport {
            scanner: NAME.to_string(),
            scanner_version: None,
            findings,
            skipped: Vec::new(),
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// The layouts read, for a layout refusal.
const EXPECTED: &str = "a JSON array of leak objects with `RuleID` (gitleaks 8) or `rule` \
     (gitleaks 7 and older), or `null`; or a list of such reports (`jq -s`)";

/// One leak as the report has it, and as an object.
type Leaked<'a> = (&'a Value, &'a Map<String, Value>);

/// The leaks of a report: its array's objects. Reports merged with `jq -s` (`[[…], null,
/// […]]`) are flattened one level, an empty report (`null`) in them holding no leak. Anything
/// else, or an object that is not a leak of either generation, refuses the report: dropping
/// it would store the report with leaks missing.
fn leaks(root: &Value) -> Result<Vec<Leaked<'_>>, ParseError> {
    let items = match root {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(ParseError::layout(NAME, EXPECTED)),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let inner = match item {
            Value::Null => continue,
            Value::Array(inner) => inner.iter().collect::<Vec<_>>(),
            leak => vec![leak],
        };
        for leak in inner {
            match leak.as_object() {
                Some(obj)
                    if ["RuleID", "rule"]
                        .iter()
                        .any(|k| obj.get(*k).is_some_and(Value::is_string)) =>
                {
                    out.push((leak, obj));
                }
                _ => return Err(ParseError::layout(NAME, EXPECTED)),
            }
        }
    }
    Ok(out)
}

/// One leak, read from either generation's field names.
struct Leak {
    rule_id: String,
    description: String,
    file: Option<String>,
    line: Option<i32>,
    secret_hash: String,
    commit: Option<String>,
    repo: Option<String>,
    url: Option<String>,
    tags: Vec<String>,
}

impl Leak {
    fn read(obj: &serde_json::Map<String, Value>) -> Leak {
        let rule_id = first_text(obj, &["RuleID", "rule"]).unwrap_or_default();
        let description =
            first_text(obj, &["Description", "rule"]).unwrap_or_else(|| rule_id.clone());
        let line = ["StartLine", "lineNumber"]
            .iter()
            .filter_map(|k| obj.get(*k))
            .find_map(Value::as_i64)
            .filter(|l| *l > 0)
            .and_then(|l| i32::try_from(l).ok());
        // hash the full secret, not a bounded copy
        let secret = ["Secret", "Match", "offender", "line"]
            .iter()
            .filter_map(|k| obj.get(*k))
            .filter_map(Value::as_str)
            .find(|s| !s.is_empty())
            .unwrap_or("");
        let secret_hash = hex::encode(Sha256::digest(secret.as_bytes()));
        let tags = match obj.get("Tags").or_else(|| obj.get("tags")) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(|t| normalize::bounded(t.trim(), 100))
                .filter(|t| !t.is_empty())
                .collect(),
            Some(Value::String(s)) => s
                .split(',')
                .map(|t| normalize::bounded(t.trim(), 100))
                .filter(|t| !t.is_empty())
                .collect(),
            _ => Vec::new(),
        };
        Leak {
            rule_id,
            description,
            file: first_text(obj, &["File", "file"])
                .map(|p| normalize::path(&p))
                .filter(|p| !p.is_empty()),
            line,
            secret_hash,
            commit: first_text(obj, &["Commit", "commit"]),
            repo: first_text(obj, &["repoURL", "repo"]),
            url: first_text(obj, &["Link", "leakURL"]),
            tags,
        }
    }

    fn fingerprint(&self) -> [u8; 32] {
        fingerprint(
            &self.rule_id,
            self.file.as_deref(),
            self.line,
            &self.secret_hash,
        )
    }

    fn finding(&self, fingerprint: [u8; 32], raw: &Value) -> NewFinding {
        let what = if self.description.is_empty() {
            "Secret".to_string()
        } else {
            self.description.clone()
        };
        let title = match &self.file {
            Some(f) => format!("{what} in {f}"),
            None => what.clone(),
        };
        let title = normalize::first_line(&title, TITLE_MAX);
        let location = match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{f}:{l}"),
            (Some(f), None) => f.clone(),
            (None, _) => String::new(),
        };
        let mut description = format!("gitleaks rule `{}` ({what}) matched", self.rule_id);
        if !location.is_empty() {
            description.push_str(&format!(" at {location}"));
        }
        description.push('.');
        if !self.tags.is_empty() {
            description.push_str(&format!(" Tags: {}.", self.tags.join(", ")));
        }
        let mut f = NewFinding::new(fingerprint, Layer::Secret, Severity::High, title);
        f.rule_id = self.rule_id.clone();
        f.aliases = vec!["CWE-798".to_string()];
        f.description = normalize::bounded(&description, DESCRIPTION_MAX);
        f.remediation = "Revoke and rotate the secret, remove it from the code and the git \
                         history, and load it from a secret store instead."
            .to_string();
        f.references = self.url.iter().cloned().collect();
        f.file_path = self.file.clone();
        f.line = self.line;
        f.location = location;
        f.url = self.url.clone();
        f.asset = self.repo.as_ref().map(|r| Asset {
            kind: AssetKind::Repository,
            key: r.clone(),
        });
        f.evidence = Some(normalize::evidence(&redact(raw, SECRET_FIELDS)));
        f
    }
}

/// The identity of a leak (`gitleaks/v1`), shared by gitleaks' JSON and its SARIF (read by
/// [`super::sarif`], where the secret is the region's snippet).
pub fn identity(rule_id: &str, file: Option<&str>, line: Option<i32>, secret: &str) -> [u8; 32] {
    fingerprint(
        rule_id,
        file,
        line,
        &hex::encode(Sha256::digest(secret.as_bytes())),
    )
}

fn fingerprint(
    rule_id: &str,
    file: Option<&str>,
    line: Option<i32>,
    secret_hash: &str,
) -> [u8; 32] {
    Fingerprint::new("gitleaks/v1")
        .push(rule_id)
        .push(file.unwrap_or(""))
        .push(
            &line
                .filter(|l| *l > 0)
                .map(|l| l.to_string())
                .unwrap_or_default(),
        )
        .push(secret_hash)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::support::REDACTED;
    use crate::ingest::formats::test_support::{
        assert_secrets_kept_out, first, fixture, parse_error,
    };

    const V8: &[u8] = fixture!("gitleaks", "v8.json");
    const V7: &[u8] = fixture!("gitleaks", "v7.json");

    #[test]
    fn v8_same_secret_in_two_commits_is_one_finding() {
        let aws = first(&Gitleaks, V8);
        assert_eq!(aws.aliases, vec!["CWE-798"]);
        let ev = aws.evidence.as_ref().unwrap();
        assert_eq!(ev["commits"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn secrets_never_reach_the_finding() {
        let secrets = [
            "AKIAQ3EGBOSUNEXAMPL",
            "b7f1c9e2a4d84f0e9c3a5b6d7e8f9012",
            "hunter2-but-longer-Zx81",
            "BEGIN RSA PRIVATE KEY",
        ];
        assert_secrets_kept_out(&Gitleaks, &[V8, V7], &secrets);
        for body in [V8, V7] {
            for f in Gitleaks.parse(body).unwrap().findings {
                assert_eq!(
                    f.evidence.as_ref().unwrap()["Secret"]
                        .as_str()
                        .unwrap_or(REDACTED),
                    REDACTED
                );
            }
        }
    }

    #[test]
    fn v7_fields_are_read() {
        let f = first(&Gitleaks, V7);
        assert_eq!(f.evidence.as_ref().unwrap()["offender"], REDACTED);
        assert_eq!(f.evidence.as_ref().unwrap()["line"], REDACTED);
    }

    #[test]
    fn fingerprint_ignores_commit_and_order_but_not_the_secret() {
        let a = Gitleaks.parse(V8).unwrap();
        let mut items: Vec<Value> = serde_json::from_slice(V8).unwrap();
        items.reverse();
        for item in &mut items {
            item["Commit"] = Value::String("0000000000000000000000000000000000000000".into());
            item["Date"] = Value::String("2030-01-01T00:00:00Z".into());
        }
        let b = Gitleaks
            .parse(&serde_json::to_vec(&items).unwrap())
            .unwrap();
        let fa: Vec<_> = a.findings.iter().map(|f| f.fingerprint).collect();
        let mut fb: Vec<_> = b.findings.iter().map(|f| f.fingerprint).collect();
        fb.reverse();
        assert_eq!(fa, fb);
        // a different secret on the same rule, file and line is a different finding
        items[0]["Secret"] = Value::String("b7f1c9e2a4d84f0e9c3a5b6d7e8f9099".into());
        let c = Gitleaks
            .parse(&serde_json::to_vec(&items).unwrap())
            .unwrap();
        assert_ne!(c.findings[0].fingerprint, b.findings[0].fingerprint);
        assert_ne!(fa[0], fa[1]);
    }

    #[test]
    fn null_and_empty_reports_have_no_findings() {
        assert!(Gitleaks.parse(b"null").unwrap().findings.is_empty());
        assert!(Gitleaks.parse(b" null\n").unwrap().findings.is_empty());
        assert!(Gitleaks.parse(b"[]").unwrap().findings.is_empty());
    }

    #[test]
    fn malformed_input_is_a_parse_error() {
        let err = parse_error(&Gitleaks, b"[{\"RuleID\": ");
        assert!(err.message.contains("truncated"), "{}", err.message);
        assert!(Gitleaks.parse(b"{\"RuleID\": \"x\"}").is_err());
        // odd values in a leak do not panic
        let odd = Gitleaks
            .parse(br#"[{"RuleID": "r", "StartLine": -4, "Tags": 3}]"#)
            .unwrap();
        assert_eq!(odd.findings.len(), 1);
        assert_eq!(odd.findings[0].line, None);
    }

    #[test]
    fn reports_merged_with_jq_are_read() {
        let v8 = String::from_utf8_lossy(V8);
        let merged = format!("[{v8}, null, []]");
        assert!(Gitleaks.sniff(merged.as_bytes()));
        let parsed = Gitleaks.parse(merged.as_bytes()).unwrap();
        assert_eq!(parsed.findings, Gitleaks.parse(V8).unwrap().findings);
        let one = br#"[[{"RuleID":"aws-access-token","Description":"AWS Access Key","StartLine":7,"EndLine":7,"StartColumn":18,"EndColumn":37,
           "Match":"aws_access_key_id = AKIAQ3EGBOSUNEXAMPL","Secret":"AKIAQ3EGBOSUNEXAMPL","File":"deploy/provider.tf",
           "SymlinkFile":"","Commit":"6e1f9c2d","Entropy":3.9,"Author":"Dev","Email":"dev@example.com",
           "Date":"2024-05-02T10:11:12Z","Message":"add provider","Tags":[],"Fingerprint":"6e1f9c2d:deploy/provider.tf:aws-access-token:7"}],
         null]"#;
        assert!(Gitleaks.sniff(one));
        let parsed = Gitleaks.parse(one).unwrap();
        assert_eq!(parsed.findings.len(), 1);
        assert_eq!(parsed.findings[0].location, "deploy/provider.tf:7");
        assert_eq!(Gitleaks.parse(b"[null]").unwrap().findings.len(), 0);
    }

    #[test]
    fn items_that_are_not_leaks_are_refused() {
        for body in [
            &br#"[1, {"RuleID": "r"}]"#[..],
            br#"["x"]"#,
            br#"[{"File": "a.tf", "Secret": "s", "StartLine": 1}]"#,
            br#"[{"RuleID": 5}]"#,
            br#"[[[{"RuleID": "r"}]]]"#,
            br#"[[null]]"#,
            br#"{"RuleID": "x"}"#,
            b"7",
        ] {
            let err = Gitleaks.parse(body).unwrap_err();
            assert!(
                err.layout,
                "{}: {}",
                String::from_utf8_lossy(body),
                err.message
            );
        }
    }
}
