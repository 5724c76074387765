//! `bosun postgres …`: a private PostgreSQL cluster from the machine's binaries (the test script uses it).

use std::path::PathBuf;

use clap::Subcommand;

use crate::embedded_pg::{Durability, EmbeddedPostgres};

#[derive(Subcommand, Debug)]
pub(super) enum PostgresCommand {
    /// Start (creating on first use) a cluster in DIR and print its DATABASE_URL.
    Start {
        #[arg(long)]
        dir: PathBuf,
        /// Throwaway tuning (no fsync): for test clusters only.
        #[arg(long)]
        ephemeral: bool,
    },
    /// Stop the cluster in DIR.
    Stop {
        #[arg(long)]
        dir: PathBuf,
        /// Also delete the cluster's files (for throwaway test clusters).
        #[arg(long)]
        remove: bool,
    },
}

pub(super) async fn run(command: PostgresCommand) -> anyhow::Result<()> {
    match command {
        PostgresCommand::Start { dir, ephemeral } => {
            let durability = if ephemeral {
                Durability::Ephemeral
            } else {
                Durability::Durable
            };
            match tokio::task::spawn_blocking(move || EmbeddedPostgres::start(&dir, durability))
                .await
            {
                Ok(Ok(pg)) => {
                    println!("{}", pg.url("postgres"));
                    Ok(())
                }
                Ok(Err(e)) => Err(e.into()),
                Err(e) => Err(e.into()),
            }
        }
        PostgresCommand::Stop { dir, remove } => {
            match tokio::task::spawn_blocking(move || EmbeddedPostgres::stop_dir(&dir, remove))
                .await
            {
                Ok(Ok(stopped)) => {
                    eprintln!(
                        "{}",
                        if stopped {
                            "stopped"
                        } else {
                            "was not running"
                        }
                    );
                    Ok(())
                }
                Ok(Err(e)) => Err(e.into()),
                Err(e) => Err(e.into()),
            }
        }
    }
}
