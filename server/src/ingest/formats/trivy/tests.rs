use super::*;
use crate::ingest::formats::test_support::{
    assert_distinct, find, fixture, header, parse_error, read, summaries,
};

/// The image's reference in full, then as its asset keeps it (no tag).
const IMAGE: &str = "registry.example.com/shop/api:1.4.2@sha256:1111111111111111111111111111111111111111111111111111111111111111";
const IMAGE_ASSET: &str = "registry.example.com/shop/api@sha256:1111111111111111111111111111111111111111111111111111111111111111";

#[test]
fn image_report_vulnerabilities_are_image_layer_with_severities_including_unknown() {
    let r = read(&Trivy, fixture!("trivy", "image.json"));
    assert_eq!(header(&r), ("Trivy", Some("0.58.1"), 5, 0));
    // OS packages have no file; the jar has; UNKNOWN is info
    let common = format!("image {IMAGE} | asset Image {IMAGE_ASSET}");
    assert_eq!(
        summaries(&r),
        [
            format!(
                "CVE-2024-5535 Critical Image | CVE-2024-5535 in libssl3 3.3.1-r0 | at {IMAGE} | pkg libssl3 3.3.1-r0 -> 3.3.1-r1 | {common}"
            ),
            format!(
                "CVE-2024-4741 Medium Image | CVE-2024-4741 in libssl3 3.3.1-r0 | at {IMAGE} | pkg libssl3 3.3.1-r0 -> 3.3.1-r1 | {common}"
            ),
            format!(
                "CVE-2024-2511 Low Image | CVE-2024-2511 in libcrypto3 3.3.1-r0 | at {IMAGE} | pkg libcrypto3 3.3.1-r0 -> 3.3.0-r1 | {common}"
            ),
            format!(
                "CVE-2024-9143 Info Image | CVE-2024-9143 in libcrypto3 3.3.1-r0 | at {IMAGE} | pkg libcrypto3 3.3.1-r0 | {common}"
            ),
            format!(
                "CVE-2022-42003 High Image | CVE-2022-42003 in com.fasterxml.jackson.core:jackson-databind 2.13.3 | at app/lib/jackson-databind-2.13.3.jar | file app/lib/jackson-databind-2.13.3.jar | pkg com.fasterxml.jackson.core:jackson-databind 2.13.3 -> 2.13.4.1 | {common}"
            ),
        ]
    );
    let f = find(&r, "CVE-2024-5535");
    assert_eq!(f.aliases, vec!["CVE-2024-5535", "CWE-200"]);
    assert_eq!(f.references[0], "https://avd.aquasec.com/nvd/cve-2024-5535");
    assert!(f.remediation.contains("3.3.1-r1"));
    assert!(f.evidence.is_some());
}

#[test]
fn image_identity_survives_retag_and_reorder_but_not_another_package() {
    let a = read(&Trivy, fixture!("trivy", "image.json"));
    let b = read(&Trivy, fixture!("trivy", "image_retagged.json"));
    for id in ["CVE-2024-5535", "CVE-2022-42003"] {
        assert_eq!(find(&a, id).fingerprint, find(&b, id).fingerprint, "{id}");
    }
    assert_ne!(
        find(&a, "CVE-2024-5535").fingerprint,
        find(&a, "CVE-2024-4741").fingerprint
    );
    assert_distinct(&a);
}

#[test]
fn filesystem_report_reads_vulns_failed_checks_and_secrets() {
    let r = read(&Trivy, fixture!("trivy", "filesystem.json"));
    assert_eq!(
        find(&r, "CVE-2023-32681").aliases,
        vec!["CVE-2023-32681", "CWE-200"]
    );
    assert!(find(&r, "DS002").remediation.contains("USER"));
}

#[test]
fn kubernetes_resources_layout() {
    let r = read(&Trivy, fixture!("trivy", "k8s_resources.json"));
    assert_ne!(
        r.findings[0].fingerprint, r.findings[1].fingerprint,
        "same check on two workloads"
    );
}

#[test]
fn legacy_list_layout() {
    let r = read(&Trivy, fixture!("trivy", "legacy.json"));
    assert_eq!(
        find(&r, "GHSA-pxg6-pf52-xh8x").aliases,
        vec!["GHSA-pxg6-pf52-xh8x"]
    );
}

#[test]
fn empty_reports_have_no_findings() {
    let r = read(&Trivy, br#"{"SchemaVersion":2,"ArtifactName":"x:1","ArtifactType":"container_image","Results":[{"Target":"x:1 (alpine 3.20.0)","Class":"os-pkgs","Type":"alpine"}]}"#);
    assert!(r.findings.is_empty());
    assert!(read(&Trivy, b"[]").findings.is_empty());
}

#[test]
fn sniffs_a_report_whose_schema_version_comes_last() {
    let vulns = vec![
        r#"{"VulnerabilityID":"CVE-2024-1","PkgName":"p","InstalledVersion":"1","Severity":"LOW"}"#;
        300
    ]
    .join(",");
    let body = format!(
        r#"{{"ArtifactName":"app:1","Results":[{{"Target":"app","Vulnerabilities":[{vulns}]}}],"SchemaVersion":2}}"#
    );
    assert!(body.len() > 16384);
    assert!(Trivy.sniff(body.as_bytes()));
}

#[test]
fn sniffs_trivy_and_not_others() {
    for f in [
        &fixture!("trivy", "image.json")[..],
        fixture!("trivy", "filesystem.json"),
        fixture!("trivy", "k8s_old.json"),
        fixture!("trivy", "k8s_resources.json"),
        fixture!("trivy", "legacy.json"),
    ] {
        assert!(Trivy.sniff(f));
    }
    assert!(!Trivy.sniff(br#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"Trivy"}}}]}"#));
    assert!(!Trivy.sniff(br#"{"apiVersion":"aquasecurity.github.io/v1alpha1","kind":"VulnerabilityReport","report":{"vulnerabilities":[]}}"#));
    assert!(
        !Trivy.sniff(br#"{"matches":[],"source":{"type":"image"},"descriptor":{"name":"grype"}}"#)
    );
    assert!(!Trivy.sniff(br#"[{"id":"x"}]"#));
    assert!(!Trivy.sniff(b"<xml/>"));
}

#[test]
fn malformed_input_is_a_parse_error() {
    let err = parse_error(&Trivy, b"{\"SchemaVersion\": 2,\n \"Results\": [ oops ]}");
    assert_eq!(err.line, Some(2));
    let err = Trivy.parse(br#"{"SchemaVersion":2,"Results":[{"Target":"a","Vulnerabilities":[{"VulnerabilityID":7}]}]}"#).unwrap_err();
    assert!(err.message.contains("vulnerability"), "{}", err.message);
    assert!(
        Trivy
            .parse(b"[{\"Target\":")
            .unwrap_err()
            .message
            .contains("truncated")
    );
    assert!(Trivy.parse(b"").is_err());
}

/// `trivy k8s` since 0.57 writes a resource's `Metadata` as a list; `--report summary`
/// puts the resources under `Findings`. Both were read as nothing (or refused).
const K8S_V057: &str = r#"{
  "ClusterName": "prod-eu",
  "RESOURCES": [
    {
      "Namespace": "shop", "Kind": "Deployment", "Name": "web",
      "Metadata": [{"ImageID": "sha256:4f2a", "RepoTags": ["nginx:1.25.0"], "RepoDigests": ["nginx@sha256:4f2a"]}],
      "Results": [
        {"Target": "nginx:1.25.0 (debian 12.0)", "Class": "os-pkgs", "Type": "debian",
         "Vulnerabilities": [{"VulnerabilityID": "CVE-2023-2650", "PkgName": "libssl3", "InstalledVersion": "3.0.8-1", "FixedVersion": "3.0.9-1", "Severity": "MEDIUM"}]},
        {"Target": "Deployment/web", "Class": "config", "Type": "kubernetes",
         "MisconfSummary": {"Successes": 27, "Failures": 1},
         "Misconfigurations": [{"Type": "Kubernetes Security Check", "ID": "KSV001", "AVDID": "AVD-KSV-0001", "Title": "Process can elevate its own privileges", "Severity": "MEDIUM", "Status": "FAIL"}]}
      ]
    },
    {"Namespace": "shop", "Kind": "Deployment", "Name": "worker", "Error": "unable to pull image registry.local/worker:2"}
  ]
}"#;

#[test]
fn kubernetes_reports_since_0_57_and_summaries_are_read() {
    for key in ["Resources", "Findings"] {
        let body = K8S_V057.replace("RESOURCES", key);
        let detected = crate::ingest::detect(body.as_bytes()).map(|f| f.name());
        assert_eq!(detected, Some(NAME), "{key}");
        let r = read(&Trivy, body.as_bytes());
        assert_eq!(r.findings.len(), 2, "{key}");
        let v = find(&r, "CVE-2023-2650");
        assert_eq!(v.image.as_deref(), Some("nginx:1.25.0"));
        assert_eq!(r.skipped.len(), 1, "{:?}", r.skipped);
        assert!(r.skipped[0].contains("shop/Deployment/worker: Trivy could not scan it"));
    }
}

#[test]
fn null_lists_of_trivy_0_18_are_empty() {
    let body = br#"[{"Target": "alpine:3.13 (alpine 3.13.5)", "Type": "alpine", "Vulnerabilities": [{"VulnerabilityID": "CVE-2021-36159", "PkgName": "apk-tools", "InstalledVersion": "2.12.5-r0", "FixedVersion": "2.12.6-r0", "Severity": "CRITICAL"}]},
        {"Target": "app/package-lock.json", "Type": "npm", "Vulnerabilities": null}]"#;
    assert_eq!(read(&Trivy, body).findings.len(), 1);
}

#[test]
fn failed_checks_counted_but_unreadable_are_refused() {
    let odd = br#"{"SchemaVersion": 2, "ArtifactName": "deploy/", "ArtifactType": "filesystem",
        "Results": [{"Target": "deploy/app.yaml", "Class": "config", "Type": "kubernetes",
          "MisconfSummary": {"Successes": 20, "Failures": 2},
          "Misconfs": [{"ID": "KSV012", "Status": "FAIL", "Severity": "MEDIUM"}]}]}"#;
    let err = Trivy.parse(odd).unwrap_err();
    assert!(err.layout, "{err}");
    assert!(err.message.contains("2 failed checks"), "{err}");
    // fewer listed than counted is read, and said
    let fewer = br#"{"SchemaVersion": 2, "ArtifactName": "deploy/", "ArtifactType": "filesystem",
        "Results": [{"Target": "deploy/app.yaml", "Class": "config", "Type": "kubernetes",
          "MisconfSummary": {"Successes": 20, "Failures": 2},
          "Misconfigurations": [{"ID": "KSV012", "Status": "FAIL", "Severity": "MEDIUM"}],
          "Licenses": [{"Severity": "HIGH", "Category": "restricted", "PkgName": "x", "Name": "GPL-3.0"}]}]}"#;
    let r = read(&Trivy, fewer);
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.skipped.len(), 2, "{:?}", r.skipped);
}
