//! SVG baking.
//!
//! * Open Badges 2.0: `xmlns:openbadges="http://openbadges.org"` on the root `<svg>` and an
//!   `<openbadges:assertion verify="…">` element as the root's first child. Hosted: `verify` is
//!   the assertion URL and the JSON is the content, in CDATA. Signed: `verify` is the JWS and
//!   the element is empty.
//! * Open Badges 3.0: namespace `https://purl.imsglobal.org/ob/v3p0`, element
//!   `<openbadges:credential>`. A JWS goes in `verify` and the element is empty; JSON goes in
//!   CDATA and `verify` is omitted.
//!
//! Existing elements are matched by (namespace URI, local name), never by prefix, anywhere in the
//! document; those of the format being baked are removed (with the whitespace just before them)
//! and ours is written right after the root's start tag, so the output holds exactly one, as the
//! root's first child, and baking again gives identical bytes. Elements of the other version are
//! kept. Empty elements are written with an end tag (`<x …></x>`), as in the specifications'
//! examples.
//!
//! The document is parsed in full before anything is written: it must be UTF-8, well-formed,
//! with a root `<svg>` in the SVG namespace. The prolog (BOM, XML declaration, comments, a
//! DOCTYPE with an external identifier) is kept byte for byte and the DOCTYPE is never loaded. An
//! internal DTD subset, any reference to an entity other than `&lt; &gt; &amp; &apos; &quot;`,
//! and elements nested more than [`MAX_DEPTH`] deep are refused as `unsafe_xml`; nothing is ever
//! expanded, so memory stays proportional to the input.
//!
//! Nothing is inserted before the root start tag, so `<svg` stays where the input had it. The
//! 1EdTech validator (badgecheck) only recognises an SVG whose first 256 bytes contain `<svg`:
//! a long prolog (a big comment or DOCTYPE) can defeat that validator even though the file is
//! valid and we read it. Keep the prologs of badge designs short.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};

mod safety;

use safety::{unsafe_in_css, unsafe_in_element, unsafe_svg};

use super::{
    BadgeFormat, BakeError, BakeInput, ImageError, ImageInfo, ImageKind, Payload, PayloadKind,
    SVG_NAMESPACE, UnbakeError, UnbakeWarning, Unbaked, payload,
};

/// Deepest element nesting we accept.
pub const MAX_DEPTH: usize = 512;

const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";
const BOM: &[u8] = b"\xEF\xBB\xBF";

// ---------------------------------------------------------------------------------------------
// Sniffing

/// Whether the bytes look like an SVG: after an optional UTF-8 BOM, XML declaration, processing
/// instructions, comments and DOCTYPE, the first element is named `svg` (with any prefix).
pub(crate) fn sniff_svg(bytes: &[u8]) -> bool {
    let mut b = bytes.strip_prefix(BOM).unwrap_or(bytes);
    loop {
        let skip = b
            .iter()
            .take_while(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
            .count();
        b = &b[skip..];
        if b.starts_with(b"<?") {
            match find(b, b"?>") {
                Some(i) => b = &b[i + 2..],
                None => return false,
            }
        } else if b.starts_with(b"<!--") {
            match find(&b[4..], b"-->") {
                Some(i) => b = &b[4 + i + 3..],
                None => return false,
            }
        } else if b.starts_with(b"<!DOCTYPE") {
            match doctype_end(b) {
                Some(i) => b = &b[i..],
                None => return false,
            }
        } else if let Some(rest) = b.strip_prefix(b"<") {
            let name_len = rest
                .iter()
                .take_while(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/'))
                .count();
            if name_len == rest.len() {
                return false;
            }
            let name = &rest[..name_len];
            let local = name.rsplit(|c| *c == b':').next().unwrap_or(name);
            return local == b"svg"
                && (name.len() == 3 || name.iter().filter(|c| **c == b':').count() == 1);
        } else {
            return false;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The offset just past a DOCTYPE declaration that starts `b`, skipping quoted literals and an
/// internal subset (with its own quoted literals and comments).
fn doctype_end(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    let mut in_subset = false;
    while i < b.len() {
        match b[i] {
            q @ (b'"' | b'\'') => {
                i += 1 + b[i + 1..].iter().position(|c| *c == q)?;
            }
            b'<' if in_subset && b[i..].starts_with(b"<!--") => {
                i += 4 + find(&b[i + 4..], b"-->")? + 2;
            }
            b'[' if !in_subset => in_subset = true,
            b']' if in_subset => in_subset = false,
            b'>' if !in_subset => return Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Scanning

/// The root `<svg>` start tag.
#[derive(Debug, Clone)]
struct Root {
    /// Offset of `<`.
    start: usize,
    /// Offset just past `>`.
    end: usize,
    self_closing: bool,
    /// The qualified name, e.g. `svg` or `svg:svg`.
    qname: String,
    /// The value of an `xmlns:openbadges` attribute on the root.
    openbadges_binding: Option<String>,
    width: Option<String>,
    height: Option<String>,
    view_box: Option<String>,
}

/// A badge element found in the document.
#[derive(Debug, Clone)]
struct Found {
    format: BadgeFormat,
    /// Offset of `<`, moved back over the whitespace just before it.
    remove_from: usize,
    /// Offset just past the end tag.
    end: usize,
    verify: Option<String>,
    /// The text content (CDATA and text, references resolved, line ends normalised).
    content: String,
}

#[derive(Debug)]
struct Scan {
    root: Root,
    found: Vec<Found>,
    /// The first unsafe content found (see [`ImageError::UnsafeSvg`]). [`bake`] and [`inspect`]
    /// refuse it; [`unbake`] reads the badge data anyway, because reading never renders the image.
    unsafe_content: Option<ImageError>,
}

fn malformed(offset: usize, reason: impl Into<String>) -> ImageError {
    ImageError::MalformedSvg {
        offset,
        reason: reason.into(),
    }
}

fn unsafe_xml(reason: impl Into<String>) -> ImageError {
    ImageError::UnsafeXml {
        reason: reason.into(),
    }
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn predefined_entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

fn char_ref(body: &str) -> Option<char> {
    let code = if let Some(hex) = body.strip_prefix('x') {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(hex, 16).ok()?
    } else {
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        body.parse::<u32>().ok()?
    };
    char::from_u32(code).filter(|c| is_xml_char(*c))
}

/// Resolves a reference body (`lt`, `#38`, `#x26`): a character, or the error to report.
fn resolve_reference(name: &str, offset: usize) -> Result<char, ImageError> {
    if let Some(body) = name.strip_prefix('#') {
        return char_ref(body).ok_or_else(|| {
            malformed(
                offset,
                format!("&{name}; is not a valid character reference"),
            )
        });
    }
    predefined_entity(name).ok_or_else(|| {
        unsafe_xml(format!(
            "the entity reference &{name}; at byte {offset} needs a DTD, which we never load"
        ))
    })
}

/// Decodes an attribute value: references resolved, then attribute-value normalisation (each
/// literal tab, line feed, carriage return or CR LF becomes a space; references are kept).
/// Borrows `raw` when there is nothing to decode, as in most values, such as path data.
fn attribute_value(raw: &str, offset: usize) -> Result<Cow<'_, str>, ImageError> {
    let is_special = |b: &u8| matches!(b, b'<' | b'\r' | b'\n' | b'\t' | b'&');
    let bytes = raw.as_bytes();
    // Checked 64 bytes at a time with no early exit inside a block, a loop the compiler
    // vectorises: values can be data URLs of hundreds of kilobytes.
    let needs_decoding = bytes
        .chunks(64)
        .any(|block| block.iter().fold(false, |found, b| found | is_special(b)));
    if !needs_decoding {
        return Ok(Cow::Borrowed(raw));
    }
    // Copy the runs between special characters whole. Every special character is ASCII, so
    // each index below is a character boundary.
    let mut out = String::with_capacity(raw.len());
    let mut from = 0;
    while let Some(found) = bytes[from..].iter().position(is_special) {
        let at = from + found;
        out.push_str(&raw[from..at]);
        from = at + 1;
        match bytes[at] {
            b'<' => return Err(malformed(offset, "an attribute value contains '<'")),
            b'\r' => {
                if bytes.get(from) == Some(&b'\n') {
                    from += 1;
                }
                out.push(' ');
            }
            b'&' => {
                let rest = &raw[from..];
                let end = rest
                    .find(';')
                    .ok_or_else(|| malformed(offset, "an attribute value has '&' without ';'"))?;
                out.push(resolve_reference(&rest[..end], offset)?);
                from += end + 1;
            }
            _ => out.push(' '),
        }
    }
    out.push_str(&raw[from..]);
    Ok(Cow::Owned(out))
}

/// XML 1.0 end-of-line normalisation: CR LF and lone CR become LF.
fn normalize_eol(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// One namespace scope: (prefix or None for the default, URI).
type Scope = Vec<(Option<String>, String)>;

fn resolve_prefix<'s>(scopes: &'s [Scope], prefix: Option<&str>) -> Option<&'s str> {
    if prefix == Some("xml") {
        return Some(XML_NAMESPACE);
    }
    for scope in scopes.iter().rev() {
        for (p, uri) in scope.iter().rev() {
            if p.as_deref() == prefix {
                return if uri.is_empty() { None } else { Some(uri) };
            }
        }
    }
    None
}

fn split_qname(qname: &str) -> (Option<&str>, &str) {
    match qname.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, qname),
    }
}

/// The unprefixed attributes that the scan reads after parsing a start tag: the root's size
/// and a badge element's `verify`. Only these are kept in [`StartTag::plain_attrs`].
const KEPT_ATTRIBUTES: &[&str] = &["width", "height", "viewBox", "verify"];

struct StartTag {
    qname: String,
    ns: Option<String>,
    local: String,
    /// Attributes without a namespace prefix, and `xmlns:openbadges`: (qname, value).
    plain_attrs: Vec<(String, String)>,
}

/// Checks a start tag's attributes, pushes its namespace scope and resolves its name.
fn open_element(
    e: &BytesStart<'_>,
    offset: usize,
    scopes: &mut Vec<Scope>,
) -> Result<StartTag, ImageError> {
    let qname = std::str::from_utf8(e.name().as_ref())
        .map_err(|_| malformed(offset, "an element name is not UTF-8"))?
        .to_owned();
    if qname.is_empty()
        || qname.matches(':').count() > 1
        || qname.starts_with(':')
        || qname.ends_with(':')
    {
        return Err(malformed(
            offset,
            format!("the element name {qname:?} is not a valid qualified name"),
        ));
    }
    let mut scope: Scope = Vec::new();
    let mut prefixed_keys: Vec<String> = Vec::new();
    let mut plain_attrs: Vec<(String, String)> = Vec::new();
    for attr in e.attributes().with_checks(true) {
        let attr = attr.map_err(|err| malformed(offset, format!("in <{qname}>: {err}")))?;
        let key = std::str::from_utf8(attr.key.as_ref())
            .map_err(|_| malformed(offset, "an attribute name is not UTF-8"))?;
        let raw = std::str::from_utf8(&attr.value)
            .map_err(|_| malformed(offset, "an attribute value is not UTF-8"))?;
        let value = attribute_value(raw, offset)?;
        if key == "xmlns" {
            scope.push((None, value.into_owned()));
        } else if let Some(prefix) = key.strip_prefix("xmlns:") {
            if prefix.is_empty() || prefix.contains(':') || value.is_empty() || prefix == "xmlns" {
                return Err(malformed(
                    offset,
                    format!("the namespace declaration {key}={value:?} is not allowed"),
                ));
            }
            if prefix == "xml" && value != XML_NAMESPACE {
                return Err(malformed(
                    offset,
                    "the xml prefix is bound to the wrong namespace",
                ));
            }
            if prefix == "openbadges" {
                plain_attrs.push((key.to_owned(), value.to_string()));
            }
            scope.push((Some(prefix.to_owned()), value.into_owned()));
        } else if key.contains(':') {
            prefixed_keys.push(key.to_owned());
        } else if KEPT_ATTRIBUTES.contains(&key) {
            plain_attrs.push((key.to_owned(), value.into_owned()));
        }
    }
    scopes.push(scope);
    // Every attribute prefix must be declared.
    for key in &prefixed_keys {
        if let (Some(prefix), _) = split_qname(key)
            && resolve_prefix(scopes, Some(prefix)).is_none()
        {
            return Err(malformed(
                offset,
                format!("the attribute prefix {prefix:?} in <{qname}> is not declared"),
            ));
        }
    }
    let (prefix, local) = split_qname(&qname);
    let ns = resolve_prefix(scopes, prefix).map(str::to_owned);
    if let (Some(p), None) = (prefix, &ns) {
        return Err(malformed(
            offset,
            format!("the namespace prefix {p:?} of <{qname}> is not declared"),
        ));
    }
    let local = local.to_owned();
    Ok(StartTag {
        qname,
        ns,
        local,
        plain_attrs,
    })
}

fn badge_format_of(ns: Option<&str>, local: &str) -> Option<BadgeFormat> {
    BadgeFormat::ALL
        .into_iter()
        .find(|f| ns == Some(f.svg_namespace()) && local == f.svg_element())
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The UTF-8 text of a document without its BOM, and the BOM's length.
fn decode(bytes: &[u8]) -> Result<(&str, usize), ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::EmptyBody);
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(ImageError::UnsupportedEncoding {
            encoding: "UTF-16".to_owned(),
        });
    }
    let base = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    let text = std::str::from_utf8(&bytes[base..]).map_err(|e| {
        malformed(
            base + e.valid_up_to(),
            "the bytes are not valid UTF-8; save the file as UTF-8",
        )
    })?;
    // quick-xml drops a byte order mark at the start of its input without counting it in its
    // positions, so a second one would shift every offset the bake splices at. XML allows
    // nothing before the document but one byte order mark.
    if text.starts_with('\u{feff}') {
        return Err(malformed(
            base,
            "the document starts with a second byte order mark; remove it",
        ));
    }
    if let Some((i, c)) = text.char_indices().find(|(_, c)| !is_xml_char(*c)) {
        return Err(malformed(
            base + i,
            format!("the character U+{:04X} is not allowed in XML", c as u32),
        ));
    }
    Ok((text, base))
}

/// Checks the content of a DOCTYPE that starts at `offset`: no internal subset, no `<`, and
/// every quoted literal closed. quick-xml (0.38) ends a DOCTYPE at the `>` that balances the
/// `<`s before it, ignoring quotes, while [`sniff_svg`] skips quoted literals. With no `<` and
/// closed quotes both end it at the same `>`, so they agree on where the root element is.
fn check_doctype(content: &str, offset: usize) -> Result<(), ImageError> {
    // Look for '[' outside quoted literals: the start of an internal subset.
    let mut quote: Option<char> = None;
    for c in content.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => {
                let what = if content.contains("<!ENTITY") {
                    "the DOCTYPE declares entities in an internal subset (entity expansion and external entities are refused)"
                } else {
                    "the DOCTYPE has an internal subset, which can declare entities and default attributes"
                };
                return Err(unsafe_xml(what));
            }
            _ => {}
        }
    }
    if let Some(q) = quote {
        return Err(malformed(
            offset,
            format!("the DOCTYPE has a literal that opens with {q:?} and is never closed"),
        ));
    }
    if content.contains('<') {
        return Err(malformed(offset, "the DOCTYPE contains '<'"));
    }
    Ok(())
}

/// Parses the whole document, checking everything, and finds the root and badge elements.
fn scan(bytes: &[u8]) -> Result<Scan, ImageError> {
    let (text, base) = decode(bytes)?;
    let mut reader = quick_xml::Reader::from_str(text);
    {
        let config = reader.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        config.allow_unmatched_ends = false;
    }
    let mut scopes: Vec<Scope> = Vec::new();
    let mut root: Option<Root> = None;
    let mut root_closed = false;
    let mut seen_doctype = false;
    let mut found: Vec<Found> = Vec::new();
    // The badge element being read: (index in `found`, depth of the element).
    let mut capture: Option<(usize, usize)> = None;
    let mut first_event = true;
    let mut unsafe_content: Option<ImageError> = None;
    // The `<style>` element being read: (its depth, its offset, the CSS text so far).
    let mut style: Option<(usize, usize, String)> = None;
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| {
            let at = usize::try_from(reader.error_position()).unwrap_or(0);
            malformed(base + at, e.to_string())
        })?;
        let after = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let offset = base + before;
        let is_first = std::mem::replace(&mut first_event, false);
        let depth = scopes.len();
        let in_root = root.is_some() && !root_closed;
        match event {
            Event::Decl(decl) => {
                if !is_first || before != 0 {
                    return Err(malformed(offset, "the XML declaration must come first"));
                }
                let version = decl
                    .version()
                    .map_err(|e| malformed(offset, e.to_string()))?;
                if version.as_ref() != b"1.0" {
                    return Err(malformed(
                        offset,
                        format!(
                            "XML version {} is not supported; use 1.0",
                            String::from_utf8_lossy(&version)
                        ),
                    ));
                }
                if let Some(enc) = decl.encoding() {
                    let enc = enc.map_err(|e| malformed(offset, e.to_string()))?;
                    let name = String::from_utf8_lossy(&enc).into_owned();
                    if !name.eq_ignore_ascii_case("utf-8") && !name.eq_ignore_ascii_case("utf8") {
                        return Err(ImageError::UnsupportedEncoding { encoding: name });
                    }
                }
            }
            Event::PI(pi) => {
                if pi.target().eq_ignore_ascii_case(b"xml") {
                    return Err(malformed(offset, "an XML declaration may only come first"));
                }
                if pi.target().eq_ignore_ascii_case(b"xml-stylesheet") && unsafe_content.is_none() {
                    unsafe_content = Some(unsafe_svg(
                        "the processing instruction <?xml-stylesheet?> (a style sheet loaded from another file)",
                        offset,
                    ));
                }
            }
            Event::DocType(doctype) => {
                if root.is_some() || seen_doctype {
                    return Err(malformed(
                        offset,
                        "a DOCTYPE may only come once, before the root element",
                    ));
                }
                seen_doctype = true;
                // quick-xml also reads `<!doctype`, but XML (and `sniff_svg`) takes only capitals.
                if !text
                    .get(before..)
                    .is_some_and(|rest| rest.starts_with("<!DOCTYPE"))
                {
                    return Err(malformed(
                        offset,
                        "the DOCTYPE keyword must be written in capitals: <!DOCTYPE",
                    ));
                }
                let content = String::from_utf8_lossy(doctype.as_ref()).into_owned();
                check_doctype(&content, offset)?;
            }
            Event::Comment(_) => {}
            Event::Text(t) => {
                let raw = std::str::from_utf8(t.as_ref())
                    .map_err(|_| malformed(offset, "text is not UTF-8"))?;
                if !in_root {
                    if !raw.chars().all(is_xml_space) {
                        return Err(malformed(offset, "there is text outside the root element"));
                    }
                } else if let Some((i, _)) = capture {
                    found[i].content.push_str(&normalize_eol(raw));
                }
                if let Some((_, _, css)) = style.as_mut() {
                    css.push_str(raw);
                }
            }
            Event::CData(c) => {
                if !in_root {
                    return Err(malformed(
                        offset,
                        "there is a CDATA section outside the root element",
                    ));
                }
                let raw = std::str::from_utf8(c.as_ref())
                    .map_err(|_| malformed(offset, "CDATA is not UTF-8"))?;
                if let Some((i, _)) = capture {
                    found[i].content.push_str(&normalize_eol(raw));
                }
                if let Some((_, _, css)) = style.as_mut() {
                    css.push_str(raw);
                }
            }
            Event::GeneralRef(r) => {
                let name = std::str::from_utf8(r.as_ref())
                    .map_err(|_| malformed(offset, "a reference is not UTF-8"))?;
                let c = resolve_reference(name, offset)?;
                if !in_root {
                    return Err(malformed(
                        offset,
                        "there is a reference outside the root element",
                    ));
                }
                if let Some((i, _)) = capture {
                    found[i].content.push(c);
                }
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                if root_closed {
                    return Err(malformed(offset, "there is a second root element"));
                }
                if depth >= MAX_DEPTH {
                    return Err(unsafe_xml(format!(
                        "elements are nested more than {MAX_DEPTH} deep"
                    )));
                }
                let tag = open_element(e, offset, &mut scopes)?;
                if unsafe_content.is_none() {
                    unsafe_content = unsafe_in_element(e, &tag, &scopes, offset)?;
                }
                if tag.local == "style" && !empty && style.is_none() {
                    style = Some((depth, offset, String::new()));
                }
                if root.is_none() {
                    if tag.local != "svg" || tag.ns.as_deref() != Some(SVG_NAMESPACE) {
                        let ns = tag.ns.as_deref().unwrap_or("no namespace");
                        return Err(ImageError::NotSvg {
                            reason: format!("the root element is <{}> in {ns}", tag.qname),
                        });
                    }
                    root = Some(Root {
                        start: offset,
                        end: base + after,
                        self_closing: empty,
                        qname: tag.qname.clone(),
                        openbadges_binding: attr(&tag.plain_attrs, "xmlns:openbadges")
                            .map(str::to_owned),
                        width: attr(&tag.plain_attrs, "width").map(str::to_owned),
                        height: attr(&tag.plain_attrs, "height").map(str::to_owned),
                        view_box: attr(&tag.plain_attrs, "viewBox").map(str::to_owned),
                    });
                } else if capture.is_none()
                    && let Some(format) = badge_format_of(tag.ns.as_deref(), &tag.local)
                {
                    // The whitespace just before the element goes with it, so that a re-bake
                    // gives identical bytes.
                    let ws = text
                        .get(..before)
                        .unwrap_or("")
                        .chars()
                        .rev()
                        .take_while(|c| is_xml_space(*c))
                        .map(char::len_utf8)
                        .sum::<usize>();
                    found.push(Found {
                        format,
                        remove_from: offset.saturating_sub(ws),
                        end: base + after,
                        verify: attr(&tag.plain_attrs, "verify").map(str::to_owned),
                        content: String::new(),
                    });
                    if !empty {
                        capture = Some((found.len() - 1, depth));
                    }
                }
                if empty {
                    scopes.pop();
                    if scopes.is_empty() {
                        root_closed = true;
                    }
                }
            }
            Event::End(_) => {
                scopes.pop();
                if let Some((d, style_offset, css)) = style.take_if(|(d, _, _)| *d == scopes.len())
                {
                    debug_assert_eq!(d, scopes.len());
                    if unsafe_content.is_none() {
                        unsafe_content = unsafe_in_css(&css, "a <style> element", style_offset);
                    }
                }
                if let Some((i, d)) = capture
                    && d == scopes.len()
                {
                    found[i].end = base + after;
                    capture = None;
                }
                if scopes.is_empty() {
                    root_closed = true;
                }
            }
            Event::Eof => break,
        }
    }
    let Some(root) = root else {
        return Err(ImageError::NotSvg {
            reason: "the document has no root element".to_owned(),
        });
    };
    if !root_closed {
        return Err(malformed(
            bytes.len(),
            "the document ends before the root element is closed (the file is cut short)",
        ));
    }
    // quick-xml reads some prologs that `sniff_svg` does not, and `bake` copies the prolog as
    // it is, so without this check `svg::bake` could return an image that `sniff` rejects.
    if !sniff_svg(bytes) {
        return Err(malformed(
            root.start,
            "the prolog before the root element is malformed, so the file is not recognised as SVG",
        ));
    }
    Ok(Scan {
        root,
        found,
        unsafe_content,
    })
}

// ---------------------------------------------------------------------------------------------
// Writing

/// Escapes an attribute value for double quotes; tab, LF and CR become character references so
/// they survive attribute-value normalisation.
fn escape_attribute(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            _ => out.push(c),
        }
    }
    out
}

/// Writes `text` as CDATA: a `]]>` inside is split as `]]]]><![CDATA[>`, and a carriage return
/// is written as `&#13;` between sections (a raw CR would be read back as LF). Empty text gives
/// an empty string.
pub(crate) fn cdata(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(text.len() + 32);
    out.push_str("<![CDATA[");
    let mut open = true;
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(tail) = rest.strip_prefix("]]>") {
            if !open {
                out.push_str("<![CDATA[");
            }
            out.push_str("]]]]><![CDATA[>");
            open = true;
            rest = tail;
        } else if let Some(tail) = rest.strip_prefix('\r') {
            if open {
                out.push_str("]]>");
                open = false;
            }
            out.push_str("&#13;");
            rest = tail;
        } else {
            if !open {
                out.push_str("<![CDATA[");
                open = true;
            }
            let next = rest.find(['\r', ']']).unwrap_or(rest.len());
            let take = if next == 0 { 1 } else { next };
            out.push_str(&rest[..take]);
            rest = &rest[take..];
        }
    }
    if open {
        out.push_str("]]>");
    }
    out
}

fn check_xml_safe(text: &str) -> Result<(), BakeError> {
    match text.char_indices().find(|(_, c)| !is_xml_char(*c)) {
        Some((index, c)) => Err(BakeError::PayloadNotXmlSafe {
            codepoint: c as u32,
            index,
        }),
        None => Ok(()),
    }
}

/// Our element. `declare` adds `xmlns:openbadges` on the element itself.
fn element(format: BadgeFormat, verify: Option<&str>, content: &str, declare: bool) -> String {
    let name = format!("openbadges:{}", format.svg_element());
    let mut out = format!("<{name}");
    if declare {
        out.push_str(&format!(
            " xmlns:openbadges=\"{}\"",
            escape_attribute(format.svg_namespace())
        ));
    }
    if let Some(v) = verify {
        out.push_str(&format!(" verify=\"{}\"", escape_attribute(v)));
    }
    out.push('>');
    out.push_str(&cdata(content));
    out.push_str(&format!("</{name}>"));
    out
}

/// Writes `verify`/`content` into the scanned document as the `format` element.
fn splice(
    bytes: &[u8],
    scan: &Scan,
    format: BadgeFormat,
    verify: Option<&str>,
    content: &str,
) -> Vec<u8> {
    let root = &scan.root;
    let declare_on_root = root.openbadges_binding.is_none();
    let declare_on_element = root
        .openbadges_binding
        .as_deref()
        .is_some_and(|b| b != format.svg_namespace());
    let close = if root.self_closing {
        root.end - 2
    } else {
        root.end - 1
    };
    let mut attr_insert = close;
    while attr_insert > root.start && matches!(bytes[attr_insert - 1], b' ' | b'\t' | b'\r' | b'\n')
    {
        attr_insert -= 1;
    }
    let el = element(format, verify, content, declare_on_element);
    let mut out = Vec::with_capacity(bytes.len() + el.len() + 64);
    out.extend_from_slice(&bytes[..attr_insert]);
    if declare_on_root {
        out.extend_from_slice(
            format!(" xmlns:openbadges=\"{}\"", format.svg_namespace()).as_bytes(),
        );
    }
    out.extend_from_slice(&bytes[attr_insert..close]);
    out.push(b'>');
    out.extend_from_slice(el.as_bytes());
    if root.self_closing {
        out.extend_from_slice(format!("</{}>", root.qname).as_bytes());
    }
    let mut pos = root.end;
    for f in scan.found.iter().filter(|f| f.format == format) {
        let from = f.remove_from.max(pos);
        out.extend_from_slice(&bytes[pos..from]);
        pos = f.end.max(pos);
    }
    out.extend_from_slice(&bytes[pos..]);
    out
}

/// Bakes `input` into an SVG (see the [module documentation](self)).
pub fn bake(svg: &[u8], format: BadgeFormat, input: BakeInput<'_>) -> Result<Vec<u8>, BakeError> {
    let mut scan = scan(svg)?;
    if let Some(error) = scan.unsafe_content.take() {
        return Err(error.into());
    }
    let json_id = payload::check_for_bake(format, &input)?;
    let text = input.payload.text();
    check_xml_safe(text)?;
    if let Some(url) = input.assertion_url {
        check_xml_safe(url)?;
    }
    let (verify, content): (Option<String>, &str) = match (format, input.payload) {
        (_, Payload::Jws(jws)) => (Some(jws.to_owned()), ""),
        (BadgeFormat::V3, Payload::Json(json_text)) => (None, json_text),
        (BadgeFormat::V2, Payload::Json(json_text)) => {
            let url = match input.assertion_url {
                Some(u) => u.to_owned(),
                None => json_id
                    .filter(|id| payload::is_http_url(id))
                    .ok_or(BakeError::MissingAssertionUrl)?,
            };
            (Some(url), json_text)
        }
    };
    Ok(splice(svg, &scan, format, verify.as_deref(), content))
}

/// Reads the badge data of an SVG: the first Open Badges element in document order.
/// `Ok(None)` when there is none.
pub fn unbake(svg: &[u8]) -> Result<Option<Unbaked>, UnbakeError> {
    unbake_impl(svg, None)
}

/// Reads only the `format` element of an SVG.
pub fn unbake_format(svg: &[u8], format: BadgeFormat) -> Result<Option<Unbaked>, UnbakeError> {
    unbake_impl(svg, Some(format))
}

fn unbake_impl(svg: &[u8], want: Option<BadgeFormat>) -> Result<Option<Unbaked>, UnbakeError> {
    let scan = scan(svg)?;
    let Some(found) = scan
        .found
        .iter()
        .find(|f| want.is_none_or(|w| w == f.format))
    else {
        return Ok(None);
    };
    let format = found.format;
    let not_ob = |reason: &str| UnbakeError::NotAnOpenBadgesObject {
        format,
        reason: reason.to_owned(),
    };
    let has_content = !found.content.chars().all(is_xml_space);
    let verify = found
        .verify
        .as_deref()
        .map(|v| v.trim_matches(is_xml_space))
        .filter(|v| !v.is_empty());
    let verify_is_url = verify.is_some_and(payload::is_http_url);
    let mut warnings = Vec::new();
    let (classified, verify_url) = match verify {
        // A signed badge: the JWS is in verify.
        Some(jws) if !verify_is_url => {
            if has_content {
                warnings.push(UnbakeWarning::SvgContentIgnored);
            }
            let c = payload::classify(format, jws)?;
            if c.kind != PayloadKind::Jws {
                return Err(not_ob(
                    "the verify attribute is neither a URL nor a compact JWS",
                ));
            }
            (c, None)
        }
        Some(url) => {
            if format == BadgeFormat::V3 {
                return Err(not_ob(
                    "the verify attribute holds a URL, but Open Badges 3.0 allows only a JWS there",
                ));
            }
            if has_content {
                (
                    payload::classify(format, &found.content)?,
                    Some(url.to_owned()),
                )
            } else {
                (payload::classify(format, url)?, Some(url.to_owned()))
            }
        }
        None => {
            if !has_content {
                return Err(not_ob("the element is empty and has no verify attribute"));
            }
            let c = payload::classify(format, &found.content)?;
            let url = (c.kind == PayloadKind::Url).then(|| c.text.clone());
            (c, url)
        }
    };
    warnings.extend(classified.warnings);
    let formats: Vec<BadgeFormat> = scan.found.iter().map(|f| f.format).collect();
    warnings.extend(super::duplicate_warnings(&formats, format));
    Ok(Some(Unbaked {
        format,
        text: classified.text,
        verify_url,
        kind: classified.kind,
        warnings,
    }))
}

/// An SVG length in pixels: a number with an optional absolute unit; None for %, em, ex or junk.
fn length_px(value: &str) -> Option<f64> {
    let v = value.trim();
    let split = v
        .find(|c: char| c.is_ascii_alphabetic() || c == '%')
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.trim().parse().ok()?;
    let factor = match unit {
        "" | "px" => 1.0,
        "pt" => 96.0 / 72.0,
        "pc" => 16.0,
        "mm" => 96.0 / 25.4,
        "cm" => 96.0 / 2.54,
        "in" => 96.0,
        _ => return None,
    };
    let px = n * factor;
    (px.is_finite() && px > 0.0).then_some(px)
}

fn view_box_size(value: &str) -> Option<(f64, f64)> {
    let nums: Vec<f64> = value
        .split(|c: char| c == ',' || is_xml_space(c))
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<f64>().ok())
        .collect::<Option<_>>()?;
    match nums.as_slice() {
        [_, _, w, h] if w.is_finite() && h.is_finite() && *w > 0.0 && *h > 0.0 => Some((*w, *h)),
        _ => None,
    }
}

fn to_pixels(v: Option<f64>) -> u32 {
    match v {
        Some(px) if px >= u32::MAX as f64 => u32::MAX,
        Some(px) => px.ceil() as u32,
        None => 0,
    }
}

/// Structural check of an SVG for [`inspect_image`](super::inspect_image).
pub(crate) fn inspect(svg: &[u8]) -> Result<ImageInfo, ImageError> {
    let mut scan = scan(svg)?;
    if let Some(error) = scan.unsafe_content.take() {
        return Err(error);
    }
    let vb = scan.root.view_box.as_deref().and_then(view_box_size);
    let width = scan
        .root
        .width
        .as_deref()
        .and_then(length_px)
        .or(vb.map(|v| v.0));
    let height = scan
        .root
        .height
        .as_deref()
        .and_then(length_px)
        .or(vb.map(|v| v.1));
    let mut badge_data: Vec<BadgeFormat> = scan.found.iter().map(|f| f.format).collect();
    badge_data.sort();
    badge_data.dedup();
    Ok(ImageInfo {
        kind: ImageKind::Svg,
        width: to_pixels(width),
        height: to_pixels(height),
        badge_data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const V2_JSON: &str = r#"{"id":"https://issuer.example/assertions/1","type":"Assertion"}"#;
    const V3_JSON: &str =
        r#"{"id":"urn:uuid:1","type":["VerifiableCredential","OpenBadgeCredential"]}"#;
    const PLAIN: &str =
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>"#;

    fn s(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    /// Reads CDATA written by `cdata` back through quick-xml, as a reader would.
    fn read_back(text: &str) -> String {
        let doc = format!(
            "<svg xmlns=\"{SVG_NAMESPACE}\" xmlns:openbadges=\"http://openbadges.org\"><openbadges:assertion>{}</openbadges:assertion></svg>",
            cdata(text)
        );
        let sc = scan(doc.as_bytes()).unwrap();
        sc.found[0].content.clone()
    }

    #[test]
    fn cdata_splits_terminator() {
        assert_eq!(cdata("a]]>b"), "<![CDATA[a]]]]><![CDATA[>b]]>");
        assert_eq!(read_back("a]]>b"), "a]]>b");
        assert_eq!(read_back("]]>]]>"), "]]>]]>");
        assert_eq!(read_back("x\r\ny\rz"), "x\r\ny\rz");
        assert_eq!(read_back("]]"), "]]");
    }

    #[test]
    fn bake_plain_v2_hosted() {
        let out = bake(PLAIN.as_bytes(), BadgeFormat::V2, BakeInput::json(V2_JSON)).unwrap();
        assert_eq!(
            s(&out),
            format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\" xmlns:openbadges=\"http://openbadges.org\"><openbadges:assertion verify=\"https://issuer.example/assertions/1\"><![CDATA[{V2_JSON}]]></openbadges:assertion><rect/></svg>"
            )
        );
        let u = unbake(&out).unwrap().unwrap();
        assert_eq!(u.text, V2_JSON);
        assert_eq!(
            u.verify_url.as_deref(),
            Some("https://issuer.example/assertions/1")
        );
        assert_eq!(
            bake(&out, BadgeFormat::V2, BakeInput::json(V2_JSON)).unwrap(),
            out
        );
    }

    #[test]
    fn bake_v3_next_to_v2_declares_locally() {
        let v2 = bake(PLAIN.as_bytes(), BadgeFormat::V2, BakeInput::json(V2_JSON)).unwrap();
        let both = bake(&v2, BadgeFormat::V3, BakeInput::json(V3_JSON)).unwrap();
        assert!(s(&both).contains("><openbadges:credential xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"><![CDATA["));
        let u = unbake(&both).unwrap().unwrap();
        assert_eq!((u.format, u.text.as_str()), (BadgeFormat::V3, V3_JSON));
        assert_eq!(
            unbake_format(&both, BadgeFormat::V2).unwrap().unwrap().text,
            V2_JSON
        );
        assert_eq!(
            bake(&both, BadgeFormat::V3, BakeInput::json(V3_JSON)).unwrap(),
            both
        );
    }

    #[test]
    fn attribute_values_are_normalised() {
        assert_eq!(
            attribute_value("a&#10;b\tc\r\nd&amp;", 0).unwrap(),
            "a\nb c d&"
        );
        assert_eq!(
            attribute_value("&foo;", 0).unwrap_err().code(),
            "unsafe_xml"
        );
        assert_eq!(
            attribute_value("a<b", 0).unwrap_err().code(),
            "malformed_svg"
        );
        assert_eq!(
            attribute_value("&#0;", 0).unwrap_err().code(),
            "malformed_svg"
        );
        assert_eq!(attribute_value("&#x1F989;!", 0).unwrap(), "🦉!");
        assert_eq!(attribute_value("é\rx\r\n\né", 0).unwrap(), "é x  é");
        assert!(matches!(
            attribute_value("M 0 0 L 10 10", 0).unwrap(),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn namespace_in_escaped_form_is_resolved() {
        let doc = r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:ob="http&#58;//openbadges.org"><ob:assertion verify="https://x.example/1"/></svg>"#;
        let u = unbake(doc.as_bytes()).unwrap().unwrap();
        assert_eq!(u.kind, PayloadKind::Url);
    }

    #[test]
    fn well_formedness() {
        let code = |d: &str| scan(d.as_bytes()).unwrap_err().code();
        assert_eq!(code(""), "empty_body");
        assert_eq!(
            code("<svg xmlns=\"http://www.w3.org/2000/svg\">"),
            "malformed_svg"
        );
        assert_eq!(
            code("<svg xmlns=\"http://www.w3.org/2000/svg\"></g>"),
            "malformed_svg"
        );
        assert_eq!(
            code(
                "<svg xmlns=\"http://www.w3.org/2000/svg\"/><svg xmlns=\"http://www.w3.org/2000/svg\"/>"
            ),
            "malformed_svg"
        );
        assert_eq!(
            code("<svg xmlns=\"http://www.w3.org/2000/svg\" a=\"1\" a=\"2\"/>"),
            "malformed_svg"
        );
        assert_eq!(
            code("<svg xmlns=\"http://www.w3.org/2000/svg\"><x:g/></svg>"),
            "malformed_svg"
        );
        assert_eq!(
            code("<svg xmlns=\"http://www.w3.org/2000/svg\">&nbsp;</svg>"),
            "unsafe_xml"
        );
        assert_eq!(
            code("<svg xmlns=\"http://www.w3.org/2000/svg\">\u{1}</svg>"),
            "malformed_svg"
        );
        assert_eq!(
            code("text<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            "malformed_svg"
        );
        assert_eq!(code("<svg/>"), "not_svg");
        assert_eq!(
            code("<html xmlns=\"http://www.w3.org/1999/xhtml\"/>"),
            "not_svg"
        );
        assert_eq!(
            code(
                "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>"
            ),
            "unsupported_encoding"
        );
        assert_eq!(
            code("\u{feff}<!-- a -- b --><svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            "malformed_svg"
        );
        let deep = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\">{}{}</svg>",
            "<g>".repeat(MAX_DEPTH + 1),
            "</g>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(code(&deep), "unsafe_xml");
        assert_eq!(
            scan(&[0xFF, 0xFE, b'<', 0]).unwrap_err().code(),
            "unsupported_encoding"
        );
        assert_eq!(
            scan(b"<svg xmlns=\"http://www.w3.org/2000/svg\">\xff</svg>")
                .unwrap_err()
                .code(),
            "malformed_svg"
        );
    }

    #[test]
    fn root_attributes_with_markup_characters() {
        let doc = "<svg xmlns=\"http://www.w3.org/2000/svg\" data-a=\"x>y\" data-b='z/' \n/>";
        let out = bake(doc.as_bytes(), BadgeFormat::V3, BakeInput::json(V3_JSON)).unwrap();
        assert_eq!(
            s(&out),
            format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" data-a=\"x>y\" data-b='z/' xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\" \n><openbadges:credential><![CDATA[{V3_JSON}]]></openbadges:credential></svg>"
            )
        );
        assert_eq!(
            bake(&out, BadgeFormat::V3, BakeInput::json(V3_JSON)).unwrap(),
            out
        );
    }

    #[test]
    fn prefixed_root() {
        let doc = r#"<s:svg xmlns:s="http://www.w3.org/2000/svg"/>"#;
        assert!(sniff_svg(doc.as_bytes()));
        let out = bake(doc.as_bytes(), BadgeFormat::V3, BakeInput::json(V3_JSON)).unwrap();
        assert_eq!(
            s(&out),
            format!(
                "<s:svg xmlns:s=\"http://www.w3.org/2000/svg\" xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"><openbadges:credential><![CDATA[{V3_JSON}]]></openbadges:credential></s:svg>"
            )
        );
        assert_eq!(unbake(&out).unwrap().unwrap().text, V3_JSON);
    }

    #[test]
    fn dimensions() {
        assert_eq!(length_px("10"), Some(10.0));
        assert_eq!(length_px("1in"), Some(96.0));
        assert_eq!(length_px("100%"), None);
        assert_eq!(length_px("-3"), None);
        assert_eq!(view_box_size("0 0 1000,500"), Some((1000.0, 500.0)));
        let info = inspect(
            br#"<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 300.5 200"/>"#,
        )
        .unwrap();
        assert_eq!((info.width, info.height), (301, 200));
        let info = inspect(br#"<svg xmlns="http://www.w3.org/2000/svg"/>"#).unwrap();
        assert_eq!((info.width, info.height), (0, 0));
    }

    #[test]
    fn rejects_non_xml_payload_chars() {
        let json = "{\"id\":\"https://issuer.example/assertions/1\",\"type\":\"Assertion\",\"n\":\"\u{FFFE}\"}";
        let e = bake(PLAIN.as_bytes(), BadgeFormat::V2, BakeInput::json(json)).unwrap_err();
        assert_eq!(e.code(), "payload_not_xml_safe");
    }

    fn xml_string() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("]]>".to_owned()),
            Just("]]".to_owned()),
            Just("\r\n".to_owned()),
            Just("\r".to_owned()),
            Just("<![CDATA[".to_owned()),
            Just("&amp;".to_owned()),
            any::<char>()
                .prop_filter("XML char", |c| is_xml_char(*c))
                .prop_map(String::from),
        ];
        proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn cdata_round_trips(text in xml_string()) {
            prop_assert_eq!(read_back(&text), text);
        }

        #[test]
        fn splice_round_trips_and_is_idempotent(text in xml_string(), v3 in any::<bool>(), self_closing in any::<bool>()) {
            let format = if v3 { BadgeFormat::V3 } else { BadgeFormat::V2 };
            let doc = if self_closing { "<svg xmlns=\"http://www.w3.org/2000/svg\"/>" } else { PLAIN };
            let sc = scan(doc.as_bytes()).unwrap();
            let out = splice(doc.as_bytes(), &sc, format, Some("https://x.example/1"), &text);
            let sc2 = scan(&out).unwrap();
            prop_assert_eq!(sc2.found.len(), 1);
            prop_assert_eq!(&sc2.found[0].content, &text);
            let again = splice(&out, &sc2, format, Some("https://x.example/1"), &text);
            prop_assert_eq!(again, out);
        }

        #[test]
        fn scan_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = scan(&bytes);
            let _ = sniff_svg(&bytes);
        }

        #[test]
        fn mutated_svg_never_panics(at in any::<usize>(), byte in any::<u8>(), cut in any::<usize>()) {
            let mut doc = bake(PLAIN.as_bytes(), BadgeFormat::V2, BakeInput::json(V2_JSON)).unwrap();
            let i = at % doc.len();
            doc[i] = byte;
            doc.truncate(cut % (doc.len() + 1));
            let _ = unbake(&doc);
            let _ = bake(&doc, BadgeFormat::V3, BakeInput::json(V3_JSON));
            let _ = inspect(&doc);
            let _ = sniff_svg(&doc);
        }
    }
}
