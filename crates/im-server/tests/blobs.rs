//! Blobs over HTTP on the server's port, against a real server (SQLite, or PostgreSQL with
//! `IM_TEST_STORE=postgres`) and a real directory: uploads in one request and resumed after a
//! cut connection or a server restart, verification of the declared hash, limits, content
//! stored once, who may read what, ranges, and every refusal's status and code.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Client, TestServer, WAIT};
use im_proto::Secret;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Checkpoints every 64 KiB, so that a test moves a few hundred KiB, not megabytes.
const CHUNK: u64 = 64 * 1024;

fn tune(config: &mut im_server::Config) {
    config.limits.upload_chunk_bytes = CHUNK;
    config.limits.max_upload_bytes = 4 * 1024 * 1024;
}

async fn server() -> TestServer {
    TestServer::start_with(tune).await
}

fn addr(server: &TestServer) -> SocketAddr {
    server.server.as_ref().unwrap().local_addr()
}

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Bytes that differ at every offset (a misplaced range or resume shows).
fn content(size: usize, seed: u8) -> Vec<u8> {
    (0..size)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(seed as u32) as u8
                ^ seed
        })
        .collect()
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    /// The stable code of an error answer, checked to be the same in the body and the header.
    fn code(&self) -> String {
        let header = self.header("im-error").map(str::to_owned);
        if self.body.is_empty() {
            // A HEAD answer: the header says it.
            return header.expect("an error answer names its code");
        }
        let code = self.json()["error"]["code"].as_str().unwrap().to_owned();
        assert_eq!(self.header("im-error"), Some(code.as_str()), "{self:?}");
        assert_eq!(self.header("content-type"), Some("application/json"));
        code
    }
}

fn head_text(
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    length: Option<usize>,
) -> String {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(length) = length {
        text.push_str(&format!("Content-Length: {length}\r\n"));
    }
    text.push_str("\r\n");
    text
}

async fn read_answer(stream: &mut TcpStream, method: &str) -> Answer {
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .expect("an answer in time")
        .unwrap();
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let size = match response.parse(&raw).unwrap() {
        httparse::Status::Complete(size) => size,
        httparse::Status::Partial => panic!("partial answer: {}", String::from_utf8_lossy(&raw)),
    };
    let headers: Vec<(String, String)> = response
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let mut body = raw[size..].to_vec();
    if method == "HEAD" {
        body.clear();
    }
    Answer {
        status: response.code.unwrap(),
        headers,
        body,
    }
}

/// One request on a connection of its own.
async fn request(
    at: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&[u8]>,
) -> Answer {
    let mut stream = TcpStream::connect(at).await.unwrap();
    let head = head_text(method, path, headers, body.map(<[u8]>::len));
    stream.write_all(head.as_bytes()).await.unwrap();
    if let Some(body) = body {
        stream.write_all(body).await.unwrap();
    }
    read_answer(&mut stream, method).await
}

fn bearer(token: &Secret) -> (&'static str, String) {
    ("Authorization", format!("Bearer {}", token.expose()))
}

/// A signed-in user's HTTP side.
struct Uploader {
    at: SocketAddr,
    auth: (&'static str, String),
}

impl Uploader {
    async fn new(server: &TestServer, name: &str) -> (Client, Self) {
        let client = Client::user(&server.url, name).await;
        let auth = bearer(client.token.as_ref().unwrap());
        let uploader = Self {
            at: addr(server),
            auth,
        };
        (client, uploader)
    }

    async fn create(&self, bytes: &[u8]) -> Answer {
        self.create_declared(bytes.len() as u64, &sha_hex(bytes))
            .await
    }

    async fn create_declared(&self, size: u64, sha256: &str) -> Answer {
        let body = serde_json::json!({ "size": size, "sha256": sha256 }).to_string();
        request(
            self.at,
            "POST",
            "/v1/uploads",
            &[
                self.auth.clone(),
                ("Content-Type", "application/json".into()),
            ],
            Some(body.as_bytes()),
        )
        .await
    }

    async fn status(&self, id: &str) -> Answer {
        request(
            self.at,
            "HEAD",
            &format!("/v1/uploads/{id}"),
            std::slice::from_ref(&self.auth),
            None,
        )
        .await
    }

    fn patch_headers(&self, offset: u64) -> Vec<(&'static str, String)> {
        vec![
            self.auth.clone(),
            ("Content-Type", "application/offset+octet-stream".to_owned()),
            ("Upload-Offset", offset.to_string()),
        ]
    }

    async fn patch(&self, id: &str, offset: u64, bytes: &[u8]) -> Answer {
        request(
            self.at,
            "PATCH",
            &format!("/v1/uploads/{id}"),
            &self.patch_headers(offset),
            Some(bytes),
        )
        .await
    }

    /// A new upload of `bytes`: its id.
    async fn new_upload(&self, bytes: &[u8]) -> String {
        let created = self.create(bytes).await;
        assert_eq!(created.status, 201, "{created:?}");
        created.json()["upload_id"].as_str().unwrap().to_owned()
    }

    /// A connection with a PATCH's head sent, declaring `length` bytes from `offset`: the body
    /// is the caller's to send (or not).
    async fn open_patch(&self, id: &str, offset: u64, length: usize) -> TcpStream {
        let mut stream = TcpStream::connect(self.at).await.unwrap();
        let head = head_text(
            "PATCH",
            &format!("/v1/uploads/{id}"),
            &self.patch_headers(offset),
            Some(length),
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream
    }

    /// A PATCH that declares `bytes` but sends only the first `sent` of them, then cuts the
    /// connection.
    async fn patch_cut(&self, id: &str, offset: u64, bytes: &[u8], sent: usize) {
        let mut stream = self.open_patch(id, offset, bytes.len()).await;
        stream.write_all(&bytes[..sent]).await.unwrap();
        stream.flush().await.unwrap();
        // Let the server take in what was sent before the cut.
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(stream);
    }

    /// PATCH, waiting out `upload_busy` (a request cut a moment ago may still hold the lease
    /// until the server notices).
    async fn patch_when_free(&self, id: &str, offset: u64, bytes: &[u8]) -> Answer {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let answer = self.patch(id, offset, bytes).await;
            if answer.status != 423 || tokio::time::Instant::now() > deadline {
                return answer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn download(&self, sha256: &str, extra: &[(&str, String)]) -> Answer {
        let mut headers = vec![self.auth.clone()];
        headers.extend(extra.iter().cloned());
        request(
            self.at,
            "GET",
            &format!("/v1/blobs/{sha256}"),
            &headers,
            None,
        )
        .await
    }

    /// Uploads in one request; the blob's id.
    async fn upload(&self, bytes: &[u8]) -> String {
        let created = self.create(bytes).await;
        assert!(matches!(created.status, 200 | 201), "{created:?}");
        let id = created.json()["upload_id"].as_str().unwrap().to_owned();
        let done = self.patch(&id, 0, bytes).await;
        assert_eq!(done.status, 200, "{done:?}");
        done.json()["blob"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn an_upload_in_one_request_is_kept_and_read_back_whole_and_in_ranges() {
    let server = server().await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let bytes = content(300_000, 1);
    let sha = sha_hex(&bytes);

    let created = tom.create(&bytes).await;
    assert_eq!(created.status, 201, "{created:?}");
    let json = created.json();
    let id = json["upload_id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(json["offset"], 0);
    assert_eq!(json["size"], 300_000);
    assert_eq!(json["chunk_bytes"], CHUNK);
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/uploads/{id}").as_str())
    );
    // Creating again (a retry) finds the same upload.
    let again = tom.create(&bytes).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["upload_id"], id.as_str());
    let status = tom.status(&id).await;
    assert_eq!(status.status, 204);
    assert_eq!(status.header("upload-offset"), Some("0"));
    assert_eq!(status.header("upload-length"), Some("300000"));

    let done = tom.patch(&id, 0, &bytes).await;
    assert_eq!(done.status, 200, "{done:?}");
    assert_eq!(done.json()["blob"], sha.as_str());
    assert_eq!(done.json()["size"], 300_000);
    // Finished: the upload is gone, the blob is the caller's, nothing to send again.
    assert_eq!(tom.status(&id).await.status, 404);
    let have = tom.create(&bytes).await;
    assert_eq!(have.status, 200);
    assert_eq!(have.json()["blob"], sha.as_str());

    let whole = tom.download(&sha, &[]).await;
    assert_eq!(whole.status, 200);
    assert!(
        whole.body == bytes,
        "the bytes read back are the bytes sent"
    );
    assert_eq!(whole.header("etag"), Some(format!("\"{sha}\"").as_str()));
    assert_eq!(
        whole.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(whole.header("content-length"), Some("300000"));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert_eq!(whole.header("x-content-type-options"), Some("nosniff"));

    let part = tom
        .download(&sha, &[("Range", "bytes=1000-1999".into())])
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-range"), Some("bytes 1000-1999/300000"));
    assert!(part.body == bytes[1000..2000]);
    let tail = tom.download(&sha, &[("Range", "bytes=-10".into())]).await;
    assert_eq!(tail.status, 206);
    assert!(tail.body == bytes[300_000 - 10..]);
    let past = tom
        .download(&sha, &[("Range", "bytes=300000-".into())])
        .await;
    assert_eq!(past.status, 416);
    assert_eq!(past.code(), "range_not_satisfiable");
    assert_eq!(past.header("content-range"), Some("bytes */300000"));
    // A range for another version of the content is ignored: the whole blob.
    let stale = tom
        .download(
            &sha,
            &[
                ("Range", "bytes=0-9".into()),
                ("If-Range", "\"other\"".into()),
            ],
        )
        .await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body.len(), 300_000);
    let cached = tom
        .download(&sha, &[("If-None-Match", format!("\"{sha}\""))])
        .await;
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());
}

#[tokio::test]
async fn an_image_is_served_as_an_image_and_anything_else_as_bytes() {
    let server = server().await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(content(5000, 9));
    let sha = tom.upload(&png).await;
    let answer = tom.download(&sha, &[]).await;
    assert_eq!(answer.header("content-type"), Some("image/png"));
    assert_eq!(answer.header("content-disposition"), Some("attachment"));
    assert_eq!(answer.header("content-security-policy"), Some("sandbox"));
}

#[tokio::test]
async fn an_upload_cut_at_90_percent_resumes_from_its_last_checkpoint() {
    let server = server().await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let size = 10 * CHUNK as usize + 1234;
    let bytes = content(size, 2);
    let id = tom.new_upload(&bytes).await;

    let cut = size * 9 / 10;
    tom.patch_cut(&id, 0, &bytes, cut).await;
    let committed = (cut as u64 / CHUNK) * CHUNK;
    let status = tom.status(&id).await;
    assert_eq!(
        status.header("upload-offset"),
        Some(committed.to_string().as_str()),
        "committed at the last whole chunk before the cut"
    );
    assert!(
        cut as u64 - committed < CHUNK,
        "less than a chunk is sent again"
    );

    // Sending from elsewhere is refused, saying where it stands.
    let wrong = tom.patch_when_free(&id, 0, &bytes).await;
    assert_eq!(wrong.status, 409, "{wrong:?}");
    assert_eq!(wrong.code(), "offset_mismatch");
    assert_eq!(
        wrong.header("upload-offset"),
        Some(committed.to_string().as_str())
    );
    assert_eq!(wrong.json()["error"]["offset"], committed);

    let done = tom
        .patch_when_free(&id, committed, &bytes[committed as usize..])
        .await;
    assert_eq!(done.status, 200, "{done:?}");
    let sha = done.json()["blob"].as_str().unwrap().to_owned();
    assert_eq!(sha, sha_hex(&bytes));
    assert!(tom.download(&sha, &[]).await.body == bytes);
}

#[tokio::test]
async fn a_request_that_ends_early_is_told_where_the_upload_stands() {
    let server = server().await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let bytes = content(3 * CHUNK as usize, 3);
    let id = tom.new_upload(&bytes).await;
    // Three requests of a chunk and a half, a half and the rest: the first commits one chunk and
    // drops the half after it.
    let first = tom.patch(&id, 0, &bytes[..(CHUNK * 3 / 2) as usize]).await;
    assert_eq!(first.status, 204, "{first:?}");
    assert_eq!(
        first.header("upload-offset"),
        Some(CHUNK.to_string().as_str())
    );
    let second = tom
        .patch(&id, CHUNK, &bytes[CHUNK as usize..2 * CHUNK as usize])
        .await;
    assert_eq!(second.status, 204);
    assert_eq!(
        second.header("upload-offset"),
        Some((2 * CHUNK).to_string().as_str())
    );
    let third = tom
        .patch(&id, 2 * CHUNK, &bytes[2 * CHUNK as usize..])
        .await;
    assert_eq!(third.status, 200, "{third:?}");
    assert!(tom.download(&sha_hex(&bytes), &[]).await.body == bytes);
}

#[tokio::test]
async fn an_upload_resumes_after_the_server_restarts() {
    let mut server = server().await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let size = 6 * CHUNK as usize + 77;
    let bytes = content(size, 4);
    let id = tom.new_upload(&bytes).await;
    tom.patch_cut(&id, 0, &bytes, size / 2).await;

    server.restart_with(tune).await;
    let tom = Uploader {
        at: addr(&server),
        auth: tom.auth,
    };
    // A client that lost the upload's id creates it again and learns where it stands.
    let found = tom.create(&bytes).await;
    assert_eq!(found.status, 200, "{found:?}");
    assert_eq!(found.json()["upload_id"], id.as_str());
    let offset = found.json()["offset"].as_u64().unwrap();
    assert_eq!(offset, (size as u64 / 2 / CHUNK) * CHUNK);
    let done = tom
        .patch_when_free(&id, offset, &bytes[offset as usize..])
        .await;
    assert_eq!(done.status, 200, "{done:?}");
    assert!(tom.download(&sha_hex(&bytes), &[]).await.body == bytes);
}

#[tokio::test]
async fn bytes_that_do_not_match_the_declared_hash_are_refused_and_kept_nowhere() {
    let server = server().await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let bytes = content(100_000, 5);
    let mut other = bytes.clone();
    other[50_000] ^= 1;
    let id = tom.new_upload(&bytes).await;
    let refused = tom.patch(&id, 0, &other).await;
    assert_eq!(refused.status, 422, "{refused:?}");
    assert_eq!(refused.code(), "hash_mismatch");
    assert_eq!(tom.status(&id).await.status, 404, "the upload is deleted");
    for sha in [sha_hex(&bytes), sha_hex(&other)] {
        let read = tom.download(&sha, &[]).await;
        assert_eq!(read.status, 404);
        assert_eq!(read.code(), "blob_not_found");
    }
    assert_eq!(
        std::fs::read_dir(server.blob_dir().join("uploads"))
            .unwrap()
            .count(),
        0,
        "no staging file left"
    );
}

#[tokio::test]
async fn the_same_content_from_two_users_is_stored_once_and_each_reads_it() {
    let server = server().await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let (_jerry, jerry) = Uploader::new(&server, "jerry").await;
    let bytes = content(200_000, 6);
    let sha = tom.upload(&bytes).await;
    // Jerry has no claim on it: he sends it too (not told that someone has it).
    assert_eq!(jerry.download(&sha, &[]).await.status, 404);
    let created = jerry.create(&bytes).await;
    assert_eq!(
        created.status, 201,
        "a stranger is not told the blob exists"
    );
    assert_eq!(jerry.upload(&bytes).await, sha);
    assert!(jerry.download(&sha, &[]).await.body == bytes);
    assert!(tom.download(&sha, &[]).await.body == bytes);
    let objects: usize = std::fs::read_dir(server.blob_dir().join("objects"))
        .unwrap()
        .map(|shard| std::fs::read_dir(shard.unwrap().path()).unwrap().count())
        .sum();
    assert_eq!(objects, 1, "stored once");
}

#[tokio::test]
async fn a_stranger_can_neither_read_a_blob_nor_touch_an_upload() {
    let server = server().await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let (_jerry, jerry) = Uploader::new(&server, "jerry").await;
    let bytes = content(100_000, 7);
    let sha = tom.upload(&bytes).await;
    let theirs = jerry.download(&sha, &[]).await;
    let nobodys = jerry.download(&"0".repeat(64), &[]).await;
    for answer in [&theirs, &nobodys] {
        assert_eq!(answer.status, 404);
        assert_eq!(answer.code(), "blob_not_found");
        assert!(!String::from_utf8_lossy(&answer.body).contains(&sha));
    }
    assert_eq!(
        theirs.body, nobodys.body,
        "a stranger cannot tell them apart"
    );

    let pending = content(100_000, 8);
    let id = tom.new_upload(&pending).await;
    assert_eq!(jerry.status(&id).await.code(), "upload_not_found");
    assert_eq!(
        jerry.patch(&id, 0, &pending).await.code(),
        "upload_not_found"
    );
    let cancel = request(
        jerry.at,
        "DELETE",
        &format!("/v1/uploads/{id}"),
        std::slice::from_ref(&jerry.auth),
        None,
    )
    .await;
    assert_eq!(cancel.status, 204);
    assert_eq!(
        tom.status(&id).await.status,
        204,
        "Tom's upload is still there"
    );
    // Tom's cancel deletes it.
    let cancel = request(
        tom.at,
        "DELETE",
        &format!("/v1/uploads/{id}"),
        std::slice::from_ref(&tom.auth),
        None,
    )
    .await;
    assert_eq!(cancel.status, 204);
    assert_eq!(tom.status(&id).await.status, 404);
}

#[tokio::test]
async fn a_second_request_for_an_upload_being_sent_is_told_to_wait() {
    let server = server().await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let bytes = content(4 * CHUNK as usize, 10);
    let id = tom.new_upload(&bytes).await;
    // The first request sends a little and holds its connection open.
    let mut first = tom.open_patch(&id, 0, bytes.len()).await;
    first.write_all(&bytes[..1000]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = tom.patch(&id, 0, &bytes).await;
    assert_eq!(second.status, 423, "{second:?}");
    assert_eq!(second.code(), "upload_busy");
    assert!(second.header("retry-after").is_some());
    // The first goes on to the end undisturbed.
    first.write_all(&bytes[1000..]).await.unwrap();
    let done = read_answer(&mut first, "PATCH").await;
    assert_eq!(done.status, 200, "{done:?}");
    assert!(tom.download(&sha_hex(&bytes), &[]).await.body == bytes);
}

#[tokio::test]
async fn limits_are_enforced_before_any_byte_is_sent() {
    let server = TestServer::start_with(|config| {
        config.limits.upload_chunk_bytes = CHUNK;
        config.limits.max_upload_bytes = 1_000_000;
        config.blobs.quota_bytes = 1_500_000;
        config.blobs.uploads_in_progress = 2;
    })
    .await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let big = tom.create_declared(1_000_001, &"a".repeat(64)).await;
    assert_eq!(big.status, 413);
    assert_eq!(big.code(), "too_large");

    let first = content(900_000, 11);
    tom.upload(&first).await;
    let over = tom.create_declared(700_000, &"b".repeat(64)).await;
    assert_eq!(over.status, 413);
    assert_eq!(over.code(), "quota_exceeded");

    assert_eq!(tom.create_declared(100, &"c".repeat(64)).await.status, 201);
    assert_eq!(tom.create_declared(100, &"d".repeat(64)).await.status, 201);
    let third = tom.create_declared(100, &"e".repeat(64)).await;
    assert_eq!(third.status, 429);
    assert_eq!(third.code(), "too_many_uploads");
}

#[tokio::test]
async fn bad_requests_get_a_clear_status_and_a_stable_code() {
    let server = server().await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let at = tom.at;
    let json = ("Content-Type", "application/json".to_owned());
    let body = br#"{"size":10,"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#;

    let anonymous = request(
        at,
        "POST",
        "/v1/uploads",
        std::slice::from_ref(&json),
        Some(body),
    )
    .await;
    assert_eq!(
        (anonymous.status, anonymous.code().as_str()),
        (401, "unauthenticated")
    );
    let forged = request(
        at,
        "POST",
        "/v1/uploads",
        &[
            json.clone(),
            ("Authorization", format!("Bearer {}", "f".repeat(64))),
        ],
        Some(body),
    )
    .await;
    assert_eq!(
        (forged.status, forged.code().as_str()),
        (401, "invalid_token")
    );
    assert_eq!(forged.header("www-authenticate"), Some("Bearer"));

    for bad in [
        &b"not json"[..],
        br#"{"size":10}"#,
        br#"{"size":10,"sha256":"XYZ"}"#,
        br#"{"size":0,"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#,
        br#"{"size":10,"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","x":1}"#,
    ] {
        let answer = request(at, "POST", "/v1/uploads", &[tom.auth.clone(), json.clone()], Some(bad)).await;
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (400, "invalid_request"),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }

    let id = tom.create_declared(10, &"a".repeat(64)).await.json()["upload_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/uploads/{id}");
    let wrong_type = request(
        at,
        "PATCH",
        &path,
        &[
            tom.auth.clone(),
            ("Content-Type", "text/plain".into()),
            ("Upload-Offset", "0".into()),
        ],
        Some(b"0123456789"),
    )
    .await;
    assert_eq!(
        (wrong_type.status, wrong_type.code().as_str()),
        (415, "invalid_request")
    );
    let no_offset = request(
        at,
        "PATCH",
        &path,
        &[
            tom.auth.clone(),
            ("Content-Type", "application/offset+octet-stream".into()),
        ],
        Some(b"0123456789"),
    )
    .await;
    assert_eq!(
        (no_offset.status, no_offset.code().as_str()),
        (400, "invalid_request")
    );
    let no_length = request(at, "PATCH", &path, &tom.patch_headers(0), None).await;
    assert_eq!(
        (no_length.status, no_length.code().as_str()),
        (411, "invalid_request")
    );
    let too_long = tom.patch(&id, 0, b"0123456789ABC").await;
    assert_eq!(
        (too_long.status, too_long.code().as_str()),
        (400, "invalid_request")
    );
    // A large body refused before it is read is still answered (the server reads it away).
    let far_too_long = tom.patch(&id, 0, &vec![0u8; 4 * 1024 * 1024]).await;
    assert_eq!(
        (far_too_long.status, far_too_long.code().as_str()),
        (400, "invalid_request")
    );
    // Declaring other content under a hash already in use is refused.
    let other_size = tom.create_declared(11, &"a".repeat(64)).await;
    assert_eq!(
        (other_size.status, other_size.code().as_str()),
        (400, "invalid_request")
    );
    assert_eq!(tom.status(&id).await.header("upload-offset"), Some("0"));

    let bad_id = tom.status("not-an-id").await;
    assert_eq!(bad_id.status, 400);
    let unknown = request(
        at,
        "GET",
        "/v1/nothing",
        std::slice::from_ref(&tom.auth),
        None,
    )
    .await;
    assert_eq!(
        (unknown.status, unknown.code().as_str()),
        (404, "invalid_request")
    );
    let method = request(
        at,
        "GET",
        "/v1/uploads",
        std::slice::from_ref(&tom.auth),
        None,
    )
    .await;
    assert_eq!(
        (method.status, method.code().as_str()),
        (405, "invalid_request")
    );
    assert_eq!(method.header("allow"), Some("POST"));
}

#[tokio::test]
async fn an_upload_that_makes_no_progress_is_deleted_with_its_file() {
    let server = TestServer::start_with(|config| {
        tune(config);
        config.blobs.upload_expiry = Duration::from_millis(300);
        config.blobs.sweep_every = Duration::from_millis(100);
    })
    .await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let bytes = content(3 * CHUNK as usize, 12);
    let id = tom.new_upload(&bytes).await;
    let first = tom.patch(&id, 0, &bytes[..CHUNK as usize]).await;
    assert_eq!(first.status, 204, "{first:?}");
    let staging = server.blob_dir().join("uploads").join(&id);
    assert!(staging.exists(), "the first chunk is staged");

    let deadline = tokio::time::Instant::now() + WAIT;
    while staging.exists() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!staging.exists(), "the sweep deleted the staged bytes");
    assert_eq!(tom.status(&id).await.code(), "upload_not_found");
    // Creating it again starts over.
    let again = tom.create(&bytes).await;
    assert_eq!(again.status, 201, "{again:?}");
    assert_eq!(again.json()["offset"], 0);
}

#[tokio::test]
async fn every_request_on_a_connection_is_checked_for_its_origin() {
    let server = server().await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let sha = tom.upload(&content(1000, 13)).await;
    let mut stream = TcpStream::connect(tom.at).await.unwrap();
    let path = format!("/v1/blobs/{sha}");
    let first = format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\n{}: {}\r\n\r\n",
        tom.auth.0, tom.auth.1
    );
    let second = format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\n{}: {}\r\nOrigin: https://evil.example\r\nConnection: close\r\n\r\n",
        tom.auth.0, tom.auth.1
    );
    stream
        .write_all(format!("{first}{second}").as_bytes())
        .await
        .unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    let later = text.rfind("HTTP/1.1 ").unwrap();
    assert!(
        text[later..].starts_with("HTTP/1.1 403 Forbidden\r\n"),
        "the second request, from a web page: {}",
        &text[later..]
    );
}

#[tokio::test]
async fn an_image_is_recognised_when_its_first_bytes_come_apart() {
    let server = server().await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(content(3000, 14));
    let id = tom.new_upload(&png).await;
    let mut stream = tom.open_patch(&id, 0, png.len()).await;
    for piece in [&png[..3], &png[3..7], &png[7..]] {
        stream.write_all(piece).await.unwrap();
        stream.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let done = read_answer(&mut stream, "PATCH").await;
    assert_eq!(done.status, 200, "{done:?}");
    let answer = tom.download(&sha_hex(&png), &[]).await;
    assert_eq!(answer.header("content-type"), Some("image/png"));
}

#[tokio::test]
async fn an_upload_cancelled_while_its_last_bytes_arrive_is_not_kept() {
    let server = server().await;
    let (_tom, tom) = Uploader::new(&server, "tom").await;
    let bytes = content(20_000, 15);
    let id = tom.new_upload(&bytes).await;
    let mut stream = tom.open_patch(&id, 0, bytes.len()).await;
    stream.write_all(&bytes[..19_999]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cancel = request(
        tom.at,
        "DELETE",
        &format!("/v1/uploads/{id}"),
        std::slice::from_ref(&tom.auth),
        None,
    )
    .await;
    assert_eq!(cancel.status, 204);
    stream.write_all(&bytes[19_999..]).await.unwrap();
    let end = read_answer(&mut stream, "PATCH").await;
    assert_eq!(end.status, 404, "{end:?}");
    assert_eq!(end.code(), "upload_not_found");
    assert_eq!(tom.download(&sha_hex(&bytes), &[]).await.status, 404);
}

fn file_message(
    conversation_id: im_proto::ConversationId,
    sha: &str,
    size: usize,
    name: &str,
) -> im_proto::SendFile {
    im_proto::SendFile {
        conversation_id,
        client_id: im_proto::ClientId::random(),
        content: Box::new(im_proto::FileContent {
            blob: sha.to_owned(),
            size: size as u64,
            mime: "application/pdf".into(),
            name: name.into(),
            caption: None,
        }),
        reply_to: None,
        mentions: Vec::new(),
        mention_all: false,
    }
}

#[tokio::test]
async fn members_read_a_sent_file_until_they_leave_or_it_is_recalled() {
    let server = server().await;
    let (mut tom_ws, tom) = Uploader::new(&server, "tom").await;
    let (mut jerry_ws, jerry) = Uploader::new(&server, "jerry").await;
    let (_spike_ws, spike) = Uploader::new(&server, "spike").await;
    let (tyke_ws, tyke) = Uploader::new(&server, "tyke").await;
    let group = tom_ws
        .call(im_proto::CreateConversation {
            user_ids: vec![jerry_ws.uid(), tyke_ws.uid()],
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    let bytes = content(50_000, 16);
    let sha = tom.upload(&bytes).await;
    assert_eq!(jerry.download(&sha, &[]).await.status, 404, "not sent yet");

    let sent = tom_ws
        .call(file_message(group.id, &sha, bytes.len(), "Q3 report.pdf"))
        .await
        .unwrap();
    let told = jerry_ws
        .event_where(|e| match e {
            im_proto::Event::Message(m) => Some(m),
            _ => None,
        })
        .await;
    assert_eq!(told, sent, "members are told of the file as sent");
    assert!(matches!(&sent.body, im_proto::MessageBody::File(f) if f.name == "Q3 report.pdf"));
    assert!(
        jerry.download(&sha, &[]).await.body == bytes,
        "a member reads it"
    );
    // Nothing for a member to upload again: the content is there for them.
    let have = jerry.create(&bytes).await;
    assert_eq!(have.status, 200, "{have:?}");
    assert_eq!(have.json()["blob"], sha.as_str());
    assert_eq!(spike.download(&sha, &[]).await.code(), "blob_not_found");
    // Resending the same client id is the same message, whatever the file.
    let mut again = file_message(group.id, &sha, bytes.len(), "Q3 report.pdf");
    again.client_id = sent.client_id.clone();
    assert_eq!(tom_ws.call(again).await.unwrap(), sent);

    // A member who leaves loses access; the others keep it.
    tom_ws
        .call(im_proto::RemoveMembers {
            conversation_id: group.id,
            user_ids: vec![tyke_ws.uid()],
        })
        .await
        .unwrap();
    assert_eq!(tyke.download(&sha, &[]).await.status, 404);
    assert_eq!(jerry.download(&sha, &[]).await.status, 200);

    // Recalled: the members' access goes, the uploader keeps theirs.
    tom_ws
        .call(im_proto::RecallMessage {
            conversation_id: group.id,
            seq: sent.seq,
        })
        .await
        .unwrap();
    assert_eq!(jerry.download(&sha, &[]).await.code(), "blob_not_found");
    assert_eq!(tom.download(&sha, &[]).await.status, 200);
    // Jerry read it before the recall, but cannot forward it now.
    let forward = jerry_ws
        .call(file_message(group.id, &sha, bytes.len(), "Q3 report.pdf"))
        .await;
    common::assert_code(forward, im_proto::ErrorCode::BlobNotFound);
}

#[tokio::test]
async fn an_image_message_must_match_its_blobs() {
    let server = server().await;
    let (mut tom_ws, tom) = Uploader::new(&server, "tom").await;
    let (jerry_ws, _jerry) = Uploader::new(&server, "jerry").await;
    let c = tom_ws
        .call(im_proto::CreateConversation {
            user_ids: vec![jerry_ws.uid()],
            ..Default::default()
        })
        .await
        .unwrap()
        .conversation;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(content(40_000, 17));
    let mut thumb = b"\x89PNG\r\n\x1a\n".to_vec();
    thumb.extend(content(3_000, 18));
    let image = tom.upload(&png).await;
    let thumbnail = tom.upload(&thumb).await;
    let message = |mime: &str, size: usize, thumb_size: usize| im_proto::SendImage {
        conversation_id: c.id,
        client_id: im_proto::ClientId::random(),
        content: Box::new(im_proto::ImageContent {
            blob: image.clone(),
            size: size as u64,
            mime: mime.into(),
            width: 800,
            height: 600,
            thumbnail: im_proto::Thumbnail {
                blob: thumbnail.clone(),
                size: thumb_size as u64,
                mime: "image/png".into(),
                width: 400,
                height: 300,
            },
            name: Some("roof.png".into()),
            caption: Some("the view".into()),
        }),
        reply_to: None,
        mentions: Vec::new(),
        mention_all: false,
    };
    let sent = tom_ws
        .call(message("image/PNG", png.len(), thumb.len()))
        .await
        .unwrap();
    match &sent.body {
        im_proto::MessageBody::Image(i) => {
            assert_eq!(i.mime, "image/png");
            assert_eq!(i.caption.as_deref(), Some("the view"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sent.body.preview(), "the view");
    // Read back as stored.
    let page = tom_ws
        .call(im_proto::GetMessages {
            conversation_id: c.id,
            before: None,
            after: None,
            limit: None,
        })
        .await
        .unwrap();
    assert_eq!(page.messages.last(), Some(&sent));

    for (wrong, code) in [
        (
            message("image/jpeg", png.len(), thumb.len()),
            "blob_mismatch",
        ),
        (
            message("image/png", png.len() + 1, thumb.len()),
            "blob_mismatch",
        ),
        (
            message("image/png", png.len(), thumb.len() - 1),
            "blob_mismatch",
        ),
        (
            message("image/tiff", png.len(), thumb.len()),
            "invalid_params",
        ),
        (
            message("image/png", png.len(), 300 * 1024),
            "invalid_params",
        ),
    ] {
        let reply = tom_ws.call(wrong).await;
        assert_eq!(
            reply.as_ref().map_err(|e| e.code.as_str()).err(),
            Some(code),
            "{reply:?}"
        );
    }
    let edit = im_proto::EditMessage {
        conversation_id: c.id,
        seq: sent.seq,
        text: "an image is not edited".into(),
    };
    common::assert_code(tom_ws.call(edit).await, im_proto::ErrorCode::NotEditable);
}
