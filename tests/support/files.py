"""A file server for claim-check URLs: registered files over HTTP on 127.0.0.1, and ways to fail."""

from __future__ import annotations

import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client hanging up on a refused download is the point of some tests


class FileServer:
    """Serves registered files over HTTP on 127.0.0.1, plus a few ways to fail.

    /files/<name>         the file (bytes or a path on disk), with Content-Length
    /unsized/<n>          n bytes with no Content-Length (the body ends when the connection does)
    /slow                 answers after 5 s
    /status/<code>        an empty answer with that status
    /redirect/<name>      a 302 to the target registered under that name
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes | Path] = {}
        self.redirects: dict[str, str] = {}
        files, redirects = self.files, self.redirects

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                kind, _, arg = self.path.lstrip("/").partition("/")
                if kind == "files" and arg in files:
                    self._send_file(files[arg])
                elif kind == "unsized":
                    self.send_response(200)
                    self.end_headers()
                    remaining = int(arg)
                    while remaining > 0:
                        piece = min(remaining, 65536)
                        self.wfile.write(b"x" * piece)
                        remaining -= piece
                elif kind == "slow":
                    time.sleep(5)
                    self.send_response(200)
                    self.end_headers()
                elif kind == "redirect" and arg in redirects:
                    self.send_response(302)
                    self.send_header("Location", redirects[arg])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif kind == "status":
                    self.send_response(int(arg))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def _send_file(self, content: bytes | Path) -> None:
                size = content.stat().st_size if isinstance(content, Path) else len(content)
                self.send_response(200)
                self.send_header("Content-Type", "application/pdf")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                if isinstance(content, Path):
                    with content.open("rb") as file:
                        shutil.copyfileobj(file, self.wfile, 1 << 20)
                else:
                    self.wfile.write(content)

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.authority = f"127.0.0.1:{self._server.server_address[1]}"
        self.base_url = f"http://{self.authority}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, name: str, content: bytes | Path) -> str:
        self.files[name] = content
        return f"{self.base_url}/files/{name}"

    def redirect(self, name: str, target: str) -> str:
        self.redirects[name] = target
        return f"{self.base_url}/redirect/{name}"

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
