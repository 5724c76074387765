//! The `bosun` command: serve, migrate, manage projects, tokens and users, push reports.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::embedded_pg::{Durability, EmbeddedPostgres};
use crate::ingest::routing;
use crate::{demo, open_database, projects, push, shutdown_signal, teams, tokens, users};

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
        command: ProjectCommand,
    },
    /// Manage teams (they own projects; team tokens route into their projects).
    Team {
        #[command(subcommand)]
        command: TeamCommand,
    },
    /// Manage routing rules: which project a team or cluster-wide token's findings land in.
    Route {
        #[command(subcommand)]
        command: RouteCommand,
    },
    /// Manage ingest tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Upload a scanner report to a Bosun server (reads BOSUN_URL and BOSUN_TOKEN).
    Push(push::PushArgs),
    /// Run a private PostgreSQL cluster from the machine's binaries (used by the test script).
    Postgres {
        #[command(subcommand)]
        command: PostgresCommand,
    },
}

#[derive(Subcommand, Debug)]
enum ProjectCommand {
    /// Create a project.
    Create {
        slug: String,
        #[arg(long)]
        name: Option<String>,
        /// The team that owns it.
        #[arg(long)]
        team: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum TeamCommand {
    /// Create a team.
    Create {
        slug: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Add a person to a team with a role, or change their role there.
    AddMember {
        team: String,
        email: String,
        /// viewer, developer, ops or security
        #[arg(long)]
        role: app::workflow::Role,
    },
}

#[derive(Subcommand, Debug)]
enum RouteCommand {
    /// Add a rule: findings matching every pattern given land in PROJECT. Patterns are
    /// globs (`payments-*`, `registry.example.com/shop/*`, `services/search/**`).
    Add {
        #[arg(long)]
        project: String,
        /// Kubernetes namespace glob.
        #[arg(long)]
        namespace: Option<String>,
        /// Image repository glob (without tag or digest).
        #[arg(long)]
        image: Option<String>,
        /// File path glob.
        #[arg(long)]
        path: Option<String>,
        /// Rules are tried by position, lowest first (default 100).
        #[arg(long)]
        position: Option<i32>,
    },
    /// List rules in the order they are tried.
    List,
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create an ingest token and print it (shown only this once): for one project, for a
    /// team (routed into its projects), or cluster-wide (routed by every rule).
    Create {
        #[arg(long, required_unless_present_any = ["team", "cluster"], conflicts_with_all = ["team", "cluster"])]
        project: Option<String>,
        #[arg(long, conflicts_with = "cluster")]
        team: Option<String>,
        #[arg(long)]
        cluster: bool,
        #[arg(long, default_value = "")]
        name: String,
        /// Expire the token after this long: 90d, 12w, 48h, 1y (default: never).
        #[arg(long, value_parser = tokens::parse_expiry)]
        expires_in: Option<chrono::Duration>,
    },
    /// List tokens of every kind, or of one project, team or the cluster: id, scope,
    /// first characters, expiry, last use, status; never the secrets.
    List {
        #[arg(long, conflicts_with_all = ["team", "cluster"])]
        project: Option<String>,
        #[arg(long, conflicts_with = "cluster")]
        team: Option<String>,
        #[arg(long)]
        cluster: bool,
    },
    /// Revoke a token (project, team or cluster-wide) by the id `token list` shows.
    Revoke {
        id: i64,
        /// Only when the token belongs to this project (a safety check).
        #[arg(long)]
        project: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        email: String,
        #[arg(long)]
        admin: bool,
        /// Read the password from stdin (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Make a person security on every team's projects (or, with --off, no longer).
    SecurityAllTeams {
        email: String,
        #[arg(long)]
        off: bool,
    },
}

#[derive(Subcommand, Debug)]
enum PostgresCommand {
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

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Push(args) => return push::run(args).await,
        Command::Serve { demo } => serve(demo).await,
        Command::Migrate => with_database(|_| async { Ok(()) })
            .await
            .map(|_| println!("migrations applied")),
        Command::Project {
            command: ProjectCommand::Create { slug, name, team },
        } => {
            with_database(|pool| async move {
                let slug = projects::ProjectSlug::parse(&slug)?;
                let team = match team {
                    Some(t) => Some(teams::find(&pool, &t).await?),
                    None => None,
                };
                let p = projects::create(&pool, &slug, name.as_deref().unwrap_or("")).await?;
                if let Some(team) = &team {
                    teams::assign_project(&pool, team.id, p.id).await?;
                }
                let owner = team
                    .map(|t| format!(", team {}", t.slug))
                    .unwrap_or_default();
                println!("created project {} ({}{owner})", p.slug, p.name);
                Ok(())
            })
            .await
        }
        Command::Team {
            command: TeamCommand::Create { slug, name },
        } => {
            with_database(|pool| async move {
                let slug = projects::ProjectSlug::parse(&slug)?;
                let t = teams::create(&pool, &slug, name.as_deref().unwrap_or("")).await?;
                println!("created team {} ({})", t.slug, t.name);
                Ok(())
            })
            .await
        }
        Command::Team {
            command: TeamCommand::AddMember { team, email, role },
        } => {
            with_database(|pool| async move {
                teams::add_member(&pool, &team, &email, role).await?;
                println!("{email} is now {} in team {team}", role.as_str());
                Ok(())
            })
            .await
        }
        Command::Route {
            command:
                RouteCommand::Add {
                    project,
                    namespace,
                    image,
                    path,
                    position,
                },
        } => {
            with_database(|pool| async move {
                let p = projects::find(&pool, &project).await?;
                let rule = routing::NewRule {
                    namespace,
                    image_repository: image,
                    path,
                    position,
                };
                let id = routing::add_rule(&pool, p.id, &rule).await?;
                println!("added routing rule {id} → project {}", p.slug);
                Ok(())
            })
            .await
        }
        Command::Route {
            command: RouteCommand::List,
        } => {
            with_database(|pool| async move {
                println!(
                    "{:>5} {:>8}  {:<14} {:<20} {:<30} {:<24} project",
                    "id", "position", "team", "namespace", "image repository", "path"
                );
                let show = |p: &Option<String>| p.clone().unwrap_or_else(|| "*".into());
                for r in routing::list_rules(&pool).await? {
                    println!(
                        "{:>5} {:>8}  {:<14} {:<20} {:<30} {:<24} {}",
                        r.id,
                        r.position,
                        r.team.as_deref().unwrap_or("(estate)"),
                        show(&r.namespace),
                        show(&r.image_repository),
                        show(&r.path),
                        r.project
                    );
                }
                Ok(())
            })
            .await
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    project,
                    team,
                    cluster,
                    name,
                    expires_in,
                },
        } => {
            with_database(|pool| async move {
                let (owner, what) = match (project, team) {
                    (Some(project), _) => {
                        let p = projects::find(&pool, &project).await?;
                        (
                            tokens::TokenOwner::Project(p.id),
                            format!("project '{}'", p.slug),
                        )
                    }
                    (None, Some(team)) => {
                        let t = teams::find(&pool, &team).await?;
                        (
                            tokens::TokenOwner::Team(t.id),
                            format!("team '{}' (routed by its rules)", t.slug),
                        )
                    }
                    (None, None) if cluster => (
                        tokens::TokenOwner::Cluster,
                        "the whole estate (routed by every rule)".to_string(),
                    ),
                    (None, None) => anyhow::bail!("name --project, --team or --cluster"),
                };
                let expires_at = expires_in.map(|d| chrono::Utc::now() + d);
                let (_, token) =
                    app::tokens::db::create(&pool, None, owner, &name, expires_at).await?;
                let until = expires_at
                    .map(|at| format!(", expires {}", at.format("%Y-%m-%d %H:%M UTC")))
                    .unwrap_or_default();
                eprintln!("ingest token for {what}{until} (shown once; store it as a CI secret):");
                println!("{token}");
                Ok(())
            })
            .await
        }
        Command::Token {
            command:
                TokenCommand::List {
                    project,
                    team,
                    cluster,
                },
        } => {
            with_database(|pool| async move {
                let filter = match (project, team) {
                    (Some(project), _) => {
                        tokens::Filter::Project(projects::find(&pool, &project).await?.id)
                    }
                    (None, Some(team)) => tokens::Filter::Team(teams::find(&pool, &team).await?.id),
                    (None, None) if cluster => tokens::Filter::Cluster,
                    (None, None) => tokens::Filter::All,
                };
                print_tokens(&app::tokens::db::list(&pool, &filter).await?);
                Ok(())
            })
            .await
        }
        Command::Token {
            command: TokenCommand::Revoke { id, project },
        } => {
            with_database(|pool| async move {
                let token = app::tokens::db::find(&pool, id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no token {id}"))?;
                if let Some(project) = project
                    && token.scope != app::tokens::TokenScope::Project(project.clone())
                {
                    anyhow::bail!(
                        "token {id} is not project {project}'s (it is {})",
                        token.scope.label()
                    );
                }
                if app::tokens::db::revoke(&pool, None, id, "revoked from the command line").await?
                {
                    println!("revoked token {id} ({})", token.scope.label());
                    Ok(())
                } else {
                    anyhow::bail!("token {id} ({}) was already revoked", token.scope.label())
                }
            })
            .await
        }
        Command::User {
            command: UserCommand::SecurityAllTeams { email, off },
        } => {
            with_database(|pool| async move {
                users::set_security_all_teams(&pool, &email, !off).await?;
                match off {
                    false => println!("{email} is now security on every team's projects"),
                    true => println!("{email} is no longer security on every team's projects"),
                }
                Ok(())
            })
            .await
        }
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    admin,
                    password_stdin: _,
                },
        } => {
            let mut password = String::new();
            match std::io::stdin().read_to_string(&mut password) {
                Err(e) => Err(anyhow::anyhow!("reading the password from stdin: {e}")),
                Ok(_) => {
                    let password = password.trim_end_matches(['\r', '\n']).to_string();
                    with_database(|pool| async move {
                        users::create(&pool, &email, &password, admin).await?;
                        println!(
                            "created {}user {}",
                            if admin { "admin " } else { "" },
                            users::parse_email(&email)?
                        );
                        Ok(())
                    })
                    .await
                }
            }
        }
        Command::Postgres {
            command: PostgresCommand::Start { dir, ephemeral },
        } => {
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
        Command::Postgres {
            command: PostgresCommand::Stop { dir, remove },
        } => match tokio::task::spawn_blocking(move || EmbeddedPostgres::stop_dir(&dir, remove))
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
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// `bosun token list`'s table.
fn print_tokens(list: &[app::tokens::TokenInfo]) {
    println!(
        "{:>6}  {:<22} {:<16} {:<14} {:<17} {:<17} {:<17} status",
        "id", "for", "name", "starts with", "created", "expires", "last used"
    );
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or("-".to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
    };
    let now = chrono::Utc::now();
    for t in list {
        println!(
            "{:>6}  {:<22} {:<16} {:<14} {:<17} {:<17} {:<17} {}",
            t.id,
            t.scope.label(),
            t.name,
            format!("{}…", t.prefix),
            when(Some(t.created_at)),
            when(t.expires_at),
            when(t.last_used_at),
            t.status(now)
        );
    }
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
async fn with_database<F, Fut>(f: F) -> anyhow::Result<()>
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

async fn serve(load_demo: bool) -> anyhow::Result<()> {
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
    } else if users::count(pool).await.unwrap_or(0) == 0 {
        let exe = std::env::args().next().unwrap_or_else(|| "bosun".into());
        println!("  no users yet; create the first admin, then sign in at {url}/login:");
        println!("    {exe} user create --admin you@example.com --password-stdin");
    } else {
        println!("  sign in at {url}/login");
    }
    println!("  stop with Ctrl-C\n");
}
