//! Bad-input cases that `baking.rs` does not cover with their exact input: the Open Badges 3.0
//! and upload variants of a source image that already carries two payloads, and a PNG with
//! large dimensions or a large file size.

use accolade::baking::{BadgeFormat, BakeInput, ImageLimits, bake, inspect_image, unbake};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

const P0_BASE64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==";

const V3_JSON: &str = r#"{"@context":["https://www.w3.org/ns/credentials/v2","https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],"id":"urn:uuid:3f1b1c9e-2c55-4a0e-9f65-0c7d7a1d2b11","type":["VerifiableCredential","OpenBadgeCredential"],"issuer":{"id":"https://issuer.example/issuer","type":["Profile"],"name":"Issuer"},"validFrom":"2026-01-01T00:00:00Z","credentialSubject":{"type":["AchievementSubject"],"achievement":{"id":"https://issuer.example/achievements/333","type":["Achievement"],"name":"Teamwork","description":"Works well with others.","criteria":{"narrative":"Peer nominated."}}}}"#;

fn p0() -> Vec<u8> {
    STANDARD.decode(P0_BASE64).unwrap()
}

/// CRC-32 (IEEE), bit by bit; independent of the crate's.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[&kind[..], data].concat()).to_be_bytes());
    out
}

/// (type, data) of every chunk, checking each CRC.
fn chunks(png: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 8;
    while at < png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind = &png[at + 4..at + 8];
        let data = &png[at + 8..at + 8 + len];
        let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
        assert_eq!(crc, crc32(&[kind, data].concat()), "CRC of chunk at {at}");
        out.push((String::from_utf8(kind.to_vec()).unwrap(), data.to_vec()));
        at += 12 + len;
    }
    out
}

/// PNG-A for `keyword`: P0 with a `tEXt` and an `iTXt` chunk of that keyword between IHDR
/// and IDAT, holding old payloads of another issuer.
fn png_a(keyword: &str) -> Vec<u8> {
    let p = p0();
    let text = [
        keyword.as_bytes(),
        b"\0https://old-issuer.example/assertions/111",
    ]
    .concat();
    let itxt = [
        keyword.as_bytes(),
        b"\0\0\0\0\0{\"id\":\"https://old-issuer.example/assertions/222\"}",
    ]
    .concat();
    [
        &p[..33],
        &chunk(b"tEXt", &text),
        &chunk(b"iTXt", &itxt),
        &p[33..],
    ]
    .concat()
}

#[test]
fn credential_bake_replaces_both_stale_credential_chunks() {
    let source = png_a("openbadgecredential");

    let out = bake(&source, BadgeFormat::V3, BakeInput::json(V3_JSON)).unwrap();

    let kinds: Vec<String> = chunks(&out).into_iter().map(|(kind, _)| kind).collect();
    assert_eq!(kinds, ["IHDR", "iTXt", "IDAT", "IEND"]);
    let itxt = &chunks(&out)[1].1;
    assert_eq!(
        itxt,
        &[b"openbadgecredential\0\0\0\0\0", V3_JSON.as_bytes()].concat()
    );
    assert_eq!(chunks(&out)[2], chunks(&p0())[1], "IDAT is byte-identical");
    let read = unbake(&out).unwrap().unwrap();
    assert_eq!(read.format, BadgeFormat::V3);
    assert_eq!(read.text, V3_JSON);
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    let again = bake(&out, BadgeFormat::V3, BakeInput::json(V3_JSON)).unwrap();
    assert_eq!(again, out, "baking again gives identical bytes");
}

#[test]
fn prebaked_class_image_is_rejected_for_upload() {
    for (keyword, format) in [
        ("openbadges", BadgeFormat::V2),
        ("openbadgecredential", BadgeFormat::V3),
    ] {
        let info = inspect_image(&png_a(keyword), &ImageLimits::default()).unwrap();
        assert_eq!(info.badge_data, vec![format], "{keyword}");

        let error = info.require_unbaked().unwrap_err();
        assert_eq!(error.code(), "image_already_baked", "{keyword}");
        assert!(
            error.to_string().contains("upload the plain badge design"),
            "{error}"
        );
    }
}

/// A structurally valid 8-bit RGBA PNG header of `width` x `height` with P0's tiny IDAT (the
/// pixels are never decoded), plus a private ancillary chunk of `padding` bytes.
fn rgba_png(width: u32, height: u32, padding: usize) -> Vec<u8> {
    let p = p0();
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut out = p[..8].to_vec();
    out.extend(chunk(b"IHDR", &ihdr));
    if padding > 0 {
        out.extend(chunk(b"prVt", &vec![7; padding]));
    }
    out.extend_from_slice(&p[33..]);
    out
}

#[test]
fn large_png_is_spliced_without_decoding() {
    // 4000 x 4000 RGBA would be 64 MB decoded; the baker only copies chunks.
    let source = rgba_png(4000, 4000, 0);
    let info = inspect_image(&source, &ImageLimits::default()).unwrap();
    assert_eq!((info.width, info.height), (4000, 4000));

    let out = bake(&source, BadgeFormat::V3, BakeInput::json(V3_JSON)).unwrap();

    let kinds: Vec<String> = chunks(&out).into_iter().map(|(kind, _)| kind).collect();
    assert_eq!(kinds, ["IHDR", "iTXt", "IDAT", "IEND"]);
    assert_eq!(unbake(&out).unwrap().unwrap().text, V3_JSON);
}

#[test]
fn png_of_30_mb_is_rejected_for_upload_and_baked_in_linear_memory() {
    let source = rgba_png(64, 64, 30 * 1024 * 1024);

    let error = inspect_image(&source, &ImageLimits::default()).unwrap_err();
    assert_eq!(error.code(), "image_too_large");
    assert!(
        error
            .to_string()
            .contains("more than the limit of 1048576 bytes"),
        "{error}"
    );

    // A source from elsewhere (already in storage) is still baked by splicing: the output is
    // the input plus one chunk.
    let out = bake(&source, BadgeFormat::V3, BakeInput::json(V3_JSON)).unwrap();
    let itxt_len = 12 + "openbadgecredential".len() + 5 + V3_JSON.len();
    assert_eq!(out.len(), source.len() + itxt_len);
}

const PLAIN_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"120\">\n  <circle cx=\"60\" cy=\"60\" r=\"50\"/>\n</svg>\n";

#[test]
fn cdata_terminator_in_narrative_and_proof_round_trips() {
    let assertion = r#"{"@context":"https://w3id.org/openbadges/v2","type":"Assertion","id":"https://issuer.example/assertions/333","recipient":{"type":"email","hashed":true,"salt":"pepper42","identity":"sha256$67daac04f8729a3e9b9074c030271f7378d54f4dd121a1836faa5c9542cb40ff"},"badge":"https://issuer.example/badges/1","verify":{"type":"hosted"},"issuedOn":"2024-11-08T10:33:30Z","evidence":[{"narrative":"Solved the a[b[c]]> puzzle"}]}"#;
    let mut credential: serde_json::Value = serde_json::from_str(V3_JSON).unwrap();
    credential["proof"] = serde_json::json!({
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "proofPurpose": "assertionMethod",
        "verificationMethod": "https://issuer.example/keys/1",
        "proofValue": "z3FXQjecWufY46yg]]>5KX2oL9mVfqbr1r8jUtdaVqUMZ"
    });
    let credential = serde_json::to_string(&credential).unwrap();

    for (format, json) in [
        (BadgeFormat::V2, assertion),
        (BadgeFormat::V3, credential.as_str()),
    ] {
        let out = bake(PLAIN_SVG.as_bytes(), format, BakeInput::json(json)).unwrap();
        let text = std::str::from_utf8(&out).unwrap();

        assert!(text.contains("]]]]><![CDATA[>"), "{format:?}: {text}");
        assert_eq!(
            text.matches("]]>").count(),
            text.matches("<![CDATA[").count()
        );
        let read = unbake(&out).unwrap().unwrap();
        assert_eq!(read.format, format);
        // The signed bytes come back unchanged, so a proof over them still verifies.
        assert_eq!(read.text, json, "{format:?}");
    }
}
