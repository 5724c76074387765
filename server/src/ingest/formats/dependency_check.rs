//! OWASP Dependency-Check XML reports (`--format XML`, `<analysis>`).
//!
//! - Variants: every XML schema Dependency-Check has written, 1.3 to 4.1 (Dependency-Check
//!   3.x to 12.x; the path `analysis/dependencies/dependency/vulnerabilities/vulnerability` is
//!   the same in all; 1.x identifies packages by CPE only, so identity falls back to the file
//!   name). `scanInfo/analysisExceptions` (2.5+: an analyser or data source that failed) are
//!   reported as skipped items, one per exception. Refused as a layout Bosun does not read
//!   (422), never stored as clean or short: a document with more `<vulnerability>` elements
//!   anywhere than were read at that path, and Dependency-Check's JSON report
//!   (`--format JSON`, `reportSchema`), which is recognised so the sender is told to send
//!   `--format XML` instead.
//! - One finding per `<vulnerability>` × `<dependency>`. Related dependencies (the same
//!   file found again elsewhere) are not separate findings. `<suppressedVulnerabilities>`
//!   are skipped: the team has already decided about them in their suppression file.
//! - Severity: the CVSS v3 base score ([`Severity::from_cvss`]), else the report's own label
//!   (CRITICAL, HIGH, MEDIUM/MODERATE, LOW, INFO), else the CVSS v2 score, else info.
//! - Layer: dependency.
//! - Fingerprint (`dependency_check/v1`): the vulnerability name, the package identity without
//!   version (its package URL without version and qualifiers, else the file name), and the
//!   dependency's file name (the last segment of `filePath`). The full path is shown but not
//!   used: it is absolute on the scanning machine, so it changes with the CI workspace.
//!   Versions, descriptions and report dates never go in.
//! - XML is read with `quick_xml` (through [`super::xml`]), which never expands
//!   external entities or DTDs.

use app::domain::{Layer, Severity};

use super::support::{self, DESCRIPTION_MAX, LIST_MAX, SHORT_MAX, TITLE_MAX};
use super::xml::{self, Element};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct DependencyCheck;

const NAME: &str = "dependency_check";

impl ReportFormat for DependencyCheck {
    fn sniff(&self, body: &[u8]) -> bool {
        let head = support::head(body);
        head.trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('<')
            && head.contains("<analysis")
            && (head.contains("DependencyCheck") || head.contains("dependency-check"))
    }

    /// Dependency-Check's JSON report, recognised only to be refused with a useful message.
    fn sniff_top(&self, top: &crate::ingest::document::TopLevel) -> bool {
        !top.array && is_json_report(top)
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let json = body
            .strip_prefix(b"\xef\xbb\xbf")
            .unwrap_or(body)
            .trim_ascii_start()
            .starts_with(b"{");
        if json && crate::ingest::document::top_level(body).is_some_and(|top| is_json_report(&top))
        {
            return Err(ParseError::layout(
                NAME,
                "the XML report (`--format XML`); this is Dependency-Check's JSON report \
                 (`reportSchema`), which Bosun does not read",
            ));
        }
        let root = xml::parse_root(NAME, body, "analysis")?;
        let version = root
            .child("scanInfo")
            .map(|s| s.text_of("engineVersion"))
            .filter(|v| !v.is_empty());
        let mut findings = Vec::new();
        for dep in root
            .child("dependencies")
            .into_iter()
            .flat_map(|d| d.children_named("dependency"))
        {
            let dependency = Dependency::of(dep);
            for v in dep
                .child("vulnerabilities")
                .into_iter()
                .flat_map(|v| v.children_named("vulnerability"))
            {
                findings.push(finding(&dependency, v));
            }
        }
        // a `<vulnerability>` anywhere else is one this reader would miss
        let present = count_named(&root, "vulnerability");
        if present > findings.len() {
            return Err(ParseError::layout(
                NAME,
                &format!(
                    "`analysis/dependencies/dependency/vulnerabilities/vulnerability` elements \
                     (the report has {present} `<vulnerability>` elements, {} of them there)",
                    findings.len()
                ),
            ));
        }
        let skipped = root
            .child("scanInfo")
            .and_then(|s| s.child("analysisExceptions"))
            .into_iter()
            .flat_map(|e| e.children_named("exception"))
            .map(|e| {
                let message = e.text_of("message");
                let message = if message.is_empty() {
                    "(no message)".to_string()
                } else {
                    normalize::first_line(&message, 500)
                };
                format!("Dependency-Check analysis exception (an analyser or data source failed, its findings may be missing): {message}")
            })
            .collect();
        Ok(ParsedReport {
            scanner: "Dependency-Check".to_string(),
            scanner_version: version,
            findings,
            skipped,
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

fn is_json_report(top: &crate::ingest::document::TopLevel) -> bool {
    top.has("reportSchema") && (top.has("scanInfo") || top.has("dependencies"))
}

/// How many elements of a local name the tree holds, the root included.
fn count_named(root: &Element, name: &str) -> usize {
    let mut count = 0;
    let mut stack = vec![root];
    while let Some(e) = stack.pop() {
        count += usize::from(e.name == name);
        stack.extend(e.children.iter());
    }
    count
}

struct Dependency {
    file_name: String,
    file_path: String,
    purl: String,
}

impl Dependency {
    fn of(dep: &Element) -> Dependency {
        let purl = dep
            .child("identifiers")
            .into_iter()
            .flat_map(|i| i.children_named("package"))
            .map(|p| p.text_of("id"))
            .find(|id| id.starts_with("pkg:"))
            .unwrap_or_default();
        Dependency {
            file_name: dep.text_of("fileName"),
            file_path: normalize::path(&dep.text_of("filePath")),
            purl,
        }
    }

    /// `pkg:maven/org.apache/log4j-api@2.12.4` → (`org.apache:log4j-api`, `2.12.4`).
    fn package(&self) -> (String, Option<String>) {
        let Some(rest) = self.purl.strip_prefix("pkg:") else {
            return (self.file_name.clone(), None);
        };
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (kind, path) = rest.split_once('/').unwrap_or(("", rest));
        let (path, version) = match path.rsplit_once('@') {
            Some((p, v)) if !p.is_empty() => (p, Some(v.to_string())),
            _ => (path, None),
        };
        let path = path.replace("%40", "@");
        let name = match path.rsplit_once('/') {
            Some((ns, n)) if kind == "maven" => format!("{}:{n}", ns.replace('/', ".")),
            _ => path,
        };
        (name, version.filter(|v| !v.is_empty()))
    }

    fn identity(&self) -> String {
        if self.purl.is_empty() {
            return self.file_name.clone();
        }
        let p = self.purl.split(['?', '#']).next().unwrap_or("");
        match (p.rfind('@'), p.rfind('/')) {
            (Some(at), Some(slash)) if at > slash => p[..at].to_string(),
            _ => p.to_string(),
        }
    }

    fn last_segment(&self) -> &str {
        self.file_path
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.file_name)
    }
}

/// A severity word, or one of those that mean informational.
fn label(text: &str) -> Option<Severity> {
    let info = ["INFO", "INFORMATIONAL", "NONE"];
    support::severity_word(text).or_else(|| {
        let text = text.trim();
        info.iter()
            .any(|w| text.eq_ignore_ascii_case(w))
            .then_some(Severity::Info)
    })
}

fn severity(v: &Element) -> Severity {
    let score = |section: &str, field: &str| {
        v.child(section)
            .map(|c| c.text_of(field))
            .and_then(|s| s.parse::<f64>().ok())
    };
    if let Some(s) = score("cvssV3", "baseScore") {
        return Severity::from_cvss(s);
    }
    if let Some(s) = label(&v.text_of("severity")) {
        return s;
    }
    score("cvssV2", "score").map_or(Severity::Info, Severity::from_cvss)
}

fn is_vuln_id(id: &str) -> bool {
    let upper = id.trim().to_ascii_uppercase();
    upper.starts_with("CVE-") || upper.starts_with("GHSA-")
}

fn is_cwe(id: &str) -> bool {
    id.trim()
        .to_ascii_uppercase()
        .strip_prefix("CWE-")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn finding(d: &Dependency, v: &Element) -> NewFinding {
    let id = v.text_of("name");
    let (package, version) = d.package();
    let mut fp = Fingerprint::new("dependency_check/v1");
    fp.push(&id).push(&d.identity()).push(d.last_segment());

    let title = normalize::bounded(
        format!("{id} in {package} {}", version.as_deref().unwrap_or("")).trim(),
        TITLE_MAX,
    );
    let mut f = NewFinding::new(fp.finish(), Layer::Dependency, severity(v), title);
    f.rule_id = id.clone();
    let cwes: Vec<String> = v
        .child("cwes")
        .into_iter()
        .flat_map(|c| c.children_named("cwe"))
        .map(|c| c.text.trim().to_string())
        .filter(|c| is_cwe(c))
        .collect();
    f.aliases = normalize::aliases(
        std::iter::once(id.clone())
            .filter(|i| is_vuln_id(i))
            .chain(cwes),
    );
    f.description = normalize::bounded(&v.long_text_of("description"), DESCRIPTION_MAX);
    let fixed = v
        .child("vulnerableSoftware")
        .into_iter()
        .flat_map(|s| s.children_named("software"))
        .filter(|s| s.attr("vulnerabilityIdMatched") == Some("true"))
        .find_map(|s| s.attr("versionEndExcluding"))
        .map(|x| normalize::bounded(x.trim(), 100))
        .filter(|x| !x.is_empty());
    if let Some(fx) = &fixed {
        f.remediation = format!("Upgrade {package} to {fx} or later.");
    }
    f.fixed_version = fixed;
    let mut references: Vec<String> = Vec::new();
    for r in v
        .child("references")
        .into_iter()
        .flat_map(|r| r.children_named("reference"))
    {
        let url = r.text_of("url");
        if !url.is_empty() && references.len() < LIST_MAX && !references.contains(&url) {
            references.push(url);
        }
    }
    f.references = references;
    f.package_name = (!package.is_empty()).then(|| normalize::bounded(&package, SHORT_MAX));
    f.package_version = version.map(|x| normalize::bounded(&x, SHORT_MAX));
    let path = if d.file_path.is_empty() {
        &d.file_name
    } else {
        &d.file_path
    };
    f.file_path = (!path.is_empty()).then(|| normalize::bounded(path, SHORT_MAX));
    f.location = f.file_path.clone().unwrap_or_default();
    f.evidence = Some(normalize::evidence(&v.to_json()));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::formats::test_support::{
        assert_distinct, assert_same_identities, find, fixture, parse_error, read,
    };

    #[test]
    fn one_finding_per_vulnerability_and_dependency() {
        let r = read(&DependencyCheck, fixture!("dependency_check", "report.xml"));
        assert_eq!(r.scanner, "Dependency-Check");
        assert_eq!(r.scanner_version.as_deref(), Some("10.0.3"));
        // 4 vulnerabilities; the suppressed one and the clean dependency give nothing
        assert_eq!(r.findings.len(), 4);
        let f = find(&r, "CVE-2021-44228");
        assert_eq!(f.layer, Layer::Dependency);
        assert_eq!(
            f.title,
            "CVE-2021-44228 in org.apache.logging.log4j:log4j-core 2.14.1"
        );
        assert_eq!(
            f.package_name.as_deref(),
            Some("org.apache.logging.log4j:log4j-core")
        );
        assert_eq!(f.package_version.as_deref(), Some("2.14.1"));
        assert_eq!(f.fixed_version.as_deref(), Some("2.15.0"));
        assert_eq!(
            f.remediation,
            "Upgrade org.apache.logging.log4j:log4j-core to 2.15.0 or later."
        );
        assert_eq!(f.aliases, vec!["CVE-2021-44228", "CWE-502", "CWE-20"]);
        assert_eq!(
            f.file_path.as_deref(),
            Some("/builds/acme/billing/lib/log4j-core-2.14.1.jar")
        );
        assert_eq!(f.references.len(), 2);
        assert!(f.description.contains("JNDI"));
        assert!(f.evidence.is_some());
        let npm = find(&r, "GHSA-p6mc-m468-83gw");
        assert_eq!(npm.package_name.as_deref(), Some("lodash"));
        assert!(
            r.findings.iter().all(|f| f.rule_id != "CVE-2022-23307"),
            "suppressed"
        );
    }

    #[test]
    fn severities() {
        let r = read(&DependencyCheck, fixture!("dependency_check", "report.xml"));
        for (rule, severity, why) in [
            ("CVE-2021-44228", Severity::Critical, "cvss3 10.0"),
            ("CVE-2021-45046", Severity::Critical, "cvss3 9.0"),
            ("GHSA-p6mc-m468-83gw", Severity::High, "label only"),
            ("CVE-2019-17571", Severity::Medium, "cvss2 6.8 only"),
        ] {
            assert_eq!(find(&r, rule).severity, severity, "{rule}: {why}");
        }
        let low = xml::parse(b"<vulnerability><severity>LOW</severity></vulnerability>").ok();
        assert_eq!(low.map(|v| severity(&v)), Some(Severity::Low));
        let none = xml::parse(b"<vulnerability/>").ok();
        assert_eq!(none.map(|v| severity(&v)), Some(Severity::Info));
    }

    #[test]
    fn identity_survives_another_workspace_and_order() {
        let a = read(&DependencyCheck, fixture!("dependency_check", "report.xml"));
        let b = read(
            &DependencyCheck,
            fixture!("dependency_check", "report_other_runner.xml"),
        );
        assert_same_identities(&a, &b, |b, f| find(b, &f.rule_id));
        assert_distinct(&a);
    }

    #[test]
    fn external_entities_are_never_expanded() {
        let doc = br#"<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<analysis xmlns="https://jeremylong.github.io/DependencyCheck/dependency-check.2.5.xsd">
<dependencies><dependency><fileName>a&e;.jar</fileName><filePath>/x/a.jar</filePath>
<vulnerabilities><vulnerability source="NVD"><name>CVE-2024-0001</name><severity>HIGH</severity>
<description>before&e;after</description></vulnerability></vulnerabilities></dependency></dependencies></analysis>"#;
        let r = read(&DependencyCheck, doc);
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].description, "beforeafter");
        assert!(!format!("{:?}", r.findings[0]).contains("root:"));
    }

    #[test]
    fn malformed_input_is_a_parse_error() {
        let err = parse_error(&DependencyCheck, b"<analysis>\n<dependencies></analysis>");
        assert!(err.message.contains("malformed"), "{}", err.message);
        assert_eq!(err.line, Some(2));
        let err = DependencyCheck
            .parse(b"<analysis><dependencies>")
            .unwrap_err();
        assert!(err.message.contains("truncated"), "{}", err.message);
        let err = DependencyCheck.parse(b"<bom/>").unwrap_err();
        assert!(err.message.contains("<analysis>"), "{}", err.message);
        assert!(DependencyCheck.parse(b"").is_err());
        assert!(DependencyCheck.parse(b"{}").is_err());
        assert!(!DependencyCheck.parse(b"{}").unwrap_err().layout);
    }

    #[test]
    fn a_vulnerability_outside_the_known_path_is_refused() {
        let moved = br#"<?xml version="1.0"?>
<analysis xmlns="https://jeremylong.github.io/DependencyCheck/dependency-check.4.1.xsd">
  <scanInfo><engineVersion>12.1.0</engineVersion></scanInfo>
  <projectInfo><name>billing</name><reportDate>2025-02-17T10:00:00Z</reportDate></projectInfo>
  <dependencies>
    <dependency isVirtual="false">
      <fileName>log4j-core-2.14.1.jar</fileName><filePath>/builds/acme/lib/log4j-core-2.14.1.jar</filePath>
      <findings><vulnerability source="NVD"><name>CVE-2021-44228</name><severity>CRITICAL</severity></vulnerability></findings>
    </dependency>
  </dependencies>
</analysis>"#;
        let err = DependencyCheck.parse(moved).unwrap_err();
        assert!(err.layout, "{err}");
        assert!(
            err.message.contains("1 `<vulnerability>`"),
            "{}",
            err.message
        );
        let body = String::from_utf8_lossy(moved).replace("findings>", "vulnerabilities>");
        assert_eq!(read(&DependencyCheck, body.as_bytes()).findings.len(), 1);
        // suppressed vulnerabilities (inside `<vulnerabilities>` since schema 4.0) are not counted
        let r = read(&DependencyCheck, fixture!("dependency_check", "report.xml"));
        assert_eq!(r.findings.len(), 4);
        assert!(r.skipped.is_empty());
    }

    #[test]
    fn analysis_exceptions_are_reported_as_skipped() {
        let doc = br#"<?xml version="1.0"?>
<analysis xmlns="https://jeremylong.github.io/DependencyCheck/dependency-check.4.1.xsd">
  <scanInfo><engineVersion>12.1.0</engineVersion>
    <analysisExceptions>
      <exception><message>org.owasp.dependencycheck.analyzer.exception.AnalysisException: Failed to request component-reports</message>
        <stackTrace><trace>org.owasp.dependencycheck.analyzer.OssIndexAnalyzer.analyzeDependency(OssIndexAnalyzer.java:221)</trace></stackTrace>
        <cause><message>java.net.SocketTimeoutException: Read timed out</message></cause>
      </exception>
    </analysisExceptions>
  </scanInfo>
  <projectInfo><name>billing</name></projectInfo>
  <dependencies/>
</analysis>"#;
        let r = read(&DependencyCheck, doc);
        assert!(r.findings.is_empty());
        assert_eq!(r.skipped.len(), 1, "{:?}", r.skipped);
        assert!(
            r.skipped[0].contains("Failed to request component-reports"),
            "{}",
            r.skipped[0]
        );
    }

    #[test]
    fn the_json_report_is_refused_naming_the_xml_one() {
        let json = br#"{"reportSchema": "1.1", "scanInfo": {"engineVersion": "12.1.0", "dataSource": []},
 "projectInfo": {"name": "billing", "reportDate": "2025-02-17T10:00:00Z", "credits": {}},
 "dependencies": [{"isVirtual": false, "fileName": "log4j-core-2.14.1.jar", "filePath": "/builds/acme/lib/log4j-core-2.14.1.jar",
   "vulnerabilities": [{"source": "NVD", "name": "CVE-2021-44228", "severity": "CRITICAL", "cvssv3": {"baseScore": 10.0}}]}]}"#;
        let err = DependencyCheck.parse(json).unwrap_err();
        assert!(err.layout, "{err}");
        assert!(err.message.contains("--format XML"), "{}", err.message);
        assert_eq!(
            crate::ingest::detect(json).map(|f| f.name()),
            Some("dependency_check")
        );
    }
}
