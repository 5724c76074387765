//! `bosun route …`: routing rules for team and cluster-wide tokens.

use clap::Subcommand;

use super::with_database;
use crate::ingest::routing;
use crate::projects;

#[derive(Subcommand, Debug)]
pub(super) enum RouteCommand {
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

pub(super) async fn run(command: RouteCommand) -> anyhow::Result<()> {
    match command {
        RouteCommand::Add {
            project,
            namespace,
            image,
            path,
            position,
        } => {
            with_database(|pool| async move {
                let p = projects::find(&pool, &project).await?;
                let rule = routing::NewRule {
                    namespace,
                    image_repository: image,
                    path,
                    position,
                };
                let id = routing::add_rule(&pool, None, p.id, &rule).await?;
                println!("added routing rule {id} → project {}", p.slug);
                Ok(())
            })
            .await
        }
        RouteCommand::List => {
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
    }
}
