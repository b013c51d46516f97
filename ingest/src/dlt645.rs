//! DL/T 645-2007: frames, control codes, addresses, data identifiers, values and relay commands.
//!
//! Reference: `../shared/docs/dlt645.md`. Everything here works on bytes and returns typed errors;
//! nothing panics on input from a meter or a user.

pub mod address;
pub mod bcd;
pub mod block;
pub mod broadcast;
pub mod control;
pub mod data_id;
pub mod error;
pub mod error_word;
pub mod explain;
pub mod frame;
pub mod read;
pub mod relay;
pub mod stream;
pub mod timestamp;
pub mod value;

#[cfg(test)]
mod proptests;

pub use address::Address;
pub use control::{ControlCode, Function};
pub use block::{decode_items, encode_items};
pub use broadcast::FreezeTime;
pub use data_id::DataId;
pub use error::FrameError;
pub use error_word::ErrorWord;
pub use explain::{explain, Explanation};
pub use read::ReadReply;
pub use value::{Value, ValueFormat};
pub use frame::Frame;
pub use relay::{RelayAction, RelayCommand};
pub use stream::FrameDecoder;
