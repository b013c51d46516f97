//! Serving a simulated bus over TCP, the way a GPRS/4G DTU exposes an RS-485 line.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{SimBus, SimClock};
use crate::dlt645::FrameDecoder;

/// Binds `bind` (use port 0 for any) and serves the bus until the task is dropped; returns the address.
pub async fn serve_bus(
    bus: SimBus,
    clock: SimClock,
    bind: SocketAddr,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(bind).await?;
    let local = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, bus.clone(), clock.clone()));
                }
                Err(err) => {
                    tracing::warn!(%err, "simulated DTU accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    });
    Ok((local, handle))
}

async fn serve_connection(mut stream: TcpStream, bus: SimBus, clock: SimClock) {
    let _ = stream.set_nodelay(true);
    let mut decoder = FrameDecoder::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        decoder.push(&buf[..n]);
        while let Some(result) = decoder.next_frame() {
            let Ok(request) = result else {
                continue; // a meter ignores frames it cannot read
            };
            let now = clock.now();
            let reply = match bus.meters.lock() {
                Ok(mut meters) => meters.iter_mut().find_map(|m| m.handle(&request, now)),
                Err(_) => return,
            };
            if let Some(reply) = reply.and_then(|r| r.encode(0).ok()) {
                if stream.write_all(&reply).await.is_err() {
                    return;
                }
            }
        }
    }
}
