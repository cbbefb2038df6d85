//! Sends the claim email for new awards and resends.
//!
//! The handler runs for every change of an award: the table's stream in AWS, the change log
//! locally. Changes arrive at least once and may be stale, so the handler re-reads the award
//! and acts only when the stored award still needs its email. Sending takes three steps:
//!
//! 1. mint a claim token and write its HMAC, `sends_done = sends_requested` and delivery
//!    `sending`, conditional on the version read; a conflict means another run got there, so
//!    the award is read again and the decision made again;
//! 2. render and send the email;
//! 3. write delivery `sent` and the message id (or `failed` for a permanent rejection),
//!    conditional again.
//!
//! A retryable mail error leaves the award in `sending` (without a token) and returns an
//! error, so the caller retries the change; the retry mints a fresh token, because the
//! earlier email never went. A run that finds another run's fresh token in `sending` returns
//! a retryable error instead of sending a second email (see [`SEND_LEASE_SECONDS`]).

pub mod email;
pub mod lambda;

use std::sync::Arc;

use accolade::crypto::Pepper;
use accolade::domain::{
    Achievement, Award, AwardId, AwardState, ClaimTokenRecord, DeliveryStatus, Issuer,
};
use accolade::ports::{Clock, MailError, Mailer, OutgoingEmail, Random, Store, StoreError};
use accolade::urls::PublicUrls;

use crate::email::{ClaimEmailInput, render_claim_email};

/// How many times a conditional write is retried after a conflict before giving up. Conflicts
/// come from a concurrent claim, revocation or delivery event; a few rounds settle them.
const MAX_CONFLICT_ROUNDS: usize = 5;

/// How long a run that wrote its token counts as still sending, in seconds. Another run that
/// finds such a fresh token returns [`SendClaimsError::SendInProgress`] instead of sending a
/// second email. A token older than this was left by a run that died, so a new run sends
/// again. Handing one email to the mail service takes seconds.
pub const SEND_LEASE_SECONDS: i64 = 120;

/// Dependencies of the claim email handler.
#[derive(Clone)]
pub struct SendClaims {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    /// The HMAC key of claim tokens; it must match the one claim-badge uses.
    pub pepper: Pepper,
    pub urls: PublicUrls,
    /// The `From` header, such as `Music Service badges <badges@example.org>`.
    pub from: String,
    /// How long a claim link works, in days.
    pub claim_window_days: i64,
}

impl SendClaims {
    /// The default lifetime of a claim link: long enough to span a school holiday.
    pub const DEFAULT_CLAIM_WINDOW_DAYS: i64 = 90;
}

/// The reason nothing was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The award no longer exists.
    AwardNotFound,
    /// The award is claimed or revoked, so a claim link would be useless.
    NotIssued,
    /// The email of the latest send request has been handled already.
    AlreadyHandled,
    /// Another run replaced the token this run sent; that run records the outcome.
    Superseded,
}

/// The result of handling one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// The mail service accepted the email.
    Sent { message_id: String },
    /// Nothing to do.
    Skipped(SkipReason),
    /// Not sent, because the address bounced or complained before and was not corrected.
    Suppressed,
    /// The mail service rejected the email for good. Delivery is `failed` and the change is not
    /// retried.
    Rejected { reason: String },
}

/// A failure worth retrying the change for.
#[derive(Debug, thiserror::Error)]
pub enum SendClaimsError {
    #[error("store failed while sending the claim email of award {award_id}: {source}")]
    Store {
        award_id: AwardId,
        #[source]
        source: StoreError,
    },
    /// The mail service failed for now; the award stays `sending` and a retry sends again.
    #[error("the claim email of award {award_id} could not be sent yet: {source}")]
    MailRetryable {
        award_id: AwardId,
        #[source]
        source: MailError,
    },
    #[error("award {award_id} refers to achievement {achievement_id}, which does not exist")]
    AchievementNotFound {
        award_id: AwardId,
        achievement_id: String,
    },
    #[error("award {award_id} refers to issuer {issuer_id}, which does not exist")]
    IssuerNotFound {
        award_id: AwardId,
        issuer_id: String,
    },
    /// Another run is sending this email now. Retry the change after
    /// [`SEND_LEASE_SECONDS`]: by then it is sent, or the other run failed and this one sends.
    #[error("the claim email of award {award_id} is being sent by another run; retry later")]
    SendInProgress { award_id: AwardId },
    /// Other writers kept changing the award; the change should be retried later.
    #[error("award {award_id} kept changing while its claim email was being sent; retry later")]
    TooManyConflicts { award_id: AwardId },
}

impl SendClaimsError {
    /// Whether retrying the change later can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Store { source, .. } => !matches!(source, StoreError::InvalidCursor),
            Self::MailRetryable { .. }
            | Self::SendInProgress { .. }
            | Self::TooManyConflicts { .. } => true,
            Self::AchievementNotFound { .. } | Self::IssuerNotFound { .. } => false,
        }
    }
}

/// Handles one change of an award: sends its claim email when the stored award needs one.
///
/// `old` is the award before the change (if any) and `new` the image the change carried. Only
/// `new.id` and the send-to address in `old` are used, because the stored award is the truth.
pub async fn handle_award_change(
    deps: &SendClaims,
    old: Option<&Award>,
    new: &Award,
) -> Result<SendOutcome, SendClaimsError> {
    let award_id = new.id;
    let store_error = |source| SendClaimsError::Store { award_id, source };

    for _ in 0..MAX_CONFLICT_ROUNDS {
        let Some(award) = deps.store.get_award(award_id).await.map_err(store_error)? else {
            tracing::warn!(award.id = %award_id, "award of a change no longer exists; no claim email sent");
            return Ok(SendOutcome::Skipped(SkipReason::AwardNotFound));
        };
        if !award.needs_claim_email() {
            let reason = if award.state == AwardState::Issued {
                SkipReason::AlreadyHandled
            } else {
                SkipReason::NotIssued
            };
            tracing::debug!(award.id = %award_id, ?reason, "no claim email needed");
            return Ok(SendOutcome::Skipped(reason));
        }

        if is_suppressed(old, &award) {
            match finish_without_sending(deps, &award, DeliveryStatus::Suppressed).await {
                Ok(()) => {
                    tracing::info!(award.id = %award_id, "claim email suppressed: the address bounced or complained before");
                    return Ok(SendOutcome::Suppressed);
                }
                Err(StoreError::Conflict) => continue,
                Err(source) => return Err(store_error(source)),
            }
        }

        let Some(send_to) = award.recipient.send_to().cloned() else {
            // The API never stores such an award; record it rather than retry for ever.
            return match finish_without_sending(deps, &award, DeliveryStatus::Failed).await {
                Ok(()) => {
                    tracing::error!(award.id = %award_id, "award has no email address to send the claim email to");
                    Ok(SendOutcome::Rejected {
                        reason: "the award has no email address".to_owned(),
                    })
                }
                Err(StoreError::Conflict) => continue,
                Err(source) => Err(store_error(source)),
            };
        };

        if let Some(token) = &award.claim_token
            && award.delivery == DeliveryStatus::Sending
            && award.sends_done == award.sends_requested
            && deps.clock.now() < token.issued_at.plus_seconds(SEND_LEASE_SECONDS)
        {
            tracing::debug!(award.id = %award_id, "another run is sending the claim email");
            return Err(SendClaimsError::SendInProgress { award_id });
        }

        let (issuer, achievement) = load_context(deps, &award).await?;

        // Step 1: the token, written before the email goes, so the link works on arrival.
        let token = deps.random.token();
        let now = deps.clock.now();
        let record = ClaimTokenRecord {
            hash: deps.pepper.claim_token_hash(&token),
            issued_at: now,
            expires_at: now.plus_days(deps.claim_window_days),
        };
        let mut sending = award.next_version();
        sending.claim_token = Some(record.clone());
        sending.sends_done = award.sends_requested;
        sending.delivery = DeliveryStatus::Sending;
        sending.message_id = None;
        match deps.store.update_award(&sending, award.version).await {
            Ok(()) => {}
            Err(StoreError::Conflict) => {
                tracing::debug!(award.id = %award_id, "award changed before the token was written; reading it again");
                continue;
            }
            Err(source) => return Err(store_error(source)),
        }

        // Step 2: the email.
        let rendered = render_claim_email(&ClaimEmailInput {
            issuer: &issuer,
            achievement: &achievement,
            award: &sending,
            claim_url: &deps.urls.claim(&token),
            expires_at: record.expires_at,
        });
        let outgoing = OutgoingEmail {
            to: send_to,
            from: deps.from.clone(),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            award_id,
        };
        let result = deps.mailer.send(&outgoing).await;

        // Step 3: the outcome.
        return match result {
            Ok(message_id) => {
                let recorded = record_outcome(
                    deps,
                    award_id,
                    &record.hash,
                    MailOutcome::Accepted {
                        message_id: &message_id,
                    },
                )
                .await?;
                if recorded {
                    tracing::info!(award.id = %award_id, achievement.id = %award.achievement_id, issuer.id = %award.issuer_id, guardian = award.recipient.is_delivered_to_guardian(), "claim email sent");
                    Ok(SendOutcome::Sent { message_id })
                } else {
                    tracing::info!(award.id = %award_id, "claim email sent, but a newer token replaced it meanwhile");
                    Ok(SendOutcome::Skipped(SkipReason::Superseded))
                }
            }
            Err(error) if error.is_retryable() => {
                release_token(deps, award_id, &record.hash).await?;
                tracing::warn!(award.id = %award_id, error = %error, "claim email not sent yet; the change will be retried");
                Err(SendClaimsError::MailRetryable {
                    award_id,
                    source: error,
                })
            }
            Err(error) => {
                let reason = error.to_string();
                record_outcome(deps, award_id, &record.hash, MailOutcome::Rejected).await?;
                tracing::error!(award.id = %award_id, error = %error, "mail service rejected the claim email; not retrying");
                Ok(SendOutcome::Rejected { reason })
            }
        };
    }
    Err(SendClaimsError::TooManyConflicts { award_id })
}

/// Whether the send-to address is known to bounce or complain.
///
/// NOTE: there is no suppression list yet, so this reads only the award's own history. The
/// address counts as suppressed when the latest email bounced, drew a complaint or was
/// suppressed, unless this change brought a different send-to address (a corrected resend).
fn is_suppressed(old: Option<&Award>, award: &Award) -> bool {
    let blocked = matches!(
        award.delivery,
        DeliveryStatus::Bounced | DeliveryStatus::Complained | DeliveryStatus::Suppressed
    );
    let corrected = old.is_some_and(|old| old.recipient.send_to() != award.recipient.send_to());
    blocked && !corrected
}

/// Marks the latest send request handled without sending, with this delivery status.
async fn finish_without_sending(
    deps: &SendClaims,
    award: &Award,
    delivery: DeliveryStatus,
) -> Result<(), StoreError> {
    let mut updated = award.next_version();
    updated.sends_done = award.sends_requested;
    updated.delivery = delivery;
    updated.message_id = None;
    deps.store.update_award(&updated, award.version).await
}

async fn load_context(
    deps: &SendClaims,
    award: &Award,
) -> Result<(Issuer, Achievement), SendClaimsError> {
    let award_id = award.id;
    let store_error = |source| SendClaimsError::Store { award_id, source };
    let achievement = deps
        .store
        .get_achievement(award.achievement_id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| SendClaimsError::AchievementNotFound {
            award_id,
            achievement_id: award.achievement_id.to_string(),
        })?;
    let issuer = deps
        .store
        .get_issuer(award.issuer_id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| SendClaimsError::IssuerNotFound {
            award_id,
            issuer_id: award.issuer_id.to_string(),
        })?;
    Ok((issuer, achievement))
}

/// Removes the token of an email that did not go, so a retry need not wait for the lease.
/// The award stays `sending`, so the retry sends with a fresh token. If the award changed
/// meanwhile, it is left as it is: the lease then ends the wait.
async fn release_token(
    deps: &SendClaims,
    award_id: AwardId,
    token_hash: &str,
) -> Result<(), SendClaimsError> {
    let store_error = |source| SendClaimsError::Store { award_id, source };
    let Some(award) = deps.store.get_award(award_id).await.map_err(store_error)? else {
        return Ok(());
    };
    let ours = award
        .claim_token
        .as_ref()
        .is_some_and(|token| token.hash == token_hash);
    if !ours || award.delivery != DeliveryStatus::Sending {
        return Ok(());
    }
    let mut released = award.next_version();
    released.claim_token = None;
    match deps.store.update_award(&released, award.version).await {
        Ok(()) | Err(StoreError::Conflict) => Ok(()),
        Err(source) => Err(store_error(source)),
    }
}

/// The result of handing the email to the mail service.
enum MailOutcome<'a> {
    Accepted { message_id: &'a str },
    Rejected,
}

/// Writes the outcome of a send onto the award, as long as the award still carries the token
/// that was sent. Returns `false` when another run replaced the token (that run records its
/// own outcome). A delivery event that arrived first (`delivered`, `bounced`) is kept; only
/// the message id is added then.
async fn record_outcome(
    deps: &SendClaims,
    award_id: AwardId,
    token_hash: &str,
    outcome: MailOutcome<'_>,
) -> Result<bool, SendClaimsError> {
    let store_error = |source| SendClaimsError::Store { award_id, source };
    for _ in 0..MAX_CONFLICT_ROUNDS {
        let Some(award) = deps.store.get_award(award_id).await.map_err(store_error)? else {
            return Ok(false);
        };
        let ours = award
            .claim_token
            .as_ref()
            .is_some_and(|token| token.hash == token_hash);
        if !ours {
            return Ok(false);
        }
        let still_sending = award.delivery == DeliveryStatus::Sending;
        let mut updated = award.next_version();
        match outcome {
            MailOutcome::Accepted { message_id } => {
                if still_sending {
                    updated.delivery = DeliveryStatus::Sent;
                }
                updated.message_id = Some(message_id.to_owned());
            }
            MailOutcome::Rejected if still_sending => {
                updated.delivery = DeliveryStatus::Failed;
                updated.message_id = None;
            }
            MailOutcome::Rejected => return Ok(true),
        }
        if updated == award.next_version() {
            return Ok(true);
        }
        match deps.store.update_award(&updated, award.version).await {
            Ok(()) => return Ok(true),
            Err(StoreError::Conflict) => continue,
            Err(source) => return Err(store_error(source)),
        }
    }
    Err(SendClaimsError::TooManyConflicts { award_id })
}
