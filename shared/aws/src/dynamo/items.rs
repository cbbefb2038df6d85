//! Items of the table built from records, and records read back from items.

use std::collections::HashMap;

use accolade::domain::{Achievement, ApiClient, Award, AwardId, AwardState, Issuer, IssuerId};
use accolade::ports::StoreError;
use anyhow::anyhow;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::schema::{
    DOC, GSI1_PARTITION_KEY, GSI1_SORT_KEY, KIND, PARTITION_KEY, REVOKED_PARTITION_KEY,
    REVOKED_SORT_KEY, SORT_KEY, VERSION, sortable_time,
};

pub(super) type Item = HashMap<String, AttributeValue>;

/// The item types of the table: each has its `kind` value and its key prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Setting,
    Issuer,
    Client,
    Achievement,
    Award,
    Dedup,
    ClaimToken,
    Idempotency,
}

impl Kind {
    /// Returns the value of the `kind` attribute.
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Setting => "setting",
            Self::Issuer => "issuer",
            Self::Client => "client",
            Self::Achievement => "achievement",
            Self::Award => "award",
            Self::Dedup => "dedup",
            Self::ClaimToken => "claim_token",
            Self::Idempotency => "idempotency",
        }
    }

    /// Returns the `sk` of every item of this kind, which is also its `pk` prefix before `#`.
    pub(super) fn sort_key(self) -> &'static str {
        match self {
            Self::Setting => "SETTING",
            Self::Issuer => "ISSUER",
            Self::Client => "CLIENT",
            Self::Achievement => "ACHIEVEMENT",
            Self::Award => "AWARD",
            Self::Dedup => "DEDUP",
            Self::ClaimToken => "CLAIM_TOKEN",
            Self::Idempotency => "IDEMPOTENCY",
        }
    }

    /// Returns the `pk` prefix, such as `AWARD#`.
    pub(super) fn pk_prefix(self) -> &'static str {
        match self {
            Self::Setting => "SETTING#",
            Self::Issuer => "ISSUER#",
            Self::Client => "CLIENT#",
            Self::Achievement => "ACHIEVEMENT#",
            Self::Award => "AWARD#",
            Self::Dedup => "DEDUP#",
            Self::ClaimToken => "CLAIM_TOKEN#",
            Self::Idempotency => "IDEMPOTENCY#",
        }
    }

    pub(super) fn pk(self, id: &str) -> String {
        format!("{}{id}", self.pk_prefix())
    }

    /// Builds the primary key of the item of this kind with this id.
    pub(super) fn key(self, id: &str) -> Item {
        HashMap::from([
            (PARTITION_KEY.to_owned(), string(self.pk(id))),
            (SORT_KEY.to_owned(), string(self.sort_key())),
        ])
    }

    /// Builds a new item with its primary key and `kind`.
    pub(super) fn new_item(self, id: &str) -> Item {
        let mut item = self.key(id);
        item.insert(KIND.to_owned(), string(self.name()));
        item
    }
}

pub(super) fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn number(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Builds the index partition of an issuer's listing of `what` (`CLIENTS`, `AWARDS`, ...).
pub(super) fn issuer_partition(issuer: IssuerId, what: &str) -> String {
    format!("ISSUER#{issuer}#{what}")
}

/// The index partition of all issuers.
pub(super) const ISSUERS_PARTITION: &str = "ISSUERS";

fn to_json<T: Serialize>(kind: Kind, id: &str, record: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(record).map(string).map_err(|error| {
        StoreError::Backend(anyhow!(
            "encoding {} {id} as JSON failed: {error}",
            kind.name()
        ))
    })
}

fn with_listing(mut item: Item, partition: String, sort: String) -> Item {
    item.insert(GSI1_PARTITION_KEY.to_owned(), string(partition));
    item.insert(GSI1_SORT_KEY.to_owned(), string(sort));
    item
}

pub(super) fn issuer_item(issuer: &Issuer) -> Result<Item, StoreError> {
    let id = issuer.id.to_string();
    let sort = format!("{}#{id}", sortable_time(issuer.created_at));
    let mut item = with_listing(
        Kind::Issuer.new_item(&id),
        ISSUERS_PARTITION.to_owned(),
        sort,
    );
    item.insert(DOC.to_owned(), to_json(Kind::Issuer, &id, issuer)?);
    item.insert(VERSION.to_owned(), number(issuer.version));
    Ok(item)
}

pub(super) fn client_item(client: &ApiClient) -> Result<Item, StoreError> {
    let id = client.client_id.as_str();
    let sort = format!("{}#{id}", sortable_time(client.created_at));
    let partition = issuer_partition(client.issuer_id, "CLIENTS");
    let mut item = with_listing(Kind::Client.new_item(id), partition, sort);
    item.insert(DOC.to_owned(), to_json(Kind::Client, id, client)?);
    Ok(item)
}

pub(super) fn achievement_item(achievement: &Achievement) -> Result<Item, StoreError> {
    let id = achievement.id.to_string();
    let sort = format!("{}#{id}", sortable_time(achievement.created_at));
    let partition = issuer_partition(achievement.issuer_id, "ACHIEVEMENTS");
    let mut item = with_listing(Kind::Achievement.new_item(&id), partition, sort);
    item.insert(
        DOC.to_owned(),
        to_json(Kind::Achievement, &id, achievement)?,
    );
    Ok(item)
}

/// The attribute names of an award's top-level copies of its fields.
pub(super) mod award_attributes {
    pub(in super::super) const ISSUER_ID: &str = "issuer_id";
    pub(in super::super) const ACHIEVEMENT_ID: &str = "achievement_id";
    pub(in super::super) const STATE: &str = "state";
    pub(in super::super) const DELIVERY: &str = "delivery";
    pub(in super::super) const CLAIM_TOKEN_HASH: &str = "claim_token_hash";
    /// Present (as `true`) only while the award needs a claim email, so the stream filter of
    /// `send-claims` can select those changes without comparing two counters.
    pub(in super::super) const CLAIM_EMAIL_DUE: &str = "claim_email_due";
}

/// Builds the award's sort key, the same in both indexes.
pub(super) fn award_sort_key(award: &Award) -> String {
    format!("{}#{}", sortable_time(award.issued_on), award.id)
}

pub(super) fn award_item(award: &Award) -> Result<Item, StoreError> {
    use award_attributes::*;

    let id = award.id.to_string();
    let sort = award_sort_key(award);
    let partition = issuer_partition(award.issuer_id, "AWARDS");
    let mut item = with_listing(Kind::Award.new_item(&id), partition, sort.clone());
    item.insert(DOC.to_owned(), to_json(Kind::Award, &id, award)?);
    item.insert(VERSION.to_owned(), number(award.version));
    item.insert(ISSUER_ID.to_owned(), string(award.issuer_id.to_string()));
    item.insert(
        ACHIEVEMENT_ID.to_owned(),
        string(award.achievement_id.to_string()),
    );
    item.insert(STATE.to_owned(), string(award.state.as_str()));
    item.insert(DELIVERY.to_owned(), string(award.delivery.as_str()));
    if let Some(token) = &award.claim_token {
        item.insert(CLAIM_TOKEN_HASH.to_owned(), string(token.hash.clone()));
    }
    if award.needs_claim_email() {
        item.insert(CLAIM_EMAIL_DUE.to_owned(), AttributeValue::Bool(true));
    }
    if award.state == AwardState::Revoked {
        item.insert(
            REVOKED_PARTITION_KEY.to_owned(),
            string(issuer_partition(award.issuer_id, "REVOKED")),
        );
        item.insert(REVOKED_SORT_KEY.to_owned(), string(sort));
    }
    Ok(item)
}

/// The attribute that names the award of a deduplication record or claim token item.
pub(super) const AWARD_ID: &str = "award_id";

/// Builds an item that points at an award: a deduplication record or a claim token.
pub(super) fn award_pointer_item(kind: Kind, id: &str, award: AwardId) -> Item {
    let mut item = kind.new_item(id);
    item.insert(AWARD_ID.to_owned(), string(award.to_string()));
    item
}

/// Returns the attribute `name` of `item` if it is a string.
pub(super) fn string_attribute<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

/// Returns the attribute `name` of `item` if it is a number that fits an `i64`.
pub(super) fn integer_attribute(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.parse().ok(),
        _ => None,
    }
}

/// Returns the item's `pk`, for messages.
pub(super) fn item_name(item: &Item) -> &str {
    string_attribute(item, PARTITION_KEY).unwrap_or("(an item without pk)")
}

/// Builds the error for an item with a missing or malformed attribute.
pub(super) fn corrupt(item: &Item, problem: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(anyhow!(
        "the stored item {} is corrupt ({problem}); restore it from a backup or delete it",
        item_name(item)
    ))
}

/// Decodes the record in the item's `doc`, failing with the item's key when it is missing or
/// does not decode, so a corrupt record is never skipped silently.
pub(super) fn decode_doc<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let doc = string_attribute(item, DOC).ok_or_else(|| corrupt(item, "it has no doc string"))?;
    serde_json::from_str(doc).map_err(|error| corrupt(item, error))
}

/// Reads the award id of an award pointer item.
pub(super) fn pointed_award(item: &Item) -> Result<AwardId, StoreError> {
    string_attribute(item, AWARD_ID)
        .ok_or_else(|| corrupt(item, "it has no award_id string"))?
        .parse()
        .map_err(|error| corrupt(item, error))
}
