//! Public URLs. Every Open Badges id is minted from the deployment's public base URL, the
//! issuer's own domain: verifiers require the assertion and the issuer on one origin, and an
//! id can never change once issued.

use crate::domain::{AchievementId, AwardId, IssuerId, Level};

/// The public base URL, such as `https://badges.example.org`, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrls {
    base: String,
}

/// A public base URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("public base URL {value:?} is invalid: {reason}")]
pub struct InvalidBaseUrl {
    pub value: String,
    pub reason: String,
}

impl PublicUrls {
    /// Parses the base URL: `http` or `https`, a host, no query or fragment. A path prefix
    /// is allowed (`https://example.org/badges`).
    pub fn parse(value: &str) -> Result<Self, InvalidBaseUrl> {
        let invalid = |reason: &str| InvalidBaseUrl {
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let url = url::Url::parse(value.trim()).map_err(|error| invalid(&error.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(
                "the scheme must be https (or http for a local stack)",
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("it has no host"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("it must not have a query or fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("it must not contain a user name or password"));
        }
        let base = url.as_str().trim_end_matches('/').to_owned();
        Ok(Self { base })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL of a path under the base; `path` starts with `/`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn issuer(&self, id: IssuerId) -> String {
        self.join(&format!("/issuers/{id}"))
    }

    pub fn issuer_image(&self, id: IssuerId, extension: &str) -> String {
        self.join(&format!("/issuers/{id}/image.{extension}"))
    }

    pub fn badge_class(&self, id: AchievementId) -> String {
        self.join(&format!("/badges/{id}"))
    }

    pub fn badge_class_image(&self, id: AchievementId, extension: &str) -> String {
        self.join(&format!("/badges/{id}/image.{extension}"))
    }

    pub fn assertion(&self, id: AwardId) -> String {
        self.join(&format!("/assertions/{id}"))
    }

    pub fn assertion_image(&self, id: AwardId, extension: &str) -> String {
        self.join(&format!("/assertions/{id}/image.{extension}"))
    }

    /// The page that describes a level, used as the target of the level's alignment.
    pub fn level_page(&self, level: Level) -> String {
        self.join(&format!("/levels/{}", level.slug()))
    }

    pub fn claim(&self, token: &str) -> String {
        self.join(&format!("/claim/{token}"))
    }

    pub fn token_endpoint(&self) -> String {
        self.join("/oauth/token")
    }

    pub fn api(&self) -> String {
        self.join("/v1")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_drops_trailing_slash() {
        let urls = PublicUrls::parse("https://badges.example.org/").unwrap();
        assert_eq!(urls.base(), "https://badges.example.org");
        assert_eq!(urls.join("/v1"), "https://badges.example.org/v1");
    }

    #[test]
    fn base_url_rejects_query_and_other_schemes() {
        assert!(PublicUrls::parse("https://example.org/?a=1").is_err());
        assert!(PublicUrls::parse("ftp://example.org").is_err());
        assert!(PublicUrls::parse("example.org").is_err());
    }
}
