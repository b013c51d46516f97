//! Serving a simulated bus over TCP, the way a GPRS/4G DTU exposes an RS-485 line.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use super::wire::serve_line;
use super::{SimBus, SimClock};

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
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_line(stream, bus.clone(), clock.clone()));
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
