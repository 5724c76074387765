//! The test harness, after zero2prod's `spawn_app`: every test gets its own database
//! (created from `DATABASE_URL`, dropped afterwards) and its own Bosun on a free port.
//! `browser` drives Debian's Chromium through chromedriver.

pub mod browser;
pub mod corpus;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use rand::Rng;
use reqwest::StatusCode;
use serde_json::Value;
use server::config::Config;
use sqlx::PgPool;
use sqlx::postgres::PgConnectOptions;

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
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
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

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A project with one ingest token; returns the token.
    pub async fn project_with_token(&self, slug: &str) -> String {
        let slug = server::projects::ProjectSlug::parse(slug).unwrap();
        let project = server::projects::create(&self.pool, &slug, "")
            .await
            .unwrap();
        server::tokens::create(&self.pool, project.id, "test")
            .await
            .unwrap()
    }

    /// Makes `email` a `role` in the team that owns `project`, creating a team named after
    /// the project when it has none.
    pub async fn grant(&self, email: &str, project: &str, role: app::workflow::Role) {
        let team: String = sqlx::query_scalar(
            "SELECT coalesce(t.slug, '') FROM projects p LEFT JOIN teams t ON t.id = p.team_id
              WHERE p.slug = $1",
        )
        .bind(project)
        .fetch_one(&self.pool)
        .await
        .unwrap();
        let team = if team.is_empty() {
            let slug = server::projects::ProjectSlug::parse(project).unwrap();
            let t = server::teams::create(&self.pool, &slug, "").await.unwrap();
            let p = server::projects::find(&self.pool, project).await.unwrap();
            server::teams::assign_project(&self.pool, t.id, p.id)
                .await
                .unwrap();
            t.slug
        } else {
            team
        };
        server::teams::add_member(&self.pool, &team, email, role)
            .await
            .unwrap();
    }

    /// A client of its own, signed in as `email`: its session cookie is separate from
    /// `self.client`'s, so one test can act as several people.
    pub async fn signed_in_client(&self, email: &str, password: &str) -> reqwest::Client {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client
            .post(self.url("/api/login"))
            .header("Origin", &self.base_url)
            .form(&[
                ("email", email),
                ("password", password),
                ("next", "/findings"),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_redirection() || response.status().is_success(),
            "signing in as {email}: {}",
            response.status()
        );
        client
    }

    /// Calls a server function with form fields, as Bosun's own pages do; returns the
    /// status and body.
    pub async fn call_server_fn(
        &self,
        client: &reqwest::Client,
        function: &str,
        form: &[(&str, &str)],
    ) -> (reqwest::StatusCode, String) {
        let response = client
            .post(self.url(&format!("/api/{function}")))
            .header("Origin", &self.base_url)
            .form(form)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// The estate the triage tests share: team `shop` owns project `web`, into which
    /// `report` is pushed through a project token (target `repo`); team `data` stands
    /// beside it. `people` are created with `password` as (email, team, role). Returns the
    /// token.
    pub async fn shop_and_data(
        &self,
        report: Vec<u8>,
        people: &[(&str, &str, app::workflow::Role)],
        password: &str,
    ) -> String {
        use server::projects::{self, ProjectSlug};
        use server::teams;
        let pool = &self.pool;
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
        let (status, body) = self.push_report(Some(&token), "?target=repo", report).await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
        for (email, team, role) in people {
            server::users::create(pool, email, password, false)
                .await
                .unwrap();
            teams::add_member(pool, team, email, *role).await.unwrap();
        }
        token
    }

    pub async fn create_user(&self, email: &str, password: &str) {
        server::users::create(&self.pool, email, password, false)
            .await
            .unwrap();
    }

    /// POSTs a report; returns the status and the JSON body.
    pub async fn push_report(
        &self,
        token: Option<&str>,
        query: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .post(self.url(&format!("/api/v1/reports{query}")))
            .body(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let response = req.send().await.expect("server answers");
        let status = response.status();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }

    /// Signs in through the login server function, keeping the session cookie in `client`.
    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/login"))
            .header("Origin", &self.base_url)
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap()
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
