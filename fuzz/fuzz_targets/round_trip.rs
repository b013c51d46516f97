//! decode → encode → decode gives the same frame, and typed content (values, commands) re-encodes
//! to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterlake_fuzz::dlt645::{decode_items, encode_items, Frame, RelayCommand};

fuzz_target!(|data: &[u8]| {
    let Ok((frame, _)) = Frame::decode(data) else {
        return;
    };
    let bytes = frame.encode(0).expect("a decoded frame encodes");
    let (again, used) = Frame::decode(&bytes).expect("an encoded frame decodes");
    assert_eq!(used, bytes.len());
    assert_eq!(again, frame);
    if let Ok(reply) = frame.read_reply_parts() {
        if let Ok(items) = decode_items(reply.di, &reply.value) {
            // Compared as values: a signed "negative zero" (sign bit on a zero magnitude) is read
            // as zero and written back without the sign bit.
            let values: Vec<_> = items.iter().map(|(_, v)| v.clone()).collect();
            let encoded = encode_items(reply.di, &values).expect("decoded values encode");
            assert_eq!(decode_items(reply.di, &encoded).ok(), Some(items));
        }
    }
    if let Ok(cmd) = RelayCommand::from_data(&frame.data) {
        assert_eq!(cmd.to_data(), frame.data[..16]);
    }
    if let Ok(t) = frame.time_sync_time() {
        assert_eq!(Frame::time_sync(t).data, frame.data);
    }
    if let Ok(when) = frame.freeze_time() {
        assert_eq!(when.to_data().to_vec(), frame.data);
    }
    if let Some(Ok(word)) = frame.error() {
        assert_eq!(word.to_data(), frame.data);
    }
});
