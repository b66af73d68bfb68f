"""kill -9 in the middle of `readinglist fetch`: nothing lost, nothing duplicated, the database intact."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fetch_server import LocalServer, Reply, add_items, html_page
from readinglist.db import open_db

ROOT = Path(__file__).resolve().parent.parent
ITEMS = 200


def fetch_command(db_path, config):
    return [sys.executable, "-m", "readinglist.cli", "fetch", "--db", str(db_path), "--config", str(config), "--allow-private"]


def ok_ids(db_path) -> set[str]:
    with sqlite3.connect(db_path, timeout=30) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM items WHERE fetch_status = 'ok'")}


def config_and_env(tmp_path, concurrency: int):
    """A config that fetches ``concurrency`` pages at once from the one local host, and the CLI's environment."""
    config = tmp_path / "config.toml"
    config.write_text(
        f"per_host_delay = 0.0\nconcurrency = {concurrency}\nper_host = {concurrency}\nattempts = 1\n", encoding="utf-8"
    )
    return config, {**os.environ, "PYTHONPATH": str(ROOT), "READINGLIST_ALLOW_PRIVATE": ""}


def test_kill_9_mid_run_then_resume(db_path, tmp_path):
    config, env = config_and_env(tmp_path, 8)
    with LocalServer() as server:
        urls = [
            server.add(f"/a{i}", Reply(200, html_page(f"Article {i}", f"Paragraph about topic {i}. " * 30), {"Content-Type": "text/html"}, delay=0.15))
            for i in range(ITEMS)
        ]
        ids = add_items(open_db(db_path), urls)
        path_of = dict(zip(ids, ("/" + url.split("/", 3)[3] for url in urls)))

        process = subprocess.Popen(fetch_command(db_path, config), cwd=ROOT, env=env, start_new_session=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(ok_ids(db_path)) < 40:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)  # the CLI and its extraction workers
        process.wait()
        assert process.returncode == -signal.SIGKILL
        stored_before = ok_ids(db_path)
        assert 40 <= len(stored_before) < ITEMS

        finished = subprocess.run(fetch_command(db_path, config), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert finished.returncode == 0, finished.stderr
        remaining = ITEMS - len(stored_before)
        assert finished.stdout == f"Fetched {remaining} items: {remaining} ok, 0 failed, 0 dead, 0 skipped.\n"

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT url), SUM(fetch_status = 'ok') FROM items").fetchone() == (ITEMS, ITEMS, ITEMS)
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT item_id) FROM texts").fetchone() == (ITEMS, ITEMS)
        titles = dict(conn.execute("SELECT id, title FROM items"))
    assert all(titles[item_id] == f"Article {index}" for index, item_id in enumerate(ids))
    # What was stored before the kill was never fetched again. Only what was in flight was fetched twice:
    # the fetch window (2 x concurrency), the extraction queue (2 x workers) and the pages being extracted.
    assert all(server.hits[path_of[item_id]] == 1 for item_id in stored_before)
    in_flight = 2 * 8 + 3 * (os.cpu_count() or 1)
    assert sum(server.hits[path] for path in path_of.values()) <= ITEMS + in_flight


def children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads process children from Linux /proc")
def test_killing_the_fetch_alone_ends_its_extraction_workers(db_path, tmp_path):
    """`kill -9 PID` (not the process group, as a supervisor may do) leaves no worker behind."""
    config, env = config_and_env(tmp_path, 4)
    with LocalServer() as server:
        urls = [
            server.add(f"/slow{i}", Reply(200, html_page(f"Slow {i}", "Text. " * 50), {"Content-Type": "text/html"}, delay=0.5))
            for i in range(40)
        ]
        add_items(open_db(db_path), urls)
        process = subprocess.Popen(fetch_command(db_path, config), cwd=ROOT, env=env, start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not ok_ids(db_path):
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            workers = children_of(process.pid)
            assert workers
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            deadline = time.monotonic() + 10
            while any(running(pid) for pid in workers) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not [pid for pid in workers if running(pid)]
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
