//! Reading a report upload's raw body completely before answering.
//!
//! A server that answers (say, 413) while the client is still sending, then closes the
//! connection with unread bytes in its socket, makes the kernel reset the connection; the
//! client often loses the answer and sees only "connection reset". So the raw (possibly
//! gzipped) body is read first: up to the limit it is handed on, past it the rest is
//! drained, up to a cap, and the client gets a clean 413 with a reason.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::ApiError;

/// How much more than the limit is drained, so the 413 reaches ordinary clients; a
/// client sending more than this just has its connection closed.
const DRAIN_FACTOR: usize = 4;

pub async fn buffer_upload(State(limit): State<usize>, req: Request, next: Next) -> Response {
    let (parts, mut body) = req.into_parts();
    // Reserve what the client announces (up to the limit): growing by doubling would
    // briefly hold two copies of a large report.
    let announced = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut buffered: Vec<u8> = Vec::with_capacity(announced.min(limit));
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return ApiError::BadRequest(
                "the upload was interrupted before the body was complete".into(),
            )
            .into_response();
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
        return ApiError::PayloadTooLarge(format!(
            "the report is larger than this server accepts ({limit} bytes; BOSUN_MAX_BODY_BYTES)"
        ))
        .into_response();
    }
    next.run(Request::from_parts(
        parts,
        Body::from(Bytes::from(buffered)),
    ))
    .await
}
