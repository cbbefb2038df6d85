//! The configuration of a function on AWS, read once from the environment at start, and the
//! AWS SDK configuration with its one HTTPS client.

use accolade::config::{ConfigError, optional, required};
use accolade::domain::EmailAddress;
use accolade::urls::PublicUrls;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use crate::secrets::SecretParameterNames;
use crate::signing_keys::SigningKeyPrefix;

/// The environment variables [`AwsConfig::from_env`] reads. `template.yaml` sets each of them.
pub mod variables {
    pub const TABLE_NAME: &str = "TABLE_NAME";
    pub const BUCKET_NAME: &str = "BUCKET_NAME";
    pub const SES_CONFIGURATION_SET: &str = "SES_CONFIGURATION_SET";
    pub const SENDER_ADDRESS: &str = "SENDER_ADDRESS";
    pub const PUBLIC_BASE_URL: &str = "PUBLIC_BASE_URL";
    pub const TOKEN_SIGNING_SECRET_PARAMETER: &str = "TOKEN_SIGNING_SECRET_PARAMETER";
    pub const CLAIM_PEPPER_PARAMETER: &str = "CLAIM_PEPPER_PARAMETER";
    /// The SSM path under which the issuers' private signing keys are stored. Only the
    /// functions that sign read it, through [`AwsConfig::signing_key_prefix`](super::AwsConfig::signing_key_prefix).
    pub const SIGNING_KEY_PARAMETER_PREFIX: &str = "SIGNING_KEY_PARAMETER_PREFIX";
    /// Optional: sends every AWS call to this endpoint instead of AWS, for an emulator.
    pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
}

/// The deployment settings of a function on AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsConfig {
    /// The DynamoDB table's name.
    pub table_name: String,
    /// The private bucket of images.
    pub bucket_name: String,
    /// The SES configuration set whose event destination reports deliveries and bounces.
    pub ses_configuration_set: String,
    /// The `From` header of claim emails: `badges@example.org` or
    /// `Riverside Music <badges@example.org>`.
    pub sender_address: String,
    pub public_base_url: PublicUrls,
    pub secret_parameters: SecretParameterNames,
    /// The SSM path of the private signing keys; `None` in functions that only read public
    /// keys from the table, which are not given the variable.
    pub signing_key_prefix: Option<SigningKeyPrefix>,
    /// An emulator's endpoint, for tests; `None` on AWS.
    pub endpoint_url: Option<String>,
}

impl AwsConfig {
    /// Reads the variables in [`variables`]. A missing or invalid variable fails with its name.
    pub fn from_env() -> Result<Self, ConfigError> {
        use variables::*;

        let sender_address = required(
            SENDER_ADDRESS,
            "set it to the verified SES sender, such as \"Riverside Music <badges@example.org>\"",
        )?;
        check_sender_address(&sender_address).map_err(|reason| ConfigError::Invalid {
            name: SENDER_ADDRESS,
            reason,
        })?;
        let public_base_url = required(
            PUBLIC_BASE_URL,
            "set it to the issuer's domain, such as https://badges.example.org",
        )?;
        let public_base_url =
            PublicUrls::parse(&public_base_url).map_err(|error| ConfigError::Invalid {
                name: PUBLIC_BASE_URL,
                reason: error.to_string(),
            })?;

        Ok(Self {
            table_name: required(TABLE_NAME, "set it to the DynamoDB table's name")?,
            bucket_name: required(BUCKET_NAME, "set it to the S3 bucket's name")?,
            ses_configuration_set: required(
                SES_CONFIGURATION_SET,
                "set it to the SES configuration set's name",
            )?,
            sender_address,
            public_base_url,
            secret_parameters: SecretParameterNames {
                token_signing_secret: required(
                    TOKEN_SIGNING_SECRET_PARAMETER,
                    "set it to the name of the SSM SecureString parameter of the access-token signing secret",
                )?,
                claim_pepper: required(
                    CLAIM_PEPPER_PARAMETER,
                    "set it to the name of the SSM SecureString parameter of the claim-token pepper",
                )?,
            },
            signing_key_prefix: optional(SIGNING_KEY_PARAMETER_PREFIX)
                .map(|value| {
                    SigningKeyPrefix::parse(&value).map_err(|error| ConfigError::Invalid {
                        name: SIGNING_KEY_PARAMETER_PREFIX,
                        reason: error.to_string(),
                    })
                })
                .transpose()?,
            endpoint_url: optional(AWS_ENDPOINT_URL),
        })
    }

    /// Returns the SSM path of the private signing keys, for a function that signs; fails
    /// with the variable's name when it is not set.
    pub fn signing_key_prefix(&self) -> Result<&SigningKeyPrefix, ConfigError> {
        self.signing_key_prefix
            .as_ref()
            .ok_or(ConfigError::Missing {
                name: variables::SIGNING_KEY_PARAMETER_PREFIX,
                hint: "set it to the SSM path of the issuers' private signing keys, such as /accolade/prod/signing-keys",
            })
    }

    /// Loads the SDK configuration for this deployment with [`sdk_config`].
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config(self.endpoint_url.as_deref()).await
    }

    /// Builds an S3 client that uses path-style addressing when an emulator endpoint is set,
    /// because an emulator on one address cannot serve bucket names as host names.
    pub fn s3_client(&self, sdk_config: &SdkConfig) -> aws_sdk_s3::Client {
        s3_client(sdk_config, self.endpoint_url.is_some())
    }
}

/// Checks a `From` header: an address, or a display name and an address in angle brackets.
fn check_sender_address(value: &str) -> Result<(), String> {
    let value = value.trim();
    let address = match value.rsplit_once('<') {
        Some((_, rest)) => rest
            .strip_suffix('>')
            .ok_or_else(|| format!("{value:?} has '<' without a closing '>' at the end"))?,
        None => value,
    };
    EmailAddress::parse(address)
        .map(|_| ())
        .map_err(|error| error.to_string())
}

/// Loads the SDK configuration (region and credentials from the environment, as on Lambda)
/// with one HTTPS client, rustls over ring, shared by every AWS client built from it.
/// `endpoint_url` sends every call to an emulator instead of AWS.
pub async fn sdk_config(endpoint_url: Option<&str>) -> SdkConfig {
    sdk_config_loader(endpoint_url).load().await
}

/// Returns the loader behind [`sdk_config`], for callers that set the region or credentials
/// themselves. Tests against an emulator set both, so nothing is looked up elsewhere.
pub fn sdk_config_loader(endpoint_url: Option<&str>) -> aws_config::ConfigLoader {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client);
    match endpoint_url {
        Some(endpoint_url) => loader.endpoint_url(endpoint_url),
        None => loader,
    }
}

/// Builds an S3 client from `sdk_config`, with path-style addressing when requested.
pub fn s3_client(sdk_config: &SdkConfig, force_path_style: bool) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk_config)
        .force_path_style(force_path_style)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_sets_every_variable() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let template = std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("reading {} failed: {error}", path.display()));
        for name in [
            variables::TABLE_NAME,
            variables::BUCKET_NAME,
            variables::SES_CONFIGURATION_SET,
            variables::SENDER_ADDRESS,
            variables::PUBLIC_BASE_URL,
            variables::TOKEN_SIGNING_SECRET_PARAMETER,
            variables::CLAIM_PEPPER_PARAMETER,
            variables::SIGNING_KEY_PARAMETER_PREFIX,
        ] {
            assert!(
                template.contains(&format!("        {name}: ")),
                "template.yaml does not set {name} for the functions"
            );
        }
    }

    #[test]
    fn sender_address_forms() {
        assert!(check_sender_address("badges@music.example.org").is_ok());
        assert!(check_sender_address("Riverside Music <badges@music.example.org>").is_ok());
        assert!(check_sender_address("Riverside Music <badges@music.example.org").is_err());
        assert!(check_sender_address("Riverside Music").is_err());
    }
}
