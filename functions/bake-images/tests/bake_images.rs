//! The baking handler against the real SQLite store, the in-memory file store, in-memory
//! signing keys and the real baker, checked by reading the images back with
//! `accolade::baking::unbake` and the signatures with `jsonwebtoken`.

use std::sync::Arc;

use accolade::adapters::files::MemoryFileStore;
use accolade::adapters::sqlite::SqliteStore;
use accolade::adapters::system::SequenceRandom;
use accolade::baking::{BadgeFormat, unbake};
use accolade::domain::{
    Achievement, AchievementId, AchievementImages, Award, AwardId, AwardState, ClaimRecord,
    ClientId, DeliveryStatus, EmailAddress, HttpsUrl, ImageKey, Issuer, IssuerId, Level, Recipient,
    Revocation, StoredImage, Text, TextLimit, Timestamp,
};
use accolade::keys::{MemorySigningKeys, SigningAlgorithm, SigningKey};
use accolade::openbadges::{signed, v2, v3};
use accolade::ports::{FileStore, PublicKeys, SigningKeys, Store, StoredFile};
use accolade::urls::PublicUrls;
use bake_images::{
    BakeImages, BakeImagesError, BakeOutcome, ImageFormat, Minting, SkipReason, baked_image_key,
    credential_image_key, handle_award_change, signed_image_key,
};
use serde_json::Value;

/// 2024-11-08T10:00:00Z.
const NOW: i64 = 1_731_060_000;
const BASE_URL: &str = "https://badges.example.org";

/// A valid 1 x 1 greyscale PNG (67 bytes).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b,
    0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x01, 0x48, 0xaf, 0xa4, 0x71, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];
const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"100\" viewBox=\"0 0 100 100\"><circle cx=\"50\" cy=\"50\" r=\"40\" fill=\"#1d4f91\"/></svg>";

struct Harness {
    deps: BakeImages,
    store: Arc<SqliteStore>,
    files: Arc<MemoryFileStore>,
    keys: Arc<MemorySigningKeys>,
    urls: PublicUrls,
    issuer: Issuer,
}

fn text(value: &str) -> Text {
    Text::parse("test", value, TextLimit::LONG).unwrap()
}

/// The texts of an achievement that tests choose.
struct AchievementTexts {
    name: Text,
    description: Text,
    criteria: Text,
}

fn stored_image(key: &str, media_type: &str) -> StoredImage {
    StoredImage {
        key: ImageKey(key.to_owned()),
        media_type: media_type.to_owned(),
        width: 100,
        height: 100,
        sha256: "00".repeat(32),
    }
}

/// A harness whose issuer has one RS256 key.
async fn harness() -> Harness {
    let h = harness_without_keys().await;
    h.add_key(SigningAlgorithm::Rs256).await;
    h
}

async fn harness_without_keys() -> Harness {
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let files = Arc::new(MemoryFileStore::new());
    let urls = PublicUrls::parse(BASE_URL).unwrap();
    let issuer = Issuer {
        id: IssuerId::from_uuid(uuid::Uuid::new_v4()),
        name: text("Riverside Music Service"),
        url: HttpsUrl::parse("url", "https://music.example.org").unwrap(),
        email: EmailAddress::parse("badges@music.example.org").unwrap(),
        description: None,
        image: None,
        created_at: Timestamp::from_unix_seconds(NOW),
        updated_at: Timestamp::from_unix_seconds(NOW),
        version: 1,
    };
    store.create_issuer(&issuer).await.unwrap();
    let keys = Arc::new(MemorySigningKeys::new());
    let deps = BakeImages {
        store: store.clone(),
        files: files.clone(),
        keys: keys.clone(),
        random: Arc::new(SequenceRandom::new()),
        urls: urls.clone(),
    };
    Harness {
        deps,
        store,
        files,
        keys,
        urls,
        issuer,
    }
}

impl Harness {
    async fn add_key(&self, algorithm: SigningAlgorithm) -> SigningKey {
        let key =
            SigningKey::generate(self.issuer.id, algorithm, Timestamp::from_unix_seconds(NOW))
                .unwrap();
        self.keys.add_signing_key(&key).await.unwrap();
        key
    }

    async fn file(&self, key: &str) -> Option<String> {
        self.files
            .get(key)
            .await
            .unwrap()
            .map(|file| String::from_utf8(file.bytes).unwrap())
    }

    /// Stores an achievement with the given images, uploading their bytes.
    async fn achievement(&self, png: Option<&[u8]>, svg: Option<&[u8]>) -> Achievement {
        let texts = AchievementTexts {
            name: text("Summer Orchestra"),
            description: text("Took part in the summer orchestra course."),
            criteria: text("Attend all five days."),
        };
        self.achievement_with_texts(png, svg, texts).await
    }

    /// Stores an achievement with the given images and texts.
    async fn achievement_with_texts(
        &self,
        png: Option<&[u8]>,
        svg: Option<&[u8]>,
        texts: AchievementTexts,
    ) -> Achievement {
        let id = AchievementId::from_uuid(uuid::Uuid::new_v4());
        let mut images = AchievementImages {
            png: None,
            svg: None,
        };
        if let Some(bytes) = png {
            let key = format!("achievements/{id}/image.png");
            self.files
                .put(&key, bytes.to_vec(), "image/png")
                .await
                .unwrap();
            images.png = Some(stored_image(&key, "image/png"));
        }
        if let Some(bytes) = svg {
            let key = format!("achievements/{id}/image.svg");
            self.files
                .put(&key, bytes.to_vec(), "image/svg+xml")
                .await
                .unwrap();
            images.svg = Some(stored_image(&key, "image/svg+xml"));
        }
        let achievement = Achievement {
            id,
            issuer_id: self.issuer.id,
            name: texts.name,
            description: texts.description,
            criteria_narrative: texts.criteria,
            criteria_url: None,
            level: Some(Level::Participate),
            tags: Vec::new(),
            images,
            created_at: Timestamp::from_unix_seconds(NOW),
        };
        self.store.create_achievement(&achievement).await.unwrap();
        achievement
    }

    async fn issued(&self, achievement: &Achievement, narrative: &str) -> Award {
        let award = Award {
            id: AwardId::from_uuid(uuid::Uuid::new_v4()),
            issuer_id: self.issuer.id,
            achievement_id: achievement.id,
            recipient: Recipient {
                email: Some(EmailAddress::parse("alice@example.org").unwrap()),
                name: Some(text("Alice")),
                delivery_email: None,
            },
            narrative: Some(text(narrative)),
            evidence: Vec::new(),
            issued_on: Timestamp::from_unix_seconds(NOW),
            expires_at: None,
            state: AwardState::Issued,
            delivery: DeliveryStatus::Sent,
            message_id: None,
            sends_requested: 1,
            sends_done: 1,
            last_send_requested_at: Timestamp::from_unix_seconds(NOW),
            claim_token: None,
            claim: None,
            revocation: None,
            assertion_json: None,
            dedup_key: None,
            created_by: ClientId::parse("partner").unwrap(),
            version: 1,
        };
        self.store.create_award(&award).await.unwrap();
        award
    }

    async fn claim(&self, award: &Award) -> Award {
        let identity = EmailAddress::parse("alice@example.org").unwrap();
        let record = ClaimRecord {
            claimed_at: Timestamp::from_unix_seconds(NOW + 60),
            identity_hash: accolade::crypto::identity_hash(&identity, "pepper42"),
            identity,
            salt: "pepper42".to_owned(),
            display_name: None,
            show_name: false,
        };
        let achievement = self
            .store
            .get_achievement(award.achievement_id)
            .await
            .unwrap()
            .unwrap();
        let mut claimed = award.next_version();
        claimed.assertion_json = Some(v2::to_json(&v2::hosted_assertion(
            award,
            &achievement,
            &record,
            &self.urls,
        )));
        claimed.state = AwardState::Claimed;
        claimed.claim = Some(record);
        self.store
            .update_award(&claimed, award.version)
            .await
            .unwrap();
        claimed
    }

    async fn claimed(&self, achievement: &Achievement) -> Award {
        let award = self
            .issued(achievement, "Played cello in every rehearsal.")
            .await;
        self.claim(&award).await
    }

    /// Reads the baked 3.0 credential image of `award` in `format`, if it was stored.
    async fn credential_image(&self, award: &Award, format: ImageFormat) -> Option<StoredFile> {
        self.files
            .get(&credential_image_key(award.id, format))
            .await
            .unwrap()
    }

    async fn baked(&self, award: &Award, format: ImageFormat) -> Option<(Vec<u8>, String)> {
        self.files
            .get(&baked_image_key(award.id, format))
            .await
            .unwrap()
            .map(|file| (file.bytes, file.content_type))
    }
}

#[tokio::test]
async fn baked_images_unbake_to_assertion() {
    let h = harness().await;
    let achievement = h.achievement(Some(PNG), Some(SVG.as_bytes())).await;
    let award = h.claimed(&achievement).await;
    let json = award.assertion_json.clone().unwrap();

    let outcome = handle_award_change(&h.deps, None, &award).await.unwrap();

    let BakeOutcome::Baked { formats, .. } = outcome else {
        panic!("not baked: {outcome:?}");
    };
    assert_eq!(formats, vec![ImageFormat::Png, ImageFormat::Svg]);
    let (png, png_type) = h.baked(&award, ImageFormat::Png).await.unwrap();
    assert_eq!(png_type, "image/png");
    let from_png = unbake(&png).unwrap().unwrap();
    assert_eq!(from_png.format, BadgeFormat::V2);
    assert_eq!(from_png.text, json);
    assert!(from_png.warnings.is_empty(), "{:?}", from_png.warnings);

    let (svg, svg_type) = h.baked(&award, ImageFormat::Svg).await.unwrap();
    assert_eq!(svg_type, "image/svg+xml");
    let from_svg = unbake(&svg).unwrap().unwrap();
    assert_eq!(from_svg.format, BadgeFormat::V2);
    assert_eq!(from_svg.text, json);
    assert_eq!(
        from_svg.verify_url.as_deref(),
        Some(format!("{BASE_URL}/assertions/{}", award.id).as_str())
    );
}

#[tokio::test]
async fn baking_is_idempotent() {
    let h = harness().await;
    let achievement = h.achievement(Some(PNG), Some(SVG.as_bytes())).await;
    let award = h.claimed(&achievement).await;

    handle_award_change(&h.deps, None, &award).await.unwrap();
    let first_png = h.baked(&award, ImageFormat::Png).await.unwrap();
    let first_svg = h.baked(&award, ImageFormat::Svg).await.unwrap();
    handle_award_change(&h.deps, Some(&award), &award)
        .await
        .unwrap();

    assert_eq!(h.baked(&award, ImageFormat::Png).await.unwrap(), first_png);
    assert_eq!(h.baked(&award, ImageFormat::Svg).await.unwrap(), first_svg);
}

#[tokio::test]
async fn markup_in_text_round_trips() {
    let h = harness().await;
    let achievement = h.achievement(Some(PNG), Some(SVG.as_bytes())).await;
    let issued = h
        .issued(
            &achievement,
            "</script><script>alert(1)</script> ]]> \"q\" \\ \u{2028} 🦉\r\nline",
        )
        .await;
    let award = h.claim(&issued).await;
    let json = award.assertion_json.clone().unwrap();

    handle_award_change(&h.deps, None, &award).await.unwrap();

    for format in [ImageFormat::Png, ImageFormat::Svg] {
        let (bytes, _) = h.baked(&award, format).await.unwrap();
        assert_eq!(unbake(&bytes).unwrap().unwrap().text, json, "{format:?}");
    }
}

/// Texts at the maximum lengths the API accepts, full of markup, JSON and XML delimiters and
/// line separators, come back exactly from the signed 3.0 credential, its JSON form and the
/// credential baked into PNG and SVG.
#[tokio::test]
async fn long_markup_texts_round_trip_through_the_credential() {
    let h = harness().await;
    let specials =
        "line one\nline two\t\"quoted\" \\ </script><script>alert(1)</script> ]]> \u{2028} 🦉 ";
    let description: String = specials.chars().cycle().take(20_000).collect();
    let criteria: String = "## Criteria\n\n* Attend **every** rehearsal & <b>play</b>.\n"
        .chars()
        .cycle()
        .take(50_000)
        .collect();
    let name = "Ж".repeat(200);
    let narrative = "Led the </script> section ]]> \"with\" \\ care \u{2028} 🎻";
    let texts = AchievementTexts {
        name: Text::parse("name", &name, TextLimit::NAME).unwrap(),
        description: Text::parse("description", &description, TextLimit::LONG).unwrap(),
        criteria: Text::parse("criteria", &criteria, TextLimit::CRITERIA).unwrap(),
    };
    let achievement = h
        .achievement_with_texts(Some(PNG), Some(SVG.as_bytes()), texts)
        .await;
    let issued = h.issued(&achievement, narrative).await;
    let award = h.claim(&issued).await;

    handle_award_change(&h.deps, None, &award).await.unwrap();

    let jws = h.file(&v3::credential_jwt_key(award.id)).await.unwrap();
    let json = h.file(&v3::credential_json_key(award.id)).await.unwrap();
    let stored: Value = serde_json::from_str(&json).unwrap();
    let payload = verified_payload(&h, &jws).await;
    for credential in [&payload, &stored] {
        let subject = &credential["credentialSubject"];
        let badge = &subject["achievement"];
        assert_eq!(badge["name"].as_str(), Some(name.as_str()));
        assert_eq!(badge["description"].as_str(), Some(description.trim()));
        assert_eq!(
            badge["criteria"]["narrative"].as_str(),
            Some(criteria.trim())
        );
        assert_eq!(subject["narrative"].as_str(), Some(narrative));
    }
    for format in [ImageFormat::Png, ImageFormat::Svg] {
        let baked = h
            .credential_image(&award, format)
            .await
            .expect("baked 3.0 image");
        assert_eq!(
            unbake(&baked.bytes).unwrap().unwrap().text,
            jws,
            "{format:?}"
        );
    }
}

#[tokio::test]
async fn only_existing_formats_are_baked() {
    let h = harness().await;
    let achievement = h.achievement(Some(PNG), None).await;
    let award = h.claimed(&achievement).await;

    let outcome = handle_award_change(&h.deps, None, &award).await.unwrap();

    let BakeOutcome::Baked { formats, .. } = outcome else {
        panic!("not baked: {outcome:?}");
    };
    assert_eq!(formats, vec![ImageFormat::Png]);
    assert!(h.baked(&award, ImageFormat::Svg).await.is_none());
    assert!(h.credential_image(&award, ImageFormat::Svg).await.is_none());
}

#[tokio::test]
async fn issued_award_is_not_baked() {
    let h = harness().await;
    let achievement = h.achievement(Some(PNG), Some(SVG.as_bytes())).await;
    let award = h.issued(&achievement, "Played").await;
    let keys_before = h.files.keys();

    let outcome = handle_award_change(&h.deps, None, &award).await.unwrap();

    assert_eq!(outcome, BakeOutcome::Skipped(SkipReason::NotClaimed));
    assert_eq!(h.files.keys(), keys_before);
}

#[tokio::test]
async fn stale_claim_of_revoked_award_is_not_baked() {
    let h = harness().await;
    let achievement = h.achievement(Some(PNG), Some(SVG.as_bytes())).await;
    let claimed = h.claimed(&achievement).await;
    let mut revoked = claimed.next_version();
    revoked.state = AwardState::Revoked;
    revoked.revocation = Some(Revocation {
        revoked_at: Timestamp::from_unix_seconds(NOW + 120),
        reason: text("Awarded in error"),
        previous_state: AwardState::Claimed,
    });
    h.store
        .update_award(&revoked, claimed.version)
        .await
        .unwrap();
    let keys_before = h.files.keys();

    // The change that carried the claim arrives after the revocation.
    let outcome = handle_award_change(&h.deps, None, &claimed).await.unwrap();

    assert_eq!(outcome, BakeOutcome::Skipped(SkipReason::Revoked));
    assert_eq!(h.files.keys(), keys_before);
}

#[tokio::test]
async fn achievement_without_images_is_an_error() {
    let h = harness().await;
    let achievement = h.achievement(None, None).await;
    let award = h.claimed(&achievement).await;

    let error = handle_award_change(&h.deps, None, &award)
        .await
        .unwrap_err();

    assert!(
        matches!(error, BakeImagesError::NoImage { .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("upload a PNG or SVG image"));
}

#[tokio::test]
async fn missing_image_file_is_an_error() {
    let h = harness().await;
    let mut achievement = h.achievement(None, None).await;
    achievement.id = AchievementId::from_uuid(uuid::Uuid::new_v4());
    achievement.images.png = Some(stored_image(
        &format!("achievements/{}/image.png", achievement.id),
        "image/png",
    ));
    h.store.create_achievement(&achievement).await.unwrap();
    let award = h.claimed(&achievement).await;

    let error = handle_award_change(&h.deps, None, &award)
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            BakeImagesError::ImageFileMissing {
                format: ImageFormat::Png,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(h.baked(&award, ImageFormat::Png).await.is_none());
}

#[tokio::test]
async fn image_of_wrong_type_is_an_error() {
    let h = harness().await;
    // An SVG uploaded under the PNG slot.
    let achievement = h.achievement(Some(SVG.as_bytes()), None).await;
    let award = h.claimed(&achievement).await;

    let error = handle_award_change(&h.deps, None, &award)
        .await
        .unwrap_err();

    assert!(
        matches!(error, BakeImagesError::ImageFileWrongType { .. }),
        "{error:?}"
    );
    assert!(h.baked(&award, ImageFormat::Png).await.is_none());
}

/// Verifies a compact JWS with the public key the store publishes and returns its payload.
async fn verified_payload(h: &Harness, jws: &str) -> Value {
    let header = jsonwebtoken::decode_header(jws).unwrap();
    let kid = header.kid.expect("kid");
    let key_id = accolade::keys::key_id_from_url(&h.urls, &kid).expect("a kid URL of ours");
    let record = h
        .keys
        .get_public_key(&key_id)
        .await
        .unwrap()
        .expect("published key");
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = true;
    jsonwebtoken::decode::<Value>(jws, &record.decoding_key().unwrap(), &validation)
        .unwrap()
        .claims
}

#[tokio::test]
async fn credential_is_minted_signed_and_baked() {
    let h = harness().await;
    let achievement = h.achievement(Some(PNG), Some(SVG.as_bytes())).await;
    let award = h.claimed(&achievement).await;

    let outcome = handle_award_change(&h.deps, None, &award).await.unwrap();

    let BakeOutcome::Baked { credential, .. } = &outcome else {
        panic!("not baked: {outcome:?}");
    };
    assert!(matches!(credential, Minting::Minted(_)), "{outcome:?}");
    let jws = h
        .file(&v3::credential_jwt_key(award.id))
        .await
        .expect("JWS stored");
    let json = h
        .file(&v3::credential_json_key(award.id))
        .await
        .expect("JSON stored");
    let payload = verified_payload(&h, &jws).await;
    let stored: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(payload["jti"], stored["id"]);
    assert_eq!(payload["jti"], format!("urn:uuid:{}", award.id));
    assert_eq!(payload["credentialSubject"], stored["credentialSubject"]);
    assert_eq!(payload["nbf"], NOW + 60, "validFrom is the claim time");
    assert_eq!(stored["validFrom"], "2024-11-08T10:01:00Z");
    assert_ne!(
        stored["credentialSubject"]["identifier"][0]["salt"], "pepper42",
        "the credential has a salt of its own"
    );

    for format in [ImageFormat::Png, ImageFormat::Svg] {
        let baked = h
            .credential_image(&award, format)
            .await
            .expect("baked 3.0 image");
        assert_eq!(baked.content_type, format.media_type());
        let unbaked = unbake(&baked.bytes).unwrap().unwrap();
        assert_eq!(unbaked.format, BadgeFormat::V3, "{format:?}");
        assert_eq!(unbaked.text, jws, "{format:?}");
    }
}

#[tokio::test]
async fn signed_documents_are_frozen() {
    let h = harness().await;
    let achievement = h.achievement(Some(PNG), Some(SVG.as_bytes())).await;
    let award = h.claimed(&achievement).await;
    handle_award_change(&h.deps, None, &award).await.unwrap();
    let jws = h.file(&v3::credential_jwt_key(award.id)).await.unwrap();
    let json = h.file(&v3::credential_json_key(award.id)).await.unwrap();
    let signed_jws = h
        .file(&signed::signed_assertion_key(award.id))
        .await
        .unwrap();
    let image = h.credential_image(&award, ImageFormat::Png).await;

    // A rotation between two deliveries of the change must not re-sign anything.
    h.add_key(SigningAlgorithm::Rs256).await;
    let outcome = handle_award_change(&h.deps, Some(&award), &award)
        .await
        .unwrap();

    assert_eq!(
        outcome,
        BakeOutcome::Baked {
            formats: vec![ImageFormat::Png, ImageFormat::Svg],
            credential: Minting::AlreadyMinted,
            signed_assertion: Minting::AlreadyMinted,
        }
    );
    assert_eq!(
        h.file(&v3::credential_jwt_key(award.id)).await.unwrap(),
        jws
    );
    assert_eq!(
        h.file(&v3::credential_json_key(award.id)).await.unwrap(),
        json
    );
    assert_eq!(
        h.file(&signed::signed_assertion_key(award.id))
            .await
            .unwrap(),
        signed_jws
    );
    assert_eq!(h.credential_image(&award, ImageFormat::Png).await, image);
}

#[tokio::test]
async fn interrupted_mint_is_minted_again() {
    let h = harness().await;
    let achievement = h.achievement(Some(PNG), None).await;
    let award = h.claimed(&achievement).await;
    // A run that stopped after writing the JSON but before the JWS.
    h.files
        .put(
            &v3::credential_json_key(award.id),
            b"{\"partial\":true}".to_vec(),
            "application/vc+ld+json",
        )
        .await
        .unwrap();

    handle_award_change(&h.deps, None, &award).await.unwrap();

    let json = h.file(&v3::credential_json_key(award.id)).await.unwrap();
    let jws = h.file(&v3::credential_jwt_key(award.id)).await.unwrap();
    let payload = verified_payload(&h, &jws).await;
    assert_eq!(payload["id"], format!("urn:uuid:{}", award.id));
    assert!(!json.contains("partial"));
}

#[tokio::test]
async fn signed_assertion_is_minted_and_baked() {
    let h = harness().await;
    let achievement = h.achievement(Some(PNG), Some(SVG.as_bytes())).await;
    let award = h.claimed(&achievement).await;

    handle_award_change(&h.deps, None, &award).await.unwrap();

    let jws = h
        .file(&signed::signed_assertion_key(award.id))
        .await
        .expect("signed assertion stored");
    let header = jsonwebtoken::decode_header(&jws).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let key = h
        .keys
        .active_signing_key(h.issuer.id)
        .await
        .unwrap()
        .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let payload =
        jsonwebtoken::decode::<Value>(&jws, &key.public().decoding_key().unwrap(), &validation)
            .unwrap()
            .claims;
    assert_eq!(payload["id"], format!("urn:uuid:{}", award.id));
    assert_eq!(payload["verification"]["type"], "SignedBadge");
    assert_eq!(
        payload["verification"]["creator"],
        accolade::keys::cryptographic_key_url(&h.urls, h.issuer.id, key.key_id())
    );
    for format in [ImageFormat::Png, ImageFormat::Svg] {
        let baked = h
            .files
            .get(&signed_image_key(award.id, format))
            .await
            .unwrap()
            .expect("baked signed image");
        let unbaked = unbake(&baked.bytes).unwrap().unwrap();
        assert_eq!(unbaked.format, BadgeFormat::V2, "{format:?}");
        assert_eq!(unbaked.text, jws, "{format:?}");
    }
}

#[tokio::test]
async fn es256_issuer_gets_no_signed_assertion() {
    let h = harness_without_keys().await;
    let key = h.add_key(SigningAlgorithm::Es256).await;
    let achievement = h.achievement(Some(PNG), None).await;
    let award = h.claimed(&achievement).await;

    let outcome = handle_award_change(&h.deps, None, &award).await.unwrap();

    assert_eq!(
        outcome,
        BakeOutcome::Baked {
            formats: vec![ImageFormat::Png],
            credential: Minting::Minted(key.key_id().clone()),
            signed_assertion: Minting::NoRs256Key,
        }
    );
    let jws = h.file(&v3::credential_jwt_key(award.id)).await.unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&jws).unwrap().alg,
        jsonwebtoken::Algorithm::ES256
    );
    verified_payload(&h, &jws).await;
    assert!(
        h.file(&signed::signed_assertion_key(award.id))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn issuer_without_key_is_a_retryable_error() {
    let h = harness_without_keys().await;
    let achievement = h.achievement(Some(PNG), None).await;
    let award = h.claimed(&achievement).await;

    let error = handle_award_change(&h.deps, None, &award)
        .await
        .unwrap_err();

    assert!(
        matches!(error, BakeImagesError::NoSigningKey { .. }),
        "{error:?}"
    );
    assert!(
        error.is_retryable(),
        "a key can be added without data changes"
    );
    assert!(
        error.to_string().contains("accolade keys generate"),
        "{error}"
    );
    assert!(
        h.baked(&award, ImageFormat::Png).await.is_some(),
        "the 2.0 image does not wait for keys"
    );
    assert!(h.file(&v3::credential_jwt_key(award.id)).await.is_none());
}
