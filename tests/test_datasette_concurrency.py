"""Datasette serves while another process writes the way `readinglist fetch` does: nobody sees "database is locked"."""

from __future__ import annotations

import re
import subprocess
import sys
import threading

import httpx

from datasette_fixtures import Server
from queue_fixtures import Builder
from readinglist.db import open_db

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
