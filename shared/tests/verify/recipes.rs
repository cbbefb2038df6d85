//! How each file in `fixtures/verify/` is made. `fixtures_match_their_recipes` fails when a
//! file and its recipe differ; `write_fixtures` (ignored) writes them again. RS256
//! signatures are deterministic, so the signed fixtures are reproducible.

use flate2::Compression;
use flate2::write::ZlibEncoder;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use std::io::Write;

use super::world::{self, TestKey};

/// P0: the minimal 1x1 8-bit greyscale PNG (67 bytes).
pub const P0: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b,
    0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x01, 0x48, 0xaf, 0xa4, 0x71, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];
/// The end of P0's IHDR chunk: signature (8) + length, type, 13 bytes of data, CRC (25).
const AFTER_IHDR: usize = 33;

/// A PNG chunk: length, type, data, CRC-32 over type and data.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(
        &u32::try_from(data.len())
            .expect("small chunk")
            .to_be_bytes(),
    );
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out
}

/// An iTXt chunk's data, compressed with zlib when `compressed`.
fn itxt(keyword: &str, compressed: bool, language: &str, translated: &str, text: &str) -> Vec<u8> {
    let mut data = Vec::new();
    data.extend_from_slice(keyword.as_bytes());
    data.push(0);
    data.push(u8::from(compressed));
    data.push(0);
    data.extend_from_slice(language.as_bytes());
    data.push(0);
    data.extend_from_slice(translated.as_bytes());
    data.push(0);
    if compressed {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(text.as_bytes()).expect("zlib");
        data.extend_from_slice(&encoder.finish().expect("zlib"));
    } else {
        data.extend_from_slice(text.as_bytes());
    }
    data
}

/// P0 with one more chunk right after IHDR.
fn p0_with(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = P0[..AFTER_IHDR].to_vec();
    out.extend(chunk(kind, data));
    out.extend_from_slice(&P0[AFTER_IHDR..]);
    out
}

fn svg(namespaces: &str, body: &str) -> Vec<u8> {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" {namespaces} width=\"10\" height=\"10\">{body}<rect width=\"10\" height=\"10\" fill=\"#2a6\"/></svg>\n"
    )
    .into_bytes()
}

fn text(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON") + "\n"
}

/// The hosted assertion that the world serves at `/assertions/valid`.
pub fn valid_hosted() -> Value {
    world::hosted_assertion(
        &format!("{}/assertions/valid", world::ORIGIN),
        json!("2024-11-08T10:33:30Z"),
    )
}

/// The world's valid VC-JWT.
pub fn valid_credential_jwt(k1: &TestKey) -> String {
    let credential = world::credential("urn:uuid:c0ffee00-0000-4000-8000-000000000001");
    world::compact(
        &world::vc_jwt_header(),
        &world::vc_jwt_payload(&credential),
        |input| k1.rs256(input),
    )
}

/// Every fixture file, by name under `fixtures/verify/`.
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    let k1 = TestKey::load("k1");
    let k2 = TestKey::load("k2");
    let hosted_json = text(&valid_hosted());
    let hosted_compact = valid_hosted().to_string();
    let hosted_url = format!("{}/assertions/valid", world::ORIGIN);
    let credential_jwt = valid_credential_jwt(&k1);
    let credential_json = text(&world::credential(
        "urn:uuid:c0ffee00-0000-4000-8000-000000000002",
    ));

    let signed =
        |id: &str, badge: &str, creator: Option<&str>| world::signed_assertion(id, badge, creator);
    let rs256_header = json!({"alg": "RS256"});
    let signed_a = world::compact(
        &rs256_header,
        &signed(
            "urn:uuid:51a1ed00-0000-4000-8000-00000000000a",
            world::BADGE_1,
            None,
        ),
        |input| k2.rs256(input),
    );
    let signed_b = world::compact(
        &rs256_header,
        &signed(
            "urn:uuid:51a1ed00-0000-4000-8000-00000000000b",
            world::BADGE_1,
            Some(world::KEY_1),
        ),
        |input| k2.rs256(input),
    );
    let hs256_secret = EncodingKey::from_secret(k1.public_pem().as_bytes()).expect("HMAC key");
    let signed_c = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &signed(
            "urn:uuid:51a1ed00-0000-4000-8000-00000000000c",
            world::BADGE_1,
            Some(world::KEY_1),
        ),
        &hs256_secret,
    )
    .expect("HS256");
    let signed_d = world::compact(
        &json!({"alg": "none"}),
        &signed(
            "urn:uuid:51a1ed00-0000-4000-8000-00000000000d",
            world::BADGE_1,
            Some(world::KEY_1),
        ),
        |_| String::new(),
    );
    let signed_e = world::compact(
        &json!({"alg": "rs256", "typ": "JWT"}),
        &signed(
            "urn:uuid:51a1ed00-0000-4000-8000-00000000000e",
            world::BADGE_1,
            Some(world::KEY_1),
        ),
        |input| k1.rs256(input),
    );
    let signed_f = world::compact(
        &rs256_header,
        &signed(
            "urn:uuid:51a1ed00-0000-4000-8000-00000000000f",
            world::BADGE_2,
            Some(world::KEY_FOREIGN),
        ),
        |input| k1.rs256(input),
    );

    let timestamped = |name: &str, issued_on: Value| {
        text(&world::hosted_assertion(
            &format!("{}/assertions/{name}", world::ORIGIN),
            issued_on,
        ))
        .into_bytes()
    };

    let ob2_svg_namespace = "xmlns:openbadges=\"http://openbadges.org\"";
    vec![
        // Open Badges 2.0 data in images.
        ("bug02-a-bytes.png", vec![1, 2, 3]),
        ("bug02-b-jpeg.png", vec![
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00,
            0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
        ]),
        ("bug02-c-html.png", b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>\n".to_vec()),
        ("bug02-d-no-iend.png", P0[..P0.len() - 12].to_vec()),
        ("bug02-e-empty.png", Vec::new()),
        ("bug02-f-empty-object.png", p0_with(b"iTXt", &itxt("openbadges", false, "", "", "{\r\n}\r\n"))),
        ("plain.png", P0.to_vec()),
        ("bug04-a-compressed-en.png", p0_with(b"iTXt", &itxt("openbadges", true, "en", "Open Badge", &hosted_compact))),
        ("bug04-b-en-gb.png", p0_with(b"iTXt", &itxt("openbadges", false, "en-GB", "", &hosted_compact))),
        ("bug04-c-credential-compressed.png", p0_with(b"iTXt", &itxt("openbadgecredential", true, "", "", &credential_jwt))),
        ("bug07-a-ob-prefix.svg", svg(
            "xmlns:ob=\"http://openbadges.org\"",
            &format!("<ob:assertion verify=\"{hosted_url}\"><![CDATA[{hosted_compact}]]></ob:assertion>"),
        )),
        ("bug07-b-after-title.svg", svg(
            ob2_svg_namespace,
            &format!("<!-- made by hand -->\n  <title>Badge</title>\n  <openbadges:assertion verify=\"{hosted_url}\"><![CDATA[{hosted_compact}]]></openbadges:assertion>"),
        )),
        ("bug07-c-imposter.svg", svg(
            "xmlns:openbadges=\"urn:example:not-ob\"",
            &format!("<openbadges:assertion verify=\"{hosted_url}\"><![CDATA[{hosted_compact}]]></openbadges:assertion>"),
        )),
        ("bug07-d-credential-cdata.svg", svg(
            "xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"",
            &format!("<openbadges:credential><![CDATA[{credential_json}]]></openbadges:credential>"),
        )),
        ("bug07-e-assertion-as-credential.svg", svg(
            "xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"",
            &format!("<openbadges:credential><![CDATA[{hosted_compact}]]></openbadges:credential>"),
        )),
        // JSON inputs.
        ("empty-object.json", b"{}\n".to_vec()),
        ("bug10-hosted.json", hosted_json.clone().into_bytes()),
        ("bug12-date-only.json", timestamped("date-only", json!("2024-11-08"))),
        ("bug12-no-zone.json", timestamped("no-zone", json!("2024-11-08T10:33:30.649696"))),
        ("bug12-epoch.json", timestamped("epoch", json!(1_731_062_010))),
        ("bug12-plus0530.json", timestamped("plus0530", json!("2024-11-08T16:03:30+0530"))),
        ("bug12-unicode-minus.json", timestamped("unicode-minus", json!("2024-11-08T05:33:30\u{2212}05:00"))),
        ("bug12-impossible.json", timestamped("impossible", json!("2024-02-30T00:00:00Z"))),
        ("bug14-a-410.json", text(&world::hosted_assertion(world::GONE, json!("2024-11-08T10:33:30Z"))).into_bytes()),
        ("bug14-b-410-empty.json", text(&world::hosted_assertion(world::GONE_EMPTY, json!("2024-11-08T10:33:30Z"))).into_bytes()),
        ("bug14-c-200-revoked.json", text(&world::hosted_assertion(world::REVOKED_200, json!("2024-11-08T10:33:30Z"))).into_bytes()),
        ("bug14-d-404.json", text(&world::hosted_assertion(world::MISSING, json!("2024-11-08T10:33:30Z"))).into_bytes()),
        ("bug14-e-503.json", text(&world::hosted_assertion(world::UNAVAILABLE, json!("2024-11-08T10:33:30Z"))).into_bytes()),
        // Signed Open Badges 2.0.
        ("bug16-a-no-creator.jws", signed_a.into_bytes()),
        ("bug16-b-creator-mismatch.jws", signed_b.into_bytes()),
        ("bug16-c-hs256-public-key.jws", signed_c.into_bytes()),
        ("bug16-d-alg-none.jws", signed_d.into_bytes()),
        ("bug16-e-lower-case-rs256.jws", signed_e.into_bytes()),
        ("bug16-f-owner-mismatch.jws", signed_f.into_bytes()),
        // Open Badges 3.0.
        ("credential.jwt", credential_jwt.into_bytes()),
    ]
}
