//! Bakes claimed awards into their achievement's images.
//!
//! The handler runs for every change of an award, delivered at least once and possibly
//! stale, so it re-reads the award. For a claimed award it bakes the frozen assertion JSON
//! into each image the achievement has. A PNG gets one `iTXt` chunk `openbadges`; an SVG gets
//! an `openbadges:assertion` element whose `verify` is the assertion URL and whose body is
//! the JSON. The results go under `assertions/{id}/image.png` and `.svg`. Baking is
//! deterministic, so handling the same award again writes byte-identical files.
//!
//! Issued and revoked awards are left alone. Revocation does not delete images, because the
//! public endpoint answers 410 for a revoked award's images whatever the file store holds.
//!
//! [`lambda`] runs the handler on AWS Lambda for the table's stream.

pub mod lambda;

use std::sync::Arc;

use accolade::baking::{BadgeFormat, BakeError, BakeInput, ImageKind, bake, sniff};
use accolade::domain::{AchievementId, Award, AwardId, AwardState, StoredImage};
use accolade::ports::{FileStore, FileStoreError, Store, StoreError};
use accolade::urls::PublicUrls;

/// Dependencies of the baking handler.
#[derive(Clone)]
pub struct BakeImages {
    pub store: Arc<dyn Store>,
    pub files: Arc<dyn FileStore>,
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

/// Returns the file store key of a baked image.
pub fn baked_image_key(award: AwardId, format: ImageFormat) -> String {
    format!("assertions/{award}/image.{}", format.extension())
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

/// The result of handling one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BakeOutcome {
    /// These formats were baked and stored.
    Baked {
        formats: Vec<ImageFormat>,
    },
    Skipped(SkipReason),
}

/// A failure of the baking handler. The caller logs it with the award id. Only store and
/// file store failures are worth retrying before someone fixes the data.
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
}

impl BakeImagesError {
    /// Returns whether retrying later can succeed without anyone fixing data.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Store { .. } | Self::Files { .. })
    }
}

/// Handles one change of an award: bakes its images when the stored award is claimed.
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
    let sources: Vec<(ImageFormat, &StoredImage)> = [
        (ImageFormat::Png, achievement.images.png.as_ref()),
        (ImageFormat::Svg, achievement.images.svg.as_ref()),
    ]
    .into_iter()
    .filter_map(|(format, image)| image.map(|image| (format, image)))
    .collect();
    if sources.is_empty() {
        return Err(BakeImagesError::NoImage {
            award_id,
            achievement_id: achievement.id,
        });
    }

    let assertion_url = deps.urls.assertion(award_id);
    let mut formats = Vec::new();
    for (format, image) in sources {
        let source = deps
            .files
            .get(&image.key.0)
            .await
            .map_err(|source| BakeImagesError::Files { award_id, source })?
            .ok_or_else(|| BakeImagesError::ImageFileMissing {
                achievement_id: achievement.id,
                format,
                key: image.key.0.clone(),
            })?;
        // The baker picks the format from the bytes; a PNG slot holding an SVG would
        // otherwise be stored under a .png key.
        if sniff(&source.bytes) != Some(format.kind()) {
            return Err(BakeImagesError::ImageFileWrongType {
                achievement_id: achievement.id,
                format,
                key: image.key.0.clone(),
            });
        }
        let baked = bake(
            &source.bytes,
            BadgeFormat::V2,
            BakeInput::hosted(json, &assertion_url),
        )
        .map_err(|source| BakeImagesError::Bake {
            award_id,
            format,
            source,
        })?;
        deps.files
            .put(
                &baked_image_key(award_id, format),
                baked,
                format.media_type(),
            )
            .await
            .map_err(|source| BakeImagesError::Files { award_id, source })?;
        formats.push(format);
    }

    tracing::info!(award.id = %award_id, achievement.id = %achievement.id, issuer.id = %award.issuer_id, ?formats, "badge images baked");
    Ok(BakeOutcome::Baked { formats })
}
