"""robots.txt, fetched once per origin per run and cached, read with protego.

What a robots.txt answer means follows RFC 9309 (section 2.3.1):

* 2xx: the rules in the file (protego parses them, including wildcards and
  ``Crawl-delay``);
* 4xx ("unavailable"): no rules, everything is allowed;
* 5xx or no answer at all ("unreachable"): everything is disallowed, for this run.

Redirects are followed by the fetcher like any other request (the RFC asks
for at least five hops), so every hop passes the private-address guard too.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

import httpx

log = logging.getLogger(__name__)

# The product token robots.txt groups are matched against.
ROBOTS_AGENT = "readinglist"
# RFC 9309: parse at least 500 KiB; ignore the rest.
MAX_ROBOTS_BYTES = 512 * 1024
MAX_CRAWL_DELAY = 30.0


@dataclass(frozen=True)
class RobotsAnswer:
    """The outcome of fetching one robots.txt: an HTTP status and the body (``status`` None: unreachable;
    ``connect_error``: why not even a connection could be made)."""

    status: int | None
    body: bytes = b""
    connect_error: str | None = None


class Rules:
    """What one origin's robots.txt allows."""

    def __init__(
        self,
        parser=None,
        *,
        allow_all: bool = False,
        unreachable: bool = False,
        connect_error: str | None = None,
        reason: str = "disallowed by robots.txt",
    ):
        self.parser = parser
        self.allow_all = allow_all
        self.unreachable = unreachable  # disallowed for now only: a later run asks again
        self.connect_error = connect_error  # unreachable because no connection could be made
        self.reason = reason

    @classmethod
    def from_answer(cls, answer: RobotsAnswer) -> "Rules":
        if answer.status is None or answer.status >= 500:
            shown = f"HTTP {answer.status}" if answer.status else "no answer"
            # No connection at all: the page would fail the same way, so that is the error, not robots.txt.
            reason = (
                f"{answer.connect_error} (reading robots.txt)" if answer.connect_error
                else f"disallowed by robots.txt (unreachable: {shown})"
            )  # fmt: skip
            return cls(allow_all=False, unreachable=True, connect_error=answer.connect_error, reason=reason)
        if not 200 <= answer.status < 300:  # 4xx, or a redirect chain too long: "unavailable"
            return cls(allow_all=True)
        from protego import Protego

        text = answer.body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        return cls(Protego.parse(text))

    def allowed(self, url: str, agent: str = ROBOTS_AGENT) -> bool:
        if self.parser is None:
            return self.allow_all
        return self.parser.can_fetch(url, agent)

    def crawl_delay(self, agent: str = ROBOTS_AGENT) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(agent)
        return None if delay is None else min(float(delay), MAX_CRAWL_DELAY)


def robots_url(url: str | httpx.URL) -> str:
    url = httpx.URL(str(url))
    return str(url.copy_with(path="/robots.txt", query=None, fragment=None, username=None, password=None))


def origin(url: str | httpx.URL) -> str:
    """``scheme://host:port`` of ``url``: the key for robots.txt rules (RFC 9309 scopes them by origin)."""
    if not isinstance(url, httpx.URL):
        return _origin_of_text(url)
    return f"{url.scheme}://{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"


@functools.lru_cache(maxsize=4096)
def _origin_of_text(url: str) -> str:
    # Parsing with httpx costs ~50 µs, and a fetch asks for its URL's origin several times.
    return origin(httpx.URL(url))


class RobotsCache:
    """Per-origin robots.txt rules for one run.

    ``load(robots_url) -> RobotsAnswer`` fetches a robots.txt (through the
    guarded client); it may raise the guard's refusals, which are cached and
    re-raised for every URL of that origin. Concurrent callers for one origin
    share a single fetch.
    """

    def __init__(self, load: Callable[[str], Awaitable[RobotsAnswer]], agent: str = ROBOTS_AGENT):
        self.load = load
        self.agent = agent
        self._rules: dict[str, asyncio.Future] = {}

    async def rules(self, url: str) -> Rules:
        key = origin(url)
        future = self._rules.get(key)
        if future is None:
            future = asyncio.ensure_future(self._fetch(url))
            self._rules[key] = future
        # shield: one caller's cancellation must not cancel the shared fetch.
        return await asyncio.shield(future)

    async def _fetch(self, url: str) -> Rules:
        answer = await self.load(robots_url(url))
        rules = Rules.from_answer(answer)
        log.info("robots.txt for %s: %s", origin(url), answer.status)
        return rules

    async def allowed(self, url: str) -> bool:
        return (await self.rules(url)).allowed(url, self.agent)
