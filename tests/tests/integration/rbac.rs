//! The authorisation matrix: every server function and page is listed here with what it
//! needs, and each is called as every kind of person. A server function missing from the
//! table fails the test, so none can ship unchecked.

use Action::*;
use Needs::*;
use app::workflow::{Action, Role, allowed};
use bosun_tests::{ONE_FINDING_SARIF as SARIF, TestApp, fresh_client, spawn_app_and};
use reqwest::StatusCode;

/// What a server function needs.
#[derive(Debug, Clone, Copy)]
enum Needs {
    /// Anyone, signed in or not (sign-in itself, "who am I").
    Anyone,
    /// Any signed-in person; what it returns is limited to their projects (tested elsewhere).
    SignedIn,
    /// A capability on the project of the finding or project it names.
    OnProject(Action),
    /// Only the author of the thing it changes (tested in comments.rs), and signed in.
    AuthorOnly,
    /// Global admins only (people and teams; tested in admin.rs).
    Admin,
}

/// Every server function and what it needs.
const SERVER_FUNCTIONS: &[(&str, Needs)] = &[
    ("/api/login", Anyone),
    ("/api/whoami", Anyone),
    ("/api/logout", SignedIn),
    ("/api/list_findings", SignedIn),
    ("/api/matching_finding_ids", SignedIn),
    // the explorer grouped by rule or package (visibility tested in scan_history.rs)
    ("/api/group_findings", SignedIn),
    ("/api/my_work", SignedIn),
    // the person's own due-soon findings and mentions, on projects they see (my_work.rs)
    ("/api/my_due_soon", SignedIn),
    ("/api/my_mentions", SignedIn),
    // the person's own team count, and admins' names to ask (for empty states)
    ("/api/my_standing", SignedIn),
    ("/api/list_scans", OnProject(View)),
    // counts limited to the person's projects (tested in overview.rs and projects.rs)
    ("/api/overview", SignedIn),
    ("/api/list_projects", SignedIn),
    ("/api/project_detail", OnProject(View)),
    ("/api/finding_detail", OnProject(View)),
    ("/api/list_comments", OnProject(View)),
    ("/api/add_comment", OnProject(Comment)),
    ("/api/change_state", OnProject(ChangeState)),
    ("/api/assign", OnProject(Assign)),
    // the picker: empty for a role that may not assign (tested in assignment.rs)
    ("/api/assignable", OnProject(View)),
    ("/api/override_severity", OnProject(ChangeSeverity)),
    ("/api/edit_comment", AuthorOnly),
    ("/api/bulk_change_state", OnProject(ChangeState)),
    ("/api/bulk_assign", OnProject(Assign)),
    ("/api/sla_settings", SignedIn),
    // admins, and security engineers given every team (none here; tested in sla.rs)
    ("/api/set_instance_sla", Admin),
    ("/api/set_project_sla", OnProject(ManagePolicies)),
    // changing the password ends the sessions this loop relies on: tested in admin.rs
    ("/api/change_password", SignedIn),
    // a person's own sessions (each person has one here, so nothing else ends)
    ("/api/list_sessions", SignedIn),
    ("/api/end_other_sessions", SignedIn),
    ("/api/create_token", OnProject(ManageTokensAndRouting)),
    // lists only the tokens the person may manage (tested in security.rs)
    ("/api/list_tokens", SignedIn),
    ("/api/revoke_token", OnProject(ManageTokensAndRouting)),
    ("/api/invite_details", Anyone),
    ("/api/accept_invite", Anyone),
    ("/api/invite_user", Admin),
    ("/api/revoke_invite", Admin),
    ("/api/list_invites", Admin),
    ("/api/list_users", Admin),
    ("/api/set_user_flags", Admin),
    ("/api/list_teams", Admin),
    ("/api/create_team", Admin),
    ("/api/set_membership", Admin),
    ("/api/remove_membership", Admin),
    ("/api/project_settings", OnProject(View)),
    ("/api/save_gate_policy", OnProject(ManagePolicies)),
    ("/api/add_routing_rule", OnProject(ManageTokensAndRouting)),
    (
        "/api/remove_routing_rule",
        OnProject(ManageTokensAndRouting),
    ),
];

/// The form fields of a call to `path`, as `key=value&key=value`; `{finding}`, `{comment}`,
/// `{invite}`, `{viewer}` (a user id) and `{token}` (a fresh token of project web, for each
/// call) and `{rule}` (a fresh routing rule of project web, for each call) are filled in.
fn fields(path: &str) -> &'static str {
    match path {
        "/api/list_scans" => "project=web",
        "/api/group_findings" => "query=group=rule",
        "/api/project_detail" => "slug=web",
        "/api/finding_detail" => "id={finding}",
        "/api/list_comments" => "finding_id={finding}",
        "/api/add_comment" => "finding_id={finding}&body=a comment",
        "/api/change_state" => "finding_id={finding}&to=confirmed",
        "/api/assign" => "finding_id={finding}&team=shop",
        "/api/assignable" => "finding_id={finding}",
        "/api/override_severity" => "finding_id={finding}&severity=low&reason=internal only",
        "/api/edit_comment" => "comment_id={comment}&body=edited",
        "/api/bulk_change_state" => "ids[0]={finding}&to=confirmed",
        "/api/bulk_assign" => "ids[0]={finding}&team=shop",
        "/api/set_project_sla" => "project=web&high=30",
        "/api/set_instance_sla" => "high=30",
        "/api/create_token" => "scope=project:web&name=rbac",
        "/api/revoke_token" => "id={token}",
        "/api/invite_user" => "email=invited@example.com",
        "/api/revoke_invite" => "id={invite}",
        "/api/set_user_flags" => "user_id={viewer}&is_admin=false&security_all_teams=false",
        "/api/create_team" => "slug=platform",
        "/api/set_membership" => "team=data&email=outsider@example.com&role=developer",
        "/api/remove_membership" => "team=data&email=leaver@example.com",
        "/api/project_settings" => "project=web",
        "/api/save_gate_policy" => "project=web&critical=on&reason=rbac",
        "/api/add_routing_rule" => "project=web&namespace=shop-*",
        "/api/remove_routing_rule" => "project=web&id={rule}",
        _ => "",
    }
}

/// Every page route; all but sign-in and invitation pages need a session (`false`: public).
const PAGES: &[(&str, bool)] = &[
    ("/", true),
    ("/login", false),
    ("/findings", true),
    ("/my-work", true),
    ("/findings/{id}", true),
    ("/projects", true),
    ("/projects/{slug}", true),
    ("/projects/{slug}/scans", true),
    ("/projects/{slug}/settings", true),
    ("/settings/sla", true),
    ("/settings/tokens", true),
    ("/invite/{token}", false),
    ("/account", true),
    ("/admin/users", true),
    ("/admin/teams", true),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Person {
    Anonymous,
    /// A member of the team that owns the project, with this role (Admin: global admin).
    Own(Role),
    /// A developer in another team.
    OtherTeam,
}

const PEOPLE: &[Person] = &[
    Person::Anonymous,
    Person::Own(Role::Viewer),
    Person::Own(Role::Developer),
    Person::Own(Role::Ops),
    Person::Own(Role::Security),
    Person::Own(Role::Admin),
    Person::OtherTeam,
];

fn email(person: Person) -> Option<String> {
    match person {
        Person::Anonymous => None,
        Person::Own(role) => Some(format!("{}@example.com", role.as_str())),
        Person::OtherTeam => Some("outsider@example.com".into()),
    }
}

/// Team shop owns project web with one finding and a comment by its developer; a person
/// per role (admin is a global admin), and a developer of team data.
async fn estate(app: &TestApp) -> (i64, i64) {
    app.shop_and_data_with(SARIF.into(), &[]).await;
    for person in PEOPLE {
        match (*person, email(*person)) {
            (Person::Own(Role::Admin), Some(email)) => app.create_admin(&email).await,
            (Person::Own(role), Some(email)) => app.create_member(&email, "shop", role).await,
            (Person::OtherTeam, Some(email)) => {
                app.create_member(&email, "data", Role::Developer).await
            }
            (_, None) | (Person::Anonymous, _) => {}
        }
    }
    let finding = app.count("SELECT id FROM findings").await;
    let comment: i64 = sqlx::query_scalar(
        "INSERT INTO comments (finding_id, author_id, body)
         SELECT $1, id, 'first' FROM users WHERE email = 'developer@example.com' RETURNING id",
    )
    .bind(finding)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    (finding, comment)
}

/// What the admin-only calls act on: a pending invitation and a member of team data to
/// take out; returns the invitation's token and id, and the viewer's user id.
async fn admin_fixtures(app: &TestApp) -> (String, i64, i64) {
    app.create_member("leaver@example.com", "data", Role::Viewer)
        .await;
    let token = "ab".repeat(32);
    let invite: i64 = sqlx::query_scalar(
        "INSERT INTO invites (email, token_hash, expires_at)
         VALUES ('newcomer@example.com', $1, now() + interval '1 day') RETURNING id",
    )
    .bind(app::auth::sessions::hash_token(&token))
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let viewer = app.user_id("viewer@example.com").await;
    (token, invite, viewer)
}

async fn client_for(app: &TestApp, person: Person) -> reqwest::Client {
    match email(person) {
        Some(email) => app.client_for(&email).await,
        None => fresh_client(),
    }
}

#[tokio::test]
async fn every_server_function_is_in_the_table() {
    // the test crate links the app, so every server function is registered
    let registered: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .collect();
    assert!(registered.len() >= SERVER_FUNCTIONS.len(), "{registered:?}");
    for path in &registered {
        assert!(
            SERVER_FUNCTIONS.iter().any(|(p, _)| p == path),
            "server function {path} is missing from the authorisation table"
        );
    }
    for (path, _) in SERVER_FUNCTIONS {
        assert!(
            registered.iter().any(|r| r == path),
            "{path} is listed but not registered"
        );
    }
}

#[tokio::test]
async fn every_server_function_answers_each_person_as_the_table_says() {
    let (app, (finding, comment)) = spawn_app_and(estate).await;
    let (finding, comment) = (finding.to_string(), comment.to_string());
    let (_, invite, viewer) = admin_fixtures(&app).await;
    let (invite, viewer) = (invite.to_string(), viewer.to_string());
    for person in PEOPLE {
        let client = client_for(&app, *person).await;
        for (path, needs) in SERVER_FUNCTIONS {
            let fields = fields(path);
            if matches!(needs, Needs::Anyone)
                || *path == "/api/logout"
                || *path == "/api/change_password"
            {
                continue; // signing in and out change the session this loop relies on
            }
            // each call starts from the same finding state
            app.execute("UPDATE findings SET state = 'open'").await;
            let token = if fields.contains("{token}") {
                web_token(&app, "to revoke").await;
                app.count("SELECT max(id) FROM ingest_tokens")
                    .await
                    .to_string()
            } else {
                String::new()
            };
            let rule = if fields.contains("{rule}") {
                app.execute(
                    "INSERT INTO routing_rules (team_id, namespace, project_id)
                     SELECT team_id, 'rbac-*', id FROM projects WHERE slug = 'web'",
                )
                .await;
                app.count("SELECT max(id) FROM routing_rules")
                    .await
                    .to_string()
            } else {
                String::new()
            };
            let filled = fields
                .replace("{rule}", &rule)
                .replace("{finding}", &finding)
                .replace("{comment}", &comment)
                .replace("{invite}", &invite)
                .replace("{viewer}", &viewer)
                .replace("{token}", &token);
            let form: Vec<(&str, &str)> = filled
                .split('&')
                .filter(|field| !field.is_empty())
                .map(|field| field.split_once('=').unwrap())
                .collect();
            let function = path.strip_prefix("/api/").unwrap();
            let expected = match (person, needs) {
                (Person::Anonymous, _) => StatusCode::UNAUTHORIZED,
                (_, Needs::SignedIn) => StatusCode::OK,
                (Person::OtherTeam, Needs::OnProject(_)) => StatusCode::NOT_FOUND,
                (Person::Own(role), Needs::OnProject(action)) => {
                    if allowed(*role, *action) {
                        StatusCode::OK
                    } else {
                        StatusCode::FORBIDDEN
                    }
                }
                (Person::Own(Role::Developer), Needs::AuthorOnly) => StatusCode::OK,
                // another team's comment answers like a missing one
                (Person::OtherTeam, Needs::AuthorOnly) => StatusCode::NOT_FOUND,
                (_, Needs::AuthorOnly) => StatusCode::FORBIDDEN,
                (Person::Own(Role::Admin), Needs::Admin) => StatusCode::OK,
                (_, Needs::Admin) => StatusCode::FORBIDDEN,
                (_, Needs::Anyone) => unreachable!(),
            };
            let (status, body) = app.call_server_fn(&client, function, &form).await;
            assert_eq!(status, expected, "{person:?} calling {path}: {body}");
        }
    }
}

#[tokio::test]
async fn every_page_needs_a_session_except_sign_in() {
    let (app, (finding, _)) = spawn_app_and(estate).await;
    let (invite_token, _, _) = admin_fixtures(&app).await;
    let routes: Vec<String> = leptos_axum::generate_route_list(app::App)
        .iter()
        .map(|r| r.path().to_string())
        .collect();
    for route in &routes {
        assert!(
            PAGES.iter().any(|(p, _)| p == route),
            "page {route} is missing from the table"
        );
    }
    let anonymous = client_for(&app, Person::Anonymous).await;
    for (page, needs_session) in PAGES {
        let path = page
            .replace("{id}", &finding.to_string())
            .replace("{slug}", "web")
            .replace("{token}", &invite_token);
        let status = anonymous.get(app.url(&path)).send().await.unwrap().status();
        if *needs_session {
            assert_eq!(status, StatusCode::SEE_OTHER, "{path} without a session");
        } else {
            assert_eq!(status, StatusCode::OK, "{path}");
        }
    }
}

/// A fresh ingest token of project web, named `name`.
async fn web_token(app: &TestApp, name: &str) -> String {
    let web = server::projects::find(&app.pool, "web").await.unwrap();
    server::tokens::create(&app.pool, web.id, name)
        .await
        .unwrap()
}

/// The query each endpoint is called with; an endpoint without one fails the test.
fn endpoint_query(path: &str) -> &'static str {
    match path {
        "/healthz" | "/readyz" | "/api/v1/openapi.json" => "",
        "/api/v1/reports" => "?target=rbac",
        "/api/audit/export" => "?project=web",
        "/api/findings/export" => "?project=web",
        other => panic!("no call for endpoint {other} in the authorisation test"),
    }
}

#[tokio::test]
async fn every_endpoint_answers_each_caller_as_the_table_says() {
    use server::http::{Caller, ENDPOINTS};
    let (app, _) = spawn_app_and(estate).await;
    let mut clients = Vec::new();
    for person in PEOPLE {
        clients.push((*person, client_for(&app, *person).await));
    }
    let token = web_token(&app, "rbac").await;
    for endpoint in ENDPOINTS {
        let url = app.url(&format!(
            "{}{}",
            endpoint.path,
            endpoint_query(endpoint.path)
        ));
        let method: reqwest::Method = endpoint.method.parse().unwrap();
        let call = |client: &reqwest::Client| {
            let request = client
                .request(method.clone(), &url)
                .header("Origin", &app.base_url);
            if method == reqwest::Method::POST {
                request.body(SARIF)
            } else {
                request
            }
        };
        for (person, client) in &clients {
            let response = call(client).send().await.unwrap();
            let status = response.status();
            let expected = match (endpoint.caller, person) {
                (Caller::Anyone, _) => StatusCode::OK,
                // a session is not an ingest token
                (Caller::IngestToken, _) => StatusCode::UNAUTHORIZED,
                (Caller::SignedIn(_), Person::Anonymous) => StatusCode::UNAUTHORIZED,
                (Caller::SignedIn(_), Person::OtherTeam) => StatusCode::NOT_FOUND,
                (Caller::SignedIn(action), Person::Own(role)) => {
                    if allowed(*role, action) {
                        StatusCode::OK
                    } else {
                        StatusCode::FORBIDDEN
                    }
                }
            };
            assert_eq!(
                status,
                expected,
                "{person:?} calling {} {}: {}",
                endpoint.method,
                endpoint.path,
                response.text().await.unwrap()
            );
        }
        if endpoint.caller == Caller::IngestToken {
            let status = call(&reqwest::Client::new())
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(
                status,
                StatusCode::CREATED,
                "{} with a project token",
                endpoint.path
            );
        }
    }
}
