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

/// A fleet served over TCP: the buses as a collector sees them, and the server tasks.
pub struct ServedFleet {
    /// One entry per DTU: its id, transformer area, `tcp://` endpoint and meters.
    pub buses: Vec<crate::collector::BusConfig>,
    /// The server tasks (abort them to take the DTUs offline).
    pub servers: Vec<tokio::task::JoinHandle<()>>,
}

/// Serves every bus of `fleet` on its own port of `ip` (chosen by the OS).
pub async fn serve_fleet(
    fleet: &super::Fleet,
    clock: &SimClock,
    ip: std::net::IpAddr,
) -> std::io::Result<ServedFleet> {
    let mut served = ServedFleet {
        buses: Vec::with_capacity(fleet.buses.len()),
        servers: Vec::with_capacity(fleet.buses.len()),
    };
    for bus in &fleet.buses {
        let (addr, handle) = serve_bus(bus.clone(), clock.clone(), SocketAddr::new(ip, 0)).await?;
        served.servers.push(handle);
        let area = fleet
            .meters
            .iter()
            .find(|m| m.bus_id == bus.bus_id)
            .map(|m| m.area_id.clone())
            .unwrap_or_default();
        served.buses.push(crate::collector::BusConfig {
            bus_id: bus.bus_id.clone(),
            area,
            endpoint: crate::collector::BusEndpoint::Tcp(addr.to_string()),
            meters: bus.addresses.clone(),
            relay_security: std::sync::Arc::new(crate::collector::PlaintextLab::default()),
        });
    }
    Ok(served)
}
