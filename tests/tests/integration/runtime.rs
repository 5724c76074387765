//! Falco runtime alerts and Bosun's generic format through the HTTP API.

use bosun_tests::{spawn_app_with_project, workspace_root};
use reqwest::StatusCode;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(workspace_root().join("server/fixtures").join(path)).unwrap()
}

#[tokio::test]
async fn falco_events_group_per_workload_and_count_only_new_events() {
    let (app, token) = spawn_app_with_project("cluster").await;
    let first = app
        .push_ok(
            &token,
            "?target=prod-eu-1",
            fixture("falco/shell-in-container.ndjson"),
        )
        .await;
    assert_eq!(
        (
            first["format"].as_str(),
            first["total"].as_i64(),
            first["new"].as_i64()
        ),
        (Some("falco"), Some(3), Some(3))
    );
    let occurrences = || async {
        app.scalar::<i32>(
            "SELECT occurrences FROM findings WHERE location = 'payments/payments-api'",
        )
        .await
    };
    assert_eq!(occurrences().await, 4);
    let last_seen: String = app.scalar("SELECT to_char(last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM findings WHERE location = 'payments/payments-api'").await;
    assert_eq!(
        last_seen, "2026-11-20 09:30",
        "last seen is the newest event, not the upload time"
    );

    let (_, replay) = app
        .push_report(
            Some(&token),
            "?target=prod-eu-1",
            fixture("falco/shell-in-container.ndjson"),
        )
        .await;
    assert_eq!(
        (replay["new"].as_i64(), replay["unchanged"].as_i64()),
        (Some(0), Some(3))
    );
    assert_eq!(
        occurrences().await,
        4,
        "re-sending the same events counts nothing"
    );

    let later = r#"{"output":"12:00:00: Notice shell","priority":"Notice","rule":"Terminal shell in container","time":"2026-11-20T12:00:00Z","hostname":"node-z","output_fields":{"k8s.ns.name":"payments","k8s.pod.name":"payments-api-66b5c4d3e2-zzzzz","container.image.repository":"registry.acme.io/payments-api"}}"#;
    let (_, next) = app
        .push_report(Some(&token), "?target=prod-eu-1", later.into())
        .await;
    assert_eq!(
        next["new"].as_i64(),
        Some(0),
        "a new pod of the same Deployment is the same finding"
    );
    assert_eq!(occurrences().await, 5);
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 3);
}

#[tokio::test]
async fn the_generic_bosun_format_is_accepted_and_validated() {
    let (app, token) = spawn_app_with_project("tools").await;
    let json = app
        .push_ok(&token, "", fixture("bosun/license-check.json"))
        .await;
    assert_eq!(
        (json["format"].as_str(), json["total"].as_i64()),
        (Some("bosun"), Some(3))
    );
    let (layer, asset_kind, fixed): (String, Option<String>, Option<String>) = app.row("SELECT layer::text, asset_kind::text, fixed_version FROM findings WHERE rule_id = 'LIC-GPL'").await;
    assert_eq!(
        (layer.as_str(), asset_kind, fixed.as_deref()),
        ("dependency", None, Some("2.0.0"))
    );

    let bad = br#"{"bosun_format":1,"scanner":{"name":"t"},"findings":[{"title":"x","severity":"high","layer":"kernel"}]}"#;
    let (status, json) = app.push_report(Some(&token), "", bad.to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        json["error"],
        "bosun report is invalid: findings[0].layer: unknown layer 'kernel'"
    );
}
