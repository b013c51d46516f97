//! A DTU link that fails as GPRS links do: a TCP relay between the collector and one simulated DTU
//! that, for a share of the DTU's replies, passes on only the first part of the frame and then drops
//! both connections (the link lost mid-frame). Requests pass unchanged.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running relay; stops when dropped.
pub struct FlakyLink {
    addr: SocketAddr,
    cuts: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl FlakyLink {
    /// Relays loopback connections to `dtu`, cutting a share `cut_share` of its replies mid-frame
    /// (random choices from `seed`).
    pub async fn start(dtu: SocketAddr, cut_share: f64, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("relay bind");
        let addr = listener.local_addr().expect("relay address");
        let cuts = Arc::new(AtomicU64::new(0));
        let rng = Arc::new(Mutex::new(rand_chacha::ChaCha8Rng::seed_from_u64(seed)));
        let counted = cuts.clone();
        let task = tokio::spawn(async move {
            while let Ok((collector, _)) = listener.accept().await {
                let Ok(dtu) = TcpStream::connect(dtu).await else {
                    continue;
                };
                tokio::spawn(relay(
                    collector,
                    dtu,
                    cut_share,
                    rng.clone(),
                    counted.clone(),
                ));
            }
        });
        Self { addr, cuts, task }
    }

    /// Where the collector connects instead of the DTU.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replies cut so far.
    pub fn cuts(&self) -> u64 {
        self.cuts.load(Ordering::Relaxed)
    }
}

impl Drop for FlakyLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Relays one connection until either side closes or a reply is cut.
async fn relay(
    collector: TcpStream,
    dtu: TcpStream,
    cut_share: f64,
    rng: Arc<Mutex<rand_chacha::ChaCha8Rng>>,
    cuts: Arc<AtomicU64>,
) {
    let _ = collector.set_nodelay(true);
    let _ = dtu.set_nodelay(true);
    let (mut from_collector, mut to_collector) = collector.into_split();
    let (mut from_dtu, mut to_dtu) = dtu.into_split();
    let requests = async {
        let _ = tokio::io::copy(&mut from_collector, &mut to_dtu).await;
    };
    let replies = async {
        let mut buf = [0u8; 4096];
        loop {
            let n = match from_dtu.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let cut = n > 1 && rng.lock().expect("rng").gen_bool(cut_share);
            let passed = if cut { n / 2 } else { n };
            if to_collector.write_all(&buf[..passed]).await.is_err() {
                return;
            }
            if cut {
                cuts.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    };
    // Whichever direction ends first ends the link: both halves drop here.
    tokio::select! {
        () = requests => {}
        () = replies => {}
    }
}
