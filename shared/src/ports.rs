//! Ports: the traits that handlers depend on. Adapters implement them over the embedded
//! store and folders (local stack, tests) or over AWS (DynamoDB, S3, SES v2).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{
    Achievement, AchievementId, ApiClient, Award, AwardId, AwardState, ClientId, EmailAddress,
    Issuer, IssuerId, Timestamp,
};
use crate::keys::{KeyError, KeyId, PublicKeyRecord, SigningAlgorithm, SigningKey};

/// A failure of the store. Conflicts and duplicates are expected outcomes that callers turn
/// into 409s; `Throttled` becomes 503; `Backend` is an unexpected fault (500, logged once).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write found another version than the one it expected.
    #[error("the record changed since it was read")]
    Conflict,
    /// An award with the same deduplication key exists.
    #[error("an award of this achievement to this recipient exists already ({existing})")]
    DuplicateAward { existing: AwardId },
    /// A create found a record with the same key.
    #[error("a record with this key exists already")]
    AlreadyExists,
    /// The cursor was not made by this store, or its record is gone.
    #[error("the cursor is invalid; pass the next_cursor value of a previous page unchanged")]
    InvalidCursor,
    /// The backend asked us to slow down.
    #[error("the store is throttling requests")]
    Throttled,
    #[error("store backend failed: {0:#}")]
    Backend(#[source] anyhow::Error),
}

/// A page request: at most `limit` items after `cursor`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub cursor: Option<String>,
}

/// One page of a listing; `next_cursor` is `None` on the last page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Which awards to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwardFilter {
    pub achievement_id: Option<AchievementId>,
    pub state: Option<AwardState>,
}

/// The scope of an `Idempotency-Key`: keys are per client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey {
    pub client_id: ClientId,
    pub key: String,
}

/// The response stored for an idempotent request, replayed for a retry with the same key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
}

/// What `begin_request` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyBegin {
    /// No live record: this request owns the key now and must complete or abandon it.
    Started,
    /// A record exists. `response` is `None` while the first request is still in flight.
    Existing {
        request_hash: String,
        response: Option<StoredResponse>,
    },
}

/// The record store: issuers, clients, achievements, awards and idempotency records.
///
/// Every update is conditional on the version that was read, so two concurrent claims, a
/// claim racing a revoke, or a replayed change cannot apply twice.
#[async_trait]
pub trait Store: Send + Sync {
    /// Reads a deployment-wide setting (such as the public base URL recorded on first start).
    async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Writes a setting unless it exists; returns the value now stored.
    async fn put_setting_if_absent(&self, name: &str, value: &str) -> Result<String, StoreError>;

    /// Creates an issuer; `AlreadyExists` if the id is taken.
    async fn create_issuer(&self, issuer: &Issuer) -> Result<(), StoreError>;
    /// Replaces an issuer if its stored version is `expected_version` (the new record carries
    /// `expected_version + 1`); `Conflict` otherwise.
    async fn update_issuer(&self, issuer: &Issuer, expected_version: u64)
    -> Result<(), StoreError>;
    async fn get_issuer(&self, id: IssuerId) -> Result<Option<Issuer>, StoreError>;
    async fn list_issuers(&self) -> Result<Vec<Issuer>, StoreError>;

    /// Creates or replaces a client (for disabling and secret rotation).
    async fn put_client(&self, client: &ApiClient) -> Result<(), StoreError>;
    async fn get_client(&self, client_id: &ClientId) -> Result<Option<ApiClient>, StoreError>;
    async fn list_clients(&self, issuer: IssuerId) -> Result<Vec<ApiClient>, StoreError>;

    /// Creates an achievement; `AlreadyExists` if the id is taken.
    async fn create_achievement(&self, achievement: &Achievement) -> Result<(), StoreError>;
    async fn get_achievement(&self, id: AchievementId) -> Result<Option<Achievement>, StoreError>;
    /// The issuer's achievements, oldest first.
    async fn list_achievements(
        &self,
        issuer: IssuerId,
        page: &PageRequest,
    ) -> Result<Page<Achievement>, StoreError>;

    /// Creates an award and, when it has a `dedup_key`, its deduplication record, atomically.
    /// `DuplicateAward` names the award that holds the key.
    async fn create_award(&self, award: &Award) -> Result<(), StoreError>;
    async fn get_award(&self, id: AwardId) -> Result<Option<Award>, StoreError>;
    /// Replaces an award if its stored version is `expected_version` (the new record carries
    /// `expected_version + 1`); `Conflict` otherwise. Keeps the claim-token lookup in step.
    async fn update_award(&self, award: &Award, expected_version: u64) -> Result<(), StoreError>;
    /// The award whose current claim token has this hash.
    async fn find_award_by_claim_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<Award>, StoreError>;
    /// The issuer's awards, oldest first.
    async fn list_awards(
        &self,
        issuer: IssuerId,
        filter: &AwardFilter,
        page: &PageRequest,
    ) -> Result<Page<Award>, StoreError>;
    /// Every revoked award of the issuer, for its revocation lists.
    async fn list_revoked_awards(&self, issuer: IssuerId) -> Result<Vec<Award>, StoreError>;

    /// Takes an idempotency key for a request with this body hash, unless a live record holds
    /// it. An in-flight record older than `in_flight_until` (a request that died) is taken
    /// over; a completed record lives until `expires_at` (24 hours).
    async fn begin_request(
        &self,
        key: &IdempotencyKey,
        request_hash: &str,
        now: Timestamp,
        in_flight_until: Timestamp,
        expires_at: Timestamp,
    ) -> Result<IdempotencyBegin, StoreError>;
    /// Stores the response of a request that `begin_request` started.
    async fn complete_request(
        &self,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), StoreError>;
    /// Releases a key whose request failed without a response worth replaying.
    async fn abandon_request(&self, key: &IdempotencyKey) -> Result<(), StoreError>;
}

/// A file kept by the file store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FileStoreError {
    #[error(
        "file key {0:?} is not valid; keys are relative paths of letters, digits, '-', '_', '.' and '/'"
    )]
    InvalidKey(String),
    #[error("file store failed: {0:#}")]
    Backend(#[source] anyhow::Error),
}

/// Files: uploaded achievement images and baked badge images.
#[async_trait]
pub trait FileStore: Send + Sync {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), FileStoreError>;
    async fn get(&self, key: &str) -> Result<Option<StoredFile>, FileStoreError>;
}

/// An email ready to send: both parts already rendered and escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: EmailAddress,
    /// The `From` header, such as `Accolade badges <badges@example.org>`.
    pub from: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Carried as a tag or header so delivery events can be matched to the award.
    pub award_id: AwardId,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The mail service asked us to slow down; retry later.
    #[error("the mail service is throttling sends")]
    Throttled,
    /// A fault that may pass; retry later.
    #[error("sending failed for now: {0}")]
    Transient(String),
    /// The mail service will never accept this message (for example a suppressed address).
    #[error("the mail service rejected the message: {0}")]
    Rejected(String),
}

impl MailError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled | Self::Transient(_))
    }
}

/// Sends claim emails.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends one email and returns the mail service's message id.
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError>;
}

/// The current time. Injected so tests can fix it and move it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// Sources of randomness: ids, identity salts, claim tokens and client secrets. Injected so
/// tests can fix the salt and the ids.
pub trait Random: Send + Sync {
    /// A random UUID v4.
    fn uuid(&self) -> Uuid;
    /// A fresh identity-hash salt (128 random bits, hex).
    fn salt(&self) -> String;
    /// A claim token or client secret: 256 random bits, base64url without padding.
    fn token(&self) -> String;
}

/// The public halves of every issuer's signing keys, for the JWK Set, the `kid` URLs, the
/// Open Badges 2.0 `CryptographicKey` documents and signature checks.
///
/// Keys are only ever added, so a key that signed a credential stays listed for good. Lists
/// are in the order the keys were added, oldest first; an issuer's last key is its active one.
#[async_trait]
pub trait PublicKeys: Send + Sync {
    /// Every issuer's keys, oldest first.
    async fn list_public_keys(&self) -> Result<Vec<PublicKeyRecord>, KeyError>;
    /// One issuer's keys, oldest first; the last one is the active key.
    async fn list_issuer_public_keys(
        &self,
        issuer: IssuerId,
    ) -> Result<Vec<PublicKeyRecord>, KeyError>;
    /// One key by its id.
    async fn get_public_key(&self, key_id: &KeyId) -> Result<Option<PublicKeyRecord>, KeyError>;
}

/// The private halves of the signing keys, for minting credentials and signed assertions,
/// beside the public records.
///
/// Implementations keep the public record in the store and the private key in a secret
/// store (locally a folder of PEM files, in AWS SSM Parameter Store), and may cache private
/// keys for the life of the process.
#[async_trait]
pub trait SigningKeys: PublicKeys {
    /// The private key of the key `key_id`; `None` when no such key is recorded.
    async fn signing_key(&self, key_id: &KeyId) -> Result<Option<SigningKey>, KeyError>;

    /// Adds a key and makes it the issuer's active key: the private half first, then the
    /// public record, so a published key always has its private half.
    async fn add_signing_key(&self, key: &SigningKey) -> Result<(), KeyError>;

    /// The issuer's active key (the one added last); `None` when the issuer has no key.
    async fn active_signing_key(&self, issuer: IssuerId) -> Result<Option<SigningKey>, KeyError> {
        let records = self.list_issuer_public_keys(issuer).await?;
        match records.last() {
            Some(record) => self.signing_key(&record.key_id).await,
            None => Ok(None),
        }
    }

    /// The issuer's most recently added key of `algorithm`, such as the RS256 key that signs
    /// Open Badges 2.0 assertions; `None` when the issuer has none.
    async fn latest_signing_key(
        &self,
        issuer: IssuerId,
        algorithm: SigningAlgorithm,
    ) -> Result<Option<SigningKey>, KeyError> {
        let records = self.list_issuer_public_keys(issuer).await?;
        match records
            .iter()
            .rev()
            .find(|record| record.algorithm == algorithm)
        {
            Some(record) => self.signing_key(&record.key_id).await,
            None => Ok(None),
        }
    }
}
