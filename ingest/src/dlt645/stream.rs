//! A streaming decoder over a byte stream: partial frames, several frames per read, garbage between frames.

use super::frame::{PREAMBLE, START};
use super::{Frame, FrameError};

/// Accumulates bytes from a serial port or socket and yields frames as they complete.
///
/// Bytes before a frame start (FE preambles, line noise) are skipped; a candidate frame that turns out
/// corrupt is reported once and the search resumes one byte after its start, so a valid frame hidden
/// behind a false start is still found.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    /// Bytes of `buffer` already consumed.
    start: usize,
    discarded: u64,
    noise: u64,
}

/// Upper bound on unconsumed bytes: beyond it the oldest are dropped (a peer that never stops sending
/// while nobody calls [`FrameDecoder::next_frame`]).
pub const MAX_BUFFER: usize = 1 << 20;

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the line.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.buffer.len() / 2 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
        let pending = self.buffer.len() - self.start;
        if pending > MAX_BUFFER {
            self.discard(pending - MAX_BUFFER);
        }
    }

    /// Bytes skipped so far as garbage or preamble (not part of any frame).
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Discarded bytes other than FE preambles: line noise.
    pub fn noise(&self) -> u64 {
        self.noise
    }

    /// Bytes received but not yet consumed.
    pub fn pending(&self) -> usize {
        self.buffer.len() - self.start
    }

    /// The next complete frame, an error for a corrupt candidate frame (which is then skipped), or
    /// `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Result<Frame, FrameError>> {
        loop {
            let pending = &self.buffer[self.start..];
            // Drop everything before the next start byte (FE preambles included).
            let Some(offset) = pending.iter().position(|b| *b == START) else {
                let keep = usize::from(pending.last() == Some(&PREAMBLE));
                let garbage = pending.len() - keep;
                self.discard(garbage);
                return None;
            };
            self.discard(offset);
            match Frame::decode(&self.buffer[self.start..]) {
                Ok((frame, used)) => {
                    self.start += used;
                    return Some(Ok(frame));
                }
                Err(FrameError::Incomplete { .. }) => {
                    // Line noise may look like the start of a long frame that never completes; a
                    // complete frame further on wins over it, so a quiet line does not hide a reply.
                    match self.complete_frame_after_start() {
                        Some(skip) => self.discard(skip),
                        None => return None,
                    }
                }
                Err(FrameError::NoSecondStart(_)) | Err(FrameError::TooLong { .. }) => {
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

    /// Offset (from the current start) of a later 0x68 where a complete, valid frame begins.
    fn complete_frame_after_start(&self) -> Option<usize> {
        let pending = &self.buffer[self.start..];
        pending
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, b)| **b == START)
            .find(|(i, _)| Frame::decode(&pending[*i..]).is_ok())
            .map(|(i, _)| i)
    }

    fn discard(&mut self, n: usize) {
        let end = (self.start + n).min(self.buffer.len());
        let noise = self.buffer[self.start.min(end)..end]
            .iter()
            .filter(|b| **b != PREAMBLE)
            .count();
        self.noise += noise as u64;
        self.start += n;
        self.discarded += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlt645::frame::MAX_DATA_LEN;
    use crate::dlt645::{Address, ControlCode, DataId};
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
        // Six bytes of noise and four FE preambles were skipped; only the noise counts as noise.
        assert_eq!(decoder.discarded(), 10);
        assert_eq!(decoder.noise(), 6);
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

    fn random_frame(rng: &mut impl Rng) -> Frame {
        let len = rng.gen_range(0..=MAX_DATA_LEN);
        Frame {
            address: Address(rng.gen()),
            control: ControlCode::from_byte(rng.gen()),
            data: (0..len).map(|_| rng.gen()).collect(),
        }
    }

    #[test]
    fn megabytes_of_noise_with_frames_inside_never_panic_and_every_frame_is_found() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(645);
        let mut decoder = FrameDecoder::new();
        let mut embedded = Vec::new();
        let mut found = Vec::new();
        let mut errors = 0u64;
        let mut fed = 0usize;
        let started = std::time::Instant::now();
        // At least 4 MB and at least 2 s of input.
        while fed < 4 << 20 || started.elapsed() < std::time::Duration::from_secs(2) {
            let noise = rng.gen_range(0..4096);
            let mut stream: Vec<u8> = (0..noise).map(|_| rng.gen::<u8>()).collect();
            if rng.gen_bool(0.05) {
                stream.push(START); // a false start right before a frame
            }
            let frame = random_frame(&mut rng);
            stream.extend(frame.encode(rng.gen_range(0..=4)).unwrap());
            embedded.push(frame);
            fed += stream.len();
            let mut rest = stream.as_slice();
            while !rest.is_empty() {
                let (chunk, tail) = rest.split_at(rng.gen_range(1..=512).min(rest.len()));
                rest = tail;
                decoder.push(chunk);
                while let Some(result) = decoder.next_frame() {
                    match result {
                        Ok(frame) => found.push(frame),
                        Err(_) => errors += 1,
                    }
                }
            }
        }
        // Every embedded frame appears, in order (noise may add a rare false frame in between).
        let mut next = embedded.iter().peekable();
        for frame in &found {
            if next.peek() == Some(&frame) {
                next.next();
            }
        }
        assert_eq!(next.count(), 0, "frames missed");
        assert!(embedded.len() > 1000);
        assert!(errors > 0);
        assert!(decoder.pending() < 300);
    }

    #[test]
    fn a_false_start_on_a_quiet_line_does_not_hide_the_reply() {
        let reply = Frame::read_reply(
            Address::from_number(2).unwrap(),
            DataId::VOLTAGE_A,
            &[0x01, 0x22],
        );
        // 68, six address bytes, 68, C, L = 0xC8: claims 212 bytes that never arrive.
        let mut bytes = vec![0x68, 1, 2, 3, 4, 5, 6, 0x68, 0x11, 0xC8];
        bytes.extend(reply.encode(2).unwrap());
        let mut decoder = FrameDecoder::new();
        decoder.push(&bytes);
        assert_eq!(decoder.next_frame(), Some(Ok(reply)));
        assert_eq!(decoder.next_frame(), None);
    }
}
