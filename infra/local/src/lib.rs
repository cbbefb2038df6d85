//! The local stack: every Accolade function in one process over the embedded adapters (a
//! SQLite store with a durable change log, a folder of files, an outbox folder of `.eml`
//! files), and the operator's commands.

pub mod admin;
pub mod demo;
pub mod events;
pub mod import;
pub mod keys;
pub mod logging;
pub mod secrets;
pub mod serve;
pub mod verify;
