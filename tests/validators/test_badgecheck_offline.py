"""Self-test of badgecheck_offline.py against a hand-written Open Badges 2.0 badge.

Run with the badgecheck venv, from any directory:
    .venv/badgecheck/bin/python -m unittest discover -s tests/validators -p 'test_*.py' -v

A local HTTP server on 127.0.0.1 hosts an assertion, its BadgeClass, its
Issuer and a PNG image on one origin, which badgecheck's hosted
verification requires. The tests prove that the wrapper reaches a verdict
offline, that the verdict depends on the recipient, and that it never
contacts a non-loopback host.
"""

import http.server
import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile
import textwrap
import threading
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
WRAPPER = os.path.join(HERE, "badgecheck_offline.py")
OB2_CONTEXT = "https://w3id.org/openbadges/v2"

# sha256("alice@example.org" + "pepper42"), the salted identity hash that
# Open Badges 2.0 defines for hashed email recipients.
ALICE_IDENTITY = "sha256$67daac04f8729a3e9b9074c030271f7378d54f4dd121a1836faa5c9542cb40ff"
WRAPPER_TIMEOUT_SECONDS = 120

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_TOOL_FAILED = 2


def png_chunk(chunk_type, data):
    body = chunk_type + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def make_png(size=16, extra_chunks=()):
    """Build a size x size RGBA PNG: a teal square with an orange diagonal."""
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter type 0 (None) for every scanline
        for x in range(size):
            row += bytes((240, 120, 20, 255)) if x == y else bytes((20, 130, 140, 255))
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    chunks = [png_chunk(b"IHDR", header), *extra_chunks]
    chunks.append(png_chunk(b"IDAT", zlib.compress(b"".join(rows))))
    chunks.append(png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def bake_png(assertion_json):
    """Embed an assertion in a PNG as the uncompressed iTXt chunk that Open Badges 2.0 defines."""
    itxt = b"openbadges\x00\x00\x00\x00\x00" + assertion_json.encode("utf-8")
    return make_png(extra_chunks=[png_chunk(b"iTXt", itxt)])


def badge_documents(origin):
    """Return path -> (content type, body) for a hosted Open Badges 2.0 badge on origin."""
    issuer = {
        "@context": OB2_CONTEXT,
        "type": "Issuer",
        "id": f"{origin}/issuer",
        "name": "Accolade Test Issuer",
        "url": f"{origin}/",
        "email": "badges@example.org",
    }
    badge_class = {
        "@context": OB2_CONTEXT,
        "type": "BadgeClass",
        "id": f"{origin}/badges/engage",
        "name": "Engage",
        "description": "Took a first step in making music with others.",
        "image": f"{origin}/images/engage.png",
        "criteria": {"narrative": "Joined a music session and tried an instrument or voice."},
        "issuer": f"{origin}/issuer",
    }
    assertion = {
        "@context": OB2_CONTEXT,
        "type": "Assertion",
        "id": f"{origin}/assertions/1",
        "recipient": {
            "type": "email",
            "hashed": True,
            "salt": "pepper42",
            "identity": ALICE_IDENTITY,
        },
        "badge": f"{origin}/badges/engage",
        "verification": {"type": "HostedBadge"},
        "issuedOn": "2026-11-02T10:00:00+00:00",
    }
    # Same origin as the valid badge, but its BadgeClass image is on a host
    # that the wrapper must never contact.
    remote_image_class = dict(badge_class, id=f"{origin}/badges/remote-image", image="https://badges.example.net/engage.png")
    remote_image_assertion = dict(assertion, id=f"{origin}/assertions/2", badge=f"{origin}/badges/remote-image")
    # A BadgeClass without the required name and criteria.
    incomplete_class = {key: value for key, value in badge_class.items() if key not in ("name", "criteria")}
    incomplete_class["id"] = f"{origin}/badges/incomplete"
    incomplete_assertion = dict(assertion, id=f"{origin}/assertions/3", badge=f"{origin}/badges/incomplete")

    ld_json = "application/ld+json"
    documents = {
        "/issuer": (ld_json, issuer),
        "/badges/engage": (ld_json, badge_class),
        "/assertions/1": (ld_json, assertion),
        "/badges/remote-image": (ld_json, remote_image_class),
        "/assertions/2": (ld_json, remote_image_assertion),
        "/badges/incomplete": (ld_json, incomplete_class),
        "/assertions/3": (ld_json, incomplete_assertion),
    }
    served = {path: (kind, json.dumps(body).encode("utf-8")) for path, (kind, body) in documents.items()}
    served["/images/engage.png"] = ("image/png", make_png())
    return served, assertion


class BadgeHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requested_paths.append(self.path)
        document = self.server.documents.get(self.path)
        if document is None:
            self.send_error(404)
            return
        content_type, body = document
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


# Records every name lookup and connection that the wrapper's process makes,
# then runs the wrapper. The recorder is installed before the wrapper's own
# guard, so a lookup the guard lets through reaches it.
NETWORK_RECORDER = textwrap.dedent(
    """
    import json, runpy, socket, sys
    seen = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    def getaddrinfo(host, *args, **kwargs):
        seen.append(["lookup", str(host)])
        return real_getaddrinfo(host, *args, **kwargs)
    def connect(sock, address):
        seen.append(["connect", str(address)])
        return real_connect(sock, address)
    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect
    wrapper, log_path = sys.argv[1], sys.argv[2]
    sys.argv = [wrapper] + sys.argv[3:]
    try:
        runpy.run_path(wrapper, run_name="__main__")
    finally:
        with open(log_path, "w") as log:
            json.dump(seen, log)
    """
)


class BadgecheckOfflineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if importlib.util.find_spec("openbadges") is None:
            raise AssertionError(
                f"badgecheck (package openbadges) is missing from {sys.executable}; "
                "run infra/scripts/setup-test-tools.sh and use .venv/badgecheck/bin/python"
            )

        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), BadgeHandler)
        cls.origin = f"http://127.0.0.1:{cls.server.server_address[1]}"
        cls.server.documents, cls.assertion = badge_documents(cls.origin)
        cls.server.requested_paths = []
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        cls.thread.join()

    def setUp(self):
        self.server.requested_paths.clear()
        self.scratch = tempfile.TemporaryDirectory(prefix="badgecheck-test-")
        self.addCleanup(self.scratch.cleanup)

    def run_wrapper(self, *arguments):
        """Run the wrapper under the network recorder; return (exit code, result, stderr, network log)."""
        log_path = os.path.join(self.scratch.name, "network.json")
        completed = subprocess.run(
            [sys.executable, "-c", NETWORK_RECORDER, WRAPPER, log_path, *arguments],
            capture_output=True,
            text=True,
            timeout=WRAPPER_TIMEOUT_SECONDS,
            cwd=self.scratch.name,
        )
        result = json.loads(completed.stdout) if completed.stdout.strip() else None
        with open(log_path) as log:
            network = json.load(log)
        return completed.returncode, result, completed.stderr, network

    def assert_only_loopback_traffic(self, network):
        for kind, target in network:
            self.assertTrue(
                "127.0.0.1" in target or "localhost" in target or "::1" in target,
                f"wrapper made a non-loopback {kind}: {target}",
            )

    def test_hosted_assertion_valid_for_recipient(self):
        code, result, stderr, network = self.run_wrapper(f"{self.origin}/assertions/1", "--email", "alice@example.org")

        self.assertEqual(code, EXIT_VALID, stderr)
        self.assertIs(result["report"]["valid"], True)
        self.assertEqual(result["report"]["errorCount"], 0)
        self.assertIn("badgecheck: valid", stderr)
        for path in ("/assertions/1", "/badges/engage", "/issuer", "/images/engage.png"):
            self.assertIn(path, self.server.requested_paths)
        self.assert_only_loopback_traffic(network)

    def test_hosted_assertion_invalid_for_other_recipient(self):
        code, result, stderr, network = self.run_wrapper(f"{self.origin}/assertions/1", "--email", "bob@example.org")

        self.assertEqual(code, EXIT_INVALID, stderr)
        self.assertIs(result["report"]["valid"], False)
        self.assertGreaterEqual(result["report"]["errorCount"], 1)
        errors = [m["result"] for m in result["report"]["messages"] if m["messageLevel"] == "ERROR"]
        self.assertTrue(any("bob@example.org" in error for error in errors), errors)
        self.assertIn("badgecheck: not valid", stderr)
        self.assert_only_loopback_traffic(network)

    def test_non_loopback_url_rejected_offline(self):
        code, result, stderr, network = self.run_wrapper(
            "https://badges.example.net/assertions/1", "--email", "alice@example.org"
        )

        self.assertEqual(code, EXIT_TOOL_FAILED, stderr)
        self.assertIsNone(result)
        self.assertIn("rejected https://badges.example.net/assertions/1", stderr)
        self.assertEqual(network, [])

    def test_linked_non_loopback_url_rejected(self):
        code, result, stderr, network = self.run_wrapper(f"{self.origin}/assertions/2", "--email", "alice@example.org")

        self.assertEqual(code, EXIT_TOOL_FAILED, stderr)
        self.assertIsNotNone(result, stderr)
        self.assertIn("https://badges.example.net/engage.png", stderr)
        self.assertIn("/assertions/2", self.server.requested_paths)
        self.assert_only_loopback_traffic(network)

    def test_incomplete_badge_class_invalid(self):
        code, result, stderr, network = self.run_wrapper(f"{self.origin}/assertions/3", "--email", "alice@example.org")

        self.assertEqual(code, EXIT_INVALID, stderr)
        self.assertIs(result["report"]["valid"], False)
        errors = " ".join(m["result"] for m in result["report"]["messages"] if m["messageLevel"] == "ERROR")
        self.assertIn("name", errors)
        self.assertIn("criteria", errors)
        self.assert_only_loopback_traffic(network)

    def test_baked_png_valid_for_recipient(self):
        path = os.path.join(self.scratch.name, "baked.png")
        with open(path, "wb") as image:
            image.write(bake_png(json.dumps(self.assertion)))

        code, result, stderr, network = self.run_wrapper(path, "--email", "alice@example.org")

        self.assertEqual(code, EXIT_VALID, stderr)
        self.assertIs(result["report"]["valid"], True)
        self.assertEqual(result["report"]["errorCount"], 0)
        self.assertIn("/assertions/1", self.server.requested_paths)
        self.assert_only_loopback_traffic(network)

    def test_png_with_bad_crc_is_tool_failure(self):
        baked = bytearray(bake_png(json.dumps(self.assertion)))
        # The IHDR chunk's CRC is bytes 29..32: 8 signature + 8 length and
        # type + 13 data bytes precede it.
        baked[29] ^= 0xFF
        path = os.path.join(self.scratch.name, "bad-crc.png")
        with open(path, "wb") as image:
            image.write(bytes(baked))

        code, result, stderr, network = self.run_wrapper(path, "--email", "alice@example.org")

        self.assertEqual(code, EXIT_TOOL_FAILED, stderr)
        self.assertIsNone(result)
        self.assertIn("Traceback", stderr)
        self.assertIn("badgecheck failed without a report", stderr)
        self.assertEqual(network, [])

    def test_png_without_badge_is_tool_failure(self):
        path = os.path.join(self.scratch.name, "plain.png")
        with open(path, "wb") as image:
            image.write(make_png())

        code, result, stderr, network = self.run_wrapper(path)

        self.assertEqual(code, EXIT_TOOL_FAILED, stderr)
        self.assertIsNone(result)
        self.assertIn("contains no baked Open Badges metadata", stderr)
        self.assertEqual(network, [])


if __name__ == "__main__":
    unittest.main()
