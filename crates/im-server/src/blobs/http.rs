//! Blobs over HTTP on the server's port (PROTOCOL.md, "Blobs over HTTP"): `POST /v1/uploads`
//! creates an upload (or finds the caller's, or says they have the blob already), `HEAD` tells
//! where it stands, `PATCH` streams bytes into it from that offset (checkpointed every
//! `upload_chunk_bytes`, verified against the declared SHA-256 at the end), `DELETE` cancels it;
//! `GET`/`HEAD /v1/blobs/<sha256>` downloads a blob the caller may read, with ranges. Every
//! request carries the session token (`Authorization: Bearer`); every error is JSON with a
//! stable code, as on the WebSocket.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use governor::{Quota, RateLimiter};
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use im_proto::{ErrorBody, ErrorCode, Secret, User};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt, AsyncWrite, ReadBuf};

use super::dir::{Staged, StagingFile};
use super::{BlobId, BlobRow, Kind, UploadHash, UploadId, UploadLimits, UploadRow};
use crate::connection::Lifecycle;
use crate::error::Error;
use crate::store::{BlobAnswer, BlobCmd, WriteCmd};
use crate::Shared;

type Body = BoxBody<Bytes, std::io::Error>;

/// A request body that sends nothing for this long is dropped (its upload resumes later).
const BODY_IDLE: Duration = Duration::from_secs(30);
/// A request holding an upload's lease renews it when it is older than this (leases last 60 s).
const RENEW_AFTER: Duration = Duration::from_secs(20);
/// Bytes gathered before one write to the staging file.
const WRITE_BATCH: usize = 1024 * 1024;
/// Bytes read from a blob at a time for a download.
const READ_BLOCK: usize = 256 * 1024;
/// The first bytes of a blob its kind is told by.
const SNIFF_BYTES: u64 = 16;
/// The largest `POST /v1/uploads` body.
const MAX_CREATE_BODY: u64 = 1024;

/// Serves HTTP/1.1 requests on a connection whose first request head (in `buffered`) is under
/// `/v1/`, until the client closes it, it idles out, or the server stops.
pub(crate) async fn serve<S>(
    stream: S,
    buffered: Vec<u8>,
    peer: SocketAddr,
    shared: Arc<Shared>,
    life: Lifecycle,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = &shared.config.limits;
    let quota =
        Quota::per_second(NonZeroU32::new(limits.requests_per_second).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(limits.request_burst).unwrap_or(NonZeroU32::MIN));
    let limiter = Arc::new(RateLimiter::direct(quota));
    // Uploads run in tasks of their own (see `patch`), which the server waits for before its
    // writer stops, so that they release their leases.
    let uploads = Uploads {
        tasks: shared.uploads.clone(),
        stop: life.stop_reading.clone(),
    };
    let service = hyper::service::service_fn(move |request| {
        let shared = shared.clone();
        let limiter = limiter.clone();
        let uploads = uploads.clone();
        async move {
            if limiter.check().is_err() {
                return Ok::<_, Infallible>(error_response(
                    &Failure::new(
                        ErrorCode::RateLimited,
                        "too many requests on this connection",
                    )
                    .header(header::RETRY_AFTER, HeaderValue::from_static("1")),
                ));
            }
            Ok(handle(request, shared, uploads).await)
        }
    });
    let io = hyper_util::rt::TokioIo::new(Prefixed {
        buffered,
        at: 0,
        stream,
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .max_buf_size(256 * 1024)
        .serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "HTTP connection ended");
            }
        }
        _ = life.stop_reading.cancelled() => {
            // No new requests; the one running (a PATCH perhaps) is cut at shutdown's end, and
            // its client resumes from the last checkpoint.
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Where a connection's uploads run, and the signal that stops them (the server is stopping:
/// they keep what is checkpointed and release their leases).
#[derive(Debug, Clone)]
struct Uploads {
    tasks: tokio_util::task::TaskTracker,
    stop: tokio_util::sync::CancellationToken,
}

/// A stream that first yields bytes already read from it.
struct Prefixed<S> {
    buffered: Vec<u8>,
    at: usize,
    stream: S,
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.at < self.buffered.len() {
            let n = buf.remaining().min(self.buffered.len() - self.at);
            let start = self.at;
            buf.put_slice(&self.buffered[start..start + n]);
            self.at += n;
            if self.at == self.buffered.len() {
                self.buffered = Vec::new();
                self.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// An error answer: a code (and its status, unless overridden), a sentence, extra headers.
#[derive(Debug)]
struct Failure {
    code: ErrorCode,
    status: Option<u16>,
    message: String,
    retry_after_ms: Option<u64>,
    headers: Vec<(header::HeaderName, HeaderValue)>,
    /// Extra members of the error object (`offset` for `offset_mismatch`).
    offset: Option<u64>,
}

impl Failure {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            status: None,
            message: message.into(),
            retry_after_ms: None,
            headers: Vec::new(),
            offset: None,
        }
    }

    fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    fn header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    fn offset(committed: u64) -> Self {
        let mut failure = Self::new(
            ErrorCode::OffsetMismatch,
            format!("the upload stands at {committed}: send from there"),
        )
        .header(upload_offset(), committed.into());
        failure.offset = Some(committed);
        failure
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        if error.is_internal() {
            tracing::error!(error = %error, "a blob request failed");
        }
        let ErrorBody {
            code,
            message,
            retry_after_ms,
        } = error.to_body();
        let mut failure = Self::new(code, message);
        failure.retry_after_ms = retry_after_ms;
        failure
    }
}

fn upload_offset() -> header::HeaderName {
    header::HeaderName::from_static("upload-offset")
}

fn upload_length() -> header::HeaderName {
    header::HeaderName::from_static("upload-length")
}

fn error_response(failure: &Failure) -> Response<Body> {
    let status = failure.status.unwrap_or(failure.code.http_status());
    let mut error = serde_json::json!({
        "code": failure.code.as_str(),
        "message": failure.message,
    });
    if let Some(ms) = failure.retry_after_ms {
        error["retry_after_ms"] = ms.into();
    }
    if let Some(offset) = failure.offset {
        error["offset"] = offset.into();
    }
    let body = serde_json::json!({ "error": error }).to_string();
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::HeaderName::from_static("im-error"),
        HeaderValue::from_static(failure.code.as_str()),
    );
    if let Some(ms) = failure.retry_after_ms {
        headers.insert(header::RETRY_AFTER, ms.div_ceil(1000).max(1).into());
    }
    if matches!(
        failure.code,
        ErrorCode::InvalidToken | ErrorCode::Unauthenticated
    ) {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    for (name, value) in &failure.headers {
        headers.insert(name.clone(), value.clone());
    }
    response
}

fn full(body: impl Into<Bytes>) -> Body {
    Full::new(body.into())
        .map_err(|never| match never {})
        .boxed()
}

fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}

fn json_response(status: StatusCode, value: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(full(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn blob_json(blob: &BlobRow) -> Response<Body> {
    json_response(
        StatusCode::OK,
        serde_json::json!({ "blob": blob.sha256.hex(), "size": blob.size }),
    )
}

async fn handle(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    uploads: Uploads,
) -> Response<Body> {
    match route(request, &shared, uploads).await {
        Ok(response) => response,
        Err(failure) => {
            shared.metrics.error(failure.code);
            error_response(&failure)
        }
    }
}

async fn route(
    request: Request<Incoming>,
    shared: &Arc<Shared>,
    uploads: Uploads,
) -> Result<Response<Body>, Failure> {
    let path = request.uri().path().to_owned();
    let rest = path.strip_prefix(crate::http::HTTP_PREFIX).unwrap_or("");
    let (collection, id) = match rest.split_once('/') {
        Some((collection, id)) => (collection, Some(id)),
        None => (rest, None),
    };
    let method = request.method().clone();
    let allowed = match (collection, id) {
        ("uploads", None) => "POST",
        ("uploads", Some(_)) => "HEAD, PATCH, DELETE",
        ("blobs", Some(_)) => "GET, HEAD",
        _ => {
            return Err(Failure::invalid(format!("no such resource: {path}")).status(404));
        }
    };
    if !allowed.split(", ").any(|m| m == method.as_str()) {
        return Err(
            Failure::invalid(format!("{method} is not allowed on {path}"))
                .status(405)
                .header(header::ALLOW, HeaderValue::from_static(allowed)),
        );
    }
    // The connection's first request was checked before it got here; a later one on the same
    // connection is checked the same way.
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let allowed = &shared.config.allowed_origins;
        if !origin
            .to_str()
            .is_ok_and(|o| allowed.iter().any(|a| a == o))
        {
            return Err(
                Failure::invalid("web pages from this origin may not use this server").status(403),
            );
        }
    }
    let user = authenticate(request.headers(), shared).await?;
    let Some(store) = shared.blobs.as_ref() else {
        return Err(Failure::invalid("this server takes no images or files").status(404));
    };
    match (collection, id) {
        ("uploads", None) => create(request, shared, &user).await,
        ("uploads", Some(id)) => {
            let id = UploadId::parse(id)
                .ok_or_else(|| Failure::invalid("an upload id is 32 lowercase hex characters"))?;
            match method {
                Method::HEAD => upload_status(shared, &user, id).await,
                Method::PATCH => {
                    patch(request, shared.clone(), store.clone(), user, id, uploads).await
                }
                _ => cancel(shared, store, &user, id).await,
            }
        }
        (_, Some(sha256)) => {
            let sha256 = BlobId::parse(sha256)
                .ok_or_else(|| Failure::invalid("a blob id is 64 lowercase hex characters"))?;
            download(request, shared, store, &user, sha256).await
        }
        _ => unreachable!("routes were checked above"),
    }
}

async fn authenticate(headers: &HeaderMap, shared: &Shared) -> Result<User, Failure> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(Failure::new(
            ErrorCode::Unauthenticated,
            "send the session token: Authorization: Bearer <token>",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| Secret::new(t.trim()));
    let hash = token.as_ref().and_then(crate::auth::parse_token);
    let user = match hash {
        Some(hash) => shared.store.session_user(hash).await?,
        None => None,
    };
    user.ok_or_else(|| {
        Failure::new(
            ErrorCode::InvalidToken,
            "the session token is unknown or revoked: sign in again",
        )
    })
}

async fn blob_cmd(shared: &Shared, cmd: BlobCmd) -> Result<BlobAnswer, Failure> {
    Ok(shared
        .store
        .write(|reply| WriteCmd::Blob { cmd, reply })
        .await?)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUpload {
    size: u64,
    sha256: String,
}

async fn create(
    request: Request<Incoming>,
    shared: &Arc<Shared>,
    user: &User,
) -> Result<Response<Body>, Failure> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_CREATE_BODY) {
        return Err(Failure::invalid(
            "the body is {\"size\": …, \"sha256\": …}, under 1 KiB",
        ));
    }
    let body = http_body_util::Limited::new(request.into_body(), MAX_CREATE_BODY as usize)
        .collect()
        .await
        .map_err(|_| Failure::invalid("the body is {\"size\": …, \"sha256\": …}, under 1 KiB"))?
        .to_bytes();
    let create: CreateUpload = serde_json::from_slice(&body)
        .map_err(|e| Failure::invalid(format!("the body is not {{\"size\", \"sha256\"}}: {e}")))?;
    let sha256 = BlobId::parse(&create.sha256)
        .ok_or_else(|| Failure::invalid("sha256 is 64 lowercase hex characters"))?;
    if create.size == 0 {
        return Err(Failure::invalid("an empty file is not uploaded"));
    }
    let limits = &shared.config.limits;
    if create.size > limits.max_upload_bytes {
        return Err(Failure::new(
            ErrorCode::TooLarge,
            format!(
                "{} bytes is over this server's limit of {} bytes",
                create.size, limits.max_upload_bytes
            ),
        ));
    }
    let blobs = &shared.config.blobs;
    let answer = blob_cmd(
        shared,
        BlobCmd::Create {
            uid: user.uid,
            sha256,
            size: create.size,
            limits: UploadLimits {
                max_upload_bytes: limits.max_upload_bytes,
                quota_bytes: blobs.quota_bytes,
                uploads_in_progress: blobs.uploads_in_progress,
                expiry_ms: blobs.upload_expiry.as_millis() as i64,
            },
        },
    )
    .await?;
    let stored_size = match &answer {
        BlobAnswer::Blob(blob) => Some(blob.size),
        BlobAnswer::Upload { row, .. } => Some(row.size),
        _ => None,
    };
    if stored_size.is_some_and(|size| size != create.size) {
        return Err(Failure::invalid(format!(
            "content with that SHA-256 is {} bytes, not {}",
            stored_size.unwrap_or_default(),
            create.size
        )));
    }
    match answer {
        BlobAnswer::Blob(blob) => Ok(blob_json(&blob)),
        BlobAnswer::Upload {
            row,
            created,
            expired,
        } => {
            if let Some(store) = &shared.blobs {
                for id in expired {
                    if let Err(e) = store.discard_staging(id).await {
                        tracing::warn!(error = %e, "could not delete an expired upload's file");
                    }
                }
            }
            let mut response = json_response(
                if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                serde_json::json!({
                    "upload_id": row.id.hex(),
                    "offset": row.received,
                    "size": row.size,
                    "chunk_bytes": limits.upload_chunk_bytes,
                    "expires_at": row.expires_at,
                }),
            );
            if let Ok(location) = HeaderValue::from_str(&format!("/v1/uploads/{}", row.id.hex())) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            Ok(response)
        }
        other => Err(Error::Corrupt(format!("create answered {other:?}")).into()),
    }
}

async fn upload_status(
    shared: &Shared,
    user: &User,
    id: UploadId,
) -> Result<Response<Body>, Failure> {
    let row = shared.store.read(move |conn| conn.upload(id)).await?;
    let now = crate::store::now_millis();
    let row = row
        .filter(|r| r.uid == user.uid && r.expires_at > now)
        .ok_or_else(upload_not_found)?;
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(upload_offset(), row.received.into());
    headers.insert(upload_length(), row.size.into());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn upload_not_found() -> Failure {
    Failure::new(
        ErrorCode::UploadNotFound,
        "no unfinished upload of yours has that id: create it again",
    )
}

async fn cancel(
    shared: &Shared,
    store: &super::DirStore,
    user: &User,
    id: UploadId,
) -> Result<Response<Body>, Failure> {
    blob_cmd(shared, BlobCmd::Cancel { id, uid: user.uid }).await?;
    // Only the owner's upload was deleted; a file without a row is nobody's.
    let still_there = shared.store.read(move |conn| conn.upload(id)).await?;
    if still_there.is_none() {
        store.discard_staging(id).await?;
    }
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}

/// `PATCH`: the work runs in a task of its own, so that a connection cut mid-body still
/// releases the lease at once (instead of leaving it to expire).
async fn patch(
    request: Request<Incoming>,
    shared: Arc<Shared>,
    store: Arc<super::DirStore>,
    user: User,
    id: UploadId,
    uploads: Uploads,
) -> Result<Response<Body>, Failure> {
    let (parts, body) = request.into_parts();
    let (offset, length) = match patch_headers(&parts.headers) {
        Ok(found) => found,
        Err(failure) => {
            drain_later(body, &uploads.tasks);
            return Err(failure);
        }
    };
    let stop = uploads.stop.clone();
    let tasks = uploads.tasks.clone();
    let task = uploads.tasks.spawn(async move {
        let token = rand::random::<u64>() | 1;
        let answer = blob_cmd(
            &shared,
            BlobCmd::Lease {
                id,
                uid: user.uid,
                offset,
                token,
            },
        )
        .await;
        let row = match answer {
            Ok(BlobAnswer::Upload { row, .. }) => row,
            refused => {
                drain_later(body, &tasks);
                return Err(match refused {
                    Ok(BlobAnswer::Busy { retry_after_ms }) => {
                        let mut failure = Failure::new(
                            ErrorCode::UploadBusy,
                            "another request is sending this upload",
                        );
                        failure.retry_after_ms = Some(retry_after_ms);
                        failure
                    }
                    Ok(BlobAnswer::Offset(committed)) => Failure::offset(committed),
                    Ok(other) => Error::Corrupt(format!("lease answered {other:?}")).into(),
                    Err(failure) => failure,
                });
            }
        };
        let mut receiving = Receiving {
            shared: &shared,
            store: &store,
            token,
            renewed: Instant::now(),
            stop,
            tasks: tasks.clone(),
        };
        let result = receiving.receive(row, length, body).await;
        if !matches!(result, Ok(Received::Finished(_))) {
            let _ = blob_cmd(&shared, BlobCmd::Release { id, token }).await;
        }
        result
    });
    let received = task
        .await
        .map_err(|e| Failure::from(Error::Corrupt(format!("upload task failed: {e}"))))??;
    match received {
        Received::Finished(blob) => Ok(blob_json(&blob)),
        Received::Paused(committed) => {
            let mut response = Response::new(empty());
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
                .headers_mut()
                .insert(upload_offset(), committed.into());
            Ok(response)
        }
    }
}

/// A `PATCH`'s `Upload-Offset` and `Content-Length`, after checking its content type.
fn patch_headers(headers: &HeaderMap) -> Result<(u64, u64), Failure> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if content_type != Some("application/offset+octet-stream") {
        return Err(Failure::invalid(
            "send the bytes as Content-Type: application/offset+octet-stream",
        )
        .status(415));
    }
    let offset = headers
        .get(upload_offset())
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| Failure::invalid("Upload-Offset says where these bytes start"))?;
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| Failure::invalid("send a Content-Length").status(411))?;
    Ok((offset, length))
}

/// Reads and drops (a few MiB of) a refused request's body while its answer goes out, so
/// that the client, still sending, reads the answer instead of a reset connection. A client
/// that sends `Expect: 100-continue` sends no body at all for a refusal.
fn drain_later(body: Incoming, tasks: &tokio_util::task::TaskTracker) {
    const DRAIN_BYTES: usize = 16 * 1024 * 1024;
    const DRAIN_TIME: Duration = Duration::from_secs(5);
    tasks.spawn(async move {
        let mut body = body;
        let mut drained = 0;
        let deadline = tokio::time::Instant::now() + DRAIN_TIME;
        while drained < DRAIN_BYTES {
            match tokio::time::timeout_at(deadline, body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    drained += frame.data_ref().map_or(0, |d| d.len());
                }
                _ => break,
            }
        }
    });
}

/// How a `PATCH` ended well.
enum Received {
    /// The upload is complete and verified.
    Finished(BlobRow),
    /// The body ended before the upload's end; this much is committed.
    Paused(u64),
}

struct Receiving<'a> {
    shared: &'a Shared,
    store: &'a super::DirStore,
    token: u64,
    renewed: Instant,
    /// The server is stopping: keep what is checkpointed, release the lease.
    stop: tokio_util::sync::CancellationToken,
    /// Where a refused request's body is drained.
    tasks: tokio_util::task::TaskTracker,
}

impl Receiving<'_> {
    async fn receive(
        &mut self,
        row: UploadRow,
        length: u64,
        body: Incoming,
    ) -> Result<Received, Failure> {
        // Answered before the body is read: it is drained meanwhile.
        let file = match self.prepare(&row, length).await {
            Ok(Ok(file)) => file,
            Ok(Err(received)) => {
                drain_later(body, &self.tasks);
                return Ok(received);
            }
            Err(failure) => {
                drain_later(body, &self.tasks);
                return Err(failure);
            }
        };
        self.stream(row, file, body).await
    }

    /// The staging file to write from the committed offset, or how the request ends at once.
    async fn prepare(
        &mut self,
        row: &UploadRow,
        length: u64,
    ) -> Result<Result<StagingFile, Received>, Failure> {
        let id = row.id;
        if length == 0 || length > row.size - row.received {
            return Err(Failure::invalid(format!(
                "Content-Length is 1 to {} here (the upload is {} bytes, {} are in)",
                row.size - row.received,
                row.size,
                row.received
            )));
        }
        match self.store.take_over(row).await? {
            Staged::Writing(file) => Ok(Ok(file)),
            Staged::AlreadyFinished => {
                let blob = self.finish(row, row.id.object_key()).await?;
                Ok(Err(Received::Finished(blob)))
            }
            Staged::Lost => {
                tracing::warn!(upload = %id.hex(), "an upload's staged bytes are gone: it starts over");
                blob_cmd(self.shared, BlobCmd::Cancel { id, uid: row.uid }).await?;
                Err(upload_not_found())
            }
        }
    }

    /// Streams the body into the staging file, checkpointing at every chunk boundary, and
    /// finishes the upload at its end.
    async fn stream(
        &mut self,
        row: UploadRow,
        mut file: StagingFile,
        mut body: Incoming,
    ) -> Result<Received, Failure> {
        let id = row.id;
        let mut hash = UploadHash::restore(row.hash_state.as_deref())
            .ok_or_else(|| Error::Corrupt(format!("upload {}: bad hash state", id.hex())))?;
        let chunk = self.shared.config.limits.upload_chunk_bytes.max(1);
        let mut committed = row.received;
        let mut kind = row.kind;
        let mut pending: Vec<u8> = Vec::with_capacity(WRITE_BATCH);
        // The first bytes of the blob, to tell its kind by (they may come in several frames).
        let mut head: Vec<u8> = Vec::new();
        loop {
            let next = tokio::select! {
                next = tokio::time::timeout(BODY_IDLE, body.frame()) => next,
                _ = self.stop.cancelled() => return Err(Error::ShuttingDown.into()),
            };
            let frame = match next {
                Err(_) => return Err(Failure::invalid("the body stalled")),
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    tracing::debug!(upload = %id.hex(), error = %e, "an upload's body broke off");
                    return Err(Failure::invalid("the body broke off"));
                }
                Ok(Some(Ok(frame))) => frame,
            };
            let Ok(mut data) = frame.into_data() else {
                continue;
            };
            while !data.is_empty() {
                let at = file.offset + pending.len() as u64;
                let boundary = ((at / chunk) + 1).saturating_mul(chunk).min(row.size);
                let take = (boundary - at).min(data.len() as u64) as usize;
                let part = data.split_to(take);
                hash.update(&part);
                pending.extend_from_slice(&part);
                let reached = file.offset + pending.len() as u64;
                if kind.is_none() && at < SNIFF_BYTES {
                    let wanted = (SNIFF_BYTES - at) as usize;
                    head.extend_from_slice(&part[..part.len().min(wanted)]);
                    if head.len() as u64 >= SNIFF_BYTES || reached == row.size {
                        kind = Some(Kind::sniff(&head));
                    }
                }
                if pending.len() >= WRITE_BATCH || reached == boundary {
                    self.keep_lease(id).await?;
                    file.write(&pending).await?;
                    pending.clear();
                }
                if reached == row.size {
                    return self
                        .complete(&row, file, hash, kind)
                        .await
                        .map(Received::Finished);
                }
                if reached == boundary {
                    file.sync().await?;
                    blob_cmd(
                        self.shared,
                        BlobCmd::Checkpoint {
                            id,
                            token: self.token,
                            from: committed,
                            to: reached,
                            hash_state: hash.save(),
                            kind,
                            expiry_ms: self.shared.config.blobs.upload_expiry.as_millis() as i64,
                        },
                    )
                    .await?;
                    committed = reached;
                    self.renewed = Instant::now();
                }
            }
        }
        // The body ended before the upload's end: what follows the last checkpoint is written
        // again by the next request.
        Ok(Received::Paused(committed))
    }

    /// Renews the lease when it is getting old, so that nobody else takes the upload over
    /// while this request still writes it.
    async fn keep_lease(&mut self, id: UploadId) -> Result<(), Failure> {
        if self.renewed.elapsed() >= RENEW_AFTER {
            blob_cmd(
                self.shared,
                BlobCmd::Renew {
                    id,
                    token: self.token,
                },
            )
            .await?;
            self.renewed = Instant::now();
        }
        Ok(())
    }

    /// Every byte is in: verify the hash, then keep the bytes as the blob.
    async fn complete(
        &mut self,
        row: &UploadRow,
        file: StagingFile,
        hash: UploadHash,
        kind: Option<Kind>,
    ) -> Result<BlobRow, Failure> {
        let digest = hash.finish();
        if digest != row.sha256 {
            drop(file);
            blob_cmd(
                self.shared,
                BlobCmd::Cancel {
                    id: row.id,
                    uid: row.uid,
                },
            )
            .await?;
            self.store.discard_staging(row.id).await?;
            return Err(Failure::new(
                ErrorCode::HashMismatch,
                format!(
                    "the bytes' SHA-256 is {}, not the {} declared: the upload is deleted",
                    digest.hex(),
                    row.sha256.hex()
                ),
            ));
        }
        let mut row = row.clone();
        row.kind = row.kind.or(kind);
        let key = match self.store.finish(file, row.id).await {
            Ok(key) => key,
            // Cancelled while its last bytes arrived: the staging file went with it.
            Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(upload_not_found());
            }
            Err(e) => return Err(e.into()),
        };
        self.finish(&row, key).await
    }

    async fn finish(&mut self, row: &UploadRow, object_key: String) -> Result<BlobRow, Failure> {
        let answer = blob_cmd(
            self.shared,
            BlobCmd::Finish {
                id: row.id,
                token: self.token,
                object_key,
                kind: row.kind.unwrap_or(Kind::Other),
            },
        )
        .await?;
        match answer {
            BlobAnswer::Finished { blob, discard } => {
                if let Some(key) = discard {
                    // The same content was stored already: this copy goes.
                    self.store.discard_object(&key).await?;
                }
                Ok(blob)
            }
            other => Err(Error::Corrupt(format!("finish answered {other:?}")).into()),
        }
    }
}

/// A `Range: bytes=…` header's single range as `[start, end)` within `size`: `None` to serve
/// the whole blob (no header, several ranges, or one this server does not read), `Err` when it
/// starts past the end.
fn parse_range(value: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        let suffix: u64 = last.parse().ok()?;
        if suffix == 0 {
            return Some(Err(()));
        }
        return Some(Ok((size.saturating_sub(suffix), size)));
    }
    let start: u64 = first.parse().ok()?;
    let end = if last.is_empty() {
        size
    } else {
        let last: u64 = last.parse().ok()?;
        if last < start {
            return None;
        }
        last.saturating_add(1).min(size)
    };
    if start >= size {
        return Some(Err(()));
    }
    Some(Ok((start, end)))
}

async fn download(
    request: Request<Incoming>,
    shared: &Shared,
    store: &super::DirStore,
    user: &User,
    sha256: BlobId,
) -> Result<Response<Body>, Failure> {
    let uid = user.uid;
    let blob = shared
        .store
        .read(move |conn| conn.visible_blob(uid, sha256))
        .await?
        .ok_or_else(|| {
            Failure::new(
                ErrorCode::BlobNotFound,
                "no blob with that id that you may read",
            )
        })?;
    let etag = format!("\"{}\"", blob.sha256.hex());
    let headers = request.headers();
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut response = Response::new(empty());
    {
        let out = response.headers_mut();
        out.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex"));
        out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        out.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=31536000, immutable"),
        );
        out.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(blob.kind.content_type()),
        );
        out.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
        out.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        out.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox"),
        );
        out.insert(
            header::HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        );
    }
    if header_text(header::IF_NONE_MATCH).is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return Ok(response);
    }
    let if_range_holds = header_text(header::IF_RANGE).is_none_or(|v| v.trim() == etag);
    let range = header_text(header::RANGE)
        .filter(|_| if_range_holds)
        .and_then(|v| parse_range(&v, blob.size));
    let (start, end) = match range {
        None => (0, blob.size),
        Some(Ok(range)) => {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{}", range.0, range.1 - 1, blob.size)
                    .parse()
                    .expect("ascii"),
            );
            range
        }
        Some(Err(())) => {
            return Err(Failure::new(
                ErrorCode::RangeNotSatisfiable,
                format!("the blob is {} bytes", blob.size),
            )
            .header(
                header::CONTENT_RANGE,
                format!("bytes */{}", blob.size).parse().expect("ascii"),
            ));
        }
    };
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, (end - start).into());
    if request.method() == Method::HEAD {
        return Ok(response);
    }
    let mut file = store.open_object(&blob.object_key).await?;
    file.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(Error::from)?;
    let reader = file.take(end - start);
    let stream = tokio_util::io::ReaderStream::with_capacity(reader, READ_BLOCK);
    let body = StreamBody::new(futures_util::StreamExt::map(stream, |chunk| {
        chunk.map(Frame::data)
    }));
    *response.body_mut() = BodyExt::boxed(body);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_one_range_or_the_whole() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Ok((0, 10))));
        assert_eq!(parse_range("bytes=90-", 100), Some(Ok((90, 100))));
        assert_eq!(parse_range("bytes=-10", 100), Some(Ok((90, 100))));
        assert_eq!(parse_range("bytes=-1000", 100), Some(Ok((0, 100))));
        assert_eq!(parse_range("bytes=50-1000", 100), Some(Ok((50, 100))));
        assert_eq!(parse_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=-0", 100), Some(Err(())));
        assert_eq!(
            parse_range("bytes=0-1,5-6", 100),
            None,
            "several: the whole"
        );
        assert_eq!(parse_range("bytes=9-1", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=x-1", 100), None);
    }

    #[tokio::test]
    async fn a_prefixed_stream_yields_what_was_read_first() {
        let (mut client, server) = tokio::io::duplex(1024);
        tokio::io::AsyncWriteExt::write_all(&mut client, b" world")
            .await
            .unwrap();
        drop(client);
        let mut prefixed = Prefixed {
            buffered: b"hello".to_vec(),
            at: 0,
            stream: server,
        };
        let mut out = String::new();
        prefixed.read_to_string(&mut out).await.unwrap();
        assert_eq!(out, "hello world");
    }
}
