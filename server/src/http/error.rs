//! The one error type API handlers return, mapped to an HTTP status and a JSON body
//! `{"error": "<what was wrong>"}`. An internal error answers a generic message with the
//! request id (`{"error": …, "request_id": …}`); its detail goes to the log under that id.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ingest::store::IngestError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// Well-formed, but not something Bosun can read (a tool's layout it does not know).
    #[error("{0}")]
    Unprocessable(String),
    #[error("{}", app::error::INTERNAL_MESSAGE)]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match &self {
            ApiError::Internal(err) => {
                // details go to the log, not to the client
                let request_id = super::edge::current_request_id();
                tracing::error!(request_id = ?request_id, error = ?err, "request failed");
                json!({ "error": self.to_string(), "request_id": request_id })
            }
            other => json!({ "error": other.to_string() }),
        };
        let mut response = (self.status(), Json(body)).into_response();
        if matches!(self, ApiError::Unauthorized(_)) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                "Bearer realm=\"bosun\"".parse().expect("static"),
            );
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::Internal(err.into())
    }
}

impl From<IngestError> for ApiError {
    fn from(err: IngestError) -> Self {
        match err {
            IngestError::Db(db) => ApiError::Internal(db.into()),
            IngestError::Forbidden(why) => ApiError::Forbidden(why),
            IngestError::Parse(parse) if parse.layout => ApiError::Unprocessable(parse.to_string()),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}
