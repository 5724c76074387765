//! `/healthz`: the process answers. `/readyz`: and its database does too.

use axum::extract::State;
use axum::http::StatusCode;
use sqlx::PgPool;

/// The process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// The process and its database answer.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = String), (status = 503, description = "database unreachable", body = String)))]
pub async fn readyz(State(pool): State<PgPool>) -> (StatusCode, &'static str) {
    let ping = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        sqlx::query_scalar!(r#"SELECT 1 AS "one!""#).fetch_one(&pool),
    )
    .await;
    match ping {
        Ok(Ok(_)) => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}
