"""Benchmark the Datasette UI on a 1M-item reading list: items page, a faceted view, the queue, search.

    python bench/bench_datasette.py [--db bench/out/datasette.db] [--source bench/out/queue.db] [--runs 5]

The database is the one ``bench/bench_queue.py`` generates (1,000,000 items,
3,000,000 mentions): copied from ``--source`` if that has the right sizes,
else generated with ``bench_queue.generate``. One item in 50 gets a tag (llm,
to-try or cv), one in 1,000 the tag rare-find, and a few
get a distinctive title ("Mamba: selective state spaces ...") so that a
selective search has something to find; every other title and context is
made of a 30-word vocabulary, so a search for one of those words matches a
third of the list.

A search covers the ``SEARCH_WINDOW`` most recently added matches
(readinglist/datasette_plugin.py), as ``readinglist search`` ranks within its
own window.

Pages are requested in-process through ``datasette.client`` from the same
Datasette that ``readinglist serve`` builds (metadata, plugin, settings):
median of ``--runs`` after one warm-up request. Facets come from the
readinglist plugin (``item_facet_counts``, migration m009; ``item_facet_pairs``,
m010, for a view of one channel or tag) where it can answer.
Then the indexes that migrations m007 and m009 add for the sorted, filtered
pages are dropped, set by set, and the pages they serve are measured again,
then put back; and the views of one channel or tag are measured with their
rows read both ways (walking items in rank order, or off the value's rows in
item_channels / item_tags), whichever the plugin would pick.
Prints a Markdown table; the goal is 300 ms per page.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from bench_queue import existing_sizes, generate  # noqa: E402

from readinglist import datasette_plugin  # noqa: E402
from readinglist.datasette_plugin import SEARCH_WINDOW  # noqa: E402
from readinglist.db import open_db  # noqa: E402
from readinglist.serve import build_datasette  # noqa: E402

GOAL_MS = 300
MARKER_TITLE = "Mamba: selective state spaces, bench item {n}"
MARKERS = 50
RARE_TAG = "rare-find"
INDEX_SETS = {
    # What is dropped: its indexes, and the labels of the pages measured without them.
    "m007's (column, rank_key) index": (
        {
            "items_kind_rank": "CREATE INDEX items_kind_rank ON items(kind, rank_key DESC, id)",
            "items_domain_rank": "CREATE INDEX items_domain_rank ON items(domain, rank_key DESC, id)",
            "items_status_rank": "CREATE INDEX items_status_rank ON items(status, rank_key DESC, id)",
        },
        ["kind = paper, no facets"],
    ),
    "m009's (columns, rank_key) indexes": (
        {
            "items_domain_status_rank": "CREATE INDEX items_domain_status_rank ON items(domain, status, rank_key DESC, id)",
            "items_kind_status_rank": "CREATE INDEX items_kind_status_rank ON items(kind, status, rank_key DESC, id)",
            "items_kind_domain_status_rank":
                "CREATE INDEX items_kind_domain_status_rank ON items(kind, domain, status, rank_key DESC, id)",
        },
        ["domain = github.com, unread, no facets", "kind = paper, unread, no facets",
         "kind = repo, domain = github.com, unread, no facets"],
    ),
}
# Informational rows: no goal of their own.
NO_GOAL = ("item page", "Next up", "kind =", "domain =", "channel = ", "tag = ")


def prepare(path: Path, source: Path, n_items: int, n_mentions: int) -> None:
    if existing_sizes(path) == (n_items, n_mentions):
        print(f"Reusing {path}", file=sys.stderr)
    elif existing_sizes(source) == (n_items, n_mentions):
        print(f"Copying {source} to {path}", file=sys.stderr)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(path)
        src.backup(dst, pages=100_000)
        dst.close()
        src.close()
    else:
        print(f"Generating {path}: {n_items:,} items, {n_mentions:,} mentions", file=sys.stderr)
        generate(path, n_items, n_mentions)
    start = time.perf_counter()
    db = open_db(path)  # applies m007 (views, trigger, indexes) if not yet there
    print(f"  migrations: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    if db.execute("SELECT COUNT(*) FROM items WHERE title LIKE 'Mamba:%'").fetchone()[0] < MARKERS:
        with db.conn:
            ids = [r[0] for r in db.execute("SELECT id FROM items WHERE kind = 'paper' ORDER BY id LIMIT ?", [MARKERS])]
            for n, item_id in enumerate(ids):
                db.execute("UPDATE items SET title = ? WHERE id = ?", [MARKER_TITLE.format(n=n), item_id])
            # Tags on one item in 50, so the tags facet has values.
            db.execute("UPDATE items SET tags = json_array(CASE rowid % 3 WHEN 0 THEN 'llm' WHEN 1 THEN 'to-try' ELSE 'cv' END)"
                       " WHERE rowid % 50 = 0")
    if not db.execute("SELECT 1 FROM item_tags WHERE tag = ? LIMIT 1", [RARE_TAG]).fetchone():
        with db.conn:
            # One item in 1,000 gets a rare tag: a view of few items among a million.
            db.execute("UPDATE items SET tags = json_array(?) WHERE rowid % 1000 = 7", [RARE_TAG])
    db.conn.close()


async def median_ms(ds, path: str, runs: int) -> tuple[float, int, str]:
    response = await ds.client.get(path)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = await ds.client.get(path)
        times.append((time.perf_counter() - start) * 1000)
    notes = []
    if "These facets timed out" in response.text:
        timed_out = response.text.split("These facets timed out:", 1)[1].split("</p>", 1)[0]
        notes.append("facets timed out: " + " ".join(timed_out.split()))
    if "SQL query took too long" in response.text:
        notes.append("query timed out")
    # A table page whose count(*) timed out shows no "N rows" heading.
    if "/items" in path and "/items/" not in path and "_nocount" not in path \
            and not re.search(r"<h3>[\d,]+ rows?", response.text):
        notes.append("row count timed out")
    return statistics.median(times), response.status_code, "; ".join(notes)


def pages(db_path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    channel = conn.execute(
        "SELECT posts.channel FROM posts GROUP BY posts.channel ORDER BY COUNT(*) DESC LIMIT 1"
    ).fetchone()[0]
    item_id = conn.execute("SELECT id FROM items ORDER BY rank_key DESC LIMIT 1").fetchone()[0]
    channel_items = conn.execute("SELECT COUNT(*) FROM item_channels WHERE channel = ?", [channel]).fetchone()[0]
    smallest = conn.execute(
        "SELECT posts.channel FROM posts GROUP BY posts.channel ORDER BY COUNT(*), posts.channel LIMIT 1"
    ).fetchone()[0]
    smallest_items = conn.execute("SELECT COUNT(*) FROM item_channels WHERE channel = ?", [smallest]).fetchone()[0]
    tag_items = conn.execute("SELECT COUNT(*) FROM item_tags WHERE tag = 'llm'").fetchone()[0]
    conn.close()

    def q(**args) -> str:
        return urlencode(args)

    return [
        ("items page (sorted by score, 5 facets)", "/readinglist/items"),
        ("faceted view: kind = paper", "/readinglist/items?kind=paper"),
        ("faceted view: domain = github.com, unread", "/readinglist/items?domain=github.com&status=unread"),
        ("items page, no facets (`_nofacet=1`)", "/readinglist/items?_nofacet=1"),
        ("kind = paper, no facets", "/readinglist/items?kind=paper&_nofacet=1"),
        ("domain = github.com, unread, no facets", "/readinglist/items?domain=github.com&status=unread&_nofacet=1"),
        ("kind = paper, unread, no facets", "/readinglist/items?kind=paper&status=unread&_nofacet=1"),
        ("faceted view: kind = repo, domain = github.com, unread",
         "/readinglist/items?kind=repo&domain=github.com&status=unread"),
        ("kind = repo, domain = github.com, unread, no facets",
         "/readinglist/items?kind=repo&domain=github.com&status=unread&_nofacet=1"),
        (f"search `трансформ*` (a prefix: ~58% of items; its {SEARCH_WINDOW:,} most recent matches)",
         "/readinglist/items?_search=трансформ*"),
        ("`queue` canned query (top 100)", "/readinglist/queue"),
        ("search, selective (`mamba`, 50 matches)", "/readinglist/items?_search=mamba"),
        (f"search, vocabulary word (`model`, ~38% of items; its {SEARCH_WINDOW:,} most recent matches)",
         "/readinglist/items?_search=model"),
        ("item page", f"/readinglist/items/{item_id}"),
        ("Next up (top 10)", "/-/next"),
        ("`by_channel` (largest channel)", f"/readinglist/by_channel?channel={channel}"),
        ("search `model`, faceted by kind = paper", "/readinglist/items?_search=model&kind=paper"),
        (f"faceted view: channel = largest (`_channel=`, {channel_items:,} items)", f"/readinglist/items?{q(_channel=channel)}"),
        (f"faceted view: tag = `llm` (`_tag=`, {tag_items:,} items)", "/readinglist/items?_tag=llm"),
        ("faceted view: old link `channels__arraycontains=` largest channel",
         f"/readinglist/items?{q(channels__arraycontains=channel)}"),
        ("faceted view: channel = largest, kind = paper", f"/readinglist/items?{q(_channel=channel, kind='paper')}"),
        ("faceted view: channel = largest, unread", f"/readinglist/items?{q(_channel=channel, status='unread')}"),
        ("faceted view: tag = `llm`, channel = largest", f"/readinglist/items?{q(_tag='llm', _channel=channel)}"),
        ("search `model` in the largest channel", f"/readinglist/items?{q(_search='model', _channel=channel)}"),
        (f"faceted view: tag = `{RARE_TAG}` (1,000 items)", f"/readinglist/items?{q(_tag=RARE_TAG)}"),
        ("channel = largest, no facets", f"/readinglist/items?{q(_channel=channel, _nofacet=1)}"),
        (f"channel = smallest ({smallest_items:,} items), no facets", f"/readinglist/items?{q(_channel=smallest, _nofacet=1)}"),
        ("tag = `llm`, no facets", "/readinglist/items?_tag=llm&_nofacet=1"),
        (f"tag = `{RARE_TAG}`, no facets", f"/readinglist/items?{q(_tag=RARE_TAG, _nofacet=1)}"),
    ]


async def measure(db_path: Path, runs: int, which: list[tuple[str, str]]) -> list[tuple[str, str, float, int, str]]:
    ds = build_datasette(db_path)
    await ds.invoke_startup()
    results = []
    for label, path in which:
        ms, status, note = await median_ms(ds, path, runs)
        results.append((label, path, ms, status, note))
        print(f"  {label}: {ms:.0f} ms {note}", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=BENCH / "out" / "datasette.db")
    parser.add_argument("--source", type=Path, default=BENCH / "out" / "queue.db")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--mentions", type=int, default=3_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    # Datasette logs each timed-out query with a long traceback; the table says what timed out.
    logging.disable(logging.CRITICAL)

    prepare(args.db, args.source, args.items, args.mentions)
    which = pages(args.db)
    results = asyncio.run(measure(args.db, args.runs, which))

    # The same pages without the composite indexes of m007, then of m009 (the single-column ones remain).
    without = []
    by_label = {page[0]: page for page in which}
    for what, (indexes, labels) in INDEX_SETS.items():
        conn = sqlite3.connect(args.db)
        for name in indexes:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        conn.commit()
        try:
            for label, path, ms, status, note in asyncio.run(measure(args.db, args.runs, [by_label[l] for l in labels])):
                without.append((label, f"without {what}", ms, status, note))
        finally:
            for sql in indexes.values():
                conn.execute(sql.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS"))
            conn.commit()
            conn.close()

    # The views of one channel or tag with their rows read the one way and the other
    # (datasette_plugin.DRIVE_LIMIT picks per view: the walk unless the value is rare).
    forms = {
        "every view walking items in rank_key order": 0,
        "every view's rows driven by item_channels / item_tags": 10**12,
    }
    value_pages = [page for page in which if page[0].endswith("no facets") and page[0].startswith(("channel =", "tag ="))]
    saved = datasette_plugin.DRIVE_LIMIT, datasette_plugin.DRIVE_LIMIT_COUNTED_BY_SQL
    for what, limit in forms.items():
        datasette_plugin.DRIVE_LIMIT = datasette_plugin.DRIVE_LIMIT_COUNTED_BY_SQL = limit
        try:
            for label, path, ms, status, note in asyncio.run(measure(args.db, args.runs, value_pages)):
                without.append((label, f"with {what}", ms, status, note))
        finally:
            datasette_plugin.DRIVE_LIMIT, datasette_plugin.DRIVE_LIMIT_COUNTED_BY_SQL = saved

    conn = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("items", "mentions", "posts")}
    conn.close()
    print(f"\n{counts['items']:,} items, {counts['mentions']:,} mentions, {counts['posts']:,} posts"
          f" (SQLite {sqlite3.sqlite_version}); median of {args.runs} in-process requests\n")
    print("| page | median ms | goal ms | ok? | notes |")  # noqa
    print("|---|---:|---:|---|---|")
    for label, _path, ms, status, note in results:
        goal = None if label.startswith(NO_GOAL) else GOAL_MS
        ok = "" if goal is None else ("yes" if ms <= goal and status == 200 and not note else "**no**")
        print(f"| {label} | {ms:,.0f} | {goal or '–'} | {ok} | {note or ''}{'' if status == 200 else f' HTTP {status}'} |")
    for label, what, ms, status, note in without:
        print(f"| {label}, {what} | {ms:,.0f} | – | | {note}{'' if status == 200 else f' HTTP {status}'} |")

if __name__ == "__main__":
    main()
