//! `FrameDecoder` fed arbitrary bytes in chunks whose sizes come from the input itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterlake_fuzz::dlt645::FrameDecoder;

fuzz_target!(|data: &[u8]| {
    let Some((&sizes, mut rest)) = data.split_first() else {
        return;
    };
    let mut decoder = FrameDecoder::new();
    let mut step = 0u32;
    let mut frames = 0usize;
    while !rest.is_empty() {
        // Chunk sizes 1..=16, cycling through the bits of the first byte.
        let size = 1 + ((u32::from(sizes).rotate_left(step) & 0x0F) as usize);
        step += 1;
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        rest = tail;
        decoder.push(chunk);
        while let Some(result) = decoder.next_frame() {
            if let Ok(frame) = result {
                frames += 1;
                assert!(frame.data.len() <= 200);
            }
        }
    }
    // Every frame takes at least 12 bytes.
    assert!(frames * 12 <= data.len());
    assert!(decoder.pending() <= data.len());
});
