//! The audit trail export, for auditors: a project's events as CSV or JSON, oldest first.
//! Security engineers and admins of the project only (signed in, with a session cookie).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use super::ApiError;
use app::workflow::{Action, allowed};

/// Events per export; continue with `after_id` = the last id received.
const PAGE: i64 = 100_000;

#[derive(Debug, Deserialize)]
pub struct ExportParams {
    project: String,
    /// `csv` (default) or `json`.
    format: Option<String>,
    after_id: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct AuditRow {
    id: i64,
    at: chrono::DateTime<chrono::Utc>,
    actor: String,
    scan_id: Option<i64>,
    subject_type: String,
    subject_id: i64,
    action: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    reason: Option<String>,
}

pub async fn export(
    State(pool): State<PgPool>,
    signed_in: Option<super::guards::SignedIn>,
    Query(params): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let user = signed_in
        .ok_or(ApiError::Unauthorized("sign in to export the audit trail"))?
        .0;
    let (project_id, role) = app::access::db::role_on_project(&pool, user.id, &params.project)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such project".into()))?;
    if !allowed(role, Action::ManagePolicies) {
        return Err(ApiError::Forbidden(
            "only security engineers and admins may export the audit trail".into(),
        ));
    }
    let rows: Vec<AuditRow> = sqlx::query_as!(
        AuditRow,
        r#"SELECT e.id, e.at,
                coalesce(u.email, 'token #' || e.actor_token_id::text, 'scan #' || e.scan_id::text,
                         'bosun') AS "actor!",
                e.scan_id, e.subject_type, e.subject_id, e.action, e.before, e.after, e.reason
           FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id
          WHERE e.project_id = $1 AND e.id > $2
          ORDER BY e.id LIMIT $3"#,
        project_id,
        params.after_id.unwrap_or(0),
        PAGE,
    )
    .fetch_all(&pool)
    .await?;
    let filename = format!("bosun-audit-{}", params.project);
    match params.format.as_deref().unwrap_or("csv") {
        "json" => Ok(attachment(
            Json(rows).into_response(),
            &format!("{filename}.json"),
        )),
        "csv" => {
            let body = csv_text(&rows).map_err(|e| ApiError::Internal(e.into()))?;
            let mut response = body.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            Ok(attachment(response, &format!("{filename}.csv")))
        }
        other => Err(ApiError::BadRequest(format!(
            "format must be csv or json, not '{}'",
            other.chars().take(20).collect::<String>()
        ))),
    }
}

pub(super) fn attachment(mut response: Response, filename: &str) -> Response {
    // slugs are [a-z0-9-], so the name needs no quoting beyond this
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn csv_text(rows: &[AuditRow]) -> Result<String, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "id",
        "at",
        "actor",
        "scan_id",
        "subject_type",
        "subject_id",
        "action",
        "before",
        "after",
        "reason",
    ])?;
    for r in rows {
        let json =
            |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
        out.write_record([
            r.id.to_string(),
            r.at.to_rfc3339(),
            cell(&r.actor),
            r.scan_id.map(|id| id.to_string()).unwrap_or_default(),
            cell(&r.subject_type),
            r.subject_id.to_string(),
            cell(&r.action),
            cell(&json(&r.before)),
            cell(&json(&r.after)),
            cell(r.reason.as_deref().unwrap_or("")),
        ])?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A cell a spreadsheet will not run: text starting with `=`, `+`, `-`, `@`, tab or
/// carriage return is prefixed with `'` (OWASP CSV injection advice). Reasons and comment
/// text are written by people, and scanner text reaches the trail too.
pub(super) fn cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::cell;

    #[test]
    fn formulas_are_defused_and_plain_text_is_kept() {
        assert_eq!(
            cell("=HYPERLINK(\"http://evil\")"),
            "'=HYPERLINK(\"http://evil\")"
        );
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-1+2"), "'-1+2");
        assert_eq!(cell("fixed by scan"), "fixed by scan");
        assert_eq!(cell(""), "");
    }
}
