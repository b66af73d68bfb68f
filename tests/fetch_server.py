"""A small real HTTP server on 127.0.0.x for the fetch tests: latency, stalls, resets, bombs.

Each path answers with a :class:`Reply`, a list of replies (one per request,
the last repeating: "503 then 200"), or a function ``(handler) -> None`` that
writes whatever bytes it likes to ``handler.wfile`` (or resets the socket).
The server counts requests per path, so tests can assert what was (not) fetched.

Also here: :func:`fake_extract`, a picklable stand-in for the extraction job
used by tests that exercise the database stage without trafilatura.
"""

from __future__ import annotations

import gzip
import re
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # before the status line
    drip: float | None = None  # seconds between body bytes (a stalling server)


def html_page(title: str, text: str = "", charset: str = "utf-8") -> bytes:
    paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n") if line) or "<p>Some text.</p>"
    return (
        f"<!doctype html><html><head><meta charset='{charset}'><title>{title}</title></head>"
        f"<body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    ).encode(charset)


def reset_connection(handler: BaseHTTPRequestHandler) -> None:
    """Close the socket with RST (SO_LINGER 0): the client sees 'connection reset'."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()
    handler.close_connection = True


def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzipped (about 1000:1)."""
    return gzip.compress(b"\0" * size, compresslevel=9)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        server: LocalServer = self.server.owner  # type: ignore[attr-defined]
        path = self.path
        with server.lock:
            count = server.hits[path]
            server.hits[path] += 1
            server.requests.append((path, dict(self.headers), time.monotonic()))
        answer = server.routes.get(path)
        if answer is None:
            answer = server.routes.get(path.split("?")[0], server.default)
        if callable(answer):
            answer(self)
            return
        if isinstance(answer, list):
            answer = answer[min(count, len(answer) - 1)]
        self._send(answer)

    def _send(self, reply: Reply) -> None:
        if reply.delay:
            # Counted only while delaying: the client cannot have its answer yet, so overlaps are real.
            server: LocalServer = self.server.owner  # type: ignore[attr-defined]
            with server.lock:
                server.active += 1
                server.max_active = max(server.max_active, server.active)
            time.sleep(reply.delay)
            with server.lock:
                server.active -= 1
        try:
            self.send_response(reply.status)
            headers = {"Content-Length": str(len(reply.body)), **reply.headers}
            for name, value in headers.items():
                if value is not None:
                    self.send_header(name, value)
            self.end_headers()
            if reply.drip is None:
                self.wfile.write(reply.body)
            else:
                for index in range(len(reply.body)):
                    self.wfile.write(reply.body[index : index + 1])
                    self.wfile.flush()
                    time.sleep(reply.drip)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # Clients that hang up (timeouts, kill -9, refused bodies) are part of the tests.
        pass


class LocalServer:
    """A threaded HTTP/1.1 server on ``host`` (any 127.x address works on Linux);
    over TLS with ``ssl_context`` (a server-side context, e.g. from trustme)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, ssl_context=None):
        self.routes: dict = {}
        self.default = Reply(404, b"not found", {"Content-Type": "text/plain"})
        self.hits: Counter = Counter()
        self.requests: list = []  # (path, headers, monotonic time)
        self.active = 0  # delayed requests being answered now, and the most at once
        self.max_active = 0
        self.lock = threading.Lock()
        self.httpd = _QuietServer((host, port), _Handler)
        self.httpd.owner = self
        self.scheme = "http"
        if ssl_context is not None:
            self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.host, self.port = self.httpd.server_address[:2]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "LocalServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str = "/") -> str:
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def add(self, path: str, answer) -> str:
        self.routes[path] = answer
        return self.url(path)


def serving_context(ca, host: str = "127.0.0.1") -> ssl.SSLContext:
    """A server-side TLS context with a certificate for ``host`` from the test CA (a ``trustme.CA``)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(host).configure_cert(context)
    return context


def trusting(ca) -> ssl.SSLContext:
    """A client context that trusts the test CA: pass it as the fetcher's ``verify``."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


# ---------------------------------------------------------------- a stand-in extractor

_TITLE = re.compile(rb"<title>(.*?)</title>", re.S | re.I)


def fake_extract(body: bytes, url: str, content_type: str | None, charset: str | None) -> dict:
    """The extraction job's contract (see readinglist.fetching.extract_page), without trafilatura."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in ("text/html", "text/plain"):
        return {"content_kind": "other", "media_type": media or None}
    text = body.decode(charset or "utf-8", errors="replace")
    match = _TITLE.search(body)
    title = match.group(1).decode(charset or "utf-8", errors="replace") if match else None
    plain = re.sub(r"<[^>]+>", " ", text)
    words = plain.split()
    return {
        "content_kind": "html" if media == "text/html" else "text",
        "media_type": media,
        "title": title,
        "authors": ["Test Author"],
        "published": "2024-05-01",
        "site_name": "Local",
        "description": "A description.",
        "language": "en",
        "text": " ".join(words),
        "word_count": len(words),
        "reading_minutes": max(1, round(len(words) / 230)),
        "summary": " ".join(words[:20]) or None,
    }


# ---------------------------------------------------------------- items to fetch


def add_items(db, urls, kind: str = "article") -> list[str]:
    """Insert items for ``urls`` as they are (``readinglist add`` would canonicalize http to https)."""
    from urllib.parse import urlsplit

    from readinglist.db import item_id_for

    rows = [
        {
            "id": item_id_for(url),
            "url": url,
            "kind": kind,
            "domain": urlsplit(url).hostname,
            "status": "unread",
            "added_at": "2024-05-01T00:00:00+00:00",
        }
        for url in urls
    ]
    db["items"].insert_all(rows, pk="id")
    return [row["id"] for row in rows]


def minimal_pdf(title: str, text: str) -> bytes:
    """A one-page PDF with ``text`` on it and ``title`` in its Info dictionary (written by hand, per PDF 1.4)."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Title ({title}) /Author (Ada Lovelace) >>".encode("latin-1"),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def exploding_extract(body: bytes, url: str, content_type: str | None, charset: str | None) -> dict:
    """An extractor with a bug on pages whose URL contains 'explode'."""
    if "explode" in url:
        raise ValueError("cannot parse this page")
    return fake_extract(body, url, content_type, charset)
