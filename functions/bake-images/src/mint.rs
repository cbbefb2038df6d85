//! Minting the signed documents of a claimed award, once: the Open Badges 3.0 credential and
//! the signed Open Badges 2.0 assertion. A stored JWS is reused as it is.

use accolade::domain::{Achievement, Award, AwardId, ClaimRecord};
use accolade::keys::{KeyError, SigningAlgorithm};
use accolade::openbadges::{signed, v3};

use crate::{BakeImages, BakeImagesError, Minting};

/// The media type the credential JSON is stored with.
const CREDENTIAL_JSON_TYPE: &str = "application/vc+ld+json";
/// The media type a compact JWS is stored with.
const JWS_TYPE: &str = "text/plain; charset=utf-8";

fn key_error(award_id: AwardId) -> impl FnOnce(KeyError) -> BakeImagesError {
    move |source| BakeImagesError::Keys { award_id, source }
}

fn claim_of(award: &Award) -> Result<&ClaimRecord, BakeImagesError> {
    award.claim.as_ref().ok_or(BakeImagesError::Mint {
        award_id: award.id,
        reason: "the award is claimed but has no claim record".to_owned(),
    })
}

/// Reads a stored JWS, or `None` when there is none yet.
async fn stored_jws(
    deps: &BakeImages,
    award_id: AwardId,
    key: &str,
) -> Result<Option<String>, BakeImagesError> {
    let file = deps
        .files
        .get(key)
        .await
        .map_err(|source| BakeImagesError::Files { award_id, source })?;
    match file {
        None => Ok(None),
        Some(file) => String::from_utf8(file.bytes)
            .map(Some)
            .map_err(|_| BakeImagesError::Mint {
                award_id,
                reason: format!(
                    "the stored file {key} is not UTF-8 text; restore it from a backup"
                ),
            }),
    }
}

async fn put_text(
    deps: &BakeImages,
    award_id: AwardId,
    key: &str,
    text: &str,
    content_type: &str,
) -> Result<(), BakeImagesError> {
    deps.files
        .put(key, text.as_bytes().to_vec(), content_type)
        .await
        .map_err(|source| BakeImagesError::Files { award_id, source })
}

/// Returns the award's VC-JWT, minting and storing the credential if this is the first run.
///
/// The JSON is stored before the JWS, so a run that stops between the two leaves no JWS and
/// the next run mints again. The public endpoint serves the JSON only once the JWS exists.
pub(crate) async fn credential(
    deps: &BakeImages,
    award: &Award,
    achievement: &Achievement,
) -> Result<(String, Minting), BakeImagesError> {
    let award_id = award.id;
    let jwt_key = v3::credential_jwt_key(award_id);
    if let Some(jws) = stored_jws(deps, award_id, &jwt_key).await? {
        return Ok((jws, Minting::AlreadyMinted));
    }
    let claim = claim_of(award)?;

    let issuer = deps
        .store
        .get_issuer(award.issuer_id)
        .await
        .map_err(|source| BakeImagesError::Store { award_id, source })?
        .ok_or(BakeImagesError::IssuerNotFound {
            award_id,
            issuer_id: award.issuer_id,
        })?;
    let key = deps
        .keys
        .active_signing_key(issuer.id)
        .await
        .map_err(key_error(award_id))?
        .ok_or(BakeImagesError::NoSigningKey {
            award_id,
            issuer_id: issuer.id,
        })?;
    let subject = v3::SubjectIdentity::draw(deps.random.as_ref(), claim).map_err(|error| {
        BakeImagesError::Mint {
            award_id,
            reason: error.to_string(),
        }
    })?;
    let credential = v3::build_credential(award, achievement, &issuer, claim, &subject, &deps.urls);
    let minted = v3::sign_credential(credential, &key, &deps.urls).map_err(key_error(award_id))?;

    put_text(
        deps,
        award_id,
        &v3::credential_json_key(award_id),
        &minted.json,
        CREDENTIAL_JSON_TYPE,
    )
    .await?;
    put_text(deps, award_id, &jwt_key, &minted.jws, JWS_TYPE).await?;
    tracing::info!(award.id = %award_id, key.id = %minted.key_id, "credential minted");
    Ok((minted.jws, Minting::Minted(minted.key_id)))
}

/// Returns the award's signed Open Badges 2.0 assertion, minting it with the issuer's
/// latest RS256 key if this is the first run. Returns `None` when the issuer has no RS256
/// key.
pub(crate) async fn signed_assertion(
    deps: &BakeImages,
    award: &Award,
    achievement: &Achievement,
) -> Result<Option<(String, Minting)>, BakeImagesError> {
    let award_id = award.id;
    let jws_key = signed::signed_assertion_key(award_id);
    if let Some(jws) = stored_jws(deps, award_id, &jws_key).await? {
        return Ok(Some((jws, Minting::AlreadyMinted)));
    }
    let claim = claim_of(award)?;
    let Some(key) = deps
        .keys
        .latest_signing_key(award.issuer_id, SigningAlgorithm::Rs256)
        .await
        .map_err(key_error(award_id))?
    else {
        tracing::warn!(award.id = %award_id, issuer.id = %award.issuer_id, "no signed Open Badges 2.0 assertion: the issuer has no RS256 key; run `accolade keys generate --alg RS256`");
        return Ok(None);
    };
    let assertion = signed::signed_assertion(award, achievement, claim, key.public(), &deps.urls);
    let jws = signed::sign_assertion(&assertion, &key).map_err(key_error(award_id))?;
    put_text(deps, award_id, &jws_key, &jws, JWS_TYPE).await?;
    tracing::info!(award.id = %award_id, key.id = %key.key_id(), "signed assertion minted");
    Ok(Some((jws, Minting::Minted(key.key_id().clone()))))
}
