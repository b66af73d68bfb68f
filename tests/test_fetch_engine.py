"""The network engine against a real server on 127.0.0.1: each failure mode, retries, limits."""

from __future__ import annotations

import asyncio
import gzip
import random
import time
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest
import trustme

from fetch_server import LocalServer, Reply, gzip_bomb, html_page, reset_connection, serving_context, trusting
from harvester.fetch import Fetcher, parse_retry_after
from harvester.settings import Settings

HTML = {"Content-Type": "text/html; charset=utf-8"}
# The local server is on loopback: the guard is opened for it (the guard's own tests keep it closed).
BASE = Settings(
    allow_private=True,
    per_host_delay=0.0,
    respect_robots=False,
    attempts=3,
    connect_timeout=2.0,
    read_timeout=2.0,
    total_timeout=5.0,
)


class Sleeps:
    """Records the retry waits instead of sleeping them."""

    def __init__(self):
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def fetch(url: str, settings: Settings = BASE, sleeps: Sleeps | None = None, **options):
    async def go():
        async with Fetcher(settings, sleep=sleeps or Sleeps()) as fetcher:
            return await fetcher.fetch(url, **options)

    return asyncio.run(go())


@pytest.fixture
def server():
    with LocalServer() as running:
        yield running


def test_ok_page_keeps_body_headers_and_final_url(server):
    url = server.add("/a", Reply(200, html_page("Hello"), {**HTML, "ETag": '"v1"', "Last-Modified": "Wed, 01 May 2024 00:00:00 GMT"}))
    result = fetch(url)
    assert (result.status, result.http_status, result.final_url, result.attempts) == ("ok", 200, url, 1)
    assert result.body == html_page("Hello")
    assert (result.media_type, result.charset) == ("text/html", "utf-8")
    assert (result.etag, result.last_modified) == ('"v1"', "Wed, 01 May 2024 00:00:00 GMT")
    path, headers, _ = server.requests[0]
    assert headers["User-Agent"] == BASE.user_agent


def test_slow_response_beyond_read_timeout_fails_after_every_attempt(server):
    url = server.add("/slow", Reply(200, b"late", delay=1.0))
    settings = BASE.with_changes(read_timeout=0.3)
    sleeps = Sleeps()
    result = fetch(url, settings, sleeps)
    assert (result.status, result.error, result.attempts) == ("failed", "timed out (read)", 3)
    assert server.hits["/slow"] == 3
    assert len(sleeps.waits) == 2


def test_dripping_body_hits_the_total_timeout(server):
    # One byte every 0.1 s never trips the read timeout; the total timeout stops it.
    url = server.add("/drip", Reply(200, b"x" * 200, HTML, drip=0.1))
    settings = BASE.with_changes(total_timeout=0.5, attempts=1)
    started = time.monotonic()
    result = fetch(url, settings)
    assert (result.status, result.error) == ("failed", "timed out after 0.5 s (total)")
    assert time.monotonic() - started < 3


def test_429_waits_as_long_as_retry_after_says(server):
    url = server.add("/busy", [Reply(429, b"", {"Retry-After": "7"}), Reply(200, html_page("Done"), HTML)])
    sleeps = Sleeps()
    result = fetch(url, BASE, sleeps)
    assert (result.status, result.attempts, sleeps.waits) == ("ok", 2, [7.0])


def test_retry_after_is_capped(server):
    url = server.add("/busy", [Reply(429, b"", {"Retry-After": "3600"}), Reply(200, html_page("Done"), HTML)])
    sleeps = Sleeps()
    result = fetch(url, BASE.with_changes(max_retry_after=5.0), sleeps)
    assert (result.status, sleeps.waits) == ("ok", [5.0])


def test_retry_after_as_http_date(server):
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    url = server.add("/busy", [Reply(503, b"", {"Retry-After": when}), Reply(200, html_page("Done"), HTML)])
    sleeps = Sleeps()
    assert fetch(url, BASE, sleeps).status == "ok"
    assert 25 <= sleeps.waits[0] <= 30


def test_429_every_time_fails_with_its_status_and_retry_after(server):
    url = server.add("/busy", Reply(429, b"", {"Retry-After": "60"}))
    result = fetch(url)
    assert (result.status, result.http_status, result.error, result.attempts, result.retry_after) == (
        "failed", 429, "HTTP 429 Too Many Requests", 3, 60.0,
    )


def test_503_then_200_backs_off_then_succeeds(server):
    url = server.add("/flaky", [Reply(503, b"down"), Reply(200, html_page("Back"), HTML)])
    sleeps = Sleeps()
    result = fetch(url, BASE, sleeps)
    assert (result.status, result.http_status, result.attempts) == ("ok", 200, 2)
    assert server.hits["/flaky"] == 2
    # Exponential back-off with jitter: initial 1 s plus up to 1 s of jitter.
    assert len(sleeps.waits) == 1 and 1.0 <= sleeps.waits[0] <= 2.0


@pytest.mark.parametrize("status", [404, 410, 451])
def test_gone_is_dead_at_once(server, status):
    url = server.add("/gone", Reply(status, b"no"))
    result = fetch(url)
    assert (result.status, result.http_status, result.attempts) == ("dead", status, 1)
    assert result.error.startswith(f"HTTP {status} ")
    assert server.hits["/gone"] == 1


def test_403_fails_without_retrying_in_this_run(server):
    url = server.add("/private", Reply(403, b"no"))
    result = fetch(url)
    assert (result.status, result.http_status, result.error, result.attempts) == ("failed", 403, "HTTP 403 Forbidden", 1)


def test_redirect_is_followed_and_the_final_url_kept(server):
    first = server.add("/old", Reply(301, b"", {"Location": "/middle"}))
    server.add("/middle", Reply(302, b"", {"Location": server.url("/new")}))
    final = server.add("/new", Reply(200, html_page("New"), HTML))
    result = fetch(first)
    assert (result.status, result.final_url, result.redirects) == ("ok", final, [first, server.url("/middle")])


def test_redirect_loop_is_dead_with_the_loop_shown(server):
    a = server.add("/a", Reply(302, b"", {"Location": "/b"}))
    b = server.add("/b", Reply(302, b"", {"Location": "/a"}))
    result = fetch(a)
    assert (result.status, result.error) == ("dead", f"redirect loop: {a} -> {b} -> {a}")
    assert (server.hits["/a"], server.hits["/b"]) == (1, 1)


def test_more_than_max_redirects_is_dead(server):
    for hop in range(15):
        server.add(f"/r{hop}", Reply(302, b"", {"Location": f"/r{hop + 1}"}))
    result = fetch(server.url("/r0"))
    assert (result.status, result.error) == ("dead", "too many redirects (more than 10)")
    assert server.hits["/r11"] == 0


def refresh_stub(content: str, quote: str = '"') -> bytes:
    """A redirect stub as site generators write them: a meta refresh, a title, a link for readers without one."""
    return (
        f"<!doctype html><html><head><meta http-equiv={quote}refresh{quote} content={quote}{content}{quote}>"
        "<title>Redirecting\u2026</title></head><body><p>Redirecting to <a href='/new'>the article</a>.</p></body></html>"
    ).encode("utf-8")


@pytest.mark.parametrize(
    "stub",
    [
        refresh_stub("0; url=/new"),
        refresh_stub("0;URL=/new", quote="'"),
        refresh_stub("0;url=/new", quote=""),  # unquoted
        refresh_stub("3; url='/new'"),  # a few seconds is still at once
        refresh_stub("0, new"),  # no url=, relative to the stub's folder
        b"<META HTTP-EQUIV='Refresh' CONTENT='0; URL=/new'>",
        b"<meta content=\"1; url=/new\" http-equiv=\"refresh\" />",
        refresh_stub("0; url={absolute}"),
    ],
    ids=["quoted", "single quotes", "unquoted", "3 seconds", "no url=", "upper case", "content first", "absolute"],
)
def test_meta_refresh_stub_is_followed_like_a_redirect(server, stub):
    server.add("/new", Reply(200, html_page("New"), HTML))
    start = server.add("/old", Reply(200, stub.replace(b"{absolute}", server.url("/new").encode()), HTML))
    result = fetch(start)
    assert (result.status, result.final_url, result.redirects) == ("ok", server.url("/new"), [start])
    assert result.body == html_page("New")


@pytest.mark.parametrize("status, outcome", [(404, "dead"), (410, "dead"), (503, "failed")])
def test_an_error_page_that_refreshes_to_elsewhere_stays_the_error(server, status, outcome):
    # A site's 404 page often sends the reader home; its body is never read (_request), so it stays a 404.
    server.add("/", Reply(200, html_page("Home"), HTML))
    url = server.add("/gone", Reply(status, refresh_stub("0; url=/"), HTML))
    result = fetch(url)
    assert (result.status, result.http_status, server.hits["/"]) == (outcome, status, 0)


def test_meta_refresh_and_http_redirects_share_one_limit(server):
    for hop in range(15):  # 302, refresh, 302, refresh, ...
        location = f"/r{hop + 1}"
        reply = Reply(302, b"", {"Location": location}) if hop % 2 == 0 else Reply(200, refresh_stub(f"0; url={location}"), HTML)
        server.add(f"/r{hop}", reply)
    result = fetch(server.url("/r0"))
    assert (result.status, result.error) == ("dead", "too many redirects (more than 10)")
    assert (server.hits["/r10"], server.hits["/r11"]) == (1, 0)


def test_meta_refresh_loop_is_dead_with_the_loop_shown(server):
    a = server.add("/a", Reply(200, refresh_stub("0; url=/b"), HTML))
    b = server.add("/b", Reply(200, refresh_stub("0; url=/a"), HTML))
    result = fetch(a)
    assert (result.status, result.error) == ("dead", f"redirect loop: {a} -> {b} -> {a}")
    assert (server.hits["/a"], server.hits["/b"]) == (1, 1)


def test_meta_refresh_to_no_url_is_dead_like_a_bad_location(server):
    url = server.add("/old", Reply(200, refresh_stub("0; url=http://0177.0.0.1/x"), HTML))
    result = fetch(url)
    assert (result.status, result.error) == ("dead", "bad meta refresh URL 'http://0177.0.0.1/x': Invalid IPv4 address: '0177.0.0.1'")


@pytest.mark.parametrize(
    "page",
    [
        # A news article that reloads itself every five minutes, to itself or elsewhere.
        html_page("Article", "Text of the article.").replace(b"<title>", b"<meta http-equiv='refresh' content='300'><title>"),
        html_page("Article", "Text.").replace(b"<title>", b"<meta http-equiv='refresh' content='300; url=/new'><title>"),
        # A real article (bigger than any stub) carrying an immediate refresh.
        html_page("Article", "Long text of the article.\n" * 1000).replace(b"<title>", b"<meta http-equiv='refresh' content='0; url=/new'><title>"),
        refresh_stub("0"),  # reloads itself
        refresh_stub("0; url=/page#top"),  # the same page
        b"<noscript><meta http-equiv='refresh' content='0; url=/new'></noscript><title>Needs scripts</title>",
        b"<!-- <meta http-equiv='refresh' content='0; url=/new'> --><title>Commented out</title>",
        refresh_stub("soon; url=/new"),  # no delay: a browser ignores it
    ],
    ids=["reload every 300 s", "elsewhere in 300 s", "big article", "reload", "same page", "noscript", "comment", "no delay"],
)
def test_page_with_a_meta_refresh_that_is_no_redirect_stays_the_page(server, page):
    server.add("/new", Reply(200, html_page("New"), HTML))
    url = server.add("/page", Reply(200, page, HTML))
    result = fetch(url)
    assert (result.status, result.final_url, result.redirects, result.body) == ("ok", url, [], page)
    assert server.hits["/new"] == 0


def test_meta_refresh_counts_only_in_html(server):
    server.add("/new", Reply(200, html_page("New"), HTML))
    url = server.add("/notes.txt", Reply(200, refresh_stub("0; url=/new"), {"Content-Type": "text/plain"}))
    assert (fetch(url).final_url, server.hits["/new"]) == (url, 0)


def test_body_over_the_cap_by_content_length(server):
    url = server.add("/big", Reply(200, b"x" * 5000, HTML))
    result = fetch(url, BASE.with_changes(max_bytes=1000))
    assert (result.status, result.error) == ("skipped", "too large: Content-Length 5000 exceeds the 1000 bytes cap")


def test_body_over_the_cap_without_content_length_is_cut_while_streaming(server):
    url = server.add("/big", Reply(200, b"x" * 300_000, {**HTML, "Content-Length": None, "Connection": "close"}))
    result = fetch(url, BASE.with_changes(max_bytes=100_000))
    assert (result.status, result.error) == ("skipped", "too large: body exceeds the 97.6562 KB cap")


def test_gzip_page_is_decoded(server):
    page = html_page("Zipped", "Some text. " * 200)
    url = server.add("/gz", Reply(200, gzip.compress(page), {**HTML, "Content-Encoding": "gzip"}))
    result = fetch(url)
    assert (result.status, result.body) == ("ok", page)


def test_gzip_bomb_is_refused_without_inflating_it(server):
    bomb = gzip_bomb(200 * 1024 * 1024)  # 200 MB of zeros in about 200 KB
    url = server.add("/bomb", Reply(200, bomb, {**HTML, "Content-Encoding": "gzip"}))
    result = fetch(url)  # the default 10 MB cap
    assert result.status == "skipped"
    assert result.error.startswith("decompression bomb: ")
    assert result.body is None


def gzip_members(*parts: bytes) -> bytes:
    """Each part gzipped on its own, the members one after another (RFC 1952 2.2)."""
    return b"".join(gzip.compress(part) for part in parts)


MEMBERS_PAGE = html_page("Members", "Some text in several gzip members. " * 60)
# Words in random order compress about 10:1: the cap decides, not the bomb guard.
TEXT_100K = " ".join(random.Random(7).choices(["gzip", "member", "body", "cap", "page"], k=30_000)).encode()
TEXT_100K = TEXT_100K[:100_000]
STREAMED = {**HTML, "Content-Encoding": "gzip", "Content-Length": None, "Connection": "close"}


@pytest.mark.parametrize(
    "body, drip, max_bytes, expected",
    [
        pytest.param(gzip_members(MEMBERS_PAGE), None, None, ("ok", MEMBERS_PAGE), id="one-member"),
        pytest.param(
            gzip_members(MEMBERS_PAGE[:300], MEMBERS_PAGE[300:]), None, None, ("ok", MEMBERS_PAGE), id="two-members"
        ),
        pytest.param(
            gzip_members(*(MEMBERS_PAGE[i : i + 100] for i in range(0, len(MEMBERS_PAGE), 100))),
            None,
            None,
            ("ok", MEMBERS_PAGE),
            id="many-members",
        ),
        pytest.param(  # member boundaries and headers split over reads
            gzip_members(MEMBERS_PAGE[:300], b"", MEMBERS_PAGE[300:]),
            0.0005,
            None,
            ("ok", MEMBERS_PAGE),
            id="members-byte-by-byte",
        ),
        pytest.param(  # zero padding after the last member is not a member: the body ends there
            gzip_members(MEMBERS_PAGE[:300], MEMBERS_PAGE[300:]) + bytes(16),
            None,
            None,
            ("ok", MEMBERS_PAGE),
            id="padding-after-members",
        ),
        pytest.param(
            gzip_members(TEXT_100K[:60_000], TEXT_100K[60_000:]),
            None,
            100_000,
            ("ok", TEXT_100K),
            id="members-exactly-at-the-cap",
        ),
        pytest.param(
            gzip_members(TEXT_100K[:60_000], TEXT_100K[60_000:], b"!"),
            None,
            100_000,
            ("skipped", "too large: body exceeds the 97.6562 KB cap"),
            id="members-one-byte-over-the-cap",
        ),
        pytest.param(  # 20 MB of zeros, no member over 100 KB
            gzip_members(*[bytes(100 * 1024)] * 200),
            None,
            None,
            ("skipped", "decompression bomb: "),
            id="bomb-split-over-members",
        ),
        pytest.param(  # inflates to nothing, but the bytes on the wire are over the cap
            gzip_members(*[b""] * 6000),
            None,
            100_000,
            ("skipped", "too large: body exceeds the 97.6562 KB cap"),
            id="empty-members-over-the-cap",
        ),
    ],
)
def test_gzip_members_are_all_decoded_within_the_cap(server, body, drip, max_bytes, expected):
    url = server.add("/members", Reply(200, body, STREAMED, drip=drip))
    result = fetch(url, BASE.with_changes(max_bytes=max_bytes) if max_bytes else BASE)
    status, content = expected
    assert result.status == status
    if status == "ok":
        assert result.body == content
    else:
        assert result.error.startswith(content)
        assert result.body is None


def test_connection_reset_is_retried_then_fails(server):
    url = server.add("/reset", reset_connection)
    result = fetch(url)
    assert (result.status, result.attempts) == ("failed", 3)
    assert result.error.startswith("connection ")
    assert server.hits["/reset"] == 3


def test_reset_then_ok_recovers(server):
    calls = {"n": 0}

    def reset_once(handler):
        calls["n"] += 1
        if calls["n"] == 1:
            reset_connection(handler)
        else:
            handler._send(Reply(200, html_page("Fine"), HTML))

    url = server.add("/reset", reset_once)
    result = fetch(url)
    assert (result.status, result.attempts) == ("ok", 2)


def test_conditional_get_304(server):
    url = server.add("/same", Reply(304, b""))
    result = fetch(url, etag='"v1"', last_modified="Wed, 01 May 2024 00:00:00 GMT")
    assert (result.status, result.http_status) == ("not_modified", 304)
    _, headers, _ = server.requests[0]
    assert (headers["If-None-Match"], headers["If-Modified-Since"]) == ('"v1"', "Wed, 01 May 2024 00:00:00 GMT")


def test_image_is_fetched_as_it_is(server):
    png = b"\x89PNG\r\n\x1a\n" + bytes(200)
    url = server.add("/cat.png", Reply(200, png, {"Content-Type": "image/png"}))
    result = fetch(url)
    assert (result.status, result.media_type, result.body) == ("ok", "image/png", png)


def test_per_host_limit_and_delay():
    with LocalServer() as server:
        urls = [server.add(f"/p{index}", Reply(200, b"ok", delay=0.2)) for index in range(8)]
        settings = BASE.with_changes(per_host=2, concurrency=10, per_host_delay=0.15)

        async def go():
            async with Fetcher(settings) as fetcher:
                return [result async for _, result in fetcher.fetch_all(urls)]

        results = asyncio.run(go())
        assert [r.status for r in results] == ["ok"] * 8
        assert server.max_active == 2
        # The server's clock adds connection jitter under load; the gate's own start times must be 0.15 s apart.


def test_host_gate_spaces_starts():
    from harvester.fetch import HostGate

    gate, starts = HostGate(limit=2, delay=0.15), []

    async def request():
        async with gate.slot():
            starts.append(time.monotonic())
            await asyncio.sleep(0.05)

    async def go():
        await asyncio.gather(*(request() for _ in range(5)))

    asyncio.run(go())
    assert min(b - a for a, b in zip(starts, starts[1:])) >= 0.149


def most_at_once(*servers, holding: float = 0.2) -> int:
    """The most requests the servers had at once, each held ``holding`` seconds from its arrival."""
    starts = sorted(when for server in servers for _, _, when in server.requests)
    return max(sum(1 for other in starts if start <= other < start + holding - 0.01) for start in starts)


def test_global_limit_spans_hosts():
    with LocalServer("127.0.0.1") as one, LocalServer("127.0.0.2") as two:
        urls = [s.add(f"/p{i}", Reply(200, b"ok", delay=0.2)) for i in range(4) for s in (one, two)]
        settings = BASE.with_changes(per_host=2, concurrency=3)

        async def go():
            async with Fetcher(settings) as fetcher:
                return [result async for _, result in fetcher.fetch_all(urls)]

        assert len(asyncio.run(go())) == 8
        assert most_at_once(one, two) == 3


@pytest.mark.parametrize("second", ["another port", "https"])
def test_per_host_limit_spans_ports_and_schemes_of_one_host(second):
    """One host reached over http and https (a redirect, the plain-http fallback) or on two ports
    still sees at most ``per_host`` requests at once."""
    ca = trustme.CA()
    context = serving_context(ca) if second == "https" else None
    with LocalServer("127.0.0.1") as one, LocalServer("127.0.0.1", ssl_context=context) as two:
        urls = [s.add(f"/p{i}", Reply(200, b"ok", delay=0.2)) for i in range(4) for s in (one, two)]
        settings = BASE.with_changes(per_host=2, concurrency=10)

        async def go():
            async with Fetcher(settings, verify=trusting(ca)) as fetcher:
                return [result async for _, result in fetcher.fetch_all(urls)]

        assert [result.status for result in asyncio.run(go())] == ["ok"] * 8
        assert most_at_once(one, two) == 2


@pytest.mark.parametrize(
    "header, expected",
    [("120", 120.0), ("0", 0.0), ("soon", None), (None, None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header) == expected


def test_a_bug_fails_one_url_and_the_run_goes_on(server, monkeypatch):
    good = [server.add(f"/fine{i}", Reply(200, html_page(f"Fine {i}"), HTML)) for i in range(3)]
    cursed = server.add("/cursed", Reply(200, html_page("Cursed"), HTML))
    real_attempt = Fetcher._attempt

    async def attempt(self, url, headers, **options):
        if url.endswith("/cursed"):
            raise KeyError("a bug somewhere below")
        return await real_attempt(self, url, headers, **options)

    monkeypatch.setattr(Fetcher, "_attempt", attempt)

    async def go():
        async with Fetcher(BASE, sleep=Sleeps()) as fetcher:
            return {url: result async for url, result in fetcher.fetch_all([*good, cursed])}

    results = asyncio.run(go())
    assert [results[url].status for url in good] == ["ok"] * 3
    assert (results[cursed].status, results[cursed].error) == ("failed", "internal error: KeyError: 'a bug somewhere below'")
    assert "/cursed" not in server.hits  # it never got as far as a request


@pytest.mark.parametrize(
    "message, stored",
    [
        ("Illegal header value b'Bearer ghp_SECRET1234\\n# second line'", "Illegal header value (hidden)"),
        ("Illegal header value b\"token x'y\" (h11)", "Illegal header value (hidden) (h11)"),
        ("Illegal header name b'X-Key: abc'", "Illegal header name (hidden)"),
        ("401 for Authorization: Bearer abc123", "401 for Authorization: (hidden)"),
        ("sent {'Zotero-API-Key': 'k3y'}", "sent {'Zotero-API-Key': (hidden)}"),
        ("token ghp_SECRET1234 refused", "token (hidden) refused"),
        ("[Errno 111] Connection refused", "[Errno 111] Connection refused"),
        ("unexpected token < in JSON at position 0", "unexpected token < in JSON at position 0"),
    ],
)
def test_error_texts_are_stored_without_the_headers_or_credentials_they_quote(message, stored):
    from harvester.errors import redact_secrets

    assert redact_secrets(message) == stored
