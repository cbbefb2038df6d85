//! `POST /v1/awards/{id}/revoke` and `POST /v1/awards/{id}/resend`: state rules and limits.

use accolade::crypto::identity_hash;
use accolade::domain::{AwardState, ClaimRecord, DeliveryStatus, EmailAddress, Timestamp};
use accolade::ports::Store;
use axum::http::StatusCode;
use serde_json::json;

use crate::support::*;

/// Marks an award claimed in the store, as claim-badge would.
async fn claim(api: &TestApi, id: &str) {
    let award = api.stored_award(id).await;
    let mut claimed = award.next_version();
    let identity = EmailAddress::parse("alice@example.org").unwrap();
    claimed.state = AwardState::Claimed;
    claimed.claim = Some(ClaimRecord {
        claimed_at: Timestamp::from_unix_seconds(START + 5),
        identity_hash: identity_hash(&identity, "salt"),
        identity,
        salt: "salt".to_owned(),
        display_name: None,
        show_name: false,
    });
    api.store
        .update_award(&claimed, award.version)
        .await
        .unwrap();
}

#[tokio::test]
async fn revoke_issued_award() {
    let api = TestApi::new().await;
    let id = api.award("alice@example.org").await;
    api.advance(20);

    let response = api
        .revoke(&id, &api.key(), &json!({ "reason": "Awarded in error" }))
        .await;

    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.json["status"], "revoked");
    assert_eq!(response.json["revoked_at"], "2025-06-01T09:00:20Z");
    assert_eq!(response.json["revocation_reason"], "Awarded in error");
    assert_eq!(response.json["assertion_url"], serde_json::Value::Null);
    assert_eq!(response.json["version"], 2);
    let stored = api.stored_award(&id).await;
    assert_eq!(stored.state, AwardState::Revoked);
    assert_eq!(
        stored.revocation.unwrap().previous_state,
        AwardState::Issued
    );
}

#[tokio::test]
async fn revoke_claimed_award_keeps_its_assertion_url() {
    let api = TestApi::new().await;
    let id = api.award("alice@example.org").await;
    claim(&api, &id).await;
    let claimed = api.get_award(&id).await;
    assert_eq!(claimed.json["status"], "claimed");
    assert_eq!(claimed.json["claimed_at"], "2025-06-01T09:00:05Z");
    assert_eq!(
        claimed.json["assertion_url"],
        format!("{BASE_URL}/assertions/{id}")
    );

    let response = api
        .revoke(&id, &api.key(), &json!({ "reason": "Duplicate record" }))
        .await;

    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    assert_eq!(response.json["status"], "revoked");
    assert_eq!(
        response.json["assertion_url"],
        format!("{BASE_URL}/assertions/{id}")
    );
    let stored = api.stored_award(&id).await;
    assert_eq!(
        stored.revocation.unwrap().previous_state,
        AwardState::Claimed
    );
}

#[tokio::test]
async fn revoke_twice_is_a_conflict() {
    let api = TestApi::new().await;
    let id = api.award("alice@example.org").await;
    api.revoke(&id, &api.key(), &json!({ "reason": "First" }))
        .await;
    let before = api.snapshot().await;

    let response = api
        .revoke(&id, &api.key(), &json!({ "reason": "Second" }))
        .await;

    assert_eq!(response.status, StatusCode::CONFLICT);
    assert_eq!(response.code(), "already_revoked");
    assert_eq!(
        response.json["error"]["details"]["revoked_at"],
        "2025-06-01T09:00:00Z"
    );
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn revoke_checks_if_match() {
    let api = TestApi::new().await;
    let id = api.award("alice@example.org").await;
    let before = api.snapshot().await;

    let request = api
        .request(axum::http::Method::POST, &format!("/v1/awards/{id}/revoke"))
        .header("content-type", "application/json")
        .header("idempotency-key", api.key())
        .header("if-match", "\"5\"")
        .body(axum::body::Body::from(
            json!({ "reason": "Stale" }).to_string(),
        ))
        .unwrap();
    let response = api.send(request).await;

    assert_eq!(response.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(response.code(), "precondition_failed");
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn resend_raises_the_send_counter() {
    let api = TestApi::new().await;
    let id = api.award("alice@example.org").await;
    let mut sent = api.stored_award(&id).await.next_version();
    sent.delivery = DeliveryStatus::Bounced;
    sent.sends_done = 1;
    sent.message_id = Some("ses-1".to_owned());
    api.store.update_award(&sent, 1).await.unwrap();
    api.advance(60);

    let response = api
        .resend(
            &id,
            &api.key(),
            Some(&json!({ "delivery_email": " Parent@Example.net " })),
        )
        .await;

    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.text);
    assert_eq!(response.json["delivery_status"], "pending");
    assert_eq!(response.json["emails_requested"], 2);
    assert_eq!(
        response.json["recipient"]["delivery_email"],
        "parent@example.net"
    );
    assert_eq!(response.json["recipient"]["email"], "alice@example.org");
    let stored = api.stored_award(&id).await;
    assert_eq!((stored.sends_requested, stored.sends_done), (2, 1));
    assert_eq!(stored.message_id, None);
    assert!(stored.needs_claim_email());
    assert_eq!(stored.last_send_requested_at.unix_seconds(), START + 60);
}

#[tokio::test]
async fn resend_rate_limits() {
    let mut api = TestApi::new().await;
    let id = api.award("alice@example.org").await;

    // The first email counts: a resend within 60 seconds of creation waits.
    api.advance(15);
    let early = api.resend(&id, "resend-early", None).await;
    assert_eq!(
        early.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        early.text
    );
    assert_eq!(early.code(), "resend_rate_limited");
    assert_eq!(early.header("retry-after"), Some("45"));
    assert_eq!(api.stored_award(&id).await.sends_requested, 1);

    // A 429 is not stored, so the same key works once the wait is over.
    api.advance(45);
    let later = api.resend(&id, "resend-early", None).await;
    assert_eq!(later.status, StatusCode::ACCEPTED, "{}", later.text);
    assert_eq!(later.header("idempotent-replayed"), None);

    for _ in 1..10 {
        api.advance(60);
        api.renew_token().await;
        let response = api.resend(&id, &api.key(), None).await;
        assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.text);
    }
    assert_eq!(api.stored_award(&id).await.sends_requested, 11);

    api.advance(3600);
    api.renew_token().await;
    let before = api.snapshot().await;
    let exhausted = api.resend(&id, &api.key(), None).await;
    assert_eq!(exhausted.status, StatusCode::CONFLICT);
    assert_eq!(exhausted.code(), "resend_limit_reached");
    assert_eq!(exhausted.json["error"]["details"]["max_resends"], 10);
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn resend_only_for_issued_awards() {
    let api = TestApi::new().await;
    let claimed = api.award("claimed@example.org").await;
    claim(&api, &claimed).await;
    let revoked = api.award("revoked@example.org").await;
    api.revoke(&revoked, &api.key(), &json!({ "reason": "Error" }))
        .await;
    let mut expiring = api.award_body("expiring@example.org");
    expiring["expires_at"] = json!("2025-06-01T09:00:30Z");
    let expiring = api.create_award(&expiring).await.id();
    api.advance(120);
    let before = api.snapshot().await;

    let cases = [
        (&claimed, "already_claimed"),
        (&revoked, "revoked"),
        (&expiring, "award_expired"),
    ];
    for (id, code) in cases {
        let response = api.resend(id, &api.key(), None).await;
        assert_eq!(
            response.status,
            StatusCode::CONFLICT,
            "{code}: {}",
            response.text
        );
        assert_eq!(response.code(), code);
    }
    assert_eq!(api.snapshot().await, before);
}

/// Stores the outcome of the first claim email of award `id` as a delivery event would.
async fn record_delivery(api: &TestApi, id: &str, delivery: DeliveryStatus) {
    let award = api.stored_award(id).await;
    let mut updated = award.next_version();
    updated.delivery = delivery;
    updated.sends_done = award.sends_requested;
    updated.message_id = Some("ses-1".to_owned());
    api.store
        .update_award(&updated, award.version)
        .await
        .unwrap();
}

#[tokio::test]
async fn resend_to_bounced_address_is_refused() {
    let api = TestApi::new().await;
    let bounced = api.award("bounced@example.org").await;
    record_delivery(&api, &bounced, DeliveryStatus::Bounced).await;
    let complained = api.award("complained@example.org").await;
    record_delivery(&api, &complained, DeliveryStatus::Complained).await;
    let suppressed = api.award("suppressed@example.org").await;
    record_delivery(&api, &suppressed, DeliveryStatus::Suppressed).await;
    let before = api.snapshot().await;

    // Refused before the rate limit is checked: waiting would not help.
    let cases = [
        (&bounced, "bounced", None),
        (&complained, "complained", None),
        (&suppressed, "suppressed", None),
        (
            &bounced,
            "bounced",
            Some(json!({ "delivery_email": " Bounced@Example.org" })),
        ),
    ];
    for (id, status, body) in cases {
        let response = api.resend(id, &api.key(), body.as_ref()).await;
        assert_eq!(
            response.status,
            StatusCode::CONFLICT,
            "{status}: {}",
            response.text
        );
        assert_eq!(response.code(), "undeliverable_address", "{status}");
        assert_eq!(response.json["error"]["details"]["delivery_status"], status);
        let message = response.json["error"]["message"].as_str().unwrap();
        assert!(message.contains("delivery_email"), "{message}");
    }
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn resend_after_bounce_to_corrected_address() {
    let api = TestApi::new().await;
    let id = api.award("bounced@example.org").await;
    record_delivery(&api, &id, DeliveryStatus::Bounced).await;
    api.advance(60);

    let response = api
        .resend(
            &id,
            &api.key(),
            Some(&json!({ "delivery_email": "parent@example.net" })),
        )
        .await;

    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.text);
    assert_eq!(response.json["delivery_status"], "pending");
    assert_eq!(api.stored_award(&id).await.sends_requested, 2);
}

#[tokio::test]
async fn resend_replays_with_same_key() {
    let api = TestApi::new().await;
    let id = api.award("alice@example.org").await;
    api.advance(60);

    let first = api.resend(&id, "resend-1", None).await;
    let retry = api.resend(&id, "resend-1", None).await;

    assert_eq!(first.status, StatusCode::ACCEPTED);
    assert_eq!(retry.status, StatusCode::ACCEPTED);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(api.stored_award(&id).await.sends_requested, 2);
}
