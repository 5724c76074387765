//! What server functions get from the server: the database pool and cookie settings.

use leptos::prelude::*;
use sqlx::PgPool;

#[derive(Clone, Debug)]
pub struct ServerContext {
    pub pool: PgPool,
    /// Mark session cookies `Secure` (when Bosun is served over HTTPS).
    pub secure_cookies: bool,
}

/// The server context, or a server error when it was not provided (a wiring bug).
pub fn server_context() -> Result<ServerContext, ServerFnError> {
    use_context::<ServerContext>().ok_or_else(|| ServerFnError::new("server context missing"))
}
