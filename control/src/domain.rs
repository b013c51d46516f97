//! Pure rules of prepaid control: money, account terms and states, relay policy, the command state
//! machine, trip windows, charge keys and what a search box's text asks for. Nothing here does I/O.

pub mod access;
pub mod advice;
pub mod alarm;
pub mod audit;
pub mod bill_issue;
pub mod calendar;
pub mod charge_key;
pub mod command;
pub mod denials;
pub mod digest;
pub mod health;
pub mod money;
pub mod notice;
pub mod prepaid;
pub mod registration;
pub mod relay;
pub mod search;
pub mod security_alarm;
pub mod takings;
pub mod terms;
pub mod ticket;
