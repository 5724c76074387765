use super::*;
use crate::ingest::formats::test_support::{
    assert_same_identities, find_pkg, fixture, parse_error, read,
};

#[test]
fn xml_element_count_and_attributes_are_bounded() {
    // 600,000 empty elements in 2.4 MB: a tree of them would take ~100 MB
    let flood = format!("<bom>{}</bom>", "<a/>".repeat(600_000));
    let err = xml::parse(flood.as_bytes()).unwrap_err();
    assert!(
        err.message.contains("more than 150000 elements"),
        "{}",
        err.message
    );
    let err = xml::check_limits(flood.as_bytes()).unwrap_err();
    assert!(err.message.contains("elements"), "{}", err.message);
    let deep = format!("{}{}", "<a>".repeat(200), "</a>".repeat(200));
    assert!(xml::check_limits(deep.as_bytes()).is_err());
    let attrs: String = (0..300).map(|i| format!(" a{i}=\"\"")).collect();
    let wide = format!("<bom><c{attrs}/></bom>");
    let err = xml::parse(wide.as_bytes()).unwrap_err();
    assert!(err.message.contains("attributes"), "{}", err.message);
    // an ordinary document is well within its budget
    let real = fixture!("cyclonedx", "app14.cdx.xml");
    assert!(xml::check_limits(real).is_ok());
}

#[test]
fn json_one_finding_per_vulnerability_and_component() {
    let r = read(&CycloneDx, fixture!("cyclonedx", "app.cdx.json"));
    assert_eq!(r.scanner, "grype");
    assert_eq!(r.scanner_version.as_deref(), Some("0.82.0"));
    // 4 vulnerabilities, one of them affecting two components
    assert_eq!(r.findings.len(), 5);
    let f = find_pkg(&r, "CVE-2021-44228", "org.apache.logging.log4j:log4j-core");
    assert_eq!(f.layer, Layer::Dependency);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.title,
        "CVE-2021-44228 in org.apache.logging.log4j:log4j-core 2.14.1"
    );
    assert_eq!(f.package_version.as_deref(), Some("2.14.1"));
    assert_eq!(f.file_path.as_deref(), Some("lib/log4j-core-2.14.1.jar"));
    assert_eq!(f.aliases, vec!["CVE-2021-44228", "CWE-502"]);
    assert_eq!(f.remediation, "Upgrade to 2.17.1 or later.");
    assert!(
        f.references
            .contains(&"https://logging.apache.org/log4j/2.x/security.html".to_string())
    );
    assert!(f.evidence.is_some());
    let two: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule_id == "CVE-2022-42889")
        .collect();
    assert_eq!(two.len(), 2);
    assert_ne!(two[0].fingerprint, two[1].fingerprint);
}

#[test]
fn severities_from_labels_then_scores() {
    let r = read(&CycloneDx, fixture!("cyclonedx", "app.cdx.json"));
    for (rule, pkg, severity, why) in [
        (
            "CVE-2021-44228",
            "org.apache.logging.log4j:log4j-core",
            Severity::Critical,
            "label",
        ),
        (
            "CVE-2022-42889",
            "org.apache.commons:commons-text",
            Severity::High,
            "score 7.5",
        ),
        ("CVE-2021-23358", "underscore", Severity::Low, "label"),
    ] {
        assert_eq!(find_pkg(&r, rule, pkg).severity, severity, "{rule}: {why}");
    }
    let oss = find_pkg(&r, "3d1ab7f2-0c6e-4f5a-8b8e-2f1b7c9d0e11", "django");
    assert_eq!(oss.severity, Severity::Medium);
    assert_eq!(
        oss.title, "CVE-2023-36053 in django 3.2.0",
        "OSS Index ids are shown by their CVE"
    );
    assert_eq!(oss.aliases, vec!["CVE-2023-36053"]);
    let none = severity(&[Rating {
        severity: "none".into(),
        score: None,
    }]);
    assert_eq!(none, Severity::Info);
    assert_eq!(severity(&[]), Severity::Info);
}

#[test]
fn identity_ignores_bom_refs_versions_and_order() {
    let a = read(&CycloneDx, fixture!("cyclonedx", "app.cdx.json"));
    let b = read(&CycloneDx, fixture!("cyclonedx", "app_rebuilt.cdx.json"));
    assert_same_identities(&a, &b, |b, f| {
        b.findings
            .iter()
            .find(|g| {
                g.rule_id == f.rule_id
                    && g.package_name == f.package_name
                    && g.file_path == f.file_path
            })
            .expect("same finding")
    });
}

#[test]
fn xml_vulnerability_extension_of_a_container() {
    let r = read(&CycloneDx, fixture!("cyclonedx", "image_ext.cdx.xml"));
    assert_eq!(r.scanner, "grype");
    assert_eq!(r.findings.len(), 2);
    let f = find_pkg(&r, "CVE-2022-37434", "zlib1g");
    assert_eq!(f.layer, Layer::Image);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.image.as_deref(),
        Some(
            "acme/worker:2.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
        )
    );
    assert_eq!(
        f.asset.as_ref().map(|a| a.key.as_str()),
        Some("acme/worker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
    );
    assert_eq!(
        f.description,
        "zlib through 1.2.12 has a heap-based buffer over-read & overflow."
    );
    assert_eq!(
        f.references,
        vec!["https://nvd.nist.gov/vuln/detail/CVE-2022-37434"]
    );
    let g = find_pkg(&r, "GHSA-h4j5-c7cj-74xg", "jinja2");
    assert_eq!(g.severity, Severity::Low);
}

#[test]
fn xml_spec_14_vulnerabilities() {
    let r = read(&CycloneDx, fixture!("cyclonedx", "app14.cdx.xml"));
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!(f.rule_id, "CVE-2022-42889");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        f.package_name.as_deref(),
        Some("org.apache.commons:commons-text")
    );
    assert_eq!(f.aliases, vec!["CVE-2022-42889", "CWE-94"]);
    assert_eq!(f.remediation, "Upgrade to 1.10.0.");
}

#[test]
fn sbom_without_vulnerabilities_has_no_findings() {
    let r = read(&CycloneDx, br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"type":"library","name":"a","version":"1"}]}"#);
    assert!(r.findings.is_empty());
    let r = read(&CycloneDx, br#"<?xml version="1.0"?><bom xmlns="http://cyclonedx.org/schema/bom/1.3"><components/></bom>"#);
    assert!(r.findings.is_empty());
}

#[test]
fn external_entities_are_never_expanded() {
    let doc = br#"<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components><component type="library" bom-ref="c1"><name>p&e;</name><version>1</version></component></components>
<vulnerabilities><vulnerability><id>CVE-2024-0001</id><description>x&e;y &amp; z</description><affects><target><ref>c1</ref></target></affects></vulnerability></vulnerabilities></bom>"#;
    let r = read(&CycloneDx, doc);
    assert_eq!(r.findings.len(), 1);
    let f = &r.findings[0];
    assert_eq!(f.description, "xy & z");
    assert_eq!(f.package_name.as_deref(), Some("p"));
    assert!(!format!("{f:?}").contains("root:"));
}

#[test]
fn malformed_input_is_a_parse_error() {
    let err = parse_error(&CycloneDx, b"{\"bomFormat\":\n oops}");
    assert_eq!(err.line, Some(2));
    let err = CycloneDx
        .parse(b"<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\">\n<components></bom>")
        .unwrap_err();
    assert!(err.message.contains("malformed"), "{}", err.message);
    assert_eq!(err.line, Some(2));
    let err = CycloneDx.parse(b"<bom><components>").unwrap_err();
    assert!(err.message.contains("truncated"), "{}", err.message);
    let err = CycloneDx.parse(b"<analysis/>").unwrap_err();
    assert!(err.message.contains("<bom>"), "{}", err.message);
    assert!(CycloneDx.parse(b"[1]").is_err());
}

#[test]
fn a_bom_with_sorted_keys_is_detected_past_the_first_kilobytes() {
    // cyclonedx-py and Checkov sort keys: `bomFormat` after every component
    let components: Vec<String> = (0..400)
        .map(|i| format!(r#"{{"bom-ref":"c{i}","name":"package-number-{i}","type":"library","version":"1.{i}.0"}}"#))
        .collect();
    let bom = format!(
        r#"{{"components":[{}],"metadata":{{"tools":[{{"name":"cyclonedx-python-lib"}},{{"name":"cyclonedx-py","version":"7.5.0"}}]}},"serialNumber":"urn:uuid:1","version":1,"$schema":"http://cyclonedx.org/schema/bom-1.6.schema.json","bomFormat":"CycloneDX","specVersion":"1.6"}}"#,
        components.join(",")
    );
    assert!(
        bom.find("bomFormat").unwrap() > 16_384,
        "past both 8 KiB windows"
    );
    assert_eq!(
        crate::ingest::detect(bom.as_bytes()).map(|f| f.name()),
        Some(NAME)
    );
    let parsed = CycloneDx.parse(bom.as_bytes()).unwrap();
    assert_eq!(
        parsed.scanner, "cyclonedx-py",
        "the tool, not its CycloneDX library"
    );
    assert!(parsed.findings.is_empty(), "an inventory");
}
