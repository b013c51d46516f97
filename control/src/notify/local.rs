//! Receivers on this machine for the demo and the tests: a webhook endpoint that checks signatures
//! and keeps what it accepts, and an SMTP server that speaks enough of the protocol (RFC 5321: EHLO,
//! MAIL, RCPT, DATA, RSET, NOOP, QUIT) to take a message from any client. Either can be told to fail
//! its first attempts, to show retries.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::webhook::{verify, DELIVERY_HEADER, SIGNATURE_HEADER};

/// What a local receiver has seen.
#[derive(Debug, Default)]
struct Seen {
    /// Attempts made (accepted or not).
    attempts: usize,
    /// Attempts still to fail.
    fail_next: usize,
    /// Accepted messages: (id or recipient, body).
    accepted: Vec<(String, String)>,
}

/// A webhook receiver on loopback.
#[derive(Clone)]
pub struct LocalWebhook {
    /// Its address.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

#[derive(Clone)]
struct HookState {
    secret: Arc<Vec<u8>>,
    seen: Arc<Mutex<Seen>>,
}

fn lock(seen: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    seen.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn receive(State(s): State<HookState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut seen = lock(&s.seen);
    seen.attempts += 1;
    if seen.fail_next > 0 {
        seen.fail_next -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let now = chrono::Utc::now().timestamp();
    if !verify(&s.secret, &header(SIGNATURE_HEADER), &body, now, 300) {
        return StatusCode::UNAUTHORIZED;
    }
    let id = header(DELIVERY_HEADER);
    if !seen.accepted.iter().any(|(known, _)| *known == id) {
        seen.accepted
            .push((id, String::from_utf8_lossy(&body).into_owned()));
    }
    StatusCode::NO_CONTENT
}

impl LocalWebhook {
    /// Starts a receiver checking signatures with `secret`, failing its first `fail_first` attempts
    /// with 503.
    pub async fn start(secret: &str, fail_first: usize) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Seen {
            fail_next: fail_first,
            ..Seen::default()
        }));
        let state = HookState {
            secret: Arc::new(secret.as_bytes().to_vec()),
            seen: seen.clone(),
        };
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(state);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { addr, seen })
    }

    /// The URL to configure.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Attempts so far and the accepted bodies (JSON), each once.
    pub fn seen(&self) -> (usize, Vec<String>) {
        let seen = lock(&self.seen);
        (
            seen.attempts,
            seen.accepted.iter().map(|(_, b)| b.clone()).collect(),
        )
    }
}

/// An SMTP server on loopback.
#[derive(Clone)]
pub struct LocalSmtp {
    /// Its address.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

impl LocalSmtp {
    /// Starts a server that answers its first `fail_first` messages with 451 (try again later).
    pub async fn start(fail_first: usize) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Seen {
            fail_next: fail_first,
            ..Seen::default()
        }));
        let shared = seen.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let seen = shared.clone();
                tokio::spawn(async move {
                    if let Err(err) = converse(socket, seen).await {
                        tracing::debug!(error = %err, "local SMTP conversation ended");
                    }
                });
            }
        });
        Ok(Self { addr, seen })
    }

    /// Messages attempted and the accepted ones as (recipients, the message's text with headers).
    pub fn seen(&self) -> (usize, Vec<(String, String)>) {
        let seen = lock(&self.seen);
        (seen.attempts, seen.accepted.clone())
    }
}

/// The longest message taken, bytes.
const MAX_MESSAGE: usize = 1 << 20;

async fn converse(socket: tokio::net::TcpStream, seen: Arc<Mutex<Seen>>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 localhost meterlake test SMTP\r\n")
        .await?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" | "MAIL" | "RSET" | "NOOP" => {
                if verb == "RSET" {
                    recipients.clear();
                }
                b"250 OK\r\n"
            }
            "RCPT" => {
                recipients.push(line.trim_end().to_string());
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut message = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    if message.len() + line.len() > MAX_MESSAGE {
                        return Ok(());
                    }
                    message.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let reply: &[u8] = {
                    let mut s = lock(&seen);
                    s.attempts += 1;
                    if s.fail_next > 0 {
                        s.fail_next -= 1;
                        b"451 try again later\r\n"
                    } else {
                        s.accepted.push((recipients.join(" "), message));
                        b"250 OK queued\r\n"
                    }
                };
                write.write_all(reply).await?;
                recipients.clear();
                continue;
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}
