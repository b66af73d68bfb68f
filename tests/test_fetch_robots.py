"""robots.txt: fetched once per host, rules obeyed, RFC 9309 for missing and failing files."""

from __future__ import annotations

import asyncio

import pytest

from fetch_server import LocalServer, Reply, html_page, reset_connection
from harvester.fetch import Fetcher
from harvester.settings import Settings

SETTINGS = Settings(allow_private=True, per_host_delay=0.0, attempts=1)
HTML = {"Content-Type": "text/html"}
TEXT = {"Content-Type": "text/plain"}


def fetch_many(urls, settings=SETTINGS):
    async def go():
        async with Fetcher(settings) as fetcher:
            return {request: result async for request, result in fetcher.fetch_all(urls)}

    return asyncio.run(go())


@pytest.fixture
def server():
    with LocalServer() as running:
        for path in ("/public", "/private/page", "/moved"):
            running.add(path, Reply(200, html_page(path), HTML))
        yield running


def test_disallowed_paths_are_skipped_and_robots_is_fetched_once(server):
    server.add("/robots.txt", Reply(200, b"User-agent: *\nDisallow: /private\n", TEXT))
    public, private = server.url("/public"), server.url("/private/page")
    results = fetch_many([public, private, public + "?again"])
    assert results[public].status == "ok"
    assert (results[private].status, results[private].error) == ("skipped", "disallowed by robots.txt")
    assert server.hits["/private/page"] == 0
    assert server.hits["/robots.txt"] == 1


@pytest.mark.parametrize(
    "robots, allowed",
    [
        (b"User-agent: readinglist\nDisallow: /\n", False),
        (b"User-agent: otherbot\nDisallow: /\n", True),
        (b"User-agent: *\nDisallow: /\n\nUser-agent: readinglist\nAllow: /\n", True),
        (b"User-agent: *\nDisallow: /*.html$\n", True),
        (b"", True),
    ],
)
def test_rules_for_our_agent(server, robots, allowed):
    server.add("/robots.txt", Reply(200, robots, TEXT))
    result = fetch_many([server.url("/public")])[server.url("/public")]
    assert result.status == ("ok" if allowed else "skipped")


@pytest.mark.parametrize("status", [404, 403, 401])
def test_robots_4xx_allows_everything(server, status):
    server.add("/robots.txt", Reply(status, b"nope", TEXT))
    assert fetch_many([server.url("/private/page")])[server.url("/private/page")].status == "ok"


def test_robots_5xx_disallows_everything_for_this_run(server):
    # Failed, not skipped: the next run (after next_retry_at) asks for robots.txt again.
    server.add("/robots.txt", Reply(503, b"down", TEXT))
    results = fetch_many([server.url("/public"), server.url("/private/page")])
    assert {(r.status, r.error) for r in results.values()} == {("failed", "disallowed by robots.txt (unreachable: HTTP 503)")}
    assert server.hits["/public"] == server.hits["/private/page"] == 0
    assert server.hits["/robots.txt"] == 1


def test_unreachable_robots_disallows_everything(server):
    server.add("/robots.txt", reset_connection)
    result = fetch_many([server.url("/public")])[server.url("/public")]
    assert (result.status, result.error) == ("failed", "disallowed by robots.txt (unreachable: no answer)")


def test_ignore_robots_never_asks(server):
    server.add("/robots.txt", Reply(200, b"User-agent: *\nDisallow: /\n", TEXT))
    result = fetch_many([server.url("/private/page")], SETTINGS.with_changes(respect_robots=False))
    assert result[server.url("/private/page")].status == "ok"
    assert server.hits["/robots.txt"] == 0


@pytest.mark.parametrize(
    "redirect",
    [
        Reply(302, b"", {"Location": "/private/page"}),
        Reply(200, b"<meta http-equiv='refresh' content='0; url=/private/page'>", HTML),  # a stub a browser follows
    ],
    ids=["http", "meta refresh"],
)
def test_a_redirect_into_a_disallowed_path_is_skipped(server, redirect):
    server.add("/robots.txt", Reply(200, b"User-agent: *\nDisallow: /private\n", TEXT))
    start = server.add("/go", redirect)
    result = fetch_many([start])[start]
    assert (result.status, result.error) == ("skipped", "disallowed by robots.txt")
    assert server.hits["/private/page"] == 0


def test_crawl_delay_spaces_requests(server):
    server.add("/robots.txt", Reply(200, b"User-agent: *\nCrawl-delay: 0.3\n", TEXT))
    urls = [server.add(f"/p{i}", Reply(200, b"ok", TEXT)) for i in range(4)]
    results = fetch_many(urls)
    assert all(result.status == "ok" for result in results.values())
    starts = sorted(when for path, _, when in server.requests if path.startswith("/p"))
    assert min(b - a for a, b in zip(starts, starts[1:])) >= 0.25
