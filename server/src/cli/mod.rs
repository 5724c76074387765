//! The `bosun` command: serve, migrate, manage projects, teams, routing rules, tokens and
//! users, run a private PostgreSQL, push reports. One file per command group; `push` is the
//! CI client in [`crate::push`].

mod postgres;
mod projects;
mod routes;
mod serve;
mod teams;
mod tokens;
mod users;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::{open_database, push};

#[derive(Parser, Debug)]
#[command(
    name = "bosun",
    version,
    about = "Bosun: one stream of security findings for Kubernetes estates"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the web app and API (the default).
    Serve {
        /// Load the demo dataset (projects, findings and a demo user) before serving.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage projects.
    Project {
        #[command(subcommand)]
        command: projects::ProjectCommand,
    },
    /// Manage teams (they own projects; team tokens route into their projects).
    Team {
        #[command(subcommand)]
        command: teams::TeamCommand,
    },
    /// Manage routing rules: which project a team or cluster-wide token's findings land in.
    Route {
        #[command(subcommand)]
        command: routes::RouteCommand,
    },
    /// Manage ingest tokens.
    Token {
        #[command(subcommand)]
        command: tokens::TokenCommand,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: users::UserCommand,
    },
    /// Upload a scanner report to a Bosun server (reads BOSUN_URL and BOSUN_TOKEN).
    Push(push::PushArgs),
    /// Build a realistic estate (teams, people, projects, a year of scans and triage) for
    /// trying Bosun at scale; prints the seeded sign-ins.
    Seed(crate::seed::SeedArgs),
    /// Run a private PostgreSQL cluster from the machine's binaries (used by the test script).
    Postgres {
        #[command(subcommand)]
        command: postgres::PostgresCommand,
    },
}

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Push(args) => return push::run(args).await,
        Command::Serve { demo } => serve::serve(demo).await,
        Command::Migrate => with_database(|_| async { Ok(()) })
            .await
            .map(|_| println!("migrations applied")),
        Command::Project { command } => projects::run(command).await,
        Command::Team { command } => teams::run(command).await,
        Command::Route { command } => routes::run(command).await,
        Command::Token { command } => tokens::run(command).await,
        Command::User { command } => users::run(command).await,
        Command::Postgres { command } => postgres::run(command).await,
        Command::Seed(args) => with_database(|pool| seed(pool, args)).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn seed(pool: sqlx::PgPool, args: crate::seed::SeedArgs) -> anyhow::Result<()> {
    use crate::seed;
    let summary = seed::run(&pool, &args).await?;
    let findings: i64 = sqlx::query_scalar("SELECT count(*) FROM findings")
        .fetch_one(&pool)
        .await?;
    println!(
        "seeded {} teams, {} people, {} projects, {} scans; {} findings in the database \
         ({} fixed and {} reopened by scans) in {:.1} s",
        summary.teams,
        summary.users,
        summary.projects,
        summary.scans,
        findings,
        summary.fixed_by_scans,
        summary.reopened_by_scans,
        summary.seconds,
    );
    println!("sign in with password {}:", seed::SEED_PASSWORD);
    println!("  admin      {}", seed::ADMIN_EMAIL);
    println!(
        "  developer  {} (team {})",
        seed::DEVELOPER_EMAIL,
        summary.developer_team
    );
    println!("  security   {} (every team)", seed::SECURITY_EMAIL);
    Ok(())
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BOSUN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs `f` against the configured database, stopping an embedded cluster afterwards if
/// this command was the one that started it.
pub(super) async fn with_database<F, Fut>(f: F) -> anyhow::Result<()>
where
    F: FnOnce(sqlx::PgPool) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let config = Config::from_env()?;
    let (pool, embedded) = open_database(&config).await?;
    let result = f(pool.clone()).await;
    pool.close().await;
    if let Some(pg) = embedded {
        pg.stop()?;
    }
    result
}
