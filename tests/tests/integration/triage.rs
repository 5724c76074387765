//! People moving findings through the workflow: each move checked against their role,
//! written with its audit event; a person's fix verified (or refuted) by the next scan.

use bosun_tests::{SHOP_PEOPLE, TestApp, spawn_app_and, spawn_app_with};
use reqwest::StatusCode;

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

/// Project web (team shop) with one finding, and [`SHOP_PEOPLE`].
async fn estate(app: &TestApp) -> Estate {
    let token = app
        .shop_and_data_with(sarif(&[("R1", "a.py")]), SHOP_PEOPLE)
        .await;
    let finding = app.count("SELECT id FROM findings").await;
    Estate { token, finding }
}

/// The state of finding `finding`.
async fn state(app: &TestApp, finding: i64) -> String {
    let sql = format!("SELECT state::text FROM findings WHERE id = {finding}");
    app.scalar(&sql).await
}

/// A date `days` from now as RFC 3339, for a risk acceptance's expiry.
fn days_from_now(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339()
}

/// Runs the expiry job once; how many acceptances it ended.
async fn reopen_expired(app: &TestApp) -> i64 {
    server::jobs::reopen_expired_risk_acceptances(&app.pool)
        .await
        .unwrap()
}

/// Security accepts the finding's risk until tomorrow, for `reason`.
async fn accept_until_tomorrow(app: &TestApp, finding: i64, reason: &str) {
    let sec = app.client_for("sec@example.com").await;
    let until = days_from_now(1);
    let accept = [("reason", reason), ("risk_accepted_until", until.as_str())];
    app.change_state(&sec, finding, "risk_accepted", &accept, StatusCode::OK)
        .await;
}

/// Lets every risk acceptance expire a minute ago.
async fn expire_acceptances(app: &TestApp) {
    app.execute("UPDATE findings SET risk_accepted_until = now() - interval '1 minute'")
        .await;
}

#[tokio::test]
async fn a_developer_works_a_finding_through_the_everyday_states_with_an_audit_trail() {
    let (app, e) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    let looking = [("reason", "looking at it")];
    for to in ["confirmed", "in_progress"] {
        app.change_state(&dev, e.finding, to, &looking, StatusCode::OK)
            .await;
        assert_eq!(state(&app, e.finding).await, to);
    }
    // not a move the workflow has
    let body = app
        .change_state(&dev, e.finding, "confirmed", &[], StatusCode::CONFLICT)
        .await;
    assert!(
        body.contains("cannot go from in progress to confirmed"),
        "{body}"
    );
    // the same state again
    app.change_state(&dev, e.finding, "in_progress", &[], StatusCode::CONFLICT)
        .await;

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
    let event = |before: &str, after: &str| {
        (
            before.to_string(),
            after.to_string(),
            Some("looking at it".to_string()),
        )
    };
    assert_eq!(
        events,
        vec![
            event("open", "confirmed"),
            event("confirmed", "in_progress")
        ]
    );
}

#[tokio::test]
async fn only_security_accepts_a_risk_and_only_with_a_justification_and_a_future_expiry() {
    let (app, e) = spawn_app_and(estate).await;
    let until = days_from_now(30);
    let past = days_from_now(-1);
    let accept = [
        ("reason", "internal only"),
        ("risk_accepted_until", until.as_str()),
    ];
    let dev = app.client_for("dev@example.com").await;
    let sec = app.client_for("sec@example.com").await;
    for (client, to, fields, status, says) in [
        (
            &dev,
            "risk_accepted",
            &accept[..],
            StatusCode::FORBIDDEN,
            "Only security engineers and admins may accept a risk",
        ),
        (&dev, "false_positive", &[], StatusCode::FORBIDDEN, ""),
        // a justification and a future expiry, both
        (
            &sec,
            "risk_accepted",
            &accept[1..],
            StatusCode::BAD_REQUEST,
            "justification",
        ),
        (
            &sec,
            "risk_accepted",
            &accept[..1],
            StatusCode::BAD_REQUEST,
            "expiry",
        ),
        (
            &sec,
            "risk_accepted",
            &[
                ("reason", "internal only"),
                ("risk_accepted_until", past.as_str()),
            ],
            StatusCode::BAD_REQUEST,
            "",
        ),
    ] {
        let body = app
            .change_state(client, e.finding, to, fields, status)
            .await;
        assert!(body.contains(says), "{body}");
    }
    assert_eq!(
        state(&app, e.finding).await,
        "open",
        "refusals change nothing"
    );

    app.change_state(&sec, e.finding, "risk_accepted", &accept, StatusCode::OK)
        .await;
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
    app.push_ok(&e.token, "?target=repo", sarif(&[("R1", "a.py")]))
        .await;
    assert_eq!(state(&app, e.finding).await, "risk_accepted");
}

#[tokio::test]
async fn viewers_and_other_teams_cannot_change_a_finding() {
    let (app, e) = spawn_app_and(estate).await;
    let reader = app.client_for("reader@example.com").await;
    let body = app
        .change_state(&reader, e.finding, "confirmed", &[], StatusCode::FORBIDDEN)
        .await;
    assert!(body.contains("Viewers may not change"), "{body}");
    let outsider = app.client_for("outsider@example.com").await;
    let body = app
        .change_state(
            &outsider,
            e.finding,
            "confirmed",
            &[],
            StatusCode::NOT_FOUND,
        )
        .await;
    let missing = app
        .change_state(&outsider, 999_999, "confirmed", &[], StatusCode::NOT_FOUND)
        .await;
    assert_eq!(
        body, missing,
        "another team's finding answers like a missing one"
    );
    let anonymous = reqwest::Client::new();
    app.change_state(
        &anonymous,
        e.finding,
        "confirmed",
        &[],
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(state(&app, e.finding).await, "open");
}

#[tokio::test]
async fn a_fix_a_person_reports_is_verified_by_the_next_scan_or_reopened_by_it() {
    let (app, e) = spawn_app_and(estate).await;
    let both = sarif(&[("R1", "a.py"), ("R2", "b.py")]);
    app.push_ok(&e.token, "?target=repo", both).await;
    let second: i64 = app
        .count("SELECT id FROM findings WHERE rule_id = 'R2'")
        .await;
    let dev = app.client_for("dev@example.com").await;
    for finding in [e.finding, second] {
        app.change_state(
            &dev,
            finding,
            "fixed",
            &[("reason", "patched")],
            StatusCode::OK,
        )
        .await;
    }
    let unverified = "SELECT count(*) FROM findings WHERE state = 'fixed' AND NOT fix_verified";
    assert_eq!(
        app.count(unverified).await,
        2,
        "a person's fix awaits verification"
    );

    // the scan still sees R2 (the fix did not work) but not R1
    let body = app
        .push_ok(&e.token, "?target=repo", sarif(&[("R2", "b.py")]))
        .await;
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
    let (app, e) = spawn_app_and(estate).await;
    accept_until_tomorrow(&app, e.finding, "until the vendor ships a fix").await;
    assert_eq!(
        reopen_expired(&app).await,
        0,
        "an unexpired acceptance stays"
    );
    // time passes
    expire_acceptances(&app).await;
    assert_eq!(reopen_expired(&app).await, 1);
    assert_eq!(state(&app, e.finding).await, "reopened");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE action = 'risk_acceptance_expired'
               AND before->>'state' = 'risk_accepted' AND after->>'state' = 'reopened'"
        )
        .await,
        1
    );
    assert_eq!(reopen_expired(&app).await, 0);
}

#[tokio::test]
async fn the_running_server_reopens_expired_risk_acceptances_on_its_own() {
    // the server is started as `bosun serve` starts it (`server::startup`), jobs included
    let app = spawn_app_with(&[("BOSUN_JOBS_INTERVAL_SECS", "1")]).await;
    let e = estate(&app).await;
    accept_until_tomorrow(&app, e.finding, "until the fix").await;
    expire_acceptances(&app).await;
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
    let (app, e) = spawn_app_and(estate).await;
    let id = e.finding.to_string();
    let dev = app.client_for("dev@example.com").await;
    let sec = app.client_for("sec@example.com").await;
    let form = |reason| {
        [
            ("finding_id", id.as_str()),
            ("severity", "low"),
            ("reason", reason),
        ]
    };
    for (client, reason, status) in [
        (&dev, "not reachable", StatusCode::FORBIDDEN),
        (&sec, "  ", StatusCode::BAD_REQUEST),
        (&sec, "only reachable from the admin VPN", StatusCode::OK),
    ] {
        app.call_expecting(client, "override_severity", &form(reason), status)
            .await;
    }
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
    app.push_ok(&e.token, "?target=repo", sarif(&[("R1", "a.py")]))
        .await;
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
