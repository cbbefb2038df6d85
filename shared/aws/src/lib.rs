//! Accolade's AWS adapters: the ports of [`accolade::ports`] over DynamoDB, S3 and SES v2,
//! secrets from SSM Parameter Store, and the typed configuration of a function on Lambda.
//!
//! - [`DynamoStore`]: the [`Store`](accolade::ports::Store) over one DynamoDB table;
//! - [`stream`]: the table's stream records turned back into awards;
//! - [`S3FileStore`]: the [`FileStore`](accolade::ports::FileStore) over a private bucket;
//! - [`SesMailer`]: the [`Mailer`](accolade::ports::Mailer) over SES v2;
//! - [`secrets`]: SecureString parameters read once at start;
//! - [`AwsSigningKeys`]: the [`SigningKeys`](accolade::ports::SigningKeys) over the table
//!   and SSM SecureString parameters; the [`DynamoStore`] alone is the
//!   [`PublicKeys`](accolade::ports::PublicKeys);
//! - [`AwsConfig`] and [`sdk_config`]: the environment and the SDK configuration.
//!
//! Kept apart from `accolade` so that code which never talks to AWS (the local stack, the
//! domain and its tests) does not compile the AWS SDK.
//!
//! # Table layout
//!
//! One table contains every record. Each item has the key attributes below, a `kind` attribute
//! naming the item type, and for records a `doc` attribute: the record as a JSON string,
//! exactly as `serde_json` writes the domain type. Stream images therefore carry the whole
//! record. Times in sort keys are Unix seconds written as 20 digits after flipping the sign
//! bit, so that string order is time order (see [`schema::sortable_time`]).
//!
//! | item | `pk` | `sk` | `gsi1pk` | `gsi1sk` | other attributes |
//! |---|---|---|---|---|---|
//! | setting | `SETTING#{name}` | `SETTING` | | | `value` |
//! | issuer | `ISSUER#{id}` | `ISSUER` | `ISSUERS` | `{created_at}#{id}` | `doc`, `version` |
//! | API client | `CLIENT#{client_id}` | `CLIENT` | `ISSUER#{issuer_id}#CLIENTS` | `{created_at}#{client_id}` | `doc` |
//! | achievement | `ACHIEVEMENT#{id}` | `ACHIEVEMENT` | `ISSUER#{issuer_id}#ACHIEVEMENTS` | `{created_at}#{id}` | `doc` |
//! | award | `AWARD#{id}` | `AWARD` | `ISSUER#{issuer_id}#AWARDS` | `{issued_on}#{id}` | `doc`, `version`, `issuer_id`, `achievement_id`, `state`, `delivery`, `claim_token_hash`, `claim_email_due`; `revoked_pk` and `revoked_sk` when revoked |
//! | deduplication record | `DEDUP#{dedup_key}` | `DEDUP` | | | `award_id` |
//! | claim token | `CLAIM_TOKEN#{hash}` | `CLAIM_TOKEN` | | | `award_id` |
//! | idempotency record | `IDEMPOTENCY#{client_id}#{key}` | `IDEMPOTENCY` | | | `request_hash`, `in_flight_until`, `expires_at` (TTL), `response` once completed |
//! | signing key (public record) | `SIGNING_KEY#{key_id}` | `SIGNING_KEY` | | | `doc`, `key_id`, `issuer_id` |
//! | signing key, in every issuer's listing | `SIGNING_KEYS` | `{sequence}` | | | `doc`, `key_id`, `issuer_id` |
//! | signing key, in its issuer's listing | `ISSUER#{issuer_id}` | `SIGNING_KEY#{sequence}` | | | `doc`, `key_id`, `issuer_id` |
//! | signing key counter | `SIGNING_KEY_SEQUENCE` | `SIGNING_KEY_SEQUENCE` | | | `value`: the last `{sequence}` taken |
//!
//! Indexes, both projecting all attributes:
//!
//! | index | partition key | sort key | holds |
//! |---|---|---|---|
//! | `gsi1` | `gsi1pk` | `gsi1sk` | the listings: issuers, an issuer's clients, achievements and awards |
//! | `revoked` | `revoked_pk` = `ISSUER#{issuer_id}#REVOKED` | `revoked_sk` = `{issued_on}#{id}` | revoked awards only (sparse), for the revocation lists |
//!
//! The table has a stream with new and old images, point-in-time recovery, on-demand
//! capacity, and time to live on `expires_at`, which only idempotency records carry. The
//! same definition is in `template.yaml` and in [`DynamoStore::create_table_for_tests`]:
//! change both together.
//!
//! The award's top-level attributes copy fields of `doc` for the stream filters of the
//! functions (`state`, `claim_email_due`) and for listing filters (`achievement_id`,
//! `state`). They are derived from the award on every write, so they never drift from it.
//!
//! # Choices
//!
//! - Claim tokens are found through a claim token item per current token, written and
//!   deleted in the same transaction as the award update that changes the token. A lookup is
//!   then two strongly consistent `GetItem`s, so a link clicked right after the email was
//!   sent always works (a GSI is eventually consistent), and the item's write condition
//!   keeps two awards from sharing one hash. The award stays the truth: a lookup returns the
//!   award only while its current token has the hash.
//! - Award creation is one transaction of the award and its deduplication record, both
//!   conditional on not existing. When the deduplication record's condition fails, the store
//!   reads it and returns `DuplicateAward` with the award it names.
//! - Listings filtered by achievement, or by a state other than revoked, query the issuer's
//!   awards and filter them after the read. Each such query asks for at least 200 items, so a
//!   rare match costs read capacity rather than round trips. A large issuer that filters often
//!   would want an index per achievement.
//! - Signing keys: a key's public record is written three times in one transaction and
//!   never changed. The key item is one `GetItem` by key id (the `kid` URLs, signature
//!   checks). The listing items make every issuer's keys (the JWK Set) and one issuer's keys
//!   (its active key) each one strongly consistent `Query` of a partition of the main table,
//!   so a rotation takes effect at once and IAM can allow exactly those partitions.
//!   `{sequence}` is the key's number from the counter item, 20 digits, so both listings
//!   keep the order in which keys were added even when two share a creation second. The
//!   private keys are not in the table: they are SSM SecureString parameters (see
//!   [`AwsSigningKeys`]).
//! - A page's cursor is the key of its last item (the `LastEvaluatedKey` of the page), bound
//!   to its listing; see `dynamo::cursor`.

mod config;
mod dynamo;
mod s3;
pub mod secrets;
mod ses;
mod signing_keys;
pub mod stream;

pub use config::{AwsConfig, s3_client, sdk_config, sdk_config_loader, variables};
pub use dynamo::{DynamoStore, schema};
pub use s3::{S3FileStore, cache_control_for};
pub use ses::{AWARD_ID_TAG, SesMailer};
pub use signing_keys::{AwsSigningKeys, InvalidSigningKeyPrefix, SigningKeyPrefix};
