//! Corpus conformance: every row of `../shared/corpus/MANIFEST.tsv` through the HTTP API
//! against real PostgreSQL. Each file must be detected as its format and yield the
//! manifest's count, or Bosun's own documented count with the reason it differs.
//! Prints `N files, M exact, K documented differences`; fails on anything else.

use bosun_tests::{corpus, spawn_app_with_project};
use reqwest::StatusCode;

/// Files where Bosun's count differs from DefectDojo's on purpose: (path, Bosun's count, why).
/// A count of `REFUSED` means the upload is refused with a 4xx, on purpose.
const DOCUMENTED_DIFFERENCES: &[(&str, usize, &str)] = &[
    (
        "sarif/gitleaks_7.5.0.sarif",
        4,
        "each of the 4 secrets is reported once per commit that contains it (8 results); the same \
         secret at the same place is one problem to fix, so Bosun merges them (DefectDojo's own \
         Gitleaks parser merges them too; its generic SARIF parser does not)",
    ),
    (
        "nuclei/no_findings.json",
        REFUSED,
        "a 0-byte body is refused (400): it cannot be told apart from a failed or truncated \
         upload, and accepting it as an empty complete scan would auto-close every finding of \
         its scope; scanners with nothing to report send `[]` or an empty report object",
    ),
    (
        "osv_scanner/many_findings.json",
        37,
        "OSV-Scanner lists one vulnerability once per database (GHSA, PYSEC, CVE) and links \
         them in `groups`; Bosun makes one finding per package and group, keeping every id as \
         an alias, where DefectDojo counts each database's record",
    ),
    (
        "npm_audit/multiple_cwes.json",
        40,
        "npm 6 lists advisory GHSA-vh95-rmgr-6w4m (minimist) under two npm ids, one per version \
         range: the same advisory on the same package is one finding",
    ),
    (
        "npm_audit_v7/one_vuln.json",
        2,
        "the `debug` package has two distinct advisories: one finding per advisory, as Bosun \
         (and DefectDojo) count npm 6 and yarn reports",
    ),
    (
        "npm_audit_v7/many_vulns.json",
        3,
        "three entries are vulnerable only through a dependency and repeat its advisory; they \
         are listed as affected dependents of that finding, not findings of their own",
    ),
    (
        "snyk/snykcontainer_issue_9270.json",
        30,
        "one finding per vulnerability, installed package and target (Snyk repeats an entry per \
         dependency path); Bosun also reads the `applications` section (12 findings for \
         /juice-shop/package.json) that DefectDojo ignores",
    ),
    (
        "nuclei/many_findings.json",
        18,
        "the same template on two ports of one host (WebGoat :8080, WebWolf :9090) is two \
         services, so two findings; DefectDojo merges by host name alone",
    ),
    (
        "zap/dvwa_baseline_dojo.xml",
        18,
        "ZAP split plugin 10027 (Suspicious Comments) on one site into two alert items; the \
         same rule on the same site is one problem, with both sets of instances",
    ),
];
const REFUSED: usize = usize::MAX;

/// The Bosun format name a corpus folder's files are in.
fn format_for_folder(folder: &str) -> &str {
    match folder {
        "npm_audit_v7" => "npm_audit",
        other => other,
    }
}

#[tokio::test]
async fn every_manifest_row_ingests_with_its_expected_count() {
    let Some(dir) = corpus::corpus_dir() else {
        return;
    };
    let (app, token) = spawn_app_with_project("corpus").await;
    let supported: Vec<&str> = server::ingest::FORMATS.iter().map(|f| f.name()).collect();
    let rows = corpus::manifest(&dir);
    let (mut exact, mut documented) = (0, 0);
    let mut failures = Vec::new();
    for row in &rows {
        let format = format_for_folder(&row.format);
        if !supported.contains(&format) {
            failures.push(format!("{}: no Bosun format '{format}'", row.path));
            continue;
        }
        let body = std::fs::read(dir.join(&row.path)).unwrap();
        // each file is its own scope, as each would be its own CI job
        let (status, json) = app
            .push_report(Some(&token), &format!("?target={}", row.path), body)
            .await;
        let documented_as = DOCUMENTED_DIFFERENCES
            .iter()
            .find(|(p, _, _)| *p == row.path);
        if status != StatusCode::CREATED {
            match documented_as {
                Some((_, REFUSED, why)) if status.is_client_error() => {
                    documented += 1;
                    println!("{}: refused ({status}) on purpose: {why}", row.path);
                }
                _ => failures.push(format!("{}: HTTP {status}: {json}", row.path)),
            }
            continue;
        }
        if json["format"] != format {
            failures.push(format!(
                "{}: detected as '{}', expected '{format}'",
                row.path, json["format"]
            ));
            continue;
        }
        let total = json["total"].as_u64().unwrap() as usize;
        match documented_as {
            Some((_, ours, why)) if total == *ours => {
                documented += 1;
                println!(
                    "{} files, {exact} exact, {documented} documented differences",
                    rows.len()
                );
            }
            Some((_, ours, _)) => failures.push(format!(
                "{}: {total} findings, documented as {ours}",
                row.path
            )),
            None if total == row.expected_findings => exact += 1,
            None => failures.push(format!(
                "{} ({}): {total} findings, manifest expects {}",
                row.path, row.producer, row.expected_findings
            )),
        }
    }
    println!(
        "{} files, {exact} exact, {documented} documented differences",
        rows.len()
    );
    assert!(
        failures.is_empty(),
        "corpus conformance failures:\n{}",
        failures.join("\n")
    );
    assert!(exact > 0, "at least one file was checked");
}
