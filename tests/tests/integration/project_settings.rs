//! A project's settings page: the CI gate policy and routing rules, edited in the browser's
//! server functions, audited, and used by the next upload.

use app::workflow::Role;
use bosun_tests::{ONE_FINDING_SARIF as SARIF, TestApp, spawn_app_and};
use reqwest::StatusCode;
use serde_json::Value;

/// Team shop owns project web (token returned): sec (security), ops (ops) and dev
/// (developer) are in it.
async fn estate(app: &TestApp) -> String {
    app.shop_and_data(&[
        ("sec@example.com", "shop", Role::Security),
        ("ops@example.com", "shop", Role::Ops),
        ("dev@example.com", "shop", Role::Developer),
        ("outsider@example.com", "data", Role::Developer),
    ])
    .await
}

async fn settings(app: &TestApp, client: &reqwest::Client) -> Value {
    let body = app
        .call_expecting(
            client,
            "project_settings",
            &[("project", "web")],
            StatusCode::OK,
        )
        .await;
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn security_sets_the_gate_policy_it_is_audited_and_the_next_upload_is_judged_by_it() {
    let (app, token) = spawn_app_and(estate).await;
    let sec = app.client_for("sec@example.com").await;
    let before = settings(&app, &sec).await;
    assert_eq!(before["gate_customised"], false);
    assert_eq!(
        before["gate"]["block_new"],
        serde_json::json!(["critical", "high"])
    );
    assert_eq!(before["can_edit_gate"], true);

    // the one SARIF finding is high: the default policy fails it
    let first = app.push_ok(&token, "?target=repo", SARIF.into()).await;
    assert_eq!(first["gate"]["passed"], false, "{first}");

    // only criticals block now; secrets and SLA boxes left unticked
    let saved = app
        .call_expecting(
            &sec,
            "save_gate_policy",
            &[
                ("project", "web"),
                ("critical", "on"),
                ("reason", "pilot: criticals only"),
            ],
            StatusCode::OK,
        )
        .await;
    assert_eq!(saved, "true");
    let after = settings(&app, &sec).await;
    assert_eq!(after["gate_customised"], true);
    assert_eq!(after["gate"]["block_new"], serde_json::json!(["critical"]));
    assert_eq!(after["gate"]["block_secrets"], false);
    assert_eq!(after["gate"]["block_sla_breaches"], false);

    let (actor, before, after, reason): (String, Value, Value, String) = app
        .row(
            "SELECT u.email, e.before, e.after, e.reason FROM audit_events e
               JOIN users u ON u.id = e.actor_user_id
              WHERE e.subject_type = 'gate_policy' AND e.action = 'changed'",
        )
        .await;
    assert_eq!(actor, "sec@example.com");
    assert_eq!(before["block_new"], serde_json::json!(["critical", "high"]));
    assert_eq!(after["block_new"], serde_json::json!(["critical"]));
    assert_eq!(reason, "pilot: criticals only");

    // a new high finding no longer fails the gate
    let high = SARIF.replace("\"T1\"", "\"T2\"");
    let second = app.push_ok(&token, "?target=repo", high.into()).await;
    assert_eq!(second["gate"]["passed"], true, "{second}");

    // saving the same policy again changes and audits nothing
    let again = app
        .call_expecting(
            &sec,
            "save_gate_policy",
            &[("project", "web"), ("critical", "on")],
            StatusCode::OK,
        )
        .await;
    assert_eq!(again, "false");
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE subject_type = 'gate_policy'")
            .await,
        1
    );
}

#[tokio::test]
async fn who_may_change_the_gate_and_the_routing() {
    let (app, _) = spawn_app_and(estate).await;
    let dev = app.client_for("dev@example.com").await;
    let ops = app.client_for("ops@example.com").await;
    let outsider = app.client_for("outsider@example.com").await;

    // a developer reads the settings but changes neither
    let seen = settings(&app, &dev).await;
    assert_eq!(
        (
            seen["can_edit_gate"].clone(),
            seen["can_edit_routing"].clone()
        ),
        (false.into(), false.into())
    );
    let refused = app
        .call_expecting(
            &dev,
            "save_gate_policy",
            &[("project", "web")],
            StatusCode::FORBIDDEN,
        )
        .await;
    assert!(refused.contains("may not"), "{refused}");
    app.call_expecting(
        &dev,
        "add_routing_rule",
        &[("project", "web"), ("namespace", "shop-*")],
        StatusCode::FORBIDDEN,
    )
    .await;
    // ops keeps the routing but not the policy
    let seen = settings(&app, &ops).await;
    assert_eq!(
        (
            seen["can_edit_gate"].clone(),
            seen["can_edit_routing"].clone()
        ),
        (false.into(), true.into())
    );
    app.call_expecting(
        &ops,
        "save_gate_policy",
        &[("project", "web")],
        StatusCode::FORBIDDEN,
    )
    .await;
    // another team's developer is told the project does not exist
    app.call_expecting(
        &outsider,
        "project_settings",
        &[("project", "web")],
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(
        app.get_status(&outsider, "/projects/web/settings").await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_status(&ops, "/projects/web/settings").await,
        StatusCode::OK
    );
    assert_eq!(app.count("SELECT count(*) FROM gate_policies").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM routing_rules").await, 0);
}

#[tokio::test]
async fn ops_adds_and_removes_routing_rules_with_checked_patterns_each_audited() {
    let (app, _) = spawn_app_and(estate).await;
    let ops = app.client_for("ops@example.com").await;
    let id: i64 = app
        .call_expecting(
            &ops,
            "add_routing_rule",
            &[
                ("project", "web"),
                ("namespace", " shop-* "),
                ("image_repository", ""),
                ("position", "10"),
            ],
            StatusCode::OK,
        )
        .await
        .parse()
        .unwrap();
    let rules = settings(&app, &ops).await["rules"].clone();
    assert_eq!(rules.as_array().unwrap().len(), 1);
    assert_eq!(rules[0]["id"], id);
    assert_eq!(rules[0]["namespace"], "shop-*", "trimmed");
    assert_eq!(
        rules[0]["image_repository"],
        Value::Null,
        "an empty box is no pattern"
    );
    assert_eq!(rules[0]["position"], 10);
    assert_eq!(
        rules[0]["team"], "shop",
        "the project's team's tokens use it"
    );

    // bad input: a 400 that names the field, and nothing written
    for (form, field) in [
        (vec![("project", "web")], "namespace"),
        (vec![("project", "web"), ("path", "src/[unclosed")], "path"),
        (
            vec![("project", "web"), ("namespace", "a"), ("position", "ten")],
            "position",
        ),
        (
            vec![("project", "web"), ("namespace", "a"), ("position", "-1")],
            "position",
        ),
    ] {
        let body = app
            .call_expecting(&ops, "add_routing_rule", &form, StatusCode::BAD_REQUEST)
            .await;
        assert!(body.contains(field), "{form:?}: {body}");
    }
    assert_eq!(app.count("SELECT count(*) FROM routing_rules").await, 1);

    let id = id.to_string();
    app.call_expecting(
        &ops,
        "remove_routing_rule",
        &[("project", "web"), ("id", &id)],
        StatusCode::OK,
    )
    .await;
    app.call_expecting(
        &ops,
        "remove_routing_rule",
        &[("project", "web"), ("id", &id)],
        StatusCode::NOT_FOUND,
    )
    .await;
    let trail: Vec<(String, String)> = app
        .rows(
            "SELECT e.action, u.email FROM audit_events e JOIN users u ON u.id = e.actor_user_id
              WHERE e.subject_type = 'routing_rule' ORDER BY e.id",
        )
        .await;
    assert_eq!(
        trail,
        [
            ("created".to_string(), "ops@example.com".to_string()),
            ("deleted".to_string(), "ops@example.com".to_string())
        ]
    );
}

#[tokio::test]
async fn a_rule_of_another_project_cannot_be_removed_through_this_one() {
    let (app, _) = spawn_app_and(estate).await;
    app.create_member("dataops@example.com", "data", Role::Ops)
        .await;
    let data = app.count("SELECT id FROM teams WHERE slug = 'data'").await;
    app.create_project("lake", Some(data)).await;
    app.execute(
        "INSERT INTO routing_rules (team_id, namespace, project_id)
         SELECT team_id, 'shop-*', id FROM projects WHERE slug = 'web'",
    )
    .await;
    let rule = app
        .count("SELECT max(id) FROM routing_rules")
        .await
        .to_string();
    let dataops = app.client_for("dataops@example.com").await;
    app.call_expecting(
        &dataops,
        "remove_routing_rule",
        &[("project", "lake"), ("id", &rule)],
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM routing_rules").await, 1);
}

#[tokio::test]
async fn the_command_line_sets_the_gate_through_the_same_audited_store() {
    let (app, _) = spawn_app_and(estate).await;
    let out = app
        .bosun(
            &[
                "project",
                "gate",
                "web",
                "--block-new",
                "critical",
                "--block-secrets",
                "false",
                "--reason",
                "from the CLI",
            ],
            None,
        )
        .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Fails on new critical findings; any finding past its SLA."),
        "{stdout}"
    );
    let sec = app.client_for("sec@example.com").await;
    let seen = settings(&app, &sec).await;
    assert_eq!(seen["gate"]["block_new"], serde_json::json!(["critical"]));
    assert_eq!(seen["gate"]["block_secrets"], false);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE subject_type = 'gate_policy' AND actor_user_id IS NULL AND reason = 'from the CLI'")
            .await,
        1
    );
    let bad = app
        .bosun(&["project", "gate", "web", "--block-new", "severe"], None)
        .await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("severe"));
}
