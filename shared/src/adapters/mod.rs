//! Adapters behind the ports: the embedded ones for the local stack and tests, and (in their
//! own modules) the AWS ones.

#[cfg(any(test, feature = "contract-tests"))]
pub mod contract;
#[cfg(any(test, feature = "fault-injection"))]
pub mod faults;
pub mod files;
#[cfg(any(test, feature = "contract-tests"))]
pub mod keys_contract;
pub mod mail;
pub mod sqlite;
pub mod system;
