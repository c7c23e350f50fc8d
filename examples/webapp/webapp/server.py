"""A tiny JSON HTTP API on a fixed port, run in a background thread."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .sessions import SessionStore

HOST = "127.0.0.1"
PORT = 8080            # hard-coded, as in the app's config


class Handler(BaseHTTPRequestHandler):
    store = None       # set by make_server

    def log_message(self, *args):   # keep test output clean
        pass

    def _reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            return self._reply(200, {"status": "ok"})
        if self.path.startswith("/slow"):
            time.sleep(0.2)                    # a report that takes a while
            return self._reply(200, {"status": "done"})
        if self.path.startswith("/sessions/"):
            sid = self.path.rsplit("/", 1)[1]
            try:
                return self._reply(200, self.store.load(sid))
            except FileNotFoundError:
                return self._reply(404, {"error": "no such session"})
        self._reply(404, {"error": "not found"})

    def do_POST(self):
        if self.path == "/echo":
            n = int(self.headers.get("Content-Length", 0))
            return self._reply(200, {"echo": json.loads(self.rfile.read(n) or b"null")})
        self._reply(404, {"error": "not found"})


def make_server(host=HOST, port=PORT, store=None):
    handler = type("BoundHandler", (Handler,), {"store": store or SessionStore()})
    srv = ThreadingHTTPServer((host, port), handler)   # EADDRINUSE if the port is taken
    t = threading.Thread(target=srv.serve_forever, name="webapp-server", daemon=True)
    t.start()
    return srv
