//! Bulk triage: many findings moved or assigned at once with one reason, each with its own
//! audit event; refused whole when the person lacks the right on any of them.

use bosun_tests::{SHOP_PEOPLE, TestApp, spawn_app_and};
use reqwest::StatusCode;
use serde_json::{Value, json};

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

/// Project web (team shop) with three findings and project lab (team data) with one, and
/// [`SHOP_PEOPLE`]. Returns web's finding ids and lab's.
async fn estate(app: &TestApp) -> (Vec<i64>, i64) {
    app.shop_and_data_with(report(&["A", "B", "C"]), SHOP_PEOPLE)
        .await;
    let lab = app.team_project_with_token("data", "lab").await;
    app.push_ok(&lab, "?target=repo", report(&["Z"])).await;
    let web: Vec<i64> = app
        .scalars(
            "SELECT f.id FROM findings f JOIN projects p ON p.id = f.project_id
          WHERE p.slug = 'web' ORDER BY f.id",
        )
        .await;
    let other = app
        .count("SELECT f.id FROM findings f JOIN projects p ON p.id = f.project_id WHERE p.slug = 'lab'")
        .await;
    (web, other)
}

/// Calls the bulk server function `function` on `ids` as `client` with `fields`,
/// expecting `status`; the answer's body.
async fn bulk(
    app: &TestApp,
    client: &reqwest::Client,
    function: &str,
    ids: &[i64],
    fields: &[(&str, &str)],
    status: StatusCode,
) -> String {
    let ids: Vec<(String, String)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("ids[{i}]"), id.to_string()))
        .collect();
    let mut form: Vec<(&str, &str)> = ids.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    form.extend_from_slice(fields);
    app.call_expecting(client, function, &form, status).await
}

const MOVE: &str = "bulk_change_state";
const ASSIGN: &str = "bulk_assign";
const CONFIRM: &[(&str, &str)] = &[("to", "confirmed")];

async fn states(app: &TestApp, ids: &[i64]) -> Vec<String> {
    sqlx::query_scalar("SELECT state::text FROM findings WHERE id = ANY($1) ORDER BY id")
        .bind(ids)
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

/// The fields of a risk acceptance with `reason`, until `until`.
fn accept_risk<'a>(reason: &'a str, until: &'a str) -> [(&'static str, &'a str); 3] {
    [
        ("to", "risk_accepted"),
        ("reason", reason),
        ("risk_accepted_until", until),
    ]
}

/// The date 30 days from now, as a date alone.
fn in_30_days() -> String {
    (chrono::Utc::now() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string()
}

#[tokio::test]
async fn a_developer_moves_many_findings_with_one_reason_and_an_audit_event_each() {
    let (app, (web, _)) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    let fields = [("to", "confirmed"), ("reason", "reproduced in staging")];
    let body = bulk(&app, &dev, MOVE, &web, &fields, StatusCode::OK).await;
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
    app.execute(&format!(
        "UPDATE findings SET state = 'open' WHERE id = {}",
        web[0]
    ))
    .await;
    let body = bulk(&app, &dev, MOVE, &web, CONFIRM, StatusCode::OK).await;
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
    let (app, (web, other)) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    let reader = app.client_for("reader@example.com").await;
    let audit_before = app.count("SELECT count(*) FROM audit_events").await;

    let mut mixed = web.clone();
    mixed.push(other);
    let until = in_30_days();
    let accept = accept_risk("behind the VPN", &until);
    let many: Vec<i64> = (1..=1001).collect();
    let shop = [("team", "shop")];
    for (client, function, ids, fields, status, says) in [
        // one finding of another team's project: as if it did not exist
        (
            &dev,
            MOVE,
            &mixed[..],
            CONFIRM,
            StatusCode::NOT_FOUND,
            "1 of the selected findings",
        ),
        (
            &dev,
            MOVE,
            &[web[0], 999_999][..],
            CONFIRM,
            StatusCode::NOT_FOUND,
            "",
        ),
        // a developer may not accept risks; a viewer may not move anything
        (
            &dev,
            MOVE,
            &web[..],
            &accept[..],
            StatusCode::FORBIDDEN,
            "Nothing was changed",
        ),
        (&reader, MOVE, &web[..], CONFIRM, StatusCode::FORBIDDEN, ""),
        (
            &reader,
            ASSIGN,
            &web[..],
            &shop[..],
            StatusCode::FORBIDDEN,
            "",
        ),
        // empty and oversized batches
        (&dev, MOVE, &[][..], CONFIRM, StatusCode::BAD_REQUEST, ""),
        (
            &dev,
            MOVE,
            &many[..],
            CONFIRM,
            StatusCode::BAD_REQUEST,
            "at most 1000",
        ),
    ] {
        let body = bulk(&app, client, function, ids, fields, status).await;
        assert!(body.contains(says), "{body}");
    }

    assert_eq!(states(&app, &web).await, vec!["open"; 3]);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events").await,
        audit_before,
        "nothing was written"
    );
}

#[tokio::test]
async fn security_accepts_many_risks_with_one_justification_and_expiry() {
    let (app, (web, _)) = spawn_app_and(estate).await;
    let sec = app.client_for("sec@example.com").await;
    let reason = "internal tool, no exposure";
    let no_expiry = [("to", "risk_accepted"), ("reason", reason)];
    let body = bulk(&app, &sec, MOVE, &web, &no_expiry, StatusCode::BAD_REQUEST).await;
    assert!(body.contains("expiry"), "{body}");
    let until = in_30_days();
    let accept = accept_risk(reason, &until);
    bulk(&app, &sec, MOVE, &web, &accept, StatusCode::OK).await;
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
    let (app, (web, other)) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    let to_dev2 = [
        ("user", "dev2@example.com"),
        ("reason", "dev2 owns payments"),
    ];
    bulk(&app, &dev, ASSIGN, &web, &to_dev2, StatusCode::OK).await;
    let assigned_to_dev2 = "SELECT count(*) FROM findings WHERE assignee_user_id =
        (SELECT id FROM users WHERE email = 'dev2@example.com')";
    assert_eq!(app.count(assigned_to_dev2).await, 3);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE action = 'assigned'
                AND reason = 'dev2 owns payments'"
        )
        .await,
        3
    );
    let dev2 = app.client_for("dev2@example.com").await;
    let body = app
        .call_expecting(&dev2, "my_work", &[], StatusCode::OK)
        .await;
    assert_eq!(serde_json::from_str::<Vec<Value>>(&body).unwrap().len(), 3);

    // not to someone without a role on the project
    let to_outsider = [("user", "outsider@example.com")];
    let body = bulk(
        &app,
        &dev,
        ASSIGN,
        &web,
        &to_outsider,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(body.contains("outsider@example.com"), "{body}");
    // and the outsider cannot reach web's findings, nor dev lab's
    let outsider = app.client_for("outsider@example.com").await;
    let data = [("team", "data")];
    bulk(&app, &outsider, ASSIGN, &web, &data, StatusCode::NOT_FOUND).await;
    let shop = [("team", "shop")];
    bulk(&app, &dev, ASSIGN, &[other], &shop, StatusCode::NOT_FOUND).await;
    assert_eq!(
        app.count(assigned_to_dev2).await,
        3,
        "refused batches changed nothing"
    );
}
