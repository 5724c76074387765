//! The audit trail export: security and admins only, CSV that a spreadsheet cannot run,
//! JSON with before and after as values.

use bosun_tests::{ONE_FINDING_SARIF, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn security_exports_the_projects_audit_trail_as_csv_and_json() {
    let app = spawn_app().await;
    use app::workflow::Role;
    let people = [
        ("dev@example.com", "shop", Role::Developer),
        ("sec@example.com", "shop", Role::Security),
        ("outsider@example.com", "data", Role::Security),
    ];
    app.shop_and_data_with(ONE_FINDING_SARIF.into(), &people)
        .await;
    let finding = app.count("SELECT id FROM findings").await;
    let sec = app.client_for("sec@example.com").await;
    let formula = [("reason", "=HYPERLINK(\"http://evil\",\"x\")")];
    app.change_state(&sec, finding, "confirmed", &formula, StatusCode::OK)
        .await;

    let export = |client: reqwest::Client, query: &'static str| {
        let url = app.url(&format!("/api/audit/export?{query}"));
        async move {
            let r = client.get(url).send().await.unwrap();
            let disposition = r
                .headers()
                .get("content-disposition")
                .map(|v| v.to_str().unwrap().to_string());
            (r.status(), disposition, r.text().await.unwrap())
        }
    };
    let (status, disposition, csv) = export(sec.clone(), "project=web").await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert_eq!(
        disposition.as_deref(),
        Some("attachment; filename=\"bosun-audit-web.csv\"")
    );
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,at,actor,scan_id,subject_type,subject_id,action,before,after,reason"
    );
    let changed = lines
        .iter()
        .find(|l| l.contains("state_changed"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(changed.contains("sec@example.com"), "{changed}");
    assert!(
        changed.contains("\"'=HYPERLINK("),
        "the formula is defused: {changed}"
    );

    let (status, _, json) = export(sec, "project=web&format=json").await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<Value> = serde_json::from_str(&json).unwrap();
    let row = rows
        .iter()
        .find(|r| r["action"] == "state_changed")
        .unwrap();
    assert_eq!(row["before"]["state"], "open");
    assert_eq!(row["after"]["state"], "confirmed");

    let dev = app.client_for("dev@example.com").await;
    assert_eq!(export(dev, "project=web").await.0, StatusCode::FORBIDDEN);
    let outsider = app.client_for("outsider@example.com").await;
    assert_eq!(
        export(outsider.clone(), "project=web").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        export(outsider, "project=nope").await.0,
        StatusCode::NOT_FOUND,
        "another team's project answers like a missing one"
    );
    assert_eq!(
        export(reqwest::Client::new(), "project=web").await.0,
        StatusCode::UNAUTHORIZED
    );
    let sec = app.client_for("sec@example.com").await;
    assert_eq!(
        export(sec, "project=web&format=xlsx").await.0,
        StatusCode::BAD_REQUEST
    );
}
