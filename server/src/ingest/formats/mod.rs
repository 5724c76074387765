//! The report formats: one module per format, each a [`ReportFormat`] that detects and
//! parses one kind of report. A module's header says which tool versions and layouts it
//! reads (and refuses), its severity and layer mapping, what one finding is, and its
//! fingerprint recipe. A format that reads several layouts is a folder (`trivy/`, `sarif/`,
//! `cyclonedx/`, `github_vulnerability/`, …) split along what it reads, its tests in
//! `tests.rs`. Helpers they share are in the parent: [`crate::ingest::normalize`] (paths,
//! text bounds, CWE tags), [`crate::ingest::fingerprint`], [`crate::ingest::document`] (the top
//! level of a JSON document, for detection) and [`crate::ingest::tools`] (scanner ids); and
//! here: [`support`] (the bounds text is read to, sniffing a body's head, JSON lists and
//! lines, repeats merged, a Kubernetes object and a vulnerable package set on a finding) and
//! [`xml`] (a bounded XML tree). Tests share `test_support` (a one-line summary of a
//! finding, identity checks) and `expected` (every fixture's summary lines and every sniff
//! case, as tables).

use super::ReportFormat;

#[cfg(test)]
mod expected;
pub mod support;
#[cfg(test)]
pub(crate) mod test_support;

pub mod bandit;
pub mod bosun;
pub mod checkov;
pub mod cyclonedx;
pub mod dependency_check;
pub mod falco;
pub mod github_vulnerability;
pub mod gitleaks;
pub mod grype;
pub mod hadolint;
pub mod kube_bench;
pub mod kube_hunter;
pub mod kube_linter;
pub mod kubeaudit;
pub mod kubescape;
pub mod npm_audit;
pub mod nuclei;
pub mod osv_scanner;
pub mod popeye;
pub mod sarif;
pub mod semgrep;
pub mod snyk;
pub mod trivy;
pub mod trivy_operator;
pub mod trufflehog;
pub(crate) mod xml;
pub mod yarn_audit;
pub mod zap;

/// Every supported format, in detection order.
pub static FORMATS: &[&dyn ReportFormat] = &[
    &sarif::Sarif,
    &falco::Falco,
    &bosun::BosunJson,
    &kube_bench::KubeBench,
    &kubescape::Kubescape,
    &checkov::Checkov,
    &kube_linter::KubeLinter,
    &hadolint::Hadolint,
    &kube_hunter::KubeHunter,
    &kubeaudit::Kubeaudit,
    &popeye::Popeye,
    &nuclei::Nuclei,
    &zap::Zap,
    &gitleaks::Gitleaks,
    &trufflehog::Trufflehog,
    &semgrep::Semgrep,
    &bandit::Bandit,
    &npm_audit::NpmAudit,
    &yarn_audit::YarnAudit,
    &snyk::Snyk,
    &github_vulnerability::GithubVulnerability,
    &trivy::Trivy,
    &trivy_operator::TrivyOperator,
    &grype::Grype,
    &cyclonedx::CycloneDx,
    &osv_scanner::OsvScanner,
    &dependency_check::DependencyCheck,
];
