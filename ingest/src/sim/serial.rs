//! Serving a simulated bus on a serial device, as the meters of an RS-485 line answer a local collector.
//!
//! The device is opened with `tokio-serial` at 2400 baud 8E1 (the DL/T 645-2007 default), so a real
//! RS-485 adapter works as well as a pseudo-terminal (e.g. one end of a `socat` pty pair, where the line
//! settings are accepted and ignored).

use std::path::Path;

use tokio_serial::SerialPortBuilderExt;

use super::wire::serve_line;
use super::{SimBus, SimClock};

/// Baud rate the simulated meters use.
pub const SERIAL_BAUD: u32 = 2400;

/// Why a serial device could not be served.
#[derive(Debug, thiserror::Error)]
#[error("opening serial device {path}: {source}")]
pub struct SerialServeError {
    /// The device path.
    pub path: String,
    /// The cause.
    pub source: tokio_serial::Error,
}

/// Opens `device_path` and serves the bus on it until the line fails or the task is dropped.
pub fn serve_bus_serial(
    bus: SimBus,
    clock: SimClock,
    device_path: &Path,
) -> Result<tokio::task::JoinHandle<()>, SerialServeError> {
    let path = device_path.to_string_lossy().into_owned();
    let port = tokio_serial::new(&path, SERIAL_BAUD)
        .data_bits(tokio_serial::DataBits::Eight)
        .parity(tokio_serial::Parity::Even)
        .stop_bits(tokio_serial::StopBits::One)
        .open_native_async()
        .map_err(|source| SerialServeError { path, source })?;
    Ok(tokio::spawn(serve_line(port, bus, clock)))
}
