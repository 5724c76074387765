//! Findings' references (project, assignees, risk approver) are checked per statement by
//! triggers rather than by foreign keys (migration 15, for ingest speed). These tests hold
//! the triggers to what the foreign keys guaranteed.

use bosun_tests::{TestApp, spawn_app};
use server::projects::{self, ProjectSlug};
use server::{teams, users};

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

async fn project(app: &TestApp, slug: &str) -> i64 {
    projects::create(&app.pool, &ProjectSlug::parse(slug).unwrap(), "")
        .await
        .unwrap()
        .id
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    users::create(&app.pool, email, "correct horse battery", false)
        .await
        .unwrap();
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_finding_cannot_name_a_missing_project_user_or_team() {
    let app = spawn_app().await;
    let web = project(&app, "web").await;
    let err = insert_finding(&app.pool, web + 1000, b"fp-1")
        .await
        .expect_err("a missing project is refused");
    assert_eq!(sqlstate(&err).as_deref(), Some("23503"), "{err}");
    assert!(err.to_string().contains("project_id"), "{err}");
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 0);

    let finding = insert_finding(&app.pool, web, b"fp-1").await.unwrap();
    let dev = user_id(&app, "dev@example.com").await;
    for (column, value) in [
        ("assignee_user_id", dev + 1000),
        ("assignee_team_id", 4242),
        ("risk_accepted_by", dev + 1000),
        ("project_id", web + 1000),
    ] {
        let err = sqlx::query(&format!("UPDATE findings SET {column} = $1 WHERE id = $2"))
            .bind(value)
            .bind(finding)
            .execute(&app.pool)
            .await
            .expect_err(column);
        assert_eq!(sqlstate(&err).as_deref(), Some("23503"), "{column}: {err}");
    }
    // existing ones are accepted
    sqlx::query("UPDATE findings SET assignee_user_id = $1, risk_accepted_by = $1 WHERE id = $2")
        .bind(dev)
        .bind(finding)
        .execute(&app.pool)
        .await
        .unwrap();

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
    assert_eq!(sqlstate(&err).as_deref(), Some("23503"), "{err}");
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 1);
}

#[tokio::test]
async fn deleting_what_findings_name_cascades_unassigns_or_is_refused() {
    let app = spawn_app().await;
    web_with_two_findings(&app).await;
    let other = project(&app, "other").await;
    insert_finding(&app.pool, other, b"fp-other").await.unwrap();
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 3);

    let dev = user_id(&app, "dev@example.com").await;
    let approver = user_id(&app, "sec@example.com").await;
    let team = teams::create(&app.pool, &ProjectSlug::parse("shop").unwrap(), "")
        .await
        .unwrap();
    sqlx::query(
        "UPDATE findings SET assignee_user_id = $1, assignee_team_id = $2
          WHERE project_id = $3",
    )
    .bind(dev)
    .bind(team.id)
    .bind(other)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("UPDATE findings SET risk_accepted_by = $1 WHERE project_id <> $2")
        .bind(approver)
        .bind(other)
        .execute(&app.pool)
        .await
        .unwrap();

    // a person or team that leaves: their findings are unassigned
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(dev)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM teams WHERE id = $1")
        .bind(team.id)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        app.count(
            "SELECT count(*) FROM findings
              WHERE assignee_user_id IS NOT NULL OR assignee_team_id IS NOT NULL"
        )
        .await,
        0
    );
    // the approver of a risk acceptance stays, as the audit trail names them
    let err = sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(approver)
        .execute(&app.pool)
        .await
        .expect_err("an approver cannot be deleted");
    assert_eq!(sqlstate(&err).as_deref(), Some("23503"), "{err}");
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'sec@example.com'")
            .await,
        1
    );

    // a deleted project takes its findings, and only its own
    sqlx::query("DELETE FROM projects WHERE id = $1")
        .bind(other)
        .execute(&app.pool)
        .await
        .unwrap();
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
    let web = project(&app, "web").await;
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
    sqlx::query("DELETE FROM projects WHERE id = $1")
        .bind(web)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.count("SELECT count(*) FROM findings").await, 0);

    // and a writer that comes after the delete is refused
    let err = insert_finding(&app.pool, web, b"fp-2").await.unwrap_err();
    assert_eq!(sqlstate(&err).as_deref(), Some("23503"), "{err}");
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
    let (scan_id, token_id): (i64, i64) = sqlx::query_as(
        "SELECT scan_id, actor_token_id FROM audit_events WHERE action = 'fixed_by_scan'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();

    let err = sqlx::query(
        "INSERT INTO audit_events (scan_id, subject_type, subject_id, action)
         VALUES ($1, 'finding', 1, 'noted')",
    )
    .bind(scan_id + 1000)
    .execute(&app.pool)
    .await
    .expect_err("a missing scan is refused");
    assert_eq!(sqlstate(&err).as_deref(), Some("23503"), "{err}");

    // what the trail names stays while its project does (the scope's pointer to its last
    // scan, a foreign key of its own, goes first so that only the trail holds the scan)
    sqlx::query("DELETE FROM scopes")
        .execute(&app.pool)
        .await
        .unwrap();
    for (sql, id) in [
        ("DELETE FROM scans WHERE id = $1", scan_id),
        ("DELETE FROM ingest_tokens WHERE id = $1", token_id),
    ] {
        let err = sqlx::query(sql)
            .bind(id)
            .execute(&app.pool)
            .await
            .expect_err(sql);
        assert_eq!(sqlstate(&err).as_deref(), Some("23503"), "{sql}: {err}");
        assert!(err.to_string().contains("audit trail"), "{sql}: {err}");
    }

    // a deleted project takes its scans, tokens, findings and history along
    sqlx::query("DELETE FROM projects WHERE slug = 'web'")
        .execute(&app.pool)
        .await
        .unwrap();
    for table in ["audit_events", "findings", "scans", "ingest_tokens"] {
        assert_eq!(
            app.count(&format!("SELECT count(*) FROM {table}")).await,
            0,
            "{table}"
        );
    }
}
