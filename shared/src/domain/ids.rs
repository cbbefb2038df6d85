use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// A string that is not a valid id of the named kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{kind} id {value:?} is not a valid UUID (expected the form 123e4567-e89b-42d3-a456-426614174000)"
)]
pub struct InvalidId {
    pub kind: &'static str,
    pub value: String,
}

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            /// Accepts only the hyphenated lower- or upper-case form, so every id has one
            /// spelling in URLs.
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                let invalid = || InvalidId { kind: $kind, value: value.chars().take(80).collect() };
                if value.len() != 36 {
                    return Err(invalid());
                }
                Uuid::try_parse(value).map(Self).map_err(|_| invalid())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = String::deserialize(deserializer)?;
                value.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

uuid_id!(
    /// An issuer (the organisation that awards badges).
    IssuerId,
    "issuer"
);
uuid_id!(
    /// An achievement, published in Open Badges 2.0 as a BadgeClass.
    AchievementId,
    "achievement"
);
uuid_id!(
    /// An award. The same random UUID v4 names the award in the partner API, the hosted
    /// assertion and the credential, so public URLs cannot be guessed.
    AwardId,
    "award"
);

/// A partner client's public identifier, sent as the OAuth 2.0 `client_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// Parses a client id: 1 to 64 characters of ASCII letters, digits, `-` and `_`.
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        let valid = !value.is_empty()
            && value.len() <= 64
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidId {
                kind: "client",
                value: value.chars().take(80).collect(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn award_id_round_trips() {
        let id = AwardId::from_uuid(Uuid::new_v4());
        assert_eq!(id.to_string().parse::<AwardId>(), Ok(id));
    }

    #[test]
    fn award_id_rejects_other_forms() {
        for value in [
            "",
            "123",
            "123e4567e89b42d3a456426614174000",
            "{123e4567-e89b-42d3-a456-426614174000}",
        ] {
            let error = value.parse::<AwardId>().unwrap_err();
            assert_eq!(error.kind, "award");
        }
    }

    #[test]
    fn client_id_rules() {
        assert!(ClientId::parse("demo-partner_1").is_ok());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse("has space").is_err());
        assert!(ClientId::parse(&"a".repeat(65)).is_err());
    }
}
