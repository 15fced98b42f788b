"""A tiny order-status API for flows/front_desk.yaml to look orders up in, on this machine.

    python flows/servers/orders_api.py [PORT]      # default 8765

GET /orders/123456 answers {"order": {"id": "123456", "status": "shipped", ...}}; an
unknown order is a 404. Local addresses are refused to flows unless config.yaml allows
them (docs/flows.md, "HTTP steps"), e.g.  http: {allow_hosts: ["127.0.0.1"]}.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ORDERS = {
    "123456": {"id": "123456", "status": "shipped", "deliveries": [{"eta": "Thursday"}]},
    "654321": {"id": "654321", "status": "being prepared", "deliveries": []},
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        order = ORDERS.get(self.path.removeprefix("/orders/"))
        body = json.dumps({"order": order} if order else {"error": "no such order"}).encode()
        self.send_response(200 if order else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet: tests run it


def start(port: int = 0) -> ThreadingHTTPServer:
    """Serve in a background thread (port 0: any free one); `.shutdown()` stops it."""
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    print(f"orders API on http://127.0.0.1:{port}/orders/ID")
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
