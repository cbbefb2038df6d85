//! Open Badges documents, rendered from domain types.

pub mod v2;
