use super::*;
use crate::ingest::formats::test_support::{
    assert_distinct, find, fixture, header, parse_error, read, summaries,
};

/// Where every vulnerability of the report's workload is, and what it is about.
const CHECKOUT: &str = "at shop/ReplicaSet/checkout-7d9f8b6c5d (ghcr.io/acme/checkout:2.1.0)";
const CHECKOUT_OBJECT: &str = "image ghcr.io/acme/checkout:2.1.0 | k8s shop/ReplicaSet/checkout-7d9f8b6c5d | asset Workload shop/ReplicaSet/checkout";

#[test]
fn vulnerability_report_with_severities_mapped() {
    let r = read(
        &TrivyOperator,
        fixture!("trivy_operator", "vulnerabilityreport.json"),
    );
    assert_eq!(header(&r), ("Trivy Operator", Some("0.57.0"), 5, 0));
    let (at, object) = (CHECKOUT, CHECKOUT_OBJECT);
    assert_eq!(
        summaries(&r),
        [
            format!(
                "CVE-2024-5535 Critical Image | CVE-2024-5535 in libssl3 3.3.1-r3 | {at} | pkg libssl3 3.3.1-r3 -> 3.3.1-r1 | {object}"
            ),
            format!(
                "CVE-2024-6119 High Image | CVE-2024-6119 in libssl3 3.3.1-r3 | {at} | pkg libssl3 3.3.1-r3 -> 3.3.2-r0 | {object}"
            ),
            format!(
                "CVE-2024-4741 Medium Image | CVE-2024-4741 in libcrypto3 3.3.1-r3 | {at} | pkg libcrypto3 3.3.1-r3 -> 3.3.1-r0 | {object}"
            ),
            format!(
                "CVE-2024-2511 Low Image | CVE-2024-2511 in libcrypto3 3.3.1-r3 | {at} | pkg libcrypto3 3.3.1-r3 -> 3.3.0-r1 | {object}"
            ),
            format!(
                "CVE-2024-9143 Info Image | CVE-2024-9143 in libcrypto3 3.3.1-r3 | {at} | pkg libcrypto3 3.3.1-r3 | {object}"
            ),
        ]
    );
    let f = find(&r, "CVE-2024-6119");
    assert_eq!(f.aliases, vec!["CVE-2024-6119"]);
    assert_eq!(f.references[0], "https://avd.aquasec.com/nvd/cve-2024-6119");
}

#[test]
fn identity_survives_rollout_retag_and_reorder() {
    let a = read(
        &TrivyOperator,
        fixture!("trivy_operator", "vulnerabilityreport.json"),
    );
    let b = read(
        &TrivyOperator,
        fixture!("trivy_operator", "vulnerabilityreport_rollout.json"),
    );
    for id in ["CVE-2024-5535", "CVE-2024-6119", "CVE-2024-9143"] {
        assert_eq!(find(&a, id).fingerprint, find(&b, id).fingerprint, "{id}");
    }
    assert_distinct(&a);
}

#[test]
fn config_audit_counts_only_failed_checks() {
    let r = read(
        &TrivyOperator,
        fixture!("trivy_operator", "configauditreport.json"),
    );
    let f = find(&r, "KSV012");
    assert!(f.description.contains("runAsNonRoot"));
    assert_eq!(
        f.references,
        vec!["https://avd.aquasec.com/misconfig/ksv012"]
    );
}

/// The secrets' workload: the runner's pod template and image.
const RUNNER: &str = "at tools/ReplicaSet/runner-6b9d7c5f4 (index.docker.io/acme/ci-runner:latest)";
const RUNNER_OBJECT: &str = "image index.docker.io/acme/ci-runner:latest | k8s tools/ReplicaSet/runner-6b9d7c5f4 | asset Workload tools/ReplicaSet/runner";

#[test]
fn list_of_secret_reports() {
    let r = read(
        &TrivyOperator,
        fixture!("trivy_operator", "exposedsecretreport_list.json"),
    );
    let (at, object) = (RUNNER, RUNNER_OBJECT);
    assert_eq!(
        summaries(&r),
        [
            format!(
                "github-pat Critical Secret | GitHub Personal Access Token in app/.env | {at} | file app/.env | {object}"
            ),
            format!(
                "aws-access-key-id Critical Secret | AWS Access Key ID in root/.aws/credentials | {at} | file root/.aws/credentials | {object}"
            ),
        ]
    );
    assert_ne!(r.findings[0].fingerprint, r.findings[1].fingerprint);
}

#[test]
fn dict_of_kinds_and_compliance_summary() {
    let r = read(
        &TrivyOperator,
        fixture!("trivy_operator", "all_reports.json"),
    );
    // 1 failing compliance control (not the passing 5.1.2) + 1 failed check + 1 secret
    // + 1 vulnerability
    assert_eq!(
        summaries(&r),
        [
            "5.1.1 High ClusterConfig | 5.1.1 Ensure that the cluster-admin role is only used where required | at cluster (k8s-cis-1.23)".to_string(),
            "KSV012 Medium ClusterConfig | Runs as root user | at shop/Deployment/api | k8s shop/Deployment/api | asset Workload shop/Deployment/api".to_string(),
            format!("github-pat Critical Secret | GitHub Personal Access Token in app/.env | {RUNNER} | file app/.env | {RUNNER_OBJECT}"),
            format!("CVE-2024-5535 Critical Image | CVE-2024-5535 in libssl3 3.3.1-r3 | {CHECKOUT} | pkg libssl3 3.3.1-r3 -> 3.3.1-r1 | {CHECKOUT_OBJECT}"),
        ]
    );
    assert!(find(&r, "5.1.1").description.contains("3 resource(s)"));
}

#[test]
fn empty_and_unknown_kinds_have_no_findings() {
    let r = read(&TrivyOperator, br#"{"apiVersion":"aquasecurity.github.io/v1alpha1","kind":"SbomReport","metadata":{},"report":{"components":{}}}"#);
    assert!(r.findings.is_empty());
    let r = read(
        &TrivyOperator,
        br#"{"apiVersion":"v1","kind":"List","items":[]}"#,
    );
    assert!(r.findings.is_empty());
}

#[test]
fn sniffs_operator_reports_only() {
    for f in [
        &fixture!("trivy_operator", "vulnerabilityreport.json")[..],
        fixture!("trivy_operator", "configauditreport.json"),
        fixture!("trivy_operator", "exposedsecretreport_list.json"),
        fixture!("trivy_operator", "all_reports.json"),
    ] {
        assert!(TrivyOperator.sniff(f));
    }
    assert!(!TrivyOperator.sniff(br#"{"SchemaVersion":2,"ArtifactName":"x","Results":[]}"#));
    assert!(!TrivyOperator.sniff(br#"{"version":"2.1.0","runs":[]}"#));
    assert!(!TrivyOperator.sniff(br#"{"apiVersion":"v1","kind":"Pod"}"#));
    assert!(!TrivyOperator.sniff(b"<x/>"));
}

#[test]
fn malformed_input_is_a_parse_error() {
    let err = parse_error(&TrivyOperator, b"{\"kind\":\n oops}");
    assert_eq!(err.line, Some(2));
    let err = TrivyOperator
        .parse(br#"{"kind":"VulnerabilityReport","report":{"vulnerabilities":[{"vulnerabilityID":[]}]}}"#)
        .unwrap_err();
    assert!(err.message.contains("vulnerability"), "{}", err.message);
    let err = TrivyOperator
        .parse(br#"{"kind":"VulnerabilityReport","report":{"vulnerabilities":7}}"#)
        .unwrap_err();
    assert!(err.message.contains("shape"), "{}", err.message);
}

#[test]
fn a_summary_of_findings_with_none_readable_is_refused() {
    let odd = br#"{"apiVersion":"aquasecurity.github.io/v1alpha1","kind":"VulnerabilityReport","metadata":{"name":"x","namespace":"shop"},"report":{"scanner":{"name":"Trivy","version":"0.50.0"},"summary":{"criticalCount":2,"highCount":1},"vulns":[{"vulnerabilityID":"CVE-2024-1"}]}}"#;
    let err = TrivyOperator.parse(odd).unwrap_err();
    assert!(err.layout, "{err}");
}
