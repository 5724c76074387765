use super::*;

fn parse(json: &str) -> Result<ParsedReport, ParseError> {
    Sarif.parse(json.as_bytes())
}

fn report(results: &str, rules: &str) -> String {
    format!(
        r#"{{"version":"2.1.0","$schema":"https://json.schemastore.org/sarif-2.1.0.json",
        "runs":[{{"tool":{{"driver":{{"name":"ExampleScan","version":"1.2.3","rules":[{rules}]}}}},
        "results":[{results}]}}]}}"#
    )
}

const RULE: &str = r#"{"id":"EX001","shortDescription":{"text":"Use of eval"},
    "fullDescription":{"text":"eval runs arbitrary code"},"defaultConfiguration":{"level":"error"}}"#;

fn result(path: &str, line: u32, extra: &str) -> String {
    format!(
        r#"{{"ruleId":"EX001","ruleIndex":0,"message":{{"text":"eval() on user input"}},
        "locations":[{{"physicalLocation":{{"artifactLocation":{{"uri":"{path}"}},
        "region":{{"startLine":{line}}}}}}}]{extra}}}"#
    )
}

#[test]
fn a_bad_result_is_refused_with_its_place_in_the_whole_log() {
    // line 4 of the log, where the result's `level` has the wrong type
    let log = "{\"version\":\"2.1.0\",\n\"runs\":[{\"tool\":{\"driver\":{\"name\":\"X\"}},\n\"results\":[\n  {\"message\":{\"text\":\"m\"}, \"level\": 7}]}]}";
    let err = parse(log).unwrap_err();
    assert!(err.message.starts_with("a result:"), "{err}");
    assert_eq!(err.line, Some(4), "{err}");
    assert!(
        err.column.unwrap() > 30,
        "column within the whole line: {err}"
    );
}

#[test]
fn reads_tool_rule_and_location() {
    let parsed = parse(&report(&result("file:///src/app.js", 12, ""), RULE)).unwrap();
    assert_eq!(parsed.scanner, "ExampleScan");
    assert_eq!(parsed.scanner_version.as_deref(), Some("1.2.3"));
    let f = &parsed.findings[0];
    assert_eq!(f.title, "eval() on user input");
    assert_eq!(f.rule_id, "EX001");
    assert_eq!(f.description, "eval runs arbitrary code");
    assert_eq!(f.severity, Severity::High, "rule default level error");
    assert_eq!(f.location, "/src/app.js:12");
    assert_eq!(f.layer, Layer::Code);
}

#[test]
fn cwe_tags_and_vulnerability_ids_become_aliases() {
    let rule = r#"{"id":"CVE-2024-0001","helpUri":"https://example.com/r","help":{"text":"upgrade"},
        "properties":{"tags":["security","external/cwe/cwe-079","CWE-89: SQL Injection"]}}"#;
    let r = r#"{"ruleId":"CVE-2024-0001","message":{"text":"m"}}"#;
    let f = &parse(&report(r, rule)).unwrap().findings[0];
    assert_eq!(f.aliases, vec!["CWE-79", "CWE-89", "CVE-2024-0001"]);
    assert_eq!(f.references, vec!["https://example.com/r"]);
    assert_eq!(f.remediation, "upgrade");
}

#[test]
fn one_finding_per_location() {
    let r = r#"{"ruleId":"EX001","message":{"text":"m"},"locations":[
        {"physicalLocation":{"artifactLocation":{"uri":"a.js"},"region":{"startLine":1}}},
        {"physicalLocation":{"artifactLocation":{"uri":"b.js"},"region":{"startLine":2}}}]}"#;
    let parsed = parse(&report(r, RULE)).unwrap();
    assert_eq!(parsed.findings.len(), 2);
    assert_ne!(
        parsed.findings[0].fingerprint,
        parsed.findings[1].fingerprint
    );
}

#[test]
fn partial_fingerprints_survive_a_line_shift() {
    let pf = r#","partialFingerprints":{"primaryLocationLineHash":"abc123:1"}"#;
    let before = parse(&report(&result("a.js", 10, pf), RULE)).unwrap();
    let after = parse(&report(&result("a.js", 42, pf), RULE)).unwrap();
    assert_eq!(
        before.findings[0].fingerprint,
        after.findings[0].fingerprint
    );
    // without an anchor the message is (never the line alone): a shift changes nothing
    let plain_a = parse(&report(&result("a.js", 10, ""), RULE)).unwrap();
    let plain_b = parse(&report(&result("a.js", 42, ""), RULE)).unwrap();
    assert_eq!(
        plain_a.findings[0].fingerprint,
        plain_b.findings[0].fingerprint
    );
    // and two results alike but for their line are two findings
    let two = format!("{},{}", result("a.js", 10, ""), result("a.js", 42, ""));
    let both = parse(&report(&two, RULE)).unwrap();
    assert_eq!(both.findings.len(), 2);
    assert_ne!(both.findings[0].fingerprint, both.findings[1].fingerprint);
    assert_eq!(
        both.findings[0].fingerprint,
        plain_a.findings[0].fingerprint
    );
    // a placeholder is no anchor
    let placeholder = r#","fingerprints":{"matchBasedId/v1":"requires login"}"#;
    let two = format!(
        "{},{}",
        result("a.js", 10, placeholder),
        result("a.js", 42, placeholder)
    );
    assert_eq!(parse(&report(&two, RULE)).unwrap().findings.len(), 2);
}

#[test]
fn security_severity_beats_level_and_levels_map() {
    let cvss = r#","properties":{"security-severity":"9.8"}"#;
    let parsed = parse(&report(&result("a.js", 1, cvss), RULE)).unwrap();
    assert_eq!(parsed.findings[0].severity, Severity::Critical);
    for (level, expected) in [
        ("error", Severity::High),
        ("warning", Severity::Medium),
        ("note", Severity::Low),
        ("none", Severity::Info),
    ] {
        let extra = format!(r#","level":"{level}""#);
        let parsed = parse(&report(&result("a.js", 1, &extra), r#"{"id":"EX001"}"#)).unwrap();
        assert_eq!(parsed.findings[0].severity, expected, "{level}");
    }
    let parsed = parse(&report(&result("a.js", 1, ""), r#"{"id":"EX001"}"#)).unwrap();
    assert_eq!(
        parsed.findings[0].severity,
        Severity::Medium,
        "no level means warning"
    );
}

#[test]
fn malformed_json_reports_line_and_column() {
    let err = parse("{\n  \"version\": \"2.1.0\",\n  \"runs\": [ oops ]\n}").unwrap_err();
    assert_eq!(err.format, "sarif");
    assert_eq!(err.line, Some(3));
    assert!(err.column.is_some());
    let truncated = parse(r#"{"version":"2.1.0","runs":[{"tool":"#).unwrap_err();
    assert!(
        truncated.message.contains("truncated"),
        "{}",
        truncated.message
    );
}

#[test]
fn hostile_text_is_kept_verbatim_for_the_ui_to_escape() {
    let r = r#"{"ruleId":"X","message":{"text":"<script>alert(1)</script>"}}"#;
    let parsed = parse(&report(r, r#"{"id":"X"}"#)).unwrap();
    assert_eq!(parsed.findings[0].title, "<script>alert(1)</script>");
}

#[test]
fn sniffs_sarif_whose_version_comes_last() {
    let results =
        vec![r#"{"ruleId":"X","message":{"text":"padding padding padding"}}"#; 200].join(",");
    let body = format!(
        r#"{{"runs":[{{"results":[{results}],"tool":{{"driver":{{"name":"t"}}}}}}],"version":"2.1.0"}}"#
    );
    assert!(body.len() > 8192);
    assert!(Sarif.sniff(body.as_bytes()));
}

/// Tools whose SARIF carries what their JSON reader keys on give the same findings
/// from either (the twins are one run written both ways, in each tool's real shape).
mod tool_aware {
    use super::*;
    use crate::ingest::ReportFormat;
    use crate::ingest::formats::{gitleaks, grype, kube_linter};

    fn fixture(path: &str) -> Vec<u8> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        std::fs::read(root.join(path)).unwrap()
    }

    /// (fingerprint, severity, layer) of each finding, sorted, merged like the store
    /// merges repeats of one fingerprint.
    fn identities(format: &dyn ReportFormat, path: &str) -> Vec<([u8; 32], Severity, Layer)> {
        let mut ids: Vec<_> = format
            .parse(&fixture(path))
            .unwrap()
            .findings
            .iter()
            .map(|f| (f.fingerprint, f.severity, f.layer))
            .collect();
        ids.sort_by_key(|(fp, _, _)| *fp);
        ids.dedup();
        ids
    }

    #[test]
    fn gitleaks_sarif_is_its_json_and_never_keeps_the_secret() {
        let json = identities(&gitleaks::Gitleaks, "gitleaks/v8.json");
        assert_eq!(identities(&Sarif, "sarif/gitleaks.sarif"), json);
        assert_eq!(json.len(), 3, "one secret in two commits is one finding");
        assert!(
            json.iter()
                .all(|(_, s, l)| *s == Severity::High && *l == Layer::Secret)
        );
        let parsed = Sarif.parse(&fixture("sarif/gitleaks.sarif")).unwrap();
        for f in &parsed.findings {
            let stored = format!("{f:?}");
            assert!(!stored.contains("AKIAQ3EGBOSUNEXAMPL"), "{stored}");
            assert!(!f.title.contains("at commit"), "{}", f.title);
        }
    }

    #[test]
    fn trivy_sarif_vulnerabilities_and_secrets_are_its_json() {
        use crate::ingest::formats::trivy::Trivy;
        // an image: OS packages, a jar under Trivy's `Java` target, a license (skipped)
        let json = identities(&Trivy, "trivy/image.json");
        assert_eq!(json.len(), 5);
        assert_eq!(identities(&Sarif, "sarif/trivy-image.sarif"), json);
        let sarif = Sarif.parse(&fixture("sarif/trivy-image.sarif")).unwrap();
        assert_eq!(sarif.skipped.len(), 1, "{:?}", sarif.skipped);
        // a directory: lockfile packages and a secret are the same findings; a failed
        // check has the same severity and layer, but its SARIF omits the resource its
        // JSON identity holds
        let json = identities(&Trivy, "trivy/filesystem.json");
        let sarif = identities(&Sarif, "sarif/trivy-filesystem.sarif");
        assert_eq!(json.len(), 4);
        assert_eq!(sarif.len(), 4);
        let shared = sarif.iter().filter(|f| json.contains(f)).count();
        assert_eq!(shared, 3, "all but the misconfiguration");
        let layers_and_severities = |ids: &[([u8; 32], Severity, Layer)]| {
            let mut v: Vec<_> = ids.iter().map(|(_, s, l)| (*s, *l)).collect();
            v.sort_by_key(|(s, l)| (format!("{s:?}"), format!("{l:?}")));
            v
        };
        assert_eq!(layers_and_severities(&sarif), layers_and_severities(&json));
    }

    #[test]
    fn trivy_language_targets_follow_the_package_path() {
        use crate::ingest::formats::trivy::language_target;
        assert_eq!(
            language_target("app/lib/jackson-databind-2.13.3.jar"),
            Some("Java")
        );
        assert_eq!(
            language_target("usr/lib/node_modules/npm/node_modules/ip/package.json"),
            Some("Node.js")
        );
        assert_eq!(
            language_target("usr/lib/python3.12/site-packages/requests-2.31.0.dist-info/METADATA"),
            Some("Python")
        );
        assert_eq!(language_target("services/api/requirements.txt"), None);
    }

    #[test]
    fn kube_linter_sarif_is_its_json() {
        let json = identities(&kube_linter::KubeLinter, "kube_linter/lint.json");
        assert_eq!(
            json.len(),
            4,
            "two containers of one workload are two findings"
        );
        assert_eq!(identities(&Sarif, "sarif/kube-linter.sarif"), json);
    }

    #[test]
    fn grype_sarif_is_its_json_severity_from_grype_not_cvss() {
        let json = identities(&grype::Grype, "grype/sarif_twin.json");
        assert_eq!(identities(&Sarif, "sarif/grype-image.sarif"), json);
        let severities: Vec<Severity> = json.iter().map(|(_, s, _)| *s).collect();
        for s in [Severity::Medium, Severity::High, Severity::Info] {
            assert!(severities.contains(&s), "{severities:?}");
        }
        assert!(json.iter().all(|(_, _, l)| *l == Layer::Image));
    }

    #[test]
    fn grype_messages_are_read_or_left_alone() {
        let m = grype::SarifMessage::read(
            "A high vulnerability in npm package: lodash, version 4.17.15 was found at: /package-lock.json",
        )
        .unwrap();
        assert_eq!((m.pkg, m.pkg_type, m.image), ("lodash", "npm", None));
        assert_eq!(m.path, Some("/package-lock.json"));
        assert_eq!(m.severity(Some(0.0)), Severity::High);
        assert!(grype::SarifMessage::read("Found lodash in /package-lock.json").is_none());
    }

    #[test]
    fn kubescape_resources_alike_in_one_file_stay_apart() {
        let parsed = Sarif.parse(&fixture("sarif/kubescape.sarif")).unwrap();
        let mut fps: Vec<_> = parsed.findings.iter().map(|f| f.fingerprint).collect();
        fps.sort();
        fps.dedup();
        assert_eq!(
            fps.len(),
            3,
            "two resources failing C-0260 at line 1 are two findings"
        );
        assert!(
            parsed
                .findings
                .iter()
                .all(|f| f.layer == Layer::ClusterConfig)
        );
    }
}

#[test]
fn sniffs_sarif_and_not_other_json() {
    assert!(Sarif.sniff(report("", RULE).as_bytes()));
    assert!(!Sarif.sniff(br#"{"SchemaVersion": 2, "Results": []}"#));
    assert!(!Sarif.sniff(b"<xml/>"));
}
