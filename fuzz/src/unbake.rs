//! Invariants of reading badge data from untrusted image bytes.

use accolade::baking::{
    self, BadgeFormat, ImageKind, ImageLimits, MAX_PAYLOAD_BYTES, PayloadKind, UnbakeError, Unbaked,
};

/// Limits that accept any size, so `inspect_image` checks only the structure.
pub const NO_LIMITS: ImageLimits = ImageLimits {
    max_bytes: usize::MAX,
    max_width: u32::MAX,
    max_height: u32::MAX,
};

/// Both Open Badges versions, in the order of [`check`]'s per-format results.
pub const FORMATS: [BadgeFormat; 2] = [BadgeFormat::V2, BadgeFormat::V3];

type UnbakeResult = Result<Option<Unbaked>, UnbakeError>;

fn unbake_as(kind: ImageKind, image: &[u8]) -> UnbakeResult {
    match kind {
        ImageKind::Png => baking::png::unbake(image),
        ImageKind::Svg => baking::svg::unbake(image),
    }
}

fn unbake_format_as(kind: ImageKind, image: &[u8], format: BadgeFormat) -> UnbakeResult {
    match kind {
        ImageKind::Png => baking::png::unbake_format(image, format),
        ImageKind::Svg => baking::svg::unbake_format(image, format),
    }
}

/// Reads `image` as `kind` with every unbake entry point and checks that they agree with each
/// other, with `sniff` and with `inspect_image`.
pub fn check(kind: ImageKind, image: &[u8]) {
    let first = unbake_as(kind, image);
    let by_format = FORMATS.map(|format| unbake_format_as(kind, image, format));

    // The dispatching entry points pick the same reader whenever sniff names this kind.
    let sniffed = baking::sniff(image);
    if sniffed == Some(kind) {
        assert_eq!(baking::unbake(image), first, "baking::unbake disagrees");
        for (format, result) in FORMATS.into_iter().zip(&by_format) {
            assert_eq!(
                &baking::unbake_format(image, format),
                result,
                "baking::unbake_format({format:?}) disagrees"
            );
        }
    }

    match &first {
        Ok(found) => {
            // Anything the reader accepts is recognised as this kind of image.
            assert_eq!(
                sniffed,
                Some(kind),
                "an image was read but sniff rejects it"
            );
            let inspected = baking::inspect_image(image, &NO_LIMITS);
            match found {
                None => {
                    for result in &by_format {
                        assert_eq!(result, &Ok(None), "unbake found nothing, unbake_format did");
                    }
                    if let Ok(info) = &inspected {
                        assert!(
                            info.badge_data.is_empty(),
                            "inspect sees badge data: {info:?}"
                        );
                    }
                }
                Some(unbaked) => {
                    check_unbaked(unbaked);
                    let index = format_index(unbaked.format);
                    assert_eq!(
                        by_format[index],
                        Ok(Some(unbaked.clone())),
                        "unbake_format of the format that unbake read gives another result"
                    );
                    if let Ok(info) = &inspected {
                        assert!(
                            info.badge_data.contains(&unbaked.format),
                            "inspect misses the {:?} data that unbake read: {info:?}",
                            unbaked.format
                        );
                    }
                }
            }
            // A PNG that unbake reads is always structurally valid, so inspect passes. An SVG
            // may still fail inspect for unsafe content, which unbake reads past.
            if kind == ImageKind::Png {
                assert!(
                    inspected.is_ok(),
                    "unbake read a PNG that inspect rejects: {inspected:?}"
                );
            }
        }
        Err(UnbakeError::Image(error)) => {
            // An unreadable image is unreadable whichever format is asked for.
            for result in &by_format {
                assert_eq!(
                    result,
                    &Err(UnbakeError::Image(error.clone())),
                    "unbake_format reads an image that unbake rejects"
                );
            }
        }
        Err(_) => {}
    }
    for result in by_format.iter().flatten().flatten() {
        check_unbaked(result);
    }
}

fn format_index(format: BadgeFormat) -> usize {
    FORMATS
        .iter()
        .position(|candidate| *candidate == format)
        .unwrap_or_default()
}

/// Checks the promises of [`Unbaked`] on one result.
fn check_unbaked(unbaked: &Unbaked) {
    assert!(
        unbaked.text.len() <= MAX_PAYLOAD_BYTES,
        "the text is larger than MAX_PAYLOAD_BYTES"
    );
    match unbaked.kind {
        PayloadKind::Url => {
            assert_eq!(
                unbaked.format,
                BadgeFormat::V2,
                "a URL outside Open Badges 2.0"
            );
            assert_eq!(unbaked.verify_url.as_deref(), Some(unbaked.text.as_str()));
        }
        PayloadKind::Jws => {
            assert_eq!(
                unbaked.text.trim(),
                unbaked.text,
                "a JWS with surrounding whitespace"
            );
            assert_eq!(
                unbaked.text.split('.').count(),
                3,
                "a JWS without three parts"
            );
        }
        PayloadKind::Json => {
            let parsed = serde_json::from_str::<serde_json::Value>(&unbaked.text);
            assert!(
                parsed.as_ref().is_ok_and(serde_json::Value::is_object),
                "JSON data that is not a JSON object: {parsed:?}"
            );
        }
    }
}
