//! Who sees what: a person's role comes from the team owning each project.

use bosun_tests::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;
use server::projects::{self, ProjectSlug};
use server::{teams, users};

const PASSWORD: &str = "correct horse battery";

const SARIF: &str = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"TinyScan"}},
  "results":[{"ruleId":"T1","level":"error","message":{"text":"a problem"},
  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.py"},"region":{"startLine":3}}}]}]}]}"#;

/// Team shop owns project web, team data owns warehouse; each has one finding. People:
/// dev (developer in shop), analyst (viewer in data), sec (security on every team),
/// admin, and nobody (no team).
async fn estate(app: &TestApp) {
    let pool = &app.pool;
    for (team, project) in [("shop", "web"), ("data", "warehouse")] {
        let t = teams::create(pool, &ProjectSlug::parse(team).unwrap(), "")
            .await
            .unwrap();
        let p = projects::create(pool, &ProjectSlug::parse(project).unwrap(), "")
            .await
            .unwrap();
        teams::assign_project(pool, t.id, p.id).await.unwrap();
        let token = server::tokens::create(pool, p.id, "ci").await.unwrap();
        let (status, body) = app
            .push_report(Some(&token), "?target=repo", SARIF.into())
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for (email, admin) in [
        ("dev@example.com", false),
        ("analyst@example.com", false),
        ("sec@example.com", false),
        ("admin@example.com", true),
        ("nobody@example.com", false),
    ] {
        users::create(pool, email, PASSWORD, admin).await.unwrap();
    }
    teams::add_member(
        pool,
        "shop",
        "dev@example.com",
        app::workflow::Role::Developer,
    )
    .await
    .unwrap();
    teams::add_member(
        pool,
        "data",
        "analyst@example.com",
        app::workflow::Role::Viewer,
    )
    .await
    .unwrap();
    users::set_security_all_teams(pool, "sec@example.com", true)
        .await
        .unwrap();
}

/// A fresh client signed in as `email`.
async fn visible_projects(app: &TestApp, email: &str) -> Vec<String> {
    let client = app.signed_in_client(email, PASSWORD).await;
    let (status, body) = app.call_server_fn(&client, "list_findings", &[]).await;
    assert_eq!(status, StatusCode::OK, "{email}: {body}");
    let rows: Vec<Value> = serde_json::from_str(&body).unwrap();
    let mut projects: Vec<String> = rows
        .iter()
        .map(|r| r["project_slug"].as_str().unwrap().to_string())
        .collect();
    projects.sort();
    projects.dedup();
    projects
}

#[tokio::test]
async fn people_see_the_findings_of_their_teams_projects_only() {
    let app = spawn_app().await;
    estate(&app).await;
    assert_eq!(visible_projects(&app, "dev@example.com").await, ["web"]);
    assert_eq!(
        visible_projects(&app, "analyst@example.com").await,
        ["warehouse"]
    );
    assert_eq!(
        visible_projects(&app, "sec@example.com").await,
        ["warehouse", "web"]
    );
    assert_eq!(
        visible_projects(&app, "admin@example.com").await,
        ["warehouse", "web"]
    );
    assert!(
        visible_projects(&app, "nobody@example.com")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn another_teams_scan_history_answers_like_a_missing_project() {
    let app = spawn_app().await;
    estate(&app).await;
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let (status, body) = app
        .call_server_fn(&dev, "list_scans", &[("project", "web")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, other) = app
        .call_server_fn(&dev, "list_scans", &[("project", "warehouse")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{other}");
    let (_, missing) = app
        .call_server_fn(&dev, "list_scans", &[("project", "no-such")])
        .await;
    assert!(other.contains("No such project."), "{other}");
    assert_eq!(other, missing, "existence does not leak");

    let anonymous = reqwest::Client::new();
    let (status, _) = app
        .call_server_fn(&anonymous, "list_scans", &[("project", "web")])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
