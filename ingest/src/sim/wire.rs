//! What a simulated DTU puts on the line for a request: the meters' reply, shaped by communication faults
//! (drop-outs, late replies, garbage bytes). Shared by the TCP and serial servers.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::fault::{any_active, FaultKind};
use super::profile::unit_hash;
use super::{SimBus, SimClock, SimMeter};
use crate::dlt645::frame::START;
use crate::dlt645::{Frame, FrameDecoder};

/// Bytes to write for one request and how long to wait (wall clock) before writing them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmission {
    /// Wait before writing.
    pub delay: Duration,
    /// The bytes (garbage included).
    pub bytes: Vec<u8>,
}

/// `n` pseudo-random line-noise bytes; never 0x68, so the reply that follows stays decodable.
fn garbage(seed: u64, salt: u64, n: usize) -> Vec<u8> {
    (0..n as u64)
        .map(|i| {
            let b = (unit_hash(seed ^ salt, i) * 256.0) as u8;
            if b == START {
                0x00
            } else {
                b
            }
        })
        .collect()
}

impl SimMeter {
    /// How the DTU transmits this meter's `reply` at `now`; `None` during a communication drop-out.
    pub fn transmission(&self, reply: &Frame, now: DateTime<Utc>) -> Option<Transmission> {
        let faults = self.faults();
        if any_active(faults, FaultKind::CommDropout, now).is_some() {
            return None;
        }
        let mut bytes = reply.encode(0).ok()?;
        let delay = any_active(faults, FaultKind::CommTimeout, now).map_or(Duration::ZERO, |f| {
            Duration::from_millis(f.magnitude.max(0.0) as u64)
        });
        if let Some(f) = any_active(faults, FaultKind::Garbage, now) {
            let n = f.magnitude.max(0.0) as usize;
            let seed = self.meter_number() ^ now.timestamp_micros() as u64;
            let mut framed = garbage(seed, 1, n);
            framed.append(&mut bytes);
            framed.extend(garbage(seed, 2, n));
            bytes = framed;
        }
        Some(Transmission { delay, bytes })
    }
}

impl SimBus {
    /// Lets the meters of the bus handle `request` at `now`; what the DTU sends back, if anything.
    pub fn respond(&self, request: &Frame, now: DateTime<Utc>) -> Option<Transmission> {
        let mut meters = self.meters.lock().ok()?;
        meters.iter_mut().find_map(|m| {
            m.handle(request, now)
                .map(|reply| m.transmission(&reply, now))
        })?
    }
}

/// Serves the bus on a byte stream (a TCP connection or a serial line) until it closes or fails.
///
/// A late reply (a communication-timeout fault) leaves after its delay without holding up the line: the
/// DTU goes on forwarding the next requests, as a real one does, so only the slow meter misses its
/// timeouts and its reply reaches the collector while another exchange is under way.
pub async fn serve_line<L>(line: L, bus: SimBus, clock: SimClock)
where
    L: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut reader, writer) = tokio::io::split(line);
    let writer = std::sync::Arc::new(tokio::sync::Mutex::new(writer));
    let mut decoder = FrameDecoder::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        decoder.push(&buf[..n]);
        while let Some(result) = decoder.next_frame() {
            let Ok(request) = result else {
                continue; // a meter ignores frames it cannot read
            };
            let Some(tx) = bus.respond(&request, clock.now()) else {
                continue;
            };
            if tx.delay.is_zero() {
                let mut line = writer.lock().await;
                if line.write_all(&tx.bytes).await.is_err() || line.flush().await.is_err() {
                    return;
                }
            } else {
                let writer = writer.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(tx.delay).await;
                    let mut line = writer.lock().await;
                    let _ = line.write_all(&tx.bytes).await;
                    let _ = line.flush().await;
                });
            }
        }
    }
}
