//! Open Badges 2.0 document rendering and recipient identity hashing, on an award, an
//! achievement and an issuer shaped like the demo issuer's.
//!
//! Run with `cargo bench -p accolade --bench documents`.

use std::hint::black_box;

use accolade::crypto::identity_hash;
use accolade::domain::{
    Achievement, AchievementImages, Award, AwardState, ClaimRecord, ClientId, DeliveryStatus,
    EmailAddress, Evidence, HttpsUrl, ImageKey, Issuer, Level, Recipient, StoredImage, Text,
    TextLimit, Timestamp,
};
use accolade::openbadges::v2;
use accolade::urls::PublicUrls;
use criterion::{Criterion, criterion_group, criterion_main};

const SALT: &str = "c2b8e7a1f04d4f6e9a3b5d7c1e2f4a6b";

fn text(field: &'static str, value: &str, limit: TextLimit) -> Text {
    Text::parse(field, value, limit).expect("valid text")
}

fn image(key: &str, media_type: &str) -> StoredImage {
    StoredImage {
        key: ImageKey(key.to_owned()),
        media_type: media_type.to_owned(),
        width: 400,
        height: 400,
        sha256: "0".repeat(64),
    }
}

struct Fixture {
    urls: PublicUrls,
    issuer: Issuer,
    achievement: Achievement,
    award: Award,
    claim: ClaimRecord,
}

fn fixture() -> Fixture {
    let urls = PublicUrls::parse("https://badges.music.example.org").expect("valid base URL");
    let now = Timestamp::from_unix_seconds(1_795_879_800);
    let issuer_id = "3a7d9c1e-5b2f-4e8a-9d6c-1f3b5a7c9e20"
        .parse()
        .expect("valid id");
    let achievement_id = "0e4b7c2d-1a9f-4c3e-8b5d-7f2a6c9e1b30"
        .parse()
        .expect("valid id");
    let award_id = "6f1c2a4e-8d3b-4b7a-9c1e-2f5d7a9b3c41"
        .parse()
        .expect("valid id");
    let email = EmailAddress::parse("amara.okafor@example.org").expect("valid email");

    let issuer = Issuer {
        id: issuer_id,
        name: text("name", "Riverside Music Service", TextLimit::NAME),
        url: HttpsUrl::parse("url", "https://music.example.org").expect("valid URL"),
        email: EmailAddress::parse("badges@music.example.org").expect("valid email"),
        description: Some(text(
            "description",
            "Music lessons, ensembles and holiday courses for young people in the Riverside area.",
            TextLimit::LONG,
        )),
        image: Some(image("issuers/logo.png", "image/png")),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let achievement = Achievement {
        id: achievement_id,
        issuer_id,
        name: text(
            "name",
            "Participate: Holiday Course Musician",
            TextLimit::NAME,
        ),
        description: text(
            "description",
            "Made music with others on a week-long holiday course.",
            TextLimit::LONG,
        ),
        criteria_narrative: text(
            "criteria",
            "Took part in every day of a Riverside Music Service holiday course: rehearsing in \
             sections and full ensemble, and performing in the final concert.",
            TextLimit::CRITERIA,
        ),
        criteria_url: None,
        level: Some(Level::Participate),
        tags: vec![text("tag", "Holiday course", TextLimit::SHORT)],
        images: AchievementImages {
            png: Some(image("achievements/participate.png", "image/png")),
            svg: Some(image("achievements/participate.svg", "image/svg+xml")),
        },
        created_at: now,
    };
    let award = Award {
        id: award_id,
        issuer_id,
        achievement_id,
        recipient: Recipient {
            email: Some(email.clone()),
            name: Some(text("name", "Amara Okafor", TextLimit::NAME)),
            delivery_email: None,
        },
        narrative: Some(text(
            "narrative",
            "Played violin in the holiday course orchestra for a week.",
            TextLimit::LONG,
        )),
        evidence: vec![Evidence {
            narrative: Some(text(
                "evidence",
                "Led the string section in the winter concert.",
                TextLimit::LONG,
            )),
            url: None,
        }],
        issued_on: now,
        expires_at: None,
        state: AwardState::Claimed,
        delivery: DeliveryStatus::Delivered,
        message_id: None,
        sends_requested: 1,
        sends_done: 1,
        last_send_requested_at: now,
        claim_token: None,
        claim: None,
        revocation: None,
        assertion_json: None,
        dedup_key: None,
        created_by: ClientId::parse("demo-partner").expect("valid client id"),
        version: 3,
    };
    let claim = ClaimRecord {
        claimed_at: now,
        identity_hash: identity_hash(&email, SALT),
        identity: email,
        salt: SALT.to_owned(),
        display_name: Some(text("display_name", "Amara", TextLimit::NAME)),
        show_name: false,
    };
    Fixture {
        urls,
        issuer,
        achievement,
        award,
        claim,
    }
}

fn bench_documents(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("ob2");
    group.bench_function("assertion", |b| {
        b.iter(|| {
            let assertion =
                v2::hosted_assertion(black_box(&f.award), &f.achievement, &f.claim, &f.urls);
            v2::to_json(&assertion)
        })
    });
    group.bench_function("badge-class", |b| {
        b.iter(|| v2::to_json(&v2::badge_class(black_box(&f.achievement), &f.urls)))
    });
    group.bench_function("issuer-profile", |b| {
        b.iter(|| v2::to_json(&v2::issuer_profile(black_box(&f.issuer), &f.urls, &[])))
    });
    group.finish();

    let mut group = c.benchmark_group("recipient");
    let email = EmailAddress::parse("amara.okafor@example.org").expect("valid email");
    group.bench_function("identity-hash", |b| {
        b.iter(|| identity_hash(black_box(&email), black_box(SALT)))
    });
    group.bench_function("parse-and-hash", |b| {
        b.iter(|| {
            let email = EmailAddress::parse(black_box(" Amara.Okafor@Example.org ")).ok()?;
            Some(identity_hash(&email, SALT))
        })
    });
    group.finish();
}

criterion_group!(benches, bench_documents);
criterion_main!(benches);
