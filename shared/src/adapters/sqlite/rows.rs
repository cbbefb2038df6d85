//! Conversions between records and rows: JSON documents, versions, page limits and cursors.

use anyhow::anyhow;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
use crate::ports::StoreError;

/// Encodes a record as the JSON document stored in its `doc` column.
pub(super) fn to_json<T: Serialize>(kind: &str, id: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|error| {
        StoreError::Backend(anyhow!("encoding {kind} {id} as JSON failed: {error}"))
    })
}

/// Decodes a stored JSON document, naming the record and its table when it is corrupt.
pub(super) fn from_json<T: DeserializeOwned>(
    table: &str,
    id: &str,
    json: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|error| {
        StoreError::Backend(anyhow!(
            "the stored record {id} in table {table} is corrupt ({error}); \
             restore the row from a backup or delete it"
        ))
    })
}

/// A record version as SQLite's signed 64-bit integer.
pub(super) fn version_to_sql(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version).map_err(|_| {
        StoreError::Backend(anyhow!(
            "version {version} is out of range; the store holds versions up to {}",
            i64::MAX
        ))
    })
}

/// Clamps a requested page size to 1..=`MAX_PAGE_LIMIT`, and turns 0 into the default.
pub(super) fn page_limit(limit: u32) -> u32 {
    match limit {
        0 => DEFAULT_PAGE_LIMIT,
        other => other.min(MAX_PAGE_LIMIT),
    }
}

/// The position after which a listing continues: the sort time and id of the last item of
/// the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cursor {
    pub sort_time: i64,
    pub id: String,
}

/// The listing a cursor belongs to. `scope` names everything that selects the rows (such
/// as the issuer and the filter), so a cursor cannot be replayed against another listing.
pub(super) struct CursorScope {
    kind: &'static str,
    tag: String,
}

impl CursorScope {
    pub(super) fn new(kind: &'static str, scope: &str) -> Self {
        let digest = Sha256::digest(format!("{kind}\u{0}{scope}").as_bytes());
        Self {
            kind,
            tag: hex::encode(&digest[..8]),
        }
    }

    pub(super) fn encode(&self, sort_time: i64, id: &str) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}1.{}.{sort_time}.{id}", self.kind, self.tag))
    }

    /// Parses a cursor that `encode` made for this same scope; `InvalidCursor` otherwise.
    pub(super) fn decode(&self, cursor: &str) -> Result<Cursor, StoreError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| StoreError::InvalidCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| StoreError::InvalidCursor)?;
        let mut parts = text.split('.');
        let (Some(kind), Some(tag), Some(time), Some(id), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(StoreError::InvalidCursor);
        };
        if kind.strip_suffix('1') != Some(self.kind) || tag != self.tag {
            return Err(StoreError::InvalidCursor);
        }
        let sort_time = time.parse().map_err(|_| StoreError::InvalidCursor)?;
        // Only the canonical id form is accepted, so the string compares as the stored id does.
        let canonical = Uuid::try_parse(id)
            .map_err(|_| StoreError::InvalidCursor)?
            .hyphenated()
            .to_string();
        if canonical != id {
            return Err(StoreError::InvalidCursor);
        }
        Ok(Cursor {
            sort_time,
            id: canonical,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "123e4567-e89b-42d3-a456-426614174000";

    #[test]
    fn cursor_round_trips() {
        let scope = CursorScope::new("awards", "issuer-a");
        let cursor = scope.encode(1_700_000_000, ID);
        let decoded = scope.decode(&cursor).unwrap();
        assert_eq!(decoded.sort_time, 1_700_000_000);
        assert_eq!(decoded.id, ID);
    }

    #[test]
    fn cursor_of_other_scope_is_rejected() {
        let cursor = CursorScope::new("awards", "issuer-a").encode(5, ID);
        let other_issuer = CursorScope::new("awards", "issuer-b").decode(&cursor);
        let other_kind = CursorScope::new("achievements", "issuer-a").decode(&cursor);
        assert!(matches!(other_issuer, Err(StoreError::InvalidCursor)));
        assert!(matches!(other_kind, Err(StoreError::InvalidCursor)));
    }

    #[test]
    fn malformed_cursors_are_rejected() {
        let scope = CursorScope::new("awards", "issuer-a");
        let valid = scope.encode(5, ID);
        let upper_case = scope.encode(5, &ID.to_uppercase());
        let cases = [
            String::new(),
            "not base64!".to_owned(),
            URL_SAFE_NO_PAD.encode("awards1"),
            URL_SAFE_NO_PAD.encode(format!(
                "{}.extra",
                String::from_utf8_lossy(&URL_SAFE_NO_PAD.decode(&valid).unwrap())
            )),
            upper_case,
            format!("{valid}A"),
        ];
        for cursor in cases {
            assert!(
                matches!(scope.decode(&cursor), Err(StoreError::InvalidCursor)),
                "cursor {cursor:?} was accepted"
            );
        }
    }

    #[test]
    fn page_limit_is_clamped() {
        assert_eq!(page_limit(0), DEFAULT_PAGE_LIMIT);
        assert_eq!(page_limit(1), 1);
        assert_eq!(page_limit(10_000), MAX_PAGE_LIMIT);
    }
}
