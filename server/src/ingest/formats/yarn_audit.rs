//! yarn audit JSON Lines reports.
//!
//! - Variants: yarn 1 (`yarn audit --json`, 1.12+): lines `{"type": "auditAdvisory", "data":
//!   {"resolution": …, "advisory": <an npm 6 advisory>}}` among `info`, `warning`,
//!   `auditAction` and `auditSummary` lines, which are not findings. yarn 4.0.1 and later
//!   (`yarn npm audit --json`): lines `{"value": <package>, "children": {"ID", "Issue", "URL",
//!   "Severity", "Vulnerable Versions", "Tree Versions", "Dependents"}}`; its deprecation
//!   notices (`ID` like `pkg (deprecation)`) are findings too, as yarn reports them. yarn 2
//!   and 3 (`yarn npm audit --json`): one line holding npm's audit response (npm 6 shape,
//!   `advisories` keyed by id), read as yarn 1 reads the same advisories. yarn 4.0.0: one line
//!   holding the registry's bulk response (`{"<package>": [{"id", "url", "title", "severity",
//!   "vulnerable_versions"}]}`, deprecations merged in), read as the 4.0.1+ line for each
//!   advisory would be; 4.0.0 prints it before applying `--severity`/`--ignore`, so all of it
//!   is read. A berry `info` line `No audit suggestions` alone is a clean scan.
//! - Refused as a layout Bosun does not read (422), never stored as clean: a yarn 1 report whose
//!   `auditSummary` counts vulnerabilities but that has no `auditAdvisory` line (`--summary`,
//!   or a `--level` filter above every advisory: the two look the same); a line of any other
//!   kind; a report with no audit result at all (no summary, advisory, finding line or
//!   `No audit suggestions`). A `"type": "error"` line (say the registry refusing the audit)
//!   is an error carrying yarn's text. Counted vulnerable paths of a severity that has fewer
//!   `auditAdvisory` lines than `auditSummary` counts, and advisory lines without an advisory,
//!   are reported as skipped.
//! - Severity: the advisory's: critical → critical, high → high, moderate → medium,
//!   low → low, info → info; anything else → medium.
//! - Layer: dependency.
//! - One finding per advisory on one package. yarn 1 repeats an advisory once per dependency
//!   path that pulls it in (`resolution.path`); those lines are merged, and the paths listed in
//!   the description.
//! - Fingerprint (`yarn_audit/v1`): package name, then the advisory id: the GHSA id
//!   (`github_advisory_id`, else a GHSA in the advisory URL), else `npm:<id>` for a numeric
//!   id, else the berry `ID` text (deprecations). Installed versions, paths and texts stay out.

use app::domain::{Layer, Severity};
use serde_json::{Map, Value};

use super::npm_audit::{advisory_finding, dedup, ghsa_in, id_text, push_versions, severity};
use super::support::{
    self, DESCRIPTION_MAX, FIELD_MAX, LIST_MAX, TITLE_MAX, has_any_key, has_key, has_keys, text,
};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct YarnAudit;

const NAME: &str = "yarn_audit";
const SCHEME: &str = "yarn_audit/v1";

impl ReportFormat for YarnAudit {
    fn sniff(&self, body: &[u8]) -> bool {
        let head = support::head(body);
        let first = head.trim_start().lines().next().unwrap_or("");
        if !first.starts_with('{') {
            return false;
        }
        let v1 = has_key(first, "type") && has_any_key(&head, &["auditAdvisory", "auditSummary"]);
        let berry = has_keys(first, &["value", "children"])
            && has_any_key(first, &["Vulnerable Versions", "Tree Versions"]);
        // berry with nothing to report: its info line (after `{}` on yarn 4.0.0)
        let clean = head
            .lines()
            .take(2)
            .any(|l| has_keys(l, &["type", "info"]) && l.contains(NO_SUGGESTIONS));
        v1 || berry || clean
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let text_body = String::from_utf8_lossy(body);
        let mut findings = Vec::new();
        let mut skipped = Vec::new();
        let mut paths: Vec<([u8; 32], String)> = Vec::new();
        // yarn 1: `auditSummary` counts and `auditAdvisory` lines, by severity
        let mut summary: Option<[i64; 5]> = None;
        let mut listed = [0i64; 5];
        // the report shows an audit that ran to its end (a summary, yarn's "no audit
        // suggestions", an npm audit response): only then may it be clean
        let mut concluded = false;
        for (i, line) in text_body.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let item: Value = serde_json::from_str(line).map_err(|e| {
                let mut err = ParseError::from_json(NAME, &e);
                err.line = Some(i + 1);
                err
            })?;
            let Some(obj) = item.as_object() else {
                return Err(invalid("each line must be a JSON object", i));
            };
            match obj.get("type") {
                Some(Value::String(kind)) => match kind.as_str() {
                    "auditAdvisory" => {
                        let data = obj.get("data").and_then(Value::as_object);
                        let Some(advisory) = data
                            .and_then(|d| d.get("advisory"))
                            .and_then(Value::as_object)
                        else {
                            skipped.push(format!(
                                "line {}: an auditAdvisory line without an advisory object",
                                i + 1
                            ));
                            continue;
                        };
                        if let Some(at) = severity_index(advisory.get("severity")) {
                            listed[at] += 1;
                        }
                        let f = advisory_finding(SCHEME, advisory);
                        if let Some(p) = data
                            .and_then(|d| d.get("resolution"))
                            .and_then(Value::as_object)
                            .and_then(|r| text(r, "path"))
                        {
                            paths.push((f.fingerprint, p));
                        }
                        findings.push(f);
                    }
                    "auditSummary" => {
                        let counts = summary.get_or_insert([0; 5]);
                        let tally = obj
                            .get("data")
                            .and_then(|d| d.get("vulnerabilities"))
                            .and_then(Value::as_object);
                        for (at, sev) in SEVERITIES.iter().enumerate() {
                            counts[at] += tally
                                .and_then(|t| t.get(*sev))
                                .and_then(Value::as_i64)
                                .unwrap_or(0)
                                .max(0);
                        }
                        concluded = true;
                    }
                    "error" => {
                        let said = match obj.get("data") {
                            Some(Value::String(s)) => s.trim().to_string(),
                            Some(other) => other.to_string(),
                            None => String::new(),
                        };
                        return Err(ParseError {
                            format: NAME,
                            message: format!(
                                "yarn reported an error instead of an audit: {}",
                                normalize::bounded(&said, 1_000)
                            ),
                            line: Some(i + 1),
                            column: None,
                            layout: false,
                        });
                    }
                    "info" => {
                        if obj.get("data").and_then(Value::as_str).map(str::trim)
                            == Some(NO_SUGGESTIONS)
                        {
                            concluded = true;
                        }
                    }
                    other if CHATTER.contains(&other) => {}
                    _ => return Err(layout_error(Some(i))),
                },
                Some(_) => return Err(layout_error(Some(i))),
                None => {
                    if let Some(children) = obj.get("children").and_then(Value::as_object) {
                        let package = text(obj, "value").unwrap_or_default();
                        findings.push(berry_finding(&package, children, &item));
                    } else if obj.contains_key("advisories") {
                        // yarn 2 and 3 `yarn npm audit --json`: npm's audit response
                        read_npm6(obj, &mut findings, &mut skipped)?;
                        concluded = true;
                    } else if obj.is_empty() {
                        // yarn 4.0.0 with nothing to report: `{}`, then its info line
                    } else if let Some(entries) = bulk_map(obj) {
                        // yarn 4.0.0: the registry's bulk response, keyed by package
                        for (package, entry) in entries {
                            findings.push(bulk_finding(package, entry));
                        }
                    } else {
                        return Err(layout_error(Some(i)));
                    }
                }
            }
        }
        if let Some(counts) = summary {
            let total: i64 = counts.iter().sum();
            if total > 0 && listed.iter().sum::<i64>() == 0 && findings.is_empty() {
                return Err(ParseError::layout(
                    NAME,
                    "the `auditAdvisory` lines its `auditSummary` counts (the summary counts \
                     vulnerabilities, the report lists none: `yarn audit --json --summary` \
                     prints only the summary, and a `--level` filter above every advisory \
                     looks the same; send `yarn audit --json` without them)",
                ));
            }
            for (at, sev) in SEVERITIES.iter().enumerate() {
                if counts[at] > listed[at] {
                    skipped.push(format!(
                        "auditSummary counts {} {sev} vulnerable paths, {} of them listed as \
                         auditAdvisory lines (the rest hidden by `--level`, or not listed by yarn)",
                        counts[at], listed[at]
                    ));
                }
            }
        }
        if findings.is_empty() && skipped.is_empty() && !concluded {
            return Err(ParseError::layout(
                NAME,
                "an audit result: yarn 1 `auditAdvisory`/`auditSummary` lines, yarn 4 \
                 `{value, children}` lines or its `No audit suggestions` line (this report \
                 holds none: did the audit fail?)",
            ));
        }
        let mut findings = dedup(findings);
        for f in &mut findings {
            let mine: Vec<&str> = paths
                .iter()
                .filter(|(fp, _)| *fp == f.fingerprint)
                .map(|(_, p)| p.as_str())
                .take(LIST_MAX)
                .collect();
            if mine.len() > 1 {
                f.description = normalize::bounded(
                    &format!(
                        "{}\n\nResolved through:\n- {}",
                        f.description,
                        mine.join("\n- ")
                    ),
                    DESCRIPTION_MAX,
                );
            }
        }
        Ok(ParsedReport {
            scanner: "yarn audit".to_string(),
            scanner_version: None,
            findings,
            skipped,
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// yarn's own severity words, in the order of its `auditSummary` counts.
const SEVERITIES: [&str; 5] = ["info", "low", "moderate", "high", "critical"];

/// What yarn berry prints, as an `info` line, when nothing passes its filters.
const NO_SUGGESTIONS: &str = "No audit suggestions";

/// Line kinds yarn's JSON reporter prints around an audit that are not part of its result.
const CHATTER: &[&str] = &[
    "info",
    "warning",
    "step",
    "verbose",
    "log",
    "command",
    "success",
    "finished",
    "inspect",
    "list",
    "tree",
    "table",
    "auditAction",
    "activityStart",
    "activityTick",
    "activityEnd",
    "activitySetStart",
    "activitySetTick",
    "activitySetEnd",
    "progressStart",
    "progressTick",
    "progressFinish",
];

fn severity_index(v: Option<&Value>) -> Option<usize> {
    let s = v?.as_str()?.trim().to_ascii_lowercase();
    SEVERITIES.iter().position(|k| *k == s)
}

fn invalid(message: &str, line: usize) -> ParseError {
    ParseError {
        format: NAME,
        message: message.to_string(),
        line: Some(line + 1),
        column: None,
        layout: false,
    }
}

fn layout_error(line: Option<usize>) -> ParseError {
    let mut err = ParseError::layout(
        NAME,
        "the JSON lines of `yarn audit --json` (yarn 1: `auditAdvisory`, `auditSummary`, \
         `info` lines) or of `yarn npm audit --json` (yarn 4.0.1 and later: `{value, children}` \
         lines; yarn 2 and 3: npm's audit response; yarn 4.0.0: the bulk advisory map)",
    );
    // the line, 1-based, of the line index given
    err.line = line.map(|i| i + 1);
    err
}

/// yarn 2 and 3 print npm's audit response (npm 6 shape) as one line: its advisories are
/// read as yarn 1 reads the same advisories.
fn read_npm6(
    obj: &Map<String, Value>,
    findings: &mut Vec<NewFinding>,
    skipped: &mut Vec<String>,
) -> Result<(), ParseError> {
    let Some(advisories) = obj.get("advisories").and_then(Value::as_object) else {
        return Err(layout_error(None));
    };
    for (key, adv) in advisories {
        match adv.as_object() {
            Some(adv) => findings.push(advisory_finding(SCHEME, adv)),
            None => skipped.push(format!(
                "advisory {}: not an advisory object",
                normalize::bounded(key, 100)
            )),
        }
    }
    let tallied: i64 = obj
        .get("metadata")
        .and_then(|m| m.get("vulnerabilities"))
        .and_then(Value::as_object)
        .map(|counts| {
            SEVERITIES
                .iter()
                .filter_map(|k| counts.get(*k).and_then(Value::as_i64))
                .filter(|n| *n > 0)
                .sum()
        })
        .unwrap_or(0);
    if advisories.is_empty() && tallied > 0 {
        // yarn 3 deletes the advisories `npmAuditIgnoreAdvisories` ignores but lowers the
        // count by one each, though it counts paths
        skipped.push(format!(
            "npm's metadata counts {tallied} vulnerable paths but no advisory is listed \
             (ignored with `npmAuditIgnoreAdvisories`?)"
        ));
    }
    Ok(())
}

/// yarn 4.0.0's line: the registry's bulk response, `{"<package>": [{"id", "url", "title",
/// "severity", "vulnerable_versions", …}]}`; `None` unless every value is such a list and
/// there is at least one advisory.
fn bulk_map(obj: &Map<String, Value>) -> Option<Vec<(&str, &Map<String, Value>)>> {
    let mut out = Vec::new();
    for (package, list) in obj {
        for entry in list.as_array()? {
            let entry = entry.as_object()?;
            if !entry.contains_key("vulnerable_versions") {
                return None;
            }
            out.push((package.as_str(), entry));
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A yarn 4.0.0 bulk advisory, read as the yarn 4.0.1+ line for it would be.
fn bulk_finding(package: &str, entry: &Map<String, Value>) -> NewFinding {
    let mut children = Map::new();
    for (from, to) in [
        ("id", "ID"),
        ("title", "Issue"),
        ("url", "URL"),
        ("severity", "Severity"),
        ("vulnerable_versions", "Vulnerable Versions"),
    ] {
        if let Some(v) = entry.get(from) {
            children.insert(to.to_string(), v.clone());
        }
    }
    berry_finding(package, &children, &Value::Object(entry.clone()))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    super::support::strings(v)
        .take(LIST_MAX)
        .map(|s| normalize::bounded(s, FIELD_MAX))
        .collect()
}

fn berry_finding(package: &str, c: &Map<String, Value>, raw: &Value) -> NewFinding {
    let url = text(c, "URL");
    let ghsa = url.as_deref().and_then(ghsa_in);
    let id = match c.get("ID") {
        Some(Value::Number(n)) => Some(format!("npm:{n}")),
        other => id_text(other),
    };
    let vuln_id = ghsa.clone().or(id).unwrap_or_default();
    let issue = text(c, "Issue").unwrap_or_else(|| vuln_id.clone());
    let title = normalize::first_line(&format!("{package}: {issue}"), TITLE_MAX);
    let versions = strings(c.get("Tree Versions"));
    let dependents = strings(c.get("Dependents"));
    let mut description = issue.clone();
    push_versions(&mut description, text(c, "Vulnerable Versions"), &versions);
    if !dependents.is_empty() {
        description.push_str(&format!("\nDependents:\n- {}", dependents.join("\n- ")));
    }
    let fingerprint = Fingerprint::new(SCHEME)
        .push(package)
        .push(&vuln_id)
        .finish();
    let severity: Severity = severity(c.get("Severity").and_then(Value::as_str));
    let mut f = NewFinding::new(fingerprint, Layer::Dependency, severity, title);
    f.rule_id = vuln_id;
    f.aliases = normalize::aliases(ghsa);
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    f.references = url.iter().cloned().collect();
    f.location = match versions.first() {
        Some(v) => format!("{package}@{v}"),
        None => package.to_string(),
    };
    f.package_name = Some(package.to_string()).filter(|p| !p.is_empty());
    f.package_version = (!versions.is_empty()).then(|| versions.join(", "));
    f.url = url;
    f.evidence = Some(normalize::evidence(raw));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{
        assert_distinct, first, fixture, parse_error, sorted_fingerprints,
    };

    const V1: &[u8] = fixture!("yarn_audit", "v1.jsonl");
    const BERRY: &[u8] = fixture!("yarn_audit", "berry.jsonl");

    #[test]
    fn yarn1_merges_repeated_advisories() {
        let m = first(&YarnAudit, V1);
        assert_eq!(
            m.aliases,
            vec!["CVE-2021-44906", "GHSA-xvch-5gv4-984h", "CWE-1321"]
        );
        assert!(m.description.contains("mocha>mkdirp>minimist"));
    }

    #[test]
    fn berry_lines_and_deprecations() {
        let axios = first(&YarnAudit, BERRY);
        assert_eq!(axios.aliases, vec!["GHSA-wf5p-g6vw-rhxx"]);
        assert!(axios.description.contains("web@workspace:packages/web"));
    }

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        let a = YarnAudit.parse(V1).unwrap();
        let text = String::from_utf8_lossy(V1);
        let mut lines: Vec<&str> = text.lines().collect();
        lines.reverse();
        let b = YarnAudit
            .parse(lines.join("\n").replace("1.2.5", "1.2.6").as_bytes())
            .unwrap();
        assert_eq!(sorted_fingerprints(&a), sorted_fingerprints(&b));
        assert_distinct(&a);
        assert_eq!(a.findings.len(), 5);
    }

    #[test]
    fn malformed_lines_are_errors() {
        let body = format!("{}\n{{\"type\": ", text_of(V1).trim_end());
        let err = parse_error(&YarnAudit, body.as_bytes());
        assert_eq!(err.line, Some(9));
        assert!(YarnAudit.parse(b"[1]").is_err());
        let odd = YarnAudit
            .parse(b"{\"type\":\"auditAdvisory\",\"data\":{\"advisory\":7}}\n{\"children\":{\"ID\":[1]}}")
            .unwrap();
        assert_eq!(odd.findings.len(), 1);
        assert_eq!(odd.skipped.len(), 1, "{:?}", odd.skipped);
    }

    fn text_of(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[test]
    fn sniffs_yarn_only() {
        assert!(YarnAudit.sniff(V1));
        assert!(YarnAudit.sniff(BERRY));
        assert!(YarnAudit.sniff(
            b"{\"type\":\"info\",\"data\":\"No lockfile found.\"}\n{\"type\":\"auditSummary\",\"data\":{}}\n"
        ));
        assert!(!YarnAudit.sniff(br#"{"version":"2.1.0","runs":[]}"#));
        assert!(!YarnAudit.sniff(br#"{"actions":[],"advisories":{},"muted":[]}"#));
        assert!(!YarnAudit.sniff(br#"{"type":"info","data":"hello"}"#));
        assert!(YarnAudit.sniff(BERRY_CLEAN.as_bytes()));
        assert!(YarnAudit.sniff(format!("{{}}\n{BERRY_CLEAN}").as_bytes()));
    }

    const BERRY_CLEAN: &str = r#"{"type":"info","name":1,"displayName":"YN0001","indent":"","data":"No audit suggestions"}"#;

    #[test]
    fn yarn1_summary_without_advisories_is_refused() {
        let summary_only = br#"{"type":"info","data":"Run `yarn audit --help` for more info."}
{"type":"auditSummary","data":{"vulnerabilities":{"info":0,"low":1,"moderate":0,"high":2,"critical":0},"dependencies":47,"devDependencies":0,"optionalDependencies":0,"totalDependencies":47}}
"#;
        let err = YarnAudit.parse(summary_only).unwrap_err();
        assert!(err.layout, "{err}");
        assert!(err.message.contains("--summary"), "{}", err.message);
        assert!(err.message.contains("--level"), "{}", err.message);
        let clean = br#"{"type":"auditSummary","data":{"vulnerabilities":{"info":0,"low":0,"moderate":0,"high":0,"critical":0},"dependencies":47,"devDependencies":0,"optionalDependencies":0,"totalDependencies":47}}"#;
        let parsed = YarnAudit.parse(clean).unwrap();
        assert!(parsed.findings.is_empty() && parsed.skipped.is_empty());
    }

    #[test]
    fn advisories_hidden_by_a_level_filter_are_reported_as_skipped() {
        let body = text_of(V1).replace("\"low\":1,\"moderate\":1", "\"low\":4,\"moderate\":1");
        let parsed = YarnAudit.parse(body.as_bytes()).unwrap();
        assert_eq!(parsed.findings.len(), 5);
        assert_eq!(parsed.skipped.len(), 1, "{:?}", parsed.skipped);
        assert!(parsed.skipped[0].contains("4 low"), "{}", parsed.skipped[0]);
        assert!(YarnAudit.parse(V1).unwrap().skipped.is_empty());
    }

    #[test]
    fn an_error_line_is_an_error_with_yarns_text() {
        let failed = br#"{"type":"error","data":"Error: https://registry.yarnpkg.com/-/npm/v1/security/audits: Request \"https://registry.yarnpkg.com/-/npm/v1/security/audits\" returned a 410"}"#;
        let err = YarnAudit.parse(failed).unwrap_err();
        assert!(!err.layout);
        assert!(err.message.contains("returned a 410"), "{}", err.message);
        assert_eq!(err.line, Some(1));
    }

    #[test]
    fn unknown_lines_and_reports_without_a_result_are_refused() {
        for odd in [
            format!(
                "{}\n{{\"type\":\"auditFinding\",\"data\":{{}}}}",
                text_of(V1).trim_end()
            ),
            format!(
                "{}\n{{\"package\":\"axios\",\"advisory\":{{}}}}",
                text_of(BERRY).trim_end()
            ),
            "{\"type\":7}".to_string(),
            "{\"type\":\"info\",\"data\":\"Checking audit for vulnerabilities\"}".to_string(),
            "{}".to_string(),
            String::new(),
        ] {
            let err = YarnAudit.parse(odd.as_bytes()).unwrap_err();
            assert!(err.layout, "{odd}: {err}");
        }
        let unknown = format!("{}\n{{\"type\":\"auditFinding\"}}", text_of(V1).trim_end());
        assert_eq!(
            YarnAudit.parse(unknown.as_bytes()).unwrap_err().line,
            Some(9)
        );
    }

    #[test]
    fn berry_no_audit_suggestions_is_a_clean_scan() {
        for clean in [BERRY_CLEAN.to_string(), format!("{{}}\n{BERRY_CLEAN}")] {
            let parsed = YarnAudit.parse(clean.as_bytes()).unwrap();
            assert!(parsed.findings.is_empty() && parsed.skipped.is_empty());
            assert_eq!(
                crate::ingest::detect(clean.as_bytes()).map(|f| f.name()),
                Some(NAME)
            );
        }
    }

    #[test]
    fn yarn2_and_3_npm_response_is_read_as_yarn1_reads_it() {
        let v1 = YarnAudit.parse(V1).unwrap();
        let line = text_of(V1)
            .lines()
            .find(|l| l.contains("\"high\""))
            .map(str::to_string)
            .unwrap();
        let item: Value = serde_json::from_str(&line).unwrap();
        let advisory = item["data"]["advisory"].clone();
        let response = serde_json::json!({
            "actions": [],
            "advisories": {advisory["id"].to_string(): advisory},
            "muted": [],
            "metadata": {"vulnerabilities": {"info": 0, "low": 0, "moderate": 0, "high": 1, "critical": 0},
                         "dependencies": 12, "devDependencies": 3, "optionalDependencies": 0, "totalDependencies": 15}
        });
        let parsed = YarnAudit.parse(response.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.findings.len(), 1);
        let f = &parsed.findings[0];
        assert_eq!(f.severity, Severity::High);
        assert!(v1.findings.iter().any(|g| g.fingerprint == f.fingerprint));

        let clean = format!(
            "{}\n{BERRY_CLEAN}",
            r#"{"actions":[],"advisories":{},"muted":[],"metadata":{"vulnerabilities":{"info":0,"low":0,"moderate":0,"high":0,"critical":0},"dependencies":12,"devDependencies":3,"optionalDependencies":0,"totalDependencies":15}}"#
        );
        let parsed = YarnAudit.parse(clean.as_bytes()).unwrap();
        assert!(parsed.findings.is_empty() && parsed.skipped.is_empty());
        let odd = br#"{"actions":[],"advisories":[1],"muted":[],"metadata":{}}"#;
        assert!(YarnAudit.parse(odd).unwrap_err().layout);
    }

    #[test]
    fn yarn_4_0_0_bulk_map_is_read_as_later_berry_lines() {
        let bulk = br#"{"postcss":[{"id":1094304,"url":"https://github.com/advisories/GHSA-7fh5-64p2-3v2j","title":"PostCSS line return parsing error","severity":"moderate","vulnerable_versions":"<8.4.31","cwe":["CWE-74","CWE-144"],"cvss":{"score":5.3,"vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N"}}],"request":[{"id":"request (deprecation)","title":"request has been deprecated, see https://github.com/request/request/issues/3142","severity":"moderate","vulnerable_versions":"2.88.2"}]}"#;
        let parsed = YarnAudit.parse(bulk).unwrap();
        assert_eq!(parsed.findings.len(), 2);
        let postcss = &parsed.findings[0];
        assert_eq!(postcss.rule_id, "GHSA-7fh5-64p2-3v2j");
        assert_eq!(postcss.package_name.as_deref(), Some("postcss"));
        assert_eq!(postcss.severity, Severity::Medium);
        let later = YarnAudit.parse(BERRY).unwrap();
        assert_eq!(parsed.findings[1].rule_id, "request (deprecation)");
        assert_eq!(
            parsed.findings[1].fingerprint,
            later.findings[1].fingerprint
        );
    }
}
