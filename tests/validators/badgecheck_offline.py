"""Run the 1EdTech Open Badges 2.0 validator (badgecheck 1.2.0) without internet access.

Usage: badgecheck_offline.py URL_OR_FILE [--email ADDRESS]

A URL is verified as a hosted assertion. A file is read as a baked PNG or
SVG badge. With --email, badgecheck also checks that the recipient identity
matches that address.

Network access is restricted before badgecheck runs:
  - the Open Badges 2.0 JSON-LD context (https://w3id.org/openbadges/v2, its
    http form, and https://openbadgespec.org/v2/context.json, where w3id.org
    redirects it) is served from the copy inside the badgecheck package;
  - requests to loopback hosts (127.0.0.0/8, localhost, ::1) go through;
  - every other request is rejected before any DNS lookup or connection.

Writes badgecheck's JSON result to stdout and a one-line summary to stderr.
Exit status:
  0  the report is valid and has no errors
  1  the report is not valid
  2  badgecheck failed to produce a report, or a request to a non-loopback
     host was rejected (the result would not be a real check)
"""

import argparse
import io
import ipaddress
import json
import os
import socket
import sys
import tempfile
import traceback
import urllib.parse

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_TOOL_FAILED = 2

CONTEXT_URLS = {
    ("w3id.org", "/openbadges/v2"),
    ("openbadgespec.org", "/v2/context.json"),
}


class NonLoopbackRequestError(ConnectionError):
    """Request to a host other than this machine, made while running offline."""


def is_loopback_host(host):
    if host is None:
        return False
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_context_url(url):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return False
    return ((parts.hostname or "").lower(), parts.path.rstrip("/")) in CONTEXT_URLS


class OfflineGuard:
    """Patches `requests` and `socket` so that only loopback traffic leaves the process.

    The `requests` patch serves the Open Badges context and rejects other
    hosts with a clear message. The `socket` patches are a second barrier for
    code that bypasses `requests`: they reject name lookups of non-loopback
    hosts and connections to non-loopback addresses.
    """

    def __init__(self):
        self.rejected_urls = []

    def install(self):
        import requests.adapters
        import urllib3
        from openbadges.verifier.openbadges_context import OPENBADGES_CONTEXT_V2_DICT

        context_body = json.dumps(OPENBADGES_CONTEXT_V2_DICT).encode("utf-8")
        original_send = requests.adapters.HTTPAdapter.send
        original_getaddrinfo = socket.getaddrinfo
        original_connect = socket.socket.connect
        guard = self

        def send(adapter, request, *args, **kwargs):
            url = request.url
            if is_context_url(url):
                raw = urllib3.HTTPResponse(
                    body=io.BytesIO(context_body),
                    headers={"Content-Type": "application/ld+json"},
                    status=200,
                    reason="OK",
                    preload_content=False,
                    request_url=url,
                )
                return adapter.build_response(request, raw)
            if is_loopback_host(urllib.parse.urlsplit(url).hostname):
                return original_send(adapter, request, *args, **kwargs)
            guard.rejected_urls.append(url)
            raise requests.exceptions.ConnectionError(
                f"offline badgecheck rejected a request to {url}: only loopback hosts "
                "(127.0.0.1, localhost, [::1]) are reachable; serve every linked "
                "document from the test server",
                request=request,
            )

        def getaddrinfo(host, *args, **kwargs):
            name = host.decode() if isinstance(host, bytes) else host
            if not is_loopback_host(name):
                guard.rejected_urls.append(f"(name lookup) {name}")
                raise NonLoopbackRequestError(
                    f"offline badgecheck rejected a name lookup of {name!r}: only loopback hosts are reachable"
                )
            return original_getaddrinfo(host, *args, **kwargs)

        def connect(sock, address):
            # Unix domain sockets have a path as their address and stay local.
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback_host(address[0]):
                guard.rejected_urls.append(f"(connection) {address[0]}")
                raise NonLoopbackRequestError(
                    f"offline badgecheck rejected a connection to {address[0]}: only loopback hosts are reachable"
                )
            return original_connect(sock, address)

        requests.adapters.HTTPAdapter.send = send
        socket.getaddrinfo = getaddrinfo
        socket.socket.connect = connect


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        description="Verify an Open Badges 2.0 badge with badgecheck, without internet access.",
    )
    parser.add_argument(
        "target",
        metavar="URL_OR_FILE",
        help="URL of a hosted assertion on a loopback host, or path to a baked PNG or SVG badge",
    )
    parser.add_argument(
        "--email",
        metavar="ADDRESS",
        help="recipient email address to check the assertion's recipient identity against",
    )
    return parser.parse_args(argv)


def summarize(report, target):
    state = "valid" if report.get("valid") else "not valid"
    summary = (
        f"badgecheck: {state}, {report.get('errorCount')} errors, "
        f"{report.get('warningCount')} warnings: {target}"
    )
    errors = [m for m in report.get("messages", []) if m.get("messageLevel") == "ERROR"]
    if errors:
        summary += f" (first error: {errors[0].get('result')})"
    return summary


def verify(badge_input, email):
    """Run badgecheck on a URL string or an open binary file and return its result dict."""
    import openbadges

    recipient_profile = {"email": email} if email else None
    return openbadges.verify(badge_input, recipient_profile=recipient_profile)


def has_no_metadata_cause(error):
    """Return True if badgecheck failed because the image contains no baked badge."""
    while error is not None:
        if isinstance(error, ValueError) and "Could not find Open Badges metadata" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def main(argv=None):
    arguments = parse_arguments(argv)
    target = arguments.target
    is_url = urllib.parse.urlsplit(target).scheme in ("http", "https")

    if is_url and not is_loopback_host(urllib.parse.urlsplit(target).hostname):
        print(
            f"badgecheck_offline: rejected {target}: only URLs on loopback hosts "
            "(127.0.0.1, localhost, [::1]) can be verified offline",
            file=sys.stderr,
        )
        return EXIT_TOOL_FAILED

    badge_file = None
    if not is_url:
        try:
            badge_file = open(target, "rb")
        except OSError as error:
            print(f"badgecheck_offline: cannot read badge file {target}: {error}", file=sys.stderr)
            return EXIT_TOOL_FAILED

    # requests-cache and appdirs may create cache files in the working
    # directory or the user's cache folder, so both point into a temporary
    # folder that is removed on exit.
    with tempfile.TemporaryDirectory(prefix="badgecheck-") as scratch:
        os.environ["XDG_CACHE_HOME"] = scratch
        os.chdir(scratch)

        guard = OfflineGuard()
        try:
            guard.install()
            result = verify(badge_file if badge_file else target, arguments.email)
        except Exception as error:
            traceback.print_exc()
            print(f"badgecheck_offline: badgecheck failed without a report for {target}", file=sys.stderr)
            if has_no_metadata_cause(error):
                # badgecheck 1.2.0 means to report this as not valid, but its
                # handler reads ValueError.message, which Python 3 removed.
                print(
                    f"badgecheck_offline: {target} contains no baked Open Badges metadata",
                    file=sys.stderr,
                )
            return EXIT_TOOL_FAILED
        finally:
            if badge_file:
                badge_file.close()

    report = result.get("report") if isinstance(result, dict) else None
    if not isinstance(report, dict) or "valid" not in report:
        print(f"badgecheck_offline: badgecheck returned no report for {target}: {result!r}", file=sys.stderr)
        return EXIT_TOOL_FAILED

    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    print(summarize(report, target), file=sys.stderr)

    if guard.rejected_urls:
        print(
            "badgecheck_offline: the report is not a real check because these requests "
            f"to non-loopback hosts were rejected: {', '.join(guard.rejected_urls)}",
            file=sys.stderr,
        )
        return EXIT_TOOL_FAILED
    if report.get("valid") and report.get("errorCount") == 0:
        return EXIT_VALID
    return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
