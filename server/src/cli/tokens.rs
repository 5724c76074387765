//! `bosun token …`: create, list and revoke ingest tokens.

use clap::Subcommand;

use super::with_database;
use crate::projects;
use crate::teams;
use crate::tokens;

#[derive(Subcommand, Debug)]
pub(super) enum TokenCommand {
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

pub(super) async fn run(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            project,
            team,
            cluster,
            name,
            expires_in,
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
        TokenCommand::List {
            project,
            team,
            cluster,
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
        TokenCommand::Revoke { id, project } => {
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
