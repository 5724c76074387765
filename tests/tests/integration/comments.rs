//! Comments: markdown shown inert, @mentions recorded, edits by their author only and only
//! for a while, every comment and edit audited.

use bosun_tests::{ONE_FINDING_SARIF, SHOP_PEOPLE, TestApp, spawn_app_and};
use reqwest::StatusCode;
use serde_json::Value;

/// Project web of team shop with one finding, and [`SHOP_PEOPLE`]; the finding's id.
async fn estate(app: &TestApp) -> String {
    app.shop_and_data_with(ONE_FINDING_SARIF.into(), SHOP_PEOPLE)
        .await;
    app.count("SELECT id FROM findings").await.to_string()
}

/// Comments `body` on `finding` as `client`, expecting `status`; the answer's body.
async fn comment(
    app: &TestApp,
    client: &reqwest::Client,
    finding: &str,
    body: &str,
    status: StatusCode,
) -> String {
    let form = [("finding_id", finding), ("body", body)];
    app.call_expecting(client, "add_comment", &form, status)
        .await
}

/// The comments on `finding` as `client` lists them.
async fn listed(app: &TestApp, client: &reqwest::Client, finding: &str) -> Vec<Value> {
    let form = [("finding_id", finding)];
    let body = app
        .call_expecting(client, "list_comments", &form, StatusCode::OK)
        .await;
    serde_json::from_str(&body).unwrap()
}

const HOSTILE: &str = "Exploitable from the login form, @sec please confirm; cc @shop and @nobody-here.\n\n\
<script>alert(1)</script> <img src=x onerror=alert(1)>\n\n\
[click](javascript:alert(1)) [fine](https://example.com/advisory) ![pixel](https://evil.example/p.png) \
<a href=\"javascript:alert(2)\">raw</a> `@dev in code`";

#[tokio::test]
async fn a_comment_records_its_mentions_and_is_shown_inert() {
    let (app, id) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    comment(&app, &dev, &id, HOSTILE, StatusCode::OK).await;

    let mentioned: Vec<String> = app
        .scalars(
            "SELECT coalesce(u.email, t.slug) FROM comment_mentions m
           LEFT JOIN users u ON u.id = m.user_id LEFT JOIN teams t ON t.id = m.team_id
          ORDER BY 1",
        )
        .await;
    assert_eq!(
        mentioned,
        ["sec@example.com", "shop"],
        "a handle in code or naming nobody mentions no one"
    );

    let reader = app.client_for("reader@example.com").await;
    let comments = listed(&app, &reader, &id).await;
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
    let commented = "SELECT count(*) FROM audit_events WHERE action = 'commented'";
    assert_eq!(app.count(commented).await, 1);
}

#[tokio::test]
async fn viewers_and_other_teams_cannot_comment() {
    let (app, id) = spawn_app_and(estate).await;
    let reader = app.client_for("reader@example.com").await;
    comment(&app, &reader, &id, "hi", StatusCode::FORBIDDEN).await;
    let outsider = app.client_for("outsider@example.com").await;
    comment(&app, &outsider, &id, "hi", StatusCode::NOT_FOUND).await;
    let form = [("finding_id", id.as_str())];
    app.call_expecting(&outsider, "list_comments", &form, StatusCode::NOT_FOUND)
        .await;
    let dev = app.client_for("dev@example.com").await;
    comment(&app, &dev, &id, "   ", StatusCode::BAD_REQUEST).await;
    assert_eq!(app.count("SELECT count(*) FROM comments").await, 0);
}

#[tokio::test]
async fn only_the_author_edits_and_only_within_the_window() {
    let (app, id) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    let body = comment(&app, &dev, &id, "frist", StatusCode::OK).await;
    let comment = body.trim();
    let edit = async |client: &reqwest::Client, body: &str, status| {
        let form = [("comment_id", comment), ("body", body)];
        app.call_expecting(client, "edit_comment", &form, status)
            .await
    };

    let dev2 = app.client_for("dev2@example.com").await;
    edit(&dev2, "mine now", StatusCode::FORBIDDEN).await;
    edit(&dev, "first", StatusCode::OK).await;
    let (before, after): (String, String) = app
        .row("SELECT before->>'body', after->>'body' FROM audit_events WHERE action = 'edited'")
        .await;
    assert_eq!((before.as_str(), after.as_str()), ("frist", "first"));

    app.execute("UPDATE comments SET created_at = now() - interval '1 hour'")
        .await;
    let body = edit(&dev, "late", StatusCode::CONFLICT).await;
    assert!(body.contains("15 minutes"), "{body}");
    let stored: String = app.scalar("SELECT body FROM comments").await;
    assert_eq!(stored, "first");
}

#[tokio::test]
async fn the_page_offers_editing_to_the_author_only_while_the_window_lasts() {
    let (app, id) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    comment(&app, &dev, &id, "**first** take", StatusCode::OK).await;
    let mine = listed(&app, &dev, &id).await.remove(0);
    assert_eq!(mine["editable"], true);
    assert_eq!(mine["source"], "**first** take");
    let dev2 = app.client_for("dev2@example.com").await;
    let theirs = listed(&app, &dev2, &id).await.remove(0);
    assert_eq!(theirs["editable"], false);
    assert_eq!(theirs["source"], "");
    app.execute("UPDATE comments SET created_at = now() - interval '20 minutes'")
        .await;
    assert_eq!(
        listed(&app, &dev, &id).await[0]["editable"],
        false,
        "the window has passed"
    );
}
