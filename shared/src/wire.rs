//! The JSON of the partner API: request bodies parsed into domain types, and the response
//! documents built from them.
//!
//! Request bodies are read as `serde_json::Value` and converted field by field, so every
//! validation error names its field as a JSON path (`recipient.email`, `evidence[1].url`) and
//! one bad item of a batch fails only that item. Unknown fields are rejected, because a
//! misspelt `delivery_email` would otherwise send a claim email to the wrong person; `null`
//! counts as absent.

mod fields;
mod requests;
mod responses;

pub use fields::{Fields, email, text, url};
pub use requests::{
    IssuerUpdate, NewAward, parse_batch, parse_issuer_update, parse_new_award, parse_resend,
    parse_revocation, parse_state,
};
pub use responses::{
    AchievementView, AwardView, CriteriaView, EvidenceView, ImageView, ImagesView, IssuerView,
    PageView, RecipientView, to_json,
};

use crate::domain::TextLimit;

/// The maximum number of evidence entries of one award.
pub const MAX_EVIDENCE: usize = 20;
/// The maximum number of tags of one achievement.
pub const MAX_TAGS: usize = 20;
/// The length limit of one tag.
pub const TAG_LIMIT: TextLimit = TextLimit {
    max_chars: 100,
    multiline: false,
};
