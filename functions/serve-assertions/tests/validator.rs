//! The whole recipient journey checked by the 1EdTech Open Badges 2.0 validator (badgecheck):
//! send the claim email, claim from its link, bake, then verify the hosted assertion, the
//! baked PNG and SVG, and the signed assertion baked into both, served from 127.0.0.1.
//!
//! It needs the validator's Python environment, which `infra/scripts/setup-test-tools.sh`
//! makes; without it the runner exits 2 and the test fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use accolade::adapters::files::MemoryFileStore;
use accolade::adapters::mail::MemoryMailer;
use accolade::adapters::sqlite::SqliteStore;
use accolade::adapters::system::{FixedClock, SequenceRandom};
use accolade::crypto::Pepper;
use accolade::domain::{
    Achievement, AchievementId, AchievementImages, Award, AwardId, AwardState, ClientId,
    DeliveryStatus, EmailAddress, HttpsUrl, ImageKey, Issuer, IssuerId, Level, Recipient,
    Revocation, StoredImage, Text, TextLimit, Timestamp,
};
use accolade::keys::{MemorySigningKeys, SigningAlgorithm, SigningKey};
use accolade::ports::{FileStore, SigningKeys, Store};
use accolade::urls::PublicUrls;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use tower::ServiceExt;

/// 2024-11-08T10:00:00Z.
const NOW: i64 = 1_731_060_000;

/// A valid 1 x 1 greyscale PNG (67 bytes).
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b,
    0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x01, 0x48, 0xaf, 0xa4, 0x71, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];
const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"100\" viewBox=\"0 0 100 100\"><circle cx=\"50\" cy=\"50\" r=\"40\" fill=\"#1d4f91\"/></svg>";

fn text(value: &str) -> Text {
    Text::parse("test", value, TextLimit::LONG).unwrap()
}

/// The runner that the test command names in `ACCOLADE_BADGECHECK`, or the repository's.
fn badgecheck() -> PathBuf {
    std::env::var("ACCOLADE_BADGECHECK")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/validators/badgecheck-offline")
        })
}

/// The cause of a signed-badge failure that lies in the validator's environment: badgecheck
/// 1.2.0 passes python-jose a pycryptodome key object, which python-jose reads only through
/// its pycrypto backend (python-jose 3.1.0 and older; 3.3.0 has none).
fn tool_hint(report: &str) -> &'static str {
    if report.contains("Unable to parse an RSA_JWK") {
        "\nbadgecheck cannot read any RSA key in this environment: pin python-jose==3.1.0 in \
         tests/validators/requirements-badgecheck.txt and run infra/scripts/setup-test-tools.sh"
    } else {
        ""
    }
}

/// Runs the validator and returns its exit status and report.
async fn validate(target: &str, email: Option<&str>) -> (i32, String) {
    let mut command = Command::new(badgecheck());
    command.arg(target);
    if let Some(email) = email {
        command.args(["--email", email]);
    }
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("badgecheck-offline could not be started");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_passes_badgecheck() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let urls = PublicUrls::parse(&base).unwrap();
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let files = Arc::new(MemoryFileStore::new());
    let mailer = Arc::new(MemoryMailer::new());
    let clock = Arc::new(FixedClock::new(Timestamp::from_unix_seconds(NOW)));
    let random = Arc::new(SequenceRandom::new());
    let pepper = Pepper::new(vec![5; 32]).unwrap();

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
    let key = SigningKey::generate(
        issuer.id,
        SigningAlgorithm::Rs256,
        Timestamp::from_unix_seconds(NOW),
    )
    .unwrap();
    keys.add_signing_key(&key).await.unwrap();
    let achievement_id = AchievementId::from_uuid(uuid::Uuid::new_v4());
    let mut images = AchievementImages {
        png: None,
        svg: None,
    };
    for (extension, media_type, bytes) in [
        ("png", "image/png", PNG.to_vec()),
        ("svg", "image/svg+xml", SVG.as_bytes().to_vec()),
    ] {
        let key = format!("achievements/{achievement_id}/image.{extension}");
        files.put(&key, bytes, media_type).await.unwrap();
        let image = Some(StoredImage {
            key: ImageKey(key),
            media_type: media_type.to_owned(),
            width: 100,
            height: 100,
            sha256: "00".repeat(32),
        });
        if extension == "png" {
            images.png = image;
        } else {
            images.svg = image;
        }
    }
    let achievement = Achievement {
        id: achievement_id,
        issuer_id: issuer.id,
        name: text("Summer Orchestra"),
        description: text("Took part in the summer orchestra course."),
        criteria_narrative: text("Attend all five days and play in the final concert."),
        criteria_url: None,
        level: Some(Level::Participate),
        tags: Vec::new(),
        images,
        created_at: Timestamp::from_unix_seconds(NOW),
    };
    store.create_achievement(&achievement).await.unwrap();
    let award = Award {
        id: AwardId::from_uuid(uuid::Uuid::new_v4()),
        issuer_id: issuer.id,
        achievement_id,
        recipient: Recipient {
            email: Some(EmailAddress::parse("  Alice@Example.ORG").unwrap()),
            name: Some(text("Alice")),
            delivery_email: None,
        },
        narrative: Some(text("Played cello in every rehearsal.")),
        evidence: Vec::new(),
        issued_on: Timestamp::from_unix_seconds(NOW),
        expires_at: None,
        state: AwardState::Issued,
        delivery: DeliveryStatus::Pending,
        message_id: None,
        sends_requested: 1,
        sends_done: 0,
        last_send_requested_at: Timestamp::from_unix_seconds(NOW),
        claim_token: None,
        claim: None,
        revocation: None,
        assertion_json: None,
        dedup_key: None,
        created_by: ClientId::parse("partner").unwrap(),
        version: 1,
    };
    store.create_award(&award).await.unwrap();

    // The claim email, and the token from its link.
    let sender = send_claims::SendClaims {
        store: store.clone(),
        mailer: mailer.clone(),
        clock: clock.clone(),
        random: random.clone(),
        pepper: pepper.clone(),
        urls: urls.clone(),
        from: "Riverside badges <badges@example.org>".to_owned(),
        claim_window_days: send_claims::SendClaims::DEFAULT_CLAIM_WINDOW_DAYS,
    };
    send_claims::handle_award_change(&sender, None, &award)
        .await
        .unwrap();
    let email_text = mailer.sent()[0].text.clone();
    let link_start = email_text.find(&format!("{base}/claim/")).unwrap();
    let link = email_text[link_start..].split_whitespace().next().unwrap();
    let path = link.strip_prefix(&base).unwrap().to_owned();

    let app = claim_badge::router(claim_badge::ClaimBadge {
        store: store.clone(),
        clock: clock.clone(),
        random: random.clone(),
        pepper,
        urls: urls.clone(),
    })
    .merge(serve_assertions::router(
        serve_assertions::ServeAssertions {
            store: store.clone(),
            files: files.clone(),
            keys: keys.clone(),
            urls: urls.clone(),
        },
    ));

    // The claim, through the router.
    let claimed = app
        .clone()
        .oneshot(
            Request::post(&path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("display_name=Alice"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(claimed.status(), StatusCode::SEE_OTHER);
    let award = store.get_award(award.id).await.unwrap().unwrap();
    let baker = bake_images::BakeImages {
        store: store.clone(),
        files: files.clone(),
        keys: keys.clone(),
        random: random.clone(),
        urls: urls.clone(),
    };
    bake_images::handle_award_change(&baker, None, &award)
        .await
        .unwrap();

    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let assertion_url = urls.assertion(award.id);
    let (status, report) = validate(&assertion_url, Some("alice@example.org")).await;
    assert_eq!(status, 0, "hosted assertion:\n{report}");
    let (status, report) = validate(&assertion_url, Some("bob@example.org")).await;
    assert_eq!(status, 1, "another recipient must not match:\n{report}");

    let folder = std::env::temp_dir().join(format!("accolade-badgecheck-{}", award.id));
    std::fs::create_dir_all(&folder).unwrap();
    for extension in ["png", "svg"] {
        let baked = files
            .get(&format!("assertions/{}/image.{extension}", award.id))
            .await
            .unwrap()
            .unwrap();
        let file = folder.join(format!("badge.{extension}"));
        std::fs::write(&file, &baked.bytes).unwrap();
        let (status, report) = validate(file.to_str().unwrap(), Some("alice@example.org")).await;
        assert_eq!(status, 0, "baked {extension}:\n{report}");

        // The signed Open Badges 2.0 assertion baked into the same image format: the
        // validator fetches its key, the issuer's key list and the revocation list.
        let signed = files
            .get(&format!("assertions/{}/signed.{extension}", award.id))
            .await
            .unwrap()
            .unwrap();
        let file = folder.join(format!("signed.{extension}"));
        std::fs::write(&file, &signed.bytes).unwrap();
        let (status, report) = validate(file.to_str().unwrap(), Some("alice@example.org")).await;
        assert_eq!(
            status,
            0,
            "signed {extension}:\n{report}{}",
            tool_hint(&report)
        );
    }

    // After revocation the validator must reject the same badge.
    let mut revoked = award.next_version();
    revoked.state = AwardState::Revoked;
    revoked.revocation = Some(Revocation {
        revoked_at: Timestamp::from_unix_seconds(NOW + 60),
        reason: text("Awarded in error"),
        previous_state: AwardState::Claimed,
    });
    store.update_award(&revoked, award.version).await.unwrap();
    let (status, report) = validate(&assertion_url, Some("alice@example.org")).await;
    assert_eq!(status, 1, "revoked assertion:\n{report}");
    let signed_png = folder.join("signed.png");
    let (status, report) = validate(signed_png.to_str().unwrap(), Some("alice@example.org")).await;
    assert_eq!(status, 1, "revoked signed assertion:\n{report}");
    assert!(report.contains("has been revoked"), "{report}");
    std::fs::remove_dir_all(&folder).unwrap();
}
