//! The test harness, after zero2prod's `spawn_app`: every test gets its own database
//! (created from `DATABASE_URL`, dropped afterwards) and its own Bosun on a free port.
//! `browser` drives Debian's Chromium through chromedriver.

pub mod browser;
pub mod corpus;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use app::workflow::Role;
use rand::Rng;
use reqwest::StatusCode;
use serde_json::Value;
use server::config::Config;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

/// What a test does without something it needs (a scanner, the corpus): under CI (`CI`
/// set) it fails with `missing`; elsewhere it prints `note` and gets `None`, to skip.
pub fn skip_unless_ci<T>(missing: &str, note: &str) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!("{missing}");
    }
    eprintln!("{note}");
    None
}

/// The workspace root (the folder holding `Cargo.toml`, `app/`, `server/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The compiled site (wasm, js, css) that `cargo leptos build` writes.
pub fn site_root() -> PathBuf {
    workspace_root().join("target").join("site")
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// URL of this test's own database, for running the `bosun` binary against it.
    pub database_url: String,
    pub base_url: String,
    /// The test's own connections, for arranging data and asserting on it.
    pub pool: PgPool,
    /// The server's connections (close it to make the database unreachable for the server).
    pub server_pool: PgPool,
    pub client: reqwest::Client,
    db_name: String,
    admin_options: PgConnectOptions,
    /// The server runs on a runtime of its own, so that whatever the test's runtime does
    /// (including blocking in `Drop`) never stalls a server connection mid-handshake: a
    /// stalled SCRAM handshake holds a backend for PostgreSQL's 60 s authentication timeout,
    /// and `DROP DATABASE … WITH (FORCE)` waited for it.
    server_runtime: Option<tokio::runtime::Runtime>,
}

/// A fresh database and a Bosun serving it on 127.0.0.1 with an OS-chosen port.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// [`spawn_app`] with one project `slug` that has an ingest token; the app and the token.
pub async fn spawn_app_with_project(slug: &str) -> (TestApp, String) {
    let app = spawn_app().await;
    let token = app.project_with_token(slug).await;
    (app, token)
}

/// [`spawn_app`] with `arrange` run on it (a test module's estate); the app and what
/// `arrange` returned.
pub async fn spawn_app_and<T>(arrange: impl AsyncFnOnce(&TestApp) -> T) -> (TestApp, T) {
    let app = spawn_app().await;
    let arranged = arrange(&app).await;
    (app, arranged)
}

/// [`spawn_app`] with configuration variables set (`("BOSUN_MAX_CONCURRENT_UPLOADS", "1")`);
/// they win over the harness's own.
pub async fn spawn_app_with(settings: &[(&str, &str)]) -> TestApp {
    let settings: Vec<(String, String)> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let url = std::env::var("DATABASE_URL")
        .expect("DATABASE_URL must point at a PostgreSQL server (scripts/test.sh provides one)");
    let admin_options = PgConnectOptions::from_str(&url).expect("DATABASE_URL parses");
    let db_name = format!("bosun_test_{:016x}", rand::thread_rng().r#gen::<u64>());
    server::db::ensure_database(&url, &db_name)
        .await
        .expect("create the test database");
    let pool = server::db::connect_with(admin_options.clone().database(&db_name))
        .await
        .expect("connect to the test database");
    server::db::migrate(&pool)
        .await
        .expect("migrations apply to an empty database");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let site_root = site_root().to_string_lossy().to_string();
    let addr_text = addr.to_string();
    let config = Config::from_lookup(|key| match key {
        key if settings.iter().any(|(k, _)| k == key) => settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone()),
        "BOSUN_ADDR" => Some(addr_text.clone()),
        "LEPTOS_SITE_ROOT" => Some(site_root.clone()),
        "BOSUN_MAX_BODY_BYTES" => Some((8 * 1024 * 1024).to_string()),
        // the jobs run as in production, but a test that calls a job itself must not race
        // the timer: a test of the timer sets its own interval
        "BOSUN_JOBS_INTERVAL_SECS" => Some("3600".to_string()),
        _ => None,
    })
    .expect("test config is valid");
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime for the test server");
    let server_options = admin_options.clone().database(&db_name);
    let server_pool = server_runtime
        .spawn(async move { server::db::connect_with(server_options).await })
        .await
        .unwrap()
        .expect("the server connects to the test database");
    let served_pool = server_pool.clone();
    server_runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        server::startup::serve(listener, config, served_pool, std::future::pending())
            .await
            .expect("test server runs");
    });
    let client = fresh_client();
    let database_url = {
        use sqlx::ConnectOptions;
        admin_options
            .clone()
            .database(&db_name)
            .to_url_lossy()
            .to_string()
    };
    TestApp {
        addr,
        database_url,
        base_url: format!("http://{addr}"),
        pool,
        server_pool,
        client,
        db_name,
        admin_options,
        server_runtime: Some(server_runtime),
    }
}

/// The password the tests give the people they create.
pub const PASSWORD: &str = "correct horse battery";

/// The smallest real report: SARIF with one high finding (rule T1, error, in a.py line 3).
pub const ONE_FINDING_SARIF: &str = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"TinyScan"}},
  "results":[{"ruleId":"T1","level":"error","message":{"text":"a problem"},
  "locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.py"},"region":{"startLine":3}}}]}]}]}"#;

/// The people of the triage tests' estate ([`TestApp::shop_and_data`]): dev and dev2
/// developers, reader a viewer and sec a security engineer in team shop; outsider a
/// developer in team data.
pub const SHOP_PEOPLE: &[(&str, &str, Role)] = &[
    ("dev@example.com", "shop", Role::Developer),
    ("dev2@example.com", "shop", Role::Developer),
    ("reader@example.com", "shop", Role::Viewer),
    ("sec@example.com", "shop", Role::Security),
    ("outsider@example.com", "data", Role::Developer),
];

/// A client of its own, signed in as nobody: its own cookie jar, redirects not followed.
pub fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Whether a form post (a sign-in, an invitation accepted) went through: a success, or a
/// redirect onwards.
pub fn accepted(status: StatusCode) -> bool {
    status.is_success() || status.is_redirection()
}

/// What an upload's answer counts: new, unchanged, reopened, fixed and total findings.
pub fn counts(json: &Value) -> [i64; 5] {
    ["new", "unchanged", "reopened", "fixed", "total"].map(|k| json[k].as_i64().unwrap())
}

impl TestApp {
    /// The address of `path` on this test's server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Runs one SQL statement on the test's database (arranging data, letting time pass).
    pub async fn execute(&self, sql: &str) {
        sqlx::query(sql).execute(&self.pool).await.unwrap();
    }

    /// The one value the query `sql` selects.
    pub async fn scalar<T>(&self, sql: &str) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }

    /// The one column the query `sql` selects, a value per row.
    pub async fn scalars<T>(&self, sql: &str) -> Vec<T>
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        sqlx::query_scalar(sql).fetch_all(&self.pool).await.unwrap()
    }

    /// The one row the query `sql` selects.
    pub async fn row<T>(&self, sql: &str) -> T
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        sqlx::query_as(sql).fetch_one(&self.pool).await.unwrap()
    }

    /// Every row the query `sql` selects.
    pub async fn rows<T>(&self, sql: &str) -> Vec<T>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        sqlx::query_as(sql).fetch_all(&self.pool).await.unwrap()
    }

    /// GETs `path` with the test's own client.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// A team `slug` with the display name `name`.
    pub async fn create_team(&self, slug: &str, name: &str) -> server::teams::Team {
        let slug = server::projects::Slug::parse(slug).unwrap();
        server::teams::create(&self.pool, &slug, name)
            .await
            .unwrap()
    }

    /// A project `slug`, owned by the team with id `team` when there is one; its id.
    pub async fn create_project(&self, slug: &str, team: Option<i64>) -> i64 {
        let slug = server::projects::Slug::parse(slug).unwrap();
        let project = server::projects::create(&self.pool, &slug, "")
            .await
            .unwrap();
        if let Some(team) = team {
            server::teams::assign_project(&self.pool, team, project.id)
                .await
                .unwrap();
        }
        project.id
    }

    /// A project with one ingest token; returns the token.
    pub async fn project_with_token(&self, slug: &str) -> String {
        let project = self.create_project(slug, None).await;
        server::tokens::create(&self.pool, project, "test")
            .await
            .unwrap()
    }

    /// Team `team` (created when missing) owning a new project `project` that has an ingest
    /// token named "ci"; returns the token.
    pub async fn team_project_with_token(&self, team: &str, project: &str) -> String {
        let team = match server::teams::find(&self.pool, team).await {
            Ok(found) => found,
            Err(_) => self.create_team(team, "").await,
        };
        let project = self.create_project(project, Some(team.id)).await;
        server::tokens::create(&self.pool, project, "ci")
            .await
            .unwrap()
    }

    /// Makes `email` a `role` in the team that owns `project`, creating a team named after
    /// the project when it has none.
    pub async fn grant(&self, email: &str, project: &str, role: Role) {
        let team: String = sqlx::query_scalar(
            "SELECT coalesce(t.slug, '') FROM projects p LEFT JOIN teams t ON t.id = p.team_id
              WHERE p.slug = $1",
        )
        .bind(project)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        let team = if team.is_empty() {
            let t = self.create_team(project, "").await;
            let p = server::projects::find(&self.pool, project).await.unwrap();
            server::teams::assign_project(&self.pool, t.id, p.id)
                .await
                .unwrap();
            t.slug
        } else {
            team
        };
        self.add_member(&team, email, role).await;
    }

    /// Makes the existing account `email` a `role` in team `team`.
    pub async fn add_member(&self, team: &str, email: &str, role: Role) {
        server::teams::add_member(&self.pool, team, email, role)
            .await
            .unwrap();
    }

    /// An account `email` with [`PASSWORD`], a `role` in team `team`.
    pub async fn create_member(&self, email: &str, team: &str, role: Role) {
        self.create_user(email, PASSWORD).await;
        self.add_member(team, email, role).await;
    }

    /// An account `email` with [`PASSWORD`], signed in through a client of its own.
    pub async fn user_signed_in(&self, email: &str) -> reqwest::Client {
        self.create_user(email, PASSWORD).await;
        self.client_for(email).await
    }

    /// A global admin `email` with [`PASSWORD`].
    pub async fn create_admin(&self, email: &str) {
        server::users::create(&self.pool, email, PASSWORD, true)
            .await
            .unwrap();
    }

    /// The id of `email`'s account.
    pub async fn user_id(&self, email: &str) -> i64 {
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// POSTs the sign-in form `form` as `client` with `headers` (set before the form, so
    /// that a Content-Type among them wins); the answer.
    pub async fn post_login(
        &self,
        client: &reqwest::Client,
        headers: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = client.post(self.url("/api/login"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
            .form(form)
            .send()
            .await
            .expect("the server answers (no panic, no empty reply)")
    }

    /// Signs `client` in as `email` from Bosun's own origin; the answer.
    pub async fn sign_in_with(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let origin = [("Origin", self.base_url.as_str())];
        let form = [("email", email), ("password", password)];
        self.post_login(client, &origin, &form).await
    }

    /// Fails to sign in as `email` `times` times with a wrong password, each refused as
    /// unauthorised (the throttle's limit is 5).
    pub async fn fail_sign_ins(&self, email: &str, times: usize) {
        for _ in 0..times {
            let refused = self.sign_in(email, "nope-nope-nope").await;
            assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        }
    }

    /// Signs in through the login server function, keeping the session cookie in
    /// `self.client`.
    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.sign_in_with(&self.client, email, password).await
    }

    /// A client of its own, signed in as `email`: its session cookie is separate from
    /// `self.client`'s, so one test can act as several people.
    pub async fn signed_in_client(&self, email: &str, password: &str) -> reqwest::Client {
        let client = fresh_client();
        let origin = [("Origin", self.base_url.as_str())];
        let form = [
            ("email", email),
            ("password", password),
            ("next", "/findings"),
        ];
        let response = self.post_login(&client, &origin, &form).await;
        assert!(
            accepted(response.status()),
            "signing in as {email}: {}",
            response.status()
        );
        client
    }

    /// [`signed_in_client`](Self::signed_in_client) for someone with [`PASSWORD`].
    pub async fn client_for(&self, email: &str) -> reqwest::Client {
        self.signed_in_client(email, PASSWORD).await
    }

    /// The status `client` gets for the page or endpoint `path`.
    pub async fn get_status(&self, client: &reqwest::Client, path: &str) -> StatusCode {
        client.get(self.url(path)).send().await.unwrap().status()
    }

    /// The text `client` gets for the page `path`, whatever its status.
    pub async fn get_text(&self, client: &reqwest::Client, path: &str) -> String {
        let response = client.get(self.url(path)).send().await.unwrap();
        response.text().await.unwrap()
    }

    /// POSTs to the server function `function` as `client` from Bosun's origin, with
    /// `form` fields when there are any; the answer.
    pub async fn post_server_fn(
        &self,
        client: &reqwest::Client,
        function: &str,
        form: Option<&[(&str, &str)]>,
    ) -> reqwest::Response {
        let mut request = client
            .post(self.url(&format!("/api/{function}")))
            .header("Origin", &self.base_url);
        if let Some(form) = form {
            request = request.form(form);
        }
        request.send().await.unwrap()
    }

    /// Calls a server function with form fields, as Bosun's own pages do; returns the
    /// status and body.
    pub async fn call_server_fn(
        &self,
        client: &reqwest::Client,
        function: &str,
        form: &[(&str, &str)],
    ) -> (reqwest::StatusCode, String) {
        let response = self.post_server_fn(client, function, Some(form)).await;
        (response.status(), response.text().await.unwrap())
    }

    /// [`call_server_fn`](Self::call_server_fn), asserting that it answers `expected`;
    /// returns the body.
    pub async fn call_expecting(
        &self,
        client: &reqwest::Client,
        function: &str,
        form: &[(&str, &str)],
        expected: StatusCode,
    ) -> String {
        let (status, body) = self.call_server_fn(client, function, form).await;
        assert_eq!(status, expected, "{function}: {body}");
        body
    }

    /// Moves `finding` to state `to` as `client` (`extra` fields: reason, expiry), asserting
    /// that the server answers `expected`; returns the body.
    pub async fn change_state(
        &self,
        client: &reqwest::Client,
        finding: i64,
        to: &str,
        extra: &[(&str, &str)],
        expected: StatusCode,
    ) -> String {
        let id = finding.to_string();
        let mut form = vec![("finding_id", id.as_str()), ("to", to)];
        form.extend_from_slice(extra);
        self.call_expecting(client, "change_state", &form, expected)
            .await
    }

    /// The estate the triage tests share: team `shop` owns project `web`, which has an
    /// ingest token (returned); team `data` stands beside it. `people` are created with
    /// [`PASSWORD`] as (email, team, role).
    pub async fn shop_and_data(&self, people: &[(&str, &str, Role)]) -> String {
        let token = self.team_project_with_token("shop", "web").await;
        self.create_team("data", "").await;
        for (email, team, role) in people {
            self.create_member(email, team, *role).await;
        }
        token
    }

    /// [`shop_and_data`](Self::shop_and_data) with `report` pushed into web (target
    /// `repo`); returns the token.
    pub async fn shop_and_data_with(
        &self,
        report: Vec<u8>,
        people: &[(&str, &str, Role)],
    ) -> String {
        let token = self.shop_and_data(people).await;
        self.push_ok(&token, "?target=repo", report).await;
        token
    }

    /// An account `email` (not an admin) with `password`.
    pub async fn create_user(&self, email: &str, password: &str) {
        server::users::create(&self.pool, email, password, false)
            .await
            .unwrap();
    }

    /// POSTs a report (with `token` as bearer, when there is one); the answer.
    pub async fn post_report(
        &self,
        token: Option<&str>,
        query: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url(&format!("/api/v1/reports{query}")))
            .body(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("server answers")
    }

    /// POSTs a report; returns the status and the JSON body.
    pub async fn push_report(
        &self,
        token: Option<&str>,
        query: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let response = self.post_report(token, query, body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    /// [`push_report`](Self::push_report) with `token`, asserting that the report is
    /// accepted (201); returns the JSON body.
    pub async fn push_ok(&self, token: &str, query: &str, body: Vec<u8>) -> Value {
        let (status, json) = self.push_report(Some(token), query, body).await;
        assert_eq!(status, StatusCode::CREATED, "{query}: {json}");
        json
    }

    /// [`push_report`](Self::push_report), asserting that the report is refused with
    /// `status` and an error that mentions `says`; returns the error.
    pub async fn push_refused(
        &self,
        token: Option<&str>,
        query: &str,
        body: Vec<u8>,
        status: StatusCode,
        says: &str,
    ) -> String {
        let (actual, json) = self.push_report(token, query, body).await;
        assert_eq!(actual, status, "{query}: {json}");
        let error = json["error"].as_str().unwrap_or_default().to_string();
        assert!(error.contains(says), "'{error}' should mention '{says}'");
        error
    }

    /// The number (or id) the query `sql` selects.
    pub async fn count(&self, sql: &str) -> i64 {
        self.scalar(sql).await
    }
}

impl TestApp {
    /// Runs the `bosun` binary against this test's database and server, without blocking
    /// the runtime (the test server shares it); `stdin` is written to its input.
    pub async fn bosun(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        use std::process::Stdio;
        use tokio::io::AsyncWriteExt;
        let mut child = tokio::process::Command::new(bosun_binary())
            .args(args)
            .env("DATABASE_URL", &self.database_url)
            .env("BOSUN_URL", &self.base_url)
            .env("BOSUN_LOG", "warn")
            .env_remove("BOSUN_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bosun runs");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(input.as_bytes()).await.unwrap();
        }
        drop(child.stdin.take());
        child.wait_with_output().await.unwrap()
    }
}

/// The `bosun` binary built by `cargo build -p server` (scripts/test.sh builds it).
pub fn bosun_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let bin = target.join("debug").join("bosun");
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build -p server`",
        bin.display()
    );
    bin
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the server and drop its connections at once, then drop the test database on a
        // thread of its own (Drop cannot await); WITH (FORCE) ends the test's idle connections.
        if let Some(runtime) = self.server_runtime.take() {
            runtime.shutdown_background();
        }
        let (options, name) = (self.admin_options.clone(), self.db_name.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) =
                    sqlx::PgConnection::connect_with(&options.database("postgres")).await
                {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut conn)
                            .await;
                }
            });
        })
        .join();
    }
}
