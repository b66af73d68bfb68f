"""Shared pieces of the site-adapter tests: a database with items, settings aimed at a local server."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from harvester.identity import identify
from harvester.settings import Settings
from readinglist.db import item_id_for, mention_id_for, mentions_written

SITES = Path(__file__).resolve().parent / "fixtures" / "sites"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def fixture_bytes(name: str) -> bytes:
    return (SITES / name).read_bytes()


def settings_for(server, **changes) -> Settings:
    """Every remote base URL on the local server, no politeness delay (arXiv's 3 s is faked by a clock)."""
    base = server.url_for("").rstrip("/")
    values = dict(
        arxiv_api=base + "/api/query",
        crossref_api=base + "/crossref",
        datacite_api=base + "/datacite",
        github_api=base + "/github",
        huggingface_api=base + "/hf",
        youtube_oembed=base + "/oembed",
        telegram_base=base + "/tme",
        per_host_delay=0.0,
        allow_private=True,
    )
    values.update(changes)
    return Settings(**values)


def add_item(db, url: str, title: str | None = None, **fields) -> str:
    identity = identify(url)
    assert identity is not None, url
    item_id = item_id_for(identity.url)
    db["items"].insert(
        {
            "id": item_id,
            "url": identity.url,
            "kind": identity.kind,
            "domain": identity.domain,
            "arxiv_id": identity.arxiv_id,
            "doi": identity.doi,
            "repo": identity.repo,
            "hf_id": identity.hf_id,
            "title": title,
            "title_source": "anchor" if title else None,
            "status": "unread",
            "added_at": "2026-01-01T00:00:00+00:00",
            **fields,
        }
    )
    return item_id


_posts = {"n": 0}


def add_post(db, item_ids: list[str], channel: str = "papers", written: list[str] | None = None) -> str:
    """One post mentioning ``item_ids`` (each written as its own URL unless ``written`` says otherwise)."""
    _posts["n"] += 1
    post_id = f"post{_posts['n']:05d}"
    db["posts"].insert(
        {"id": post_id, "source": "test", "channel": channel, "date": "2026-02-01T10:00:00+00:00", "text": "", "hashtags": "[]"}
    )
    for index, item_id in enumerate(item_ids):
        url = written[index] if written else db.execute("SELECT url FROM items WHERE id = ?", [item_id]).fetchone()[0]
        db["mentions"].insert(
            {"id": mention_id_for(item_id, post_id, url), "item_id": item_id, "post_id": post_id, "url": url, "context": "ctx"}
        )
    mentions_written(db, item_ids)
    return post_id


def item(db, item_id: str) -> dict:
    cursor = db.execute("SELECT * FROM items WHERE id = ?", [item_id])
    values = cursor.fetchone()
    if values is None:
        return {}
    row = dict(zip([d[0] for d in cursor.description], values))
    for name in ("tags", "authors", "meta"):
        if row.get(name):
            row[name] = json.loads(row[name])
    return row


class FakeTime:
    """``sleep`` and ``clock`` for paced requests: sleeping advances the clock, nothing waits."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def run_stage(db, settings, **options):
    from readinglist import metadata

    fake = options.pop("fake", None) or FakeTime()
    return metadata.run(db, settings, sleep=fake.sleep, clock=fake.clock, now=lambda: NOW, **options)


class ToLocal:
    """An httpx transport sending every request to the local test server, path and query kept.

    Habr items are fetched at their own URL (https://habr.com/...); this points them at the server.
    """

    def __init__(self, server):
        import httpx

        self.server = server
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request):
        request.url = request.url.copy_with(scheme="http", host=self.server.host, port=self.server.port)
        request.headers["Host"] = f"{self.server.host}:{self.server.port}"
        return self.inner.handle_request(request)

    def close(self):
        self.inner.close()


def local_page_client(server):
    import httpx

    transport = ToLocal(server)
    transport.__class__ = type("ToLocalTransport", (ToLocal, httpx.BaseTransport), {})
    return httpx.Client(transport=transport, headers={"User-Agent": "readinglist-test"})
