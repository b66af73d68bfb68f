"""Links posted as http:// are stored as https:// (one item for both); when https cannot be
connected to at all, the fetcher falls back to the http:// link as it was posted."""

from __future__ import annotations

import asyncio
import json
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest
import trustme
from click.testing import CliRunner

from fetch_server import (
    LocalServer,
    Reply,
    add_items,
    fake_extract,
    html_page,
    reset_connection,
    serving_context,
    trusting,
)
from harvester.fetch import Fetcher
from harvester.settings import Settings
from readinglist import fetching
from readinglist.cli import cli
from readinglist.db import mention_id_for

SETTINGS = Settings(allow_private=True, per_host_delay=0.0, attempts=1, read_timeout=1.0)
HTML = {"Content-Type": "text/html; charset=utf-8"}
PAGE = html_page("Served over plain http")


@pytest.fixture
def plain():
    """A plain-http server: a TLS handshake against it fails, as against a site without https."""
    with LocalServer() as running:
        running.add("/page", Reply(200, PAGE, HTML))
        yield running


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def tls(ca):
    """An https server with a certificate from the test CA (trusted only with ``verify=trusting(ca)``)."""
    with LocalServer(ssl_context=serving_context(ca)) as running:
        yield running


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url, fallback_url=None, settings=SETTINGS, verify=True):
    async def go():
        async with Fetcher(settings, verify=verify, sleep=no_sleep) as fetcher:
            return await fetcher.fetch(url, fallback_url=fallback_url)

    return asyncio.run(go())


async def no_sleep(seconds: float) -> None:
    pass


def upgraded(server, path="/page") -> str:
    return server.url(path).replace("http://", "https://", 1)


# ---------------------------------------------------------------- the fetcher


@pytest.mark.parametrize("robots", [True, False])
def test_an_upgraded_link_falls_back_when_its_host_speaks_no_tls(plain, robots):
    settings = SETTINGS.with_changes(respect_robots=robots)
    result = fetch(upgraded(plain), fallback_url=plain.url("/page"), settings=settings)
    assert (result.status, result.http_status, result.body) == ("ok", 200, PAGE)
    assert (result.url, result.final_url, result.attempts) == (upgraded(plain), plain.url("/page"), 1)
    assert plain.hits["/page"] == 1
    assert plain.hits["/robots.txt"] == (1 if robots else 0)


def test_a_refused_https_connection_falls_back(plain):
    result = fetch(f"https://127.0.0.1:{closed_port()}/page", fallback_url=plain.url("/page"))
    assert (result.status, result.final_url) == ("ok", plain.url("/page"))


def test_an_untrusted_certificate_falls_back(tls, plain):
    tls.add("/page", Reply(200, html_page("Over TLS"), HTML))
    result = fetch(tls.url("/page"), fallback_url=plain.url("/page"))  # the test CA is not trusted
    assert (result.status, result.final_url, result.body) == ("ok", plain.url("/page"), PAGE)
    assert tls.hits["/page"] == 0


@pytest.mark.parametrize(
    "robots, error",
    [
        (False, "connection failed: "),
        (True, "connection failed: "),
    ],
)
def test_without_a_fallback_an_https_failure_is_the_result(plain, robots, error):
    """With robots.txt on, the connection robots.txt could not make is the error (not "disallowed")."""
    result = fetch(upgraded(plain), settings=SETTINGS.with_changes(respect_robots=robots))
    assert result.status == "failed" and result.error.startswith(error)
    assert result.error.endswith(" (reading robots.txt)") == robots
    assert plain.hits["/page"] == 0


def test_the_http_robots_txt_is_obeyed_after_the_fallback(plain):
    plain.add("/robots.txt", Reply(200, b"User-agent: *\nDisallow: /page\n", {"Content-Type": "text/plain"}))
    result = fetch(upgraded(plain), fallback_url=plain.url("/page"))
    assert result.status == "skipped"
    assert result.error.startswith("disallowed by robots.txt (over http; https: connection failed: [SSL: ")
    assert plain.hits["/page"] == 0


def test_when_http_fails_too_the_error_names_both(plain):
    result = fetch(upgraded(plain, "/gone"), fallback_url=plain.url("/gone"), settings=SETTINGS.with_changes(respect_robots=False))
    assert result.status == "dead" and result.http_status == 404
    assert result.error.startswith("HTTP 404 Not Found (over http; https: connection failed: ")


def test_retries_after_the_fallback_stay_on_http(plain):
    plain.add("/flaky", [Reply(503, b"busy"), Reply(200, PAGE, HTML)])
    settings = SETTINGS.with_changes(respect_robots=False, attempts=2)
    result = fetch(upgraded(plain, "/flaky"), fallback_url=plain.url("/flaky"), settings=settings)
    assert (result.status, result.final_url, result.attempts) == ("ok", plain.url("/flaky"), 2)
    assert plain.hits["/flaky"] == 2


@pytest.mark.parametrize(
    "reply, status",
    [
        (Reply(404, b"gone"), "dead"),
        (Reply(503, b"busy"), "failed"),
        (Reply(200, PAGE, HTML, delay=3.0), "failed"),  # past the read timeout: the server did answer the handshake
        (reset_connection, "failed"),  # reset after the handshake
    ],
)
def test_an_https_server_that_answers_is_never_downgraded(ca, tls, plain, reply, status):
    tls.add("/page", reply)
    result = fetch(tls.url("/page"), fallback_url=plain.url("/page"), verify=trusting(ca),
                   settings=SETTINGS.with_changes(respect_robots=False))
    assert result.status == status
    assert plain.hits["/page"] == 0


def test_the_fallback_passes_the_private_address_guard(plain):
    result = fetch(upgraded(plain), fallback_url=plain.url("/page"), settings=SETTINGS.with_changes(allow_private=False))
    assert result.status == "skipped" and "private address" in result.error
    assert plain.hits["/page"] == 0


# ---------------------------------------------------------------- the fetch stage


def add_mention(db, item_id: str, written: str, via: str) -> None:
    post_id = "post-" + item_id
    db.execute("INSERT OR IGNORE INTO posts(id, source, text, hashtags) VALUES (?, 'text', '', '[]')", [post_id])
    db["mentions"].insert(
        {"id": mention_id_for(item_id, post_id, written), "item_id": item_id, "post_id": post_id,
         "url": written, "via": via, "added_at": "2024-05-01T00:00:00+00:00"}
    )


@pytest.mark.parametrize(
    "mentions, falls_back",
    [
        ([("http://{host}/page", "text")], True),
        ([("HTTP://{host}/page", "anchor")], True),
        ([("https://{host}/page", "bare")], True),  # written without a scheme; https was our guess
        ([("{host}/page", "manual")], True),  # readinglist add without a scheme
        ([("https://{host}/page", "text")], False),
        ([("https://{host}/page", "text"), ("http://{host}/page", "preview")], True),
        ([], False),
    ],
)
def test_posted_without_https(fresh_db, mentions, falls_back):
    [item_id] = add_items(fresh_db, ["https://example.org/page"])
    for written, via in mentions:
        add_mention(fresh_db, item_id, written.format(host="example.org"), via)
    assert fetching.posted_without_https(fresh_db, item_id) is falls_back
    [candidate] = fetching.select_candidates(fresh_db)
    assert candidate.fallback_url() == ("http://example.org/page" if falls_back else None)


def test_the_fallback_is_looked_up_only_when_https_cannot_connect(plain):
    asked = []

    def lookup():
        asked.append(True)
        return plain.url("/page")

    assert fetch(plain.url("/page"), fallback_url=lookup).status == "ok"  # connects: never asked
    assert asked == []
    result = fetch(upgraded(plain), fallback_url=lookup)
    assert (result.status, result.final_url, asked) == ("ok", plain.url("/page"), [True])
    result = fetch(upgraded(plain), fallback_url=lambda: None)  # looked up: posted as https
    assert result.status == "failed" and plain.hits["/page"] == 2


def test_the_stage_falls_back_only_for_links_posted_without_https(fresh_db, plain):
    plain.add("/b", Reply(200, html_page("B"), HTML))
    plain.add("/c", Reply(200, html_page("C"), HTML))
    http_id, https_id = add_items(fresh_db, [upgraded(plain, "/b"), upgraded(plain, "/c")])
    add_mention(fresh_db, http_id, plain.url("/b"), "text")
    add_mention(fresh_db, https_id, upgraded(plain, "/c"), "text")
    with ThreadPoolExecutor(2) as executor:
        stats = fetching.run(fresh_db, SETTINGS, site_metadata=False, sleep=no_sleep, extractor=fake_extract,
                             executor=executor, workers=2)
    assert (stats.ok, stats.failed) == (1, 1)
    fetched, refused = fresh_db["items"].get(http_id), fresh_db["items"].get(https_id)
    assert (fetched["fetch_status"], fetched["final_url"], fetched["title"]) == ("ok", plain.url("/b"), "B")
    assert fetched["url"] == upgraded(plain, "/b")  # the item keeps its identity
    assert refused["fetch_status"] == "failed"
    assert refused["last_error"].startswith("connection failed: ")
    assert refused["last_error"].endswith(" (reading robots.txt)")
    assert (plain.hits["/b"], plain.hits["/c"]) == (1, 0)


def test_a_local_page_added_as_http_is_fetched(db_path, tmp_path, plain):
    """The walk a user takes to try fetch on a page of their own: add it, fetch it, list it."""
    plain.add("/article", Reply(200, html_page("My local notes", "Notes about attention and transformers. " * 30), HTML))
    config = tmp_path / "config.toml"
    config.write_text("per_host_delay = 0.0\nattempts = 1\n", encoding="utf-8")
    runner = CliRunner()
    added = runner.invoke(cli, ["add", plain.url("/article"), "--db", str(db_path)])
    assert added.exit_code == 0, added.output
    result = runner.invoke(cli, ["fetch", "--allow-private", "--db", str(db_path), "--config", str(config)],
                           env={"READINGLIST_ALLOW_PRIVATE": ""})
    assert (result.exit_code, result.output) == (0, "Fetched 1 item: 1 ok, 0 failed, 0 dead, 0 skipped.\n")
    [item] = json.loads(runner.invoke(cli, ["list", "--status", "all", "--json", "--db", str(db_path)]).output)
    assert (item["url"], item["final_url"]) == (upgraded(plain, "/article"), plain.url("/article"))
    assert (item["fetch_status"], item["title"]) == ("ok", "My local notes")
