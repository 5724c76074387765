//! People moving findings through the workflow: each move checked against their role,
//! written with its audit event; a person's fix verified (or refuted) by the next scan.

use bosun_tests::{TestApp, spawn_app, spawn_app_with};
use reqwest::StatusCode;

const PASSWORD: &str = "correct horse battery";

fn sarif(results: &[(&str, &str)]) -> Vec<u8> {
    let results: Vec<String> = results
        .iter()
        .map(|(rule, file)| {
            format!(
                r#"{{"ruleId":"{rule}","level":"error","message":{{"text":"{rule} in {file}"}},
                "locations":[{{"physicalLocation":{{"artifactLocation":{{"uri":"{file}"}},"region":{{"startLine":3}}}}}}]}}"#
            )
        })
        .collect();
    format!(
        r#"{{"version":"2.1.0","runs":[{{"tool":{{"driver":{{"name":"TinyScan"}}}},"results":[{}]}}]}}"#,
        results.join(",")
    )
    .into_bytes()
}

struct Estate {
    token: String,
    finding: i64,
}

/// Project web (team shop) with one finding; dev is a developer, reader a viewer and sec
/// a security engineer in shop; outsider is a developer in another team.
async fn estate(app: &TestApp) -> Estate {
    use app::workflow::Role;
    let people = [
        ("dev@example.com", "shop", Role::Developer),
        ("reader@example.com", "shop", Role::Viewer),
        ("sec@example.com", "shop", Role::Security),
        ("outsider@example.com", "data", Role::Developer),
    ];
    let token = app
        .shop_and_data(sarif(&[("R1", "a.py")]), &people, PASSWORD)
        .await;
    let finding = app.count("SELECT id FROM findings").await;
    Estate { token, finding }
}

async fn change(
    app: &TestApp,
    client: &reqwest::Client,
    finding: i64,
    to: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, String) {
    let id = finding.to_string();
    let mut form = vec![("finding_id", id.as_str()), ("to", to)];
    form.extend_from_slice(extra);
    let response = client
        .post(app.url("/api/change_state"))
        .header("Origin", &app.base_url)
        .form(&form)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn state(app: &TestApp, finding: i64) -> String {
    sqlx::query_scalar("SELECT state::text FROM findings WHERE id = $1")
        .bind(finding)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_developer_works_a_finding_through_the_everyday_states_with_an_audit_trail() {
    let app = spawn_app().await;
    let e = estate(&app).await;
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    for to in ["confirmed", "in_progress"] {
        let (status, body) =
            change(&app, &dev, e.finding, to, &[("reason", "looking at it")]).await;
        assert_eq!(status, StatusCode::OK, "{to}: {body}");
        assert_eq!(state(&app, e.finding).await, to);
    }
    // not a move the workflow has
    let (status, body) = change(&app, &dev, e.finding, "confirmed", &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body.contains("cannot go from in progress to confirmed"),
        "{body}"
    );
    // the same state again
    let (status, body) = change(&app, &dev, e.finding, "in_progress", &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    let events: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT before->>'state', after->>'state', reason FROM audit_events
          WHERE subject_type = 'finding' AND subject_id = $1 AND action = 'state_changed'
            AND actor_user_id = (SELECT id FROM users WHERE email = 'dev@example.com')
          ORDER BY id",
    )
    .bind(e.finding)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        vec![
            (
                "open".into(),
                "confirmed".into(),
                Some("looking at it".into())
            ),
            (
                "confirmed".into(),
                "in_progress".into(),
                Some("looking at it".into())
            ),
        ]
    );
}

#[tokio::test]
async fn only_security_accepts_a_risk_and_only_with_a_justification_and_a_future_expiry() {
    let app = spawn_app().await;
    let e = estate(&app).await;
    let until = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let (status, body) = change(
        &app,
        &dev,
        e.finding,
        "risk_accepted",
        &[("reason", "internal only"), ("risk_accepted_until", &until)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("Only security engineers and admins may accept a risk"),
        "{body}"
    );
    let (status, _) = change(&app, &dev, e.finding, "false_positive", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let sec = app.signed_in_client("sec@example.com", PASSWORD).await;
    let (status, body) = change(
        &app,
        &sec,
        e.finding,
        "risk_accepted",
        &[("risk_accepted_until", &until)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("justification"), "{body}");
    let (status, body) = change(
        &app,
        &sec,
        e.finding,
        "risk_accepted",
        &[("reason", "internal only")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("expiry"), "{body}");
    let past = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    let (status, body) = change(
        &app,
        &sec,
        e.finding,
        "risk_accepted",
        &[("reason", "internal only"), ("risk_accepted_until", &past)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        state(&app, e.finding).await,
        "open",
        "refusals change nothing"
    );

    let (status, body) = change(
        &app,
        &sec,
        e.finding,
        "risk_accepted",
        &[("reason", "internal only"), ("risk_accepted_until", &until)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (accepted, approver): (bool, String) = sqlx::query_as(
        "SELECT f.risk_accepted_until > now() + interval '29 days', u.email
           FROM findings f JOIN users u ON u.id = f.risk_accepted_by WHERE f.id = $1",
    )
    .bind(e.finding)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(accepted);
    assert_eq!(approver, "sec@example.com");
    // the next scan leaves a human decision alone, and the gate lists it as waived
    let (status, body) = app
        .push_report(Some(&e.token), "?target=repo", sarif(&[("R1", "a.py")]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(state(&app, e.finding).await, "risk_accepted");
}

#[tokio::test]
async fn viewers_and_other_teams_cannot_change_a_finding() {
    let app = spawn_app().await;
    let e = estate(&app).await;
    let reader = app.signed_in_client("reader@example.com", PASSWORD).await;
    let (status, body) = change(&app, &reader, e.finding, "confirmed", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("Viewers may not change"), "{body}");
    let outsider = app.signed_in_client("outsider@example.com", PASSWORD).await;
    let (status, body) = change(&app, &outsider, e.finding, "confirmed", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (_, missing) = change(&app, &outsider, 999_999, "confirmed", &[]).await;
    assert_eq!(
        body, missing,
        "another team's finding answers like a missing one"
    );
    let anonymous = reqwest::Client::new();
    let (status, _) = change(&app, &anonymous, e.finding, "confirmed", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(state(&app, e.finding).await, "open");
}

#[tokio::test]
async fn a_fix_a_person_reports_is_verified_by_the_next_scan_or_reopened_by_it() {
    let app = spawn_app().await;
    let e = estate(&app).await;
    let (status, body) = app
        .push_report(
            Some(&e.token),
            "?target=repo",
            sarif(&[("R1", "a.py"), ("R2", "b.py")]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let second: i64 = app
        .count("SELECT id FROM findings WHERE rule_id = 'R2'")
        .await;
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    for finding in [e.finding, second] {
        let (status, body) = change(&app, &dev, finding, "fixed", &[("reason", "patched")]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let unverified = "SELECT count(*) FROM findings WHERE state = 'fixed' AND NOT fix_verified";
    assert_eq!(
        app.count(unverified).await,
        2,
        "a person's fix awaits verification"
    );

    // the scan still sees R2 (the fix did not work) but not R1
    let (status, body) = app
        .push_report(Some(&e.token), "?target=repo", sarif(&[("R2", "b.py")]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["reopened"], 1, "{body}");
    assert_eq!(state(&app, second).await, "reopened");
    assert_eq!(state(&app, e.finding).await, "fixed");
    assert_eq!(app.count(unverified).await, 0, "the scan verified R1's fix");
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'fix_verified_by_scan'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_expired_risk_acceptance_reopens_its_finding_with_an_audit_event() {
    let app = spawn_app().await;
    let e = estate(&app).await;
    let sec = app.signed_in_client("sec@example.com", PASSWORD).await;
    let until = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let (status, body) = change(
        &app,
        &sec,
        e.finding,
        "risk_accepted",
        &[
            ("reason", "until the vendor ships a fix"),
            ("risk_accepted_until", &until),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        server::jobs::reopen_expired_risk_acceptances(&app.pool)
            .await
            .unwrap(),
        0,
        "an unexpired acceptance stays"
    );
    // time passes
    sqlx::query("UPDATE findings SET risk_accepted_until = now() - interval '1 minute'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        server::jobs::reopen_expired_risk_acceptances(&app.pool)
            .await
            .unwrap(),
        1
    );
    assert_eq!(state(&app, e.finding).await, "reopened");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE action = 'risk_acceptance_expired'
               AND before->>'state' = 'risk_accepted' AND after->>'state' = 'reopened'"
        )
        .await,
        1
    );
    assert_eq!(
        server::jobs::reopen_expired_risk_acceptances(&app.pool)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn the_running_server_reopens_expired_risk_acceptances_on_its_own() {
    // the server is started as `bosun serve` starts it (`server::startup`), jobs included
    let app = spawn_app_with(&[("BOSUN_JOBS_INTERVAL_SECS", "1")]).await;
    let e = estate(&app).await;
    let sec = app.signed_in_client("sec@example.com", PASSWORD).await;
    let until = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let (status, body) = change(
        &app,
        &sec,
        e.finding,
        "risk_accepted",
        &[("reason", "until the fix"), ("risk_accepted_until", &until)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    sqlx::query("UPDATE findings SET risk_accepted_until = now() - interval '1 minute'")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut reopened = false;
    for _ in 0..100 {
        if state(&app, e.finding).await == "reopened" {
            reopened = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        reopened,
        "the server's own timer reopened the finding within 10 s"
    );
}

#[tokio::test]
async fn security_overrides_a_severity_with_a_reason_and_scans_keep_it() {
    let app = spawn_app().await;
    let e = estate(&app).await;
    let id = e.finding.to_string();
    let call = |client: reqwest::Client, form: Vec<(&'static str, String)>| {
        let url = app.url("/api/override_severity");
        let origin = app.base_url.clone();
        async move {
            let r = client
                .post(url)
                .header("Origin", origin)
                .form(&form)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let form = |reason: &str| {
        vec![
            ("finding_id", id.clone()),
            ("severity", "low".to_string()),
            ("reason", reason.to_string()),
        ]
    };
    let (status, body) = call(dev, form("not reachable")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let sec = app.signed_in_client("sec@example.com", PASSWORD).await;
    let (status, body) = call(sec.clone(), form("  ")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = call(sec, form("only reachable from the admin VPN")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let severities = || async {
        sqlx::query_as::<_, (String, String)>(
            "SELECT severity::text, scanner_severity::text FROM findings WHERE id = $1",
        )
        .bind(e.finding)
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    assert_eq!(severities().await, ("low".into(), "high".into()));
    let (status, _) = app
        .push_report(Some(&e.token), "?target=repo", sarif(&[("R1", "a.py")]))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        severities().await,
        ("low".into(), "high".into()),
        "a scan keeps a person's severity"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE action = 'severity_changed'
               AND before->>'severity' = 'high' AND after->>'severity' = 'low'
               AND reason = 'only reachable from the admin VPN'"
        )
        .await,
        1
    );
}
