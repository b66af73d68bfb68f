"""Everything at once on one database: a file harvest, a fetch, Datasette serving and CLI state changes.

All real processes: `readinglist serve` answers page requests in a loop,
`readinglist fetch` fetches local pages (with latency) while `readinglist
harvest` reads a generated Telegram JSON export into the same database, and
`readinglist read/unread/tag/priority` run one after another on items the
fetch is writing too. Nobody may see "database is locked" (exit codes and
stderr are checked), every change the CLI reported must be in the events
table, and each item's final state must be what its last command set.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from datasette_fixtures import Server
from fetch_server import LocalServer, Reply, html_page
from harvester.settings import BASE_URL_ENV
from queue_fixtures import Builder

ROOT = Path(__file__).resolve().parent.parent
FETCH_ITEMS = 160
TARGETS = 6  # items the CLI changes (the fetch writes them too)
EXPORT_SIZE = "6MB"
CLI = [sys.executable, "-m", "readinglist.cli"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "READINGLIST_ALLOW_PRIVATE": ""}
PAGES = (
    "/readinglist/items",
    "/readinglist/items?_search=model",
    "/readinglist/items?kind=article&_facet_array=tags",
    "/readinglist/queue",
    "/-/next",
    "/readinglist/posts?_sort_desc=date",
)


def generate_export(path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import gen_telegram_json
    finally:
        sys.path.pop(0)
    with open(path, "wb") as out:
        gen_telegram_json.generate(out, gen_telegram_json.parse_size(EXPORT_SIZE), seed=3)


def build(db_path: Path, servers: list[LocalServer]) -> list[str]:
    builder = Builder(str(db_path))
    ids = []
    for i in range(FETCH_ITEMS):
        server = servers[i % len(servers)]
        url = server.add(f"/a/{i}", Reply(200, html_page(f"Page {i}", f"Words about model {i}. " * 40),
                                          {"Content-Type": "text/html"}, delay=0.08))
        ids.append(builder.item(url, "article", f"anchor {i}", title_source="anchor"))
        builder.mention(ids[-1], f"channel{i % 4}", i % 20, f"a post about page {i}")
    builder.db.conn.close()
    return ids


class StateChanges:
    """Runs `readinglist read/unread/tag/priority` in a loop and remembers what each reported."""

    def __init__(self, db_path: Path, targets: list[str], env: dict, seed: int = 4):
        self.db_path = db_path
        self.env = env
        self.targets = targets
        self.rng = random.Random(seed)
        self.status = {item_id: "unread" for item_id in targets}
        self.priority = {item_id: "normal" for item_id in targets}
        self.tags: dict[str, list[str]] = {item_id: [] for item_id in targets}
        self.events: Counter = Counter()  # (item, action, value)
        self.failures: list[str] = []
        self.commands = 0

    def one(self, n: int) -> None:
        item_id = self.targets[n % len(self.targets)]
        op = self.rng.choice(["read", "unread", "tag", "priority"])
        if op in ("read", "unread"):
            argv, expected = [op, item_id], f"Marked {op}: "
        elif op == "priority":
            level = self.rng.choice(["high", "normal", "low"])
            argv, expected = ["priority", item_id, level], f"Priority {level}: "
        else:
            current = self.tags[item_id]
            change = f"-{self.rng.choice(current)}" if current and self.rng.random() < 0.4 else f"+t{n}"
            argv, expected = ["tag", item_id, change], "Tags ["
        done = subprocess.run(CLI + argv + ["--db", str(self.db_path)], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=60)
        self.commands += 1
        if done.returncode != 0 or done.stderr or not done.stdout.startswith(expected):
            self.failures.append(f"{argv}: exit {done.returncode}, stdout {done.stdout!r}, stderr {done.stderr[-500:]!r}")
            return
        # The command said it was done: from now on the database must show it.
        if op in ("read", "unread"):
            self.status[item_id] = op
            self.events[(item_id, op, None)] += 1
        elif op == "priority":
            self.priority[item_id] = argv[2]
            self.events[(item_id, "priority", argv[2])] += 1
        else:
            name = change[1:]
            if change.startswith("+"):
                self.tags[item_id].append(name)
            else:
                self.tags[item_id].remove(name)
            self.events[(item_id, "tag", change)] += 1
            assert done.stdout.startswith(f"Tags [{', '.join(self.tags[item_id])}]: "), done.stdout

    def check(self, db: sqlite3.Connection) -> None:
        """Each item's final state is what its last command set."""
        for item_id in self.targets:
            status, priority, tags = db.execute("SELECT status, priority, tags FROM items WHERE id = ?", [item_id]).fetchone()
            assert (status, priority, json.loads(tags)) == (self.status[item_id], self.priority[item_id], self.tags[item_id])

    def loop(self, stop: threading.Event, at_least: int) -> None:
        n = 0
        while not stop.is_set() or n < at_least:
            self.one(n)
            n += 1


def test_harvest_fetch_serve_and_state_changes_at_once(db_path, tmp_path):
    export = tmp_path / "result.json"
    generate_export(export)
    config = tmp_path / "config.toml"
    config.write_text("per_host_delay = 0.0\nconcurrency = 8\nper_host = 4\nattempts = 2\n", encoding="utf-8")
    servers = [LocalServer("127.0.0.1"), LocalServer("127.0.0.2")]
    apis = LocalServer("127.0.0.3")  # every catalogue the fetch may ask (cited titles): a local 404, never the internet
    for server in [*servers, apis]:
        server.__enter__()
    env = {**ENV, **{variable: apis.url("/api") for variable in BASE_URL_ENV.values()}}
    ids = build(db_path, servers)
    serve = Server(db_path, tmp_path)
    targets = ids[:: FETCH_ITEMS // TARGETS][:TARGETS]
    # Two loops on different items: the CLI processes also contend with each other.
    loops = [StateChanges(db_path, targets[:TARGETS // 2], env, seed=4), StateChanges(db_path, targets[TARGETS // 2:], env, seed=5)]
    failures: list[str] = []
    reads = Counter()
    stop = threading.Event()

    def reader(offset: int) -> None:
        with httpx.Client(base_url=serve.url, timeout=30) as session:
            n = offset
            while not stop.is_set():
                path = PAGES[n % len(PAGES)] if n % 3 else f"/readinglist/items/{targets[n % TARGETS]}"
                n += 1
                response = session.get(path)
                reads[response.status_code] += 1
                if response.status_code != 200 or "locked" in response.text:
                    failures.append(f"GET {path}: {response.status_code} {response.text[:300]}")

    def guarded(target, *args):
        def run():
            try:
                target(*args)
            except Exception as error:  # a failure in a thread must fail the test
                failures.append(f"{target.__name__}: {error!r}")

        return threading.Thread(target=run)

    started = time.monotonic()
    threads = [guarded(reader, 0), guarded(reader, 1), *(guarded(changes.loop, stop, 8) for changes in loops)]
    try:
        for thread in threads:
            thread.start()
        fetch = subprocess.Popen(CLI + ["fetch", "--db", str(db_path), "--config", str(config), "--allow-private"],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The harvest starts once the fetch has chosen its items (and is writing), so it fetches only the local pages.
        deadline = time.monotonic() + 60
        with sqlite3.connect(db_path, timeout=30) as conn:
            while conn.execute("SELECT COUNT(*) FROM items WHERE fetch_status = 'ok'").fetchone()[0] == 0:
                assert fetch.poll() is None and time.monotonic() < deadline, fetch.communicate()
                time.sleep(0.05)
        harvest = subprocess.Popen(CLI + ["harvest", str(export), "--db", str(db_path)],
                                   cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        harvest_out, harvest_err = harvest.communicate(timeout=120)
        fetch_out, fetch_err = fetch.communicate(timeout=120)
        harvested_at = time.monotonic() - started
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        serve.stop()
        for server in [*servers, apis]:
            server.__exit__(None, None, None)
    serve_err = serve.stderr_path.read_text()
    commands = sum(changes.commands for changes in loops)
    print(f"\nconcurrency: harvest + fetch done in {harvested_at:.1f} s; {commands} CLI state changes,"
          f" {sum(reads.values())} Datasette pages served, all in {time.monotonic() - started:.1f} s")

    assert (harvest.returncode, harvest_err) == (0, ""), harvest_err
    assert harvest_out.startswith("Harvested: ") and "failed" not in harvest_out, harvest_out
    assert (fetch.returncode, fetch_err) == (0, ""), fetch_err
    # The first line is the pages; cited titles the harvest brought in meanwhile may add a "References:" line.
    fetched, *more = fetch_out.splitlines()
    assert fetched == f"Fetched {FETCH_ITEMS} items: {FETCH_ITEMS} ok, 0 failed, 0 dead, 0 skipped."
    assert all(line.startswith("References: ") for line in more), fetch_out
    assert failures == []
    assert [failure for changes in loops for failure in changes.failures] == []
    assert "locked" not in serve_err and "Traceback" not in serve_err, serve_err
    assert commands >= 16 and reads[200] >= 20, (commands, reads)

    db = sqlite3.connect(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # No lost update: every reported change left its event, and the last command of each kind won.
    events = Counter(
        (item_id, action, value)
        for item_id, action, value in db.execute(
            f"SELECT item_id, action, value FROM events WHERE item_id IN ({', '.join('?' * TARGETS)})", targets
        )
    )
    assert events == sum((changes.events for changes in loops), Counter())
    for changes in loops:
        changes.check(db)
    for item_id in targets:
        fetch_status, title = db.execute(
            "SELECT fetch_status, title FROM items WHERE id = ?", [item_id]
        ).fetchone()
        assert fetch_status == "ok" and title.startswith("Page ")
    # The fetch finished every local page once; the harvest stored its export without duplicates.
    assert db.execute("SELECT COUNT(*) FROM texts").fetchone() == (FETCH_ITEMS,)
    assert db.execute("SELECT COUNT(*), COUNT(DISTINCT url) FROM items").fetchone()[0] > FETCH_ITEMS
    count, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT url) FROM items").fetchone()
    assert count == distinct
    posts = int(harvest_out.split()[1])
    assert db.execute("SELECT COUNT(*) FROM posts WHERE source != 'test'").fetchone() == (posts,)
    assert all(hits == 1 for server in servers for path, hits in server.hits.items() if path.startswith("/a/"))
    db.close()


def _open_when_all_are_ready(path, barrier, results):
    from readinglist.db import open_db

    barrier.wait()
    try:
        db = open_db(path)
        results.put(db.execute("SELECT COUNT(*) FROM _sqlite_migrations").fetchone()[0])
    except Exception as error:  # reported to the test, which names it
        results.put(repr(error))


@pytest.mark.parametrize("made_by", ["nothing (a new file)", "a version before m012"])
def test_commands_opening_a_database_at_once_migrate_it_once(tmp_path, made_by):
    """cron's harvest and fetch, started together right after an upgrade, both used to run m012."""
    import multiprocessing

    from readinglist.db import migrations, open_db

    names = [migration.name for migration in migrations._migrations]
    for attempt in range(3):  # a race: every try must come out right
        path = str(tmp_path / f"r{attempt}.db")
        if made_by != "nothing (a new file)":
            old = open_db(path, migrate=False)
            migrations.apply(old, stop_before=names[names.index("m012_post_message_keys"):])
            old.conn.close()
        context = multiprocessing.get_context("spawn")
        barrier, results = context.Barrier(4), context.Queue()
        openers = [context.Process(target=_open_when_all_are_ready, args=(path, barrier, results)) for _ in range(4)]
        for opener in openers:
            opener.start()
        outcomes = [results.get(timeout=120) for _ in openers]
        for opener in openers:
            opener.join()
        assert outcomes == [len(names)] * 4
