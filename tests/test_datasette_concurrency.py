"""Datasette serves while another process writes the way `readinglist fetch` does: nobody sees "database is locked"."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest

from datasette_fixtures import Server, client, list_ids  # noqa: F401  (fixtures)
from queue_fixtures import Builder
from readinglist.db import BUSY_TIMEOUT_MS, open_db
from readinglist.queue import show_item

ITEMS = 300
# A fetcher: many short transactions, each updating one item (title and summary
# fire the search triggers, fetch_status the ranking trigger), as fetching does.
WRITER = r"""
import sys, time
from readinglist.db import open_db
db = open_db(sys.argv[1])
ids = [r[0] for r in db.execute("SELECT id FROM items ORDER BY id")]
deadline = time.monotonic() + float(sys.argv[2])
rounds = 0
while time.monotonic() < deadline or rounds == 0:
    rounds += 1
    for n, item_id in enumerate(ids):
        with db.conn:
            db.execute(
                "UPDATE items SET fetch_status = 'ok', title = ?, summary = ?, reading_minutes = ?,"
                " fetched_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), attempts = COALESCE(attempts, 0) + 1"
                " WHERE id = ?",
                [f"Fetched title {rounds} {n}", f"Summary about transformers, round {rounds}", n % 40 + 1, item_id],
            )
print(rounds)
"""
PAGES = (
    "/readinglist/items",
    "/readinglist/items?_search=transformers",
    "/readinglist/items?kind=paper&_facet_array=tags",
    "/readinglist/queue",
    "/-/next",
    "/readinglist.json",
)


def build(db_path) -> list[str]:
    b = Builder(str(db_path))
    ids = []
    for i in range(ITEMS):
        ids.append(b.item(f"https://example.com/{i}", "paper" if i % 3 == 0 else "article", f"Item {i}"))
    for i in range(0, ITEMS, 10):
        b.mention(ids[i], f"channel{i % 7}", i / 10, "a post about transformers")
    b.db.conn.commit()
    b.db.conn.close()
    return ids


def owner_session(server: Server) -> httpx.Client:
    session = httpx.Client(base_url=server.url, timeout=30)
    assert session.get(server.root_link).status_code == 302  # sets ds_actor
    return session


def csrf_token(session: httpx.Client, path: str) -> str:
    page = session.get(path)
    return re.search(r'name="csrftoken" value="([^"]+)"', page.text).group(1)


def test_serving_while_a_fetcher_writes(db_path, tmp_path):
    ids = build(db_path)
    server = Server(db_path, tmp_path)
    failures: list[str] = []
    counts = {"reads": 0, "writes": 0}
    stop = threading.Event()

    def reader(offset: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as session:
            n = offset
            while not stop.is_set():
                path = PAGES[n % len(PAGES)] if n % 4 else f"/readinglist/items/{ids[n % ITEMS]}"
                n += 1
                response = session.get(path)
                if response.status_code != 200 or "locked" in response.text:
                    failures.append(f"GET {path}: {response.status_code} {response.text[:300]}")
                counts["reads"] += 1

    def owner_writer() -> None:
        session = owner_session(server)
        n = 0
        try:
            while not stop.is_set():
                query = "mark_read" if n % 2 == 0 else "mark_unread"
                token = csrf_token(session, f"/readinglist/{query}")
                response = session.post(
                    f"/readinglist/{query}",
                    data={"item_id": ids[(n // 2) % ITEMS], "csrftoken": token, "_json": "1"},
                )
                if response.status_code != 200 or response.json().get("ok") is not True:
                    failures.append(f"POST {query}: {response.status_code} {response.text[:300]}")
                counts["writes"] += 1
                n += 1
        finally:
            session.close()

    try:
        fetcher = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db_path), "6"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        def guarded(target, *args):
            def run():
                try:
                    target(*args)
                except Exception as error:  # a failure in a thread must fail the test
                    failures.append(f"{target.__name__}: {error!r}")

            return threading.Thread(target=run)

        threads = [guarded(reader, 0), guarded(reader, 1), guarded(owner_writer)]
        for thread in threads:
            thread.start()
        out, err = fetcher.communicate(timeout=300)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        assert fetcher.returncode == 0, err
        assert err == ""
        rounds = int(out)
        assert failures == []
        assert counts["reads"] >= 20 and counts["writes"] >= 4, counts
        assert "locked" not in server.stderr()
    finally:
        stop.set()
        server.stop()

    db = open_db(db_path)
    # Every fetcher transaction landed: each item was updated `rounds` times.
    assert db.execute("SELECT MIN(attempts), MAX(attempts) FROM items").fetchone() == (rounds, rounds)
    # Every owner write left exactly one event.
    events = db.execute("SELECT COUNT(*) FROM events WHERE action IN ('read', 'unread')").fetchone()[0]
    assert events == counts["writes"]
    # And search saw the fetcher's titles (the triggers kept the index current).
    assert db.execute(
        "SELECT COUNT(*) FROM search_docs_fts WHERE search_docs_fts MATCH ?", [f'"round {rounds}"']
    ).fetchone()[0] == ITEMS


# Longer than sqlite3's default 5 s timeout, which Datasette connects with: a harvest batch under load.
LOCK_HELD_SECONDS = 7


@pytest.mark.parametrize(
    "query, form, change",
    [
        ("mark_read", {}, {"status": "read"}),
        ("set_priority", {"priority": "low"}, {"priority": "low"}),
    ],
)
def test_a_browser_write_waits_for_a_writer_holding_the_lock(client, db_path, list_ids, query, form, change):
    """README, The database: a second writer waits up to 30 s instead of failing; the browser's writes too."""
    item_id = list_ids["paper"]
    locked, done = threading.Event(), threading.Event()

    def harvest_batch() -> None:
        conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("BEGIN IMMEDIATE")
            locked.set()
            done.wait(LOCK_HELD_SECONDS)
            conn.execute("COMMIT")
        finally:
            conn.close()

    holder = threading.Thread(target=harvest_batch)
    holder.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        response = client.write(query, {"item_id": item_id, **form, "_json": "1"})
        waited = time.monotonic() - started
    finally:
        done.set()
        holder.join()
    assert response.json()["ok"] is True, response.json()
    assert waited >= LOCK_HELD_SECONDS - 1
    db = open_db(db_path)
    try:
        item = show_item(db, item_id)
    finally:
        db.conn.close()
    for field, expected in change.items():
        assert item[field] == expected, field


@pytest.mark.parametrize("connection", ["read", "write"])
def test_datasette_connections_have_the_cli_busy_timeout(client, list_ids, connection):
    # The read connections too (a page read while WAL is recovered waits as well).
    db = client.ds.get_database("readinglist")
    if connection == "read":
        timeout = client.loop.run_until_complete(db.execute("PRAGMA busy_timeout")).rows[0][0]
    else:
        timeout = client.loop.run_until_complete(
            db.execute_write_fn(lambda conn: conn.execute("PRAGMA busy_timeout").fetchone()[0])
        )
    assert timeout == BUSY_TIMEOUT_MS
