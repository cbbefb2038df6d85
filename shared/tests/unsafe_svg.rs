//! SVG content that runs script or loads from outside the image: refused by the upload check
//! (`inspect_image`) and by the baker, whatever the image's source.
//!
//! Fixtures are in `tests/fixtures/unsafe-svg/`, one kind of unsafe content per file; see the
//! README there.

use std::path::PathBuf;

use accolade::baking::{BadgeFormat, BakeInput, ImageLimits, bake, inspect_image, svg, unbake};

const V2_JSON: &str = r#"{"@context":"https://w3id.org/openbadges/v2","type":"Assertion","id":"https://accolade.example/assertions/7f3c","recipient":{"type":"email","hashed":false,"identity":"ada@example.org"},"badge":"https://accolade.example/badges/teamwork","verify":{"type":"hosted"},"issuedOn":"2026-01-01T00:00:00Z"}"#;

/// (file, text the message must contain to name what was found).
const UNSAFE: [(&str, &str); 16] = [
    ("script.svg", "the element <script>"),
    ("script-xhtml.svg", "the element <html:script>"),
    ("onload.svg", "the event handler attribute onload on <svg>"),
    (
        "onclick-upper-case.svg",
        "the event handler attribute ONCLICK on <rect>",
    ),
    ("foreign-object.svg", "the element <foreignObject>"),
    (
        "javascript-href.svg",
        "a script URL in the attribute href=\"javascript:alert(1)\" on <a>",
    ),
    (
        "javascript-xlink-href-tab.svg",
        "a script URL in the attribute xlink:href",
    ),
    (
        "external-image-href.svg",
        "the attribute href=\"https://tracker.example/pixel.png\" on <image>, a reference outside the image",
    ),
    (
        "external-use-xlink-prefix.svg",
        "the attribute x:href=\"http://other.example/sprites.svg#star\" on <use>",
    ),
    (
        "relative-image-href.svg",
        "the attribute href=\"logo.png\" on <image>",
    ),
    (
        "data-svg-image.svg",
        "the attribute href=\"data:image/svg+xml;base64,",
    ),
    (
        "xml-stylesheet.svg",
        "the processing instruction <?xml-stylesheet?>",
    ),
    ("css-import.svg", "an @import rule in a <style> element"),
    (
        "css-external-url.svg",
        "the reference url(https://tracker.example/paint.svg#g) in a <style> element",
    ),
    (
        "style-attribute-url.svg",
        "the reference url(//tracker.example/p.svg#g) in the attribute style on <rect>",
    ),
    (
        "animated-href.svg",
        "an animation of the attribute href on <set>",
    ),
];

const SAFE: [&str; 2] = ["safe-data-png-image.svg", "safe-local-references.svg"];

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/unsafe-svg")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn upload_check_rejects_each_kind() {
    for (name, found) in UNSAFE {
        let error = inspect_image(&fixture(name), &ImageLimits::default()).unwrap_err();
        let message = error.to_string();

        assert_eq!(error.code(), "unsafe_svg", "{name}: {message}");
        assert!(message.contains(found), "{name}: {message}");
        assert!(
            message.contains("remove it from the SVG, or upload the design as a PNG"),
            "{name}: {message}"
        );
    }
}

#[test]
fn filter_attribute_url_is_rejected() {
    let error = inspect_image(
        &fixture("filter-attribute-url.svg"),
        &ImageLimits::default(),
    )
    .unwrap_err();

    assert_eq!(error.code(), "unsafe_svg");
    assert!(
        error
            .to_string()
            .contains("url(http://tracker.example/f.svg#blur) in the attribute filter on <rect>"),
        "{error}"
    );
}

#[test]
fn baker_rejects_each_kind() {
    for (name, found) in UNSAFE {
        let error = bake(&fixture(name), BadgeFormat::V2, BakeInput::json(V2_JSON)).unwrap_err();

        assert_eq!(error.code(), "unsafe_svg", "{name}: {error}");
        assert!(error.to_string().contains(found), "{name}: {error}");
    }
}

#[test]
fn baker_rejects_unsafe_svg_for_both_versions() {
    let source = fixture("script.svg");
    for format in [BadgeFormat::V2, BadgeFormat::V3] {
        let jws = "eyJhbGciOiJSUzI1NiJ9.eyJpZCI6InVybjp1dWlkOjEifQ.c2ln";
        let error = svg::bake(&source, format, BakeInput::jws(jws)).unwrap_err();

        assert_eq!(error.code(), "unsafe_svg", "{format:?}");
    }
}

#[test]
fn external_entity_is_unsafe_xml() {
    let error =
        inspect_image(&fixture("external-entity.svg"), &ImageLimits::default()).unwrap_err();

    assert_eq!(error.code(), "unsafe_xml", "{error}");
    assert!(error.to_string().contains("entities"), "{error}");
}

#[test]
fn local_references_and_raster_data_urls_are_accepted() {
    for name in SAFE {
        let source = fixture(name);
        let info = inspect_image(&source, &ImageLimits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((info.width, info.height), (10, 10), "{name}");

        let baked = bake(&source, BadgeFormat::V2, BakeInput::json(V2_JSON))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let read = unbake(&baked).unwrap().unwrap();
        assert_eq!(read.text, V2_JSON, "{name}");
    }
}

#[test]
fn unbake_still_reads_a_badge_with_a_script() {
    // A verifier reads badges that other issuers baked. Reading never renders the image, so
    // the badge data is returned even when the image would be rejected for upload.
    let baked = concat!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="http://openbadges.org">"#,
        r#"<openbadges:assertion verify="https://other.example/assertions/1"></openbadges:assertion>"#,
        "<script>alert(1)</script></svg>"
    );

    let read = unbake(baked.as_bytes()).unwrap().unwrap();

    assert_eq!(
        read.verify_url.as_deref(),
        Some("https://other.example/assertions/1")
    );
}
