//! Who sees what: a person's role comes from the team owning each project.

use bosun_tests::{ONE_FINDING_SARIF, TestApp, spawn_app_and};
use reqwest::StatusCode;
use serde_json::Value;

/// Team shop owns project web, team data owns warehouse; each has one finding. People:
/// dev (developer in shop), analyst (viewer in data), sec (security on every team),
/// admin, and nobody (no team).
async fn estate(app: &TestApp) {
    for (team, project) in [("shop", "web"), ("data", "warehouse")] {
        let token = app.team_project_with_token(team, project).await;
        app.push_ok(&token, "?target=repo", ONE_FINDING_SARIF.into())
            .await;
    }
    use app::workflow::Role;
    app.create_member("dev@example.com", "shop", Role::Developer)
        .await;
    app.create_member("analyst@example.com", "data", Role::Viewer)
        .await;
    app.create_user("sec@example.com", bosun_tests::PASSWORD)
        .await;
    app.create_admin("admin@example.com").await;
    app.create_user("nobody@example.com", bosun_tests::PASSWORD)
        .await;
    server::users::set_security_all_teams(&app.pool, "sec@example.com", true)
        .await
        .unwrap();
}

/// The projects whose findings `email` sees.
async fn visible_projects(app: &TestApp, email: &str) -> Vec<String> {
    let client = app.client_for(email).await;
    let body = app
        .call_expecting(
            &client,
            "list_findings",
            &[("query", "state=all")],
            StatusCode::OK,
        )
        .await;
    let page: Value = serde_json::from_str(&body).unwrap();
    let rows = page["rows"].as_array().unwrap();
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
    let (app, _) = spawn_app_and(estate).await;
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
    let (app, _) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    let scans = async |client: &reqwest::Client, project: &str, status| {
        app.call_expecting(client, "list_scans", &[("project", project)], status)
            .await
    };
    scans(&dev, "web", StatusCode::OK).await;
    let other = scans(&dev, "warehouse", StatusCode::NOT_FOUND).await;
    let missing = scans(&dev, "no-such", StatusCode::NOT_FOUND).await;
    assert!(other.contains("No such project."), "{other}");
    assert_eq!(other, missing, "existence does not leak");
    scans(&reqwest::Client::new(), "web", StatusCode::UNAUTHORIZED).await;
}
