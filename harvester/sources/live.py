"""Live channels: read a public channel's web preview (``t.me/s/<name>``) page by page.

The pages are parsed by the same :func:`harvester.sources.tme.parse_page` as
saved pages. Paging goes back in time with ``?before=<smallest id on the
page>`` and stops at the newest post seen by an earlier run, a date, a post
count or the channel's first post. Requests go through the fetcher's guarded
client (private-address guard, User-Agent, timeouts) with the per-host delay
between pages; transient failures (timeouts, 429, 5xx) are retried.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Callable, Iterable, Iterator

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from ..errors import SourceError
from ..models import Post
from ..netguard import GuardError
from ..settings import Settings
from .tme import parse_page

logger = logging.getLogger(__name__)

# A public channel username: 4-32 characters, letters, digits and underscores, starting with a letter.
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_CHANNEL_URL = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/(?:s/)?(?P<name>[A-Za-z][A-Za-z0-9_]{3,31})/?(?:[?#].*)?$",
    re.I,
)
# More pages than this for one channel in one run is a loop, not a channel.
MAX_PAGES = 10_000


class ChannelError(SourceError):
    """A channel that cannot be read: missing, private, or an unusable answer from t.me."""


def channel_name(ref: str) -> str | None:
    """The username in ``@name``, ``name``, ``t.me/name`` or ``https://t.me/s/name``; None if it is none of these."""
    ref = ref.strip()
    if ref.startswith("@"):
        ref = ref[1:]
        return ref if _USERNAME.match(ref) else None
    match = _CHANNEL_URL.match(ref)
    if match:
        return match.group("name")
    return None


def _list_entries(text: str):
    """(line number, entry, channel name or None) for each non-empty line of a channel list."""
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.split("#", 1)[0].strip()
        if entry:
            yield number, entry, channel_name(entry) or (entry if _USERNAME.match(entry) else None)


def distinct_channels(names: Iterable[str]) -> list[str]:
    """``names`` with each channel once: a username names one channel in any letter case (the first spelling is kept)."""
    first: dict[str, str] = {}
    for name in names:
        first.setdefault(name.lower(), name)
    return list(first.values())


def read_channel_list(text: str, source: str) -> list[str]:
    """Channel names from a list file: one ``@name``, ``name`` or t.me URL per line; ``#`` starts a comment."""
    names = []
    for number, entry, name in _list_entries(text):
        if name is None:
            raise SourceError(source, f"line {number}: not a channel: {entry!r}")
        names.append(name)
    return distinct_channels(names)


def looks_like_channel_list(head: bytes) -> bool:
    """Whether a file's first bytes are a channel list (so a directory harvest does not read it as posts)."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    entries = list(_list_entries(text))
    if not entries or any(name is None for _, _, name in entries):
        return False
    # One bare word ("Forbidden") is a note, not a list: a list has two names, a comment, or an @name / t.me link.
    written_as_channel = any(entry.startswith("@") or "t.me/" in entry.lower() for _, entry, _ in entries)
    return len(entries) > 1 or "#" in text or written_as_channel


@dataclass
class CrawlResult:
    """What a crawl saw beyond its posts: for the next run to stop where this one began."""

    channel: str
    title: str | None = None
    newest_message_id: int | None = None
    #: The oldest post yielded: every post from it up to the newest was read.
    oldest_message_id: int | None = None
    pages: int = 0
    posts: int = 0
    stopped_by: str = "start of channel"  # or "last run", "since", "limit", "pages" (MAX_PAGES)
    seen_ids: set[int] = field(default_factory=set)


def _message_number(post: Post) -> int:
    return int(post.post_id.rsplit("/", 1)[1])


def _post_day(post: Post) -> date | None:
    if not post.date:
        return None
    try:
        return datetime.fromisoformat(post.date.replace("Z", "+00:00")).date()
    except ValueError:
        return None


class _Transient(Exception):
    pass


def crawl_channel(
    name: str,
    client: httpx.Client,
    settings: Settings,
    *,
    since: date | None = None,
    limit: int | None = None,
    stop_at: int | None = None,
    before: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    result: CrawlResult | None = None,
) -> Iterator[Post]:
    """The posts of public channel ``name``, newest first, or those below message ``before``.

    Stops at message ``stop_at`` (the newest one seen before, not yielded
    again), at posts older than ``since``, after ``limit`` posts, or at the
    channel's first post. ``result`` (if given) is filled in as pages arrive.
    Raises :class:`ChannelError` if the channel does not exist or is not public.
    """
    result = result if result is not None else CrawlResult(channel=name)
    base = settings.telegram_base.rstrip("/")
    source = f"@{name}"
    for _ in range(MAX_PAGES):
        url = f"{base}/s/{name}" + (f"?before={before}" if before else "")
        html = _get_page(client, url, settings, sleep, source)
        posts, info = parse_page(html, url)
        if result.pages == 0 and not info["exists"]:
            raise ChannelError(source, "no such public channel (t.me shows no message preview for it)")
        result.pages += 1
        result.title = result.title or info["title"]
        for post in sorted(posts, key=_message_number, reverse=True):
            number = _message_number(post)
            if number in result.seen_ids:
                continue
            result.seen_ids.add(number)
            if result.newest_message_id is None or number > result.newest_message_id:
                result.newest_message_id = number
            if stop_at is not None and number <= stop_at:
                result.stopped_by = "last run"
                return
            day = _post_day(post)
            if since is not None and day is not None and day < since:
                result.stopped_by = "since"
                return
            if limit is not None and result.posts >= limit:
                result.stopped_by = "limit"
                return
            result.posts += 1
            result.oldest_message_id = number
            yield post
        next_before = info["before"]
        if next_before is None or next_before <= 1 or (before is not None and next_before >= before):
            return
        before = next_before
        sleep(settings.per_host_delay)
    result.stopped_by = "pages"
    logger.warning("%s: stopped after %d pages", source, MAX_PAGES)


def _get_page(client: httpx.Client, url: str, settings: Settings, sleep, source: str) -> str:
    def attempt() -> str:
        try:
            response = client.get(url)
        except GuardError as error:
            raise ChannelError(source, f"{url}: {error}") from None
        except (httpx.TimeoutException, httpx.TransportError) as error:
            raise _Transient(f"{url}: {error.__class__.__name__}: {error}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise _Transient(f"{url}: HTTP {response.status_code}")
        if response.status_code == 404:
            raise ChannelError(source, "no such public channel (HTTP 404)")
        if response.status_code >= 400:
            raise ChannelError(source, f"{url}: HTTP {response.status_code}")
        return response.text

    retrying = Retrying(
        stop=stop_after_attempt(max(1, settings.attempts)),
        wait=wait_exponential_jitter(initial=1, max=min(30.0, settings.max_retry_after)),
        retry=retry_if_exception(lambda error: isinstance(error, _Transient)),
        sleep=sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except _Transient as error:
        raise ChannelError(source, f"t.me did not answer: {error}") from None

