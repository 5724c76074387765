//! The CI gate verdict in the upload response: rules, waivers, policies.

use bosun_tests::{TestApp, spawn_app_with_project};
use serde_json::{Value, json};

fn report(findings: &[(&str, &str, &str)]) -> Vec<u8> {
    let items: Vec<Value> = findings
        .iter()
        .map(|(rule, severity, layer)| json!({"rule_id": rule, "title": format!("{rule} problem"), "severity": severity, "layer": layer, "file": format!("{rule}.txt")}))
        .collect();
    serde_json::to_vec(
        &json!({"bosun_format": 1, "scanner": {"name": "gatecheck"}, "findings": items}),
    )
    .unwrap()
}

async fn gate(app: &TestApp, token: &str, body: Vec<u8>) -> Value {
    let json = app.push_ok(token, "?target=repo", body).await;
    json["gate"].clone()
}

fn rules(gate: &Value) -> Vec<(String, u64)> {
    gate["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["rule"].as_str().unwrap().to_string(),
                v["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn new_critical_or_high_findings_fail_the_gate_once() {
    let (app, token) = spawn_app_with_project("svc").await;
    let body = report(&[("H1", "high", "code"), ("M1", "medium", "code")]);
    let first = gate(&app, &token, body.clone()).await;
    assert_eq!(first["passed"], false);
    assert_eq!(rules(&first), vec![("no_new_findings".to_string(), 1)]);
    assert_eq!(first["violations"][0]["findings"][0]["title"], "H1 problem");
    let again = gate(&app, &token, body).await;
    assert_eq!(again["passed"], true, "known findings are not new: {again}");
    let passed: bool = app
        .scalar("SELECT gate_passed FROM scans ORDER BY id DESC LIMIT 1")
        .await;
    assert!(passed, "the verdict is kept in the scan history");
}

#[tokio::test]
async fn secrets_fail_unless_their_risk_is_accepted_and_unexpired() {
    let (app, token) = spawn_app_with_project("svc").await;
    let body = report(&[("S1", "low", "secret")]);
    assert_eq!(
        rules(&gate(&app, &token, body.clone()).await),
        vec![("no_secrets".to_string(), 1)]
    );

    app.execute("UPDATE findings SET state = 'risk_accepted', risk_accepted_until = now() + interval '30 days'").await;
    let waived = gate(&app, &token, body.clone()).await;
    assert_eq!(waived["passed"], true);
    assert_eq!(waived["violations"][0]["waived"][0]["title"], "S1 problem");

    app.execute("UPDATE findings SET risk_accepted_until = now() - interval '1 day'")
        .await;
    assert_eq!(
        gate(&app, &token, body).await["passed"],
        false,
        "an expired acceptance waives nothing"
    );
}

#[tokio::test]
async fn findings_past_their_sla_fail_and_policies_can_relax_rules() {
    let (app, token) = spawn_app_with_project("svc").await;
    let body = report(&[("L1", "low", "dependency"), ("M1", "medium", "dependency")]);
    assert_eq!(gate(&app, &token, body.clone()).await["passed"], true);
    // medium: 90 days to fix; low: 180
    app.execute("UPDATE findings SET first_seen_at = now() - interval '100 days'")
        .await;
    let late = gate(&app, &token, body.clone()).await;
    assert_eq!(rules(&late), vec![("no_sla_breaches".to_string(), 1)]);
    assert_eq!(late["violations"][0]["findings"][0]["title"], "M1 problem");

    app.execute(
        "INSERT INTO gate_policies (project_id, policy)
         SELECT id, '{\"block_sla_breaches\": false}' FROM projects",
    )
    .await;
    assert_eq!(gate(&app, &token, body).await["passed"], true);
}

#[tokio::test]
async fn a_large_violation_counts_everything_and_lists_the_worst_first() {
    let (app, token) = spawn_app_with_project("svc").await;
    let names: Vec<(String, &str)> = (0..40)
        .map(|i| {
            let severity = if i % 4 == 0 { "critical" } else { "high" };
            (format!("R{i:02}"), severity)
        })
        .collect();
    let findings: Vec<(&str, &str, &str)> = names
        .iter()
        .map(|(rule, severity)| (rule.as_str(), *severity, "code"))
        .collect();
    let gate = gate(&app, &token, report(&findings)).await;
    assert_eq!(gate["passed"], false);
    assert_eq!(rules(&gate), vec![("no_new_findings".to_string(), 40)]);
    let listed = gate["violations"][0]["findings"].as_array().unwrap();
    assert_eq!(listed.len(), 25, "at most 25 listed");
    let severities: Vec<&str> = listed
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert!(
        severities[..10].iter().all(|s| *s == "critical") && severities[10] == "high",
        "the 10 critical findings come first: {severities:?}"
    );
    let ids: Vec<i64> = listed.iter().map(|f| f["id"].as_i64().unwrap()).collect();
    assert!(ids[..10].is_sorted() && ids[10..].is_sorted(), "{ids:?}");
}

#[tokio::test]
async fn new_findings_are_judged_at_their_worst_report_and_their_own_sla() {
    let (app, token) = spawn_app_with_project("svc").await;
    // this project fixes low findings at once: a new low one is past due on arrival
    app.execute(
        "INSERT INTO project_sla_overrides (project_id, low_days) SELECT id, 0 FROM projects",
    )
    .await;
    let known = ("K1", "medium", "dependency");
    assert_eq!(gate(&app, &token, report(&[known])).await["passed"], true);
    app.execute("UPDATE findings SET first_seen_at = now() - interval '100 days'")
        .await;

    let verdict = gate(
        &app,
        &token,
        report(&[
            known,
            ("N1", "low", "dependency"),
            // one problem reported twice: one finding, at the worse severity
            ("R1", "medium", "code"),
            ("R1", "critical", "code"),
        ]),
    )
    .await;
    assert_eq!(
        rules(&verdict),
        vec![
            ("no_new_findings".to_string(), 1),
            ("no_sla_breaches".to_string(), 2)
        ],
        "{verdict}"
    );
    let listed = |rule: usize| -> Vec<(String, String)> {
        verdict["violations"][rule]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["title"].as_str().unwrap().to_string(),
                    f["severity"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(listed(0), vec![("R1 problem".into(), "critical".into())]);
    assert_eq!(
        listed(1),
        vec![
            ("K1 problem".into(), "medium".into()),
            ("N1 problem".into(), "low".into())
        ],
        "known and new findings ranked together, worst first"
    );
    let stored: Vec<(i64, String)> = app.rows("SELECT id, title FROM findings WHERE title IN ('K1 problem', 'N1 problem') ORDER BY id").await;
    let ids: Vec<i64> = verdict["violations"][1]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, stored.iter().map(|(id, _)| *id).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_runtime_alert_first_seen_long_ago_is_past_due_on_arrival() {
    let (app, token) = spawn_app_with_project("cluster").await;
    // Warning is medium: 90 days to fix, long gone since January
    let event = r#"{"output":"Warning outbound connection","priority":"Warning","rule":"Unexpected outbound connection","time":"2026-01-05T08:00:00Z","hostname":"node-a","output_fields":{"k8s.ns.name":"payments","k8s.pod.name":"payments-api-66b5c4d3e2-abcde","container.image.repository":"registry.acme.io/payments-api"}}"#;
    let json = app
        .push_ok(&token, "?target=prod-eu-1", event.as_bytes().to_vec())
        .await;
    assert_eq!(
        rules(&json["gate"]),
        vec![("no_sla_breaches".to_string(), 1)],
        "{json}"
    );
}

#[tokio::test]
async fn a_new_finding_repeated_in_a_streamed_report_counts_at_its_worst_level() {
    let (app, token) = spawn_app_with_project("svc").await;
    // SARIF streams, so the store (not the parser) merges the repeat: warning is medium,
    // which the default policy lets through; error is high, which it does not
    let result = |level: &str| {
        json!({"ruleId": "R1", "level": level, "message": {"text": "R1 in a.py"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.py"}, "region": {"startLine": 1}}}]})
    };
    let body = serde_json::to_vec(&json!({"version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "Repeats"}}, "results": [result("warning"), result("error")]}]}))
    .unwrap();
    let verdict = gate(&app, &token, body).await;
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 1);
    assert_eq!(
        rules(&verdict),
        vec![("no_new_findings".to_string(), 1)],
        "{verdict}"
    );
    assert_eq!(verdict["violations"][0]["findings"][0]["severity"], "high");
}
