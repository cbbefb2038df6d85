//! Accolade's shared crate: the domain, the Open Badges formats, baking, the ports that the
//! functions depend on, and the adapters behind those ports.
//!
//! - [`domain`]: types parsed at the edge and the rules on them (no I/O);
//! - [`openbadges`] and [`baking`]: the Open Badges documents and image baking;
//! - [`ports`]: the traits handlers depend on; [`adapters`]: their implementations;
//! - [`keys`]: issuer signing keys and their published forms;
//! - [`http`], [`auth`], [`crypto`], [`urls`], [`config`]: plumbing shared by the functions;
//! - [`wire`]: the partner API's request and response JSON; [`export`]: the event-export CSV
//!   reader of `accolade import-csv`. Both live here, not in their binaries, so the fuzz
//!   targets in `fuzz/` build without the AWS SDKs.

pub mod adapters;
pub mod auth;
pub mod baking;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod export;
pub mod http;
pub mod keys;
pub mod openbadges;
pub mod pages;
pub mod ports;
pub mod urls;
pub mod verify;
pub mod wire;
