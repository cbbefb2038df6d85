//! The partner API through its router, against the real SQLite store (in memory), the
//! in-memory file store, a fixed clock and counting randomness.

mod achievements;
mod awards;
mod batch;
mod corpus;
mod idempotency;
mod issuer;
mod lifecycle;
mod limits;
mod rejections;
mod support;
mod token;
