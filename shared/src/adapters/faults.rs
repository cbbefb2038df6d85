//! A store that passes every call to another store and fails the award writes a test chooses,
//! for tests of what callers do when the store fails part of the way through a request.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::domain::{
    Achievement, AchievementId, ApiClient, Award, AwardId, ClientId, Issuer, IssuerId, Timestamp,
};
use crate::ports::{
    AwardFilter, IdempotencyBegin, IdempotencyKey, Page, PageRequest, Store, StoreError,
    StoredResponse,
};

/// The kind of failure a failing write has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The write is not made, and the store reports a backend failure.
    Backend,
    /// The write is not made, and the store reports that it is throttling requests.
    Throttled,
    /// The write is made, but its response is lost: the caller gets a backend failure.
    LostResponse,
}

/// The planned failures of one kind of write: how many of the next writes fail, and how.
struct Planned(Mutex<(u32, Fault)>);

impl Planned {
    fn new() -> Self {
        Self(Mutex::new((0, Fault::Backend)))
    }

    fn set(&self, count: u32, fault: Fault) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = (count, fault);
    }

    /// Returns the fault for the next write, if it is one of the planned failures.
    fn next(&self) -> Option<Fault> {
        let mut planned = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if planned.0 == 0 {
            return None;
        }
        planned.0 -= 1;
        Some(planned.1)
    }
}

/// Makes `write` fail with `fault`, or runs it unchanged when there is no fault.
async fn with_fault(
    fault: Option<Fault>,
    write: impl Future<Output = Result<(), StoreError>>,
) -> Result<(), StoreError> {
    match fault {
        None => write.await,
        Some(Fault::Backend) => Err(StoreError::Backend(anyhow::anyhow!(
            "injected failure: the write was not made"
        ))),
        Some(Fault::Throttled) => Err(StoreError::Throttled),
        Some(Fault::LostResponse) => {
            write.await?;
            Err(StoreError::Backend(anyhow::anyhow!(
                "injected failure: the write was made but its response was lost"
            )))
        }
    }
}

/// Any store, with failures of the next award creations or updates injected by a test.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    creates: Planned,
    updates: Planned,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            creates: Planned::new(),
            updates: Planned::new(),
        }
    }

    /// Makes the next `count` calls of `create_award` fail with `fault`.
    pub fn fail_award_creates(&self, count: u32, fault: Fault) {
        self.creates.set(count, fault);
    }

    /// Makes the next `count` calls of `update_award` fail with `fault`.
    pub fn fail_award_updates(&self, count: u32, fault: Fault) {
        self.updates.set(count, fault);
    }
}

#[async_trait]
impl Store for FaultyStore {
    async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.inner.get_setting(name).await
    }
    async fn put_setting_if_absent(&self, name: &str, value: &str) -> Result<String, StoreError> {
        self.inner.put_setting_if_absent(name, value).await
    }
    async fn create_issuer(&self, issuer: &Issuer) -> Result<(), StoreError> {
        self.inner.create_issuer(issuer).await
    }
    async fn update_issuer(
        &self,
        issuer: &Issuer,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        self.inner.update_issuer(issuer, expected_version).await
    }
    async fn get_issuer(&self, id: IssuerId) -> Result<Option<Issuer>, StoreError> {
        self.inner.get_issuer(id).await
    }
    async fn list_issuers(&self) -> Result<Vec<Issuer>, StoreError> {
        self.inner.list_issuers().await
    }
    async fn put_client(&self, client: &ApiClient) -> Result<(), StoreError> {
        self.inner.put_client(client).await
    }
    async fn get_client(&self, client_id: &ClientId) -> Result<Option<ApiClient>, StoreError> {
        self.inner.get_client(client_id).await
    }
    async fn list_clients(&self, issuer: IssuerId) -> Result<Vec<ApiClient>, StoreError> {
        self.inner.list_clients(issuer).await
    }
    async fn create_achievement(&self, achievement: &Achievement) -> Result<(), StoreError> {
        self.inner.create_achievement(achievement).await
    }
    async fn get_achievement(&self, id: AchievementId) -> Result<Option<Achievement>, StoreError> {
        self.inner.get_achievement(id).await
    }
    async fn list_achievements(
        &self,
        issuer: IssuerId,
        page: &PageRequest,
    ) -> Result<Page<Achievement>, StoreError> {
        self.inner.list_achievements(issuer, page).await
    }
    async fn create_award(&self, award: &Award) -> Result<(), StoreError> {
        with_fault(self.creates.next(), self.inner.create_award(award)).await
    }
    async fn get_award(&self, id: AwardId) -> Result<Option<Award>, StoreError> {
        self.inner.get_award(id).await
    }
    async fn update_award(&self, award: &Award, expected_version: u64) -> Result<(), StoreError> {
        with_fault(
            self.updates.next(),
            self.inner.update_award(award, expected_version),
        )
        .await
    }
    async fn find_award_by_claim_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<Award>, StoreError> {
        self.inner.find_award_by_claim_token(token_hash).await
    }
    async fn list_awards(
        &self,
        issuer: IssuerId,
        filter: &AwardFilter,
        page: &PageRequest,
    ) -> Result<Page<Award>, StoreError> {
        self.inner.list_awards(issuer, filter, page).await
    }
    async fn list_revoked_awards(&self, issuer: IssuerId) -> Result<Vec<Award>, StoreError> {
        self.inner.list_revoked_awards(issuer).await
    }
    async fn begin_request(
        &self,
        key: &IdempotencyKey,
        request_hash: &str,
        now: Timestamp,
        in_flight_until: Timestamp,
        expires_at: Timestamp,
    ) -> Result<IdempotencyBegin, StoreError> {
        self.inner
            .begin_request(key, request_hash, now, in_flight_until, expires_at)
            .await
    }
    async fn complete_request(
        &self,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        self.inner.complete_request(key, response).await
    }
    async fn abandon_request(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        self.inner.abandon_request(key).await
    }
}
