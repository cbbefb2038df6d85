//! The issuer's revocation lists, computed from the store's revoked awards on each request,
//! so a revocation shows at once:
//!
//! - the 1EdTech revocation list that Open Badges 3.0 credentials name in
//!   `credentialStatus` (type `1EdTechRevocationList`), at `/issuers/{id}/revocations`:
//!   `{"id", "issuer", "revokedCredential": [{"id": "urn:uuid:…", "revoked": true,
//!   "revocationReason"}]}`;
//! - the Open Badges 2.0 `RevocationList` that the Issuer Profile links as `revocationList`,
//!   at `/issuers/{id}/revocations/v2`, for signed 2.0 assertions.
//!
//! Both list only awards revoked after their claim: an award revoked before it was claimed
//! never had a credential or assertion. Entries use the `urn:uuid:{award id}` id that the
//! credential and the signed assertion share. The 2.0 list also names each revoked award's
//! hosted assertion URL, although that URL already returns 410 Gone, so every id of a
//! revoked assertion is listed. A side effect matters to verifiers: the list never has
//! exactly one entry. JSON-LD compaction turns a one-entry array into a single object, and
//! the 1EdTech 2.0 validator (badgecheck 1.2.0) then fails to find the revoked id in it.

use serde::{Deserialize, Serialize};

use crate::domain::{Award, IssuerId};
use crate::openbadges::v2::CONTEXT;
use crate::openbadges::v3::credential_id;
use crate::urls::PublicUrls;

/// The `credentialStatus` type of the 1EdTech revocation list.
pub const REVOCATION_LIST_TYPE: &str = "1EdTechRevocationList";

/// Returns the URL of the issuer's 1EdTech revocation list, the `credentialStatus.id` of its
/// credentials.
pub fn revocation_list_url(urls: &PublicUrls, issuer: IssuerId) -> String {
    urls.join(&format!("/issuers/{issuer}/revocations"))
}

/// Returns the URL of the issuer's Open Badges 2.0 `RevocationList`.
pub fn assertion_revocation_list_url(urls: &PublicUrls, issuer: IssuerId) -> String {
    urls.join(&format!("/issuers/{issuer}/revocations/v2"))
}

/// One revoked credential in a 1EdTech revocation list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokedCredential {
    pub id: String,
    /// Verifiers treat an absent value as `true`; `false` means the entry does not revoke.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<String>,
}

impl RevokedCredential {
    /// Returns whether this entry revokes its credential.
    pub fn is_revoked(&self) -> bool {
        self.revoked.unwrap_or(true)
    }
}

/// The 1EdTech revocation list of an issuer's credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRevocationList {
    pub id: String,
    pub issuer: String,
    /// Written as `revokedCredential` (singular, as the 1EdTech validator reads it); the plural
    /// is also read, because some documents use it.
    #[serde(rename = "revokedCredential", alias = "revokedCredentials", default)]
    pub revoked_credential: Vec<RevokedCredential>,
}

impl CredentialRevocationList {
    /// Returns the entry that revokes the credential `credential_id`, if there is one.
    pub fn revocation_of(&self, credential_id: &str) -> Option<&RevokedCredential> {
        self.revoked_credential
            .iter()
            .find(|entry| entry.id == credential_id && entry.is_revoked())
    }
}

/// One revoked assertion in an Open Badges 2.0 `RevocationList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokedAssertionEntry {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<String>,
}

/// An Open Badges 2.0 `RevocationList`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssertionRevocationList {
    #[serde(rename = "@context")]
    pub context: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    pub issuer: String,
    pub revoked_assertions: Vec<RevokedAssertionEntry>,
}

/// Returns the revoked awards that had been claimed, in the order they were revoked (then by id),
/// with their reasons.
fn claimed_revocations(revoked: &[Award]) -> Vec<(&Award, String)> {
    let mut entries: Vec<(&Award, String)> = revoked
        .iter()
        .filter(|award| award.claim.is_some())
        .filter_map(|award| {
            award
                .revocation
                .as_ref()
                .map(|revocation| (award, revocation.reason.to_string()))
        })
        .collect();
    entries.sort_by_key(|(award, _)| {
        (
            award
                .revocation
                .as_ref()
                .map(|revocation| revocation.revoked_at),
            award.id,
        )
    });
    entries
}

/// Builds the 1EdTech revocation list of `issuer` from its revoked awards
/// ([`Store::list_revoked_awards`](crate::ports::Store::list_revoked_awards)).
pub fn credential_revocation_list(
    issuer: IssuerId,
    revoked: &[Award],
    urls: &PublicUrls,
) -> CredentialRevocationList {
    CredentialRevocationList {
        id: revocation_list_url(urls, issuer),
        issuer: urls.issuer(issuer),
        revoked_credential: claimed_revocations(revoked)
            .into_iter()
            .map(|(award, reason)| RevokedCredential {
                id: credential_id(award.id),
                revoked: Some(true),
                revocation_reason: Some(reason),
            })
            .collect(),
    }
}

/// Builds the Open Badges 2.0 `RevocationList` of `issuer` from its revoked awards: for each, the
/// signed assertion's `urn:uuid:` id, then the hosted assertion URL.
pub fn assertion_revocation_list(
    issuer: IssuerId,
    revoked: &[Award],
    urls: &PublicUrls,
) -> AssertionRevocationList {
    AssertionRevocationList {
        context: CONTEXT.to_owned(),
        kind: "RevocationList".to_owned(),
        id: assertion_revocation_list_url(urls, issuer),
        issuer: urls.issuer(issuer),
        revoked_assertions: claimed_revocations(revoked)
            .into_iter()
            .flat_map(|(award, reason)| {
                [credential_id(award.id), urls.assertion(award.id)].map(|id| {
                    RevokedAssertionEntry {
                        id,
                        revocation_reason: Some(reason.clone()),
                    }
                })
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::contract::fixtures;
    use crate::domain::{
        AwardState, ClaimRecord, EmailAddress, Revocation, Text, TextLimit, Timestamp,
    };

    fn revoked(claimed: bool, at: i64) -> Award {
        let issuer = fixtures::issuer();
        let achievement = fixtures::achievement(issuer.id);
        let mut award = fixtures::award(issuer.id, achievement.id, "amara@example.org");
        award.state = AwardState::Revoked;
        award.claim = claimed.then(|| ClaimRecord {
            claimed_at: Timestamp::from_unix_seconds(at - 10),
            identity: EmailAddress::parse("amara@example.org").unwrap(),
            salt: "s".to_owned(),
            identity_hash: "sha256$00".to_owned(),
            display_name: None,
            show_name: false,
        });
        award.revocation = Some(Revocation {
            revoked_at: Timestamp::from_unix_seconds(at),
            reason: Text::parse("reason", "Awarded in error", TextLimit::LONG).unwrap(),
            previous_state: AwardState::Claimed,
        });
        award
    }

    #[test]
    fn lists_only_claimed_awards_in_revocation_order() {
        let urls = PublicUrls::parse("https://badges.example.org").unwrap();
        let issuer = IssuerId::from_uuid(uuid::Uuid::nil());
        let later = revoked(true, 200);
        let earlier = revoked(true, 100);
        let unclaimed = revoked(false, 150);
        let awards = vec![later.clone(), unclaimed, earlier.clone()];

        let list = credential_revocation_list(issuer, &awards, &urls);
        let ids: Vec<&str> = list
            .revoked_credential
            .iter()
            .map(|entry| entry.id.as_str())
            .collect();
        assert_eq!(
            ids,
            vec![credential_id(earlier.id), credential_id(later.id)]
        );
        assert_eq!(list.id, revocation_list_url(&urls, issuer));
        let value = serde_json::to_value(&list).unwrap();
        assert_eq!(value["revokedCredential"][0]["revoked"], true);
        assert_eq!(
            value["revokedCredential"][0]["revocationReason"],
            "Awarded in error"
        );

        let v2 = serde_json::to_value(assertion_revocation_list(issuer, &awards, &urls)).unwrap();
        assert_eq!(v2["type"], "RevocationList");
        let v2_ids: Vec<&str> = v2["revokedAssertions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            v2_ids,
            vec![
                credential_id(earlier.id),
                urls.assertion(earlier.id),
                credential_id(later.id),
                urls.assertion(later.id),
            ]
        );
    }

    #[test]
    fn parsing_reads_both_spellings_and_absent_revoked() {
        let list: CredentialRevocationList = serde_json::from_str(
            r#"{"id": "l", "issuer": "i", "revokedCredentials": [{"id": "a"}, {"id": "b", "revoked": false}]}"#,
        )
        .unwrap();
        assert!(list.revocation_of("a").is_some());
        assert!(list.revocation_of("b").is_none());
        assert!(list.revocation_of("c").is_none());
    }
}
