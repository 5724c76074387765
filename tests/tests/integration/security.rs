//! The security review (#12): each weakness it reproduced on a running server, and the
//! ASVS L2 gaps beside them, as tests against a real server and database. Memory under
//! unauthenticated uploads is measured in `upload_memory.rs` (a binary of its own, so
//! nothing else runs in its process).

use std::sync::{Arc, Mutex, OnceLock};

use bosun_tests::{TestApp, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, LOCATION, SET_COOKIE};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery";

/// A sign-in that worked: it set the session cookie (a form post without `Accept:
/// text/html` gets 200 with `Location`, a browser's gets 302).
fn signed_in(response: &reqwest::Response) -> bool {
    (response.status().is_success() || response.status().is_redirection())
        && response.headers().get_all(SET_COOKIE).iter().any(|c| {
            c.to_str().unwrap_or("").contains("bosun_session=")
                && !c.to_str().unwrap_or("").contains("Max-Age=0")
        })
}

fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn sign_in_with_next(
    app: &TestApp,
    client: &reqwest::Client,
    next: &str,
) -> reqwest::Response {
    // as a browser without JavaScript posts the sign-in form
    client
        .post(app.url("/api/login"))
        .header("Origin", &app.base_url)
        .header("Accept", "text/html")
        .form(&[
            ("email", "dev@example.com"),
            ("password", PASSWORD),
            ("next", next),
        ])
        .send()
        .await
        .expect("the server answers (no panic, no empty reply)")
}

// 1. Open redirect after sign-in -------------------------------------------------------

#[tokio::test]
async fn hostile_next_values_never_send_people_off_site() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    for hostile in [
        "/\t/evil.example/phish",
        "/\n/evil.example/phish",
        "/\r\n/evil.example",
        "//evil.example/phish",
        "/\\evil.example",
        "\\/evil.example",
        "https://evil.example/",
        "/ /evil.example",
        "javascript:alert(1)",
    ] {
        let response = sign_in_with_next(&app, &fresh_client(), hostile).await;
        assert!(signed_in(&response), "{hostile:?}: {}", response.status());
        assert_eq!(response.status(), StatusCode::FOUND, "{hostile:?}");
        assert_eq!(response.headers()[LOCATION], "/findings", "{hostile:?}");
    }
    let local = sign_in_with_next(&app, &fresh_client(), "/findings?severity=high").await;
    assert_eq!(local.headers()[LOCATION], "/findings?severity=high");
    // the sign-in page renders with any `next` in its address
    for query in ["next=%0A", "next=/%09/evil.example", "next=%00"] {
        let page = app
            .client
            .get(app.url(&format!("/login?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{query}");
    }
}

// 2. Sign-in throttling ----------------------------------------------------------------

#[tokio::test]
async fn sixty_parallel_wrong_guesses_reach_the_password_check_at_most_five_times() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    let guesses = (0..60).map(|i| {
        let app = &app;
        async move {
            fresh_client()
                .post(app.url("/api/login"))
                .header("Origin", &app.base_url)
                .form(&[
                    ("email", "dev@example.com"),
                    ("password", &format!("wrong guess {i}")),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let statuses = futures::future::join_all(guesses).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + throttled, 60, "{statuses:?}");
    assert_eq!(
        checked, 5,
        "{checked} guesses reached the password check (limit 5): {statuses:?}"
    );
    // and the right password now waits too
    let right = app.sign_in("dev@example.com", PASSWORD).await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn another_spelling_of_an_email_gets_no_fresh_counter() {
    let app = spawn_app().await;
    app.create_user("ina@example.com", PASSWORD).await;
    for _ in 0..5 {
        let r = app.sign_in("ina@example.com", "nope-nope-nope").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // 'İ' lowercases to 'i̇' in Rust and, in many database locales, to 'i': before, the
    // throttle counted one and the account lookup found the other
    let db_folds: bool = sqlx::query_scalar("SELECT lower('İna@example.com') = 'ina@example.com'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    eprintln!("this database's lower() folds İ to i: {db_folds}");
    for variant in ["İna@example.com", "INA@EXAMPLE.COM", " Ina@Example.com "] {
        let r = app.sign_in(variant, PASSWORD).await;
        assert!(
            !signed_in(&r),
            "{variant:?} signed in past the throttle: {}",
            r.status()
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM sessions").await, 0);
}

#[tokio::test]
async fn the_per_address_limit_uses_forwarded_addresses_only_from_trusted_proxies() {
    let seed =
        "INSERT INTO login_attempts (key) SELECT 'ip:203.0.113.9' FROM generate_series(1, 50)";
    let sign_in_from = |app: &TestApp, forwarded: &'static str| {
        fresh_client()
            .post(app.url("/api/login"))
            .header("Origin", &app.base_url)
            .header("X-Forwarded-For", forwarded)
            .form(&[("email", "dev@example.com"), ("password", PASSWORD)])
            .send()
    };
    // no trusted proxy: X-Forwarded-For is the client's own claim and is ignored
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    sqlx::query(seed).execute(&app.pool).await.unwrap();
    let r = sign_in_from(&app, "203.0.113.9").await.unwrap();
    assert!(signed_in(&r), "{}", r.status());
    // behind a trusted proxy, the address it forwards is the client's
    let app = spawn_app_with(&[("BOSUN_TRUSTED_PROXIES", "127.0.0.1")]).await;
    app.create_user("dev@example.com", PASSWORD).await;
    sqlx::query(seed).execute(&app.pool).await.unwrap();
    let r = sign_in_from(&app, "203.0.113.9").await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // a client cannot hide behind an address it prepends itself
    let r = sign_in_from(&app, "198.51.100.1, 203.0.113.9")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let r = sign_in_from(&app, "198.51.100.1").await.unwrap();
    assert!(signed_in(&r), "{}", r.status());
    let stored: String = sqlx::query_scalar("SELECT client_address FROM sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, "198.51.100.1");
}

// 3. Team and cluster-wide tokens ------------------------------------------------------

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

const SARIF: &str = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"TinyScan"}},
  "results":[{"ruleId":"T1","level":"error","message":{"text":"a problem"},
  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.py"},"region":{"startLine":3}}}]}]}]}"#;

async fn cli_ok(app: &TestApp, args: &[&str]) -> String {
    let out = app.bosun(args, None).await;
    assert!(
        out.status.success(),
        "bosun {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[tokio::test]
async fn team_and_cluster_wide_tokens_are_listed_revoked_and_expire() {
    let app = spawn_app().await;
    cli_ok(&app, &["team", "create", "shop"]).await;
    cli_ok(&app, &["project", "create", "web", "--team", "shop"]).await;
    let project = cli_ok(&app, &["token", "create", "--project", "web"]).await;
    let team = cli_ok(
        &app,
        &["token", "create", "--team", "shop", "--name", "operator"],
    )
    .await;
    let cluster = cli_ok(
        &app,
        &["token", "create", "--cluster", "--expires-in", "90d"],
    )
    .await;
    let (project, team, cluster) = (project.trim(), team.trim(), cluster.trim());
    for token in [project, team, cluster] {
        let (status, body) = app
            .push_report(Some(token), "?project=web&target=t", SARIF.into())
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let all = cli_ok(&app, &["token", "list"]).await;
    for needle in [
        "project web",
        "team shop",
        "cluster-wide",
        &team[..12],
        &cluster[..12],
    ] {
        assert!(all.contains(needle), "{needle} in {all}");
    }
    assert!(
        !all.contains(team) && !all.contains(cluster),
        "never the secrets"
    );
    let teams_only = cli_ok(&app, &["token", "list", "--team", "shop"]).await;
    assert!(teams_only.contains("team shop") && !teams_only.contains("cluster-wide"));
    let cluster_only = cli_ok(&app, &["token", "list", "--cluster"]).await;
    assert!(cluster_only.contains("cluster-wide") && !cluster_only.contains("team shop"));
    let expires: i64 = app
        .count("SELECT extract(day FROM expires_at - created_at)::int8 FROM ingest_tokens WHERE team_id IS NULL AND project_id IS NULL")
        .await;
    assert!((89..=90).contains(&expires), "{expires}");

    let team_id = app
        .count("SELECT id FROM ingest_tokens WHERE team_id IS NOT NULL")
        .await
        .to_string();
    let cluster_id = app
        .count("SELECT id FROM ingest_tokens WHERE team_id IS NULL AND project_id IS NULL")
        .await
        .to_string();
    cli_ok(&app, &["token", "revoke", &team_id]).await;
    cli_ok(&app, &["token", "revoke", &cluster_id]).await;
    for token in [team, cluster] {
        let (status, body) = app
            .push_report(Some(token), "?project=web&target=t", SARIF.into())
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a revoked token: {body}");
    }
    let again = app.bosun(&["token", "revoke", &team_id], None).await;
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("already revoked"));
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE subject_type = 'ingest_token' AND action = 'revoked'").await,
        2
    );
    assert!(cli_ok(&app, &["token", "list"]).await.contains("revoked"));

    // an expired token is refused like a revoked one
    sqlx::query("UPDATE ingest_tokens SET expires_at = now() - interval '1 second' WHERE project_id IS NOT NULL")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = app
        .push_report(Some(project), "?target=t", SARIF.into())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid, expired or revoked token");
    let bad = app
        .bosun(
            &["token", "create", "--cluster", "--expires-in", "0d"],
            None,
        )
        .await;
    assert_eq!(bad.status.code(), Some(2));
}

#[tokio::test]
async fn the_tokens_page_lets_each_role_manage_what_it_may() {
    let app = spawn_app().await;
    cli_ok(&app, &["team", "create", "shop"]).await;
    cli_ok(&app, &["team", "create", "data"]).await;
    cli_ok(&app, &["project", "create", "web", "--team", "shop"]).await;
    cli_ok(&app, &["project", "create", "lake", "--team", "data"]).await;
    cli_ok(&app, &["token", "create", "--cluster", "--name", "estate"]).await;
    cli_ok(&app, &["token", "create", "--project", "lake"]).await;
    for (email, team, role) in [
        ("sec@example.com", "shop", app::workflow::Role::Security),
        ("dev@example.com", "shop", app::workflow::Role::Developer),
        (
            "stranger@example.com",
            "data",
            app::workflow::Role::Developer,
        ),
    ] {
        app.create_user(email, PASSWORD).await;
        server::teams::add_member(&app.pool, team, email, role)
            .await
            .unwrap();
    }
    server::users::create(&app.pool, "admin@example.com", PASSWORD, true)
        .await
        .unwrap();
    let sec = app.signed_in_client("sec@example.com", PASSWORD).await;
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let stranger = app.signed_in_client("stranger@example.com", PASSWORD).await;
    let admin = app.signed_in_client("admin@example.com", PASSWORD).await;

    // security of team shop creates a team token, expiring in 30 days; it works once shown
    let (status, body) = app
        .call_server_fn(
            &sec,
            "create_token",
            &[
                ("scope", "team:shop"),
                ("name", "prod trivy-operator"),
                ("expires_in_days", "30"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let secret = created["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("bosun_"));
    let (status, _) = app
        .push_report(Some(&secret), "?project=web&target=t", SARIF.into())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = app.call_server_fn(&sec, "list_tokens", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("prod trivy-operator") && !body.contains(&secret),
        "{body}"
    );
    assert!(
        !body.contains("estate") && !body.contains("\"lake\""),
        "not another team's, not cluster-wide: {body}"
    );

    // a developer may not; another team answers as if shop did not exist; cluster needs more
    let (status, _) = app
        .call_server_fn(&dev, "create_token", &[("scope", "team:shop")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call_server_fn(&dev, "create_token", &[("scope", "project:web")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call_server_fn(&stranger, "create_token", &[("scope", "team:shop")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .call_server_fn(&sec, "create_token", &[("scope", "cluster")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = app.call_server_fn(&dev, "list_tokens", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let listed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 0, "{body}");

    // revoking: another team's token is not found, then security revokes its own
    let id = created["id"].to_string();
    let (status, _) = app
        .call_server_fn(&stranger, "revoke_token", &[("id", &id)])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = app
        .call_server_fn(&sec, "revoke_token", &[("id", &id)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app
        .push_report(Some(&secret), "?project=web&target=t", SARIF.into())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app
        .call_server_fn(&sec, "revoke_token", &[("id", &id)])
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // an admin manages cluster-wide tokens; every change is audited with its actor
    let (status, body) = app
        .call_server_fn(&admin, "create_token", &[("scope", "cluster")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.call_server_fn(&admin, "list_tokens", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("estate") && body.contains("\"lake\""),
        "{body}"
    );
    let audited: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT e.action, u.email FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id
          WHERE e.subject_type = 'ingest_token' AND e.actor_user_id IS NOT NULL ORDER BY e.id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        audited,
        [
            ("created".to_string(), Some("sec@example.com".to_string())),
            ("revoked".to_string(), Some("sec@example.com".to_string())),
            ("created".to_string(), Some("admin@example.com".to_string())),
        ]
    );
}

// 4. Uploads: token first, bounded concurrency -----------------------------------------

#[tokio::test]
async fn an_upload_is_refused_before_its_body_is_read_and_a_full_server_says_when_to_retry() {
    let app = spawn_app_with(&[
        ("BOSUN_MAX_CONCURRENT_UPLOADS", "1"),
        ("BOSUN_UPLOAD_WAIT_SECS", "0"),
    ])
    .await;
    let token = app.project_with_token("web").await;
    // no token: 401, and nothing of the body is stored
    let (status, body) = app
        .push_report(None, "?target=t", vec![b' '; 4 << 20])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = app
        .push_report(Some("bosun_not_a_token"), "?target=t", SARIF.into())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("SELECT count(*) FROM scans").await, 0);

    // one upload holds the only slot while its body trickles in
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Vec<u8>, std::io::Error>>();
    tx.unbounded_send(Ok(SARIF.as_bytes()[..20].to_vec()))
        .unwrap();
    let slow = app
        .client
        .post(app.url("/api/v1/reports?target=slow"))
        .bearer_auth(&token)
        .body(reqwest::Body::wrap_stream(rx))
        .send();
    let slow = tokio::spawn(slow);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let busy = app
        .client
        .post(app.url("/api/v1/reports?target=t"))
        .bearer_auth(&token)
        .body(SARIF)
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(busy.headers()["retry-after"], "5");
    // `bosun push` waits as told and tries again
    let report = std::env::temp_dir().join(format!("bosun-busy-{}.sarif", std::process::id()));
    std::fs::write(&report, SARIF).unwrap();
    let report_path = report.display().to_string();
    let args = [
        "push",
        &report_path,
        "--token",
        &token,
        "--target",
        "from-ci",
    ];
    let push = app.bosun(&args, None);
    let release = async {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        tx.unbounded_send(Ok(SARIF.as_bytes()[20..].to_vec()))
            .unwrap();
        tx.close_channel();
    };
    let (pushed, ()) = tokio::join!(push, release);
    let _ = std::fs::remove_file(&report);
    // accepted (0: gate passed, 1: its new high finding failed the gate), not an error
    assert_ne!(pushed.status.code(), Some(2), "{}", text(&pushed.stderr));
    assert!(
        text(&pushed.stderr).contains("the server is busy; retry 1 of 5"),
        "{}",
        text(&pushed.stderr)
    );
    let done = slow.await.unwrap().unwrap();
    assert_eq!(done.status(), StatusCode::CREATED);
    // the slot is free again
    let (status, _) = app
        .push_report(Some(&token), "?target=t", SARIF.into())
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

// 5. Field caps --------------------------------------------------------------------------

#[tokio::test]
async fn an_oversized_field_is_stored_capped_and_pages_stay_small() {
    let app = spawn_app().await;
    let token = app.project_with_token("web").await;
    let huge_rule = "r".repeat(5 << 20);
    let report = serde_json::json!({
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "Tiny\u{0}Scan", "version": "1\u{0}.0"}},
          "results": [{"ruleId": huge_rule, "level": "error", "message": {"text": "big"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": format!("src/{}.py", "p".repeat(100_000))}}}]}]}]
    });
    let (status, body) = app
        .push_report(
            Some(&token),
            "?target=t",
            serde_json::to_vec(&report).unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (rule_chars, rule_end, path_chars, scanner): (i32, String, i32, String) = sqlx::query_as(
        "SELECT char_length(rule_id), right(rule_id, 1), char_length(file_path), scanner FROM findings",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(rule_chars, 201, "200 characters and a visible cut");
    assert_eq!(rule_end, "…");
    assert_eq!(path_chars, 1001);
    assert_eq!(
        scanner, "tinyscan",
        "a NUL in the scanner's name is dropped, not a 500"
    );
    app.create_user("dev@example.com", PASSWORD).await;
    app.grant("dev@example.com", "web", app::workflow::Role::Developer)
        .await;
    let client = app.signed_in_client("dev@example.com", PASSWORD).await;
    let page = client
        .get(app.url("/findings"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.len() < 200_000,
        "the findings page is {} bytes",
        page.len()
    );
}

// 6. What clients are told -------------------------------------------------------------

#[tokio::test]
async fn nul_bytes_and_huge_inputs_get_a_4xx_without_database_text() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    let leaks = [
        "invalid byte sequence",
        "index row",
        "postgres",
        "sqlx",
        "database",
        "SQL",
    ];
    let call = |email: String| {
        let app = &app;
        async move {
            let r = fresh_client()
                .post(app.url("/api/login"))
                .header("Origin", &app.base_url)
                .form(&[("email", email.as_str()), ("password", PASSWORD)])
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (status, body) = call("dev\u{0}@example.com".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("control characters") && body.contains("email"),
        "{body}"
    );
    let (status, body) = call(format!("{}@example.com", "a".repeat(1_900_000))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, body) = call(format!("{}@example.com", "a".repeat(300))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("254"), "{body}");
    let (status, body) = call(format!("{}@example.com", "é".repeat(100_000))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    for (status, body) in [
        call("dev\u{0}@example.com".into()).await,
        call(format!("{}@example.com", "a".repeat(300))).await,
    ] {
        assert!(status.is_client_error());
        for leak in leaks {
            assert!(!body.contains(leak), "{leak} in {body}");
        }
    }
    // a NUL where a project is named, outside server functions' forms: no such project
    let signed_in = app.signed_in_client("dev@example.com", PASSWORD).await;
    let export = signed_in
        .get(app.url("/api/audit/export?project=web%00x"))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::NOT_FOUND);
    let page = signed_in
        .get(app.url("/projects/web%00x/scans"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("No such project"), "{page}");
    assert!(!page.contains("went wrong"), "{page}");
    // any server function field: a NUL in a comment is refused at the edge
    let admin = {
        server::users::create(&app.pool, "admin@example.com", PASSWORD, true)
            .await
            .unwrap();
        app.signed_in_client("admin@example.com", PASSWORD).await
    };
    let (status, body) = app
        .call_server_fn(
            &admin,
            "create_team",
            &[("slug", "ops"), ("name", "Ops\u{0}")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(app.count("SELECT count(*) FROM teams").await, 0);
}

#[tokio::test]
async fn internal_errors_answer_a_request_id_and_keep_the_detail_in_the_log() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    let client = app.signed_in_client("dev@example.com", PASSWORD).await;
    let token = app.project_with_token("web").await;
    app.server_pool.close().await; // every query of the server now fails
    let response = client
        .post(app.url("/api/list_findings"))
        .header("Origin", &app.base_url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body = response.text().await.unwrap();
    assert!(
        body.contains("Something went wrong on Bosun's side"),
        "{body}"
    );
    assert!(
        body.contains(&id),
        "the answer names its request id {id}: {body}"
    );
    assert!(!body.to_lowercase().contains("pool"), "{body}");
    let response = app
        .client
        .post(app.url("/api/v1/reports?target=t"))
        .bearer_auth(&token)
        .body(SARIF)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["request_id"], id.as_str());
    assert!(
        !body["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("pool"),
        "{body}"
    );
}

// ASVS L2 gaps ---------------------------------------------------------------------------

#[tokio::test]
async fn state_changes_need_bosuns_origin_and_a_form() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    let form = [("email", "dev@example.com"), ("password", PASSWORD)];
    let without_origin = fresh_client()
        .post(app.url("/api/login"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(without_origin.status(), StatusCode::FORBIDDEN);
    let null_origin = fresh_client()
        .post(app.url("/api/login"))
        .header("Origin", "null")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(null_origin.status(), StatusCode::FORBIDDEN);
    let same_origin_fetch = fresh_client()
        .post(app.url("/api/login"))
        .header("Sec-Fetch-Site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(
        signed_in(&same_origin_fetch),
        "{}",
        same_origin_fetch.status()
    );
    let text_plain = fresh_client()
        .post(app.url("/api/login"))
        .header("Origin", &app.base_url)
        .header("Content-Type", "text/plain")
        .body("email=dev@example.com&password=correct+horse+battery")
        .send()
        .await
        .unwrap();
    assert_eq!(text_plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.count("SELECT count(*) FROM sessions").await, 1);
}

#[tokio::test]
async fn over_https_the_session_cookie_is_host_prefixed_and_secure() {
    let app = spawn_app_with(&[("BOSUN_PUBLIC_URL", "https://bosun.example")]).await;
    app.create_user("dev@example.com", PASSWORD).await;
    let response = fresh_client()
        .post(app.url("/api/login"))
        .header("Origin", "https://bosun.example")
        .form(&[("email", "dev@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("__Host-bosun_session="), "{cookie}");
    for part in ["Secure", "Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    // with the public URL set, only its origin may change state
    let local_origin = fresh_client()
        .post(app.url("/api/login"))
        .header("Origin", &app.base_url)
        .form(&[("email", "dev@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(local_origin.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sessions_end_after_twelve_hours_and_signing_in_again_replaces_the_old_one() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    let client = app.signed_in_client("dev@example.com", PASSWORD).await;
    let lifetime: i64 = app
        .count("SELECT extract(epoch FROM expires_at - created_at)::int8 FROM sessions")
        .await;
    assert_eq!(lifetime, 12 * 3600);
    // the same browser signing in again: one session, the old token dead
    let old: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let again = client
        .post(app.url("/api/login"))
        .header("Origin", &app.base_url)
        .form(&[("email", "dev@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(signed_in(&again), "{}", again.status());
    assert_eq!(app.count("SELECT count(*) FROM sessions").await, 1);
    let new: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_ne!(old, new);
    // busy or not, a session ends at its absolute expiry
    sqlx::query("UPDATE sessions SET expires_at = now() - interval '1 second'")
        .execute(&app.pool)
        .await
        .unwrap();
    let page = client.get(app.url("/findings")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn people_see_their_sessions_and_sign_out_everywhere_else() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    let laptop = app.signed_in_client("dev@example.com", PASSWORD).await;
    let phone = app.signed_in_client("dev@example.com", PASSWORD).await;
    let (status, body) = app.call_server_fn(&laptop, "list_sessions", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let sessions: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(
        sessions.iter().all(|s| s["client_address"] == "127.0.0.1"),
        "{body}"
    );
    let (status, body) = app.call_server_fn(&laptop, "end_other_sessions", &[]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "1"));
    assert_eq!(
        phone
            .get(app.url("/findings"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SEE_OTHER,
        "the phone is signed out"
    );
    assert_eq!(
        laptop
            .get(app.url("/findings"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'other_sessions_ended'")
            .await,
        1
    );
    let account = laptop
        .get(app.url("/account"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(account.contains("Sign out everywhere else"), "{account}");
}

#[tokio::test]
async fn signed_in_answers_are_not_cached_and_request_ids_are_bosuns_own() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    let client = app.signed_in_client("dev@example.com", PASSWORD).await;
    let page = client
        .get(app.url("/findings"))
        .header("X-Request-Id", "planted-by-client")
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
    let id = page.headers()["x-request-id"].to_str().unwrap();
    assert_ne!(
        id, "planted-by-client",
        "an incoming id is not trusted from the public side"
    );
    assert_eq!(id.len(), 16);
    let json = client
        .post(app.url("/api/whoami"))
        .header("Origin", &app.base_url)
        .send()
        .await
        .unwrap();
    assert_eq!(json.headers()[CACHE_CONTROL], "no-store");
    let asset = client.get(app.url("/pkg/bosun.css")).send().await.unwrap();
    assert_ne!(
        asset
            .headers()
            .get(CACHE_CONTROL)
            .map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "the compiled site may be cached"
    );
    // behind a trusted proxy, the ingress's id is kept for tracing across hops
    let app = spawn_app_with(&[("BOSUN_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let health = reqwest::Client::new()
        .get(app.url("/healthz"))
        .header("X-Request-Id", "ingress-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(health.headers()["x-request-id"], "ingress-7f3a");
}

#[tokio::test]
async fn editing_another_teams_comment_answers_like_a_missing_one() {
    let app = spawn_app().await;
    let token = app.project_with_token("web").await;
    let (status, _) = app
        .push_report(Some(&token), "?target=t", SARIF.into())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.create_user("dev@example.com", PASSWORD).await;
    app.grant("dev@example.com", "web", app::workflow::Role::Developer)
        .await;
    app.create_user("stranger@example.com", PASSWORD).await;
    cli_ok(&app, &["team", "create", "data"]).await;
    server::teams::add_member(
        &app.pool,
        "data",
        "stranger@example.com",
        app::workflow::Role::Developer,
    )
    .await
    .unwrap();
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let finding = app.count("SELECT id FROM findings").await.to_string();
    let (status, comment) = app
        .call_server_fn(
            &dev,
            "add_comment",
            &[("finding_id", &finding), ("body", "mine")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let stranger = app.signed_in_client("stranger@example.com", PASSWORD).await;
    // an invalid body too: visibility is checked before anything else
    for body in ["edited", ""] {
        let theirs = app
            .call_server_fn(
                &stranger,
                "edit_comment",
                &[("comment_id", &comment), ("body", body)],
            )
            .await;
        let missing = app
            .call_server_fn(
                &stranger,
                "edit_comment",
                &[("comment_id", "999999"), ("body", body)],
            )
            .await;
        assert_eq!(theirs.0, StatusCode::NOT_FOUND, "{theirs:?}");
        assert_eq!(theirs, missing);
    }
}

// Structured security events -----------------------------------------------------------

/// Everything this test process logs (the server runs in it), as text.
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter("bosun::security=info")
            .with_ansi(false)
            .with_writer(move || Writer(sink.clone()))
            .try_init();
        log
    })
    .clone()
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn sign_ins_lockouts_and_refusals_are_logged_without_secrets() {
    let log = captured_log();
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    let token = app.project_with_token("web").await;
    let (status, _) = app
        .push_report(Some(&token), "?target=t", SARIF.into())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.grant("dev@example.com", "web", app::workflow::Role::Viewer)
        .await;
    for _ in 0..6 {
        app.sign_in("dev@example.com", "secret-guess-xyz").await;
    }
    sqlx::query("DELETE FROM login_attempts")
        .execute(&app.pool)
        .await
        .unwrap();
    let viewer = app.signed_in_client("dev@example.com", PASSWORD).await;
    let finding = app.count("SELECT id FROM findings").await.to_string();
    let (status, _) = app
        .call_server_fn(
            &viewer,
            "change_state",
            &[("finding_id", &finding), ("to", "confirmed")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.push_report(Some("bosun_stolen_or_guessed"), "?target=t", SARIF.into())
        .await;
    let text = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    for event in [
        "event=\"sign_in_failed\"",
        "event=\"sign_in_locked_out\"",
        "event=\"signed_in\"",
        "event=\"authorisation_denied\"",
        "event=\"ingest_token_refused\"",
    ] {
        assert!(
            text.contains(event),
            "{event} missing from the log:\n{text}"
        );
    }
    for secret in [
        "secret-guess-xyz",
        PASSWORD,
        "bosun_stolen_or_guessed",
        &token,
    ] {
        assert!(!text.contains(secret), "the log holds a secret: {secret}");
    }
}
