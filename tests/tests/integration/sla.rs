//! SLAs against real Postgres: due dates from the instance policy and project overrides,
//! due soon and breached, the clock stopping while a risk is accepted, who may change the
//! policy (with audit events), and the gate using the project's own SLAs.

use bosun_tests::{TestApp, spawn_app_and};
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn report(findings: &[(&str, &str)]) -> Vec<u8> {
    let items: Vec<Value> = findings
        .iter()
        .map(|(rule, severity)| {
            json!({"rule_id": rule, "title": format!("{rule} problem"), "severity": severity,
                   "layer": "dependency", "file": format!("{rule}.txt")})
        })
        .collect();
    serde_json::to_vec(
        &json!({"bosun_format": 1, "scanner": {"name": "slacheck"}, "findings": items}),
    )
    .unwrap()
}

/// A critical, a high, a medium and an info finding.
fn four_findings() -> Vec<u8> {
    report(&[
        ("C1", "critical"),
        ("H1", "high"),
        ("M1", "medium"),
        ("I1", "info"),
    ])
}

/// Project web (team shop) with [`four_findings`]; dev is a developer and sec a security
/// engineer in shop, boss an admin.
async fn estate(app: &TestApp) -> String {
    use app::workflow::Role;
    let people = [
        ("dev@example.com", "shop", Role::Developer),
        ("sec@example.com", "shop", Role::Security),
    ];
    let token = app.shop_and_data_with(four_findings(), &people).await;
    app.create_admin("boss@example.com").await;
    token
}

/// The severities, in the order a policy's fields name them.
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];

/// A policy's form fields: days to fix per severity, in [`SEVERITIES`]' order ("": none).
fn policy(days: [&'static str; 5]) -> Vec<(&'static str, &'static str)> {
    SEVERITIES.into_iter().zip(days).collect()
}

/// Moves a finding's first sighting back by `age`.
async fn first_seen_ago(app: &TestApp, rule: &str, age: Duration) {
    sqlx::query("UPDATE findings SET first_seen_at = now() - $2 WHERE rule_id = $1")
        .bind(rule)
        .bind(age)
        .execute(&app.pool)
        .await
        .unwrap();
}

/// (sla status, due instant) of every finding as the explorer lists them, by rule.
async fn listed(
    app: &TestApp,
    client: &reqwest::Client,
) -> Vec<(String, String, Option<DateTime<Utc>>)> {
    let body = app
        .call_expecting(
            client,
            "list_findings",
            &[("query", "state=all")],
            StatusCode::OK,
        )
        .await;
    let mut rows: Vec<(String, String, Option<DateTime<Utc>>)> =
        serde_json::from_str::<Value>(&body).unwrap()["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["rule_id"].as_str().unwrap().to_string(),
                    f["sla"].as_str().unwrap().to_string(),
                    f["due_at"].as_str().map(|d| d.parse().unwrap()),
                )
            })
            .collect();
    rows.sort();
    rows
}

/// When the finding of rule `rule` was first seen.
async fn first_seen(app: &TestApp, rule: &str) -> DateTime<Utc> {
    let sql = format!("SELECT first_seen_at FROM findings WHERE rule_id = '{rule}'");
    app.scalar(&sql).await
}

fn statuses(rows: &[(String, String, Option<DateTime<Utc>>)]) -> Vec<(&str, &str)> {
    rows.iter()
        .map(|(rule, sla, _)| (rule.as_str(), sla.as_str()))
        .collect()
}

#[tokio::test]
async fn due_dates_follow_the_instance_policy_and_each_projects_overrides() {
    let (app, _) = spawn_app_and(estate).await;
    // critical (7 days): one day left, due within 7 days
    first_seen_ago(&app, "C1", Duration::days(6)).await;
    // high (30 days): a day late
    first_seen_ago(&app, "H1", Duration::days(31)).await;
    // medium (90 days): first seen yesterday
    first_seen_ago(&app, "M1", Duration::days(1)).await;
    let dev = app.client_for("dev@example.com").await;
    let sec = app.client_for("sec@example.com").await;
    let boss = app.client_for("boss@example.com").await;

    let rows = listed(&app, &dev).await;
    assert_eq!(
        statuses(&rows),
        vec![
            ("C1", "due_soon"),
            ("H1", "breached"),
            ("I1", "none"),
            ("M1", "on_track")
        ]
    );
    let due = |rule: &str| rows.iter().find(|r| r.0 == rule).unwrap().2;
    assert_eq!(
        due("C1"),
        Some(first_seen(&app, "C1").await + Duration::days(7))
    );
    assert_eq!(
        due("M1"),
        Some(first_seen(&app, "M1").await + Duration::days(90))
    );
    assert_eq!(due("I1"), None, "info has no SLA by default");

    // a developer may not change the project's SLA; its security engineer may
    let mut overrides = vec![("project", "web")];
    overrides.extend(policy(["3", "", "", "", "10"]));
    for (client, status) in [(&dev, StatusCode::FORBIDDEN), (&sec, StatusCode::OK)] {
        app.call_expecting(client, "set_project_sla", &overrides, status)
            .await;
    }

    let rows = listed(&app, &dev).await;
    assert_eq!(
        statuses(&rows),
        vec![
            ("C1", "breached"),
            ("H1", "breached"),
            ("I1", "on_track"),
            ("M1", "on_track")
        ],
        "critical now has 3 days, info 10"
    );
    assert_eq!(
        rows.iter().find(|r| r.0 == "I1").unwrap().2,
        Some(first_seen(&app, "I1").await + Duration::days(10))
    );
    let audit: (Value, Value) = app
        .row(
            "SELECT before, after FROM audit_events WHERE action = 'sla_changed'
            AND subject_type = 'sla_policy' AND project_id IS NOT NULL",
        )
        .await;
    assert_eq!(audit.0["critical"], Value::Null);
    assert_eq!(audit.1["critical"], 3);
    assert_eq!(audit.1["info"], 10);

    // the instance policy: not a team's security engineer, but an admin
    let instance = policy(["7", "60", "90", "180", ""]);
    let instance_sla = async |client: &reqwest::Client, status| {
        app.call_expecting(client, "set_instance_sla", &instance, status)
            .await
    };
    instance_sla(&sec, StatusCode::FORBIDDEN).await;
    instance_sla(&boss, StatusCode::OK).await;
    let rows = listed(&app, &dev).await;
    assert_eq!(
        rows.iter().find(|r| r.0 == "H1").unwrap().1,
        "on_track",
        "high now has 60 days: 29 left"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'sla_changed' AND project_id IS NULL AND after->>'high' = '60' AND before->>'high' = '30'")
            .await,
        1
    );

    // the settings page's data: the effective policy per project
    let body = app
        .call_expecting(&sec, "sla_settings", &[], StatusCode::OK)
        .await;
    let settings: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(settings["can_edit_instance"], false);
    assert_eq!(settings["instance"]["high"], 60);
    let web = &settings["projects"][0];
    assert_eq!(web["slug"], "web");
    assert_eq!(web["can_edit"], true);
    assert_eq!(web["effective"]["critical"], 3);
    assert_eq!(web["effective"]["high"], 60);
    assert_eq!(web["overrides"]["high"], Value::Null);

    // a security engineer given every team may set the instance policy too
    server::users::set_security_all_teams(&app.pool, "sec@example.com", true)
        .await
        .unwrap();
    instance_sla(&sec, StatusCode::OK).await;
}

#[tokio::test]
async fn bad_sla_fields_are_refused_with_the_field_named() {
    let (app, _) = spawn_app_and(estate).await;
    let boss = app.client_for("boss@example.com").await;
    for value in ["abc", "-1", "3651", "1.5"] {
        let fields = [("critical", "7"), ("high", value)];
        let body = app
            .call_expecting(&boss, "set_instance_sla", &fields, StatusCode::BAD_REQUEST)
            .await;
        assert!(
            body.contains("High") && body.contains("0 to 3650"),
            "{body}"
        );
    }
    assert_eq!(
        app.count("SELECT high_days::int8 FROM sla_policy").await,
        30,
        "nothing was stored"
    );
    let fields = [("project", "nope"), ("high", "5")];
    app.call_expecting(&boss, "set_project_sla", &fields, StatusCode::NOT_FOUND)
        .await;
}

#[tokio::test]
async fn an_accepted_risk_stops_the_clock_until_the_acceptance_ends() {
    let (app, _) = spawn_app_and(estate).await;
    // high, 28 of its 30 days gone: due soon
    first_seen_ago(&app, "H1", Duration::days(28)).await;
    let high = app
        .count("SELECT id FROM findings WHERE rule_id = 'H1'")
        .await;
    let dev = app.client_for("dev@example.com").await;
    let sla_of = |rows: Vec<(String, String, Option<DateTime<Utc>>)>| {
        rows.into_iter().find(|r| r.0 == "H1").unwrap()
    };
    assert_eq!(sla_of(listed(&app, &dev).await).1, "due_soon");

    let sec = app.client_for("sec@example.com").await;
    let until = (Utc::now() + Duration::days(60))
        .format("%Y-%m-%d")
        .to_string();
    let accept = |reason| [("reason", reason), ("risk_accepted_until", until.as_str())];
    let compensated = accept("compensating control in place");
    app.change_state(&sec, high, "risk_accepted", &compensated, StatusCode::OK)
        .await;
    assert_eq!(sla_of(listed(&app, &dev).await).1, "paused");

    // fifteen days pass while the risk is accepted, then security withdraws it
    app.execute("UPDATE findings SET risk_accepted_at = risk_accepted_at - interval '15 days'")
        .await;
    app.change_state(&sec, high, "open", &[], StatusCode::OK)
        .await;
    let (paused, accepted_at): (sqlx::postgres::types::PgInterval, Option<DateTime<Utc>>) =
        sqlx::query_as("SELECT sla_paused, risk_accepted_at FROM findings WHERE id = $1")
            .bind(high)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(paused.months, 0);
    let paused = Duration::days(paused.days.into()) + Duration::microseconds(paused.microseconds);
    assert!(
        paused >= Duration::days(15) && paused < Duration::days(15) + Duration::minutes(5),
        "paused {paused}"
    );
    assert_eq!(accepted_at, None);
    let (_, sla, due) = sla_of(listed(&app, &dev).await);
    assert_eq!(sla, "on_track", "17 days left once the pause is added");
    assert_eq!(
        due.unwrap(),
        first_seen(&app, "H1").await + Duration::days(30) + paused
    );

    // the expiry job ending an acceptance adds its pause too
    app.change_state(
        &sec,
        high,
        "risk_accepted",
        &accept("again"),
        StatusCode::OK,
    )
    .await;
    app.execute(
        "UPDATE findings SET risk_accepted_at = risk_accepted_at - interval '2 days',
                risk_accepted_until = now() - interval '1 minute'",
    )
    .await;
    server::jobs::reopen_expired_risk_acceptances(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        app.count(
            "SELECT count(*) FROM findings WHERE state = 'reopened'
                AND sla_paused >= interval '17 days' AND sla_paused < interval '17 days 5 minutes'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn the_gate_judges_breaches_by_the_projects_own_slas() {
    let (app, token) = spawn_app_and(estate).await;
    // medium: 40 of 90 days gone, fine by default
    first_seen_ago(&app, "M1", Duration::days(40)).await;
    let verdict = |json: Value| -> Vec<String> {
        json["gate"]["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["rule"].as_str().unwrap().to_string())
            .collect()
    };
    let json = app.push_ok(&token, "?target=repo", four_findings()).await;
    assert!(!verdict(json).contains(&"no_sla_breaches".to_string()));

    // the project gives medium findings 30 days: now it is breached
    let sec = app.client_for("sec@example.com").await;
    let fields = [("project", "web"), ("medium", "30")];
    app.call_expecting(&sec, "set_project_sla", &fields, StatusCode::OK)
        .await;
    let json = app.push_ok(&token, "?target=repo", four_findings()).await;
    let breaches = json["gate"]["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["rule"] == "no_sla_breaches")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(breaches["count"], 1, "{json}");
    assert_eq!(breaches["findings"][0]["title"], "M1 problem");
}

#[tokio::test]
async fn due_dates_are_whole_days_whatever_the_sessions_time_zone() {
    let (app, _) = spawn_app_and(estate).await;
    // New York moves its clocks forward on 2026-03-08: a calendar week is 167 hours there
    app.execute("UPDATE findings SET first_seen_at = '2026-03-05T12:00:00Z' WHERE rule_id = 'C1'")
        .await;
    let mut conn = app.pool.acquire().await.unwrap();
    sqlx::query("SET TIME ZONE 'America/New_York'")
        .execute(&mut *conn)
        .await
        .unwrap();
    let due: DateTime<Utc> = sqlx::query_scalar(&format!(
        "SELECT {} FROM findings f JOIN project_sla s ON s.project_id = f.project_id
          WHERE f.rule_id = 'C1'",
        app::sla::sql::DUE_AT
    ))
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    sqlx::query("RESET TIME ZONE")
        .execute(&mut *conn)
        .await
        .unwrap();
    let first_seen: DateTime<Utc> = "2026-03-05T12:00:00Z".parse().unwrap();
    assert_eq!(
        due,
        "2026-03-12T12:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(
        Some(due),
        app::sla::due_at(
            first_seen,
            app::domain::Severity::Critical,
            &app::sla::SlaPolicy::default(),
            Duration::zero()
        ),
        "the database and the app agree"
    );
}
