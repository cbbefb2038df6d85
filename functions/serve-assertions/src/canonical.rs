//! Parsing public paths into what they name, and the canonical form of each.
//!
//! Open Badges ids are exact URLs: verifiers compare the `id` inside a document with the URL
//! it came from. So every object has one spelling (lower-case UUID, no trailing slash, no
//! query), and other spellings of a valid path are redirected there with 301.

use std::str::FromStr;

/// The two image formats served.
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
        match self {
            Self::Png => "image/png",
            Self::Svg => "image/svg+xml",
        }
    }

    fn from_file_name(name: &str) -> Option<Self> {
        match name {
            "image.png" => Some(Self::Png),
            "image.svg" => Some(Self::Svg),
            _ => None,
        }
    }
}

/// The object a path under a collection (`/assertions/`, `/badges/`, `/issuers/`) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<Id> {
    Document(Id),
    Image(Id, ImageFormat),
}

/// The outcome of parsing the rest of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<T> {
    /// The path is canonical.
    Canonical(T),
    /// The path names `T` but is spelled differently; redirect to this rest of the path.
    Redirect(String),
    /// The path names nothing.
    NotFound,
}

/// Parses `{id}` or `{id}/image.png|svg` after a collection prefix. `has_query` marks a
/// request with a query string, which is never part of a canonical URL.
pub fn parse_resource<Id>(rest: &str, has_query: bool) -> Parsed<Resource<Id>>
where
    Id: FromStr + ToString + Copy,
{
    let trimmed = rest.trim_end_matches('/');
    let mut segments = trimmed.split('/');
    let (Some(raw_id), file, None) = (segments.next(), segments.next(), segments.next()) else {
        return Parsed::NotFound;
    };
    let Ok(id) = raw_id.parse::<Id>() else {
        return Parsed::NotFound;
    };
    let resource = match file {
        None => Resource::Document(id),
        Some(name) => match ImageFormat::from_file_name(name) {
            Some(format) => Resource::Image(id, format),
            None => return Parsed::NotFound,
        },
    };
    let canonical = match resource {
        Resource::Document(id) => id.to_string(),
        Resource::Image(id, format) => format!("{}/image.{}", id.to_string(), format.extension()),
    };
    if has_query || canonical != rest {
        Parsed::Redirect(canonical)
    } else {
        Parsed::Canonical(resource)
    }
}

/// Parses a level slug, accepting any case and redirecting to the lower-case slug.
pub fn parse_level(rest: &str, has_query: bool) -> Parsed<accolade::domain::Level> {
    let trimmed = rest.trim_end_matches('/');
    if trimmed.contains('/') || trimmed != trimmed.trim() {
        return Parsed::NotFound;
    }
    let Ok(level) = trimmed.parse::<accolade::domain::Level>() else {
        return Parsed::NotFound;
    };
    if has_query || level.slug() != rest {
        Parsed::Redirect(level.slug().to_owned())
    } else {
        Parsed::Canonical(level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accolade::domain::{AwardId, Level};

    const ID: &str = "123e4567-e89b-42d3-a456-426614174000";

    #[test]
    fn resource_canonical_forms() {
        assert_eq!(
            parse_resource::<AwardId>(ID, false),
            Parsed::Canonical(Resource::Document(ID.parse().unwrap()))
        );
        assert_eq!(
            parse_resource::<AwardId>(&format!("{ID}/image.svg"), false),
            Parsed::Canonical(Resource::Image(ID.parse().unwrap(), ImageFormat::Svg))
        );
    }

    #[test]
    fn resource_redirects() {
        let cases = [
            (format!("{ID}/"), false, ID.to_owned()),
            (ID.to_owned(), true, ID.to_owned()),
            (ID.to_uppercase(), false, ID.to_owned()),
            (format!("{ID}/image.png/"), false, format!("{ID}/image.png")),
        ];
        for (rest, query, expected) in cases {
            assert_eq!(
                parse_resource::<AwardId>(&rest, query),
                Parsed::Redirect(expected),
                "{rest}"
            );
        }
    }

    #[test]
    fn resource_not_found() {
        for rest in [
            "333",
            "not-a-uuid/",
            &format!("{ID}/image.gif"),
            &format!("{ID}/image.png/extra"),
            &format!("{ID}//image.png"),
            "",
        ] {
            assert_eq!(
                parse_resource::<AwardId>(rest, false),
                Parsed::NotFound,
                "{rest}"
            );
        }
    }

    #[test]
    fn level_slugs() {
        assert_eq!(parse_level("lead", false), Parsed::Canonical(Level::Lead));
        assert_eq!(parse_level("Lead/", false), Parsed::Redirect("lead".into()));
        assert_eq!(parse_level("lead", true), Parsed::Redirect("lead".into()));
        assert_eq!(parse_level("gold", false), Parsed::NotFound);
        assert_eq!(parse_level("lead/x", false), Parsed::NotFound);
    }
}
