//! The one error type API handlers return, mapped to an HTTP status and a JSON body
//! `{"error": "<what was wrong>"}`. An internal error answers a generic message with the
//! request id (`{"error": …, "request_id": …}`); its detail goes to the log under that id.

use app::error::ErrorKind;
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
    /// The server functions' kind of the same failure, when there is one: the two error
    /// types answer the same status for the same kind ([`ErrorKind::status`]).
    fn kind(&self) -> Option<ErrorKind> {
        Some(match self {
            ApiError::Unauthorized(_) => ErrorKind::Unauthenticated,
            ApiError::Forbidden(_) => ErrorKind::Forbidden,
            ApiError::NotFound(_) => ErrorKind::NotFound,
            ApiError::BadRequest(_) => ErrorKind::Invalid,
            ApiError::TooManyRequests(_) => ErrorKind::TooManyRequests,
            ApiError::Internal(_) => ErrorKind::Internal,
            // failures only a report upload meets
            ApiError::PayloadTooLarge(_)
            | ApiError::UnsupportedMediaType(_)
            | ApiError::Unprocessable(_) => return None,
        })
    }

    fn status(&self) -> StatusCode {
        match (self.kind(), self) {
            (Some(kind), _) => kind.status(),
            (None, ApiError::PayloadTooLarge(_)) => StatusCode::PAYLOAD_TOO_LARGE,
            (None, ApiError::UnsupportedMediaType(_)) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            (None, _) => StatusCode::UNPROCESSABLE_ENTITY,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_answer_the_status_of_their_kind() {
        let cases = [
            (ApiError::Unauthorized("no token"), 401),
            (ApiError::Forbidden(String::new()), 403),
            (ApiError::NotFound(String::new()), 404),
            (ApiError::BadRequest(String::new()), 400),
            (ApiError::TooManyRequests(String::new()), 429),
            (ApiError::Internal(anyhow::anyhow!("x")), 500),
            (ApiError::PayloadTooLarge(String::new()), 413),
            (ApiError::UnsupportedMediaType(String::new()), 415),
            (ApiError::Unprocessable(String::new()), 422),
        ];
        for (err, status) in cases {
            assert_eq!(err.status(), status, "{err:?}");
            if let Some(kind) = err.kind() {
                assert_eq!(kind.status(), err.status(), "{err:?}");
            }
        }
    }
}
