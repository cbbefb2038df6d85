//! Our own documents, minted as bake-images mints them, verified through the store-backed
//! resolver that `POST /v1/verify` uses: every form is valid, the right email matches, a
//! revocation shows in every form, and URLs of other hosts are refused without a request.

use std::sync::{Arc, Mutex, PoisonError};

use accolade::adapters::contract::fixtures;
use accolade::adapters::files::MemoryFileStore;
use accolade::adapters::sqlite::SqliteStore;
use accolade::baking::{self, BadgeFormat, BakeInput};
use accolade::crypto::identity_hash;
use accolade::domain::{
    Award, AwardState, ClaimRecord, EmailAddress, Revocation, Text, TextLimit, Timestamp,
};
use accolade::keys::{MemorySigningKeys, SigningAlgorithm, SigningKey, key_url};
use accolade::openbadges::{signed, v2, v3};
use accolade::ports::{FileStore, SigningKeys, Store};
use accolade::urls::PublicUrls;
use accolade::verify::{
    DocumentKind, FetchError, Fetched, Format, Resolver, StoreResolver, VerificationReport,
    VerifyContext, VerifyInput, codes, verify,
};
use async_trait::async_trait;
use jsonwebtoken::Header;
use serde_json::{Value, json};

use super::recipes::P0;

const BASE: &str = "https://badges.example.org";
const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"10\" height=\"10\"/></svg>";

/// A resolver that records every URL and what its inner resolver answered.
struct Recording<R> {
    inner: R,
    calls: Mutex<Vec<(String, Result<u16, String>)>>,
}

impl<R> Recording<R> {
    fn calls(&self) -> Vec<(String, Result<u16, String>)> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl<R: Resolver> Resolver for Recording<R> {
    async fn fetch(&self, url: &str, kind: DocumentKind) -> Result<Fetched, FetchError> {
        let result = self.inner.fetch(url, kind).await;
        let outcome = match &result {
            Ok(fetched) => Ok(fetched.status),
            Err(error) => Err(error.code().to_owned()),
        };
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((url.to_owned(), outcome));
        result
    }
}

/// One claimed award with every document and image minted.
struct Minted {
    store: Arc<SqliteStore>,
    resolver: Recording<StoreResolver>,
    urls: PublicUrls,
    award: Award,
    claimed_at: Timestamp,
    files: Vec<(&'static str, Vec<u8>)>,
    credential_jws: String,
    key: SigningKey,
}

impl Minted {
    async fn new() -> Minted {
        let urls = PublicUrls::parse(BASE).unwrap();
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let files = Arc::new(MemoryFileStore::new());
        let keys = Arc::new(MemorySigningKeys::new());

        let issuer = fixtures::issuer();
        store.create_issuer(&issuer).await.unwrap();
        let achievement = fixtures::achievement(issuer.id);
        store.create_achievement(&achievement).await.unwrap();
        let key =
            SigningKey::generate(issuer.id, SigningAlgorithm::Rs256, fixtures::at(0)).unwrap();
        keys.add_signing_key(&key).await.unwrap();

        let claimed_at = fixtures::at(3600);
        let identity = EmailAddress::parse("alice@example.org").unwrap();
        let claim = ClaimRecord {
            claimed_at,
            identity_hash: identity_hash(&identity, "assertion-salt"),
            identity,
            salt: "assertion-salt".to_owned(),
            display_name: None,
            show_name: false,
        };
        let mut award = fixtures::award(issuer.id, achievement.id, "alice@example.org");
        award.expires_at = Some(fixtures::at(30 * 86_400));
        award.state = AwardState::Claimed;
        award.assertion_json = Some(v2::to_json(&v2::hosted_assertion(
            &award,
            &achievement,
            &claim,
            &urls,
        )));
        award.claim = Some(claim.clone());
        store.create_award(&award).await.unwrap();

        let subject = v3::SubjectIdentity {
            subject_id: uuid::Uuid::new_v4(),
            salt: "credential-salt".to_owned(),
        };
        let credential =
            v3::build_credential(&award, &achievement, &issuer, &claim, &subject, &urls);
        let minted = v3::sign_credential(credential, &key, &urls).unwrap();
        let signed_assertion = signed::sign_assertion(
            &signed::signed_assertion(&award, &achievement, &claim, key.public(), &urls),
            &key,
        )
        .unwrap();
        let hosted = award.assertion_json.clone().unwrap();
        let assertion_url = urls.assertion(award.id);

        let mut baked = Vec::new();
        for (name, image) in [("png", P0), ("svg", SVG.as_bytes())] {
            baked.push((
                if name == "png" {
                    "hosted.png"
                } else {
                    "hosted.svg"
                },
                baking::bake(
                    image,
                    BadgeFormat::V2,
                    BakeInput::hosted(&hosted, &assertion_url),
                )
                .unwrap(),
            ));
            baked.push((
                if name == "png" {
                    "signed.png"
                } else {
                    "signed.svg"
                },
                baking::bake(image, BadgeFormat::V2, BakeInput::jws(&signed_assertion)).unwrap(),
            ));
            baked.push((
                if name == "png" {
                    "credential.png"
                } else {
                    "credential.svg"
                },
                baking::bake(image, BadgeFormat::V3, BakeInput::jws(&minted.jws)).unwrap(),
            ));
        }
        let put = |key: String, text: &str, media_type: &'static str| {
            let files = files.clone();
            let bytes = text.as_bytes().to_vec();
            async move { files.put(&key, bytes, media_type).await.unwrap() }
        };
        put(
            v3::credential_json_key(award.id),
            &minted.json,
            "application/vc+ld+json",
        )
        .await;
        put(v3::credential_jwt_key(award.id), &minted.jws, "text/plain").await;
        put(
            signed::signed_assertion_key(award.id),
            &signed_assertion,
            "text/plain",
        )
        .await;

        let mut forms = vec![
            ("hosted.json", hosted.into_bytes()),
            ("signed.jws", signed_assertion.into_bytes()),
            ("credential.jwt", minted.jws.clone().into_bytes()),
        ];
        forms.extend(baked);
        let resolver = StoreResolver::new(store.clone(), files, keys, urls.clone());
        Minted {
            store,
            resolver: Recording {
                inner: resolver,
                calls: Mutex::new(Vec::new()),
            },
            urls,
            award,
            claimed_at,
            files: forms,
            credential_jws: minted.jws,
            key,
        }
    }

    fn now(&self) -> Timestamp {
        self.claimed_at.plus_days(1)
    }

    async fn verify_at(
        &self,
        input: VerifyInput<'_>,
        email: Option<&str>,
        now: Timestamp,
    ) -> VerificationReport {
        let context = VerifyContext {
            resolver: &self.resolver,
            now,
            email,
        };
        verify(input, &context).await
    }

    async fn verify(&self, input: VerifyInput<'_>, email: Option<&str>) -> VerificationReport {
        self.verify_at(input, email, self.now()).await
    }

    async fn revoke(&self) {
        let mut revoked = self.award.next_version();
        revoked.state = AwardState::Revoked;
        revoked.revocation = Some(Revocation {
            revoked_at: self.now(),
            reason: Text::parse("reason", "Awarded in error", TextLimit::LONG).unwrap(),
            previous_state: AwardState::Claimed,
        });
        self.store
            .update_award(&revoked, self.award.version)
            .await
            .unwrap();
    }
}

fn expected_format(name: &str) -> Format {
    if name.starts_with("hosted") {
        Format::Ob2Hosted
    } else if name.starts_with("signed") {
        Format::Ob2Signed
    } else {
        Format::Ob3Jwt
    }
}

#[tokio::test]
async fn our_forms_are_valid_through_the_store() {
    let minted = Minted::new().await;
    for (name, bytes) in &minted.files {
        let report = minted
            .verify(VerifyInput::bytes(bytes), Some("Alice@Example.org"))
            .await;
        assert!(report.valid, "{name}: {report:#?}");
        assert_eq!(report.format, Some(expected_format(name)), "{name}");
        assert!(report.has(codes::RECIPIENT_MATCHES), "{name}");
        let wrong = minted
            .verify(VerifyInput::bytes(bytes), Some("bob@example.org"))
            .await;
        assert_eq!(
            wrong.failures(),
            vec![codes::RECIPIENT_MISMATCH],
            "{name}: {wrong:#?}"
        );
    }
    let assertion_url = minted.urls.assertion(minted.award.id);
    let report = minted.verify(VerifyInput::Url(&assertion_url), None).await;
    assert!(report.valid, "{report:#?}");
    assert_eq!(report.id.as_deref(), Some(assertion_url.as_str()));
    let jwt_url = v3::credential_jwt_url(&minted.urls, minted.award.id);
    let report = minted.verify(VerifyInput::Url(&jwt_url), None).await;
    assert!(report.valid, "{report:#?}");
    assert_eq!(report.id, Some(v3::credential_id(minted.award.id)));
    assert!(
        minted
            .resolver
            .calls()
            .iter()
            .all(|(url, _)| url.starts_with(BASE)),
        "only our own URLs were asked for"
    );
}

#[tokio::test]
async fn revocation_shows_in_every_form() {
    let minted = Minted::new().await;
    minted.revoke().await;
    for (name, bytes) in &minted.files {
        let report = minted.verify(VerifyInput::bytes(bytes), None).await;
        assert!(!report.valid, "{name}");
        assert!(
            report.failures().contains(&codes::REVOKED),
            "{name}: {report:#?}"
        );
        assert!(
            report
                .check(codes::REVOKED)
                .unwrap()
                .message
                .contains("Awarded in error"),
            "{name}: the reason is shown"
        );
    }
}

#[tokio::test]
async fn clock_past_expiry_fails_every_form() {
    let minted = Minted::new().await;
    let later = minted.claimed_at.plus_days(60);
    for (name, bytes) in &minted.files {
        let report = minted
            .verify_at(VerifyInput::bytes(bytes), None, later)
            .await;
        assert_eq!(
            report.failures(),
            vec![codes::EXPIRED],
            "{name}: {report:#?}"
        );
    }
}

#[tokio::test]
async fn tampered_and_foreign_credentials_fail() {
    let minted = Minted::new().await;

    let tampered = super::world::tamper(&minted.credential_jws);
    let report = minted
        .verify(VerifyInput::bytes(tampered.as_bytes()), None)
        .await;
    assert_eq!(
        report.failures(),
        vec![codes::SIGNATURE_INVALID],
        "{report:#?}"
    );

    // A key of the same issuer that was never published: its kid does not resolve.
    let unpublished = SigningKey::generate(
        minted.award.issuer_id,
        SigningAlgorithm::Rs256,
        minted.now(),
    )
    .unwrap();
    let payload: Value = {
        let bytes = base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            minted.credential_jws.split('.').nth(1).unwrap(),
        )
        .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.typ = Some("JWT".to_owned());
    header.kid = Some(key_url(&minted.urls, unpublished.key_id()));
    let token = unpublished.sign(&header, &payload).unwrap();
    let report = minted
        .verify(VerifyInput::bytes(token.as_bytes()), None)
        .await;
    assert_eq!(report.failures(), vec![codes::UNKNOWN_KID], "{report:#?}");

    // Signed with our key but under another kid of ours: still the published key decides.
    header.kid = Some(key_url(&minted.urls, minted.key.key_id()));
    let token = unpublished.sign(&header, &payload).unwrap();
    let report = minted
        .verify(VerifyInput::bytes(token.as_bytes()), None)
        .await;
    assert_eq!(
        report.failures(),
        vec![codes::SIGNATURE_INVALID],
        "{report:#?}"
    );
}

#[tokio::test]
async fn other_hosts_are_refused_without_a_request() {
    let minted = Minted::new().await;
    let hosted: Value = serde_json::from_slice(&minted.files[0].1).unwrap();
    let mut elsewhere = hosted.clone();
    elsewhere["id"] = json!("https://elsewhere.example/assertions/1");
    let report = minted
        .verify(VerifyInput::bytes(elsewhere.to_string().as_bytes()), None)
        .await;
    assert_eq!(
        report.failures(),
        vec![codes::EXTERNAL_FETCH_DISABLED],
        "{report:#?}"
    );
    assert!(
        report
            .check(codes::EXTERNAL_FETCH_DISABLED)
            .unwrap()
            .message
            .contains("elsewhere.example")
    );

    // A look-alike host that shares our base URL as a prefix.
    let lookalike = format!("{BASE}.evil.example/assertions/1");
    let report = minted.verify(VerifyInput::Url(&lookalike), None).await;
    assert_eq!(
        report.failures(),
        vec![codes::EXTERNAL_FETCH_DISABLED],
        "{report:#?}"
    );

    let calls = minted.resolver.calls();
    assert_eq!(
        calls,
        vec![
            (
                "https://elsewhere.example/assertions/1".to_owned(),
                Err(codes::EXTERNAL_FETCH_DISABLED.to_owned())
            ),
            (lookalike, Err(codes::EXTERNAL_FETCH_DISABLED.to_owned())),
        ]
    );
}

#[tokio::test]
async fn store_resolver_statuses() {
    let minted = Minted::new().await;
    let fetch = |url: String| {
        let resolver = &minted.resolver;
        async move { resolver.fetch(&url, DocumentKind::JsonLd).await.unwrap() }
    };
    let unknown = uuid::Uuid::new_v4();
    assert_eq!(
        fetch(format!("{BASE}/assertions/{unknown}")).await.status,
        404
    );
    assert_eq!(
        fetch(format!("{BASE}/assertions/{}?x=1", minted.award.id))
            .await
            .status,
        404
    );
    let profile = fetch(minted.urls.issuer(minted.award.issuer_id)).await;
    assert_eq!(profile.status, 200);
    assert_eq!(profile.media_type.as_deref(), Some("application/ld+json"));
    let profile: Value = serde_json::from_slice(&profile.body).unwrap();
    assert_eq!(profile["publicKey"].as_array().unwrap().len(), 1);

    minted.revoke().await;
    let gone = fetch(minted.urls.assertion(minted.award.id)).await;
    assert_eq!(gone.status, 410);
    let body: Value = serde_json::from_slice(&gone.body).unwrap();
    assert_eq!(body["revoked"], true);
    assert!(
        body.get("recipient").is_none(),
        "no recipient data after revocation"
    );
    let image = fetch(format!("{BASE}/credentials/{}/image.png", minted.award.id)).await;
    assert_eq!(image.status, 410);
}
