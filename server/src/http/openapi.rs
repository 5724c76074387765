//! The API's OpenAPI description, generated from the handlers' annotations and served at
//! `GET /api/v1/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{health, reports};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bosun API",
        description = "Push scanner reports; read back counts and the CI gate verdict."
    ),
    paths(reports::upload, health::healthz, health::readyz),
    components(schemas(ErrorBody)),
    modifiers(&IngestTokenAuth),
    tags((name = "reports", description = "Scanner reports in"), (name = "operations", description = "Health"))
)]
pub struct ApiDoc;

/// Every 4xx/5xx answer: what was wrong.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documents the JSON `ApiError` renders
pub struct ErrorBody {
    error: String,
    /// On a 500 only: the request's id (also in `x-request-id`), under which the log holds
    /// the detail.
    request_id: Option<String>,
}

struct IngestTokenAuth;

impl Modify for IngestTokenAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "ingest_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A project's ingest token (`bosun token create`)"))
                    .build(),
            ),
        );
    }
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
