//! Error and warning types of the baking module.
//!
//! Every error has a stable snake_case [`code`](ImageError::code) that the HTTP layer sends to
//! clients, and a `Display` message that names the offending value and says what to do. The
//! codes are part of the public contract: never rename one; add new variants instead.

use super::BadgeFormat;

/// A structural problem with an image: it is not a PNG or SVG we can work with.
///
/// Returned by [`inspect_image`](super::inspect_image) and wrapped by [`BakeError::Image`] and
/// [`UnbakeError::Image`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// Zero bytes were sent.
    #[error("the image is empty (0 bytes): send the bytes of a PNG or SVG image")]
    EmptyBody,

    /// The image is larger than [`ImageLimits::max_bytes`](super::ImageLimits::max_bytes).
    #[error(
        "the image is {size} bytes, more than the limit of {max} bytes: reduce its size (fewer \
         colours, smaller dimensions, or an optimiser such as oxipng or svgo) and try again"
    )]
    ImageTooLarge {
        /// Size of the image in bytes.
        size: usize,
        /// The limit in bytes.
        max: usize,
    },

    /// The image's width or height is above the limits.
    #[error(
        "the image is {width} x {height} pixels, more than the limit of {max_width} x \
         {max_height}: scale it down and try again"
    )]
    DimensionsTooLarge {
        /// Width of the image in pixels.
        width: u32,
        /// Height of the image in pixels.
        height: u32,
        /// Largest width allowed.
        max_width: u32,
        /// Largest height allowed.
        max_height: u32,
    },

    /// The bytes are neither a PNG nor an SVG image (judged by content, never by file name).
    #[error(
        "the image is {detected}, which is not a supported image type: badge images must be \
         PNG or SVG, so convert it to one of them and try again"
    )]
    UnsupportedImageType {
        /// What the bytes look like, e.g. "a JPEG image", "an HTML document".
        detected: &'static str,
    },

    /// The bytes do not start with the PNG signature.
    #[error(
        "the image does not start with the PNG signature (its first bytes are {first_bytes}): \
         send a real PNG file, not one that was only renamed to .png"
    )]
    NotPng {
        /// The first (up to 8) bytes, in hexadecimal.
        first_bytes: String,
    },

    /// The PNG ends in the middle of a chunk or before its IEND chunk.
    #[error(
        "the PNG is cut short at byte {offset}: {detail}; the upload or the file is incomplete, \
         so send the whole file again"
    )]
    TruncatedPng {
        /// Byte offset where more data was expected.
        offset: usize,
        /// What was missing.
        detail: String,
    },

    /// A chunk's stored CRC-32 does not match its type and data.
    #[error(
        "the PNG's {chunk} chunk at byte {offset} has CRC 0x{stored:08x} but its content gives \
         0x{computed:08x}: the file is corrupt, so export the image again"
    )]
    BadCrc {
        /// Chunk type, e.g. "IDAT".
        chunk: String,
        /// Byte offset of the chunk's length field.
        offset: usize,
        /// The CRC stored in the file.
        stored: u32,
        /// The CRC computed from the chunk type and data.
        computed: u32,
    },

    /// The PNG's chunks break a structural rule of the PNG specification.
    #[error(
        "the PNG is malformed at byte {offset}: {reason}; export the image again with a \
         standard image editor"
    )]
    MalformedPng {
        /// Byte offset of the offending chunk.
        offset: usize,
        /// The rule that is broken.
        reason: String,
    },

    /// The document is XML but its root is not an SVG `<svg>` element in the SVG namespace.
    #[error(
        "the image is not an SVG document: {reason}; the root element must be \
         <svg xmlns=\"http://www.w3.org/2000/svg\">"
    )]
    NotSvg {
        /// What was found instead.
        reason: String,
    },

    /// The SVG is not well-formed XML.
    #[error(
        "the SVG is not well-formed XML at byte {offset}: {reason}; fix the file or export it again"
    )]
    MalformedSvg {
        /// Byte offset of the problem (approximate for some parser errors).
        offset: usize,
        /// What is wrong.
        reason: String,
    },

    /// The SVG uses an XML feature that we refuse for safety (entity declarations, an internal
    /// DTD subset, references to entities that would need a DTD, extreme nesting).
    #[error(
        "the SVG uses unsafe XML: {reason}; remove the DOCTYPE's internal subset and any entity \
         declarations or references (badge images never need them) and try again"
    )]
    UnsafeXml {
        /// The feature that was found.
        reason: String,
    },

    /// The SVG carries content that runs script or loads a resource from outside the file when
    /// the image is embedded in a web page: a `<script>` or `<foreignObject>` element, an event
    /// handler attribute, a `javascript:` URL, a reference to another file or site, or an
    /// `<?xml-stylesheet?>` instruction.
    #[error(
        "the SVG contains {found} at byte {offset}, which can run script or load content from \
         outside the image wherever the badge is shown: remove it from the SVG, or upload the \
         design as a PNG"
    )]
    UnsafeSvg {
        /// The element, attribute or instruction found, e.g. `the element <script>`.
        found: String,
        /// Byte offset of the start tag or instruction that carries it.
        offset: usize,
    },

    /// The SVG is not encoded in UTF-8.
    #[error(
        "the SVG is encoded as {encoding}, but only UTF-8 SVG files can be baked: save it as UTF-8"
    )]
    UnsupportedEncoding {
        /// The encoding that was declared or detected.
        encoding: String,
    },

    /// The image already carries Open Badges data (see [`ImageInfo::require_unbaked`](super::ImageInfo::require_unbaked)).
    #[error(
        "the image already carries {} badge data: upload the plain badge design, not a badge \
         that was already baked",
        formats_label(.formats)
    )]
    ImageAlreadyBaked {
        /// The formats whose data was found.
        formats: Vec<BadgeFormat>,
    },
}

fn expected_types(format: BadgeFormat) -> &'static str {
    match format {
        BadgeFormat::V2 => "\"Assertion\"",
        BadgeFormat::V3 => "\"OpenBadgeCredential\" or \"AchievementCredential\"",
    }
}

fn formats_label(formats: &[BadgeFormat]) -> String {
    let labels: Vec<&str> = formats.iter().map(|f| f.label()).collect();
    if labels.is_empty() {
        "Open Badges".to_owned()
    } else {
        labels.join(" and ")
    }
}

impl ImageError {
    /// The stable snake_case code sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            ImageError::EmptyBody => "empty_body",
            ImageError::ImageTooLarge { .. } => "image_too_large",
            ImageError::DimensionsTooLarge { .. } => "dimensions_too_large",
            ImageError::UnsupportedImageType { .. } => "unsupported_image_type",
            ImageError::NotPng { .. } => "not_png",
            ImageError::TruncatedPng { .. } => "truncated_png",
            ImageError::BadCrc { .. } => "bad_crc",
            ImageError::MalformedPng { .. } => "malformed_png",
            ImageError::NotSvg { .. } => "not_svg",
            ImageError::MalformedSvg { .. } => "malformed_svg",
            ImageError::UnsafeXml { .. } => "unsafe_xml",
            ImageError::UnsafeSvg { .. } => "unsafe_svg",
            ImageError::UnsupportedEncoding { .. } => "unsupported_encoding",
            ImageError::ImageAlreadyBaked { .. } => "image_already_baked",
        }
    }
}

/// Why a bake was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BakeError {
    /// The image itself is unusable.
    #[error(transparent)]
    Image(#[from] ImageError),

    /// `Payload::Json` does not parse as JSON.
    #[error(
        "the badge payload is not valid JSON ({reason}): send the JSON document of the {format} object"
    )]
    InvalidJson {
        /// The format being baked.
        format: BadgeFormat,
        /// The parser's message.
        reason: String,
    },

    /// `Payload::Jws` is not a compact JWS.
    #[error(
        "the badge payload is not a compact JWS ({reason}): send header.payload.signature, each \
         part base64url-encoded without padding or whitespace"
    )]
    InvalidJws {
        /// What is wrong.
        reason: String,
    },

    /// The JSON parses but is not an Open Badges object.
    #[error(
        "the badge payload is not an {format} object: {reason}; send a JSON object with a \
         string \"id\" and a \"type\" naming {}",
        expected_types(*.format)
    )]
    NotAnOpenBadgesObject {
        /// The format being baked.
        format: BadgeFormat,
        /// What is missing.
        reason: String,
    },

    /// The payload is an object of the other Open Badges version.
    #[error(
        "the payload is an {found} object but {requested} was asked for: bake it as {found} or \
         send an {requested} object"
    )]
    FormatMismatch {
        /// The format asked for.
        requested: BadgeFormat,
        /// The format the payload belongs to.
        found: BadgeFormat,
    },

    /// An Open Badges 2.0 hosted SVG bake needs the assertion URL for the `verify` attribute.
    #[error(
        "baking Open Badges 2.0 JSON into an SVG needs the hosted assertion URL for the verify \
         attribute: pass assertion_url, or give the assertion an http(s) \"id\""
    )]
    MissingAssertionUrl,

    /// The assertion URL is not an absolute http(s) URL.
    #[error(
        "the assertion URL {url:?} is not an absolute http:// or https:// URL: pass the URL where the assertion is hosted"
    )]
    InvalidAssertionUrl {
        /// The value given.
        url: String,
    },

    /// The payload is larger than [`MAX_PAYLOAD_BYTES`](super::MAX_PAYLOAD_BYTES).
    #[error(
        "the badge payload is {size} bytes, more than the limit of {max} bytes: make the credential smaller (e.g. link images instead of embedding them)"
    )]
    PayloadTooLarge {
        /// Size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },

    /// The payload holds a character that XML 1.0 cannot carry, so it cannot go into an SVG.
    #[error(
        "the badge payload holds the character U+{codepoint:04X} at byte {index}, which XML \
         cannot carry: escape it in the JSON as \\u{codepoint:04x} or bake into a PNG"
    )]
    PayloadNotXmlSafe {
        /// The code point.
        codepoint: u32,
        /// Byte offset in the payload.
        index: usize,
    },
}

impl BakeError {
    /// The stable snake_case code sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            BakeError::Image(e) => e.code(),
            BakeError::InvalidJson { .. } => "invalid_json",
            BakeError::InvalidJws { .. } => "invalid_jws",
            BakeError::NotAnOpenBadgesObject { .. } => "not_an_open_badges_object",
            BakeError::FormatMismatch { .. } => "badge_format_mismatch",
            BakeError::MissingAssertionUrl => "missing_assertion_url",
            BakeError::InvalidAssertionUrl { .. } => "invalid_assertion_url",
            BakeError::PayloadTooLarge { .. } => "payload_too_large",
            BakeError::PayloadNotXmlSafe { .. } => "payload_not_xml_safe",
        }
    }
}

/// Why an unbake failed.
///
/// `Ok(None)` from [`unbake`](super::unbake) means a valid image that carries no badge data; an
/// error means the image is unusable, or it carries something under an Open Badges keyword or
/// element that is not a readable Open Badges object (it is never reported as a badge).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnbakeError {
    /// The image itself is unusable.
    #[error(transparent)]
    Image(#[from] ImageError),

    /// The badge container (iTXt/tEXt/zTXt chunk or SVG element) is malformed: missing
    /// separators, unknown compression, corrupt zlib data, or text that is not UTF-8.
    #[error("the image's {format} data is unreadable: {reason}; bake the badge again")]
    MalformedBadgeData {
        /// The format of the container.
        format: BadgeFormat,
        /// What is wrong.
        reason: String,
    },

    /// The embedded text is not an Open Badges object (JSON with `id` and `type`), a compact JWS
    /// or (2.0 only) a hosted assertion URL.
    #[error(
        "the image carries {format} data that is not an Open Badges object: {reason}; do not trust it, and bake the badge again"
    )]
    NotAnOpenBadgesObject {
        /// The format of the container.
        format: BadgeFormat,
        /// What is wrong.
        reason: String,
    },

    /// The embedded text (possibly after decompression) is larger than
    /// [`MAX_PAYLOAD_BYTES`](super::MAX_PAYLOAD_BYTES).
    #[error(
        "the image's {format} data is larger than {max} bytes: it is refused as a likely decompression bomb"
    )]
    PayloadTooLarge {
        /// The format of the container.
        format: BadgeFormat,
        /// The limit.
        max: usize,
    },
}

impl UnbakeError {
    /// The stable snake_case code sent to clients.
    pub fn code(&self) -> &'static str {
        match self {
            UnbakeError::Image(e) => e.code(),
            UnbakeError::MalformedBadgeData { .. } => "malformed_badge_data",
            UnbakeError::NotAnOpenBadgesObject { .. } => "not_an_open_badges_object",
            UnbakeError::PayloadTooLarge { .. } => "payload_too_large",
        }
    }
}

/// Something unusual that did not stop the unbake. Each has a stable [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnbakeWarning {
    /// The iTXt chunk was zlib-compressed. Open Badges 2.0 and 3.0 both require it uncompressed
    /// (an `openbadgecredential` chunk most visibly: the 1EdTech validator cannot read it); we
    /// read it anyway.
    #[error("the {} iTXt chunk is compressed, which {format} does not allow; it was read anyway, but bake the badge again so other tools can read it", .format.png_keyword())]
    CompressedItxt {
        /// The format of the chunk.
        format: BadgeFormat,
    },

    /// The data came from a legacy `tEXt` chunk (Latin-1, e.g. an Open Badges 1.0 URL).
    #[error("the {keyword} data came from a legacy tEXt chunk; current bakers write an iTXt chunk")]
    LegacyTextChunk {
        /// The chunk's keyword.
        keyword: &'static str,
    },

    /// The data came from a `zTXt` chunk (compressed Latin-1), which no Open Badges version
    /// specifies.
    #[error(
        "the {keyword} data came from a zTXt chunk, which Open Badges does not specify; it was read anyway"
    )]
    CompressedTextChunk {
        /// The chunk's keyword.
        keyword: &'static str,
    },

    /// More than one chunk or element holds data of the same format; the first was read.
    #[error(
        "the image holds {count} copies of {format} data; the first was read and the others ignored"
    )]
    DuplicateBadgeData {
        /// The format.
        format: BadgeFormat,
        /// How many were found.
        count: usize,
    },

    /// The image also holds data of the other format, which was not read.
    #[error("the image also holds {format} data, which was not read")]
    OtherFormatPresent {
        /// The other format.
        format: BadgeFormat,
    },

    /// Bytes after the PNG's IEND chunk were ignored.
    #[error("{count} bytes after the PNG's IEND chunk were ignored")]
    TrailingBytesAfterIend {
        /// How many bytes.
        count: usize,
    },

    /// The embedded object belongs to the other version than its container says.
    #[error("the {container} container holds an {content} object")]
    FormatMismatch {
        /// The format of the keyword or element.
        container: BadgeFormat,
        /// The format of the object.
        content: BadgeFormat,
    },

    /// An SVG badge element had both a JWS `verify` attribute and content; the content was
    /// ignored.
    #[error(
        "the SVG badge element has both a signed verify attribute and content; the content was ignored"
    )]
    SvgContentIgnored,
}

impl UnbakeWarning {
    /// The stable snake_case code of the warning.
    pub fn code(&self) -> &'static str {
        match self {
            UnbakeWarning::CompressedItxt { .. } => "compressed_itxt",
            UnbakeWarning::LegacyTextChunk { .. } => "legacy_text_chunk",
            UnbakeWarning::CompressedTextChunk { .. } => "compressed_text_chunk",
            UnbakeWarning::DuplicateBadgeData { .. } => "duplicate_badge_data",
            UnbakeWarning::OtherFormatPresent { .. } => "other_format_present",
            UnbakeWarning::TrailingBytesAfterIend { .. } => "trailing_bytes_after_iend",
            UnbakeWarning::FormatMismatch { .. } => "badge_format_mismatch",
            UnbakeWarning::SvgContentIgnored => "svg_content_ignored",
        }
    }
}
