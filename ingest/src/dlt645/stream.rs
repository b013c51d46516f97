//! A streaming decoder over a byte stream: partial frames, several frames per read, garbage between frames.

use super::frame::START;
use super::{Frame, FrameError};

/// Accumulates bytes from a serial port or socket and yields frames as they complete.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    discarded: u64,
}

/// Upper bound on buffered bytes before old garbage is dropped.
const MAX_BUFFER: usize = 4096;

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the line.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() > MAX_BUFFER {
            let excess = self.buffer.len() - MAX_BUFFER;
            self.buffer.drain(..excess);
            self.discarded += excess as u64;
        }
    }

    /// Bytes skipped so far as garbage (not part of any frame).
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// The next complete frame, an error for a corrupt candidate frame (which is then skipped), or
    /// `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Frame, FrameError>> {
        loop {
            // Drop everything before the next start byte (FE preambles included).
            let start = match self.buffer.iter().position(|b| *b == START) {
                Some(i) => i,
                None => {
                    let keep = usize::from(self.buffer.last() == Some(&0xFE));
                    let drop = self.buffer.len() - keep;
                    self.discard(drop);
                    return None;
                }
            };
            self.discard(start);
            match Frame::decode(&self.buffer) {
                Ok((frame, used)) => {
                    self.buffer.drain(..used);
                    return Some(Ok(frame));
                }
                Err(FrameError::Incomplete { .. }) => return None,
                Err(FrameError::NoSecondStart(_)) | Err(FrameError::TooLong(_)) => {
                    // Not a frame start after all: resynchronise on the next 0x68.
                    self.discard(1);
                }
                Err(err) => {
                    self.discard(1);
                    return Some(Err(err));
                }
            }
        }
    }

    fn discard(&mut self, n: usize) {
        self.buffer.drain(..n);
        self.discarded += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlt645::{Address, DataId};
    use rand::{Rng, SeedableRng};

    #[test]
    fn frames_split_joined_and_surrounded_by_garbage() {
        let a = Frame::read_request(Address::from_number(1).unwrap(), DataId::VOLTAGE_A);
        let b = Frame::read_reply(
            Address::from_number(2).unwrap(),
            DataId::VOLTAGE_A,
            &[0x01, 0x22],
        );
        let mut bytes = vec![0x00, 0x68, 0x12, 0xFF];
        bytes.extend(a.encode(4).unwrap());
        bytes.extend([0x55, 0x68]);
        bytes.extend(b.encode(0).unwrap());
        let mut decoder = FrameDecoder::new();
        let mut frames = Vec::new();
        for chunk in bytes.chunks(3) {
            decoder.push(chunk);
            while let Some(result) = decoder.next_frame() {
                if let Ok(frame) = result {
                    frames.push(frame);
                }
            }
        }
        assert_eq!(frames, vec![a, b]);
        assert!(decoder.discarded() >= 6);
    }

    #[test]
    fn corrupt_frame_is_reported_and_the_next_one_still_decodes() {
        let good = Frame::read_request(Address::from_number(7).unwrap(), DataId::ACTIVE_POWER);
        let mut corrupt = good.encode(0).unwrap();
        let cs = corrupt.len() - 2;
        corrupt[cs] ^= 0xFF;
        let mut decoder = FrameDecoder::new();
        decoder.push(&corrupt);
        decoder.push(&good.encode(0).unwrap());
        assert!(matches!(
            decoder.next_frame(),
            Some(Err(FrameError::Checksum { .. }))
        ));
        let mut found = None;
        while let Some(r) = decoder.next_frame() {
            if let Ok(f) = r {
                found = Some(f);
            }
        }
        assert_eq!(found, Some(good));
    }

    #[test]
    fn seconds_of_random_bytes_never_panic() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(645);
        let mut decoder = FrameDecoder::new();
        let started = std::time::Instant::now();
        let mut chunks = 0u64;
        while started.elapsed() < std::time::Duration::from_secs(2) {
            let len = rng.gen_range(1..64);
            let mut chunk: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            if rng.gen_bool(0.1) {
                chunk.push(0x68);
            }
            decoder.push(&chunk);
            while decoder.next_frame().is_some() {}
            chunks += 1;
        }
        assert!(chunks > 1000);
    }
}
