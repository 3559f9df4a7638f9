//! `im-blob`: blob transfers against a running im-server (PROTOCOL.md §11): upload and download
//! of one large file by a plain HTTP/1.1 client of our own beside `curl` doing the same against
//! the same server in the same run (the reference for what the server and the loopback allow),
//! and an upload cut at 90 % and resumed (bytes sent again, time against an uninterrupted one).
//! Prints medians of `--passes` runs, and the ratios.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use clap::Parser;
use im_bench::{median, Session};
use rand::RngCore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Blob transfer benchmark for im-server.
#[derive(Debug, Parser)]
#[command(name = "im-blob", about)]
struct Args {
    /// Server URL (its HTTP side is the same host and port).
    #[arg(long, default_value = "ws://127.0.0.1:7822/ws")]
    url: String,
    /// Size of the file, in MiB.
    #[arg(long, default_value_t = 50)]
    mib: usize,
    /// Runs of each measurement (medians are reported).
    #[arg(long, default_value_t = 3)]
    passes: usize,
    /// Where the files `curl` sends and receives are written.
    #[arg(long, default_value = "/tmp")]
    scratch: std::path::PathBuf,
}

struct Http {
    at: SocketAddr,
    token: String,
}

struct Answer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("a JSON answer")
    }
}

impl Http {
    async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
        send: usize,
    ) -> Result<Option<Answer>> {
        let mut stream = TcpStream::connect(self.at).await?;
        stream.set_nodelay(true)?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {}\r\n\
             Connection: close\r\nContent-Length: {}\r\n",
            self.token,
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await?;
        for piece in body[..send].chunks(256 * 1024) {
            if let Err(e) = stream.write_all(piece).await {
                // Answered before the body was in (a refusal, e.g. 423 while the request cut a
                // moment ago still holds the upload): the answer counts.
                let mut raw = Vec::new();
                let _ = stream.read_to_end(&mut raw).await;
                if raw.is_empty() {
                    bail!("{method} {path}: {e} while sending, and no answer");
                }
                return parse_answer(raw).map(Some);
            }
        }
        if send < body.len() {
            // Cut: the server keeps the last checkpoint.
            stream.flush().await?;
            return Ok(None);
        }
        let mut raw = Vec::with_capacity(1024);
        stream.read_to_end(&mut raw).await?;
        parse_answer(raw).map(Some)
    }

    async fn create(&self, bytes: &[u8]) -> Result<String> {
        let body = serde_json::json!({"size": bytes.len(), "sha256": sha_hex(bytes)}).to_string();
        let answer = self
            .request(
                "POST",
                "/v1/uploads",
                &[("Content-Type", "application/json".into())],
                body.as_bytes(),
                body.len(),
            )
            .await?
            .context("an answer")?;
        ensure!(answer.status == 201, "create answered {}", answer.status);
        Ok(answer.json()?["upload_id"]
            .as_str()
            .context("an upload id")?
            .to_owned())
    }

    async fn patch(
        &self,
        id: &str,
        offset: usize,
        bytes: &[u8],
        send: usize,
    ) -> Result<Option<Answer>> {
        self.request(
            "PATCH",
            &format!("/v1/uploads/{id}"),
            &[
                ("Content-Type", "application/offset+octet-stream".into()),
                ("Upload-Offset", offset.to_string()),
            ],
            &bytes[offset..],
            send,
        )
        .await
    }

    async fn offset(&self, id: &str) -> Result<usize> {
        let answer = self
            .request("HEAD", &format!("/v1/uploads/{id}"), &[], &[], 0)
            .await?
            .context("an answer")?;
        answer
            .header("upload-offset")
            .and_then(|v| v.parse().ok())
            .context("Upload-Offset")
    }
}

fn parse_answer(raw: Vec<u8>) -> Result<Answer> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("an HTTP answer")?;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("a status")?;
    Ok(Answer {
        status,
        head,
        body: raw[end + 4..].to_vec(),
    })
}

fn sha_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random(size: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; size];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn curl(args: &[&str]) -> Result<Duration> {
    let started = Instant::now();
    let out = Command::new("curl")
        .args(["-sS", "--fail", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(args)
        .output()
        .context("running curl")?;
    let took = started.elapsed();
    ensure!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(took)
}

fn mb_per_s(bytes: usize, took: f64) -> f64 {
    bytes as f64 / took / 1_000_000.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let size = args.mib * 1024 * 1024;
    let authority = args
        .url
        .strip_prefix("ws://")
        .and_then(|r| r.split('/').next())
        .context("a ws:// URL")?;
    let at: SocketAddr = tokio::net::lookup_host(authority)
        .await?
        .next()
        .context("an address")?;
    let name = format!("blob{}", rand::random::<u32>());
    let session = Session::sign_up_and_in(&args.url, &name, "blob-bench-password").await?;
    let token = session.token.expose().to_owned();
    let http = Http {
        at,
        token: token.clone(),
    };
    let base = format!("http://{authority}");
    let auth = format!("Authorization: Bearer {token}");
    let upload_file = args.scratch.join("im-blob-upload.bin");

    let (mut ours_up, mut curl_up, mut ours_down, mut curl_down) = (vec![], vec![], vec![], vec![]);
    let (mut resumed_total, mut resent) = (vec![], vec![]);
    for pass in 0..args.passes {
        // Ours: create, then the whole file in one PATCH.
        let bytes = random(size);
        let id = http.create(&bytes).await?;
        let started = Instant::now();
        let done = http
            .patch(&id, 0, &bytes, size)
            .await?
            .context("an answer")?;
        let took = started.elapsed().as_secs_f64();
        ensure!(done.status == 200, "upload answered {}", done.status);
        ours_up.push(took);
        let sha = sha_hex(&bytes);

        // curl: the same size of other content, created by us, sent by curl.
        let other = random(size);
        std::fs::write(&upload_file, &other)?;
        let curl_id = http.create(&other).await?;
        let took = curl(&[
            "-X",
            "PATCH",
            "-H",
            &auth,
            "-H",
            "Content-Type: application/offset+octet-stream",
            "-H",
            "Upload-Offset: 0",
            "--data-binary",
            &format!("@{}", upload_file.display()),
            &format!("{base}/v1/uploads/{curl_id}"),
        ])?;
        curl_up.push(took.as_secs_f64());

        // Downloads of the first file.
        let started = Instant::now();
        let got = http
            .request("GET", &format!("/v1/blobs/{sha}"), &[], &[], 0)
            .await?
            .context("an answer")?;
        let took = started.elapsed().as_secs_f64();
        ensure!(got.status == 200 && got.body.len() == size, "download");
        ensure!(sha_hex(&got.body) == sha, "the bytes read back");
        ours_down.push(took);
        let took = curl(&["-H", &auth, &format!("{base}/v1/blobs/{sha}")])?;
        curl_down.push(took.as_secs_f64());

        // Cut at 90 %, resume.
        let bytes = random(size);
        let id = http.create(&bytes).await?;
        let started = Instant::now();
        http.patch(&id, 0, &bytes, size * 9 / 10).await?;
        let mut offset;
        let mut answer;
        loop {
            offset = http.offset(&id).await?;
            answer = http
                .patch(&id, offset, &bytes, size - offset)
                .await?
                .context("an answer")?;
            if answer.status != 423 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ensure!(
            answer.status == 200,
            "the resumed upload answered {}",
            answer.status
        );
        resumed_total.push(started.elapsed().as_secs_f64());
        resent.push((size * 9 / 10 - offset) as f64);
        eprintln!("pass {} done", pass + 1);
    }
    let _ = std::fs::remove_file(&upload_file);
    if args.passes == 0 {
        bail!("no passes");
    }
    let (ou, cu, od, cd) = (
        median(&mut ours_up),
        median(&mut curl_up),
        median(&mut ours_down),
        median(&mut curl_down),
    );
    let (rt, rs) = (median(&mut resumed_total), median(&mut resent));
    println!(
        "{} MiB, {} passes (medians)\n\
         upload   ours {ou:.3} s ({:.0} MB/s)   curl {cu:.3} s ({:.0} MB/s)   ours/curl {:.2}\n\
         download ours {od:.3} s ({:.0} MB/s)   curl {cd:.3} s ({:.0} MB/s)   ours/curl {:.2}\n\
         resume   cut at 90 %, resumed: {rt:.3} s in all = {:.2} x an uninterrupted upload; \
         sent again {:.1} MiB",
        args.mib,
        args.passes,
        mb_per_s(size, ou),
        mb_per_s(size, cu),
        ou / cu,
        mb_per_s(size, od),
        mb_per_s(size, cd),
        od / cd,
        rt / ou,
        rs / 1024.0 / 1024.0,
    );
    Ok(())
}
