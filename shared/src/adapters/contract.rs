//! The contract every [`Store`](crate::ports::Store) implementation must meet, as a test suite
//! that runs against any of them. Built only for tests and with the `contract-tests` feature.

pub mod fixtures {
    //! Valid records with fresh random ids, so cases can share one store without clashing.

    use uuid::Uuid;

    use crate::domain::{
        Achievement, AchievementId, AchievementImages, ApiClient, Award, AwardId, AwardState,
        ClientId, DeliveryStatus, EmailAddress, HttpsUrl, Issuer, IssuerId, Recipient, Scopes,
        Text, TextLimit, Timestamp, dedup_key,
    };

    /// 2024-11-08T10:00:00Z, the time every fixture starts from.
    pub const BASE_TIME: i64 = 1_731_060_000;

    pub fn at(offset_seconds: i64) -> Timestamp {
        Timestamp::from_unix_seconds(BASE_TIME + offset_seconds)
    }

    fn text(value: &str) -> Text {
        Text::parse("fixture", value, TextLimit::LONG).expect("fixture text is valid")
    }

    fn email(value: &str) -> EmailAddress {
        EmailAddress::parse(value).expect("fixture email is valid")
    }

    pub fn issuer() -> Issuer {
        Issuer {
            id: IssuerId::from_uuid(Uuid::new_v4()),
            name: text("Riverside Music Service"),
            url: HttpsUrl::parse("url", "https://music.example.org").expect("fixture URL is valid"),
            email: email("badges@music.example.org"),
            description: Some(text("Music lessons and ensembles for young people.")),
            image: None,
            created_at: at(0),
            updated_at: at(0),
            version: 1,
        }
    }

    pub fn client(issuer: IssuerId) -> ApiClient {
        let id = Uuid::new_v4().simple().to_string();
        ApiClient {
            client_id: ClientId::parse(&format!("partner-{id}"))
                .expect("fixture client id is valid"),
            issuer_id: issuer,
            name: text("Event booking"),
            secret_hash: format!("sha256${}", "ab".repeat(32)),
            scopes: Scopes::all(),
            disabled: false,
            created_at: at(0),
        }
    }

    pub fn achievement(issuer: IssuerId) -> Achievement {
        Achievement {
            id: AchievementId::from_uuid(Uuid::new_v4()),
            issuer_id: issuer,
            name: text("Summer Orchestra"),
            description: text("Played in the summer orchestra course."),
            criteria_narrative: text("Attend all five days and play in the final concert."),
            criteria_url: None,
            level: None,
            tags: vec![text("orchestra")],
            images: AchievementImages {
                png: None,
                svg: None,
            },
            created_at: at(0),
        }
    }

    /// An issued award of `achievement` to `recipient_email`, with its deduplication key.
    pub fn award(issuer: IssuerId, achievement: AchievementId, recipient_email: &str) -> Award {
        let recipient = Recipient {
            email: Some(email(recipient_email)),
            name: Some(text("Amara Okafor")),
            delivery_email: None,
        };
        Award {
            id: AwardId::from_uuid(Uuid::new_v4()),
            issuer_id: issuer,
            achievement_id: achievement,
            dedup_key: Some(dedup_key(issuer, achievement, &recipient)),
            recipient,
            narrative: None,
            evidence: Vec::new(),
            issued_on: at(0),
            expires_at: None,
            state: AwardState::Issued,
            delivery: DeliveryStatus::Pending,
            message_id: None,
            sends_requested: 1,
            sends_done: 0,
            last_send_requested_at: at(0),
            claim_token: None,
            claim: None,
            revocation: None,
            assertion_json: None,
            created_by: ClientId::parse("fixture-partner").expect("fixture client id is valid"),
            version: 1,
        }
    }
}
