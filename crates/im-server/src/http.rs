//! The HTTP side of an accepted connection: reads the request head, upgrades a WebSocket
//! request for `/ws`, hands a request under `/v1/` (blobs: uploads and downloads) to the HTTP
//! server in `blobs/http.rs`, and answers everything else with a proper HTTP status and a short
//! body (`404` for other paths, `405` for other methods on `/ws`, `426` for a plain request to
//! `/ws`, `403` for a web page's origin that is not allowed, `400` for a malformed head, `431`
//! for an oversized one), then closes.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::handshake::server::{create_response, write_response};
use tokio_tungstenite::tungstenite::http;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use im_proto::WS_PATH;

/// The largest request head read (a WebSocket upgrade is a few hundred bytes).
const MAX_HEAD: usize = 8 * 1024;
/// Headers parsed at most.
const MAX_HEADERS: usize = 32;

/// Why a connection did not become a WebSocket.
#[derive(Debug)]
pub enum Refused {
    /// Answered with this HTTP status and closed.
    Status(u16),
    /// The client went away or the socket failed before a full request head arrived.
    Gone,
}

/// A connection upgraded to a WebSocket.
#[derive(Debug)]
pub struct Upgraded<S> {
    pub ws: WebSocketStream<S>,
    /// The request's `X-Forwarded-For` (all of them, comma-joined), if any.
    pub forwarded_for: Option<String>,
}

/// What an accepted connection turned out to be (taken apart at once: the size of the
/// WebSocket variant costs nothing).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Accepted<S> {
    /// A WebSocket.
    WebSocket(Upgraded<S>),
    /// HTTP requests under [`HTTP_PREFIX`]: the stream and every byte read from it so far (the
    /// first request's head, perhaps more), to be read again by the HTTP server.
    Http { stream: S, buffered: Vec<u8> },
}

/// The paths served over plain HTTP (uploads and downloads of blobs).
pub const HTTP_PREFIX: &str = "/v1/";

/// A parsed request head.
struct Head {
    method: String,
    path: String,
    /// The `Origin` header: browsers send it, native clients do not.
    origin: Option<String>,
    /// Every `X-Forwarded-For` header, joined with commas in order (read only from proxies
    /// the server trusts).
    forwarded_for: Option<String>,
    request: Option<http::Request<()>>,
}

fn parse(buf: &[u8]) -> Result<Option<(usize, Head)>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut raw = httparse::Request::new(&mut headers);
    let size = match raw.parse(buf) {
        Ok(httparse::Status::Complete(size)) => size,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    let method = raw.method.unwrap_or_default().to_owned();
    let target = raw.path.unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default().to_owned();
    // What tungstenite needs to validate the upgrade and make the 101 response.
    let mut request = http::Request::builder()
        .method(method.as_str())
        .uri(target)
        .version(match raw.version {
            Some(1) => http::Version::HTTP_11,
            _ => http::Version::HTTP_10,
        });
    let mut origin = None;
    let mut forwarded_for: Option<String> = None;
    for header in raw.headers.iter() {
        if header.name.eq_ignore_ascii_case("origin") {
            origin = Some(String::from_utf8_lossy(header.value).into_owned());
        }
        if header.name.eq_ignore_ascii_case("x-forwarded-for") {
            let value = String::from_utf8_lossy(header.value);
            forwarded_for = Some(match forwarded_for {
                Some(earlier) => format!("{earlier},{value}"),
                None => value.into_owned(),
            });
        }
        request = request.header(header.name, header.value);
    }
    Ok(Some((
        size,
        Head {
            method,
            path,
            origin,
            forwarded_for,
            request: request.body(()).ok(),
        },
    )))
}

/// Writes a plain-text HTTP response and closes the connection.
async fn answer<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    extra_headers: &str,
    body: &str,
) -> Refused {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n{extra_headers}\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    Refused::Status(status)
}

/// Reads the request head from `stream` and upgrades it to a WebSocket, or answers it and
/// returns why not. A request from a web page (with an `Origin` header) must come from one of
/// `allowed_origins`.
pub async fn accept<S>(
    mut stream: S,
    config: WebSocketConfig,
    allowed_origins: &[String],
) -> Result<Accepted<S>, Refused>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    let (size, head) = loop {
        let mut chunk = [0u8; 1024];
        let room = chunk.len().min(MAX_HEAD - buf.len());
        let n = match stream.read(&mut chunk[..room]).await {
            Ok(0) | Err(_) => return Err(Refused::Gone),
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        match parse(&buf) {
            Ok(Some(parsed)) => break parsed,
            Ok(None) if buf.len() >= MAX_HEAD => {
                return Err(answer(&mut stream, 431, "", "request head too large\n").await)
            }
            Ok(None) => continue,
            Err(()) => return Err(answer(&mut stream, 400, "", "bad request\n").await),
        }
    };
    let origin_allowed = head
        .origin
        .as_ref()
        .is_none_or(|origin| allowed_origins.iter().any(|allowed| allowed == origin));
    if head.path.starts_with(HTTP_PREFIX) {
        if !origin_allowed {
            return Err(answer(
                &mut stream,
                403,
                "",
                "web pages from this origin may not use this server\n",
            )
            .await);
        }
        return Ok(Accepted::Http {
            stream,
            buffered: buf,
        });
    }
    if head.path != WS_PATH {
        let body = format!("not found: connect to {WS_PATH}\n");
        return Err(answer(&mut stream, 404, "", &body).await);
    }
    if head.method != "GET" {
        return Err(answer(
            &mut stream,
            405,
            "Allow: GET\r\n",
            "use GET to open a WebSocket\n",
        )
        .await);
    }
    if !origin_allowed {
        return Err(answer(
            &mut stream,
            403,
            "",
            "web pages from this origin may not connect to this server\n",
        )
        .await);
    }
    let response = head.request.as_ref().and_then(|r| create_response(r).ok());
    let Some(response) = response else {
        return Err(answer(
            &mut stream,
            426,
            "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
            "this is a WebSocket endpoint: connect with a WebSocket client\n",
        )
        .await);
    };
    let mut head_bytes = Vec::with_capacity(256);
    if write_response(&mut head_bytes, &response).is_err()
        || stream.write_all(&head_bytes).await.is_err()
        || stream.flush().await.is_err()
    {
        return Err(Refused::Gone);
    }
    // Whatever the client sent after the head (its first frames) belongs to the WebSocket.
    let early = buf.split_off(size);
    let ws = WebSocketStream::from_partially_read(stream, early, Role::Server, Some(config)).await;
    Ok(Accepted::WebSocket(Upgraded {
        ws,
        forwarded_for: head.forwarded_for,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exchange(request: &str) -> (String, bool) {
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        let request = request.to_owned();
        let sent = tokio::spawn(async move {
            client.write_all(request.as_bytes()).await.unwrap();
            let mut out = Vec::new();
            let _ = client.read_to_end(&mut out).await;
            String::from_utf8_lossy(&out).into_owned()
        });
        let allowed = ["https://ok.example".to_owned()];
        let upgraded = accept(server, WebSocketConfig::default(), &allowed).await;
        let ok = matches!(upgraded, Ok(Accepted::WebSocket(_)));
        drop(upgraded);
        (sent.await.unwrap(), ok)
    }

    #[tokio::test]
    async fn a_plain_get_of_the_websocket_path_gets_426() {
        let (reply, upgraded) = exchange("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(!upgraded);
        assert!(
            reply.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
            "{reply}"
        );
        assert!(reply.contains("Upgrade: websocket\r\n"), "{reply}");
        assert!(reply.contains("Connection: close\r\n"), "{reply}");
        let body = reply.split("\r\n\r\n").nth(1).unwrap();
        assert!(
            reply.contains(&format!("Content-Length: {}\r\n", body.len())),
            "{reply}"
        );
    }

    #[tokio::test]
    async fn other_paths_get_404_other_methods_405_and_garbage_400() {
        let (reply, _) = exchange("GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(reply.starts_with("HTTP/1.1 404 Not Found\r\n"), "{reply}");
        assert!(reply.ends_with("not found: connect to /ws\n"), "{reply}");
        let (reply, _) = exchange("POST /ws HTTP/1.1\r\nContent-Length: 0\r\n\r\n").await;
        assert!(
            reply.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "{reply}"
        );
        assert!(reply.contains("Allow: GET\r\n"), "{reply}");
        let (reply, _) = exchange("\x16\x03\x01 not http at all\r\n\r\n").await;
        assert!(reply.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{reply}");
    }

    #[tokio::test]
    async fn a_web_page_from_an_origin_not_allowed_gets_403() {
        let upgrade = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
                       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
        let (reply, upgraded) = exchange(&format!(
            "GET /ws HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n{upgrade}\r\n"
        ))
        .await;
        assert!(!upgraded);
        assert!(reply.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{reply}");
        let (reply, upgraded) = exchange(&format!(
            "GET /ws HTTP/1.1\r\nHost: x\r\nOrigin: https://ok.example\r\n{upgrade}\r\n"
        ))
        .await;
        assert!(upgraded, "an allowed origin: {reply}");
    }

    #[tokio::test]
    async fn a_blob_request_is_handed_over_with_what_was_read_unless_its_origin_is_refused() {
        let request = "POST /v1/uploads HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
        let (mut client, server) = tokio::io::duplex(64 * 1024);
        client.write_all(request.as_bytes()).await.unwrap();
        let accepted = accept(server, WebSocketConfig::default(), &[]).await;
        let Ok(Accepted::Http { buffered, .. }) = accepted else {
            panic!("not handed over: {accepted:?}");
        };
        assert_eq!(
            buffered,
            request.as_bytes(),
            "the server reads the head again"
        );

        let (reply, handed) = exchange(
            "GET /v1/blobs/00 HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n\r\n",
        )
        .await;
        assert!(!handed);
        assert!(reply.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{reply}");
    }

    #[tokio::test]
    async fn an_endless_head_gets_431() {
        let long = format!("GET /ws HTTP/1.1\r\nX-Long: {}\r\n", "a".repeat(MAX_HEAD));
        let (reply, upgraded) = exchange(&long).await;
        assert!(!upgraded);
        assert!(reply.starts_with("HTTP/1.1 431 "), "{reply}");
    }

    #[tokio::test]
    async fn a_websocket_upgrade_with_a_query_string_is_accepted() {
        let (reply, upgraded) = exchange(
            "GET /ws?client=test HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .await;
        assert!(upgraded, "{reply}");
        assert!(
            reply.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
            "{reply}"
        );
        assert!(
            reply.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "the accept key of RFC 6455's example: {reply}"
        );
    }
}
