use serde::{Deserialize, Serialize};

use super::{EmailAddress, HttpsUrl, IssuerId, StoredImage, Text, Timestamp};

/// The organisation that awards badges. Published as the Open Badges 2.0 Issuer Profile and
/// the Open Badges 3.0 `issuer`; Open Badges 2.0 requires `name`, `url` and `email`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issuer {
    pub id: IssuerId,
    pub name: Text,
    /// The organisation's own website.
    pub url: HttpsUrl,
    /// A contact address published in the profile; never a recipient's.
    pub email: EmailAddress,
    pub description: Option<Text>,
    pub image: Option<StoredImage>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Incremented on every write; updates are conditional on the version read.
    pub version: u64,
}
