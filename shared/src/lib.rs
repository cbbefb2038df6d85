//! Accolade's shared crate: the domain, the Open Badges formats, baking, the ports that the
//! functions depend on, and the adapters behind those ports.
//!
//! - [`domain`]: types parsed at the edge and the rules on them (no I/O);
//! - [`openbadges`] and [`baking`]: the Open Badges documents and image baking;
//! - [`ports`]: the traits handlers depend on; [`adapters`]: their implementations;
//! - [`keys`]: issuer signing keys and their published forms;
//! - [`http`], [`auth`], [`crypto`], [`urls`], [`config`]: plumbing shared by the functions.

pub mod adapters;
pub mod auth;
pub mod baking;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod http;
pub mod keys;
pub mod openbadges;
pub mod pages;
pub mod ports;
pub mod urls;
pub mod verify;
