//! The control service: prepaid accounts and their ledger, relay policy, the command lifecycle,
//! keep-power, and its HTTP API.
//!
//! Rooms: [`domain`] (pure rules), [`store`] (the only SQL), [`app`] (use cases, one transaction
//! each), [`workers`] (supervised background loops), [`http`] (the API), [`service`] (the process).

pub mod app;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod notify;
pub mod pii;
pub mod pii_export;
pub mod provider;
pub mod secrets;
pub mod service;
pub mod sql_login;
pub mod store;
pub mod tls;
pub mod workers;

pub use app::Control;
pub use config::Config;
pub use error::{ControlError, ErrorKind};
pub use service::{open, run, start, Running, Runtime, SessionOpener};
