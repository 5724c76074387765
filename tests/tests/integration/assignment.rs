//! Assignment: new findings default to the owning team (and the project's default
//! assignee); people hand findings on to someone with a role on the project; "my work".

use bosun_tests::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;
use server::projects::{self, ProjectSlug};
use server::{teams, users};

const PASSWORD: &str = "correct horse battery";
const SARIF: &str = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"TinyScan"}},
  "results":[{"ruleId":"T1","level":"error","message":{"text":"a problem"},
  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.py"},"region":{"startLine":3}}}]}]}]}"#;

/// Project web of team shop, default assignee dev; dev2 a developer and reader a viewer in
/// shop; outsider a developer in team data. Returns the finding's id.
async fn estate(app: &TestApp) -> i64 {
    let pool = &app.pool;
    let shop = teams::create(pool, &ProjectSlug::parse("shop").unwrap(), "")
        .await
        .unwrap();
    teams::create(pool, &ProjectSlug::parse("data").unwrap(), "")
        .await
        .unwrap();
    let web = projects::create(pool, &ProjectSlug::parse("web").unwrap(), "")
        .await
        .unwrap();
    teams::assign_project(pool, shop.id, web.id).await.unwrap();
    for (email, team, role) in [
        ("dev@example.com", "shop", app::workflow::Role::Developer),
        ("dev2@example.com", "shop", app::workflow::Role::Developer),
        ("reader@example.com", "shop", app::workflow::Role::Viewer),
        (
            "outsider@example.com",
            "data",
            app::workflow::Role::Developer,
        ),
    ] {
        users::create(pool, email, PASSWORD, false).await.unwrap();
        teams::add_member(pool, team, email, role).await.unwrap();
    }
    sqlx::query(
        "UPDATE projects SET default_assignee_id = (SELECT id FROM users WHERE email = 'dev@example.com')",
    )
    .execute(pool)
    .await
    .unwrap();
    let token = server::tokens::create(pool, web.id, "ci").await.unwrap();
    let (status, body) = app
        .push_report(Some(&token), "?target=repo", SARIF.into())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.count("SELECT id FROM findings").await
}

async fn assignee(app: &TestApp, finding: i64) -> (Option<String>, Option<String>) {
    sqlx::query_as(
        "SELECT u.email, t.slug FROM findings f LEFT JOIN users u ON u.id = f.assignee_user_id
           LEFT JOIN teams t ON t.id = f.assignee_team_id WHERE f.id = $1",
    )
    .bind(finding)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

async fn my_work(app: &TestApp, email: &str) -> usize {
    let client = app.signed_in_client(email, PASSWORD).await;
    let (status, body) = app.call_server_fn(&client, "my_work", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str::<Vec<Value>>(&body).unwrap().len()
}

#[tokio::test]
async fn new_findings_go_to_the_owning_team_and_the_default_assignee() {
    let app = spawn_app().await;
    let finding = estate(&app).await;
    assert_eq!(
        assignee(&app, finding).await,
        (Some("dev@example.com".into()), Some("shop".into()))
    );
    assert_eq!(my_work(&app, "dev@example.com").await, 1);
    assert_eq!(my_work(&app, "dev2@example.com").await, 0);
}

#[tokio::test]
async fn findings_are_handed_on_to_people_with_a_role_on_the_project_only() {
    let app = spawn_app().await;
    let finding = estate(&app).await;
    let id = finding.to_string();
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let (status, body) = app
        .call_server_fn(
            &dev,
            "assign",
            &[
                ("finding_id", &id),
                ("user", "dev2@example.com"),
                ("team", "shop"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        assignee(&app, finding).await,
        (Some("dev2@example.com".into()), Some("shop".into()))
    );
    assert_eq!(my_work(&app, "dev2@example.com").await, 1);
    assert_eq!(my_work(&app, "dev@example.com").await, 0);
    let (before, after): (Value, Value) =
        sqlx::query_as("SELECT before, after FROM audit_events WHERE action = 'assigned'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_ne!(before["user_id"], after["user_id"], "{before} {after}");

    let (status, body) = app
        .call_server_fn(
            &dev,
            "assign",
            &[("finding_id", &id), ("user", "outsider@example.com")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("not someone with a role on project web"),
        "{body}"
    );
    let (status, body) = app
        .call_server_fn(
            &dev,
            "assign",
            &[("finding_id", &id), ("team", "no-such-team")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let reader = app.signed_in_client("reader@example.com", PASSWORD).await;
    let (status, body) = app
        .call_server_fn(
            &reader,
            "assign",
            &[("finding_id", &id), ("user", "reader@example.com")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let outsider = app.signed_in_client("outsider@example.com", PASSWORD).await;
    let (status, _) = app
        .call_server_fn(
            &outsider,
            "assign",
            &[("finding_id", &id), ("user", "outsider@example.com")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        assignee(&app, finding).await,
        (Some("dev2@example.com".into()), Some("shop".into()))
    );

    // unassigning: both empty
    let (status, body) = app
        .call_server_fn(
            &dev,
            "assign",
            &[("finding_id", &id), ("user", ""), ("team", "")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(assignee(&app, finding).await, (None, None));
}
