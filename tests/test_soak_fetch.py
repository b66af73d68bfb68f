"""Kill soak: `readinglist fetch` killed with SIGKILL again and again loses and duplicates nothing.

Four local hosts answer with latency. Each round starts `readinglist fetch`
(the CLI, with its extraction workers) and kills the whole process group
with SIGKILL at a random moment: sometimes blind (during start-up, while
items are claimed), mostly after a random number of items were stored. The
short profile (CI) kills 5 times; ``READINGLIST_SOAK=long`` kills 25 times
over more items. A final uninterrupted run must then finish every item, and
``PRAGMA integrity_check`` is ok, no item, text, post or mention is
duplicated or lost, and an item stored before a kill was never fetched again.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from fetch_server import LocalServer, Reply, html_page
from queue_fixtures import Builder

ROOT = Path(__file__).resolve().parent.parent
LONG = os.environ.get("READINGLIST_SOAK") == "long"
KILLS = 25 if LONG else 5
ITEMS = 1000 if LONG else 300
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")
CONCURRENCY = 16


def fetch_command(db_path: Path, config: Path) -> list[str]:
    return [sys.executable, "-m", "readinglist.cli", "fetch", "--db", str(db_path), "--config", str(config), "--allow-private"]


def ok_count(db_path: Path) -> int:
    with sqlite3.connect(db_path, timeout=30) as conn:
        return conn.execute("SELECT COUNT(*) FROM items WHERE fetch_status = 'ok'").fetchone()[0]


def snapshot(db_path: Path) -> dict:
    with sqlite3.connect(db_path, timeout=30) as conn:
        return {
            "posts": sorted(conn.execute("SELECT id, channel, text FROM posts")),
            "mentions": sorted(conn.execute("SELECT id, item_id, post_id, url, context FROM mentions")),
            "items": sorted(conn.execute("SELECT id, url, kind, mention_posts, mention_channels, last_mentioned FROM items")),
        }


def build(db_path: Path, servers: list[LocalServer]) -> dict[str, str]:
    """ITEMS items over the hosts, each mentioned by one or two posts; returns item id -> (server, path)."""
    builder = Builder(str(db_path))
    where = {}
    for i in range(ITEMS):
        server = servers[i % len(servers)]
        path = f"/article/{i}"
        # A few pages answer slowly, so kills also land while requests are in flight.
        delay = 0.3 if i % 17 == 0 else 0.05
        url = server.add(path, Reply(200, html_page(f"Article {i}", f"About topic {i}. " * 40), {"Content-Type": "text/html"}, delay=delay))
        item_id = builder.item(url, "article", f"anchor {i}", title_source="anchor")
        builder.mention(item_id, f"channel{i % 5}", i % 30, f"post about article {i}")
        if i % 3 == 0:
            builder.mention(item_id, f"channel{(i + 1) % 5}", i % 30 + 1, f"again article {i}")
        where[item_id] = (server, path)
    builder.db.conn.close()
    return where


def test_repeated_sigkill_during_fetch(db_path, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        f"per_host_delay = 0.0\nconcurrency = {CONCURRENCY}\nper_host = 4\nattempts = 2\nread_timeout = 10.0\n", encoding="utf-8"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "READINGLIST_ALLOW_PRIVATE": ""}
    rng = random.Random(8)
    servers = [LocalServer(host) for host in HOSTS]
    for server in servers:
        server.__enter__()
    try:
        where = build(db_path, servers)
        before = snapshot(db_path)
        kills, rounds = 0, 0
        frozen: dict[str, int] = {}  # item id -> page requests when it was first seen stored after a kill
        while kills < KILLS and rounds < KILLS * 3:
            rounds += 1
            start_ok = ok_count(db_path)
            process = subprocess.Popen(fetch_command(db_path, config), cwd=ROOT, env=env, start_new_session=True,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if rng.random() < 0.25:
                time.sleep(rng.uniform(0.2, 2.5))  # blind: start-up, migration check, claiming
            else:
                target = start_ok + rng.randint(1, 25)
                deadline = time.monotonic() + 60
                while ok_count(db_path) < target and process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.02)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)  # the CLI and its extraction workers
                process.wait()
                assert process.returncode == -signal.SIGKILL
                kills += 1
                with sqlite3.connect(db_path, timeout=30) as conn:
                    for (item_id,) in conn.execute("SELECT id FROM items WHERE fetch_status = 'ok'"):
                        server, path = where[item_id]
                        frozen.setdefault(item_id, server.hits[path])
            else:
                process.wait()
            stderr = process.stderr.read().decode()
            process.stderr.close()
            assert "Traceback" not in stderr and "locked" not in stderr, stderr
        assert kills >= KILLS, f"only {kills} kills in {rounds} rounds: the fetch finished too soon, add items"
        left = ITEMS - ok_count(db_path)
        assert left > 0, "every item was fetched before the last kill: add items"

        finished = subprocess.run(fetch_command(db_path, config), cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert finished.returncode == 0, finished.stderr
        assert finished.stdout == f"Fetched {left} items: {left} ok, 0 failed, 0 dead, 0 skipped.\n"
    finally:
        for server in servers:
            server.__exit__(None, None, None)

    hits = {item_id: server.hits[path] for item_id, (server, path) in where.items()}
    print(f"\nfetch kill soak: {kills} kills of `readinglist fetch` in {rounds} rounds; {ITEMS} items,"
          f" {sum(hits.values())} page requests ({sum(hits.values()) - ITEMS} repeated after kills)")
    after = snapshot(db_path)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT url), SUM(fetch_status = 'ok') FROM items").fetchone() == (
            ITEMS, ITEMS, ITEMS
        )
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT item_id) FROM texts").fetchone() == (ITEMS, ITEMS)
        titles = dict(conn.execute("SELECT id, title FROM items"))
    # No post, mention or item appeared, vanished or changed its mention counts.
    assert after == before
    assert all(titles[item_id] == f"Article {path.rsplit('/', 1)[1]}" for item_id, (_, path) in where.items())
    # Every page was fetched at least once; one stored before a kill was never fetched again after it,
    # and repeats are bounded by what can be in flight when a kill lands (fetch window + extraction queue).
    assert all(count >= 1 for count in hits.values())
    assert frozen and all(hits[item_id] == count for item_id, count in frozen.items())
    in_flight = 2 * CONCURRENCY + 5 * (os.cpu_count() or 1)  # fetch window + extraction queue and consumers
    assert sum(hits.values()) <= ITEMS + kills * in_flight
