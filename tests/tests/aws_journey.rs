//! The badge journey over the AWS adapters on the moto emulator, through the functions' Lambda
//! wiring. It issues awards through the partner API over DynamoDB and runs send-claims on the
//! table's stream records, read with DynamoDB Streams `GetRecords` and shaped as the Lambda
//! event carries them. It then reads the claim link from the email that SES v2 accepted,
//! claims through the claim pages, runs bake-images on the claim's stream records, and fetches
//! the assertion and the baked image from the public endpoints.
//!
//! Needs a moto server on 127.0.0.1 named by `ACCOLADE_MOTO_ENDPOINT`; `bash
//! infra/scripts/test.sh` starts one. No Lambda trigger runs on moto, so the test hands each
//! batch of stream records to the handlers itself.

mod moto;

use std::sync::Arc;

use accolade::adapters::system::SystemClock;
use accolade::keys::{MemorySigningKeys, SigningAlgorithm, SigningKey};
use accolade::ports::{Clock, SigningKeys, Store};
use axum::body::Body;
use axum::http::{Request, header};
use serde_json::json;

use crate::moto::{BASE_URL, DemoSeed, call, claim_links, deploy, moto, seed_demo, stream_event};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awards_are_sent_claimed_and_baked_on_aws() {
    // Arrange: the deployment and its first issuer, achievements and partner client.
    let moto = moto().await;
    let config = deploy(&moto).await;
    let DemoSeed {
        store,
        credentials,
        data_dir: _data_dir,
    } = seed_demo(&moto, &config).await;

    let partner_api = issue_awards::lambda::router(&config, &moto.sdk)
        .await
        .unwrap();
    let claim_pages = claim_badge::lambda::router(&config, &moto.sdk)
        .await
        .unwrap();
    let public = serve_assertions::lambda::router(&config, &moto.sdk)
        .await
        .unwrap();
    let send_claims = send_claims::lambda::deps(&config, &moto.sdk).await.unwrap();
    let mut bake_images = bake_images::lambda::deps(&config, &moto.sdk).await.unwrap();
    let issuer = store.list_issuers().await.unwrap().remove(0);
    let key = SigningKey::generate(issuer.id, SigningAlgorithm::Rs256, SystemClock.now()).unwrap();
    let keys = MemorySigningKeys::new();
    keys.add_signing_key(&key).await.unwrap();
    // bake-images gets keys kept in memory in place of the SSM-backed keys its Lambda wiring
    // builds; the key contract suite tests those on moto.
    bake_images.keys = Arc::new(keys);

    // Issue two awards through the partner API.
    let token = call(
        &partner_api,
        Request::post("/oauth/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "grant_type=client_credentials&client_id={}&client_secret={}",
                credentials.client_id, credentials.client_secret
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(
        token.status,
        200,
        "{}",
        String::from_utf8_lossy(&token.body)
    );
    let bearer = format!("Bearer {}", token.json()["access_token"].as_str().unwrap());
    let achievements = call(
        &partner_api,
        Request::get("/v1/achievements")
            .header(header::AUTHORIZATION, &bearer)
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .json();
    let achievement_id = achievements["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["level"] == "participate")
        .expect("the demo issuer has a Participate achievement")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let batch = call(
        &partner_api,
        Request::post("/v1/awards/batch")
            .header(header::AUTHORIZATION, &bearer)
            .header(header::CONTENT_TYPE, "application/json")
            .header("idempotency-key", "journey-batch-1")
            .body(Body::from(
                json!({"items": [
                    {"achievement_id": achievement_id, "recipient": {"email": "amara@example.org", "name": "Amara Okafor"}},
                    {"achievement_id": achievement_id, "recipient": {"email": "sam@example.org", "name": "Sam Lee"}}
                ]})
                .to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert!(
        batch.status < 300,
        "{}",
        String::from_utf8_lossy(&batch.body)
    );
    let batch = batch.json();
    let award_ids: Vec<String> = batch["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            assert_eq!(item["status"], 201, "{item}");
            item["award"]["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(award_ids.len(), 2);

    // send-claims on the stream records of the awards.
    let (event, last) = stream_event(&moto, &config.table_name, None).await;
    let event: aws_lambda_events::dynamodb::Event = serde_json::from_value(event).unwrap();
    let response = send_claims::lambda::handle_stream_event(&send_claims, &event)
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    for id in &award_ids {
        let award = store.get_award(id.parse().unwrap()).await.unwrap().unwrap();
        assert_eq!(award.delivery.as_str(), "sent", "award {id}");
        assert!(
            award.message_id.is_some(),
            "award {id} has no SES message id"
        );
    }

    // The claim link from the email that SES accepted; moto keeps the HTML part.
    let links = claim_links(&moto, "amara@example.org");
    assert_eq!(links.len(), 1, "{links:?}");
    let claim_path = links[0].strip_prefix(BASE_URL).unwrap().to_owned();

    // Claim through the claim pages.
    let page = call(
        &claim_pages,
        Request::get(claim_path.as_str())
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
    let claimed = call(
        &claim_pages,
        Request::post(claim_path.as_str())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(
                "display_name=Amara+Okafor&show_name=on&identity_email=amara%40example.org",
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(
        claimed.status,
        303,
        "{}",
        String::from_utf8_lossy(&claimed.body)
    );
    let amara = award_ids[0].clone();
    let award = store
        .get_award(amara.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(award.state.as_str(), "claimed");

    // bake-images on the stream records since the emails went out.
    let (event, _) = stream_event(&moto, &config.table_name, last.as_deref()).await;
    let event: aws_lambda_events::dynamodb::Event = serde_json::from_value(event).unwrap();
    assert!(
        !event.records.is_empty(),
        "the claim wrote no stream record"
    );
    let response = bake_images::lambda::handle_stream_event(&bake_images, &event)
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty(), "{response:?}");

    // The public endpoints serve the assertion and the baked image.
    let assertion = call(
        &public,
        Request::get(format!("/assertions/{amara}"))
            .header(header::ACCEPT, "application/ld+json")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        assertion.status,
        200,
        "{}",
        String::from_utf8_lossy(&assertion.body)
    );
    let document = assertion.json();
    assert_eq!(document["id"], format!("{BASE_URL}/assertions/{amara}"));
    assert_eq!(document["type"], "Assertion");

    let image = call(
        &public,
        Request::get(format!("/assertions/{amara}/image.png"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(image.status, 200);
    assert_eq!(image.headers[header::CONTENT_TYPE], "image/png");
    let baked = accolade::baking::unbake(&image.body)
        .expect("the baked image is not a valid PNG")
        .expect("the image carries no badge");
    assert!(
        baked
            .text
            .contains(&format!("{BASE_URL}/assertions/{amara}")),
        "the baked badge is not this assertion: {}",
        baked.text
    );
    let unknown = call(
        &public,
        Request::get("/nothing-here").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"]["code"], "not_found");
}
