use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ClientId, IssuerId, Text, Timestamp};

/// An OAuth 2.0 scope of the partner API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    AwardsRead,
    AwardsWrite,
    AchievementsRead,
    AchievementsWrite,
    IssuerWrite,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::AwardsRead,
        Scope::AwardsWrite,
        Scope::AchievementsRead,
        Scope::AchievementsWrite,
        Scope::IssuerWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwardsRead => "awards:read",
            Self::AwardsWrite => "awards:write",
            Self::AchievementsRead => "achievements:read",
            Self::AchievementsWrite => "achievements:write",
            Self::IssuerWrite => "issuer:write",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == value).ok_or_else(|| {
            format!(
                "scope {:?} is unknown; the scopes are awards:read, awards:write, achievements:read, achievements:write, issuer:write",
                value.chars().take(50).collect::<String>()
            )
        })
    }
}

/// A set of scopes, written as the OAuth 2.0 space-separated `scope` string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<Scope>);

impl Scopes {
    pub fn all() -> Self {
        Self(Scope::ALL.to_vec())
    }

    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Self {
        let mut list: Vec<Scope> = scopes.into_iter().collect();
        list.sort();
        list.dedup();
        Self(list)
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// The scopes of `self` that `requested` also names; all of them when nothing is requested.
    pub fn narrowed_to(&self, requested: Option<&Scopes>) -> Scopes {
        match requested {
            None => self.clone(),
            Some(requested) => Scopes::new(self.iter().filter(|scope| requested.contains(*scope))),
        }
    }

    pub fn parse(value: &str) -> Result<Self, String> {
        value
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Self::new)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|scope| scope.as_str()).collect();
        f.write_str(&names.join(" "))
    }
}

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Self::parse(&value).map_err(serde::de::Error::custom)
    }
}

/// A partner system allowed to call the API for one issuer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiClient {
    pub client_id: ClientId,
    pub issuer_id: IssuerId,
    pub name: Text,
    /// `sha256$` and the hex SHA-256 of the secret. Secrets are 256 random bits, so a fast
    /// hash is enough; the secret itself is shown once, when the client is made.
    pub secret_hash: String,
    pub scopes: Scopes,
    pub disabled: bool,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_and_print() {
        let scopes = Scopes::parse("awards:write awards:read").unwrap();
        assert_eq!(scopes.to_string(), "awards:read awards:write");
        assert!(Scopes::parse("awards:delete").is_err());
    }

    #[test]
    fn scopes_narrow_to_request() {
        let requested = Scopes::parse("awards:read issuer:write").unwrap();
        let granted = Scopes::parse("awards:read awards:write")
            .unwrap()
            .narrowed_to(Some(&requested));
        assert_eq!(granted.to_string(), "awards:read");
    }
}
