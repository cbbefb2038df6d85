//! Integration tests of `accolade::baking` against fixture files.
//!
//! The fixtures under `tests/fixtures/baking/` are built by the recipes in [`recipes`];
//! `fixtures_on_disk_match_their_recipes` fails when a file and its recipe differ, and
//! `cargo test -p accolade --test baking -- --ignored write_fixtures` writes them again.
//! The PNG helpers here (chunk writer, strict chunk walker) are written independently of the
//! crate's own, so the two check each other.

use std::path::PathBuf;

use accolade::baking::{
    self, BadgeFormat, BakeInput, ImageKind, ImageLimits, PayloadKind, UnbakeWarning, Unbaked,
    bake, inspect_image, png, sniff, svg, unbake, unbake_format,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Payloads

const V2_JSON: &str = r#"{"@context":"https://w3id.org/openbadges/v2","type":"Assertion","id":"https://accolade.example/assertions/7f3c","recipient":{"type":"email","hashed":false,"identity":"ada@example.org"},"badge":"https://accolade.example/badges/teamwork","verify":{"type":"hosted"},"issuedOn":"2026-01-01T00:00:00Z"}"#;

const V3_JSON: &str = r#"{"@context":["https://www.w3.org/ns/credentials/v2","https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],"id":"urn:uuid:3f1b1c9e-2c55-4a0e-9f65-0c7d7a1d2b11","type":["VerifiableCredential","OpenBadgeCredential"],"issuer":{"id":"https://accolade.example/issuer","type":["Profile"],"name":"Accolade"},"validFrom":"2026-01-01T00:00:00Z","credentialSubject":{"type":["AchievementSubject"],"achievement":{"id":"https://accolade.example/achievements/teamwork","type":["Achievement"],"name":"Teamwork","description":"Works well with others.","criteria":{"narrative":"Peer nominated."}}}}"#;

/// The names that other bakers mangled: right-to-left text with U+200F, a curly apostrophe and
/// an emoji, a registered sign.
const NAMES: [&str; 3] = [
    "مريم القحطاني\u{200F}",
    "The world’s best 🦉 badge",
    "Certified Widget® Practitioner",
];

fn v2_named(name: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(V2_JSON).unwrap();
    v["recipient"]["identity"] = name.into();
    v["evidence"] = serde_json::json!({ "narrative": name });
    serde_json::to_string(&v).unwrap()
}

fn v3_named(name: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(V3_JSON).unwrap();
    v["name"] = name.into();
    v["credentialSubject"]["achievement"]["name"] = name.into();
    serde_json::to_string_pretty(&v).unwrap()
}

/// A structurally valid compact JWS (the signature is not a real one: baking never checks it).
fn jws(payload: &str) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD
            .encode(r#"{"alg":"RS256","typ":"JWT","kid":"https://accolade.example/keys/1"}"#),
        URL_SAFE_NO_PAD.encode(payload),
        URL_SAFE_NO_PAD.encode([7u8; 64])
    )
}

// ---------------------------------------------------------------------------------------------
// Independent PNG helpers

const SIG: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
    out
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut enc, data).unwrap();
    enc.finish().unwrap()
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RawChunk {
    kind: String,
    data: Vec<u8>,
    raw: Vec<u8>,
}

/// Walks a PNG strictly: signature, every CRC, nothing after IEND.
fn walk(png: &[u8]) -> Vec<RawChunk> {
    assert_eq!(&png[..8], &SIG, "signature");
    let mut pos = 8;
    let mut out = Vec::new();
    loop {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &png[pos + 4..pos + 8];
        let data = &png[pos + 8..pos + 8 + len];
        let stored = u32::from_be_bytes(png[pos + 8 + len..pos + 12 + len].try_into().unwrap());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        assert_eq!(stored, crc.finalize(), "CRC of chunk at {pos}");
        out.push(RawChunk {
            kind: String::from_utf8(kind.to_vec()).unwrap(),
            data: data.to_vec(),
            raw: png[pos..pos + 12 + len].to_vec(),
        });
        pos += 12 + len;
        if kind == b"IEND" {
            assert_eq!(pos, png.len(), "bytes after IEND");
            return out;
        }
    }
}

fn kinds(png: &[u8]) -> Vec<String> {
    walk(png).into_iter().map(|c| c.kind).collect()
}

fn keyword(c: &RawChunk) -> Option<&[u8]> {
    if !matches!(c.kind.as_str(), "tEXt" | "zTXt" | "iTXt") {
        return None;
    }
    c.data.split(|b| *b == 0).next()
}

/// Chunks that carry a given keyword.
fn badge_chunks(png: &[u8], kw: &str) -> Vec<RawChunk> {
    walk(png)
        .into_iter()
        .filter(|c| keyword(c) == Some(kw.as_bytes()))
        .collect()
}

/// The expected iTXt chunk data for our bakes.
fn itxt(kw: &str, text: &str) -> Vec<u8> {
    [kw.as_bytes(), &[0, 0, 0, 0, 0], text.as_bytes()].concat()
}

/// Asserts that `after` holds every chunk of `before` except those with `removed_keyword`,
/// byte-identical and in order, plus exactly one new chunk right after IHDR.
fn assert_spliced(before: &[u8], after: &[u8], removed_keyword: &str, text: &str) {
    let b: Vec<RawChunk> = walk(before)
        .into_iter()
        .filter(|c| keyword(c) != Some(removed_keyword.as_bytes()))
        .collect();
    let mut a = walk(after);
    assert_eq!(a[1].kind, "iTXt");
    assert_eq!(a[1].data, itxt(removed_keyword, text));
    a.remove(1);
    assert_eq!(a, b, "other chunks kept byte-identical and in order");
    assert_eq!(
        badge_chunks(after, removed_keyword).len(),
        1,
        "exactly one badge chunk"
    );
}

// ---------------------------------------------------------------------------------------------
// Fixture recipes

mod recipes {
    use super::*;

    pub const P0_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==";

    pub fn p0() -> Vec<u8> {
        STANDARD.decode(P0_BASE64).unwrap()
    }

    /// P0 with chunks inserted between IHDR and IDAT.
    pub fn p0_with(extra: &[Vec<u8>]) -> Vec<u8> {
        let p = p0();
        [&p[..33], &extra.concat(), &p[33..]].concat()
    }

    fn ihdr(width: u32, height: u32, depth: u8, color: u8, interlace: u8) -> Vec<u8> {
        let mut d = width.to_be_bytes().to_vec();
        d.extend_from_slice(&height.to_be_bytes());
        d.extend_from_slice(&[depth, color, 0, 0, interlace]);
        chunk(b"IHDR", &d)
    }

    /// A 132-byte ICC profile header with no tags: enough for a structurally valid iCCP chunk.
    fn tiny_icc() -> Vec<u8> {
        let mut p = Vec::new();
        p.extend_from_slice(&132u32.to_be_bytes());
        p.extend_from_slice(&[0; 4]);
        p.extend_from_slice(&0x0210_0000u32.to_be_bytes());
        p.extend_from_slice(b"mntrRGB XYZ ");
        p.extend_from_slice(&[0; 12]);
        p.extend_from_slice(b"acsp");
        p.extend_from_slice(&[0; 24]);
        p.extend_from_slice(&[0; 4]);
        for v in [0x0000_F6D6u32, 0x0001_0000, 0x0000_D32D] {
            p.extend_from_slice(&v.to_be_bytes());
        }
        p.extend_from_slice(&[0; 48]);
        p.extend_from_slice(&0u32.to_be_bytes());
        assert_eq!(p.len(), 132);
        p
    }

    /// 3x3, 16-bit RGBA, Adam7-interlaced, with gAMA, iCCP, pHYs and (after IDAT) tIME.
    pub fn adam7_rgba16() -> Vec<u8> {
        let pixel = |x: usize, y: usize| -> [u8; 8] {
            let r = (x * 30000 + 1000) as u16;
            let g = (y * 30000 + 500) as u16;
            let b = ((x + y) * 10000) as u16;
            let a = 0xFFFF - (x * 1000) as u16;
            let mut p = [0u8; 8];
            for (i, v) in [r, g, b, a].into_iter().enumerate() {
                p[2 * i..2 * i + 2].copy_from_slice(&v.to_be_bytes());
            }
            p
        };
        let passes = [
            (0, 0, 8, 8),
            (4, 0, 8, 8),
            (0, 4, 4, 8),
            (2, 0, 4, 4),
            (0, 2, 2, 4),
            (1, 0, 2, 2),
            (0, 1, 1, 2),
        ];
        let mut raw = Vec::new();
        for (x0, y0, dx, dy) in passes {
            let xs: Vec<usize> = (x0..3).step_by(dx).collect();
            let ys: Vec<usize> = (y0..3).step_by(dy).collect();
            if xs.is_empty() || ys.is_empty() {
                continue;
            }
            for &y in &ys {
                raw.push(0);
                for &x in &xs {
                    raw.extend_from_slice(&pixel(x, y));
                }
            }
        }
        let mut iccp = b"Tiny\0\0".to_vec();
        iccp.extend_from_slice(&zlib(&tiny_icc()));
        let mut phys = 2835u32.to_be_bytes().to_vec();
        phys.extend_from_slice(&2835u32.to_be_bytes());
        phys.push(1);
        let mut time = 2024u16.to_be_bytes().to_vec();
        time.extend_from_slice(&[1, 2, 3, 4, 5]);
        [
            SIG.to_vec(),
            ihdr(3, 3, 16, 6, 1),
            chunk(b"gAMA", &45455u32.to_be_bytes()),
            chunk(b"iCCP", &iccp),
            chunk(b"pHYs", &phys),
            chunk(b"IDAT", &zlib(&raw)),
            chunk(b"tIME", &time),
            chunk(b"IEND", b""),
        ]
        .concat()
    }

    /// 2x2, 8-bit palette of three colours, with tRNS.
    pub fn palette_trns() -> Vec<u8> {
        let raw = [0, 0, 1, 0, 2, 1];
        [
            SIG.to_vec(),
            ihdr(2, 2, 8, 3, 0),
            chunk(b"PLTE", &[255, 0, 0, 0, 255, 0, 0, 0, 255]),
            chunk(b"tRNS", &[255, 128, 0]),
            chunk(b"IDAT", &zlib(&raw)),
            chunk(b"IEND", b""),
        ]
        .concat()
    }

    /// P0 with its 10-byte IDAT data split over three IDAT chunks (4, 3 and 3 bytes).
    pub fn p0_idat_split3() -> Vec<u8> {
        let p = p0();
        let data = &p[41..51];
        [
            &p[..33],
            &chunk(b"IDAT", &data[..4]),
            &chunk(b"IDAT", &data[4..7]),
            &chunk(b"IDAT", &data[7..]),
            &p[55..],
        ]
        .concat()
    }

    pub const JUNK: &[u8; 16] = b"JUNK\x00\x01\x02\x03trailing";

    pub fn p0_text_and_itxt() -> Vec<u8> {
        p0_with(&[
            chunk(
                b"tEXt",
                b"openbadges\0https://old-issuer.example/assertions/111",
            ),
            chunk(
                b"iTXt",
                &itxt(
                    "openbadges",
                    r#"{"id":"https://old-issuer.example/assertions/222"}"#,
                ),
            ),
        ])
    }

    pub fn itxt_compressed_en() -> Vec<u8> {
        let mut data = b"openbadges\0\x01\x00en\0Open Badge\0".to_vec();
        data.extend_from_slice(&zlib(V2_JSON.as_bytes()));
        p0_with(&[chunk(b"iTXt", &data)])
    }

    pub fn en_gb_text() -> String {
        v2_named(NAMES[0])
    }

    pub fn itxt_en_gb() -> Vec<u8> {
        let mut data = b"openbadges\0\x00\x00en-GB\0\0".to_vec();
        data.extend_from_slice(en_gb_text().as_bytes());
        p0_with(&[chunk(b"iTXt", &data)])
    }

    pub fn credential_compressed() -> Vec<u8> {
        let mut data = b"openbadgecredential\0\x01\x00\0\0".to_vec();
        data.extend_from_slice(&zlib(V3_JSON.as_bytes()));
        p0_with(&[chunk(b"iTXt", &data)])
    }

    pub const JPEG_HEADER: &[u8] = &[
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xD9,
    ];

    pub const HTML_PAGE: &str = "<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>Badge</title></head>\n<body>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"></svg>\n</body>\n</html>\n";

    pub const PLAIN_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"120\" viewBox=\"0 0 120 120\">\n  <title>Teamwork</title>\n  <circle cx=\"60\" cy=\"60\" r=\"50\" fill=\"#2a6\"/>\n</svg>\n";

    pub const SELF_CLOSING_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";

    pub const OB_PREFIX_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:ob=\"http://openbadges.org\" viewBox=\"0 0 10 10\">\n  <ob:assertion verify=\"https://old-issuer.example/assertions/333\"></ob:assertion>\n  <rect width=\"10\" height=\"10\"/>\n</svg>\n";

    pub const IMPOSTER_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:openbadges=\"urn:example:not-ob\" viewBox=\"0 0 10 10\">\n  <openbadges:assertion verify=\"https://imposter.example/not-a-badge\">not badge data</openbadges:assertion>\n  <rect width=\"10\" height=\"10\"/>\n</svg>\n";

    pub const AFTER_COMMENT_TITLE_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:openbadges=\"http://openbadges.org\" viewBox=\"0 0 10 10\">\n  <!-- baked by an older tool -->\n  <title>Old badge</title>\n  <openbadges:assertion verify=\"https://old-issuer.example/assertions/444\"><![CDATA[{\"id\":\"https://old-issuer.example/assertions/444\",\"type\":\"Assertion\"}]]></openbadges:assertion>\n  <rect width=\"10\" height=\"10\"/>\n</svg>\n";

    pub fn long_prolog_svg() -> String {
        format!(
            "\u{FEFF}<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<!-- {} -->\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\">\n  <rect width=\"64\" height=\"64\"/>\n</svg>\n",
            "Generator: a drawing program that writes a long licence comment. ".repeat(6)
        )
    }

    pub fn billion_laughs_svg() -> String {
        let mut s =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE svg [\n  <!ENTITY lol \"lol\">\n");
        s.push_str("  <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
        for i in 2..=9 {
            let prev = format!("&lol{};", i - 1);
            s.push_str(&format!("  <!ENTITY lol{i} \"{}\">\n", prev.repeat(10)));
        }
        s.push_str("]>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><text>&lol9;</text></svg>\n");
        s
    }

    pub const XXE_SVG: &str = "<?xml version=\"1.0\"?>\n<!DOCTYPE svg [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><text>&xxe;</text></svg>\n";

    /// Every generated fixture: (file name, bytes).
    pub fn all() -> Vec<(&'static str, Vec<u8>)> {
        let p0 = p0();
        let mut bad_crc = p0.clone();
        bad_crc[54] ^= 0xFF; // last byte of the IDAT CRC
        vec![
            ("p0.png", p0.clone()),
            ("p0-text-and-itxt.png", p0_text_and_itxt()),
            ("adam7-rgba16.png", adam7_rgba16()),
            ("palette-trns.png", palette_trns()),
            ("p0-idat-split3.png", p0_idat_split3()),
            ("p0-junk-after-iend.png", [&p0[..], JUNK].concat()),
            ("jpeg-named.png", JPEG_HEADER.to_vec()),
            ("html-page.svg", HTML_PAGE.as_bytes().to_vec()),
            ("p0-no-iend.png", p0[..p0.len() - 12].to_vec()),
            ("empty.png", Vec::new()),
            ("p0-bad-crc.png", bad_crc),
            ("itxt-compressed-en.png", itxt_compressed_en()),
            ("itxt-en-gb.png", itxt_en_gb()),
            ("credential-compressed.png", credential_compressed()),
            (
                "not-ob-object.png",
                p0_with(&[chunk(b"iTXt", &itxt("openbadges", "{\r\n}\r\n"))]),
            ),
            (
                "credential-without-id.png",
                p0_with(&[chunk(
                    b"iTXt",
                    &itxt(
                        "openbadgecredential",
                        r#"{"type":["VerifiableCredential","OpenBadgeCredential"]}"#,
                    ),
                )]),
            ),
            ("plain.svg", PLAIN_SVG.as_bytes().to_vec()),
            ("self-closing.svg", SELF_CLOSING_SVG.as_bytes().to_vec()),
            ("ob-prefix.svg", OB_PREFIX_SVG.as_bytes().to_vec()),
            ("imposter-namespace.svg", IMPOSTER_SVG.as_bytes().to_vec()),
            (
                "after-comment-title.svg",
                AFTER_COMMENT_TITLE_SVG.as_bytes().to_vec(),
            ),
            ("long-prolog.svg", long_prolog_svg().into_bytes()),
            ("billion-laughs.svg", billion_laughs_svg().into_bytes()),
            ("xxe.svg", XXE_SVG.as_bytes().to_vec()),
        ]
    }
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/baking")
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn onedtech(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/1edtech-ob30")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
#[ignore = "writes the fixture files; run with --ignored to regenerate them"]
fn write_fixtures() {
    std::fs::create_dir_all(fixture_dir()).unwrap();
    for (name, bytes) in recipes::all() {
        std::fs::write(fixture_dir().join(name), bytes).unwrap();
    }
}

#[test]
fn fixtures_on_disk_match_their_recipes() {
    for (name, bytes) in recipes::all() {
        assert_eq!(fixture(name), bytes, "{name} differs from its recipe");
    }
}

fn bake_ok(image: &[u8], format: BadgeFormat, input: BakeInput<'_>) -> Vec<u8> {
    bake(image, format, input).unwrap_or_else(|e| panic!("bake failed: {} ({e})", e.code()))
}

fn unbake_some(image: &[u8]) -> Unbaked {
    unbake(image)
        .unwrap_or_else(|e| panic!("unbake failed: {} ({e})", e.code()))
        .expect("badge data")
}

fn codes(warnings: &[UnbakeWarning]) -> Vec<&'static str> {
    warnings.iter().map(UnbakeWarning::code).collect()
}

// ---------------------------------------------------------------------------------------------
// PNG fixtures

#[test]
fn p0_is_sniffed_inspected_and_baked() {
    let p0 = fixture("p0.png");
    assert_eq!(p0.len(), 67);
    assert_eq!(sniff(&p0), Some(ImageKind::Png));
    let info = inspect_image(&p0, &ImageLimits::default()).unwrap();
    assert_eq!(
        (info.kind, info.width, info.height, info.badge_data.clone()),
        (ImageKind::Png, 1, 1, vec![])
    );
    assert!(
        unbake(&p0).unwrap().is_none(),
        "a plain image carries no badge data"
    );

    let v2 = bake_ok(&p0, BadgeFormat::V2, BakeInput::json(V2_JSON));
    assert_eq!(kinds(&v2), ["IHDR", "iTXt", "IDAT", "IEND"]);
    assert_eq!(v2.len(), 67 + 12 + "openbadges".len() + 5 + V2_JSON.len());
    assert_spliced(&p0, &v2, "openbadges", V2_JSON);
    let u = unbake_some(&v2);
    assert_eq!(
        (u.format, u.kind, u.text.as_str(), u.verify_url.clone()),
        (BadgeFormat::V2, PayloadKind::Json, V2_JSON, None)
    );
    assert!(u.warnings.is_empty());

    let v3 = bake_ok(&p0, BadgeFormat::V3, BakeInput::json(V3_JSON));
    assert_spliced(&p0, &v3, "openbadgecredential", V3_JSON);
    let u = unbake_some(&v3);
    assert_eq!((u.format, u.text.as_str()), (BadgeFormat::V3, V3_JSON));

    let info = inspect_image(&v3, &ImageLimits::default()).unwrap();
    assert_eq!(info.badge_data, vec![BadgeFormat::V3]);
    assert_eq!(
        info.require_unbaked().unwrap_err().code(),
        "image_already_baked"
    );
}

#[test]
fn p0_text_and_itxt_reads_the_first_and_bakes_exactly_one() {
    let png = fixture("p0-text-and-itxt.png");
    let u = unbake_some(&png);
    assert_eq!(u.format, BadgeFormat::V2);
    assert_eq!(u.kind, PayloadKind::Url);
    assert_eq!(u.text, "https://old-issuer.example/assertions/111");
    assert_eq!(
        u.verify_url.as_deref(),
        Some("https://old-issuer.example/assertions/111")
    );
    assert_eq!(
        codes(&u.warnings),
        ["legacy_text_chunk", "duplicate_badge_data"]
    );

    let out = bake_ok(&png, BadgeFormat::V2, BakeInput::json(V2_JSON));
    assert_eq!(kinds(&out), ["IHDR", "iTXt", "IDAT", "IEND"]);
    assert_spliced(&png, &out, "openbadges", V2_JSON);
    assert!(
        walk(&out).iter().all(|c| c.kind != "tEXt"),
        "JSON is never written to tEXt"
    );
    assert_eq!(unbake_some(&out).text, V2_JSON);
    assert_eq!(
        bake_ok(&out, BadgeFormat::V2, BakeInput::json(V2_JSON)),
        out,
        "idempotent"
    );

    // Baking 3.0 keeps both 2.0 chunks where they were.
    let v3 = bake_ok(&png, BadgeFormat::V3, BakeInput::json(V3_JSON));
    assert_eq!(kinds(&v3), ["IHDR", "iTXt", "tEXt", "iTXt", "IDAT", "IEND"]);
    assert_spliced(&png, &v3, "openbadgecredential", V3_JSON);
}

#[test]
fn adam7_rgba16_keeps_every_chunk() {
    let png = fixture("adam7-rgba16.png");
    let info = inspect_image(&png, &ImageLimits::default()).unwrap();
    assert_eq!((info.width, info.height), (3, 3));
    assert_eq!(
        kinds(&png),
        ["IHDR", "gAMA", "iCCP", "pHYs", "IDAT", "tIME", "IEND"]
    );
    let jws_text = jws(V3_JSON);
    let out = bake_ok(&png, BadgeFormat::V3, BakeInput::jws(&jws_text));
    assert_eq!(
        kinds(&out),
        [
            "IHDR", "iTXt", "gAMA", "iCCP", "pHYs", "IDAT", "tIME", "IEND"
        ]
    );
    assert_spliced(&png, &out, "openbadgecredential", &jws_text);
    let u = unbake_some(&out);
    assert_eq!(
        (u.format, u.kind, u.text.as_str()),
        (BadgeFormat::V3, PayloadKind::Jws, jws_text.as_str())
    );
    assert_eq!(
        bake_ok(&out, BadgeFormat::V3, BakeInput::jws(&jws_text)),
        out
    );
}

#[test]
fn palette_trns_keeps_plte_and_trns() {
    let png = fixture("palette-trns.png");
    let info = inspect_image(&png, &ImageLimits::default()).unwrap();
    assert_eq!((info.width, info.height), (2, 2));
    let signed = jws(V2_JSON);
    let out = bake_ok(&png, BadgeFormat::V2, BakeInput::jws(&signed));
    assert_eq!(
        kinds(&out),
        ["IHDR", "iTXt", "PLTE", "tRNS", "IDAT", "IEND"]
    );
    assert_spliced(&png, &out, "openbadges", &signed);
    assert_eq!(unbake_some(&out).text, signed);
}

#[test]
fn split_idat_stays_split_and_consecutive() {
    let png = fixture("p0-idat-split3.png");
    assert_eq!(kinds(&png), ["IHDR", "IDAT", "IDAT", "IDAT", "IEND"]);
    let out = bake_ok(&png, BadgeFormat::V2, BakeInput::json(V2_JSON));
    assert_eq!(
        kinds(&out),
        ["IHDR", "iTXt", "IDAT", "IDAT", "IDAT", "IEND"]
    );
    assert_spliced(&png, &out, "openbadges", V2_JSON);
}

#[test]
fn junk_after_iend_is_dropped() {
    let png = fixture("p0-junk-after-iend.png");
    assert_eq!(png.len(), 67 + 16);
    let info = inspect_image(&png, &ImageLimits::default()).unwrap();
    assert_eq!((info.width, info.height), (1, 1));
    assert!(unbake(&png).unwrap().is_none());

    let out = bake_ok(&png, BadgeFormat::V2, BakeInput::json(V2_JSON));
    let clean = bake_ok(
        &fixture("p0.png"),
        BadgeFormat::V2,
        BakeInput::json(V2_JSON),
    );
    assert_eq!(
        out, clean,
        "the junk is dropped and the output ends with IEND"
    );
    assert!(out.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]));

    let with_junk = [&clean[..], recipes::JUNK].concat();
    let u = unbake_some(&with_junk);
    assert_eq!(u.text, V2_JSON);
    assert_eq!(
        u.warnings,
        vec![UnbakeWarning::TrailingBytesAfterIend { count: 16 }]
    );
}

#[test]
fn jpeg_named_png_is_refused_by_content() {
    let jpeg = fixture("jpeg-named.png");
    assert_eq!(sniff(&jpeg), None);
    let e = bake(&jpeg, BadgeFormat::V2, BakeInput::json(V2_JSON)).unwrap_err();
    assert_eq!(e.code(), "unsupported_image_type");
    assert!(e.to_string().contains("JPEG"), "{e}");
    assert_eq!(unbake(&jpeg).unwrap_err().code(), "unsupported_image_type");
    assert_eq!(
        inspect_image(&jpeg, &ImageLimits::default())
            .unwrap_err()
            .code(),
        "unsupported_image_type"
    );
    let e = png::bake(&jpeg, BadgeFormat::V2, BakeInput::json(V2_JSON)).unwrap_err();
    assert_eq!(e.code(), "not_png");
    assert!(e.to_string().contains("ffd8ffe0"), "{e}");
    assert_eq!(png::unbake(&jpeg).unwrap_err().code(), "not_png");
}

#[test]
fn html_page_is_refused_by_content() {
    let html = fixture("html-page.svg");
    assert_eq!(sniff(&html), None);
    let e = bake(&html, BadgeFormat::V2, BakeInput::json(V2_JSON)).unwrap_err();
    assert_eq!(e.code(), "unsupported_image_type");
    assert!(e.to_string().contains("HTML"), "{e}");
    assert_eq!(unbake(&html).unwrap_err().code(), "unsupported_image_type");
    assert_eq!(
        svg::bake(&html, BadgeFormat::V2, BakeInput::json(V2_JSON))
            .unwrap_err()
            .code(),
        "not_svg"
    );
    assert_eq!(png::unbake(&html).unwrap_err().code(), "not_png");
}

#[test]
fn png_without_iend_is_truncated() {
    let png = fixture("p0-no-iend.png");
    assert_eq!(png.len(), 55);
    assert_eq!(sniff(&png), Some(ImageKind::Png));
    assert_eq!(
        bake(&png, BadgeFormat::V2, BakeInput::json(V2_JSON))
            .unwrap_err()
            .code(),
        "truncated_png"
    );
    assert_eq!(unbake(&png).unwrap_err().code(), "truncated_png");
    assert_eq!(
        inspect_image(&png, &ImageLimits::default())
            .unwrap_err()
            .code(),
        "truncated_png"
    );
    // Cut inside a chunk too.
    assert_eq!(unbake(&png[..45]).unwrap_err().code(), "truncated_png");
}

#[test]
fn zero_bytes_is_an_empty_body() {
    let empty = fixture("empty.png");
    assert!(empty.is_empty());
    assert_eq!(sniff(&empty), None);
    assert_eq!(
        bake(&empty, BadgeFormat::V2, BakeInput::json(V2_JSON))
            .unwrap_err()
            .code(),
        "empty_body"
    );
    assert_eq!(unbake(&empty).unwrap_err().code(), "empty_body");
    assert_eq!(
        inspect_image(&empty, &ImageLimits::default())
            .unwrap_err()
            .code(),
        "empty_body"
    );
    assert_eq!(
        png::bake(&empty, BadgeFormat::V2, BakeInput::json(V2_JSON))
            .unwrap_err()
            .code(),
        "empty_body"
    );
    assert_eq!(svg::unbake(&empty).unwrap_err().code(), "empty_body");
}

#[test]
fn bad_crc_is_refused_strictly() {
    let png = fixture("p0-bad-crc.png");
    let e = unbake(&png).unwrap_err();
    assert_eq!(e.code(), "bad_crc");
    assert!(e.to_string().contains("IDAT"), "{e}");
    assert_eq!(
        bake(&png, BadgeFormat::V3, BakeInput::json(V3_JSON))
            .unwrap_err()
            .code(),
        "bad_crc"
    );
    assert_eq!(
        inspect_image(&png, &ImageLimits::default())
            .unwrap_err()
            .code(),
        "bad_crc"
    );
}

#[test]
fn compressed_itxt_with_language_is_read_and_replaced() {
    let png = fixture("itxt-compressed-en.png");
    let u = unbake_some(&png);
    assert_eq!((u.format, u.text.as_str()), (BadgeFormat::V2, V2_JSON));
    assert_eq!(
        u.warnings,
        vec![UnbakeWarning::CompressedItxt {
            format: BadgeFormat::V2
        }]
    );
    let out = bake_ok(&png, BadgeFormat::V2, BakeInput::json(V2_JSON));
    assert_spliced(&png, &out, "openbadges", V2_JSON);
    assert_eq!(kinds(&out), ["IHDR", "iTXt", "IDAT", "IEND"]);
    assert!(unbake_some(&out).warnings.is_empty());
}

#[test]
fn itxt_with_en_gb_language_is_read_exactly() {
    let png = fixture("itxt-en-gb.png");
    let u = unbake_some(&png);
    assert_eq!(u.text, recipes::en_gb_text());
    assert!(u.text.contains("مريم القحطاني\u{200F}"));
    assert!(u.warnings.is_empty());
}

#[test]
fn compressed_credential_is_read_with_a_warning() {
    let png = fixture("credential-compressed.png");
    let u = unbake_some(&png);
    assert_eq!((u.format, u.text.as_str()), (BadgeFormat::V3, V3_JSON));
    assert_eq!(codes(&u.warnings), ["compressed_itxt"]);
    assert_eq!(
        u.warnings,
        vec![UnbakeWarning::CompressedItxt {
            format: BadgeFormat::V3
        }]
    );
    // Re-baking writes it uncompressed.
    let out = bake_ok(&png, BadgeFormat::V3, BakeInput::json(V3_JSON));
    assert_eq!(
        badge_chunks(&out, "openbadgecredential")[0].data,
        itxt("openbadgecredential", V3_JSON)
    );
}

#[test]
fn non_badge_payloads_are_never_reported_as_badges() {
    let e = unbake(&fixture("not-ob-object.png")).unwrap_err();
    assert_eq!(e.code(), "not_an_open_badges_object");
    let e = unbake(&fixture("credential-without-id.png")).unwrap_err();
    assert_eq!(e.code(), "not_an_open_badges_object");
    assert!(e.to_string().contains("\"id\""), "{e}");

    // And none can be baked.
    let p0 = fixture("p0.png");
    for bad in [
        "{\r\n}\r\n",
        r#"{"id":"https://x.example/1"}"#,
        r#"{"type":"Assertion"}"#,
        "[]",
        "null",
    ] {
        let e = bake(&p0, BadgeFormat::V2, BakeInput::json(bad)).unwrap_err();
        assert_eq!(e.code(), "not_an_open_badges_object", "{bad:?}");
    }
    assert_eq!(
        bake(&p0, BadgeFormat::V2, BakeInput::json("not json"))
            .unwrap_err()
            .code(),
        "invalid_json"
    );
    assert_eq!(
        bake(&p0, BadgeFormat::V2, BakeInput::jws("a.b"))
            .unwrap_err()
            .code(),
        "invalid_jws"
    );
    assert_eq!(
        bake(&p0, BadgeFormat::V2, BakeInput::json(V3_JSON))
            .unwrap_err()
            .code(),
        "badge_format_mismatch"
    );
    assert_eq!(
        bake(&p0, BadgeFormat::V3, BakeInput::json(V2_JSON))
            .unwrap_err()
            .code(),
        "badge_format_mismatch"
    );
}

#[test]
fn non_ascii_and_rtl_text_survives_byte_for_byte() {
    let images = [
        fixture("p0.png"),
        fixture("adam7-rgba16.png"),
        fixture("plain.svg"),
        fixture("long-prolog.svg"),
    ];
    for name in NAMES {
        for image in &images {
            for (format, text) in [
                (BadgeFormat::V2, v2_named(name)),
                (BadgeFormat::V3, v3_named(name)),
            ] {
                let out = bake_ok(image, format, BakeInput::json(&text));
                let u = unbake_some(&out);
                assert_eq!(u.format, format);
                assert_eq!(u.text.as_bytes(), text.as_bytes(), "{name} in {format}");
                assert!(u.text.contains(name));
            }
        }
    }
    // Never via tEXt, never escaped: the UTF-8 bytes sit in the iTXt chunk.
    let text = v2_named(NAMES[1]);
    let out = bake_ok(&fixture("p0.png"), BadgeFormat::V2, BakeInput::json(&text));
    assert_eq!(
        badge_chunks(&out, "openbadges")[0].data,
        itxt("openbadges", &text)
    );
}

// ---------------------------------------------------------------------------------------------
// SVG fixtures

fn s(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap()
}

/// The root start tag and what follows it.
fn after_root_tag(doc: &str) -> &str {
    let start = doc.find("<svg").unwrap();
    let end = start + doc[start..].find('>').unwrap() + 1;
    &doc[end..]
}

#[test]
fn plain_svg_bakes_v2_hosted_and_v3() {
    let svg = fixture("plain.svg");
    let info = inspect_image(&svg, &ImageLimits::default()).unwrap();
    assert_eq!(
        (info.kind, info.width, info.height),
        (ImageKind::Svg, 120, 120)
    );
    assert!(unbake(&svg).unwrap().is_none());

    let out = bake_ok(
        &svg,
        BadgeFormat::V2,
        BakeInput::hosted(V2_JSON, "https://accolade.example/assertions/7f3c"),
    );
    let doc = s(&out);
    assert!(doc.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"120\" viewBox=\"0 0 120 120\" xmlns:openbadges=\"http://openbadges.org\"><openbadges:assertion verify=\"https://accolade.example/assertions/7f3c\"><![CDATA["), "{doc}");
    assert_eq!(doc.matches("<openbadges:assertion").count(), 1);
    assert!(
        after_root_tag(doc).starts_with("<openbadges:assertion "),
        "root's first child"
    );
    assert!(doc.ends_with("</openbadges:assertion>\n  <title>Teamwork</title>\n  <circle cx=\"60\" cy=\"60\" r=\"50\" fill=\"#2a6\"/>\n</svg>\n"));
    let u = unbake_some(&out);
    assert_eq!(
        (u.format, u.kind, u.text.as_str()),
        (BadgeFormat::V2, PayloadKind::Json, V2_JSON)
    );
    assert_eq!(
        u.verify_url.as_deref(),
        Some("https://accolade.example/assertions/7f3c")
    );
    assert_eq!(
        bake_ok(
            &out,
            BadgeFormat::V2,
            BakeInput::hosted(V2_JSON, "https://accolade.example/assertions/7f3c")
        ),
        out
    );

    // Without assertion_url the assertion's http(s) id is the verify URL.
    assert_eq!(
        bake_ok(&svg, BadgeFormat::V2, BakeInput::json(V2_JSON)),
        out
    );

    // 2.0 signed: verify = JWS, element empty.
    let signed = jws(V2_JSON);
    let out = bake_ok(&svg, BadgeFormat::V2, BakeInput::jws(&signed));
    assert!(s(&out).contains(&format!(
        "<openbadges:assertion verify=\"{signed}\"></openbadges:assertion>"
    )));
    let u = unbake_some(&out);
    assert_eq!(
        (u.kind, u.text.as_str(), u.verify_url.clone()),
        (PayloadKind::Jws, signed.as_str(), None)
    );

    // 3.0 JSON: no verify, JSON in CDATA.
    let out = bake_ok(&svg, BadgeFormat::V3, BakeInput::json(V3_JSON));
    let doc = s(&out);
    assert!(doc.contains(&format!(" xmlns:openbadges=\"https://purl.imsglobal.org/ob/v3p0\"><openbadges:credential><![CDATA[{V3_JSON}]]></openbadges:credential>")), "{doc}");
    let u = unbake_some(&out);
    assert_eq!((u.format, u.text.as_str()), (BadgeFormat::V3, V3_JSON));

    // 3.0 JWS: verify, empty element.
    let signed = jws(V3_JSON);
    let out = bake_ok(&svg, BadgeFormat::V3, BakeInput::jws(&signed));
    assert!(s(&out).contains(&format!(
        "<openbadges:credential verify=\"{signed}\"></openbadges:credential>"
    )));
    assert_eq!(unbake_some(&out).text, signed);
}

#[test]
fn svg_v2_json_without_any_url_is_refused() {
    let json = r#"{"id":"urn:uuid:1","type":"Assertion"}"#;
    let e = bake(
        &fixture("plain.svg"),
        BadgeFormat::V2,
        BakeInput::json(json),
    )
    .unwrap_err();
    assert_eq!(e.code(), "missing_assertion_url");
    // A PNG needs no URL.
    assert!(bake(&fixture("p0.png"), BadgeFormat::V2, BakeInput::json(json)).is_ok());
}

#[test]
fn self_closing_root_gets_a_child() {
    let svg = fixture("self-closing.svg");
    let signed = jws(V2_JSON);
    let out = bake_ok(&svg, BadgeFormat::V2, BakeInput::jws(&signed));
    assert_eq!(
        s(&out),
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:openbadges=\"http://openbadges.org\"><openbadges:assertion verify=\"{signed}\"></openbadges:assertion></svg>"
        )
    );
    assert_eq!(unbake_some(&out).text, signed);
    assert_eq!(bake_ok(&out, BadgeFormat::V2, BakeInput::jws(&signed)), out);
}

#[test]
fn element_with_another_prefix_is_found_and_replaced() {
    let svg = fixture("ob-prefix.svg");
    let u = unbake_some(&svg);
    assert_eq!(
        (u.format, u.kind, u.text.as_str()),
        (
            BadgeFormat::V2,
            PayloadKind::Url,
            "https://old-issuer.example/assertions/333"
        )
    );
    assert_eq!(
        inspect_image(&svg, &ImageLimits::default())
            .unwrap()
            .badge_data,
        vec![BadgeFormat::V2]
    );

    let out = bake_ok(&svg, BadgeFormat::V2, BakeInput::json(V2_JSON));
    let doc = s(&out);
    assert!(
        !doc.contains("ob:assertion"),
        "the old element is gone: {doc}"
    );
    assert!(!doc.contains("333"));
    assert_eq!(doc.matches(":assertion ").count(), 1);
    assert!(
        after_root_tag(doc).starts_with(
            "<openbadges:assertion verify=\"https://accolade.example/assertions/7f3c\">"
        )
    );
    assert!(doc.contains("</openbadges:assertion>\n  <rect"), "{doc}");
    assert_eq!(unbake_some(&out).text, V2_JSON);
    assert_eq!(
        bake_ok(&out, BadgeFormat::V2, BakeInput::json(V2_JSON)),
        out
    );
}

#[test]
fn imposter_namespace_is_left_alone() {
    let svg = fixture("imposter-namespace.svg");
    assert!(
        unbake(&svg).unwrap().is_none(),
        "an element in urn:example:not-ob is not badge data"
    );
    assert!(
        inspect_image(&svg, &ImageLimits::default())
            .unwrap()
            .badge_data
            .is_empty()
    );

    let out = bake_ok(&svg, BadgeFormat::V2, BakeInput::json(V2_JSON));
    let doc = s(&out);
    // The imposter and its declaration are kept as they were.
    assert!(doc.contains("xmlns:openbadges=\"urn:example:not-ob\""));
    assert!(doc.contains("<openbadges:assertion verify=\"https://imposter.example/not-a-badge\">not badge data</openbadges:assertion>"));
    // Ours declares its own namespace and is the root's first child, under the literal name.
    assert!(after_root_tag(doc).starts_with("<openbadges:assertion xmlns:openbadges=\"http://openbadges.org\" verify=\"https://accolade.example/assertions/7f3c\"><![CDATA["), "{doc}");
    let u = unbake_some(&out);
    assert_eq!((u.format, u.text.as_str()), (BadgeFormat::V2, V2_JSON));
    assert!(u.warnings.is_empty(), "{:?}", u.warnings);
    assert_eq!(
        bake_ok(&out, BadgeFormat::V2, BakeInput::json(V2_JSON)),
        out
    );
}

#[test]
fn element_after_comment_and_title_is_replaced() {
    let svg = fixture("after-comment-title.svg");
    let u = unbake_some(&svg);
    assert_eq!(
        u.text,
        r#"{"id":"https://old-issuer.example/assertions/444","type":"Assertion"}"#
    );
    assert_eq!(
        u.verify_url.as_deref(),
        Some("https://old-issuer.example/assertions/444")
    );

    let out = bake_ok(&svg, BadgeFormat::V2, BakeInput::json(V2_JSON));
    let doc = s(&out);
    assert_eq!(doc.matches("<openbadges:assertion").count(), 1);
    assert!(!doc.contains("444"));
    assert!(after_root_tag(doc).starts_with("<openbadges:assertion verify="));
    assert!(doc.contains("</openbadges:assertion>\n  <!-- baked by an older tool -->\n  <title>Old badge</title>\n  <rect"), "{doc}");
    // The root already declared the namespace: it is not declared twice.
    assert_eq!(doc.matches("xmlns:openbadges=").count(), 1);
    assert_eq!(
        bake_ok(&out, BadgeFormat::V2, BakeInput::json(V2_JSON)),
        out
    );
}

#[test]
fn long_prolog_is_kept_and_baked() {
    let svg = fixture("long-prolog.svg");
    assert!(svg.starts_with(b"\xEF\xBB\xBF<?xml"));
    assert_eq!(sniff(&svg), Some(ImageKind::Svg));
    let root_at = s(&svg).find("<svg").unwrap();
    assert!(
        root_at > 256,
        "this fixture's prolog pushes <svg past byte 256 ({root_at})"
    );
    let info = inspect_image(&svg, &ImageLimits::default()).unwrap();
    assert_eq!((info.width, info.height), (64, 64));

    let out = bake_ok(&svg, BadgeFormat::V3, BakeInput::json(V3_JSON));
    assert_eq!(
        &out[..root_at],
        &svg[..root_at],
        "BOM, declaration, comment and DOCTYPE kept byte for byte"
    );
    assert_eq!(s(&out).find("<svg"), Some(root_at));
    assert_eq!(unbake_some(&out).text, V3_JSON);
    assert_eq!(
        bake_ok(&out, BadgeFormat::V3, BakeInput::json(V3_JSON)),
        out
    );
}

#[test]
fn demo_sized_svgs_keep_svg_within_256_bytes() {
    // The 1EdTech validator only recognises an SVG with `<svg` in its first 256 bytes.
    for name in [
        "plain.svg",
        "self-closing.svg",
        "ob-prefix.svg",
        "imposter-namespace.svg",
        "after-comment-title.svg",
    ] {
        for format in [BadgeFormat::V2, BadgeFormat::V3] {
            let json = if format == BadgeFormat::V2 {
                V2_JSON
            } else {
                V3_JSON
            };
            let out = bake_ok(&fixture(name), format, BakeInput::json(json));
            let at = out.windows(4).position(|w| w == b"<svg").unwrap();
            assert!(at < 256, "{name}: <svg at {at}");
        }
    }
    for name in ["simple-json.svg", "simple-jwt.svg"] {
        let out = bake_ok(&onedtech(name), BadgeFormat::V3, BakeInput::json(V3_JSON));
        let at = out.windows(4).position(|w| w == b"<svg").unwrap();
        assert!(at < 256, "{name}: <svg at {at}");
    }
}

#[test]
fn entity_declarations_are_refused_without_expansion() {
    for name in ["billion-laughs.svg", "xxe.svg"] {
        let svg = fixture(name);
        assert_eq!(sniff(&svg), Some(ImageKind::Svg), "{name}");
        let e = bake(&svg, BadgeFormat::V2, BakeInput::json(V2_JSON)).unwrap_err();
        assert_eq!(e.code(), "unsafe_xml", "{name}");
        assert!(
            e.to_string().contains("DOCTYPE declares entities"),
            "refused at the DOCTYPE, before any reference: {e}"
        );
        assert_eq!(unbake(&svg).unwrap_err().code(), "unsafe_xml", "{name}");
        assert_eq!(
            inspect_image(&svg, &ImageLimits::default())
                .unwrap_err()
                .code(),
            "unsafe_xml",
            "{name}"
        );
    }
}

#[test]
fn internal_subsets_and_unknown_entities_are_refused_separately() {
    // Declared but never used: still refused, at the DOCTYPE.
    let declared = b"<!DOCTYPE svg [<!ENTITY x \"y\">]><svg xmlns=\"http://www.w3.org/2000/svg\"/>";
    let e = unbake(declared).unwrap_err();
    assert_eq!(e.code(), "unsafe_xml");
    assert!(e.to_string().contains("DOCTYPE declares entities"), "{e}");
    let subset = b"<!DOCTYPE svg [<!-- nothing -->]><svg xmlns=\"http://www.w3.org/2000/svg\"/>";
    assert_eq!(unbake(subset).unwrap_err().code(), "unsafe_xml");
    // Used but never declared (it would live in the external DTD, which is never loaded).
    let used = b"<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\"><svg xmlns=\"http://www.w3.org/2000/svg\"><text>&ent;</text></svg>";
    let e = unbake(used).unwrap_err();
    assert_eq!(e.code(), "unsafe_xml");
    assert!(e.to_string().contains("&ent;"), "{e}");
    // An external DOCTYPE alone is fine, and a '[' inside its quoted identifier is no subset.
    let external = b"<!DOCTYPE svg SYSTEM \"http://example.org/a[1].dtd\"><svg xmlns=\"http://www.w3.org/2000/svg\"/>";
    assert!(unbake(external).unwrap().is_none());
}

#[test]
fn cdata_terminator_in_json_round_trips() {
    let mut v: serde_json::Value = serde_json::from_str(V3_JSON).unwrap();
    v["name"] = "a]]>b ]]]]> <![CDATA[ ]]".into();
    let json = serde_json::to_string(&v).unwrap();
    let out = bake_ok(
        &fixture("plain.svg"),
        BadgeFormat::V3,
        BakeInput::json(&json),
    );
    assert!(s(&out).contains("a]]]]><![CDATA[>b"));
    assert_eq!(unbake_some(&out).text, json);
    assert_eq!(bake_ok(&out, BadgeFormat::V3, BakeInput::json(&json)), out);
}

#[test]
fn crlf_json_round_trips_exactly() {
    let json = V3_JSON.replace(",\"", ",\r\n\"");
    let out = bake_ok(
        &fixture("plain.svg"),
        BadgeFormat::V3,
        BakeInput::json(&json),
    );
    assert!(!out.contains(&b'\r'), "a raw CR would come back as LF");
    assert_eq!(unbake_some(&out).text, json);
}

#[test]
fn svg_keeps_the_other_version() {
    let v3 = bake_ok(
        &onedtech("simple-json.svg"),
        BadgeFormat::V3,
        BakeInput::json(V3_JSON),
    );
    let both = bake_ok(&v3, BadgeFormat::V2, BakeInput::json(V2_JSON));
    let doc = s(&both);
    assert!(
        after_root_tag(doc).starts_with(
            "<openbadges:assertion xmlns:openbadges=\"http://openbadges.org\" verify="
        ),
        "{doc}"
    );
    assert_eq!(doc.matches("<openbadges:credential>").count(), 1);
    let u = unbake_some(&both);
    assert_eq!((u.format, u.text.as_str()), (BadgeFormat::V2, V2_JSON));
    assert_eq!(
        u.warnings,
        vec![UnbakeWarning::OtherFormatPresent {
            format: BadgeFormat::V3
        }]
    );
    assert_eq!(
        unbake_format(&both, BadgeFormat::V3).unwrap().unwrap().text,
        V3_JSON
    );
    let info = inspect_image(&both, &ImageLimits::default()).unwrap();
    assert_eq!(info.badge_data, vec![BadgeFormat::V2, BadgeFormat::V3]);
}

#[test]
fn svg_elements_are_told_apart_by_namespace_not_name() {
    // The v3p0 credential element is 3.0 and the openbadges.org assertion is 2.0; the crossed
    // combinations are neither.
    let crossed = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:a=\"http://openbadges.org\" xmlns:b=\"https://purl.imsglobal.org/ob/v3p0\"><a:credential><![CDATA[{V3_JSON}]]></a:credential><b:assertion verify=\"https://x.example/1\"/></svg>"
    );
    assert!(unbake(crossed.as_bytes()).unwrap().is_none());
    let v3 = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><c:credential xmlns:c=\"https://purl.imsglobal.org/ob/v3p0\"><![CDATA[{V3_JSON}]]></c:credential></svg>"
    );
    assert_eq!(unbake_some(v3.as_bytes()).format, BadgeFormat::V3);
    let v2 = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><assertion xmlns=\"http://openbadges.org\"><![CDATA[{V2_JSON}]]></assertion></svg>"
    );
    assert_eq!(unbake_some(v2.as_bytes()).format, BadgeFormat::V2);
}

// ---------------------------------------------------------------------------------------------
// 1EdTech fixtures (Apache-2.0, from 1EdTech/digital-credentials-public-validator)

fn expected(name: &str) -> String {
    String::from_utf8(onedtech(&format!("expected/{name}"))).unwrap()
}

/// simple.json with its `proof` removed: the baked images carry the same credential with a
/// later proof.
fn without_proof(mut v: serde_json::Value) -> serde_json::Value {
    v.as_object_mut().unwrap().remove("proof");
    v
}

#[test]
fn onedtech_simple_json_png() {
    let u = unbake_some(&onedtech("simple-json.png"));
    assert_eq!((u.format, u.kind), (BadgeFormat::V3, PayloadKind::Json));
    assert_eq!(
        u.text,
        expected("simple-json.png.txt"),
        "exactly the iTXt text"
    );
    assert!(u.warnings.is_empty(), "{:?}", u.warnings);
    // The image's JSON is on one line; compare with simple.json as values.
    let simple: serde_json::Value = serde_json::from_slice(&onedtech("simple.json")).unwrap();
    let ours: serde_json::Value = serde_json::from_str(&u.text).unwrap();
    assert_eq!(without_proof(ours), without_proof(simple));
}

#[test]
fn onedtech_simple_jwt_png() {
    let u = unbake_some(&onedtech("simple-jwt.png"));
    assert_eq!((u.format, u.kind), (BadgeFormat::V3, PayloadKind::Jws));
    assert_eq!(u.text, expected("simple-jwt.png.txt"), "exactly the JWS");
}

#[test]
fn onedtech_simple_json_svg() {
    let svg = onedtech("simple-json.svg");
    let u = unbake_some(&svg);
    assert_eq!(
        (u.format, u.kind, u.verify_url.clone()),
        (BadgeFormat::V3, PayloadKind::Json, None)
    );
    // The element's text exactly, after XML line-end normalisation (the file uses CRLF).
    assert_eq!(u.text, expected("simple-json.svg.txt"));
    // Whitespace differs from the PNG's copy: compare as values.
    let png_u = unbake_some(&onedtech("simple-json.png"));
    let a: serde_json::Value = serde_json::from_str(&u.text).unwrap();
    let b: serde_json::Value = serde_json::from_str(&png_u.text).unwrap();
    assert_eq!(a, b);
}

#[test]
fn onedtech_simple_jwt_svg() {
    let u = unbake_some(&onedtech("simple-jwt.svg"));
    assert_eq!((u.format, u.kind), (BadgeFormat::V3, PayloadKind::Jws));
    assert_eq!(
        u.text,
        expected("simple-jwt.svg.txt"),
        "exactly the verify attribute"
    );
}

#[test]
fn onedtech_images_rebake_in_place() {
    for name in ["simple-json.png", "simple-jwt.png"] {
        let image = onedtech(name);
        let old = unbake_some(&image);
        let out = bake_ok(&image, BadgeFormat::V3, BakeInput::json(V3_JSON));
        // Their chunk after IDAT is removed, ours goes after IHDR, everything else is kept.
        assert_spliced(&image, &out, "openbadgecredential", V3_JSON);
        assert_ne!(unbake_some(&out).text, old.text);
    }
    for name in ["simple-json.svg", "simple-jwt.svg"] {
        let image = onedtech(name);
        let out = bake_ok(&image, BadgeFormat::V3, BakeInput::json(V3_JSON));
        let doc = s(&out);
        assert_eq!(
            doc.matches("openbadges:credential").count(),
            2,
            "one start and one end tag"
        );
        assert!(after_root_tag(doc).starts_with("<openbadges:credential><![CDATA["));
        assert_eq!(unbake_some(&out).text, V3_JSON);
    }
}

#[test]
fn onedtech_payloads_bake_and_round_trip() {
    let json = String::from_utf8(onedtech("simple.json")).unwrap();
    let jwt = String::from_utf8(onedtech("simple.jwt")).unwrap();
    for image in [fixture("p0.png"), fixture("plain.svg")] {
        let out = bake_ok(&image, BadgeFormat::V3, BakeInput::json(&json));
        assert_eq!(unbake_some(&out).text, json);
        let out = bake_ok(&image, BadgeFormat::V3, BakeInput::jws(jwt.trim_end()));
        assert_eq!(unbake_some(&out).text, jwt.trim_end());
    }
}

// ---------------------------------------------------------------------------------------------
// Limits

#[test]
fn limits_are_enforced() {
    let p0 = fixture("p0.png");
    let small = ImageLimits {
        max_bytes: 66,
        ..ImageLimits::default()
    };
    let e = inspect_image(&p0, &small).unwrap_err();
    assert_eq!(e.code(), "image_too_large");
    assert!(e.to_string().contains("67 bytes"), "{e}");
    let narrow = ImageLimits {
        max_width: 2,
        max_height: 2,
        ..ImageLimits::default()
    };
    assert_eq!(
        inspect_image(&fixture("adam7-rgba16.png"), &narrow)
            .unwrap_err()
            .code(),
        "dimensions_too_large"
    );
    assert_eq!(
        inspect_image(&fixture("plain.svg"), &narrow)
            .unwrap_err()
            .code(),
        "dimensions_too_large"
    );
    // A 4097-pixel-wide PNG header with the default limits.
    let mut ihdr = 4097u32.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let wide = [&SIG[..], &chunk(b"IHDR", &ihdr), &p0[33..]].concat();
    assert_eq!(
        inspect_image(&wide, &ImageLimits::default())
            .unwrap_err()
            .code(),
        "dimensions_too_large"
    );
    let wide_svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"5000\" height=\"10\"/>";
    assert_eq!(
        inspect_image(wide_svg, &ImageLimits::default())
            .unwrap_err()
            .code(),
        "dimensions_too_large"
    );
}

#[test]
fn every_error_code_is_snake_case_and_messages_are_sentences() {
    let p0 = fixture("p0.png");
    let errors: Vec<(String, String)> = [
        bake(b"", BadgeFormat::V2, BakeInput::json(V2_JSON)).unwrap_err(),
        bake(
            &fixture("jpeg-named.png"),
            BadgeFormat::V2,
            BakeInput::json(V2_JSON),
        )
        .unwrap_err(),
        bake(
            &fixture("p0-no-iend.png"),
            BadgeFormat::V2,
            BakeInput::json(V2_JSON),
        )
        .unwrap_err(),
        bake(
            &fixture("p0-bad-crc.png"),
            BadgeFormat::V2,
            BakeInput::json(V2_JSON),
        )
        .unwrap_err(),
        bake(
            &fixture("xxe.svg"),
            BadgeFormat::V2,
            BakeInput::json(V2_JSON),
        )
        .unwrap_err(),
        bake(&p0, BadgeFormat::V2, BakeInput::json("{}")).unwrap_err(),
        bake(&p0, BadgeFormat::V2, BakeInput::hosted(V2_JSON, "ftp://x")).unwrap_err(),
    ]
    .iter()
    .map(|e| (e.code().to_owned(), e.to_string()))
    .collect();
    for (code, message) in errors {
        assert!(
            code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{code}"
        );
        assert!(
            message.len() > 30 && message.contains(':'),
            "{code}: {message}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests through the public API

fn with_name(format: BadgeFormat, name: &str) -> String {
    match format {
        BadgeFormat::V2 => v2_named(name),
        BadgeFormat::V3 => v3_named(name),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn png_round_trip_any_text(name in any::<String>(), v3 in any::<bool>(), which in 0usize..4) {
        let format = if v3 { BadgeFormat::V3 } else { BadgeFormat::V2 };
        let image = fixture(["p0.png", "adam7-rgba16.png", "palette-trns.png", "p0-text-and-itxt.png"][which]);
        let json = with_name(format, &name);
        let out = bake(&image, format, BakeInput::json(&json)).unwrap();
        assert_spliced(&image, &out, format.png_keyword(), &json);
        let u = unbake(&out).unwrap().unwrap();
        prop_assert_eq!(&u.text, &json);
        prop_assert_eq!(bake(&out, format, BakeInput::json(&json)).unwrap(), out);
    }

    #[test]
    fn svg_round_trip_any_text(name in "(\\PC|\\]\\]>|\r\n|\r|\t)*", v3 in any::<bool>(), which in 0usize..4) {
        let format = if v3 { BadgeFormat::V3 } else { BadgeFormat::V2 };
        let image = fixture(["plain.svg", "self-closing.svg", "imposter-namespace.svg", "long-prolog.svg"][which]);
        let mut json = with_name(format, &name);
        // A raw CR LF between JSON tokens, too.
        json = json.replacen('{', "{\r\n ", 1);
        match bake(&image, format, BakeInput::json(&json)) {
            Ok(out) => {
                let u = unbake(&out).unwrap().unwrap();
                prop_assert_eq!(&u.text, &json);
                prop_assert_eq!(bake(&out, format, BakeInput::json(&json)).unwrap(), out);
            }
            Err(e) => prop_assert_eq!(e.code(), "payload_not_xml_safe"),
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = baking::sniff(&bytes);
        let _ = inspect_image(&bytes, &ImageLimits::default());
        let _ = unbake(&bytes);
        let _ = bake(&bytes, BadgeFormat::V2, BakeInput::json(V2_JSON));
    }
}
