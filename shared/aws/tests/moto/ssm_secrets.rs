//! `secrets`: SecureString parameters read with decryption, and the errors that name them.

use accolade_aws::secrets::{SecretParameterNames, SecretsError, get_secure_strings, load_secrets};
use aws_sdk_ssm::types::ParameterType;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::common::{Moto, moto, unique_name};

async fn put_parameter(moto: &Moto, name: &str, value: &str, kind: ParameterType) {
    aws_sdk_ssm::Client::new(&moto.sdk)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .send()
        .await
        .unwrap_or_else(|error| {
            panic!(
                "creating parameter {name} on moto failed: {}",
                aws_sdk_ssm::error::DisplayErrorContext(&error)
            )
        });
}

#[tokio::test]
async fn ssm_secrets_are_decrypted_and_decoded() {
    let moto = moto().await;
    let prefix = format!("/{}", unique_name("accolade"));
    let names = SecretParameterNames {
        token_signing_secret: format!("{prefix}/token-signing-secret"),
        claim_pepper: format!("{prefix}/claim-pepper"),
    };
    let signing = [7_u8; 32];
    let pepper = [9_u8; 48];
    put_parameter(
        &moto,
        &names.token_signing_secret,
        &STANDARD.encode(signing),
        ParameterType::SecureString,
    )
    .await;
    put_parameter(
        &moto,
        &names.claim_pepper,
        &STANDARD.encode(pepper),
        ParameterType::SecureString,
    )
    .await;

    let secrets = load_secrets(&aws_sdk_ssm::Client::new(&moto.sdk), &names)
        .await
        .expect("loading the secrets failed");

    assert_eq!(secrets.token_signing_secret.expose_secret(), signing);
    assert_eq!(secrets.claim_pepper.expose_secret(), pepper);
    let debug = format!("{secrets:?}");
    assert!(!debug.contains(&STANDARD.encode(signing)), "{debug}");
}

#[tokio::test]
async fn ssm_missing_parameters_are_named() {
    let moto = moto().await;
    let present = format!("/{}/present", unique_name("accolade"));
    let missing = format!("/{}/missing", unique_name("accolade"));
    put_parameter(&moto, &present, "value", ParameterType::SecureString).await;

    let error = get_secure_strings(
        &aws_sdk_ssm::Client::new(&moto.sdk),
        &[present.as_str(), missing.as_str()],
    )
    .await
    .unwrap_err();

    assert!(
        matches!(&error, SecretsError::Missing(names) if names == std::slice::from_ref(&missing)),
        "{error}"
    );
}

#[tokio::test]
async fn ssm_plain_string_parameter_is_refused() {
    let moto = moto().await;
    let name = format!("/{}/plain", unique_name("accolade"));
    put_parameter(&moto, &name, "not secret", ParameterType::String).await;

    let error = get_secure_strings(&aws_sdk_ssm::Client::new(&moto.sdk), &[name.as_str()])
        .await
        .unwrap_err();

    assert!(
        matches!(&error, SecretsError::NotSecure(refused) if refused == &name),
        "{error}"
    );
    assert!(!error.to_string().contains("not secret"));
}

#[tokio::test]
async fn ssm_many_names_are_read_in_chunks() {
    let moto = moto().await;
    let prefix = format!("/{}", unique_name("accolade"));
    let names: Vec<String> = (0..13)
        .map(|index| format!("{prefix}/key-{index}"))
        .collect();
    for (index, name) in names.iter().enumerate() {
        put_parameter(
            &moto,
            name,
            &format!("secret-{index}"),
            ParameterType::SecureString,
        )
        .await;
    }
    let borrowed: Vec<&str> = names.iter().map(String::as_str).collect();

    let values = get_secure_strings(&aws_sdk_ssm::Client::new(&moto.sdk), &borrowed)
        .await
        .expect("reading 13 parameters failed");

    assert_eq!(values.len(), 13);
    assert_eq!(values[&names[12]].expose_secret(), "secret-12");
}
