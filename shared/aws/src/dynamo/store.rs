//! The `Store` port over the table.

use std::collections::HashMap;

use accolade::adapters::sqlite::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
use accolade::domain::{
    Achievement, AchievementId, ApiClient, Award, AwardId, AwardState, ClientId, Issuer, IssuerId,
    Timestamp,
};
use accolade::ports::{
    AwardFilter, IdempotencyBegin, IdempotencyKey, Page, PageRequest, Store, StoreError,
    StoredResponse,
};
use anyhow::anyhow;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use serde::de::DeserializeOwned;

use super::DynamoStore;
use super::cursor::{CursorScope, is_canonical_uuid};
use super::errors::{Cancellation, store_error};
use super::items::{
    AWARD_ID, ISSUERS_PARTITION, Item, Kind, achievement_item, award_attributes, award_item,
    award_pointer_item, client_item, corrupt, decode_doc, integer_attribute, issuer_item,
    issuer_partition, number, pointed_award, string, string_attribute,
};
use super::schema::{
    GSI1, GSI1_PARTITION_KEY, GSI1_SORT_KEY, PARTITION_KEY, REVOKED_INDEX, REVOKED_PARTITION_KEY,
    REVOKED_SORT_KEY, TTL_ATTRIBUTE, VERSION,
};

/// The minimum `Limit` of a query of a filtered listing. Filters apply after the read, so
/// requesting only the items still missing would take many round trips when few items match.
const FILTERED_QUERY_BATCH: usize = 200;

/// How often `begin_request` tries again when the record it collided with is gone before it
/// could be read (abandoned or expired in between).
const BEGIN_REQUEST_ATTEMPTS: usize = 3;

/// The setting item's value attribute.
const SETTING_VALUE: &str = "value";

/// Attributes of idempotency records.
const REQUEST_HASH: &str = "request_hash";
const IN_FLIGHT_UNTIL: &str = "in_flight_until";
const RESPONSE: &str = "response";

/// A condition expression with its placeholders.
#[derive(Debug, Clone, Default)]
struct Condition {
    expression: String,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Condition {
    fn new(expression: &str) -> Self {
        Self {
            expression: expression.to_owned(),
            ..Self::default()
        }
    }

    /// The item must not exist yet.
    fn absent() -> Self {
        Self::new(&format!("attribute_not_exists({PARTITION_KEY})"))
    }

    /// The item must exist with this version.
    fn version_is(expected: u64) -> Self {
        Self::new("#version = :expected_version")
            .name("#version", VERSION)
            .value(":expected_version", number(expected))
    }

    /// The item must be absent or point at this award.
    fn absent_or_points_at(award: AwardId) -> Self {
        Self::new(&format!(
            "attribute_not_exists({PARTITION_KEY}) OR #award_id = :award_id"
        ))
        .name("#award_id", AWARD_ID)
        .value(":award_id", string(award.to_string()))
    }

    fn name(mut self, placeholder: &str, name: &str) -> Self {
        self.names.insert(placeholder.to_owned(), name.to_owned());
        self
    }

    fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// The outcome of a conditional put.
enum PutOutcome {
    Written,
    /// The condition failed; the item as it was, when DynamoDB returned it.
    ConditionFailed(Option<Item>),
}

/// A query of one index partition, optionally filtered.
struct Listing {
    index: &'static str,
    partition_key: &'static str,
    sort_key: &'static str,
    partition: String,
    filter: Option<Condition>,
}

impl Listing {
    fn gsi1(partition: String) -> Self {
        Self {
            index: GSI1,
            partition_key: GSI1_PARTITION_KEY,
            sort_key: GSI1_SORT_KEY,
            partition,
            filter: None,
        }
    }

    fn revoked(issuer: IssuerId) -> Self {
        Self {
            index: REVOKED_INDEX,
            partition_key: REVOKED_PARTITION_KEY,
            sort_key: REVOKED_SORT_KEY,
            partition: issuer_partition(issuer, "REVOKED"),
            filter: None,
        }
    }
}

/// Returns the page size of a request: `limit` clamped to 1..=`MAX_PAGE_LIMIT`, or the
/// default when it is 0, as in the embedded store.
fn page_limit(limit: u32) -> usize {
    let limit = match limit {
        0 => DEFAULT_PAGE_LIMIT,
        other => other.min(MAX_PAGE_LIMIT),
    };
    limit as usize
}

fn build_error(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(anyhow!("building the {what} request failed: {error}"))
}

impl DynamoStore {
    async fn get_item(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let name = string_attribute(&key, PARTITION_KEY)
            .unwrap_or_default()
            .to_owned();
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map(|output| output.item)
            .map_err(|error| {
                store_error(error, || {
                    format!("reading item {name} from table {} failed", self.table)
                })
            })
    }

    async fn get_record<T: DeserializeOwned>(
        &self,
        kind: Kind,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        self.get_item(kind.key(id))
            .await?
            .map(|item| decode_doc(&item))
            .transpose()
    }

    /// Writes `item` if `condition` holds.
    async fn put_if(&self, item: Item, condition: Condition) -> Result<PutOutcome, StoreError> {
        let name = string_attribute(&item, PARTITION_KEY)
            .unwrap_or_default()
            .to_owned();
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition.expression.clone())
            .set_expression_attribute_names(condition.names())
            .set_expression_attribute_values(condition.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Written),
            Err(error) => match error.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    Ok(PutOutcome::ConditionFailed(failed.item().cloned()))
                }
                _ => Err(store_error(error, || {
                    format!("writing item {name} to table {} failed", self.table)
                })),
            },
        }
    }

    /// Creates `item`; `AlreadyExists` when an item with its key exists.
    ///
    /// NOTE: when the SDK retries a write whose first attempt succeeded but whose response was
    /// lost, the retry finds the item and this returns `AlreadyExists` for our own write.
    /// Callers that retry a create should read the record before treating that as a clash.
    async fn create(&self, item: Item) -> Result<(), StoreError> {
        match self.put_if(item, Condition::absent()).await? {
            PutOutcome::Written => Ok(()),
            PutOutcome::ConditionFailed(_) => Err(StoreError::AlreadyExists),
        }
    }

    /// Replaces `item` if the stored one has `expected_version`; `Conflict` otherwise.
    async fn replace_versioned(&self, item: Item, expected_version: u64) -> Result<(), StoreError> {
        match self
            .put_if(item, Condition::version_is(expected_version))
            .await?
        {
            PutOutcome::Written => Ok(()),
            PutOutcome::ConditionFailed(_) => Err(StoreError::Conflict),
        }
    }

    /// Runs the actions in one transaction. `Err(Ok(reasons))` carries the cancellation
    /// reasons, `Err(Err(_))` any other failure.
    ///
    /// The SDK fills in `ClientRequestToken`, so when it retries a transaction that did commit
    /// (its response was lost), DynamoDB returns success instead of failing the conditions.
    async fn transact(
        &self,
        actions: Vec<TransactWriteItem>,
        what: impl FnOnce() -> String,
    ) -> Result<(), Result<Vec<aws_sdk_dynamodb::types::CancellationReason>, StoreError>> {
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                    Err(Ok(cancelled.cancellation_reasons().to_vec()))
                }
                _ => Err(Err(store_error(error, what))),
            },
        }
    }

    fn put_action(
        &self,
        item: Item,
        condition: Condition,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition.expression.clone())
            .set_expression_attribute_names(condition.names())
            .set_expression_attribute_values(condition.values())
            .build()
            .map_err(|error| build_error("transaction put", error))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete_action(
        &self,
        key: Item,
        condition: Condition,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .condition_expression(condition.expression.clone())
            .set_expression_attribute_names(condition.names())
            .set_expression_attribute_values(condition.values())
            .build()
            .map_err(|error| build_error("transaction delete", error))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Runs one query call and returns its items and the key to continue from.
    async fn query(
        &self,
        listing: &Listing,
        start: Option<Item>,
        limit: Option<usize>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let mut names =
            HashMap::from([("#partition".to_owned(), listing.partition_key.to_owned())]);
        let mut values =
            HashMap::from([(":partition".to_owned(), string(listing.partition.clone()))]);
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(listing.index)
            .key_condition_expression("#partition = :partition")
            .set_exclusive_start_key(start)
            .set_limit(limit.map(|limit| i32::try_from(limit).unwrap_or(i32::MAX)));
        if let Some(filter) = &listing.filter {
            names.extend(filter.names.clone());
            values.extend(filter.values.clone());
            request = request.filter_expression(filter.expression.clone());
        }
        let output = request
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|error| {
                store_error(error, || {
                    format!(
                        "querying index {} of table {} for {} failed",
                        listing.index, self.table, listing.partition
                    )
                })
            })?;
        Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
    }

    /// Reads every record of a listing, in index order.
    async fn query_all<T: DeserializeOwned>(&self, listing: Listing) -> Result<Vec<T>, StoreError> {
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let (items, last) = self.query(&listing, start, None).await?;
            for item in &items {
                records.push(decode_doc(item)?);
            }
            match last {
                Some(last) => start = Some(last),
                None => return Ok(records),
            }
        }
    }

    /// Reads one page of a listing. It reads one item more than the page size, to find out
    /// whether another page follows, so a listing never ends on an empty page.
    async fn read_page<T: DeserializeOwned>(
        &self,
        listing: Listing,
        kind: Kind,
        scope: CursorScope,
        page: &PageRequest,
    ) -> Result<Page<T>, StoreError> {
        let limit = page_limit(page.limit);
        let mut start = match &page.cursor {
            Some(cursor) => Some(scope.decode(
                cursor,
                kind.sort_key(),
                (listing.partition_key, listing.sort_key),
                &listing.partition,
            )?),
            None => None,
        };

        let mut items = Vec::new();
        loop {
            let missing = limit + 1 - items.len();
            let batch = if listing.filter.is_some() {
                missing.max(FILTERED_QUERY_BATCH)
            } else {
                missing
            };
            let (found, last) = self.query(&listing, start.take(), Some(batch)).await?;
            items.extend(found);
            match last {
                Some(last) if items.len() <= limit => start = Some(last),
                _ => break,
            }
        }

        let more = items.len() > limit;
        items.truncate(limit);
        let next_cursor = match items.last() {
            Some(last) if more => {
                let pk = string_attribute(last, PARTITION_KEY)
                    .ok_or_else(|| corrupt(last, "it has no pk string"))?;
                let sort = string_attribute(last, listing.sort_key)
                    .ok_or_else(|| corrupt(last, "it has no index sort key"))?;
                Some(scope.encode(pk, sort)?)
            }
            _ => None,
        };
        let items = items.iter().map(decode_doc).collect::<Result<_, _>>()?;
        Ok(Page { items, next_cursor })
    }

    /// Converts a stored idempotency record into `IdempotencyBegin::Existing`.
    fn existing_request(item: &Item) -> Result<IdempotencyBegin, StoreError> {
        let request_hash = string_attribute(item, REQUEST_HASH)
            .ok_or_else(|| corrupt(item, "it has no request_hash string"))?
            .to_owned();
        let response = string_attribute(item, RESPONSE)
            .map(|json| {
                serde_json::from_str::<StoredResponse>(json).map_err(|error| corrupt(item, error))
            })
            .transpose()?;
        Ok(IdempotencyBegin::Existing {
            request_hash,
            response,
        })
    }

    /// Checks whether an idempotency record still owns its key at `now`: until
    /// `in_flight_until` while in flight, and until `expires_at` once completed.
    fn request_is_live(item: &Item, now: Timestamp) -> bool {
        let until = if item.contains_key(RESPONSE) {
            integer_attribute(item, TTL_ATTRIBUTE)
        } else {
            integer_attribute(item, IN_FLIGHT_UNTIL)
        };
        until.is_some_and(|until| now.unix_seconds() < until)
    }
}

fn idempotency_id(key: &IdempotencyKey) -> String {
    format!("{}#{}", key.client_id, key.key)
}

#[async_trait]
impl Store for DynamoStore {
    async fn get_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let Some(item) = self.get_item(Kind::Setting.key(name)).await? else {
            return Ok(None);
        };
        string_attribute(&item, SETTING_VALUE)
            .map(|value| Some(value.to_owned()))
            .ok_or_else(|| corrupt(&item, "it has no value string"))
    }

    async fn put_setting_if_absent(&self, name: &str, value: &str) -> Result<String, StoreError> {
        let mut item = Kind::Setting.new_item(name);
        item.insert(SETTING_VALUE.to_owned(), string(value));
        let existing = match self.put_if(item, Condition::absent()).await? {
            PutOutcome::Written => return Ok(value.to_owned()),
            PutOutcome::ConditionFailed(Some(existing)) => existing,
            PutOutcome::ConditionFailed(None) => self
                .get_item(Kind::Setting.key(name))
                .await?
                .ok_or_else(|| {
                    StoreError::Backend(anyhow!(
                        "setting {name:?} exists and then did not; settings are never deleted, \
                         so check for another writer"
                    ))
                })?,
        };
        string_attribute(&existing, SETTING_VALUE)
            .map(str::to_owned)
            .ok_or_else(|| corrupt(&existing, "it has no value string"))
    }

    async fn create_issuer(&self, issuer: &Issuer) -> Result<(), StoreError> {
        self.create(issuer_item(issuer)?).await
    }

    async fn update_issuer(
        &self,
        issuer: &Issuer,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let stored = Issuer {
            version: expected_version.saturating_add(1),
            ..issuer.clone()
        };
        self.replace_versioned(issuer_item(&stored)?, expected_version)
            .await
    }

    async fn get_issuer(&self, id: IssuerId) -> Result<Option<Issuer>, StoreError> {
        self.get_record(Kind::Issuer, &id.to_string()).await
    }

    async fn list_issuers(&self) -> Result<Vec<Issuer>, StoreError> {
        self.query_all(Listing::gsi1(ISSUERS_PARTITION.to_owned()))
            .await
    }

    async fn put_client(&self, client: &ApiClient) -> Result<(), StoreError> {
        let item = client_item(client)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|error| {
                store_error(error, || {
                    format!(
                        "writing client {} to table {} failed",
                        client.client_id, self.table
                    )
                })
            })?;
        Ok(())
    }

    async fn get_client(&self, client_id: &ClientId) -> Result<Option<ApiClient>, StoreError> {
        self.get_record(Kind::Client, client_id.as_str()).await
    }

    async fn list_clients(&self, issuer: IssuerId) -> Result<Vec<ApiClient>, StoreError> {
        self.query_all(Listing::gsi1(issuer_partition(issuer, "CLIENTS")))
            .await
    }

    async fn create_achievement(&self, achievement: &Achievement) -> Result<(), StoreError> {
        self.create(achievement_item(achievement)?).await
    }

    async fn get_achievement(&self, id: AchievementId) -> Result<Option<Achievement>, StoreError> {
        self.get_record(Kind::Achievement, &id.to_string()).await
    }

    async fn list_achievements(
        &self,
        issuer: IssuerId,
        page: &PageRequest,
    ) -> Result<Page<Achievement>, StoreError> {
        let listing = Listing::gsi1(issuer_partition(issuer, "ACHIEVEMENTS"));
        let scope = CursorScope::new(
            &format!("achievements\u{0}{issuer}"),
            Kind::Achievement.pk_prefix(),
            is_canonical_uuid,
        );
        self.read_page(listing, Kind::Achievement, scope, page)
            .await
    }

    async fn create_award(&self, award: &Award) -> Result<(), StoreError> {
        let item = award_item(award)?;
        let mut actions = vec![self.put_action(item.clone(), Condition::absent())?];
        let dedup_action = match &award.dedup_key {
            Some(key) => {
                let dedup = award_pointer_item(Kind::Dedup, key, award.id);
                actions.push(self.put_action(dedup, Condition::absent())?);
                Some(actions.len() - 1)
            }
            None => None,
        };
        let token_action = match &award.claim_token {
            Some(token) => {
                let pointer = award_pointer_item(Kind::ClaimToken, &token.hash, award.id);
                actions.push(self.put_action(pointer, Condition::absent())?);
                Some(actions.len() - 1)
            }
            None => None,
        };
        if actions.len() == 1 {
            return self.create(item).await;
        }

        let what = || format!("creating award {} in table {} failed", award.id, self.table);
        let reasons = match self.transact(actions, what).await {
            Ok(()) => return Ok(()),
            Err(Err(error)) => return Err(error),
            Err(Ok(reasons)) => reasons,
        };
        let cancellation = Cancellation::new(&reasons);
        if let (Some(index), Some(key)) = (dedup_action, &award.dedup_key)
            && cancellation.condition_failed(index)
        {
            let holder = self
                .get_item(Kind::Dedup.key(key))
                .await?
                .ok_or(StoreError::Conflict)?;
            return Err(StoreError::DuplicateAward {
                existing: pointed_award(&holder)?,
            });
        }
        if cancellation.condition_failed(0) {
            return Err(StoreError::AlreadyExists);
        }
        if token_action.is_some_and(|index| cancellation.condition_failed(index)) {
            return Err(StoreError::Backend(anyhow!(
                "creating award {} failed: another award has the same claim token hash",
                award.id
            )));
        }
        Err(cancellation.other_error(what))
    }

    async fn get_award(&self, id: AwardId) -> Result<Option<Award>, StoreError> {
        self.get_record(Kind::Award, &id.to_string()).await
    }

    async fn update_award(&self, award: &Award, expected_version: u64) -> Result<(), StoreError> {
        let stored = Award {
            version: expected_version.saturating_add(1),
            ..award.clone()
        };
        let item = award_item(&stored)?;

        // The claim token item of the stored award must go when the token changes, so read
        // the stored award first. The write below is conditional on the version read here,
        // so the token seen here is the one being replaced.
        let id = award.id.to_string();
        let Some(current) = self.get_item(Kind::Award.key(&id)).await? else {
            return Err(StoreError::Conflict);
        };
        let current_version = integer_attribute(&current, VERSION);
        if u64::try_from(current_version.unwrap_or(-1)).ok() != Some(expected_version) {
            return Err(StoreError::Conflict);
        }
        let old_hash = string_attribute(&current, award_attributes::CLAIM_TOKEN_HASH);
        let new_hash = stored.claim_token.as_ref().map(|token| token.hash.as_str());
        if old_hash == new_hash {
            return self.replace_versioned(item, expected_version).await;
        }

        let mut actions = vec![self.put_action(item, Condition::version_is(expected_version))?];
        if let Some(old_hash) = old_hash {
            actions.push(self.delete_action(
                Kind::ClaimToken.key(old_hash),
                Condition::absent_or_points_at(award.id),
            )?);
        }
        if let Some(new_hash) = new_hash {
            let pointer = award_pointer_item(Kind::ClaimToken, new_hash, award.id);
            actions.push(self.put_action(pointer, Condition::absent_or_points_at(award.id))?);
        }
        let what = || format!("updating award {} in table {} failed", award.id, self.table);
        let reasons = match self.transact(actions, what).await {
            Ok(()) => return Ok(()),
            Err(Err(error)) => return Err(error),
            Err(Ok(reasons)) => reasons,
        };
        let cancellation = Cancellation::new(&reasons);
        if cancellation.condition_failed(0) {
            return Err(StoreError::Conflict);
        }
        if (1..reasons.len()).any(|index| cancellation.condition_failed(index)) {
            return Err(StoreError::Backend(anyhow!(
                "updating award {} failed: a claim token item of this award belongs to another \
                 award",
                award.id
            )));
        }
        Err(cancellation.other_error(what))
    }

    async fn find_award_by_claim_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<Award>, StoreError> {
        let Some(pointer) = self.get_item(Kind::ClaimToken.key(token_hash)).await? else {
            return Ok(None);
        };
        let award_id = pointed_award(&pointer)?;
        let award: Option<Award> = self.get_award(award_id).await?;
        // The award is the truth: its current token must still be this one.
        Ok(award.filter(|award| {
            award
                .claim_token
                .as_ref()
                .is_some_and(|token| token.hash == token_hash)
        }))
    }

    async fn list_awards(
        &self,
        issuer: IssuerId,
        filter: &AwardFilter,
        page: &PageRequest,
    ) -> Result<Page<Award>, StoreError> {
        let achievement = filter.achievement_id.map(|id| id.to_string());
        let state = filter.state;
        let scope = CursorScope::new(
            &format!(
                "awards\u{0}{issuer}\u{0}{}\u{0}{}",
                achievement.as_deref().unwrap_or("*"),
                state.map(AwardState::as_str).unwrap_or("*")
            ),
            Kind::Award.pk_prefix(),
            is_canonical_uuid,
        );

        // Revoked awards have their own sparse index; other states are filtered from the
        // issuer's awards.
        let mut listing = match state {
            Some(AwardState::Revoked) => Listing::revoked(issuer),
            _ => Listing::gsi1(issuer_partition(issuer, "AWARDS")),
        };
        let mut conditions = Vec::new();
        let mut condition = Condition::default();
        if let Some(achievement) = achievement {
            conditions.push("#achievement_id = :achievement_id");
            condition = condition
                .name("#achievement_id", award_attributes::ACHIEVEMENT_ID)
                .value(":achievement_id", string(achievement));
        }
        if let Some(state) = state.filter(|state| *state != AwardState::Revoked) {
            conditions.push("#state = :state");
            condition = condition
                .name("#state", award_attributes::STATE)
                .value(":state", string(state.as_str()));
        }
        if !conditions.is_empty() {
            condition.expression = conditions.join(" AND ");
            listing.filter = Some(condition);
        }
        self.read_page(listing, Kind::Award, scope, page).await
    }

    async fn list_revoked_awards(&self, issuer: IssuerId) -> Result<Vec<Award>, StoreError> {
        self.query_all(Listing::revoked(issuer)).await
    }

    async fn begin_request(
        &self,
        key: &IdempotencyKey,
        request_hash: &str,
        now: Timestamp,
        in_flight_until: Timestamp,
        expires_at: Timestamp,
    ) -> Result<IdempotencyBegin, StoreError> {
        let id = idempotency_id(key);
        let mut item = Kind::Idempotency.new_item(&id);
        item.insert(REQUEST_HASH.to_owned(), string(request_hash));
        item.insert(
            IN_FLIGHT_UNTIL.to_owned(),
            number(in_flight_until.unix_seconds()),
        );
        item.insert(TTL_ATTRIBUTE.to_owned(), number(expires_at.unix_seconds()));
        // Taken when absent, or when the record there is no longer live: an in-flight record
        // past `in_flight_until` (its request died) or a completed one past `expires_at`
        // (time to live deletes those only eventually).
        let condition = Condition::new(&format!(
            "attribute_not_exists({PARTITION_KEY}) \
             OR (attribute_not_exists(#response) AND #in_flight_until <= :now) \
             OR (attribute_exists(#response) AND #expires_at <= :now)"
        ))
        .name("#response", RESPONSE)
        .name("#in_flight_until", IN_FLIGHT_UNTIL)
        .name("#expires_at", TTL_ATTRIBUTE)
        .value(":now", number(now.unix_seconds()));

        for _ in 0..BEGIN_REQUEST_ATTEMPTS {
            let existing = match self.put_if(item.clone(), condition.clone()).await? {
                PutOutcome::Written => return Ok(IdempotencyBegin::Started),
                PutOutcome::ConditionFailed(Some(existing)) => Some(existing),
                PutOutcome::ConditionFailed(None) => {
                    self.get_item(Kind::Idempotency.key(&id)).await?
                }
            };
            if let Some(existing) = existing
                && Self::request_is_live(&existing, now)
            {
                return Self::existing_request(&existing);
            }
        }
        Err(StoreError::Backend(anyhow!(
            "taking idempotency key {:?} of client {} failed: the record changed on each of \
             {BEGIN_REQUEST_ATTEMPTS} attempts",
            key.key,
            key.client_id
        )))
    }

    async fn complete_request(
        &self,
        key: &IdempotencyKey,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(response).map_err(|error| {
            StoreError::Backend(anyhow!(
                "encoding the response of idempotency key {:?} failed: {error}",
                key.key
            ))
        })?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Kind::Idempotency.key(&idempotency_id(key))))
            .update_expression("SET #response = :response")
            .condition_expression(format!(
                "attribute_exists({PARTITION_KEY}) AND attribute_not_exists(#response)"
            ))
            .expression_attribute_names("#response", RESPONSE)
            .expression_attribute_values(":response", string(json))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // No in-flight record: the request was abandoned or completed before, so the key
            // is not this request's to complete.
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(StoreError::Conflict)
            }
            Err(error) => Err(store_error(error, || {
                format!(
                    "completing idempotency key {:?} of client {} failed",
                    key.key, key.client_id
                )
            })),
        }
    }

    async fn abandon_request(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Kind::Idempotency.key(&idempotency_id(key))))
            .condition_expression("attribute_not_exists(#response)")
            .expression_attribute_names("#response", RESPONSE)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // A completed record stays: its response is replayed to retries.
            Err(error)
                if matches!(
                    error.as_service_error(),
                    Some(DeleteItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(())
            }
            Err(error) => Err(store_error(error, || {
                format!(
                    "releasing idempotency key {:?} of client {} failed",
                    key.key, key.client_id
                )
            })),
        }
    }
}
