//! Findings' references (project, assignees, risk approver) are checked per statement by
//! triggers rather than by foreign keys (migration 15, for ingest speed). These tests hold
//! the triggers to what the foreign keys guaranteed.

use bosun_tests::{TestApp, spawn_app};

const SARIF: &str = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"TinyScan"}},
  "results":[{"ruleId":"T1","level":"error","message":{"text":"one"},
  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.py"},"region":{"startLine":3}}}]},
  {"ruleId":"T2","level":"note","message":{"text":"two"},
  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"b.py"},"region":{"startLine":9}}}]}]}]}"#;

/// Inserts one finding row into `project_id` as an ingest would (a statement of its own).
async fn insert_finding(
    executor: impl sqlx::PgExecutor<'_>,
    project_id: i64,
    fingerprint: &[u8],
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO findings (project_id, fingerprint, scanner, layer, severity, scanner_severity,
                               title, first_scan_id, last_scan_id)
         VALUES ($1, $2, 'test', 'code', 'high', 'high', 'a finding', 0, 0) RETURNING id",
    )
    .bind(project_id)
    .bind(fingerprint)
    .fetch_one(executor)
    .await
}

fn sqlstate(err: &sqlx::Error) -> Option<String> {
    err.as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.to_string())
}

/// Project web with a token, and SARIF's two findings ingested through the API; the token.
async fn web_with_two_findings(app: &TestApp) -> String {
    let token = app.project_with_token("web").await;
    let (status, body) = app
        .push_report(Some(&token), "", SARIF.as_bytes().to_vec())
        .await;
    assert!(status.is_success(), "{body}");
    token
}

/// An account `email`; its id.
async fn person(app: &TestApp, email: &str) -> i64 {
    app.create_user(email, bosun_tests::PASSWORD).await;
    app.user_id(email).await
}

/// Runs `sql`, which the database must refuse; the error.
async fn refused(app: &TestApp, sql: &str) -> sqlx::Error {
    sqlx::query(sql).execute(&app.pool).await.expect_err(sql)
}

/// Asserts that `err` is a foreign key violation (SQLSTATE 23503).
fn assert_fk_violation(err: &sqlx::Error, context: &str) {
    assert_eq!(sqlstate(err).as_deref(), Some("23503"), "{context}: {err}");
}

#[tokio::test]
async fn a_finding_cannot_name_a_missing_project_user_or_team() {
    let app = spawn_app().await;
    let web = app.create_project("web", None).await;
    let err = insert_finding(&app.pool, web + 1000, b"fp-1")
        .await
        .expect_err("a missing project is refused");
    assert_fk_violation(&err, "a missing project");
    assert!(err.to_string().contains("project_id"), "{err}");
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 0);

    let finding = insert_finding(&app.pool, web, b"fp-1").await.unwrap();
    let dev = person(&app, "dev@example.com").await;
    for (column, value) in [
        ("assignee_user_id", dev + 1000),
        ("assignee_team_id", 4242),
        ("risk_accepted_by", dev + 1000),
        ("project_id", web + 1000),
    ] {
        let sql = format!("UPDATE findings SET {column} = {value} WHERE id = {finding}");
        assert_fk_violation(&refused(&app, &sql).await, column);
    }
    // existing ones are accepted
    app.execute(&format!(
        "UPDATE findings SET assignee_user_id = {dev}, risk_accepted_by = {dev} WHERE id = {finding}"
    ))
    .await;

    // a COPY of many rows is checked too: one bad row refuses the whole statement
    let mut conn = app.pool.acquire().await.unwrap();
    let mut copy = conn
        .copy_in_raw(
            "COPY findings (project_id, fingerprint, scanner, layer, severity, scanner_severity,
                            title, first_scan_id, last_scan_id) FROM STDIN",
        )
        .await
        .unwrap();
    let rows = format!(
        "{web}\t\\\\x01\ttest\tcode\tlow\tlow\tok\t0\t0\n{}\t\\\\x02\ttest\tcode\tlow\tlow\tbad\t0\t0\n",
        web + 1000
    );
    let result = match copy.send(rows.as_bytes()).await {
        Ok(_) => copy.finish().await.map(drop),
        Err(err) => Err(err),
    };
    let err = result.expect_err("the copy is refused");
    assert_fk_violation(&err, "the copy");
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 1);
}

#[tokio::test]
async fn deleting_what_findings_name_cascades_unassigns_or_is_refused() {
    let app = spawn_app().await;
    web_with_two_findings(&app).await;
    let other = app.create_project("other", None).await;
    insert_finding(&app.pool, other, b"fp-other").await.unwrap();
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 3);

    let dev = person(&app, "dev@example.com").await;
    let approver = person(&app, "sec@example.com").await;
    let team = app.create_team("shop", "").await.id;
    app.execute(&format!(
        "UPDATE findings SET assignee_user_id = {dev}, assignee_team_id = {team}
          WHERE project_id = {other}"
    ))
    .await;
    app.execute(&format!(
        "UPDATE findings SET risk_accepted_by = {approver} WHERE project_id <> {other}"
    ))
    .await;

    // a person or team that leaves: their findings are unassigned
    app.execute(&format!("DELETE FROM users WHERE id = {dev}"))
        .await;
    app.execute(&format!("DELETE FROM teams WHERE id = {team}"))
        .await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM findings
              WHERE assignee_user_id IS NOT NULL OR assignee_team_id IS NOT NULL"
        )
        .await,
        0
    );
    // the approver of a risk acceptance stays, as the audit trail names them
    let err = refused(&app, &format!("DELETE FROM users WHERE id = {approver}")).await;
    assert_fk_violation(&err, "an approver cannot be deleted");
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'sec@example.com'")
            .await,
        1
    );

    // a deleted project takes its findings, and only its own
    app.execute(&format!("DELETE FROM projects WHERE id = {other}"))
        .await;
    assert_eq!(
        app.count("SELECT count(*) FROM findings WHERE project_id <> (SELECT id FROM projects WHERE slug = 'web')")
            .await,
        0
    );
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 2);
}

#[tokio::test]
async fn a_project_being_written_cannot_be_deleted_until_the_writer_commits() {
    let app = spawn_app().await;
    let web = app.create_project("web", None).await;
    let mut writer = app.pool.begin().await.unwrap();
    insert_finding(&mut *writer, web, b"fp-1").await.unwrap();

    // the writer holds the project FOR KEY SHARE, as a foreign key check would
    let mut deleter = app.pool.begin().await.unwrap();
    sqlx::query("SET LOCAL lock_timeout = '300ms'")
        .execute(&mut *deleter)
        .await
        .unwrap();
    let err = sqlx::query("DELETE FROM projects WHERE id = $1")
        .bind(web)
        .execute(&mut *deleter)
        .await
        .expect_err("the delete waits for the writer");
    assert_eq!(sqlstate(&err).as_deref(), Some("55P03"), "{err}");
    deleter.rollback().await.unwrap();

    writer.commit().await.unwrap();
    app.execute(&format!("DELETE FROM projects WHERE id = {web}"))
        .await;
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 0);

    // and a writer that comes after the delete is refused
    let err = insert_finding(&app.pool, web, b"fp-2").await.unwrap_err();
    assert_fk_violation(&err, "a writer after the delete");
}

#[tokio::test]
async fn the_audit_trail_names_real_rows_and_leaves_only_with_its_project() {
    let app = spawn_app().await;
    let token = web_with_two_findings(&app).await;
    // the second scan no longer reports T2: it closes it, with an audit event
    let one = SARIF.replace(
        r#",
  {"ruleId":"T2","level":"note","message":{"text":"two"},
  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"b.py"},"region":{"startLine":9}}}]}"#,
        "",
    );
    assert_ne!(one, SARIF);
    let (status, body) = app.push_report(Some(&token), "", one.into_bytes()).await;
    assert!(status.is_success(), "{body}");
    assert_eq!(body["fixed"], 1, "{body}");
    let (scan_id, token_id): (i64, i64) = app
        .row("SELECT scan_id, actor_token_id FROM audit_events WHERE action = 'fixed_by_scan'")
        .await;

    let missing_scan = scan_id + 1000;
    let sql = format!(
        "INSERT INTO audit_events (scan_id, subject_type, subject_id, action)
         VALUES ({missing_scan}, 'finding', 1, 'noted')"
    );
    assert_fk_violation(&refused(&app, &sql).await, "a missing scan is refused");

    // what the trail names stays while its project does (the scope's pointer to its last
    // scan, a foreign key of its own, goes first so that only the trail holds the scan)
    app.execute("DELETE FROM scopes").await;
    for sql in [
        format!("DELETE FROM scans WHERE id = {scan_id}"),
        format!("DELETE FROM ingest_tokens WHERE id = {token_id}"),
    ] {
        let err = refused(&app, &sql).await;
        assert_fk_violation(&err, &sql);
        assert!(err.to_string().contains("audit trail"), "{sql}: {err}");
    }

    // a deleted project takes its scans, tokens, findings and history along
    app.execute("DELETE FROM projects WHERE slug = 'web'").await;
    for table in ["audit_events", "findings", "scans", "ingest_tokens"] {
        assert_eq!(
            app.count(&format!("SELECT count(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }
}
