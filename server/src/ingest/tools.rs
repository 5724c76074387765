//! Which tool a report comes from, whatever its container: a tool's findings are the same
//! findings whether it wrote its own JSON or SARIF (or CycloneDX), so the tool, not the
//! format, names the scanner of a scope and chooses the fingerprint recipe.
//!
//! [`scanner_id`] turns what a report calls its producer (`Semgrep OSS`, `semgrep`,
//! `Checkov`, `KubeLinter`, `OWASP ZAP`, …) into one lowercase id. The migration that
//! introduced it (`20261206000022`) has the same table as the SQL function
//! `bosun_scanner_id`; a test keeps the two equal.

/// Names producers go by, and the id Bosun knows each tool by.
pub const ALIASES: &[(&str, &str)] = &[
    ("semgrep oss", "semgrep"),
    ("semgrep pro", "semgrep"),
    ("semgrep cli", "semgrep"),
    ("semgrep", "semgrep"),
    ("trivy operator", "trivy-operator"),
    ("owasp zap", "zap"),
    ("zed attack proxy", "zap"),
    ("owasp zed attack proxy", "zap"),
    ("npm audit", "npm-audit"),
    ("yarn audit", "yarn-audit"),
    ("osv scanner", "osv-scanner"),
    ("kubelinter", "kube-linter"),
    ("retire.js", "retire"),
    ("retirejs", "retire"),
    ("dependency check", "dependency-check"),
    ("owasp dependency-check", "dependency-check"),
];

/// The id of the tool a report names: lowercase, runs of whitespace as `-`, known aliases
/// folded (`Semgrep OSS` → `semgrep`).
pub fn scanner_id(name: &str) -> String {
    let lower = name.trim().to_lowercase();
    let spaced = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((_, id)) = ALIASES.iter().find(|(alias, _)| *alias == spaced) {
        return (*id).to_string();
    }
    spaced.replace(' ', "-")
}

#[cfg(test)]
mod tests {
    use super::scanner_id;

    #[test]
    fn producers_names_fold_to_one_id() {
        for (name, id) in [
            ("Semgrep OSS", "semgrep"),
            ("semgrep", "semgrep"),
            (" Semgrep  Pro ", "semgrep"),
            ("Checkov", "checkov"),
            ("Bandit", "bandit"),
            ("Hadolint", "hadolint"),
            ("Trivy Operator", "trivy-operator"),
            ("OWASP ZAP", "zap"),
            ("npm audit", "npm-audit"),
            ("OSV-Scanner", "osv-scanner"),
            ("KubeLinter", "kube-linter"),
            ("kube-bench", "kube-bench"),
            ("Dependency-Check", "dependency-check"),
            ("retire.js", "retire"),
            ("Snyk Code", "snyk-code"),
            ("CodeQL", "codeql"),
        ] {
            assert_eq!(scanner_id(name), id, "{name}");
        }
    }
}
