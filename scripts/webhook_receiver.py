"""A webhook receiver for trials: answers 204 and prints one JSON line per delivery.

    .venv/bin/python scripts/webhook_receiver.py 8899

Each line has the ``webhook-id``, the event type and how many times that id has arrived, so
duplicate deliveries show up as ``"times": 2``. It does not verify signatures (a trial helper, not
a receiver to copy: real receivers verify ``webhook-signature``, see docs/api.md).
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

seen: dict[str, int] = {}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        webhook_id = self.headers["webhook-id"]
        seen[webhook_id] = seen.get(webhook_id, 0) + 1
        line = {"webhook-id": webhook_id, "type": json.loads(body)["type"], "times": seen[webhook_id]}
        print(json.dumps(line), flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
