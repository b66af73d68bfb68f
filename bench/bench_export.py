"""Benchmark exports: 10,000 items in every format.

    python bench/bench_export.py [--items 10000] [--db bench/out/export.db]

Builds a fresh database of N items (arXiv preprints, journal and conference
papers, repos, Russian and English web articles, videos; a third with no
author or date) with 3 mentions each, then measures in-process:

* selecting the records the first time (citation keys derived and stored);
* selecting them again (keys read back);
* writing each format from the selected records (median of 3 runs).

Prints a Markdown table with the time and output size per format.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from readinglist.db import item_id_for, mention_id_for, mentions_written, open_db  # noqa: E402
from readinglist.export import FORMATS, select_items  # noqa: E402

FIRST = ["Ashish", "Noam", "Иван", "Мария", "Yann", "Kaiming", "Łukasz", "Jean-Luc", "Johannes", "Ada"]
LAST = ["Vaswani", "Shazeer", "Петров", "Иванова", "LeCun", "He", "Kaiser", "Picard", "van der Waals", "Lovelace"]
WORDS = ["Attention", "трансформеры", "GPT-4", "LoRA", "scaling", "diffusion", "обучение", "R&D", "50%", "C_t", "{x}"]


def build(path: Path, count: int, seed: int = 7):
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    db = open_db(path)
    items, posts, mentions = [], [], []
    for number in range(count):
        shape = number % 6
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 8))).capitalize()
        authors = [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.randint(1, 6))]
        meta: dict = {}
        row = {"kind": "article", "arxiv_id": None, "doi": None, "repo": None}
        if shape == 0:
            arxiv = f"{rng.randint(1501, 2412)}.{rng.randint(10000, 99999)}"
            url, row = f"https://arxiv.org/abs/{arxiv}", {"kind": "paper", "arxiv_id": arxiv}
            meta = {"primary_category": "cs.LG", "categories": ["cs.LG", "cs.CL"]}
        elif shape == 1:
            doi = f"10.{rng.randint(1000, 9999)}/{number}"
            url, row = f"https://doi.org/{doi}", {"kind": "paper", "doi": doi}
            meta = {"type": rng.choice(["journal-article", "proceedings-article"]), "container_title": ["Nature"],
                    "volume": "5", "issue": "2", "page": "1-10", "publisher": "Springer"}
        elif shape == 2:
            url, row = f"https://github.com/owner{number}/repo{number}", {"kind": "repo", "repo": f"owner{number}/repo{number}"}
            meta = {"stars": number, "language": "Python", "license": "MIT"}
        elif shape == 3:
            url, row = f"https://www.youtube.com/watch?v=v{number:010d}", {"kind": "video"}
            meta = {"channel": "Some Channel"}
        else:
            url = f"https://habr.com/ru/articles/{number}/"
        no_metadata = number % 3 == 2
        items.append({
            "id": item_id_for(url), "url": url, "domain": url.split("/")[2], "status": "unread",
            "added_at": f"2024-01-01T00:00:{number % 60:02d}+00:00", "title": None if no_metadata else title,
            "authors": None if no_metadata else json.dumps(authors, ensure_ascii=False),
            "published": None if no_metadata else f"20{rng.randint(10, 24)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            "summary": f"Summary {number}: {title}", "tags": json.dumps(["ml"]), "meta": json.dumps(meta),
            "site_name": "Хабр" if shape >= 4 else None, "language": "ru" if shape >= 4 else "en",
            **{"kind": "article", "arxiv_id": None, "doi": None, "repo": None, **row},
        })
        for m in range(3):
            post_id = f"p{number}-{m}"
            posts.append({"id": post_id, "source": "bench", "channel": f"ch{m}", "date": f"2024-0{m + 1}-01",
                          "text": "post", "hashtags": json.dumps(["nlp"])})
            mentions.append({"id": mention_id_for(items[-1]["id"], post_id, url), "item_id": items[-1]["id"],
                             "post_id": post_id, "url": url, "context": "ctx"})
    with db.conn:
        db["items"].insert_all(items, batch_size=1000)
        db["posts"].insert_all(posts, batch_size=1000)
        db["mentions"].insert_all(mentions, batch_size=1000)
    mentions_written(db, [item["id"] for item in items])
    return db


def timed(function, runs=1):
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "out" / "export.db")
    args = parser.parse_args(argv)
    build_time, db = timed(lambda: build(args.db, args.items))
    first, records = timed(lambda: select_items(db))
    again, records = timed(lambda: select_items(db), runs=3)
    print(f"{len(records)} items (database built in {build_time:.1f} s)\n")
    print("| step | time (s) | output |")
    print("|---|---:|---:|")
    print(f"| select records, keys assigned | {first:.3f} | |")
    print(f"| select records, keys stored | {again:.3f} | |")
    for name, fmt in FORMATS.items():
        seconds, text = timed(lambda: fmt.write(records), runs=3)
        print(f"| write {name} | {seconds:.3f} | {len(text.encode('utf-8')) / 1e6:.1f} MB |")


if __name__ == "__main__":
    main()
