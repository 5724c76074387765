//! One SARIF result to its findings: one a location, with the identity, severity and layer
//! of the tool that wrote it.

use super::*;
use crate::ingest::formats;

pub(super) fn findings_for_result(
    tool: &Tool<'_>,
    rules: &RuleIndex<'_>,
    result: &s::Result,
    trivy: Option<TrivyMessage<'_>>,
    result_index: i64,
    seen: &mut Occurrences,
) -> Vec<NewFinding> {
    let rule = rules.find(result);
    let rule_id = rule_id(result)
        .or(rule.map(|r| r.id.as_str()))
        .unwrap_or("")
        .to_string();
    let message = message_of(result);
    let rule_text = |pick: fn(&s::ReportingDescriptor) -> Option<&s::MultiformatMessageString>| {
        rule.and_then(pick)
            .map(|m| m.text.as_str())
            .filter(|t| !t.trim().is_empty())
    };
    let title = [
        Some(message),
        rule_text(|r| r.short_description.as_ref()),
        rule.and_then(|r| r.name.as_deref()),
    ]
    .into_iter()
    .flatten()
    .map(|t| normalize::first_line(t, TITLE_MAX))
    .find(|t| !t.is_empty())
    .unwrap_or_else(|| rule_id.clone());
    let description = rule_text(|r| r.full_description.as_ref())
        .or(rule_text(|r| r.help.as_ref()))
        .unwrap_or(message);
    let description = normalize::bounded(description, DESCRIPTION_MAX);
    // Grype (and Kubescape's image scans, which are Grype's SARIF renamed) say in the
    // message what the JSON says in fields.
    let grype = matches!(tool.id.as_str(), "grype" | "kubescape")
        .then(|| formats::grype::SarifMessage::read(message))
        .flatten();
    let severity = match (&grype, &trivy) {
        (Some(m), _) => m.severity(security_severity(result, rule)),
        (_, Some(TrivyMessage::Vulnerability { severity, .. }))
        | (_, Some(TrivyMessage::Secret { severity, .. }))
        | (_, Some(TrivyMessage::Misconfiguration { severity })) => *severity,
        _ => tool_severity(tool, result, rule).unwrap_or_else(|| severity(result, rule)),
    };
    let layer = match (tool.id.as_str(), &trivy) {
        (_, Some(TrivyMessage::Vulnerability { .. })) if tool.image_repo.is_some() => Layer::Image,
        (_, Some(TrivyMessage::Vulnerability { .. })) => Layer::Dependency,
        (_, Some(TrivyMessage::Secret { .. })) => Layer::Secret,
        (_, Some(TrivyMessage::Misconfiguration { .. })) => Layer::ClusterConfig,
        ("checkov", _) => formats::checkov::layer_of_check(&rule_id),
        _ if grype.as_ref().is_some_and(|m| m.image.is_some()) => Layer::Image,
        _ if grype.is_some() => Layer::Dependency,
        _ => tool.layer,
    };
    let aliases = normalize::aliases(
        cwe_tags(rule).chain(std::iter::once(rule_id.clone()).filter(|id| looks_like_vuln_id(id))),
    );
    let references: Vec<String> = rule.and_then(|r| r.help_uri.clone()).into_iter().collect();
    let remediation = rule_text(|r| r.help.as_ref())
        .map(|t| normalize::bounded(t, DESCRIPTION_MAX))
        .unwrap_or_default();

    // Both maps are the producer's own stable identity for the result (placeholders aside).
    let own: Vec<(&String, &String)> = [&result.partial_fingerprints, &result.fingerprints]
        .into_iter()
        .flatten()
        .flatten()
        .filter(|(_, v)| formats::semgrep::is_real_fingerprint(v))
        .collect();
    let mut anchors: Vec<String> = own.iter().map(|(k, v)| format!("{k}={v}")).collect();
    anchors.sort();
    let semgrep_own = own
        .iter()
        .find(|(k, _)| k.starts_with("matchBasedId"))
        .map(|(_, v)| v.as_str());

    let locations: Vec<Option<&s::Location>> = match result.locations.as_deref() {
        Some(locs) if !locs.is_empty() => locs.iter().map(Some).collect(),
        _ => vec![None],
    };
    locations
        .into_iter()
        .map(|location| {
            let physical = location.and_then(|l| l.physical_location.as_ref());
            let logical = location
                .and_then(|l| l.logical_locations.as_deref())
                .unwrap_or_default();
            let path = physical
                .and_then(|p| p.artifact_location.as_ref())
                .and_then(|a| a.uri.as_deref())
                .map(normalize::path)
                .filter(|p| !p.is_empty());
            let region = physical.and_then(|p| p.region.as_ref());
            let line = region
                .and_then(|r| r.start_line)
                .and_then(|l| i32::try_from(l).ok());
            let snippet_text = region
                .and_then(|r| r.snippet.as_ref())
                .and_then(|s| s.text.as_deref());
            let file = path.as_deref().unwrap_or("");
            let place = (
                region.and_then(|r| r.start_line).unwrap_or(0),
                region.and_then(|r| r.start_column).unwrap_or(0),
            );
            let fingerprint = match (tool.id.as_str(), &trivy, &grype) {
                ("semgrep", _, _) => {
                    formats::semgrep::identity(&rule_id, file, semgrep_own, message, place, seen)
                }
                ("bandit", _, _) => {
                    formats::bandit::identity(&rule_id, file, snippet_text, line, place, seen)
                }
                ("hadolint", _, _) => formats::hadolint::identity(file, &rule_id, place, seen),
                ("gitleaks", _, _) => {
                    // the snippet is the secret: hashed here, never stored
                    formats::gitleaks::identity(
                        &rule_id,
                        path.as_deref(),
                        line,
                        snippet_text.unwrap_or(""),
                    )
                }
                ("kube-linter", _, _) => {
                    let named = |kind: &str| {
                        logical
                            .iter()
                            .find(|l| l.kind.as_deref() == Some(kind))
                            .and_then(|l| l.name.as_deref())
                            .unwrap_or("")
                            .trim()
                    };
                    let diagnostic = message
                        .rsplit_once("\nobject: ")
                        .map_or(message, |(d, _)| d);
                    formats::kube_linter::identity(
                        &rule_id,
                        file,
                        named("Object Namespace"),
                        named("GVK/Kind"),
                        named("Object Name"),
                        formats::kube_linter::container(diagnostic).unwrap_or(""),
                    )
                }
                (_, Some(TrivyMessage::Vulnerability { pkg, .. }), _) => {
                    let os = rule.and_then(|r| r.name.as_deref()) == Some("OsPackageVulnerability");
                    let repo = tool.image_repo.as_deref().unwrap_or("");
                    let at = trivy_location(path.as_deref()).filter(|_| !os);
                    formats::trivy::sarif_vulnerability_identity(repo, &rule_id, pkg, at.as_deref())
                }
                (_, Some(TrivyMessage::Secret { matched, .. }), _) => {
                    let repo = tool.image_repo.as_deref().unwrap_or("");
                    let at = trivy_location(path.as_deref()).unwrap_or_default();
                    formats::trivy::sarif_secret_identity(repo, &rule_id, &at, matched)
                }
                (_, _, Some(m)) => {
                    let id = rule_id
                        .strip_suffix(m.pkg)
                        .and_then(|id| id.strip_suffix('-'))
                        .unwrap_or(&rule_id);
                    // Like the JSON: the first of the package's files in sorted order
                    // (every one is a logical location), none for OS packages.
                    let mut files: Vec<String> = logical
                        .iter()
                        .filter_map(|l| l.name.as_deref())
                        .chain(if logical.is_empty() { m.path } else { None })
                        .map(normalize::path)
                        .filter(|p| !p.is_empty())
                        .collect();
                    files.sort();
                    let file = (!formats::grype::is_os_package(m.pkg_type))
                        .then(|| files.into_iter().next())
                        .flatten();
                    formats::grype::identity(
                        &m.image_repo(),
                        id,
                        m.pkg,
                        m.pkg_type,
                        file.as_deref(),
                    )
                }
                ("kubescape", _, _) => {
                    // Kubescape's SARIF names no resource: the control's text without the
                    // values of the affected fields, numbered in report order within the file
                    // (two resources of one file failing a control at line 1 stay two).
                    let (text, fields) = message
                        .split_once("\n\nAffected fields:")
                        .unwrap_or((message, ""));
                    let mut fields: Vec<&str> = fields
                        .lines()
                        .map(|l| {
                            l.split_once(" (current: ")
                                .map_or(l, |(path, _)| path)
                                .trim()
                        })
                        .filter(|l| !l.is_empty())
                        .collect();
                    fields.sort_unstable();
                    let mut fp = Fingerprint::new("sarif/v1");
                    fp.push("kubescape")
                        .push(&rule_id)
                        .push(file)
                        .push("message")
                        .push(&normalize::collapse_whitespace(text));
                    for field in fields {
                        fp.push(field);
                    }
                    fp.finish_numbered(seen, (place.0, result_index))
                }
                ("checkov", _, _) => {
                    let single_line =
                        region.is_some_and(|r| r.end_line.is_none_or(|e| Some(e) == r.start_line));
                    let resource = formats::checkov::resource_key(
                        file,
                        snippet_text.unwrap_or(""),
                        single_line,
                    );
                    formats::checkov::identity(&rule_id, file, &resource, place.0, seen)
                }
                _ => {
                    let mut fp = Fingerprint::new("sarif/v1");
                    fp.push(&tool.name.to_ascii_lowercase())
                        .push(&rule_id)
                        .push(file);
                    let snippet = snippet_text
                        .map(normalize::collapse_whitespace)
                        .filter(|s| !s.is_empty());
                    if !anchors.is_empty() {
                        for a in &anchors {
                            fp.push(a);
                        }
                        fp.finish()
                    } else if let Some(snippet) = &snippet {
                        fp.push("snippet")
                            .push(snippet)
                            .finish_numbered(seen, place)
                    } else {
                        fp.push("message")
                            .push(&normalize::collapse_whitespace(message))
                            .finish_numbered(seen, place)
                    }
                }
            };

            let location = match (&path, line) {
                (Some(p), Some(l)) => format!("{p}:{l}"),
                (Some(p), None) => p.clone(),
                (None, _) => String::new(),
            };
            let mut finding = NewFinding::new(fingerprint, layer, severity, title.clone());
            if let ("gitleaks", Some(p)) = (tool.id.as_str(), &path) {
                // as gitleaks' JSON titles it: the message names the commit, which varies
                let what = rule_text(|r| r.short_description.as_ref()).unwrap_or("Secret");
                finding.title = normalize::first_line(&format!("{what} in {p}"), TITLE_MAX);
            }
            finding.rule_id = rule_id.clone();
            finding.description = description.clone();
            finding.aliases = aliases.clone();
            finding.references = references.clone();
            finding.remediation = remediation.clone();
            finding.file_path = path;
            finding.line = line;
            finding.location = location;
            finding
        })
        .collect()
}
