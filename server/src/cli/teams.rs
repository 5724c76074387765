//! `bosun team …`: create teams and set who is in them with which role.

use clap::Subcommand;

use super::with_database;
use crate::projects;
use crate::teams;

#[derive(Subcommand, Debug)]
pub(super) enum TeamCommand {
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

pub(super) async fn run(command: TeamCommand) -> anyhow::Result<()> {
    match command {
        TeamCommand::Create { slug, name } => {
            with_database(|pool| async move {
                let slug = projects::Slug::parse_for("team slug", &slug)?;
                let t = teams::create(&pool, &slug, name.as_deref().unwrap_or("")).await?;
                println!("created team {} ({})", t.slug, t.name);
                Ok(())
            })
            .await
        }
        TeamCommand::AddMember { team, email, role } => {
            with_database(|pool| async move {
                teams::add_member(&pool, &team, &email, role).await?;
                println!("{email} is now {} in team {team}", role.as_str());
                Ok(())
            })
            .await
        }
    }
}
