//! Receiving a report upload: who sends it, whether there is room, then its body.
//!
//! In this order, so that nobody can make Bosun hold bytes it will not use:
//! 1. The bearer token is checked before any body byte is read. A request without a
//!    valid one is answered 401 and its body is never kept.
//! 2. At most `BOSUN_MAX_CONCURRENT_UPLOADS` bodies are received at once; another upload
//!    waits up to `BOSUN_UPLOAD_WAIT_SECS` for a slot, then gets 429 with `Retry-After`.
//! 3. Then the raw (possibly gzipped) body is read whole: up to the limit it is handed on;
//!    past it the rest is drained, up to a cap, and the client gets a clean 413.
//!
//! Refusing early without reading the body would make the kernel reset the connection
//! (unread bytes in the socket), and the client would often see "connection reset"
//! instead of the answer; so an early refusal reads and *discards* a bounded amount first,
//! holding nothing. A client that sent `Expect: 100-continue` is answered at once, before
//! it sends anything.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, EXPECT, RETRY_AFTER};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use sqlx::PgPool;
use tokio::sync::Semaphore;

use super::ApiError;
use crate::tokens::{self, TokenGrant};

/// What receiving an upload needs; shared by every upload.
#[derive(Clone)]
pub struct UploadGate {
    pub pool: PgPool,
    /// Largest body, after decompression (`BOSUN_MAX_BODY_BYTES`); the raw body is held
    /// to the same limit.
    pub limit: usize,
    pub slots: Arc<Semaphore>,
    pub wait: Duration,
}

/// How much more than the limit is drained, so the 413 reaches ordinary clients; a
/// client sending more than this just has its connection closed.
const DRAIN_FACTOR: usize = 4;

/// How much of a refused upload's body is read (and dropped) so that the refusal reaches
/// the client; a larger upload just has its connection closed after it.
const REFUSED_DRAIN: usize = 16 * 1024 * 1024;

/// Seconds a client is told to wait when every upload slot is busy.
const RETRY_AFTER_SECS: u64 = 5;

pub async fn receive_upload(State(gate): State<UploadGate>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let grant = match authenticate(&gate.pool, &parts.headers).await {
        Ok(grant) => grant,
        Err(err) => {
            if matches!(err, ApiError::Unauthorized(_)) {
                tracing::warn!(target: "bosun::security", event = "ingest_token_refused",
                    client = ?parts.extensions.get::<app::server_context::ClientAddress>());
            }
            return refuse(&parts.headers, body, err.into_response()).await;
        }
    };
    let permit = match tokio::time::timeout(gate.wait, gate.slots.clone().acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        _ => {
            let mut busy = ApiError::TooManyRequests(format!(
                "Bosun is receiving as many reports as it may at once; retry in {RETRY_AFTER_SECS} s"
            ))
            .into_response();
            busy.headers_mut()
                .insert(RETRY_AFTER, RETRY_AFTER_SECS.into());
            return refuse(&parts.headers, body, busy).await;
        }
    };
    let body = match read_whole(&parts.headers, body, gate.limit).await {
        Ok(bytes) => bytes,
        Err(refusal) => return refusal,
    };
    parts.extensions.insert(grant);
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    drop(permit); // held until the report is stored: parsing and writing are what it bounds
    response
}

/// The grant behind the request's bearer token.
async fn authenticate(
    pool: &PgPool,
    headers: &axum::http::HeaderMap,
) -> Result<TokenGrant, ApiError> {
    let header = headers.get(AUTHORIZATION).ok_or(ApiError::Unauthorized(
        "missing Authorization: Bearer <token> header",
    ))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 256)
        .ok_or(ApiError::Unauthorized(
            "the Authorization header must be 'Bearer <token>'",
        ))?;
    tokens::authenticate(pool, token)
        .await?
        .ok_or(ApiError::Unauthorized("invalid, expired or revoked token"))
}

/// Answers `refusal` without keeping any of the body: a client waiting for
/// `100 Continue` is answered at once; otherwise up to [`REFUSED_DRAIN`] bytes are read
/// and dropped first, so the answer is not lost to a reset connection.
async fn refuse(
    headers: &axum::http::HeaderMap,
    mut body: Body,
    mut refusal: Response,
) -> Response {
    let expects_continue = headers
        .get(EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let announced = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if !expects_continue && announced.is_none_or(|n| n <= REFUSED_DRAIN) {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                seen = seen.saturating_add(data.len());
                if seen > REFUSED_DRAIN {
                    break;
                }
            }
        }
    }
    refusal.headers_mut().insert(
        axum::http::header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    refusal
}

/// The whole raw body, or the answer that refuses it (413 past the limit, 400 when the
/// upload broke off).
async fn read_whole(
    headers: &axum::http::HeaderMap,
    mut body: Body,
    limit: usize,
) -> Result<Bytes, Response> {
    // Reserve what the client announces (up to the limit): growing by doubling would
    // briefly hold two copies of a large report.
    let announced = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut buffered: Vec<u8> = Vec::with_capacity(announced.min(limit));
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(ApiError::BadRequest(
                "the upload was interrupted before the body was complete".into(),
            )
            .into_response());
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            buffered.extend_from_slice(&data);
        } else if seen > limit.saturating_mul(DRAIN_FACTOR) {
            break;
        } else {
            buffered = Vec::new(); // over the limit: keep reading, stop keeping
        }
    }
    if seen > limit {
        return Err(ApiError::PayloadTooLarge(format!(
            "the report is larger than this server accepts ({limit} bytes; BOSUN_MAX_BODY_BYTES)"
        ))
        .into_response());
    }
    Ok(Bytes::from(buffered))
}
