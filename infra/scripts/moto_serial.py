"""Run moto's server handling one request at a time, for the test command.

Usage: python infra/scripts/moto_serial.py -H 127.0.0.1 -p PORT

`moto_server` handles each request on a thread of its own, but moto's DynamoDB backend is not
safe for concurrent requests. `TransactWriteItems` copies the table before it writes. When one
of its conditions fails, it puts that copy back, which drops every write that other requests
made in the meantime. The exactly-once tests send concurrent requests on purpose, and on the
threaded server they failed now and then with writes that moto had acknowledged and then lost.

Real DynamoDB applies each request atomically, so handling the requests one after another is a
valid order of the same requests. Only moto's own handling becomes serial. The app, the
request handler and every backend are moto's, unchanged.
"""

import argparse
import os
import signal
import sys

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class SerialRequestHandler(MotoRequestHandler):
    """moto's request handler, closing each connection after one response.

    A single-threaded server serves one connection at a time, so a client that kept its
    connection open, or stalled in the middle of a request, would hold up every other client.
    Werkzeug already responds with HTTP/1.0 (one request per connection) when it is not
    threaded. Both settings are stated here so that a later werkzeug cannot change them.
    """

    protocol_version = "HTTP/1.0"
    # Seconds a connection may stay silent before the server drops it.
    timeout = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("-p", "--port", type=int, required=True, help="port to listen on")
    args = parser.parse_args()
    # moto builds some URLs of its own (such as S3 presigned URLs) from this port.
    os.environ.setdefault("MOTO_PORT", str(args.port))

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        app,
        threaded=False,
        request_handler=SerialRequestHandler,
    )


if __name__ == "__main__":
    main()
