//! Blobs over HTTP (PROTOCOL.md §11): an upload created, sent in two requests (the first
//! ending mid-chunk, so only whole chunks count), resumed from where the server says (through
//! another node of a cluster), verified against its declared SHA-256 and read back whole and in
//! ranges; who may read it; one writer at a time; the caps; and every refusal's status, JSON
//! body and `Im-Error` header. The HTTP base is the WebSocket URL with its path replaced.
//! Then image and file messages (§5 `send_image`, `send_file`): what they carry, who may read
//! their blobs (the conversation's members, until a recall), forwarding, and what is refused.

use anyhow::{anyhow, ensure, Context, Result};
use rand::Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::client::{tcp, Conn, Target};
use crate::{same, Ctx};

/// An HTTP answer.
#[derive(Debug)]
struct Answer {
    request: String,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "{}: the body is not JSON: {:?}",
                self.request,
                String::from_utf8_lossy(&self.body[..self.body.len().min(200)])
            )
        })
    }

    /// Checks the status, then (for an error) that the body's code and the `Im-Error` header
    /// agree on `code` (a `HEAD` answer has the header only).
    fn expect(&self, status: u16, code: Option<&str>) -> Result<&Self> {
        ensure!(
            self.status == status,
            "{}: expected status {status}, got {} {:?}",
            self.request,
            self.status,
            String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
        );
        if let Some(code) = code {
            same!(
                self.header("im-error"),
                Some(code),
                "{}: Im-Error",
                self.request
            );
            if !self.request.starts_with("HEAD") {
                let body = self.json()?;
                same!(
                    body["error"]["code"].as_str(),
                    Some(code),
                    "{}: the error's code",
                    self.request
                );
                ensure!(
                    body["error"]["message"]
                        .as_str()
                        .is_some_and(|m| !m.is_empty()),
                    "{}: an error has a message: {body}",
                    self.request
                );
            }
        }
        Ok(self)
    }
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_bytes(size: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; size];
    rand::rng().fill(&mut bytes[..]);
    bytes
}

/// A signed-in user's HTTP side, on one node of the server.
struct Http {
    target: Target,
    /// `host:port` of the node its requests go to.
    authority: String,
    token: String,
}

impl Http {
    fn of(cx: &Ctx, conn: &Conn) -> Result<Self> {
        Ok(Self {
            target: cx.target().clone(),
            authority: cx.target().authority()?.to_owned(),
            token: conn.account().token.clone(),
        })
    }

    /// The same user through another node of a cluster (the same node when there is one).
    fn on_another_node(&self) -> Result<Self> {
        let authority = match self.target.others.first() {
            Some(url) => crate::client::split_url(url)?.0.to_owned(),
            None => self.authority.clone(),
        };
        Ok(Self {
            target: self.target.clone(),
            authority,
            token: self.token.clone(),
        })
    }

    /// Sends a request (the head with `Host`, `Authorization`, `Connection: close` and
    /// `Content-Length` added), then `body[..sent]`; reads the answer, or just drops the
    /// connection when `sent` is short of the body.
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: Option<&[u8]>,
    ) -> Result<Answer> {
        let request = format!("{method} {path}");
        let mut stream = tcp_to_node(&self.target, &self.authority).await?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n",
            self.authority, self.token
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await?;
        if let Some(body) = body {
            // A server may answer (a refusal) before it reads the body: the answer counts.
            let _ = stream.write_all(body).await;
        }
        read_answer(&self.target, stream, request).await
    }

    async fn create(&self, size: u64, sha256: &str) -> Result<Answer> {
        let body = json!({"size": size, "sha256": sha256}).to_string();
        self.send(
            "POST",
            "/v1/uploads",
            &[("Content-Type", "application/json".into())],
            Some(body.as_bytes()),
        )
        .await
    }

    async fn patch(&self, id: &str, offset: u64, bytes: &[u8]) -> Result<Answer> {
        self.send(
            "PATCH",
            &format!("/v1/uploads/{id}"),
            &[
                ("Content-Type", "application/offset+octet-stream".into()),
                ("Upload-Offset", offset.to_string()),
            ],
            Some(bytes),
        )
        .await
    }

    async fn cancel(&self, id: &str) -> Result<()> {
        self.send("DELETE", &format!("/v1/uploads/{id}"), &[], None)
            .await?
            .expect(204, None)?;
        Ok(())
    }

    async fn get(&self, sha256: &str, headers: &[(&str, String)]) -> Result<Answer> {
        self.send("GET", &format!("/v1/blobs/{sha256}"), headers, None)
            .await
    }
}

async fn tcp_to_node(target: &Target, authority: &str) -> Result<tokio::net::TcpStream> {
    let mut node = target.clone();
    node.url = format!("ws://{authority}/");
    tcp(&node, None).await
}

async fn read_answer(
    target: &Target,
    mut stream: tokio::net::TcpStream,
    request: String,
) -> Result<Answer> {
    let mut raw = Vec::new();
    tokio::time::timeout(target.timeout, stream.read_to_end(&mut raw))
        .await
        .map_err(|_| anyhow!("{request}: not answered in time"))??;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow!("{request}: not an HTTP answer"))?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("{request}: no status line in {head:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let answer = Answer {
        body: if request.starts_with("HEAD") {
            Vec::new()
        } else {
            raw[end + 4..].to_vec()
        },
        request,
        status,
        headers,
    };
    if let Some(code) = answer.header("im-error") {
        target.observer.note(format!("error:{code}"));
    }
    Ok(answer)
}

fn chunk_bytes(cx: &Ctx) -> Result<u64> {
    let limits = cx.limits();
    ensure!(
        limits.max_upload_bytes > 0,
        "the server takes no images or files (hello's max_upload_bytes is 0)"
    );
    ensure!(
        limits.upload_chunk_bytes > 0 && limits.upload_chunk_bytes < limits.max_upload_bytes,
        "hello's upload_chunk_bytes {} must be under max_upload_bytes {}",
        limits.upload_chunk_bytes,
        limits.max_upload_bytes
    );
    Ok(limits.upload_chunk_bytes)
}

fn upload_id(answer: &Answer) -> Result<String> {
    let body = answer.json()?;
    let id = body["upload_id"]
        .as_str()
        .ok_or_else(|| anyhow!("{}: no upload_id in {body}", answer.request))?;
    ensure!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "an upload id is 32 hex characters: {id:?}"
    );
    Ok(id.to_owned())
}

/// An upload sent in two requests (the first ending mid-chunk: the server keeps whole chunks
/// and says where it stands), resumed (through another node, in a cluster), read back whole and
/// in ranges; the uploader's blob is not a stranger's; ids that name nothing are refused.
pub async fn upload_and_download(cx: Ctx) -> Result<()> {
    let chunk = chunk_bytes(&cx)?;
    let tom = cx.user("tom").await?;
    let jerry = cx.user("jerry").await?;
    let tom_http = Http::of(&cx, &tom)?;
    let jerry_http = Http::of(&cx, &jerry)?;
    let bytes = random_bytes((chunk + 1000) as usize);
    let sha = sha_hex(&bytes);

    let created = tom_http.create(bytes.len() as u64, &sha).await?;
    created.expect(201, None)?;
    let id = upload_id(&created)?;
    let body = created.json()?;
    same!(body["offset"].as_u64(), Some(0), "a new upload's offset");
    same!(body["size"].as_u64(), Some(bytes.len() as u64), "its size");
    same!(body["chunk_bytes"].as_u64(), Some(chunk), "its chunk_bytes");
    same!(
        created.header("location").map(str::to_owned),
        Some(format!("/v1/uploads/{id}")),
        "Location"
    );
    let again = tom_http.create(bytes.len() as u64, &sha).await?;
    again.expect(200, None)?;
    same!(
        upload_id(&again)?,
        id,
        "creating it again finds the same upload"
    );

    // A chunk and a half: one chunk is kept.
    let first = tom_http
        .patch(&id, 0, &bytes[..(chunk + 500) as usize])
        .await?;
    first.expect(204, None)?;
    same!(
        first.header("upload-offset").map(str::to_owned),
        Some(chunk.to_string()),
        "a request ending mid-chunk: the offset kept"
    );
    let status = tom_http
        .send("HEAD", &format!("/v1/uploads/{id}"), &[], None)
        .await?;
    status.expect(204, None)?;
    same!(
        status.header("upload-offset").map(str::to_owned),
        Some(chunk.to_string()),
        "HEAD's Upload-Offset"
    );
    same!(
        status.header("upload-length").map(str::to_owned),
        Some(bytes.len().to_string()),
        "HEAD's Upload-Length"
    );
    let wrong = tom_http.patch(&id, 0, &bytes).await?;
    wrong.expect(409, Some("offset_mismatch"))?;
    same!(
        wrong.header("upload-offset").map(str::to_owned),
        Some(chunk.to_string()),
        "offset_mismatch's Upload-Offset"
    );
    jerry_http
        .send("HEAD", &format!("/v1/uploads/{id}"), &[], None)
        .await?
        .expect(404, Some("upload_not_found"))?;

    let resumed = tom_http
        .on_another_node()?
        .patch(&id, chunk, &bytes[chunk as usize..])
        .await?;
    resumed.expect(200, None)?;
    same!(
        resumed.json()?["blob"].as_str().map(str::to_owned),
        Some(sha.clone()),
        "the finished upload's blob"
    );
    tom_http
        .send("HEAD", &format!("/v1/uploads/{id}"), &[], None)
        .await?
        .expect(404, Some("upload_not_found"))?;
    let have = tom_http.create(bytes.len() as u64, &sha).await?;
    have.expect(200, None)?;
    same!(
        have.json()?["blob"].as_str().map(str::to_owned),
        Some(sha.clone()),
        "creating a blob one has: nothing to send"
    );

    let whole = tom_http.get(&sha, &[]).await?;
    whole.expect(200, None)?;
    ensure!(
        whole.body == bytes,
        "the blob read back is not the bytes sent"
    );
    same!(
        whole.header("etag").map(str::to_owned),
        Some(format!("\"{sha}\"")),
        "ETag"
    );
    let part = tom_http
        .get(&sha, &[("Range", "bytes=100-199".into())])
        .await?;
    part.expect(206, None)?;
    same!(
        part.header("content-range").map(str::to_owned),
        Some(format!("bytes 100-199/{}", bytes.len())),
        "Content-Range"
    );
    ensure!(part.body == bytes[100..200], "the range's bytes");
    tom_http
        .get(&sha, &[("Range", format!("bytes={}-", bytes.len()))])
        .await?
        .expect(416, Some("range_not_satisfiable"))?;
    tom_http
        .get(&sha, &[("If-None-Match", format!("\"{sha}\""))])
        .await?
        .expect(304, None)?;

    let strangers = jerry_http.get(&sha, &[]).await?;
    strangers.expect(404, Some("blob_not_found"))?;
    let nobodys = jerry_http.get(&sha_hex(b"nothing"), &[]).await?;
    nobodys.expect(404, Some("blob_not_found"))?;
    ensure!(
        strangers.body == nobodys.body,
        "a blob one may not read answers like one that does not exist"
    );
    tom_http
        .create(10, "not-a-hash")
        .await?
        .expect(400, Some("invalid_request"))?;
    Ok(())
}

/// Bytes that do not hash to the declared SHA-256 are refused and the upload is deleted; a
/// size over `max_upload_bytes` is refused before any byte is sent.
pub async fn verification_and_size(cx: Ctx) -> Result<()> {
    chunk_bytes(&cx)?;
    let tom = cx.user("tom").await?;
    let http = Http::of(&cx, &tom)?;
    http.create(cx.limits().max_upload_bytes + 1, &sha_hex(b"big"))
        .await?
        .expect(413, Some("too_large"))?;
    let bytes = random_bytes(5000);
    let mut other = bytes.clone();
    other[2500] ^= 1;
    let id = upload_id(&http.create(5000, &sha_hex(&bytes)).await?)?;
    http.patch(&id, 0, &other)
        .await?
        .expect(422, Some("hash_mismatch"))?;
    http.send("HEAD", &format!("/v1/uploads/{id}"), &[], None)
        .await?
        .expect(404, Some("upload_not_found"))?;
    http.get(&sha_hex(&other), &[])
        .await?
        .expect(404, Some("blob_not_found"))?;
    Ok(())
}

/// While one request sends an upload, another for the same upload is told to wait
/// (`upload_busy` with `Retry-After`); the first finishes undisturbed.
pub async fn one_writer_at_a_time(cx: Ctx) -> Result<()> {
    chunk_bytes(&cx)?;
    let tom = cx.user("tom").await?;
    let http = Http::of(&cx, &tom)?;
    let bytes = random_bytes(100_000);
    let id = upload_id(&http.create(100_000, &sha_hex(&bytes)).await?)?;
    let mut first = tcp_to_node(&http.target, &http.authority).await?;
    let head = format!(
        "PATCH /v1/uploads/{id} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
         Connection: close\r\nContent-Type: application/offset+octet-stream\r\n\
         Upload-Offset: 0\r\nContent-Length: {}\r\n\r\n",
        http.authority,
        http.token,
        bytes.len()
    );
    first.write_all(head.as_bytes()).await?;
    first.write_all(&bytes[..1000]).await?;
    first.flush().await?;
    // The server takes the lease before it reads the body: give it a moment to.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let busy = http.patch(&id, 0, &bytes).await?;
    busy.expect(423, Some("upload_busy"))?;
    ensure!(
        busy.header("retry-after").is_some(),
        "upload_busy says when to try again: {:?}",
        busy.headers
    );
    first.write_all(&bytes[1000..]).await?;
    let done = read_answer(&http.target, first, format!("PATCH /v1/uploads/{id}")).await?;
    done.expect(200, None)?;
    Ok(())
}

/// A user has at most so many unfinished uploads (`too_many_uploads`); cancelling one makes
/// room.
pub async fn unfinished_uploads_are_capped(cx: Ctx) -> Result<()> {
    chunk_bytes(&cx)?;
    let tom = cx.user("tom").await?;
    let http = Http::of(&cx, &tom)?;
    let mut ids = Vec::new();
    let refused = loop {
        let answer = http.create(100, &sha_hex(&random_bytes(16))).await?;
        if answer.status != 201 {
            break answer;
        }
        ids.push(upload_id(&answer)?);
        ensure!(ids.len() <= 1000, "1000 unfinished uploads and no limit");
    };
    refused.expect(429, Some("too_many_uploads"))?;
    http.cancel(&ids.pop().expect("at least one upload"))
        .await?;
    http.create(100, &sha_hex(&random_bytes(16)))
        .await?
        .expect(201, None)?;
    for id in ids {
        http.cancel(&id).await?;
    }
    Ok(())
}

/// Uploads `bytes` through `http` in one request; the blob's id.
async fn upload(http: &Http, bytes: &[u8]) -> Result<String> {
    let sha = sha_hex(bytes);
    let created = http.create(bytes.len() as u64, &sha).await?;
    if created.status == 200 && created.json()?["blob"].is_string() {
        return Ok(sha);
    }
    let id = upload_id(&created)?;
    http.patch(&id, 0, bytes).await?.expect(200, None)?;
    Ok(sha)
}

/// Bytes that start like a PNG file (the server tells images by their first bytes).
fn png_like(size: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend(random_bytes(size - 8));
    bytes
}

/// `send_image` and `send_file`: the message carries what was sent (media types lowercased);
/// the other member gets it as an event and may read its blobs, an outsider may not; a member
/// may forward a blob it can read into another conversation; a recall takes the members' access
/// away (the uploader keeps theirs); a blob the sender cannot read is `blob_not_found`, one of
/// another size or image type `blob_mismatch`.
pub async fn image_and_file_messages(cx: Ctx) -> Result<()> {
    chunk_bytes(&cx)?;
    let mut tom = cx.user("tom").await?;
    let mut jerry = cx.user("jerry").await?;
    let spike = cx.user("spike").await?;
    let tom_http = Http::of(&cx, &tom)?;
    let jerry_http = Http::of(&cx, &jerry)?;
    let spike_http = Http::of(&cx, &spike)?;
    let c = super::support::create(&mut tom, &[jerry.uid()], "t&j").await?;
    jerry.drain().await?;

    let image = png_like(20_000);
    let thumbnail = png_like(2_000);
    let document = random_bytes(30_000);
    let image_sha = upload(&tom_http, &image).await?;
    let thumbnail_sha = upload(&tom_http, &thumbnail).await?;
    let document_sha = upload(&tom_http, &document).await?;

    let sent = tom
        .ok(
            "send_image",
            json!({
                "conversation_id": c.id, "client_id": super::support::client_id(),
                "blob": image_sha, "size": image.len(), "mime": "IMAGE/PNG",
                "width": 640, "height": 480,
                "thumbnail": {"blob": thumbnail_sha, "size": thumbnail.len(), "mime": "image/png",
                              "width": 320, "height": 240},
                "name": "roof.png", "caption": "the view from the roof",
            }),
        )
        .await?;
    same!(
        sent["type"].as_str(),
        Some("image"),
        "send_image's message type"
    );
    let content = &sent["content"];
    same!(
        content["blob"].as_str(),
        Some(image_sha.as_str()),
        "its blob"
    );
    same!(
        content["mime"].as_str(),
        Some("image/png"),
        "its media type, lowercased"
    );
    same!(
        content["thumbnail"]["blob"].as_str(),
        Some(thumbnail_sha.as_str()),
        "its thumbnail"
    );
    same!(
        content["caption"].as_str(),
        Some("the view from the roof"),
        "its caption"
    );
    let event = jerry.next_event().await?;
    same!(event.name.as_str(), "message", "what jerry is told");
    same!(
        event.data["content"],
        sent["content"],
        "the image as jerry is told of it"
    );
    let read = jerry_http.get(&image_sha, &[]).await?;
    read.expect(200, None)?;
    ensure!(
        read.body == image,
        "jerry reads the image through the conversation"
    );
    jerry_http
        .get(&thumbnail_sha, &[])
        .await?
        .expect(200, None)?;
    spike_http
        .get(&image_sha, &[])
        .await?
        .expect(404, Some("blob_not_found"))?;

    let file = tom
        .ok(
            "send_file",
            json!({
                "conversation_id": c.id, "client_id": super::support::client_id(),
                "blob": document_sha, "size": document.len(), "mime": "application/pdf",
                "name": "Q3 report.pdf",
            }),
        )
        .await?;
    same!(
        file["type"].as_str(),
        Some("file"),
        "send_file's message type"
    );
    same!(
        file["content"]["name"].as_str(),
        Some("Q3 report.pdf"),
        "the file's name"
    );
    jerry.drain().await?;
    let fetched = jerry_http.get(&document_sha, &[]).await?;
    fetched.expect(200, None)?;
    ensure!(fetched.body == document, "jerry reads the file");

    // Jerry forwards the file to Spike: no upload, Spike may read it.
    let forwarded = super::support::create(&mut jerry, &[spike.uid()], "j&s").await?;
    jerry
        .ok(
            "send_file",
            json!({
                "conversation_id": forwarded.id, "client_id": super::support::client_id(),
                "blob": document_sha, "size": document.len(), "mime": "application/pdf",
                "name": "Q3 report.pdf",
            }),
        )
        .await?;
    spike_http
        .get(&document_sha, &[])
        .await?
        .expect(200, None)?;

    // Recalled: the members' access goes; the uploader keeps theirs.
    let seq = sent["seq"].as_u64().unwrap_or_default();
    tom.ok(
        "recall_message",
        json!({"conversation_id": c.id, "seq": seq}),
    )
    .await?;
    jerry_http
        .get(&image_sha, &[])
        .await?
        .expect(404, Some("blob_not_found"))?;
    tom_http.get(&image_sha, &[]).await?.expect(200, None)?;

    // Refusals.
    let file_params = |blob: &str, size: usize| {
        json!({
            "conversation_id": c.id, "client_id": super::support::client_id(),
            "blob": blob, "size": size, "mime": "text/plain", "name": "notes.txt",
        })
    };
    tom.refused(
        "send_file",
        file_params(&sha_hex(b"never uploaded"), 14),
        im_proto::ErrorCode::BlobNotFound,
    )
    .await?;
    tom.refused(
        "send_file",
        file_params(&document_sha, document.len() + 1),
        im_proto::ErrorCode::BlobMismatch,
    )
    .await?;
    // Spike may read Jerry's forwarded file but is no member of Tom's chat.
    let mut spike = spike;
    spike
        .refused(
            "send_file",
            file_params(&document_sha, document.len()),
            im_proto::ErrorCode::NotMember,
        )
        .await?;
    tom.refused(
        "send_image",
        json!({
            "conversation_id": c.id, "client_id": super::support::client_id(),
            "blob": image_sha, "size": image.len(), "mime": "image/jpeg",
            "width": 640, "height": 480,
            "thumbnail": {"blob": thumbnail_sha, "size": thumbnail.len(), "mime": "image/png",
                          "width": 320, "height": 240},
        }),
        im_proto::ErrorCode::BlobMismatch,
    )
    .await?;
    tom.refused(
        "send_file",
        json!({
            "conversation_id": c.id, "client_id": super::support::client_id(),
            "blob": "NOT-A-HASH", "size": 10, "mime": "text/plain", "name": "x.txt",
        }),
        im_proto::ErrorCode::BadId,
    )
    .await?;
    tom.refused(
        "send_file",
        json!({
            "conversation_id": c.id, "client_id": super::support::client_id(),
            "blob": document_sha, "size": document.len(), "mime": "text/plain",
            "name": "../../etc/passwd",
        }),
        im_proto::ErrorCode::InvalidParams,
    )
    .await?;
    Ok(())
}
