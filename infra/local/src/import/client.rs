//! A small blocking client of the partner API: the token endpoint and the batch endpoint.

use std::time::Duration;

use serde_json::{Value, json};

use super::Credentials;
use super::export::PlannedAward;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("the token endpoint {url} refused the credentials ({status}): {message}")]
    TokenRefused {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url} answered {status}: {message}")]
    Rejected {
        url: String,
        status: u16,
        message: String,
    },
    #[error("{url} answered with a body that is not the expected JSON: {message}")]
    BadResponse { url: String, message: String },
}

/// The result of one item of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchItemResult {
    Awarded {
        award_id: String,
    },
    AlreadyAwarded {
        existing_award_id: String,
    },
    Failed {
        status: u16,
        code: String,
        message: String,
    },
}

pub struct ApiClient {
    agent: ureq::Agent,
    api_url: String,
    access_token: String,
}

impl ApiClient {
    /// Gets an access token with the client credentials. `server`, when given, replaces the
    /// origin of the URLs in the credentials file.
    pub fn connect(credentials: &Credentials, server: Option<&str>) -> Result<Self, ClientError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let (token_url, api_url) = match server {
            Some(server) => {
                let base = server.trim_end_matches('/');
                (format!("{base}/oauth/token"), format!("{base}/v1"))
            }
            None => (
                credentials.token_url.clone(),
                credentials.api_url.trim_end_matches('/').to_owned(),
            ),
        };

        let mut response = agent
            .post(&token_url)
            .send_form([
                ("grant_type", "client_credentials"),
                ("client_id", credentials.client_id.as_str()),
                ("client_secret", credentials.client_secret.as_str()),
                ("scope", "awards:write awards:read"),
            ])
            .map_err(|error| ClientError::Unreachable {
                url: token_url.clone(),
                message: error.to_string(),
            })?;
        let status = response.status().as_u16();
        let body: Value = response.body_mut().read_json().unwrap_or(Value::Null);
        if status != 200 {
            let message = body["error_description"]
                .as_str()
                .or(body["error"].as_str())
                .unwrap_or("no reason given");
            return Err(ClientError::TokenRefused {
                url: token_url,
                status,
                message: message.to_owned(),
            });
        }
        let access_token = body["access_token"]
            .as_str()
            .ok_or_else(|| ClientError::BadResponse {
                url: token_url.clone(),
                message: "no access_token".to_owned(),
            })?
            .to_owned();
        Ok(Self {
            agent,
            api_url,
            access_token,
        })
    }

    /// Sends one batch and returns a result per item, in order.
    pub fn award_batch(
        &self,
        achievement_id: &str,
        awards: &[PlannedAward],
        idempotency_key: &str,
    ) -> Result<Vec<BatchItemResult>, ClientError> {
        let items: Vec<Value> = awards
            .iter()
            .map(|award| {
                json!({
                    "achievement_id": achievement_id,
                    "recipient": {
                        "email": award.email,
                        "name": award.name,
                        "delivery_email": award.delivery_email,
                    },
                    "narrative": award.narrative,
                })
            })
            .collect();
        let url = format!("{}/awards/batch", self.api_url);
        let mut response = self
            .agent
            .post(&url)
            .header("Authorization", &format!("Bearer {}", self.access_token))
            .header("Idempotency-Key", idempotency_key)
            .send_json(json!({ "items": items }))
            .map_err(|error| ClientError::Unreachable {
                url: url.clone(),
                message: error.to_string(),
            })?;
        let status = response.status().as_u16();
        let body: Value =
            response
                .body_mut()
                .read_json()
                .map_err(|error| ClientError::BadResponse {
                    url: url.clone(),
                    message: error.to_string(),
                })?;
        if !(200..300).contains(&status) {
            let message = body["error"]["message"]
                .as_str()
                .unwrap_or("no reason given")
                .to_owned();
            return Err(ClientError::Rejected {
                url,
                status,
                message,
            });
        }

        let results = body["items"]
            .as_array()
            .ok_or_else(|| ClientError::BadResponse {
                url: url.clone(),
                message: "no items array".to_owned(),
            })?;
        let mut by_index = vec![None; awards.len()];
        for result in results {
            let Some(index) = result["index"]
                .as_u64()
                .map(|index| index as usize)
                .filter(|index| *index < awards.len())
            else {
                return Err(ClientError::BadResponse {
                    url,
                    message: format!("an item has no valid index: {result}"),
                });
            };
            by_index[index] = Some(item_result(result));
        }
        by_index
            .into_iter()
            .enumerate()
            .map(|(index, result)| {
                result.ok_or_else(|| ClientError::BadResponse {
                    url: url.clone(),
                    message: format!("no result for item {index}"),
                })
            })
            .collect()
    }
}

fn item_result(result: &Value) -> BatchItemResult {
    let status = result["status"].as_u64().unwrap_or(0) as u16;
    if (200..300).contains(&status)
        && let Some(award_id) = result["award"]["id"].as_str()
    {
        return BatchItemResult::Awarded {
            award_id: award_id.to_owned(),
        };
    }
    let error = &result["error"];
    let code = error["code"].as_str().unwrap_or("unknown").to_owned();
    if code == "duplicate_award"
        && let Some(existing) = error["details"]["existing_award_id"].as_str()
    {
        return BatchItemResult::AlreadyAwarded {
            existing_award_id: existing.to_owned(),
        };
    }
    BatchItemResult::Failed {
        status,
        code,
        message: error["message"]
            .as_str()
            .unwrap_or("no reason given")
            .to_owned(),
    }
}
