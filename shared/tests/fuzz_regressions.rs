//! Inputs found by the fuzz targets in `fuzz/`, kept as fixtures in `fixtures/fuzz/`.

use accolade::baking::{self, BadgeFormat, BakeInput, ImageKind, ImageLimits};
use accolade::domain::{HttpsUrl, Timestamp};
use accolade::wire;

const NO_LIMITS: ImageLimits = ImageLimits {
    max_bytes: usize::MAX,
    max_width: u32::MAX,
    max_height: u32::MAX,
};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

const CREDENTIAL: &str =
    r#"{"id":"urn:uuid:1","type":["VerifiableCredential","OpenBadgeCredential"]}"#;

/// A DOCTYPE whose quoted literal is never closed. quick-xml ends it at the first `>` but the
/// sniffer skips the quotes and finds no SVG, so the two must not both accept it: every SVG
/// entry point rejects it as malformed, and `sniff` does not recognise it.
#[test]
fn doctype_with_unclosed_quote() {
    let svg = fixture("svg-doctype-unclosed-quote.svg");

    let bake = baking::svg::bake(&svg, BadgeFormat::V3, BakeInput::json(CREDENTIAL));
    assert_eq!(bake.unwrap_err().code(), "malformed_svg");
    let unbake = baking::svg::unbake(&svg);
    assert_eq!(unbake.unwrap_err().code(), "malformed_svg");
    assert_eq!(baking::sniff(&svg), None);
}

/// quick-xml ends a DOCTYPE at the first `>` that balances its `<`s, even inside a quoted
/// literal, so such a DOCTYPE is rejected rather than read two ways.
#[test]
fn doctype_literal_containing_gt() {
    let svg = br#"<!DOCTYPE svg SYSTEM "a>b"><svg xmlns="http://www.w3.org/2000/svg"/>"#;

    assert_eq!(baking::sniff(svg), Some(ImageKind::Svg));
    let bake = baking::svg::bake(svg, BadgeFormat::V3, BakeInput::json(CREDENTIAL));
    assert_eq!(bake.unwrap_err().code(), "malformed_svg");
    let inspect = baking::inspect_image(svg, &ImageLimits::default());
    assert_eq!(inspect.unwrap_err().code(), "malformed_svg");
}

#[test]
fn doctype_with_closed_literals_bakes() {
    let svg = br#"<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg"/>"#;

    let baked = baking::svg::bake(svg, BadgeFormat::V3, BakeInput::json(CREDENTIAL))
        .expect("a DOCTYPE with closed literals bakes");
    assert_eq!(baking::sniff(&baked), Some(ImageKind::Svg));
    let unbaked = baking::svg::unbake(&baked).unwrap().unwrap();
    assert_eq!(unbaked.text, CREDENTIAL);
}

/// quick-xml drops a leading byte order mark without counting it in its positions, so after
/// the one the decoder strips, a second one shifted the offsets a rebake spliced at and the
/// output was malformed. A second byte order mark is rejected.
#[test]
fn svg_with_two_byte_order_marks() {
    let svg = fixture("svg-double-bom.svg");

    assert_eq!(
        baking::svg::unbake(&svg).unwrap_err().code(),
        "malformed_svg"
    );
    let bake = baking::svg::bake(&svg, BadgeFormat::V3, BakeInput::json(CREDENTIAL));
    assert_eq!(bake.unwrap_err().code(), "malformed_svg");
    assert_eq!(baking::sniff(&svg), None);
}

/// A hosted assertion URL that contains `url(` (or `javascript:`) is written to the badge
/// element's `verify` attribute. The safety check treated it as a CSS reference, so the baked
/// image failed `inspect_image`. The `verify` attribute of a badge element is badge data.
#[test]
fn verify_attribute_is_not_svg_content() {
    let image = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/baking/imposter-namespace.svg"),
    )
    .unwrap();
    let assertion = String::from_utf8(fixture("assertion-id-with-url-call.json")).unwrap();
    let cases = [
        BakeInput::json(&assertion),
        BakeInput::hosted(&assertion, "https://issuer.example/javascript:alert(1)"),
    ];
    for input in cases {
        let baked = baking::svg::bake(&image, BadgeFormat::V2, input).expect("the bake succeeds");

        let info = baking::inspect_image(&baked, &NO_LIMITS).expect("the baked image passes");
        assert_eq!(info.badge_data, vec![BadgeFormat::V2]);
        let unbaked = baking::svg::unbake(&baked).unwrap().unwrap();
        assert_eq!(unbaked.text, assertion);
    }
}

/// A `<` inside a DOCTYPE's quoted literal made quick-xml skip the next `>` while the sniffer
/// stopped there, so again `svg::bake` returned an image that `sniff` did not recognise.
#[test]
fn doctype_containing_lt() {
    let svg = fixture("svg-doctype-with-lt.svg");

    let bake = baking::svg::bake(&svg, BadgeFormat::V3, BakeInput::json(CREDENTIAL));
    assert_eq!(bake.unwrap_err().code(), "malformed_svg");
    let inline = br#"<!DOCTYPE svg SYSTEM "<a>"><svg xmlns="http://www.w3.org/2000/svg"/>"#;
    let bake = baking::svg::bake(inline, BadgeFormat::V3, BakeInput::json(CREDENTIAL));
    assert_eq!(bake.unwrap_err().code(), "malformed_svg");
}

/// quick-xml reads `<!DOcTYPE` as a DOCTYPE but the sniffer, like XML, takes only capitals, so
/// `svg::bake` returned an image that `sniff` did not recognise.
#[test]
fn doctype_keyword_not_in_capitals() {
    let svg = fixture("svg-doctype-lower-case.svg");

    let bake = baking::svg::bake(&svg, BadgeFormat::V3, BakeInput::json(CREDENTIAL));
    assert_eq!(bake.unwrap_err().code(), "malformed_svg");
    let inline = br#"<!doctype svg><svg xmlns="http://www.w3.org/2000/svg"/>"#;
    assert_eq!(baking::sniff(inline), None);
    let unbake = baking::svg::unbake(inline);
    assert_eq!(unbake.unwrap_err().code(), "malformed_svg");
}

/// `HttpsUrl::parse` limited the input to 2,000 characters but stored the percent-encoded
/// form, which can be three times as long, so the API stored a URL that it rejected when a
/// client sent it back. The `api_json` target found it. The limit now applies to both.
#[test]
fn url_longer_once_percent_encoded() {
    let found = String::from_utf8(fixture("url-longer-once-percent-encoded.txt")).unwrap();
    assert!(found.trim().len() <= HttpsUrl::MAX_LEN);

    let error = wire::url("evidence[0].url", &found).unwrap_err();
    assert_eq!(error.code, "invalid_field");
    assert_eq!(error.details["field"], "evidence[0].url");
    assert!(
        error.message.contains("percent-encoded"),
        "{}",
        error.message
    );
}

#[test]
fn url_limit_counts_encoded_form() {
    // "https://a.example/" is 18 characters and each `ü` becomes the 6 characters `%C3%BC`.
    let at_limit = format!("https://a.example/{}ab", "\u{fc}".repeat(330));
    let over_limit = format!("https://a.example/{}abc", "\u{fc}".repeat(330));

    let accepted = HttpsUrl::parse("url", &at_limit).expect("2,000 characters are allowed");
    assert_eq!(accepted.as_str().len(), HttpsUrl::MAX_LEN);
    assert_eq!(HttpsUrl::parse("url", accepted.as_str()), Ok(accepted));
    let error = HttpsUrl::parse("url", &over_limit).unwrap_err();
    assert!(error.reason.contains("2001 characters"), "{error}");
}

/// An offset could carry the last day of year 9999 into year 10000 in UTC, which RFC 3339
/// cannot write, so `to_rfc3339` wrote 1970-01-01 instead and an award's `expires_at` read
/// back as long expired. The `api_json` target's round-trip check catches it, but its
/// 10-minute run did not reach the input.
#[test]
fn timestamp_outside_years_0000_to_9999() {
    for value in [
        "9999-12-31T23:59:59-00:01",
        "9999-12-31T23:59:59-23:59",
        "0000-01-01T00:00:00+00:01",
    ] {
        assert!(
            Timestamp::parse_rfc3339(value).is_err(),
            "{value} is accepted"
        );
    }

    let last = Timestamp::parse_rfc3339("9999-12-31T23:59:59Z").expect("the last second parses");
    assert_eq!(last.to_rfc3339(), "9999-12-31T23:59:59Z");
    let first = Timestamp::parse_rfc3339("0000-01-01T00:00:00Z").expect("the first second parses");
    assert_eq!(first.to_rfc3339(), "0000-01-01T00:00:00Z");
}

#[test]
fn expires_at_in_year_10000_rejected() {
    let body = serde_json::json!({
        "achievement_id": "6f1c2a9e-0b7d-4c3e-9a51-2d8e4f6a7b90",
        "recipient": {"email": "a@example.org"},
        "expires_at": "9999-12-31T23:59:59-23:59"
    });

    let error =
        wire::parse_new_award(&body, Timestamp::from_unix_seconds(1_750_000_000)).unwrap_err();
    assert_eq!(error.code, "invalid_field");
    assert_eq!(error.details["field"], "expires_at");
}
