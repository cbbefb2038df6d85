//! The local stack's secrets: the access-token signing secret and the claim-token pepper,
//! generated on first start and kept in `DATA_DIR/secrets.json` (readable by its owner only).
//! In AWS the same values come from SSM Parameter Store.

use std::path::Path;

use accolade::adapters::system::random_bytes;
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::demo::write_private_file;

pub const SECRETS_FILE: &str = "secrets.json";

#[derive(Serialize, Deserialize)]
struct SecretsFile {
    token_signing_secret: String,
    claim_pepper: String,
}

pub struct LocalSecrets {
    pub token_signing_secret: Vec<u8>,
    pub claim_pepper: Vec<u8>,
}

/// Reads the secrets, creating them on first start.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<LocalSecrets> {
    let path = data_dir.join(SECRETS_FILE);
    if path.exists() {
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let file: SecretsFile = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is not valid; restore it from a backup (claim links and tokens depend on it)",
                path.display()
            )
        })?;
        return Ok(LocalSecrets {
            token_signing_secret: STANDARD
                .decode(file.token_signing_secret)
                .context("token_signing_secret is not base64")?,
            claim_pepper: STANDARD
                .decode(file.claim_pepper)
                .context("claim_pepper is not base64")?,
        });
    }
    let secrets = LocalSecrets {
        token_signing_secret: random_bytes::<32>().to_vec(),
        claim_pepper: random_bytes::<32>().to_vec(),
    };
    let file = SecretsFile {
        token_signing_secret: STANDARD.encode(&secrets.token_signing_secret),
        claim_pepper: STANDARD.encode(&secrets.claim_pepper),
    };
    write_private_file(&path, &serde_json::to_vec_pretty(&file)?)?;
    Ok(secrets)
}
