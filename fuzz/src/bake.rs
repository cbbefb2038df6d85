//! The bake round trip: bake a valid payload into untrusted image bytes, then read it back.
//!
//! A fuzz input is laid out as
//!
//! | bytes | meaning |
//! |---|---|
//! | 0 | the payload shape, see [`Shape`] (low 3 bits) and the JSON layout (high bits) |
//! | 1 | `n`, the length of the filler |
//! | 2 .. 2 + n | the filler, read as lossy UTF-8 and put into the payload's `id` and `name` |
//! | the rest | the image |
//!
//! so a seed is any PNG or SVG file with two bytes in front of it (`\x00\x00` bakes the
//! plain Open Badges 2.0 assertion).

use accolade::baking::{
    self, BadgeFormat, BakeError, BakeInput, ImageKind, PayloadKind, UnbakeError, UnbakeWarning,
    Unbaked,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::unbake::{self, NO_LIMITS};

/// The origin of every id and URL in the payloads.
const ORIGIN: &str = "https://issuer.example";

/// The kind of payload a bake writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Open Badges 2.0 assertion JSON; in an SVG its `id` is the hosted URL.
    AssertionJson,
    /// Open Badges 3.0 credential JSON.
    CredentialJson,
    /// A compact JWS of a signed 2.0 assertion.
    AssertionJws,
    /// A VC-JWT of a 3.0 credential.
    CredentialJws,
    /// 2.0 assertion JSON with an explicit assertion URL (`BakeInput::hosted`).
    HostedAssertion,
}

impl Shape {
    fn from_byte(byte: u8) -> Shape {
        match byte % 5 {
            0 => Shape::AssertionJson,
            1 => Shape::CredentialJson,
            2 => Shape::AssertionJws,
            3 => Shape::CredentialJws,
            _ => Shape::HostedAssertion,
        }
    }

    fn format(self) -> BadgeFormat {
        match self {
            Shape::CredentialJson | Shape::CredentialJws => BadgeFormat::V3,
            _ => BadgeFormat::V2,
        }
    }
}

/// A payload built from the fuzz input, with what an unbake must return for it.
#[derive(Debug)]
struct Case {
    format: BadgeFormat,
    text: String,
    is_jws: bool,
    assertion_url: Option<String>,
    /// The assertion's `id`, for the SVG `verify` attribute of a 2.0 bake.
    id: Option<String>,
}

impl Case {
    fn input(&self) -> BakeInput<'_> {
        let payload = if self.is_jws {
            BakeInput::jws(&self.text)
        } else {
            BakeInput::json(&self.text)
        };
        BakeInput {
            assertion_url: self.assertion_url.as_deref(),
            ..payload
        }
    }
}

fn assertion(id: &str, name: &str) -> Value {
    json!({
        "@context": "https://w3id.org/openbadges/v2",
        "type": "Assertion",
        "id": id,
        "recipient": {"type": "email", "hashed": false, "identity": "alice@example.org"},
        "badge": format!("{ORIGIN}/badges/1"),
        "verification": {"type": "HostedBadge"},
        "issuedOn": "2024-11-08T10:33:30Z",
        "evidence": {"narrative": name}
    })
}

fn credential(id: &str, name: &str) -> Value {
    json!({
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
        ],
        "id": id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": format!("{ORIGIN}/issuers/1"), "type": ["Profile"], "name": "Issuer"},
        "name": name,
        "validFrom": "2024-11-08T10:33:30Z",
        "credentialSubject": {"type": ["AchievementSubject"]}
    })
}

/// Builds a compact JWS with a made-up signature. Baking checks a JWS's structure but not
/// its signature, so the signature need not be valid.
fn compact_jws(payload: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(payload.to_string());
    format!("{header}.{payload}.c2lnbmF0dXJl")
}

/// Lays out JSON with the line break and surrounding whitespace chosen by `layout` (0 to 31),
/// so CR, CRLF and leading whitespace reach the bakers.
fn lay_out(value: &Value, layout: u8) -> String {
    let line_break = ["", "\n", "\r\n", "\r"][usize::from(layout & 3)];
    let body = if line_break.is_empty() {
        value.to_string()
    } else {
        serde_json::to_string_pretty(value)
            .unwrap_or_default()
            .replace('\n', line_break)
    };
    let edge = ["", " ", "\r\n", "\t\r"][usize::from((layout >> 2) & 3)];
    if layout & 16 == 0 {
        format!("{edge}{body}")
    } else {
        format!("{body}{edge}")
    }
}

/// Splits a fuzz input into the payload case and the image bytes.
fn split(data: &[u8]) -> Option<(Case, &[u8])> {
    let (&selector, rest) = data.split_first()?;
    let (&filler_len, rest) = rest.split_first()?;
    let filler_len = usize::from(filler_len).min(rest.len());
    let (filler, image) = rest.split_at(filler_len);
    let filler = String::from_utf8_lossy(filler);
    let shape = Shape::from_byte(selector);
    let layout = selector >> 3;

    let assertion_id = format!("{ORIGIN}/assertions/{filler}");
    let credential_id = format!("urn:uuid:{filler}");
    let (text, is_jws, id) = match shape {
        Shape::AssertionJson => (
            lay_out(&assertion(&assertion_id, &filler), layout),
            false,
            Some(assertion_id.clone()),
        ),
        Shape::HostedAssertion => {
            let id = format!("{ORIGIN}/assertions/1");
            (lay_out(&assertion(&id, &filler), layout), false, Some(id))
        }
        Shape::CredentialJson => (
            lay_out(&credential(&credential_id, &filler), layout),
            false,
            None,
        ),
        Shape::AssertionJws => {
            let mut signed = assertion(&assertion_id, &filler);
            signed["verification"] = json!({"type": "SignedBadge"});
            (compact_jws(&signed), true, None)
        }
        Shape::CredentialJws => (
            compact_jws(&credential(&credential_id, &filler)),
            true,
            None,
        ),
    };
    let assertion_url = (shape == Shape::HostedAssertion).then_some(assertion_id);
    let case = Case {
        format: shape.format(),
        text,
        is_jws,
        assertion_url,
        id,
    };
    Some((case, image))
}

/// The parts of an unbake result that a bake of the other format must not change: the
/// text, kind and URL of the data, or the error code. Warnings and error messages may
/// change, because they name byte offsets and the other data present.
fn summary(
    result: &Result<Option<Unbaked>, UnbakeError>,
) -> Result<Option<(String, PayloadKind, Option<String>)>, &'static str> {
    match result {
        Ok(found) => Ok(found.as_ref().map(|unbaked| {
            (
                unbaked.text.clone(),
                unbaked.kind,
                unbaked.verify_url.clone(),
            )
        })),
        Err(error) => Err(error.code()),
    }
}

fn bake_as(kind: ImageKind, image: &[u8], case: &Case) -> Result<Vec<u8>, BakeError> {
    match kind {
        ImageKind::Png => baking::png::bake(image, case.format, case.input()),
        ImageKind::Svg => baking::svg::bake(image, case.format, case.input()),
    }
}

fn unbake_format_as(
    kind: ImageKind,
    image: &[u8],
    format: BadgeFormat,
) -> Result<Option<Unbaked>, UnbakeError> {
    match kind {
        ImageKind::Png => baking::png::unbake_format(image, format),
        ImageKind::Svg => baking::svg::unbake_format(image, format),
    }
}

/// Bakes the payload described by `data` into the image in `data` as `kind`, and when the
/// bake succeeds checks the round trip, idempotence and that the other format's data is kept.
pub fn check(kind: ImageKind, data: &[u8]) {
    let Some((case, image)) = split(data) else {
        return;
    };
    let Ok(baked) = bake_as(kind, image, &case) else {
        return;
    };

    assert_eq!(
        baking::sniff(&baked),
        Some(kind),
        "sniff rejects a baked image"
    );
    let dispatched = baking::bake(image, case.format, case.input());
    assert_eq!(dispatched.as_ref(), Ok(&baked), "baking::bake disagrees");

    // The payload reads back exactly, from the element or chunk of the baked format.
    let unbaked = baking::unbake(&baked)
        .unwrap_or_else(|error| panic!("the baked image does not unbake: {error}"))
        .unwrap_or_else(|| panic!("the baked image carries no badge data"));
    assert_eq!(unbaked.format, case.format, "unbake read the other format");
    assert_eq!(unbaked.text, case.text, "the payload does not round-trip");
    let expected_kind = if case.is_jws {
        PayloadKind::Jws
    } else {
        PayloadKind::Json
    };
    assert_eq!(unbaked.kind, expected_kind);
    let expected_url = match (kind, case.format, case.is_jws) {
        (ImageKind::Svg, BadgeFormat::V2, false) => case.assertion_url.clone().or(case.id.clone()),
        _ => None,
    };
    assert_eq!(
        unbaked.verify_url, expected_url,
        "the verify URL does not round-trip"
    );
    let other_present = UnbakeWarning::OtherFormatPresent {
        format: case.format.other(),
    };
    assert!(
        unbaked
            .warnings
            .iter()
            .all(|warning| *warning == other_present),
        "unexpected warnings on a fresh bake: {:?}",
        unbaked.warnings
    );
    assert_eq!(
        unbake_format_as(kind, &baked, case.format),
        Ok(Some(unbaked.clone()))
    );

    let info = baking::inspect_image(&baked, &NO_LIMITS)
        .unwrap_or_else(|error| panic!("inspect_image rejects a baked image: {error}"));
    assert!(info.badge_data.contains(&case.format), "{info:?}");

    // Baking the output again with the same payload gives the same bytes.
    let again = bake_as(kind, &baked, &case);
    assert_eq!(
        again.as_ref(),
        Ok(&baked),
        "a second bake changes the image"
    );

    // The other version's data is kept as it was.
    let other = case.format.other();
    assert_eq!(
        summary(&unbake_format_as(kind, image, other)),
        summary(&unbake_format_as(kind, &baked, other)),
        "the bake changed the {other:?} data"
    );

    unbake::check(kind, &baked);
}
