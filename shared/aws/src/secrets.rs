//! Secrets from SSM Parameter Store: SecureString parameters, read once at start.
//!
//! Values never appear in `Debug` output, logs or error messages; errors name the parameter
//! only.

use std::collections::HashMap;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::DisplayErrorContext;
use aws_sdk_ssm::types::ParameterType;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// `GetParameters` accepts at most this many names per call.
const NAMES_PER_CALL: usize = 10;

/// A secret string. Its `Debug` form is redacted, and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(redacted)")
    }
}

/// Secret bytes. Its `Debug` form is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes({} bytes, redacted)", self.0.len())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("reading SSM parameters {names:?} failed: {message}")]
    Read { names: Vec<String>, message: String },
    #[error(
        "SSM parameters {0:?} do not exist or are not readable by this function; create them as \
         SecureString parameters"
    )]
    Missing(Vec<String>),
    #[error(
        "SSM parameter {0:?} is not a SecureString; store secrets only as SecureString parameters"
    )]
    NotSecure(String),
    #[error(
        "SSM parameter {0:?} is not standard base64; store the base64 of at least 32 random bytes"
    )]
    NotBase64(String),
}

/// The names of the SecureString parameters that hold the deployment's secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretParameterNames {
    /// The HMAC key of partner access tokens.
    pub token_signing_secret: String,
    /// The HMAC key of claim token hashes.
    pub claim_pepper: String,
}

/// The deployment's secrets, decoded from base64.
#[derive(Debug, Clone)]
pub struct Secrets {
    pub token_signing_secret: SecretBytes,
    pub claim_pepper: SecretBytes,
}

/// Reads SecureString parameters with decryption, keyed by the names asked for (as given,
/// also when a name was given as an ARN).
///
/// Fails when a parameter is missing or is not a SecureString, naming the parameters.
pub async fn get_secure_strings(
    client: &Client,
    names: &[&str],
) -> Result<HashMap<String, SecretString>, SecretsError> {
    let mut values = HashMap::new();
    let mut missing = Vec::new();
    for chunk in names.chunks(NAMES_PER_CALL) {
        let output = client
            .get_parameters()
            .set_names(Some(chunk.iter().map(|name| (*name).to_owned()).collect()))
            .with_decryption(true)
            .send()
            .await
            .map_err(|error| SecretsError::Read {
                names: chunk.iter().map(|name| (*name).to_owned()).collect(),
                message: DisplayErrorContext(&error).to_string(),
            })?;
        missing.extend(output.invalid_parameters.unwrap_or_default());
        for parameter in output.parameters.unwrap_or_default() {
            let name = parameter.name.unwrap_or_default();
            // The response names a parameter by its name even when the request used its ARN.
            let asked = chunk
                .iter()
                .find(|asked| **asked == name || asked.ends_with(&format!("parameter{name}")))
                .map_or(name.clone(), |asked| (*asked).to_owned());
            if parameter.r#type != Some(ParameterType::SecureString) {
                return Err(SecretsError::NotSecure(asked));
            }
            values.insert(asked, SecretString(parameter.value.unwrap_or_default()));
        }
    }
    missing.extend(
        names
            .iter()
            .filter(|name| !values.contains_key(**name))
            .map(|name| (*name).to_owned()),
    );
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        Ok(values)
    } else {
        Err(SecretsError::Missing(missing))
    }
}

/// Reads the token signing secret and the claim pepper, each stored as the standard base64 of
/// random bytes.
pub async fn load_secrets(
    client: &Client,
    names: &SecretParameterNames,
) -> Result<Secrets, SecretsError> {
    let values = get_secure_strings(
        client,
        &[
            names.token_signing_secret.as_str(),
            names.claim_pepper.as_str(),
        ],
    )
    .await?;
    let decode = |name: &str| -> Result<SecretBytes, SecretsError> {
        let value = values
            .get(name)
            .ok_or_else(|| SecretsError::Missing(vec![name.to_owned()]))?;
        STANDARD
            .decode(value.expose_secret().trim())
            .map(SecretBytes)
            .map_err(|_| SecretsError::NotBase64(name.to_owned()))
    };
    Ok(Secrets {
        token_signing_secret: decode(&names.token_signing_secret)?,
        claim_pepper: decode(&names.claim_pepper)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let text = format!(
            "{:?} {:?}",
            SecretString("hunter2".to_owned()),
            SecretBytes(b"hunter2".to_vec())
        );
        assert!(!text.contains("hunter2"), "{text}");
    }
}
