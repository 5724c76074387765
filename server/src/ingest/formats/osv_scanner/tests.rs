use super::*;
use crate::ingest::formats::test_support::{
    assert_distinct, assert_same_identities, find, fixture, parse_error, read,
};

#[test]
fn one_finding_per_package_and_alias_group() {
    let r = read(&OsvScanner, fixture!("osv_scanner", "report.json"));
    assert_eq!(r.scanner, "OSV-Scanner");
    // 8 records, the urllib3 GHSA and PYSEC records are one group
    assert_eq!(r.findings.len(), 7);
    let f = find(&r, "CVE-2023-45803");
    assert_eq!(f.layer, Layer::Dependency);
    assert_eq!(f.title, "CVE-2023-45803 in urllib3 1.26.17");
    assert_eq!(
        f.aliases,
        vec!["CVE-2023-45803", "GHSA-g4mx-q9vg-27p4", "CWE-200"]
    );
    assert_eq!(f.package_name.as_deref(), Some("urllib3"));
    assert_eq!(f.package_version.as_deref(), Some("1.26.17"));
    assert_eq!(f.fixed_version.as_deref(), Some("1.26.18"));
    assert_eq!(f.file_path.as_deref(), Some("services/api/poetry.lock"));
    assert_eq!(f.location, "services/api/poetry.lock");
    assert!(
        f.description
            .starts_with("urllib3's request body not stripped")
    );
    assert_eq!(f.references.len(), 2);
    let lodash = find(&r, "CVE-2021-23337");
    assert_eq!(
        lodash.aliases,
        vec!["CVE-2021-23337", "GHSA-35jh-r3h4-6jhm", "CWE-77", "CWE-94"]
    );
    assert_eq!(
        lodash.remediation,
        "Upgrade lodash to a fixed version: 4.17.21."
    );
    let git = find(&r, "CVE-2023-50094");
    assert_eq!(
        git.package_name.as_deref(),
        Some("https://github.com/yogeshojha/rengine")
    );
    assert_eq!(
        git.package_version.as_deref(),
        Some("f5f3c22f3ed5a6804a2a8d9ee9fa43044cfa24a6")
    );
}

#[test]
fn severities() {
    let r = read(&OsvScanner, fixture!("osv_scanner", "report.json"));
    let sev = |id| find(&r, id).severity;
    assert_eq!(sev("GHSA-8348-2q94-ffjx"), Severity::Critical, "malware");
    assert_eq!(sev("CVE-2024-23334"), Severity::High, "CVSS vector 7.5");
    assert_eq!(sev("CVE-2021-23337"), Severity::High, "max_severity 7.2");
    assert_eq!(sev("CVE-2023-45803"), Severity::Medium, "max_severity 4.2");
    assert_eq!(sev("CVE-2024-22195"), Severity::Low, "label only");
    assert_eq!(sev("PYSEC-2023-206"), Severity::Info, "no severity data");
    assert_eq!(sev("CVE-2023-50094"), Severity::High, "vector 8.8");
}

#[test]
fn cvss_base_scores() {
    for (vector, score) in [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8),
        ("CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:H/I:N/A:N", 4.2),
        ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:C/C:L/I:N/A:N", 3.8),
        ("CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
    ] {
        assert_eq!(cvss3_base_score(vector), Some(score), "{vector}");
    }
    assert_eq!(cvss3_base_score("AV:N/AC:L/Au:N/C:P/I:P/A:P"), None);
    assert_eq!(cvss3_base_score("CVSS:3.1/AV:X"), None);
    assert_eq!(cvss3_base_score(""), None);
}

#[test]
fn identity_survives_reorder_new_versions_and_new_aliases() {
    let a = read(&OsvScanner, fixture!("osv_scanner", "report.json"));
    let b = read(&OsvScanner, fixture!("osv_scanner", "report_rescan.json"));
    assert_same_identities(&a, &b, |b, f| find(b, &f.rule_id));
    assert_distinct(&a);
}

#[test]
fn malformed_input_is_a_parse_error() {
    let err = parse_error(&OsvScanner, b"{\"results\":\n [oops]}");
    assert_eq!(err.line, Some(2));
    let err = OsvScanner
        .parse(br#"{"results":[{"packages":[{"package":{"name":"a"},"vulnerabilities":[{"id":[1]}]}]}]}"#)
        .unwrap_err();
    assert!(err.message.contains("vulnerability"), "{}", err.message);
    assert!(
        OsvScanner
            .parse(b"{\"results\":[")
            .unwrap_err()
            .message
            .contains("truncated")
    );
}

#[test]
fn null_lists_of_osv_scanner_1_0_are_empty() {
    let v1_0 = br#"{"results": [{"source": {"path": "/src/Cargo.lock", "type": "lockfile"},
  "packages": [{"package": {"name": "remove_dir_all", "version": "0.5.3", "ecosystem": "crates.io"},
"vulnerabilities": [{"schema_version": "1.4.0", "id": "GHSA-mc8h-8q98-g5hr", "aliases": null, "summary": "Race Condition in remove_dir_all",
  "affected": [{"package": {"ecosystem": "crates.io", "name": "remove_dir_all"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "0.8.0"}]}]}], "references": null, "severity": null}],
"groups": [{"ids": ["GHSA-mc8h-8q98-g5hr"]}]},
   {"package": {"name": "tempfile", "version": "3.3.0", "ecosystem": "crates.io"}, "vulnerabilities": null, "groups": null}]}]}"#;
    let r = read(&OsvScanner, v1_0);
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!(f.rule_id, "GHSA-mc8h-8q98-g5hr");
    assert_eq!(f.fixed_version.as_deref(), Some("0.8.0"));
    assert!(f.references.is_empty());
    let affected_null =
        br#"{"results": [{"source": {"path": "go.mod"}, "packages": [{"package": {"name": "x"},
        "vulnerabilities": [{"id": "GO-2022-0001", "affected": null}]}]}]}"#;
    assert_eq!(read(&OsvScanner, affected_null).findings.len(), 1);
    assert!(
        read(&OsvScanner, br#"{"results": null}"#)
            .findings
            .is_empty()
    );
}

#[test]
fn a_group_whose_records_are_not_readable_is_refused() {
    let renamed = br#"{"results": [{"source": {"path": "/src/web/package-lock.json", "type": "lockfile"},
  "packages": [{"package": {"name": "lodash", "version": "4.17.20", "ecosystem": "npm"},
"groups": [{"ids": ["GHSA-35jh-r3h4-6jhm"], "aliases": ["CVE-2021-23337", "GHSA-35jh-r3h4-6jhm"], "max_severity": "7.2"}],
"vulns": [{"id": "GHSA-35jh-r3h4-6jhm", "summary": "Command Injection in lodash"}]}]}],
 "experimental_config": {"licenses": {"summary": false, "allowlist": null}}}"#;
    let err = OsvScanner.parse(renamed).unwrap_err();
    assert!(err.layout, "{err}");
    assert!(
        err.message.contains("GHSA-35jh-r3h4-6jhm"),
        "{}",
        err.message
    );
    let other_ids = String::from_utf8_lossy(renamed).replace(
        "\"vulns\": [{\"id\": \"GHSA-35jh-r3h4-6jhm\"",
        "\"vulnerabilities\": [{\"id\": \"GHSA-0000-0000-0000\"",
    );
    assert!(OsvScanner.parse(other_ids.as_bytes()).unwrap_err().layout);
    let body = String::from_utf8_lossy(renamed).replace("\"vulns\"", "\"vulnerabilities\"");
    assert_eq!(read(&OsvScanner, body.as_bytes()).findings.len(), 1);
}

#[test]
fn a_document_without_results_is_refused() {
    for odd in [
        &br#"{"experimental_config": {"licenses": {"summary": false}}}"#[..],
        br#"{"Results": [{"packages": []}]}"#,
        br#"[]"#,
    ] {
        let err = OsvScanner.parse(odd).unwrap_err();
        assert!(err.layout, "{err}");
    }
}

#[test]
fn a_clean_report_is_detected_and_clean() {
    let clean = br#"{"results": [], "experimental_config": {"licenses": {"summary": false, "allowlist": null}}}"#;
    let r = read(&OsvScanner, clean);
    assert!(r.findings.is_empty() && r.skipped.is_empty());
    assert_eq!(crate::ingest::detect(clean).map(|f| f.name()), Some(NAME));
}

#[test]
fn generic_findings_are_reported_as_skipped() {
    let image = br#"{"results": [], "experimental_config": {"licenses": {"summary": false, "allowlist": null}},
  "experimental_generic_findings": [{"Adv": {"ID": {"Publisher": "SCALIBR", "Reference": "etc-shadow-weakcredentials"},
  "Title": "Ensure all users have strong passwords configured", "Sev": 5},
"Target": {"Extra": "/etc/shadow: The following users have weak passwords:/nuser-bcrypt/n"},
"Plugins": ["weakcredentials/etcshadow"], "ExploitabilitySignals": null}]}"#;
    let r = read(&OsvScanner, image);
    assert!(r.findings.is_empty());
    assert_eq!(r.skipped.len(), 1);
    assert!(
        r.skipped[0].contains("SCALIBR/etc-shadow-weakcredentials (Ensure all users"),
        "{}",
        r.skipped[0]
    );
    assert!(
        read(&OsvScanner, fixture!("osv_scanner", "report.json"))
            .skipped
            .is_empty()
    );
}
