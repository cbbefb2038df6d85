//! A small blocking client of the partner API: the token endpoint and the batch endpoint.

use std::time::Duration;

use serde_json::Value;

use super::Credentials;

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
    /// Gets an access token with every scope the client has (the import needs `awards:write`,
    /// and reads the achievement with `achievements:read` when the client has it). `server`,
    /// when given, replaces the origin of the URLs in the credentials file.
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

    /// Checks that the achievement exists and this client may award it, before any batch is
    /// sent, so a mistyped id stops the import with one clear message.
    pub fn check_achievement(&self, achievement_id: &str) -> Result<(), ClientError> {
        let url = format!("{}/achievements/{achievement_id}", self.api_url);
        let mut response = self
            .agent
            .get(&url)
            .header("Authorization", &format!("Bearer {}", self.access_token))
            .call()
            .map_err(|error| ClientError::Unreachable {
                url: url.clone(),
                message: error.to_string(),
            })?;
        let status = response.status().as_u16();
        // A client without `achievements:read` cannot look the id up; the batch then reports
        // an unknown achievement on every row instead.
        if status == 200 || status == 403 {
            return Ok(());
        }
        let body: Value = response.body_mut().read_json().unwrap_or(Value::Null);
        let reason = body["error"]["message"]
            .as_str()
            .unwrap_or("no reason given");
        let message = if status == 404 {
            format!(
                "there is no achievement {achievement_id} for this client's issuer ({reason}); list them with GET /v1/achievements, or see the achievement ids that `accolade serve` logs at start"
            )
        } else {
            reason.to_owned()
        };
        Err(ClientError::Rejected {
            url,
            status,
            message,
        })
    }

    /// Sends one batch body (`{"items": [...]}`) and returns a result per item, in order.
    ///
    /// A 409 `request_in_flight` (the same key is still running, say after an earlier run was
    /// stopped), a 5xx, or a connection failure is retried with the same key, which is safe
    /// because the server runs each key at most once.
    pub fn award_batch(
        &self,
        body: &Value,
        item_count: usize,
        idempotency_key: &str,
    ) -> Result<BatchResponse, ClientError> {
        let url = format!("{}/awards/batch", self.api_url);
        let mut attempt = 1;
        let mut response = loop {
            let sent = self
                .agent
                .post(&url)
                .header("Authorization", &format!("Bearer {}", self.access_token))
                .header("Idempotency-Key", idempotency_key)
                .send_json(body);
            let wait = match &sent {
                Ok(response) if response.status() == 409 || response.status().is_server_error() => {
                    retry_after(response)
                }
                Ok(_) => None,
                Err(_) => Some(Duration::from_secs(2)),
            };
            match (wait, sent) {
                (Some(wait), _) if attempt < MAX_ATTEMPTS => {
                    attempt += 1;
                    std::thread::sleep(wait);
                }
                (_, Ok(response)) => break response,
                (_, Err(error)) => {
                    return Err(ClientError::Unreachable {
                        url,
                        message: format!("{error} (tried {attempt} times)"),
                    });
                }
            }
        };
        let status = response.status().as_u16();
        let replayed = response
            .headers()
            .get("Idempotent-Replayed")
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"true"));
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
        let mut by_index = vec![None; item_count];
        for result in results {
            let Some(index) = result["index"]
                .as_u64()
                .map(|index| index as usize)
                .filter(|index| *index < item_count)
            else {
                return Err(ClientError::BadResponse {
                    url,
                    message: format!("an item has no valid index: {result}"),
                });
            };
            by_index[index] = Some(item_result(result));
        }
        let items = by_index
            .into_iter()
            .enumerate()
            .map(|(index, result)| {
                result.ok_or_else(|| ClientError::BadResponse {
                    url: url.clone(),
                    message: format!("no result for item {index}"),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(BatchResponse { items, replayed })
    }
}

/// The response to one batch.
#[derive(Debug, Clone)]
pub struct BatchResponse {
    pub items: Vec<BatchItemResult>,
    /// The server replayed the stored response of an earlier request with the same key, so the
    /// awards in it were made by an earlier run.
    pub replayed: bool,
}

/// How many times one batch is sent before the import gives up on it.
const MAX_ATTEMPTS: u32 = 6;

/// Returns the wait before retrying a 409 or 5xx response: its `Retry-After` in seconds (at
/// most 30), else 2 seconds. The batch route returns no 409 other than `request_in_flight`
/// for the whole request, so the body is not read.
fn retry_after(response: &ureq::http::Response<ureq::Body>) -> Option<Duration> {
    let seconds = response
        .headers()
        .get("Retry-After")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or(2)
        .min(30);
    Some(Duration::from_secs(seconds))
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
