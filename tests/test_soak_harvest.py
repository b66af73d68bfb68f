"""Kill soak: `readinglist harvest` killed with SIGKILL again and again loses and duplicates nothing.

The short profile (CI) kills 5 times; ``READINGLIST_SOAK=long`` kills 25
times on a bigger export. Afterwards ``PRAGMA integrity_check`` is ok and the
database holds exactly what one uninterrupted harvest of the same file holds.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from readinglist.db import open_db

ROOT = Path(__file__).resolve().parent.parent
LONG = os.environ.get("READINGLIST_SOAK") == "long"
KILLS = 25 if LONG else 5
SIZE = "8MB" if LONG else "2MB"


def generate(path: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import gen_telegram_json
    finally:
        sys.path.pop(0)
    with open(path, "wb") as out:
        gen_telegram_json.generate(out, gen_telegram_json.parse_size(SIZE), seed=11)


def harvest_command(export: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "readinglist.cli", "harvest", str(export), "--db", str(db), "-q"]


def snapshot(db_path: Path) -> dict:
    db = open_db(db_path)
    return {
        "posts": sorted(row[0] for row in db.execute("SELECT id FROM posts")),
        "items": sorted(db.execute("SELECT id, url, kind, title, mention_posts, mention_channels, channels, last_mentioned FROM items")),
        "mentions": sorted(db.execute("SELECT id, item_id, post_id, url, post_julianday FROM mentions")),
        "search_docs": db.execute("SELECT COUNT(*), COUNT(DISTINCT item_id) FROM search_docs").fetchone(),
        "integrity": db.execute("PRAGMA integrity_check").fetchone()[0],
    }


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("soak") / "result.json"
    generate(path)
    return path


@pytest.fixture(scope="module")
def reference(export, tmp_path_factory) -> dict:
    db = tmp_path_factory.mktemp("reference") / "reference.db"
    started = time.monotonic()
    subprocess.run(harvest_command(export, db), check=True, cwd=ROOT, timeout=600)
    return {**snapshot(db), "seconds": time.monotonic() - started}


def test_repeated_sigkill_during_harvest(export, reference, tmp_path):
    db = tmp_path / "killed.db"
    rng = random.Random(5)
    kills = 0
    # Somewhere inside a run: a rerun reads the whole export again, so it takes about as long.
    # The reference's time is a guess (a loaded machine makes it long): a run that finishes
    # before its kill halves the waits that follow, so the kills land however fast runs are.
    scale = 1.0
    for _ in range(KILLS * 3):
        if kills == KILLS:
            break
        process = subprocess.Popen(harvest_command(export, db), cwd=ROOT)
        time.sleep(rng.uniform(0.35, 0.9) * reference["seconds"] * scale)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        else:
            scale /= 2
        process.wait()
    assert kills >= min(3, KILLS), "the harvest finished before it could be killed: make the export bigger"
    subprocess.run(harvest_command(export, db), check=True, cwd=ROOT, timeout=600)
    survived = snapshot(db)
    assert survived["integrity"] == "ok"
    assert survived["posts"] == reference["posts"]
    assert survived["mentions"] == reference["mentions"]
    assert survived["items"] == reference["items"]
    assert survived["search_docs"] == reference["search_docs"]
