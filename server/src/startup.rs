//! Starting Bosun: the router, its state and the background jobs, put together in one place
//! for `bosun serve` and for the test harness alike, so that tests run the server exactly
//! as production does, jobs included.

use std::future::Future;

use axum::serve::ListenerExt;
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::http::{AppState, router};

/// Serves Bosun on `listener` until `shutdown` resolves, with the background jobs
/// (`crate::jobs`) running beside it; they stop with it.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    pool: PgPool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let jobs = tokio::spawn(crate::jobs::run(pool.clone(), config.jobs_interval));
    let app = router(AppState::new(config, pool));
    // A page is streamed in several writes: with Nagle's algorithm on, the last small one
    // waited for the client's delayed ACK, 40 ms on loopback (the page benchmark showed a
    // floor of 44 ms on every streamed page, 3 KB or 240 KB alike).
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "TCP_NODELAY not set");
        }
    });
    // the client's address is one of the sign-in throttle's keys
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    jobs.abort();
    served
}
