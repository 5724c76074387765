//! Comments: markdown shown inert, @mentions recorded, edits by their author only and only
//! for a while, every comment and edit audited.

use bosun_tests::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

const PASSWORD: &str = "correct horse battery";
const SARIF: &str = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"TinyScan"}},
  "results":[{"ruleId":"T1","level":"error","message":{"text":"a problem"},
  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.py"},"region":{"startLine":3}}}]}]}]}"#;

/// Project web of team shop with one finding; dev and dev2 developers, reader a viewer in
/// shop, sec security in shop; outsider a developer in team data.
async fn estate(app: &TestApp) -> i64 {
    use app::workflow::Role;
    let people = [
        ("dev@example.com", "shop", Role::Developer),
        ("dev2@example.com", "shop", Role::Developer),
        ("reader@example.com", "shop", Role::Viewer),
        ("sec@example.com", "shop", Role::Security),
        ("outsider@example.com", "data", Role::Developer),
    ];
    app.shop_and_data(SARIF.into(), &people, PASSWORD).await;
    app.count("SELECT id FROM findings").await
}

const HOSTILE: &str = "Exploitable from the login form, @sec please confirm; cc @shop and @nobody-here.\n\n\
<script>alert(1)</script> <img src=x onerror=alert(1)>\n\n\
[click](javascript:alert(1)) [fine](https://example.com/advisory) ![pixel](https://evil.example/p.png) \
<a href=\"javascript:alert(2)\">raw</a> `@dev in code`";

#[tokio::test]
async fn a_comment_records_its_mentions_and_is_shown_inert() {
    let app = spawn_app().await;
    let finding = estate(&app).await;
    let id = finding.to_string();
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let (status, body) = app
        .call_server_fn(
            &dev,
            "add_comment",
            &[("finding_id", &id), ("body", HOSTILE)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let mentioned: Vec<String> = sqlx::query_scalar(
        "SELECT coalesce(u.email, t.slug) FROM comment_mentions m
           LEFT JOIN users u ON u.id = m.user_id LEFT JOIN teams t ON t.id = m.team_id
          ORDER BY 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        mentioned,
        ["sec@example.com", "shop"],
        "a handle in code or naming nobody mentions no one"
    );

    let reader = app.signed_in_client("reader@example.com", PASSWORD).await;
    let (status, listed) = app
        .call_server_fn(&reader, "list_comments", &[("finding_id", &id)])
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let comments: Vec<Value> = serde_json::from_str(&listed).unwrap();
    assert_eq!(comments.len(), 1);
    let html = comments[0]["html"].as_str().unwrap();
    assert!(
        html.contains(r#"href="https://example.com/advisory""#),
        "{html}"
    );
    // raw HTML is shown as text; no tag or link from it is live
    for forbidden in ["<script", "<img", "<a href=\"javascript"] {
        assert!(
            !html.to_lowercase().contains(forbidden),
            "{forbidden} in {html}"
        );
    }
    assert_eq!(comments[0]["author_email"], "dev@example.com");
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'commented'")
            .await,
        1
    );
}

#[tokio::test]
async fn viewers_and_other_teams_cannot_comment() {
    let app = spawn_app().await;
    let finding = estate(&app).await;
    let id = finding.to_string();
    let reader = app.signed_in_client("reader@example.com", PASSWORD).await;
    let (status, body) = app
        .call_server_fn(
            &reader,
            "add_comment",
            &[("finding_id", &id), ("body", "hi")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let outsider = app.signed_in_client("outsider@example.com", PASSWORD).await;
    let (status, body) = app
        .call_server_fn(
            &outsider,
            "add_comment",
            &[("finding_id", &id), ("body", "hi")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = app
        .call_server_fn(&outsider, "list_comments", &[("finding_id", &id)])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let (status, body) = app
        .call_server_fn(&dev, "add_comment", &[("finding_id", &id), ("body", "   ")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(app.count("SELECT count(*) FROM comments").await, 0);
}

#[tokio::test]
async fn only_the_author_edits_and_only_within_the_window() {
    let app = spawn_app().await;
    let finding = estate(&app).await;
    let id = finding.to_string();
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let (status, body) = app
        .call_server_fn(
            &dev,
            "add_comment",
            &[("finding_id", &id), ("body", "frist")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let comment = body.trim().to_string();

    let dev2 = app.signed_in_client("dev2@example.com", PASSWORD).await;
    let (status, body) = app
        .call_server_fn(
            &dev2,
            "edit_comment",
            &[("comment_id", &comment), ("body", "mine now")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, body) = app
        .call_server_fn(
            &dev,
            "edit_comment",
            &[("comment_id", &comment), ("body", "first")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (before, after): (String, String) = sqlx::query_as(
        "SELECT before->>'body', after->>'body' FROM audit_events WHERE action = 'edited'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((before.as_str(), after.as_str()), ("frist", "first"));

    sqlx::query("UPDATE comments SET created_at = now() - interval '1 hour'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = app
        .call_server_fn(
            &dev,
            "edit_comment",
            &[("comment_id", &comment), ("body", "late")],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("15 minutes"), "{body}");
    let stored: String = sqlx::query_scalar("SELECT body FROM comments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, "first");
}

#[tokio::test]
async fn the_page_offers_editing_to_the_author_only_while_the_window_lasts() {
    let app = spawn_app().await;
    let finding = estate(&app).await;
    let id = finding.to_string();
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let (status, body) = app
        .call_server_fn(
            &dev,
            "add_comment",
            &[("finding_id", &id), ("body", "**first** take")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = |client: reqwest::Client| {
        let app = &app;
        let id = id.clone();
        async move {
            let (status, body) = app
                .call_server_fn(&client, "list_comments", &[("finding_id", &id)])
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            serde_json::from_str::<Vec<Value>>(&body).unwrap().remove(0)
        }
    };
    let mine = listed(dev.clone()).await;
    assert_eq!(mine["editable"], true);
    assert_eq!(mine["source"], "**first** take");
    let dev2 = app.signed_in_client("dev2@example.com", PASSWORD).await;
    let theirs = listed(dev2).await;
    assert_eq!(theirs["editable"], false);
    assert_eq!(theirs["source"], "");
    sqlx::query("UPDATE comments SET created_at = now() - interval '20 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        listed(dev).await["editable"],
        false,
        "the window has passed"
    );
}
