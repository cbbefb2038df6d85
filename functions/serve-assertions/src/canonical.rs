//! Parsing public paths into what they name, and the canonical form of each.
//!
//! Open Badges ids are exact URLs: verifiers compare the `id` inside a document with the URL
//! it came from. So every object has one spelling (lower-case UUID, no trailing slash, no
//! query), and other spellings of a valid path are redirected there with 301.

use std::str::FromStr;

use accolade::domain::{AwardId, Level};
use accolade::keys::KeyId;

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

    fn from_extension(extension: &str) -> Option<Self> {
        match extension {
            "png" => Some(Self::Png),
            "svg" => Some(Self::Svg),
            _ => None,
        }
    }

    fn from_file_name(name: &str) -> Option<Self> {
        name.strip_prefix("image.").and_then(Self::from_extension)
    }
}

/// What follows an object's id in a path (`{id}/…`), with its one canonical spelling. The
/// empty tail names the object's document.
pub trait SubPath: Sized {
    /// Parses the tail after `{id}/`, without slashes at either end; `""` for none.
    fn parse(tail: &str) -> Option<Self>;
    /// The canonical tail, `""` for the document.
    fn render(&self) -> String;
}

/// A BadgeClass path: the document or its image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadgePath {
    Document,
    Image(ImageFormat),
}

impl SubPath for BadgePath {
    fn parse(tail: &str) -> Option<Self> {
        match tail {
            "" => Some(Self::Document),
            name => ImageFormat::from_file_name(name).map(Self::Image),
        }
    }

    fn render(&self) -> String {
        match self {
            Self::Document => String::new(),
            Self::Image(format) => format!("image.{}", format.extension()),
        }
    }
}

/// An issuer path: the profile, its image, one of its keys, or a revocation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerPath {
    Profile,
    Image(ImageFormat),
    /// `keys/{key-id}`: the Open Badges 2.0 `CryptographicKey` document.
    Key(KeyId),
    /// `revocations`: the 1EdTech revocation list of Open Badges 3.0 credentials.
    RevocationList,
    /// `revocations/v2`: the Open Badges 2.0 `RevocationList`.
    AssertionRevocationList,
}

impl SubPath for IssuerPath {
    fn parse(tail: &str) -> Option<Self> {
        match tail {
            "" => Some(Self::Profile),
            "revocations" => Some(Self::RevocationList),
            "revocations/v2" => Some(Self::AssertionRevocationList),
            other => match other.strip_prefix("keys/") {
                Some(key) => KeyId::parse(key).ok().map(Self::Key),
                None => ImageFormat::from_file_name(other).map(Self::Image),
            },
        }
    }

    fn render(&self) -> String {
        match self {
            Self::Profile => String::new(),
            Self::Image(format) => format!("image.{}", format.extension()),
            Self::Key(key_id) => format!("keys/{key_id}"),
            Self::RevocationList => "revocations".to_owned(),
            Self::AssertionRevocationList => "revocations/v2".to_owned(),
        }
    }
}

/// An assertion path: the hosted assertion, its baked image, the signed assertion or a
/// baked image of the signed assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionPath {
    Document,
    Image(ImageFormat),
    /// `signed.jws`.
    SignedJws,
    /// `signed.png` or `signed.svg`.
    SignedImage(ImageFormat),
}

impl SubPath for AssertionPath {
    fn parse(tail: &str) -> Option<Self> {
        match tail {
            "" => Some(Self::Document),
            "signed.jws" => Some(Self::SignedJws),
            other => match other.strip_prefix("signed.") {
                Some(extension) => ImageFormat::from_extension(extension).map(Self::SignedImage),
                None => ImageFormat::from_file_name(other).map(Self::Image),
            },
        }
    }

    fn render(&self) -> String {
        match self {
            Self::Document => String::new(),
            Self::Image(format) => format!("image.{}", format.extension()),
            Self::SignedJws => "signed.jws".to_owned(),
            Self::SignedImage(format) => format!("signed.{}", format.extension()),
        }
    }
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

/// Parses `{id}` or `{id}/{tail}` after a collection prefix. `has_query` marks a request
/// with a query string, which is never part of a canonical URL.
pub fn parse_path<Id, P>(rest: &str, has_query: bool) -> Parsed<(Id, P)>
where
    Id: FromStr + ToString,
    P: SubPath,
{
    let trimmed = rest.trim_end_matches('/');
    let (raw_id, tail) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    let Ok(id) = raw_id.parse::<Id>() else {
        return Parsed::NotFound;
    };
    let Some(sub) = P::parse(tail) else {
        return Parsed::NotFound;
    };
    let rendered = sub.render();
    let canonical = if rendered.is_empty() {
        id.to_string()
    } else {
        format!("{}/{rendered}", id.to_string())
    };
    if has_query || canonical != rest {
        Parsed::Redirect(canonical)
    } else {
        Parsed::Canonical((id, sub))
    }
}

/// A credential path: `{id}` (JSON or a page, by negotiation), `{id}.json` (always the
/// JSON), `{id}.jwt` (the compact JWS) or `{id}/image.png|svg` (the baked 3.0 image).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialPath {
    Document,
    Json,
    Jwt,
    Image(ImageFormat),
}

/// Parses the rest of a path under `/credentials/`.
pub fn parse_credential_path(rest: &str, has_query: bool) -> Parsed<(AwardId, CredentialPath)> {
    let trimmed = rest.trim_end_matches('/');
    if !trimmed.contains('/') {
        for (suffix, file) in [
            (".jwt", CredentialPath::Jwt),
            (".json", CredentialPath::Json),
        ] {
            if let Some(raw_id) = trimmed.strip_suffix(suffix) {
                let Ok(id) = raw_id.parse::<AwardId>() else {
                    return Parsed::NotFound;
                };
                let canonical = format!("{id}{suffix}");
                return if has_query || canonical != rest {
                    Parsed::Redirect(canonical)
                } else {
                    Parsed::Canonical((id, file))
                };
            }
        }
    }
    match parse_path::<AwardId, BadgePath>(rest, has_query) {
        Parsed::Canonical((id, BadgePath::Document)) => {
            Parsed::Canonical((id, CredentialPath::Document))
        }
        Parsed::Canonical((id, BadgePath::Image(format))) => {
            Parsed::Canonical((id, CredentialPath::Image(format)))
        }
        Parsed::Redirect(canonical) => Parsed::Redirect(canonical),
        Parsed::NotFound => Parsed::NotFound,
    }
}

/// Parses a key id under `/keys/`. Key ids are case-sensitive, so only a trailing slash or a
/// query redirects.
pub fn parse_key(rest: &str, has_query: bool) -> Parsed<KeyId> {
    let trimmed = rest.trim_end_matches('/');
    let Ok(key_id) = KeyId::parse(trimmed) else {
        return Parsed::NotFound;
    };
    if has_query || trimmed != rest {
        Parsed::Redirect(key_id.to_string())
    } else {
        Parsed::Canonical(key_id)
    }
}

/// Parses a level slug, accepting any case and redirecting to the lower-case slug.
pub fn parse_level(rest: &str, has_query: bool) -> Parsed<Level> {
    let trimmed = rest.trim_end_matches('/');
    if trimmed.contains('/') || trimmed != trimmed.trim() {
        return Parsed::NotFound;
    }
    let Ok(level) = trimmed.parse::<Level>() else {
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
    use accolade::domain::IssuerId;

    const ID: &str = "123e4567-e89b-42d3-a456-426614174000";
    const KEY: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

    fn award() -> AwardId {
        ID.parse().unwrap()
    }

    #[test]
    fn resource_canonical_forms() {
        assert_eq!(
            parse_path::<AwardId, AssertionPath>(ID, false),
            Parsed::Canonical((award(), AssertionPath::Document))
        );
        assert_eq!(
            parse_path::<AwardId, AssertionPath>(&format!("{ID}/image.svg"), false),
            Parsed::Canonical((award(), AssertionPath::Image(ImageFormat::Svg)))
        );
        assert_eq!(
            parse_path::<AwardId, AssertionPath>(&format!("{ID}/signed.jws"), false),
            Parsed::Canonical((award(), AssertionPath::SignedJws))
        );
        assert_eq!(
            parse_path::<AwardId, AssertionPath>(&format!("{ID}/signed.png"), false),
            Parsed::Canonical((award(), AssertionPath::SignedImage(ImageFormat::Png)))
        );
        assert_eq!(
            parse_path::<IssuerId, IssuerPath>(&format!("{ID}/keys/{KEY}"), false),
            Parsed::Canonical((
                ID.parse().unwrap(),
                IssuerPath::Key(KeyId::parse(KEY).unwrap())
            ))
        );
        assert_eq!(
            parse_path::<IssuerId, IssuerPath>(&format!("{ID}/revocations/v2"), false),
            Parsed::Canonical((ID.parse().unwrap(), IssuerPath::AssertionRevocationList))
        );
    }

    #[test]
    fn resource_redirects() {
        let cases = [
            (format!("{ID}/"), false, ID.to_owned()),
            (ID.to_owned(), true, ID.to_owned()),
            (ID.to_uppercase(), false, ID.to_owned()),
            (format!("{ID}/image.png/"), false, format!("{ID}/image.png")),
            (
                format!("{}/signed.jws", ID.to_uppercase()),
                false,
                format!("{ID}/signed.jws"),
            ),
        ];
        for (rest, query, expected) in cases {
            assert_eq!(
                parse_path::<AwardId, AssertionPath>(&rest, query),
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
            &format!("{ID}/signed.gif"),
            &format!("{ID}/keys/{KEY}"),
            "",
        ] {
            assert_eq!(
                parse_path::<AwardId, AssertionPath>(rest, false),
                Parsed::NotFound,
                "{rest}"
            );
        }
        for rest in [
            format!("{ID}/keys/short"),
            format!("{ID}/revocations/v3"),
            format!("{ID}/keys"),
        ] {
            assert_eq!(
                parse_path::<IssuerId, IssuerPath>(&rest, false),
                Parsed::NotFound,
                "{rest}"
            );
        }
    }

    #[test]
    fn credential_paths() {
        assert_eq!(
            parse_credential_path(ID, false),
            Parsed::Canonical((award(), CredentialPath::Document))
        );
        assert_eq!(
            parse_credential_path(&format!("{ID}.jwt"), false),
            Parsed::Canonical((award(), CredentialPath::Jwt))
        );
        assert_eq!(
            parse_credential_path(&format!("{ID}.json"), false),
            Parsed::Canonical((award(), CredentialPath::Json))
        );
        assert_eq!(
            parse_credential_path(&format!("{ID}/image.svg"), false),
            Parsed::Canonical((award(), CredentialPath::Image(ImageFormat::Svg)))
        );
        assert_eq!(
            parse_credential_path(&format!("{}.jwt", ID.to_uppercase()), false),
            Parsed::Redirect(format!("{ID}.jwt"))
        );
        assert_eq!(
            parse_credential_path(&format!("{ID}.jwt/"), false),
            Parsed::Redirect(format!("{ID}.jwt"))
        );
        assert_eq!(parse_credential_path("333.jwt", false), Parsed::NotFound);
        assert_eq!(
            parse_credential_path(&format!("{ID}.jwt/image.png"), false),
            Parsed::NotFound
        );
    }

    #[test]
    fn key_paths() {
        assert_eq!(
            parse_key(KEY, false),
            Parsed::Canonical(KeyId::parse(KEY).unwrap())
        );
        assert_eq!(
            parse_key(&format!("{KEY}/"), false),
            Parsed::Redirect(KEY.into())
        );
        assert_eq!(parse_key(KEY, true), Parsed::Redirect(KEY.into()));
        assert_eq!(parse_key("short", false), Parsed::NotFound);
        assert_eq!(parse_key(&format!("{KEY}/x"), false), Parsed::NotFound);
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
