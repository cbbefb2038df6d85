use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{AchievementId, HttpsUrl, IssuerId, Text, Timestamp};

/// The four levels of the music education badge framework, from first steps to leadership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Engage,
    Participate,
    Demonstrate,
    Lead,
}

impl Level {
    pub const ALL: [Level; 4] = [
        Level::Engage,
        Level::Participate,
        Level::Demonstrate,
        Level::Lead,
    ];

    /// The lower-case form used in the API and in URLs.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Engage => "engage",
            Self::Participate => "participate",
            Self::Demonstrate => "demonstrate",
            Self::Lead => "lead",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Engage => "Engage",
            Self::Participate => "Participate",
            Self::Demonstrate => "Demonstrate",
            Self::Lead => "Lead",
        }
    }

    /// What the level recognises, as published on the level's page and in alignments.
    pub fn description(self) -> &'static str {
        match self {
            Self::Engage => {
                "First steps in music: trying something new, such as an open day, a taster session or watching a performance."
            }
            Self::Participate => {
                "Active music making: taking part in a band, choir, ensemble or holiday course."
            }
            Self::Demonstrate => {
                "Deeper commitment: sustained effort and achievement that sets an example to others."
            }
            Self::Lead => {
                "Leadership: leading others in music, such as a section, a workshop or a youth advisory board."
            }
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

/// A level name that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("level {0:?} is not one of engage, participate, demonstrate, lead")]
pub struct InvalidLevel(pub String);

impl FromStr for Level {
    type Err = InvalidLevel;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|level| level.slug().eq_ignore_ascii_case(value.trim()))
            .ok_or_else(|| InvalidLevel(value.chars().take(50).collect()))
    }
}

/// The key of a file in the file store (`achievements/{id}/image.png`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ImageKey(pub String);

/// An image kept in the file store, with what the upload check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredImage {
    pub key: ImageKey,
    /// `image/png` or `image/svg+xml`.
    pub media_type: String,
    pub width: u32,
    pub height: u32,
    /// Lower-case hex SHA-256 of the bytes, to tell re-uploads apart.
    pub sha256: String,
}

impl StoredImage {
    /// The file extension for the media type (`png` or `svg`).
    pub fn extension(&self) -> &'static str {
        if self.media_type == "image/svg+xml" {
            "svg"
        } else {
            "png"
        }
    }
}

/// What a badge recognises, published in Open Badges 2.0 as a BadgeClass and in 3.0 as an
/// Achievement.
///
/// Once an achievement has been awarded its name, criteria and level never change, because
/// badges already issued point at it; a material change makes a new achievement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Achievement {
    pub id: AchievementId,
    pub issuer_id: IssuerId,
    pub name: Text,
    pub description: Text,
    /// What a recipient did to earn it (Markdown allowed).
    pub criteria_narrative: Text,
    pub criteria_url: Option<HttpsUrl>,
    pub level: Option<Level>,
    pub tags: Vec<Text>,
    pub images: AchievementImages,
    pub created_at: Timestamp,
}

/// The achievement's artwork: PNG, SVG or both. Awards are baked into each format the
/// achievement has, so offering both PNG and SVG downloads needs both here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AchievementImages {
    pub png: Option<StoredImage>,
    pub svg: Option<StoredImage>,
}

impl AchievementImages {
    /// The image published as the BadgeClass `image`: PNG when there is one, because more
    /// consumers display PNG than SVG.
    pub fn primary(&self) -> Option<&StoredImage> {
        self.png.as_ref().or(self.svg.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_parses_any_case() {
        assert_eq!("Participate".parse::<Level>(), Ok(Level::Participate));
        assert_eq!(" lead ".parse::<Level>(), Ok(Level::Lead));
        assert!("gold".parse::<Level>().is_err());
    }
}
