//! The mailer over SES v2.

use accolade::ports::{MailError, Mailer, OutgoingEmail};
use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::http::HttpResponse;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The tag that carries the award id, so that delivery events (bounces, complaints,
/// deliveries) published by the configuration set can be matched to the award.
pub const AWARD_ID_TAG: &str = "award_id";

const CHARSET: &str = "UTF-8";

/// The [`Mailer`] over SES v2 `SendEmail`, with a configuration set whose event destination
/// reports what happened to each email.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    configuration_set: String,
}

impl SesMailer {
    pub fn new(client: Client, configuration_set: impl Into<String>) -> Self {
        Self {
            client,
            configuration_set: configuration_set.into(),
        }
    }
}

/// Writes a non-ASCII display name of a `From` header as an RFC 2047 encoded word, which SES
/// requires for a Unicode "friendly from" name. An ASCII header is returned unchanged.
fn encode_from(from: &str) -> String {
    let Some((name, address)) = from.trim().rsplit_once('<') else {
        return from.to_owned();
    };
    let name = name.trim().trim_matches('"');
    if name.is_ascii() {
        return from.to_owned();
    }
    format!("=?UTF-8?B?{}?= <{address}", STANDARD.encode(name))
}

fn content(data: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(data)
        .charset(CHARSET)
        .build()
        .map_err(|error| MailError::Rejected(format!("building the email failed: {error}")))
}

/// Sorts a failed send into throttled, transient or rejected. Messages carry the error code
/// and never SES's own message text, which can quote the recipient's address.
fn mail_error(error: SdkError<SendEmailError, HttpResponse>) -> MailError {
    if let Some(status) = error
        .raw_response()
        .map(|response| response.status().as_u16())
        && matches!(status, 429 | 503)
    {
        return MailError::Throttled;
    }
    match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("an unknown error");
            match service.err() {
                SendEmailError::TooManyRequestsException(_)
                | SendEmailError::LimitExceededException(_) => MailError::Throttled,
                SendEmailError::MessageRejected(_)
                | SendEmailError::AccountSuspendedException(_)
                | SendEmailError::MailFromDomainNotVerifiedException(_)
                | SendEmailError::NotFoundException(_)
                | SendEmailError::BadRequestException(_) => {
                    MailError::Rejected(format!("SES rejected the email with {code}"))
                }
                // Paused sending is resumed by an operator, and other codes (internal
                // failures) may pass.
                _ => MailError::Transient(format!("SES returned {code}")),
            }
        }
        // The request could not be built, so sending it again cannot help.
        SdkError::ConstructionFailure(_) => MailError::Rejected(format!(
            "building the SES request failed: {}",
            DisplayErrorContext(&error)
        )),
        _ => MailError::Transient(format!(
            "calling SES failed: {}",
            DisplayErrorContext(&error)
        )),
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(
                Body::builder()
                    .text(content(&email.text)?)
                    .html(content(&email.html)?)
                    .build(),
            )
            .build();
        let tag = MessageTag::builder()
            .name(AWARD_ID_TAG)
            .value(email.award_id.to_string())
            .build()
            .map_err(|error| MailError::Rejected(format!("building the email failed: {error}")))?;

        let output = self
            .client
            .send_email()
            .from_email_address(encode_from(&email.from))
            .destination(
                Destination::builder()
                    .to_addresses(email.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .configuration_set_name(&self.configuration_set)
            .email_tags(tag)
            .send()
            .await
            .map_err(mail_error)?;
        output.message_id.ok_or_else(|| {
            MailError::Transient("SES accepted the email but returned no message id".to_owned())
        })
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sesv2::types::error::{
        MessageRejected, SendingPausedException, TooManyRequestsException,
    };
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn service_error(error: SendEmailError, status: u16) -> SdkError<SendEmailError, HttpResponse> {
        let status = status.try_into().expect("a valid status code");
        SdkError::service_error(error, HttpResponse::new(status, SdkBody::empty()))
    }

    #[test]
    fn throttling_becomes_throttled() {
        let too_many =
            SendEmailError::TooManyRequestsException(TooManyRequestsException::builder().build());
        let unknown = SendEmailError::generic(Default::default());
        for (error, status) in [(too_many, 400), (unknown, 429)] {
            let error = mail_error(service_error(error, status));
            assert!(matches!(error, MailError::Throttled), "{error}");
        }
    }

    #[test]
    fn rejection_keeps_no_address() {
        let rejected = SendEmailError::MessageRejected(
            MessageRejected::builder()
                .message("Email address not verified badges@music.example.org")
                .build(),
        );
        let error = mail_error(service_error(rejected, 400));
        assert!(matches!(error, MailError::Rejected(_)), "{error}");
        assert!(!error.to_string().contains('@'), "{error}");
    }

    #[test]
    fn paused_sending_and_timeouts_are_transient() {
        let paused =
            SendEmailError::SendingPausedException(SendingPausedException::builder().build());
        let error = mail_error(service_error(paused, 400));
        assert!(matches!(error, MailError::Transient(_)), "{error}");
        let error = mail_error(SdkError::timeout_error("the call timed out"));
        assert!(matches!(error, MailError::Transient(_)), "{error}");
        assert!(error.is_retryable());
    }

    #[test]
    fn ascii_from_is_unchanged() {
        let from = "Riverside Music <badges@music.example.org>";
        assert_eq!(encode_from(from), from);
        assert_eq!(
            encode_from("badges@music.example.org"),
            "badges@music.example.org"
        );
    }

    #[test]
    fn unicode_display_name_is_encoded() {
        let encoded = encode_from("\"Musikschule Köln\" <badges@music.example.org>");
        assert_eq!(
            encoded,
            format!(
                "=?UTF-8?B?{}?= <badges@music.example.org>",
                STANDARD.encode("Musikschule Köln")
            )
        );
    }
}
