"""HTTP/2 where the server offers it (ALPN over TLS), HTTP/1.1 where it does not: a real TLS server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading

import pytest
import trustme
from hypercorn.asyncio import serve
from hypercorn.config import Config

from fetch_server import html_page
from harvester.fetch import Fetcher
from harvester.settings import Settings

SETTINGS = Settings(allow_private=True, per_host_delay=0.0, respect_robots=False, attempts=1)


class TLSServer:
    """Hypercorn in a thread, serving an article over TLS with the given ALPN protocols; records each request's HTTP version."""

    def __init__(self, tmp_path, alpn: list[str]):
        self.ca = trustme.CA()
        pem = tmp_path / "server.pem"
        self.ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.config = Config()
        self.config.bind = [f"127.0.0.1:{self.port}"]
        self.config.certfile = self.config.keyfile = str(pem)
        self.config.alpn_protocols = alpn
        self.config.accesslog = self.config.errorlog = None
        self.versions: list[str] = []
        self.ready = threading.Event()

    async def app(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        self.versions.append(scope["http_version"])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html; charset=utf-8")]})
        await send({"type": "http.response.body", "body": html_page("Over TLS")})

    def __enter__(self):
        self.loop = asyncio.new_event_loop()

        async def main():
            self.stop = asyncio.Event()
            self.loop.call_later(0.3, self.ready.set)
            await serve(self.app, self.config, shutdown_trigger=self.stop.wait)

        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(main(),), daemon=True)
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


@pytest.mark.parametrize("alpn, version", [(["h2", "http/1.1"], "2"), (["http/1.1"], "1.1")])
def test_http2_when_the_server_offers_it(tmp_path, alpn, version):
    with TLSServer(tmp_path, alpn) as server:
        urls = [f"https://127.0.0.1:{server.port}/article/{i}" for i in range(3)]

        async def go():  # the fetch stage's own client: only the test CA is added
            async with Fetcher(SETTINGS, verify=server.client_context()) as fetcher:
                return [result async for _, result in fetcher.fetch_all(urls)]

        results = asyncio.run(go())
    assert [(r.status, r.http_status, r.body) for r in results] == [("ok", 200, html_page("Over TLS"))] * 3
    assert server.versions == [version] * 3


def test_the_private_address_guard_holds_over_tls(tmp_path):
    with TLSServer(tmp_path, ["h2", "http/1.1"]) as server:
        guarded = SETTINGS.with_changes(allow_private=False)

        async def go():
            async with Fetcher(guarded, verify=server.client_context()) as fetcher:
                return await fetcher.fetch(f"https://127.0.0.1:{server.port}/article")

        result = asyncio.run(go())
    assert result.status == "skipped" and "private" in result.error
    assert server.versions == []
