//! The HTTP API against a real PostgreSQL: health, tokens, SARIF ingestion, bad input.

use bosun_tests::{PASSWORD, TestApp, counts, spawn_app, spawn_app_with_project};
use reqwest::StatusCode;
use std::io::Write;

const SMALL_SARIF: &str = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"TinyScan","rules":[{"id":"T1"}]}},
  "results":[
    {"ruleId":"T1","level":"error","message":{"text":"first"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.py"},"region":{"startLine":3}}}]},
    {"ruleId":"T1","level":"note","message":{"text":"second"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"b.py"},"region":{"startLine":9}}}]}
  ]}]}"#;

/// Gzips `body` at `level`.
fn gzip(body: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), level);
    gz.write_all(body).unwrap();
    gz.finish().unwrap()
}

/// POSTs `body` as a gzipped report with `token`.
async fn push_gzip(app: &TestApp, token: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/reports"))
        .bearer_auth(token)
        .header("Content-Encoding", "gzip")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The number of findings stored.
async fn findings(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM findings").await
}

#[tokio::test]
async fn healthz_answers_while_readyz_follows_the_database() {
    let app = spawn_app().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
    assert!(
        health.headers().contains_key("x-request-id"),
        "every response carries a request id"
    );
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);

    app.server_pool.close().await; // the server's database is now unreachable to it
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let health = app.get("/healthz").await;
    assert_eq!(
        health.status(),
        StatusCode::OK,
        "the process itself is still up"
    );
}

#[tokio::test]
async fn reports_need_a_valid_token() {
    let (app, token) = spawn_app_with_project("svc").await;
    let unauthorized = StatusCode::UNAUTHORIZED;
    let sarif = || SMALL_SARIF.as_bytes().to_vec();
    app.push_refused(None, "", sarif(), unauthorized, "Authorization")
        .await;
    let invalid = "invalid, expired or revoked token";
    let error = app
        .push_refused(
            Some("bosun_not-a-real-token"),
            "",
            sarif(),
            unauthorized,
            invalid,
        )
        .await;
    assert_eq!(error, invalid);

    app.execute("UPDATE ingest_tokens SET revoked_at = now()")
        .await;
    // a revoked token is refused
    app.push_refused(Some(&token), "", sarif(), unauthorized, "")
        .await;
    assert_eq!(findings(&app).await, 0);
    assert_eq!(app.count("SELECT count(*) FROM scans").await, 0);
}

#[tokio::test]
async fn a_token_cannot_push_into_another_project() {
    let (app, token) = spawn_app_with_project("alpha").await;
    app.project_with_token("beta").await;
    let forbidden = StatusCode::FORBIDDEN;
    app.push_refused(
        Some(&token),
        "?project=beta",
        SMALL_SARIF.into(),
        forbidden,
        "alpha",
    )
    .await;
    assert_eq!(findings(&app).await, 0);
}

#[tokio::test]
async fn sarif_is_stored_and_resending_it_changes_nothing() {
    let (app, token) = spawn_app_with_project("svc").await;
    let first = app
        .push_ok(&token, "?target=repo&branch=main", SMALL_SARIF.into())
        .await;
    assert_eq!(counts(&first), [2, 0, 0, 0, 2], "{first}");
    assert_eq!(
        first["scanner"], "tinyscan",
        "the tool's id: its name, lowercase"
    );
    assert_eq!(first["format"], "sarif");

    let second = app
        .push_ok(&token, "?target=repo&branch=main", SMALL_SARIF.into())
        .await;
    assert_eq!(counts(&second), [0, 2, 0, 0, 2], "{second}");
    assert_eq!(findings(&app).await, 2, "no duplicates");
    assert_eq!(
        app.count("SELECT count(*) FROM scans WHERE status = 'accepted'")
            .await,
        2
    );
    let (severity, location): (String, String) = app
        .row("SELECT severity::text, location FROM findings WHERE title = 'first'")
        .await;
    assert_eq!((severity.as_str(), location.as_str()), ("high", "a.py:3"));
    // unchanged findings are not rewritten: their scope remembers the scan that saw them
    let first_scan = first["scan_id"].as_i64().unwrap();
    assert_eq!(
        app.count("SELECT max(last_scan_id) FROM findings").await,
        first_scan,
        "an unchanged re-import leaves the finding rows alone"
    );
    assert_eq!(
        app.count("SELECT last_scan_id FROM scopes").await,
        second["scan_id"].as_i64().unwrap(),
        "the scope remembers the scan that last saw them"
    );
}

#[tokio::test]
async fn gzip_bodies_are_accepted() {
    let (app, token) = spawn_app_with_project("svc").await;
    let body = gzip(SMALL_SARIF.as_bytes(), flate2::Compression::default());
    let response = push_gzip(&app, &token, body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(findings(&app).await, 2);
}

#[tokio::test]
async fn malformed_reports_are_refused_with_a_reason_and_store_nothing() {
    let (app, token) = spawn_app_with_project("svc").await;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "?format=sarif",
            b"{\"version\":\"2.1.0\",\n\"runs\": [ nope ]}".to_vec(),
            "line 2",
        ),
        ("", SMALL_SARIF.as_bytes()[..120].to_vec(), "truncated"),
        ("", Vec::new(), "empty"),
        ("", b"just some text".to_vec(), "unknown report format"),
    ];
    let cobol = (
        "?format=cobol",
        SMALL_SARIF.as_bytes().to_vec(),
        "unknown format 'cobol'",
    );
    for (query, body, expected) in cases.into_iter().chain([cobol]) {
        app.push_refused(Some(&token), query, body, StatusCode::BAD_REQUEST, expected)
            .await;
    }

    assert_eq!(findings(&app).await, 0, "nothing half-written");
    assert_eq!(
        app.count("SELECT count(*) FROM scans WHERE status = 'accepted'")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM scans WHERE status = 'rejected' AND error <> ''")
            .await,
        5,
        "each rejection is in the scan history with its reason"
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let app = spawn_app().await; // the harness sets an 8 MiB limit
    let token = app.project_with_token("svc").await;
    let big = vec![b' '; 9 * 1024 * 1024];
    let (status, json) = app.push_report(Some(&token), "", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{json}");
    assert_eq!(app.count("SELECT count(*) FROM scans").await, 0);
}

#[tokio::test]
async fn gzip_bombs_stop_at_the_limit_and_broken_gzip_is_refused() {
    let app = spawn_app().await; // 8 MiB limit, counted after decompression
    let token = app.project_with_token("svc").await;
    let bomb = gzip(&vec![b' '; 64 * 1024 * 1024], flate2::Compression::best());
    assert!(
        bomb.len() < 200 * 1024,
        "64 MiB of spaces compress to {} bytes",
        bomb.len()
    );
    let response = push_gzip(&app, &token, bomb).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let json: serde_json::Value = response.json().await.unwrap();
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("after decompression"),
        "{json}"
    );

    let response = push_gzip(&app, &token, b"this is not gzip".to_vec()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(findings(&app).await, 0);
}

#[tokio::test]
async fn a_wrong_format_override_is_refused_with_the_parsers_reason() {
    let (app, token) = spawn_app_with_project("svc").await;
    let bad_request = StatusCode::BAD_REQUEST;
    let error = app
        .push_refused(
            Some(&token),
            "?format=bosun",
            SMALL_SARIF.into(),
            bad_request,
            "",
        )
        .await;
    assert!(error.starts_with("bosun report is invalid"), "{error}");
    assert_eq!(findings(&app).await, 0);
}

#[tokio::test]
async fn metadata_may_come_as_headers_and_is_validated() {
    let (app, token) = spawn_app_with_project("svc").await;
    let response = app
        .client
        .post(app.url("/api/v1/reports?branch=main"))
        .bearer_auth(&token)
        .header("X-Bosun-Target", "registry.example/app")
        .header("X-Bosun-Environment", "production")
        .header("X-Bosun-Branch", "ignored-when-the-query-says-so")
        .body(SMALL_SARIF)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let (target, environment, branch): (String, Option<String>, Option<String>) = app
        .row("SELECT target, environment, branch FROM scans")
        .await;
    assert_eq!(target, "registry.example/app");
    assert_eq!(environment.as_deref(), Some("production"));
    assert_eq!(branch.as_deref(), Some("main"), "the query parameter wins");

    let bad_request = StatusCode::BAD_REQUEST;
    app.push_refused(
        Some(&token),
        "?partial=maybe",
        SMALL_SARIF.into(),
        bad_request,
        "partial",
    )
    .await;
    let long = "x".repeat(3000);
    let (status, _) = app
        .push_report(Some(&token), &format!("?target={long}"), SMALL_SARIF.into())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_api_describes_itself_in_openapi() {
    let app = spawn_app().await;
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc: serde_json::Value = response.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let upload = &doc["paths"]["/api/v1/reports"]["post"];
    assert_eq!(upload["security"][0]["ingest_token"], serde_json::json!([]));
    let params: Vec<&str> = upload["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "format",
        "project",
        "target",
        "commit",
        "branch",
        "pipeline_url",
        "environment",
        "partial",
    ] {
        assert!(params.contains(&name), "{name} documented: {params:?}");
    }
    for status in ["201", "400", "401", "403", "413"] {
        assert!(
            upload["responses"][status].is_object(),
            "{status} documented"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for schema in [
        "IngestOutcome",
        "GateVerdict",
        "Violation",
        "GateFinding",
        "Severity",
        "ErrorBody",
    ] {
        assert!(schemas[schema].is_object(), "schema {schema}");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["ingest_token"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn the_projects_scan_history_shows_rejected_reports_with_their_reason() {
    let (app, token) = spawn_app_with_project("svc").await;
    app.push_ok(&token, "?target=repo", SMALL_SARIF.into())
        .await;
    let (status, refused) = app
        .push_report(
            Some(&token),
            "?target=repo&format=bosun",
            br#"{"bosun_format": 1, "scanner": {"name": "<script>alert(1)</script>"}, "findings": [{"title": 7}]}"#.to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");

    // anonymous: sent to sign in
    let anonymous = bosun_tests::fresh_client();
    let page = app.get_status(&anonymous, "/projects/svc/scans").await;
    assert_eq!(page, StatusCode::SEE_OTHER);

    app.create_user("ops@example.com", PASSWORD).await;
    app.grant("ops@example.com", "svc", app::workflow::Role::Ops)
        .await;
    app.sign_in("ops@example.com", PASSWORD).await;
    let page = app.get("/projects/svc/scans").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("scan-rejected"),
        "the rejected scan is listed"
    );
    assert!(
        html.contains("scan-accepted"),
        "the accepted scan is listed"
    );
    assert!(
        html.contains("bosun report is invalid"),
        "the reason is shown: {html}"
    );
    assert!(html.contains("2 total"), "accepted scans show their counts");
}
