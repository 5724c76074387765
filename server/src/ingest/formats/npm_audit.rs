//! npm audit JSON reports (`npm audit --json`).
//!
//! - Variants: npm 6 (`advisories` keyed by advisory id, `actions`, `muted`, `metadata`) and
//!   npm 7+ (`auditReportVersion: 2`, `vulnerabilities` keyed by package name, each with
//!   `via`, `effects`, `range`, `nodes`, `fixAvailable`).
//! - Severity: the advisory's own npm/GitHub severity: critical → critical, high → high,
//!   moderate → medium, low → low, info → info; anything else → medium. (npm 7+ also gives the
//!   package's worst severity; Bosun uses each advisory's own.)
//! - Layer: dependency.
//! - One finding per advisory on one package, in both variants. npm 6 lists exactly that
//!   (several installed versions of the package are one finding, versions and dependency paths
//!   go in the description). npm 7+ lists one entry per vulnerable package, with the
//!   advisories that hit it directly as objects in `via`: each of those is a finding. An entry
//!   whose `via` only names other packages (vulnerable because a dependency is) repeats its
//!   dependency's advisory and gives no finding of its own; its name shows in that finding's
//!   description as an affected dependent.
//! - Fingerprint (`npm_audit/v1`): package name, then the advisory id: the GHSA id (npm 6
//!   `github_advisory_id`, else a GHSA in the advisory URL), else `npm:<id>` (npm 6 `id`,
//!   npm 7+ `source`). The same for both variants, so a project moving from npm 6 to 7 keeps
//!   its findings. The installed version stays out (an upgrade that does not fix it is the
//!   same problem). The report names no manifest file; the scan's target (PRODUCT.md scope)
//!   tells two lockfiles of one project apart.

use app::domain::{Layer, Severity};
use serde_json::{Map, Value};

use super::support::{
    DESCRIPTION_MAX, FIELD_MAX, LIST_MAX, TITLE_MAX, has_any_key, has_key, has_keys, json_head,
    objects, strings, text,
};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct NpmAudit;

const NAME: &str = "npm_audit";
const SCHEME: &str = "npm_audit/v1";

impl ReportFormat for NpmAudit {
    fn sniff(&self, body: &[u8]) -> bool {
        let Some(head) = json_head(body) else {
            return false;
        };
        let v7 = has_keys(&head, &["auditReportVersion", "vulnerabilities"]);
        // npm 6 puts `actions` first, which can push `advisories` past the sniffed head
        let v6 = (has_key(&head, "advisories") && has_any_key(&head, &["actions", "muted"]))
            || has_keys(&head, &["actions", "resolves", "action"]);
        // yarn 2/3 write npm 6's object, then on a clean run a "No audit suggestions" line
        let yarn = has_any_key(&head, &["auditAdvisory", "auditAction"])
            || head.contains("No audit suggestions");
        (v7 || v6) && !yarn
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let root: Value =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        let Some(obj) = root.as_object() else {
            return Err(invalid("expected a JSON object"));
        };
        let findings = if let Some(vulns) = obj
            .get("vulnerabilities")
            .filter(|_| obj.contains_key("auditReportVersion") || !obj.contains_key("advisories"))
        {
            let Some(vulns) = vulns.as_object() else {
                return Err(invalid("`vulnerabilities` must be an object"));
            };
            v7_findings(vulns)
        } else if let Some(advisories) = obj.get("advisories") {
            let Some(advisories) = advisories.as_object() else {
                return Err(invalid("`advisories` must be an object"));
            };
            advisories
                .values()
                .filter_map(Value::as_object)
                .map(|adv| advisory_finding(SCHEME, adv))
                .collect()
        } else {
            return Err(ParseError::layout(
                NAME,
                "`advisories` (npm 6) or `vulnerabilities` with `auditReportVersion` (npm 7+)",
            ));
        };
        // npm's own tally of vulnerable packages: a report it says has some is never read
        // as clean
        let tallied: i64 = obj
            .get("metadata")
            .and_then(|m| m.get("vulnerabilities"))
            .and_then(Value::as_object)
            .map(|counts| {
                ["info", "low", "moderate", "high", "critical"]
                    .iter()
                    .filter_map(|k| counts.get(*k).and_then(Value::as_i64))
                    .sum()
            })
            .unwrap_or(0);
        if findings.is_empty() && tallied > 0 {
            return Err(ParseError::layout(
                NAME,
                "the advisories its `metadata.vulnerabilities` counts, as `advisories` (npm 6) or \
                 `vulnerabilities[].via` objects (npm 7+)",
            ));
        }
        Ok(ParsedReport {
            scanner: "npm audit".to_string(),
            scanner_version: None,
            findings: dedup(findings),
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

/// One finding per fingerprint: npm 6 can split one GHSA advisory on one package into
/// several npm advisories (by version range); those are merged, keeping every installed
/// version and every description.
pub(super) fn dedup(findings: Vec<NewFinding>) -> Vec<NewFinding> {
    let mut out: Vec<NewFinding> = Vec::new();
    let mut index: std::collections::HashMap<[u8; 32], usize> = std::collections::HashMap::new();
    for f in findings {
        let Some(&i) = index.get(&f.fingerprint) else {
            index.insert(f.fingerprint, out.len());
            out.push(f);
            continue;
        };
        let Some(kept) = out.get_mut(i) else {
            continue;
        };
        if let Some(more) = f.package_version {
            let mut versions: Vec<String> = kept
                .package_version
                .as_deref()
                .unwrap_or("")
                .split(", ")
                .filter(|v| !v.is_empty())
                .map(String::from)
                .collect();
            for v in more.split(", ") {
                push_unique(&mut versions, v.to_string());
            }
            kept.package_version = Some(versions.join(", "));
        }
        if f.description != kept.description {
            kept.description = normalize::bounded(
                &format!("{}\n\n{}", kept.description, f.description),
                DESCRIPTION_MAX,
            );
        }
        for r in f.references {
            push_unique(&mut kept.references, r);
        }
    }
    out
}

/// The advisory's vulnerable range and the installed versions, after a description (npm and
/// yarn write them alike).
pub(super) fn push_versions(description: &mut String, range: Option<String>, versions: &[String]) {
    if let Some(range) = range {
        description.push_str(&format!("\n\nVulnerable versions: {range}"));
    }
    if !versions.is_empty() {
        description.push_str(&format!("\nInstalled: {}", versions.join(", ")));
    }
}

pub(super) fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(normalize::bounded(s.trim(), 100)),
        _ => None,
    }
}

pub(super) fn severity(s: Option<&str>) -> Severity {
    match s.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("critical") => Severity::Critical,
        Some("high") => Severity::High,
        Some("low") => Severity::Low,
        Some("info") | Some("none") => Severity::Info,
        _ => Severity::Medium,
    }
}

/// A GHSA id inside an advisory URL (`https://github.com/advisories/GHSA-…`).
pub(super) fn ghsa_in(url: &str) -> Option<String> {
    let start = url.to_ascii_uppercase().find("GHSA-")?;
    let id: String = url[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    Some(id)
}

/// CWE ids from a list, a string, or a string holding a JSON list (`"[\"CWE-400\"]"`).
pub(super) fn cwes(v: Option<&Value>) -> Vec<String> {
    let raw: Vec<String> = match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        Some(Value::String(s)) => match serde_json::from_str::<Vec<String>>(s) {
            Ok(list) => list,
            Err(_) => s.split([',', ' ']).map(String::from).collect(),
        },
        _ => Vec::new(),
    };
    raw.iter()
        .filter_map(|s| {
            let upper = s.trim().trim_matches(['"', '[', ']']).to_ascii_uppercase();
            let digits: String = upper
                .strip_prefix("CWE-")?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let n: u32 = digits.parse().ok()?;
            Some(format!("CWE-{n}"))
        })
        .collect()
}

/// URLs in npm 6's free-text `references` (markdown list or links).
fn urls_in(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '<' | '>'))
        .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
        .map(|w| normalize::bounded(w.trim_end_matches([',', '.', ';']), FIELD_MAX))
        .take(LIST_MAX)
        .collect()
}

fn fingerprint(scheme: &str, package: &str, vuln_id: &str) -> [u8; 32] {
    Fingerprint::new(scheme)
        .push(package)
        .push(vuln_id)
        .finish()
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !item.is_empty() && !list.contains(&item) {
        list.push(item);
    }
}

/// One npm 6 advisory (also what yarn 1 `auditAdvisory` lines carry) as a finding.
pub(super) fn advisory_finding(scheme: &str, adv: &Map<String, Value>) -> NewFinding {
    let package = text(adv, "module_name").unwrap_or_default();
    let url = text(adv, "url");
    let ghsa = text(adv, "github_advisory_id").or_else(|| url.as_deref().and_then(ghsa_in));
    let npm_id = id_text(adv.get("id")).map(|id| format!("npm:{id}"));
    let cves: Vec<String> = strings(adv.get("cves"))
        .map(|s| normalize::bounded(s.trim(), 64))
        .collect();
    let vuln_id = ghsa
        .clone()
        .or_else(|| npm_id.clone())
        .or_else(|| cves.first().cloned())
        .unwrap_or_default();

    let mut versions: Vec<String> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    for f in objects(adv.get("findings")) {
        if let Some(v) = text(f, "version")
            && versions.len() < LIST_MAX
        {
            push_unique(&mut versions, v);
        }
        for p in strings(f.get("paths")) {
            if paths.len() < LIST_MAX {
                push_unique(&mut paths, normalize::bounded(p, FIELD_MAX));
            }
        }
    }

    let advisory_title = text(adv, "title").unwrap_or_else(|| vuln_id.clone());
    let title = normalize::first_line(&format!("{package}: {advisory_title}"), TITLE_MAX);
    let mut description = text(adv, "overview").unwrap_or_default();
    push_versions(
        &mut description,
        text(adv, "vulnerable_versions"),
        &versions,
    );
    if !paths.is_empty() {
        description.push_str(&format!("\nDependency paths:\n- {}", paths.join("\n- ")));
    }

    let mut f = NewFinding::new(
        fingerprint(scheme, &package, &vuln_id),
        Layer::Dependency,
        severity(adv.get("severity").and_then(Value::as_str)),
        title,
    );
    f.rule_id = vuln_id;
    f.aliases = normalize::aliases(cves.iter().cloned().chain(ghsa).chain(cwes(adv.get("cwe"))));
    f.description = normalize::bounded(description.trim(), DESCRIPTION_MAX);
    f.remediation = text(adv, "recommendation").unwrap_or_default();
    let mut references: Vec<String> = url.iter().cloned().collect();
    for r in adv
        .get("references")
        .and_then(Value::as_str)
        .map(urls_in)
        .unwrap_or_default()
    {
        push_unique(&mut references, r);
    }
    f.references = references;
    f.location = match versions.first() {
        Some(v) => format!("{package}@{v}"),
        None => package.clone(),
    };
    f.package_name = Some(package).filter(|p| !p.is_empty());
    f.package_version = (!versions.is_empty()).then(|| versions.join(", "));
    f.fixed_version = text(adv, "patched_versions");
    f.url = url;
    f.evidence = Some(normalize::evidence(&Value::Object(adv.clone())));
    f
}

fn v7_findings(vulns: &Map<String, Value>) -> Vec<NewFinding> {
    let mut findings = Vec::new();
    for (key, entry) in vulns {
        let Some(entry) = entry.as_object() else {
            continue;
        };
        let package = text(entry, "name").unwrap_or_else(|| normalize::bounded(key, FIELD_MAX));
        for via in objects(entry.get("via")) {
            findings.push(v7_finding(vulns, &package, entry, via));
        }
    }
    findings
}

fn v7_finding(
    vulns: &Map<String, Value>,
    package: &str,
    entry: &Map<String, Value>,
    via: &Map<String, Value>,
) -> NewFinding {
    let url = text(via, "url");
    let ghsa = url.as_deref().and_then(ghsa_in);
    let npm_id = id_text(via.get("source")).map(|id| format!("npm:{id}"));
    let vuln_id = ghsa.clone().or(npm_id).unwrap_or_default();
    let advisory_title = text(via, "title").unwrap_or_else(|| vuln_id.clone());
    let title = normalize::first_line(&format!("{package}: {advisory_title}"), TITLE_MAX);

    let nodes: Vec<String> = strings(entry.get("nodes"))
        .take(LIST_MAX)
        .map(|n| normalize::bounded(n, FIELD_MAX))
        .collect();
    let dependents = dependents(vulns, package);
    let mut description = advisory_title.clone();
    if let Some(range) = text(via, "range").or_else(|| text(entry, "range")) {
        description.push_str(&format!("\n\nVulnerable versions: {range}"));
    }
    if !nodes.is_empty() {
        description.push_str(&format!("\nInstalled at: {}", nodes.join(", ")));
    }
    if !dependents.is_empty() {
        description.push_str(&format!("\nAffected dependents: {}", dependents.join(", ")));
    }
    let cvss = via
        .get("cvss")
        .and_then(|c| c.get("vectorString"))
        .and_then(Value::as_str);
    if let Some(vector) = cvss {
        description.push_str(&format!("\nCVSS: {}", normalize::bounded(vector, 200)));
    }

    let (remediation, fixed_version) = match entry.get("fixAvailable") {
        Some(Value::Object(fix)) => {
            let name = text(fix, "name").unwrap_or_default();
            let version = text(fix, "version").unwrap_or_default();
            let major = fix
                .get("isSemVerMajor")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let mut r = format!("Upgrade {name} to {version}");
            if major {
                r.push_str(" (a semver-major change)");
            }
            r.push('.');
            let fixed = (name == package && !version.is_empty()).then_some(version);
            (r, fixed)
        }
        Some(Value::Bool(true)) => ("Run `npm audit fix`.".to_string(), None),
        Some(Value::Bool(false)) => ("No fix is available yet.".to_string(), None),
        _ => (String::new(), None),
    };

    let mut f = NewFinding::new(
        fingerprint(SCHEME, package, &vuln_id),
        Layer::Dependency,
        severity(
            via.get("severity")
                .or_else(|| entry.get("severity"))
                .and_then(Value::as_str),
        ),
        title,
    );
    f.rule_id = vuln_id;
    f.aliases = normalize::aliases(ghsa.into_iter().chain(cwes(via.get("cwe"))));
    f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    f.remediation = remediation;
    f.references = url.iter().cloned().collect();
    f.location = match nodes.first() {
        Some(n) => format!("{package} ({n})"),
        None => package.to_string(),
    };
    f.package_name = Some(package.to_string()).filter(|p| !p.is_empty());
    f.fixed_version = fixed_version;
    f.url = url;
    let mut evidence = entry.clone();
    evidence.insert(
        "via".to_string(),
        Value::Array(vec![Value::Object(via.clone())]),
    );
    f.evidence = Some(normalize::evidence(&Value::Object(evidence)));
    f
}

/// Packages that are vulnerable through `package` (its `effects`, followed transitively).
fn dependents(vulns: &Map<String, Value>, package: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut queue = vec![package.to_string()];
    while let Some(name) = queue.pop() {
        let effects = vulns
            .get(&name)
            .and_then(|e| e.get("effects"))
            .and_then(Value::as_array);
        for e in effects.into_iter().flatten().filter_map(Value::as_str) {
            if out.len() >= LIST_MAX {
                return out;
            }
            if e != package && !out.iter().any(|o| o == e) {
                out.push(normalize::bounded(e, FIELD_MAX));
                queue.push(e.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{fixture, parse_error};

    const V6: &[u8] = fixture!("npm_audit", "v6.json");
    const V7: &[u8] = fixture!("npm_audit", "v7.json");

    fn by_rule<'a>(r: &'a ParsedReport, id: &str) -> &'a NewFinding {
        r.findings.iter().find(|f| f.rule_id == id).unwrap()
    }

    #[test]
    fn npm6_one_finding_per_advisory() {
        let parsed = NpmAudit.parse(V6).unwrap();
        assert_eq!(parsed.scanner, "npm audit");
        assert_eq!(parsed.findings.len(), 5);
        let lodash = by_rule(&parsed, "GHSA-p6mc-m468-83gw");
        assert_eq!(lodash.title, "lodash: Prototype Pollution in lodash");
        assert_eq!(lodash.layer, Layer::Dependency);
        assert_eq!(lodash.severity, Severity::High);
        assert_eq!(lodash.package_name.as_deref(), Some("lodash"));
        assert_eq!(lodash.package_version.as_deref(), Some("4.17.15, 4.17.19"));
        assert_eq!(lodash.fixed_version.as_deref(), Some(">=4.17.20"));
        assert_eq!(lodash.location, "lodash@4.17.15");
        assert_eq!(
            lodash.aliases,
            vec!["CVE-2020-8203", "GHSA-p6mc-m468-83gw", "CWE-770"]
        );
        assert!(lodash.description.contains("express-handlebars>lodash"));
        assert_eq!(lodash.remediation, "Update to version 4.17.20 or later.");
        assert!(
            lodash
                .references
                .contains(&"https://nvd.nist.gov/vuln/detail/CVE-2020-8203".to_string())
        );
        let growl = by_rule(&parsed, "npm:146");
        assert_eq!(growl.aliases, vec!["CVE-2017-16042", "CWE-94", "CWE-78"]);
        assert_eq!(
            growl.references,
            vec![
                "https://www.npmjs.com/advisories/146",
                "https://github.com/tj/node-growl/issues/60"
            ]
        );
    }

    #[test]
    fn severities_map() {
        let parsed = NpmAudit.parse(V6).unwrap();
        for (id, expected) in [
            ("npm:146", Severity::Critical),
            ("GHSA-p6mc-m468-83gw", Severity::High),
            ("npm:2001", Severity::Medium),
            ("npm:2002", Severity::Low),
            ("npm:2003", Severity::Info),
        ] {
            assert_eq!(by_rule(&parsed, id).severity, expected, "{id}");
        }
    }

    #[test]
    fn npm7_one_finding_per_advisory_on_a_package() {
        let parsed = NpmAudit.parse(V7).unwrap();
        // minimist has two advisories; mkdirp is only vulnerable through minimist
        assert_eq!(parsed.findings.len(), 4);
        let m = by_rule(&parsed, "GHSA-xvch-5gv4-984h");
        assert_eq!(m.title, "minimist: Prototype Pollution in minimist");
        assert_eq!(m.severity, Severity::Critical);
        assert_eq!(m.aliases, vec!["GHSA-xvch-5gv4-984h", "CWE-1321"]);
        assert_eq!(m.location, "minimist (node_modules/minimist)");
        assert_eq!(m.remediation, "Upgrade mkdirp to 0.5.6.");
        assert_eq!(m.fixed_version, None, "the fix is in another package");
        assert!(m.description.contains("Affected dependents: mkdirp"));
        assert_eq!(
            by_rule(&parsed, "GHSA-vh95-rmgr-6w4m").severity,
            Severity::Medium
        );
        let semver = by_rule(&parsed, "GHSA-c2qf-rxjj-qqgw");
        assert_eq!(semver.fixed_version.as_deref(), Some("7.5.4"));
        assert_eq!(semver.severity, Severity::High);
        let ip = by_rule(&parsed, "GHSA-2p57-rm9w-gvfp");
        assert_eq!(ip.severity, Severity::Low);
        assert_eq!(ip.remediation, "No fix is available yet.");
    }

    #[test]
    fn fingerprints_are_stable_across_versions_and_variants() {
        let a = NpmAudit.parse(V7).unwrap();
        let mut doc: Value = serde_json::from_slice(V7).unwrap();
        doc["vulnerabilities"]["semver"]["nodes"] = serde_json::json!(["node_modules/x/semver"]);
        doc["vulnerabilities"]["semver"]["fixAvailable"] = Value::Bool(true);
        let b = NpmAudit.parse(&serde_json::to_vec(&doc).unwrap()).unwrap();
        assert_eq!(
            by_rule(&a, "GHSA-c2qf-rxjj-qqgw").fingerprint,
            by_rule(&b, "GHSA-c2qf-rxjj-qqgw").fingerprint
        );
        let unique: std::collections::HashSet<_> =
            a.findings.iter().map(|f| f.fingerprint).collect();
        assert_eq!(unique.len(), 4);
        // the same advisory on the same package from npm 6 and npm 7 is the same finding
        let v6 = br#"{"actions":[],"advisories":{"1":{"id":1101088,"module_name":"semver",
            "github_advisory_id":"GHSA-c2qf-rxjj-qqgw","severity":"high","title":"t",
            "findings":[{"version":"7.3.0","paths":["semver"]}]}},"muted":[],"metadata":{}}"#;
        let old = NpmAudit.parse(v6).unwrap();
        assert_eq!(
            old.findings[0].fingerprint,
            by_rule(&a, "GHSA-c2qf-rxjj-qqgw").fingerprint
        );
    }

    #[test]
    fn one_ghsa_split_into_two_npm_advisories_is_one_finding() {
        let body = br#"{"actions":[],"muted":[],"metadata":{},"advisories":{
            "1":{"id":1,"module_name":"minimist","github_advisory_id":"GHSA-vh95-rmgr-6w4m",
                 "severity":"moderate","vulnerable_versions":">=1.0.0 <1.2.3",
                 "findings":[{"version":"1.2.0","paths":["rc>minimist"]}]},
            "2":{"id":2,"module_name":"minimist","github_advisory_id":"GHSA-vh95-rmgr-6w4m",
                 "severity":"moderate","vulnerable_versions":"<0.2.1",
                 "findings":[{"version":"0.0.8","paths":["mkdirp>minimist"]}]}}}"#;
        let parsed = NpmAudit.parse(body).unwrap();
        assert_eq!(parsed.findings.len(), 1);
        let f = &parsed.findings[0];
        assert_eq!(f.package_version.as_deref(), Some("1.2.0, 0.0.8"));
        assert!(f.description.contains("mkdirp>minimist"));
        assert!(f.description.contains("rc>minimist"));
    }

    #[test]
    fn sniffs_npm6_when_actions_push_advisories_out_of_the_head() {
        let resolves =
            r#"{"id":1,"path":"a>b","dev":true,"optional":false,"bundled":false},"#.repeat(200);
        let body = format!(
            r#"{{"actions":[{{"isMajor":true,"action":"install","resolves":[{}{{"id":2}}]}}],"advisories":{{}}}}"#,
            resolves
        );
        assert!(body.len() > 8192);
        assert!(NpmAudit.sniff(body.as_bytes()));
    }

    #[test]
    fn a_clean_yarn_2_report_is_yarns() {
        let body = br#"{"actions":[],"advisories":{},"muted":[],"metadata":{"vulnerabilities":{"info":0,"low":0,"moderate":0,"high":0,"critical":0},"dependencies":12,"devDependencies":0,"optionalDependencies":0,"totalDependencies":12}}
{"type":"info","name":"YN0001","displayName":"YN0001","indent":"","data":"No audit suggestions"}"#;
        assert!(!NpmAudit.sniff(body));
        let detected = crate::ingest::detect(body).map(|f| f.name());
        assert_eq!(detected, Some("yarn_audit"));
        assert_eq!(
            crate::ingest::detect(body)
                .unwrap()
                .parse(body)
                .unwrap()
                .findings
                .len(),
            0
        );
    }

    #[test]
    fn malformed_reports_are_errors() {
        let err = parse_error(&NpmAudit, b"{\"advisories\": {");
        assert!(err.message.contains("truncated"), "{}", err.message);
        assert!(NpmAudit.parse(b"[]").is_err());
        assert!(NpmAudit.parse(b"{\"advisories\": []}").is_err());
        assert!(NpmAudit.parse(b"{\"other\": 1}").is_err());
        let odd = NpmAudit
            .parse(br#"{"auditReportVersion":2,"vulnerabilities":{"a":3,"b":{"via":[1,{"cwe":7,"source":[]}],"fixAvailable":{"name":5}}}}"#)
            .unwrap();
        assert_eq!(odd.findings.len(), 1);
        assert!(
            NpmAudit
                .parse(br#"{"auditReportVersion":2,"vulnerabilities":{}}"#)
                .unwrap()
                .findings
                .is_empty()
        );
    }

    #[test]
    fn a_tally_of_vulnerabilities_with_none_readable_is_refused() {
        let odd = br#"{"auditReportVersion":2,"vulnerabilities":{"lodash":{"name":"lodash","severity":"high","via":["x"]}},"metadata":{"vulnerabilities":{"info":0,"low":0,"moderate":0,"high":1,"critical":0,"total":1}}}"#;
        let err = NpmAudit.parse(odd).unwrap_err();
        assert!(err.layout, "{err}");
        let neither = br#"{"auditReportVersion":3,"findings":[]}"#;
        assert!(NpmAudit.parse(neither).unwrap_err().layout);
        let clean = br#"{"auditReportVersion":2,"vulnerabilities":{},"metadata":{"vulnerabilities":{"info":0,"low":0,"moderate":0,"high":0,"critical":0,"total":0}}}"#;
        assert_eq!(NpmAudit.parse(clean).unwrap().findings.len(), 0);
    }
}
