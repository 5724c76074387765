//! Nuclei JSON Lines (`nuclei -jsonl`, v2 `templateID`/`matched` and v3 `template-id`/
//! `matched-at` field names) and the JSON array of the same objects (`nuclei -json-export`).
//! Blank lines are skipped; a body with no items has no findings.
//!
//! - Variants: nuclei 2.3 to 2.5.2 (`templateID`, `matched`), 2.5.3 and later (`template-id`,
//!   `matched-at`, `matcher-status`), `-json-export` arrays (2.9.1+) and `-jsonl-export` lines
//!   (3.3.6 ended each with a comma). Results of `-matcher-status` runs that did not match
//!   are skipped (counted). Nuclei 2.0 to 2.2 (`template`, info fields at the top level) is
//!   refused (422): read as it is, all results of a host would merge into one finding.
//!
//! - One finding per template, protocol type, matcher and host: results that repeat those
//!   (the same header missing on several paths of one site, two TLS versions from one
//!   template) are merged into one finding, counting occurrences and listing every matched
//!   location and extracted value in the description.
//! - Severity: the template's `info.severity` (critical/high/medium/low/info); `unknown` or
//!   anything else → info.
//! - Layer: dast. Asset: the site for web results (`Url`, key `scheme://host[:port]`), else
//!   the host (`Host`, key `host[:port]`).
//! - Host: `host`, else the authority of `matched-at`/`matched`/`url`, else `ip`; lower-cased,
//!   without scheme, path or the scheme's default port. Different ports are different hosts.
//! - Fingerprint (`nuclei/v1`): template id, type, matcher name, host. Not the matched path,
//!   extracted values, IP, timestamp, request or response.

use std::collections::HashMap;

use app::domain::{Layer, Severity};
use serde_json::Value;

use super::support::{self, DESCRIPTION_MAX, LIST_MAX, TITLE_MAX, has_any_key, has_key};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{Asset, AssetKind, NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct Nuclei;

const NAME: &str = "nuclei";
const EXCHANGE_MAX: usize = 2_000;
/// The template id under each name nuclei has given it.
const TEMPLATE_ID: &[&str] = &["template-id", "templateID", "template_id"];

impl ReportFormat for Nuclei {
    fn sniff(&self, body: &[u8]) -> bool {
        let head = support::head(body);
        let trimmed = head.trim_start();
        let probe = if trimmed.starts_with('[') {
            trimmed
        } else {
            trimmed.lines().next().unwrap_or("")
        };
        (probe.starts_with('{') || probe.starts_with('['))
            && has_any_key(probe, &["template-id", "templateID"])
            && has_key(probe, "info")
    }

    fn sniff_top(&self, top: &crate::ingest::document::TopLevel) -> bool {
        // a custom template's `template-encoded` can push `info` past any byte window
        (top.has("template-id") || top.has("templateID")) && top.has("type") && top.has("host")
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let items = super::support::json_items(NAME, body)?;
        let mut groups: Vec<Group> = Vec::new();
        let mut index: HashMap<[u8; 32], usize> = HashMap::new();
        let mut skipped = Vec::new();
        for (_, raw) in items {
            if field(&raw, TEMPLATE_ID).is_empty() {
                // nuclei 2.0 to 2.2 (`template`, info flattened) or something else: read as
                // it is, every result of a host would merge into one untitled finding
                return Err(ParseError::layout(
                    NAME,
                    "nuclei 2.3+ `-jsonl` / `-json-export` results, each with `template-id` \
                     (or `templateID`) and `info`",
                ));
            }
            if raw.get("matcher-status").and_then(Value::as_bool) == Some(false) {
                // `-matcher-status` also writes every template that did not match
                skipped.push(format!(
                    "{} on {}: the template did not match (matcher-status false)",
                    normalize::bounded(field(&raw, TEMPLATE_ID), 200),
                    normalize::bounded(field(&raw, &["host"]), 200)
                ));
                continue;
            }
            let key = Key::of(&raw);
            let fp = key.fingerprint();
            match index.get(&fp) {
                Some(&i) => {
                    if let Some(g) = groups.get_mut(i) {
                        g.items.push(raw);
                    }
                }
                None => {
                    index.insert(fp, groups.len());
                    groups.push(Group {
                        fp,
                        key,
                        items: vec![raw],
                    });
                }
            }
        }
        Ok(ParsedReport {
            scanner: "Nuclei".to_string(),
            scanner_version: None,
            findings: groups.iter().map(Group::finding).collect(),
            skipped,
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// A string field under either of its names (v3 kebab-case, v2 camel/snake case).
fn field<'a>(v: &'a Value, names: &[&str]) -> &'a str {
    names
        .iter()
        .find_map(|n| v.get(*n).and_then(Value::as_str))
        .map(str::trim)
        .unwrap_or("")
}

/// Strings from a string, a list of strings, or a `- a\n- b` text list.
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => s
            .lines()
            .map(|l| l.trim().trim_start_matches("- ").trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// `https://Shop.example.com:443/a?b` → (Some("https"), "shop.example.com").
fn authority(raw: &str) -> (Option<String>, String) {
    let raw = raw.trim().trim_start_matches('/');
    let (scheme, rest) = match raw.split_once("://") {
        Some((s, rest)) => (Some(s.to_ascii_lowercase()), rest),
        None => (None, raw),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = rest[..end].to_ascii_lowercase();
    let host = host.rsplit('@').next().unwrap_or("").to_string();
    let default = match scheme.as_deref() {
        Some("http") => Some(":80"),
        Some("https") => Some(":443"),
        _ => None,
    };
    let host = match default {
        Some(port) => host.strip_suffix(port).map(str::to_string).unwrap_or(host),
        None => host,
    };
    (scheme, host)
}

struct Key {
    template: String,
    kind: String,
    matcher: String,
    host: String,
    scheme: Option<String>,
}

impl Key {
    fn of(v: &Value) -> Key {
        let candidates = [
            field(v, &["host"]),
            field(v, &["matched-at", "matched"]),
            field(v, &["url"]),
        ];
        let (mut scheme, mut host) = (None, String::new());
        for c in candidates.iter().filter(|c| !c.is_empty()) {
            let (s, h) = authority(c);
            if scheme.is_none() {
                scheme = s;
            }
            if host.is_empty() {
                host = h;
            }
            if scheme.is_some() && !host.is_empty() {
                break;
            }
        }
        if host.is_empty() {
            host = field(v, &["ip"]).to_string();
        }
        Key {
            template: field(v, TEMPLATE_ID).to_string(),
            kind: field(v, &["type"]).to_ascii_lowercase(),
            matcher: field(v, &["matcher-name", "matcher_name"]).to_string(),
            host,
            scheme,
        }
    }

    fn fingerprint(&self) -> [u8; 32] {
        Fingerprint::new("nuclei/v1")
            .push(&self.template)
            .push(&self.kind)
            .push(&self.matcher)
            .push(&self.host)
            .finish()
    }
}

struct Group {
    fp: [u8; 32],
    key: Key,
    items: Vec<Value>,
}

fn severity(raw: &str) -> Severity {
    raw.parse::<Severity>().unwrap_or(Severity::Info)
}

/// The raw result without its bulky request and response (kept, but cut).
fn trimmed_evidence(raw: &Value) -> Value {
    let mut v = raw.clone();
    if let Some(obj) = v.as_object_mut() {
        for key in ["request", "response", "curl-command"] {
            if let Some(Value::String(s)) = obj.get_mut(key) {
                *s = normalize::bounded(s, EXCHANGE_MAX);
            }
        }
    }
    normalize::evidence(&v)
}

impl Group {
    fn finding(&self) -> NewFinding {
        let first = self.items.first().cloned().unwrap_or(Value::Null);
        let info = first.get("info").cloned().unwrap_or(Value::Null);
        let k = &self.key;
        let name = normalize::first_line(field(&info, &["name"]), TITLE_MAX);
        let title = match (name.is_empty(), k.matcher.is_empty()) {
            (true, _) if k.template.is_empty() => "Nuclei result".to_string(),
            (true, _) => k.template.clone(),
            (false, true) => name,
            (false, false) => normalize::bounded(&format!("{name}: {}", k.matcher), TITLE_MAX),
        };

        let mut matched: Vec<String> = Vec::new();
        let mut extracted: Vec<String> = Vec::new();
        for item in &self.items {
            let m = field(item, &["matched-at", "matched"]);
            if !m.is_empty() && !matched.iter().any(|x| x == m) {
                matched.push(m.to_string());
            }
            for e in strings(
                item.get("extracted-results")
                    .or_else(|| item.get("extracted_results")),
            ) {
                if !extracted.contains(&e) {
                    extracted.push(e);
                }
            }
        }
        let mut description = field(&info, &["description"]).to_string();
        if !matched.is_empty() {
            let shown: Vec<&str> = matched.iter().take(LIST_MAX).map(String::as_str).collect();
            description.push_str(&format!("\n\nMatched at:\n{}", shown.join("\n")));
            if matched.len() > LIST_MAX {
                description.push_str(&format!("\n… and {} more", matched.len() - LIST_MAX));
            }
        }
        if !extracted.is_empty() {
            description.push_str(&format!("\n\nExtracted: {}", extracted.join(", ")));
        }

        let classification = info.get("classification");
        let aliases = normalize::aliases(
            strings(classification.and_then(|c| c.get("cve-id")))
                .into_iter()
                .chain(strings(classification.and_then(|c| c.get("cwe-id")))),
        );

        let mut f = NewFinding::new(
            self.fp,
            Layer::Dast,
            severity(field(&info, &["severity"])),
            title,
        );
        f.rule_id = k.template.clone();
        f.aliases = aliases;
        f.description = normalize::bounded(description.trim(), DESCRIPTION_MAX);
        f.remediation = normalize::bounded(field(&info, &["remediation"]), DESCRIPTION_MAX);
        f.references = strings(info.get("reference"))
            .into_iter()
            .filter(|r| r.starts_with("http"))
            .collect();
        let first_match = matched.first().cloned().unwrap_or_default();
        f.location = if first_match.is_empty() {
            k.host.clone()
        } else {
            first_match.clone()
        };
        let web = matches!(k.scheme.as_deref(), Some("http" | "https"));
        if first_match.starts_with("http://") || first_match.starts_with("https://") {
            f.url = Some(first_match);
        }
        if !k.host.is_empty() {
            f.asset = Some(match (&k.scheme, web) {
                (Some(scheme), true) => Asset {
                    kind: AssetKind::Url,
                    key: format!("{scheme}://{}", k.host),
                },
                _ => Asset {
                    kind: AssetKind::Host,
                    key: k.host.clone(),
                },
            });
        }
        f.occurrences = u32::try_from(self.items.len()).unwrap_or(u32::MAX);
        f.evidence = Some(trimmed_evidence(&first));
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{
        assert_distinct, assert_kept, edited, fixture, parse_error,
    };

    const REPORT: &[u8] = fixture!("nuclei", "scan.jsonl");

    #[test]
    fn reads_v2_and_v3_lines_and_merges_repeats() {
        let parsed = Nuclei.parse(REPORT).unwrap();
        let occurrences: Vec<u32> = parsed.findings.iter().map(|f| f.occurrences).collect();
        assert_eq!(occurrences, [1, 1, 2, 1, 1, 1]);
        let git = &parsed.findings[0];
        assert_eq!(git.aliases, vec!["CWE-200"]);
        assert!(git.remediation.contains(".git directory"));
        assert_eq!(git.references, vec!["https://example.org/git-exposure"]);
        let csp = &parsed.findings[2];
        assert!(csp.description.contains("https://shop.example.com/login"));
        let cve = &parsed.findings[3];
        assert_eq!(cve.aliases, vec!["CVE-2021-41773", "CWE-22"]);
        assert_eq!(cve.references.len(), 2);
        let ssh = &parsed.findings[4];
        assert!(ssh.description.contains("SSH-2.0-OpenSSH_7.4"));
    }

    #[test]
    fn json_array_gives_the_same_findings() {
        let text = String::from_utf8_lossy(REPORT);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let array = format!("[\n{}\n]", lines.join(",\n"));
        assert!(Nuclei.sniff(array.as_bytes()));
        let parsed = Nuclei.parse(array.as_bytes()).unwrap();
        assert_eq!(parsed.findings, Nuclei.parse(REPORT).unwrap().findings);
    }

    #[test]
    fn fingerprints_ignore_time_ip_and_path() {
        let a = Nuclei.parse(REPORT).unwrap();
        let text = edited(
            REPORT,
            &[
                ("2026-11-20", "2026-11-27"),
                ("203.0.113.10", "198.51.100.7"),
                ("SSH-2.0-OpenSSH_7.4", "SSH-2.0-OpenSSH_9.6"),
            ],
        );
        let mut lines: Vec<&str> = text.lines().collect();
        lines.reverse();
        let b = Nuclei.parse(lines.join("\n").as_bytes()).unwrap();
        assert_kept(&a, &b);
        assert_distinct(&a);
        // the same site on another port is another host
        assert_ne!(
            Key::of(&serde_json::json!({"template-id": "t", "host": "http://h:8080"}))
                .fingerprint(),
            Key::of(&serde_json::json!({"template-id": "t", "host": "http://h:9090"}))
                .fingerprint()
        );
        assert_eq!(
            Key::of(&serde_json::json!({"template-id": "t", "host": "https://H:443"}))
                .fingerprint(),
            Key::of(&serde_json::json!({"template-id": "t", "host": "https://h/"})).fingerprint()
        );
    }

    #[test]
    fn empty_body_has_no_findings() {
        assert!(Nuclei.parse(b"").unwrap().findings.is_empty());
        assert!(Nuclei.parse(b"\n\n").unwrap().findings.is_empty());
        assert!(Nuclei.parse(b"[]").unwrap().findings.is_empty());
    }

    #[test]
    fn malformed_line_is_a_parse_error_with_its_line() {
        let text = String::from_utf8_lossy(REPORT);
        let broken = text.replacen('\n', "\n{\"template-id\": \n", 1);
        let err = parse_error(&Nuclei, broken.as_bytes());
        assert_eq!(err.line, Some(2));
        assert!(Nuclei.parse(b"[1]").is_err());
        assert!(Nuclei.parse(b"\"x\"").is_err());
    }

    #[test]
    fn nuclei_2_2_flat_results_are_refused_not_merged() {
        let old = br#"{"template":"git-config","type":"http","matched":"https://shop.example.com/.git/config","host":"https://shop.example.com","name":"Git Config File","author":"Ice3man","severity":"medium"}
{"template":"exposed-svn","type":"http","matched":"https://shop.example.com/.svn/entries","host":"https://shop.example.com","name":"SVN config file","severity":"medium"}"#;
        assert!(Nuclei.parse(old).unwrap_err().layout);
    }

    #[test]
    fn non_matches_are_skipped_and_trailing_commas_read() {
        let miss = br#"{"template-id":"tech-detect","info":{"name":"Wappalyzer Technology Detection","author":["hakluke"],"tags":["tech"],"severity":"info"},"type":"http","host":"shop.example.com","url":"https://shop.example.com","matched-at":"https://shop.example.com","matcher-status":false},"#;
        let r = Nuclei.parse(miss).unwrap();
        assert_eq!(
            (r.findings.len(), r.skipped.len()),
            (0, 1),
            "{:?}",
            r.skipped
        );
        let hit = String::from_utf8_lossy(miss)
            .replace("\"matcher-status\":false", "\"matcher-status\":true");
        assert_eq!(Nuclei.parse(hit.as_bytes()).unwrap().findings.len(), 1);
    }
}
