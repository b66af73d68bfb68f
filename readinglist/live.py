"""Live channels into the database: ``readinglist harvest @name``.

Each run reads a channel's new posts (``harvester.sources.live``) through the
harvest's writer, then what earlier runs left unread below the posts they
read. ``ChannelMemory`` is that record, one row of the ``channels`` table.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlite_utils

from harvester.errors import SourceError

from .pipeline import HarvestStats, PostWriter, utc_now

logger = logging.getLogger(__name__)


def harvest_channels(
    db: sqlite_utils.Database,
    names: Iterable[str],
    settings,
    *,
    since=None,
    limit: int | None = None,
    client=None,
    sleep=None,
    stats: HarvestStats | None = None,
) -> HarvestStats:
    """Read public channels live from t.me into ``db``: what is new since an earlier run, then what it left unread.

    A channel named twice (``@name @Name t.me/s/name``) is read once. A channel
    that cannot be read is an error in ``stats.errors``; the others go on.
    """
    import time

    from harvester.fetch import make_sync_client
    from harvester.sources.live import distinct_channels

    stats = stats or HarvestStats()
    writer = PostWriter(db, stats)
    own_client = client is None
    client = client or make_sync_client(_trusting_telegram_base(settings))
    crawl = functools.partial(_crawl, writer, client=client, settings=settings, sleep=sleep or time.sleep)
    try:
        for name in distinct_channels(names):
            key = name.lower()
            stats.channels_named += 1
            memory = ChannelMemory.load(db, key)
            new = crawl(name, stop_at=memory.newest if memory else None, since=since, limit=limit)
            stats.channels += 1 if new.pages else 0
            title = new.title
            if memory is None:
                memory = ChannelMemory.first(new, since)
            elif new.stopped_by == "last run":
                # The new posts join what was read before: one unbroken run of posts.
                memory.newest = max(memory.newest, new.newest_message_id or 0)
                floor = memory.unread_below(since)
                room = None if limit is None else limit - new.posts
                if floor is not False and (room is None or room > 0):
                    older = crawl(name, before=memory.oldest, since=floor, limit=room)
                    memory.continued(older, floor)
                    title = title or older.title
            else:
                # Stopped before reaching the posts read before (--limit, --since or an error):
                # what lies between is still unread, so the next run reads down to them again.
                memory = None
            if memory is not None:
                # Only after the posts are stored: an interrupted run reads them again next time.
                memory.save(db, key, title)
            logger.info("@%s: %d posts from %d pages, stopped by %s", name, new.posts, new.pages, new.stopped_by)
    finally:
        if own_client:
            client.close()
    writer.complete_truncated()
    return stats


def _trusting_telegram_base(settings):
    """The settings with the configured t.me base let through the guard: it is the user's own setting (a mirror)."""
    import dataclasses
    from urllib.parse import urlsplit

    host = urlsplit(settings.telegram_base).hostname
    if not host:
        return settings
    return dataclasses.replace(settings, allow_hosts=(*settings.allow_hosts, host))


def _crawl(writer: PostWriter, name: str, *, client, settings, sleep, **bounds):
    """One pass of ``crawl_channel`` into ``writer``; an error ends it with ``stopped_by = 'error'``."""
    from harvester.sources.live import CrawlResult, crawl_channel

    result = CrawlResult(channel=name)
    try:
        for post in crawl_channel(name, client, settings, sleep=sleep, result=result, **bounds):
            writer.add(post)
    except SourceError as error:
        writer.stats.errors.append(error)
        result.stopped_by = "error"
    finally:
        writer.flush()
    return result


#: Why a channel's reading stopped below its oldest post read: nothing older
#: exists, the run's --since, its --limit (or page cap), or an error.
BOTTOMS = {"start of channel": "start", "since": "since", "limit": "limit", "pages": "limit", "error": "error"}


@dataclass
class ChannelMemory:
    """What earlier runs read of a live channel: every post from ``oldest`` to ``newest``.

    ``bottom`` says why reading stopped below ``oldest`` (see ``BOTTOMS``;
    None for channels read before migration m013), ``since`` the --since
    floor that applied then.
    """

    newest: int
    oldest: int
    bottom: str | None
    since: str | None

    @classmethod
    def load(cls, db: sqlite_utils.Database, key: str) -> ChannelMemory | None:
        row = db.execute(
            "SELECT newest_message_id, oldest_message_id, bottom, since FROM channels WHERE name = ?", [key]
        ).fetchone()
        if row is None or row[0] is None:
            return None
        newest, oldest, bottom, since = row
        return cls(newest, oldest if oldest is not None else newest, bottom, since)

    @classmethod
    def first(cls, crawl, since) -> ChannelMemory | None:
        if crawl.newest_message_id is None:
            return None
        # Nothing yielded (all older than --since, say): nothing below newest + 1 was read.
        oldest = crawl.oldest_message_id if crawl.oldest_message_id is not None else crawl.newest_message_id + 1
        return cls(crawl.newest_message_id, oldest, BOTTOMS[crawl.stopped_by], since.isoformat() if since else None)

    def unread_below(self, since):
        """Whether a run with ``since`` goes on below ``oldest``: False, or the --since floor to read down to (None: none)."""
        if self.oldest <= 1 or self.bottom in (None, "start"):
            return False
        if self.bottom == "since":
            # An earlier --since was the user's choice; only an earlier one reads further back.
            return since if since is not None and (self.since is None or since.isoformat() < self.since) else False
        return since if since is not None else (date.fromisoformat(self.since) if self.since else None)

    def continued(self, crawl, floor) -> None:
        """Extend down by a crawl that began just below ``oldest``."""
        if crawl.oldest_message_id is not None:
            self.oldest = min(self.oldest, crawl.oldest_message_id)
        self.bottom = BOTTOMS[crawl.stopped_by]
        self.since = floor.isoformat() if floor else None

    def save(self, db: sqlite_utils.Database, key: str, title: str | None) -> None:
        db["channels"].upsert(
            {"name": key, "title": title, "newest_message_id": self.newest, "oldest_message_id": self.oldest,
             "bottom": self.bottom, "since": self.since, "harvested_at": utc_now()},
            pk="name",
        )  # fmt: skip
