//! Re-import: what a new scan of a scope closes, reopens and leaves alone.

use bosun_tests::{TestApp, counts, spawn_app_with_project};
use reqwest::StatusCode;
use serde_json::Value;

/// A SARIF report with one result per (rule, file).
fn sarif(results: &[(&str, &str)]) -> Vec<u8> {
    let results: Vec<Value> = results
        .iter()
        .map(|(rule, file)| {
            serde_json::json!({"ruleId": rule, "level": "error", "message": {"text": format!("{rule} in {file}")},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": file}, "region": {"startLine": 1}}}]})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "ReScan"}}, "results": results}]}))
    .unwrap()
}

/// Pushes a SARIF log with one result per (rule, file) into `query`'s scope; Bosun's answer.
async fn push(app: &TestApp, token: &str, query: &str, results: &[(&str, &str)]) -> Value {
    app.push_ok(token, query, sarif(results)).await
}

/// `count` (rule, file) pairs over `rules` rules named `prefix`N, each in a file of its own.
fn generated(prefix: &str, rules: usize, count: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| (format!("{prefix}{}", i % rules), format!("src/f{i}.py")))
        .collect()
}

/// `pairs` as string slices, as [`sarif`] takes them.
fn borrowed(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(r, f)| (r.as_str(), f.as_str()))
        .collect()
}

/// The state of the finding of rule `rule`.
async fn state_of(app: &TestApp, rule: &str) -> String {
    let sql = format!("SELECT state::text FROM findings WHERE rule_id = '{rule}'");
    app.scalar(&sql).await
}

#[tokio::test]
async fn missing_findings_are_fixed_and_returning_ones_reopened_with_audit_events() {
    let (app, token) = spawn_app_with_project("svc").await;
    let both = [("A", "a.py"), ("B", "b.py")];
    for (results, expected) in [(&both[..], [2, 0, 0, 0, 2]), (&both[..1], [0, 1, 0, 1, 1])] {
        let json = push(&app, &token, "?target=repo", results).await;
        assert_eq!(counts(&json), expected);
    }
    assert_eq!(state_of(&app, "B").await, "fixed");
    let json = push(&app, &token, "?target=repo", &both).await;
    assert_eq!(counts(&json), [0, 1, 1, 0, 2]);
    assert_eq!(state_of(&app, "B").await, "reopened");
    let actions: Vec<String> = app
        .scalars(
            "SELECT e.action FROM audit_events e JOIN findings f ON f.id = e.subject_id
          WHERE e.subject_type = 'finding' AND f.rule_id = 'B' ORDER BY e.id",
        )
        .await;
    assert_eq!(actions, vec!["fixed_by_scan", "reopened_by_scan"]);
}

#[tokio::test]
async fn a_finding_belongs_to_the_one_scope_that_reported_it() {
    let (app, token) = spawn_app_with_project("svc").await;
    // the same problem reported under two targets is two findings, one per scope
    let both = [("M", "m.py"), ("N", "n.py")];
    push(&app, &token, "?target=old-name", &both).await;
    let taken = push(&app, &token, "?target=new-name", &[("M", "m.py")]).await;
    assert_eq!(taken["new"], 1, "{taken}");
    let gone = push(&app, &token, "?target=new-name", &[("Z", "z.py")]).await;
    assert_eq!(gone["fixed"], 1, "the new scope closes its own M: {gone}");
    let states: Vec<(String, String, String)> = app
        .rows(
            "SELECT target, rule_id, state::text FROM findings WHERE rule_id IN ('M', 'N')
          ORDER BY target, rule_id",
        )
        .await;
    assert_eq!(
        states,
        [
            ("new-name".into(), "M".into(), "fixed".into()),
            ("old-name".into(), "M".into(), "open".into()),
            ("old-name".into(), "N".into(), "open".into()),
        ],
        "the old scope still owns what it reported"
    );
}

#[tokio::test]
async fn a_scan_closes_only_within_its_own_scope() {
    let (app, token) = spawn_app_with_project("svc").await;
    push(&app, &token, "?target=repo-x", &[("X", "x.py")]).await;
    let other = push(&app, &token, "?target=repo-y", &[("Y", "y.py")]).await;
    assert_eq!(other["fixed"], 0, "another target is another scope");
    assert_eq!(state_of(&app, "X").await, "open");
}

#[tokio::test]
async fn partial_and_suspiciously_empty_scans_never_auto_close() {
    let (app, token) = spawn_app_with_project("svc").await;
    let six: Vec<(String, String)> = (0..6)
        .map(|i| (format!("R{i}"), format!("f{i}.py")))
        .collect();
    let six = borrowed(&six);
    push(&app, &token, "?target=repo", &six).await;

    let partial = push(&app, &token, "?target=repo&partial=true", &six[..1]).await;
    assert_eq!(partial["fixed"], 0);
    assert!(
        partial["auto_close_skipped"]
            .as_str()
            .unwrap()
            .contains("partial")
    );

    let empty = push(&app, &token, "?target=repo", &[]).await;
    assert_eq!(empty["fixed"], 0);
    assert!(
        empty["auto_close_skipped"]
            .as_str()
            .unwrap()
            .contains("suspiciously empty"),
        "{empty}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM findings WHERE state = 'open'")
            .await,
        6
    );

    // a scope that had few findings may well be clean now
    let few = [("S1", "s.py"), ("S2", "t.py")];
    push(&app, &token, "?target=small", &few).await;
    let clean = push(&app, &token, "?target=small", &[]).await;
    assert_eq!(clean["fixed"], 2, "{clean}");
    assert!(clean["auto_close_skipped"].is_null());
}

#[tokio::test]
async fn human_decisions_survive_any_scan() {
    let (app, token) = spawn_app_with_project("svc").await;
    let all = [("FP", "a.py"), ("RA", "b.py"), ("K", "c.py")];
    push(&app, &token, "?target=repo", &all).await;
    app.execute("UPDATE findings SET state = 'false_positive' WHERE rule_id = 'FP'")
        .await;
    app.execute("UPDATE findings SET state = 'risk_accepted' WHERE rule_id = 'RA'")
        .await;
    // a scan without them, then one with them again
    for results in [&all[2..], &all[..]] {
        push(&app, &token, "?target=repo", results).await;
        assert_eq!(
            (state_of(&app, "FP").await, state_of(&app, "RA").await),
            ("false_positive".into(), "risk_accepted".into())
        );
    }
}

#[tokio::test]
async fn the_audit_trail_is_append_only() {
    let (app, token) = spawn_app_with_project("svc").await;
    push(&app, &token, "?target=repo", &[("A", "a.py")]).await;
    push(&app, &token, "?target=repo", &[("B", "b.py")]).await;
    let scan_events = "SELECT count(*) FROM audit_events WHERE subject_type = 'finding'";
    assert_eq!(app.count(scan_events).await, 1);
    let update = sqlx::query("UPDATE audit_events SET reason = 'rewritten'")
        .execute(&app.pool)
        .await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM audit_events")
        .execute(&app.pool)
        .await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    assert_eq!(app.count(scan_events).await, 1);
}

#[tokio::test]
async fn concurrent_uploads_of_one_scope_never_duplicate_findings() {
    let (app, token) = spawn_app_with_project("svc").await;
    let body = sarif(&borrowed(&generated("C", 20, 200)));
    let uploads = (0..8).map(|_| app.push_report(Some(&token), "?target=repo", body.clone()));
    let results = futures::future::join_all(uploads).await;
    let mut new_total = 0;
    for (status, json) in &results {
        assert_eq!(*status, StatusCode::CREATED, "{json}");
        new_total += json["new"].as_i64().unwrap();
    }
    assert_eq!(
        new_total, 200,
        "each finding is new exactly once across the parallel uploads"
    );
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 200);
    assert_eq!(
        app.count("SELECT count(*) FROM findings WHERE state <> 'open'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_large_scan_closes_what_it_no_longer_reports() {
    let (app, token) = spawn_app_with_project("svc").await;
    let names = generated("L", 97, 10500);
    push(&app, &token, "?target=repo", &borrowed(&names[..10000])).await;
    let json = push(&app, &token, "?target=repo", &borrowed(&names[500..])).await;
    assert_eq!(counts(&json), [500, 9500, 0, 500, 10000]);
}

#[tokio::test]
async fn a_problem_reported_twice_in_one_report_is_one_finding_on_every_import() {
    let (app, token) = spawn_app_with_project("web").await;
    // the same result twice: one fingerprint, repeated within the report
    let report = [("R1", "a.py"), ("R1", "a.py"), ("R2", "b.py")];
    let occurrences = || async {
        app.scalar::<i32>("SELECT occurrences FROM findings WHERE rule_id = 'R1'")
            .await
    };
    let first = push(&app, &token, "", &report).await;
    assert_eq!(counts(&first), [2, 0, 0, 0, 2], "{first}");
    assert_eq!(occurrences().await, 2);
    // on re-import the repeat is of a finding the scope already holds
    let again = push(&app, &token, "", &report).await;
    assert_eq!(counts(&again), [0, 2, 0, 0, 2], "{again}");
    assert_eq!(occurrences().await, 2);
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 2);
}
