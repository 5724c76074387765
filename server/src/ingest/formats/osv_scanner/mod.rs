//! OSV-Scanner JSON (`osv-scanner --format json`): `results[]` per scanned source
//! (lockfile, SBOM, git directory), each with `packages[]` and their OSV `vulnerabilities`.
//!
//! - Variants: 1.0 – 1.2 (empty lists written as `null`, read as empty), 1.3 – 1.9
//!   (`experimental_config`, `groups[].aliases`, `max_severity`) and 2.x (`image_metadata`,
//!   `license_summary`, records written through protojson). A clean report,
//!   `{"results": []}` (or `null`), is a clean scan; it is recognised by its
//!   `experimental_config` (1.3+). `experimental_generic_findings` (2.2+, osv-scalibr
//!   detectors such as weak `/etc/shadow` passwords) are not read: each is reported as
//!   skipped. Refused as a layout Bosun does not read (422), never stored as clean: a
//!   document without `results`, and a package whose `groups[]` names ids none of its
//!   `vulnerabilities[]` records carries (OSV-Scanner builds every group from those records).
//! - One finding per package × *group* of the same vulnerability: OSV-Scanner lists every
//!   database's record (`GHSA-…`, `PYSEC-…`, `CVE-…`) and groups those that are aliases of
//!   one another in `groups[]`; they are one problem to fix, so they are merged (all ids
//!   become aliases). A package without `groups` gets one finding per record.
//! - Severity, the highest in the group: the group's `max_severity` score, else a record's
//!   CVSS v3 vector scored with the CVSS 3.1 base formula, else its database label
//!   (CRITICAL, HIGH, MODERATE/MEDIUM, LOW), all mapped with [`Severity::from_cvss`] for
//!   scores; a malicious-package record (`MAL-…`) is critical (the package is malware);
//!   with no severity data at all, info.
//! - Layer: dependency.
//! - Fingerprint (`osv_scanner/v1`): the source path (the lockfile the package was found
//!   in), the ecosystem, the package name (or the git commit's repository for git sources),
//!   and the group's canonical id: its lowest `CVE-` id, else its lowest `GHSA-` id, else its
//!   lowest id. The installed version, summaries and modification dates never go in.

use app::domain::{Layer, Severity};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::support::{DESCRIPTION_MAX, LIST_MAX, SHORT_MAX, TITLE_MAX, json_head_with};
use crate::ingest::fingerprint::Fingerprint;
use crate::ingest::normalize;
use crate::ingest::{NewFinding, ParseError, ParsedReport, ReportFormat};

pub struct OsvScanner;

const NAME: &str = "osv_scanner";

impl ReportFormat for OsvScanner {
    fn sniff(&self, body: &[u8]) -> bool {
        let any = ["ecosystem", "lockfile", "experimental_config"];
        json_head_with(body, &["results", "packages"], &any)
    }

    /// A clean OSV-Scanner 1.3+ report (`{"results": [], "experimental_config": …}`) has no
    /// `packages` for [`ReportFormat::sniff`] to see.
    fn sniff_top(&self, top: &crate::ingest::document::TopLevel) -> bool {
        !top.array && top.has("results") && top.has("experimental_config")
    }

    fn parse(&self, body: &[u8]) -> Result<ParsedReport, ParseError> {
        let report: Report =
            serde_json::from_slice(body).map_err(|e| ParseError::from_json(NAME, &e))?;
        let Some(results) = &report.results else {
            return Err(ParseError::layout(
                NAME,
                "a top-level `results` list (`osv-scanner --format json`)",
            ));
        };
        let mut findings = Vec::new();
        for result in results {
            let path = normalize::bounded(&normalize::path(&result.source.path), SHORT_MAX);
            for p in &result.packages {
                let mut vulns = Vec::with_capacity(p.vulnerabilities.len());
                for raw in &p.vulnerabilities {
                    let v = Vuln::deserialize(raw).map_err(|e| {
                        ParseError::invalid(
                            NAME,
                            format!(
                                "a vulnerability of {} has an unexpected shape: {e}",
                                normalize::bounded(&p.package.name, 200)
                            ),
                        )
                    })?;
                    vulns.push((v, raw));
                }
                // every group names records of the package: one naming none means the
                // records are where this reader does not look
                if let Some(g) = p.groups.iter().find(|g| {
                    !g.ids.is_empty()
                        && !g
                            .ids
                            .iter()
                            .any(|id| vulns.iter().any(|(v, _)| &v.id == id))
                }) {
                    return Err(ParseError::layout(
                        NAME,
                        &format!(
                            "`packages[].vulnerabilities[]` records for the ids in `groups[]` \
                             ({} lists a group of {} and no record of it)",
                            normalize::bounded(&p.package.name, 200),
                            normalize::bounded(&g.ids.join(", "), 300)
                        ),
                    ));
                }
                for group in groups(p, &vulns) {
                    findings.push(finding(&path, &p.package, &group));
                }
            }
        }
        let skipped = report
            .experimental_generic_findings
            .iter()
            .map(generic_finding)
            .collect();
        Ok(ParsedReport {
            scanner: "OSV-Scanner".to_string(),
            scanner_version: None,
            findings,
            skipped,
        })
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// A key of a Go struct written without JSON tags (`Adv`), or in lower case.
fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    match &v[key] {
        Value::Null => &v[key.to_ascii_lowercase().as_str()],
        found => found,
    }
}

/// Why an `experimental_generic_findings` entry (an osv-scalibr detector's finding, such as
/// weak `/etc/shadow` passwords) is not a finding here.
fn generic_finding(g: &Value) -> String {
    let adv = field(g, "Adv");
    let id = field(adv, "ID");
    let name = [field(id, "Publisher"), field(id, "Reference")]
        .iter()
        .filter_map(|v| v.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/");
    let title = field(adv, "Title").as_str().map(str::trim).unwrap_or("");
    let what = match (name.as_str(), title) {
        ("", "") => "an entry".to_string(),
        (n, "") => n.to_string(),
        ("", t) => t.to_string(),
        (n, t) => format!("{n} ({t})"),
    };
    normalize::bounded(
        &format!(
            "OSV-Scanner generic finding {what}: not read (`experimental_generic_findings`; \
             Bosun reads OSV-Scanner's package vulnerabilities)"
        ),
        SHORT_MAX,
    )
}

/// A list that OSV-Scanner up to 1.2 writes as `null` when empty.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A key that must be present (a missing one stays `None`), though it may be `null`.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Some(Option::<T>::deserialize(d)?.unwrap_or_default()))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Report {
    #[serde(deserialize_with = "present")]
    results: Option<Vec<SourceResult>>,
    #[serde(deserialize_with = "nullable")]
    experimental_generic_findings: Vec<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SourceResult {
    source: Source,
    #[serde(deserialize_with = "nullable")]
    packages: Vec<Package>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Source {
    path: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Package {
    package: PackageInfo,
    #[serde(deserialize_with = "nullable")]
    vulnerabilities: Vec<Value>,
    #[serde(deserialize_with = "nullable")]
    groups: Vec<Group>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PackageInfo {
    name: String,
    version: String,
    ecosystem: String,
    commit: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Group {
    #[serde(deserialize_with = "nullable")]
    ids: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    aliases: Vec<String>,
    max_severity: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Vuln {
    id: String,
    #[serde(deserialize_with = "nullable")]
    aliases: Vec<String>,
    summary: String,
    details: String,
    #[serde(deserialize_with = "nullable")]
    affected: Vec<Affected>,
    #[serde(deserialize_with = "nullable")]
    severity: Vec<SeverityEntry>,
    #[serde(deserialize_with = "nullable")]
    references: Vec<Reference>,
    database_specific: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Affected {
    package: AffectedPackage,
    #[serde(deserialize_with = "nullable")]
    ranges: Vec<Range>,
    database_specific: Value,
    ecosystem_specific: Value,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AffectedPackage {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Range {
    repo: String,
    #[serde(deserialize_with = "nullable")]
    events: Vec<Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SeverityEntry {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Reference {
    url: String,
}

/// The records of one problem, with the group's own severity score when given.
struct Merged<'a> {
    vulns: Vec<&'a (Vuln, &'a Value)>,
    ids: Vec<String>,
    max_severity: Option<f64>,
}

fn groups<'a>(p: &Package, vulns: &'a [(Vuln, &'a Value)]) -> Vec<Merged<'a>> {
    let mut out: Vec<Merged<'a>> = Vec::new();
    let mut taken = vec![false; vulns.len()];
    for g in &p.groups {
        let members: Vec<usize> = (0..vulns.len())
            .filter(|&i| !taken[i] && g.ids.iter().any(|id| id == &vulns[i].0.id))
            .collect();
        if members.is_empty() {
            continue;
        }
        for &i in &members {
            taken[i] = true;
        }
        let mut ids: Vec<String> = g.ids.iter().chain(&g.aliases).cloned().collect();
        for &i in &members {
            ids.extend(vulns[i].0.aliases.iter().cloned());
        }
        let max_severity = match &g.max_severity {
            Value::String(s) => s.trim().parse::<f64>().ok(),
            Value::Number(n) => n.as_f64(),
            _ => None,
        };
        out.push(Merged {
            vulns: members.iter().map(|&i| &vulns[i]).collect(),
            ids,
            max_severity,
        });
    }
    for (i, v) in vulns.iter().enumerate() {
        if !taken[i] {
            let mut ids = vec![v.0.id.clone()];
            ids.extend(v.0.aliases.iter().cloned());
            out.push(Merged {
                vulns: vec![v],
                ids,
                max_severity: None,
            });
        }
    }
    out
}

/// The id that names a group: its lowest CVE, else its lowest GHSA, else its lowest id.
fn canonical_id(ids: &[String]) -> String {
    let mut sorted: Vec<String> = ids
        .iter()
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .collect();
    sorted.sort();
    sorted.dedup();
    let with = |prefix: &str| {
        sorted
            .iter()
            .find(|i| i.to_ascii_uppercase().starts_with(prefix))
            .cloned()
    };
    with("CVE-")
        .or_else(|| with("GHSA-"))
        .or_else(|| sorted.first().cloned())
        .unwrap_or_default()
}

/// The CVSS 3.x base score of a vector (`CVSS:3.1/AV:N/AC:L/…`), per the 3.1 specification.
pub(crate) fn cvss3_base_score(vector: &str) -> Option<f64> {
    let mut parts = vector.trim().split('/');
    if !parts.next()?.starts_with("CVSS:3") {
        return None;
    }
    let metric = |name: &str| {
        vector
            .split('/')
            .find_map(|p| p.strip_prefix(name)?.strip_prefix(':'))
    };
    let changed = match metric("S")? {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let av = match metric("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match metric("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (metric("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match metric("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |name: &str| match metric(name)? {
        "H" => Some(0.56),
        "L" => Some(0.22),
        "N" => Some(0.0),
        _ => None,
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15)
    } else {
        6.42 * iss
    };
    if impact <= 0.0 {
        return Some(0.0);
    }
    let exploitability = 8.22 * av * ac * pr * ui;
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    // CVSS 3.1 "Roundup": the smallest one-decimal number >= raw, robust to float noise
    let int = (raw * 100_000.0).round() as i64;
    Some(if int % 10_000 == 0 {
        int as f64 / 100_000.0
    } else {
        ((int / 10_000) + 1) as f64 / 10.0
    })
}

fn label_severity(label: &str) -> Option<Severity> {
    super::support::severity_word(label)
}

fn vuln_severity(v: &Vuln) -> Option<Severity> {
    let scored = v
        .severity
        .iter()
        .filter(|s| s.kind.eq_ignore_ascii_case("CVSS_V3"))
        .filter_map(|s| cvss3_base_score(&s.score))
        .fold(None, |best: Option<f64>, s| {
            Some(best.map_or(s, |b| b.max(s)))
        });
    if let Some(score) = scored {
        return Some(Severity::from_cvss(score));
    }
    let label = v.database_specific["severity"]
        .as_str()
        .and_then(label_severity)
        .or_else(|| {
            v.affected.iter().find_map(|a| {
                a.ecosystem_specific["severity"]
                    .as_str()
                    .or(a.database_specific["severity"].as_str())
                    .and_then(label_severity)
            })
        });
    if label.is_some() {
        return label;
    }
    v.id.to_ascii_uppercase()
        .starts_with("MAL-")
        .then_some(Severity::Critical)
}

fn finding(path: &str, pkg: &PackageInfo, m: &Merged<'_>) -> NewFinding {
    let id = normalize::bounded(&canonical_id(&m.ids), SHORT_MAX);
    let git_repo = m
        .vulns
        .iter()
        .flat_map(|(v, _)| v.affected.iter())
        .flat_map(|a| a.ranges.iter())
        .map(|r| r.repo.trim())
        .find(|r| !r.is_empty())
        .unwrap_or("");
    let name = pkg.name.trim();
    let subject = if name.is_empty() && !pkg.commit.trim().is_empty() {
        git_repo
    } else {
        name
    };
    let mut fp = Fingerprint::new("osv_scanner/v1");
    fp.push(path)
        .push(pkg.ecosystem.trim())
        .push(subject)
        .push(&id);

    let severity = m
        .max_severity
        .map(Severity::from_cvss)
        .into_iter()
        .chain(m.vulns.iter().filter_map(|(v, _)| vuln_severity(v)))
        .min()
        .unwrap_or(Severity::Info);
    let shown = if subject.is_empty() {
        normalize::bounded(pkg.commit.trim(), 12)
    } else {
        subject.to_string()
    };
    let title = normalize::bounded(
        format!("{id} in {shown} {}", pkg.version.trim()).trim(),
        TITLE_MAX,
    );
    let mut f = NewFinding::new(fp.finish(), Layer::Dependency, severity, title);
    f.rule_id = id.clone();
    let cwes = m.vulns.iter().flat_map(|(v, _)| {
        let top = v.database_specific["cwe_ids"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string);
        let affected = v.affected.iter().flat_map(|a| {
            a.database_specific["cwes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["cweId"].as_str())
                .map(str::to_string)
        });
        top.chain(affected).collect::<Vec<_>>()
    });
    let mut ids = m.ids.clone();
    ids.sort();
    f.aliases = normalize::aliases(
        std::iter::once(id.clone())
            .chain(ids)
            .filter(|i| normalize::is_alias(i))
            .chain(cwes)
            .map(|i| normalize::bounded(&i, 100)),
    );
    let primary = m.vulns.iter().find(|(v, _)| v.id == id).or(m.vulns.first());
    if let Some((v, _)) = primary {
        let description = match (v.summary.trim(), v.details.trim()) {
            ("", d) => d.to_string(),
            (s, "") => s.to_string(),
            (s, d) => format!("{s}\n\n{d}"),
        };
        f.description = normalize::bounded(&description, DESCRIPTION_MAX);
    }
    let mut fixed: Vec<String> = Vec::new();
    for (v, _) in &m.vulns {
        for a in v
            .affected
            .iter()
            .filter(|a| a.package.name.is_empty() || a.package.name == pkg.name)
        {
            for e in a.ranges.iter().flat_map(|r| r.events.iter()) {
                if let Some(fx) = e["fixed"].as_str() {
                    let fx = normalize::bounded(fx.trim(), 100);
                    if !fx.is_empty() && !fixed.contains(&fx) && fixed.len() < 10 {
                        fixed.push(fx);
                    }
                }
            }
        }
    }
    if !fixed.is_empty() && !name.is_empty() {
        let list = fixed.join(", ");
        f.remediation = format!("Upgrade {name} to a fixed version: {list}.");
        f.fixed_version = Some(list);
    }
    let mut references: Vec<String> = Vec::new();
    for r in m.vulns.iter().flat_map(|(v, _)| v.references.iter()) {
        let url = r.url.trim();
        if !url.is_empty() && references.len() < LIST_MAX && !references.iter().any(|x| x == url) {
            references.push(normalize::bounded(url, SHORT_MAX));
        }
    }
    f.references = references;
    f.package_name = (!subject.is_empty()).then(|| normalize::bounded(subject, SHORT_MAX));
    f.package_version = [pkg.version.trim(), pkg.commit.trim()]
        .into_iter()
        .find(|v| !v.is_empty())
        .map(|v| normalize::bounded(v, SHORT_MAX));
    f.file_path = (!path.is_empty()).then(|| path.to_string());
    f.location = path.to_string();
    let raw: Vec<Value> = m.vulns.iter().map(|(_, raw)| (*raw).clone()).collect();
    f.evidence = Some(normalize::evidence(&Value::Array(raw)));
    f
}

#[cfg(test)]
mod tests;
