//! Mints and bakes the documents of claimed awards.
//!
//! The handler runs for every change of an award, delivered at least once and possibly
//! stale, so it re-reads the award. For a claimed award it:
//!
//! 1. bakes the frozen Open Badges 2.0 assertion JSON into each image the achievement has: a
//!    PNG gets one `iTXt` chunk `openbadges`, an SVG an `openbadges:assertion` element whose
//!    `verify` is the assertion URL and whose body is the JSON
//!    (`assertions/{id}/image.png|svg`);
//! 2. mints the Open Badges 3.0 credential, signed as a VC-JWT with the issuer's active key,
//!    and stores the JSON and the JWS (`credentials/{id}.json`, then `credentials/{id}.jwt`).
//!    Then it bakes the JWS into each image (`credentials/{id}/image.png|svg`): a PNG gets
//!    an `iTXt` chunk `openbadgecredential`, an SVG an `openbadges:credential` element with
//!    the JWS in `verify`;
//! 3. mints the signed Open Badges 2.0 assertion with the issuer's latest RS256 key
//!    (`assertions/{id}/signed.jws`) and bakes it (`assertions/{id}/signed.png|svg`). An
//!    issuer with only ES256 keys gets no signed 2.0 assertion, because 2.0 verifiers read
//!    RSA keys only.
//!
//! The credential and the signed assertion are frozen: once their JWS is stored it is
//! reused, never signed again, so every fetch and every baked copy has the same bytes even
//! after a key rotation. Their random parts (the credential's salt and subject id) are
//! drawn only when they are first minted. Baking is deterministic, so handling the same
//! award again writes byte-identical files, and the claim request never waits for signing.
//!
//! Issued and revoked awards are left alone. Revocation does not delete anything, because
//! the public endpoints answer 410 for a revoked award's images whatever the file store
//! holds, and the signed documents stay valid bytes whose revocation the lists publish.
//!
//! [`lambda`] runs the handler on AWS Lambda for the table's stream.

pub mod lambda;
mod mint;

use std::sync::Arc;

use accolade::baking::{BadgeFormat, BakeError, BakeInput, ImageKind, bake, sniff};
use accolade::domain::{AchievementId, Award, AwardId, AwardState, IssuerId, StoredImage};
use accolade::keys::{KeyError, KeyId};
use accolade::openbadges::{signed, v3};
use accolade::ports::{FileStore, FileStoreError, Random, SigningKeys, Store, StoreError};
use accolade::urls::PublicUrls;

/// Dependencies of the baking handler.
#[derive(Clone)]
pub struct BakeImages {
    pub store: Arc<dyn Store>,
    pub files: Arc<dyn FileStore>,
    /// The issuers' signing keys, for the credential and the signed assertion.
    pub keys: Arc<dyn SigningKeys>,
    /// The credential's salt and subject id.
    pub random: Arc<dyn Random>,
    pub urls: PublicUrls,
}

/// One image format of a badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

impl ImageFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Svg => "svg",
        }
    }

    pub fn media_type(self) -> &'static str {
        self.kind().media_type()
    }

    fn kind(self) -> ImageKind {
        match self {
            Self::Png => ImageKind::Png,
            Self::Svg => ImageKind::Svg,
        }
    }
}

/// Returns the file store key of a baked Open Badges 2.0 hosted image.
pub fn baked_image_key(award: AwardId, format: ImageFormat) -> String {
    format!("assertions/{award}/image.{}", format.extension())
}

/// Returns the file store key of a baked Open Badges 3.0 image.
pub fn credential_image_key(award: AwardId, format: ImageFormat) -> String {
    v3::credential_image_key(award, format.extension())
}

/// Returns the file store key of a baked signed Open Badges 2.0 image.
pub fn signed_image_key(award: AwardId, format: ImageFormat) -> String {
    signed::signed_image_key(award, format.extension())
}

/// The reason nothing was baked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    AwardNotFound,
    /// Not claimed yet: there is no assertion to bake.
    NotClaimed,
    /// Revoked: a baked image would advertise a badge that is no longer valid.
    Revoked,
}

/// The outcome for a signed document (the credential or the signed assertion).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Minting {
    /// Signed now with this key.
    Minted(KeyId),
    /// Signed by an earlier run; the stored JWS was reused.
    AlreadyMinted,
    /// Not made: the issuer has no RS256 key, which Open Badges 2.0 signatures need.
    NoRs256Key,
}

/// The result of handling one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BakeOutcome {
    /// These formats were baked and stored, for each document.
    Baked {
        formats: Vec<ImageFormat>,
        credential: Minting,
        signed_assertion: Minting,
    },
    Skipped(SkipReason),
}

/// A failure of the baking handler. The caller logs it with the award id. Store, file store
/// and key storage faults are worth retrying, and so is a missing signing key, which an
/// operator adds without touching the award.
#[derive(Debug, thiserror::Error)]
pub enum BakeImagesError {
    #[error("store failed while baking award {award_id}: {source}")]
    Store {
        award_id: AwardId,
        #[source]
        source: StoreError,
    },
    #[error("file store failed while baking award {award_id}: {source}")]
    Files {
        award_id: AwardId,
        #[source]
        source: FileStoreError,
    },
    #[error("claimed award {award_id} has no frozen assertion to bake")]
    AssertionMissing { award_id: AwardId },
    #[error("award {award_id} refers to achievement {achievement_id}, which does not exist")]
    AchievementNotFound {
        award_id: AwardId,
        achievement_id: AchievementId,
    },
    #[error("award {award_id} refers to issuer {issuer_id}, which does not exist")]
    IssuerNotFound {
        award_id: AwardId,
        issuer_id: IssuerId,
    },
    #[error(
        "achievement {achievement_id} has no image to bake award {award_id} into; upload a PNG or SVG image for it"
    )]
    NoImage {
        award_id: AwardId,
        achievement_id: AchievementId,
    },
    #[error(
        "the {format:?} image of achievement {achievement_id} is missing from the file store (key {key}); upload it again"
    )]
    ImageFileMissing {
        achievement_id: AchievementId,
        format: ImageFormat,
        key: String,
    },
    #[error(
        "the {format:?} image of achievement {achievement_id} (key {key}) holds another type of data; upload a {format:?} image again"
    )]
    ImageFileWrongType {
        achievement_id: AchievementId,
        format: ImageFormat,
        key: String,
    },
    #[error("baking award {award_id} into the {format:?} image failed: {source}")]
    Bake {
        award_id: AwardId,
        format: ImageFormat,
        #[source]
        source: BakeError,
    },
    #[error(
        "issuer {issuer_id} has no signing key, so award {award_id} cannot be signed; run `accolade keys generate --issuer {issuer_id}`"
    )]
    NoSigningKey {
        award_id: AwardId,
        issuer_id: IssuerId,
    },
    #[error("signing award {award_id} failed: {source}")]
    Keys {
        award_id: AwardId,
        #[source]
        source: KeyError,
    },
    #[error("minting the credential of award {award_id} failed: {reason}")]
    Mint { award_id: AwardId, reason: String },
}

impl BakeImagesError {
    /// Returns whether retrying later can succeed without anyone fixing data.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Store { .. } | Self::Files { .. } | Self::NoSigningKey { .. } => true,
            Self::Keys { source, .. } => source.is_retryable(),
            _ => false,
        }
    }
}

/// An achievement image read from the file store and checked.
struct SourceImage {
    format: ImageFormat,
    bytes: Vec<u8>,
}

/// Handles one change of an award: mints and bakes its documents when the stored award is
/// claimed.
pub async fn handle_award_change(
    deps: &BakeImages,
    _old: Option<&Award>,
    new: &Award,
) -> Result<BakeOutcome, BakeImagesError> {
    let award_id = new.id;
    let award = deps
        .store
        .get_award(award_id)
        .await
        .map_err(|source| BakeImagesError::Store { award_id, source })?;
    let Some(award) = award else {
        return Ok(BakeOutcome::Skipped(SkipReason::AwardNotFound));
    };
    match award.state {
        AwardState::Issued => return Ok(BakeOutcome::Skipped(SkipReason::NotClaimed)),
        AwardState::Revoked => return Ok(BakeOutcome::Skipped(SkipReason::Revoked)),
        AwardState::Claimed => {}
    }
    let json = award
        .assertion_json
        .as_deref()
        .ok_or(BakeImagesError::AssertionMissing { award_id })?;

    let achievement = deps
        .store
        .get_achievement(award.achievement_id)
        .await
        .map_err(|source| BakeImagesError::Store { award_id, source })?
        .ok_or(BakeImagesError::AchievementNotFound {
            award_id,
            achievement_id: award.achievement_id,
        })?;
    let sources = read_sources(deps, award_id, achievement.id, &achievement.images).await?;

    let assertion_url = deps.urls.assertion(award_id);
    bake_all(
        deps,
        award_id,
        &sources,
        BadgeFormat::V2,
        BakeInput::hosted(json, &assertion_url),
        baked_image_key,
    )
    .await?;

    let (credential_jws, credential) = mint::credential(deps, &award, &achievement).await?;
    bake_all(
        deps,
        award_id,
        &sources,
        BadgeFormat::V3,
        BakeInput::jws(&credential_jws),
        credential_image_key,
    )
    .await?;

    let signed_assertion = match mint::signed_assertion(deps, &award, &achievement).await? {
        Some((jws, minting)) => {
            bake_all(
                deps,
                award_id,
                &sources,
                BadgeFormat::V2,
                BakeInput::jws(&jws),
                signed_image_key,
            )
            .await?;
            minting
        }
        None => Minting::NoRs256Key,
    };

    let formats: Vec<ImageFormat> = sources.iter().map(|source| source.format).collect();
    tracing::info!(
        award.id = %award_id,
        achievement.id = %achievement.id,
        issuer.id = %award.issuer_id,
        ?formats,
        ?credential,
        ?signed_assertion,
        "badge documents minted and images baked"
    );
    Ok(BakeOutcome::Baked {
        formats,
        credential,
        signed_assertion,
    })
}

/// Reads each image the achievement has and checks that its bytes are of its format.
async fn read_sources(
    deps: &BakeImages,
    award_id: AwardId,
    achievement_id: AchievementId,
    images: &accolade::domain::AchievementImages,
) -> Result<Vec<SourceImage>, BakeImagesError> {
    let slots: Vec<(ImageFormat, &StoredImage)> = [
        (ImageFormat::Png, images.png.as_ref()),
        (ImageFormat::Svg, images.svg.as_ref()),
    ]
    .into_iter()
    .filter_map(|(format, image)| image.map(|image| (format, image)))
    .collect();
    if slots.is_empty() {
        return Err(BakeImagesError::NoImage {
            award_id,
            achievement_id,
        });
    }
    let mut sources = Vec::new();
    for (format, image) in slots {
        let source = deps
            .files
            .get(&image.key.0)
            .await
            .map_err(|source| BakeImagesError::Files { award_id, source })?
            .ok_or_else(|| BakeImagesError::ImageFileMissing {
                achievement_id,
                format,
                key: image.key.0.clone(),
            })?;
        // The baker picks the format from the bytes; a PNG slot holding an SVG would
        // otherwise be stored under a .png key.
        if sniff(&source.bytes) != Some(format.kind()) {
            return Err(BakeImagesError::ImageFileWrongType {
                achievement_id,
                format,
                key: image.key.0.clone(),
            });
        }
        sources.push(SourceImage {
            format,
            bytes: source.bytes,
        });
    }
    Ok(sources)
}

/// Bakes one payload into every source image and stores each under `key_of`.
async fn bake_all(
    deps: &BakeImages,
    award_id: AwardId,
    sources: &[SourceImage],
    version: BadgeFormat,
    input: BakeInput<'_>,
    key_of: fn(AwardId, ImageFormat) -> String,
) -> Result<(), BakeImagesError> {
    for source in sources {
        let format = source.format;
        let baked =
            bake(&source.bytes, version, input).map_err(|source| BakeImagesError::Bake {
                award_id,
                format,
                source,
            })?;
        deps.files
            .put(&key_of(award_id, format), baked, format.media_type())
            .await
            .map_err(|source| BakeImagesError::Files { award_id, source })?;
    }
    Ok(())
}
