//! The stream handler of bake-images, fed the DynamoDB stream events in `tests/events/` as
//! Lambda delivers them, over the SQLite store and a file store that is down.
//!
//! `claims-batch.json` contains four records in stream order. Award A, which is not claimed,
//! changes (sequence number 100). Award B is claimed (200) and changes again (300). Award C,
//! whose achievement does not exist, is claimed (400).

use std::sync::Arc;

use accolade::adapters::contract::fixtures;
use accolade::adapters::sqlite::SqliteStore;
use accolade::adapters::system::OsRandom;
use accolade::domain::{AchievementImages, ImageKey, StoredImage};
use accolade::keys::MemorySigningKeys;
use accolade::ports::{FileStore, FileStoreError, Store, StoredFile};
use accolade::urls::PublicUrls;
use accolade_aws::stream::award_change_from_lambda_record;
use async_trait::async_trait;
use aws_lambda_events::dynamodb::Event;
use bake_images::BakeImages;
use bake_images::lambda::handle_stream_event;

const AWARD_C: &str = "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f";

/// A file store whose backend is unreachable: every call fails with a retryable error.
struct UnreachableFiles;

#[async_trait]
impl FileStore for UnreachableFiles {
    async fn put(&self, _key: &str, _bytes: Vec<u8>, _type: &str) -> Result<(), FileStoreError> {
        Err(FileStoreError::Backend(anyhow::anyhow!(
            "connection refused"
        )))
    }

    async fn get(&self, _key: &str) -> Result<Option<StoredFile>, FileStoreError> {
        Err(FileStoreError::Backend(anyhow::anyhow!(
            "connection refused"
        )))
    }
}

fn fixture(name: &str) -> Event {
    let path = format!("{}/tests/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let json =
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("reading {path}: {error}"));
    serde_json::from_str(&json)
        .unwrap_or_else(|error| panic!("{name} is not a DynamoDB stream event: {error}"))
}

/// Stores the issuer, the achievement (with a PNG image) and each award as the fixture's
/// newest record shows it, except C's achievement.
async fn deps(event: &Event) -> BakeImages {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    for record in event.records.iter().rev() {
        let award = award_change_from_lambda_record(record)
            .unwrap()
            .unwrap()
            .new;
        if store.get_award(award.id).await.unwrap().is_some() {
            continue;
        }
        if store.get_issuer(award.issuer_id).await.unwrap().is_none() {
            let mut issuer = fixtures::issuer();
            issuer.id = award.issuer_id;
            store.create_issuer(&issuer).await.unwrap();
        }
        if award.id != AWARD_C.parse().unwrap()
            && store
                .get_achievement(award.achievement_id)
                .await
                .unwrap()
                .is_none()
        {
            let mut achievement = fixtures::achievement(award.issuer_id);
            achievement.id = award.achievement_id;
            achievement.images = AchievementImages {
                png: Some(StoredImage {
                    key: ImageKey(format!("achievements/{}/image.png", achievement.id)),
                    media_type: "image/png".to_owned(),
                    width: 400,
                    height: 400,
                    sha256: "0".repeat(64),
                }),
                svg: None,
            };
            store.create_achievement(&achievement).await.unwrap();
        }
        store.create_award(&award).await.unwrap();
    }
    BakeImages {
        store,
        files: Arc::new(UnreachableFiles),
        keys: Arc::new(MemorySigningKeys::new()),
        random: Arc::new(OsRandom),
        urls: PublicUrls::parse("https://badges.example.org").unwrap(),
    }
}

#[tokio::test]
async fn failed_award_and_later_records_reported() {
    let event = fixture("claims-batch.json");
    let deps = deps(&event).await;

    let response = handle_stream_event(&deps, &event).await.unwrap();

    let reported: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.clone().unwrap_or_default())
        .collect();
    assert_eq!(reported, ["200", "300"]);
}

#[tokio::test]
async fn missing_sequence_number_fails_batch() {
    let mut event = fixture("claims-batch.json");
    event.records[1].change.sequence_number = None;
    let deps = deps(&event).await;

    let error = handle_stream_event(&deps, &event).await.unwrap_err();

    let diagnostic = lambda_runtime::Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "BakeImages.NoSequenceNumber");
}
