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

#[tokio::test]
async fn the_timeline_says_from_and_to_for_every_change_and_links_the_scan() {
    use bosun_tests::{ONE_FINDING_SARIF, SHOP_PEOPLE};
    use reqwest::StatusCode;

    let app = spawn_app().await;
    let token = app
        .shop_and_data_with(ONE_FINDING_SARIF.into(), SHOP_PEOPLE)
        .await;
    let id = app.count("SELECT id FROM findings").await.to_string();
    let sec = app.client_for("sec@example.com").await;
    let call = |function: &'static str, form: Vec<(&'static str, String)>| {
        let (app, sec) = (&app, &sec);
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call_expecting(sec, function, &form, StatusCode::OK)
                .await;
        }
    };
    let f = || ("finding_id", id.clone());
    call(
        "assign",
        vec![
            f(),
            ("user", "dev@example.com".into()),
            ("team", "shop".into()),
        ],
    )
    .await;
    call("assign", vec![f(), ("user", "dev2@example.com".into())]).await;
    call(
        "override_severity",
        vec![
            f(),
            ("severity", "low".into()),
            ("reason", "internal only".into()),
        ],
    )
    .await;
    // the next scan no longer reports it (fixed by that scan); the one after does again
    let other = ONE_FINDING_SARIF.replace("\"T1\"", "\"T2\"");
    app.push_ok(&token, "?target=repo", other.into()).await;
    let fixing_scan = app.count("SELECT max(id) FROM scans").await;
    app.push_ok(&token, "?target=repo", ONE_FINDING_SARIF.into())
        .await;
    call(
        "change_state",
        vec![
            f(),
            ("to", "risk_accepted".into()),
            ("reason", "vendor fix due".into()),
            ("risk_accepted_until", "2099-03-01".into()),
        ],
    )
    .await;
    let finding = id.as_str();

    let body = app
        .call_expecting(&sec, "finding_detail", &[("id", finding)], StatusCode::OK)
        .await;
    let detail: serde_json::Value = serde_json::from_str(&body).unwrap();
    let lines: Vec<String> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["actor"].as_str().unwrap(),
                e["what"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            // the project's team had it from the start
            "sec@example.com: assigned it to dev@example.com",
            "sec@example.com: assigned it to dev2@example.com (was dev@example.com); took it from team shop",
            "sec@example.com: changed the severity from high to low",
            "Bosun: fixed (no longer reported by the scan)",
            "Bosun: reopened (reported again)",
            "sec@example.com: moved it from reopened to risk accepted until 2099-03-01",
        ]
    );
    assert_eq!(detail["timeline"][3]["scan_id"], fixing_scan);
    let scan = fixing_scan;
    let html = app.get_text(&sec, &format!("/findings/{finding}")).await;
    assert!(
        html.contains(&format!("/projects/web/scans#scan-{scan}")),
        "the scan is linked"
    );
}

#[tokio::test]
async fn the_page_offers_a_picker_of_who_may_work_on_it_and_links_mentions() {
    use bosun_tests::{ONE_FINDING_SARIF, SHOP_PEOPLE};
    use reqwest::StatusCode;

    let app = spawn_app().await;
    app.shop_and_data_with(ONE_FINDING_SARIF.into(), SHOP_PEOPLE)
        .await;
    let id = app.count("SELECT id FROM findings").await;
    let dev = app.client_for("dev@example.com").await;
    let html = app.get_text(&dev, &format!("/findings/{id}")).await;
    let form = html
        .split(r#"class="toolbar assign-form""#)
        .nth(1)
        .expect("an assignment form")
        .split("</form>")
        .next()
        .unwrap();
    let options: Vec<&str> = form
        .split(r#"<option value=""#)
        .skip(1)
        .map(|o| o.split('"').next().unwrap())
        .collect();
    // nobody, the three who may work on web (not the viewer, not team data), no team, shop
    assert_eq!(
        options,
        [
            "",
            "dev2@example.com",
            "dev@example.com",
            "sec@example.com",
            "",
            "shop"
        ],
        "{form}"
    );
    assert!(form.contains(r#"<select name="user""#), "{form}");
    assert!(html.contains("Assign to me") && !html.contains("Unassign"));

    // once assigned: the person is chosen, "Unassign" offered, "Assign to me" not to them
    let f = id.to_string();
    let to_dev = [
        ("finding_id", f.as_str()),
        ("user", "dev@example.com"),
        ("team", "shop"),
    ];
    app.call_expecting(&dev, "assign", &to_dev, StatusCode::OK)
        .await;
    let html = app.get_text(&dev, &format!("/findings/{id}")).await;
    assert!(
        html.contains(r#"<option value="dev@example.com" selected"#),
        "{html}"
    );
    assert!(html.contains("Unassign") && !html.contains("Assign to me"));

    // a viewer sees who has it, and no picker
    let reader = app.client_for("reader@example.com").await;
    let html = app.get_text(&reader, &format!("/findings/{id}")).await;
    assert!(!html.contains("assign-form") && html.contains("dev@example.com"));

    // a comment's mentions are links in the page as the server renders it
    let body = "@sec and @shop, not @outsider nor @nobody <script>alert(1)</script>";
    let comment = app
        .call_expecting(
            &dev,
            "add_comment",
            &[("finding_id", f.as_str()), ("body", body)],
            StatusCode::OK,
        )
        .await;
    let sec = app.user_id("sec@example.com").await;
    let html = app.get_text(&reader, &format!("/findings/{id}")).await;
    assert!(
        html.contains(&format!(r#"id="comment-{}""#, comment.trim())),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            r#"<a class="mention" href="/findings?assignee={sec}" rel="noopener noreferrer nofollow">@sec</a>"#
        )),
        "{html}"
    );
    assert!(html.contains(r#"href="/findings?team=shop""#), "{html}");
    assert!(
        html.contains("not @outsider nor @nobody &lt;script&gt;"),
        "{html}"
    );
}
