//! `bosun project …`: create projects and set their CI gate policy.

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
    /// Show a project's CI gate policy, or change it (the same store and audit as its
    /// settings page). Unchanged parts keep their value.
    Gate {
        slug: String,
        /// New findings of these severities fail the gate: a comma list
        /// (`critical,high`), or `none`.
        #[arg(long)]
        block_new: Option<String>,
        /// Whether any open secret in a scan fails the gate.
        #[arg(long)]
        block_secrets: Option<bool>,
        /// Whether any finding past its SLA fails the gate.
        #[arg(long)]
        block_sla_breaches: Option<bool>,
        /// Why, for the audit trail.
        #[arg(long)]
        reason: Option<String>,
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
        ProjectCommand::Gate {
            slug,
            block_new,
            block_secrets,
            block_sla_breaches,
            reason,
        } => {
            with_database(|pool| async move {
                let p = projects::find(&pool, &slug).await?;
                let mut tx = pool.begin().await?;
                let mut policy = app::gate::db::stored(&mut tx, p.id)
                    .await?
                    .unwrap_or_default();
                if let Some(list) = block_new {
                    policy.block_new = parse_severities(&list)?;
                }
                if let Some(on) = block_secrets {
                    policy.block_secrets = on;
                }
                if let Some(on) = block_sla_breaches {
                    policy.block_sla_breaches = on;
                }
                let changed =
                    app::gate::db::set(&mut tx, None, p.id, &policy, reason.as_deref()).await?;
                tx.commit().await?;
                let verb = if changed {
                    "gate policy set"
                } else {
                    "gate policy unchanged"
                };
                println!("{verb} for {}: {}", p.slug, policy.normalised().describe());
                Ok(())
            })
            .await
        }
    }
}

/// `critical,high` (or `none`) as severities; an unknown name is an error naming it.
fn parse_severities(list: &str) -> anyhow::Result<Vec<app::domain::Severity>> {
    if list.trim().eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|e| anyhow::anyhow!("--block-new: {e}")))
        .collect()
}
