//! The HTTP surface: the leptos pages and server functions, the report API, health checks,
//! and the middleware every request passes through.

mod audit;
mod edge;
mod error;
mod findings_export;
mod guards;
mod health;
mod openapi;
mod reports;
mod upload_body;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{HeaderName, HeaderValue, Request, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Router, middleware};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use sqlx::PgPool;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
pub use edge::current_request_id;
pub use error::ApiError;
pub use guards::SignedIn;

/// Everything a handler may need.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: PgPool,
    pub config: Arc<Config>,
    /// Slots for reports being received (`BOSUN_MAX_CONCURRENT_UPLOADS`).
    pub upload_slots: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(config: Config, pool: PgPool) -> AppState {
        let leptos_options = LeptosOptions::builder()
            .output_name("bosun")
            .site_root(config.site_root.clone())
            .site_pkg_dir("pkg")
            .site_addr(config.addr)
            .build();
        AppState {
            leptos_options,
            pool,
            upload_slots: Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_uploads)),
            config: Arc::new(config),
        }
    }
}

/// Who may call an HTTP endpoint that is not a page or a server function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Anyone: health checks and the API description.
    Anyone,
    /// An ingest token (`Authorization: Bearer`); it writes only where its scope reaches.
    IngestToken,
    /// A signed-in person with this capability on the project named by `?project=`.
    SignedIn(app::workflow::Action),
}

/// An endpoint and who may call it.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub caller: Caller,
}

/// Every endpoint besides pages and server functions. [`router`] refuses to mount one that
/// is missing here, and the authorisation test calls each as every kind of person.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        method: "GET",
        path: "/healthz",
        caller: Caller::Anyone,
    },
    Endpoint {
        method: "GET",
        path: "/readyz",
        caller: Caller::Anyone,
    },
    Endpoint {
        method: "GET",
        path: "/api/v1/openapi.json",
        caller: Caller::Anyone,
    },
    Endpoint {
        method: "POST",
        path: "/api/v1/reports",
        caller: Caller::IngestToken,
    },
    Endpoint {
        method: "GET",
        path: "/api/audit/export",
        caller: Caller::SignedIn(app::workflow::Action::ManagePolicies),
    },
    Endpoint {
        method: "GET",
        path: "/api/findings/export",
        caller: Caller::SignedIn(app::workflow::Action::View),
    },
];

/// Mounts an endpoint listed in [`ENDPOINTS`]; an unlisted one is a bug caught at start-up.
fn listed<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    method: &'static str,
    path: &'static str,
    handler: axum::routing::MethodRouter<S>,
) -> Router<S> {
    assert!(
        ENDPOINTS
            .iter()
            .any(|e| e.method == method && e.path == path),
        "{method} {path} is missing from http::ENDPOINTS (who may call it?)"
    );
    router.route(path, handler)
}

pub fn router(state: AppState) -> Router {
    let server_ctx = app::server_context::ServerContext {
        pool: state.pool.clone(),
        sessions: state.config.session_policy(),
        coverage_stale_days: state.config.coverage_stale_days,
    };
    let page_routes = generate_route_list(app::App);
    let page_paths: Arc<Vec<String>> =
        Arc::new(page_routes.iter().map(|r| r.path().to_string()).collect());

    let api = listed(
        Router::new(),
        "POST",
        "/api/v1/reports",
        post(reports::upload),
    )
    // the limit counts decompressed bytes, so a gzip bomb stops at the limit too
    .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
    .layer(RequestDecompressionLayer::new().gzip(true))
    // outermost: the token is checked, a slot taken and the raw body read whole before
    // anything else (see upload_body.rs)
    .layer(middleware::from_fn_with_state(
        upload_body::UploadGate {
            pool: state.pool.clone(),
            limit: state.config.max_body_bytes,
            slots: state.upload_slots.clone(),
            wait: state.config.upload_wait,
        },
        upload_body::receive_upload,
    ));

    let leptos_options = state.leptos_options.clone();
    let pages = Router::new()
        .leptos_routes_with_context(
            &state,
            page_routes,
            move || {
                provide_context(server_ctx.clone());
                leptos::nonce::provide_nonce();
            },
            move || app::shell(leptos_options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ));

    let secure = state.config.secure_cookies();
    let endpoints = [
        ("/healthz", get(health::healthz)),
        ("/readyz", get(health::readyz)),
        ("/api/v1/openapi.json", get(openapi::openapi_json)),
        ("/api/audit/export", get(audit::export)),
        ("/api/findings/export", get(findings_export::export)),
    ]
    .into_iter()
    .fold(Router::new(), |router, (path, handler)| {
        listed(router, "GET", path, handler)
    });
    endpoints
        .merge(api)
        .merge(pages)
        .layer(middleware::from_fn_with_state(
            guards::PageGuard {
                pool: state.pool.clone(),
                sessions: state.config.session_policy(),
                page_paths,
            },
            guards::require_session_for_pages,
        ))
        .layer(middleware::from_fn(guards::checked_server_fn_input))
        .layer(middleware::from_fn_with_state(
            state.config.clone(),
            guards::same_origin_for_state_changes,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn_with_state(state.config.clone(), edge::identify))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let id = req.headers().get(&edge::REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %req.method(), uri = %logged_path(req.uri().path()), request_id = %id)
                }))
                // a panic anywhere answers 500 (with the request id above), never an empty reply
                .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
                    ApiError::Internal(anyhow::anyhow!("the request handler panicked")).into_response()
                }))
                .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, state.config.request_timeout))
                .layer(middleware::from_fn(edge::no_store))
                .layer(middleware::from_fn(edge::short_explorer_urls))
                .layer(CompressionLayer::new())
                // Security headers for every response. Pages replace this CSP with one that
                // carries their script nonce (see `app::shell`).
                .layer(fixed_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .layer(fixed_header(header::X_FRAME_OPTIONS, "DENY"))
                .layer(fixed_header(header::REFERRER_POLICY, "same-origin"))
                .layer(fixed_header(
                    header::CONTENT_SECURITY_POLICY,
                    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
                ))
                .option_layer(
                    secure.then(|| fixed_header(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000")),
                ),
        )
        .with_state(state)
}

/// The path as logs show it: an invitation link's token is a credential, so it is cut.
fn logged_path(path: &str) -> &str {
    if path.starts_with("/invite/") {
        "/invite/…"
    } else {
        path
    }
}

fn fixed_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}
