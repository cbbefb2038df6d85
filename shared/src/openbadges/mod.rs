//! Open Badges documents, rendered from domain types: 2.0 hosted ([`v2`]) and signed
//! ([`signed`]), 3.0 credentials ([`v3`]), and the revocation lists of both ([`revocation`]).

pub mod revocation;
pub mod signed;
pub mod v2;
pub mod v3;
