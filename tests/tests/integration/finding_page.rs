//! The finding page as the server renders it: every normalised field a scanner gave,
//! references and raw evidence included, and none of that scanner text active.

use app::workflow::Role;
use bosun_tests::spawn_app;

/// A Trivy image report whose one vulnerability carries hostile text and references.
fn hostile_trivy() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "SchemaVersion": 2,
        "ArtifactName": "registry.example.com/shop/web:1.0",
        "ArtifactType": "container_image",
        "Results": [{
            "Target": "registry.example.com/shop/web:1.0 (debian 12)",
            "Class": "os-pkgs", "Type": "debian",
            "Vulnerabilities": [{
                "VulnerabilityID": "CVE-2026-0001", "PkgName": "openssl",
                "InstalledVersion": "3.0.1", "FixedVersion": "3.0.2", "Severity": "HIGH",
                "Title": "<script>alert(1)</script>",
                "Description": "Heap overflow in the <b>record</b> layer.",
                "PrimaryURL": "https://avd.aquasec.com/nvd/cve-2026-0001",
                "References": ["javascript:alert(2)", "https://example.com/advisory?a=1&b=2"]
            }]
        }]
    }))
    .unwrap()
}

#[tokio::test]
async fn the_finding_page_shows_references_and_raw_evidence_inert() {
    let app = spawn_app().await;
    let dev = [("dev@example.com", "shop", Role::Developer)];
    app.shop_and_data_with(hostile_trivy(), &dev).await;
    let id = app.count("SELECT id FROM findings").await;
    let client = app.client_for("dev@example.com").await;
    let response = client
        .get(app.url(&format!("/findings/{id}")))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let html = response.text().await.unwrap();

    // references: web addresses are links, anything else is shown as text only
    assert!(
        html.contains(r#"href="https://example.com/advisory?a=1&amp;b=2""#),
        "a web reference is a link: {html}"
    );
    assert!(html.contains("javascript:alert(2)"), "shown as text");
    assert!(!html.contains(r#"href="javascript"#), "never a link");

    // raw evidence: the scanner's record, indented, escaped like every other field
    let evidence = html
        .split(r#"<details class="evidence">"#)
        .nth(1)
        .expect("a raw evidence section")
        .split("</details>")
        .next()
        .unwrap();
    assert!(
        evidence.contains(r#""VulnerabilityID": "CVE-2026-0001""#)
            || evidence.contains(r#"&quot;VulnerabilityID&quot;: &quot;CVE-2026-0001&quot;"#),
        "{evidence}"
    );
    assert!(
        evidence.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{evidence}"
    );
    assert!(!html.contains("<script>alert(1)"), "no scanner text runs");
    assert!(!html.contains("<b>record</b>"), "no scanner markup renders");
}

#[tokio::test]
async fn a_missing_or_invisible_finding_or_project_answers_404_with_a_message() {
    let app = spawn_app().await;
    let people = [
        ("dev@example.com", "shop", Role::Developer),
        ("outsider@example.com", "data", Role::Developer),
    ];
    app.shop_and_data_with(bosun_tests::ONE_FINDING_SARIF.into(), &people)
        .await;
    let id = app.count("SELECT id FROM findings").await;
    let dev = app.client_for("dev@example.com").await;
    let outsider = app.client_for("outsider@example.com").await;
    for (client, path, message) in [
        (&dev, format!("/findings/{}", id + 1000), "No such finding."),
        (&outsider, format!("/findings/{id}"), "No such finding."),
        (&dev, "/projects/nope/scans".to_string(), "No such project."),
        (
            &outsider,
            "/projects/web/scans".to_string(),
            "No such project.",
        ),
    ] {
        let response = client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body = response.text().await.unwrap();
        assert!(body.contains(message), "{path}: {body}");
        assert!(!body.contains("error running server function"), "{path}");
    }
    // the finding itself, for someone on its team, is a page
    let response = dev
        .get(app.url(&format!("/findings/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
