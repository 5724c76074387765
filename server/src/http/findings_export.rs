//! The explorer's export: the findings of a filtered view (`/findings?…`) as CSV or JSON,
//! with the same URL parameters plus `format=csv|json`. Signed-in people only; what each
//! person may see is decided exactly as on the page (`app::findings::db`), so an export
//! never holds a finding the page would not show.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;

use super::ApiError;
use super::audit::{attachment, cell};
use app::domain::FindingSummary;
use app::error::{AppError, ErrorKind};
use app::explorer::{ExplorerQuery, decode_pairs};

/// Most findings one export holds, in the view's order; a header says when there were more.
pub const EXPORT_MAX: usize = 50_000;

/// Rows read per statement (keyset pages of the view's order).
const BATCH: i64 = 2_000;

pub async fn export(
    State(pool): State<PgPool>,
    signed_in: Option<super::guards::SignedIn>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let user = signed_in
        .ok_or(ApiError::Unauthorized("sign in to export findings"))?
        .0;
    let mut format = "csv".to_string();
    let mut pairs = Vec::new();
    for (key, value) in decode_pairs(raw.as_deref().unwrap_or("")) {
        if key == "format" {
            format = value;
        } else {
            pairs.push((key, value));
        }
    }
    if format != "csv" && format != "json" {
        return Err(ApiError::BadRequest(format!(
            "format must be csv or json, not '{}'",
            format.chars().take(20).collect::<String>()
        )));
    }
    let query = ExplorerQuery::from_pairs(pairs).map_err(|e| ApiError::BadRequest(e.0))?;
    let mut rows: Vec<FindingSummary> = Vec::new();
    // one more than the limit tells whether the export is cut
    app::findings::db::for_each_batch(&pool, user.id, &query, BATCH, EXPORT_MAX + 1, |batch| {
        rows.extend(batch);
        true
    })
    .await
    .map_err(api_error)?;
    let cut = rows.len() > EXPORT_MAX;
    rows.truncate(EXPORT_MAX);
    let mut response = if format == "json" {
        attachment(Json(&rows).into_response(), "bosun-findings.json")
    } else {
        let body = csv_text(&rows).map_err(|e| ApiError::Internal(e.into()))?;
        let mut response = body.into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        attachment(response, "bosun-findings.csv")
    };
    if cut {
        response.headers_mut().insert(
            "x-bosun-export-truncated",
            HeaderValue::from_static("more findings match than one export holds (50000)"),
        );
    }
    Ok(response)
}

fn api_error(err: AppError) -> ApiError {
    match err.kind {
        ErrorKind::NotFound => ApiError::NotFound(err.message),
        ErrorKind::Forbidden => ApiError::Forbidden(err.message),
        ErrorKind::Invalid => ApiError::BadRequest(err.message),
        ErrorKind::Unauthenticated => ApiError::Unauthorized("sign in to export findings"),
        _ => ApiError::Internal(anyhow::anyhow!(err.message)),
    }
}

/// The rows as CSV; every text cell a spreadsheet could run as a formula is defused.
pub fn csv_text(rows: &[FindingSummary]) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "id",
        "severity",
        "state",
        "layer",
        "project",
        "title",
        "rule_id",
        "location",
        "scanner",
        "first_seen_at",
        "last_seen_at",
        "due_at",
        "sla",
    ])?;
    for r in rows {
        out.write_record([
            r.id.to_string(),
            r.severity.to_string(),
            r.state.to_string(),
            r.layer.to_string(),
            cell(&r.project_slug),
            cell(&r.title),
            cell(&r.rule_id),
            cell(&r.location),
            cell(&r.scanner),
            r.first_seen_at.to_rfc3339(),
            r.last_seen_at.to_rfc3339(),
            r.due_at.map(|d| d.to_rfc3339()).unwrap_or_default(),
            r.sla.as_str().to_string(),
        ])?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
