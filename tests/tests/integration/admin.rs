//! People and teams: invitations (one-time, expiring, revocable links), changing a password
//! (which signs the person out everywhere else), the admin flags with the last-admin guard,
//! and team membership, each change audited.

use bosun_tests::{PASSWORD, TestApp, accepted, fresh_client as client, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

const NEW_PASSWORD: &str = "a much longer passphrase";
const ADMIN: &str = "admin@example.com";
const INVALID_LINK: &str =
    "This invitation link is invalid or has expired. Ask an admin for a new one.";

/// The first admin, signed in.
async fn admin(app: &TestApp) -> reqwest::Client {
    app.create_admin(ADMIN).await;
    app.client_for(ADMIN).await
}

/// Invites `email` as `admin_client`, with `fields` besides; returns the link's token.
async fn invite_with(
    app: &TestApp,
    admin_client: &reqwest::Client,
    email: &str,
    fields: &[(&str, &str)],
) -> String {
    let mut form = vec![("email", email)];
    form.extend_from_slice(fields);
    let body = app
        .call_expecting(admin_client, "invite_user", &form, StatusCode::OK)
        .await;
    let path: String = serde_json::from_str(&body).unwrap();
    let token = path.strip_prefix("/invite/").expect("a link to /invite/…");
    assert_eq!(token.len(), 64, "32 random bytes, hex: {token}");
    token.to_string()
}

/// Invites `email` as `admin_client`; returns the link's token.
async fn invite(app: &TestApp, admin_client: &reqwest::Client, email: &str) -> String {
    invite_with(app, admin_client, email, &[]).await
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

/// Accepting `token` from a fresh client is refused as an invalid or expired link.
async fn refused_as_invalid(app: &TestApp, token: &str, password: &str) {
    let (status, body) = accept(app, &client(), token, password).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains(INVALID_LINK), "{body}");
}

/// The pending invitations as the admin page lists them.
async fn pending_invites(app: &TestApp, admin: &reqwest::Client) -> String {
    app.call_expecting(admin, "list_invites", &[], StatusCode::OK)
        .await
}

/// Revokes the invitation `id` as `admin`, expecting `status`; the answer's body.
async fn revoke_invite(
    app: &TestApp,
    admin: &reqwest::Client,
    id: &str,
    status: StatusCode,
) -> String {
    app.call_expecting(admin, "revoke_invite", &[("id", id)], status)
        .await
}

/// Who `client` is signed in as (`null` when nobody).
async fn whoami(app: &TestApp, client: &reqwest::Client) -> Value {
    let body = app
        .call_expecting(client, "whoami", &[], StatusCode::OK)
        .await;
    serde_json::from_str(&body).unwrap()
}

async fn sign_in_status(app: &TestApp, email: &str, password: &str) -> StatusCode {
    app.sign_in_with(&client(), email, password).await.status()
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

/// The role of user `user_id` in team `team_id`, if they are a member.
async fn role_in_team(app: &TestApp, team_id: i64, user_id: i64) -> Option<String> {
    app.scalar(&format!(
        "SELECT max(role::text) FROM team_members WHERE team_id = {team_id} AND user_id = {user_id}"
    ))
    .await
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
    let body = pending_invites(&app, &admin).await;
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
    refused_as_invalid(&app, &token, "another long password").await;
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
    assert_eq!(pending_invites(&app, &admin).await, "[]");

    let nia = app.user_id("nia@example.com").await;
    let events: Vec<(String, String, Option<i64>)> = app
        .rows("SELECT subject_type, action, actor_user_id FROM audit_events ORDER BY id")
        .await;
    let admin_id = app.user_id(ADMIN).await;
    assert_eq!(
        events,
        [
            ("invite".into(), "created".into(), Some(admin_id)),
            ("invite".into(), "accepted".into(), Some(nia)),
            ("user".into(), "created".into(), Some(nia)),
        ]
    );
    let audit_text: String = app
        .scalar("SELECT string_agg(coalesce(after::text, ''), ' ') FROM audit_events")
        .await;
    assert!(!audit_text.contains(NEW_PASSWORD) && !audit_text.contains(&token));
}

#[tokio::test]
async fn an_invited_admin_becomes_an_admin() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let as_admin = [("admin", "true")];
    let token = invite_with(&app, &admin, "second@example.com", &as_admin).await;
    let newcomer = client();
    let (status, body) = accept(&app, &newcomer, &token, NEW_PASSWORD).await;
    assert!(accepted(status), "{status} {body}");
    assert_eq!(whoami(&app, &newcomer).await["is_admin"], true);
}

#[tokio::test]
async fn expired_and_revoked_invitations_are_refused() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let invite_id = async |email: &str| {
        app.count(&format!("SELECT id FROM invites WHERE email = '{email}'"))
            .await
            .to_string()
    };

    let expired = invite(&app, &admin, "late@example.com").await;
    app.execute(
        "UPDATE invites SET expires_at = now() - interval '1 minute'
          WHERE email = 'late@example.com'",
    )
    .await;
    refused_as_invalid(&app, &expired, NEW_PASSWORD).await;

    let revoked = invite(&app, &admin, "gone@example.com").await;
    let id = invite_id("gone@example.com").await;
    revoke_invite(&app, &admin, &id, StatusCode::OK).await;
    refused_as_invalid(&app, &revoked, NEW_PASSWORD).await;
    // revoking twice is harmless; a missing invitation is 404
    revoke_invite(&app, &admin, &id, StatusCode::OK).await;
    revoke_invite(&app, &admin, "999999", StatusCode::NOT_FOUND).await;

    // an unknown token is answered the same way
    refused_as_invalid(&app, &"0".repeat(64), NEW_PASSWORD).await;

    assert_eq!(
        app.count(
            "SELECT count(*) FROM users WHERE email IN ('late@example.com', 'gone@example.com')"
        )
        .await,
        0
    );
    assert_eq!(
        pending_invites(&app, &admin).await,
        "[]",
        "expired and revoked invitations are not pending"
    );
    let revoked_events =
        "SELECT count(*) FROM audit_events WHERE subject_type = 'invite' AND action = 'revoked'";
    assert_eq!(app.count(revoked_events).await, 1);

    // an accepted invitation cannot be revoked
    let used = invite(&app, &admin, "used@example.com").await;
    let (status, _) = accept(&app, &client(), &used, NEW_PASSWORD).await;
    assert!(accepted(status));
    let id = invite_id("used@example.com").await;
    revoke_invite(&app, &admin, &id, StatusCode::CONFLICT).await;
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
    let replaced =
        "SELECT count(*) FROM audit_events WHERE subject_type = 'invite' AND action = 'replaced'";
    assert_eq!(app.count(replaced).await, 1);
}

#[tokio::test]
async fn only_admins_invite_and_an_email_has_one_account() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let dev = app.user_signed_in("dev@example.com").await;
    let invite_as = async |client: &reqwest::Client, email: &str, status| {
        app.call_expecting(client, "invite_user", &[("email", email)], status)
            .await
    };
    let body = invite_as(&dev, "friend@example.com", StatusCode::FORBIDDEN).await;
    assert!(body.contains("Only admins"), "{body}");
    invite_as(&client(), "friend@example.com", StatusCode::UNAUTHORIZED).await;
    assert_eq!(app.count("SELECT count(*) FROM invites").await, 0);

    let body = invite_as(&admin, "DEV@example.com", StatusCode::CONFLICT).await;
    assert!(
        body.contains("dev@example.com already has an account"),
        "{body}"
    );
    invite_as(&admin, "not an email", StatusCode::BAD_REQUEST).await;
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
        let body = app
            .call_expecting(&client(), "accept_invite", &fields, StatusCode::BAD_REQUEST)
            .await;
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
    let here = app.user_signed_in("dev@example.com").await;
    let elsewhere = app.client_for("dev@example.com").await;

    let change = async |client: &reqwest::Client, current, new, status| {
        let fields = [("current_password", current), ("new_password", new)];
        app.call_expecting(client, "change_password", &fields, status)
            .await
    };
    let wrong = "not my password";
    let body = change(&here, wrong, NEW_PASSWORD, StatusCode::FORBIDDEN).await;
    assert!(body.contains("current password is not correct"), "{body}");
    change(&here, PASSWORD, "short", StatusCode::BAD_REQUEST).await;
    change(&client(), PASSWORD, NEW_PASSWORD, StatusCode::UNAUTHORIZED).await;
    assert!(
        whoami(&app, &elsewhere).await.is_object(),
        "nothing changed yet"
    );

    let fields = [
        ("current_password", PASSWORD),
        ("new_password", NEW_PASSWORD),
        ("new_password_again", NEW_PASSWORD),
    ];
    app.call_expecting(&here, "change_password", &fields, StatusCode::OK)
        .await;
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

    let (subject, actor, before, after): (i64, Option<i64>, Option<Value>, Value) = app
        .row(
            "SELECT subject_id, actor_user_id, before, after FROM audit_events
          WHERE subject_type = 'user' AND action = 'password_changed'",
        )
        .await;
    let dev = app.user_id("dev@example.com").await;
    assert_eq!((subject, actor), (dev, Some(dev)));
    assert_eq!(before, None);
    assert_eq!(after, serde_json::json!({ "sessions_ended": 2 }));
}

#[tokio::test]
async fn admins_manage_teams_and_every_change_is_audited() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let admin_id = app.user_id(ADMIN).await;
    app.create_user("dev@example.com", PASSWORD).await;
    let dev_id = app.user_id("dev@example.com").await;

    for (fields, status) in [
        (&[("slug", "shop"), ("name", "Shop")][..], StatusCode::OK),
        (&[("slug", "shop")], StatusCode::CONFLICT),
        (&[("slug", "-Not OK")], StatusCode::BAD_REQUEST),
    ] {
        app.call_expecting(&admin, "create_team", fields, status)
            .await;
    }
    let shop = app.count("SELECT id FROM teams WHERE slug = 'shop'").await;
    app.create_project("web", Some(shop)).await;

    let role = || role_in_team(&app, shop, dev_id);
    let set = |role| set_role(&app, &admin, role);
    // setting the same role again is fine
    for role_now in ["developer", "ops", "ops"] {
        let (status, body) = set(role_now).await;
        assert_eq!(status, StatusCode::OK, "{role_now}: {body}");
        assert_eq!(role().await.as_deref(), Some(role_now));
    }
    let (status, body) = set("admin").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("admin is global"), "{body}");
    let (status, _) = set("root").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let body = app
        .call_expecting(&admin, "list_teams", &[], StatusCode::OK)
        .await;
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
        let fields = [("team", team), ("email", email), ("role", "viewer")];
        let body = app
            .call_expecting(&admin, "set_membership", &fields, StatusCode::NOT_FOUND)
            .await;
        assert!(body.contains(expected), "{body}");
    }

    let dev_client = app.client_for("dev@example.com").await;
    let dev_in_shop = [("team", "shop"), ("email", "dev@example.com")];
    let to_security = [dev_in_shop[0], dev_in_shop[1], ("role", "security")];
    app.call_expecting(
        &dev_client,
        "set_membership",
        &to_security,
        StatusCode::FORBIDDEN,
    )
    .await;
    let remove = async |client: &reqwest::Client, status| {
        app.call_expecting(client, "remove_membership", &dev_in_shop, status)
            .await
    };
    remove(&dev_client, StatusCode::FORBIDDEN).await;
    assert_eq!(role().await.as_deref(), Some("ops"));

    remove(&admin, StatusCode::OK).await;
    assert_eq!(role().await, None);
    let body = remove(&admin, StatusCode::NOT_FOUND).await;
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
    let admin_id = app.user_id(ADMIN).await.to_string();
    app.create_user("dev@example.com", PASSWORD).await;
    let dev_id = app.user_id("dev@example.com").await.to_string();
    let set_flags =
        async |client: &reqwest::Client, id: &str, admin: &str, security: &str, status| {
            let fields = [
                ("user_id", id),
                ("is_admin", admin),
                ("security_all_teams", security),
            ];
            app.call_expecting(client, "set_user_flags", &fields, status)
                .await
        };

    let body = set_flags(&admin, &admin_id, "false", "false", StatusCode::CONFLICT).await;
    assert!(
        body.contains("admin@example.com is the last admin"),
        "{body}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE is_admin").await,
        1
    );

    set_flags(&admin, &dev_id, "false", "true", StatusCode::OK).await;
    set_flags(&admin, &dev_id, "true", "true", StatusCode::OK).await;
    // with a second admin, the first may step down
    set_flags(&admin, &admin_id, "false", "false", StatusCode::OK).await;
    let (status, _) = app.call_server_fn(&admin, "list_users", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no longer an admin");

    let dev = app.client_for("dev@example.com").await;
    set_flags(&dev, &dev_id, "false", "true", StatusCode::CONFLICT).await;
    set_flags(&dev, "999999", "true", "false", StatusCode::NOT_FOUND).await;

    let (is_admin, security): (bool, bool) = app
        .row("SELECT is_admin, security_all_teams FROM users WHERE email = 'dev@example.com'")
        .await;
    assert!(is_admin && security);
    let changes: Vec<(Value, Value)> = app
        .rows(
            "SELECT before, after FROM audit_events
          WHERE subject_type = 'user' AND action = 'flags_changed' ORDER BY id",
        )
        .await;
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
    app.create_team("shop", "").await;
    app.create_member("dev@example.com", "shop", app::workflow::Role::Viewer)
        .await;
    let dev = app.client_for("dev@example.com").await;
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
