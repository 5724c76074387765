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

/// The ids of (sec, dev2): for the links their mentions become.
async fn ids(app: &TestApp) -> (i64, i64) {
    (
        app.user_id("sec@example.com").await,
        app.user_id("dev2@example.com").await,
    )
}

#[tokio::test]
async fn mentions_are_links_only_for_people_who_may_see_it_and_teams_and_hostile_text_stays_text() {
    let (app, id) = spawn_app_and(estate).await;
    let (sec, dev2) = ids(&app).await;
    let dev = app.client_for("dev@example.com").await;
    let body = "@Sec and @dev2: see @shop and @data. Not @outsider (another team), not @nobody-here, \
                not `@dev2` nor dev2@example.com.\n\n\
                @sec\"><script>alert(1)</script> [@sec](javascript:alert(1)) \
                <a class=\"mention\" href=\"/findings?assignee=1\">forged</a> \
                [forged](/findings?team=shop) @shop<img src=x onerror=alert(1)>";
    comment(&app, &dev, &id, body, StatusCode::OK).await;
    let reader = app.client_for("reader@example.com").await;
    let html = listed(&app, &reader, &id).await[0]["html"]
        .as_str()
        .unwrap()
        .to_string();
    let link = |href: &str, text: &str| {
        format!(r#"<a class="mention" href="{href}" rel="noopener noreferrer nofollow">{text}</a>"#)
    };
    for expected in [
        link(&format!("/findings?assignee={sec}"), "@Sec"),
        link(&format!("/findings?assignee={dev2}"), "@dev2"),
        link("/findings?team=shop", "@shop"),
        link("/findings?team=data", "@data"),
    ] {
        assert!(html.contains(&expected), "{expected} in {html}");
    }
    for text in [
        "Not @outsider (another team), not @nobody-here",
        "<code>@dev2</code>",
        "dev2@example.com",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&lt;img src=x onerror=alert(1)&gt;",
    ] {
        assert!(html.contains(text), "{text} in {html}");
    }
    // every link is a mention link of the forms above; nothing else is live
    let links = html.matches("<a ").count();
    let mention_links = html
        .matches(r#"<a class="mention" href="/findings?"#)
        .count();
    assert_eq!(links, mention_links, "{html}");
    assert_eq!(
        links, 7,
        "Sec, dev2, shop, data, sec, sec (a dropped link's text), shop: {html}"
    );
    assert!(!html.contains("forged</a>"), "{html}");
    for forbidden in ["<script", "<img", "javascript:alert(1)\""] {
        assert!(!html.contains(forbidden), "{forbidden} in {html}");
    }
}

#[tokio::test]
async fn an_edit_records_whom_the_comment_now_mentions_and_notifies_no_one() {
    let (app, id) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    let body = comment(&app, &dev, &id, "@sec please look", StatusCode::OK).await;
    let comment_id = body.trim().to_string();
    let queued = "SELECT count(*) FROM notification_outbox WHERE kind = 'mentioned'";
    assert_eq!(app.count(queued).await, 1);
    let form = [
        ("comment_id", comment_id.as_str()),
        ("body", "@dev2 please look (sec is away); cc @shop"),
    ];
    app.call_expecting(&dev, "edit_comment", &form, StatusCode::OK)
        .await;
    let mentioned: Vec<String> = app
        .scalars(
            "SELECT coalesce(u.email, t.slug) FROM comment_mentions m
           LEFT JOIN users u ON u.id = m.user_id LEFT JOIN teams t ON t.id = m.team_id
          ORDER BY 1",
        )
        .await;
    assert_eq!(mentioned, ["dev2@example.com", "shop"]);
    assert_eq!(app.count(queued).await, 1, "an edit sends no second round");
}
