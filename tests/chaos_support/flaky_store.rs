//! An object store that fails: an HTTP relay in front of a real S3-compatible server that answers a
//! share of requests with S3's `503 SlowDown` without passing them on, and passes another share on
//! but answers `500 InternalError` instead of the server's reply (the work was done; the client
//! cannot know). The rest pass unchanged.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::{Rng, SeedableRng};

/// What the relay did so far.
#[derive(Debug, Default)]
pub struct Counts {
    /// Requests passed on and answered as the server did.
    pub passed: AtomicU64,
    /// Requests answered 503 without passing them on.
    pub refused: AtomicU64,
    /// Requests passed on whose answer was replaced by a 500.
    pub answers_lost: AtomicU64,
}

struct Relay {
    upstream: String,
    client: reqwest::Client,
    /// (share refused, share whose answer is lost).
    shares: Mutex<(f64, f64)>,
    rng: Mutex<rand_chacha::ChaCha8Rng>,
    counts: Arc<Counts>,
}

/// A running relay; stops when dropped.
pub struct FlakyStore {
    addr: SocketAddr,
    relay: Arc<Relay>,
    task: tokio::task::JoinHandle<()>,
}

/// Headers that describe one hop, not the message.
const HOP_HEADERS: [&str; 4] = [
    "connection",
    "transfer-encoding",
    "content-length",
    "keep-alive",
];

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (status, [("content-type", "application/xml")], body).into_response()
}

async fn pass_on(State(relay): State<Arc<Relay>>, request: Request) -> Response {
    let (refuse_share, lose_share) = *relay.shares.lock().expect("shares");
    let draw: f64 = relay.rng.lock().expect("rng").gen();
    if draw < refuse_share {
        relay.counts.refused.fetch_add(1, Ordering::Relaxed);
        return s3_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.",
        );
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 1 << 30).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut forwarded = relay
        .client
        .request(parts.method.clone(), format!("{}{path}", relay.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if !HOP_HEADERS.contains(&name.as_str()) {
            forwarded = forwarded.header(name, value);
        }
    }
    let Ok(answer) = forwarded.send().await else {
        return s3_error(
            StatusCode::BAD_GATEWAY,
            "InternalError",
            "upstream unreachable",
        );
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let Ok(bytes) = answer.bytes().await else {
        return s3_error(
            StatusCode::BAD_GATEWAY,
            "InternalError",
            "upstream answer cut",
        );
    };
    if draw < refuse_share + lose_share {
        relay.counts.answers_lost.fetch_add(1, Ordering::Relaxed);
        return s3_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
        );
    }
    relay.counts.passed.fetch_add(1, Ordering::Relaxed);
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !HOP_HEADERS.contains(&name.as_str()) {
            if let Ok(name) = HeaderName::from_bytes(name.as_str().as_bytes()) {
                response.headers_mut().insert(name, value.clone());
            }
        }
    }
    response
}

impl FlakyStore {
    /// Relays to `upstream` (an `http://` endpoint), passing everything until
    /// [`FlakyStore::set_shares`] says otherwise; random draws from `seed`.
    pub async fn start(upstream: &str, seed: u64) -> Self {
        let relay = Arc::new(Relay {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: reqwest::Client::new(),
            shares: Mutex::new((0.0, 0.0)),
            rng: Mutex::new(rand_chacha::ChaCha8Rng::seed_from_u64(seed)),
            counts: Arc::new(Counts::default()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("relay bind");
        let addr = listener.local_addr().expect("relay address");
        let app = axum::Router::new()
            .fallback(pass_on)
            .with_state(relay.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, relay, task }
    }

    /// The endpoint clients use instead of the server's.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, refuse a share `refused` of requests and lose the answer of a share `lost`.
    pub fn set_shares(&self, refused: f64, lost: f64) {
        *self.relay.shares.lock().expect("shares") = (refused, lost);
    }

    /// What the relay did so far.
    pub fn counts(&self) -> &Counts {
        &self.relay.counts
    }
}

impl Drop for FlakyStore {
    fn drop(&mut self) {
        self.task.abort();
    }
}
