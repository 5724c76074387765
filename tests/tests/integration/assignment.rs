//! Assignment: new findings default to the owning team (and the project's default
//! assignee); people hand findings on to someone with a role on the project; "my work".

use bosun_tests::{ONE_FINDING_SARIF, SHOP_PEOPLE, TestApp, spawn_app_and};
use reqwest::StatusCode;
use serde_json::Value;

/// Project web of team shop, default assignee dev, with one finding, and [`SHOP_PEOPLE`].
/// Returns the finding's id.
async fn estate(app: &TestApp) -> i64 {
    let token = app.shop_and_data(SHOP_PEOPLE).await;
    app.execute(
        "UPDATE projects SET default_assignee_id = (SELECT id FROM users WHERE email = 'dev@example.com')",
    )
    .await;
    app.push_ok(&token, "?target=repo", ONE_FINDING_SARIF.into())
        .await;
    app.count("SELECT id FROM findings").await
}

/// Who finding `finding` is assigned to: (person, team).
async fn assignee(app: &TestApp, finding: i64) -> (Option<String>, Option<String>) {
    app.row(&format!(
        "SELECT u.email, t.slug FROM findings f LEFT JOIN users u ON u.id = f.assignee_user_id
           LEFT JOIN teams t ON t.id = f.assignee_team_id WHERE f.id = {finding}"
    ))
    .await
}

/// How many findings `email`'s "my work" lists.
async fn my_work(app: &TestApp, email: &str) -> usize {
    let client = app.client_for(email).await;
    let body = app
        .call_expecting(&client, "my_work", &[], StatusCode::OK)
        .await;
    serde_json::from_str::<Vec<Value>>(&body).unwrap().len()
}

/// Assigns `finding` as `client` to whom `fields` name (user, team), expecting `status`;
/// the answer's body.
async fn assign(
    app: &TestApp,
    client: &reqwest::Client,
    finding: &str,
    fields: &[(&str, &str)],
    status: StatusCode,
) -> String {
    let mut form = vec![("finding_id", finding)];
    form.extend_from_slice(fields);
    app.call_expecting(client, "assign", &form, status).await
}

#[tokio::test]
async fn new_findings_go_to_the_owning_team_and_the_default_assignee() {
    let (app, finding) = spawn_app_and(estate).await;
    assert_eq!(
        assignee(&app, finding).await,
        (Some("dev@example.com".into()), Some("shop".into()))
    );
    assert_eq!(my_work(&app, "dev@example.com").await, 1);
    assert_eq!(my_work(&app, "dev2@example.com").await, 0);
}

#[tokio::test]
async fn findings_are_handed_on_to_people_with_a_role_on_the_project_only() {
    let (app, finding) = spawn_app_and(estate).await;
    let id = finding.to_string();
    let dev = app.client_for("dev@example.com").await;
    let to_dev2 = [("user", "dev2@example.com"), ("team", "shop")];
    assign(&app, &dev, &id, &to_dev2, StatusCode::OK).await;
    let dev2_in_shop = (Some("dev2@example.com".into()), Some("shop".into()));
    assert_eq!(assignee(&app, finding).await, dev2_in_shop);
    assert_eq!(my_work(&app, "dev2@example.com").await, 1);
    assert_eq!(my_work(&app, "dev@example.com").await, 0);
    let (before, after): (Value, Value) = app
        .row("SELECT before, after FROM audit_events WHERE action = 'assigned'")
        .await;
    assert_ne!(before["user_id"], after["user_id"], "{before} {after}");

    // not to someone without a role on the project, nor to a team that does not exist; a
    // viewer may not hand it on, and another team cannot see it
    let reader = app.client_for("reader@example.com").await;
    let outsider = app.client_for("outsider@example.com").await;
    for (client, fields, status, says) in [
        (
            &dev,
            ("user", "outsider@example.com"),
            StatusCode::BAD_REQUEST,
            "not someone with a role on project web",
        ),
        (&dev, ("team", "no-such-team"), StatusCode::BAD_REQUEST, ""),
        (
            &reader,
            ("user", "reader@example.com"),
            StatusCode::FORBIDDEN,
            "",
        ),
        (
            &outsider,
            ("user", "outsider@example.com"),
            StatusCode::NOT_FOUND,
            "",
        ),
    ] {
        let body = assign(&app, client, &id, &[fields], status).await;
        assert!(body.contains(says), "{body}");
    }
    assert_eq!(assignee(&app, finding).await, dev2_in_shop);

    // unassigning: both empty
    let nobody = [("user", ""), ("team", "")];
    assign(&app, &dev, &id, &nobody, StatusCode::OK).await;
    assert_eq!(assignee(&app, finding).await, (None, None));
}
