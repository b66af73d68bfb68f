"""The network engine: fetch many URLs fast, politely and safely, with retries.

One :class:`Fetcher` per run. It owns an ``httpx.AsyncClient`` (HTTP/2 where
the server offers it) whose connections pass the private-address guard
(:mod:`harvester.netguard`), and enforces:

* a global concurrency limit and a per-host one, plus a minimum delay between
  two requests to one host (raised to the host's robots.txt ``Crawl-delay``);
* connect and read timeouts (httpx) and a total timeout per request,
  body included (``asyncio.timeout``: a server dripping one byte a second
  never resets it);
* a size cap on the body as it streams (``Content-Length`` is checked first),
  counted before and after decompression, which this module does itself with
  a bounded output per step, so a gzip bomb never inflates in memory (also
  one split over many gzip members, which are all decoded);
* redirects followed by hand, up to ``max_redirects``, so every hop goes
  through the guard and robots.txt; the final URL is kept. A small HTML page
  whose ``<meta http-equiv="refresh">`` sends the reader on at once (within
  ``MAX_REFRESH_DELAY`` seconds; see :func:`meta_refresh_link`) is a redirect
  too, as browsers treat it: counted in the same limit, through the same checks;
* robots.txt (:mod:`harvester.robots`);
* a plain-http fallback for a link we upgraded: the caller may give a
  ``fallback_url`` (the ``http://`` form of a link that was posted without
  https, or a function that looks it up only when needed), tried when the
  https URL cannot be connected to at all (refused, a TLS handshake or
  certificate failure, a connect timeout), as a browser's HTTPS-Upgrades do.
  A link posted as https is never downgraded;
* retries with tenacity: transient failures (connection errors, timeouts, 429,
  5xx) back off exponentially with jitter, or as long as ``Retry-After`` says
  (capped by ``max_retry_after``).

:meth:`Fetcher.fetch` never raises for a bad URL or server: it returns a
:class:`FetchResult` whose ``status`` is one of :data:`STATUSES`. Use
:func:`make_client` / :func:`make_sync_client` for other HTTP work that should
pass the same guard (site APIs, live channels).
"""

from __future__ import annotations

import asyncio
import email.utils
import html
import logging
import re
import time
import zlib
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import AsyncIterator, Awaitable, Callable, Iterable

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from .errors import redact_secrets
from .netguard import GuardedAsyncTransport, GuardedSyncTransport, NameNotFound, Policy, RefusedURL, check_scheme
from .robots import MAX_ROBOTS_BYTES, RobotsAnswer, RobotsCache
from .settings import Settings

log = logging.getLogger(__name__)

# What became of a URL. "not_modified": a conditional GET answered 304.
STATUSES = ("ok", "not_modified", "failed", "dead", "skipped")
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
DEAD_CODES = frozenset({404, 410, 451})
# Decompressed output is produced at most this much at a time.
INFLATE_STEP = 64 * 1024
# Past this much output, a compression ratio above MAX_RATIO is a bomb, not a page.
BOMB_MIN_BYTES = 1024 * 1024
MAX_RATIO = 100
ACCEPT = "text/html,application/xhtml+xml,application/pdf;q=0.9,text/plain;q=0.8,*/*;q=0.5"
# A meta refresh is followed only on a page this small: a redirect stub is a few hundred bytes,
# while an article that reloads itself every few minutes (news sites) is far bigger and stays the page.
REFRESH_STUB_MAX_BYTES = 16 * 1024
# ... and only when it sends the reader on within this many seconds (a reload every 300 s is no redirect).
MAX_REFRESH_DELAY = 5
REFRESH_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# What a browser would not act on: comments, scripts, and <noscript> (not parsed as markup while scripts run).
_INERT_MARKUP = re.compile(r"<!--.*?(?:-->|\Z)|<(script|noscript)\b.*?(?:</\1\s*>|\Z)", re.I | re.S)
# A tag's attributes, to its ">" or to the end (a tag left open is no tag: nothing after it is either).
# Possessive throughout: a hostile stub of digits or open quotes costs one pass, not one per start.
_META_TAG = re.compile(r"""<meta\b((?:[^>"']++|"[^"]*+(?:"|\Z)|'[^']*+(?:'|\Z))*+)(>?)""", re.I)
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]++)(?:\s*+=\s*+(?:"([^"]*+)"|'([^']*+)'|([^\s"'>]++)))?""")
# The content attribute as the HTML standard reads it: a delay (digits, maybe a fraction), then maybe "; url=".
_REFRESH_CONTENT = re.compile(r"\s*+(\d++|(?=\.))[\d.]*+(?:(?:\s*+[;,]|\s)\s*(.*))?", re.S)
_URL_PREFIX = re.compile(r"url\s*=\s*", re.I)


def _media_type(content_type: str | None) -> str | None:
    return (content_type or "").split(";", 1)[0].strip().lower() or None


@dataclass
class FetchResult:
    """What fetching one URL gave. ``body`` is the decoded (decompressed) bytes; ``None`` unless ok."""

    url: str
    status: str
    http_status: int | None = None
    final_url: str | None = None
    content_type: str | None = None  # the header as sent
    body: bytes | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    attempts: int = 0
    retry_after: float | None = None  # seconds, from the last Retry-After seen
    redirects: list[str] = field(default_factory=list)

    @property
    def media_type(self) -> str | None:
        return _media_type(self.content_type)

    @property
    def charset(self) -> str | None:
        """The charset the Content-Type header declares (maybe wrong: extraction checks it)."""
        for parameter in (self.content_type or "").split(";")[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "charset":
                return value.strip().strip("\"'") or None
        return None


# ---------------------------------------------------------------- failures inside one attempt


class AttemptError(Exception):
    """``connect_error`` says why no connection could be made at all (refused,
    a TLS failure, a connect timeout); None when a server answered or the
    failure came later."""

    status = "failed"

    def __init__(
        self, message: str, http_status: int | None = None, retry_after: float | None = None, *, connect_error: str | None = None
    ):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.retry_after = retry_after
        self.connect_error = connect_error

    def with_message(self, message: str) -> "AttemptError":
        return type(self)(message, self.http_status, self.retry_after, connect_error=self.connect_error)


class Transient(AttemptError):
    """Worth retrying: connection trouble, a timeout, 429, 5xx."""


class Permanent(AttemptError):
    """The link is gone: 404, 410, 451, an unknown host name, a redirect loop."""

    status = "dead"


class Refused(AttemptError):
    """We chose not to fetch it: robots.txt, a private address, a body past the cap."""

    status = "skipped"


class Failed(AttemptError):
    """Another client error (401, 403, 400, ...): not retried in this run."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date. None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def _human_bytes(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):g} MB"
    if count >= 1024:
        return f"{count / 1024:g} KB"
    return f"{count} bytes"


class _Inflater:
    """Decode a Content-Encoding step by step, never producing more than ``budget`` bytes in all.

    A gzip body may be several gzip members one after another (RFC 1952 2.2;
    some servers and CDNs send them, browsers decode them all): each member is
    decoded in turn, against the same budget. Bytes after a complete member
    that are not another member (zero padding, junk) end the body, as urllib3
    and browsers do; so does anything after the end of a deflate stream."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        if encoding in ("gzip", "x-gzip"):
            self.decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self.decoder = None  # zlib-wrapped or raw: decided on the first bytes, like browsers do
        else:
            self.decoder = None
        self.members = 1
        self.finished = False

    def feed(self, data: bytes, budget: int) -> Iterable[bytes]:
        if self.encoding == "deflate" and self.decoder is None:
            self.decoder = zlib.decompressobj(zlib.MAX_WBITS if data[:1] and data[0] & 0x0F == 8 else -zlib.MAX_WBITS)
        pending = data
        while not self.finished:
            if self.decoder.eof:
                if not pending:
                    return
                if self.encoding == "deflate":
                    self.finished = True
                    return
                self.decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)  # the next gzip member
                self.members += 1
            step = max(1, min(INFLATE_STEP, budget + 1))  # 0 would mean no limit
            try:
                piece = self.decoder.decompress(pending, step)
            except zlib.error as error:
                if self.members > 1:  # not a gzip member: trailing bytes
                    self.finished = True
                    return
                raise Failed(f"bad {self.encoding} body: {error}") from None
            if piece:
                yield piece
            budget -= len(piece)
            pending = self.decoder.unused_data if self.decoder.eof else self.decoder.unconsumed_tail
            if not pending and len(piece) < step:
                return  # all input read, no output held back


def _encoding(response: httpx.Response) -> str:
    codings = [c.strip().lower() for c in response.headers.get("content-encoding", "").split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return "identity"
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise Failed(f"unsupported Content-Encoding: {', '.join(codings)}")
    return codings[0]


async def read_body(response: httpx.Response, max_bytes: int) -> bytes:
    """The body, decompressed, or :class:`Refused` as soon as it passes ``max_bytes`` or looks like a bomb."""
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise Refused(f"too large: Content-Length {declared} exceeds the {_human_bytes(max_bytes)} cap")
    encoding = _encoding(response)
    inflater = None if encoding == "identity" else _Inflater(encoding)
    body = bytearray()
    raw = 0
    async for chunk in response.aiter_raw():
        raw += len(chunk)
        if raw > max_bytes:  # as Content-Length would say; also bounds a stream of empty gzip members
            raise Refused(f"too large: body exceeds the {_human_bytes(max_bytes)} cap")
        pieces = [chunk] if inflater is None else inflater.feed(chunk, max_bytes - len(body))
        for piece in pieces:
            body += piece
            if len(body) > max_bytes:
                if inflater is not None and len(body) > MAX_RATIO * raw:
                    raise Refused(
                        f"decompression bomb: {_human_bytes(raw)} of {encoding} inflates past {_human_bytes(max_bytes)}"
                    )
                raise Refused(f"too large: body exceeds the {_human_bytes(max_bytes)} cap")
            if inflater is not None and len(body) > BOMB_MIN_BYTES and len(body) > MAX_RATIO * raw:
                raise Refused(
                    f"decompression bomb: {_human_bytes(raw)} of {encoding} inflates over {MAX_RATIO}x"
                )
    return bytes(body)


def meta_refresh_link(body: bytes, content_type: str | None) -> str | None:
    """The link a redirect stub's ``<meta http-equiv="refresh" content="0; url=...">`` sends the reader to, as written
    (relative or not), or None: not HTML, bigger than a stub, no refresh, a refresh that only reloads the page, or one
    that waits longer than ``MAX_REFRESH_DELAY`` seconds. The first refresh a browser would act on counts."""
    if _media_type(content_type) not in REFRESH_MEDIA_TYPES or len(body) > REFRESH_STUB_MAX_BYTES:
        return None
    markup = _INERT_MARKUP.sub("", body.decode("utf-8", "replace"))
    for tag in _META_TAG.finditer(markup):
        if not tag.group(2):
            return None
        attributes: dict[str, str] = {}
        for name, *values in _ATTRIBUTE.findall(tag.group(1)):
            attributes.setdefault(name.lower(), html.unescape(next((v for v in values if v), "")))
        if attributes.get("http-equiv", "").strip().lower() != "refresh":
            continue
        content = _REFRESH_CONTENT.fullmatch(attributes.get("content", ""))
        if content is None:
            continue  # unreadable: a browser skips it and looks at the next one
        delay, link = int(content.group(1) or 0), _URL_PREFIX.sub("", content.group(2) or "", count=1)
        if link[:1] in ("'", '"'):
            link = link[1:].split(link[0], 1)[0]
        link = link.strip()
        if delay > MAX_REFRESH_DELAY or not link or "\ufffd" in link:
            return None
        return link
    return None


# ---------------------------------------------------------------- limits


class HostGate:
    """At most ``limit`` requests to one host at a time, starting at least ``delay`` seconds apart."""

    def __init__(self, limit: int, delay: float):
        self.semaphore = asyncio.Semaphore(limit)
        self.lock = asyncio.Lock()
        self.delay = delay
        self.next_start = 0.0

    @asynccontextmanager
    async def slot(self):
        async with self.semaphore:
            async with self.lock:
                wait = self.next_start - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self.next_start = time.monotonic() + self.delay
            yield


def make_client(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None, resolver=None, verify=True
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` with the settings' User-Agent and timeouts, its connections guarded.

    HTTP/2 where the server offers it (ALPN), else HTTP/1.1. Redirects are not
    followed (the caller checks each hop; :class:`Fetcher` does).
    ``transport`` replaces the guarded one (tests: ``httpx.MockTransport``);
    ``verify`` is httpx's (an ``ssl.SSLContext`` trusting a test CA).
    """
    # Per origin (the guarded transport keeps one pool per origin).
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=max(2 * settings.per_host, 4), keepalive_expiry=10.0)
    transport = transport or GuardedAsyncTransport(
        Policy.from_settings(settings), http2=True, limits=limits, resolver=resolver, verify=verify
    )
    return httpx.AsyncClient(
        transport=transport,
        headers={"User-Agent": settings.user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
        timeout=httpx.Timeout(connect=settings.connect_timeout, read=settings.read_timeout, write=settings.read_timeout, pool=None),
        follow_redirects=False,
        trust_env=False,
    )


def make_sync_client(
    settings: Settings, *, transport: httpx.BaseTransport | None = None, resolver=None, follow_redirects: bool = True
) -> httpx.Client:
    """A blocking ``httpx.Client`` with the same User-Agent, timeouts and private-address guard.

    The guard is in the connection layer, so redirects httpx follows are
    checked too (each hop connects through it).
    """
    transport = transport or GuardedSyncTransport(Policy.from_settings(settings), http2=True, resolver=resolver)
    return httpx.Client(
        transport=transport,
        headers={"User-Agent": settings.user_agent},
        timeout=httpx.Timeout(connect=settings.connect_timeout, read=settings.read_timeout, write=settings.read_timeout, pool=None),
        follow_redirects=follow_redirects,
        max_redirects=settings.max_redirects,
        trust_env=False,
    )


# ---------------------------------------------------------------- the fetcher

Sleep = Callable[[float], Awaitable[None]]


class Fetcher:
    """Fetch URLs under one run's limits. Use as ``async with Fetcher(settings) as fetcher:``.

    ``client`` / ``transport`` / ``resolver`` / ``verify`` are injectable; ``sleep`` is what
    retry back-off waits with (tests pass a recorder so they run fast);
    ``backoff`` is tenacity's wait between transient failures without
    ``Retry-After``.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver=None,
        verify=True,
        sleep: Sleep = asyncio.sleep,
        backoff=None,
    ):
        self.settings = settings or Settings()
        self._own_client = client is None
        self.client = client or make_client(self.settings, transport=transport, resolver=resolver, verify=verify)
        self.sleep = sleep
        self.backoff = backoff or wait_exponential_jitter(initial=1.0, max=30.0, jitter=1.0)
        self._global = asyncio.Semaphore(max(1, self.settings.concurrency))
        self._hosts: dict[str, HostGate] = {}
        self.robots = RobotsCache(self._load_robots) if self.settings.respect_robots else None

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_client:
            await self.client.aclose()

    # -- limits

    def _gate(self, url: httpx.URL) -> HostGate:
        # Keyed by host name, not origin: http and https (or two ports) of one
        # host share its limit, as after a redirect or the plain-http fallback.
        key = url.host.rstrip(".")
        gate = self._hosts.get(key)
        if gate is None:
            gate = self._hosts[key] = HostGate(max(1, self.settings.per_host), self.settings.per_host_delay)
        return gate

    @asynccontextmanager
    async def _slot(self, url: httpx.URL):
        # The host first: a task waiting for a busy host must not hold a global slot.
        async with self._gate(url).slot():
            async with self._global:
                yield

    # -- one attempt

    async def _request(self, url: httpx.URL, headers: dict, max_bytes: int) -> tuple[httpx.Response, bytes | None]:
        """One GET inside the limits and the total timeout. A redirect or error status comes back with no body."""
        async with self._slot(url):
            try:
                async with asyncio.timeout(self.settings.total_timeout):
                    request = self.client.build_request("GET", url, headers=headers)
                    response = await self.client.send(request, stream=True)
                    try:
                        body = None
                        if 200 <= response.status_code < 300:
                            body = await read_body(response, max_bytes)
                    finally:
                        await response.aclose()
                    return response, body
            except TimeoutError:
                raise Transient(f"timed out after {self.settings.total_timeout:g} s (total)") from None
            except httpx.TimeoutException as error:
                message = f"timed out ({_kind_of_timeout(error)})"
                connecting = isinstance(error, httpx.ConnectTimeout)
                raise Transient(message, connect_error=message if connecting else None) from None
            except NameNotFound as error:
                raise Permanent(str(error)) from None
            except RefusedURL as error:
                raise Refused(str(error)) from None
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
                raise Refused(f"refused: {error}") from None
            except httpx.TransportError as error:
                message = _describe_transport_error(error)
                connecting = isinstance(error, httpx.ConnectError)
                raise Transient(message, connect_error=message if connecting else None) from None

    async def _attempt(self, url: str, headers: dict, *, max_bytes: int, robots: bool = True) -> FetchResult:
        """One try: follow redirects (each hop checked), classify the final answer. Raises :class:`AttemptError`."""
        hops: list[str] = []
        current = url
        while True:
            try:
                target = httpx.URL(current)
                check_scheme(target)
            except RefusedURL as error:
                raise Refused(str(error)) from None
            except httpx.InvalidURL as error:
                raise Permanent(f"invalid URL: {error}") from None
            if robots and self.robots is not None:
                rules = await self._robots_rules(current)
                if not rules.allowed(current):
                    # An unreachable robots.txt disallows for this run only: failed, so a later run retries.
                    if rules.unreachable:
                        raise Failed(rules.reason, connect_error=rules.connect_error)
                    raise Refused(rules.reason)
                delay = rules.crawl_delay()
                gate = self._gate(target)
                if delay and delay > gate.delay:
                    gate.delay = delay
            hops.append(current)
            response, body = await self._request(target, headers, max_bytes)
            status = response.status_code
            following = _redirect_target(target, response, body)
            if following is not None:
                if following in hops:
                    raise Permanent("redirect loop: " + " -> ".join(hops + [following]), status)
                if len(hops) > self.settings.max_redirects:
                    raise Permanent(f"too many redirects (more than {self.settings.max_redirects})", status)
                current = following
                continue
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            result = FetchResult(
                url=url,
                status="ok",
                http_status=status,
                final_url=current,
                content_type=response.headers.get("content-type"),
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                redirects=hops[:-1],
            )
            if 200 <= status < 300:
                result.body = body
                return result
            if status == 304:
                result.status = "not_modified"
                return result
            reason = f"HTTP {status} {response.reason_phrase}".rstrip()
            if status == 429 or status >= 500:
                raise Transient(reason, status, retry_after)
            if status in DEAD_CODES:
                raise Permanent(reason, status)
            raise Failed(reason, status, retry_after)

    # -- robots.txt

    async def _robots_rules(self, url: str):
        try:
            return await self.robots.rules(url)
        except NameNotFound as error:
            raise Permanent(str(error)) from None
        except RefusedURL as error:
            raise Refused(str(error)) from None
        except AttemptError:
            raise

    async def _load_robots(self, robots_url: str) -> RobotsAnswer:
        try:
            result = await self._attempt(robots_url, {}, max_bytes=MAX_ROBOTS_BYTES, robots=False)
        except (Permanent, Refused) as error:
            if isinstance(error, Refused) and error.message.startswith("refused:"):
                raise RefusedURL(error.message) from None
            if error.message.startswith("DNS:"):
                raise NameNotFound(error.message) from None
            return RobotsAnswer(error.http_status if error.http_status else 404)
        except AttemptError as error:
            return RobotsAnswer(error.http_status, connect_error=error.connect_error)  # 5xx, or None: unreachable
        return RobotsAnswer(result.http_status, result.body or b"")

    # -- the public API

    @property
    def default_window(self) -> int:
        return max(2 * self.settings.concurrency, 8)

    def _wait(self, retry_state) -> float:
        error = retry_state.outcome.exception()
        if isinstance(error, AttemptError) and error.retry_after is not None:
            return min(error.retry_after, self.settings.max_retry_after)
        return self.backoff(retry_state)

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        fallback_url: str | Callable[[], str | None] | None = None,
    ) -> FetchResult:
        """Fetch one URL with retries. Never raises for what the network does; see :class:`FetchResult`.

        ``fallback_url`` (the ``http://`` form of an upgraded link) is tried,
        within the same attempt, when no connection to ``url`` can be made;
        the attempts after that go to it. ``final_url`` says which one answered.
        It may be a function returning it (or None): it is called only then,
        so a caller can look it up for the rare URL that needs it.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempts = 0
        target, upgrade_error = url, None
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, self.settings.attempts)),
            wait=self._wait,
            retry=retry_if_exception_type(Transient),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    try:
                        result = await self._attempt(target, headers, max_bytes=self.settings.max_bytes)
                    except AttemptError as error:
                        if not (fallback_url and upgrade_error is None and error.connect_error):
                            raise
                        if callable(fallback_url):
                            fallback_url = fallback_url()
                            if not fallback_url:
                                raise
                        log.info("%s: %s; trying %s", url, error.connect_error, fallback_url)
                        target, upgrade_error = fallback_url, error
                        result = await self._attempt(target, headers, max_bytes=self.settings.max_bytes)
        except AttemptError as error:
            if upgrade_error is not None:
                error = error.with_message(f"{error.message} (over http; https: {upgrade_error.connect_error})")
            log.info("%s: %s (%s)", url, error.status, error.message)
            return FetchResult(
                url=url,
                status=error.status,
                http_status=error.http_status,
                error=error.message,
                attempts=attempts,
                retry_after=error.retry_after,
            )
        except Exception as error:  # a bug (ours or a library's) costs this URL, not the whole run
            log.warning("%s: unexpected error while fetching", url, exc_info=True)
            return FetchResult(url=url, status="failed", error=f"internal error: {type(error).__name__}: {error}",
                               attempts=max(1, attempts))
        result.url, result.attempts = url, attempts
        return result

    async def fetch_all(
        self, requests: Iterable, *, window: int | None = None
    ) -> AsyncIterator[tuple[object, FetchResult]]:
        """Fetch many, yielding ``(request, result)`` as each completes.

        A request is a URL or any object with ``url`` (and optionally ``etag``,
        ``last_modified`` and ``fallback_url``) attributes. At most ``window``
        (default: twice the concurrency) are in flight or finished-but-not-consumed, so memory
        stays flat however many there are, and a consumer that stops (a crash)
        loses at most that many; the caller should order requests so that
        neighbours are on different hosts.
        """
        window = window or self.default_window
        iterator = iter(requests)
        running: dict[asyncio.Task, object] = {}
        # Tasks report here as they finish: asyncio.wait() over the whole window
        # would add and remove a callback on every running task per completion.
        finished: asyncio.Queue[asyncio.Task] = asyncio.Queue()

        def start() -> bool:
            request = next(iterator, None)
            if request is None:
                return False
            url = request if isinstance(request, str) else request.url
            coroutine = self.fetch(
                url,
                etag=getattr(request, "etag", None),
                last_modified=getattr(request, "last_modified", None),
                fallback_url=getattr(request, "fallback_url", None),
            )
            task = asyncio.ensure_future(coroutine)
            running[task] = request
            task.add_done_callback(finished.put_nowait)
            return True

        try:
            while len(running) < window and start():
                pass
            while running:
                task = await finished.get()
                request = running.pop(task)
                yield request, task.result()
                start()
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)


def _redirect_target(target: httpx.URL, response: httpx.Response, body: bytes | None) -> str | None:
    """Where an answer sends the client on: an HTTP redirect's Location, or a redirect stub's meta refresh.
    None: the answer is the page. :class:`Permanent` for a link that is no URL."""
    location = response.headers.get("location")
    if response.status_code in REDIRECT_CODES and location:
        link, what = location.strip(), "redirect Location"
    elif body and (link := meta_refresh_link(body, response.headers.get("content-type"))):
        what = "meta refresh URL"
    else:
        return None
    try:
        following = target.join(link)
    except httpx.InvalidURL as error:
        raise Permanent(f"bad {what} {link!r}: {error}", response.status_code) from None
    if what == "meta refresh URL" and following.copy_with(fragment=None) == target.copy_with(fragment=None):
        return None  # the page reloads itself: it is the page
    return str(following)


def _kind_of_timeout(error: httpx.TimeoutException) -> str:
    return {
        httpx.ConnectTimeout: "connect",
        httpx.ReadTimeout: "read",
        httpx.WriteTimeout: "write",
        httpx.PoolTimeout: "pool",
    }.get(type(error), "timeout")


def _describe_transport_error(error: httpx.TransportError) -> str:
    cause = error.__cause__ or error.__context__
    # Stored as last_error, which anyone reading the list sees: no header quoted in it.
    text = redact_secrets(str(error) or (str(cause) if cause is not None else "") or type(error).__name__)
    if isinstance(error, httpx.ConnectError):
        return f"connection failed: {text}"
    if isinstance(error, httpx.RemoteProtocolError):
        return f"connection broken: {text}"
    if isinstance(error, httpx.ReadError):
        return f"connection reset: {text}"
    return f"network error: {text}"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
