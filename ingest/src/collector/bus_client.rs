//! A master on one bus: sends a request, waits for the matching reply; one request at a time.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::dlt645::{Frame, FrameDecoder};

/// How a bus is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusEndpoint {
    /// A DTU over TCP, `host:port`.
    Tcp(String),
    /// An RS-485 adapter on a serial device: 8 data bits, 1 stop bit.
    Serial {
        /// Device path, e.g. `/dev/ttyUSB0`.
        path: String,
        /// Baud rate (2400 by default for DL/T 645-2007 meters).
        baud: u32,
        /// Parity (even for DL/T 645, i.e. 8E1).
        parity: SerialParity,
    },
}

/// Parity of a serial line; DL/T 645 meters use even parity (8E1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerialParity {
    /// Even parity (8E1), the DL/T 645 default.
    #[default]
    Even,
    /// Odd parity (8O1).
    Odd,
    /// No parity (8N1), for converters that strip it.
    None,
}

impl SerialParity {
    /// The letter in `8E1`/`8O1`/`8N1`.
    pub fn letter(self) -> char {
        match self {
            Self::Even => 'E',
            Self::Odd => 'O',
            Self::None => 'N',
        }
    }

    /// Parses `even`, `odd` or `none` (or `E`, `O`, `N`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "even" | "e" => Some(Self::Even),
            "odd" | "o" => Some(Self::Odd),
            "none" | "n" => Some(Self::None),
            _ => None,
        }
    }
}

impl std::fmt::Display for BusEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "tcp://{addr}"),
            Self::Serial { path, baud, parity } => {
                write!(f, "serial://{path}@{baud} 8{}1", parity.letter())
            }
        }
    }
}

/// Why a request got no usable reply.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Connecting or talking to the bus failed.
    #[error("bus {endpoint}: {source}")]
    Io {
        /// Endpoint.
        endpoint: String,
        /// Cause.
        source: std::io::Error,
    },
    /// No reply within the timeout after every retry.
    #[error("bus {endpoint}: no reply after {attempts} attempts")]
    Timeout {
        /// Endpoint.
        endpoint: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The request could not be encoded.
    #[error("request not encodable: {0}")]
    Encode(#[from] crate::dlt645::FrameError),
}

trait Line: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Line for T {}

/// Request metrics of one bus.
struct BusMetrics {
    requests: metrics::Counter,
    retries: metrics::Counter,
    failures: metrics::Counter,
    latency: metrics::Histogram,
}

impl BusMetrics {
    fn new(bus: &str, area: &str) -> Self {
        let labels = [("bus", bus.to_string()), ("area", area.to_string())];
        Self {
            requests: metrics::counter!("meterlake_collector_requests_total", &labels),
            retries: metrics::counter!("meterlake_collector_retries_total", &labels),
            failures: metrics::counter!("meterlake_collector_request_failures_total", &labels),
            latency: metrics::histogram!("meterlake_collector_request_seconds", "area" => area.to_string()),
        }
    }
}

/// What the line showed about one meter's link since it was last taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkCounters {
    /// Replies that arrived after their request had timed out.
    pub late_replies: u32,
    /// Bytes of line noise (not frames, not FE preambles) around the meter's replies.
    pub noise_bytes: u32,
}

impl LinkCounters {
    /// Whether anything was seen.
    pub fn is_empty(&self) -> bool {
        self.late_replies == 0 && self.noise_bytes == 0
    }
}

/// A connection to one bus.
pub struct BusClient {
    endpoint: BusEndpoint,
    line: Option<Box<dyn Line>>,
    decoder: FrameDecoder,
    timeout: Duration,
    retries: u32,
    metrics: BusMetrics,
    link: std::collections::BTreeMap<crate::dlt645::Address, LinkCounters>,
}

impl BusClient {
    /// A client that connects lazily, waits `timeout` per attempt and retries `retries` times.
    pub fn new(endpoint: BusEndpoint, timeout: Duration, retries: u32) -> Self {
        Self {
            endpoint,
            line: None,
            decoder: FrameDecoder::new(),
            timeout,
            retries,
            metrics: BusMetrics::new("", ""),
            link: std::collections::BTreeMap::new(),
        }
    }

    /// Each meter's link counters since the last call (meters with nothing to report left out).
    pub fn take_link_counters(&mut self) -> Vec<(crate::dlt645::Address, LinkCounters)> {
        std::mem::take(&mut self.link)
            .into_iter()
            .filter(|(_, c)| !c.is_empty())
            .collect()
    }

    /// Labels this client's metrics with its bus and transformer area.
    pub fn with_labels(mut self, bus: &str, area: &str) -> Self {
        self.metrics = BusMetrics::new(bus, area);
        self
    }

    fn io_error(&self, source: std::io::Error) -> BusError {
        BusError::Io {
            endpoint: self.endpoint.to_string(),
            source,
        }
    }

    async fn connect(&mut self) -> Result<(), BusError> {
        if self.line.is_some() {
            return Ok(());
        }
        let line: Box<dyn Line> = match &self.endpoint {
            BusEndpoint::Tcp(addr) => {
                let stream =
                    tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(addr))
                        .await
                        .map_err(|_| self.io_error(std::io::ErrorKind::TimedOut.into()))?
                        .map_err(|e| self.io_error(e))?;
                let _ = stream.set_nodelay(true);
                Box::new(stream)
            }
            BusEndpoint::Serial { path, baud, parity } => {
                use tokio_serial::SerialPortBuilderExt;
                let parity = match parity {
                    SerialParity::Even => tokio_serial::Parity::Even,
                    SerialParity::Odd => tokio_serial::Parity::Odd,
                    SerialParity::None => tokio_serial::Parity::None,
                };
                let port = tokio_serial::new(path, *baud)
                    .data_bits(tokio_serial::DataBits::Eight)
                    .parity(parity)
                    .stop_bits(tokio_serial::StopBits::One)
                    .open_native_async()
                    .map_err(|e| self.io_error(std::io::Error::other(e)))?;
                Box::new(port)
            }
        };
        self.line = Some(line);
        self.decoder = FrameDecoder::new();
        Ok(())
    }

    /// Sends a request that gets no reply (a broadcast); waits for nothing.
    pub async fn send_only(&mut self, request: &Frame) -> Result<(), BusError> {
        let bytes = request.encode(4)?;
        self.connect().await?;
        let Some(line) = self.line.as_mut() else {
            return Ok(());
        };
        if let Err(err) = line.write_all(&bytes).await {
            self.line = None;
            return Err(self.io_error(err));
        }
        self.metrics.requests.increment(1);
        Ok(())
    }

    /// Sends `request` and returns the first reply frame to the same function.
    pub async fn transact(&mut self, request: &Frame) -> Result<Frame, BusError> {
        let bytes = request.encode(4)?;
        let attempts = self.retries + 1;
        let started = std::time::Instant::now();
        self.metrics.requests.increment(1);
        for attempt in 0..attempts {
            if attempt > 0 {
                self.metrics.retries.increment(1);
            }
            if let Err(err) = self.connect().await {
                tracing::debug!(%err, "bus connect failed");
                continue;
            }
            match self.attempt(&bytes, request).await {
                Ok(Some(frame)) => {
                    self.metrics.latency.record(started.elapsed().as_secs_f64());
                    return Ok(frame);
                }
                Ok(None) => {} // timeout: retry on the same connection
                Err(err) => {
                    tracing::debug!(%err, "bus i/o failed; reconnecting");
                    self.line = None;
                }
            }
        }
        self.metrics.failures.increment(1);
        Err(BusError::Timeout {
            endpoint: self.endpoint.to_string(),
            attempts,
        })
    }

    async fn attempt(&mut self, bytes: &[u8], request: &Frame) -> Result<Option<Frame>, BusError> {
        let timeout = self.timeout;
        self.drain_stale()?;
        let Some(line) = self.line.as_mut() else {
            return Ok(None);
        };
        line.write_all(bytes).await.map_err(|e| BusError::Io {
            endpoint: String::new(),
            source: e,
        })?;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut buf = [0u8; 512];
        // Noise is charged to the meter whose frame it precedes (a late reply's noise to the late
        // meter); noise that precedes no frame to the meter asked, and noise after the reply to it.
        let mut mark = self.decoder.noise();
        loop {
            while let Some(result) = self.decoder.next_frame() {
                let Ok(frame) = result else {
                    tracing::debug!("garbled bytes on the bus");
                    continue;
                };
                self.count_noise(frame.address, mark);
                mark = self.decoder.noise();
                if answers(request, &frame) {
                    // Bytes that came with the reply belong to its exchange.
                    while let Some(result) = self.decoder.next_frame() {
                        if let Ok(late) = result {
                            self.count_noise(late.address, mark);
                            mark = self.decoder.noise();
                            self.count_late(&late);
                        }
                    }
                    self.count_noise(frame.address, mark);
                    return Ok(Some(frame));
                }
                self.count_late(&frame);
            }
            let Some(line) = self.line.as_mut() else {
                self.count_noise(request.address, mark);
                return Ok(None);
            };
            let read = tokio::time::timeout_at(deadline, line.read(&mut buf)).await;
            match read {
                Ok(Ok(n)) if n > 0 => self.decoder.push(&buf[..n]),
                Err(_) => {
                    self.count_noise(request.address, mark);
                    return Ok(None);
                }
                Ok(Ok(_)) => {
                    return Err(self.io_error(std::io::ErrorKind::UnexpectedEof.into()));
                }
                Ok(Err(e)) => return Err(self.io_error(e)),
            }
        }
    }
}

impl BusClient {
    /// Empties the line before a request, as an RS-485 master clears its receive buffer: a reply that
    /// arrived after its request timed out must not be taken for the answer to a new request of the
    /// same item (DL/T 645 has no sequence numbers). What it held is counted as late replies and noise.
    fn drain_stale(&mut self) -> Result<(), BusError> {
        use futures::FutureExt;
        let mut buf = [0u8; 512];
        while let Some(line) = self.line.as_mut() {
            match line.read(&mut buf).now_or_never() {
                Some(Ok(n)) if n > 0 => self.decoder.push(&buf[..n]),
                Some(Ok(_)) => {
                    self.line = None;
                    return Err(self.io_error(std::io::ErrorKind::UnexpectedEof.into()));
                }
                Some(Err(e)) => {
                    self.line = None;
                    return Err(self.io_error(e));
                }
                None => break,
            }
        }
        let mut mark = self.decoder.noise();
        while let Some(result) = self.decoder.next_frame() {
            if let Ok(frame) = result {
                self.count_noise(frame.address, mark);
                mark = self.decoder.noise();
                self.count_late(&frame);
            }
        }
        Ok(())
    }

    /// Counts a reply that answers no pending request (a late one) against its meter.
    fn count_late(&mut self, frame: &Frame) {
        if frame.control.reply && !frame.address.is_wildcard() {
            let counters = self.link.entry(frame.address).or_default();
            counters.late_replies = counters.late_replies.saturating_add(1);
        }
    }

    /// Counts the decoder's noise since `before` against `meter`.
    fn count_noise(&mut self, meter: crate::dlt645::Address, before: u64) {
        let noise = self.decoder.noise().saturating_sub(before);
        if noise > 0 && !meter.is_wildcard() {
            let counters = self.link.entry(meter).or_default();
            counters.noise_bytes = counters
                .noise_bytes
                .saturating_add(u32::try_from(noise).unwrap_or(u32::MAX));
        }
    }
}

/// Whether `reply` answers `request`: same function and meter, and for reads the same data identifier
/// (a late reply to an earlier, timed-out request is skipped, not taken for this one).
fn answers(request: &Frame, reply: &Frame) -> bool {
    let same_meter = request.address.is_wildcard() || reply.address == request.address;
    let same_item = request.control.function != crate::dlt645::Function::Read
        || reply.control.abnormal
        || reply.data.get(..4) == request.data.get(..4);
    reply.control.reply
        && reply.control.function == request.control.function
        && same_meter
        && same_item
}
