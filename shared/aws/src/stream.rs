//! The table's stream records turned back into awards, for the functions that react to award
//! changes (`send-claims`, `bake-images`).
//!
//! A record arrives either as a Lambda event ([`aws_lambda_events::dynamodb::EventRecord`]) or,
//! with the `dynamodbstreams` feature, from the DynamoDB Streams API
//! (`aws_sdk_dynamodbstreams::types::Record`). Both carry the item's attributes, and the award
//! itself is the JSON in its `doc` attribute, so the two forms convert the same way.

use accolade::domain::Award;

use crate::schema::{DOC, KIND, PARTITION_KEY};

/// One change of an award, as the stream recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct AwardStreamRecord {
    /// The stream's sequence number of the record: the item identifier a Lambda function
    /// reports in `batchItemFailures` so that only the failed records are retried.
    pub sequence_number: Option<String>,
    /// The award before the write; `None` when the write created it.
    pub old: Option<Award>,
    /// The award as the write stored it.
    pub new: Award,
}

impl AwardStreamRecord {
    /// Returns the `(old, new)` pair that the award-change handlers take.
    pub fn images(&self) -> (Option<&Award>, &Award) {
        (self.old.as_ref(), &self.new)
    }
}

/// A stream record of an award item that cannot be turned back into awards.
#[derive(Debug, thiserror::Error)]
pub enum StreamRecordError {
    /// An award image without its `doc` string: the table's stream does not carry new and old
    /// images, or the item was written by something other than this crate.
    #[error(
        "the {image} image of stream record {sequence} has no doc string; the stream must carry \
         new and old images"
    )]
    MissingDocument {
        image: &'static str,
        sequence: String,
    },
    /// The `doc` of an award image is not an award.
    #[error("the {image} image of stream record {sequence} is not a valid award: {source}")]
    InvalidDocument {
        image: &'static str,
        sequence: String,
        #[source]
        source: serde_json::Error,
    },
}

/// The string attributes of an image that the conversion reads.
trait Image {
    fn string(&self, name: &str) -> Option<&str>;
    fn is_empty(&self) -> bool;
}

impl Image for serde_dynamo::Item {
    fn string(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(serde_dynamo::AttributeValue::S(value)) => Some(value),
            _ => None,
        }
    }

    fn is_empty(&self) -> bool {
        self.inner().is_empty()
    }
}

/// Whether an image is of an award item, by its `kind`, or by its `pk` for an image without
/// `kind`.
fn is_award(image: &impl Image) -> bool {
    match image.string(KIND) {
        Some(kind) => kind == "award",
        None => image
            .string(PARTITION_KEY)
            .is_some_and(|pk| pk.starts_with("AWARD#")),
    }
}

fn decode(
    image: &impl Image,
    which: &'static str,
    sequence: &str,
) -> Result<Award, StreamRecordError> {
    let doc = image
        .string(DOC)
        .ok_or_else(|| StreamRecordError::MissingDocument {
            image: which,
            sequence: sequence.to_owned(),
        })?;
    serde_json::from_str(doc).map_err(|source| StreamRecordError::InvalidDocument {
        image: which,
        sequence: sequence.to_owned(),
        source,
    })
}

/// Converts the images of one record. `Ok(None)` for items other than awards and for
/// removals, which carry no new image (awards are never deleted by the store).
fn convert<I: Image>(
    old: Option<&I>,
    new: Option<&I>,
    sequence_number: Option<&str>,
) -> Result<Option<AwardStreamRecord>, StreamRecordError> {
    let Some(new) = new.filter(|image| !image.is_empty()) else {
        return Ok(None);
    };
    if !is_award(new) {
        return Ok(None);
    }
    let sequence = sequence_number.unwrap_or("(without sequence number)");
    let old = old
        .filter(|image| !image.is_empty())
        .map(|image| decode(image, "old", sequence))
        .transpose()?;
    Ok(Some(AwardStreamRecord {
        sequence_number: sequence_number.map(str::to_owned),
        old,
        new: decode(new, "new", sequence)?,
    }))
}

/// Converts a record of a Lambda DynamoDB stream event. `Ok(None)` for records of other item
/// types and for removals.
pub fn award_change_from_lambda_record(
    record: &aws_lambda_events::dynamodb::EventRecord,
) -> Result<Option<AwardStreamRecord>, StreamRecordError> {
    let change = &record.change;
    convert(
        Some(&change.old_image),
        Some(&change.new_image),
        change.sequence_number.as_deref(),
    )
}

#[cfg(feature = "dynamodbstreams")]
mod streams_api {
    use std::collections::HashMap;

    use aws_sdk_dynamodbstreams::types::{AttributeValue, Record};

    use super::{AwardStreamRecord, Image, StreamRecordError, convert};

    impl Image for HashMap<String, AttributeValue> {
        fn string(&self, name: &str) -> Option<&str> {
            match self.get(name) {
                Some(AttributeValue::S(value)) => Some(value),
                _ => None,
            }
        }

        fn is_empty(&self) -> bool {
            HashMap::is_empty(self)
        }
    }

    /// Converts a record read with the DynamoDB Streams API (`GetRecords`). `Ok(None)` for
    /// records of other item types and for removals.
    pub fn award_change_from_streams_record(
        record: &Record,
    ) -> Result<Option<AwardStreamRecord>, StreamRecordError> {
        let Some(change) = &record.dynamodb else {
            return Ok(None);
        };
        convert(
            change.old_image.as_ref(),
            change.new_image.as_ref(),
            change.sequence_number.as_deref(),
        )
    }
}

#[cfg(feature = "dynamodbstreams")]
pub use streams_api::award_change_from_streams_record;

#[cfg(test)]
mod tests {
    use super::*;

    fn lambda_record(json: serde_json::Value) -> aws_lambda_events::dynamodb::EventRecord {
        serde_json::from_value(json).unwrap()
    }

    fn award_json() -> String {
        let fixture = accolade::adapters::contract::fixtures::award(
            accolade::domain::IssuerId::from_uuid(uuid::Uuid::new_v4()),
            accolade::domain::AchievementId::from_uuid(uuid::Uuid::new_v4()),
            "amara@example.org",
        );
        serde_json::to_string(&fixture).unwrap()
    }

    fn record(event: &str, old: serde_json::Value, new: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "awsRegion": "eu-west-2",
            "eventID": "1",
            "eventName": event,
            "eventSource": "aws:dynamodb",
            "eventVersion": "1.1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1_731_060_000,
                "Keys": {"pk": {"S": "AWARD#x"}, "sk": {"S": "AWARD"}},
                "OldImage": old,
                "NewImage": new,
                "SequenceNumber": "111",
                "SizeBytes": 10,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            }
        })
    }

    #[test]
    fn lambda_insert_of_award_converts() {
        let doc = award_json();
        let new =
            serde_json::json!({"pk": {"S": "AWARD#x"}, "kind": {"S": "award"}, "doc": {"S": doc}});
        let converted = award_change_from_lambda_record(&lambda_record(record(
            "INSERT",
            serde_json::json!({}),
            new,
        )))
        .unwrap()
        .unwrap();
        assert_eq!(converted.old, None);
        assert_eq!(converted.sequence_number.as_deref(), Some("111"));
        assert_eq!(serde_json::to_string(&converted.new).unwrap(), doc);
    }

    #[test]
    fn lambda_record_of_other_kind_is_skipped() {
        let new = serde_json::json!({"pk": {"S": "DEDUP#k"}, "kind": {"S": "dedup"}, "award_id": {"S": "x"}});
        let record = lambda_record(record("INSERT", serde_json::json!({}), new));
        assert!(award_change_from_lambda_record(&record).unwrap().is_none());
    }

    #[test]
    fn lambda_award_without_doc_fails() {
        let new = serde_json::json!({"pk": {"S": "AWARD#x"}, "kind": {"S": "award"}});
        let record = lambda_record(record("MODIFY", serde_json::json!({}), new));
        let error = award_change_from_lambda_record(&record).unwrap_err();
        assert!(matches!(
            error,
            StreamRecordError::MissingDocument { image: "new", .. }
        ));
    }

    #[test]
    fn lambda_removal_is_skipped() {
        let old = serde_json::json!({"pk": {"S": "AWARD#x"}, "kind": {"S": "award"}, "doc": {"S": award_json()}});
        let record = lambda_record(record("REMOVE", old, serde_json::json!({})));
        assert!(award_change_from_lambda_record(&record).unwrap().is_none());
    }
}
