//! DL/T 645-2007: frames, control codes, addresses, data identifiers, values and relay commands.
//!
//! Reference: `../shared/docs/dlt645.md`. Everything here works on bytes and returns typed errors;
//! nothing panics on input from a meter or a user.

pub mod address;
pub mod bcd;
pub mod control;
pub mod data_id;
pub mod error;
pub mod frame;
pub mod relay;
pub mod stream;

pub use address::Address;
pub use control::{ControlCode, Function};
pub use data_id::{DataId, ValueFormat};
pub use error::FrameError;
pub use frame::Frame;
pub use relay::{RelayAction, RelayCommand};
pub use stream::FrameDecoder;
