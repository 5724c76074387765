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

/// The picker's answer for finding `finding` as `email`: (emails in order, total, team).
async fn picker(app: &TestApp, email: &str, finding: i64) -> (Vec<String>, i64, Value) {
    let client = app.client_for(email).await;
    let id = finding.to_string();
    let body = app
        .call_expecting(
            &client,
            "assignable",
            &[("finding_id", id.as_str())],
            StatusCode::OK,
        )
        .await;
    let json: Value = serde_json::from_str(&body).unwrap();
    let people = json["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap().to_string())
        .collect();
    (
        people,
        json["total"].as_i64().unwrap(),
        json["team"].clone(),
    )
}

#[tokio::test]
async fn the_picker_lists_exactly_the_people_who_may_work_on_the_project_by_name() {
    let (app, finding) = spawn_app_and(estate).await;
    app.create_admin("admin@example.com").await;
    app.create_user("allsec@example.com", bosun_tests::PASSWORD)
        .await;
    app.execute("UPDATE users SET security_all_teams = true WHERE email = 'allsec@example.com'")
        .await;
    app.create_member("ops@example.com", "shop", app::workflow::Role::Ops)
        .await;
    // names sort before emails where there are names
    app.execute("UPDATE users SET display_name = 'Zed Admin' WHERE email = 'admin@example.com'")
        .await;
    app.execute("UPDATE users SET display_name = 'Bea' WHERE email = 'dev2@example.com'")
        .await;

    // what the database says: the owning team's members whose role may work on findings,
    // everyone's admins and all-teams security engineers; not the viewer, not team data
    let direct: Vec<String> = app
        .scalars(
            "SELECT u.email FROM users u
              WHERE u.is_admin OR u.security_all_teams
                 OR u.id IN (SELECT m.user_id FROM team_members m JOIN teams t ON t.id = m.team_id
                              WHERE t.slug = 'shop' AND m.role IN ('developer', 'ops', 'security'))
              ORDER BY lower(coalesce(nullif(u.display_name, ''), u.email)), u.email",
        )
        .await;
    let expected = [
        "allsec@example.com",
        "Bea: dev2@example.com",
        "dev@example.com",
        "ops@example.com",
        "sec@example.com",
        "Zed Admin: admin@example.com",
    ]
    .map(|e| e.rsplit(": ").next().unwrap().to_string());
    assert_eq!(direct, expected);
    for who in ["dev@example.com", "sec@example.com", "admin@example.com"] {
        let (people, total, team) = picker(&app, who, finding).await;
        assert_eq!(people, expected, "as {who}");
        assert_eq!(total, expected.len() as i64);
        assert_eq!(team[0], "shop");
    }
    // a viewer is offered nobody (and shown no picker); another team cannot see it
    let (people, _, team) = picker(&app, "reader@example.com", finding).await;
    assert!(people.is_empty() && team.is_null());
    let outsider = app.client_for("outsider@example.com").await;
    let id = finding.to_string();
    app.call_expecting(
        &outsider,
        "assignable",
        &[("finding_id", id.as_str())],
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn a_project_with_more_people_than_the_picker_lists_says_so() {
    let (app, finding) = spawn_app_and(estate).await;
    app.execute(
        "INSERT INTO users (email, password_hash)
         SELECT 'p' || lpad(g::text, 3, '0') || '@example.com', 'x' FROM generate_series(1, 520) g",
    )
    .await;
    app.execute(
        "INSERT INTO team_members (team_id, user_id, role)
         SELECT (SELECT id FROM teams WHERE slug = 'shop'), id, 'developer'
           FROM users WHERE email LIKE 'p___@example.com'",
    )
    .await;
    let (people, total, _) = picker(&app, "dev@example.com", finding).await;
    assert_eq!(people.len(), app::assignment::PICKER_MAX);
    assert_eq!(total, 520 + 3, "dev, dev2 and sec too");
    assert_eq!(
        people[0], "dev2@example.com",
        "by name: dev2 sorts before p001"
    );
    let dev = app.client_for("dev@example.com").await;
    let html = app.get_text(&dev, &format!("/findings/{finding}")).await;
    assert!(
        html.contains("523 people may work on this project"),
        "{html}"
    );
    assert!(html.contains(r#"<datalist id="assignable-people">"#));
    // anyone beyond the list can still be typed in
    let id = finding.to_string();
    let to_p520 = [("user", "p520@example.com"), ("team", "shop")];
    assign(&app, &dev, &id, &to_p520, StatusCode::OK).await;
    assert_eq!(
        assignee(&app, finding).await.0.as_deref(),
        Some("p520@example.com")
    );
}

#[tokio::test]
async fn assigning_someone_who_may_not_work_on_the_project_is_refused_and_changes_nothing() {
    let (app, finding) = spawn_app_and(estate).await;
    let id = finding.to_string();
    let dev = app.client_for("dev@example.com").await;
    let before = assignee(&app, finding).await;
    let events = "SELECT count(*) FROM audit_events WHERE action = 'assigned'";
    let queued = "SELECT count(*) FROM notification_outbox";
    let (events_before, queued_before) = (app.count(events).await, app.count(queued).await);
    for (email, says) in [
        (
            "reader@example.com",
            "reader@example.com is a viewer on project web and may not work on its findings",
        ),
        (
            "outsider@example.com",
            "outsider@example.com is not someone with a role on project web",
        ),
        (
            "nobody@example.com",
            "nobody@example.com is not someone with a role on project web",
        ),
    ] {
        let body = assign(
            &app,
            &dev,
            &id,
            &[("user", email), ("team", "shop")],
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert!(body.contains(says), "{body}");
        assert!(body.contains(r#""field":"user""#), "{body}");
    }
    assert_eq!(assignee(&app, finding).await, before);
    assert_eq!(app.count(events).await, events_before);
    assert_eq!(app.count(queued).await, queued_before);

    // "Unassign" takes the person off and leaves the team
    assign(
        &app,
        &dev,
        &id,
        &[("user", ""), ("team", "shop")],
        StatusCode::OK,
    )
    .await;
    assert_eq!(assignee(&app, finding).await, (None, Some("shop".into())));
}
