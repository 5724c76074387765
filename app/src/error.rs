//! The one error type every server function returns, and what a client is allowed to see.
//!
//! An [`AppError`] has a [`ErrorKind`] the page can match on and a message written for
//! people. Internal failures (the database, a panic in a blocking task) never show their
//! text: the client gets a generic message with the request id, and the detail goes to the
//! log under that id. Constructing an error on the server also sets the HTTP status of the
//! answer, so a failed call is a 4xx or 5xx whatever the page does with it.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, as a page or a client decides what to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Nobody is signed in (401).
    Unauthenticated,
    /// Signed in, but the role may not do this (403).
    Forbidden,
    /// No such thing, or not visible to this person: the two answer alike (404).
    NotFound,
    /// The input is wrong; [`AppError::field`] names the field when one is to blame (400).
    Invalid,
    /// The request conflicts with the current state (409).
    Conflict,
    /// Too many attempts; try again later (429).
    TooManyRequests,
    /// Bosun failed; the message carries the request id, the log the detail (500).
    Internal,
    /// The browser could not reach the server or read its answer.
    Transport,
}

impl ErrorKind {
    pub fn status(self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            ErrorKind::Unauthenticated => S::UNAUTHORIZED,
            ErrorKind::Forbidden => S::FORBIDDEN,
            ErrorKind::NotFound => S::NOT_FOUND,
            ErrorKind::Invalid => S::BAD_REQUEST,
            ErrorKind::Conflict => S::CONFLICT,
            ErrorKind::TooManyRequests => S::TOO_MANY_REQUESTS,
            ErrorKind::Internal => S::INTERNAL_SERVER_ERROR,
            ErrorKind::Transport => S::BAD_GATEWAY,
        }
    }
}

/// A server function's failure, as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub kind: ErrorKind,
    pub message: String,
    /// The form field at fault, for [`ErrorKind::Invalid`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// What people are told when Bosun itself failed.
pub const INTERNAL_MESSAGE: &str = "Something went wrong on Bosun's side; nothing was changed.";

impl AppError {
    /// An error of `kind`; on the server it also sets the answer's HTTP status.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> AppError {
        #[cfg(feature = "ssr")]
        set_status(kind.status());
        AppError {
            kind,
            message: message.into(),
            field: None,
        }
    }

    pub fn unauthenticated() -> AppError {
        AppError::new(ErrorKind::Unauthenticated, "Sign in required.")
    }

    pub fn forbidden(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::NotFound, message)
    }

    pub fn invalid(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Invalid, message)
    }

    /// Invalid input in one named field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> AppError {
        AppError {
            field: Some(field.to_string()),
            ..AppError::invalid(message)
        }
    }

    pub fn conflict(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::Conflict, message)
    }

    pub fn too_many_requests(message: impl Into<String>) -> AppError {
        AppError::new(ErrorKind::TooManyRequests, message)
    }

    /// Bosun failed. `detail` goes to the log with the request id; the client gets
    /// [`INTERNAL_MESSAGE`] and the id, never the detail.
    pub fn internal(detail: impl std::fmt::Display) -> AppError {
        let request_id = current_request_id();
        #[cfg(feature = "ssr")]
        tracing::error!(request_id = %request_id.as_deref().unwrap_or("-"), error = %detail, "server function failed");
        #[cfg(not(feature = "ssr"))]
        let _ = detail;
        let message = match request_id {
            Some(id) => format!("{INTERNAL_MESSAGE} Request id: {id}."),
            None => INTERNAL_MESSAGE.to_string(),
        };
        AppError::new(ErrorKind::Internal, message)
    }
}

/// The id of the request being answered (the `x-request-id` Bosun gave it).
fn current_request_id() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        let parts = leptos::prelude::use_context::<http::request::Parts>()?;
        parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    #[cfg(not(feature = "ssr"))]
    None
}

#[cfg(feature = "ssr")]
fn set_status(status: http::StatusCode) {
    if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // the request's arguments could not be read: the caller's mistake
            ServerFnErrorErr::Args(why) => AppError::invalid(format!(
                "The request's fields could not be read: {}",
                why.chars().take(200).collect::<String>()
            )),
            ServerFnErrorErr::MissingArg(name) => AppError::invalid_field(
                &name,
                format!(
                    "The field '{}' is missing.",
                    name.chars().take(64).collect::<String>()
                ),
            ),
            ServerFnErrorErr::Request(why)
            | ServerFnErrorErr::Deserialization(why)
            | ServerFnErrorErr::Serialization(why)
            | ServerFnErrorErr::UnsupportedRequestMethod(why) => AppError {
                kind: ErrorKind::Transport,
                message: format!("Bosun could not be reached: {why}"),
                field: None,
            },
            other => AppError::internal(other),
        }
    }
}

impl From<crate::domain::InvalidInput> for AppError {
    fn from(err: crate::domain::InvalidInput) -> Self {
        AppError::invalid_field(err.field, err.message)
    }
}

#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        AppError::internal(format_args!("database: {err}"))
    }
}

#[cfg(feature = "ssr")]
impl From<tokio::task::JoinError> for AppError {
    fn from(err: tokio::task::JoinError) -> Self {
        AppError::internal(format_args!("blocking task: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_their_http_status() {
        assert_eq!(ErrorKind::NotFound.status(), 404);
        assert_eq!(ErrorKind::Invalid.status(), 400);
        assert_eq!(ErrorKind::TooManyRequests.status(), 429);
        assert_eq!(ErrorKind::Internal.status(), 500);
    }

    #[test]
    fn internal_errors_never_carry_their_detail() {
        let err = AppError::internal("relation \"users\" does not exist");
        assert_eq!(err.kind, ErrorKind::Internal);
        assert!(!err.message.contains("users"), "{}", err.message);
        assert!(err.message.starts_with(INTERNAL_MESSAGE));
    }

    #[test]
    fn the_wire_form_round_trips() {
        let err = AppError::invalid_field("email", "Not an email address.");
        let back = AppError::de(err.ser());
        assert_eq!(back, err);
    }
}
