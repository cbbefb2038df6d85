#!/usr/bin/env python3
"""Generate the benchmark inputs in this folder.

Uses the Python standard library only, so it runs before any venv exists. Every pixel and
every SVG coordinate comes from a fixed-seed xorshift generator, so two runs give the same
pixels and markup. The PNG bytes also depend on the zlib build that compresses them: the
committed files are the reference, and a rerun with another zlib may differ by a few bytes
of IDAT while the pixels stay the same.

Run from anywhere: python3 bench/inputs/generate.py
"""

from __future__ import annotations

import base64
import json
import math
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LEVELS = REPO / "infra" / "local" / "assets" / "levels"

# libpng splits IDAT data into chunks of this size by default, as the level artwork shows.
IDAT_CHUNK = 8192

ASSERTION_URL = "https://badges.music.example.org/assertions/6f1c2a4e-8d3b-4b7a-9c1e-2f5d7a9b3c41"


class XorShift32:
    """A tiny deterministic generator, so the output never depends on Python's `random`."""

    def __init__(self, seed: int) -> None:
        self.state = seed & 0xFFFFFFFF or 1

    def next(self) -> int:
        x = self.state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.state = x
        return x

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * (self.next() / 0xFFFFFFFF)


def chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def idat_chunks(raw: bytes) -> bytes:
    compressed = zlib.compress(raw, 9)
    return b"".join(
        chunk(b"IDAT", compressed[i : i + IDAT_CHUNK])
        for i in range(0, len(compressed), IDAT_CHUNK)
    )


def ihdr(width: int, height: int, bit_depth: int, colour_type: int) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0))


def colour_chunks() -> bytes:
    """Return gAMA, cHRM and sRGB chunks with the values that the PNG specification
    recommends beside sRGB, for decoders that ignore sRGB."""
    gama = chunk(b"gAMA", struct.pack(">I", 45455))
    chrm = chunk(
        b"cHRM",
        struct.pack(">8I", 31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000),
    )
    srgb = chunk(b"sRGB", bytes([0]))
    return gama + chrm + srgb


def sub_filter(row: bytearray, bytes_per_pixel: int) -> bytes:
    """PNG filter type 1 (Sub): each byte minus the byte one pixel to the left."""
    out = bytearray(len(row) + 1)
    out[0] = 1
    for i, value in enumerate(row):
        left = row[i - bytes_per_pixel] if i >= bytes_per_pixel else 0
        out[i + 1] = (value - left) & 0xFF
    return bytes(out)


def badge_png_400() -> bytes:
    """Render a 400x400 RGBA badge (a shaded disc with a ring and a star, transparent
    corners, a little dither noise) with the usual ancillary chunks."""
    size = 400
    rng = XorShift32(0x0BADCE11)
    centre = (size - 1) / 2
    rows = []
    for y in range(size):
        row = bytearray(size * 4)
        for x in range(size):
            dx, dy = x - centre, y - centre
            r = math.hypot(dx, dy)
            angle = math.atan2(dy, dx)
            # Star with five points: radius varies with the angle.
            star = 95 + 45 * math.cos(5 * angle)
            if r > 196:
                pixel = (0, 0, 0, 0)
            else:
                alpha = 255 if r < 195 else int(255 * (196 - r))
                shade = 1 - r / 260
                if r < star:
                    base = (250, 204, 72)
                elif 160 < r < 172:
                    base = (255, 255, 255)
                else:
                    base = (20, 96 + int(40 * math.sin(y / 40)), 160)
                # Dither one pixel in 32 by -1, 0 or +1, as encoders do when they reduce
                # a gradient to 8 bits.
                draw = rng.next()
                noise = ((draw >> 8) % 3) - 1 if draw % 32 == 0 else 0
                pixel = tuple(
                    max(0, min(255, int(c * shade + 40 * (1 - shade)) + noise)) for c in base
                ) + (alpha,)
            row[x * 4 : x * 4 + 4] = bytes(pixel)
        rows.append(sub_filter(row, 4))
    phys = chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1))  # 72 dpi
    software = chunk(b"tEXt", b"Software\x00Accolade bench input generator")
    time_chunk = chunk(b"tIME", struct.pack(">HBBBBB", 2026, 12, 1, 9, 30, 0))
    return (
        b"\x89PNG\r\n\x1a\n"
        + ihdr(size, size, 8, 6)
        + colour_chunks()
        + phys
        + software
        + time_chunk
        + idat_chunks(b"".join(rows))
        + chunk(b"IEND", b"")
    )


def poster_png_16bit() -> bytes:
    """Render a 981x941 RGBA image at 16 bits per sample: smooth gradients and soft discs,
    as a print-quality export of badge artwork looks."""
    width, height = 981, 941
    discs = [(260, 300, 180), (700, 420, 220), (480, 720, 150)]
    rows = []
    for y in range(height):
        row = bytearray(width * 8)
        for x in range(width):
            red = x * 65535 // (width - 1)
            green = y * 65535 // (height - 1)
            blue = 32768 + int(16000 * math.sin((x + y) / 97))
            alpha = 65535
            for cx, cy, radius in discs:
                d = math.hypot(x - cx, y - cy)
                if d < radius:
                    weight = 1 - d / radius
                    blue = int(blue * (1 - weight) + 65535 * weight)
            struct.pack_into(">4H", row, x * 8, red, green, blue, alpha)
        rows.append(sub_filter(row, 8))
    phys = chunk(b"pHYs", struct.pack(">IIB", 11811, 11811, 1))  # 300 dpi
    software = chunk(b"tEXt", b"Software\x00Accolade bench input generator")
    return (
        b"\x89PNG\r\n\x1a\n"
        + ihdr(width, height, 16, 6)
        + colour_chunks()
        + phys
        + software
        + idat_chunks(b"".join(rows))
        + chunk(b"IEND", b"")
    )


def svg_path(rng: XorShift32, cx: float, cy: float, spread: float, segments: int) -> str:
    """Return a closed path of cubic curves around (cx, cy), with coordinates at two
    decimals as vector editors write them."""
    parts = [f"M{cx + rng.uniform(-spread, spread):.2f},{cy + rng.uniform(-spread, spread):.2f}"]
    for _ in range(segments):
        coords = [
            f"{cx + rng.uniform(-spread, spread):.2f},{cy + rng.uniform(-spread, spread):.2f}"
            for _ in range(3)
        ]
        parts.append("C" + " ".join(coords))
    parts.append("Z")
    return "".join(parts)


def badge_svg(target_bytes: int, seed: int, embed_raster: bytes | None) -> str:
    """Return a badge design as an illustration tool exports it: gradients, a filter, groups
    of paths, text, and optionally an embedded raster layer. Paths are added until the file
    reaches `target_bytes`."""
    rng = XorShift32(seed)
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="400" height="400" viewBox="0 0 400 400">\n'
        "<!-- Generated by the Accolade bench input generator. -->\n"
        "<title>Ensemble leader badge</title>\n"
        "<defs>\n"
        '  <linearGradient id="rim" x1="0" y1="0" x2="0" y2="1">'
        '<stop offset="0" stop-color="#1e6fa8"/><stop offset="1" stop-color="#0b3556"/></linearGradient>\n'
        '  <radialGradient id="face" cx="0.5" cy="0.4" r="0.6">'
        '<stop offset="0" stop-color="#fbe39a"/><stop offset="1" stop-color="#d99a1e"/></radialGradient>\n'
        '  <filter id="shadow"><feGaussianBlur in="SourceAlpha" stdDeviation="3"/>'
        '<feOffset dx="0" dy="2"/><feMerge><feMergeNode/><feMergeNode in="SourceGraphic"/></feMerge></filter>\n'
        "</defs>\n"
        '<circle cx="200" cy="200" r="196" fill="url(#rim)"/>\n'
        '<circle cx="200" cy="200" r="170" fill="url(#face)" filter="url(#shadow)"/>\n'
    )
    tail = (
        '<text x="200" y="330" text-anchor="middle" font-family="sans-serif" font-size="28" '
        'fill="#0b3556">Lead</text>\n</svg>\n'
    )
    raster = ""
    if embed_raster is not None:
        raster = (
            '<image x="100" y="100" width="200" height="200" xlink:href="data:image/png;base64,'
            + base64.b64encode(embed_raster).decode("ascii")
            + '"/>\n'
        )
    body: list[str] = []
    size = len(head) + len(tail) + len(raster)
    group = 0
    while size < target_bytes:
        colour = f"#{rng.next() % 0xFFFFFF:06x}"
        opacity = 0.3 + (rng.next() % 60) / 100
        paths = []
        for _ in range(8):
            d = svg_path(rng, 200, 200, 150, 6)
            paths.append(f'  <path d="{d}"/>\n')
        block = (
            f'<g id="layer-{group}" fill="{colour}" fill-opacity="{opacity:.2f}" '
            f'stroke="#0b3556" stroke-width="0.75">\n' + "".join(paths) + "</g>\n"
        )
        if size + len(block) > target_bytes and body:
            break
        body.append(block)
        size += len(block)
        group += 1
    return head + raster + "".join(body) + tail


def assertion_json() -> str:
    """Return an Open Badges 2.0 hosted assertion in the shape Accolade mints."""
    assertion = {
        "@context": "https://w3id.org/openbadges/v2",
        "type": "Assertion",
        "id": ASSERTION_URL,
        "recipient": {
            "type": "email",
            "hashed": True,
            "salt": "c2b8e7a1f04d4f6e9a3b5d7c1e2f4a6b",
            "identity": "sha256$5d1f1f3b8f0e8c0b7b1c1a5e5d2c9e7f0a3b6c8d9e1f2a4b5c6d7e8f9a0b1c2d",
        },
        "badge": "https://badges.music.example.org/badges/0e4b7c2d-1a9f-4c3e-8b5d-7f2a6c9e1b30",
        "verification": {"type": "HostedBadge"},
        "issuedOn": "2026-11-28T15:30:00Z",
        "image": ASSERTION_URL + "/image.png",
        "evidence": [
            {
                "type": "Evidence",
                "narrative": "Led the string section in the winter concert and ran two sectional rehearsals.",
            }
        ],
        "narrative": "Took part in every day of the holiday course and performed in the final concert.",
    }
    return json.dumps(assertion, separators=(",", ":"))


def credential_claims() -> str:
    """Return the JWT claims of an Open Badges 3.0 VC-JWT: an OpenBadgeCredential in the
    shape Accolade mints, under `vc`, with the registered claims beside it."""
    base = "https://badges.music.example.org"
    award = "6f1c2a4e-8d3b-4b7a-9c1e-2f5d7a9b3c41"
    achievement = "0e4b7c2d-1a9f-4c3e-8b5d-7f2a6c9e1b30"
    issuer = base + "/issuers/3a7d9c1e-5b2f-4e8a-9d6c-1f3b5a7c9e20"
    credential = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
        ],
        "id": f"urn:uuid:{award}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {
            "id": issuer,
            "type": ["Profile"],
            "name": "Riverside Music Service",
            "url": "https://music.example.org",
            "email": "badges@music.example.org",
        },
        "validFrom": "2026-11-28T15:30:00Z",
        "name": "Participate: Holiday Course Musician",
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityHash": "sha256$5d1f1f3b8f0e8c0b7b1c1a5e5d2c9e7f0a3b6c8d9e1f2a4b5c6d7e8f9a0b1c2d",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "salt": "c2b8e7a1f04d4f6e9a3b5d7c1e2f4a6b",
                }
            ],
            "achievement": {
                "id": f"{base}/achievements/{achievement}",
                "type": ["Achievement"],
                "name": "Participate: Holiday Course Musician",
                "description": "Made music with others on a week-long holiday course.",
                "criteria": {
                    "narrative": "Took part in every day of a Riverside Music Service holiday course: "
                    "rehearsing in sections and full ensemble, and performing in the final concert."
                },
                "image": {"id": f"{base}/badges/{achievement}/image.png", "type": "Image"},
                "achievementType": "Badge",
                "tag": ["Participate"],
                "alignment": [
                    {
                        "type": ["Alignment"],
                        "targetName": "Participate",
                        "targetUrl": f"{base}/levels/participate",
                        "targetDescription": "Active music making: taking part in a band, choir, "
                        "ensemble or holiday course.",
                        "targetFramework": "Accolade music levels",
                    }
                ],
            },
            "narrative": "Played violin in the holiday course orchestra for a week.",
        },
        "credentialStatus": {
            "id": f"{base}/issuers/3a7d9c1e-5b2f-4e8a-9d6c-1f3b5a7c9e20/revocations",
            "type": "1EdTechRevocationList",
        },
        "credentialSchema": [
            {
                "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
                "type": "1EdTechJsonSchemaValidator2019",
            }
        ],
    }
    claims = {
        "iss": issuer,
        "jti": f"urn:uuid:{award}",
        "sub": "sha256$5d1f1f3b8f0e8c0b7b1c1a5e5d2c9e7f0a3b6c8d9e1f2a4b5c6d7e8f9a0b1c2d",
        "nbf": 1795879800,
        "vc": credential,
    }
    return json.dumps(claims, separators=(",", ":"))


def signing_keys() -> None:
    """Make the bench-only signing keys for the VC-JWT benchmark: RSA 2048 (RS256) and
    P-256 (ES256) as PKCS#8 PEM, the form issuer keys are stored in. Key generation is
    random, so existing files are kept and only missing ones are made (with the openssl
    command). These keys sign nothing but benchmark tokens."""
    folder = HERE / "keys"
    folder.mkdir(exist_ok=True)
    specs = {
        "rs256": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        "es256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    }
    for name, options in specs.items():
        path = folder / f"bench-only-{name}.pem"
        if not path.exists():
            subprocess.run(
                ["openssl", "genpkey", *options, "-out", str(path)],
                check=True,
                stderr=subprocess.DEVNULL,
            )


def main() -> None:
    levels_out = HERE / "levels"
    levels_out.mkdir(exist_ok=True)
    for level in ("engage", "participate", "demonstrate", "lead"):
        for extension in ("png", "svg"):
            shutil.copyfile(LEVELS / f"{level}.{extension}", levels_out / f"{level}.{extension}")

    badge = badge_png_400()
    (HERE / "badge-400-rgba.png").write_bytes(badge)
    (HERE / "poster-981x941-16bit.png").write_bytes(poster_png_16bit())
    (HERE / "badge-20k.svg").write_text(badge_svg(20_000, 0x5EED0020, None), encoding="utf-8")
    # The large design embeds the 400x400 badge as its raster layer, as exported designs often do.
    (HERE / "badge-300k.svg").write_text(badge_svg(300_000, 0x5EED0300, badge), encoding="utf-8")
    # No trailing newline: the file is the exact payload that every tool bakes.
    (HERE / "assertion.json").write_text(assertion_json(), encoding="utf-8")
    (HERE / "credential-claims.json").write_text(credential_claims(), encoding="utf-8")
    signing_keys()

    for path in sorted(HERE.rglob("*")):
        if path.is_file() and path.suffix in {".png", ".svg", ".json", ".pem"} and "baked" not in path.parts:
            print(f"{path.relative_to(HERE)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
