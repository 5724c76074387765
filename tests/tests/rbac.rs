//! The authorisation matrix: every server function and page is listed here with what it
//! needs, and each is called as every kind of person. A server function missing from the
//! table fails the test, so none can ship unchecked.

use app::workflow::{Action, Role, allowed};
use bosun_tests::{TestApp, spawn_app};
use reqwest::StatusCode;
use server::projects::{self, ProjectSlug};
use server::{teams, users};

const PASSWORD: &str = "correct horse battery";
const SARIF: &str = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"TinyScan"}},
  "results":[{"ruleId":"T1","level":"error","message":{"text":"a problem"},
  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.py"},"region":{"startLine":3}}}]}]}]}"#;

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
}

/// Form fields of a call; `{finding}` and `{comment}` are filled in.
type Fields = &'static [(&'static str, &'static str)];

/// Every server function, what it needs, and a call to make.
const SERVER_FUNCTIONS: &[(&str, Needs, Fields)] = &[
    ("/api/login", Needs::Anyone, &[]),
    ("/api/whoami", Needs::Anyone, &[]),
    ("/api/logout", Needs::SignedIn, &[]),
    ("/api/list_findings", Needs::SignedIn, &[]),
    ("/api/my_work", Needs::SignedIn, &[]),
    (
        "/api/list_scans",
        Needs::OnProject(Action::View),
        &[("project", "web")],
    ),
    (
        "/api/finding_detail",
        Needs::OnProject(Action::View),
        &[("id", "{finding}")],
    ),
    (
        "/api/list_comments",
        Needs::OnProject(Action::View),
        &[("finding_id", "{finding}")],
    ),
    (
        "/api/add_comment",
        Needs::OnProject(Action::Comment),
        &[("finding_id", "{finding}"), ("body", "a comment")],
    ),
    (
        "/api/change_state",
        Needs::OnProject(Action::ChangeState),
        &[("finding_id", "{finding}"), ("to", "confirmed")],
    ),
    (
        "/api/assign",
        Needs::OnProject(Action::Assign),
        &[("finding_id", "{finding}"), ("team", "shop")],
    ),
    (
        "/api/override_severity",
        Needs::OnProject(Action::ChangeSeverity),
        &[
            ("finding_id", "{finding}"),
            ("severity", "low"),
            ("reason", "internal only"),
        ],
    ),
    (
        "/api/edit_comment",
        Needs::AuthorOnly,
        &[("comment_id", "{comment}"), ("body", "edited")],
    ),
];

/// Every page route; all but sign-in need a session.
const PAGES: &[(&str, bool)] = &[
    ("/", true),
    ("/login", false),
    ("/findings", true),
    ("/my-work", true),
    ("/findings/{id}", true),
    ("/projects/{slug}/scans", true),
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
    let pool = &app.pool;
    let shop = teams::create(pool, &ProjectSlug::parse("shop").unwrap(), "")
        .await
        .unwrap();
    teams::create(pool, &ProjectSlug::parse("data").unwrap(), "")
        .await
        .unwrap();
    let web = projects::create(pool, &ProjectSlug::parse("web").unwrap(), "")
        .await
        .unwrap();
    teams::assign_project(pool, shop.id, web.id).await.unwrap();
    let token = server::tokens::create(pool, web.id, "ci").await.unwrap();
    let (status, body) = app
        .push_report(Some(&token), "?target=repo", SARIF.into())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for person in PEOPLE {
        let Some(email) = email(*person) else {
            continue;
        };
        let admin = *person == Person::Own(Role::Admin);
        users::create(pool, &email, PASSWORD, admin).await.unwrap();
        match person {
            Person::Own(Role::Admin) | Person::Anonymous => {}
            Person::Own(role) => teams::add_member(pool, "shop", &email, *role)
                .await
                .unwrap(),
            Person::OtherTeam => teams::add_member(pool, "data", &email, Role::Developer)
                .await
                .unwrap(),
        }
    }
    let finding = app.count("SELECT id FROM findings").await;
    let comment: i64 = sqlx::query_scalar(
        "INSERT INTO comments (finding_id, author_id, body)
         SELECT $1, id, 'first' FROM users WHERE email = 'developer@example.com' RETURNING id",
    )
    .bind(finding)
    .fetch_one(pool)
    .await
    .unwrap();
    (finding, comment)
}

async fn client_for(app: &TestApp, person: Person) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    if let Some(email) = email(person) {
        let r = client
            .post(app.url("/api/login"))
            .header("Origin", &app.base_url)
            .form(&[
                ("email", email.as_str()),
                ("password", PASSWORD),
                ("next", "/findings"),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_redirection() || r.status().is_success(),
            "{email}: {}",
            r.status()
        );
    }
    client
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
            SERVER_FUNCTIONS.iter().any(|(p, _, _)| p == path),
            "server function {path} is missing from the authorisation table"
        );
    }
    for (path, _, _) in SERVER_FUNCTIONS {
        assert!(
            registered.iter().any(|r| r == path),
            "{path} is listed but not registered"
        );
    }
}

#[tokio::test]
async fn every_server_function_answers_each_person_as_the_table_says() {
    let app = spawn_app().await;
    let (finding, comment) = estate(&app).await;
    let (finding, comment) = (finding.to_string(), comment.to_string());
    for person in PEOPLE {
        let client = client_for(&app, *person).await;
        for (path, needs, fields) in SERVER_FUNCTIONS {
            if matches!(needs, Needs::Anyone) || *path == "/api/logout" {
                continue; // signing in and out change the session this loop relies on
            }
            // each call starts from the same finding state
            sqlx::query("UPDATE findings SET state = 'open'")
                .execute(&app.pool)
                .await
                .unwrap();
            let form: Vec<(&str, String)> = fields
                .iter()
                .map(|(k, v)| {
                    (
                        *k,
                        v.replace("{finding}", &finding)
                            .replace("{comment}", &comment),
                    )
                })
                .collect();
            let response = client
                .post(app.url(path))
                .header("Origin", &app.base_url)
                .form(&form)
                .send()
                .await
                .unwrap();
            let status = response.status();
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
                (_, Needs::AuthorOnly) => StatusCode::FORBIDDEN,
                (_, Needs::Anyone) => unreachable!(),
            };
            assert_eq!(
                status,
                expected,
                "{person:?} calling {path}: {}",
                response.text().await.unwrap()
            );
        }
    }
}

#[tokio::test]
async fn every_page_needs_a_session_except_sign_in() {
    let app = spawn_app().await;
    let (finding, _) = estate(&app).await;
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
            .replace("{slug}", "web");
        let status = anonymous.get(app.url(&path)).send().await.unwrap().status();
        if *needs_session {
            assert_eq!(status, StatusCode::SEE_OTHER, "{path} without a session");
        } else {
            assert_eq!(status, StatusCode::OK, "{path}");
        }
    }
}
