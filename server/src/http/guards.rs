//! Middleware that protects people in browsers: pages need a session, state changes must
//! come from Bosun's own pages, and server functions get only well-formed text.

use std::sync::Arc;

use app::error::AppError;
use app::server_context::SessionPolicy;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http_body_util::BodyExt;
use sqlx::PgPool;

use crate::config::Config;

#[derive(Clone)]
pub struct PageGuard {
    pub pool: PgPool,
    pub sessions: SessionPolicy,
    /// Every page route the app declares; all need a session but the sign-in page.
    pub page_paths: Arc<Vec<String>>,
}

/// The person signed in by the request's session cookie, for endpoints that are not server
/// functions (those use `app::auth::require_user`). As `Option<SignedIn>` it never
/// refuses; as `SignedIn` it answers 401.
pub struct SignedIn(pub app::auth::CurrentUser);

impl axum::extract::OptionalFromRequestParts<super::AppState> for SignedIn {
    type Rejection = super::ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &super::AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        let policy = state.config.session_policy();
        let user = match app::auth::sessions::token_from_headers(&parts.headers, &policy) {
            Some(token) => {
                app::auth::sessions::user_for_token(&state.pool, &policy, &token).await?
            }
            None => None,
        };
        Ok(user.map(SignedIn))
    }
}

impl axum::extract::FromRequestParts<super::AppState> for SignedIn {
    type Rejection = super::ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &super::AppState,
    ) -> Result<Self, Self::Rejection> {
        <SignedIn as axum::extract::OptionalFromRequestParts<_>>::from_request_parts(parts, state)
            .await?
            .ok_or(super::ApiError::Unauthorized("sign in first"))
    }
}

/// Pages (route patterns) anyone may open: signing in, and accepting an invitation.
const PUBLIC_PAGES: &[&str] = &["/login", "/invite/{token}"];

/// Deny by default: a page route without a valid session redirects to sign-in.
pub async fn require_session_for_pages(
    State(guard): State<PageGuard>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let is_page =
        req.method() == Method::GET && guard.page_paths.iter().any(|p| route_matches(p, path));
    if !is_page || PUBLIC_PAGES.iter().any(|p| route_matches(p, path)) {
        return next.run(req).await;
    }
    let user = match app::auth::sessions::token_from_headers(req.headers(), &guard.sessions) {
        Some(token) => {
            app::auth::sessions::user_for_token(&guard.pool, &guard.sessions, &token).await
        }
        None => Ok(None),
    };
    match user {
        Ok(Some(user)) => {
            // the page's server functions take the person from here, not the database again
            req.extensions_mut()
                .insert(app::auth::sessions::ResolvedSession(user));
            next.run(req).await
        }
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

/// CSRF defence beside `SameSite=Lax` cookies: a state-changing browser request must say it
/// comes from Bosun's own origin. `Origin` must be the public URL's origin (with no
/// `BOSUN_PUBLIC_URL` set: the request's own host), or, without `Origin`,
/// `Sec-Fetch-Site` must be `same-origin`; a request with neither is refused, as is
/// `Origin: null`. The body must be a form (the only thing Bosun's pages send) or empty.
/// The report API authenticates with bearer tokens, not cookies, so it is exempt.
pub async fn same_origin_for_state_changes(
    State(config): State<Arc<Config>>,
    req: Request<Body>,
    next: Next,
) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || req.uri().path().starts_with("/api/v1/") {
        return next.run(req).await;
    }
    if let Err(why) = check_origin(req.headers(), &config) {
        tracing::warn!(target: "bosun::security", event = "cross_origin_refused",
            path = %req.uri().path(), why);
        return (StatusCode::FORBIDDEN, why).into_response();
    }
    if let Err(why) = check_form_body(req.headers()) {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, why).into_response();
    }
    next.run(req).await
}

fn check_origin(headers: &HeaderMap, config: &Config) -> Result<(), &'static str> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    match text(header::ORIGIN) {
        Some(origin) => {
            let same = if config.public_url_explicit {
                origin.eq_ignore_ascii_case(config.public_origin())
            } else {
                let host = text(header::HOST).unwrap_or("");
                origin
                    .split_once("://")
                    .is_some_and(|(_, rest)| !host.is_empty() && rest.eq_ignore_ascii_case(host))
            };
            same.then_some(())
                .ok_or("cross-origin request refused: Origin is not Bosun's own")
        }
        None => match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            Some("same-origin") => Ok(()),
            _ => Err(
                "cross-origin request refused: a state change needs an Origin header \
                      (or Sec-Fetch-Site: same-origin)",
            ),
        },
    }
}

fn check_form_body(headers: &HeaderMap) -> Result<(), &'static str> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match content_type {
        Some(ct) => {
            let essence = ct.split(';').next().unwrap_or("").trim();
            essence
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                .then_some(())
                .ok_or("expected a form (Content-Type: application/x-www-form-urlencoded)")
        }
        None => {
            let empty = headers.get(header::TRANSFER_ENCODING).is_none()
                && headers
                    .get(header::CONTENT_LENGTH)
                    .is_none_or(|v| v.as_bytes() == b"0");
            empty
                .then_some(())
                .ok_or("expected a form (Content-Type: application/x-www-form-urlencoded)")
        }
    }
}

/// Largest server function call: forms of ids, names, reasons and comments.
pub const SERVER_FN_BODY_MAX: usize = 1024 * 1024;

/// Server function arguments are checked at the edge, whatever the function: at most
/// [`SERVER_FN_BODY_MAX`] bytes, and no control characters
/// (NUL, escape, …) in any field but tab and line breaks, which multi-line text needs. What
/// fails is answered 400 (413 when too large) in the server functions' own error form,
/// naming the field, before any server function sees it.
pub async fn checked_server_fn_input(req: Request<Body>, next: Next) -> Response {
    let is_server_fn = req.method() == Method::POST
        && req.uri().path().starts_with("/api/")
        && !req.uri().path().starts_with("/api/v1/");
    if !is_server_fn {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match http_body_util::Limited::new(body, SERVER_FN_BODY_MAX)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let err = AppError {
                kind: app::error::ErrorKind::Invalid,
                message: format!(
                    "The request is larger than Bosun accepts ({} KiB).",
                    SERVER_FN_BODY_MAX / 1024
                ),
                field: None,
            };
            return app_error_response(StatusCode::PAYLOAD_TOO_LARGE, &err);
        }
    };
    // server functions may also take their arguments in the query string
    let query = parts.uri.query().unwrap_or("").as_bytes();
    for source in [query, &bytes[..]] {
        if let Err(err) = check_form_fields(source) {
            tracing::info!(target: "bosun::security", event = "server_fn_input_refused",
                path = %parts.uri.path(), field = ?err.field);
            return app_error_response(StatusCode::BAD_REQUEST, &err);
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The first field of a urlencoded form holding a control character, as an error.
/// (Bytes that are not UTF-8 decode to U+FFFD, as they will for the server function.)
fn check_form_fields(form: &[u8]) -> Result<(), AppError> {
    for (key, value) in form_urlencoded::parse(form) {
        if key.chars().chain(value.chars()).any(forbidden_char) {
            let name: String = key.chars().filter(|c| !c.is_control()).take(64).collect();
            return Err(AppError {
                kind: app::error::ErrorKind::Invalid,
                message: format!("The field '{name}' contains control characters."),
                field: Some(name),
            });
        }
    }
    Ok(())
}

/// Control characters no text field may hold; tab and line breaks are text.
fn forbidden_char(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// An [`AppError`] in the JSON form server functions answer with, so pages show it.
fn app_error_response(status: StatusCode, err: &AppError) -> Response {
    (status, axum::Json(err)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn config(pairs: &[(&str, &str)]) -> Config {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned()).unwrap()
    }

    #[test]
    fn state_changes_need_bosuns_own_origin() {
        let implicit = config(&[]);
        let ok = headers(&[
            ("host", "bosun.local:3000"),
            ("origin", "http://bosun.local:3000"),
        ]);
        assert!(check_origin(&ok, &implicit).is_ok());
        for bad in [
            headers(&[
                ("host", "bosun.local:3000"),
                ("origin", "https://evil.example"),
            ]),
            headers(&[("host", "bosun.local:3000"), ("origin", "null")]),
            headers(&[("host", "bosun.local:3000")]),
            headers(&[
                ("host", "bosun.local:3000"),
                ("sec-fetch-site", "cross-site"),
            ]),
            headers(&[
                ("host", "bosun.local:3000"),
                ("sec-fetch-site", "same-site"),
            ]),
        ] {
            assert!(check_origin(&bad, &implicit).is_err(), "{bad:?}");
        }
        let same_origin = headers(&[
            ("host", "bosun.local:3000"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert!(check_origin(&same_origin, &implicit).is_ok());
        // with a public URL set, only its origin counts, whatever Host says
        let explicit = config(&[("BOSUN_PUBLIC_URL", "https://bosun.example.com")]);
        let via_proxy = headers(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "https://bosun.example.com"),
        ]);
        assert!(check_origin(&via_proxy, &explicit).is_ok());
        let spoofed = headers(&[("host", "evil.example"), ("origin", "https://evil.example")]);
        assert!(check_origin(&spoofed, &explicit).is_err());
    }

    #[test]
    fn state_changes_must_be_forms_or_empty() {
        let form = headers(&[(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )]);
        assert!(check_form_body(&form).is_ok());
        assert!(check_form_body(&headers(&[])).is_ok());
        assert!(check_form_body(&headers(&[("content-length", "0")])).is_ok());
        for bad in [
            headers(&[("content-type", "text/plain")]),
            headers(&[("content-type", "application/json")]),
            headers(&[("content-type", "multipart/form-data; boundary=x")]),
            headers(&[("content-length", "12")]),
        ] {
            assert!(check_form_body(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn form_fields_may_not_hold_control_characters() {
        assert!(check_form_fields(b"email=a%40b.c&body=line+one%0D%0Aline%09two").is_ok());
        let err = check_form_fields(b"password=x&email=a%00%40b.c").unwrap_err();
        assert_eq!(err.field.as_deref(), Some("email"));
        assert!(
            err.message.contains("control characters"),
            "{}",
            err.message
        );
        assert!(check_form_fields(b"reason=%1B%5B31m").is_err(), "escape");
        assert!(check_form_fields(b"name=%C2%85").is_err(), "C1 control");
        assert!(check_form_fields(b"n%00ame=x").is_err(), "in a field name");
        assert!(check_form_fields(b"").is_ok());
    }

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
