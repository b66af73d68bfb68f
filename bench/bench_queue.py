"""Benchmark the reading queue on a large generated database: next, read, show, search.

    python bench/bench_queue.py [--items 1000000] [--mentions 3000000] [--db bench/out/queue.db]

Generates (or reuses, if its ``bench_meta`` table records the same sizes) a
database of N items, M mentions and about M/3 posts over 200 channels, with
Russian and English titles and contexts. Loading drops the ranking triggers
and Datasette's facet-count triggers, bulk-inserts in one transaction, then
runs ``ranking.rebuild`` and ``ranking.install_triggers``, recounts the facet
tables and puts their triggers back; ``search.install`` fills the search index.

Then measures, in-process with the library functions the CLI calls (median of
5 runs): ``next`` (top 10), ``read`` / ``unread`` of one item, ``show`` of one
item (resolve + fields, mentions, history) and ``search`` (a common English
word, a Russian prefix); and the whole-process wall time of
``readinglist next``, ``read ID`` + ``unread ID``, ``show ID`` and
``search model`` (median of 3), and the paper <-> code relations pass
that ends every ``readinglist fetch`` (no goal: it is reported). Prints a
Markdown table. Goals: 50 ms for next/read/show, 100 ms for search.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

from readinglist import metadata, ranking, search, state  # noqa: E402
from readinglist.db import (  # noqa: E402
    KEPT_TABLES_TRIGGERS,
    item_id_for,
    mention_id_for,
    open_db,
    rebuild_datasette_speed,
    rebuild_datasette_tags,
    short_hash,
)
from readinglist.queue import NextFilter, next_items, show_item  # noqa: E402

CHANNELS = 200
SEED = 7
EN_WORDS = (
    "model language transformer attention learning training dataset benchmark diffusion agent reasoning "
    "vision neural network paper code open source release fine tuning inference scaling evaluation "
    "retrieval embedding token context graph reinforcement policy optimization gradient sparse efficient"
).split()
RU_WORDS = (
    "модель модели трансформер трансформеры внимание обучение нейросеть нейросети статья данные языковая "
    "генерация агент рассуждения зрение код релиз дообучение инференс масштабирование оценка поиск "
    "эмбеддинги контекст граф оптимизация градиент эффективный новый интересный обзор"
).split()
KINDS = (("paper", 30), ("repo", 25), ("article", 15), ("model", 8), ("dataset", 5), ("video", 8),
         ("post", 7), ("channel", 2))
URL_FORMS = {
    "paper": "https://arxiv.org/abs/{y:02d}{m:02d}.{n:05d}",
    "repo": "https://github.com/owner{n}/repo{n}",
    "article": "https://habr.com/ru/articles/{n}/",
    "model": "https://huggingface.co/org{n}/model-{n}",
    "dataset": "https://huggingface.co/datasets/org{n}/data-{n}",
    "video": "https://www.youtube.com/watch?v=v{n:010d}",
    "post": "https://t.me/chan{y}/{n}",
    "channel": "https://t.me/channel{n}",
}
NEXT_GOAL, READ_GOAL, SHOW_GOAL, SEARCH_GOAL = 50, 50, 50, 100
EN_QUERY, RU_QUERY = "model", "трансформ*"


def words(rng: random.Random, n: int) -> str:
    pool = RU_WORDS if rng.random() < 0.5 else EN_WORDS
    return " ".join(rng.choice(pool) for _ in range(n))


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def generate(path: Path, n_items: int, n_mentions: int) -> float:
    """Build the database at ``path``; returns the seconds it took."""
    start = time.perf_counter()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    now = datetime.now(timezone.utc)
    db = open_db(path)
    db.execute("PRAGMA cache_size = -1000000")  # 1 GB for the load
    ranking.drop_triggers(db)
    # Datasette's trigger-kept counts (m009) are recounted once after the load.
    for name in KEPT_TABLES_TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    # The per-row search triggers are re-created by search.install() below, which also fills the index.
    for name in ("items_search_insert", "items_search_update", "items_search_delete"):
        db.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn = db.conn
    n_posts = max(1, n_mentions // 3)
    channels = [f"ML канал {i}" if i % 2 else f"ml_channel_{i}" for i in range(CHANNELS)]
    post_ids: list[str] = []
    post_days: list[float] = []

    def posts():
        for i in range(n_posts):
            channel = channels[min(CHANNELS - 1, int(CHANNELS * rng.random() ** 2))]
            pid = short_hash(f"bench\0{channel}\0{i}", 16)
            post_ids.append(pid)
            date = now - timedelta(days=730 * rng.random() ** 2, seconds=rng.randrange(86400))
            post_days.append(ranking.julian_day(date))
            forwarded = rng.choice(channels) if rng.random() < 0.1 else None
            yield (pid, "telegram-json", channel, str(i), f"https://t.me/c/{i}", iso(date), forwarded,
                   words(rng, 20), "[]", iso(now))

    item_rows: list[tuple[str, str]] = []  # (id, url)
    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]

    def items():
        for i in range(n_items):
            kind = rng.choices(kinds, weights)[0]
            url = URL_FORMS[kind].format(n=i, y=15 + i % 10, m=1 + i % 12)
            iid = item_id_for(url)
            item_rows.append((iid, url))
            title = words(rng, rng.randint(3, 8)).capitalize() if rng.random() < 0.7 else None
            r = rng.random()
            status = "unread" if r < 0.9 else "read" if r < 0.98 else "archived"
            fetch = "pending" if rng.random() < 0.8 else "ok"
            minutes = rng.randint(2, 60) if fetch == "ok" else None
            yield (iid, url, kind, url.split("/")[2], title, status, iso(now - timedelta(days=rng.random() * 730)),
                   fetch, minutes)

    def mentions():
        seen = set()
        for j in range(n_mentions):
            # Every item once, then a skewed tail: a few items are mentioned very often.
            k = j if j < n_items else int(n_items * rng.random() ** 3)
            iid, url = item_rows[k]
            post = rng.randrange(n_posts)
            pid = post_ids[post]
            mid = mention_id_for(iid, pid, url)
            if mid in seen:
                continue
            seen.add(mid)
            yield (mid, iid, pid, url, None, words(rng, rng.randint(8, 20)), "text", iso(now), post_days[post])

    with db.conn:
        conn.executemany(
            "INSERT INTO posts(id, source, channel, message_id, permalink, date, forwarded_from, text, hashtags,"
            " harvested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            posts(),
        )
        conn.executemany(
            "INSERT INTO items(id, url, kind, domain, title, status, added_at, fetch_status, reading_minutes)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            items(),
        )
        conn.executemany(
            "INSERT INTO mentions(id, item_id, post_id, url, anchor_text, context, via, added_at, post_julianday)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            mentions(),
        )
        print(f"  inserted rows: {time.perf_counter() - start:.0f} s", file=sys.stderr)
        ranking.rebuild(db)
        ranking.install_triggers(db)
        print(f"  ranking rebuilt: {time.perf_counter() - start:.0f} s", file=sys.stderr)
        rebuild_datasette_speed(db)
        rebuild_datasette_tags(db)
        for sql in KEPT_TABLES_TRIGGERS.values():
            db.execute(sql)
        print(f"  facet counts rebuilt: {time.perf_counter() - start:.0f} s", file=sys.stderr)
        search.install(db)
        print(f"  search index built: {time.perf_counter() - start:.0f} s", file=sys.stderr)
        db.execute("CREATE TABLE bench_meta(items INTEGER, mentions INTEGER)")
        db.execute("INSERT INTO bench_meta VALUES (?, ?)", [n_items, n_mentions])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return time.perf_counter() - start


def existing_sizes(path: Path):
    if not path.exists():
        return None
    try:
        db = open_db(path, migrate=False)
        row = db.execute("SELECT items, mentions FROM bench_meta").fetchone()
        db.conn.close()
        return tuple(row) if row else None
    except Exception:
        return None


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def cli_command() -> list[str]:
    script = shutil.which("readinglist")
    return [script] if script else [sys.executable, "-m", "readinglist.cli"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--mentions", type=int, default=3_000_000)
    parser.add_argument("--db", type=Path, default=BENCH / "out" / "queue.db")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    if existing_sizes(args.db) == (args.items, args.mentions):
        print(f"Reusing {args.db}", file=sys.stderr)
    else:
        print(f"Generating {args.db}: {args.items:,} items, {args.mentions:,} mentions", file=sys.stderr)
        seconds = generate(args.db, args.items, args.mentions)
        print(f"Generated in {seconds:.0f} s", file=sys.stderr)

    db = open_db(args.db)
    counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("items", "mentions", "posts")}
    top = next_items(db, NextFilter(n=10))
    item_id = top[0]["id"]
    n_item_mentions = db.execute("SELECT COUNT(*) FROM mentions WHERE item_id = ?", [item_id]).fetchone()[0]
    top_mentions = sum(row["mention_posts"] for row in top)

    def read_unread():
        state.mark_read(db, [item_id])
        state.mark_unread(db, [item_id])

    results = [
        (f"next (top 10: {top_mentions:,} mentions)", median_ms(lambda: next_items(db, NextFilter(n=10)), args.runs), NEXT_GOAL),
        ("read + unread one item", median_ms(read_unread, args.runs), READ_GOAL),
        (f"show (item with {n_item_mentions} mentions)",
         median_ms(lambda: show_item(db, state.resolve_item(db, item_id).id), args.runs), SHOW_GOAL),
    ]
    for query in (EN_QUERY, RU_QUERY):
        hits = db.execute(
            "SELECT COUNT(*) FROM search_docs_fts WHERE search_docs_fts MATCH ?", [search.fts_query(query)]
        ).fetchone()[0]
        results.append((f"search `{query}` ({hits:,} matches)",
                        median_ms(lambda: search.search(db, query, limit=20), args.runs), SEARCH_GOAL))
    # Every `readinglist fetch` ends with this pass over all posts (it was quadratic once).
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    results.append(("paper ↔ code relations pass (ends every `fetch`)",
                     median_ms(lambda: metadata.link_relations(db, when), min(args.runs, 3)), None))
    db.conn.close()

    base = cli_command()
    processes = (
        ("`readinglist next` (process)", [["next"]]),
        ("`readinglist read ID` + `readinglist unread ID` (two processes)", [["read", item_id], ["unread", item_id]]),
        ("`readinglist show ID` (process)", [["show", item_id]]),
        (f"`readinglist search {EN_QUERY}` (process)", [["search", EN_QUERY]]),
    )
    for label, argvs in processes:
        cmds = [base + argv + ["--db", str(args.db)] for argv in argvs]

        def run(cmds=cmds):
            for cmd in cmds:
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)

        results.append((label, median_ms(run, 3), None))

    print(f"\n{counts['items']:,} items, {counts['mentions']:,} mentions, {counts['posts']:,} posts"
          f" (SQLite {__import__('sqlite3').sqlite_version})\n")
    print("| operation | median ms | goal ms | ok? |")
    print("|---|---:|---:|---|")
    for label, ms, goal in results:
        ok = "" if goal is None else ("yes" if ms <= goal else "**no**")
        print(f"| {label} | {ms:.1f} | {goal if goal is not None else '–'} | {ok} |")


if __name__ == "__main__":
    main()
