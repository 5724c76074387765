//! `bosun user …`: create accounts and set estate-wide flags.

use std::io::Read;

use clap::Subcommand;

use super::with_database;
use crate::users;

#[derive(Subcommand, Debug)]
pub(super) enum UserCommand {
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

pub(super) async fn run(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::SecurityAllTeams { email, off } => {
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
        UserCommand::Create {
            email,
            admin,
            password_stdin: _,
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
                            app::domain::EmailAddress::parse(&email)?
                        );
                        Ok(())
                    })
                    .await
                }
            }
        }
    }
}
