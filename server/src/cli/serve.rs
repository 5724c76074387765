//! `bosun serve` (the default command): the web app and API, on the configured database or
//! an embedded one, until Ctrl-C or SIGTERM.

use anyhow::Context;

use crate::config::Config;
use crate::{demo, open_database, shutdown_signal, users};

pub(super) async fn serve(load_demo: bool) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let (pool, embedded) = open_database(&config).await?;
    let served = async {
        if load_demo {
            demo::load(&pool)
                .await
                .context("loading the demo dataset")?;
        }
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .with_context(|| {
                format!(
                    "listening on {} (set BOSUN_ADDR to use another address)",
                    config.addr
                )
            })?;
        print_banner(&config, &pool, load_demo).await;
        crate::startup::serve(listener, config.clone(), pool.clone(), shutdown_signal()).await?;
        anyhow::Ok(())
    }
    .await;
    pool.close().await;
    if let Some(pg) = embedded {
        tokio::task::spawn_blocking(move || pg.stop()).await??;
    }
    served
}

async fn print_banner(config: &Config, pool: &sqlx::PgPool, demo: bool) {
    let url = &config.public_url;
    println!("\n  Bosun is running at {url}");
    if config.database_url.is_none() {
        println!(
            "  database: embedded PostgreSQL in {}",
            config.data_dir.join("postgres").display()
        );
    }
    if demo {
        println!(
            "  sign in as {} with password {}",
            demo::DEMO_EMAIL,
            demo::DEMO_PASSWORD
        );
        println!(
            "  or as a developer of one team: {} with password {}",
            crate::seed::DEVELOPER_EMAIL,
            crate::seed::SEED_PASSWORD
        );
    } else if users::count(pool).await.unwrap_or(0) == 0 {
        let exe = std::env::args().next().unwrap_or_else(|| "bosun".into());
        println!("  no users yet; create the first admin, then sign in at {url}/login:");
        println!("    {exe} user create --admin you@example.com --password-stdin");
    } else {
        println!("  sign in at {url}/login");
    }
    println!("  stop with Ctrl-C\n");
}
