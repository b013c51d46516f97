//! DL/T 645-2007: frames, control codes, addresses, data identifiers, values and relay commands.
//!
//! Reference: `../shared/docs/dlt645.md`. Everything here works on bytes and returns typed errors;
//! nothing panics on input from a meter or a user.
//!
//! The codec uses only `super::` paths and light dependencies (chrono, rust_decimal, hex, thiserror,
//! serde) because the fuzz crate (`fuzz/`) mounts this file directly. The explicit `#[path]` on each
//! child module keeps the children found when the file is mounted from elsewhere.

#[path = "dlt645/address.rs"]
pub mod address;
#[path = "dlt645/bcd.rs"]
pub mod bcd;
#[path = "dlt645/block.rs"]
pub mod block;
#[path = "dlt645/broadcast.rs"]
pub mod broadcast;
#[path = "dlt645/control.rs"]
pub mod control;
#[path = "dlt645/data_id.rs"]
pub mod data_id;
#[path = "dlt645/error.rs"]
pub mod error;
#[path = "dlt645/error_word.rs"]
pub mod error_word;
#[path = "dlt645/event.rs"]
pub mod event;
#[path = "dlt645/explain.rs"]
pub mod explain;
#[path = "dlt645/frame.rs"]
pub mod frame;
#[path = "dlt645/read.rs"]
pub mod read;
#[path = "dlt645/relay.rs"]
pub mod relay;
#[path = "dlt645/stream.rs"]
pub mod stream;
#[path = "dlt645/timestamp.rs"]
pub mod timestamp;
#[path = "dlt645/value.rs"]
pub mod value;

#[cfg(test)]
#[path = "dlt645/proptests.rs"]
mod proptests;

pub use address::Address;
pub use block::{decode_items, encode_items};
pub use broadcast::FreezeTime;
pub use control::{ControlCode, Function};
pub use data_id::DataId;
pub use error::FrameError;
pub use error_word::ErrorWord;
pub use event::{EventLayout, EventRecord, MeterEvent};
pub use explain::{explain, Explanation};
pub use frame::Frame;
pub use read::ReadReply;
pub use relay::{RelayAction, RelayCommand};
pub use stream::FrameDecoder;
pub use value::{Value, ValueFormat};
