//! Domain types. Every value that comes from outside is parsed into one of these at the edge,
//! so the rest of the code never handles a raw string where a rule exists.

mod achievement;
mod award;
mod client;
mod email;
mod ids;
mod issuer;
mod text;
mod time;

pub use achievement::{Achievement, AchievementImages, ImageKey, InvalidLevel, Level, StoredImage};
pub use award::{
    Award, AwardState, ClaimRecord, ClaimTokenRecord, DeliveryStatus, Evidence, Recipient,
    Revocation, dedup_key,
};
pub use client::{ApiClient, Scope, Scopes};
pub use email::{EmailAddress, InvalidEmail};
pub use ids::{AchievementId, AwardId, ClientId, InvalidId, IssuerId};
pub use issuer::Issuer;
pub use text::{HttpsUrl, InvalidText, InvalidUrl, Text, TextLimit};
pub use time::{InvalidTimestamp, Timestamp};
