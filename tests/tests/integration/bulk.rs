//! Bulk triage: many findings moved or assigned at once with one reason, each with its own
//! audit event; refused whole when the person lacks the right on any of them.

use bosun_tests::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

fn report(rules: &[&str]) -> Vec<u8> {
    let items: Vec<Value> = rules
        .iter()
        .map(|rule| {
            json!({"rule_id": rule, "title": format!("{rule} problem"), "severity": "high",
                   "layer": "code", "file": format!("{rule}.py")})
        })
        .collect();
    serde_json::to_vec(
        &json!({"bosun_format": 1, "scanner": {"name": "bulkcheck"}, "findings": items}),
    )
    .unwrap()
}

/// Project web (team shop) with three findings and project lab (team data) with one; dev
/// and dev2 are developers, reader a viewer and sec a security engineer in shop; outsider a
/// developer in data. Returns web's finding ids and lab's.
async fn estate(app: &TestApp) -> (Vec<i64>, i64) {
    use app::workflow::Role;
    let people = [
        ("dev@example.com", "shop", Role::Developer),
        ("dev2@example.com", "shop", Role::Developer),
        ("reader@example.com", "shop", Role::Viewer),
        ("sec@example.com", "shop", Role::Security),
        ("outsider@example.com", "data", Role::Developer),
    ];
    app.shop_and_data(report(&["A", "B", "C"]), &people, PASSWORD)
        .await;
    let lab = server::projects::create(
        &app.pool,
        &server::projects::ProjectSlug::parse("lab").unwrap(),
        "",
    )
    .await
    .unwrap();
    let data = server::teams::find(&app.pool, "data").await.unwrap();
    server::teams::assign_project(&app.pool, data.id, lab.id)
        .await
        .unwrap();
    let token = server::tokens::create(&app.pool, lab.id, "ci")
        .await
        .unwrap();
    let (status, body) = app
        .push_report(Some(&token), "?target=repo", report(&["Z"]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let web: Vec<i64> = sqlx::query_scalar(
        "SELECT f.id FROM findings f JOIN projects p ON p.id = f.project_id
          WHERE p.slug = 'web' ORDER BY f.id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let other = app
        .count("SELECT f.id FROM findings f JOIN projects p ON p.id = f.project_id WHERE p.slug = 'lab'")
        .await;
    (web, other)
}

fn ids_form(ids: &[i64]) -> Vec<(String, String)> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| (format!("ids[{i}]"), id.to_string()))
        .collect()
}

async fn bulk(
    app: &TestApp,
    client: &reqwest::Client,
    function: &str,
    ids: &[i64],
    extra: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut form = ids_form(ids);
    form.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.call_server_fn(client, function, &form).await
}

async fn states(app: &TestApp, ids: &[i64]) -> Vec<String> {
    sqlx::query_scalar("SELECT state::text FROM findings WHERE id = ANY($1) ORDER BY id")
        .bind(ids)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_developer_moves_many_findings_with_one_reason_and_an_audit_event_each() {
    let app = spawn_app().await;
    let (web, _) = estate(&app).await;
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let (status, body) = bulk(
        &app,
        &dev,
        "bulk_change_state",
        &web,
        &[("to", "confirmed"), ("reason", "reproduced in staging")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let outcome: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(outcome["changed"], json!(web));
    assert_eq!(outcome["skipped"], json!([]));
    assert_eq!(states(&app, &web).await, vec!["confirmed"; 3]);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE action = 'state_changed'
                AND before->>'state' = 'open' AND after->>'state' = 'confirmed'
                AND reason = 'reproduced in staging'
                AND actor_user_id = (SELECT id FROM users WHERE email = 'dev@example.com')"
        )
        .await,
        3
    );

    // findings the move does not apply to are skipped and said, the rest move
    sqlx::query("UPDATE findings SET state = 'open' WHERE id = $1")
        .bind(web[0])
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = bulk(
        &app,
        &dev,
        "bulk_change_state",
        &web,
        &[("to", "confirmed")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let outcome: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(outcome["changed"], json!([web[0]]));
    assert_eq!(outcome["skipped"].as_array().unwrap().len(), 2);
    assert!(
        outcome["skipped"][0]["why"]
            .as_str()
            .unwrap()
            .contains("already confirmed"),
        "{body}"
    );
}

#[tokio::test]
async fn a_batch_is_refused_whole_when_any_finding_is_out_of_reach() {
    let app = spawn_app().await;
    let (web, other) = estate(&app).await;
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let audit_before = app.count("SELECT count(*) FROM audit_events").await;

    // one finding of another team's project: as if it did not exist
    let mut mixed = web.clone();
    mixed.push(other);
    let (status, body) = bulk(
        &app,
        &dev,
        "bulk_change_state",
        &mixed,
        &[("to", "confirmed")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("1 of the selected findings"), "{body}");
    let (status, body) = bulk(
        &app,
        &dev,
        "bulk_change_state",
        &[web[0], 999_999],
        &[("to", "confirmed")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // a developer may not accept risks; a viewer may not move anything
    let until = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let accept = [
        ("to", "risk_accepted"),
        ("reason", "behind the VPN"),
        ("risk_accepted_until", until.as_str()),
    ];
    let (status, body) = bulk(&app, &dev, "bulk_change_state", &web, &accept).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("Nothing was changed"), "{body}");
    let reader = app.signed_in_client("reader@example.com", PASSWORD).await;
    let (status, body) = bulk(
        &app,
        &reader,
        "bulk_change_state",
        &web,
        &[("to", "confirmed")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = bulk(&app, &reader, "bulk_assign", &web, &[("team", "shop")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // empty and oversized batches
    let (status, body) = bulk(&app, &dev, "bulk_change_state", &[], &[("to", "confirmed")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let many: Vec<i64> = (1..=1001).collect();
    let (status, body) = bulk(
        &app,
        &dev,
        "bulk_change_state",
        &many,
        &[("to", "confirmed")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("at most 1000"), "{body}");

    assert_eq!(states(&app, &web).await, vec!["open"; 3]);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events").await,
        audit_before,
        "nothing was written"
    );
}

#[tokio::test]
async fn security_accepts_many_risks_with_one_justification_and_expiry() {
    let app = spawn_app().await;
    let (web, _) = estate(&app).await;
    let sec = app.signed_in_client("sec@example.com", PASSWORD).await;
    let (status, body) = bulk(
        &app,
        &sec,
        "bulk_change_state",
        &web,
        &[
            ("to", "risk_accepted"),
            ("reason", "internal tool, no exposure"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("expiry"), "{body}");
    let until = (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let (status, body) = bulk(
        &app,
        &sec,
        "bulk_change_state",
        &web,
        &[
            ("to", "risk_accepted"),
            ("reason", "internal tool, no exposure"),
            ("risk_accepted_until", until.as_str()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(states(&app, &web).await, vec!["risk_accepted"; 3]);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM findings WHERE state = 'risk_accepted'
                AND risk_accepted_until::date = (now() + interval '30 days')::date
                AND risk_accepted_by = (SELECT id FROM users WHERE email = 'sec@example.com')
                AND risk_accepted_at IS NOT NULL"
        )
        .await,
        3
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE after->>'state' = 'risk_accepted'
                AND after ? 'risk_accepted_until' AND reason = 'internal tool, no exposure'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn many_findings_are_assigned_at_once_to_someone_who_can_see_them() {
    let app = spawn_app().await;
    let (web, other) = estate(&app).await;
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let (status, body) = bulk(
        &app,
        &dev,
        "bulk_assign",
        &web,
        &[
            ("user", "dev2@example.com"),
            ("reason", "dev2 owns payments"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM findings WHERE assignee_user_id =
                (SELECT id FROM users WHERE email = 'dev2@example.com')"
        )
        .await,
        3
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE action = 'assigned'
                AND reason = 'dev2 owns payments'"
        )
        .await,
        3
    );
    let dev2 = app.signed_in_client("dev2@example.com", PASSWORD).await;
    let (status, body) = app.call_server_fn(&dev2, "my_work", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(serde_json::from_str::<Vec<Value>>(&body).unwrap().len(), 3);

    // not to someone without a role on the project
    let (status, body) = bulk(
        &app,
        &dev,
        "bulk_assign",
        &web,
        &[("user", "outsider@example.com")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("outsider@example.com"), "{body}");
    // and the outsider cannot reach web's findings, nor dev lab's
    let outsider = app.signed_in_client("outsider@example.com", PASSWORD).await;
    let (status, _) = bulk(&app, &outsider, "bulk_assign", &web, &[("team", "data")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = bulk(&app, &dev, "bulk_assign", &[other], &[("team", "shop")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM findings WHERE assignee_user_id =
                (SELECT id FROM users WHERE email = 'dev2@example.com')"
        )
        .await,
        3,
        "refused batches changed nothing"
    );
}
