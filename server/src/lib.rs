//! Bosun's server: where reports come in and pages go out.
//!
//! A newcomer's map:
//! - `ingest/` — report formats (`ingest/formats/`, one module each) and storing findings
//!   (`ingest/store/`).
//! - `http/` — routes: the report API, health checks, middleware; pages come from `app`.
//! - `startup.rs` — the server and its background jobs, started the same way by `bosun serve`
//!   and by the tests.
//! - `cli/` — the `bosun` command, a file per command group; `push.rs` is the CI client.
//! - `embedded_pg.rs` — Bosun's own PostgreSQL when no `DATABASE_URL` is set.
//! - `projects.rs`, `teams.rs`, `tokens.rs`, `users.rs` — the records those commands manage;
//!   `ingest/routing.rs` — routing rules for team and cluster-wide tokens.

pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod embedded_pg;
pub mod gate;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod projects;
pub mod push;
pub mod seed;
pub mod startup;
pub mod teams;
pub mod tokens;
pub mod users;

use anyhow::Context;
use sqlx::PgPool;

use config::Config;
use embedded_pg::{Durability, EmbeddedPostgres};

/// The database Bosun uses: `DATABASE_URL`, or its own cluster under the data folder.
/// Migrations are applied either way. The cluster handle is returned so that whoever
/// started it can stop it.
pub async fn open_database(config: &Config) -> anyhow::Result<(PgPool, Option<EmbeddedPostgres>)> {
    let (url, embedded) = match &config.database_url {
        Some(url) => (url.clone(), None),
        None => {
            let dir = config.data_dir.join("postgres");
            let pg = tokio::task::spawn_blocking(move || {
                EmbeddedPostgres::start(&dir, Durability::Durable)
            })
            .await??;
            let url = pg.url("bosun");
            db::ensure_database(&url, "bosun")
                .await
                .context("creating the bosun database")?;
            (url, Some(pg))
        }
    };
    let pool = db::connect(&url)
        .await
        .context("connecting to PostgreSQL")?;
    db::migrate(&pool)
        .await
        .context("applying database migrations")?;
    Ok((pool, embedded))
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
