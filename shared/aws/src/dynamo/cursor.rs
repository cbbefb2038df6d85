//! Page cursors: the key of the last item of a page, encoded, and checked on the way back.
//!
//! A cursor contains the item's table key (`pk`) and its index sort key. The index partition
//! key comes from the request itself, so a cursor can never reach into another issuer's listing.
//! A tag derived from the listing (record kind, issuer, filter) makes a cursor of another
//! listing fail with `InvalidCursor` instead of starting somewhere unrelated.

use std::collections::HashMap;

use accolade::ports::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The form of the cursor's JSON, raised when its fields change.
const CURSOR_FORMAT: u8 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CursorBody {
    v: u8,
    tag: String,
    pk: String,
    sort: String,
}

/// One listing's cursors.
pub(super) struct CursorScope {
    tag: String,
    /// The `pk` prefix of the listed items, such as `AWARD#`.
    pk_prefix: &'static str,
    /// Checks the id part of a key: only ids this listing can contain are accepted.
    valid_id: fn(&str) -> bool,
}

impl CursorScope {
    /// Creates the scope of `listing`: everything that selects the items, joined by NUL.
    pub(super) fn new(listing: &str, pk_prefix: &'static str, valid_id: fn(&str) -> bool) -> Self {
        let digest = Sha256::digest(listing.as_bytes());
        Self {
            tag: hex::encode(&digest[..8]),
            pk_prefix,
            valid_id,
        }
    }

    /// Encodes the cursor that continues after the item with this `pk` and index sort key.
    pub(super) fn encode(&self, pk: &str, sort: &str) -> Result<String, StoreError> {
        let body = CursorBody {
            v: CURSOR_FORMAT,
            tag: self.tag.clone(),
            pk: pk.to_owned(),
            sort: sort.to_owned(),
        };
        let json = serde_json::to_vec(&body).map_err(|error| {
            StoreError::Backend(anyhow::anyhow!("encoding a page cursor failed: {error}"))
        })?;
        Ok(URL_SAFE_NO_PAD.encode(json))
    }

    /// Decodes a cursor that [`encode`](Self::encode) made for this same listing into the
    /// exclusive start key of a query of the index. Any other cursor is `InvalidCursor`.
    pub(super) fn decode(
        &self,
        cursor: &str,
        table_sort_key: &str,
        index_keys: (&str, &str),
        index_partition: &str,
    ) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| StoreError::InvalidCursor)?;
        let body: CursorBody =
            serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
        if body.v != CURSOR_FORMAT || body.tag != self.tag {
            return Err(StoreError::InvalidCursor);
        }
        let id = body
            .pk
            .strip_prefix(self.pk_prefix)
            .ok_or(StoreError::InvalidCursor)?;
        // The index sort key is `{20-digit time}#{id}` of the same item.
        let (time, sort_id) = body.sort.split_once('#').ok_or(StoreError::InvalidCursor)?;
        let time_valid = time.len() == 20 && time.bytes().all(|byte| byte.is_ascii_digit());
        if !time_valid || sort_id != id || !(self.valid_id)(id) {
            return Err(StoreError::InvalidCursor);
        }

        let (index_partition_key, index_sort_key) = index_keys;
        Ok(HashMap::from([
            (
                super::schema::PARTITION_KEY.to_owned(),
                AttributeValue::S(body.pk),
            ),
            (
                super::schema::SORT_KEY.to_owned(),
                AttributeValue::S(table_sort_key.to_owned()),
            ),
            (
                index_partition_key.to_owned(),
                AttributeValue::S(index_partition.to_owned()),
            ),
            (index_sort_key.to_owned(), AttributeValue::S(body.sort)),
        ]))
    }
}

/// Checks that `id` is a UUID in the canonical hyphenated lower-case form of stored ids.
pub(super) fn is_canonical_uuid(id: &str) -> bool {
    uuid::Uuid::try_parse(id).is_ok_and(|uuid| uuid.hyphenated().to_string() == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "123e4567-e89b-42d3-a456-426614174000";
    const SORT: &str = "09223372038586835808#123e4567-e89b-42d3-a456-426614174000";

    fn scope(listing: &str) -> CursorScope {
        CursorScope::new(listing, "AWARD#", is_canonical_uuid)
    }

    fn decode(
        scope: &CursorScope,
        cursor: &str,
    ) -> Result<HashMap<String, AttributeValue>, StoreError> {
        scope.decode(cursor, "AWARD", ("gsi1pk", "gsi1sk"), "ISSUER#a#AWARDS")
    }

    #[test]
    fn cursor_round_trips_to_start_key() {
        let scope = scope("awards\0issuer-a");
        let cursor = scope.encode(&format!("AWARD#{ID}"), SORT).unwrap();
        let key = decode(&scope, &cursor).unwrap();
        assert_eq!(key["pk"], AttributeValue::S(format!("AWARD#{ID}")));
        assert_eq!(key["sk"], AttributeValue::S("AWARD".to_owned()));
        assert_eq!(
            key["gsi1pk"],
            AttributeValue::S("ISSUER#a#AWARDS".to_owned())
        );
        assert_eq!(key["gsi1sk"], AttributeValue::S(SORT.to_owned()));
    }

    #[test]
    fn cursor_of_other_listing_is_rejected() {
        let cursor = scope("awards\0issuer-a")
            .encode(&format!("AWARD#{ID}"), SORT)
            .unwrap();
        let result = decode(&scope("awards\0issuer-b"), &cursor);
        assert!(matches!(result, Err(StoreError::InvalidCursor)));
    }

    #[test]
    fn malformed_cursors_are_rejected() {
        let scope = scope("awards\0issuer-a");
        let other_id = "223e4567-e89b-42d3-a456-426614174000";
        let forged = |pk: &str, sort: &str| {
            let body = CursorBody {
                v: CURSOR_FORMAT,
                tag: scope.tag.clone(),
                pk: pk.to_owned(),
                sort: sort.to_owned(),
            };
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).unwrap())
        };
        let cases = [
            String::new(),
            "not base64!".to_owned(),
            URL_SAFE_NO_PAD.encode("{}"),
            forged(&format!("ACHIEVEMENT#{ID}"), SORT),
            forged(&format!("AWARD#{other_id}"), SORT),
            forged(
                &format!("AWARD#{}", ID.to_uppercase()),
                &SORT.to_uppercase(),
            ),
            forged(&format!("AWARD#{ID}"), &format!("123#{ID}")),
            forged(&format!("AWARD#{ID}"), ID),
        ];
        for cursor in cases {
            assert!(
                matches!(decode(&scope, &cursor), Err(StoreError::InvalidCursor)),
                "cursor {cursor:?} was accepted"
            );
        }
    }
}
