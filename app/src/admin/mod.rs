//! Running Bosun's people: invitations, accounts' admin flags, teams and their members.
//! Everything here is for global admins (`CurrentUser::is_admin`) but an invitation's own
//! page, where the invited person chooses a password.
//!
//! - `invites`: invite by email (a one-time link valid for a week), revoke, accept.
//! - `users`: everyone with their teams and roles; the admin and "security on every team"
//!   flags.
//! - `teams`: teams with their projects and members; adding, re-roling and removing members.
//!
//! Every change and its audit event commit in one transaction.

pub mod invites;
pub mod teams;
pub mod users;

#[cfg(feature = "ssr")]
use crate::error::AppError;

/// The signed-in person when they are a global admin; 401 when nobody is signed in, 403
/// for everyone else.
#[cfg(feature = "ssr")]
pub async fn require_admin() -> Result<crate::auth::CurrentUser, AppError> {
    let user = crate::auth::require_user().await?;
    if !user.is_admin {
        crate::access::log_denied(user.id, "Manage users", "people and teams");
        return Err(AppError::forbidden(
            "Only admins may manage people and teams.",
        ));
    }
    Ok(user)
}
