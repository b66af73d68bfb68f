"""Building crafted reading-list databases for the queue tests (no harvest needed)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from readinglist.cli import cli
from readinglist.db import item_id_for, mention_id_for, mentions_written, open_db


def days_ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")


class Builder:
    def __init__(self, path: str):
        self.path = path
        self.db = open_db(path)
        self._posts = 0

    def item(self, url: str, kind: str = "article", title: str | None = None, added_days_ago: float = 30, **fields) -> str:
        item_id = item_id_for(url)
        domain = url.split("/")[2]
        self.db["items"].insert(
            {"id": item_id, "url": url, "kind": kind, "domain": domain, "title": title,
             "status": "unread", "added_at": days_ago(added_days_ago), **fields}
        )
        return item_id

    def mention(self, item_id: str, channel: str, days: float, context: str = "", forwarded_from: str | None = None) -> str:
        self._posts += 1
        post_id = f"post{self._posts:04d}"
        self.db["posts"].insert(
            {"id": post_id, "source": "test", "channel": channel, "date": days_ago(days),
             "forwarded_from": forwarded_from, "text": context, "hashtags": "[]"}
        )
        self.db["mentions"].insert(
            {"id": mention_id_for(item_id, post_id, "x"), "item_id": item_id, "post_id": post_id,
             "url": "x", "context": context}
        )
        # Writers of mentions refresh the item's aggregates, as the harvest does per batch.
        mentions_written(self.db, [item_id])
        return post_id


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "queue.db")


@pytest.fixture
def builder(db_path):
    return Builder(db_path)


def run(*args, input=None):
    """The CLI, non-interactive (CliRunner is not a tty: plain output)."""
    return CliRunner().invoke(cli, list(args), input=input)


# A query of each shape `readinglist search` (and Datasette's search box) accepts.
SEARCH_SHAPES = {
    "word": "gpt",
    "phrase": '"tiny cuda"',
    "expanded prefix": "alp*",  # a few indexed terms: queried as an OR of them
    "native prefix": "wide*",  # more than search.MAX_PREFIX_TERMS terms: FTS5's own prefix query
    "phrase prefix": '"tiny cu"*',
    "apostrophe": "Stanford's",
}


def every_shape_item(builder: Builder) -> str:
    """An item that every query of :data:`SEARCH_SHAPES` finds (and one that none finds)."""
    from readinglist.search import MAX_PREFIX_TERMS

    wide = " ".join(f"wide{n}" for n in range(MAX_PREFIX_TERMS + 1))
    item_id = builder.item("https://example.com/shapes", "article", "Alpaca: Stanford's tiny CUDA GPT", summary=wide)
    builder.item("https://example.com/other", "article", "Nothing in common")
    builder.db.conn.commit()
    return item_id
