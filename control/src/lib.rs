//! The control service: prepaid accounts and their ledger, relay policy, the command lifecycle and HTTP.

pub mod commands;
pub mod db;
pub mod error;
pub mod http;
pub mod ledger;
pub mod money;
pub mod policy;
pub mod service;

pub use error::ControlError;
pub use service::ControlService;
