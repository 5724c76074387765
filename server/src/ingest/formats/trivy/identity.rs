//! The identity of a Trivy vulnerability or secret, shared by its JSON and its SARIF.

use super::*;

/// What Trivy's SARIF (`trivy image|fs|repo --format sarif`) says of a result in its
/// message, which carries what its JSON has in fields.
#[derive(Debug, PartialEq, Eq)]
pub enum SarifMessage<'a> {
    /// `Package: …\nInstalled Version: …\nVulnerability …\nSeverity: …`
    Vulnerability { pkg: &'a str, severity: Severity },
    /// `Artifact: …\nType: …\nSecret …\nSeverity: …\nMatch: …` (the match already redacted)
    Secret {
        matched: &'a str,
        severity: Severity,
    },
    /// `Artifact: …\nType: …\nVulnerability <check>\nSeverity: …\nMessage: …`
    Misconfiguration { severity: Severity },
    /// `Artifact: …\nLicense …`: not a security finding.
    License,
}

impl<'a> SarifMessage<'a> {
    pub fn read(message: &'a str) -> Option<SarifMessage<'a>> {
        let line = |prefix: &str| {
            message
                .lines()
                .find_map(|l| l.strip_prefix(prefix))
                .map(str::trim)
        };
        let label = || severity(line("Severity: ").unwrap_or(""));
        if let Some(pkg) = message.strip_prefix("Package: ") {
            let pkg = pkg.lines().next().unwrap_or("").trim();
            return Some(SarifMessage::Vulnerability {
                pkg,
                severity: label(),
            });
        }
        message.strip_prefix("Artifact: ")?;
        if line("License ").is_some() {
            Some(SarifMessage::License)
        } else if line("Secret ").is_some() {
            let matched = message.split_once("\nMatch: ").map_or("", |(_, m)| m);
            Some(SarifMessage::Secret {
                matched,
                severity: label(),
            })
        } else if line("Vulnerability ").is_some() {
            Some(SarifMessage::Misconfiguration { severity: label() })
        } else {
            None
        }
    }
}

/// The `Target` Trivy's JSON gives a language package found at `pkg_path` inside an image
/// or directory (its fixed per-type names), which its SARIF leaves out: a `.jar` is under
/// `Java`, a `node_modules` `package.json` under `Node.js`, … `None` when the path is not of
/// those kinds (then the SARIF location is the target itself, a lockfile).
pub fn language_target(pkg_path: &str) -> Option<&'static str> {
    let lower = pkg_path.to_ascii_lowercase();
    let file = lower.rsplit('/').next().unwrap_or("");
    let java = [".jar", ".war", ".ear", ".par", ".jpi", ".hpi"];
    if java.iter().any(|e| file.ends_with(e)) || lower.contains(".jar/") {
        Some("Java")
    } else if file == "package.json" {
        Some("Node.js")
    } else if lower.contains(".dist-info/") || lower.contains(".egg-info") || file == "metadata" {
        Some("Python")
    } else if file.ends_with(".gemspec") {
        Some("Ruby")
    } else if lower.contains("conda-meta/") {
        Some("Conda")
    } else {
        None
    }
}

/// The identity (`trivy/v1`) of a vulnerability: its subject (pushed by `subject`: a
/// Kubernetes resource, or an artifact's image repository), id, package, the file of a
/// language package (none for OS packages) and the package's own path.
pub(super) fn vulnerability_identity(
    subject: impl FnOnce(&mut Fingerprint),
    id: &str,
    pkg: &str,
    file: &str,
    pkg_path: &str,
) -> [u8; 32] {
    let mut fp = Fingerprint::new("trivy/v1");
    fp.push("vuln");
    subject(&mut fp);
    fp.push(id).push(pkg).push(file).push(pkg_path);
    fp.finish()
}

/// The identity (`trivy/v1`) of a secret: its subject, rule, file (normalised) and the
/// already redacted match with whitespace collapsed.
pub(super) fn secret_identity(
    subject: impl FnOnce(&mut Fingerprint),
    rule_id: &str,
    path: &str,
    matched: &str,
) -> [u8; 32] {
    let mut fp = Fingerprint::new("trivy/v1");
    fp.push("secret");
    subject(&mut fp);
    fp.push(rule_id)
        .push(path)
        .push(&normalize::collapse_whitespace(matched));
    fp.finish()
}

/// The subject of an image or directory scan's findings: the image repository, empty for a
/// directory.
pub(super) fn push_artifact(fp: &mut Fingerprint, image_repo: &str) {
    fp.push("artifact").push(image_repo);
}

/// [`vulnerability_identity`] from what Trivy's SARIF gives: the image repository (empty
/// for a directory), the id, the package and the location of a language package (none for
/// OS packages).
pub fn sarif_vulnerability_identity(
    image_repo: &str,
    id: &str,
    pkg: &str,
    language_location: Option<&str>,
) -> [u8; 32] {
    let (file, pkg_path) = match language_location {
        None => (String::new(), String::new()),
        Some(at) => {
            let at = normalize::path(at);
            match language_target(&at) {
                Some(target) => (target.to_string(), at),
                None => (at, String::new()),
            }
        }
    };
    vulnerability_identity(
        |fp| push_artifact(fp, image_repo),
        id.trim(),
        pkg.trim(),
        &file,
        &pkg_path,
    )
}

/// [`secret_identity`] from what Trivy's SARIF gives.
pub fn sarif_secret_identity(
    image_repo: &str,
    rule_id: &str,
    path: &str,
    matched: &str,
) -> [u8; 32] {
    secret_identity(
        |fp| push_artifact(fp, image_repo),
        rule_id.trim(),
        &normalize::path(path),
        matched,
    )
}
