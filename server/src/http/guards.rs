//! Middleware that protects people in browsers: pages need a session, and state changes
//! must come from Bosun's own pages.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use sqlx::PgPool;

#[derive(Clone)]
pub struct PageGuard {
    pub pool: PgPool,
    /// Every page route the app declares; all need a session but the sign-in page.
    pub page_paths: Arc<Vec<String>>,
}

/// Pages (route patterns) anyone may open: signing in, and accepting an invitation.
const PUBLIC_PAGES: &[&str] = &["/login", "/invite/{token}"];

/// Deny by default: a page route without a valid session redirects to sign-in.
pub async fn require_session_for_pages(
    State(guard): State<PageGuard>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let is_page =
        req.method() == Method::GET && guard.page_paths.iter().any(|p| route_matches(p, path));
    if !is_page || PUBLIC_PAGES.iter().any(|p| route_matches(p, path)) {
        return next.run(req).await;
    }
    let user = match app::auth::sessions::token_from_headers(req.headers()) {
        Some(token) => app::auth::sessions::user_for_token(&guard.pool, &token).await,
        None => Ok(None),
    };
    match user {
        Ok(Some(_)) => next.run(req).await,
        Ok(None) => {
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            let next_param: String = url_encode(target);
            Redirect::to(&format!("/login?next={next_param}")).into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "session lookup failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Whether a request path is an instance of a route pattern (`/projects/:slug/scans`).
fn route_matches(pattern: &str, path: &str) -> bool {
    let (mut pattern, mut path) = (
        pattern.trim_end_matches('/').split('/'),
        path.trim_end_matches('/').split('/'),
    );
    loop {
        match (pattern.next(), path.next()) {
            (None, None) => return true,
            (Some(p), _) if p.starts_with('*') || p.starts_with("{*") => return true,
            // `:slug` or axum's `{slug}`
            (Some(p), Some(s)) if (p.starts_with(':') || p.starts_with('{')) && !s.is_empty() => {
                continue;
            }
            (Some(p), Some(s)) if p == s => continue,
            _ => return false,
        }
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// CSRF defence in depth beside SameSite=Lax cookies: a state-changing browser request whose
/// `Origin` names another site is refused. The report API authenticates with bearer tokens,
/// not cookies, so it is exempt.
pub async fn same_origin_for_state_changes(req: Request<Body>, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || req.uri().path().starts_with("/api/v1/") {
        return next.run(req).await;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok());
    if let (Some(origin), Some(host)) = (origin, host) {
        let origin_host = origin
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(origin);
        if origin_host != host {
            return (StatusCode::FORBIDDEN, "cross-origin request refused").into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::route_matches;

    #[test]
    fn route_patterns_match_their_instances_only() {
        assert!(route_matches("/findings", "/findings"));
        assert!(route_matches(
            "/projects/:slug/scans",
            "/projects/web/scans"
        ));
        assert!(route_matches(
            "/projects/{slug}/scans",
            "/projects/web/scans"
        ));
        assert!(route_matches(
            "/projects/:slug/scans",
            "/projects/web/scans/"
        ));
        assert!(!route_matches("/projects/:slug/scans", "/projects//scans"));
        assert!(!route_matches("/projects/:slug/scans", "/projects/web"));
        assert!(!route_matches(
            "/projects/:slug/scans",
            "/projects/web/scans/x"
        ));
        assert!(route_matches("/", "/"));
        assert!(!route_matches("/findings", "/"));
    }

    #[test]
    fn only_sign_in_and_invitation_pages_are_public() {
        let public = |path| super::PUBLIC_PAGES.iter().any(|p| route_matches(p, path));
        assert!(public("/login"));
        assert!(public("/invite/0123abcd"));
        assert!(!public("/invite"));
        assert!(!public("/invite/"));
        assert!(!public("/invite/abc/more"));
        assert!(!public("/admin/users"));
        assert!(!public("/account"));
    }
}
