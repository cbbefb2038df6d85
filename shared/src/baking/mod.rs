//! Baking: embedding Open Badges data in PNG and SVG images, and reading it back.
//!
//! [`bake`] writes an Open Badges 2.0 assertion or 3.0 credential (as JSON, or as a compact JWS)
//! into a PNG or SVG image; [`unbake`] reads it back; [`inspect_image`] checks an upload; and
//! [`sniff`] tells PNG from SVG by content. The [`png`] and [`svg`] modules are the
//! format-specific entry points. Nothing here panics on any input, decodes pixels, expands XML
//! entities or loads a DTD.
//!
//! # Where the data goes
//!
//! | | Open Badges 2.0 ([`BadgeFormat::V2`]) | Open Badges 3.0 ([`BadgeFormat::V3`]) |
//! |---|---|---|
//! | PNG | one uncompressed `iTXt` chunk, keyword `openbadges`, right after `IHDR` | same, keyword `openbadgecredential` |
//! | SVG, JSON | `<openbadges:assertion verify="URL">` + JSON in CDATA, namespace `http://openbadges.org` | `<openbadges:credential>` + JSON in CDATA, namespace `https://purl.imsglobal.org/ob/v3p0` |
//! | SVG, JWS | `<openbadges:assertion verify="JWS"></openbadges:assertion>` | `<openbadges:credential verify="JWS"></openbadges:credential>` |
//!
//! # Policies
//!
//! * **Replacing, not adding.** Baking removes every existing chunk (`iTXt`, `tEXt` or `zTXt`)
//!   with the same keyword, or every SVG element with the same (namespace URI, local name), so
//!   the output holds exactly one; data of the *other* version is kept where it was. Baking the
//!   output again with the same payload gives byte-identical bytes.
//! * **Bytes after a PNG's `IEND`** are dropped by [`bake`] (the output always ends with
//!   `IEND`; nothing is ever written after it) and ignored with an
//!   [`UnbakeWarning::TrailingBytesAfterIend`] by [`unbake`]. [`inspect_image`] accepts them.
//! * **A compressed iTXt chunk** (`openbadgecredential` or `openbadges`) breaks both versions,
//!   which require it uncompressed; [`unbake`] reads it anyway (the compression flag is honoured,
//!   the output of inflation is capped at [`MAX_PAYLOAD_BYTES`]) and adds
//!   [`UnbakeWarning::CompressedItxt`]. We never write a compressed chunk.
//! * **SVG namespaces are matched by URI, never by prefix.** `xmlns:ob="http://openbadges.org"`
//!   with `<ob:assertion>` is badge data; `xmlns:openbadges="urn:example:not-ob"` with
//!   `<openbadges:assertion>` is not, and is left alone. When the root already binds the
//!   `openbadges` prefix to another URI (an imposter, or the other Open Badges version), our
//!   element declares its own namespace (`<openbadges:assertion xmlns:openbadges="…">`), so
//!   readers still see the literal tag name `openbadges:assertion` as the root's first child.
//! * **Long prologs.** Nothing is ever inserted before the root `<svg>` tag, so its position is
//!   the input's. The 1EdTech validator (badgecheck) recognises an SVG only when `<svg` appears
//!   within the first 256 bytes; a long prolog (a large comment, a long DOCTYPE) can therefore
//!   defeat that validator, although the file is valid and we bake and read it. Keep badge
//!   designs' prologs short.
//! * **Unsafe XML.** A DOCTYPE's external identifier is kept and never loaded. An internal
//!   subset (`<!DOCTYPE svg [ … ]>`, where entities are declared: billion laughs, `SYSTEM
//!   "file:///etc/passwd"`) is refused with `unsafe_xml` before anything is expanded, as is any
//!   reference to an entity other than the five predefined ones.
//! * **What counts as badge data.** A JSON object with a string `id` and a `type` that names an
//!   Open Badges 2.0 `Assertion` or an `OpenBadgeCredential`/`AchievementCredential`; a compact
//!   JWS (three base64url parts whose header and payload are JSON objects, the header with
//!   `alg`); for 2.0 only, an absolute http(s) URL of a hosted assertion (legacy bakes). Anything
//!   else under an Open Badges keyword or element is `not_an_open_badges_object`, never a badge.
//! * **Text fidelity.** Our bakes give back the payload byte for byte. In SVG a `]]>` inside the
//!   JSON is split across two CDATA sections and a carriage return is written as `&#13;` (XML
//!   readers would otherwise turn it into a line feed).

mod error;
mod payload;
pub mod png;
pub mod svg;

pub use error::{BakeError, ImageError, UnbakeError, UnbakeWarning};

/// The largest payload we bake, and the largest text we read back (after decompression): 8 MiB.
pub const MAX_PAYLOAD_BYTES: usize = 8 * 1024 * 1024;

/// The SVG namespace URI.
pub const SVG_NAMESPACE: &str = "http://www.w3.org/2000/svg";

/// Open Badges version of the embedded data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BadgeFormat {
    /// Open Badges 2.0: an `Assertion`.
    V2,
    /// Open Badges 3.0: an `OpenBadgeCredential` (a Verifiable Credential).
    V3,
}

impl BadgeFormat {
    /// The PNG text chunk keyword: `openbadges` or `openbadgecredential`.
    pub const fn png_keyword(self) -> &'static str {
        match self {
            BadgeFormat::V2 => "openbadges",
            BadgeFormat::V3 => "openbadgecredential",
        }
    }

    /// The namespace URI of the SVG element.
    pub const fn svg_namespace(self) -> &'static str {
        match self {
            BadgeFormat::V2 => "http://openbadges.org",
            BadgeFormat::V3 => "https://purl.imsglobal.org/ob/v3p0",
        }
    }

    /// The local name of the SVG element: `assertion` or `credential`.
    pub const fn svg_element(self) -> &'static str {
        match self {
            BadgeFormat::V2 => "assertion",
            BadgeFormat::V3 => "credential",
        }
    }

    /// The other version.
    pub const fn other(self) -> BadgeFormat {
        match self {
            BadgeFormat::V2 => BadgeFormat::V3,
            BadgeFormat::V3 => BadgeFormat::V2,
        }
    }

    /// "Open Badges 2.0" or "Open Badges 3.0".
    pub const fn label(self) -> &'static str {
        match self {
            BadgeFormat::V2 => "Open Badges 2.0",
            BadgeFormat::V3 => "Open Badges 3.0",
        }
    }

    const ALL: [BadgeFormat; 2] = [BadgeFormat::V2, BadgeFormat::V3];
}

impl std::fmt::Display for BadgeFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// The image types we bake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    /// A PNG image.
    Png,
    /// An SVG document.
    Svg,
}

impl ImageKind {
    /// The media type: `image/png` or `image/svg+xml`.
    pub const fn media_type(self) -> &'static str {
        match self {
            ImageKind::Png => "image/png",
            ImageKind::Svg => "image/svg+xml",
        }
    }

    /// The usual file extension, without the dot.
    pub const fn extension(self) -> &'static str {
        match self {
            ImageKind::Png => "png",
            ImageKind::Svg => "svg",
        }
    }
}

/// What [`inspect_image`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// PNG or SVG.
    pub kind: ImageKind,
    /// Width in pixels. For an SVG, the root's `width` (in px, pt, pc, mm, cm or in) or else the
    /// `viewBox` width, rounded up; 0 when neither gives one (e.g. `width="100%"` and no viewBox).
    pub width: u32,
    /// Height in pixels, as for `width`.
    pub height: u32,
    /// The Open Badges versions whose containers the image already carries (a PNG text chunk
    /// with an Open Badges keyword, an SVG element in an Open Badges namespace), whether or not
    /// their content is valid; empty for a plain image. Sorted, without duplicates.
    pub badge_data: Vec<BadgeFormat>,
}

impl ImageInfo {
    /// Whether the image already carries Open Badges data.
    pub fn is_baked(&self) -> bool {
        !self.badge_data.is_empty()
    }

    /// `Err(image_already_baked)` when the image already carries Open Badges data: use it for
    /// uploads of badge designs, which must be plain images.
    pub fn require_unbaked(&self) -> Result<(), ImageError> {
        if self.is_baked() {
            Err(ImageError::ImageAlreadyBaked {
                formats: self.badge_data.clone(),
            })
        } else {
            Ok(())
        }
    }
}

/// Limits for [`inspect_image`].
///
/// The [`Default`] is 1 MiB (1,048,576 bytes) and 4096 x 4096 pixels: ample for a badge, which
/// displays at a few hundred pixels, and small enough to keep a serverless function's memory and
/// the issued credentials small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// Largest image accepted, in bytes.
    pub max_bytes: usize,
    /// Largest width accepted, in pixels.
    pub max_width: u32,
    /// Largest height accepted, in pixels.
    pub max_height: u32,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_bytes: 1024 * 1024,
            max_width: 4096,
            max_height: 4096,
        }
    }
}

/// What goes into the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload<'a> {
    /// The JSON document: an Open Badges 2.0 assertion or an Open Badges 3.0 credential.
    Json(&'a str),
    /// A compact JWS (`header.payload.signature`): a signed 2.0 assertion or a 3.0 VC-JWT.
    Jws(&'a str),
}

impl<'a> Payload<'a> {
    /// The text as given.
    pub fn text(&self) -> &'a str {
        match self {
            Payload::Json(t) | Payload::Jws(t) => t,
        }
    }
}

/// The input of a bake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BakeInput<'a> {
    /// The JSON or JWS.
    pub payload: Payload<'a>,
    /// For Open Badges 2.0 hosted assertions baked into SVG: the URL written to `verify`. When
    /// it is `None` the assertion's `id` is used if it is an http(s) URL. Ignored for PNG (the
    /// JSON carries its own `id`), for a JWS (the JWS is the `verify` value) and for 3.0.
    pub assertion_url: Option<&'a str>,
}

impl<'a> BakeInput<'a> {
    /// A JSON payload without an assertion URL.
    pub fn json(json: &'a str) -> Self {
        BakeInput {
            payload: Payload::Json(json),
            assertion_url: None,
        }
    }

    /// A compact JWS payload.
    pub fn jws(jws: &'a str) -> Self {
        BakeInput {
            payload: Payload::Jws(jws),
            assertion_url: None,
        }
    }

    /// An Open Badges 2.0 hosted assertion and the URL where it is hosted.
    pub fn hosted(json: &'a str, assertion_url: &'a str) -> Self {
        BakeInput {
            payload: Payload::Json(json),
            assertion_url: Some(assertion_url),
        }
    }
}

/// What kind of text [`Unbaked::text`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadKind {
    /// A JSON document (an assertion or credential).
    Json,
    /// A compact JWS.
    Jws,
    /// Only the URL of a hosted Open Badges 2.0 assertion (legacy bakes); fetch it to verify.
    Url,
}

/// Badge data read from an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbaked {
    /// Which Open Badges version the container (PNG keyword or SVG element) says.
    pub format: BadgeFormat,
    /// The embedded text: the JSON exactly as stored, a JWS (surrounding whitespace removed) or a
    /// URL.
    pub text: String,
    /// The hosted assertion URL stated by the container: an SVG `verify` attribute holding a URL,
    /// or a PNG text chunk holding only a URL. `None` otherwise (a hosted JSON carries its URL
    /// in its own `id`).
    pub verify_url: Option<String>,
    /// Whether `text` is JSON, a JWS or a URL.
    pub kind: PayloadKind,
    /// Unusual things that did not stop the read.
    pub warnings: Vec<UnbakeWarning>,
}

/// Tells PNG from SVG by content, never by file name.
///
/// A PNG is recognised by its 8-byte signature (even a 67-byte PNG works). An SVG is UTF-8 text
/// whose first element is `<svg` (or `<prefix:svg`), after an optional BOM, XML declaration,
/// processing instructions, comments and a DOCTYPE, however long they are; the SVG namespace is
/// checked later by [`inspect_image`], [`bake`] and [`unbake`]. Anything else is `None`.
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(&png::SIGNATURE) {
        return Some(ImageKind::Png);
    }
    if svg::sniff_svg(bytes) {
        return Some(ImageKind::Svg);
    }
    None
}

/// A short description of unsupported bytes, for error messages.
fn describe_unknown(bytes: &[u8]) -> &'static str {
    let b = bytes;
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "a JPEG image"
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        "a GIF image"
    } else if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        "a WebP image"
    } else if b.starts_with(b"BM") {
        "a BMP image"
    } else if b.len() >= 12 && &b[4..8] == b"ftyp" {
        "an HEIF/AVIF image"
    } else if b.starts_with(b"%PDF") {
        "a PDF document"
    } else if b.starts_with(&[0xFF, 0xFE]) || b.starts_with(&[0xFE, 0xFF]) {
        "UTF-16 text (an SVG must be UTF-8)"
    } else if looks_like_html(b) {
        "an HTML document"
    } else if png::SIGNATURE.starts_with(b) {
        "the first bytes of a PNG, cut short"
    } else {
        "data of an unknown type"
    }
}

fn looks_like_html(b: &[u8]) -> bool {
    let head = &b[..b.len().min(1024)];
    let text: String = String::from_utf8_lossy(head).to_ascii_lowercase();
    text.contains("<!doctype html") || text.contains("<html")
}

fn check_size(bytes: &[u8], limits: &ImageLimits) -> Result<(), ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::EmptyBody);
    }
    if bytes.len() > limits.max_bytes {
        return Err(ImageError::ImageTooLarge {
            size: bytes.len(),
            max: limits.max_bytes,
        });
    }
    Ok(())
}

/// Checks an upload: size, type by content, full structure (for a PNG: signature, `IHDR` first
/// and valid, every chunk's CRC, `IDAT` present and contiguous, `IEND` last; for an SVG:
/// UTF-8, well-formed, root `<svg>` in the SVG namespace, no unsafe XML), dimensions within
/// `limits`, and which badge data it already carries (see [`ImageInfo::require_unbaked`]).
pub fn inspect_image(bytes: &[u8], limits: &ImageLimits) -> Result<ImageInfo, ImageError> {
    check_size(bytes, limits)?;
    let info = match sniff(bytes) {
        Some(ImageKind::Png) => png::inspect(bytes)?,
        Some(ImageKind::Svg) => svg::inspect(bytes)?,
        None => {
            return Err(ImageError::UnsupportedImageType {
                detected: describe_unknown(bytes),
            });
        }
    };
    if info.width > limits.max_width || info.height > limits.max_height {
        return Err(ImageError::DimensionsTooLarge {
            width: info.width,
            height: info.height,
            max_width: limits.max_width,
            max_height: limits.max_height,
        });
    }
    Ok(info)
}

fn kind_of(image: &[u8]) -> Result<ImageKind, ImageError> {
    if image.is_empty() {
        return Err(ImageError::EmptyBody);
    }
    sniff(image).ok_or_else(|| ImageError::UnsupportedImageType {
        detected: describe_unknown(image),
    })
}

/// Bakes `payload` into a PNG or SVG image (chosen by [`sniff`]) and returns the new image.
///
/// The image is checked in full first (as by [`inspect_image`], without [`ImageLimits`]: apply
/// those to uploads with [`inspect_image`]), then the payload (valid JSON that is an Open Badges
/// object of `format`, or a structurally valid compact JWS whose payload, when it says, is of
/// `format`). The signature of a JWS is not checked here. See the module documentation for
/// where the data goes.
pub fn bake(
    image: &[u8],
    format: BadgeFormat,
    payload: BakeInput<'_>,
) -> Result<Vec<u8>, BakeError> {
    match kind_of(image)? {
        ImageKind::Png => png::bake(image, format, payload),
        ImageKind::Svg => svg::bake(image, format, payload),
    }
}

/// Reads the badge data of a PNG or SVG image (chosen by [`sniff`]).
///
/// Returns `Ok(None)` for a valid image that carries no badge data. When the image carries data
/// of both versions, the first in file order is returned (our bakes put the latest first) with
/// [`UnbakeWarning::OtherFormatPresent`]; use [`unbake_format`] to pick one.
pub fn unbake(image: &[u8]) -> Result<Option<Unbaked>, UnbakeError> {
    match kind_of(image)? {
        ImageKind::Png => png::unbake(image),
        ImageKind::Svg => svg::unbake(image),
    }
}

/// Like [`unbake`], but reads only the data of `format`.
pub fn unbake_format(image: &[u8], format: BadgeFormat) -> Result<Option<Unbaked>, UnbakeError> {
    match kind_of(image)? {
        ImageKind::Png => png::unbake_format(image, format),
        ImageKind::Svg => svg::unbake_format(image, format),
    }
}

/// Warnings about other copies found beside the one that was read.
fn duplicate_warnings(found: &[BadgeFormat], chosen: BadgeFormat) -> Vec<UnbakeWarning> {
    let mut warnings = Vec::new();
    let same = found.iter().filter(|f| **f == chosen).count();
    if same > 1 {
        warnings.push(UnbakeWarning::DuplicateBadgeData {
            format: chosen,
            count: same,
        });
    }
    if found.contains(&chosen.other()) {
        warnings.push(UnbakeWarning::OtherFormatPresent {
            format: chosen.other(),
        });
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    const P0: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a,
        0x7e, 0x9b, 0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60,
        0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x48, 0xaf, 0xa4, 0x71, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];

    #[test]
    fn sniff_tiny_png() {
        assert_eq!(P0.len(), 67);
        assert_eq!(sniff(P0), Some(ImageKind::Png));
    }

    #[test]
    fn sniff_svg_with_long_prolog() {
        let mut s = String::from("\u{feff}<?xml version=\"1.0\"?>\n<!--");
        s.push_str(&"x".repeat(400));
        s.push_str("-->\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
        assert_eq!(sniff(s.as_bytes()), Some(ImageKind::Svg));
    }

    #[test]
    fn sniff_rejects_others() {
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), None);
        assert_eq!(
            sniff(b"<!DOCTYPE html><html><body><svg></svg></body></html>"),
            None
        );
        assert_eq!(sniff(b"<svgx/>"), None);
        assert_eq!(sniff(&P0[..7]), None);
    }

    #[test]
    fn describe_unknown_types() {
        assert_eq!(describe_unknown(&[0xFF, 0xD8, 0xFF, 0xE0]), "a JPEG image");
        assert_eq!(describe_unknown(b"<!doctype html>"), "an HTML document");
        assert_eq!(describe_unknown(b"GIF89a..."), "a GIF image");
    }

    #[test]
    fn limits_default() {
        let l = ImageLimits::default();
        assert_eq!(
            (l.max_bytes, l.max_width, l.max_height),
            (1_048_576, 4096, 4096)
        );
    }

    #[test]
    fn inspect_checks_size_first() {
        assert_eq!(
            inspect_image(b"", &ImageLimits::default())
                .unwrap_err()
                .code(),
            "empty_body"
        );
        let limits = ImageLimits {
            max_bytes: 10,
            ..ImageLimits::default()
        };
        assert_eq!(
            inspect_image(P0, &limits).unwrap_err().code(),
            "image_too_large"
        );
        let limits = ImageLimits {
            max_width: 0,
            ..ImageLimits::default()
        };
        assert_eq!(
            inspect_image(P0, &limits).unwrap_err().code(),
            "dimensions_too_large"
        );
        let info = inspect_image(P0, &ImageLimits::default()).unwrap();
        assert_eq!((info.kind, info.width, info.height), (ImageKind::Png, 1, 1));
        assert!(info.require_unbaked().is_ok());
    }

    #[test]
    fn dispatch_unsupported() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];
        let e = bake(&jpeg, BadgeFormat::V2, BakeInput::json("{}")).unwrap_err();
        assert_eq!(e.code(), "unsupported_image_type");
        assert!(e.to_string().contains("JPEG"), "{e}");
        assert_eq!(unbake(&jpeg).unwrap_err().code(), "unsupported_image_type");
        assert_eq!(unbake(b"").unwrap_err().code(), "empty_body");
    }
}
