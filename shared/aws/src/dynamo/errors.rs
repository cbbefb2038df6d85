//! DynamoDB errors turned into [`StoreError`]s.

use accolade::ports::StoreError;
use anyhow::anyhow;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::CancellationReason;

/// Error codes with which DynamoDB throttles the caller. The SDK has retried them already
/// (standard retry mode) by the time they reach us.
const THROTTLING_CODES: [&str; 4] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "Throttling",
];

/// The same conditions as they appear in a transaction's cancellation reasons.
const THROTTLING_REASONS: [&str; 3] = [
    "ProvisionedThroughputExceeded",
    "ThrottlingError",
    "RequestLimitExceeded",
];

/// Turns any failed call into `Throttled`, `Conflict` (another transaction was writing the
/// same item) or `Backend` with `context` and the SDK's whole error chain.
pub(super) fn store_error<E, R>(
    error: SdkError<E, R>,
    context: impl FnOnce() -> String,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = error.code();
    if code.is_some_and(|code| THROTTLING_CODES.contains(&code)) {
        return StoreError::Throttled;
    }
    if code == Some("TransactionConflictException") {
        return StoreError::Conflict;
    }
    StoreError::Backend(anyhow!("{}: {}", context(), DisplayErrorContext(&error)))
}

/// The cancellation reasons of a transaction, one per action.
pub(super) struct Cancellation<'a> {
    reasons: &'a [CancellationReason],
}

impl<'a> Cancellation<'a> {
    pub(super) fn new(reasons: &'a [CancellationReason]) -> Self {
        Self { reasons }
    }

    /// Checks whether the condition of the action at `index` failed.
    pub(super) fn condition_failed(&self, index: usize) -> bool {
        self.reasons
            .get(index)
            .and_then(CancellationReason::code)
            .is_some_and(|code| code == "ConditionalCheckFailed")
    }

    /// Returns the error for a cancellation that no condition explains: throttling, a
    /// concurrent transaction on one of the items, or an unexpected fault.
    pub(super) fn other_error(&self, context: impl FnOnce() -> String) -> StoreError {
        let codes: Vec<&str> = self
            .reasons
            .iter()
            .map(|reason| reason.code().unwrap_or("None"))
            .collect();
        if codes.iter().any(|code| THROTTLING_REASONS.contains(code)) {
            return StoreError::Throttled;
        }
        if codes.contains(&"TransactionConflict") {
            return StoreError::Conflict;
        }
        let messages: Vec<&str> = self
            .reasons
            .iter()
            .filter_map(CancellationReason::message)
            .collect();
        StoreError::Backend(anyhow!(
            "{}: the transaction was cancelled (reasons: {}; messages: {})",
            context(),
            codes.join(", "),
            messages.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::config::http::HttpResponse;
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn service_error(code: &str) -> SdkError<PutItemError, HttpResponse> {
        let error = PutItemError::generic(
            ErrorMetadata::builder()
                .code(code)
                .message("details")
                .build(),
        );
        let status = 400.try_into().expect("400 is a status code");
        SdkError::service_error(error, HttpResponse::new(status, SdkBody::empty()))
    }

    fn reasons(codes: &[&str]) -> Vec<CancellationReason> {
        codes
            .iter()
            .map(|code| CancellationReason::builder().code(*code).build())
            .collect()
    }

    #[test]
    fn throttling_codes_become_throttled() {
        for code in THROTTLING_CODES {
            let error = store_error(service_error(code), String::new);
            assert!(matches!(error, StoreError::Throttled), "{code}: {error}");
        }
    }

    #[test]
    fn other_codes_become_backend_with_context() {
        let error = store_error(service_error("ValidationException"), || {
            "writing item AWARD#1 to table t failed".to_owned()
        });
        let message = error.to_string();
        assert!(matches!(error, StoreError::Backend(_)), "{message}");
        assert!(
            message.contains("writing item AWARD#1 to table t failed"),
            "{message}"
        );
        assert!(message.contains("ValidationException"), "{message}");
    }

    #[test]
    fn transaction_conflict_becomes_conflict() {
        let error = store_error(service_error("TransactionConflictException"), String::new);
        assert!(matches!(error, StoreError::Conflict), "{error}");
    }

    #[test]
    fn cancellation_reasons_are_sorted_out() {
        let conditional = reasons(&["None", "ConditionalCheckFailed"]);
        let cancellation = Cancellation::new(&conditional);
        assert!(!cancellation.condition_failed(0));
        assert!(cancellation.condition_failed(1));
        assert!(!cancellation.condition_failed(2));

        let throttled = reasons(&["None", "ThrottlingError"]);
        let error = Cancellation::new(&throttled).other_error(String::new);
        assert!(matches!(error, StoreError::Throttled), "{error}");

        let conflict = reasons(&["TransactionConflict", "None"]);
        let error = Cancellation::new(&conflict).other_error(String::new);
        assert!(matches!(error, StoreError::Conflict), "{error}");

        let invalid = reasons(&["ValidationError"]);
        let error =
            Cancellation::new(&invalid).other_error(|| "creating award 1 failed".to_owned());
        let message = error.to_string();
        assert!(matches!(error, StoreError::Backend(_)), "{message}");
        assert!(message.contains("ValidationError"), "{message}");
    }
}
