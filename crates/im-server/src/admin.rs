//! The admin listener: plain HTTP on its own address (`--admin-listen`, loopback by default,
//! never the public port) for the people and tools that run the server. `GET /healthz` (the
//! process answers), `GET /readyz` (the database takes a write and the server is not stopping)
//! and `GET /metrics` (Prometheus text format).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Shared;

/// How long `/readyz` waits for the write probe before calling the database not ready.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the handlers share.
#[derive(Debug, Clone)]
struct Admin {
    shared: Arc<Shared>,
    /// Cancelled when the server starts stopping.
    shutdown: CancellationToken,
}

/// Serves the admin listener until `stop` is cancelled.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    stop: CancellationToken,
) {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(Admin { shared, shutdown });
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stop.cancelled_owned())
        .await
    {
        tracing::warn!(error = %e, "the admin listener failed");
    }
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body.into(),
    )
        .into_response()
}

async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n")
}

async fn readyz(State(admin): State<Admin>) -> Response {
    if admin.shutdown.is_cancelled() || admin.shared.fatal.reason().is_some() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "not ready: stopping\n");
    }
    match tokio::time::timeout(PROBE_TIMEOUT, admin.shared.store.probe()).await {
        Ok(Ok(())) => text(StatusCode::OK, "ready\n"),
        Ok(Err(e)) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: the database takes no writes: {e}\n"),
        ),
        Err(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: a write probe took over {} s\n",
                PROBE_TIMEOUT.as_secs()
            ),
        ),
    }
}

async fn metrics(State(admin): State<Admin>) -> Response {
    let shared = &admin.shared;
    let m = &shared.metrics;
    m.sessions_online
        .set(shared.hub.online_connections() as f64);
    m.writer_queue.set(shared.store.queue_depth() as f64);
    match shared.store.counts().await {
        Ok((accounts, sessions)) => {
            m.accounts.set(accounts as f64);
            m.sessions_stored.set(sessions as f64);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count accounts"),
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        m.render(),
    )
        .into_response()
}
