//! Sign-in, sessions and the page guard, over plain HTTP.

use bosun_tests::{PASSWORD, TestApp, accepted, spawn_app};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};

/// The status the test's own client gets for the findings page.
async fn findings_page(app: &TestApp) -> StatusCode {
    app.get_status(&app.client, "/findings").await
}

#[tokio::test]
async fn pages_redirect_to_sign_in_until_a_session_exists() {
    let app = spawn_app().await;
    let response = app.get("/findings?severity=high").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[LOCATION],
        "/login?next=/findings%3Fseverity%3Dhigh"
    );

    // the data behind the page is refused too, not just the page
    let unauthorized = StatusCode::UNAUTHORIZED;
    let body = app
        .call_expecting(&app.client, "list_findings", &[("", "")], unauthorized)
        .await;
    assert!(body.contains("Sign in required"), "{body}");

    let login_page = app.get_status(&app.client, "/login").await;
    assert_eq!(login_page, StatusCode::OK);
}

#[tokio::test]
async fn signing_in_sets_a_strict_session_cookie_and_signing_out_ends_it() {
    let app = spawn_app().await;
    app.create_user("Dev@Example.com", PASSWORD).await;
    let response = app.sign_in("dev@example.com", PASSWORD).await;
    assert!(accepted(response.status()), "{}", response.status());
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.starts_with("bosun_session="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain-http test server: no Secure flag"
    );
    assert_eq!(app.count("SELECT count(*) FROM sessions").await, 1);
    let stored: Vec<u8> = app.scalar("SELECT token_hash FROM sessions").await;
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("bosun_session=");
    assert_ne!(
        stored,
        token.as_bytes(),
        "only a hash of the token is stored"
    );

    assert_eq!(findings_page(&app).await, StatusCode::OK);

    let out = app
        .client
        .post(app.url("/api/logout"))
        .header("Origin", &app.base_url)
        .send()
        .await
        .unwrap();
    assert!(accepted(out.status()));
    assert_eq!(app.count("SELECT count(*) FROM sessions").await, 0);
    assert_eq!(findings_page(&app).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    let wrong = app.sign_in("dev@example.com", "nope-nope-nope").await;
    let (wrong_status, wrong_body) = (wrong.status(), wrong.text().await.unwrap());
    let unknown = app.sign_in("ghost@example.com", "nope-nope-nope").await;
    let (unknown_status, unknown_body) = (unknown.status(), unknown.text().await.unwrap());
    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_status, unknown_status);
    assert_eq!(wrong_body, unknown_body);
    assert!(
        wrong_body.contains("Email or password is incorrect."),
        "{wrong_body}"
    );
    assert_eq!(app.count("SELECT count(*) FROM sessions").await, 0);
}

#[tokio::test]
async fn expired_sessions_no_longer_open_pages() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    app.sign_in("dev@example.com", PASSWORD).await;
    assert_eq!(findings_page(&app).await, StatusCode::OK);
    app.execute("UPDATE sessions SET last_seen_at = now() - interval '31 minutes'")
        .await;
    assert_eq!(
        findings_page(&app).await,
        StatusCode::SEE_OTHER,
        "30 minutes idle ends a session"
    );
}

#[tokio::test]
async fn cross_origin_state_changes_are_refused() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    let evil = [("Origin", "https://evil.example")];
    let form = [("email", "dev@example.com"), ("password", PASSWORD)];
    let response = app.post_login(&app.client, &evil, &form).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT count(*) FROM sessions").await, 0);
}

#[tokio::test]
async fn pages_carry_a_nonce_csp_that_matches_their_scripts() {
    let app = spawn_app().await;
    let page = app.get("/login").await;
    let csp = page.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    let html = page.text().await.unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("no nonce in {csp}"));
    assert!(
        csp.contains("object-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(
        !csp.contains("'unsafe-inline' 'nonce")
            && !csp.contains("script-src 'self' 'unsafe-inline'"),
        "{csp}"
    );
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "inline scripts carry the nonce"
    );
    let again = app.get("/login").await;
    assert_ne!(
        again.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap(),
        csp,
        "a fresh nonce per response"
    );
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_throttled_per_account_without_revealing_it() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    app.fail_sign_ins("dev@example.com", 5).await;
    // now even the right password waits, with a message that says so
    let blocked = app.sign_in("Dev@Example.com", PASSWORD).await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    let message = blocked.text().await.unwrap();
    assert!(
        message.contains("Too many failed sign-ins. Try again in 15 minutes."),
        "{message}"
    );
    // an email nobody has is throttled the same way: no enumeration through the throttle
    for _ in 0..5 {
        app.sign_in("ghost@example.com", "nope-nope-nope").await;
    }
    let ghost = app.sign_in("ghost@example.com", "nope-nope-nope").await;
    assert_eq!(ghost.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(ghost.text().await.unwrap(), message);
    // another account from the same address is not blocked
    app.create_user("ops@example.com", PASSWORD).await;
    let other = app.sign_in("ops@example.com", PASSWORD).await;
    assert!(accepted(other.status()), "{}", other.status());
    // once the window has passed, the account signs in again
    app.execute("UPDATE login_attempts SET at = at - interval '16 minutes'")
        .await;
    let again = app.sign_in("dev@example.com", PASSWORD).await;
    assert!(accepted(again.status()), "{}", again.status());
}

#[tokio::test]
async fn many_failures_from_one_address_are_throttled() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    // 50 failures spread over many emails, each below its own limit
    app.execute(
        "INSERT INTO login_attempts (key) SELECT 'ip:127.0.0.1' FROM generate_series(1, 50)",
    )
    .await;
    let blocked = app.sign_in("dev@example.com", PASSWORD).await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_sessions_last_seen_time_is_written_at_most_once_a_minute() {
    let app = spawn_app().await;
    app.create_user("ana@example.com", PASSWORD).await;
    let client = app.signed_in_client("ana@example.com", PASSWORD).await;
    let age = || {
        app.scalar::<f64>("SELECT extract(epoch FROM now() - last_seen_at)::float8 FROM sessions")
    };
    // seen 30 s ago: fresh enough, so pages leave the row alone (no write, no row lock)
    app.execute("UPDATE sessions SET last_seen_at = now() - interval '30 seconds'")
        .await;
    for _ in 0..3 {
        assert_eq!(app.get_status(&client, "/findings").await, StatusCode::OK);
    }
    let seen = age().await;
    assert!(seen >= 29.0, "rewritten {seen} s ago");
    // seen two minutes ago: the next page refreshes the idle timer
    app.execute("UPDATE sessions SET last_seen_at = now() - interval '2 minutes'")
        .await;
    assert_eq!(app.get_status(&client, "/findings").await, StatusCode::OK);
    let seen = age().await;
    assert!(seen < 10.0, "not refreshed: {seen} s");
}

#[tokio::test]
async fn every_page_names_itself_in_its_title() {
    let app = spawn_app().await;
    let token = app.project_with_token("web").await;
    app.push_ok(
        &token,
        "?target=repo",
        bosun_tests::ONE_FINDING_SARIF.into(),
    )
    .await;
    let id = app.count("SELECT id FROM findings").await;
    app.create_admin("boss@example.com").await;
    let admin = app.client_for("boss@example.com").await;
    let finding = format!("/findings/{id}");
    for (client, path, title) in [
        (&app.client, "/login", "Sign in"),
        (&admin, "/findings", "Findings"),
        (&admin, finding.as_str(), "Finding"),
        (&admin, "/my-work", "My work"),
        (&admin, "/projects/web/scans", "Scans"),
        (&admin, "/account", "Your account"),
        (&admin, "/admin/users", "Users"),
        (&admin, "/admin/teams", "Teams"),
        (&admin, "/settings/sla", "SLAs"),
        (&admin, "/settings/tokens", "Ingest tokens"),
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body = response.text().await.unwrap();
        let expected = format!("<title>{title} · Bosun</title>");
        assert!(body.contains(&expected), "{path}: no {expected}");
    }
}
