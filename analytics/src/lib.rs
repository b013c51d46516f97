//! Analytics over the lake: a DataFusion session with meterlake's views, the tariff engine and billing.

pub mod billing;
pub mod columns;
pub mod diagnosis;
pub mod error;
pub mod interval_rules;
pub mod interval_table;
pub mod lake_files;
pub mod local_days;
pub mod pg_server;
pub mod prediction;
pub mod registry;
pub mod relay_state;
pub mod report;
pub mod session;
pub mod tariff;
pub mod vee;
pub mod views;

pub use billing::Bill;
pub use error::AnalyticsError;
pub use session::LakeSession;
pub use tariff::{LineItem, Pricer, TariffBill, TariffPlan};
