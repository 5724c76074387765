//! `bosun project …`: create projects.

use clap::Subcommand;

use super::with_database;
use crate::projects;
use crate::teams;

#[derive(Subcommand, Debug)]
pub(super) enum ProjectCommand {
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

pub(super) async fn run(command: ProjectCommand) -> anyhow::Result<()> {
    match command {
        ProjectCommand::Create { slug, name, team } => {
            with_database(|pool| async move {
                let slug = projects::Slug::parse_for("project slug", &slug)?;
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
    }
}
