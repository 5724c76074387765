//! People and teams: invitations (one-time, expiring, revocable links), changing a password
//! (which signs the person out everywhere else), the admin flags with the last-admin guard,
//! and team membership, each change audited.

use bosun_tests::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;
use server::projects::ProjectSlug;
use server::{teams, users};

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a much longer passphrase";
const ADMIN: &str = "admin@example.com";
const INVALID_LINK: &str =
    "This invitation link is invalid or has expired. Ask an admin for a new one.";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The first admin, signed in.
async fn admin(app: &TestApp) -> reqwest::Client {
    users::create(&app.pool, ADMIN, PASSWORD, true)
        .await
        .unwrap();
    app.signed_in_client(ADMIN, PASSWORD).await
}

/// Invites `email` as `admin_client`; returns the link's token.
async fn invite(app: &TestApp, admin_client: &reqwest::Client, email: &str) -> String {
    let (status, body) = app
        .call_server_fn(admin_client, "invite_user", &[("email", email)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path: String = serde_json::from_str(&body).unwrap();
    let token = path.strip_prefix("/invite/").expect("a link to /invite/…");
    assert_eq!(token.len(), 64, "32 random bytes, hex: {token}");
    token.to_string()
}

async fn accept(
    app: &TestApp,
    client: &reqwest::Client,
    token: &str,
    password: &str,
) -> (StatusCode, String) {
    app.call_server_fn(
        client,
        "accept_invite",
        &[
            ("token", token),
            ("display_name", "Nia Newcomer"),
            ("password", password),
            ("password_again", password),
        ],
    )
    .await
}

/// Who `client` is signed in as (`null` when nobody).
async fn whoami(app: &TestApp, client: &reqwest::Client) -> Value {
    let (status, body) = app.call_server_fn(client, "whoami", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn sign_in_status(app: &TestApp, email: &str, password: &str) -> StatusCode {
    client()
        .post(app.url("/api/login"))
        .header("Origin", &app.base_url)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn accepted(status: StatusCode) -> bool {
    status.is_success() || status.is_redirection()
}

/// A page as `client` gets it, served rather than redirected to sign-in. (Pages stream: an
/// error a server function answers while the page renders always shows in the page, but
/// whether it also sets the page's status depends on timing, so only the text is checked.)
async fn page_html(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    let response = client.get(app.url(path)).send().await.unwrap();
    let status = response.status();
    assert!(
        status == StatusCode::OK || status.is_client_error(),
        "{path}: {status}"
    );
    response.text().await.unwrap()
}

/// Gives dev@example.com `role` in team shop, as `client`.
async fn set_role(app: &TestApp, client: &reqwest::Client, role: &str) -> (StatusCode, String) {
    app.call_server_fn(
        client,
        "set_membership",
        &[
            ("team", "shop"),
            ("email", "Dev@Example.com"),
            ("role", role),
        ],
    )
    .await
}

async fn role_in_team(app: &TestApp, team_id: i64, user_id: i64) -> Option<String> {
    sqlx::query_scalar("SELECT role::text FROM team_members WHERE team_id = $1 AND user_id = $2")
        .bind(team_id)
        .bind(user_id)
        .fetch_optional(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_invitation_creates_the_account_once_and_signs_the_person_in() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let token = invite(&app, &admin, " Nia@Example.com ").await;
    assert_eq!(
        app.count(
            "SELECT count(*) FROM invites WHERE email = 'nia@example.com' AND used_at IS NULL"
        )
        .await,
        1
    );
    let (status, body) = app.call_server_fn(&admin, "list_invites", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let pending: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["email"], "nia@example.com");
    assert_eq!(pending[0]["invited_by"], ADMIN);
    assert!(!body.contains(&token), "the token is never shown again");

    // the invitation page is public
    let newcomer = client();
    let page = newcomer
        .get(app.url(&format!("/invite/{token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("nia@example.com"));

    let response = newcomer
        .post(app.url("/api/accept_invite"))
        .header("Origin", &app.base_url)
        .form(&[
            ("token", token.as_str()),
            ("display_name", "  Nia Newcomer "),
            ("password", NEW_PASSWORD),
            ("password_again", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(accepted(response.status()), "{}", response.status());
    if response.status().is_redirection() {
        assert_eq!(response.headers()["location"], "/findings");
    }
    let me = whoami(&app, &newcomer).await;
    assert_eq!(me["email"], "nia@example.com");
    assert_eq!(me["display_name"], "Nia Newcomer");
    assert_eq!(me["is_admin"], false);
    assert!(accepted(
        sign_in_status(&app, "nia@example.com", NEW_PASSWORD).await
    ));

    // one use only: a second accept fails and creates no second account
    let (status, body) = accept(&app, &client(), &token, "another long password").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains(INVALID_LINK), "{body}");
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'nia@example.com'")
            .await,
        1
    );
    assert!(accepted(
        sign_in_status(&app, "nia@example.com", NEW_PASSWORD).await
    ));
    let page = page_html(&app, &client(), &format!("/invite/{token}")).await;
    assert!(page.contains("invalid or has expired"), "{page}");
    let (_, body) = app.call_server_fn(&admin, "list_invites", &[]).await;
    assert_eq!(body, "[]");

    let nia = user_id(&app, "nia@example.com").await;
    let events: Vec<(String, String, Option<i64>)> =
        sqlx::query_as("SELECT subject_type, action, actor_user_id FROM audit_events ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    let admin_id = user_id(&app, ADMIN).await;
    assert_eq!(
        events,
        [
            ("invite".into(), "created".into(), Some(admin_id)),
            ("invite".into(), "accepted".into(), Some(nia)),
            ("user".into(), "created".into(), Some(nia)),
        ]
    );
    let audit_text: String =
        sqlx::query_scalar("SELECT string_agg(coalesce(after::text, ''), ' ') FROM audit_events")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!audit_text.contains(NEW_PASSWORD) && !audit_text.contains(&token));
}

#[tokio::test]
async fn an_invited_admin_becomes_an_admin() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let (status, body) = app
        .call_server_fn(
            &admin,
            "invite_user",
            &[("email", "second@example.com"), ("admin", "true")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path: String = serde_json::from_str(&body).unwrap();
    let newcomer = client();
    let (status, body) = accept(&app, &newcomer, &path["/invite/".len()..], NEW_PASSWORD).await;
    assert!(accepted(status), "{status} {body}");
    assert_eq!(whoami(&app, &newcomer).await["is_admin"], true);
}

#[tokio::test]
async fn expired_and_revoked_invitations_are_refused() {
    let app = spawn_app().await;
    let admin = admin(&app).await;

    let expired = invite(&app, &admin, "late@example.com").await;
    sqlx::query("UPDATE invites SET expires_at = now() - interval '1 minute' WHERE email = 'late@example.com'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, body) = accept(&app, &client(), &expired, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains(INVALID_LINK), "{body}");

    let revoked = invite(&app, &admin, "gone@example.com").await;
    let id = app
        .count("SELECT id FROM invites WHERE email = 'gone@example.com'")
        .await
        .to_string();
    let (status, body) = app
        .call_server_fn(&admin, "revoke_invite", &[("id", &id)])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = accept(&app, &client(), &revoked, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains(INVALID_LINK), "{body}");
    // revoking twice is harmless; a missing invitation is 404
    let (status, _) = app
        .call_server_fn(&admin, "revoke_invite", &[("id", &id)])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app
        .call_server_fn(&admin, "revoke_invite", &[("id", "999999")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // an unknown token is answered the same way
    let (status, body) = accept(&app, &client(), &"0".repeat(64), NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains(INVALID_LINK), "{body}");

    assert_eq!(
        app.count(
            "SELECT count(*) FROM users WHERE email IN ('late@example.com', 'gone@example.com')"
        )
        .await,
        0
    );
    let (_, body) = app.call_server_fn(&admin, "list_invites", &[]).await;
    assert_eq!(
        body, "[]",
        "expired and revoked invitations are not pending"
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE subject_type = 'invite' AND action = 'revoked'"
        )
        .await,
        1
    );

    // an accepted invitation cannot be revoked
    let used = invite(&app, &admin, "used@example.com").await;
    let (status, _) = accept(&app, &client(), &used, NEW_PASSWORD).await;
    assert!(accepted(status));
    let id = app
        .count("SELECT id FROM invites WHERE email = 'used@example.com'")
        .await
        .to_string();
    let (status, body) = app
        .call_server_fn(&admin, "revoke_invite", &[("id", &id)])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn inviting_again_replaces_the_pending_link() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let first = invite(&app, &admin, "twice@example.com").await;
    let second = invite(&app, &admin, "twice@example.com").await;
    let (status, _) = accept(&app, &client(), &first, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = accept(&app, &client(), &second, NEW_PASSWORD).await;
    assert!(accepted(status), "{status} {body}");
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE subject_type = 'invite' AND action = 'replaced'")
            .await,
        1
    );
}

#[tokio::test]
async fn only_admins_invite_and_an_email_has_one_account() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    app.create_user("dev@example.com", PASSWORD).await;
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let (status, body) = app
        .call_server_fn(&dev, "invite_user", &[("email", "friend@example.com")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("Only admins"), "{body}");
    let (status, _) = app
        .call_server_fn(&client(), "invite_user", &[("email", "friend@example.com")])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("SELECT count(*) FROM invites").await, 0);

    let (status, body) = app
        .call_server_fn(&admin, "invite_user", &[("email", "DEV@example.com")])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body.contains("dev@example.com already has an account"),
        "{body}"
    );
    let (status, body) = app
        .call_server_fn(&admin, "invite_user", &[("email", "not an email")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(app.count("SELECT count(*) FROM invites").await, 0);

    // an account created for the email after the invitation wins: the link is refused
    let token = invite(&app, &admin, "racer@example.com").await;
    app.create_user("racer@example.com", PASSWORD).await;
    let (status, body) = accept(&app, &client(), &token, NEW_PASSWORD).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("already has an account"), "{body}");
}

#[tokio::test]
async fn accepting_checks_the_name_and_password() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let token = invite(&app, &admin, "nia@example.com").await;
    let form = |name: &'static str, password: &'static str, again: &'static str| {
        [
            ("display_name", name),
            ("password", password),
            ("password_again", again),
        ]
    };
    for (fields, problem) in [
        (
            form("Nia", "too short", "too short"),
            "at least 12 characters",
        ),
        (
            form("Nia", NEW_PASSWORD, "a different passphrase"),
            "The two passwords differ",
        ),
        (
            form("   ", NEW_PASSWORD, NEW_PASSWORD),
            "Your name has 1 to 100 characters",
        ),
    ] {
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        fields.push(("token", &token));
        let (status, body) = app
            .call_server_fn(&client(), "accept_invite", &fields)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains(problem), "{problem}: {body}");
    }
    let long = "x".repeat(1025);
    let (status, body) = accept(&app, &client(), &token, &long).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(app.count("SELECT count(*) FROM users").await, 1);
    // mistakes do not use the link up
    let (status, body) = accept(&app, &client(), &token, NEW_PASSWORD).await;
    assert!(accepted(status), "{status} {body}");
}

#[tokio::test]
async fn changing_the_password_signs_out_every_other_session() {
    let app = spawn_app().await;
    app.create_user("dev@example.com", PASSWORD).await;
    let here = app.signed_in_client("dev@example.com", PASSWORD).await;
    let elsewhere = app.signed_in_client("dev@example.com", PASSWORD).await;

    let (status, body) = app
        .call_server_fn(
            &here,
            "change_password",
            &[
                ("current_password", "not my password"),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("current password is not correct"), "{body}");
    let (status, body) = app
        .call_server_fn(
            &here,
            "change_password",
            &[("current_password", PASSWORD), ("new_password", "short")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = app
        .call_server_fn(
            &client(),
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        whoami(&app, &elsewhere).await.is_object(),
        "nothing changed yet"
    );

    let (status, body) = app
        .call_server_fn(
            &here,
            "change_password",
            &[
                ("current_password", PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password_again", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(whoami(&app, &here).await["email"], "dev@example.com");
    assert!(whoami(&app, &elsewhere).await.is_null());
    let page = elsewhere.get(app.url("/findings")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert!(
        page.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    page_html(&app, &here, "/account").await;
    assert_eq!(
        sign_in_status(&app, "dev@example.com", PASSWORD).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(accepted(
        sign_in_status(&app, "dev@example.com", NEW_PASSWORD).await
    ));

    let (subject, actor, before, after): (i64, Option<i64>, Option<Value>, Value) = sqlx::query_as(
        "SELECT subject_id, actor_user_id, before, after FROM audit_events
          WHERE subject_type = 'user' AND action = 'password_changed'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let dev = user_id(&app, "dev@example.com").await;
    assert_eq!((subject, actor), (dev, Some(dev)));
    assert_eq!(before, None);
    assert_eq!(after, serde_json::json!({ "sessions_ended": 2 }));
}

#[tokio::test]
async fn admins_manage_teams_and_every_change_is_audited() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let admin_id = user_id(&app, ADMIN).await;
    app.create_user("dev@example.com", PASSWORD).await;
    let dev_id = user_id(&app, "dev@example.com").await;

    let (status, body) = app
        .call_server_fn(&admin, "create_team", &[("slug", "shop"), ("name", "Shop")])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .call_server_fn(&admin, "create_team", &[("slug", "shop")])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = app
        .call_server_fn(&admin, "create_team", &[("slug", "-Not OK")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let shop = app.count("SELECT id FROM teams WHERE slug = 'shop'").await;
    let web = server::projects::create(&app.pool, &ProjectSlug::parse("web").unwrap(), "")
        .await
        .unwrap();
    teams::assign_project(&app.pool, shop, web.id)
        .await
        .unwrap();

    let role = || role_in_team(&app, shop, dev_id);
    let set = |role| set_role(&app, &admin, role);
    let (status, body) = set("developer").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(role().await.as_deref(), Some("developer"));
    let (status, body) = set("ops").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(role().await.as_deref(), Some("ops"));
    let (status, _) = set("ops").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "setting the same role again is fine"
    );
    let (status, body) = set("admin").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("admin is global"), "{body}");
    let (status, _) = set("root").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, body) = app.call_server_fn(&admin, "list_teams", &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(listed[0]["slug"], "shop");
    assert_eq!(listed[0]["name"], "Shop");
    assert_eq!(listed[0]["projects"][0][0], "web");
    assert_eq!(listed[0]["members"][0]["email"], "dev@example.com");
    assert_eq!(listed[0]["members"][0]["role"], "ops");
    let (_, body) = app.call_server_fn(&admin, "list_users", &[]).await;
    let people: Vec<Value> = serde_json::from_str(&body).unwrap();
    let dev = people
        .iter()
        .find(|p| p["email"] == "dev@example.com")
        .unwrap();
    assert_eq!(dev["teams"], serde_json::json!([["shop", "ops"]]));

    for (team, email, expected) in [
        ("shop", "nobody@example.com", "Nobody has an account"),
        ("no-team", "dev@example.com", "No team 'no-team'"),
    ] {
        let (status, body) = app
            .call_server_fn(
                &admin,
                "set_membership",
                &[("team", team), ("email", email), ("role", "viewer")],
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert!(body.contains(expected), "{body}");
    }

    let dev_client = app.signed_in_client("dev@example.com", PASSWORD).await;
    let (status, _) = app
        .call_server_fn(
            &dev_client,
            "set_membership",
            &[
                ("team", "shop"),
                ("email", "dev@example.com"),
                ("role", "security"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app
        .call_server_fn(
            &dev_client,
            "remove_membership",
            &[("team", "shop"), ("email", "dev@example.com")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(role().await.as_deref(), Some("ops"));

    let remove = || {
        app.call_server_fn(
            &admin,
            "remove_membership",
            &[("team", "shop"), ("email", "dev@example.com")],
        )
    };
    let (status, body) = remove().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(role().await, None);
    let (status, body) = remove().await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("not in team 'shop'"), "{body}");

    /// action, actor, before, after
    type Event = (String, Option<i64>, Option<Value>, Option<Value>);
    let events: Vec<Event> = sqlx::query_as(
        "SELECT action, actor_user_id, before, after FROM audit_events
          WHERE subject_type = 'team' AND subject_id = $1 ORDER BY id",
    )
    .bind(shop)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let member = |role: &str| {
        Some(serde_json::json!({ "user_id": dev_id, "email": "dev@example.com", "role": role }))
    };
    assert_eq!(
        events,
        [
            (
                "created".into(),
                Some(admin_id),
                None,
                Some(serde_json::json!({ "slug": "shop", "name": "Shop" }))
            ),
            (
                "member_added".into(),
                Some(admin_id),
                None,
                member("developer")
            ),
            (
                "member_role_changed".into(),
                Some(admin_id),
                member("developer"),
                member("ops")
            ),
            ("member_removed".into(), Some(admin_id), member("ops"), None),
        ]
    );
}

#[tokio::test]
async fn bosun_always_keeps_an_admin() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let admin_id = user_id(&app, ADMIN).await.to_string();
    app.create_user("dev@example.com", PASSWORD).await;
    let dev_id = user_id(&app, "dev@example.com").await.to_string();
    let flags = |id: &str, is_admin: &str, security: &str| {
        [
            ("user_id", id.to_string()),
            ("is_admin", is_admin.to_string()),
            ("security_all_teams", security.to_string()),
        ]
    };
    let call = |client: &reqwest::Client, fields: [(&'static str, String); 3]| {
        let client = client.clone();
        let app = &app;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call_server_fn(&client, "set_user_flags", &fields).await
        }
    };

    let (status, body) = call(&admin, flags(&admin_id, "false", "false")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body.contains("admin@example.com is the last admin"),
        "{body}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE is_admin").await,
        1
    );

    let (status, body) = call(&admin, flags(&dev_id, "false", "true")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(&admin, flags(&dev_id, "true", "true")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // with a second admin, the first may step down
    let (status, body) = call(&admin, flags(&admin_id, "false", "false")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.call_server_fn(&admin, "list_users", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no longer an admin");

    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    let (status, body) = call(&dev, flags(&dev_id, "false", "true")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = call(&dev, flags("999999", "true", "false")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (is_admin, security): (bool, bool) = sqlx::query_as(
        "SELECT is_admin, security_all_teams FROM users WHERE email = 'dev@example.com'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(is_admin && security);
    let changes: Vec<(Value, Value)> = sqlx::query_as(
        "SELECT before, after FROM audit_events
          WHERE subject_type = 'user' AND action = 'flags_changed' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let f = |is_admin: bool, security: bool| serde_json::json!({ "is_admin": is_admin, "security_all_teams": security });
    assert_eq!(
        changes,
        [
            (f(false, false), f(false, true)),
            (f(false, true), f(true, true)),
            (f(true, false), f(false, false)),
        ]
    );
}

#[tokio::test]
async fn admin_pages_show_an_error_to_everyone_else() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    app.create_user("dev@example.com", PASSWORD).await;
    teams::create(&app.pool, &ProjectSlug::parse("shop").unwrap(), "")
        .await
        .unwrap();
    teams::add_member(
        &app.pool,
        "shop",
        "dev@example.com",
        app::workflow::Role::Viewer,
    )
    .await
    .unwrap();
    let dev = app.signed_in_client("dev@example.com", PASSWORD).await;
    for page in ["/admin/users", "/admin/teams"] {
        let html = page_html(&app, &admin, page).await;
        assert!(html.contains("dev@example.com"), "{page}: {html}");

        let html = page_html(&app, &dev, page).await;
        assert!(
            html.contains("Only admins may manage people and teams."),
            "{page}: {html}"
        );
        assert!(!html.contains("dev@example.com</td>"), "{page}: {html}");
    }
    // the nav offers the admin pages to admins only
    let admin_account = page_html(&app, &admin, "/account").await;
    assert!(admin_account.contains("href=\"/admin/users\""));
    let dev_account = page_html(&app, &dev, "/account").await;
    assert!(!dev_account.contains("href=\"/admin/users\""));
    assert!(dev_account.contains("Change your password"));
}
