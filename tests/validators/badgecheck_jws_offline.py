"""Run the 1EdTech Open Badges 2.0 validator (badgecheck 1.2.0) on a signed assertion.

Usage: badgecheck_jws_offline.py JWS_FILE [--email ADDRESS]

The file holds a compact JWS whose payload is an Open Badges 2.0 assertion with
`verification.type` SignedBadge. badgecheck takes a JWS only as a string, while
badgecheck_offline.py reads files as baked images, so this runner reads the
file and passes its text. Network access is restricted exactly as in
badgecheck_offline.py: only loopback hosts and the bundled Open Badges context.

Writes badgecheck's JSON result to stdout and a one-line summary to stderr.
Exit status: 0 valid, 1 not valid, 2 badgecheck failed to produce a report or a
request to a non-loopback host was rejected.
"""

import argparse
import json
import os
import sys
import tempfile
import traceback

from badgecheck_offline import (
    EXIT_INVALID,
    EXIT_TOOL_FAILED,
    EXIT_VALID,
    OfflineGuard,
    summarize,
    verify,
)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Verify a signed Open Badges 2.0 assertion offline.")
    parser.add_argument("jws_file", metavar="JWS_FILE", help="file holding the compact JWS")
    parser.add_argument("--email", metavar="ADDRESS", help="recipient email address to check")
    arguments = parser.parse_args(argv)

    try:
        with open(arguments.jws_file, encoding="ascii") as file:
            jws = file.read().strip()
    except (OSError, UnicodeDecodeError) as error:
        print(f"badgecheck_jws_offline: cannot read {arguments.jws_file}: {error}", file=sys.stderr)
        return EXIT_TOOL_FAILED

    with tempfile.TemporaryDirectory(prefix="badgecheck-") as scratch:
        os.environ["XDG_CACHE_HOME"] = scratch
        os.chdir(scratch)
        guard = OfflineGuard()
        try:
            guard.install()
            result = verify(jws, arguments.email)
        except Exception:
            traceback.print_exc()
            print(f"badgecheck_jws_offline: badgecheck failed without a report for {arguments.jws_file}", file=sys.stderr)
            return EXIT_TOOL_FAILED

    report = result.get("report") if isinstance(result, dict) else None
    if not isinstance(report, dict) or "valid" not in report:
        print(f"badgecheck_jws_offline: badgecheck returned no report: {result!r}", file=sys.stderr)
        return EXIT_TOOL_FAILED
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    print(summarize(report, arguments.jws_file), file=sys.stderr)
    if guard.rejected_urls:
        print(
            "badgecheck_jws_offline: the report is not a real check because these requests "
            f"to non-loopback hosts were rejected: {', '.join(guard.rejected_urls)}",
            file=sys.stderr,
        )
        return EXIT_TOOL_FAILED
    if report.get("valid") and report.get("errorCount") == 0:
        return EXIT_VALID
    return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
