//! The record store over one DynamoDB table. The key schema is documented at the crate root.

mod cursor;
mod errors;
mod items;
mod keys;
pub mod schema;
mod store;

use aws_sdk_dynamodb::Client;

/// The [`Store`](accolade::ports::Store) over one DynamoDB table.
///
/// Reads of single records are strongly consistent `GetItem`s, because handlers read a record
/// and then write it conditionally on its version: an eventually consistent read would turn
/// into a spurious `Conflict` right after a write. Listings query a global secondary index and
/// are eventually consistent, as every GSI read is.
///
/// Cloning is cheap: clones share the SDK client and its connection pool.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// Wraps a client for the table named `table` (its name, not its ARN).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}
