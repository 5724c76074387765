//! `POST /api/v1/reports`: CI pipelines and cluster tools push scanner reports here.
//!
//! `Authorization: Bearer <ingest token>`; the body is the raw report (optionally
//! `Content-Encoding: gzip`); query parameters carry what the report itself may not:
//! `format`, `project`, `target`, `commit`, `branch`, `pipeline_url`, `environment`,
//! `partial`. Each may come as a header instead (`X-Bosun-Target`, `X-Bosun-Pipeline-Url`,
//! …); the query parameter wins when both are given.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use sqlx::PgPool;

use super::ApiError;
use crate::ingest::{self, Guardrails, IngestOutcome, ScanMeta};
use crate::tokens::TokenGrant;

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// Report format, when detection should not guess (`sarif`, `trivy`, …).
    format: Option<String>,
    /// Project slug: a project token's own (optional); for a team or cluster-wide token,
    /// the project to send the whole report to instead of routing it by rules.
    project: Option<String>,
    /// What was scanned: repository, image repository, cluster/namespace. Part of the scope.
    target: Option<String>,
    commit: Option<String>,
    branch: Option<String>,
    pipeline_url: Option<String>,
    environment: Option<String>,
    /// `true` when the scan covered only part of its scope (never auto-closes).
    partial: Option<String>,
}

/// Longest accepted metadata value; longer ones are refused, not silently cut.
const META_MAX: usize = 2048;

/// Upload one scanner report. Each parameter may also come as an `X-Bosun-…` header.
/// The token was checked, and a slot taken, before the body was read
/// (`upload_body::receive_upload`).
#[utoipa::path(
    post,
    path = "/api/v1/reports",
    tag = "reports",
    params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The raw report; `Content-Encoding: gzip` accepted"),
    responses(
        (status = 201, description = "Stored; counts and the gate verdict", body = IngestOutcome),
        (status = 400, description = "Unreadable or unknown report, bad parameters", body = super::openapi::ErrorBody),
        (status = 401, description = "Missing, invalid, expired or revoked token", body = super::openapi::ErrorBody),
        (status = 403, description = "The token may not send to the project named", body = super::openapi::ErrorBody),
        (status = 413, description = "Larger than the server accepts", body = super::openapi::ErrorBody),
        (status = 422, description = "A known tool's report in a layout Bosun does not read (refused rather than stored as clean)", body = super::openapi::ErrorBody),
        (status = 429, description = "As many reports are being received as the server allows; retry after `Retry-After` seconds", body = super::openapi::ErrorBody),
    ),
    security(("ingest_token" = []))
)]
pub async fn upload(
    State(pool): State<PgPool>,
    State(config): State<std::sync::Arc<crate::config::Config>>,
    Extension(grant): Extension<TokenGrant>,
    headers: axum::http::HeaderMap,
    params: Result<Query<UploadParams>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<IngestOutcome>), ApiError> {
    let Query(params) = params
        .map_err(|e| ApiError::BadRequest(format!("bad query parameters: {}", e.body_text())))?;
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(format!(
            "the report is larger than this server accepts (after decompression): {}",
            e.body_text()
        )),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(e.body_text()),
        _ => ApiError::BadRequest(format!(
            "could not read the request body: {}",
            e.body_text()
        )),
    })?;
    // a query parameter, else its `X-Bosun-…` header
    let param = |name: &str, query: Option<String>| -> Option<String> {
        query.or_else(|| {
            let header = format!("x-bosun-{}", name.replace('_', "-"));
            headers
                .get(header.as_str())
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
    };
    let clean = |name: &str, v: Option<String>| -> Result<Option<String>, ApiError> {
        match v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
            Some(s) if s.len() > META_MAX || s.chars().any(char::is_control) => {
                Err(ApiError::BadRequest(format!(
                    "parameter '{name}' must be at most {META_MAX} characters without control characters"
                )))
            }
            other => Ok(other),
        }
    };
    let partial = match param("partial", params.partial).as_deref().map(str::trim) {
        None | Some("") | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "parameter 'partial' must be true or false, not '{}'",
                other.chars().take(20).collect::<String>()
            )));
        }
    };
    let meta = ScanMeta {
        format: clean("format", param("format", params.format))?,
        project: clean("project", param("project", params.project))?,
        target: clean("target", param("target", params.target))?.unwrap_or_default(),
        commit_sha: clean("commit", param("commit", params.commit))?,
        branch: clean("branch", param("branch", params.branch))?,
        pipeline_url: clean("pipeline_url", param("pipeline_url", params.pipeline_url))?,
        environment: clean("environment", param("environment", params.environment))?,
        partial,
    };
    let outcome = ingest::ingest(
        &pool,
        &grant,
        &meta,
        Guardrails {
            empty_scan_min_previous: config.empty_scan_guard,
        },
        body,
    )
    .await?;
    tracing::info!(scan_id = outcome.scan_id, project = %outcome.project, new = outcome.new, total = outcome.total, "report ingested");
    Ok((StatusCode::CREATED, Json(outcome)))
}
