//! PNG baking: one uncompressed `iTXt` chunk, keyword `openbadges` (Open Badges 2.0) or
//! `openbadgecredential` (3.0), written right after `IHDR`.
//!
//! Baking splices chunks: every other chunk is copied byte for byte and in order, pixels are
//! never decoded, and memory stays proportional to the file (no `IDAT` is ever inflated). Every
//! chunk's CRC is checked strictly (`bad_crc`). Bytes after `IEND` are dropped from the output
//! (never written after it) and reported by [`unbake`] as a warning.

use std::io::Read as _;

use super::{
    BadgeFormat, BakeError, BakeInput, ImageError, ImageInfo, ImageKind, MAX_PAYLOAD_BYTES,
    UnbakeError, UnbakeWarning, Unbaked, payload,
};

/// The 8-byte PNG signature.
pub const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Largest chunk length the PNG specification allows (2^31 - 1).
const MAX_CHUNK_LEN: u32 = 0x7FFF_FFFF;

/// One chunk, borrowed from the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chunk<'a> {
    /// Offset of the chunk's length field in the file.
    pub offset: usize,
    /// Chunk type, e.g. `*b"IDAT"`.
    pub kind: [u8; 4],
    /// Chunk data.
    pub data: &'a [u8],
    /// The whole chunk: length, type, data and CRC.
    pub raw: &'a [u8],
}

impl Chunk<'_> {
    fn name(&self) -> String {
        String::from_utf8_lossy(&self.kind).into_owned()
    }

    /// The keyword of a `tEXt`, `zTXt` or `iTXt` chunk (the bytes before the first NUL).
    fn text_keyword(&self) -> Option<&[u8]> {
        if !matches!(&self.kind, b"tEXt" | b"zTXt" | b"iTXt") {
            return None;
        }
        let nul = self.data.iter().position(|b| *b == 0)?;
        Some(&self.data[..nul])
    }

    /// The badge format whose keyword this text chunk carries.
    fn badge_format(&self) -> Option<BadgeFormat> {
        let keyword = self.text_keyword()?;
        BadgeFormat::ALL
            .into_iter()
            .find(|f| f.png_keyword().as_bytes() == keyword)
    }
}

/// A structurally valid PNG.
#[derive(Debug)]
pub(crate) struct Png<'a> {
    /// All chunks from `IHDR` to `IEND`, in file order.
    pub chunks: Vec<Chunk<'a>>,
    pub width: u32,
    pub height: u32,
    /// Number of bytes after `IEND`.
    pub trailing: usize,
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn malformed(offset: usize, reason: impl Into<String>) -> ImageError {
    ImageError::MalformedPng {
        offset,
        reason: reason.into(),
    }
}

/// Parses and checks a PNG: signature, `IHDR` first and valid, chunk lengths and types, every
/// CRC, `PLTE` rules, `IDAT` present and contiguous, `IEND` last and empty.
pub(crate) fn parse(bytes: &[u8]) -> Result<Png<'_>, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::EmptyBody);
    }
    if !bytes.starts_with(&SIGNATURE) {
        if SIGNATURE.starts_with(bytes) {
            return Err(ImageError::TruncatedPng {
                offset: bytes.len(),
                detail: format!("only {} of the 8 signature bytes are present", bytes.len()),
            });
        }
        let first = &bytes[..bytes.len().min(8)];
        return Err(ImageError::NotPng {
            first_bytes: hex::encode(first),
        });
    }
    let mut chunks = Vec::new();
    let mut pos = SIGNATURE.len();
    let mut ihdr: Option<(u32, u32, u8)> = None;
    let mut seen_plte = false;
    let mut idat_state = 0u8; // 0 = none yet, 1 = in the IDAT run, 2 = after it
    loop {
        let rest = &bytes[pos..];
        if rest.len() < 8 {
            let detail = if rest.is_empty() {
                "the file ends without an IEND chunk".to_owned()
            } else {
                format!(
                    "a chunk header needs 8 bytes but only {} remain",
                    rest.len()
                )
            };
            return Err(ImageError::TruncatedPng {
                offset: bytes.len(),
                detail,
            });
        }
        let len = be32(&rest[0..4]);
        let kind = [rest[4], rest[5], rest[6], rest[7]];
        let kind_name = String::from_utf8_lossy(&kind).into_owned();
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(malformed(
                pos,
                format!(
                    "the chunk type bytes {} are not four ASCII letters",
                    hex::encode(kind)
                ),
            ));
        }
        if len > MAX_CHUNK_LEN {
            return Err(malformed(
                pos,
                format!("the {kind_name} chunk claims {len} bytes, more than PNG allows"),
            ));
        }
        let len = len as usize;
        let total = 12usize.saturating_add(len);
        if rest.len() < total {
            return Err(ImageError::TruncatedPng {
                offset: bytes.len(),
                detail: format!(
                    "the {kind_name} chunk at byte {pos} needs {total} bytes but only {} remain",
                    rest.len()
                ),
            });
        }
        let data = &rest[8..8 + len];
        let stored = be32(&rest[8 + len..12 + len]);
        let computed = crc(&kind, data);
        if stored != computed {
            return Err(ImageError::BadCrc {
                chunk: kind_name,
                offset: pos,
                stored,
                computed,
            });
        }
        let chunk = Chunk {
            offset: pos,
            kind,
            data,
            raw: &rest[..total],
        };
        match &kind {
            b"IHDR" => {
                if ihdr.is_some() {
                    return Err(malformed(pos, "the PNG has a second IHDR chunk"));
                }
                ihdr = Some(check_ihdr(pos, data)?);
            }
            _ if ihdr.is_none() => {
                return Err(malformed(
                    pos,
                    format!("the first chunk is {kind_name}, but it must be IHDR"),
                ));
            }
            b"PLTE" => {
                let color_type = ihdr.map(|h| h.2).unwrap_or(0);
                if seen_plte {
                    return Err(malformed(pos, "the PNG has a second PLTE chunk"));
                }
                if idat_state != 0 {
                    return Err(malformed(pos, "the PLTE chunk comes after IDAT"));
                }
                if color_type == 0 || color_type == 4 {
                    return Err(malformed(pos, "a greyscale PNG must not have a PLTE chunk"));
                }
                if len == 0 || !len.is_multiple_of(3) || len > 768 {
                    return Err(malformed(
                        pos,
                        format!("the PLTE chunk is {len} bytes, not 3 to 768 bytes in steps of 3"),
                    ));
                }
                seen_plte = true;
            }
            b"IDAT" => {
                if idat_state == 2 {
                    return Err(malformed(pos, "the IDAT chunks are not consecutive"));
                }
                if idat_state == 0 && ihdr.map(|h| h.2) == Some(3) && !seen_plte {
                    return Err(malformed(
                        pos,
                        "a palette PNG needs a PLTE chunk before IDAT",
                    ));
                }
                idat_state = 1;
            }
            b"IEND" => {
                if len != 0 {
                    return Err(malformed(pos, "the IEND chunk is not empty"));
                }
                if idat_state == 0 {
                    return Err(malformed(pos, "the PNG has no IDAT chunk, so no pixels"));
                }
                chunks.push(chunk);
                let end = pos + total;
                let (width, height, _) = ihdr.unwrap_or((0, 0, 0));
                return Ok(Png {
                    chunks,
                    width,
                    height,
                    trailing: bytes.len() - end,
                });
            }
            _ => {}
        }
        if idat_state == 1 && &kind != b"IDAT" {
            idat_state = 2;
        }
        chunks.push(chunk);
        pos += total;
    }
}

/// Checks the IHDR fields; returns (width, height, colour type).
fn check_ihdr(pos: usize, data: &[u8]) -> Result<(u32, u32, u8), ImageError> {
    if data.len() != 13 {
        return Err(malformed(
            pos,
            format!("the IHDR chunk is {} bytes, not 13", data.len()),
        ));
    }
    let width = be32(&data[0..4]);
    let height = be32(&data[4..8]);
    let (depth, color, compression, filter, interlace) =
        (data[8], data[9], data[10], data[11], data[12]);
    if width == 0 || height == 0 || width > MAX_CHUNK_LEN || height > MAX_CHUNK_LEN {
        return Err(malformed(
            pos,
            format!("the IHDR size {width} x {height} is not allowed"),
        ));
    }
    let depths: &[u8] = match color {
        0 => &[1, 2, 4, 8, 16],
        2 | 4 | 6 => &[8, 16],
        3 => &[1, 2, 4, 8],
        _ => {
            return Err(malformed(
                pos,
                format!("the IHDR colour type {color} does not exist"),
            ));
        }
    };
    if !depths.contains(&depth) {
        return Err(malformed(
            pos,
            format!("bit depth {depth} is not allowed with colour type {color}"),
        ));
    }
    if compression != 0 || filter != 0 || interlace > 1 {
        return Err(malformed(
            pos,
            "the IHDR compression, filter or interlace method is unknown",
        ));
    }
    Ok((width, height, color))
}

/// CRC-32 of a chunk's type and data.
pub(crate) fn crc(kind: &[u8; 4], data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(kind);
    h.update(data);
    h.finalize()
}

/// Serialises a chunk: length, type, data, CRC.
pub(crate) fn write_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    // Callers keep data far below 2^31 bytes (MAX_PAYLOAD_BYTES).
    let len = u32::try_from(data.len()).unwrap_or(MAX_CHUNK_LEN);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc(kind, data).to_be_bytes());
}

/// The data of an uncompressed iTXt chunk with an empty language tag and translated keyword.
pub(crate) fn itxt_data(keyword: &str, text: &str) -> Vec<u8> {
    let mut data = Vec::with_capacity(keyword.len() + 5 + text.len());
    data.extend_from_slice(keyword.as_bytes());
    // NUL separator, compression flag 0, method 0, empty language NUL, empty translated NUL.
    data.extend_from_slice(&[0, 0, 0, 0, 0]);
    data.extend_from_slice(text.as_bytes());
    data
}

/// Splices `text` into the PNG as the `format` chunk: removes every text chunk with that
/// keyword, writes the new one right after IHDR, copies everything else as is, drops bytes
/// after IEND. The text is not checked here.
pub(crate) fn splice(png: &Png<'_>, format: BadgeFormat, text: &str) -> Vec<u8> {
    let capacity =
        SIGNATURE.len() + png.chunks.iter().map(|c| c.raw.len()).sum::<usize>() + text.len() + 64;
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(&SIGNATURE);
    for (i, chunk) in png.chunks.iter().enumerate() {
        if chunk.badge_format() == Some(format) {
            continue;
        }
        out.extend_from_slice(chunk.raw);
        if i == 0 {
            write_chunk(&mut out, b"iTXt", &itxt_data(format.png_keyword(), text));
        }
    }
    out
}

/// Bakes `input` into a PNG (see the [module documentation](self)).
pub fn bake(png: &[u8], format: BadgeFormat, input: BakeInput<'_>) -> Result<Vec<u8>, BakeError> {
    let parsed = parse(png)?;
    payload::check_for_bake(format, &input)?;
    Ok(splice(&parsed, format, input.payload.text()))
}

/// Text decoded from a chunk, with the warnings its container deserves.
pub(crate) struct ChunkText {
    pub text: String,
    pub warnings: Vec<UnbakeWarning>,
}

fn split_nul(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = data.iter().position(|b| *b == 0)?;
    Some((&data[..i], &data[i + 1..]))
}

fn inflate(data: &[u8], format: BadgeFormat) -> Result<Vec<u8>, UnbakeError> {
    let mut out = Vec::new();
    let limit = MAX_PAYLOAD_BYTES as u64 + 1;
    flate2::read::ZlibDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| UnbakeError::MalformedBadgeData {
            format,
            reason: format!("the compressed text is corrupt ({e})"),
        })?;
    if out.len() > MAX_PAYLOAD_BYTES {
        return Err(UnbakeError::PayloadTooLarge {
            format,
            max: MAX_PAYLOAD_BYTES,
        });
    }
    Ok(out)
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(*b)).collect()
}

/// Decodes a badge text chunk. iTXt is parsed by structure (keyword NUL flag method language
/// NUL translated NUL text); the language tag and translated keyword are ignored; the
/// compression flag is honoured.
pub(crate) fn decode_text_chunk(
    chunk: &Chunk<'_>,
    format: BadgeFormat,
) -> Result<ChunkText, UnbakeError> {
    let bad = |reason: &str| UnbakeError::MalformedBadgeData {
        format,
        reason: format!(
            "the {} chunk at byte {} {reason}",
            chunk.name(),
            chunk.offset
        ),
    };
    let keyword = format.png_keyword();
    let (_, rest) = split_nul(chunk.data).ok_or_else(|| bad("has no NUL after its keyword"))?;
    let mut warnings = Vec::new();
    let text = match &chunk.kind {
        b"iTXt" => {
            let [flag, method, rest @ ..] = rest else {
                return Err(bad("ends before its compression fields"));
            };
            let (_language, rest) =
                split_nul(rest).ok_or_else(|| bad("has no NUL after its language tag"))?;
            let (_translated, text) =
                split_nul(rest).ok_or_else(|| bad("has no NUL after its translated keyword"))?;
            let bytes = match (*flag, *method) {
                (0, _) => text.to_vec(),
                (1, 0) => {
                    warnings.push(UnbakeWarning::CompressedItxt { format });
                    inflate(text, format)?
                }
                (1, m) => {
                    return Err(bad(&format!(
                        "uses compression method {m}, which PNG does not define"
                    )));
                }
                (f, _) => return Err(bad(&format!("has compression flag {f}, not 0 or 1"))),
            };
            String::from_utf8(bytes).map_err(|e| {
                bad(&format!(
                    "holds text that is not UTF-8 (at byte {})",
                    e.utf8_error().valid_up_to()
                ))
            })?
        }
        b"tEXt" => {
            warnings.push(UnbakeWarning::LegacyTextChunk { keyword });
            latin1(rest)
        }
        b"zTXt" => {
            let [method, compressed @ ..] = rest else {
                return Err(bad("ends before its compression method"));
            };
            if *method != 0 {
                return Err(bad(&format!(
                    "uses compression method {method}, which PNG does not define"
                )));
            }
            warnings.push(UnbakeWarning::CompressedTextChunk { keyword });
            latin1(&inflate(compressed, format)?)
        }
        _ => return Err(bad("is not a text chunk")),
    };
    Ok(ChunkText { text, warnings })
}

/// Reads the badge data of a PNG: the first `iTXt`, `tEXt` or `zTXt` chunk with an Open Badges
/// keyword anywhere between IHDR and IEND. `Ok(None)` when there is none.
pub fn unbake(png: &[u8]) -> Result<Option<Unbaked>, UnbakeError> {
    unbake_impl(png, None)
}

/// Reads only the `format` chunk of a PNG.
pub fn unbake_format(png: &[u8], format: BadgeFormat) -> Result<Option<Unbaked>, UnbakeError> {
    unbake_impl(png, Some(format))
}

fn unbake_impl(png: &[u8], want: Option<BadgeFormat>) -> Result<Option<Unbaked>, UnbakeError> {
    let parsed = parse(png)?;
    let found: Vec<(BadgeFormat, &Chunk<'_>)> = parsed
        .chunks
        .iter()
        .filter_map(|c| c.badge_format().map(|f| (f, c)))
        .collect();
    let Some((format, chunk)) = found
        .iter()
        .find(|(f, _)| want.is_none_or(|w| w == *f))
        .copied()
    else {
        return Ok(None);
    };
    let decoded = decode_text_chunk(chunk, format)?;
    let classified = payload::classify(format, &decoded.text)?;
    let mut warnings = decoded.warnings;
    warnings.extend(classified.warnings);
    let formats: Vec<BadgeFormat> = found.iter().map(|(f, _)| *f).collect();
    warnings.extend(super::duplicate_warnings(&formats, format));
    if parsed.trailing > 0 {
        warnings.push(UnbakeWarning::TrailingBytesAfterIend {
            count: parsed.trailing,
        });
    }
    let verify_url = (classified.kind == super::PayloadKind::Url).then(|| classified.text.clone());
    Ok(Some(Unbaked {
        format,
        text: classified.text,
        verify_url,
        kind: classified.kind,
        warnings,
    }))
}

/// Structural check of a PNG for [`inspect_image`](super::inspect_image).
pub(crate) fn inspect(png: &[u8]) -> Result<ImageInfo, ImageError> {
    let parsed = parse(png)?;
    let mut badge_data: Vec<BadgeFormat> = parsed
        .chunks
        .iter()
        .filter_map(Chunk::badge_format)
        .collect();
    badge_data.sort();
    badge_data.dedup();
    Ok(ImageInfo {
        kind: ImageKind::Png,
        width: parsed.width,
        height: parsed.height,
        badge_data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use base64::Engine as _;

    fn p0() -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==")
            .unwrap()
    }

    /// P0 with extra chunks inserted after IHDR.
    fn p0_with(extra: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let p = p0();
        let mut out = p[..33].to_vec();
        for (kind, data) in extra {
            write_chunk(&mut out, kind, data);
        }
        out.extend_from_slice(&p[33..]);
        out
    }

    const V2_JSON: &str = r#"{"id":"https://issuer.example/assertions/1","type":"Assertion"}"#;
    const V3_JSON: &str =
        r#"{"id":"urn:uuid:1","type":["VerifiableCredential","OpenBadgeCredential"]}"#;

    fn kinds(png: &[u8]) -> Vec<String> {
        parse(png).unwrap().chunks.iter().map(Chunk::name).collect()
    }

    #[test]
    fn parses_p0() {
        let p = p0();
        assert_eq!(p.len(), 67);
        let parsed = parse(&p).unwrap();
        assert_eq!((parsed.width, parsed.height, parsed.trailing), (1, 1, 0));
        assert_eq!(kinds(&p), ["IHDR", "IDAT", "IEND"]);
    }

    #[test]
    fn bake_writes_itxt_after_ihdr() {
        let out = bake(&p0(), BadgeFormat::V2, BakeInput::json(V2_JSON)).unwrap();
        assert_eq!(kinds(&out), ["IHDR", "iTXt", "IDAT", "IEND"]);
        let parsed = parse(&out).unwrap();
        let itxt = parsed.chunks[1];
        assert_eq!(itxt.data, itxt_data("openbadges", V2_JSON).as_slice());
        assert!(itxt.data.starts_with(b"openbadges\0\0\0\0\0{"));
        let u = unbake(&out).unwrap().unwrap();
        assert_eq!(
            (u.format, u.text.as_str(), u.warnings.len()),
            (BadgeFormat::V2, V2_JSON, 0)
        );
    }

    #[test]
    fn bake_keeps_other_format() {
        let v3 = bake(&p0(), BadgeFormat::V3, BakeInput::json(V3_JSON)).unwrap();
        let both = bake(&v3, BadgeFormat::V2, BakeInput::json(V2_JSON)).unwrap();
        assert_eq!(kinds(&both), ["IHDR", "iTXt", "iTXt", "IDAT", "IEND"]);
        assert_eq!(
            unbake_format(&both, BadgeFormat::V3).unwrap().unwrap().text,
            V3_JSON
        );
        let u = unbake(&both).unwrap().unwrap();
        assert_eq!(u.format, BadgeFormat::V2);
        assert_eq!(
            u.warnings,
            vec![UnbakeWarning::OtherFormatPresent {
                format: BadgeFormat::V3
            }]
        );
        assert_eq!(
            bake(&both, BadgeFormat::V2, BakeInput::json(V2_JSON)).unwrap(),
            both
        );
    }

    #[test]
    fn itxt_with_bad_structure_is_malformed() {
        let png = p0_with(&[(b"iTXt", b"openbadges\0\x02\0\0\0{}".to_vec())]);
        assert_eq!(unbake(&png).unwrap_err().code(), "malformed_badge_data");
        let png = p0_with(&[(b"iTXt", b"openbadges\0\0\0".to_vec())]);
        assert_eq!(unbake(&png).unwrap_err().code(), "malformed_badge_data");
        let png = p0_with(&[(b"iTXt", b"openbadges\0\x01\0\0\0not zlib".to_vec())]);
        assert_eq!(unbake(&png).unwrap_err().code(), "malformed_badge_data");
        let png = p0_with(&[(b"iTXt", b"openbadges\0\0\0\0\0\xff\xfe".to_vec())]);
        assert_eq!(unbake(&png).unwrap_err().code(), "malformed_badge_data");
    }

    #[test]
    fn zlib_bomb_is_refused() {
        let zeros = vec![b' '; MAX_PAYLOAD_BYTES + 10];
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut enc, &zeros).unwrap();
        let compressed = enc.finish().unwrap();
        let mut data = b"openbadges\0\x01\0\0\0".to_vec();
        data.extend_from_slice(&compressed);
        let png = p0_with(&[(b"iTXt", data)]);
        assert_eq!(unbake(&png).unwrap_err().code(), "payload_too_large");
    }

    #[test]
    fn ztxt_is_read_with_warning() {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut enc, b"https://old.example/a/1").unwrap();
        let mut data = b"openbadges\0\0".to_vec();
        data.extend_from_slice(&enc.finish().unwrap());
        let png = p0_with(&[(b"zTXt", data)]);
        let u = unbake(&png).unwrap().unwrap();
        assert_eq!(u.verify_url.as_deref(), Some("https://old.example/a/1"));
        assert_eq!(
            u.warnings,
            vec![UnbakeWarning::CompressedTextChunk {
                keyword: "openbadges"
            }]
        );
        // Baking removes it.
        let out = bake(&png, BadgeFormat::V2, BakeInput::json(V2_JSON)).unwrap();
        assert_eq!(kinds(&out), ["IHDR", "iTXt", "IDAT", "IEND"]);
    }

    #[test]
    fn structural_errors() {
        let p = p0();
        let code = |b: &[u8]| parse(b).unwrap_err().code();
        assert_eq!(code(b""), "empty_body");
        assert_eq!(code(&p[..5]), "truncated_png");
        assert_eq!(code(b"GIF89a\0\0\0"), "not_png");
        assert_eq!(code(&p[..p.len() - 12]), "truncated_png");
        assert_eq!(code(&p[..p.len() - 1]), "truncated_png");
        assert_eq!(code(&p[..40]), "truncated_png");
        let mut bad = p.clone();
        bad[50] ^= 1; // inside IDAT data
        assert_eq!(code(&bad), "bad_crc");
        // No IDAT.
        let mut no_idat = p[..33].to_vec();
        write_chunk(&mut no_idat, b"IEND", b"");
        assert_eq!(code(&no_idat), "malformed_png");
        // IHDR not first.
        let mut not_first = SIGNATURE.to_vec();
        write_chunk(&mut not_first, b"tEXt", b"a\0b");
        not_first.extend_from_slice(&p[8..]);
        assert_eq!(code(&not_first), "malformed_png");
        // Non-consecutive IDAT.
        let idat = &p[33..55];
        let mut split = p[..33].to_vec();
        split.extend_from_slice(idat);
        write_chunk(&mut split, b"tEXt", b"a\0b");
        split.extend_from_slice(idat);
        write_chunk(&mut split, b"IEND", b"");
        assert_eq!(code(&split), "malformed_png");
        // Bad IHDR colour type / depth.
        let mut ihdr = p[16..29].to_vec();
        ihdr[9] = 7;
        let mut bad_ihdr = SIGNATURE.to_vec();
        write_chunk(&mut bad_ihdr, b"IHDR", &ihdr);
        bad_ihdr.extend_from_slice(&p[33..]);
        assert_eq!(code(&bad_ihdr), "malformed_png");
        // Palette PNG without PLTE.
        let mut ihdr = p[16..29].to_vec();
        ihdr[9] = 3;
        let mut no_plte = SIGNATURE.to_vec();
        write_chunk(&mut no_plte, b"IHDR", &ihdr);
        no_plte.extend_from_slice(&p[33..]);
        assert_eq!(code(&no_plte), "malformed_png");
        // Chunk length beyond 2^31-1.
        let mut huge = p[..33].to_vec();
        huge.extend_from_slice(&[0x80, 0, 0, 0]);
        huge.extend_from_slice(b"tEXt");
        assert_eq!(code(&huge), "malformed_png");
        // Garbage chunk type.
        let mut garbage = p[..33].to_vec();
        garbage.extend_from_slice(&[0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0]);
        assert_eq!(code(&garbage), "malformed_png");
    }

    #[test]
    fn messages_name_the_value() {
        let mut bad = p0();
        bad[50] ^= 1;
        let msg = parse(&bad).unwrap_err().to_string();
        assert!(msg.contains("IDAT") && msg.contains("byte 33"), "{msg}");
        let msg = parse(b"\xff\xd8\xff\xe0").unwrap_err().to_string();
        assert!(msg.contains("ffd8ffe0"), "{msg}");
    }

    fn strict_chunks(png: &[u8]) -> Vec<(String, Vec<u8>)> {
        // An independent strict walker: every CRC must match.
        assert!(png.starts_with(&SIGNATURE));
        let mut pos = 8;
        let mut out = Vec::new();
        while pos < png.len() {
            let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = png[pos + 4..pos + 8].try_into().unwrap();
            let data = &png[pos + 8..pos + 8 + len];
            let stored = u32::from_be_bytes(png[pos + 8 + len..pos + 12 + len].try_into().unwrap());
            assert_eq!(stored, crc32fast::hash(&[&kind[..], data].concat()));
            out.push((
                String::from_utf8(kind.to_vec()).unwrap(),
                png[pos..pos + 12 + len].to_vec(),
            ));
            pos += 12 + len;
        }
        assert_eq!(pos, png.len());
        out
    }

    fn arb_chunks() -> impl Strategy<Value = Vec<([u8; 4], Vec<u8>)>> {
        let kind = prop_oneof![
            Just(*b"tEXt"),
            Just(*b"iTXt"),
            Just(*b"zTXt"),
            Just(*b"gAMA"),
            Just(*b"pHYs"),
            Just(*b"abCd"),
        ];
        let data = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            Just(b"openbadges\0\0\0\0\0x".to_vec()),
            Just(b"openbadgecredential\0\0\0\0\0y".to_vec()),
            Just(b"openbadges\0http://x.example/1".to_vec()),
        ];
        proptest::collection::vec((kind, data), 0..6)
    }

    fn build(extra: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
        let refs: Vec<(&[u8; 4], Vec<u8>)> = extra.iter().map(|(k, d)| (k, d.clone())).collect();
        p0_with(&refs)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn splice_round_trips_any_utf8(text in any::<String>(), extra in arb_chunks(), v3 in any::<bool>()) {
            let format = if v3 { BadgeFormat::V3 } else { BadgeFormat::V2 };
            let input = build(&extra);
            let parsed = parse(&input).unwrap();
            let out = splice(&parsed, format, &text);
            // Every output chunk passes a strict CRC check.
            let chunks = strict_chunks(&out);
            // Exactly one chunk with our keyword, an iTXt right after IHDR.
            let ours: Vec<_> = parse(&out).unwrap().chunks.iter().filter(|c| c.badge_format() == Some(format)).map(|c| c.offset).collect();
            prop_assert_eq!(ours.len(), 1);
            prop_assert_eq!(&chunks[1].0, "iTXt");
            prop_assert_eq!(ours[0], 33);
            // The text reads back exactly.
            let out_parsed = parse(&out).unwrap();
            let decoded = decode_text_chunk(&out_parsed.chunks[1], format).unwrap();
            prop_assert_eq!(&decoded.text, &text);
            // Every original chunk except ours is kept byte-identical and in order.
            let kept: Vec<Vec<u8>> = parsed.chunks.iter().filter(|c| c.badge_format() != Some(format)).map(|c| c.raw.to_vec()).collect();
            let after: Vec<Vec<u8>> = chunks.iter().enumerate().filter(|(i, _)| *i != 1).map(|(_, c)| c.1.clone()).collect();
            prop_assert_eq!(kept, after);
            // Idempotent.
            let again = splice(&parse(&out).unwrap(), format, &text);
            prop_assert_eq!(again, out);
        }

        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse(&bytes);
            let _ = unbake(&bytes);
        }

        #[test]
        fn mutated_png_never_panics(extra in arb_chunks(), at in any::<usize>(), byte in any::<u8>(), cut in any::<usize>()) {
            let mut png = build(&extra);
            let i = at % png.len();
            png[i] = byte;
            png.truncate(cut % (png.len() + 1));
            let _ = unbake(&png);
            let _ = bake(&png, BadgeFormat::V2, BakeInput::json(V2_JSON));
            let _ = inspect(&png);
        }
    }
}
