//! `Frame::decode` on arbitrary bytes; a decoded frame is also explained (values, error words, commands).
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterlake_fuzz::dlt645::{explain, Frame};

fuzz_target!(|data: &[u8]| {
    if let Ok((frame, used)) = Frame::decode(data) {
        assert!(used <= data.len());
        let explanation = explain(&frame);
        let _ = explanation.to_string();
        let _ = serde_json::to_string(&explanation);
    }
});
