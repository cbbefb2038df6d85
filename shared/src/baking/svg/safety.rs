//! Content that makes an SVG unsafe to embed in a web page.
//!
//! Recipients put baked badges on their own sites, often inline (`<svg>` in the HTML, or
//! `<object>`), where the browser runs scripts and fetches resources the SVG names. We refuse
//! (with [`ImageError::UnsafeSvg`]):
//!
//! * the elements `<script>`, `<handler>` (SVG Tiny 1.2 script) and `<foreignObject>` (which
//!   embeds HTML, including forms and iframes), in any namespace;
//! * event handler attributes (`onload`, `onclick`, `onbegin`, … : any attribute without a
//!   prefix whose name starts with `on`);
//! * `javascript:` and `vbscript:` URLs in any attribute value;
//! * `href` and `xlink:href` values, CSS `url(…)` references and `@import` rules that point
//!   outside the file: anything but a fragment (`#id`) or an allowed `data:` image;
//! * animation elements (`<animate>`, `<set>`) whose `attributeName` is a link or an event
//!   handler, because they can switch a safe value for a script URL after the checks above;
//! * `<?xml-stylesheet?>` (checked by the scanner, which sees processing instructions).
//!
//! External entities never get this far: any internal DTD subset is `unsafe_xml`.

use quick_xml::events::BytesStart;

use super::{
    ImageError, Scope, StartTag, attribute_value, badge_format_of, malformed, resolve_prefix,
    split_qname,
};

const XLINK_NAMESPACE: &str = "http://www.w3.org/1999/xlink";

/// Raster image types allowed in `data:` URLs. A browser decodes such a URL as a picture: it
/// runs no script and makes no request. SVG (`data:image/svg+xml`) and every other type are
/// refused, because an SVG or HTML document inside a data URL can carry the same content this
/// module refuses.
const SAFE_DATA_IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Elements that run script or embed foreign content, matched by local name in any namespace.
const UNSAFE_ELEMENTS: [&str; 3] = ["script", "handler", "foreignObject"];

/// Animation elements that can change another attribute's value.
const ANIMATION_ELEMENTS: [&str; 2] = ["animate", "set"];

pub(super) fn unsafe_svg(found: impl Into<String>, offset: usize) -> ImageError {
    ImageError::UnsafeSvg {
        found: found.into(),
        offset,
    }
}

/// Checks one start tag: its name and every attribute. Returns the first unsafe content found.
pub(super) fn unsafe_in_element(
    e: &BytesStart<'_>,
    tag: &StartTag,
    scopes: &[Scope],
    offset: usize,
) -> Result<Option<ImageError>, ImageError> {
    if UNSAFE_ELEMENTS.contains(&tag.local.as_str()) {
        return Ok(Some(unsafe_svg(
            format!("the element <{}>", tag.qname),
            offset,
        )));
    }
    let is_animation = ANIMATION_ELEMENTS.contains(&tag.local.as_str());
    let is_badge_element = badge_format_of(tag.ns.as_deref(), &tag.local).is_some();
    for attr in e.attributes().with_checks(true) {
        let attr = attr.map_err(|err| malformed(offset, format!("in <{}>: {err}", tag.qname)))?;
        let key = std::str::from_utf8(attr.key.as_ref())
            .map_err(|_| malformed(offset, "an attribute name is not UTF-8"))?;
        // The `verify` attribute of an Open Badges element holds the badge's JWS or hosted
        // assertion URL, which a bake writes. A browser renders no element of another namespace
        // and follows none of its attributes, so the value is badge data, not SVG content.
        if is_badge_element && key == "verify" {
            continue;
        }
        let raw = std::str::from_utf8(&attr.value)
            .map_err(|_| malformed(offset, "an attribute value is not UTF-8"))?;
        let value = attribute_value(raw, offset)?;
        if let Some(found) = unsafe_attribute(key, &value, scopes, &tag.qname, is_animation) {
            return Ok(Some(unsafe_svg(found, offset)));
        }
    }
    Ok(None)
}

/// Describes what is unsafe about one attribute, or `None` when it is safe.
fn unsafe_attribute(
    key: &str,
    value: &str,
    scopes: &[Scope],
    element: &str,
    is_animation: bool,
) -> Option<String> {
    let (prefix, local) = split_qname(key);
    let starts_with_on = local
        .get(..2)
        .is_some_and(|head| head.eq_ignore_ascii_case("on"));
    if prefix.is_none() && local.len() > 2 && starts_with_on {
        return Some(format!("the event handler attribute {key} on <{element}>"));
    }
    if has_script_url(value) {
        return Some(format!(
            "a script URL in the attribute {key}={} on <{element}>",
            quoted(value)
        ));
    }
    let is_link = local == "href"
        && (prefix.is_none() || resolve_prefix(scopes, prefix) == Some(XLINK_NAMESPACE));
    if is_link && !is_local_reference(value) {
        return Some(format!(
            "the attribute {key}={} on <{element}>, a reference outside the image",
            quoted(value)
        ));
    }
    if is_animation && prefix.is_none() && local == "attributeName" {
        let target = split_qname(value.trim()).1;
        if target == "href" || target.to_ascii_lowercase().starts_with("on") {
            return Some(format!(
                "an animation of the attribute {} on <{element}>",
                value.trim()
            ));
        }
    }
    if let Some(target) = external_css_reference(value) {
        return Some(format!(
            "the reference url({target}) in the attribute {key} on <{element}>, a reference \
             outside the image"
        ));
    }
    None
}

/// Checks the text of a `<style>` element (or a `style` attribute): `@import` and `url(…)` that
/// point outside the file, and script URLs.
pub(super) fn unsafe_in_css(css: &str, place: &str, offset: usize) -> Option<ImageError> {
    if css.contains('@') && compact_lowercase(css).contains("@import") {
        return Some(unsafe_svg(
            format!("an @import rule in {place} (a style sheet loaded from another file)"),
            offset,
        ));
    }
    if has_script_url(css) {
        return Some(unsafe_svg(format!("a script URL in {place}"), offset));
    }
    external_css_reference(css).map(|target| {
        unsafe_svg(
            format!("the reference url({target}) in {place}, a reference outside the image"),
            offset,
        )
    })
}

/// Returns whether `text` contains a `javascript:` or `vbscript:` URL, with the whitespace, control
/// characters and case that browsers ignore in a scheme.
fn has_script_url(text: &str) -> bool {
    // A match ends at a ':', and compacting works character by character, so only the text
    // up to the last ':' needs the copy. Most values, such as path data, have no ':', and a
    // data URL has one, right after "data".
    let Some(last_colon) = text.rfind(':') else {
        return false;
    };
    let compact = compact_lowercase(&text[..=last_colon]);
    compact.contains("javascript:") || compact.contains("vbscript:")
}

/// The target of the first CSS `url(…)` in `text` that is not a local reference.
fn external_css_reference(text: &str) -> Option<String> {
    if !text.contains('(') {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("url(") {
        let start = from + i + "url(".len();
        let end = lower[start..]
            .find(')')
            .map_or(text.len(), |close| start + close);
        let target = text[start..end]
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .trim();
        if !is_local_reference(target) {
            return Some(target.to_owned());
        }
        from = end;
    }
    None
}

/// Whether a URL stays inside the image: empty (the document itself), a fragment, or a `data:`
/// URL of a raster image type in [`SAFE_DATA_IMAGE_TYPES`].
fn is_local_reference(url: &str) -> bool {
    let url = url.trim();
    if url.is_empty() || url.starts_with('#') {
        return true;
    }
    // The media type ends before the first ',' and compacting never makes one, so the data
    // after it, most of a data URL, needs no copy.
    let head = url.find(',').map_or(url, |comma| &url[..comma]);
    let lower = compact_lowercase(head);
    let Some(rest) = lower.strip_prefix("data:") else {
        return false;
    };
    let media_type = rest.split([';', ',']).next().unwrap_or("");
    SAFE_DATA_IMAGE_TYPES.contains(&media_type)
}

/// Lower-cases and drops whitespace and control characters, which browsers skip inside a URL
/// scheme (`java&#9;script:` still runs).
fn compact_lowercase(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The value in double quotes, cut to 80 characters so that a data URL cannot flood the message.
fn quoted(value: &str) -> String {
    const MAX_CHARS: usize = 80;
    if value.chars().count() <= MAX_CHARS {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MAX_CHARS).collect();
        format!("{head:?}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Searches the compacted whole text, as the check did before it skipped any part.
    fn script_url_in_whole_text(text: &str) -> bool {
        let compact = compact_lowercase(text);
        compact.contains("javascript:") || compact.contains("vbscript:")
    }

    #[test]
    fn script_urls_found_as_in_the_whole_text() {
        let long_data = format!("data:image/png;base64,{}", "iVBORw0KGgo".repeat(1000));
        for text in [
            "javascript:alert(1)",
            " Java\tScript\n:alert(1)",
            "VBScript:msgbox(1)",
            "M 10 10 L 20 20 Z",
            "data:image/png;base64,iVBORw0KGgo",
            "data:image/png,x java\tscript:alert(1)",
            "javascript",
            ":javascript",
            "javascript:",
            "\u{212a}javascript:",
            long_data.as_str(),
        ] {
            assert_eq!(
                has_script_url(text),
                script_url_in_whole_text(text),
                "{text:.60}"
            );
        }
    }

    #[test]
    fn local_references() {
        let long_data = format!("data:image/png;base64,{}", "iVBORw0KGgo".repeat(1000));
        assert!(is_local_reference(""));
        assert!(is_local_reference("#face"));
        assert!(is_local_reference(&long_data));
        assert!(is_local_reference(" DATA : Image/PNG ;base64,AAAA"));
        assert!(is_local_reference("data:image/gif,GIF89a,more,commas"));
        assert!(!is_local_reference("data:text/html,<b>hi</b>"));
        assert!(!is_local_reference("data:image/svg+xml,<svg/>"));
        assert!(!is_local_reference("data:,image/png"));
        assert!(!is_local_reference("https://tracker.example/pixel.png"));
    }

    #[test]
    fn css_references_need_parentheses() {
        assert_eq!(external_css_reference("fill: red"), None);
        assert_eq!(external_css_reference("url(#face)"), None);
        assert_eq!(
            external_css_reference("fill: URL( 'https://x.example/a' )"),
            Some("https://x.example/a".to_owned())
        );
    }
}
