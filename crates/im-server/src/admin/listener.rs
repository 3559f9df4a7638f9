//! The admin listener: plain HTTP on its own address (`--admin-listen`, loopback by default,
//! never the public port) for the people and tools that run the server. `GET /healthz` (the
//! process answers), `GET /readyz` (the database takes a write and the server is not stopping)
//! and `GET /metrics` (Prometheus text format); and the admin API, `POST /admin/v1` with an
//! [`AdminRequest`] as JSON and the admin token (see `token.rs`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::api::AdminRequest;
use super::client::ADMIN_PATH;
use super::AdminToken;
use crate::Shared;

/// How long `/readyz` waits for the write probe before calling the database not ready.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the handlers share.
#[derive(Debug, Clone)]
struct Admin {
    shared: Arc<Shared>,
    /// Cancelled when the server starts stopping.
    shutdown: CancellationToken,
    token: Arc<AdminToken>,
}

/// Serves the admin listener until `stop` is cancelled.
pub async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    stop: CancellationToken,
    token: AdminToken,
) {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(ADMIN_PATH, post(administer))
        .with_state(Admin {
            shared,
            shutdown,
            token: Arc::new(token),
        });
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
    if let Some(cluster) = &admin.shared.cluster {
        if !cluster.is_connected() {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "not ready: NATS ({}) is not connected: the other nodes' events do not reach \
                     this node's sessions\n",
                    cluster.url()
                ),
            );
        }
    }
    match tokio::time::timeout(PROBE_TIMEOUT, admin.shared.store.probe()).await {
        Ok(Ok(())) => text(StatusCode::OK, "ready\n"),
        Ok(Err(e)) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: the database ({}) takes no writes: {e}\n",
                admin.shared.config.database
            ),
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

async fn administer(
    State(admin): State<Admin>,
    headers: axum::http::HeaderMap,
    request: Result<Json<AdminRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    use im_proto::{ErrorBody, ErrorCode};
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let refusal = |status: StatusCode, body: ErrorBody| (status, Json(body)).into_response();
    if !admin.token.admits(authorization) {
        tracing::warn!("admin API: a request without the admin token");
        return refusal(
            StatusCode::UNAUTHORIZED,
            ErrorBody::new(
                ErrorCode::Unauthenticated,
                "the admin token is missing or wrong",
            ),
        );
    }
    let Json(request) = match request {
        Ok(request) => request,
        Err(e) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                ErrorBody::new(ErrorCode::InvalidParams, e.body_text()),
            )
        }
    };
    let shared = &admin.shared;
    match super::api::execute(&shared.store, &shared.passwords, request).await {
        Ok(response) => Json(response).into_response(),
        Err(e) => {
            let body = e.to_body();
            let status = match body.code {
                ErrorCode::UserNotFound | ErrorCode::SessionNotFound | ErrorCode::InviteInvalid => {
                    StatusCode::NOT_FOUND
                }
                ErrorCode::UsernameTaken => StatusCode::CONFLICT,
                code if code.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            refusal(status, body)
        }
    }
}
